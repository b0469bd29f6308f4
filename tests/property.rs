//! Property test: random valid interface descriptions -> every backend -> each rendered file read
//! back by a strict reader -> the same model (name, DHCP per family, static addresses, MTU, every
//! route with its table, every policy rule). Deterministic (fixed seed), so a failure reproduces.
//!
//! Read back: netplan (YAML), systemd-networkd (`.network`), NetworkManager keyfiles, and ifcfg-rh
//! for NetworkManager (through the strict `read_nm` reader of `tests/ifcfg_check`). Not read back
//! here: ifupdown and SUSE ifcfg, whose routes are shell commands or wicked lines (the real tools
//! judge them in `tests/ifupdown.rs` and `tests/ifcfg.rs`). A backend may refuse a description
//! with "cannot express"; any other error is a failure.

mod common;
#[path = "ifcfg_check/mod.rs"]
mod ifcfg_check;

use std::collections::BTreeSet;

use enicfg::backend::{Rendered, render};
use enicfg::distro::Stack;
use enicfg::model::{
    Config, ConfigSpec, FamilySpec, Interface, InterfaceSpec, PolicyRoutingSpec, RouteSpec,
};
use enicfg::root::RootFacts;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// A random description that validates: 1-3 secondary NICs, each with static or DHCP IPv4
/// and/or IPv6, optional gateways (IPv6 global or link-local), MTU, metric, an extra route and
/// policy routing.
fn random_spec(rng: &mut Rng) -> ConfigSpec {
    let n = 1 + rng.below(3);
    let mut interfaces = Vec::new();
    for i in 1..=n {
        let mut v4 = None;
        let mut v6 = None;
        while v4.is_none() && v6.is_none() {
            v4 = match rng.below(3) {
                0 => None,
                1 => Some(FamilySpec {
                    dhcp: true,
                    ..FamilySpec::default()
                }),
                _ => {
                    let net = rng.below(200) + 1;
                    let count = 1 + rng.below(3);
                    Some(FamilySpec {
                        dhcp: false,
                        addresses: (0..count)
                            .map(|k| format!("10.{i}.{net}.{}/24", 10 + k))
                            .collect(),
                        gateway: rng.chance(70).then(|| format!("10.{i}.{net}.1")),
                    })
                }
            };
            v6 = match rng.below(3) {
                0 => None,
                1 => Some(FamilySpec {
                    dhcp: true,
                    ..FamilySpec::default()
                }),
                _ => {
                    let net = rng.below(0xfff) + 1;
                    let count = 1 + rng.below(2);
                    let gateway = match rng.below(3) {
                        0 => None,
                        1 => Some("fe80::1".to_owned()),
                        _ => Some(format!("2001:db8:{i}:{net:x}::1")),
                    };
                    Some(FamilySpec {
                        dhcp: false,
                        addresses: (0..count)
                            .map(|k| format!("2001:db8:{i}:{net:x}::{:x}/64", 0x10 + k))
                            .collect(),
                        gateway,
                    })
                }
            };
        }
        let static_gw4 = v4.as_ref().and_then(|f| f.gateway.clone());
        let static_gw = static_gw4.is_some() || v6.as_ref().is_some_and(|f| f.gateway.is_some());
        let routes = match &static_gw4 {
            Some(gw) if rng.chance(40) => vec![RouteSpec {
                to: format!("192.168.{i}.0/24"),
                via: Some(gw.clone()),
                metric: None,
            }],
            _ => Vec::new(),
        };
        let mtu = match rng.below(4) {
            0 => Some(1500),
            1 => Some(9000),
            2 if v6.is_none() => Some(1400),
            _ => None,
        };
        interfaces.push(InterfaceSpec {
            name: format!("eth{i}"),
            mac: Some(format!("02:00:00:00:00:{i:02x}")),
            primary: false,
            mtu,
            ipv4: v4,
            ipv6: v6,
            routes,
            default_route: None,
            metric: [None, Some(100), Some(300)][rng.below(3) as usize],
            policy_routing: (static_gw && rng.chance(70)).then(|| PolicyRoutingSpec {
                table: 10000 + u32::try_from(i).unwrap(),
                priority: None,
            }),
        });
    }
    ConfigSpec { interfaces }
}

/// What a reader sees of one interface.
#[derive(Debug, Default, PartialEq)]
struct Seen {
    dhcp4: bool,
    dhcp6: bool,
    addresses: BTreeSet<String>,
    mtu: Option<u32>,
    /// `to via table`.
    routes: BTreeSet<String>,
    /// `from table priority`.
    rules: BTreeSet<String>,
}

fn route(to: &str, via: Option<&str>, table: Option<&str>) -> String {
    let to = match (to, via) {
        ("default", Some(v)) if v.contains(':') => "::/0".to_owned(),
        ("default", _) => "0.0.0.0/0".to_owned(),
        _ => to.to_owned(),
    };
    format!("{to} {} {}", via.unwrap_or("-"), table.unwrap_or("main"))
}

