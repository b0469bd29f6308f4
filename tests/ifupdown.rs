//! The ifupdown backend judged by ifupdown itself (verifying.md §3.2, §6.2, §6.5).
//!
//! - offline: every fixture is rendered into a temporary root for three main files (Ubuntu
//!   `source .../*.cfg`, Debian cloud `source-directory`, none); `ifquery` and `ifup --no-act`
//!   must read our stanzas through the main file's own include directive, and a lint catches what
//!   ifupdown silently accepts (unknown or duplicate options, commands other than `ip`);
//! - for real: each static fixture is applied with `ifup` in a throw-away namespace whose links
//!   carry router advertisements, and the kernel state must equal the state computed from the
//!   model; `ifdown` must undo all of it;
//! - DHCP: dhclient against dnsmasq in a peer namespace, with and without `default_route`.

mod common;

use std::collections::BTreeSet;
use std::fs;
use std::net::IpAddr;
use std::path::PathBuf;
use std::process::Command;

use common::dnsmasq::{RouterAdvertiser, wait_for_next_ra};
use common::expected::{expected_state_all, mask_macs, sections};
use common::ifupdown::{DEBIAN_CLOUD_MAIN, ifupdown_in, write_root};
use common::{Netns, load_config, require_root, run, run_ok, scenario_fixtures};
use enicfg::backend::{Rendered, render};
use enicfg::distro::Stack;
use enicfg::model::{Config, Family};
use enicfg::root::RootFacts;
use ipnet::IpNet;

const UBUNTU_MAIN: &str = "# ifupdown has been replaced by netplan(5) on this system.\n\
auto lo\niface lo inet loopback\n\nsource /etc/network/interfaces.d/*.cfg\n";

const STACK: Stack = Stack::Ifupdown { upstart: false };

fn render_with(config: &Config, main: Option<&str>) -> anyhow::Result<Rendered> {
    let facts = RootFacts {
        interfaces_main: main.map(str::to_owned),
        ..RootFacts::default()
    };
    render(config, STACK, &facts)
}

fn names(config: &Config) -> Vec<String> {
    config
        .interfaces
        .iter()
        .map(|i| i.name.to_string())
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The lint: what ifupdown accepts silently (verifying.md §3.2).
// ---------------------------------------------------------------------------------------------

const COMMAND_OPTIONS: [&str; 6] = ["pre-up", "up", "post-up", "down", "pre-down", "post-down"];

/// Option names per family and method, from interfaces(5) of ifupdown 0.8. `hwaddress` is left
/// out on purpose: it sets the MAC, and enicfg must never do that.
fn allowed_options(family: &str, method: &str) -> Option<&'static [&'static str]> {
    Some(match (family, method) {
        ("inet", "static") => &[
            "address",
            "netmask",
            "broadcast",
            "metric",
            "gateway",
            "pointopoint",
            "mtu",
            "scope",
        ],
        ("inet", "dhcp") => &["hostname", "metric", "leasetime", "vendor", "client"],
        ("inet6", "static") => &[
            "address",
            "netmask",
            "metric",
            "gateway",
            "media",
            "mtu",
            "accept_ra",
            "autoconf",
            "privext",
            "scope",
            "preferred-lifetime",
            "dad-attempts",
            "dad-interval",
        ],
        ("inet6", "dhcp") => &[
            "accept_ra",
            "autoconf",
            "request_prefix",
            "ll-attempts",
            "ll-interval",
        ],
        _ => return None,
    })
}

/// Problems found in an interfaces(5) file, one line each (empty when clean).
fn lint(text: &str) -> Vec<String> {
    let mut problems = Vec::new();
    // (family, method, options seen, ups, downs)
    let mut current: Option<(String, String, BTreeSet<String>)> = None;
    let mut ups: Vec<String> = Vec::new();
    let mut downs: Vec<String> = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let n = n + 1;
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        if trimmed.ends_with('\\') {
            problems.push(format!("line {n}: continuation lines are not expected"));
        }
        if trimmed.contains('#') {
            problems.push(format!("line {n}: end-of-line comments are not supported"));
        }
        let words: Vec<&str> = trimmed.split_whitespace().collect();
        match words[0] {
            "auto" | "allow-hotplug" | "source" | "source-directory" => {
                current = None;
                continue;
            }
            "iface" => {
                if words.len() != 4 {
                    problems.push(format!("line {n}: iface needs NAME FAMILY METHOD"));
                    current = None;
                    continue;
                }
                if allowed_options(words[2], words[3]).is_none() {
                    problems.push(format!(
                        "line {n}: unexpected family/method {} {}",
                        words[2], words[3]
                    ));
                }
                current = Some((words[2].to_owned(), words[3].to_owned(), BTreeSet::new()));
                continue;
            }
            _ => {}
        }
        let Some((family, method, seen)) = current.as_mut() else {
            problems.push(format!("line {n}: option outside a stanza: {trimmed}"));
            continue;
        };
        let key = words[0];
        let value = trimmed[key.len()..].trim();
        if COMMAND_OPTIONS.contains(&key) {
            if let Err(e) = check_command(key, value) {
                problems.push(format!("line {n}: {key}: {e}"));
            }
            match key {
                "up" | "post-up" => ups.push(value.to_owned()),
                "down" | "pre-down" => downs.push(value.to_owned()),
                _ => {}
            }
            continue;
        }
        let allowed = allowed_options(family, method).unwrap_or(&[]);
        if !allowed.contains(&key) {
            problems.push(format!(
                "line {n}: unknown option {key:?} for {family} {method}"
            ));
            continue;
        }
        if !seen.insert(key.to_owned()) {
            problems.push(format!("line {n}: duplicate option {key}"));
        }
        if let Err(e) = check_value(family, key, value) {
            problems.push(format!("line {n}: {key} {value}: {e}"));
        }
    }
    // Every `up ... add` has its `down ... del`.
    for up in &ups {
        let undo = up.replacen(" add ", " del ", 1);
        if !downs.contains(&undo) {
            problems.push(format!("up {up:?} has no matching down {undo:?}"));
        }
    }
    problems
}

