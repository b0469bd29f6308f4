//! systemd-networkd `.network` files under `/etc/systemd/network/` (Amazon Linux 2023, and any
//! system running plain networkd).
//!
//! One file per interface, `/etc/systemd/network/05-enicfg-NAME.network` (see [`file_path`] for
//! why that name), mode 0644: networkd runs as the user `systemd-network` and must be able to read
//! it (distro-matrix.md §3.7). The routes and rules come from [`Interface::routes`] and
//! [`Interface::rules`]; this module never computes routing itself.
//!
//! This module owns the networkd view structs and the value check of the format (`problem`). It
//! never reads or writes files.

use anyhow::{Result, bail};
use askama::Template;

use super::text::{Ip, Net};
use super::{Backend, BackendKind, Commands, Context, FileOut, Rendered};
use crate::model::{Config, Family, IfName, Interface, KernelRoute, KernelRule};

/// The networkd backend.
pub struct Networkd;

/// Mode of every file written: networkd drops privileges to `systemd-network` before it reads
/// its configuration, so the file must be world-readable (or 0640 root:systemd-network, which
/// needs a group lookup in the target; 0644 is what cloud-init writes too, prior-art.md §8.2).
pub const FILE_MODE: u32 = 0o644;

/// Restart of the whole stack (distro-matrix.md §1, ND).
pub const RESTART: &str = "systemctl restart systemd-networkd";

/// The path of an interface's file inside the target.
///
/// NOTE: networkd sorts every `.network` file of `/etc/systemd/network`, `/run/systemd/network`
/// and `/usr/lib/systemd/network` together by file name and applies the *first* one whose
/// `[Match]` fits a link; later matches are ignored (systemd.network(5); distro-matrix.md §3.7).
/// What else is there on cloud images:
/// - Amazon Linux 2023's amazon-ec2-net-utils 2.x writes `/run/systemd/network/70-NAME.network`
///   plus drop-ins in `70-NAME.network.d/` (Debian's package renames them `07-NAME`), prior-art.md
///   §1;
/// - netplan writes `/run/systemd/network/10-netplan-ID.network`, including Debian 12's
///   catch-all `10-netplan-all-eth.network` / `10-netplan-all-en.network` (§3.4);
/// - cloud-init's networkd renderer writes `/etc/systemd/network/10-cloud-init-NAME.network`.
///
/// A same-named `/etc/systemd/network/70-NAME.network` would shadow ec2-net-utils' file, as the
/// AL2023 docs suggest, but networkd would still merge ec2-net-utils' drop-ins into it: their
/// `/32` aliases, policy rules (priority and table 10000+) and table routes would be added to
/// ours, and the kernel would not reach the state the model describes. The prefix `05-` sorts
/// before `07-`, `10-` and `70-`, so ours is the first match and none of those files (nor their
/// drop-ins, which belong to their own names) apply to this link. `enicfg` in the name marks the
/// file as ours.
pub fn file_path(iface: &Interface) -> String {
    format!("/etc/systemd/network/05-enicfg-{}.network", iface.name)
}

/// The least disruptive apply command of a set of interfaces: one `networkctl reload` (it
/// re-reads every file, so once is enough for any number of NICs) and one `reconfigure` naming
/// them all.
///
/// NOTE: `networkctl reload` and `networkctl reconfigure` exist since systemd 244 (systemd
/// NEWS); Amazon Linux 2023 has 252. Where they are missing (or fail), the command falls back
/// to restarting systemd-networkd ([`RESTART`]).
pub fn apply_command<'a>(names: impl IntoIterator<Item = &'a IfName>) -> String {
    let names: Vec<String> = names.into_iter().map(ToString::to_string).collect();
    format!(
        "networkctl reload && networkctl reconfigure {} || {RESTART}",
        names.join(" ")
    )
}

