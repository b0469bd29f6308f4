//! ifcfg-rh and ifcfg-suse: every fixture x every stack that reads the format, judged by bash
//! (syntax and sandboxed sourcing), by strict readers written to NetworkManager's and wicked's
//! parsing rules, by semantic checks against the model, and by the real `ip` in a throw-away
//! namespace (verifying.md §5).

mod common;
mod ifcfg_check;

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use enicfg::backend::quote;
use enicfg::backend::{FileOut, Rendered, render};
use enicfg::distro::Stack;
use enicfg::model::{Config, Family, Interface, KernelRoute};
use enicfg::root::RootFacts;
use ifcfg_check::{Vars, read_nm, read_wicked};

const RH_STACKS: [Stack; 3] = [
    Stack::Initscripts {
        sysv: false,
        ec2_net_utils: false,
    },
    Stack::Initscripts {
        sysv: false,
        ec2_net_utils: true,
    },
    Stack::NetworkManagerIfcfg,
];
const SUSE_STACKS: [Stack; 2] = [Stack::Wicked, Stack::SuseSysconfig];

fn is_rh(stack: Stack) -> bool {
    RH_STACKS.contains(&stack)
}

/// The error a stack must give for a config, if the format cannot express it.
fn expected_error(cfg: &Config, stack: Stack) -> Option<&'static str> {
    for i in &cfg.interfaces {
        if matches!(stack, Stack::Initscripts { .. }) && i.is_dhcp(Family::Ipv6) && !i.default_route
        {
            return Some(
                "backend ifcfg-rh cannot express IPv6 DHCP/router advertisements without a default route",
            );
        }
        if matches!(stack, Stack::Initscripts { .. })
            && i.is_dhcp(Family::Ipv6)
            && i.metric.is_some()
        {
            return Some("backend ifcfg-rh cannot express a route metric for IPv6 DHCP");
        }
        if stack == Stack::SuseSysconfig && !i.rules().is_empty() {
            return Some("backend ifcfg-suse cannot express policy routing");
        }
        if matches!(stack, Stack::Wicked | Stack::SuseSysconfig)
            && i.is_dhcp(Family::Ipv6)
            && i.metric.is_some()
        {
            return Some("backend ifcfg-suse cannot express a metric for the IPv6 routes");
        }
        if matches!(stack, Stack::Wicked | Stack::SuseSysconfig)
            && i.is_dhcp(Family::Ipv6)
            && !i.default_route
        {
            return Some(
                "backend ifcfg-suse cannot express IPv6 DHCP/router advertisements without a default route",
            );
        }
    }
    None
}

/// Every (fixture, config, stack, rendering) that renders; checks that the others fail with
/// the expected "cannot express" error.
fn renderings(stacks: &[Stack]) -> Vec<(String, Config, Stack, Rendered)> {
    let mut out = Vec::new();
    for f in common::scenario_fixtures() {
        let cfg = common::load_config(&f);
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        for &stack in stacks {
            let res = render(&cfg, stack, &RootFacts::default());
            match (expected_error(&cfg, stack), res) {
                (None, Ok(r)) => out.push((name.clone(), cfg.clone(), stack, r)),
                (None, Err(e)) => panic!("{name} {stack:?}: unexpected error: {e:#}"),
                (Some(want), Ok(_)) => {
                    panic!("{name} {stack:?}: rendered, but should fail with {want:?}")
                }
                (Some(want), Err(e)) => {
                    let msg = format!("{e:#}");
                    assert!(
                        msg.contains(want),
                        "{name} {stack:?}: error {msg:?} lacks {want:?}"
                    );
                }
            }
        }
    }
    assert!(!out.is_empty());
    out
}

fn base(f: &FileOut) -> &str {
    f.path.rsplit('/').next().unwrap()
}

fn files_with<'a>(r: &'a Rendered, prefix: &str) -> Vec<&'a FileOut> {
    r.files
        .iter()
        .filter(|f| base(f).starts_with(prefix))
        .collect()
}

fn file<'a>(r: &'a Rendered, basename: &str) -> Option<&'a FileOut> {
    r.files.iter().find(|f| base(f) == basename)
}

/// Content lines of a route/rule file: no comments, no blanks.
fn content_lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

// ---------------------------------------------------------------------------------------------
// bash: syntax and sandboxed sourcing
// ---------------------------------------------------------------------------------------------

/// A 0755 temp dir holding one file, readable by user 65534.
fn temp_with(name: &str, contents: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let p = dir.path().join(name);
    std::fs::write(&p, contents).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
    dir
}

