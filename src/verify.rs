//! `enicfg verify`: is the configuration in effect the one the description asks for?
//!
//! Reads the live kernel state with `ip -json` (addresses, links, routes of every table, IPv4
//! and IPv6 rules; optionally inside a network namespace) and compares it with what the model
//! says each interface must have — the same meaning every backend renders
//! ([`Interface::routes`], [`Interface::rules`]). Only state enicfg owns is judged: the
//! described interfaces, their policy tables and rules; other interfaces, tables and rules are
//! ignored. Reading the state is the only I/O here; [`compare`] is pure.
//!
//! Findings (exit status 1) are mismatches; warnings are the classic traps it can see
//! (strict `rp_filter` on a policy-routed NIC, two NICs in one subnet without policy routing)
//! and do not change the exit status.

use std::collections::HashMap;
use std::net::IpAddr;
use std::process::Command;

use anyhow::{Context as _, Result, bail};
use ipnet::IpNet;
use serde::Serialize;
use serde_json::Value;

use crate::model::{Config, Family, Interface, KernelRoute, KernelRule};

/// One mismatch between the description and the kernel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The interface concerned.
    pub interface: String,
    /// What kind of check failed (`address`, `route`, `rule`, `mtu`, `mac`, `link`,
    /// `default-route`, `primary-address`, `unrequested-ipv6`).
    pub kind: &'static str,
    /// What the description asks for.
    pub expected: String,
    /// What the kernel has.
    pub actual: String,
}

/// The outcome of a verification.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    /// True when there are no findings.
    pub ok: bool,
    /// Mismatches.
    pub findings: Vec<Finding>,
    /// Traps that may break traffic although the state matches.
    pub warnings: Vec<String>,
}

impl Report {
    /// One line per finding and warning.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for f in &self.findings {
            out.push_str(&format!(
                "{}: {}: expected {}, actual {}\n",
                f.interface, f.kind, f.expected, f.actual
            ));
        }
        for w in &self.warnings {
            out.push_str(&format!("warning: {w}\n"));
        }
        if self.ok {
            out.push_str("ok: the kernel state matches the description\n");
        }
        out
    }
}

/// The kernel state `verify` reads.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KernelState {
    /// `ip -json -d link show`.
    pub links: Vec<Value>,
    /// `ip -json addr show`.
    pub addrs: Vec<Value>,
    /// `ip -json -4 route show table all` and `-6`.
    pub routes: Vec<Value>,
    /// `ip -json -4 rule show` and `-6`.
    pub rules: Vec<Value>,
    /// `rp_filter` per interface name (and `all`), IPv4.
    pub rp_filter: Vec<(String, u32)>,
}