fn check_value(family: &str, key: &str, value: &str) -> Result<(), String> {
    let want_v6 = family == "inet6";
    let fam_ok = |a: IpAddr| a.is_ipv6() == want_v6;
    match key {
        "address" => {
            let net: IpNet = value.parse().map_err(|_| "not ADDRESS/PREFIX".to_owned())?;
            if !fam_ok(net.addr()) {
                return Err(format!("not an {family} address"));
            }
        }
        "gateway" => {
            let a: IpAddr = value.parse().map_err(|_| "not an address".to_owned())?;
            if !fam_ok(a) {
                return Err(format!("not an {family} address"));
            }
        }
        "mtu" => {
            let m: u32 = value.parse().map_err(|_| "not a number".to_owned())?;
            if !(68..=65535).contains(&m) {
                return Err("out of range".to_owned());
            }
        }
        "metric" => {
            value
                .parse::<u32>()
                .map_err(|_| "not a number".to_owned())?;
        }
        "accept_ra" if !matches!(value, "0" | "1" | "2") => {
            return Err("must be 0, 1 or 2".to_owned());
        }
        _ => {}
    }
    Ok(())
}

/// Only `ip` commands (and the one RA sysctl) with plain arguments: no shell operators, so
/// nothing like `|| true` can hide a failure.
fn check_command(key: &str, value: &str) -> Result<(), String> {
    if value.chars().any(|c| {
        matches!(
            c,
            '|' | '&' | ';' | '$' | '`' | '>' | '<' | '(' | ')' | '\'' | '"'
        )
    }) {
        return Err(format!("shell syntax in {value:?}"));
    }
    let words: Vec<&str> = value.split_whitespace().collect();
    match words.as_slice() {
        ["ip", "-6", obj, ..] | ["ip", obj, ..] if matches!(*obj, "route" | "rule" | "link") => {
            Ok(())
        }
        ["sysctl", "-q", "-w", setting]
            if key == "pre-up"
                && setting.starts_with("net.ipv6.conf.")
                && setting.ends_with(".accept_ra_defrtr=0") =>
        {
            Ok(())
        }
        // A NIC without IPv6: router advertisements off; `-e` tolerates a kernel without IPv6.
        ["sysctl", "-q", "-e", "-w", setting]
            if key == "pre-up"
                && setting.starts_with("net.ipv6.conf.")
                && setting.ends_with(".accept_ra=0") =>
        {
            Ok(())
        }
        _ => Err(format!(
            "command not allowed: {value:?} (only ip route/rule/link)"
        )),
    }
}

// ---------------------------------------------------------------------------------------------
// 1. Offline: ifquery, ifup --no-act, include detection, lint.
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug)]
enum Main {
    Ubuntu,
    DebianCloud,
    Absent,
}

impl Main {
    fn text(self) -> Option<&'static str> {
        match self {
            Main::Ubuntu => Some(UBUNTU_MAIN),
            Main::DebianCloud => Some(DEBIAN_CLOUD_MAIN),
            Main::Absent => None,
        }
    }
}

fn static_fixtures() -> Vec<PathBuf> {
    scenario_fixtures()
        .into_iter()
        .filter(|p| {
            let c = load_config(p);
            !c.interfaces
                .iter()
                .any(|i| i.is_dhcp(Family::Ipv4) || i.is_dhcp(Family::Ipv6))
        })
        .collect()
}

/// Fixtures ifupdown cannot express, with the expected error.
const INEXPRESSIBLE: &[(&str, &str)] = &[(
    "dhcp-both-families.yaml",
    "backend ifupdown cannot express a metric for the IPv6 routes learnt by DHCPv6",
)];