fn bash_syntax_ok(dir: &Path, name: &str) -> Result<(), String> {
    let out = common::run(Command::new("bash").arg("-n").arg(name).current_dir(dir));
    if out.status.success() && out.stderr.is_empty() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// Sources the file unprivileged, without network and with an empty environment (verifying.md
/// §5.2); returns the variables it set, or bash's complaints.
fn bash_source(dir: &Path, name: &str) -> Result<BTreeMap<String, String>, String> {
    let script = format!("set -a; . ./{name}; env -0");
    let out = common::run(
        Command::new("unshare")
            .args([
                "-n",
                "setpriv",
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                "env",
                "-i",
                "bash",
                "-c",
            ])
            .arg(&script)
            .current_dir(dir),
    );
    if !out.status.success() || !out.stderr.is_empty() {
        return Err(format!(
            "bash: {} {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let mut vars = BTreeMap::new();
    for entry in out.stdout.split(|b| *b == 0).filter(|e| !e.is_empty()) {
        let entry = String::from_utf8(entry.to_vec()).map_err(|e| e.to_string())?;
        let (k, v) = entry
            .split_once('=')
            .ok_or_else(|| format!("odd env entry {entry:?}"))?;
        if !matches!(k, "PWD" | "SHLVL" | "_" | "OLDPWD") {
            vars.insert(k.to_owned(), v.to_owned());
        }
    }
    Ok(vars)
}

/// bash -n, sourcing, and the strict reader must all agree on the file.
fn check_shell_file(
    name: &str,
    contents: &str,
    strict: fn(&str) -> Result<Vars, String>,
) -> Result<Vars, String> {
    let dir = temp_with(name, contents);
    bash_syntax_ok(dir.path(), name).map_err(|e| format!("bash -n {name}: {e}"))?;
    let parsed = strict(contents).map_err(|e| format!("strict reader, {name}: {e}"))?;
    let sourced = bash_source(dir.path(), name).map_err(|e| format!("sourcing {name}: {e}"))?;
    if sourced != parsed.map {
        return Err(format!(
            "{name}: bash assigns {sourced:?} but the literal reading is {:?}",
            parsed.map
        ));
    }
    Ok(parsed)
}

#[test]
fn rh_every_ifcfg_passes_bash_and_the_nm_reader() {
    for (fx, _cfg, stack, r) in renderings(&RH_STACKS) {
        for f in files_with(&r, "ifcfg-") {
            check_shell_file(base(f), &f.contents, read_nm)
                .unwrap_or_else(|e| panic!("{fx} {stack:?}: {e}"));
        }
    }
}

#[test]
fn suse_every_ifcfg_passes_bash_and_the_wicked_reader() {
    for (fx, _cfg, stack, r) in renderings(&SUSE_STACKS) {
        for f in files_with(&r, "ifcfg-") {
            check_shell_file(base(f), &f.contents, read_wicked)
                .unwrap_or_else(|e| panic!("{fx} {stack:?}: {e}"));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Semantics: what the readers get back must reconstruct the model.
// ---------------------------------------------------------------------------------------------

fn route_key(r: &KernelRoute) -> String {
    let mut s = if r.is_default() {
        "default".to_owned()
    } else {
        r.to.to_string()
    };
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
}

/// What both readers make of `IPV6_DEFAULTGW` for device `dev`: the gateway address.
/// initscripts' `ipv6_set_default_route` adds no route for a link-local gateway without a
/// `%scope` (or `IPV6_DEFAULTDEV`, which enicfg does not write), and a scope naming another
/// device makes it skip the route for this one; NetworkManager's reader drops the `%scope`
/// (real-readers.md; network-functions-ipv6, nms-ifcfg-rh-reader.c).
fn ipv6_defaultgw(value: &str, dev: &str) -> Result<String, String> {
    let (addr, scope) = match value.split_once('%') {
        Some((a, s)) => (a, Some(s)),
        None => (value, None),
    };
    let ip: std::net::Ipv6Addr = addr
        .parse()
        .map_err(|_| format!("IPV6_DEFAULTGW={value}: not an IPv6 address[%interface]"))?;
    match scope {
        None if ip.is_unicast_link_local() => Err(format!(
            "IPV6_DEFAULTGW={value}: a link-local gateway without %{dev}: initscripts adds no route"
        )),
        Some(s) if s != dev => Err(format!(
            "IPV6_DEFAULTGW={value}: scope {s} is not the device {dev}"
        )),
        _ => Ok(ip.to_string()),
    }
}

/// Parses `DEST [via GW] dev DEV [metric M] [table T]` (any order after DEST) into a route key.
fn ip_route_key(line: &str, dev: &str) -> String {
    let w: Vec<&str> = line.split_whitespace().collect();
    let (mut via, mut metric, mut table, mut seen_dev) = (None, None, None, None);
    let mut i = 1;
    while i < w.len() {
        match w[i] {
            "via" => via = Some(w[i + 1]),
            "metric" => metric = Some(w[i + 1]),
            "table" => table = Some(w[i + 1]),
            "dev" => seen_dev = Some(w[i + 1]),
            other => panic!("unexpected word {other:?} in route line {line:?}"),
        }
        i += 2;
    }
    assert_eq!(
        seen_dev,
        Some(dev),
        "route line {line:?} must name dev {dev}"
    );
    let mut s = w[0].to_owned();
    if let Some(v) = via {
        s += &format!(" via {v}");
    }
    if let Some(m) = metric {
        s += &format!(" metric {m}");
    }
    if let Some(t) = table {
        s += &format!(" table {t}");
    }
    s
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

const RH_KEYS: &[&str] = &[
    "DEVICE",
    "HWADDR",
    "TYPE",
    "ONBOOT",
    "BOOTPROTO",
    "EC2SYNC",
    "GATEWAY",
    "DEFROUTE",
    "METRIC",
    "IPV4_ROUTE_METRIC",
    "MTU",
    "IPV6INIT",
    "IPV6_AUTOCONF",
    "DHCPV6C",
    "IPV6ADDR",
    "IPV6ADDR_SECONDARIES",
    "IPV6_DEFAULTGW",
    "IPV6_DEFROUTE",
    "IPV6_ROUTE_METRIC",
    "AUTOCONNECT_PRIORITY",
];

/// Keys only initscripts' network service reads: NetworkManager 1.42 has them in no table of
/// its ifcfg-rh plugin ("key ... is unknown and ignored"), so they are written for initscripts
/// only.
const RH_INITSCRIPTS_ONLY_KEYS: &[&str] = &["ARPCHECK", "NOZEROCONF"];

/// Whether router advertisements stay on for the NIC after the reader applied the file
/// (real-readers.md §1, §2): ifup-ipv6 exits early only on a false `IPV6INIT` and then sets
/// accept_ra to 0 only for `IPV6_AUTOCONF=no` (the rhel6 branch leaves the kernel's default,
/// on, unless `IPV6INIT=yes`); NetworkManager reads no (or a false) `IPV6INIT` as
/// `ipv6.method ignore` (the kernel's accept_ra=1 stays), `IPV6_AUTOCONF=yes` as `auto`, and
/// `IPV6_AUTOCONF=no` as `link-local`/`manual`/`dhcp`, which never take RAs.
fn rh_accepts_ra(v: &Vars) -> bool {
    let yes = |k: &str| v.get(k).is_some_and(|x| matches!(x, "yes" | "true" | "1"));
    if !yes("IPV6INIT") {
        return true;
    }
    v.get("IPV6_AUTOCONF") != Some("no")
}

fn rh_semantics(iface: &Interface, stack: Stack, r: &Rendered) -> Result<(), String> {
    let name = iface.name.as_str();
    let nm = stack == Stack::NetworkManagerIfcfg;
    let ifcfg = file(r, &format!("ifcfg-{name}")).ok_or("no ifcfg file")?;
    let v = read_nm(&ifcfg.contents)?;
    let eq = |k: &str, want: Option<String>| -> Result<(), String> {
        let got = v.get(k).map(str::to_owned);
        if got != want {
            Err(format!("{k}: got {got:?}, want {want:?}"))
        } else {
            Ok(())
        }
    };
    for k in &v.order {
        let numbered = ["IPADDR", "PREFIX", "ROUTING_RULE_", "ROUTING_RULE6_"]
            .iter()
            .any(|p| {
                k.strip_prefix(p)
                    .is_some_and(|n| n.is_empty() || n.chars().all(|c| c.is_ascii_digit()))
            });
        let initscripts_only = RH_INITSCRIPTS_ONLY_KEYS.contains(&k.as_str());
        if initscripts_only && nm {
            return Err(format!(
                "{k} is unknown to NetworkManager's ifcfg-rh plugin"
            ));
        }
        if !RH_KEYS.contains(&k.as_str()) && !numbered && !initscripts_only {
            return Err(format!("unknown key {k}"));
        }
    }
    eq("AUTOCONNECT_PRIORITY", Some("150".into()))?;
    eq("ARPCHECK", (!nm).then(|| "no".into()))?;
    eq("NOZEROCONF", (!nm).then(|| "yes".into()))?;
    eq("DEVICE", Some(name.into()))?;
    eq("TYPE", Some("Ethernet".into()))?;
    eq("ONBOOT", Some("yes".into()))?;
    eq(
        "BOOTPROTO",
        Some(
            if iface.is_dhcp(Family::Ipv4) {
                "dhcp"
            } else {
                "none"
            }
            .into(),
        ),
    )?;
    let hw = v
        .get("HWADDR")
        .map(|m| {
            m.parse::<enicfg::model::MacAddr>()
                .map_err(|e| e.to_string())
        })
        .transpose()?;
    if hw != iface.mac {
        return Err(format!("HWADDR {hw:?} != fixture MAC {:?}", iface.mac));
    }
    eq("MTU", iface.mtu.map(|m| m.to_string()))?;
    let ec2 = stack
        == (Stack::Initscripts {
            sysv: false,
            ec2_net_utils: true,
        });
    eq("EC2SYNC", ec2.then(|| "no".into()))?;
    // ec2-net-utils 1.x greps for exactly this line.
    if ec2 != ifcfg.contents.lines().any(|l| l == "EC2SYNC=no") {
        return Err("EC2SYNC=no line missing or unexpected".into());
    }

    // Addresses, in order: IPADDR, then IPADDR0..255 (NM and initscripts order).
    let mut v4 = Vec::new();
    for sfx in std::iter::once(String::new()).chain((0..256).map(|i| i.to_string())) {
        if let Some(a) = v.get(&format!("IPADDR{sfx}")) {
            let p = v
                .get(&format!("PREFIX{sfx}"))
                .ok_or(format!("IPADDR{sfx} without PREFIX{sfx}"))?;
            v4.push(format!("{a}/{p}"));
        }
    }
    let want4: Vec<String> = iface
        .addresses(Family::Ipv4)
        .iter()
        .map(ToString::to_string)
        .collect();
    if v4 != want4 {
        return Err(format!("IPv4 addresses {v4:?} != {want4:?}"));
    }
    let mut v6: Vec<String> = v.get("IPV6ADDR").into_iter().map(str::to_owned).collect();
    v6.extend(
        v.get("IPV6ADDR_SECONDARIES")
            .unwrap_or("")
            .split_whitespace()
            .map(str::to_owned),
    );
    // The address that ends up preferred must be the model's first: NetworkManager adds
    // IPV6ADDR last, initscripts adds it first (and the kernel prefers the newest).
    let mut want6: Vec<String> = iface
        .addresses(Family::Ipv6)
        .iter()
        .map(ToString::to_string)
        .collect();
    if matches!(stack, Stack::Initscripts { .. }) {
        want6.reverse();
    }
    if v6 != want6 {
        return Err(format!("IPv6 addresses {v6:?} != {want6:?}"));
    }
    eq("IPV6INIT", Some("yes".into()))?;
    let dhcp6 = iface.is_dhcp(Family::Ipv6);
    eq(
        "IPV6_AUTOCONF",
        Some(if dhcp6 { "yes" } else { "no" }.into()),
    )?;
    eq("DHCPV6C", dhcp6.then(|| "yes".into()))?;
    if !iface.has_ipv6()
        && let Some(k) = v.order.iter().find(|k| {
            (k.starts_with("IPV6") && !matches!(k.as_str(), "IPV6INIT" | "IPV6_AUTOCONF"))
                || *k == "DHCPV6C"
        })
    {
        return Err(format!("{k} written although IPv6 is not configured"));
    }
    // Router advertisements: only a DHCPv6 family takes them; anything else would get a SLAAC
    // address and an RA default route in main nobody described.
    if rh_accepts_ra(&v) != dhcp6 {
        return Err(format!(
            "router advertisements {} after the readers apply the file (IPV6INIT={:?}, IPV6_AUTOCONF={:?})",
            if dhcp6 { "off" } else { "on" },
            v.get("IPV6INIT"),
            v.get("IPV6_AUTOCONF")
        ));
    }
    if iface.ipv4.is_some() {
        eq(
            "DEFROUTE",
            Some(if iface.default_route { "yes" } else { "no" }.into()),
        )?;
    }
    if nm {
        eq(
            "IPV6_DEFROUTE",
            iface
                .has_ipv6()
                .then(|| if iface.default_route { "yes" } else { "no" }.into()),
        )?;
        eq(
            "IPV4_ROUTE_METRIC",
            iface
                .metric
                .filter(|_| iface.ipv4.is_some())
                .map(|m| m.to_string()),
        )?;
        eq(
            "IPV6_ROUTE_METRIC",
            iface
                .metric
                .filter(|_| iface.has_ipv6())
                .map(|m| m.to_string()),
        )?;
        eq("METRIC", None)?;
    } else {
        eq(
            "METRIC",
            iface
                .metric
                .filter(|_| iface.ipv4.is_some())
                .map(|m| m.to_string()),
        )?;
        eq("IPV4_ROUTE_METRIC", None)?;
    }
    // Gateways only with default_route.
    if !iface.default_route && (v.get("GATEWAY").is_some() || v.get("IPV6_DEFAULTGW").is_some()) {
        return Err("a gateway key without default_route".into());
    }

    // Routes: GATEWAY / IPV6_DEFAULTGW (with the reader's metric) + route files == iface.routes().
    let metric4 = v.get(if nm { "IPV4_ROUTE_METRIC" } else { "METRIC" });
    let metric6 = if nm { v.get("IPV6_ROUTE_METRIC") } else { None };
    let mut got = Vec::new();
    if let Some(gw) = v.get("GATEWAY") {
        got.push(format!(
            "default via {gw}{}",
            metric4.map(|m| format!(" metric {m}")).unwrap_or_default()
        ));
    }
    if let Some(gw) = v.get("IPV6_DEFAULTGW") {
        let gw = ipv6_defaultgw(gw, name)?;
        got.push(format!(
            "default via {gw}{}",
            metric6.map(|m| format!(" metric {m}")).unwrap_or_default()
        ));
    }
    for fam in ["route", "route6"] {
        if let Some(f) = file(r, &format!("{fam}-{name}")) {
            for l in content_lines(&f.contents) {
                let is6 = l.contains(':');
                if is6 != (fam == "route6") {
                    return Err(format!("{fam}-{name}: line of the wrong family: {l}"));
                }
                got.push(ip_route_key(&l, name));
            }
        }
    }
    let want: Vec<String> = iface.routes().iter().map(route_key).collect();
    if sorted(got.clone()) != sorted(want.clone()) {
        return Err(format!("routes {got:?} != model {want:?}"));
    }

    // Rules: ROUTING_RULE_n for NM, rule files for initscripts.
    let want_rules: Vec<String> = iface
        .rules()
        .iter()
        .map(|r| format!("from {} table {} priority {}", r.from, r.table, r.priority))
        .collect();
    let mut got_rules = Vec::new();
    let mut nm_keys: Vec<(u32, &String)> = v
        .order
        .iter()
        .filter_map(|k| {
            let n = k
                .strip_prefix("ROUTING_RULE_")
                .or_else(|| k.strip_prefix("ROUTING_RULE6_"))?;
            Some((n.parse().ok()?, k))
        })
        .collect();
    nm_keys.sort();
    for (_, k) in &nm_keys {
        // NM form: priority P from ADDR/LEN table T
        let w: Vec<&str> = v.get(k).unwrap_or("").split_whitespace().collect();
        let [_, p, _, from, _, t] = w.as_slice() else {
            return Err(format!("{k}: odd value {w:?}"));
        };
        let (addr, len) = from
            .split_once('/')
            .ok_or(format!("{k}: no prefix in {from}"))?;
        let want_len = if addr.contains(':') { "128" } else { "32" };
        if len != want_len || (k.starts_with("ROUTING_RULE6_") != addr.contains(':')) {
            return Err(format!("{k}: family/prefix mismatch in {from}"));
        }
        got_rules.push(format!("from {addr} table {t} priority {p}"));
    }
    for fam in ["rule", "rule6"] {
        if let Some(f) = file(r, &format!("{fam}-{name}")) {
            if nm {
                return Err(format!(
                    "{fam}-{name} written for NetworkManager, which ignores it"
                ));
            }
            got_rules.extend(content_lines(&f.contents));
        }
    }
    if nm == nm_keys.is_empty() && !want_rules.is_empty() {
        return Err("rules in the wrong form for the stack".into());
    }
    if got_rules != want_rules {
        return Err(format!("rules {got_rules:?} != model {want_rules:?}"));
    }
    Ok(())
}

#[test]
fn rh_files_reconstruct_the_model() {
    for (fx, cfg, stack, r) in renderings(&RH_STACKS) {
        for iface in &cfg.interfaces {
            rh_semantics(iface, stack, &r)
                .unwrap_or_else(|e| panic!("{fx} {stack:?} {}: {e}", iface.name));
        }
        for f in &r.files {
            assert_eq!(f.mode, 0o644, "{}", f.path);
            assert!(
                f.contents.starts_with(enicfg::backend::GENERATED_MARKER),
                "{}",
                f.path
            );
            assert!(f.contents.ends_with('\n'), "{}", f.path);
            assert!(
                f.path.starts_with("/etc/sysconfig/network-scripts/"),
                "{}",
                f.path
            );
        }
        let per_iface: Vec<String> = cfg
            .interfaces
            .iter()
            .map(|i| match stack {
                Stack::NetworkManagerIfcfg => format!(
                    "nmcli connection load /etc/sysconfig/network-scripts/ifcfg-{0} && nmcli connection up filename /etc/sysconfig/network-scripts/ifcfg-{0}",
                    i.name
                ),
                _ => format!("ifdown {0}; ifup {0}", i.name),
            })
            .collect();
        assert_eq!(r.commands.interface, per_iface);
        assert_eq!(r.commands.restart, stack.restart_command());
    }
}

/// Parses an ifroute line into `ip route add` arguments.
fn ifroute_to_ip(line: &str, dev: &str) -> Vec<String> {
    let w: Vec<&str> = line.split_whitespace().collect();
    assert!(
        w.len() >= 4,
        "ifroute line {line:?} has fewer than 4 columns"
    );
    let (dest, gw, mask, ifc) = (w[0], w[1], w[2], w[3]);
    assert_eq!(
        mask, "-",
        "{line}: netmask column must be '-' (prefix in the destination)"
    );
    assert_eq!(ifc, dev, "{line}: interface column");
    let mut args = vec![dest.to_owned()];
    if gw != "-" {
        args.push("via".into());
        args.push(gw.into());
    }
    args.push("dev".into());
    args.push(dev.into());
    args.extend(w[4..].iter().map(|s| (*s).to_owned()));
    args
}

fn suse_semantics(iface: &Interface, stack: Stack, r: &Rendered) -> Result<(), String> {
    let name = iface.name.as_str();
    for f in &r.files {
        if f.mode != 0o644
            || !f.contents.ends_with('\n')
            || !f.contents.starts_with(enicfg::backend::GENERATED_MARKER)
        {
            return Err(format!("{}: mode/final newline/marker", f.path));
        }
        if let Some(l) = f
            .contents
            .lines()
            .find(|l| l.len() >= ifcfg_check::WICKED_MAX_LINE)
        {
            return Err(format!("{}: line too long: {l:.40}", f.path));
        }
        if !f.path.starts_with("/etc/sysconfig/network/") {
            return Err(format!("{}: wrong directory", f.path));
        }
    }
    let ifcfg = file(r, &format!("ifcfg-{name}")).ok_or("no ifcfg file")?;
    let v = read_wicked(&ifcfg.contents)?;
    let eq = |k: &str, want: Option<String>| -> Result<(), String> {
        let got = v.get(k).map(str::to_owned);
        if got != want {
            Err(format!("{k}: got {got:?}, want {want:?}"))
        } else {
            Ok(())
        }
    };
    if v.get("LLADDR").is_some() || ifcfg.contents.contains("LLADDR") {
        return Err("LLADDR would change the MAC".into());
    }
    eq("STARTMODE", Some("auto".into()))?;
    let bp = match (iface.is_dhcp(Family::Ipv4), iface.is_dhcp(Family::Ipv6)) {
        (true, true) => "dhcp",
        (true, false) => "dhcp4",
        (false, true) => "dhcp6",
        (false, false) => "static",
    };
    eq("BOOTPROTO", Some(bp.into()))?;
    eq("CLOUD_NETCONFIG_MANAGE", Some("no".into()))?;
    eq("MTU", iface.mtu.map(|m| m.to_string()))?;
    let dhcp4 = iface.is_dhcp(Family::Ipv4);
    eq(
        "DHCLIENT_SET_DEFAULT_ROUTE",
        dhcp4.then(|| if iface.default_route { "yes" } else { "no" }.into()),
    )?;
    eq(
        "DHCLIENT_ROUTE_PRIORITY",
        iface.metric.filter(|_| dhcp4).map(|m| m.to_string()),
    )?;
    let addrs: Vec<String> = v
        .order
        .iter()
        .filter(|k| *k == "IPADDR" || k.starts_with("IPADDR_"))
        .map(|k| v.get(k).unwrap_or("").to_owned())
        .collect();
    // wicked adds them in file order and the kernel prefers the newest IPv6 address: the
    // first IPv6 address of the model must come last (real-readers.md §3).
    let mut want: Vec<String> = iface
        .addresses(Family::Ipv4)
        .iter()
        .map(ToString::to_string)
        .collect();
    want.extend(
        iface
            .addresses(Family::Ipv6)
            .iter()
            .rev()
            .map(ToString::to_string),
    );
    if addrs != want {
        return Err(format!("addresses {addrs:?} != {want:?}"));
    }
    // Routes.
    let mut got = Vec::new();
    if let Some(f) = file(r, &format!("ifroute-{name}")) {
        for l in content_lines(&f.contents) {
            got.push(ip_route_key(&ifroute_to_ip(&l, name).join(" "), name));
        }
    }
    let want: Vec<String> = iface.routes().iter().map(route_key).collect();
    if sorted(got.clone()) != sorted(want.clone()) {
        return Err(format!("ifroute {got:?} != model {want:?}"));
    }
    // Rules.
    let got: Vec<String> = file(r, &format!("ifrule-{name}"))
        .map(|f| content_lines(&f.contents))
        .unwrap_or_default();
    let want: Vec<String> = iface
        .rules()
        .iter()
        .map(|r| {
            let fam = if r.from.is_ipv4() { "ipv4" } else { "ipv6" };
            format!(
                "{fam} from {} table {} priority {}",
                r.from, r.table, r.priority
            )
        })
        .collect();
    if got != want {
        return Err(format!("ifrule {got:?} != model {want:?}"));
    }
    // Router advertisements, as wicked applies ifsysctl (only the keys it reads count): off
    // unless IPv6 uses DHCP, so no RA adds an address or a main default route.
    let sysctl = match file(r, &format!("ifsysctl-{name}")) {
        Some(f) => ifcfg_check::read_wicked_ifsysctl(&f.contents, name)?,
        None => BTreeMap::new(),
    };
    let ra_on = sysctl.get("accept_ra").is_none_or(|v| v != "0");
    if ra_on != iface.is_dhcp(Family::Ipv6) {
        return Err(format!(
            "router advertisements {} after wicked applies ifsysctl {sysctl:?}",
            if ra_on { "on" } else { "off" }
        ));
    }
    let cmd = match stack {
        Stack::Wicked => format!("wicked ifreload {name}"),
        _ => format!("ifdown {name}; ifup {name}"),
    };
    if !r.commands.interface.contains(&cmd) {
        return Err(format!("commands {:?} lack {cmd:?}", r.commands.interface));
    }
    Ok(())
}

#[test]
fn suse_files_reconstruct_the_model() {
    for (fx, cfg, stack, r) in renderings(&SUSE_STACKS) {
        for iface in &cfg.interfaces {
            suse_semantics(iface, stack, &r)
                .unwrap_or_else(|e| panic!("{fx} {stack:?} {}: {e}", iface.name));
        }
        assert_eq!(r.commands.restart, stack.restart_command());
    }
}

// ---------------------------------------------------------------------------------------------
// Route and rule lines through the real `ip`.
// ---------------------------------------------------------------------------------------------

/// The `ip` commands a reader would run for a rendering: (family flag, "route"|"rule", args).
fn ip_commands(
    iface: &Interface,
    stack: Stack,
    r: &Rendered,
) -> Vec<(&'static str, &'static str, Vec<String>)> {
    let name = iface.name.as_str();
    let split = |l: &str| l.split_whitespace().map(str::to_owned).collect::<Vec<_>>();
    let mut cmds = Vec::new();
    if is_rh(stack) {
        let v = read_nm(&file(r, &format!("ifcfg-{name}")).unwrap().contents).unwrap();
        let nm = stack == Stack::NetworkManagerIfcfg;
        // What initscripts / NM do with GATEWAY and IPV6_DEFAULTGW.
        for (fam, key, metric) in [
            (
                "-4",
                "GATEWAY",
                v.get(if nm { "IPV4_ROUTE_METRIC" } else { "METRIC" }),
            ),
            (
                "-6",
                "IPV6_DEFAULTGW",
                if nm { v.get("IPV6_ROUTE_METRIC") } else { None },
            ),
        ] {
            if let Some(gw) = v.get(key) {
                let gw = if key == "IPV6_DEFAULTGW" {
                    ipv6_defaultgw(gw, name).unwrap()
                } else {
                    gw.to_owned()
                };
                let mut a = split(&format!("default via {gw} dev {name}"));
                if let Some(m) = metric {
                    a.extend(["metric".to_owned(), m.to_owned()]);
                }
                cmds.push((fam, "route", a));
            }
        }
        for (fam, kind, prefix) in [
            ("-4", "route", "route"),
            ("-6", "route", "route6"),
            ("-4", "rule", "rule"),
            ("-6", "rule", "rule6"),
        ] {
            if let Some(f) = file(r, &format!("{prefix}-{name}")) {
                for l in content_lines(&f.contents) {
                    cmds.push((fam, kind, split(&l)));
                }
            }
        }
        for k in &v.order {
            let fam = if k.starts_with("ROUTING_RULE6_") {
                "-6"
            } else if k.starts_with("ROUTING_RULE_") {
                "-4"
            } else {
                continue;
            };
            cmds.push((fam, "rule", split(v.get(k).unwrap())));
        }
    } else {
        if let Some(f) = file(r, &format!("ifroute-{name}")) {
            for l in content_lines(&f.contents) {
                let a = ifroute_to_ip(&l, name);
                let fam = if a[0].contains(':') || a.get(2).is_some_and(|g| g.contains(':')) {
                    "-6"
                } else {
                    "-4"
                };
                cmds.push((fam, "route", a));
            }
        }
        if let Some(f) = file(r, &format!("ifrule-{name}")) {
            for l in content_lines(&f.contents) {
                let mut a = split(&l);
                let fam = match a.remove(0).as_str() {
                    "ipv4" => "-4",
                    "ipv6" => "-6",
                    other => panic!("ifrule line starts with {other:?}"),
                };
                cmds.push((fam, "rule", a));
            }
        }
    }
    cmds
}

fn kernel_section<'a>(state: &'a str, title: &str) -> Vec<&'a str> {
    let start = state.find(&format!("== {title} ==\n")).unwrap() + title.len() + 7;
    let rest = &state[start..];
    let end = rest.find("\n== ").unwrap_or(rest.len());
    rest[..end].lines().filter(|l| !l.is_empty()).collect()
}

fn expected_kernel_routes(cfg: &Config) -> Vec<String> {
    let quiet = |m: u32| matches!(m, 0 | 100 | 256 | 1024 | 1003);
    let mut out = Vec::new();
    for i in &cfg.interfaces {
        for f in [Family::Ipv4, Family::Ipv6] {
            for s in i.subnets(f) {
                out.push(format!("{s} dev {}", i.name));
            }
        }
        for r in i.routes() {
            let mut s = if r.is_default() {
                "default".to_owned()
            } else {
                r.to.to_string()
            };
            if let Some(v) = r.via {
                s += &format!(" via {v}");
            }
            s += &format!(" dev {}", i.name);
            if let Some(m) = r.metric.filter(|m| !quiet(*m)) {
                s += &format!(" metric {m}");
            }
            if let Some(t) = r.table {
                s += &format!(" table {t}");
            }
            out.push(s);
        }
    }
    sorted(out)
}

#[test]
fn route_and_rule_lines_through_real_ip() {
    if !common::require_root("route_and_rule_lines_through_real_ip") {
        return;
    }
    let mut all = renderings(&RH_STACKS);
    all.extend(renderings(&SUSE_STACKS));
    for (fx, cfg, stack, r) in all {
        let ns = common::Netns::new();
        let names: Vec<&str> = cfg.interfaces.iter().map(|i| i.name.as_str()).collect();
        for i in &cfg.interfaces {
            let mac = i.mac.map(|m| m.to_string());
            ns.add_veth(i.name.as_str(), mac.as_deref());
            ns.ip(&["link", "set", i.name.as_str(), "up"]);
            for f in [Family::Ipv4, Family::Ipv6] {
                for a in i.addresses(f) {
                    let a = a.to_string();
                    let mut args = vec!["addr", "add", a.as_str(), "dev", i.name.as_str()];
                    if f == Family::Ipv6 {
                        args.push("nodad");
                    }
                    ns.ip(&args);
                }
            }
        }
        for i in &cfg.interfaces {
            for (fam, kind, args) in ip_commands(i, stack, &r) {
                let mut full: Vec<&str> = vec![fam, kind, "add"];
                full.extend(args.iter().map(String::as_str));
                let out = ns.ip_raw(&full);
                assert!(
                    out.status.success(),
                    "{fx} {stack:?}: `ip {}` failed: {}",
                    full.join(" "),
                    String::from_utf8_lossy(&out.stderr)
                );
            }
        }
        // ifsysctl lines must name real per-interface sysctls of this kernel.
        for i in &cfg.interfaces {
            if let Some(f) = file(&r, &format!("ifsysctl-{}", i.name)) {
                for l in content_lines(&f.contents) {
                    let (k, v) = l
                        .split_once(" = ")
                        .unwrap_or_else(|| panic!("odd ifsysctl line {l:?}"));
                    let out = common::run(ns.exec("sysctl").args(["-w", &format!("{k}={v}")]));
                    assert!(
                        out.status.success() && out.stderr.is_empty(),
                        "{fx} {stack:?}: sysctl -w {k}={v}: {}",
                        String::from_utf8_lossy(&out.stderr)
                    );
                }
            }
        }
        let state = ns.state(&names);
        let got = sorted(
            kernel_section(&state, "route (all tables)")
                .into_iter()
                .map(str::to_owned)
                .collect(),
        );
        assert_eq!(
            got,
            expected_kernel_routes(&cfg),
            "{fx} {stack:?}: kernel routes\n{state}"
        );
        for (title, fam) in [("rule4", Family::Ipv4), ("rule6", Family::Ipv6)] {
            let got = sorted(
                kernel_section(&state, title)
                    .into_iter()
                    .map(str::to_owned)
                    .collect(),
            );
            let want = sorted(
                cfg.interfaces
                    .iter()
                    .flat_map(|i| i.rules())
                    .filter(|r| r.family() == fam)
                    .map(|r| format!("{}: from {} lookup {}", r.priority, r.from, r.table))
                    .collect(),
            );
            assert_eq!(got, want, "{fx} {stack:?}: kernel {title}\n{state}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The checkers can fail: deliberately broken files.
// ---------------------------------------------------------------------------------------------

#[test]
fn broken_rh_files_are_rejected() {
    for (bad, why) in [
        ("IPADDR=\"$(reboot)\"\n", "unescaped $ in double quotes"),
        ("IPADDR=`reboot`\n", "backtick"),
        ("IPADDR=\"10.0.2.5\n", "unterminated quote"),
        ("NAME=my nic\n", "unquoted space"),
        ("export IPADDR=10.0.2.5\n", "export"),
        ("IPADDR=10.0.2.5", "no final newline"),
        ("IPADDR=a|b\n", "unquoted pipe"),
        ("1PADDR=x\n", "bad key"),
    ] {
        assert!(read_nm(bad).is_err(), "NM reader accepted {why}: {bad:?}");
    }
    // bash -n catches the unterminated quote too.
    let dir = temp_with("ifcfg-bad", "IPADDR=\"10.0.2.5\n");
    assert!(bash_syntax_ok(dir.path(), "ifcfg-bad").is_err());
    // Sourcing disagrees with a literal reading for `NAME=my nic` (bash runs `nic`).
    let dir = temp_with("ifcfg-bad2", "NAME=my nic\n");
    let sourced = bash_source(dir.path(), "ifcfg-bad2");
    assert!(
        sourced
            .as_ref()
            .map_or(true, |v| v.get("NAME").map(String::as_str)
                != Some("my nic")),
        "sourcing gave {sourced:?}"
    );
    assert!(check_shell_file("ifcfg-bad2", "NAME=my nic\n", read_nm).is_err());
    // And a good file passes, so the rejections above are not vacuous.
    assert!(check_shell_file("ifcfg-good", "IPADDR=10.0.2.5\nNAME=\"my nic\"\n", read_nm).is_ok());
}

#[test]
fn broken_suse_files_are_rejected() {
    let long = format!("IPADDR='{}'\n", "1".repeat(600));
    for (bad, why) in [
        (
            "IPADDR=10.0.2.5",
            "unquoted value on the last line without newline",
        ),
        ("IPADDR='10.0.2.5\n", "unterminated quote"),
        ("IPADDR='10.0.2.5' junk\n", "text after the quote"),
        ("IPADDR=\"$(reboot)\"\n", "expansion in double quotes"),
        ("IPADDR=$(reboot)\n", "bare shell syntax"),
        ("IPADDR-FOO='x'\n", "ignored variable name"),
        (long.as_str(), "line over 511 bytes"),
    ] {
        assert!(
            read_wicked(bad).is_err(),
            "wicked reader accepted {why}: {bad:?}"
        );
    }
    assert_eq!(
        read_wicked("IPADDR='10.0.2.5/24'\n").unwrap().get("IPADDR"),
        Some("10.0.2.5/24")
    );
    assert!(check_shell_file("ifcfg-good", "STARTMODE='auto'\n", read_wicked).is_ok());
}

// ---------------------------------------------------------------------------------------------
// Quoting against bash and the strict readers.
// ---------------------------------------------------------------------------------------------

const HOSTILE: &[&str] = &[
    "$(reboot)",
    "`reboot`",
    "a\"b",
    "a'b",
    "a b",
    "a;reboot",
    "a\nb",
    "\\",
    "$HOME",
    "#x",
    "a\tb",
    "~root",
    "a|b&c",
    "(x)",
    "<x>",
    "",
    "ünï",
    "x=y",
    "a\\nb",
    "\u{7f}",
    "\"$`\\\"",
    "ünï $x`y`\\z\"",
];

#[test]
fn rh_quoting_is_safe_or_rejected() {
    for s in HOSTILE {
        match quote::ifcfg_rh(s) {
            Err(e) => assert!(s.chars().any(char::is_control), "{s:?} rejected: {e:#}"),
            Ok(q) => {
                let text = format!("X={q}\n");
                let v = check_shell_file("ifcfg-q", &text, read_nm)
                    .unwrap_or_else(|e| panic!("{s:?} -> {q}: {e}"));
                assert_eq!(v.get("X"), Some(*s), "{s:?} -> {q}");
            }
        }
    }
}

#[test]
fn suse_quoting_is_safe_or_rejected() {
    for s in HOSTILE {
        match quote::ifcfg_suse(s) {
            Err(e) => assert!(
                s.contains('\'') || s.chars().any(char::is_control),
                "{s:?} rejected: {e:#}"
            ),
            Ok(q) => {
                let text = format!("X={q}\n");
                let v = check_shell_file("ifcfg-q", &text, read_wicked)
                    .unwrap_or_else(|e| panic!("{s:?} -> {q}: {e}"));
                assert_eq!(v.get("X"), Some(*s), "{s:?} -> {q}");
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Errors.
// ---------------------------------------------------------------------------------------------

fn config_of(yaml: &str) -> Config {
    let spec = enicfg::source::file::parse(yaml, "test").unwrap();
    Config::from_spec(&spec).unwrap().select(true).unwrap()
}

#[test]
fn sles11_with_policy_routing_is_a_clear_error() {
    let cfg = common::load_config(&common::fixture("eni/full-secondary.yaml"));
    let err = format!(
        "{:#}",
        render(&cfg, Stack::SuseSysconfig, &RootFacts::default()).unwrap_err()
    );
    assert!(err.contains("eth1"), "{err}");
    assert!(
        err.contains("backend ifcfg-suse cannot express policy routing"),
        "{err}"
    );
    // Without policy routing SLES 11 renders, with the SLES 11 apply command.
    let cfg = common::load_config(&common::fixture("eni/tencent-secondary-eni-route.yaml"));
    let r = render(&cfg, Stack::SuseSysconfig, &RootFacts::default()).unwrap();
    assert_eq!(r.commands.interface, vec!["ifdown eth1; ifup eth1"]);
    assert!(r.files.iter().all(|f| f.mode == 0o644));
}

#[test]
fn initscripts_dhcp6_without_default_route_is_a_clear_error() {
    let cfg = common::load_config(&common::fixture("eni/dhcp-both-families.yaml"));
    let err = format!(
        "{:#}",
        render(
            &cfg,
            Stack::Initscripts {
                sysv: true,
                ec2_net_utils: false
            },
            &RootFacts::default()
        )
        .unwrap_err()
    );
    assert!(
        err.contains("eth2") && err.contains("backend ifcfg-rh cannot express IPv6 DHCP"),
        "{err}"
    );
    // NetworkManager can express it.
    let r = render(&cfg, Stack::NetworkManagerIfcfg, &RootFacts::default()).unwrap();
    let v = read_nm(&r.files[0].contents).unwrap();
    assert_eq!(v.get("IPV6_DEFROUTE"), Some("no"));
    assert_eq!(v.get("DEFROUTE"), Some("no"));
}

#[test]
fn initscripts_ipv6_default_route_with_metric_goes_to_route6() {
    let cfg = config_of(
        "interfaces:\n  - name: eth1\n    ipv6: { addresses: ['2001:db8:9::5/64'], gateway: '2001:db8:9::1' }\n    default_route: true\n    metric: 700\n",
    );
    let r = render(
        &cfg,
        Stack::Initscripts {
            sysv: false,
            ec2_net_utils: false,
        },
        &RootFacts::default(),
    )
    .unwrap();
    let v = read_nm(&file(&r, "ifcfg-eth1").unwrap().contents).unwrap();
    assert_eq!(v.get("IPV6_DEFAULTGW"), None);
    let route6 = content_lines(&file(&r, "route6-eth1").unwrap().contents);
    assert_eq!(
        route6,
        vec!["default via 2001:db8:9::1 dev eth1 metric 700"]
    );
    rh_semantics(
        &cfg.interfaces[0],
        Stack::Initscripts {
            sysv: false,
            ec2_net_utils: false,
        },
        &r,
    )
    .unwrap();
    // NetworkManager keeps it in ifcfg with IPV6_ROUTE_METRIC.
    let r = render(&cfg, Stack::NetworkManagerIfcfg, &RootFacts::default()).unwrap();
    let v = read_nm(&file(&r, "ifcfg-eth1").unwrap().contents).unwrap();
    assert_eq!(v.get("IPV6_DEFAULTGW"), Some("2001:db8:9::1"));
    assert_eq!(v.get("IPV6_ROUTE_METRIC"), Some("700"));
    rh_semantics(&cfg.interfaces[0], Stack::NetworkManagerIfcfg, &r).unwrap();
}

/// Issue 14: a link-local IPv6 gateway (AWS's VPC router `fe80:ec2::1`), in the policy table and
/// as the main default route. Both RH readers and wicked must bind it to the NIC: initscripts
/// adds no route for `IPV6_DEFAULTGW=fe80:…` without `%eth1` (network-functions-ipv6), so the
/// strict reader refuses it; the route lines carry `dev eth1`, and the kernel takes them.
#[test]
fn link_local_ipv6_gateway_is_bound_to_the_nic() {
    let cfg = config_of(
        "interfaces:\n  - name: eth1\n    ipv4: { addresses: ['10.0.2.20/24'], gateway: '10.0.2.1' }\n    ipv6: { addresses: ['2001:db8:1200:2::20/64', '2001:db8:1200:2::21/64'], gateway: 'fe80:ec2::1' }\n    default_route: true\n    policy_routing: { table: 10001 }\n",
    );
    let iface = &cfg.interfaces[0];
    for stack in RH_STACKS {
        let r = render(&cfg, stack, &RootFacts::default()).unwrap();
        let v = read_nm(&file(&r, "ifcfg-eth1").unwrap().contents).unwrap();
        assert_eq!(
            v.get("IPV6_DEFAULTGW"),
            Some("fe80:ec2::1%eth1"),
            "{stack:?}"
        );
        let route6 = content_lines(&file(&r, "route6-eth1").unwrap().contents);
        assert!(
            route6.contains(&"default via fe80:ec2::1 dev eth1 table 10001".to_owned()),
            "{stack:?}: {route6:?}"
        );
        rh_semantics(iface, stack, &r).unwrap_or_else(|e| panic!("{stack:?}: {e}"));
        // The checker can fail: the bare link-local gateway is what initscripts ignores.
        let mut broken = r.clone();
        for f in &mut broken.files {
            f.contents = f.contents.replace("fe80:ec2::1%eth1", "fe80:ec2::1");
        }
        let err = rh_semantics(iface, stack, &broken).unwrap_err();
        assert!(err.contains("without %eth1"), "{stack:?}: {err}");
    }
    let r = render(&cfg, Stack::Wicked, &RootFacts::default()).unwrap();
    let routes = content_lines(&file(&r, "ifroute-eth1").unwrap().contents);
    for want in [
        "default fe80:ec2::1 - eth1",
        "default fe80:ec2::1 - eth1 table 10001",
    ] {
        assert!(routes.contains(&want.to_owned()), "{want}: {routes:?}");
    }
    suse_semantics(iface, Stack::Wicked, &r).unwrap();
}

#[test]
fn other_stacks_are_refused() {
    let cfg = common::load_config(&common::fixture("eni/full-secondary.yaml"));
    let ctx = enicfg::backend::Context {
        stack: Stack::Wicked,
        root: &RootFacts::default(),
    };
    let err = enicfg::backend::backend_for(enicfg::backend::BackendKind::IfcfgRh)
        .render(&cfg, &ctx)
        .unwrap_err();
    assert!(format!("{err:#}").contains("backend ifcfg-rh cannot write for the wicked stack"));
}

#[test]
fn rh_ipv4_only_nic_turns_router_advertisements_off_for_both_readers() {
    // What each reader makes of the IPv6 keys (real-readers.md §1, §2).
    for (text, on) in [
        ("DEVICE=eth1\n", true),
        ("IPV6INIT=no\n", true),
        ("IPV6INIT=yes\n", true),
        ("IPV6INIT=yes\nIPV6_AUTOCONF=yes\n", true),
        ("IPV6INIT=yes\nIPV6_AUTOCONF=no\n", false),
    ] {
        assert_eq!(rh_accepts_ra(&read_nm(text).unwrap()), on, "{text:?}");
    }
    let cfg = common::load_config(&common::fixture("eni/tencent-secondary-eni-route.yaml"));
    assert!(cfg.interfaces.iter().all(|i| !i.has_ipv6()));
    for stack in RH_STACKS {
        let r = render(&cfg, stack, &RootFacts::default()).unwrap();
        for i in &cfg.interfaces {
            let v = read_nm(&file(&r, &format!("ifcfg-{}", i.name)).unwrap().contents).unwrap();
            assert_eq!(v.get("IPV6INIT"), Some("yes"), "{stack:?}");
            assert_eq!(v.get("IPV6_AUTOCONF"), Some("no"), "{stack:?}");
            assert!(!rh_accepts_ra(&v), "{stack:?}");
            assert_eq!(v.get("IPV6ADDR"), None, "link-local for NetworkManager");
        }
    }
}

#[test]
fn wicked_ifsysctl_reader_honours_only_what_wicked_reads() {
    let read = ifcfg_check::read_wicked_ifsysctl;
    assert!(read("net.ipv6.conf.eth1.accept_ra_defrtr = 0\n", "eth1").is_err());
    assert!(read("net.ipv6.conf.eth2.accept_ra = 0\n", "eth1").is_err());
    assert_eq!(
        read("# x\nnet.ipv6.conf.eth1.accept_ra = 0\n", "eth1")
            .unwrap()
            .get("accept_ra")
            .map(String::as_str),
        Some("0")
    );
    assert_eq!(
        read("net/ipv6/conf/eth1.100/accept_ra = 0\n", "eth1.100")
            .unwrap()
            .len(),
        1
    );
    // Every IPv4-only or static-IPv6 NIC turns router advertisements off through a key wicked
    // reads; DHCPv6 without a default route is refused (wicked cannot drop the RA default).
    let cfg = common::load_config(&common::fixture("eni/tencent-secondary-eni-route.yaml"));
    let r = render(&cfg, Stack::Wicked, &RootFacts::default()).unwrap();
    let f = file(&r, "ifsysctl-eth1").unwrap();
    assert_eq!(
        read(&f.contents, "eth1")
            .unwrap()
            .get("accept_ra")
            .map(String::as_str),
        Some("0")
    );
    let cfg = common::load_config(&common::fixture("eni/dhcp6-secondary.yaml"));
    let err = format!(
        "{:#}",
        render(&cfg, Stack::Wicked, &RootFacts::default()).unwrap_err()
    );
    assert!(
        err.contains("eth3") && err.contains("accept_ra_defrtr"),
        "{err}"
    );
}

#[test]
fn wicked_adds_the_first_ipv6_address_last() {
    let cfg = common::load_config(&common::fixture("eni/ipv6-only.yaml"));
    let r = render(&cfg, Stack::Wicked, &RootFacts::default()).unwrap();
    let v = read_wicked(&file(&r, "ifcfg-eth1").unwrap().contents).unwrap();
    let addrs: Vec<&str> = v
        .order
        .iter()
        .filter(|k| k.starts_with("IPADDR"))
        .map(|k| v.get(k).unwrap())
        .collect();
    assert_eq!(addrs, ["2001:db8:0:5::11/64", "2001:db8:0:5::10/64"]);
}