fn ip_json(netns: Option<&str>, args: &[&str]) -> Result<Vec<Value>> {
    let mut cmd = Command::new("ip");
    if let Some(ns) = netns {
        cmd.args(["-n", ns]);
    }
    cmd.arg("-json").args(args);
    let out = cmd
        .output()
        .with_context(|| format!("failed to run ip {}", args.join(" ")))?;
    if !out.status.success() {
        bail!(
            "`ip {}{}` failed: {}",
            netns.map(|n| format!("-n {n} ")).unwrap_or_default(),
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let text = String::from_utf8_lossy(&out.stdout);
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    match serde_json::from_str::<Value>(&text) {
        Ok(Value::Array(v)) => Ok(v),
        Ok(_) | Err(_) => bail!(
            "`ip -json {}` printed something that is not a JSON list",
            args.join(" ")
        ),
    }
}

/// `rp_filter` of `all` and of every named interface that exists, IPv4.
///
/// In the host's namespace it reads `/proc/sys`; in `netns` it asks `ip netconf` once for every
/// interface (one `ip netns exec … cat` per interface made `verify` of 1000 NICs take seconds).
fn read_rp_filter(netns: Option<&str>, names: &[&str]) -> Result<Vec<(String, u32)>> {
    let Some(ns) = netns else {
        return Ok(std::iter::once("all")
            .chain(names.iter().copied())
            .filter_map(|name| {
                let path = format!("/proc/sys/net/ipv4/conf/{name}/rp_filter");
                let value = std::fs::read_to_string(path).ok()?.trim().parse().ok()?;
                Some((name.to_owned(), value))
            })
            .collect());
    };
    let wanted: std::collections::HashSet<&str> = std::iter::once("all")
        .chain(names.iter().copied())
        .collect();
    let mut out = Vec::new();
    for entry in ip_json(Some(ns), &["-4", "netconf", "show"])? {
        let Some(name) = str_of(&entry, "interface").filter(|n| wanted.contains(n)) else {
            continue;
        };
        // iproute2 prints the mode's name; a number is taken as it is.
        let value = match entry.get("rp_filter") {
            Some(Value::String(mode)) => match mode.as_str() {
                "off" => 0,
                "strict" => 1,
                "loose" => 2,
                _ => continue,
            },
            Some(v) => match v.as_u64().and_then(|n| u32::try_from(n).ok()) {
                Some(n) => n,
                None => continue,
            },
            None => continue,
        };
        out.push((name.to_owned(), value));
    }
    Ok(out)
}

impl KernelState {
    /// Reads the state, in network namespace `netns` when given.
    pub fn read(netns: Option<&str>, config: &Config) -> Result<KernelState> {
        const QUERIES: [&[&str]; 6] = [
            &["link", "show"],
            &["addr", "show"],
            // Only unicast routes are compared; `ip` drops the rest (every address's local and
            // broadcast routes) before formatting them.
            &["-4", "route", "show", "table", "all", "type", "unicast"],
            &["-6", "route", "show", "table", "all", "type", "unicast"],
            &["-4", "rule", "show"],
            &["-6", "rule", "show"],
        ];
        let names: Vec<&str> = config.interfaces.iter().map(|i| i.name.as_str()).collect();
        // The dumps are independent: `ip` runs them side by side (for 1000 NICs each takes
        // tens of milliseconds, most of it formatting JSON).
        let (dumps, rp_filter) = std::thread::scope(|scope| {
            let running: Vec<_> = QUERIES
                .iter()
                .map(|args| scope.spawn(move || ip_json(netns, args)))
                .collect();
            let rp_filter = read_rp_filter(netns, &names);
            let dumps: Vec<Result<Vec<Value>>> = running
                .into_iter()
                .map(|t| {
                    t.join()
                        .unwrap_or_else(|_| Err(anyhow::anyhow!("reading the kernel state failed")))
                })
                .collect();
            (dumps, rp_filter)
        });
        let mut dumps = dumps.into_iter();
        let mut next = || dumps.next().unwrap_or_else(|| Ok(Vec::new()));
        let links = next()?;
        let addrs = next()?;
        let mut routes = next()?;
        routes.extend(next()?);
        let mut rules = next()?;
        rules.extend(next()?);
        Ok(KernelState {
            links,
            addrs,
            routes,
            rules,
            rp_filter: rp_filter?,
        })
    }
}

fn str_of<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

fn u64_of(v: &Value, key: &str) -> Option<u64> {
    v.get(key).and_then(Value::as_u64)
}

/// A route as read from the kernel, reduced to what enicfg compares.
#[derive(Debug, Clone, PartialEq, Eq)]
struct SeenRoute {
    to: IpNet,
    via: Option<IpAddr>,
    dev: String,
    table: Option<u32>,
    metric: Option<u32>,
    /// `proto` as `ip` names it (`kernel`, `static`, `ra`, ...).
    protocol: Option<String>,
}

fn parse_routes(state: &KernelState) -> Vec<SeenRoute> {
    let mut out = Vec::new();
    for r in &state.routes {
        let Some(dst) = str_of(r, "dst") else {
            continue;
        };
        // `ip -json` omits `type` for unicast routes.
        if str_of(r, "type").is_some_and(|t| t != "unicast") {
            continue;
        }
        let gateway = str_of(r, "gateway").and_then(|g| g.parse::<IpAddr>().ok());
        let family_v6 = dst.contains(':') || gateway.is_some_and(|g| g.is_ipv6());
        let to = match dst {
            "default" => crate::model::default_net(if family_v6 {
                Family::Ipv6
            } else {
                Family::Ipv4
            }),
            d => match d.parse::<IpNet>() {
                Ok(n) => n,
                Err(_) => match d.parse::<IpAddr>() {
                    Ok(a) => IpNet::from(a),
                    Err(_) => continue,
                },
            },
        };
        let table = match r.get("table") {
            None => None,
            Some(Value::String(t)) if t == "main" => None,
            Some(Value::String(t)) => match t.parse::<u32>() {
                Ok(n) => Some(n),
                // local, default and named tables are not ours
                Err(_) => continue,
            },
            Some(v) => v.as_u64().and_then(|n| u32::try_from(n).ok()),
        };
        out.push(SeenRoute {
            to,
            via: gateway,
            dev: str_of(r, "dev").unwrap_or_default().to_owned(),
            table,
            metric: u64_of(r, "metric").and_then(|m| u32::try_from(m).ok()),
            protocol: str_of(r, "protocol").map(str::to_owned),
        });
    }
    out
}

fn show_route(to: &IpNet, via: Option<IpAddr>, table: Option<u32>, metric: Option<u32>) -> String {
    let mut s = if to.prefix_len() == 0 {
        "default".to_owned()
    } else {
        to.to_string()
    };
    if let Some(v) = via {
        s += &format!(" via {v}");
    }
    if let Some(m) = metric {
        s += &format!(" metric {m}");
    }
    s += &format!(
        " table {}",
        table.map_or("main".to_owned(), |t| t.to_string())
    );
    s
}

fn route_matches(seen: &SeenRoute, want: &KernelRoute, dev: &str) -> bool {
    seen.dev == dev
        && seen.to == want.to
        && seen.via == want.via
        && seen.table == want.table
        && want.metric.is_none_or(|m| seen.metric == Some(m))
}

/// A rule as read from the kernel.
#[derive(Debug, Clone, PartialEq, Eq)]
struct SeenRule {
    from: Option<IpNet>,
    table: Option<u32>,
    priority: u32,
}

fn parse_rules(state: &KernelState) -> Vec<SeenRule> {
    state
        .rules
        .iter()
        .filter_map(|r| {
            let priority = u32::try_from(u64_of(r, "priority")?).ok()?;
            let from = match (str_of(r, "src"), u64_of(r, "srclen")) {
                (Some("all") | None, _) => None,
                (Some(a), len) => {
                    let addr: IpAddr = a.parse().ok()?;
                    let max = if addr.is_ipv4() { 32 } else { 128 };
                    Some(IpNet::new(addr, u8::try_from(len.unwrap_or(max)).ok()?).ok()?)
                }
            };
            let table = str_of(r, "table").and_then(|t| t.parse().ok());
            Some(SeenRule {
                from,
                table,
                priority,
            })
        })
        .collect()
}

fn host(a: IpAddr) -> IpNet {
    IpNet::from(a)
}

/// Rules enicfg applied for interfaces the description no longer has (`dropped`: interface
/// name, and the rules recorded for it in `applied.json`) that are still in the kernel: the
/// stale rules a detached or dropped NIC leaves, which send replies from its old addresses
/// into a table that no longer leads anywhere. Pure.
pub fn leftovers(state: &KernelState, dropped: &[(String, IpAddr, u32, u32)]) -> Vec<Finding> {
    let seen = parse_rules(state);
    let mut out = Vec::new();
    for (name, from, table, priority) in dropped {
        if seen.iter().any(|r| {
            r.from == Some(host(*from)) && r.table == Some(*table) && r.priority == *priority
        }) {
            out.push(Finding {
                interface: name.clone(),
                kind: "stale-rule",
                expected: "no rule: the interface is no longer described".to_owned(),
                actual: format!("from {from} lookup {table} priority {priority}"),
            });
        }
    }
    out
}

/// The items grouped by a key, each group in the items' order.
fn by_key<'a, T, K: Eq + std::hash::Hash>(
    items: &'a [T],
    key: impl Fn(&'a T) -> Option<K>,
) -> HashMap<K, Vec<&'a T>> {
    let mut out: HashMap<K, Vec<&'a T>> = HashMap::new();
    for item in items {
        if let Some(k) = key(item) {
            out.entry(k).or_default().push(item);
        }
    }
    out
}

/// Compares the model with a kernel state. Pure.
pub fn compare(config: &Config, state: &KernelState) -> Report {
    let mut findings = Vec::new();
    let mut warnings = Vec::new();
    let routes = parse_routes(state);
    let rules = parse_rules(state);
    // Indexed once: looking them up per interface made `verify` of N NICs quadratic.
    let links = by_key(&state.links, |l| str_of(l, "ifname"));
    let addrs = by_key(&state.addrs, |a| str_of(a, "ifname"));
    let routes_by_dev = by_key(&routes, |r| Some(r.dev.as_str()));
    let routes_by_table = by_key(&routes, |r| r.table);
    let rules_by_table = by_key(&rules, |r| r.table);
    let rp_filter: HashMap<&str, u32> = state
        .rp_filter
        .iter()
        .map(|(name, v)| (name.as_str(), *v))
        .collect();
    let mut f = |iface: &Interface, kind: &'static str, expected: String, actual: String| {
        findings.push(Finding {
            interface: iface.name.to_string(),
            kind,
            expected,
            actual,
        });
    };

    for iface in &config.interfaces {
        let name = iface.name.as_str();
        let Some(link) = links.get(name).and_then(|l| l.first()) else {
            f(
                iface,
                "link",
                "interface present".into(),
                "no such interface".into(),
            );
            continue;
        };
        let flags: Vec<&str> = link
            .get("flags")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if !flags.contains(&"UP") {
            f(
                iface,
                "link",
                "up".into(),
                format!("down (flags {})", flags.join(",")),
            );
        } else if !flags.contains(&"LOWER_UP") {
            f(
                iface,
                "link",
                "up with carrier".into(),
                "up without carrier (NO-CARRIER)".into(),
            );
        }
        if let Some(mtu) = iface.mtu {
            let actual = u64_of(link, "mtu");
            if actual != Some(u64::from(mtu)) {
                f(
                    iface,
                    "mtu",
                    mtu.to_string(),
                    actual.map_or("unknown".into(), |m| m.to_string()),
                );
            }
        }
        if let Some(mac) = iface.mac {
            let actual = str_of(link, "address")
                .unwrap_or("unknown")
                .to_ascii_lowercase();
            if actual != mac.to_string() {
                f(iface, "mac", mac.to_string(), actual);
            }
        }

        // Addresses: global ones on this link, per family.
        let addr_info: Vec<&Value> = addrs
            .get(name)
            .into_iter()
            .flatten()
            .flat_map(|a| {
                a.get("addr_info")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
            })
            .filter(|a| str_of(a, "scope") == Some("global"))
            .collect();
        for family in [Family::Ipv4, Family::Ipv6] {
            let fam = if family == Family::Ipv4 {
                "inet"
            } else {
                "inet6"
            };
            let seen: Vec<(IpNet, bool)> = addr_info
                .iter()
                .filter(|a| str_of(a, "family") == Some(fam))
                .filter_map(|a| {
                    let local: IpAddr = str_of(a, "local")?.parse().ok()?;
                    let len = u8::try_from(u64_of(a, "prefixlen")?).ok()?;
                    let secondary = a.get("secondary").and_then(Value::as_bool).unwrap_or(false);
                    Some((IpNet::new(local, len).ok()?, secondary))
                })
                .collect();
            if family == Family::Ipv6 && iface.ipv6.is_none() {
                // Judged with its routes by `unrequested_ipv6`.
                continue;
            }
            if iface.is_dhcp(family) {
                if seen.is_empty() {
                    f(
                        iface,
                        "address",
                        format!("an {} address from DHCP", family.key()),
                        "none".into(),
                    );
                }
                continue;
            }
            let want = iface.addresses(family);
            for w in &want {
                if !seen.iter().any(|(s, _)| s == w) {
                    let actual: Vec<String> = seen.iter().map(|(s, _)| s.to_string()).collect();
                    f(
                        iface,
                        "address",
                        w.to_string(),
                        format!("missing (has {})", list_or_none(&actual)),
                    );
                }
            }
            for (s, _) in &seen {
                if !want.contains(s) {
                    f(
                        iface,
                        "address",
                        "no other addresses".into(),
                        format!("extra address {s}"),
                    );
                }
            }
            // IPv6 has no primary: the kernel lists the newest address first and prefers it
            // as the source among otherwise equal candidates, so the first must be the model's.
            if family == Family::Ipv6
                && let (Some(first), Some((listed, _))) = (want.first(), seen.first())
                && listed != first
                && seen.iter().any(|(s, _)| s == first)
            {
                f(
                    iface,
                    "primary-address",
                    format!("{first} as the preferred (first-listed) IPv6 address"),
                    format!("{listed} is listed first"),
                );
            }
            if let Some(first) = want.first()
                && seen.iter().any(|(s, secondary)| s == first && *secondary)
            {
                f(
                    iface,
                    "primary-address",
                    format!("{first} as the primary address"),
                    format!("{first} is a secondary address"),
                );
            }
        }

        let on_link: &[&SeenRoute] = routes_by_dev.get(name).map_or(&[], Vec::as_slice);
        // Connected subnets in main, then every route the model derives.
        for family in [Family::Ipv4, Family::Ipv6] {
            for subnet in iface.subnets(family) {
                let want = KernelRoute {
                    to: subnet,
                    via: None,
                    metric: None,
                    table: None,
                };
                if !on_link.iter().any(|r| route_matches(r, &want, name)) {
                    f(
                        iface,
                        "route",
                        format!("{} dev {name}", show_route(&subnet, None, None, None)),
                        "missing".into(),
                    );
                }
            }
        }
        let wanted = iface.routes();
        for want in &wanted {
            if !on_link.iter().any(|r| route_matches(r, want, name)) {
                let near: Vec<String> = routes
                    .iter()
                    .filter(|r| r.to == want.to && r.table == want.table)
                    .map(|r| {
                        format!(
                            "{} dev {}",
                            show_route(&r.to, r.via, r.table, r.metric),
                            r.dev
                        )
                    })
                    .collect();
                f(
                    iface,
                    "route",
                    format!(
                        "{} dev {name}",
                        show_route(&want.to, want.via, want.table, want.metric)
                    ),
                    format!("missing (has {})", list_or_none(&near)),
                );
            }
        }
        // A NIC whose IPv6 the description leaves alone: nothing global (router advertisements).
        for (kind, expected, actual) in unrequested_ipv6(iface, &addr_info, on_link) {
            f(iface, kind, expected, actual);
        }
        // A NIC without default_route must not hold a main default route.
        if !iface.default_route {
            for r in on_link.iter().filter(|r| {
                r.table.is_none()
                    && r.to.prefix_len() == 0
                    && !(r.to.addr().is_ipv6() && iface.ipv6.is_none())
            }) {
                f(
                    iface,
                    "default-route",
                    "no default route in the main table (default_route: false)".into(),
                    format!("{} dev {name}", show_route(&r.to, r.via, r.table, r.metric)),
                );
            }
        }
        // Extra routes in our policy table.
        if let Some(pr) = iface.policy_routing {
            let subnets: Vec<IpNet> = [Family::Ipv4, Family::Ipv6]
                .into_iter()
                .flat_map(|fam| iface.subnets(fam))
                .collect();
            for r in routes_by_table.get(&pr.table).into_iter().flatten() {
                let expected = wanted.iter().any(|w| route_matches(r, w, name))
                    // the kernel may add IPv6 prefix routes into the table of an address
                    || (r.via.is_none() && subnets.contains(&r.to) && r.dev == name);
                if !expected {
                    f(
                        iface,
                        "route",
                        format!("only enicfg's routes in table {}", pr.table),
                        format!(
                            "extra {} dev {}",
                            show_route(&r.to, r.via, r.table, r.metric),
                            r.dev
                        ),
                    );
                }
            }
            let wanted_rules = iface.rules();
            for want in &wanted_rules {
                let in_table = rules_by_table.get(&want.table);
                if !in_table
                    .into_iter()
                    .flatten()
                    .any(|r| rule_matches(r, want))
                {
                    f(
                        iface,
                        "rule",
                        format!(
                            "from {} lookup {} priority {}",
                            want.from, want.table, want.priority
                        ),
                        "missing".into(),
                    );
                }
            }
            for r in rules_by_table.get(&pr.table).into_iter().flatten() {
                if !wanted_rules.iter().any(|w| rule_matches(r, w)) {
                    f(
                        iface,
                        "rule",
                        format!("only enicfg's rules for table {}", pr.table),
                        format!(
                            "extra rule from {} lookup {} priority {}",
                            r.from.map_or("all".into(), |n| n.to_string()),
                            pr.table,
                            r.priority
                        ),
                    );
                }
            }
            // rp_filter: the effective value is the maximum of conf/all and conf/IF.
            let rp = |n: &str| rp_filter.get(n).copied();
            let effective = rp("all").unwrap_or(0).max(rp(name).unwrap_or(0));
            if effective == 1 && !iface.addresses(Family::Ipv4).is_empty() {
                warnings.push(format!(
                    "{name}: rp_filter is strict (1) on an interface with policy-routed addresses: packets from sources the main table routes via another NIC are dropped; use loose mode (2): sysctl -w net.ipv4.conf.{name}.rp_filter=2 and net.ipv4.conf.all.rp_filter=2"
                ));
            }
        }
    }

    // Two NICs in one subnet without policy routing: replies leave by whichever NIC the main
    // table picks (asymmetric routing).
    let mut in_subnet: HashMap<IpNet, Vec<usize>> = HashMap::new();
    for (i, iface) in config.interfaces.iter().enumerate() {
        for family in [Family::Ipv4, Family::Ipv6] {
            for s in iface.subnets(family) {
                in_subnet.entry(s).or_default().push(i);
            }
        }
    }
    for (i, a) in config.interfaces.iter().enumerate() {
        let mut sharing: Vec<usize> = [Family::Ipv4, Family::Ipv6]
            .into_iter()
            .flat_map(|family| a.subnets(family))
            .flat_map(|s| in_subnet.get(&s).into_iter().flatten().copied())
            .filter(|j| *j > i)
            .collect();
        sharing.sort_unstable();
        sharing.dedup();
        for b in sharing.into_iter().filter_map(|j| config.interfaces.get(j)) {
            for family in [Family::Ipv4, Family::Ipv6] {
                for s in a.subnets(family) {
                    if b.subnets(family).contains(&s)
                        && (a.policy_routing.is_none() || b.policy_routing.is_none())
                    {
                        warnings.push(format!(
                            "{} and {} share subnet {s} without policy routing on both: replies may leave by the wrong NIC; give each a policy_routing table",
                            a.name, b.name
                        ));
                    }
                }
            }
        }
    }
    Report {
        ok: findings.is_empty(),
        findings,
        warnings,
    }
}

