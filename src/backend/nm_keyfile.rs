//! NetworkManager keyfiles under `/etc/NetworkManager/system-connections/` (RHEL/Rocky/Alma/
//! CentOS 10, Fedora 36+, Alibaba Cloud Linux 4, Anolis 23, TencentOS 4, SLES 16).
//!
//! One profile per interface, `enicfg-NAME.nmconnection`, mode 0600: NetworkManager ignores a
//! keyfile that is group- or world-accessible or not owned by root (distro-matrix.md §3.6).
//! The routes and rules come from [`Interface::routes`] and [`Interface::rules`]; this module
//! never computes routing itself, it only decides which keyfile keys reach exactly that kernel
//! state (see the NOTEs in `FamilyView::new`).
//!
//! This module owns the keyfile view structs and the keyfile quoting function ([`quote`]). It
//! never reads or writes files.

use std::net::IpAddr;

use anyhow::{Result, bail};
use askama::Template;
use uuid::Uuid;

use super::text::{Ip, Net};
use super::{Backend, BackendKind, Commands, Context, FileOut, Rendered};
use crate::model::{Config, Family, Interface, KernelRoute, KernelRule};

/// The nm-keyfile backend.
pub struct NmKeyfile;

/// Mode of every file written: NetworkManager refuses keyfiles with any `0077` bit set
/// ("File permissions (100644) are insecure").
pub const FILE_MODE: u32 = 0o600;

/// The directory NetworkManager reads system profiles from.
pub const DIR: &str = "/etc/NetworkManager/system-connections";

/// Our value of the `[user] org.freedesktop.NetworkManager.origin` key, which marks the profile
/// as enicfg's.
pub const ORIGIN: &str = "enicfg";

/// `connection.autoconnect-priority` of every profile.
///
/// NOTE: NetworkManager's automatic "Wired connection N" profile has -999 and a stale profile
/// baked into an image has the default 0; cloud-init uses 120 for the same reason
/// (cloud-init #4121, prior-art.md §10). Ours must win over both, and over cloud-init's.
pub const AUTOCONNECT_PRIORITY: i32 = 150;

/// `ipv4.route-metric` / `ipv6.route-metric` of a static family (and of a DHCP family without
/// a metric): NetworkManager's default for ethernet.
///
/// NOTE: left at its default (-1), the metric is chosen per device, and NetworkManager
/// renumbers it (101, 102, ...) when several ethernet devices are active, on every route of the
/// profile that has no metric of its own: prefix routes and policy-table routes included. A
/// second secondary NIC would then get `10.0.2.0/24 dev eth2 metric 101` where every other
/// backend gives the kernel's connected route. Written out, it stays 100.
pub const DEFAULT_ROUTE_METRIC: u32 = 100;

/// The namespace of the profile UUIDs (a fixed, random UUID; changing it changes every
/// profile's UUID).
const UUID_NAMESPACE: Uuid = Uuid::from_u128(0x5d0b_6a3e_8c47_4f0e_9b1d_2e6f_a4c8_7e31);

/// The profile name (`connection.id`) of an interface.
pub fn connection_id(iface: &Interface) -> String {
    format!("enicfg-{}", iface.name)
}

/// The path of an interface's keyfile inside the target.
pub fn file_path(iface: &Interface) -> String {
    format!("{DIR}/enicfg-{}.nmconnection", iface.name)
}

/// The deterministic `connection.uuid` of an interface: a UUIDv5 of its identity (name, and
/// MAC when known), so rendering again gives the same profile and `nmcli connection load`
/// updates it in place instead of adding a second one.
pub fn connection_uuid(iface: &Interface) -> Uuid {
    let identity = match iface.mac {
        Some(mac) => format!("{}/{mac}", iface.name),
        None => iface.name.to_string(),
    };
    Uuid::new_v5(&UUID_NAMESPACE, identity.as_bytes())
}

