//! The kernel state a rendering must produce, computed from the model alone.
//!
//! [`expected_state`] returns exactly the text [`super::kernel_state`] prints for a correct
//! apply, so a conformance test for any backend is `assert_eq!(ns.state(..), expected_state(..))`.
//! It knows nothing about any backend: only the model ([`Interface::routes`],
//! [`Interface::rules`]) and the kernel's own behaviour:
//! - IPv4 addresses are listed in the order they were added (the first is the primary);
//!   IPv6 addresses are listed newest first, and every backend adds them so the first model
//!   address is added last (`Interface::addresses_to_add`): listed first, and preferred;
//! - every static address with a prefix shorter than the full length gives a connected route
//!   (`10.0.2.0/24 dev eth1`), deduplicated;
//! - metrics the normalizer drops as stack defaults (0, 100, 256, 1024, 1003) are dropped here too.
//!
//! DHCP-assigned addresses and routes cannot be predicted from the model: a DHCP family
//! contributes nothing here, so tests of DHCP interfaces must check those parts themselves.
//! An interface without a MAC in the model gets `ether ?`; compare with [`mask_macs`] applied to
//! the actual state.
#![allow(dead_code)]

use enicfg::model::{Family, Interface, KernelRoute};

/// Metrics `kernel_state` drops as stack defaults (keep in sync with `normalize_route`).
const DEFAULT_METRICS: [u32; 5] = [0, 100, 256, 1024, 1003];
/// The MTU of a fresh veth or cloud NIC when the model sets none.
const DEFAULT_MTU: u32 = 1500;

/// The expected normalized state of one interface after a successful apply.
pub fn expected_state(iface: &Interface) -> String {
    expected_state_all(std::slice::from_ref(iface))
}

/// The expected normalized state of several interfaces (in the order the test created them).
pub fn expected_state_all(ifaces: &[Interface]) -> String {
    let mut addrs = Vec::new();
    for iface in ifaces {
        for a in iface.addresses(Family::Ipv4) {
            addrs.push(format!("{} inet {a}", iface.name));
        }
        for a in iface.addresses(Family::Ipv6) {
            addrs.push(format!("{} inet6 {a}", iface.name));
        }
    }
    let mut out = String::from("== addr ==\n");
    out.push_str(&addrs.join("\n"));
    out.push_str("\n== link ==\n");
    for iface in ifaces {
        let mac = iface
            .mac
            .map(|m| m.to_string())
            .unwrap_or_else(|| "?".to_owned());
        out.push_str(&format!(
            "{}: mtu {} ether {mac} up\n",
            iface.name,
            iface.mtu.unwrap_or(DEFAULT_MTU)
        ));
    }
    out.push_str("== route (all tables) ==\n");
    let mut routes = Vec::new();
    for iface in ifaces {
        for family in [Family::Ipv4, Family::Ipv6] {
            let full = match family {
                Family::Ipv4 => 32,
                Family::Ipv6 => 128,
            };
            for net in iface.subnets(family) {
                if net.prefix_len() < full {
                    routes.push(format!("{net} dev {}", iface.name));
                }
            }
        }
        for r in iface.routes() {
            routes.push(route_line(&r, iface.name.as_str()));
        }
    }
    routes.sort();
    routes.dedup();
    out.push_str(&routes.join("\n"));
    for family in [Family::Ipv4, Family::Ipv6] {
        let tag = match family {
            Family::Ipv4 => "4",
            Family::Ipv6 => "6",
        };
        out.push_str(&format!("\n== rule{tag} ==\n"));
        let mut rules: Vec<String> = ifaces
            .iter()
            .flat_map(|i| i.rules())
            .filter(|r| r.family() == family)
            .map(|r| format!("{}: from {} lookup {}", r.priority, r.from, r.table))
            .collect();
        rules.sort();
        rules.dedup();
        out.push_str(&rules.join("\n"));
    }
    out.push('\n');
    out
}

/// A route as `normalize_route` prints it: `TO [via VIA] dev DEV [metric M] [table T]`.
pub fn route_line(r: &KernelRoute, dev: &str) -> String {
    let mut s = if r.is_default() {
        "default".to_owned()
    } else {
        r.to.to_string()
    };
    if let Some(via) = r.via {
        s.push_str(&format!(" via {via}"));
    }
    s.push_str(&format!(" dev {dev}"));
    if let Some(m) = r.metric.filter(|m| !DEFAULT_METRICS.contains(m)) {
        s.push_str(&format!(" metric {m}"));
    }
    if let Some(t) = r.table {
        s.push_str(&format!(" table {t}"));
    }
    s
}

/// Replaces the MAC on the link line of every interface the model has no MAC for with `?`, so
/// a kernel-chosen MAC compares equal to [`expected_state`]'s `ether ?`.
pub fn mask_macs(state: &str, ifaces: &[Interface]) -> String {
    let mut out = String::new();
    for line in state.lines() {
        let masked = ifaces.iter().filter(|i| i.mac.is_none()).find_map(|i| {
            let prefix = format!("{}: mtu ", i.name);
            if !line.starts_with(&prefix) {
                return None;
            }
            let f: Vec<&str> = line.split(' ').collect();
            let pos = f.iter().position(|w| *w == "ether")?;
            let mut g: Vec<String> = f.iter().map(|w| (*w).to_owned()).collect();
            *g.get_mut(pos + 1)? = "?".to_owned();
            Some(g.join(" "))
        });
        out.push_str(masked.as_deref().unwrap_or(line));
        out.push('\n');
    }
    out
}

/// The sections of a normalized state as (title, lines), for checking parts of it.
pub fn sections(state: &str) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for line in state.lines() {
        if let Some(title) = line.strip_prefix("== ").and_then(|l| l.strip_suffix(" ==")) {
            out.push((title.to_owned(), Vec::new()));
        } else if let Some((_, lines)) = out.last_mut().filter(|_| !line.is_empty()) {
            lines.push(line.to_owned());
        }
    }
    out
}
