//! The netplan backend judged by the real software: netplan's generator (offline, in a private
//! `--root-dir`) and systemd-networkd applying the generated `.network` files inside a
//! throw-away network and mount namespace (verifying.md §3.1, §6.3, §6.6).
//!
//! Nothing here reads or writes the host's `/etc/netplan`, `/run/systemd` or
//! `/etc/systemd/network`: every generator run gets a temporary root, and networkd runs under
//! `unshare -m` with tmpfs over its directories.

mod common;

use common::networkd;

use std::fs;
use std::net::IpAddr;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use enicfg::backend::{self, BackendKind, FileOut, Rendered};
use enicfg::distro::Stack;
use enicfg::model::{Config, ConfigSpec, Family, Interface, KernelRoute};
use enicfg::root::RootFacts;
use tempfile::TempDir;

const GENERATOR: &str = "/usr/libexec/netplan/generate";

fn render_with(config: &Config, root: &RootFacts) -> anyhow::Result<Rendered> {
    backend::render(config, Stack::Netplan, root)
}

fn render(config: &Config) -> anyhow::Result<Rendered> {
    render_with(config, &RootFacts::default())
}

fn fixture_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn config_from_yaml(text: &str) -> Config {
    let spec: ConfigSpec = enicfg::source::file::parse(text, "inline").unwrap();
    Config::from_spec(&spec).unwrap().select(true).unwrap()
}

// ---------------------------------------------------------------------------------------------
// Offline: netplan's generator.
// ---------------------------------------------------------------------------------------------

/// A temporary root netplan generated into.
#[derive(Debug)]
struct Generated {
    dir: TempDir,
}

impl Generated {
    fn network_dir(&self) -> PathBuf {
        self.dir.path().join("run/systemd/network")
    }

    /// Names of the generated `.network` files, sorted as networkd sorts them.
    fn network_files(&self) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(self.network_dir())
            .map(|rd| {
                rd.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                    .filter(|n| n.ends_with(".network"))
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    }

    fn network_file(&self, id: &str) -> String {
        let path = self.network_dir().join(format!("10-netplan-{id}.network"));
        fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }
}

/// Writes `files` (in-target path, contents) into a fresh root at `mode` plus the files of
/// `extra_root` (a sample root tree), runs the generator, and fails on a non-zero exit or on any
/// `WARNING`/`Error` line — a warning-only run exits 0 (verifying.md §3.1).
fn netplan_generate(
    files: &[(String, String)],
    mode: u32,
    extra_root: Option<&Path>,
    via_cli: bool,
) -> Result<Generated, String> {
    let dir = tempfile::tempdir().unwrap();
    let mut all: Vec<(String, String)> = files.to_vec();
    if let Some(root) = extra_root {
        for (path, contents) in RootFacts::gather_for(root, BackendKind::Netplan)
            .unwrap()
            .netplan_files
        {
            all.push((path, contents));
        }
    }
    for (path, contents) in &all {
        let full = dir.path().join(path.trim_start_matches('/'));
        fs::create_dir_all(full.parent().unwrap()).unwrap();
        fs::write(&full, contents).unwrap();
        fs::set_permissions(&full, fs::Permissions::from_mode(mode)).unwrap();
    }
    let mut cmd = if via_cli {
        let mut c = Command::new("netplan");
        c.arg("generate");
        c
    } else {
        Command::new(GENERATOR)
    };
    cmd.arg("--root-dir").arg(dir.path());
    let out = common::run(&mut cmd);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let bad: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("WARNING") || l.contains("Error") || l.contains("ERROR"))
        .collect();
    if !out.status.success() || !bad.is_empty() {
        return Err(format!("{cmd:?} ({}):\n{stderr}", out.status));
    }
    Ok(Generated { dir })
}

/// The netplan YAML of a rendering (drop-ins for networkd are not netplan's to read).
fn file_pairs(rendered: &Rendered) -> Vec<(String, String)> {
    rendered
        .files
        .iter()
        .filter(|f| f.path.starts_with("/etc/netplan/"))
        .map(|f| (f.path.clone(), f.contents.clone()))
        .collect()
}