/// On a NIC whose IPv6 the description does not configure, every global IPv6 address and every
/// IPv6 route through it (any table; link-local and multicast aside) is unrequested: on a cloud
/// NIC they come from router advertisements (a SLAAC address, its prefix route, `default via
/// fe80::… proto ra`), which the stack should have turned off. Returns (kind, expected, actual).
fn unrequested_ipv6(
    iface: &Interface,
    addr_info: &[&Value],
    on_link: &[&SeenRoute],
) -> Vec<(&'static str, String, String)> {
    if iface.ipv6.is_some() {
        return Vec::new();
    }
    let name = iface.name.as_str();
    let expected = || "no global IPv6 address or route (ipv6 is not configured)".to_owned();
    let mut out = Vec::new();
    for a in addr_info
        .iter()
        .filter(|a| str_of(a, "family") == Some("inet6"))
    {
        let (Some(local), Some(len)) = (str_of(a, "local"), u64_of(a, "prefixlen")) else {
            continue;
        };
        let dynamic = a.get("dynamic").and_then(Value::as_bool).unwrap_or(false);
        out.push((
            "unrequested-ipv6",
            expected(),
            format!(
                "address {local}/{len}{}",
                if dynamic {
                    " (dynamic: SLAAC from a router advertisement)"
                } else {
                    ""
                }
            ),
        ));
    }
    let link_local =
        |n: &IpNet| matches!(n, IpNet::V6(v) if v.addr().segments()[0] & 0xffc0 == 0xfe80);
    for r in on_link
        .iter()
        .filter(|r| r.to.addr().is_ipv6() && !link_local(&r.to))
    {
        let proto = r.protocol.as_deref().unwrap_or("unknown");
        out.push((
            "unrequested-ipv6",
            expected(),
            format!(
                "route {} dev {name} proto {proto}{}",
                show_route(&r.to, r.via, r.table, r.metric),
                if proto == "ra" {
                    " (from a router advertisement)"
                } else {
                    ""
                }
            ),
        ));
    }
    out
}

