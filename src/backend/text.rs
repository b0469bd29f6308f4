//! Addresses and numbers as text, for the backends' hot paths.
//!
//! std's `Display` for an address sends each octet or group through the integer formatter and
//! its padding logic: about 1 100 instructions an IPv4 address and as many for an IPv6 one; a
//! 1000-NIC rendering formats 30 000 to 50 000 of them, a third of its time. [`Ip`], [`Net`] and
//! [`Push`] write the same characters (tested against std and ipnet below, IPv6's RFC 5952
//! zero compression and IPv4-mapped form included) from one stack buffer.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;

use crate::model::KernelRoute;

/// An address, displayed as std displays it (padding included).
#[derive(Debug, Clone, Copy)]
pub struct Ip(pub IpAddr);

/// A network in `address/prefix` form, displayed as ipnet displays it.
#[derive(Debug, Clone, Copy)]
pub struct Net(pub IpNet);

impl fmt::Display for Ip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buf = Buf::new();
        buf.ip(self.0);
        f.pad(buf.as_str())
    }
}

impl fmt::Display for Net {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buf = Buf::new();
        buf.net(self.0);
        f.write_str(buf.as_str())
    }
}

/// Appending text to a `String` without `core::fmt`: each call is a copy of a few bytes, where a
/// `format!` of the same line costs about 1 600 instructions and a reallocation or two (a third
/// of a 1000-NIC ifupdown rendering).
pub trait Push {
    /// Appends `s`.
    fn s(&mut self, s: &str) -> &mut Self;
    /// Appends an address as [`Ip`] writes it (no padding).
    fn ip(&mut self, a: IpAddr) -> &mut Self;
    /// Appends a network as [`Net`] writes it.
    fn net(&mut self, n: IpNet) -> &mut Self;
    /// Appends a number in decimal.
    fn num(&mut self, n: impl Into<u64>) -> &mut Self;
}

impl Push for String {
    fn s(&mut self, s: &str) -> &mut Self {
        self.push_str(s);
        self
    }

    fn ip(&mut self, a: IpAddr) -> &mut Self {
        let mut buf = Buf::new();
        buf.ip(a);
        self.push_str(buf.as_str());
        self
    }

    fn net(&mut self, n: IpNet) -> &mut Self {
        let mut buf = Buf::new();
        buf.net(n);
        self.push_str(buf.as_str());
        self
    }

    fn num(&mut self, n: impl Into<u64>) -> &mut Self {
        let mut n: u64 = n.into();
        let mut digits = [0u8; 20];
        let mut at = digits.len();
        loop {
            at -= 1;
            if let Some(d) = digits.get_mut(at) {
                // n % 10 < 10: the cast keeps every value.
                *d = b'0' + (n % 10) as u8;
            }
            n /= 10;
            if n == 0 || at == 0 {
                break;
            }
        }
        // Only ASCII digits were written.
        self.push_str(
            std::str::from_utf8(digits.get(at..).unwrap_or_default()).unwrap_or_default(),
        );
        self
    }
}

/// A number as text, for a value that is a number alone (`MTU`, `PREFIX1`).
pub fn num(n: impl Into<u64>) -> String {
    let mut s = String::with_capacity(10);
    s.num(n);
    s
}

/// A network as text.
pub fn net(n: IpNet) -> String {
    let mut s = String::with_capacity(18);
    s.net(n);
    s
}

/// An address as text.
pub fn ip(a: IpAddr) -> String {
    let mut s = String::with_capacity(15);
    s.ip(a);
    s
}

/// `ip route` arguments for a route through `dev`: `DEST [via GW] dev DEV [metric M] [table T]`
/// (`default` for a default route), as ifupdown's `up ip route add` and RHEL's `route-*` files
/// take them.
pub fn ip_route_args(r: &KernelRoute, dev: &str) -> String {
    let mut s = String::with_capacity(80);
    push_ip_route_args(&mut s, r, dev);
    s
}

/// [`ip_route_args`], appended to `s`.
pub fn push_ip_route_args(s: &mut String, r: &KernelRoute, dev: &str) {
    if r.is_default() {
        s.s("default");
    } else {
        s.net(r.to);
    }
    if let Some(via) = r.via {
        s.s(" via ").ip(via);
    }
    s.s(" dev ").s(dev);
    if let Some(m) = r.metric {
        s.s(" metric ").num(m);
    }
    if let Some(t) = r.table {
        s.s(" table ").num(t);
    }
}

/// Room for the longest network std and ipnet write: 39 characters of IPv6 groups and `/128`.
const ROOM: usize = 48;

struct Buf {
    bytes: [u8; ROOM],
    len: usize,
}

impl Buf {
    fn new() -> Buf {
        Buf {
            bytes: [0; ROOM],
            len: 0,
        }
    }

    fn push(&mut self, b: u8) {
        if let Some(slot) = self.bytes.get_mut(self.len) {
            *slot = b;
            self.len += 1;
        }
    }

    fn decimal(&mut self, n: u8) {
        if n >= 100 {
            self.push(b'0' + n / 100);
        }
        if n >= 10 {
            self.push(b'0' + n / 10 % 10);
        }
        self.push(b'0' + n % 10);
    }

    /// A group of an IPv6 address: lower-case hex without leading zeros.
    fn hex(&mut self, n: u16) {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut started = false;
        for shift in [12, 8, 4, 0] {
            let d = usize::from((n >> shift) & 0xf);
            if d != 0 || started || shift == 0 {
                started = true;
                self.push(DIGITS.get(d).copied().unwrap_or(b'0'));
            }
        }
    }

