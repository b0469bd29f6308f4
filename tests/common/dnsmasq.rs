//! dnsmasq as the DHCP server (and IPv6 router) of a test interface, in a peer namespace of its
//! own (verifying.md §6.5); shared by every test that applies DHCP for real.
#![allow(dead_code)]

use std::process::{Child, Command, Stdio};

use super::Netns;

/// Option 121 as dnsmasq sends it: `192.168.0.0/16 via 10.0.2.1` and the default route via
/// 10.0.2.1.
pub const CLASSLESS_ROUTES: &str =
    "--dhcp-option=option:classless-static-route,192.168.0.0/16,10.0.2.1,0.0.0.0/0,10.0.2.1";

/// dnsmasq serving DHCPv4 (10.0.2.100-199/24, router 10.0.2.1, and [`CLASSLESS_ROUTES`]) on the peer of `ifname`, moved
/// into a server namespace of its own (verifying.md §6.5), and router advertisements from
/// 2001:db8:2::1/64 with a router lifetime, as an IPv6-enabled cloud VPC sends them on every NIC:
/// with `ipv6` the managed flag and DHCPv6 (2001:db8:2::100-1ff), without it `ra-only` (a SLAAC
/// prefix, which a NIC without IPv6 DHCP must ignore). Killed by PID on drop, before its
/// namespace goes.
pub struct Dnsmasq {
    child: Child,
    _work: tempfile::TempDir,
    /// The server namespace (dropped after the process).
    pub srv: Netns,
}

impl Dnsmasq {
    /// Moves `ifname`'s peer out of `ns` and starts dnsmasq on it.
    pub fn start(ns: &Netns, ifname: &str, ipv6: bool) -> Dnsmasq {
        Dnsmasq::start_with(ns, ifname, ipv6, true)
    }

    /// [`Dnsmasq::start`], with `classless: false` serving option 3 alone (no option 121).
    pub fn start_with(ns: &Netns, ifname: &str, ipv6: bool, classless: bool) -> Dnsmasq {
        let srv = Netns::new();
        let peer = super::peer_name(ifname);
        ns.ip(&["link", "set", &peer, "netns", &srv.name]);
        srv.ip(&["addr", "add", "10.0.2.1/24", "dev", &peer]);
        srv.ip(&["addr", "add", "2001:db8:2::1/64", "dev", &peer, "nodad"]);
        let mut extra: Vec<String> = vec!["--enable-ra".to_owned(), ra_param(&peer)];
        // Classless static routes (option 121, RFC 3442) with the default route included, as
        // OpenStack's dnsmasq and other cloud DHCP servers send them: a client that honours them
        // must ignore option 3 (RFC 3442), so a secondary NIC must drop both.
        if classless {
            extra.push(CLASSLESS_ROUTES.to_owned());
        }
        extra.push(if ipv6 {
            "--dhcp-range=2001:db8:2::100,2001:db8:2::1ff,64,1h".to_owned()
        } else {
            "--dhcp-range=2001:db8:2::,ra-only,64".to_owned()
        });
        srv.ip(&["link", "set", &peer, "up"]);
        let work = tempfile::tempdir().unwrap();
        let child = srv
            .exec("dnsmasq")
            .args([
                "--keep-in-foreground",
                "--port=0",
                "--no-resolv",
                "--no-hosts",
                "--bind-interfaces",
                &format!("--interface={peer}"),
                "--except-interface=lo",
                "--dhcp-range=10.0.2.100,10.0.2.199,255.255.255.0,1h",
                "--dhcp-option=3,10.0.2.1",
                "--dhcp-authoritative",
                "--dhcp-leasefile=/dev/null",
            ])
            .args(&extra)
            .arg(format!(
                "--pid-file={}",
                work.path().join("dnsmasq.pid").display()
            ))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        Dnsmasq {
            child,
            _work: work,
            srv,
        }
    }
}

/// An RA every 4 s with a 30-minute router lifetime, so an RA reaches the link whenever the
/// stack under test brings it up, whether or not it sends a router solicitation.
fn ra_param(peer: &str) -> String {
    format!("--ra-param={peer},4,1800")
}

/// A router on every link: the peers of `ifnames` move into a router namespace, each gets
/// `2001:db8:ffNN::1/64` (NN = the link's index, a prefix no fixture uses), and one dnsmasq sends
/// router advertisements (`ra-only`: a SLAAC prefix and a default router) on all of them. A NIC
/// whose IPv6 the description does not configure, or configures statically, must come out with
/// no address and no route from them. Killed by PID on drop, before its namespace goes.
pub struct RouterAdvertiser {
    child: Child,
    _work: tempfile::TempDir,
    /// The router namespace (dropped after the process).
    pub router: Netns,
}