/// Escapes a string value the way GLib's `g_key_file_set_string` does, so
/// `g_key_file_get_string` (NetworkManager's reader) gives it back verbatim: `\` as `\\`,
/// newline, tab and carriage return as `\n`, `\t`, `\r`, and leading and trailing spaces as
/// `\s` (GLib strips unescaped whitespace around a value). `;` stays literal: it separates only
/// list values, and none of ours is a list. Other control characters (NUL included) are an
/// error: no keyfile reader gets them back.
pub fn quote(value: &str) -> Result<String> {
    if let Some(c) = value
        .chars()
        .find(|c| c.is_control() && !matches!(c, '\n' | '\t' | '\r'))
    {
        bail!(
            "backend nm-keyfile cannot express the value {value:?}: it contains the control \
             character {c:?}, which GLib key files cannot carry"
        );
    }
    let leading = value.len() - value.trim_start_matches(' ').len();
    let trailing_from = value.trim_end_matches(' ').len().max(leading);
    let mut out = String::with_capacity(value.len() + 2);
    for (i, c) in value.char_indices() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            ' ' if i < leading || i >= trailing_from => out.push_str("\\s"),
            c => out.push(c),
        }
    }
    Ok(out)
}

/// One `routeN=` (and `routeN_options=`) line.
struct RouteView {
    n: usize,
    /// `DEST/LEN[,GATEWAY[,METRIC]]`.
    value: String,
    /// `routeN_options=` value (`onlink=true`, `table=T`), when any.
    options: Option<String>,
}

impl RouteView {
    fn new(n: usize, route: &KernelRoute) -> RouteView {
        let mut value = Net(route.to).to_string();
        match (route.via, route.metric) {
            (Some(via), Some(metric)) => value.push_str(&format!(",{},{metric}", Ip(via))),
            (Some(via), None) => value.push_str(&format!(",{}", Ip(via))),
            // NM's own writer puts the unspecified address where a gateway-less route has a
            // metric ("0.0.0.0" / "::" means "no next hop").
            (None, Some(metric)) => {
                let none = match route.family() {
                    Family::Ipv4 => "0.0.0.0",
                    Family::Ipv6 => "::",
                };
                value.push_str(&format!(",{none},{metric}"));
            }
            (None, None) => {}
        }
        let mut options = Vec::new();
        // NOTE: for a route whose gateway no prefix route of its table covers, NetworkManager
        // adds a "dependent" host route to the gateway in that table (seen here:
        // `fe80:ec2::1/128 dev eth1 metric 100 table 10001`, a route the model does not
        // describe). A link-local gateway is on-link by definition; `onlink=true` says so and
        // keeps the table to the model's routes (tests/aws_ipv6.rs runs NetworkManager).
        if matches!(route.via, Some(IpAddr::V6(v)) if v.is_unicast_link_local()) {
            options.push("onlink=true".to_owned());
        }
        if let Some(t) = route.table {
            options.push(format!("table={t}"));
        }
        RouteView {
            n,
            value,
            options: (!options.is_empty()).then(|| options.join(",")),
        }
    }
}

/// The `[ipv4]` or `[ipv6]` section.
struct FamilyView {
    section: &'static str,
    method: &'static str,
    /// `addressN` values, in the order they are written.
    addresses: Vec<(usize, String)>,
    gateway: Option<String>,
    never_default: Option<bool>,
    /// `ignore-auto-routes=true`: no route learnt from DHCP (classless routes, option 121).
    ignore_auto_routes: Option<bool>,
    route_metric: Option<u32>,
    routes: Vec<RouteView>,
    /// `routing-ruleN` values.
    rules: Vec<(usize, String)>,
    may_fail: Option<bool>,
}