    fn ipv4(&mut self, a: Ipv4Addr) {
        for (i, octet) in a.octets().into_iter().enumerate() {
            if i > 0 {
                self.push(b'.');
            }
            self.decimal(octet);
        }
    }

    /// As std writes it: an IPv4-mapped address as `::ffff:a.b.c.d`; otherwise the groups, the
    /// longest run of two or more zero groups (the first of equal runs) written as `::`.
    fn ipv6(&mut self, a: Ipv6Addr) {
        if let Some(v4) = a.to_ipv4_mapped() {
            for b in b"::ffff:" {
                self.push(*b);
            }
            self.ipv4(v4);
            return;
        }
        let groups = a.segments();
        let (mut best_at, mut best_len) = (0, 0);
        let (mut run_at, mut run_len) = (0, 0);
        for (i, g) in groups.iter().enumerate() {
            if *g == 0 {
                if run_len == 0 {
                    run_at = i;
                }
                run_len += 1;
                if run_len > best_len {
                    (best_at, best_len) = (run_at, run_len);
                }
            } else {
                run_len = 0;
            }
        }
        if best_len > 1 {
            self.groups(groups.get(..best_at).unwrap_or_default());
            self.push(b':');
            self.push(b':');
            self.groups(groups.get(best_at + best_len..).unwrap_or_default());
        } else {
            self.groups(&groups);
        }
    }

    fn groups(&mut self, groups: &[u16]) {
        for (i, g) in groups.iter().enumerate() {
            if i > 0 {
                self.push(b':');
            }
            self.hex(*g);
        }
    }

    fn ip(&mut self, a: IpAddr) {
        match a {
            IpAddr::V4(a) => self.ipv4(a),
            IpAddr::V6(a) => self.ipv6(a),
        }
    }

    fn net(&mut self, n: IpNet) {
        self.ip(n.addr());
        self.push(b'/');
        self.decimal(n.prefix_len());
    }

    fn as_str(&self) -> &str {
        // Only ASCII hex digits, dots, colons and '/' are ever pushed.
        std::str::from_utf8(self.bytes.get(..self.len).unwrap_or_default()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv6Addr;

    /// Every octet value in every position, and every prefix length, as std and ipnet write
    /// them; padding as std pads.
    #[test]
    fn same_text_as_std_and_ipnet() {
        for octet in 0..=255u8 {
            for at in 0..4 {
                let mut octets = [10, 0, 255, 7];
                octets[at] = octet;
                let a = Ipv4Addr::from(octets);
                assert_eq!(Ip(IpAddr::V4(a)).to_string(), a.to_string());
                let prefix = octet % 33;
                let net = IpNet::new(IpAddr::V4(a), prefix).unwrap();
                assert_eq!(Net(net).to_string(), net.to_string());
            }
        }
        let a = IpAddr::V4(Ipv4Addr::new(192, 168, 0, 1));
        assert_eq!(format!("[{:>16}]", Ip(a)), format!("[{a:>16}]"));
        assert_eq!(format!("[{:<16}]", Ip(a)), format!("[{a:<16}]"));
        for v6 in [
            "::",
            "::1",
            "1::",
            "2001:db8::1",
            "fe80::1:0:0:2",
            "::ffff:10.0.0.1",
            "::ffff:0.0.0.0",
            "::10.0.0.1",
            "::ffff:1:2",
            "1:0:0:2::3",
            "1:0:2:0:3:0:4:0",
            "0:1:0:0:2:0:0:3",
            "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
            "64:ff9b::1.2.3.4",
        ] {
            let a: Ipv6Addr = v6.parse().unwrap();
            same_v6(a);
        }
        // Every pattern of zero and non-zero groups, with values of every digit count; then
        // pseudo-random addresses.
        let values = [0x1u16, 0x1f, 0xabc, 0xf00d, 0xffff];
        for pattern in 0..=u8::MAX {
            let mut groups = [0u16; 8];
            for (i, g) in groups.iter_mut().enumerate() {
                if pattern & (1 << i) != 0 {
                    *g = values[(i + usize::from(pattern)) % values.len()];
                }
            }
            same_v6(Ipv6Addr::from(groups));
        }
        let mut x: u128 = 0x0123_4567_89ab_cdef_0011_2233_4455_6677;
        for _ in 0..20_000 {
            x = x
                .wrapping_mul(0x2360_ED05_1FC6_5DA4_4385_DF64_9FCC_F645)
                .wrapping_add(1);
            same_v6(Ipv6Addr::from(x));
        }
        let mut n = String::new();
        for v in [0u64, 7, 10, 99, 100, 4_294_967_295, u64::MAX] {
            n.clear();
            n.num(v);
            assert_eq!(n, v.to_string());
        }
    }

    fn same_v6(a: Ipv6Addr) {
        assert_eq!(Ip(IpAddr::V6(a)).to_string(), a.to_string());
        assert_eq!(String::new().ip(IpAddr::V6(a)).as_str(), a.to_string());
        for prefix in [0, 64, 128] {
            let net = IpNet::new(IpAddr::V6(a), prefix).unwrap();
            assert_eq!(Net(net).to_string(), net.to_string());
            assert_eq!(String::new().net(net).as_str(), net.to_string());
        }
    }
}