fn rule_matches(seen: &SeenRule, want: &KernelRule) -> bool {
    seen.from == Some(host(want.from))
        && seen.table == Some(want.table)
        && seen.priority == want.priority
}

fn list_or_none(v: &[String]) -> String {
    if v.is_empty() {
        "none".into()
    } else {
        v.join(", ")
    }
}

/// Configuration that can keep enicfg's files from taking effect, found under ROOT: a
/// systemd-networkd `.network` file that sorts before ours and matches the same link (networkd
/// applies only the first match — netplan's catch-alls and ec2-net-utils' files are the usual
/// ones); a NetworkManager profile for the same device — keyfile or ifcfg (ifcfg-rh plugin:
/// `ifcfg-Wired_connection_1` is what NetworkManager itself persists on RHEL 8) — that
/// autoconnects with a priority at least ours, whichever format ours is in; or a `rule-X` /
/// `rule6-X` enicfg did not generate next to enicfg's `ifcfg-X`, which makes NetworkManager
/// ignore every rule and route of the profile. Reads only; returns one warning per file.
pub fn shadowing(root: &std::path::Path, config: &Config) -> Vec<String> {
    let mut out = Vec::new();
    // The check is advisory: a root it cannot read (a symlink loop, a permission) is one
    // warning saying so, not a failed verification.
    let networkd = networkd_files(root).unwrap_or_else(|e| {
        out.push(format!(
            "cannot check for systemd-networkd files that shadow enicfg's: {e:#}"
        ));
        Vec::new()
    });
    let mut profiles = nm_profiles(root).unwrap_or_else(|e| {
        out.push(format!(
            "cannot check for NetworkManager profiles that shadow enicfg's: {e:#}"
        ));
        Vec::new()
    });
    profiles.extend(ifcfg_profiles(root).unwrap_or_else(|e| {
        out.push(format!(
            "cannot check for ifcfg profiles that shadow enicfg's: {e:#}"
        ));
        Vec::new()
    }));
    out.extend(foreign_rule_files(root, config, &profiles));
    for iface in &config.interfaces {
        let name = iface.name.as_str();
        let mac = iface.mac.map(|m| m.to_string());
        let matching: Vec<&NetworkFile> = networkd
            .iter()
            .filter(|f| f.matches(name, mac.as_deref()))
            .collect();
        if let Some(ours) = matching.iter().position(|f| f.ours)
            && ours > 0
        {
            let first = matching[0];
            out.push(format!(
                "{name}: {} sorts before enicfg's {} and matches {name}: systemd-networkd applies only the first matching file, so enicfg's is ignored",
                first.path, matching[ours].path
            ));
        }
        let ours_priority = profiles
            .iter()
            .filter(|p| p.ours && p.matches(name, mac.as_deref()))
            .map(|p| p.priority)
            .max();
        if let Some(ours_priority) = ours_priority {
            for p in profiles
                .iter()
                .filter(|p| !p.ours && p.autoconnect && p.matches(name, mac.as_deref()))
            {
                if p.priority >= ours_priority {
                    out.push(format!(
                        "{name}: NetworkManager profile {} also matches {name} with autoconnect-priority {} (enicfg's: {ours_priority}): NetworkManager may activate it instead; remove it, or write enicfg's files again (they set priority {})",
                        p.path,
                        p.priority,
                        crate::backend::nm_keyfile::AUTOCONNECT_PRIORITY
                    ));
                }
            }
        }
    }
    out
}