impl FamilyView {
    fn new(iface: &Interface, family: Family) -> FamilyView {
        let section = family.key();
        let configured = match family {
            Family::Ipv4 => iface.ipv4.is_some(),
            Family::Ipv6 => iface.ipv6.is_some(),
        };
        let other_configured = match family {
            Family::Ipv4 => iface.ipv6.is_some(),
            Family::Ipv6 => iface.ipv4.is_some(),
        };
        if !configured {
            // IPv6 keeps its link-local address and does nothing else (no router
            // advertisements, like the other backends); IPv4 is off.
            return FamilyView {
                section,
                method: match family {
                    Family::Ipv4 => "disabled",
                    Family::Ipv6 => "link-local",
                },
                addresses: Vec::new(),
                gateway: None,
                never_default: None,
                ignore_auto_routes: None,
                route_metric: None,
                routes: Vec::new(),
                rules: Vec::new(),
                may_fail: None,
            };
        }
        let dhcp = iface.is_dhcp(family);
        let addresses: Vec<String> = iface
            .addresses(family)
            .iter()
            .map(|a| Net(*a).to_string())
            .collect();
        // NOTE: IPv4 addresses are written in model order: address1 is the primary. Since
        // NetworkManager 1.36 a static address next to a DHCP lease can become the primary
        // (cloud-init #4157); the model never mixes DHCP and static addresses in one family.
        // NOTE: for IPv6 the kernel lists (and prefers as source) the address added last;
        // NetworkManager adds `address1` last, so model order makes the first address the
        // preferred one, as the other backends do with `Interface::addresses_to_add`.
        let main_default = iface
            .routes()
            .into_iter()
            .find(|r| r.table.is_none() && r.is_default() && r.family() == family);
        // NOTE: NetworkManager puts `route-metric` on the prefix routes of static addresses
        // too (10.0.2.0/24 ... metric M), which no other backend does. So for a static family
        // `route-metric` stays unset and every route carries its own metric; a main default
        // route with a metric is written as an explicit `0.0.0.0/0` route instead of
        // `gateway=` (which would take `route-metric`).
        let gateway = main_default
            .as_ref()
            .filter(|r| !dhcp && r.metric.is_none())
            .and_then(|r| r.via)
            .map(|v: IpAddr| Ip(v).to_string());
        // NOTE: every route is written out, the policy table's subnet routes included:
        // NetworkManager adds the prefix routes of the addresses itself, in the main table, and
        // ignores `table=` for them unless the profile sets `route-table` (which would move
        // *every* route without a table, main default and extra routes included, into that
        // table). Explicit `routeN` + `routeN_options=table=T` give exactly the model's tables.
        let routes: Vec<RouteView> = iface
            .routes()
            .iter()
            .filter(|r| r.family() == family)
            .filter(|r| !(gateway.is_some() && r.table.is_none() && r.is_default()))
            .enumerate()
            .map(|(i, r)| RouteView::new(i + 1, r))
            .collect();
        // NOTE: NetworkManager accepts a routing rule only on the profile that owns the rule's
        // table (prior-art.md §7, from nmstate); the model gives every interface its own table,
        // so each profile carries its rules next to its table's routes.
        let rules = iface
            .rules()
            .iter()
            .filter(|r| r.family() == family)
            .enumerate()
            .map(|(i, r)| (i + 1, rule_value(r)))
            .collect();
        FamilyView {
            section,
            method: if dhcp { "auto" } else { "manual" },
            addresses: addresses
                .into_iter()
                .enumerate()
                .map(|(i, a)| (i + 1, a))
                .collect(),
            gateway,
            // A secondary NIC never takes the main default route: neither from DHCP or router
            // advertisements nor from a gateway.
            never_default: Some(!iface.default_route),
            // NOTE: never-default drops only the default route; the classless static routes of
            // a DHCPv4 lease (option 121) would still be added. A secondary NIC takes no route
            // from DHCP on any stack (networkd `UseRoutes=no`, netplan `use-routes: false`,
            // ifupdown's enter hook), so it ignores them here too. IPv6 keeps its
            // router-advertisement prefix routes, as networkd does.
            ignore_auto_routes: (dhcp && family == Family::Ipv4 && !iface.default_route)
                .then_some(true),
            // For DHCP the metric of the routes NetworkManager learns (default route, classless
            // routes, the subnet route) can only come from `route-metric`. Otherwise it is
            // NetworkManager's ethernet default, written out (see DEFAULT_ROUTE_METRIC).
            route_metric: Some(
                iface
                    .metric
                    .filter(|_| dhcp)
                    .unwrap_or(DEFAULT_ROUTE_METRIC),
            ),
            routes,
            rules,
            // With both families configured either may come up first; with one, it must.
            may_fail: Some(other_configured),
        }
    }
}