/// A parsed `.network` file: sections in order, each with its keys in order.
fn parse_network(text: &str) -> Vec<(String, Vec<(String, String)>)> {
    let mut out: Vec<(String, Vec<(String, String)>)> = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(section) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            out.push((section.to_owned(), Vec::new()));
        } else if let (Some((k, v)), Some(last)) = (line.split_once('='), out.last_mut()) {
            last.1.push((k.to_owned(), v.to_owned()));
        } else {
            panic!("unexpected line {line:?} in:\n{text}");
        }
    }
    out
}

fn section_values(
    sections: &[(String, Vec<(String, String)>)],
    section: &str,
    key: &str,
) -> Vec<String> {
    sections
        .iter()
        .filter(|(s, _)| s == section)
        .flat_map(|(_, kv)| kv.iter().filter(|(k, _)| k == key).map(|(_, v)| v.clone()))
        .collect()
}

fn section_one(
    sections: &[(String, Vec<(String, String)>)],
    section: &str,
    key: &str,
) -> Option<String> {
    let v = section_values(sections, section, key);
    assert!(v.len() <= 1, "[{section}] {key}= set {} times", v.len());
    v.into_iter().next()
}

/// Checks that a generated `.network` file says what the model means.
fn check_network_file(iface: &Interface, text: &str) {
    let s = parse_network(text);
    let ctx = format!("{}:\n{text}", iface.name);

    // [Match]
    match iface.mac {
        Some(mac) => {
            assert_eq!(
                section_one(&s, "Match", "PermanentMACAddress"),
                Some(mac.to_string()),
                "{ctx}"
            );
            assert_eq!(
                section_one(&s, "Match", "Name"),
                Some(iface.name.to_string()),
                "{ctx}"
            );
        }
        None => {
            assert_eq!(
                section_one(&s, "Match", "PermanentMACAddress"),
                None,
                "{ctx}"
            );
            assert_eq!(
                section_one(&s, "Match", "Name"),
                Some(iface.name.to_string()),
                "{ctx}"
            );
        }
    }
    assert_eq!(
        section_one(&s, "Link", "MTUBytes"),
        iface.mtu.map(|m| m.to_string()),
        "{ctx}"
    );

    // [Network]: addresses in the order networkd adds them: IPv4 in order (the first is the
    // kernel's primary), IPv6 reversed (the last added is the preferred source address).
    let want_addrs: Vec<String> = [Family::Ipv4, Family::Ipv6]
        .into_iter()
        .flat_map(|f| {
            let mut v = iface.addresses(f);
            if f == Family::Ipv6 {
                v.reverse();
            }
            v
        })
        .map(|a| a.to_string())
        .collect();
    assert_eq!(
        section_values(&s, "Network", "Address"),
        want_addrs,
        "{ctx}"
    );
    let dhcp = match (iface.is_dhcp(Family::Ipv4), iface.is_dhcp(Family::Ipv6)) {
        (true, true) => Some("yes"),
        (true, false) => Some("ipv4"),
        (false, true) => Some("ipv6"),
        (false, false) => None,
    };
    assert_eq!(section_one(&s, "Network", "DHCP").as_deref(), dhcp, "{ctx}");
    let ra = if iface.is_dhcp(Family::Ipv6) {
        "yes"
    } else {
        "no"
    };
    assert_eq!(
        section_one(&s, "Network", "IPv6AcceptRA").as_deref(),
        Some(ra),
        "{ctx}"
    );
    assert!(section_values(&s, "Network", "Gateway").is_empty(), "{ctx}");

    // [Route]: exactly iface.routes(), in order.
    let routes: Vec<&Vec<(String, String)>> = s
        .iter()
        .filter(|(n, _)| n == "Route")
        .map(|(_, kv)| kv)
        .collect();
    let want = iface.routes();
    assert_eq!(routes.len(), want.len(), "{ctx}");
    for (got, want) in routes.iter().zip(&want) {
        let get = |k: &str| got.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone());
        assert_eq!(get("Destination"), Some(want.to.to_string()), "{ctx}");
        assert_eq!(get("Gateway"), want.via.map(|v| v.to_string()), "{ctx}");
        assert_eq!(get("Table"), want.table.map(|t| t.to_string()), "{ctx}");
        assert_eq!(get("Metric"), want.metric.map(|m| m.to_string()), "{ctx}");
        let scope = if want.via.is_none() {
            Some("link".to_owned())
        } else {
            None
        };
        assert_eq!(get("Scope"), scope, "{ctx}");
    }

    // [RoutingPolicyRule]: exactly iface.rules(), in order.
    let rules: Vec<&Vec<(String, String)>> = s
        .iter()
        .filter(|(n, _)| n == "RoutingPolicyRule")
        .map(|(_, kv)| kv)
        .collect();
    let want = iface.rules();
    assert_eq!(rules.len(), want.len(), "{ctx}");
    for (got, want) in rules.iter().zip(&want) {
        let got: Vec<(String, String)> = got.to_vec();
        let expect = vec![
            ("From".to_owned(), want.from.to_string()),
            ("Table".to_owned(), want.table.to_string()),
            ("Priority".to_owned(), want.priority.to_string()),
        ];
        assert_eq!(got, expect, "{ctx}");
    }

    // [DHCP]
    if dhcp.is_some() {
        let metric = iface.metric.unwrap_or(100).to_string();
        assert_eq!(
            section_one(&s, "DHCP", "RouteMetric"),
            Some(metric),
            "{ctx}"
        );
        let use_routes = (!iface.default_route).then(|| "false".to_owned());
        assert_eq!(section_one(&s, "DHCP", "UseRoutes"), use_routes, "{ctx}");
        let use_mtu = if iface.mtu.is_some() { "false" } else { "true" };
        assert_eq!(
            section_one(&s, "DHCP", "UseMTU").as_deref(),
            Some(use_mtu),
            "{ctx}"
        );
    } else {
        assert!(!s.iter().any(|(n, _)| n == "DHCP"), "{ctx}");
    }
}