#[test]
fn every_fixture_reads_back_through_each_main_file() {
    for fixture in scenario_fixtures() {
        let config = load_config(&fixture);
        let name = fixture.file_name().unwrap().to_string_lossy().into_owned();
        let inexpressible = INEXPRESSIBLE.iter().find(|(f, _)| *f == name);
        for main in [Main::Ubuntu, Main::DebianCloud, Main::Absent] {
            let what = format!("{} with {main:?} main file", fixture.display());
            let rendered = match (render_with(&config, main.text()), inexpressible) {
                (Ok(r), None) => r,
                (Err(e), Some((_, why))) => {
                    assert!(format!("{e:#}").contains(why), "{what}: {e:#}");
                    continue;
                }
                (Ok(_), Some(_)) => panic!("{what}: expected a 'cannot express' error"),
                (Err(e), None) => panic!("{what}: {e:#}"),
            };
            check_rendering(&config, &rendered, main, &what);
        }
    }
}

fn check_rendering(config: &Config, rendered: &Rendered, main: Main, what: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    let checked = write_root(&root, rendered, main.text());

    for iface in &config.interfaces {
        let name = iface.name.as_str();
        // The file name the main file's include directive reads.
        let want = match main {
            Main::Ubuntu => format!("/etc/network/interfaces.d/{name}.cfg"),
            Main::DebianCloud | Main::Absent => format!("/etc/network/interfaces.d/{name}"),
        };
        let stanza = rendered.files.iter().find(|f| f.path == want);
        let stanza = stanza.unwrap_or_else(|| panic!("{what}: no {want} in {:?}", rendered.files));
        assert!(
            stanza
                .contents
                .starts_with("# Generated by enicfg (backend ifupdown)"),
            "{what}"
        );
        assert!(stanza.contents.ends_with('\n'), "{what}");
        assert_eq!(stanza.mode, 0o644);
        let problems = lint(&stanza.contents);
        assert!(
            problems.is_empty(),
            "{what}: lint of {want}:\n{}\n{}",
            problems.join("\n"),
            stanza.contents
        );
        assert!(!stanza.contents.contains("hwaddress"), "{what}");
        assert!(!stanza.contents.contains("|| true"), "{what}");
    }
    let main_out = rendered
        .files
        .iter()
        .find(|f| f.path == "/etc/network/interfaces");
    match main {
        Main::Ubuntu | Main::DebianCloud => assert!(
            main_out.is_none(),
            "{what}: the main file must be left alone"
        ),
        Main::Absent => {
            let m = main_out.unwrap_or_else(|| panic!("{what}: the main file must be created"));
            let sources: Vec<String> = names(config)
                .iter()
                .map(|n| format!("source /etc/network/interfaces.d/{n}"))
                .collect();
            let lines: Vec<&str> = m
                .contents
                .lines()
                .filter(|l| l.starts_with("source"))
                .collect();
            assert_eq!(lines, sources, "{what}");
        }
    }

    // ifquery reads our stanzas through the main file's own include directive.
    let listed = run_ok(
        Command::new("ifquery")
            .arg("-i")
            .arg(&checked)
            .arg("--list"),
    );
    let listed: Vec<&str> = listed.lines().collect();
    let state = tmp.path().join("state");
    fs::create_dir_all(&state).unwrap();
    for iface in &config.interfaces {
        let name = iface.name.as_str();
        assert!(listed.contains(&name), "{what}: ifquery --list: {listed:?}");
        let q = run_ok(Command::new("ifquery").arg("-i").arg(&checked).arg(name));
        for family in [Family::Ipv4, Family::Ipv6] {
            for a in iface.addresses(family) {
                assert!(
                    q.contains(&format!("address: {}", a.addr())),
                    "{what}: ifquery {name}: {q}"
                );
            }
        }
        let out = run(Command::new("ifup")
            .args(["--no-act", "-v", "--no-scripts", "-i"])
            .arg(&checked)
            .arg("--state-dir")
            .arg(&state)
            .arg(name));
        // -v prints the commands on stderr.
        let dry = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.status.success() && !dry.contains("failed"),
            "{what}: ifup --no-act {name}:\n{dry}"
        );
        // verifying.md §3.2: one `ip addr add` per static address, IPv6 first, in the order that
        // leaves the model's first address primary (IPv4) or preferred (IPv6: added last).
        let adds: Vec<&str> = dry.lines().filter(|l| l.contains(" addr add ")).collect();
        let v4 = iface.addresses(Family::Ipv4);
        let mut v6 = iface.addresses(Family::Ipv6);
        v6.reverse();
        assert_eq!(adds.len(), v4.len() + v6.len(), "{what}: {dry}");
        for (line, a) in adds.iter().zip(v6.iter().chain(v4.iter())) {
            assert!(
                line.contains(&format!(" {}/", a.addr())),
                "{what}: {line} vs {a}"
            );
        }
        for r in iface
            .routes()
            .iter()
            .filter(|r| r.table.is_some() || !r.is_default())
        {
            let to = if r.is_default() {
                "default".to_owned()
            } else {
                r.to.to_string()
            };
            assert!(
                dry.lines()
                    .any(|l| l.contains("route add") && l.contains(&to)),
                "{what}: no route {to}: {dry}"
            );
        }
        for r in iface.rules() {
            let needle = format!(
                "rule add from {} lookup {} priority {}",
                r.from, r.table, r.priority
            );
            assert!(dry.contains(&needle), "{what}: no {needle}: {dry}");
        }
        // A NIC without IPv6 turns router advertisements off before the link comes up: no
        // SLAAC address, no RA default route (the conformance suite sends RAs on every link).
        // It is the command ifupdown's own inet6 static method runs.
        let ra_off = format!(
            "sysctl -q -e -w net.ipv6.conf.{}.accept_ra=0",
            name.replace('.', "/")
        );
        let ra_line = dry.lines().position(|l| l.contains(&ra_off));
        let link_up = dry
            .lines()
            .position(|l| l.contains("link set dev") && l.ends_with(" up"));
        // (inet6 static runs the same command itself; inet6 dhcp must keep RAs.)
        if !iface.has_ipv6() {
            assert!(
                ra_line.is_some() && (link_up.is_none() || ra_line < link_up),
                "{what}: router advertisements not turned off before the link is up:\n{dry}"
            );
        }
    }
}