impl RouterAdvertiser {
    /// Moves the peers of `ifnames` out of `ns` and starts sending RAs on them.
    pub fn start(ns: &Netns, ifnames: &[&str]) -> RouterAdvertiser {
        let router = Netns::new();
        let work = tempfile::tempdir().unwrap();
        let mut args = vec![
            "--keep-in-foreground".to_owned(),
            "--port=0".to_owned(),
            "--no-resolv".to_owned(),
            "--no-hosts".to_owned(),
            "--bind-interfaces".to_owned(),
            "--except-interface=lo".to_owned(),
            "--dhcp-leasefile=/dev/null".to_owned(),
            "--enable-ra".to_owned(),
            format!("--pid-file={}", work.path().join("dnsmasq.pid").display()),
        ];
        for (i, name) in ifnames.iter().enumerate() {
            let peer = super::peer_name(name);
            ns.ip(&["link", "set", &peer, "netns", &router.name]);
            let prefix = format!("2001:db8:ff{i:02x}::");
            router.ip(&[
                "addr",
                "add",
                &format!("{prefix}1/64"),
                "dev",
                &peer,
                "nodad",
            ]);
            router.ip(&["link", "set", &peer, "up"]);
            args.push(format!("--interface={peer}"));
            args.push(format!("--dhcp-range={prefix},ra-only,64"));
            args.push(ra_param(&peer));
        }
        let child = router
            .exec("dnsmasq")
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        RouterAdvertiser {
            child,
            _work: work,
            router,
        }
    }
}

impl Drop for RouterAdvertiser {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .output();
        let _ = self.child.wait();
    }
}

impl Drop for Dnsmasq {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .output();
        let _ = self.child.wait();
    }
}

/// Router advertisements `ifname` has received so far (`Icmp6InRouterAdvertisements` of
/// `/proc/net/dev_snmp6/IFNAME`, counted on receipt whatever accept_ra says).
pub fn ras_received(ns: &Netns, ifname: &str) -> u64 {
    let out = super::run(ns.exec("cat").arg(format!("/proc/net/dev_snmp6/{ifname}")));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("Icmp6InRouterAdvertisements"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

/// Sends one router solicitation from `ifname` to all routers (ff02::2), so the router
/// answers now instead of at its next periodic RA (dnsmasq sends those every ~10-15 s whatever
/// `--ra-param` says). A raw ICMPv6 socket through python3, which netplan.io already requires;
/// the kernel fills in the checksum.
fn solicit(ns: &Netns, ifname: &str) {
    const RS: &str = "import socket, sys\n\
        i = socket.if_nametoindex(sys.argv[1])\n\
        s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)\n\
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, i)\n\
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)\n\
        s.sendto(bytes([133, 0, 0, 0, 0, 0, 0, 0]), ('ff02::2', 0, 0, i))\n";
    let out = super::run(ns.exec("python3").args(["-c", RS, ifname]));
    assert!(
        out.status.success(),
        "router solicitation on {ifname}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Waits until every link has received a router advertisement after the stack under test
/// configured it, so the state read next reflects an RA processed with the stack's final
/// settings (a stack that turned RAs off sends no solicitation itself: the test solicits one).
/// Panics when none comes: then the RA sender is broken and the test would prove nothing.
pub fn wait_for_next_ra(ns: &Netns, ifnames: &[&str]) {
    let start = std::time::Instant::now();
    let deadline = std::time::Duration::from_secs(20);
    // The kernel ignores RAs while the link-local address is tentative, and a solicitation
    // needs that address: start once duplicate address detection is over.
    while ifnames.iter().any(|n| {
        !ns.ip(&["-6", "addr", "show", "dev", n, "tentative"])
            .trim()
            .is_empty()
    }) {
        assert!(
            start.elapsed() < deadline,
            "IPv6 addresses of {ifnames:?} still tentative after {deadline:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let before: Vec<u64> = ifnames.iter().map(|n| ras_received(ns, n)).collect();
    let mut last_rs: Option<std::time::Instant> = None;
    loop {
        let pending: Vec<&str> = ifnames
            .iter()
            .zip(&before)
            .filter(|(n, b)| ras_received(ns, n) <= **b)
            .map(|(n, _)| *n)
            .collect();
        if pending.is_empty() {
            // The kernel handles an RA on receipt; give the userspace stacks (NetworkManager and
            // networkd process RAs themselves) a moment to act on it.
            std::thread::sleep(std::time::Duration::from_millis(500));
            return;
        }
        assert!(
            start.elapsed() < deadline,
            "no router advertisement reached {pending:?} within {deadline:?}"
        );
        if last_rs.is_none_or(|t| t.elapsed() > std::time::Duration::from_secs(2)) {
            for n in &pending {
                solicit(ns, n);
            }
            last_rs = Some(std::time::Instant::now());
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}
