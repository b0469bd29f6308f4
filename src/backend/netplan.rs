//! netplan YAML under `/etc/netplan/` (Ubuntu, Debian 12+ cloud images), rendered for netplan's
//! networkd renderer.
//!
//! One file per interface, `/etc/netplan/60-enicfg-NAME.yaml`, mode 0600 (netplan warns about
//! anything group- or world-accessible, distro-matrix.md §3.4). Each file holds one netdef whose
//! ID is `0-enicfg-NAME` (see [`netdef_id`] for why the prefix). The routes and rules come from
//! [`Interface::routes`] and [`Interface::rules`]; this module never computes routing itself.
//!
//! This module owns the netplan view structs, the YAML quoting function ([`quote`]) and the
//! checks against the netplan files already in the target root. It never reads or writes files:
//! what is in the root arrives in [`RootFacts`](crate::root::RootFacts).

use std::collections::HashMap;

use anyhow::{Result, bail};
use askama::Template;

use super::text::{Ip, Net};
use super::{Backend, BackendKind, Commands, Context, FileOut, Rendered};
use crate::model::{Config, Family, Interface, KernelRoute, KernelRule};

/// The netplan backend.
pub struct Netplan;

/// Mode of every file written: netplan 0.106+ warns "Permissions for FILE are too open" for
/// anything group- or world-accessible.
pub const FILE_MODE: u32 = 0o600;

/// Applies every netplan file; global, so it is also the per-interface command
/// (distro-matrix.md §1, NP-nd).
pub const APPLY: &str = "netplan apply";

/// The netdef ID of an interface.
///
/// NOTE: netplan writes `/run/systemd/network/10-netplan-<ID>.network`, and networkd applies
/// the first `.network` file (sorted by name) that matches a link, ignoring the rest
/// (systemd.network(5), distro-matrix.md §3.4 and §3.7). Debian 12 cloud images ship
/// `/etc/netplan/90-default.yaml` with the catch-all netdefs `all-en` (`en*`) and `all-eth`
/// (`eth*`) on DHCP: an ID of plain `eth1` would give `10-netplan-eth1.network`, which sorts
/// after `10-netplan-all-eth.network` and is never applied. The `0-` prefix sorts before every
/// ID that starts with a letter or with a digit above 0, and the `enicfg` part marks the netdef
/// as ours. The Google guest agent hit the same problem and uses an `a-` prefix
/// (prior-art.md §4, guest-agent PR #428/#433).
pub fn netdef_id(iface: &Interface) -> String {
    format!("{NETDEF_PREFIX}{}", iface.name)
}

/// What [`netdef_id`] puts before the interface name.
const NETDEF_PREFIX: &str = "0-enicfg-";
/// What [`file_path`] puts before and after the interface name.
const FILE_PREFIX: &str = "/etc/netplan/60-enicfg-";
const FILE_SUFFIX: &str = ".yaml";

/// The path of an interface's file inside the target.
pub fn file_path(iface: &Interface) -> String {
    format!("{FILE_PREFIX}{}{FILE_SUFFIX}", iface.name)
}

/// Quotes a YAML scalar when a YAML 1.1 reader could take it for anything but a string.
///
/// Plain (unquoted) only when the value starts with an ASCII letter, holds nothing but ASCII
/// letters, digits, `_`, `-`, `.` and `/`, and is not one of YAML 1.1's booleans or nulls
/// (`yes`, `No`, `ON`, `y`, `null`, ...). Everything else — MAC addresses, IP addresses, names
/// starting with a digit — is double-quoted with `\` and `"` escaped and control characters
/// written as `\xNN`, which libyaml (netplan's parser) reads back verbatim.
pub fn quote(value: &str) -> String {
    const YAML11_WORDS: &[&str] = &["y", "yes", "n", "no", "true", "false", "on", "off", "null"];
    let plain = value
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic())
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/'))
        && !YAML11_WORDS.contains(&value.to_ascii_lowercase().as_str());
    if plain {
        return value.to_owned();
    }
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// One entry of `routes:`.
struct RouteView {
    to: String,
    via: Option<String>,
    scope_link: bool,
    table: Option<u32>,
    metric: Option<u32>,
}

