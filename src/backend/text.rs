//! Addresses as text, for the backends' hot paths.
//!
//! std's `Display` for an IPv4 address sends each octet through the integer formatter and its
//! padding logic, about 1 100 instructions an address; a 1000-NIC rendering formats 30 000 of
//! them, a third of its time. [`Ip`] and [`Net`] write the same characters (tested against std
//! and ipnet below) from one stack buffer. IPv6 goes to std's and ipnet's own formatting: its
//! rules (RFC 5952 zero compression, IPv4-mapped forms) are not worth a second copy, and a NIC
//! has few IPv6 addresses.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};

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
        match self.0 {
            IpAddr::V4(a) => {
                let mut buf = Buf::new();
                buf.ipv4(a);
                f.pad(buf.as_str())
            }
            IpAddr::V6(a) => fmt::Display::fmt(&a, f),
        }
    }
}

impl fmt::Display for Net {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            IpNet::V4(n) => {
                let mut buf = Buf::new();
                buf.ipv4(n.addr());
                buf.push(b'/');
                buf.decimal(n.prefix_len());
                f.write_str(buf.as_str())
            }
            IpNet::V6(n) => fmt::Display::fmt(&n, f),
        }
    }
}

/// `ip route` arguments for a route through `dev`: `DEST [via GW] dev DEV [metric M] [table T]`
/// (`default` for a default route), as ifupdown's `up ip route add` and RHEL's `route-*` files
/// take them.
pub fn ip_route_args(r: &KernelRoute, dev: &str) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(80);
    if r.is_default() {
        s.push_str("default");
    } else {
        let _ = write!(s, "{}", Net(r.to));
    }
    if let Some(via) = r.via {
        let _ = write!(s, " via {}", Ip(via));
    }
    let _ = write!(s, " dev {dev}");
    if let Some(m) = r.metric {
        let _ = write!(s, " metric {m}");
    }
    if let Some(t) = r.table {
        let _ = write!(s, " table {t}");
    }
    s
}

/// Room for the longest IPv4 network: `255.255.255.255/32`.
struct Buf {
    bytes: [u8; 18],
    len: usize,
}

impl Buf {
    fn new() -> Buf {
        Buf {
            bytes: [0; 18],
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

    fn ipv4(&mut self, a: Ipv4Addr) {
        for (i, octet) in a.octets().into_iter().enumerate() {
            if i > 0 {
                self.push(b'.');
            }
            self.decimal(octet);
        }
    }

    fn as_str(&self) -> &str {
        // Only ASCII digits, dots and '/' are ever pushed.
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
            "2001:db8::1",
            "fe80::1:0:0:2",
            "::ffff:10.0.0.1",
            "1:0:0:2::3",
        ] {
            let a: Ipv6Addr = v6.parse().unwrap();
            assert_eq!(Ip(IpAddr::V6(a)).to_string(), a.to_string());
            let net = IpNet::new(IpAddr::V6(a), 64).unwrap();
            assert_eq!(Net(net).to_string(), net.to_string());
        }
    }
}