fn id_of(iface: &Interface) -> String {
    backend::netplan::netdef_id(iface)
}

#[test]
fn every_fixture_generates_cleanly_and_means_the_model() {
    let mut checked = 0;
    for path in common::scenario_fixtures() {
        let name = fixture_name(&path);
        let config = common::load_config(&path);
        // netplan expresses every scenario fixture: a refusal is a failure.
        let rendered = render(&config).unwrap_or_else(|e| panic!("{name}: {e:#}"));
        let (yaml, dropins): (Vec<_>, Vec<_>) = rendered
            .files
            .iter()
            .partition(|f| f.path.starts_with("/etc/netplan/"));
        assert_eq!(yaml.len(), config.interfaces.len(), "{name}");
        // The networkd drop-in for router advertisements: only for IPv6 DHCP that needs it.
        for iface in &config.interfaces {
            let path = backend::netplan::ra_dropin_path(iface);
            let dropin = dropins.iter().find(|f| f.path == path);
            let needed =
                iface.is_dhcp(Family::Ipv6) && (!iface.default_route || iface.metric.is_some());
            assert_eq!(dropin.is_some(), needed, "{name}: {path}");
            if let Some(d) = dropin {
                assert_eq!(
                    d.mode, 0o644,
                    "{name}: networkd must be able to read {path}"
                );
                assert_eq!(
                    d.contents.contains("\nUseGateway=no\n"),
                    !iface.default_route,
                    "{name}"
                );
                if let Some(m) = iface.metric {
                    assert!(
                        d.contents.contains(&format!("\nRouteMetric={m}\n")),
                        "{name}"
                    );
                }
            }
        }
        assert_eq!(dropins.len() + yaml.len(), rendered.files.len(), "{name}");
        for (file, iface) in yaml.iter().zip(&config.interfaces) {
            assert_eq!(file.mode, 0o600, "{name}: {}", file.path);
            assert_eq!(
                file.path,
                format!("/etc/netplan/60-enicfg-{}.yaml", iface.name)
            );
            assert!(
                file.contents
                    .starts_with("# Generated by enicfg (backend netplan)"),
                "{name}"
            );
            assert!(
                file.contents.ends_with('\n') && !file.contents.ends_with("\n\n"),
                "{name}"
            );
        }
        assert_eq!(rendered.commands.restart, "netplan apply");
        assert_eq!(
            rendered.commands.interface,
            vec!["netplan apply".to_owned()]
        );

        let generated = netplan_generate(&file_pairs(&rendered), 0o600, None, false)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        for iface in &config.interfaces {
            check_network_file(iface, &generated.network_file(&id_of(iface)));
        }
        checked += 1;
    }
    assert!(checked >= 10, "only {checked} fixtures checked");
}

