//! The normalized, validated description of every interface enicfg configures.
//!
//! Sources (our YAML/JSON schema, command-line flags, cloud metadata) all produce a
//! [`ConfigSpec`], the raw user-facing schema, and [`Config::from_spec`] turns it into a
//! [`Config`] exactly once. After that, nothing is re-checked: the types here make bad states
//! unrepresentable (an [`IfName`] is a valid kernel name, a static family always has at least one
//! address, a gateway is always on-link). Backends read only these types.
//!
//! The model also derives the *meaning* every backend must express — the routes of every table
//! and the policy rules ([`Interface::routes`], [`Interface::rules`]) — so that no backend
//! computes routing on its own and every format reaches the same kernel state.
//!
//! This module never knows distros, formats or files.

use std::collections::BTreeSet;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use serde::{Deserialize, Serialize};

// ---------------------------------------------------------------------------------------------
// The raw schema (what users and pipelines write). Documented in README.md "Input schema".
// ---------------------------------------------------------------------------------------------

/// The top-level input document: `interfaces: [...]`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ConfigSpec {
    /// Every interface to configure, in order.
    pub interfaces: Vec<InterfaceSpec>,
}

/// One interface as written by the user; values are still strings to be validated.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct InterfaceSpec {
    /// Kernel interface name.
    pub name: String,
    /// MAC address, any case.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<String>,
    /// The instance's primary NIC.
    #[serde(default)]
    pub primary: bool,
    /// Link MTU.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtu: Option<u32>,
    /// IPv4 configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv4: Option<FamilySpec>,
    /// IPv6 configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv6: Option<FamilySpec>,
    /// Extra routes through this interface.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub routes: Vec<RouteSpec>,
    /// Put the gateway in the main table as a default route (defaults to `primary`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_route: Option<bool>,
    /// Metric for this interface's routes, DHCP ones included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric: Option<u32>,
    /// Source-based routing for this interface.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_routing: Option<PolicyRoutingSpec>,
}

/// `ipv4:` or `ipv6:` of an interface.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FamilySpec {
    /// Use DHCP (DHCPv6/RA for IPv6) instead of static addresses.
    #[serde(default)]
    pub dhcp: bool,
    /// Static addresses, `ADDR[/PREFIX]`; the first is the primary address.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub addresses: Vec<String>,
    /// The subnet gateway.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<String>,
}

/// One entry of `routes:`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RouteSpec {
    /// Destination network.
    pub to: String,
    /// Next hop; absent for an on-link route.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
    /// Route metric; defaults to the interface's `metric`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric: Option<u32>,
}

/// `policy_routing:` of an interface.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PolicyRoutingSpec {
    /// Routing table id.
    pub table: u32,
    /// Rule priority; defaults to the table id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<u32>,
}

// ---------------------------------------------------------------------------------------------
// Validated value types.
// ---------------------------------------------------------------------------------------------

/// A kernel interface name: 1..=15 bytes, no `/`, `:` or whitespace, not `.` or `..`
/// (`dev_valid_name` in the kernel's `net/core/dev.c`). Also restricted to printable ASCII so it
/// can never carry a quote, a newline or a control character into a rendered file.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct IfName(String);

impl IfName {
    /// The name as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for IfName {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let rule = "interface names are 1-15 bytes of printable ASCII without '/', ':', quotes, \
                    '\\' or whitespace, and not '.' or '..'";
        let bad = s.is_empty()
            || s.len() > 15
            || s == "."
            || s == ".."
            || s.chars().any(|c| {
                !c.is_ascii_graphic() || matches!(c, '/' | ':' | '\'' | '"' | '\\' | '`' | '$')
            });
        if bad {
            Err(format!("name {s:?} is not a valid interface name: {rule}"))
        } else {
            Ok(IfName(s.to_owned()))
        }
    }
}

impl fmt::Display for IfName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A 48-bit Ethernet MAC address; displayed lower case with colons.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MacAddr(pub [u8; 6]);

impl FromStr for MacAddr {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let err = || {
            format!(
                "mac {s:?} is not a MAC address: expected six hex pairs separated by ':', like 00:16:3e:12:34:56"
            )
        };
        let mut out = [0u8; 6];
        let parts: Vec<&str> = s.split(':').collect();
        if parts.len() != 6 {
            return Err(err());
        }
        for (slot, part) in out.iter_mut().zip(&parts) {
            if part.len() != 2 || !part.chars().all(|c| c.is_ascii_hexdigit()) {
                return Err(err());
            }
            *slot = u8::from_str_radix(part, 16).map_err(|_| err())?;
        }
        if out == [0; 6] || out[0] & 1 == 1 {
            return Err(format!(
                "mac {s:?} is not a unicast MAC address: it must not be all zeros or a multicast address"
            ));
        }
        Ok(MacAddr(out))
    }
}

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            b[0], b[1], b[2], b[3], b[4], b[5]
        )
    }
}

impl Serialize for MacAddr {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// An IP address family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    /// IPv4.
    Ipv4,
    /// IPv6.
    Ipv6,
}

impl Family {
    /// The family of an address.
    pub fn of(addr: IpAddr) -> Family {
        match addr {
            IpAddr::V4(_) => Family::Ipv4,
            IpAddr::V6(_) => Family::Ipv6,
        }
    }