/// Why `v` cannot be the value of a `.network` file's key, or `None` when it can.
///
/// systemd unit-file syntax has no quoting for a plain value and no inline comments: a value
/// runs to the end of the line, with leading and trailing whitespace stripped, and a trailing
/// `\` continues the line. So a value must be non-empty (an empty assignment resets a list),
/// must not start or end with whitespace, must not end with `\`, and must hold no control
/// characters (a newline would start a new key or section).
fn problem(v: &str) -> Option<&'static str> {
    if v.is_empty() {
        Some("it is empty (an empty assignment resets the setting)")
    } else if v.chars().any(|c| c.is_control()) {
        Some("it holds a control character (newline, tab, ...)")
    } else if v.starts_with(char::is_whitespace) || v.ends_with(char::is_whitespace) {
        Some("networkd strips leading and trailing whitespace")
    } else if v.ends_with('\\') {
        Some("a trailing '\\' continues the line")
    } else {
        None
    }
}

/// One `[Section]` with its keys in order.
struct Section {
    name: &'static str,
    keys: Vec<(&'static str, String)>,
}

impl Section {
    fn new(name: &'static str) -> Section {
        Section {
            name,
            keys: Vec::new(),
        }
    }

    /// Adds `key=v` when `v` can be a value ([`problem`]); the error names the section and key
    /// (built only then: a 1000-NIC rendering pushes 50 000 values).
    fn push(&mut self, key: &'static str, v: impl ToString) -> Result<()> {
        let v = v.to_string();
        if let Some(why) = problem(&v) {
            bail!(
                "backend networkd cannot express [{}] {key}= {v:?}: {why}",
                self.name
            );
        }
        self.keys.push((key, v));
        Ok(())
    }
}

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

fn route_section(route: &KernelRoute) -> Result<Section> {
    let mut s = Section::new("Route");
    s.push("Destination", Net(route.to))?;
    if let Some(via) = route.via {
        s.push("Gateway", Ip(via))?;
    } else {
        // NOTE: a route without a next hop is on-link; make the scope the kernel's (and the
        // other backends') `link` rather than relying on networkd's default.
        s.push("Scope", "link")?;
    }
    if let Some(table) = route.table {
        s.push("Table", table)?;
    }
    if let Some(metric) = route.metric {
        s.push("Metric", metric)?;
    }
    Ok(s)
}

fn rule_section(rule: &KernelRule) -> Result<Section> {
    let mut s = Section::new("RoutingPolicyRule");
    s.push("From", Ip(rule.from))?;
    s.push("Table", rule.table)?;
    s.push("Priority", rule.priority)?;
    Ok(s)
}

/// The view of one interface's file; every value already checked by [`value`].
#[derive(Template)]
#[template(path = "networkd/interface.network", escape = "none")]
struct InterfaceView {
    header: String,
    sections: Vec<Section>,
}

impl InterfaceView {
    fn new(iface: &Interface) -> Result<InterfaceView> {
        let name = iface.name.as_str();
        let mut sections = Vec::new();

        let mut m = Section::new("Match");
        match iface.mac {
            Some(mac) => m.push("MACAddress", mac)?,
            None => {
                if name.contains(['*', '?', '[', ']']) || name.starts_with('!') {
                    // NOTE: `[Match] Name=` takes shell globs and a leading `!` for negation:
                    // such a name would match other links (or every other link).
                    bail!(
                        "backend networkd cannot express the interface name {name} without a \
                         MAC: networkd reads '*', '?', '[', ']' and a leading '!' in Name= as \
                         patterns"
                    );
                }
                m.push("Name", name)?;
            }
        }
        sections.push(m);

        if let Some(mtu) = iface.mtu {
            let mut l = Section::new("Link");
            l.push("MTUBytes", mtu)?;
            sections.push(l);
        }

        let dhcp4 = iface.is_dhcp(Family::Ipv4);
        let dhcp6 = iface.is_dhcp(Family::Ipv6);
        let mut n = Section::new("Network");
        match (dhcp4, dhcp6) {
            (true, true) => n.push("DHCP", "yes")?,
            (true, false) => n.push("DHCP", "ipv4")?,
            (false, true) => n.push("DHCP", "ipv6")?,
            (false, false) => {}
        }
        // NOTE: without IPv6 DHCP, router advertisements must not add a default route, an
        // on-link prefix route or SLAAC addresses the model does not describe (networkd accepts
        // RAs by default). With it, the RA carries the IPv6 default route and starts DHCPv6.
        n.push("IPv6AcceptRA", yes_no(dhcp6))?;
        // One Address= per address, in model order: the first IPv4 address becomes the
        // kernel's primary (cloud-init's networkd renderer sorts them and loses that).
        for family in [Family::Ipv4, Family::Ipv6] {
            for a in iface.addresses_to_add(family) {
                n.push("Address", Net(a))?;
            }
        }
        sections.push(n);

        if dhcp4 {
            let mut d = Section::new("DHCPv4");
            if let Some(metric) = iface.metric {
                d.push("RouteMetric", metric)?;
            }
            if !iface.default_route {
                // NOTE: UseGateway= (systemd 246+) drops the router option's default route.
                // A classless-static-routes option (RFC 3442) can carry 0.0.0.0/0 too, and
                // those routes follow UseRoutes=, so both are off for a NIC without the main
                // default route: the model's `routes:` are where extra routes belong. netplan's
                // `use-routes: false` gives networkd the same setting.
                d.push("UseGateway", "no")?;
                d.push("UseRoutes", "no")?;
            }
            sections.push(d);
        }

        if dhcp6 {
            let mut ra = Section::new("IPv6AcceptRA");
            if let Some(metric) = iface.metric {
                // NOTE: [IPv6AcceptRA] RouteMetric= exists since systemd 249 (before, the same
                // key sat in [DHCPv6]); it covers the RA's default and prefix routes.
                ra.push("RouteMetric", metric)?;
            }
            if !iface.default_route {
                // NOTE: the IPv6 default route comes from router advertisements, not DHCPv6;
                // [IPv6AcceptRA] UseGateway= exists since systemd 250 (Amazon Linux 2023 has
                // 252). Older networkd logs "Unknown key" and installs the route anyway.
                ra.push("UseGateway", "no")?;
            }
            if !ra.keys.is_empty() {
                sections.push(ra);
            }
            // NOTE: no [DHCPv6] section: DHCPv6 only assigns the address (a /128); networkd
            // starts it when the RA asks for it (M/O flags), its defaults are what we want.
        }

        for route in iface.routes() {
            sections.push(route_section(&route)?);
        }
        for rule in iface.rules() {
            sections.push(rule_section(&rule)?);
        }

        Ok(InterfaceView {
            header: super::header(BackendKind::Networkd),
            sections,
        })
    }
}

impl Backend for Networkd {
    fn render(&self, config: &Config, _ctx: &Context<'_>) -> Result<Rendered> {
        let mut files = Vec::new();
        for iface in &config.interfaces {
            let view = InterfaceView::new(iface)?;
            let contents =
                super::render_file(&view, &format!("the networkd file of {}", iface.name))?;
            files.push(FileOut {
                path: file_path(iface),
                mode: FILE_MODE,
                contents,
            });
        }
        Ok(Rendered {
            files,
            commands: Commands {
                restart: RESTART.to_owned(),
                interface: vec![apply_command(config.interfaces.iter().map(|i| &i.name))],
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::Section;

    #[test]
    fn value_accepts_plain_values() {
        for v in [
            "eth1",
            "00:16:3e:12:34:56",
            "10.0.2.5/24",
            "2001:db8::1",
            "yes",
            "1001",
        ] {
            let mut s = Section::new("Network");
            s.push("Address", v).unwrap();
            assert_eq!(s.keys, [("Address", v.to_owned())]);
        }
    }

    #[test]
    fn value_rejects_what_the_parser_would_misread() {
        for v in ["", "a\nb", "a\rb", "a\tb", " a", "a ", "a\\", "\u{7f}"] {
            let mut s = Section::new("Network");
            let err = s.push("Address", v).unwrap_err().to_string();
            assert!(
                err.starts_with("backend networkd cannot express [Network] Address="),
                "{v:?}: {err}"
            );
            assert!(s.keys.is_empty(), "{v:?} was kept");
        }
    }
}
