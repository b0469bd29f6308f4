//! The guest's NICs: veth pairs with the cloud's MACs. Each pair is created in a test-made
//! "VPC" namespace ([`Netns`]), its guest end moved into the guest's network namespace under
//! its final name, its VPC end (`<ifname>-p`) left up in the VPC namespace so the guest's link
//! has carrier once the guest brings it up. Nothing is ever created in the host's namespace.
//!
//! Pairs are made fresh at each boot (an ENI attached at boot): when the guest stops, its
//! namespace goes and takes the pairs with it; the VPC namespace is deleted on drop.

use crate::common::{Netns, peer_name};

/// The VPC side of a guest's NICs.
pub struct Vpc {
    /// The namespace holding the far ends.
    pub ns: Netns,
}

impl Vpc {
    /// Creates the pairs and moves each guest end into the namespace of process `leader`.
    pub fn attach(leader: u32, nics: &[(&str, &str)]) -> Vpc {
        let vpc = Vpc { ns: Netns::new() };
        for (ifname, mac) in nics {
            vpc.plug(leader, ifname, mac);
        }
        vpc
    }

    /// One more NIC into a running guest: a hot-plug (the guest's udev sees an `add`).
    pub fn plug(&self, leader: u32, ifname: &str, mac: &str) {
        let peer = peer_name(ifname);
        self.ns.ip(&[
            "link", "add", ifname, "address", mac, "type", "veth", "peer", "name", &peer,
        ]);
        self.ns
            .ip(&["link", "set", ifname, "netns", &leader.to_string()]);
        self.ns.ip(&["link", "set", &peer, "up"]);
    }
}