/// A `.network` file, reduced to its `[Match]` section.
struct NetworkFile {
    path: String,
    ours: bool,
    names: Vec<String>,
    macs: Vec<String>,
}

impl NetworkFile {
    fn matches(&self, name: &str, mac: Option<&str>) -> bool {
        let name_ok =
            self.names.is_empty() || self.names.iter().any(|g| crate::glob::glob_match(g, name));
        let mac_ok = self.macs.is_empty()
            || mac.is_some_and(|m| self.macs.iter().any(|x| x.eq_ignore_ascii_case(m)));
        // Keys this check does not evaluate (Driver=, Type=, ...) are assumed to match: better a
        // warning to check than a silent miss.
        name_ok && mac_ok
    }
}

fn networkd_files(root: &std::path::Path) -> Result<Vec<NetworkFile>> {
    use std::collections::BTreeMap;
    // Same name: /etc shadows /run shadows /usr/lib (systemd.network(5)); all sorted by name.
    let mut by_name: BTreeMap<String, String> = BTreeMap::new();
    for dir in [
        "/usr/lib/systemd/network",
        "/lib/systemd/network",
        "/run/systemd/network",
        "/etc/systemd/network",
    ] {
        for file in crate::root::read_dir_names(root, dir)?.unwrap_or_default() {
            if file.ends_with(".network") {
                by_name.insert(file.clone(), format!("{dir}/{file}"));
            }
        }
    }
    let mut out = Vec::new();
    for (file, path) in by_name {
        // Links (ec2-net-utils links to /usr/lib/...) resolve inside ROOT only; a file masked
        // with a link to /dev/null reads as absent, as networkd ignores it.
        let Some(text) = crate::root::read_optional(root, &path)? else {
            continue;
        };
        let (mut names, mut macs, mut in_match) = (Vec::new(), Vec::new(), false);
        for line in text.lines().map(str::trim) {
            if line.starts_with('[') {
                in_match = line == "[Match]";
            } else if in_match && let Some((k, v)) = line.split_once('=') {
                let values = v.split_whitespace().map(str::to_owned);
                match k.trim() {
                    "Name" => names.extend(values),
                    "MACAddress" | "PermanentMACAddress" => macs.extend(values),
                    _ => {}
                }
            }
        }
        let ours = text.starts_with(crate::backend::GENERATED_MARKER)
            || file.starts_with("10-netplan-0-enicfg-");
        out.push(NetworkFile {
            path,
            ours,
            names,
            macs,
        });
    }
    Ok(out)
}