#[test]
fn netplan_cli_generate_agrees() {
    let config = common::load_config(&common::fixture("eni/full-secondary.yaml"));
    let rendered = render(&config).unwrap();
    let generated = netplan_generate(&file_pairs(&rendered), 0o600, None, true).unwrap();
    check_network_file(
        &config.interfaces[0],
        &generated.network_file(&id_of(&config.interfaces[0])),
    );
}

#[test]
fn debian12_default_catch_all_does_not_shadow_ours() {
    let root = common::fixture("roots/netplan-debian12");
    let facts = RootFacts::gather_for(&root, BackendKind::Netplan).unwrap();
    assert_eq!(facts.netplan_files.len(), 1);
    for path in common::scenario_fixtures() {
        let name = fixture_name(&path);
        let config = common::load_config(&path);
        let rendered = render_with(&config, &facts).unwrap_or_else(|e| panic!("{name}: {e:#}"));
        let generated = netplan_generate(&file_pairs(&rendered), 0o600, Some(&root), false)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let files = generated.network_files();
        let pos = |f: &str| files.iter().position(|n| n == f);
        let all_en = pos("10-netplan-all-en.network").expect("all-en generated");
        let all_eth = pos("10-netplan-all-eth.network").expect("all-eth generated");
        for iface in &config.interfaces {
            let ours = pos(&format!("10-netplan-{}.network", id_of(iface)))
                .unwrap_or_else(|| panic!("{name}: no file for {} in {files:?}", iface.name));
            assert!(ours < all_en && ours < all_eth, "{name}: {files:?}");
            // The first file in networkd's order whose [Match] fits the link is ours.
            let first = files
                .iter()
                .find(|f| {
                    let s = parse_network(
                        &fs::read_to_string(generated.network_dir().join(f)).unwrap(),
                    );
                    section_values(&s, "Match", "Name")
                        .iter()
                        .any(|n| glob_match(n, iface.name.as_str()))
                })
                .unwrap();
            assert_eq!(*first, files[ours], "{name}");
            check_network_file(iface, &generated.network_file(&id_of(iface)));
        }
    }
}

/// `*`-only glob as networkd's `Name=` uses it here (`eth*`, `en*`, exact names).
fn glob_match(pattern: &str, name: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => name.starts_with(prefix),
        None => pattern == name,
    }
}

#[test]
fn a_root_defining_our_netdef_id_is_refused() {
    let config = common::load_config(&common::fixture("eni/tencent-secondary-eni-route.yaml"));
    let other = "network:\n  version: 2\n  ethernets:\n    0-enicfg-eth1:\n      dhcp4: true\n";
    let facts = RootFacts {
        interfaces_main: None,
        netplan_files: vec![(
            "/etc/netplan/50-cloud-init.yaml".to_owned(),
            other.to_owned(),
        )],
        ..RootFacts::default()
    };
    let err = format!("{:#}", render_with(&config, &facts).unwrap_err());
    assert!(
        err.contains("50-cloud-init.yaml already defines the netdef 0-enicfg-eth1"),
        "{err}"
    );

    let shadow = RootFacts {
        interfaces_main: None,
        netplan_files: vec![(
            "/run/netplan/60-enicfg-eth1.yaml".to_owned(),
            other.to_owned(),
        )],
        ..RootFacts::default()
    };
    let err = format!("{:#}", render_with(&config, &shadow).unwrap_err());
    assert!(
        err.contains("shadows /etc/netplan/60-enicfg-eth1.yaml"),
        "{err}"
    );

    // Our own file from an earlier run is not a conflict.
    let rendered = render(&config).unwrap();
    let again = RootFacts {
        interfaces_main: None,
        netplan_files: file_pairs(&rendered),
        ..RootFacts::default()
    };
    assert_eq!(render_with(&config, &again).unwrap(), rendered);
}