fn expected(i: &Interface) -> Seen {
    use enicfg::model::Family;
    Seen {
        dhcp4: i.is_dhcp(Family::Ipv4),
        dhcp6: i.is_dhcp(Family::Ipv6),
        addresses: [Family::Ipv4, Family::Ipv6]
            .into_iter()
            .flat_map(|f| i.addresses(f))
            .map(|a| a.to_string())
            .collect(),
        mtu: i.mtu,
        routes: i
            .routes()
            .iter()
            .map(|r| {
                route(
                    &r.to.to_string(),
                    r.via.map(|v| v.to_string()).as_deref(),
                    r.table.map(|t| t.to_string()).as_deref(),
                )
            })
            .collect(),
        rules: i
            .rules()
            .iter()
            .map(|r| format!("{} {} {}", r.from, r.table, r.priority))
            .collect(),
    }
}

fn file<'a>(r: &'a Rendered, path: &str) -> &'a str {
    r.files
        .iter()
        .find(|f| f.path == path)
        .map(|f| f.contents.as_str())
        .unwrap_or_else(|| {
            panic!(
                "no {path} in {:?}",
                r.files.iter().map(|f| &f.path).collect::<Vec<_>>()
            )
        })
}

fn read_netplan(r: &Rendered, name: &str) -> Seen {
    let text = file(r, &format!("/etc/netplan/60-enicfg-{name}.yaml"));
    let doc: serde_yaml::Value = serde_yaml::from_str(text).expect("netplan YAML");
    let eth = &doc["network"]["ethernets"][format!("0-enicfg-{name}").as_str()];
    assert_eq!(eth["set-name"].as_str(), Some(name), "{text}");
    let s = |v: &serde_yaml::Value| match v {
        serde_yaml::Value::String(s) => s.clone(),
        serde_yaml::Value::Number(n) => n.to_string(),
        other => panic!("unexpected {other:?} in {text}"),
    };
    let list = |k: &str| eth[k].as_sequence().cloned().unwrap_or_default();
    Seen {
        dhcp4: eth["dhcp4"].as_bool().unwrap_or(false),
        dhcp6: eth["dhcp6"].as_bool().unwrap_or(false),
        addresses: list("addresses").iter().map(s).collect(),
        mtu: eth["mtu"].as_u64().map(|m| u32::try_from(m).unwrap()),
        routes: list("routes")
            .iter()
            .map(|r| {
                let via = r.get("via").map(s);
                let table = r.get("table").map(s);
                route(&s(&r["to"]), via.as_deref(), table.as_deref())
            })
            .collect(),
        rules: list("routing-policy")
            .iter()
            .map(|r| format!("{} {} {}", s(&r["from"]), s(&r["table"]), s(&r["priority"])))
            .collect(),
    }
}

/// `[Section]` blocks of an INI-style file, each as (name, key=value pairs).
fn ini(text: &str) -> Vec<(String, Vec<(String, String)>)> {
    let mut out: Vec<(String, Vec<(String, String)>)> = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(sec) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            out.push((sec.to_owned(), Vec::new()));
        } else {
            let (k, v) = line
                .split_once('=')
                .unwrap_or_else(|| panic!("bad line {line:?}"));
            out.last_mut()
                .unwrap_or_else(|| panic!("{line:?} outside a section"))
                .1
                .push((k.to_owned(), v.to_owned()));
        }
    }
    out
}

fn get<'a>(kv: &'a [(String, String)], k: &str) -> Option<&'a str> {
    kv.iter()
        .rev()
        .find(|(key, _)| key == k)
        .map(|(_, v)| v.as_str())
}

fn read_networkd(r: &Rendered, name: &str) -> Seen {
    let text = file(r, &format!("/etc/systemd/network/05-enicfg-{name}.network"));
    let mut seen = Seen::default();
    for (sec, kv) in ini(text) {
        match sec.as_str() {
            "Link" => seen.mtu = get(&kv, "MTUBytes").map(|m| m.parse().unwrap()),
            "Network" => {
                let dhcp = get(&kv, "DHCP").unwrap_or("no");
                seen.dhcp4 = matches!(dhcp, "yes" | "ipv4");
                seen.dhcp6 = matches!(dhcp, "yes" | "ipv6");
                seen.addresses.extend(
                    kv.iter()
                        .filter(|(k, _)| k == "Address")
                        .map(|(_, v)| v.clone()),
                );
            }
            "Address" => seen
                .addresses
                .extend(get(&kv, "Address").map(str::to_owned)),
            "Route" => {
                let to = get(&kv, "Destination").unwrap_or("default");
                seen.routes
                    .insert(route(to, get(&kv, "Gateway"), get(&kv, "Table")));
            }
            "RoutingPolicyRule" => {
                seen.rules.insert(format!(
                    "{} {} {}",
                    get(&kv, "From").unwrap(),
                    get(&kv, "Table").unwrap(),
                    get(&kv, "Priority").unwrap()
                ));
            }
            _ => {}
        }
    }
    // networkd accepts router advertisements for a DHCPv6 family: that is its IPv6 DHCP.
    seen
}