/// `priority P from ADDR table T` (NetworkManager's routing-rule syntax, as `nmstatectl gc`
/// writes it).
fn rule_value(rule: &KernelRule) -> String {
    format!(
        "priority {} from {} table {}",
        rule.priority,
        Ip(rule.from),
        rule.table
    )
}

/// The view of one interface's keyfile; every string value is already quoted.
#[derive(Template)]
#[template(path = "nm-keyfile/connection.nmconnection", escape = "none")]
struct ConnectionView {
    header: String,
    id: String,
    uuid: String,
    interface_name: String,
    autoconnect_priority: i32,
    mac: Option<String>,
    mtu: Option<u32>,
    families: Vec<FamilyView>,
    origin: String,
}

impl ConnectionView {
    fn new(iface: &Interface) -> Result<ConnectionView> {
        Ok(ConnectionView {
            header: super::header(BackendKind::NmKeyfile),
            id: quote(&connection_id(iface))?,
            uuid: connection_uuid(iface).to_string(),
            interface_name: quote(iface.name.as_str())?,
            autoconnect_priority: AUTOCONNECT_PRIORITY,
            mac: iface.mac.map(|m| m.to_string()),
            mtu: iface.mtu,
            families: vec![
                FamilyView::new(iface, Family::Ipv4),
                FamilyView::new(iface, Family::Ipv6),
            ],
            origin: quote(ORIGIN)?,
        })
    }
}

/// The per-interface apply command (distro-matrix.md §1, NM-key; cloud-init's NM activator).
pub fn apply_command(iface: &Interface) -> String {
    let path = file_path(iface);
    format!("nmcli connection load {path} && nmcli connection up filename {path}")
}