#[test]
fn the_check_rejects_broken_and_too_open_files() {
    let config = common::load_config(&common::fixture("eni/full-secondary.yaml"));
    let rendered = render(&config).unwrap();
    let FileOut {
        path,
        contents,
        mode,
    } = rendered.files[0].clone();
    assert_eq!(mode, 0o600);

    // An unknown key: netplan exits 1.
    let broken = contents.replacen("addresses:", "adresses:", 1);
    assert_ne!(broken, contents);
    let err = netplan_generate(&[(path.clone(), broken)], 0o600, None, false).unwrap_err();
    assert!(err.contains("unknown key 'adresses'"), "{err}");

    // A file readable by others: netplan exits 0 with only a WARNING, which must still fail.
    let err =
        netplan_generate(&[(path.clone(), contents.clone())], 0o644, None, false).unwrap_err();
    assert!(err.contains("Permissions for"), "{err}");

    // A meaning mismatch: the .network check catches a swapped address order.
    let generated = netplan_generate(&[(path, contents)], 0o600, None, false).unwrap();
    let text = generated.network_file(&id_of(&config.interfaces[0]));
    let swapped = text
        .replacen("Address=10.0.2.5/24", "Address=TMP", 1)
        .replacen("Address=10.0.2.6/24", "Address=10.0.2.5/24", 1);
    let swapped = swapped.replacen("Address=TMP", "Address=10.0.2.6/24", 1);
    let iface = config.interfaces[0].clone();
    let caught = std::panic::catch_unwind(move || check_network_file(&iface, &swapped));
    assert!(caught.is_err(), "a swapped address order was not detected");
}

#[test]
fn dhcpv6_with_default_route_renders_accept_ra() {
    let config = config_from_yaml(
        "interfaces:\n  - name: eth2\n    mac: \"00:16:3e:0a:7b:29\"\n    ipv4: {dhcp: true}\n    ipv6: {dhcp: true}\n    default_route: true\n",
    );
    let rendered = render(&config).unwrap();
    let generated = netplan_generate(&file_pairs(&rendered), 0o600, None, false).unwrap();
    check_network_file(
        &config.interfaces[0],
        &generated.network_file(&id_of(&config.interfaces[0])),
    );

    let with_metric = config_from_yaml(
        "interfaces:\n  - name: eth2\n    ipv6: {dhcp: true}\n    default_route: true\n    metric: 300\n",
    );
    let rendered = render(&with_metric).unwrap();
    let dropin = &rendered.files[1];
    assert_eq!(
        dropin.path,
        "/etc/systemd/network/10-netplan-0-enicfg-eth2.network.d/enicfg-ipv6-ra.conf"
    );
    assert!(
        dropin
            .contents
            .ends_with("[IPv6AcceptRA]\nRouteMetric=300\n"),
        "{}",
        dropin.contents
    );

    // The drop-in is for systemd-networkd: with NetworkManager as netplan's renderer, refuse.
    let root = RootFacts {
        netplan_files: vec![(
            "/etc/netplan/01-network-manager-all.yaml".to_owned(),
            "network:\n  version: 2\n  renderer: NetworkManager\n".to_owned(),
        )],
        ..RootFacts::default()
    };
    let err = format!("{:#}", render_with(&with_metric, &root).unwrap_err());
    assert!(
        err.contains("backend netplan cannot express eth2: ipv6.dhcp with a metric when netplan renders for NetworkManager (/etc/netplan/01-network-manager-all.yaml"),
        "{err}"
    );
    // Static IPv6 needs no drop-in, whatever the renderer.
    assert!(
        render_with(
            &config_from_yaml(
                "interfaces:\n  - name: eth2\n    ipv6: {addresses: ['2001:db8::5/64']}\n"
            ),
            &root
        )
        .is_ok()
    );
}