/// A NetworkManager keyfile profile, reduced to what decides activation.
struct Profile {
    path: String,
    ours: bool,
    interface_name: Option<String>,
    mac: Option<String>,
    autoconnect: bool,
    priority: i64,
}

impl Profile {
    fn matches(&self, name: &str, mac: Option<&str>) -> bool {
        let name_ok = self.interface_name.as_deref().is_none_or(|n| n == name);
        let mac_ok = self
            .mac
            .as_deref()
            .is_none_or(|m| mac.is_some_and(|x| x.eq_ignore_ascii_case(m)));
        name_ok && mac_ok && (self.interface_name.is_some() || self.mac.is_some())
    }
}

fn nm_profiles(root: &std::path::Path) -> Result<Vec<Profile>> {
    let mut out = Vec::new();
    for dir in [
        "/etc/NetworkManager/system-connections",
        "/run/NetworkManager/system-connections",
    ] {
        for file in crate::root::read_dir_names(root, dir)?.unwrap_or_default() {
            let path = format!("{dir}/{file}");
            let Some(text) = crate::root::read_optional(root, &path)? else {
                continue;
            };
            let mut section = String::new();
            let mut p = Profile {
                path,
                ours: text.contains(crate::backend::GENERATED_MARKER),
                interface_name: None,
                mac: None,
                autoconnect: true,
                priority: 0,
            };
            for line in text.lines().map(str::trim) {
                if line.starts_with('[') {
                    section = line.to_owned();
                } else if let Some((k, v)) = line.split_once('=') {
                    let v = v.trim().to_owned();
                    match (section.as_str(), k.trim()) {
                        ("[connection]", "interface-name") => p.interface_name = Some(v),
                        ("[connection]", "autoconnect") => p.autoconnect = v != "false",
                        ("[connection]", "autoconnect-priority") => {
                            p.priority = v.parse().unwrap_or(0)
                        }
                        ("[ethernet]", "mac-address") => p.mac = Some(v),
                        _ => {}
                    }
                }
            }
            out.push(p);
        }
    }
    Ok(out)
}