#[test]
fn existing_stanza_in_main_file_is_an_error() {
    let config = load_config(&common::fixture("eni/tencent-secondary-eni-route.yaml"));
    let main = format!("{DEBIAN_CLOUD_MAIN}\nauto eth1\niface eth1 inet dhcp\n");
    let err = format!("{:#}", render_with(&config, Some(&main)).unwrap_err());
    assert!(
        err.contains("/etc/network/interfaces line 8") && err.contains("eth1"),
        "{err}"
    );
}

#[test]
fn main_file_contents_are_kept_when_appending() {
    let config = load_config(&common::fixture("eni/two-nics-same-subnet.yaml"));
    let main = "auto lo\niface lo inet loopback"; // no trailing newline
    let rendered = render_with(&config, Some(main)).unwrap();
    let m = rendered
        .files
        .iter()
        .find(|f| f.path == "/etc/network/interfaces")
        .unwrap();
    assert_eq!(
        m.contents,
        "auto lo\niface lo inet loopback\n\
         # enicfg: eth1\nsource /etc/network/interfaces.d/eth1\n\
         # enicfg: eth2\nsource /etc/network/interfaces.d/eth2\n"
    );
    // Running again on the result is stable: the lines now include the stanzas.
    let again = render_with(&config, Some(&m.contents)).unwrap();
    assert!(
        again
            .files
            .iter()
            .all(|f| f.path != "/etc/network/interfaces")
    );
}

fn main_of(rendered: &Rendered) -> Option<&str> {
    rendered
        .files
        .iter()
        .find(|f| f.path == "/etc/network/interfaces")
        .map(|f| f.contents.as_str())
}

/// The `source` lines enicfg appends follow a marker comment naming the interface; a rendered
/// interface keeps its line where it is while no include of the user's reads its file, and
/// loses it when one does. Lines of interfaces not rendered are the writer's call (an excluded
/// interface keeps its file): the rendering keeps them. The user's lines stay byte for byte.
#[test]
fn appended_source_lines_are_marked_and_follow_the_users_includes() {
    let two = load_config(&common::fixture("eni/two-nics-same-subnet.yaml"));
    let one = Config {
        interfaces: two.interfaces[..1].to_vec(),
    };
    let users = "# mine\nauto lo\niface lo inet loopback\nsource-directory /etc/network/other.d\n";
    let eth1 = "# enicfg: eth1\nsource /etc/network/interfaces.d/eth1\n";
    let eth2 = "# enicfg: eth2\nsource /etc/network/interfaces.d/eth2\n";
    let both = render_with(&two, Some(users)).unwrap();
    assert_eq!(
        main_of(&both),
        Some(format!("{users}{eth1}{eth2}").as_str())
    );
    let again = render_with(&two, Some(main_of(&both).unwrap())).unwrap();
    assert_eq!(
        main_of(&again),
        None,
        "stable: the main file is left as it is"
    );
    assert_eq!(
        main_of(&render_with(&one, Some(&format!("{users}{eth1}{eth2}"))).unwrap()),
        None
    );

    // A line the user added after enicfg's stays where the user put it.
    let later = format!("{users}{eth2}auto eth0\niface eth0 inet dhcp\n");
    assert_eq!(
        main_of(&render_with(&two, Some(&later)).unwrap()),
        Some(format!("{later}{eth1}").as_str())
    );

    // The user's own include reads the stanza directory now: eth1's line would read its file a
    // second time, so it goes; eth2's is not this rendering's to drop.
    let covered = format!("{users}source-directory /etc/network/interfaces.d\n");
    let r = render_with(&one, Some(&format!("{covered}{eth1}{eth2}"))).unwrap();
    assert_eq!(main_of(&r), Some(format!("{covered}{eth2}").as_str()));
    assert!(
        r.files
            .iter()
            .any(|f| f.path == "/etc/network/interfaces.d/eth1")
    );

    // ifupdown would join the marker comment to a last line that ends with a backslash.
    let err = render_with(&one, Some("iface lo inet loopback\n    up true \\\n")).unwrap_err();
    assert!(
        format!("{err:#}").contains("ends with a backslash"),
        "{err:#}"
    );

    // A main file enicfg creates has the same lines; the marker comments hide no include from
    // ifquery.
    let created = main_of(&render_with(&one, None).unwrap())
        .unwrap()
        .to_owned();
    assert!(created.starts_with("# Generated by enicfg"), "{created}");
    assert!(created.ends_with(eth1), "{created}");
    let tmp = tempfile::tempdir().unwrap();
    let checked = write_root(&tmp.path().join("root"), &both, None);
    let listed = run_ok(
        Command::new("ifquery")
            .arg("-i")
            .arg(&checked)
            .arg("--list"),
    );
    assert!(
        listed.lines().any(|l| l == "eth1") && listed.lines().any(|l| l == "eth2"),
        "{listed}"
    );
}