#[test]
fn names_yaml_would_misread_survive_the_real_parser() {
    // Interface names that YAML 1.1 reads as booleans, numbers or nulls.
    for name in ["on", "yes", "Off", "y", "null", "0x10", "1e3", "12", "no.1"] {
        for mac in [true, false] {
            let mac_line = if mac {
                "    mac: \"00:16:3e:0a:7b:30\"\n"
            } else {
                ""
            };
            let config = config_from_yaml(&format!(
                "interfaces:\n  - name: \"{name}\"\n{mac_line}    ipv4: {{addresses: [10.9.0.2/24]}}\n"
            ));
            let rendered = render(&config).unwrap();
            let generated = netplan_generate(&file_pairs(&rendered), 0o600, None, false)
                .unwrap_or_else(|e| panic!("{name}: {e}\n{}", rendered.files[0].contents));
            check_network_file(
                &config.interfaces[0],
                &generated.network_file(&id_of(&config.interfaces[0])),
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// For real: systemd-networkd in a throw-away namespace (verifying.md §6.3).
// ---------------------------------------------------------------------------------------------

/// Metrics `common::kernel_state` treats as stack defaults and drops.
fn visible_metric(m: Option<u32>) -> Option<u32> {
    m.filter(|m| !matches!(m, 0 | 100 | 256 | 1024 | 1003))
}

fn route_line(ifname: &str, r: &KernelRoute) -> String {
    let mut s = if r.is_default() {
        "default".to_owned()
    } else {
        r.to.to_string()
    };
    if let Some(via) = r.via {
        s.push_str(&format!(" via {via}"));
    }
    s.push_str(&format!(" dev {ifname}"));
    if let Some(m) = visible_metric(r.metric) {
        s.push_str(&format!(" metric {m}"));
    }
    if let Some(t) = r.table {
        s.push_str(&format!(" table {t}"));
    }
    s
}

/// The normalized sections of `common::kernel_state`.
fn state_section<'a>(state: &'a str, header: &str) -> Vec<&'a str> {
    let mut lines = state.lines().skip_while(|l| *l != header).skip(1);
    let mut out = Vec::new();
    for l in lines.by_ref() {
        if l.starts_with("== ") {
            break;
        }
        if !l.is_empty() {
            out.push(l);
        }
    }
    out
}

/// Compares the kernel state with what the model means: addresses in order, the connected
/// routes plus `iface.routes()` in every table, `iface.rules()`, MTU and MAC.
fn check_kernel_state(config: &Config, state: &str) {
    let ctx = format!("kernel state:\n{state}");
    let addrs = state_section(state, "== addr ==");
    let mut want_routes = Vec::new();
    let mut want_rules: Vec<(Family, String)> = Vec::new();
    for iface in &config.interfaces {
        let n = iface.name.as_str();
        // IPv4 keeps the configured order (the first is primary, the rest `secondary`).
        let got4: Vec<&str> = addrs
            .iter()
            .filter(|l| l.starts_with(&format!("{n} inet ")))
            .copied()
            .collect();
        let want4: Vec<String> = iface
            .addresses(Family::Ipv4)
            .iter()
            .map(|a| format!("{n} inet {a}"))
            .collect();
        assert_eq!(got4, want4, "{n}: IPv4 addresses\n{ctx}");
        // The kernel lists IPv6 addresses newest first: the model's first must be listed first
        // (it was added last, and is the preferred source address).
        let got6: Vec<&str> = addrs
            .iter()
            .filter(|l| l.starts_with(&format!("{n} inet6 ")))
            .copied()
            .collect();
        let want6: Vec<String> = iface
            .addresses(Family::Ipv6)
            .iter()
            .map(|a| format!("{n} inet6 {a}"))
            .collect();
        assert_eq!(got6, want6, "{n}: IPv6 addresses\n{ctx}");

        let link = state_section(state, "== link ==");
        let line = link
            .iter()
            .find(|l| l.starts_with(&format!("{n}: ")))
            .unwrap();
        if let Some(mtu) = iface.mtu {
            assert!(line.contains(&format!(" mtu {mtu} ")), "{line}\n{ctx}");
        }
        if let Some(mac) = iface.mac {
            assert!(line.contains(&format!(" ether {mac} ")), "{line}\n{ctx}");
        }
        assert!(line.ends_with(" up"), "{line}\n{ctx}");

        for family in [Family::Ipv4, Family::Ipv6] {
            for subnet in iface.subnets(family) {
                want_routes.push(format!("{subnet} dev {n}"));
            }
        }
        want_routes.extend(iface.routes().iter().map(|r| route_line(n, r)));
        want_rules.extend(iface.rules().iter().map(|r| {
            let fam = if matches!(r.from, IpAddr::V4(_)) {
                Family::Ipv4
            } else {
                Family::Ipv6
            };
            (
                fam,
                format!("{}: from {} lookup {}", r.priority, r.from, r.table),
            )
        }));

        if !iface.default_route {
            let main_default = state_section(state, "== route (all tables) ==")
                .into_iter()
                .filter(|l| {
                    l.starts_with("default ")
                        && l.contains(&format!(" dev {n}"))
                        && !l.contains(" table ")
                })
                .count();
            assert_eq!(
                main_default, 0,
                "{n}: a secondary NIC got a main default route\n{ctx}"
            );
        }
    }
    let mut got_routes: Vec<String> = state_section(state, "== route (all tables) ==")
        .iter()
        .map(|s| s.to_string())
        .collect();
    got_routes.sort();
    want_routes.sort();
    assert_eq!(got_routes, want_routes, "routes\n{ctx}");

    for (family, header) in [(Family::Ipv4, "== rule4 =="), (Family::Ipv6, "== rule6 ==")] {
        // networkd's rules carry `proto static`; the protocol is renderer noise.
        let mut got: Vec<String> = state_section(state, header)
            .iter()
            .map(|l| l.replace(" proto static", "").replace(" proto boot", ""))
            .collect();
        let mut want: Vec<String> = want_rules
            .iter()
            .filter(|(f, _)| *f == family)
            .map(|(_, r)| r.clone())
            .collect();
        got.sort();
        want.sort();
        assert_eq!(got, want, "{header}\n{ctx}");
    }
}

/// Renders a config, generates with netplan and returns a directory holding the `.network`
/// files to install. With `extra_root` (a sample root tree with netplan files), every generated
/// `.network` file is installed, so networkd itself has to pick ours over the others.
fn network_files_for(config: &Config, extra_root: Option<&Path>) -> TempDir {
    let facts = match extra_root {
        Some(root) => RootFacts::gather_for(root, BackendKind::Netplan).unwrap(),
        None => RootFacts::default(),
    };
    let rendered = render_with(config, &facts).unwrap();
    let generated = netplan_generate(&file_pairs(&rendered), 0o600, extra_root, false)
        .unwrap_or_else(|e| panic!("{e}"));

    // The .network files only (no .link: no renaming in the namespace); a veth has no
    // permanent MAC, so match on the current one.
    let cfg = tempfile::tempdir().unwrap();
    let ours: Vec<String> = config
        .interfaces
        .iter()
        .map(|i| format!("10-netplan-{}.network", id_of(i)))
        .collect();
    let install: Vec<String> = match extra_root {
        Some(_) => generated.network_files(),
        None => ours,
    };
    assert!(!install.is_empty());
    for name in install {
        let text = fs::read_to_string(generated.network_dir().join(&name)).unwrap();
        let text = text.replace("PermanentMACAddress=", "MACAddress=");
        fs::write(cfg.path().join(&name), text).unwrap();
    }
    cfg
}

/// netplan's generated files go to /run/systemd/network, where netplan writes them.
fn installs(cfg: &TempDir) -> Vec<networkd::Install> {
    vec![networkd::Install {
        from: cfg.path().to_path_buf(),
        to: "/run/systemd/network",
    }]
}

/// Renders a fixture, generates with netplan, applies the `.network` files with the real
/// networkd in a throw-away namespace whose links carry router advertisements, and checks the
/// kernel state (a NIC whose IPv6 is static or not configured takes nothing from them).
fn apply_for_real(fixture: &str, extra_root: Option<&Path>) {
    let config = common::load_config(&common::fixture(&format!("eni/{fixture}")));
    let cfg = network_files_for(&config, extra_root);
    let ns = common::Netns::new();
    networkd::add_links(&ns, &config);
    let state = networkd::run_with_ras(&ns, &installs(&cfg), &config);
    check_kernel_state(&config, &state);
}

macro_rules! real_apply {
    ($($test:ident => $fixture:literal,)*) => {$(
        #[test]
        fn $test() {
            if common::require_root(stringify!($test)) {
                apply_for_real($fixture, None);
            }
        }
    )*};
}

real_apply! {
    networkd_applies_full_secondary => "full-secondary.yaml",
    networkd_applies_ipv6_only => "ipv6-only.yaml",
    networkd_applies_two_nics_same_subnet => "two-nics-same-subnet.yaml",
    networkd_applies_tencent_secondary_eni_route => "tencent-secondary-eni-route.yaml",
    networkd_applies_jumbo_mtu_onlink_route => "jumbo-mtu-onlink-route.yaml",
    networkd_applies_aliyun_ipv4_ipv6 => "aliyun-ipv4-ipv6.yaml",
    networkd_applies_secondary_default_route => "secondary-default-route.yaml",
    networkd_applies_tencent_symmetric_routing => "tencent-symmetric-routing.yaml",
}

#[test]
fn networkd_applies_ours_over_debian12_catch_alls() {
    if !common::require_root("networkd_applies_ours_over_debian12_catch_alls") {
        return;
    }
    let root = common::fixture("roots/netplan-debian12");
    // eth* (all-eth) and en* (all-en) catch-alls both present and installed.
    apply_for_real("full-secondary.yaml", Some(&root));
    apply_for_real("jumbo-mtu-onlink-route.yaml", Some(&root));
}

#[test]
fn the_kernel_check_can_fail() {
    // A state that lacks the policy rule must be rejected.
    let config = common::load_config(&common::fixture("eni/tencent-symmetric-routing.yaml"));
    let state = "== addr ==\neth1 inet 10.0.1.10/24\neth1 inet 10.0.1.11/24\n== link ==\n\
                 eth1: mtu 1500 ether 52:54:00:8a:3c:12 up\n== route (all tables) ==\n\
                 10.0.1.0/24 dev eth1\n10.0.1.0/24 dev eth1 table 10\ndefault via 10.0.1.1 dev eth1 table 10\n\
                 == rule4 ==\n100: from 10.0.1.10 lookup 10\n== rule6 ==\n";
    let caught = std::panic::catch_unwind(|| check_kernel_state(&config, state));
    assert!(caught.is_err(), "a missing rule was not detected");
    let complete = state.replace(
        "lookup 10\n== rule6",
        "lookup 10\n100: from 10.0.1.11 lookup 10\n== rule6",
    );
    check_kernel_state(&config, &complete);
}

/// DHCPv4 for real (verifying.md §6.5): the peer moves to a server namespace running dnsmasq,
/// which hands out 10.0.2.100-199 with router 10.0.2.1.
fn dhcp_for_real(config: &Config) -> String {
    let cfg = network_files_for(config, None);
    let ns = common::Netns::new();
    networkd::add_links(&ns, config);
    let _server = common::dnsmasq::Dnsmasq::start(&ns, config.interfaces[0].name.as_str(), false);
    networkd::run(&ns, &installs(&cfg), config, true)
}

fn dhcp_config(default_route: bool) -> Config {
    config_from_yaml(&format!(
        "interfaces:\n  - name: eth1\n    mac: \"00:16:3e:0a:7b:21\"\n    ipv4: {{dhcp: true}}\n    \
         metric: 200\n    default_route: {default_route}\n"
    ))
}

#[test]
fn networkd_dhcp_secondary_gets_no_default_route() {
    if !common::require_root("networkd_dhcp_secondary_gets_no_default_route") {
        return;
    }
    // The same as fixture aliyun-secondary-dhcp.yaml, which must stay in step.
    let config = common::load_config(&common::fixture("eni/aliyun-secondary-dhcp.yaml"));
    assert_eq!(config, dhcp_config(false));
    let state = dhcp_for_real(&config);
    let addrs = state_section(&state, "== addr ==");
    assert_eq!(addrs.len(), 1, "{state}");
    assert!(addrs[0].starts_with("eth1 inet 10.0.2.1"), "{state}");
    let routes = state_section(&state, "== route (all tables) ==");
    assert_eq!(routes, vec!["10.0.2.0/24 dev eth1 metric 200"], "{state}");
}

#[test]
fn networkd_dhcp_with_default_route_uses_the_metric() {
    if !common::require_root("networkd_dhcp_with_default_route_uses_the_metric") {
        return;
    }
    let state = dhcp_for_real(&dhcp_config(true));
    let routes = state_section(&state, "== route (all tables) ==");
    assert!(
        routes.contains(&"default via 10.0.2.1 dev eth1 metric 200"),
        "{state}"
    );
}

#[test]
fn names_netplan_reads_as_patterns_are_refused() {
    for name in ["eth*", "eth?", "eth[12]", "!eth1"] {
        for mac in ["", "    mac: \"00:16:3e:0a:7b:30\"\n"] {
            let config = config_from_yaml(&format!(
                "interfaces:\n  - name: \"{name}\"\n{mac}    ipv4: {{addresses: [10.9.0.2/24]}}\n"
            ));
            let err = format!("{:#}", render(&config).unwrap_err());
            assert!(
                err.contains(&format!(
                    "backend netplan cannot express the interface name {name}"
                )),
                "{err}"
            );
        }
    }
}
