//! dnsmasq as the DHCP server (and IPv6 router) of a test interface, in a peer namespace of its
//! own (verifying.md §6.5); shared by every test that applies DHCP for real.
#![allow(dead_code)]

use std::process::{Child, Command, Stdio};

use super::Netns;

/// dnsmasq serving DHCPv4 (10.0.2.100-199/24, router 10.0.2.1) on the peer of `ifname`, moved
/// into a server namespace of its own (verifying.md §6.5), and with `ipv6` also router
/// advertisements (managed flag, a default router) and DHCPv6 (2001:db8:2::100-1ff) from
/// 2001:db8:2::1/64. Killed by PID on drop, before its namespace goes.
pub struct Dnsmasq {
    child: Child,
    _work: tempfile::TempDir,
    /// The server namespace (dropped after the process).
    pub srv: Netns,
}

impl Dnsmasq {
    /// Moves `ifname`'s peer out of `ns` and starts dnsmasq on it.
    pub fn start(ns: &Netns, ifname: &str, ipv6: bool) -> Dnsmasq {
        let srv = Netns::new();
        let peer = super::peer_name(ifname);
        ns.ip(&["link", "set", &peer, "netns", &srv.name]);
        srv.ip(&["addr", "add", "10.0.2.1/24", "dev", &peer]);
        let mut extra: Vec<&str> = Vec::new();
        if ipv6 {
            srv.ip(&["addr", "add", "2001:db8:2::1/64", "dev", &peer, "nodad"]);
            extra.extend([
                "--enable-ra",
                "--dhcp-range=2001:db8:2::100,2001:db8:2::1ff,64,1h",
            ]);
        }
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

impl Drop for Dnsmasq {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .output();
        let _ = self.child.wait();
    }
}