/// Files NetworkManager's ifcfg-rh plugin ignores (`utils_should_ignore_file`).
const IFCFG_IGNORED_SUFFIXES: [&str; 7] = [
    "~", ".bak", ".orig", ".rej", ".rpmnew", ".augnew", ".augtmp",
];

/// A value of an ifcfg line, its quotes removed (enough to compare names, MACs and numbers).
fn ifcfg_value(raw: &str) -> String {
    let v = raw.trim();
    for q in ['"', '\''] {
        if let Some(inner) = v.strip_prefix(q).and_then(|r| r.strip_suffix(q)) {
            return inner.to_owned();
        }
    }
    v.split_whitespace().next().unwrap_or_default().to_owned()
}

/// The `ifcfg-*` profiles of `/etc/sysconfig/network-scripts` that NetworkManager's ifcfg-rh
/// plugin would load: `DEVICE` is the interface name, `HWADDR` (else `MACADDR`) the MAC,
/// `ONBOOT=no` turns autoconnect off, `AUTOCONNECT_PRIORITY` defaults to 0, and
/// `NM_CONTROLLED=no` profiles are not NetworkManager's. Alias files (`ifcfg-X:N`), `ifcfg-lo`
/// and backup names are skipped.
fn ifcfg_profiles(root: &std::path::Path) -> anyhow::Result<Vec<Profile>> {
    let dir = "/etc/sysconfig/network-scripts";
    let mut files: Vec<String> = crate::root::read_dir_names(root, dir)?
        .unwrap_or_default()
        .into_iter()
        .filter(|f| {
            f.starts_with("ifcfg-")
                && f != "ifcfg-lo"
                && !f.contains(':')
                && !IFCFG_IGNORED_SUFFIXES.iter().any(|s| f.ends_with(s))
        })
        .collect();
    files.sort();
    let mut out = Vec::new();
    for file in files {
        let path = format!("{dir}/{file}");
        let Ok(Some(text)) = crate::root::read_optional(root, &path) else {
            continue;
        };
        let mut vars = std::collections::BTreeMap::new();
        for line in text.lines().map(str::trim) {
            if let Some((k, v)) = line.split_once('=')
                && !k.is_empty()
                && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            {
                vars.insert(k.to_owned(), ifcfg_value(v));
            }
        }
        let get = |k: &str| vars.get(k).map(String::as_str);
        let no = |k: &str| get(k).is_some_and(|v| matches!(v, "no" | "false" | "0"));
        if no("NM_CONTROLLED") {
            continue;
        }
        out.push(Profile {
            path,
            ours: text.starts_with(crate::backend::GENERATED_MARKER),
            interface_name: get("DEVICE").map(str::to_owned),
            mac: get("HWADDR").or(get("MACADDR")).map(str::to_owned),
            autoconnect: !no("ONBOOT"),
            priority: get("AUTOCONNECT_PRIORITY")
                .and_then(|p| p.parse().ok())
                .unwrap_or(0),
        });
    }
    Ok(out)
}