    /// `ipv4` / `ipv6`, as in the schema.
    pub fn key(self) -> &'static str {
        match self {
            Family::Ipv4 => "ipv4",
            Family::Ipv6 => "ipv6",
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The validated model.
// ---------------------------------------------------------------------------------------------

/// Lowest MTU the kernel accepts for IPv4 (RFC 791).
pub const MTU_MIN: u32 = 68;
/// Lowest MTU IPv6 works with (RFC 8200).
pub const MTU_MIN_IPV6: u32 = 1280;
/// Highest MTU enicfg accepts.
pub const MTU_MAX: u32 = 65535;

/// Every interface to configure, validated.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Config {
    /// Interfaces in input order; never empty.
    pub interfaces: Vec<Interface>,
}

/// How one family of an interface gets its addresses.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Addressing<N, A> {
    /// DHCP (for IPv6: DHCPv6 and router advertisements).
    Dhcp,
    /// Static addresses.
    Static {
        /// At least one address; the first is the kernel's primary address.
        addresses: Vec<N>,
        /// A gateway inside one of the addresses' subnets (or IPv6 link-local).
        gateway: Option<A>,
    },
}

/// IPv4 addressing of an interface.
pub type Ipv4Config = Addressing<Ipv4Net, Ipv4Addr>;
/// IPv6 addressing of an interface.
pub type Ipv6Config = Addressing<Ipv6Net, Ipv6Addr>;

impl<N: Copy + Into<IpNet>, A: Copy + Into<IpAddr>> Addressing<N, A> {
    /// True for DHCP.
    pub fn is_dhcp(&self) -> bool {
        matches!(self, Addressing::Dhcp)
    }

    /// Static addresses (empty for DHCP).
    pub fn addresses(&self) -> &[N] {
        match self {
            Addressing::Dhcp => &[],
            Addressing::Static { addresses, .. } => addresses,
        }
    }

    /// The static gateway, if any.
    pub fn gateway(&self) -> Option<A> {
        match self {
            Addressing::Dhcp => None,
            Addressing::Static { gateway, .. } => *gateway,
        }
    }

    /// The connected subnets of the static addresses, deduplicated, in address order.
    pub fn subnets(&self) -> Vec<IpNet> {
        let mut seen = BTreeSet::new();
        self.addresses()
            .iter()
            .map(|a| (*a).into().trunc())
            .filter(|n| seen.insert(*n))
            .collect()
    }
}

/// An extra route through an interface, in the main table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Route {
    /// Destination (never a default route; that is `default_route`).
    pub to: IpNet,
    /// Next hop, on-link; `None` for an on-link route.
    pub via: Option<IpAddr>,
    /// Metric (the route's own, else the interface's).
    pub metric: Option<u32>,
}

/// Source-based routing for an interface.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PolicyRouting {
    /// Routing table id: 1..=4294967295, not 253, 254 or 255.
    pub table: u32,
    /// Rule priority.
    pub priority: u32,
}

/// One validated interface.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Interface {
    /// Kernel name.
    pub name: IfName,
    /// MAC address, when known.
    pub mac: Option<MacAddr>,
    /// The instance's primary NIC.
    pub primary: bool,
    /// MTU.
    pub mtu: Option<u32>,
    /// IPv4, if configured.
    pub ipv4: Option<Ipv4Config>,
    /// IPv6, if configured.
    pub ipv6: Option<Ipv6Config>,
    /// Extra main-table routes, metrics already defaulted to the interface's.
    pub routes: Vec<Route>,
    /// Whether the gateways go into the main table as default routes.
    pub default_route: bool,
    /// Metric for the interface's routes (main default route, DHCP routes, extra routes).
    pub metric: Option<u32>,
    /// Source-based routing.
    pub policy_routing: Option<PolicyRouting>,
}

/// A route in the kernel's terms: what every backend must produce.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KernelRoute {
    /// Destination; `0.0.0.0/0` or `::/0` for a default route.
    pub to: IpNet,
    /// Next hop, or `None` for a link-scope route.
    pub via: Option<IpAddr>,
    /// Metric, when set.
    pub metric: Option<u32>,
    /// Table id, `None` for main.
    pub table: Option<u32>,
}

impl KernelRoute {
    /// The family of the destination.
    pub fn family(&self) -> Family {
        Family::of(self.to.addr())
    }

    /// True for `0.0.0.0/0` / `::/0`.
    pub fn is_default(&self) -> bool {
        self.to.prefix_len() == 0
    }
}

/// A policy rule `from ADDR lookup TABLE priority PRIORITY`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KernelRule {
    /// Source address (a host).
    pub from: IpAddr,
    /// Table id.
    pub table: u32,
    /// Rule priority.
    pub priority: u32,
}

impl KernelRule {
    /// The family of the source address.
    pub fn family(&self) -> Family {
        Family::of(self.from)
    }
}

impl Interface {
    /// Whether IPv6 is configured at all.
    pub fn has_ipv6(&self) -> bool {
        self.ipv6.is_some()
    }

    /// The static gateway of a family.
    pub fn gateway(&self, family: Family) -> Option<IpAddr> {
        match family {
            Family::Ipv4 => self.ipv4.as_ref()?.gateway().map(IpAddr::V4),
            Family::Ipv6 => self.ipv6.as_ref()?.gateway().map(IpAddr::V6),
        }
    }

    /// The static addresses of a family, as `IpNet`, in order.
    pub fn addresses(&self, family: Family) -> Vec<IpNet> {
        match family {
            Family::Ipv4 => self
                .ipv4
                .iter()
                .flat_map(|c| c.addresses())
                .map(|a| (*a).into())
                .collect(),
            Family::Ipv6 => self
                .ipv6
                .iter()
                .flat_map(|c| c.addresses())
                .map(|a| (*a).into())
                .collect(),
        }
    }