impl RouteView {
    fn new(route: &KernelRoute) -> RouteView {
        RouteView {
            to: if route.is_default() {
                quote("default")
            } else {
                quote(&Net(route.to).to_string())
            },
            via: route.via.map(|v| quote(&Ip(v).to_string())),
            // NOTE: a route without a next hop is on-link; netplan's default scope is `global`,
            // while the kernel's connected routes (and our other backends') are `scope link`.
            scope_link: route.via.is_none(),
            table: route.table,
            metric: route.metric,
        }
    }
}

/// One entry of `routing-policy:`.
struct RuleView {
    from: String,
    table: u32,
    priority: u32,
}

impl RuleView {
    fn new(rule: &KernelRule) -> RuleView {
        RuleView {
            from: quote(&Ip(rule.from).to_string()),
            table: rule.table,
            priority: rule.priority,
        }
    }
}

/// The view of one interface's file; every value is already quoted.
#[derive(Template)]
#[template(path = "netplan/interface.yaml", escape = "none")]
struct InterfaceView {
    header: String,
    id: String,
    match_mac: Option<String>,
    match_name: Option<String>,
    set_name: Option<String>,
    mtu: Option<u32>,
    dhcp4: bool,
    dhcp6: bool,
    /// `dhcp4-overrides` and `dhcp6-overrides` (networkd needs both to be equal).
    overrides: Vec<(&'static str, String)>,
    accept_ra: bool,
    addresses: Vec<String>,
    routes: Vec<RouteView>,
    rules: Vec<RuleView>,
}

/// A networkd drop-in for the `.network` file netplan generates: what netplan 0.106 cannot say
/// about router advertisements.
#[derive(Template)]
#[template(path = "netplan/ra-dropin.conf", escape = "none")]
struct RaDropinView {
    header: String,
    id: String,
    options: Vec<(&'static str, String)>,
}

/// The path of the drop-in for an interface's generated `.network` file.
pub fn ra_dropin_path(iface: &Interface) -> String {
    format!(
        "/etc/systemd/network/10-netplan-{}.network.d/enicfg-ipv6-ra.conf",
        netdef_id(iface)
    )
}

impl RaDropinView {
    /// The drop-in an interface needs, if any.
    ///
    /// NOTE: with DHCPv6 the IPv6 default route comes from router advertisements, not from
    /// DHCPv6. netplan 0.106 has no `ra-overrides`, and `accept-ra: false` would keep networkd
    /// 252 from ever starting its DHCPv6 client (it waits for an RA unless `[DHCPv6]
    /// WithoutRA=`, which netplan cannot set). So, like Google's guest agent (prior-art.md §4),
    /// enicfg adds a networkd drop-in next to netplan's generated file: `UseGateway=no` keeps a
    /// secondary NIC off the main default route (systemd >= 250) and `RouteMetric=` carries
    /// the interface metric (systemd >= 249). Only systemd-networkd reads it, so it is refused
    /// when netplan renders for NetworkManager.
    fn new(iface: &Interface, nm_renderer: Option<&str>) -> Result<Option<RaDropinView>> {
        if !iface.is_dhcp(Family::Ipv6) {
            return Ok(None);
        }
        let mut options = Vec::new();
        if !iface.default_route {
            options.push(("UseGateway", "no".to_owned()));
        }
        if let Some(metric) = iface.metric {
            options.push(("RouteMetric", metric.to_string()));
        }
        if options.is_empty() {
            return Ok(None);
        }
        if let Some(path) = nm_renderer {
            bail!(
                "backend netplan cannot express {}: ipv6.dhcp {} when netplan renders for \
                 NetworkManager ({path} sets renderer: NetworkManager): the router \
                 advertisement's default route can only be tuned with a systemd-networkd drop-in",
                iface.name,
                if iface.default_route {
                    "with a metric"
                } else {
                    "without a default route"
                }
            );
        }
        Ok(Some(RaDropinView {
            header: super::header(BackendKind::Netplan),
            id: netdef_id(iface),
            options,
        }))
    }
}

/// The first netplan file that makes NetworkManager the renderer, if any.
fn nm_renderer(files: &[(String, String)]) -> Option<&str> {
    files
        .iter()
        .find(|(_, text)| {
            text.lines().any(|l| {
                let l = l.trim();
                l.starts_with("renderer:")
                    && l.trim_start_matches("renderer:")
                        .trim()
                        .trim_matches(['"', '\''])
                        == "NetworkManager"
            })
        })
        .map(|(path, _)| path.as_str())
}

impl InterfaceView {
    fn new(iface: &Interface) -> Result<InterfaceView> {
        let name = iface.name.as_str();
        if name.contains(['*', '?', '[', ']']) || name.starts_with('!') {
            // NOTE: netplan's `match: name:` is a glob, and it also writes the name into
            // networkd's `[Match] Name=`, which takes globs and a leading `!` for negation:
            // such a name would match other links (or every other link).
            bail!(
                "backend netplan cannot express the interface name {name}: netplan and networkd \
                 read '*', '?', '[', ']' and a leading '!' in names as patterns"
            );
        }
        let dhcp4 = iface.is_dhcp(Family::Ipv4);
        let dhcp6 = iface.is_dhcp(Family::Ipv6);
        let mut overrides = Vec::new();
        if dhcp4 || dhcp6 {
            if let Some(metric) = iface.metric {
                overrides.push(("route-metric", metric.to_string()));
            }
            if iface.mtu.is_some() {
                // NOTE: netplan writes `UseMTU=true` by default, and networkd then logs
                // "MTUBytes= in [Link] section and UseMTU= in [DHCP] section are set" and
                // ignores the DHCP MTU anyway: say so explicitly, the configured MTU wins.
                overrides.push(("use-mtu", "false".to_owned()));
            }
            if !iface.default_route {
                // NOTE: netplan has no `use-gateway`; `use-routes: false` (networkd
                // `UseRoutes=false`) drops the DHCP default route and also the classless static
                // routes the server sends. The connected subnet route stays.
                overrides.push(("use-routes", "false".to_owned()));
            }
        }
        // Without IPv6 DHCP, router advertisements must not add a default route (nor SLAAC
        // addresses) the model does not describe.
        let accept_ra = dhcp6;

        let mut addresses = Vec::new();
        for family in [Family::Ipv4, Family::Ipv6] {
            addresses.extend(
                iface
                    .addresses_to_add(family)
                    .iter()
                    .map(|a| quote(&Net(*a).to_string())),
            );
        }
        let quoted_name = quote(name);
        let (match_mac, match_name, set_name) = match iface.mac {
            Some(mac) => (Some(quote(&mac.to_string())), None, Some(quoted_name)),
            None => (None, Some(quoted_name), None),
        };
        Ok(InterfaceView {
            header: super::header(BackendKind::Netplan),
            id: quote(&netdef_id(iface)),
            match_mac,
            match_name,
            set_name,
            mtu: iface.mtu,
            dhcp4,
            dhcp6,
            overrides,
            accept_ra,
            addresses,
            routes: iface.routes().iter().map(RouteView::new).collect(),
            rules: iface.rules().iter().map(RuleView::new).collect(),
        })
    }
}

/// What the netplan files already in the root define, read once per render: parsing them
/// again for every interface made a rewrite of N interfaces quadratic.
struct Existing<'a> {
    /// Every netdef ID the files define, with the files that define it, in path order.
    ids: HashMap<String, Vec<&'a str>>,
    /// The files under `/run/netplan`, by file name.
    run_names: HashMap<&'a str, &'a str>,
}

impl<'a> Existing<'a> {
    fn new(files: &'a [(String, String)]) -> Existing<'a> {
        let mut ids: HashMap<String, Vec<&'a str>> = HashMap::new();
        let mut run_names = HashMap::new();
        for (path, contents) in files {
            if path.starts_with("/run/") {
                let name = path.rsplit('/').next().unwrap_or(path.as_str());
                run_names.entry(name).or_insert(path.as_str());
            }
            // A file enicfg generated holds the one netdef its name says; parsing a thousand of
            // them was most of a rewrite's time.
            let first_line = contents.lines().next().unwrap_or_default();
            if super::generated_by(first_line) == Some(BackendKind::Netplan)
                && let Some(name) = path
                    .strip_prefix(FILE_PREFIX)
                    .and_then(|rest| rest.strip_suffix(FILE_SUFFIX))
            {
                ids.entry(format!("{NETDEF_PREFIX}{name}"))
                    .or_default()
                    .push(path.as_str());
                continue;
            }
            // NOTE: an unparsable file is left to netplan to report; it cannot touch our netdef.
            let Ok(doc) = serde_yaml::from_str::<serde_yaml::Value>(contents) else {
                continue;
            };
            let Some(network) = doc.get("network").and_then(|n| n.as_mapping()) else {
                continue;
            };
            // Netdef IDs are global across device types.
            for devices in network.values().filter_map(|v| v.as_mapping()) {
                for id in devices.keys().filter_map(|k| k.as_str()) {
                    ids.entry(id.to_owned()).or_default().push(path.as_str());
                }
            }
        }
        Existing { ids, run_names }
    }

    /// Fails when a netplan file already in the root would merge into or shadow ours.
    fn check_conflicts(&self, iface: &Interface) -> Result<()> {
        let ours = file_path(iface);
        let id = netdef_id(iface);
        let file_name = ours.rsplit('/').next().unwrap_or(ours.as_str());
        if let Some(path) = self.run_names.get(file_name) {
            bail!(
                "backend netplan cannot configure {}: {path} shadows {ours} (a file of the same \
                 name in /run/netplan wins over /etc/netplan); remove it first",
                iface.name
            );
        }
        // Netplan merges same-ID definitions (sequences such as `addresses:` concatenate), so
        // any definition but our own file's from an earlier run (which is replaced) conflicts.
        if let Some(path) = self
            .ids
            .get(&id)
            .and_then(|paths| paths.iter().find(|p| **p != ours))
        {
            bail!(
                "backend netplan cannot configure {}: {path} already defines the netdef {id}, \
                 and netplan would merge both definitions; remove it first",
                iface.name
            );
        }
        Ok(())
    }
}

impl Backend for Netplan {
    fn render(&self, config: &Config, ctx: &Context<'_>) -> Result<Rendered> {
        let mut files = Vec::new();
        let existing = Existing::new(&ctx.root.netplan_files);
        let nm_renderer = nm_renderer(&ctx.root.netplan_files);
        for iface in &config.interfaces {
            existing.check_conflicts(iface)?;
            let view = InterfaceView::new(iface)?;
            let contents =
                super::render_file(&view, &format!("the netplan file of {}", iface.name))?;
            files.push(FileOut {
                path: file_path(iface),
                mode: FILE_MODE,
                contents,
            });
            if let Some(dropin) = RaDropinView::new(iface, nm_renderer)? {
                let what = format!("the networkd drop-in of {}", iface.name);
                files.push(FileOut {
                    path: ra_dropin_path(iface),
                    // networkd reads its configuration as the user systemd-network.
                    mode: 0o644,
                    contents: super::render_file(&dropin, &what)?,
                });
            }
        }
        // `netplan apply` is global: one entry covers every interface.
        Ok(Rendered {
            files,
            commands: Commands {
                restart: APPLY.to_owned(),
                interface: vec![APPLY.to_owned()],
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::quote;

    #[test]
    fn quote_leaves_plain_words_plain() {
        for s in ["eth1", "default", "ens6", "enp0s3", "wlan0.100"] {
            assert_eq!(quote(s), s);
        }
    }

    #[test]
    fn quote_quotes_what_yaml11_reads_as_non_strings() {
        for s in [
            "00:16:3e:12:34:56",
            "10.0.2.5/24",
            "2001:db8::1",
            "0-enicfg-eth1",
            "1e3",
            "on",
            "Yes",
            "OFF",
            "y",
            "n",
            "null",
            "~",
            "",
            "a b",
            "a#b",
            "-x",
        ] {
            assert!(
                quote(s).starts_with('"'),
                "{s} must be quoted: {}",
                quote(s)
            );
        }
    }

    #[test]
    fn quote_escapes() {
        assert_eq!(quote("a\"b\\c\n"), "\"a\\\"b\\\\c\\x0a\"");
    }
}