/// A `rule-X` / `rule6-X` that enicfg did not generate, next to enicfg's `ifcfg-X`: with it
/// NetworkManager's ifcfg-rh plugin ignores every `ROUTING_RULE` and every route of the
/// profile (real-readers.md §2). Not reported where ROOT shows the legacy network service and
/// no NetworkManager: that service reads rule files itself.
fn foreign_rule_files(
    root: &std::path::Path,
    config: &Config,
    profiles: &[Profile],
) -> Vec<String> {
    let Ok(rule_files) = crate::root::rh_rule_files(root) else {
        return Vec::new();
    };
    if rule_files.iter().all(|(_, generated)| *generated) {
        return Vec::new();
    }
    let Ok(evidence) = crate::probe::gather(root, false) else {
        return Vec::new();
    };
    if evidence.initscripts && !evidence.networkmanager {
        return Vec::new();
    }
    let mut out = Vec::new();
    for iface in &config.interfaces {
        let name = iface.name.as_str();
        let ours = format!("/etc/sysconfig/network-scripts/ifcfg-{name}");
        if !profiles.iter().any(|p| p.ours && p.path == ours) {
            continue;
        }
        for (file, _) in rule_files.iter().filter(|(file, generated)| {
            !generated && (*file == format!("rule-{name}") || *file == format!("rule6-{name}"))
        }) {
            out.push(format!(
                "{name}: /etc/sysconfig/network-scripts/{file} was not generated by enicfg: when NetworkManager reads {ours} (ifcfg-rh plugin, RHEL 8 family) it ignores every ROUTING_RULE and every route of the profile; move those rules into the interface description and remove the file"
            ));
        }
    }
    out
}