    /// The static addresses of a family in the order a stack that adds them one by one must
    /// add them, so the kernel ends with the first one as its primary: IPv4 in order (the first
    /// address added is the primary, later ones in its subnet are secondaries); IPv6 in reverse,
    /// because the kernel lists the newest IPv6 address first and prefers it as the source
    /// address among otherwise equal candidates.
    pub fn addresses_to_add(&self, family: Family) -> Vec<IpNet> {
        let mut v = self.addresses(family);
        if family == Family::Ipv6 {
            v.reverse();
        }
        v
    }

    /// Connected subnets of a family's static addresses.
    pub fn subnets(&self, family: Family) -> Vec<IpNet> {
        match family {
            Family::Ipv4 => self.ipv4.as_ref().map(|c| c.subnets()).unwrap_or_default(),
            Family::Ipv6 => self.ipv6.as_ref().map(|c| c.subnets()).unwrap_or_default(),
        }
    }

    /// Whether a family uses DHCP.
    pub fn is_dhcp(&self, family: Family) -> bool {
        match family {
            Family::Ipv4 => self.ipv4.as_ref().is_some_and(|c| c.is_dhcp()),
            Family::Ipv6 => self.ipv6.as_ref().is_some_and(|c| c.is_dhcp()),
        }
    }

    /// Main-table default route of a family, when `default_route` and a static gateway exist.
    pub fn main_default_route(&self, family: Family) -> Option<KernelRoute> {
        if !self.default_route {
            return None;
        }
        let via = self.gateway(family)?;
        Some(KernelRoute {
            to: default_net(family),
            via: Some(via),
            metric: self.metric,
            table: None,
        })
    }

    /// The families that get a policy table: those with a static gateway, when policy routing
    /// is on.
    pub fn policy_families(&self) -> Vec<Family> {
        if self.policy_routing.is_none() {
            return Vec::new();
        }
        [Family::Ipv4, Family::Ipv6]
            .into_iter()
            .filter(|f| self.gateway(*f).is_some())
            .collect()
    }

    /// Routes of the policy table for a family: the connected subnets, then the default route.
    pub fn policy_table_routes(&self, family: Family) -> Vec<KernelRoute> {
        let (Some(pr), Some(gw)) = (self.policy_routing, self.gateway(family)) else {
            return Vec::new();
        };
        let mut out: Vec<KernelRoute> = self
            .subnets(family)
            .into_iter()
            .map(|to| KernelRoute {
                to,
                via: None,
                metric: None,
                table: Some(pr.table),
            })
            .collect();
        out.push(KernelRoute {
            to: default_net(family),
            via: Some(gw),
            metric: None,
            table: Some(pr.table),
        });
        out
    }

    /// Every route this interface must add beyond the kernel's connected routes, in a stable
    /// order: extra routes, main default routes, then policy-table routes (IPv4 before IPv6).
    pub fn routes(&self) -> Vec<KernelRoute> {
        let mut out: Vec<KernelRoute> = self
            .routes
            .iter()
            .map(|r| KernelRoute {
                to: r.to,
                via: r.via,
                metric: r.metric,
                table: None,
            })
            .collect();
        for family in [Family::Ipv4, Family::Ipv6] {
            out.extend(self.main_default_route(family));
        }
        for family in [Family::Ipv4, Family::Ipv6] {
            out.extend(self.policy_table_routes(family));
        }
        out
    }

    /// Policy rules: one per static address of every policy family, in address order.
    pub fn rules(&self) -> Vec<KernelRule> {
        let Some(pr) = self.policy_routing else {
            return Vec::new();
        };
        self.policy_families()
            .into_iter()
            .flat_map(|f| self.addresses(f))
            .map(|a| KernelRule {
                from: a.addr(),
                table: pr.table,
                priority: pr.priority,
            })
            .collect()
    }
}

/// `0.0.0.0/0` or `::/0`.
pub fn default_net(family: Family) -> IpNet {
    match family {
        Family::Ipv4 => IpNet::V4(Ipv4Net::default()),
        Family::Ipv6 => IpNet::V6(Ipv6Net::default()),
    }
}

// ---------------------------------------------------------------------------------------------
// Validation: spec -> model, once.
// ---------------------------------------------------------------------------------------------