fn read_keyfile(r: &Rendered, name: &str) -> Seen {
    let text = file(
        r,
        &format!("/etc/NetworkManager/system-connections/enicfg-{name}.nmconnection"),
    );
    let mut seen = Seen::default();
    for (sec, kv) in ini(text) {
        match sec.as_str() {
            "connection" => assert_eq!(get(&kv, "interface-name"), Some(name), "{text}"),
            "ethernet" => seen.mtu = get(&kv, "mtu").map(|m| m.parse().unwrap()),
            "ipv4" | "ipv6" => {
                let dhcp = matches!(get(&kv, "method"), Some("auto" | "dhcp"));
                if sec == "ipv4" {
                    seen.dhcp4 = dhcp;
                } else {
                    seen.dhcp6 = dhcp;
                }
                for (k, v) in &kv {
                    if k.starts_with("address") {
                        seen.addresses
                            .insert(v.split(',').next().unwrap().to_owned());
                    } else if let Some(n) = k.strip_prefix("route")
                        && n.chars().all(|c| c.is_ascii_digit())
                    {
                        let f: Vec<&str> = v.split(',').collect();
                        let table = get(&kv, &format!("route{n}_options"))
                            .and_then(|o| o.split(',').find_map(|p| p.strip_prefix("table=")));
                        seen.routes.insert(route(f[0], f.get(1).copied(), table));
                    } else if k.starts_with("routing-rule") {
                        // priority P from A table T
                        let w: Vec<&str> = v.split_whitespace().collect();
                        seen.rules.insert(format!("{} {} {}", w[3], w[5], w[1]));
                    }
                }
            }
            _ => {}
        }
    }
    seen
}

fn read_ifcfg_nm(r: &Rendered, name: &str) -> Seen {
    let dir = "/etc/sysconfig/network-scripts";
    let text = file(r, &format!("{dir}/ifcfg-{name}"));
    let v = ifcfg_check::read_nm(text).unwrap_or_else(|e| panic!("{e}: {text}"));
    let mut seen = Seen {
        dhcp4: v.get("BOOTPROTO") == Some("dhcp"),
        dhcp6: v.get("DHCPV6C") == Some("yes"),
        mtu: v.get("MTU").map(|m| m.parse().unwrap()),
        ..Seen::default()
    };
    for (k, val) in &v.map {
        if let Some(n) = k.strip_prefix("IPADDR") {
            let prefix = v.get(&format!("PREFIX{n}")).unwrap();
            seen.addresses.insert(format!("{val}/{prefix}"));
        } else if k == "IPV6ADDR" || k == "IPV6ADDR_SECONDARIES" {
            seen.addresses
                .extend(val.split_whitespace().map(str::to_owned));
        } else if k.starts_with("ROUTING_RULE") {
            // priority P from A/len table T
            let w: Vec<&str> = val.split_whitespace().collect();
            let from = w[3].split('/').next().unwrap();
            seen.rules.insert(format!("{from} {} {}", w[5], w[1]));
        }
    }
    for route_file in [
        format!("{dir}/route-{name}"),
        format!("{dir}/route6-{name}"),
    ] {
        let Some(f) = r.files.iter().find(|f| f.path == route_file) else {
            continue;
        };
        for line in f
            .contents
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
        {
            let w: Vec<&str> = line.split_whitespace().collect();
            let after = |k: &str| w.iter().position(|x| *x == k).map(|i| w[i + 1]);
            seen.routes
                .insert(route(w[0], after("via"), after("table")));
        }
    }
    seen
}

/// Reads one interface back from a rendering.
type Reader = fn(&Rendered, &str) -> Seen;

#[test]
fn random_descriptions_read_back_as_the_same_model() {
    let readers: &[(&str, Stack, Reader)] = &[
        ("netplan", Stack::Netplan, read_netplan),
        ("networkd", Stack::Networkd, read_networkd),
        ("nm-keyfile", Stack::NetworkManagerKeyfile, read_keyfile),
        (
            "ifcfg-rh (NetworkManager)",
            Stack::NetworkManagerIfcfg,
            read_ifcfg_nm,
        ),
    ];
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let (mut checked, mut refused) = (0, 0);
    for case in 0..300 {
        let spec = random_spec(&mut rng);
        let config = Config::from_spec(&spec).unwrap_or_else(|e| {
            panic!("case {case}: the generator made an invalid spec: {e}\n{spec:#?}")
        });
        for (what, stack, read) in readers {
            let rendered = match render(&config, *stack, &RootFacts::default()) {
                Ok(r) => r,
                Err(e) if format!("{e:#}").contains("cannot express") => {
                    refused += 1;
                    continue;
                }
                Err(e) => panic!("case {case}, {what}: {e:#}\n{spec:#?}"),
            };
            for iface in &config.interfaces {
                let seen = read(&rendered, iface.name.as_str());
                assert_eq!(
                    seen,
                    expected(iface),
                    "case {case}, {what}, {}: read back differs\n{spec:#?}",
                    iface.name
                );
                checked += 1;
            }
        }
    }
    assert!(
        checked > 600,
        "only {checked} interfaces read back ({refused} refusals)"
    );
    eprintln!("{checked} interfaces read back, {refused} refusals");
}