impl Backend for NmKeyfile {
    fn render(&self, config: &Config, ctx: &Context<'_>) -> Result<Rendered> {
        let mut files = Vec::new();
        let mut interface = Vec::new();
        for iface in &config.interfaces {
            let view = ConnectionView::new(iface)?;
            let contents = super::render_file(&view, &format!("the keyfile of {}", iface.name))?;
            files.push(FileOut {
                path: file_path(iface),
                mode: FILE_MODE,
                contents,
            });
            interface.push(apply_command(iface));
        }
        Ok(Rendered {
            files,
            commands: Commands {
                restart: ctx.stack.restart_command().to_owned(),
                interface,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ConfigSpec;
    use crate::root::RootFacts;

    fn config(yaml: &str) -> Config {
        let spec: ConfigSpec = serde_yaml::from_str(yaml).unwrap();
        Config::from_spec(&spec).unwrap()
    }

    fn render_one(yaml: &str) -> String {
        let rendered = NmKeyfile
            .render(
                &config(yaml),
                &Context {
                    stack: crate::distro::Stack::NetworkManagerKeyfile,
                    root: &RootFacts::default(),
                },
            )
            .unwrap();
        assert_eq!(rendered.files.len(), 1);
        assert_eq!(rendered.files[0].mode, 0o600);
        rendered.files[0].contents.clone()
    }

    #[test]
    fn uuid_is_stable_and_follows_the_identity() {
        let a = config("interfaces: [{name: eth1, mac: '00:16:3e:00:00:01', ipv4: {dhcp: true}}]");
        let b = config(
            "interfaces: [{name: eth1, mac: '00:16:3E:00:00:01', ipv4: {dhcp: true}, metric: 5}]",
        );
        let c = config("interfaces: [{name: eth2, mac: '00:16:3e:00:00:01', ipv4: {dhcp: true}}]");
        let d = config("interfaces: [{name: eth1, ipv4: {dhcp: true}}]");
        let u = |c: &Config| connection_uuid(&c.interfaces[0]);
        // Same identity (MAC case is normalized), other settings: same profile.
        assert_eq!(u(&a), u(&b));
        assert_ne!(u(&a), u(&c));
        assert_ne!(u(&a), u(&d));
        assert_eq!(u(&a).get_version_num(), 5);
    }

    #[test]
    fn main_default_route_with_a_metric_is_an_explicit_route() {
        // `gateway=` would take route-metric, which NM also puts on the prefix route.
        let text = render_one(
            "interfaces: [{name: eth1, ipv4: {addresses: [10.0.4.8/24], gateway: 10.0.4.1}, \
             default_route: true, metric: 500}]",
        );
        assert!(text.contains("route1=0.0.0.0/0,10.0.4.1,500\n"), "{text}");
        assert!(!text.contains("gateway="), "{text}");
        assert!(text.contains("never-default=false\n"), "{text}");
        assert!(text.contains("route-metric=100\n"), "{text}");
        let text = render_one(
            "interfaces: [{name: eth1, ipv4: {addresses: [10.0.4.8/24], gateway: 10.0.4.1}, \
             default_route: true}]",
        );
        assert!(text.contains("gateway=10.0.4.1\n"), "{text}");
        assert!(!text.contains("route1="), "{text}");
    }

    #[test]
    fn secondary_dhcp_never_takes_the_default_route() {
        let text = render_one(
            "interfaces: [{name: eth1, ipv4: {dhcp: true}, ipv6: {dhcp: true}, metric: 300}]",
        );
        assert_eq!(text.matches("method=auto\n").count(), 2, "{text}");
        assert_eq!(text.matches("never-default=true\n").count(), 2, "{text}");
        assert_eq!(text.matches("route-metric=300\n").count(), 2, "{text}");
        assert!(!text.contains("gateway="), "{text}");
    }

    #[test]
    fn addresses_keep_the_primary_first() {
        let text = render_one(
            "interfaces: [{name: eth1, ipv4: {addresses: [10.0.2.5/24, 10.0.2.6]}, \
             ipv6: {addresses: ['2001:db8::10/64', '2001:db8::11']}}]",
        );
        // Model order for both families: address1 is the primary (IPv4) or the preferred
        // source (IPv6: NM adds address1 last, and the kernel prefers the newest).
        let v4 = text.find("address1=10.0.2.5/24\naddress2=10.0.2.6/24\n");
        let v6 = text.find("address1=2001:db8::10/64\naddress2=2001:db8::11/64\n");
        assert!(v4.is_some() && v6.is_some(), "{text}");
    }

    #[test]
    fn unconfigured_families_and_ownership() {
        let text = render_one("interfaces: [{name: eth1, ipv4: {addresses: [10.0.2.5/24]}}]");
        assert!(text.contains("[ipv6]\nmethod=link-local\n"), "{text}");
        assert!(
            text.ends_with("[user]\norg.freedesktop.NetworkManager.origin=enicfg\n"),
            "{text}"
        );
        assert!(!text.contains("[ethernet]"), "{text}");
        let text = render_one("interfaces: [{name: eth1, ipv6: {addresses: ['2001:db8::10/64']}}]");
        assert!(text.contains("[ipv4]\nmethod=disabled\n"), "{text}");
    }

    #[test]
    fn quote_leaves_plain_values_alone() {
        for s in [
            "eth1",
            "enicfg-eth1",
            "a;b",
            "a b",
            "#x",
            "[x]",
            "a=b",
            "\"q\"",
        ] {
            assert_eq!(quote(s).unwrap(), s);
        }
    }

    #[test]
    fn quote_escapes_what_glib_unescapes() {
        assert_eq!(quote("a\\b").unwrap(), "a\\\\b");
        assert_eq!(quote("a\nb\tc\rd").unwrap(), "a\\nb\\tc\\rd");
        assert_eq!(quote(" a").unwrap(), "\\sa");
        assert_eq!(quote("  a b ").unwrap(), "\\s\\sa b\\s");
        assert_eq!(quote("   ").unwrap(), "\\s\\s\\s");
        assert_eq!(quote("").unwrap(), "");
    }

    #[test]
    fn quote_rejects_other_control_characters() {
        assert!(quote("a\0b").is_err());
        assert!(quote("a\u{7f}").is_err());
        assert!(quote("\u{1b}[31m").is_err());
    }
}