#[test]
fn colliding_file_names_are_an_error() {
    let spec = enicfg::source::file::parse(
        "interfaces:\n  - {name: eth1.5, ipv4: {addresses: [10.0.0.5/24]}}\n  - {name: eth1_5, ipv4: {addresses: [10.0.1.5/24]}}\n",
        "test",
    )
    .unwrap();
    let config = Config::from_spec(&spec).unwrap();
    let err = format!(
        "{:#}",
        render_with(&config, Some(DEBIAN_CLOUD_MAIN)).unwrap_err()
    );
    assert!(err.contains("eth1.5") && err.contains("eth1_5"), "{err}");
}

#[test]
fn commands() {
    let config = load_config(&common::fixture("eni/two-nics-same-subnet.yaml"));
    let rendered = render_with(&config, Some(DEBIAN_CLOUD_MAIN)).unwrap();
    assert_eq!(rendered.commands.restart, "systemctl restart networking");
    assert_eq!(
        rendered.commands.interface,
        [
            "ifdown --force eth1; ifup eth1",
            "ifdown --force eth2; ifup eth2"
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// 4. The lint rejects what ifupdown would accept silently.
// ---------------------------------------------------------------------------------------------

#[test]
fn lint_rejects_broken_stanzas() {
    let good = "auto eth1\niface eth1 inet static\n    address 10.0.2.6/24\n    mtu 1500\n";
    assert!(lint(good).is_empty(), "{:?}", lint(good));
    let broken = [
        (
            "iface eth1 inet static\n    adress 10.0.2.6/24\n",
            "unknown option \"adress\"",
        ),
        (
            "iface eth1 inet static\n    address 10.0.2.6/24\n    mtu 1500\n    mtu 9000\n",
            "duplicate option mtu",
        ),
        (
            "iface eth1 inet static\n    address 10.0.2.6/24\n    hwaddress 00:16:3e:00:00:01\n",
            "hwaddress",
        ),
        (
            "iface eth1 inet static\n    address 2001:db8::1/64\n",
            "not an inet address",
        ),
        (
            "iface eth1 inet static\n    address 10.0.2.500/24\n",
            "not ADDRESS/PREFIX",
        ),
        (
            "iface eth1 inet static\n    address 10.0.2.6/24\n    up ip route add 1.2.3.0/24 dev eth1 || true\n    down ip route del 1.2.3.0/24 dev eth1\n",
            "shell syntax",
        ),
        (
            "iface eth1 inet static\n    address 10.0.2.6/24\n    up route add -net 1.2.3.0/24 dev eth1\n",
            "command not allowed",
        ),
        (
            "iface eth1 inet static\n    address 10.0.2.6/24\n    up ip route add 1.2.3.0/24 dev eth1\n",
            "no matching down",
        ),
        (
            "iface eth1 inet6 dhcp\n    metric 5\n",
            "unknown option \"metric\" for inet6 dhcp",
        ),
    ];
    for (text, want) in broken {
        let problems = lint(text).join("\n");
        assert!(
            problems.contains(want),
            "lint of {text:?} should say {want:?}, said {problems:?}"
        );
    }
    // The first one really is accepted by ifupdown's parser: the lint is what catches it.
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("i");
    fs::write(
        &f,
        "iface eth1 inet static\n    address 10.0.2.6/24\n    adress 10.0.2.7/24\n",
    )
    .unwrap();
    run_ok(Command::new("ifquery").arg("-i").arg(&f).arg("eth1"));
}

// ---------------------------------------------------------------------------------------------
// 2. Real apply in a throw-away namespace.
// ---------------------------------------------------------------------------------------------

#[test]
fn static_fixtures_apply_and_undo_for_real() {
    if !require_root("static_fixtures_apply_and_undo_for_real") {
        return;
    }
    for fixture in static_fixtures() {
        let what = fixture.display().to_string();
        let config = load_config(&fixture);
        let rendered = render_with(&config, Some(DEBIAN_CLOUD_MAIN)).unwrap();
        let tmp = tempfile::tempdir().unwrap();
        let main = write_root(&tmp.path().join("root"), &rendered, Some(DEBIAN_CLOUD_MAIN));
        let state = tmp.path().join("state");
        fs::create_dir_all(&state).unwrap();
        let ns = Netns::new();
        let ifnames = names(&config);
        let refs: Vec<&str> = ifnames.iter().map(String::as_str).collect();
        for iface in &config.interfaces {
            ns.add_veth(
                iface.name.as_str(),
                iface.mac.map(|m| m.to_string()).as_deref(),
            );
        }
        // Router advertisements on every link: a NIC whose IPv6 is static (`accept_ra 0`) or
        // not configured (the `accept_ra=0` pre-up) must take nothing from them.
        let _ra = RouterAdvertiser::start(&ns, &refs);
        for name in &refs {
            ifupdown_in(&ns, "ifup", &main, &state, name);
        }
        wait_for_next_ra(&ns, &refs);
        let actual = mask_macs(&ns.state(&refs), &config.interfaces);
        let expected = expected_state_all(&config.interfaces);
        assert_eq!(
            actual, expected,
            "{what}: kernel state after ifup differs from the model"
        );

        for name in refs.iter().rev() {
            ifupdown_in(&ns, "ifdown", &main, &state, name);
        }
        let after = ns.state(&refs);
        for (title, lines) in sections(&after) {
            if title != "link" {
                assert!(
                    lines.is_empty(),
                    "{what}: ifdown left {title}: {lines:?}\n{after}"
                );
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 3. DHCP against dnsmasq in a peer namespace.
// ---------------------------------------------------------------------------------------------

/// Applies a DHCP config for real and returns the normalized state while the lease is held,
/// plus the state after ifdown.
fn apply_dhcp(config: &Config) -> (String, String) {
    apply_dhcp_with(config, true)
}

/// [`apply_dhcp`]; `classless: false` serves option 3 alone.
fn apply_dhcp_with(config: &Config, classless: bool) -> (String, String) {
    let name = config.interfaces[0].name.to_string();
    let rendered = render_with(config, Some(DEBIAN_CLOUD_MAIN)).unwrap();
    common::ifupdown::dhcp_apply_with(config, &rendered, classless, |ns| {
        ns.state(&[name.as_str()])
    })
}

fn dhcp_address(state: &str, name: &str) -> Option<String> {
    sections(state)
        .into_iter()
        .find(|(t, _)| t == "addr")?
        .1
        .into_iter()
        .find(|l| l.starts_with(&format!("{name} inet 10.0.2.1")) && l.ends_with("/24"))
}

fn main_defaults(state: &str) -> Vec<String> {
    sections(state)
        .into_iter()
        .find(|(t, _)| t == "route (all tables)")
        .map(|(_, l)| l)
        .unwrap_or_default()
        .into_iter()
        .filter(|l| l.starts_with("default") && !l.contains(" table "))
        .collect()
}

#[test]
fn dhcp_secondary_gets_no_main_default_route() {
    if !require_root("dhcp_secondary_gets_no_main_default_route") {
        return;
    }
    let config = load_config(&common::fixture("eni/aliyun-secondary-dhcp.yaml"));
    assert!(!config.interfaces[0].default_route);
    let (during, after) = apply_dhcp(&config);
    assert!(
        dhcp_address(&during, "eth1").is_some(),
        "no DHCP address:\n{during}"
    );
    assert_eq!(
        main_defaults(&during),
        Vec::<String>::new(),
        "secondary NIC got a main default route:\n{during}"
    );
    // Nothing from option 3 or option 121 (dnsmasq sends 192.168.0.0/16 and the default route
    // as classless routes); the subnet route carries the interface's metric, as on networkd,
    // netplan and NetworkManager.
    let routes = sections(&during)
        .into_iter()
        .find(|(t, _)| t == "route (all tables)")
        .map(|(_, l)| l)
        .unwrap_or_default();
    assert_eq!(routes, ["10.0.2.0/24 dev eth1 metric 200"], "{during}");
    assert!(
        dhcp_address(&after, "eth1").is_none(),
        "ifdown left the lease:\n{after}"
    );
}

#[test]
fn dhcp_with_default_route_gets_it_with_the_metric() {
    if !require_root("dhcp_with_default_route_gets_it_with_the_metric") {
        return;
    }
    let mut config = load_config(&common::fixture("eni/aliyun-secondary-dhcp.yaml"));
    config.interfaces[0].default_route = true;
    // Option 3 alone: see the test below for option 121.
    let (during, after) = apply_dhcp_with(&config, false);
    assert!(
        dhcp_address(&during, "eth1").is_some(),
        "no DHCP address:\n{during}"
    );
    assert_eq!(
        main_defaults(&during),
        ["default via 10.0.2.1 dev eth1 metric 200"],
        "{during}"
    );
    assert!(
        dhcp_address(&after, "eth1").is_none(),
        "ifdown left the lease:\n{after}"
    );
}

/// With classless static routes (option 121), Debian's `rfc3442-classless-routes` exit hook
/// installs them without any metric; enicfg's hooks take them away from it and install them with
/// the interface's metric (the default route dnsmasq sends in option 121 and 192.168.0.0/16).
#[test]
fn dhcp_with_default_route_puts_the_metric_on_classless_routes() {
    if !require_root("dhcp_with_default_route_puts_the_metric_on_classless_routes") {
        return;
    }
    let mut config = load_config(&common::fixture("eni/aliyun-secondary-dhcp.yaml"));
    config.interfaces[0].default_route = true;
    let (during, after) = apply_dhcp(&config);
    let routes = sections(&during)
        .into_iter()
        .find(|(t, _)| t == "route (all tables)")
        .map(|(_, l)| l)
        .unwrap_or_default();
    assert_eq!(
        routes,
        [
            "10.0.2.0/24 dev eth1 metric 200",
            "192.168.0.0/16 via 10.0.2.1 dev eth1 metric 200",
            "default via 10.0.2.1 dev eth1 metric 200",
        ],
        "{during}"
    );
    assert!(
        dhcp_address(&after, "eth1").is_none(),
        "ifdown left the lease:\n{after}"
    );
}

/// The contents of the rendered file at `path`, if any.
fn file_at<'a>(rendered: &'a Rendered, path: &str) -> Option<&'a str> {
    rendered
        .files
        .iter()
        .find(|f| f.path == path)
        .map(|f| f.contents.as_str())
}

/// Runs a DHCPv4 event the way dhclient-script does, in `shell`: the lease's variables set, the
/// enter hook sourced, what dhclient-script would then see printed, the exit hook sourced; `ip`
/// is a function that prints its arguments. Returns what was printed, the exit hook's stderr and
/// its failure included.
fn dhclient_event(shell: &str, hooks: (&str, &str), vars: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let (enter, exit) = (dir.path().join("enter"), dir.path().join("exit"));
    fs::write(&enter, hooks.0).unwrap();
    fs::write(&exit, hooks.1).unwrap();
    let out = run_ok(Command::new(shell).arg("-c").arg(format!(
        "ip() {{ echo \"ip $*\"; }}; \
         reason=BOUND interface=eth2 new_ip_address=10.0.2.105 new_subnet_mask=255.255.255.0 \
         new_broadcast_address=10.0.2.255 new_dhcp_lease_time=3600; {vars}; \
         . '{}'; \
         echo \"script: routers=<$new_routers> classless=<$new_rfc3442_classless_static_routes> \
         broadcast=<$new_broadcast_address>\"; \
         . '{}' 2>&1 || echo \"exit hook failed ($?)\"",
        enter.display(),
        exit.display()
    )));
    out.trim_end().to_owned()
}

#[test]
fn dhcp_hooks_take_the_routes_from_dhclient_script_and_add_the_metric() {
    let mut config = load_config(&common::fixture("eni/dhcp-both-families.yaml"));
    // Without the metric, which IPv6 router advertisements cannot carry on ifupdown.
    config.interfaces[0].metric = None;
    let rendered = render_with(&config, Some(DEBIAN_CLOUD_MAIN)).unwrap();
    let enter_path = "/etc/dhcp/dhclient-enter-hooks.d/enicfg-eth2";
    let exit_path = "/etc/dhcp/dhclient-exit-hooks.d/enicfg-eth2";
    let enter = file_at(&rendered, enter_path).expect("enter hook");
    assert!(
        file_at(&rendered, exit_path).is_none(),
        "exit hook without a metric"
    );
    assert!(
        rendered
            .files
            .iter()
            .filter(|f| f.path.starts_with("/etc/dhcp/"))
            .all(|f| f.mode == 0o644)
    );
    let stanza = file_at(&rendered, "/etc/network/interfaces.d/eth2").unwrap();
    assert!(
        stanza.contains("pre-up sysctl -q -w net.ipv6.conf.eth2.accept_ra_defrtr=0"),
        "{stanza}"
    );
    let lease = "new_routers=10.0.2.1; new_rfc3442_classless_static_routes='0 10 0 2 1'";
    for shell in ["sh", "bash"] {
        // A secondary NIC: no route from DHCP reaches dhclient-script, nothing else changes;
        // another interface's event is left alone.
        assert_eq!(
            dhclient_event(shell, (enter, ""), lease),
            "script: routers=<> classless=<> broadcast=<10.0.2.255>",
            "{shell}"
        );
        let other = format!("{lease}; interface=eth9");
        assert_eq!(
            dhclient_event(shell, (enter, ""), &other),
            "script: routers=<10.0.2.1> classless=<0 10 0 2 1> broadcast=<10.0.2.255>",
            "{shell}"
        );
    }

    // A secondary NIC with a metric: the exit hook moves the subnet route to it, on every event
    // that (re)sets the address, and on no other.
    config.interfaces[0].ipv6 = None;
    config.interfaces[0].metric = Some(300);
    let rendered = render_with(&config, Some(DEBIAN_CLOUD_MAIN)).unwrap();
    let hooks = (
        file_at(&rendered, enter_path).expect("enter hook"),
        file_at(&rendered, exit_path).expect("exit hook"),
    );
    let addr = "ip -4 addr change 10.0.2.105/255.255.255.0 dev eth2 metric 300 \
                valid_lft 3600 preferred_lft 3600";
    for shell in ["sh", "bash"] {
        for reason in ["BOUND", "RENEW", "REBIND", "REBOOT", "TIMEOUT"] {
            assert_eq!(
                dhclient_event(shell, hooks, &format!("{lease}; reason={reason}")),
                format!("script: routers=<> classless=<> broadcast=<10.0.2.255>\n{addr}"),
                "{shell} {reason}"
            );
        }
        for reason in ["PREINIT", "RELEASE", "EXPIRE", "STOP"] {
            assert_eq!(
                dhclient_event(shell, hooks, &format!("{lease}; reason={reason}")),
                "script: routers=<> classless=<> broadcast=<10.0.2.255>",
                "{shell} {reason}"
            );
        }
    }

    // A NIC that takes the default route: dhclient-script gets no route either, and the exit
    // hook installs them with the metric: option 121 when present (RFC 3442: option 3 is then
    // ignored), else every router with increasing metrics; malformed options install nothing.
    config.interfaces[0].default_route = true;
    let rendered = render_with(&config, Some(DEBIAN_CLOUD_MAIN)).unwrap();
    let hooks = (
        file_at(&rendered, enter_path).expect("enter hook"),
        file_at(&rendered, exit_path).expect("exit hook"),
    );
    let none = "script: routers=<> classless=<> broadcast=<10.0.2.255>";
    let cases: [(&str, &str); 6] = [
        (
            "new_routers=10.0.2.1; \
             new_rfc3442_classless_static_routes='16 192 168 10 0 2 1 0 10 0 2 1 32 10 0 3 4 0 0 0 0'",
            "ip -4 route replace 192.168.0.0/16 via 10.0.2.1 dev eth2 metric 300\n\
             ip -4 route replace 0.0.0.0/0 via 10.0.2.1 dev eth2 metric 300\n\
             ip -4 route replace 10.0.3.4/32 dev eth2 metric 300",
        ),
        (
            "new_routers='10.0.2.1 10.0.2.2'",
            "ip -4 route replace default via 10.0.2.1 dev eth2 metric 300\n\
             ip -4 route replace default via 10.0.2.2 dev eth2 metric 301",
        ),
        (
            "new_routers=10.0.2.1; new_subnet_mask=255.255.255.255",
            "ip -4 route replace 10.0.2.1 dev eth2 metric 300\n\
             ip -4 route replace default via 10.0.2.1 dev eth2 metric 300",
        ),
        (
            "new_rfc3442_classless_static_routes='0 10 0 2 1;reboot'",
            "enicfg exit hook for eth2: ignoring malformed classless routes '0 10 0 2 1;reboot'\n\
             exit hook failed (1)",
        ),
        (
            "new_rfc3442_classless_static_routes='08 10 10 0 2 1'",
            "enicfg exit hook for eth2: ignoring malformed classless routes '08 10 10 0 2 1'\n\
             exit hook failed (1)",
        ),
        (
            "new_routers='10.0.2.1 $(reboot)'",
            "enicfg exit hook for eth2: ignoring malformed routers '10.0.2.1 $(reboot)'\n\
             exit hook failed (1)",
        ),
    ];
    for shell in ["sh", "bash"] {
        for (vars, routes) in cases {
            let addr = if vars.contains("255.255.255.255") {
                addr.replace("255.255.255.0", "255.255.255.255")
            } else {
                addr.to_owned()
            };
            assert_eq!(
                dhclient_event(shell, hooks, vars),
                format!("{none}\n{addr}\n{routes}"),
                "{shell}: {vars}"
            );
        }
        // A truncated option 121 stops at the broken route.
        let out = dhclient_event(
            shell,
            hooks,
            "new_rfc3442_classless_static_routes='0 10 0 2 1 24 10 0'",
        );
        assert!(
            out.ends_with(
                "ip -4 route replace 0.0.0.0/0 via 10.0.2.1 dev eth2 metric 300\n\
                 enicfg exit hook for eth2: truncated classless route\n\
                 exit hook failed (1)"
            ),
            "{shell}: {out}"
        );
    }
}