/// Every problem found in an input, one line each: `eth1: ipv4.gateway 10.0.3.1 is outside
/// 10.0.2.0/24`.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidationError {
    /// The problems, in input order.
    pub problems: Vec<String>,
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.problems.as_slice() {
            [one] => f.write_str(one),
            many => {
                write!(f, "{} problems:", many.len())?;
                for p in many {
                    write!(f, "\n  {p}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for ValidationError {}

/// How problems name what is wrong: by the schema's keys (`ipv4.gateway`, for a description
/// file or metadata) or by the command-line flags that set them (`--gateway`). The model knows
/// no flag: a description given with flags comes with the function that names a key's flag
/// (`source::flags::flag_for`).
#[derive(Debug, Clone, Copy, Default)]
pub enum Naming {
    /// Keys of the input schema.
    #[default]
    Schema,
    /// The flag that sets a schema key, from the flags source (`None`: the key itself).
    Flags(fn(&str) -> Option<&'static str>),
}

impl Naming {
    /// The name of a schema key: itself, or the flag that sets it.
    fn key(self, key: &str) -> String {
        match self {
            Naming::Schema => key,
            Naming::Flags(flag_for) => flag_for(key).unwrap_or(key),
        }
        .to_owned()
    }

    /// A message that leads with a key produced by a type's parser (`mac "x" is not ...`),
    /// naming the flag instead.
    fn lead(self, key: &str, message: &str) -> String {
        match message
            .strip_prefix(key)
            .filter(|_| matches!(self, Naming::Flags(_)))
        {
            Some(rest) => format!("{}{rest}", self.key(key)),
            None => message.to_owned(),
        }
    }
}

/// Collects problems for one interface, prefixed with its name (or index).
struct Problems<'a> {
    who: String,
    out: &'a mut Vec<String>,
    naming: Naming,
}

impl Problems<'_> {
    fn push(&mut self, msg: impl fmt::Display) {
        self.out.push(format!("{}: {msg}", self.who));
    }

    /// The name of a schema key, as the input spelled it.
    fn key(&self, key: &str) -> String {
        self.naming.key(key)
    }

    /// `ipv4.dhcp is true` / `--dhcp is given`.
    fn is_on(&self, key: &str) -> String {
        match self.naming {
            Naming::Schema => format!("{key} is true"),
            Naming::Flags(_) => format!("{} is given", self.key(key)),
        }
    }

    /// `ipv4.addresses is empty` / `no --address is given`.
    fn is_empty(&self, key: &str) -> String {
        match self.naming {
            Naming::Schema => format!("{key} is empty"),
            Naming::Flags(_) => format!("no {} is given", self.key(key)),
        }
    }

    /// How a route is named: `routes[0]`, or `--route` with the value it came from.
    fn route_name(&self, index: usize, spec: &RouteSpec) -> String {
        match self.naming {
            Naming::Schema => format!("routes[{index}]"),
            Naming::Flags(_) => {
                let mut value = spec.to.clone();
                if let Some(via) = &spec.via {
                    value.push_str(&format!(",via={via}"));
                }
                if let Some(metric) = spec.metric {
                    value.push_str(&format!(",metric={metric}"));
                }
                format!("{} {value}", self.key("routes"))
            }
        }
    }

    /// How a route's `to` and `via` are named: `routes[0].to`, or `--route VALUE: to`.
    fn route(&self, index: usize, spec: &RouteSpec) -> (String, String) {
        let name = self.route_name(index, spec);
        match self.naming {
            Naming::Schema => (format!("{name}.to"), format!("{name}.via")),
            Naming::Flags(_) => (format!("{name}: to"), format!("{name}: via")),
        }
    }
}

impl Config {
    /// Validates and normalizes a spec. Reports every problem at once, naming the schema's
    /// keys.
    pub fn from_spec(spec: &ConfigSpec) -> Result<Config, ValidationError> {
        Config::from_spec_named(spec, Naming::Schema)
    }

    /// [`Config::from_spec`], naming what is wrong as `naming` says (the flags, for a
    /// description given with flags).
    pub fn from_spec_named(spec: &ConfigSpec, naming: Naming) -> Result<Config, ValidationError> {
        let mut problems = Vec::new();
        if spec.interfaces.is_empty() {
            problems
                .push("interfaces: the list is empty: describe at least one interface".to_owned());
        }
        let mut interfaces = Vec::new();
        for (i, ispec) in spec.interfaces.iter().enumerate() {
            if let Some(iface) = validate_interface(i, ispec, naming, &mut problems) {
                interfaces.push(iface);
            }
        }
        check_unique(&interfaces, &mut problems);
        if problems.is_empty() {
            Ok(Config { interfaces })
        } else {
            Err(ValidationError { problems })
        }
    }

    /// Drops primary interfaces unless `include_primary`; fails when nothing is left.
    pub fn select(self, include_primary: bool) -> Result<Config, ValidationError> {
        let skipped: Vec<String> = self
            .interfaces
            .iter()
            .filter(|i| i.primary && !include_primary)
            .map(|i| i.name.to_string())
            .collect();
        let interfaces: Vec<Interface> = self
            .interfaces
            .into_iter()
            .filter(|i| include_primary || !i.primary)
            .collect();
        if interfaces.is_empty() {
            return Err(ValidationError {
                problems: vec![format!(
                    "nothing to configure: {} is the primary interface and is left alone unless --include-primary is given",
                    skipped.join(", ")
                )],
            });
        }
        Ok(Config { interfaces })
    }
}

/// `metric 200` or `no metric`, for messages about two routes that collide.
fn metric_text(metric: Option<u32>) -> String {
    metric.map_or_else(|| "no metric".to_owned(), |m| format!("metric {m}"))
}

fn check_unique(interfaces: &[Interface], problems: &mut Vec<String>) {
    let mut names = BTreeSet::new();
    let mut macs = std::collections::BTreeMap::new();
    let mut addrs = std::collections::BTreeMap::new();
    let mut tables = std::collections::BTreeMap::new();
    let mut routes = std::collections::HashMap::new();
    for iface in interfaces {
        let who = &iface.name;
        if !names.insert(who) {
            problems.push(format!(
                "{who}: name {who} is used by more than one interface"
            ));
        }
        if let Some(mac) = iface.mac
            && let Some(other) = macs.insert(mac, who)
        {
            problems.push(format!("{who}: mac {mac} is also the mac of {other}"));
        }
        for family in [Family::Ipv4, Family::Ipv6] {
            for a in iface.addresses(family) {
                if let Some(other) = addrs.insert(a.addr(), who)
                    && other != who
                {
                    let key = family.key();
                    let addr = a.addr();
                    problems.push(format!(
                        "{who}: {key}.addresses {addr} is also an address of {other}"
                    ));
                }
            }
        }
        // NOTE: the main table keeps one route per destination and metric: the kernel refuses a
        // second one ("File exists"), also through another device and in both families (checked
        // in a namespace). That fails ifupdown's and ifup's `ip route add`, and `ip route
        // replace` (initscripts) or a stack that replaces its routes would take the first away.
        // Extra routes and the default routes `default_route` asks for alike.
        for r in iface.routes().iter().filter(|r| r.table.is_none()) {
            if let Some(other) = routes.insert((r.to, r.metric), who)
                && other != who
            {
                let metric = metric_text(r.metric);
                problems.push(if r.is_default() {
                    format!(
                        "{who}: its main default route ({}.gateway with default_route) with {metric} is also the default route of {other}: the kernel keeps one route per destination and metric in the main table, so give one of them another metric, or default_route: false",
                        r.family().key()
                    )
                } else {
                    format!(
                        "{who}: the route to {} with {metric} is also a route of {other}: the kernel keeps one route per destination and metric in the main table, so give one of them another metric",
                        r.to
                    )
                });
            }
        }
        if let Some(pr) = iface.policy_routing
            && let Some(other) = tables.insert(pr.table, who)
        {
            problems.push(format!(
                "{who}: policy_routing.table {} is also the table of {other}: each interface needs its own table",
                pr.table
            ));
        }
    }
}

fn validate_interface(
    index: usize,
    spec: &InterfaceSpec,
    naming: Naming,
    all: &mut Vec<String>,
) -> Option<Interface> {
    let start = all.len();
    let name = match spec.name.parse::<IfName>() {
        Ok(n) => Some(n),
        Err(e) => {
            all.push(match naming {
                Naming::Schema => format!("interfaces[{index}]: {e}"),
                Naming::Flags(_) => naming.lead("name", &e),
            });
            None
        }
    };
    let who = name
        .as_ref()
        .map_or_else(|| format!("interfaces[{index}]"), |n| n.to_string());
    let mut p = Problems {
        who,
        out: all,
        naming,
    };

    let mac = match spec.mac.as_deref().map(str::parse::<MacAddr>) {
        Some(Err(e)) => {
            p.push(naming.lead("mac", &e));
            None
        }
        Some(Ok(m)) => Some(m),
        None => None,
    };

    let ipv4 = spec
        .ipv4
        .as_ref()
        .and_then(|f| family_config::<Ipv4Net>(f, "ipv4", &mut p))
        .flatten();
    let ipv6 = spec
        .ipv6
        .as_ref()
        .and_then(|f| family_config::<Ipv6Net>(f, "ipv6", &mut p))
        .flatten();
    if ipv4.is_none() && ipv6.is_none() && spec.ipv4.is_none() && spec.ipv6.is_none() {
        p.push(match naming {
            Naming::Schema => {
                "no ipv4 or ipv6 configuration: give addresses or dhcp: true for at least one family"
                    .to_owned()
            }
            Naming::Flags(_) => format!(
                "no address: give {}, {}, {} or {}",
                p.key("ipv4.addresses"),
                p.key("ipv4.dhcp"),
                p.key("ipv6.addresses"),
                p.key("ipv6.dhcp")
            ),
        });
    } else if ipv4.is_none() && ipv6.is_none() && p.out.len() == start {
        p.push(
            "ipv4 and ipv6 configure nothing: give addresses or dhcp: true for at least one family",
        );
    }

    if let Some(mtu) = spec.mtu {
        if !(MTU_MIN..=MTU_MAX).contains(&mtu) {
            p.push(format!(
                "{} {mtu} is out of range: it must be {MTU_MIN}..={MTU_MAX}",
                p.key("mtu")
            ));
        } else if mtu < MTU_MIN_IPV6 && spec.ipv6.is_some() {
            p.push(format!("{} {mtu} is too small for IPv6: it must be at least {MTU_MIN_IPV6} when ipv6 is configured", p.key("mtu")));
        }
    }

    let mut routes: Vec<Route> = Vec::new();
    // Where each valid route came from, to name the first of two that collide.
    let mut route_index = Vec::new();
    for (ri, r) in spec.routes.iter().enumerate() {
        let Some(route) = validate_route(ri, r, spec.metric, ipv4.as_ref(), ipv6.as_ref(), &mut p)
        else {
            continue;
        };
        // NOTE: the kernel keys a route by destination and metric: a second one is refused
        // ("File exists"), and ifupdown's `up ip route add` or ifup-routes would fail the NIC.
        if let Some(first) = routes
            .iter()
            .position(|o| o.to == route.to && o.metric == route.metric)
        {
            let first_index = route_index[first];
            let metric = metric_text(route.metric);
            p.push(format!(
                "{} repeats {}: the same destination {} and {metric}, and the kernel keeps one route per destination and metric",
                p.route_name(ri, r),
                p.route_name(first_index, &spec.routes[first_index]),
                route.to
            ));
            continue;
        }
        routes.push(route);
        route_index.push(ri);
    }

    let default_route = spec.default_route.unwrap_or(spec.primary);

    let policy_routing = spec.policy_routing.as_ref().and_then(|pr| {
        let mut ok = true;
        if matches!(pr.table, 0 | 253 | 254 | 255) {
            p.push(format!(
                "{} {} is reserved: use 1..=4294967295 except 0, 253 (default), 254 (main) and 255 (local)",
                p.key("policy_routing.table"),
                pr.table
            ));
            ok = false;
        }
        let priority = pr.priority.unwrap_or(pr.table);
        if priority == 0 && ok {
            p.push("policy_routing.priority 0 is reserved for the local table rule: use 1..=4294967295");
            ok = false;
        }
        let has_gw = ipv4.as_ref().and_then(|c| c.gateway()).is_some()
            || ipv6.as_ref().and_then(|c| c.gateway()).is_some();
        if !has_gw {
            p.push(format!(
                "{} needs a static gateway: set {} or {} (DHCP gateways are not known in advance)",
                p.key("policy_routing"),
                p.key("ipv4.gateway"),
                p.key("ipv6.gateway")
            ));
            ok = false;
        }
        ok.then_some(PolicyRouting { table: pr.table, priority })
    });

    if p.out.len() > start {
        return None;
    }
    Some(Interface {
        name: name?,
        mac,
        primary: spec.primary,
        mtu: spec.mtu,
        ipv4,
        ipv6,
        routes,
        default_route,
        metric: spec.metric,
        policy_routing,
    })
}

/// Address types the validator handles for both families.
trait NetOf: Copy + Ord + Into<IpNet> + fmt::Display {
    type Addr: Copy + Eq + Into<IpAddr> + fmt::Display + FromStr;
    fn new(addr: Self::Addr, prefix: u8) -> Option<Self>;
    fn addr(&self) -> Self::Addr;
    fn prefix(&self) -> u8;
    fn contains_addr(&self, a: &Self::Addr) -> bool;
    fn link_local(a: &Self::Addr) -> bool;
    fn max_prefix() -> u8;
    fn family() -> Family;
    fn usable_host(&self) -> Result<(), String>;
}

impl NetOf for Ipv4Net {
    type Addr = Ipv4Addr;
    fn new(addr: Ipv4Addr, prefix: u8) -> Option<Self> {
        Ipv4Net::new(addr, prefix).ok()
    }
    fn addr(&self) -> Ipv4Addr {
        Ipv4Net::addr(self)
    }
    fn prefix(&self) -> u8 {
        self.prefix_len()
    }
    fn contains_addr(&self, a: &Ipv4Addr) -> bool {
        self.contains(a)
    }
    fn link_local(_: &Ipv4Addr) -> bool {
        false
    }
    fn max_prefix() -> u8 {
        32
    }
    fn family() -> Family {
        Family::Ipv4
    }
    fn usable_host(&self) -> Result<(), String> {
        let a = Ipv4Net::addr(self);
        if a.is_unspecified() || a.is_multicast() || a.is_broadcast() || a.is_loopback() {
            return Err(format!("{a} is not a usable unicast address"));
        }
        if self.prefix_len() <= 30 && (a == self.network() || a == self.broadcast()) {
            return Err(format!(
                "{self} is the network or broadcast address of {}",
                self.trunc()
            ));
        }
        Ok(())
    }
}

impl NetOf for Ipv6Net {
    type Addr = Ipv6Addr;
    fn new(addr: Ipv6Addr, prefix: u8) -> Option<Self> {
        Ipv6Net::new(addr, prefix).ok()
    }
    fn addr(&self) -> Ipv6Addr {
        Ipv6Net::addr(self)
    }
    fn prefix(&self) -> u8 {
        self.prefix_len()
    }
    fn contains_addr(&self, a: &Ipv6Addr) -> bool {
        self.contains(a)
    }
    fn link_local(a: &Ipv6Addr) -> bool {
        a.segments()[0] & 0xffc0 == 0xfe80
    }
    fn max_prefix() -> u8 {
        128
    }
    fn family() -> Family {
        Family::Ipv6
    }
    fn usable_host(&self) -> Result<(), String> {
        let a = Ipv6Net::addr(self);
        if a.is_unspecified() || a.is_multicast() || a.is_loopback() || Self::link_local(&a) {
            return Err(format!(
                "{a} is not a usable global or unique-local unicast address"
            ));
        }
        Ok(())
    }
}

/// Parses `ADDR[/PREFIX]` of one family; `default_prefix` applies when there is no prefix.
fn parse_addr<N: NetOf>(s: &str, default_prefix: Option<u8>) -> Result<N, String> {
    let other = match N::family() {
        Family::Ipv4 => "an IPv6",
        Family::Ipv6 => "an IPv4",
    };
    let (addr_s, prefix_s) = match s.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (s, None),
    };
    let addr: N::Addr = match addr_s.trim().parse() {
        Ok(a) => a,
        Err(_) => {
            return Err(if addr_s.parse::<IpAddr>().is_ok() {
                format!(
                    "{s} is {other} address in the {} section",
                    N::family().key()
                )
            } else {
                format!("{s:?} is not an address: expected ADDRESS[/PREFIX]")
            });
        }
    };
    let prefix = match prefix_s {
        Some(p) => p
            .parse::<u8>()
            .ok()
            .filter(|p| *p <= N::max_prefix())
            .ok_or_else(|| format!("{s}: prefix {p:?} must be 0..={}", N::max_prefix()))?,
        None => default_prefix.ok_or_else(|| {
            format!("{s} has no prefix: the first address needs one, like {s}/24")
        })?,
    };
    N::new(addr, prefix).ok_or_else(|| format!("{s}: invalid prefix"))
}

fn family_config<N: NetOf>(
    spec: &FamilySpec,
    key: &str,
    p: &mut Problems<'_>,
) -> Option<Option<Addressing<N, N::Addr>>> {
    // Names for messages, built only when there is one to give (this runs per address family
    // of every interface).
    let naming = p.naming;
    let dhcp_key = || format!("{key}.dhcp");
    let addresses_key = || format!("{key}.addresses");
    let addresses_name = || naming.key(&addresses_key());
    let gateway_name = || naming.key(&format!("{key}.gateway"));
    if spec.dhcp {
        let mut ok = true;
        if !spec.addresses.is_empty() {
            p.push(format!(
                "{} and {} is set: use either DHCP or static addresses, not both",
                p.is_on(&dhcp_key()),
                addresses_name()
            ));
            ok = false;
        }
        if let Some(gw) = &spec.gateway {
            p.push(format!(
                "{} {gw} is set with {}: DHCP provides the gateway",
                gateway_name(),
                p.key(&dhcp_key())
            ));
            ok = false;
        }
        return ok.then_some(Some(Addressing::Dhcp));
    }
    if spec.addresses.is_empty() {
        if let Some(gw) = &spec.gateway {
            p.push(format!(
                "{} {gw} is set but {}",
                gateway_name(),
                p.is_empty(&addresses_key())
            ));
            return None;
        }
        return Some(None);
    }
    let mut addresses: Vec<N> = Vec::new();
    let mut ok = true;
    for raw in &spec.addresses {
        let default_prefix = addresses.first().map(|a| a.prefix());
        match parse_addr::<N>(raw, default_prefix) {
            Err(e) => {
                p.push(format!("{} {e}", addresses_name()));
                ok = false;
            }
            Ok(net) => {
                if let Err(e) = net.usable_host() {
                    p.push(format!("{} {e}", addresses_name()));
                    ok = false;
                } else if addresses.iter().any(|a| a.addr() == net.addr()) {
                    p.push(format!(
                        "{} {} is listed twice",
                        addresses_name(),
                        net.addr()
                    ));
                    ok = false;
                } else {
                    addresses.push(net);
                }
            }
        }
    }
    let gateway = match spec.gateway.as_deref() {
        None => None,
        Some(raw) => match raw.parse::<N::Addr>() {
            Err(_) => {
                if raw.parse::<IpAddr>().is_ok() {
                    let fam = if key == "ipv4" { "IPv6" } else { "IPv4" };
                    p.push(match p.naming {
                        Naming::Schema => {
                            format!("{key}.gateway {raw} is an {fam} address in the {key} section")
                        }
                        Naming::Flags(_) => format!(
                            "{} {raw} is an {fam} address: use {}",
                            gateway_name(),
                            p.key(if key == "ipv4" {
                                "ipv6.gateway"
                            } else {
                                "ipv4.gateway"
                            })
                        ),
                    });
                } else {
                    p.push(format!("{} {raw:?} is not an address", gateway_name()));
                }
                ok = false;
                None
            }
            Ok(gw) => {
                if addresses.iter().any(|a| a.addr() == gw) {
                    p.push(format!(
                        "{} {gw} is one of the interface's own addresses",
                        gateway_name()
                    ));
                    ok = false;
                } else if !N::link_local(&gw)
                    && !addresses.is_empty()
                    && !addresses.iter().any(|a| a.contains_addr(&gw))
                {
                    let subnets: Vec<String> = addresses
                        .iter()
                        .map(|a| Into::<IpNet>::into(*a).trunc().to_string())
                        .collect::<BTreeSet<_>>()
                        .into_iter()
                        .collect();
                    p.push(format!(
                        "{} {gw} is outside {}",
                        gateway_name(),
                        subnets.join(" and ")
                    ));
                    ok = false;
                }
                Some(gw)
            }
        },
    };
    ok.then_some(Some(Addressing::Static { addresses, gateway }))
}

fn validate_route(
    index: usize,
    spec: &RouteSpec,
    iface_metric: Option<u32>,
    ipv4: Option<&Ipv4Config>,
    ipv6: Option<&Ipv6Config>,
    p: &mut Problems<'_>,
) -> Option<Route> {
    let (to_name, via_name) = p.route(index, spec);
    let to: IpNet = match spec.to.parse::<IpNet>() {
        Ok(n) => n,
        Err(_) => match spec.to.parse::<IpAddr>() {
            Ok(a) => IpNet::from(a),
            Err(_) => {
                p.push(format!(
                    "{to_name} {:?} is not a network: expected NETWORK/PREFIX",
                    spec.to
                ));
                return None;
            }
        },
    };
    if to.trunc() != to {
        p.push(format!(
            "{to_name} {to} has host bits set: did you mean {}?",
            to.trunc()
        ));
        return None;
    }
    if to.prefix_len() == 0 {
        p.push(format!(
            "{to_name} {to} is a default route: use {} instead",
            match p.naming {
                Naming::Schema => "default_route: true (or policy_routing)".to_owned(),
                Naming::Flags(_) => format!(
                    "{} (or {})",
                    p.key("default_route"),
                    p.key("policy_routing")
                ),
            }
        ));
        return None;
    }
    let family = Family::of(to.addr());
    let (configured, dhcp) = match family {
        Family::Ipv4 => (ipv4.is_some(), ipv4.is_some_and(|c| c.is_dhcp())),
        Family::Ipv6 => (ipv6.is_some(), ipv6.is_some_and(|c| c.is_dhcp())),
    };
    if !configured {
        p.push(format!(
            "{to_name} {to} is an {} route but {} is not configured",
            family.key(),
            family.key()
        ));
        return None;
    }
    let via = match spec.via.as_deref() {
        None => None,
        Some(raw) => {
            let Ok(via) = raw.parse::<IpAddr>() else {
                p.push(format!("{via_name} {raw:?} is not an address"));
                return None;
            };
            if Family::of(via) != family {
                p.push(format!(
                    "{via_name} {via} is of the wrong address family for {to}"
                ));
                return None;
            }
            let link_local = matches!(via, IpAddr::V6(v) if <Ipv6Net as NetOf>::link_local(&v));
            let subnets: Vec<IpNet> = match family {
                Family::Ipv4 => ipv4.map(|c| c.subnets()).unwrap_or_default(),
                Family::Ipv6 => ipv6.map(|c| c.subnets()).unwrap_or_default(),
            };
            // NOTE: with DHCP the subnet is only known at run time, so `via` cannot be checked.
            if !dhcp && !link_local && !subnets.iter().any(|s| s.contains(&via)) {
                let list: Vec<String> = subnets.iter().map(ToString::to_string).collect();
                p.push(format!(
                    "{via_name} {via} is not reachable on-link: it is outside {}",
                    list.join(" and ")
                ));
                return None;
            }
            Some(via)
        }
    };
    Some(Route {
        to,
        via,
        metric: spec.metric.or(iface_metric),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(yaml: &str) -> Config {
        let spec: ConfigSpec = serde_yaml::from_str(yaml).unwrap();
        Config::from_spec(&spec).unwrap()
    }

    fn show(routes: &[KernelRoute]) -> Vec<String> {
        routes
            .iter()
            .map(|r| {
                let mut s = r.to.to_string();
                if let Some(v) = r.via {
                    s += &format!(" via {v}");
                }
                if let Some(m) = r.metric {
                    s += &format!(" metric {m}");
                }
                if let Some(t) = r.table {
                    s += &format!(" table {t}");
                }
                s
            })
            .collect()
    }

    #[test]
    fn derives_routes_and_rules_for_every_table() {
        let c = config(
            "interfaces:\n- name: eth1\n  mac: 00:16:3E:12:34:56\n  ipv4: {addresses: [10.0.2.5/24, 10.0.2.6, 10.0.3.7/24], gateway: 10.0.2.253}\n  ipv6: {addresses: ['2001:db8::10/64'], gateway: 'fe80::1'}\n  routes: [{to: 192.168.0.0/16, via: 10.0.2.253}]\n  metric: 300\n  policy_routing: {table: 1001}\n",
        );
        let i = &c.interfaces[0];
        assert_eq!(i.mac.unwrap().to_string(), "00:16:3e:12:34:56");
        assert!(
            !i.default_route,
            "a secondary NIC gets no main default route by default"
        );
        assert_eq!(
            show(&i.routes()),
            [
                "192.168.0.0/16 via 10.0.2.253 metric 300",
                "10.0.2.0/24 table 1001",
                "10.0.3.0/24 table 1001",
                "0.0.0.0/0 via 10.0.2.253 table 1001",
                "2001:db8::/64 table 1001",
                "::/0 via fe80::1 table 1001",
            ]
        );
        let rules: Vec<String> = i
            .rules()
            .iter()
            .map(|r| format!("{} {} {}", r.from, r.table, r.priority))
            .collect();
        assert_eq!(
            rules,
            [
                "10.0.2.5 1001 1001",
                "10.0.2.6 1001 1001",
                "10.0.3.7 1001 1001",
                "2001:db8::10 1001 1001"
            ]
        );
    }

    #[test]
    fn primary_keeps_its_default_route_and_policy_skips_dhcp_families() {
        let c = config(
            "interfaces:\n- name: eth0\n  primary: true\n  ipv4: {addresses: [192.168.0.3/24, 192.168.0.5], gateway: 192.168.0.1}\n- name: eth1\n  ipv4: {addresses: [10.0.1.5/24], gateway: 10.0.1.1}\n  ipv6: {dhcp: true}\n  policy_routing: {table: 7, priority: 70}\n",
        );
        assert_eq!(
            show(&c.interfaces[0].routes()),
            ["0.0.0.0/0 via 192.168.0.1"]
        );
        assert_eq!(c.interfaces[1].policy_families(), [Family::Ipv4]);
        assert_eq!(c.interfaces[1].rules().len(), 1);
        assert_eq!(c.interfaces[1].rules()[0].priority, 70);
        assert_eq!(c.clone().select(false).unwrap().interfaces.len(), 1);
        assert_eq!(c.select(true).unwrap().interfaces.len(), 2);
    }

    #[test]
    fn addresses_without_prefix_take_the_first_ones() {
        let c = config("interfaces:\n- name: eth1\n  ipv4: {addresses: [10.0.2.5/25, 10.0.2.6]}\n");
        let addrs = c.interfaces[0].addresses(Family::Ipv4);
        assert_eq!(addrs[1].to_string(), "10.0.2.6/25");
    }

    #[test]
    fn names_follow_the_kernel_rule() {
        for ok in [
            "eth1",
            "ens5",
            "enp0s31f6",
            "eth1.100",
            "a",
            "123456789012345",
        ] {
            assert!(ok.parse::<IfName>().is_ok(), "{ok}");
        }
        for bad in [
            "",
            ".",
            "..",
            "eth 1",
            "eth1:0",
            "a/b",
            "1234567890123456",
            "eth1\n",
            "e$(x)",
            "e'x",
        ] {
            assert!(bad.parse::<IfName>().is_err(), "{bad:?}");
        }
    }
}
