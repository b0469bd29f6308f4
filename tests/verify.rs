//! `enicfg verify` against a real kernel state, built by hand in a throw-away network
//! namespace: it passes when the state is what the description means, and names every
//! deviation (with expected and actual) when it is not.

mod common;

use std::process::{Command, Output};

use common::{Netns, fixture, require_root};

const ENICFG: &str = env!("CARGO_BIN_EXE_enicfg");

fn verify(ns: &Netns, input: &str, extra: &[&str]) -> Output {
    Command::new(ENICFG)
        .args([
            "verify",
            "--input",
            &fixture(input).display().to_string(),
            "--netns",
            &ns.name,
        ])
        .args(extra)
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// `ip -n NS ARGS` with the arguments as one string.
fn ip(ns: &Netns, args: &str) {
    ns.ip(&args.split_whitespace().collect::<Vec<_>>());
}

/// The state `full-secondary.yaml` describes, configured with plain `ip` commands.
fn full_secondary(ns: &Netns) {
    ns.add_veth("eth1", Some("00:16:3e:12:34:56"));
    ip(ns, "link set eth1 mtu 1500 up");
    for a in ["10.0.2.5/24", "10.0.2.6/24", "10.0.2.7/24"] {
        ns.ip(&["addr", "add", a, "dev", "eth1"]);
    }
    ip(ns, "-6 addr add 2001:db8::10/64 dev eth1 nodad");
    ip(
        ns,
        "route add 192.168.0.0/16 via 10.0.2.253 dev eth1 metric 200",
    );
    ip(ns, "route add 10.0.2.0/24 dev eth1 table 1001");
    ip(ns, "route add default via 10.0.2.253 dev eth1 table 1001");
    ip(ns, "-6 route add 2001:db8::/64 dev eth1 table 1001");
    ip(
        ns,
        "-6 route add default via 2001:db8::1 dev eth1 table 1001",
    );
    for a in ["10.0.2.5", "10.0.2.6", "10.0.2.7"] {
        ns.ip(&[
            "rule", "add", "from", a, "lookup", "1001", "priority", "1001",
        ]);
    }
    ip(
        ns,
        "-6 rule add from 2001:db8::10 lookup 1001 priority 1001",
    );
}

#[test]
fn matching_state_passes() {
    if !require_root("matching_state_passes") {
        return;
    }
    let ns = Netns::new();
    full_secondary(&ns);
    // Foreign state is ignored: another interface, another table, another rule.
    ns.add_veth("eth9", None);
    ip(&ns, "link set eth9 up");
    ip(&ns, "addr add 10.9.0.5/24 dev eth9");
    ip(&ns, "route add default via 10.9.0.1 dev eth9");
    ip(&ns, "route add default via 10.9.0.1 dev eth9 table 77");
    ip(&ns, "rule add fwmark 7 lookup 77 priority 500");
    let out = verify(&ns, "eni/full-secondary.yaml", &[]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("ok: the kernel state matches"),
        "{}",
        text(&out)
    );
}

#[test]
fn every_deviation_is_a_finding_with_expected_and_actual() {
    if !require_root("every_deviation_is_a_finding_with_expected_and_actual") {
        return;
    }
    let ns = Netns::new();
    full_secondary(&ns);
    ip(&ns, "addr del 10.0.2.6/24 dev eth1");
    ip(&ns, "addr add 10.0.2.99/24 dev eth1");
    ip(&ns, "route add default via 10.0.2.253 dev eth1");
    ip(&ns, "rule del from 10.0.2.7 lookup 1001 priority 1001");
    ip(&ns, "rule add from 10.0.2.200 lookup 1001 priority 1001");
    ip(&ns, "route add 172.16.0.0/12 dev eth1 table 1001");
    ip(&ns, "link set eth1 mtu 9000");
    let out = verify(&ns, "eni/full-secondary.yaml", &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let t = text(&out);
    for line in [
        "eth1: address: expected 10.0.2.6/24, actual missing",
        "eth1: address: expected no other addresses, actual extra address 10.0.2.99/24",
        "eth1: default-route: expected no default route in the main table (default_route: false), actual default via 10.0.2.253 table main dev eth1",
        "eth1: rule: expected from 10.0.2.7 lookup 1001 priority 1001, actual missing",
        "eth1: rule: expected only enicfg's rules for table 1001, actual extra rule from 10.0.2.200/32 lookup 1001 priority 1001",
        "eth1: route: expected only enicfg's routes in table 1001, actual extra 172.16.0.0/12 table 1001 dev eth1",
        "eth1: mtu: expected 1500, actual 9000",
    ] {
        assert!(t.contains(line), "missing {line:?} in:\n{t}");
    }
    // JSON for scripts
    let out = verify(&ns, "eni/full-secondary.yaml", &["--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ok"], false);
    assert!(v["findings"].as_array().unwrap().len() >= 7, "{v}");
}

#[test]
fn down_links_missing_routes_and_wrong_primary() {
    if !require_root("down_links_missing_routes_and_wrong_primary") {
        return;
    }
    let ns = Netns::new();
    full_secondary(&ns);
    ip(&ns, "route del default via 10.0.2.253 dev eth1 table 1001");
    let out = verify(&ns, "eni/full-secondary.yaml", &[]);
    let t = text(&out);
    assert!(t.contains("eth1: route: expected default via 10.0.2.253 table 1001 dev eth1, actual missing (has none)"), "{t}");
    ip(&ns, "link set eth1 down");
    let t = text(&verify(&ns, "eni/full-secondary.yaml", &[]));
    assert!(t.contains("eth1: link: expected up"), "{t}");

    // The primary address must stay primary: add .6 first, then .5.
    let ns = Netns::new();
    ns.add_veth("eth1", Some("52:54:00:8a:3c:12"));
    ip(&ns, "link set eth1 up");
    ip(&ns, "addr add 10.0.1.11/24 dev eth1");
    ip(&ns, "addr add 10.0.1.10/24 dev eth1");
    let t = text(&verify(&ns, "eni/tencent-symmetric-routing.yaml", &[]));
    assert!(
        t.contains("eth1: primary-address: expected 10.0.1.10/24 as the primary address"),
        "{t}"
    );
    // and no interface at all
    let t = text(&verify(&ns, "eni/jumbo-mtu-onlink-route.yaml", &[]));
    assert!(
        t.contains("ens6: link: expected interface present, actual no such interface"),
        "{t}"
    );
}

#[test]
fn traps_are_warned_about() {
    if !require_root("traps_are_warned_about") {
        return;
    }
    let ns = Netns::new();
    full_secondary(&ns);
    let set = |k: &str, v: &str| {
        common::run_ok(ns.exec("sysctl").args(["-q", "-w", &format!("{k}={v}")]));
    };
    set("net.ipv4.conf.all.rp_filter", "0");
    set("net.ipv4.conf.eth1.rp_filter", "1");
    let out = verify(&ns, "eni/full-secondary.yaml", &[]);
    let t = text(&out);
    assert!(out.status.success(), "warnings do not fail verify: {t}");
    assert!(t.contains("warning: eth1: rp_filter is strict (1)"), "{t}");
    set("net.ipv4.conf.eth1.rp_filter", "2");
    assert!(!text(&verify(&ns, "eni/full-secondary.yaml", &[])).contains("rp_filter"));

    // Two NICs in one subnet, one without policy routing.
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("two.yaml");
    std::fs::write(
        &input,
        "interfaces:\n- name: eth1\n  ipv4: {addresses: [10.0.2.21/24]}\n- name: eth2\n  ipv4: {addresses: [10.0.2.22/24], gateway: 10.0.2.253}\n  policy_routing: {table: 1002}\n",
    )
    .unwrap();
    let out = Command::new(ENICFG)
        .args([
            "verify",
            "--input",
            input.to_str().unwrap(),
            "--netns",
            &ns.name,
        ])
        .output()
        .unwrap();
    assert!(
        text(&out)
            .contains("warning: eth1 and eth2 share subnet 10.0.2.0/24 without policy routing"),
        "{}",
        text(&out)
    );
}

fn put(root: &std::path::Path, path: &str, text: &str) {
    let p = root.join(path.trim_start_matches('/'));
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

#[test]
fn shadowing_files_are_found() {
    let config = common::load_config(&fixture("eni/full-secondary.yaml"));
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    let ours = "# Generated by enicfg (backend networkd). Do not edit.\n[Match]\nMACAddress=00:16:3e:12:34:56\n";
    put(r, "/etc/systemd/network/50-enicfg-eth1.network", ours);
    assert!(enicfg::verify::shadowing(r, &config).is_empty());
    // netplan's catch-all (Debian 12) sorts first and matches eth* by name.
    put(
        r,
        "/run/systemd/network/10-netplan-all-eth.network",
        "[Match]\nName=eth*\n\n[Network]\nDHCP=ipv4\n",
    );
    let w = enicfg::verify::shadowing(r, &config);
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(w[0].contains("/run/systemd/network/10-netplan-all-eth.network sorts before enicfg's /etc/systemd/network/50-enicfg-eth1.network"), "{w:?}");
    // A file for another MAC does not shadow; the same name in /etc replaces the /run one.
    put(
        r,
        "/etc/systemd/network/10-netplan-all-eth.network",
        "[Match]\nMACAddress=00:16:3e:99:99:99\n",
    );
    assert!(enicfg::verify::shadowing(r, &config).is_empty());

    // NetworkManager: a stale profile for eth1 with a higher autoconnect-priority wins.
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    put(
        r,
        "/etc/NetworkManager/system-connections/enicfg-eth1.nmconnection",
        "# Generated by enicfg (backend nm-keyfile).\n[connection]\nid=enicfg eth1\ninterface-name=eth1\nautoconnect-priority=50\n",
    );
    put(
        r,
        "/etc/NetworkManager/system-connections/ens3.nmconnection",
        "[connection]\nid=ens3\ninterface-name=ens3\nautoconnect-priority=999\n",
    );
    assert!(enicfg::verify::shadowing(r, &config).is_empty());
    put(
        r,
        "/etc/NetworkManager/system-connections/old.nmconnection",
        "[connection]\nid=old\nautoconnect-priority=100\n[ethernet]\nmac-address=00:16:3E:12:34:56\n",
    );
    let w = enicfg::verify::shadowing(r, &config);
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].contains(
            "old.nmconnection also matches eth1 with autoconnect-priority 100 (enicfg's: 50)"
        ),
        "{w:?}"
    );
}

#[test]
fn the_first_ipv6_address_must_be_the_preferred_one() {
    if !require_root("the_first_ipv6_address_must_be_the_preferred_one") {
        return;
    }
    // ipv6-only.yaml: ::10 first, then ::11. The kernel prefers (and lists first) the newest.
    let setup = |order: [&str; 2]| {
        let ns = Netns::new();
        ns.add_veth("eth1", Some("00:16:3e:0a:7b:24"));
        ip(&ns, "link set eth1 up");
        for a in order {
            ip(&ns, &format!("-6 addr add {a}/64 dev eth1 nodad"));
        }
        ip(&ns, "-6 route add 2001:db8:0:5::/64 dev eth1 table 1005");
        ip(
            &ns,
            "-6 route add default via 2001:db8:0:5::1 dev eth1 table 1005",
        );
        for a in order {
            ip(
                &ns,
                &format!("-6 rule add from {a} lookup 1005 priority 1005"),
            );
        }
        ns
    };
    let good = setup(["2001:db8:0:5::11", "2001:db8:0:5::10"]);
    let out = verify(&good, "eni/ipv6-only.yaml", &[]);
    assert!(out.status.success(), "{}", text(&out));
    let bad = setup(["2001:db8:0:5::10", "2001:db8:0:5::11"]);
    let t = text(&verify(&bad, "eni/ipv6-only.yaml", &[]));
    assert!(
        t.contains("eth1: primary-address: expected 2001:db8:0:5::10/64 as the preferred (first-listed) IPv6 address, actual 2001:db8:0:5::11/64 is listed first"),
        "{t}"
    );
}

#[test]
fn shadowing_files_behind_links_are_read_inside_the_root() {
    use std::os::unix::fs::symlink;
    let config = common::load_config(&fixture("eni/full-secondary.yaml"));
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    let ours = "# Generated by enicfg (backend networkd). Do not edit.\n[Match]\nMACAddress=00:16:3e:12:34:56\n";
    put(r, "/etc/systemd/network/50-enicfg-eth1.network", ours);
    // ec2-net-utils style: a /run file linked (absolutely) to one under /usr/lib, reached
    // through a merged-/usr `lib` link.
    put(
        r,
        "/usr/lib/systemd/network/07-eth1.network",
        "[Match]\nName=eth1\n",
    );
    std::fs::create_dir_all(r.join("run/systemd/network")).unwrap();
    symlink(
        "/lib/systemd/network/07-eth1.network",
        r.join("run/systemd/network/07-eth1.network"),
    )
    .unwrap();
    symlink("usr/lib", r.join("lib")).unwrap();
    let w = enicfg::verify::shadowing(r, &config);
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(w[0].contains("07-eth1.network sorts before"), "{w:?}");
    // The same name in /etc masked with /dev/null hides it.
    std::fs::create_dir_all(r.join("etc/systemd/network")).unwrap();
    symlink("/dev/null", r.join("etc/systemd/network/07-eth1.network")).unwrap();
    assert!(enicfg::verify::shadowing(r, &config).is_empty());
    // A loop is one warning naming it, not a failure.
    symlink("loop.network", r.join("etc/systemd/network/loop.network")).unwrap();
    let w = enicfg::verify::shadowing(r, &config);
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].contains("cannot resolve /etc/systemd/network/loop.network"),
        "{w:?}"
    );
}

/// A rule enicfg applied for an interface that is no longer described (recorded in
/// ROOT/var/lib/enicfg/applied.json) and still in the kernel is a finding: the stale rule a
/// detached ENI leaves. Gone from the kernel, verify passes; an excluded interface is ignored.
#[test]
fn rules_of_interfaces_no_longer_described_are_findings() {
    if !require_root("rules_of_interfaces_no_longer_described_are_findings") {
        return;
    }
    let ns = Netns::new();
    full_secondary(&ns);
    let root = tempfile::tempdir().unwrap();
    let state = root.path().join("var/lib/enicfg");
    std::fs::create_dir_all(&state).unwrap();
    std::fs::write(
        state.join("applied.json"),
        r#"{"interfaces":[{"name":"eth7","mac":"02:00:00:00:00:07","addresses":["10.9.0.5/24"],
            "rules":[{"from":"10.9.0.5","table":1007,"priority":1007}],"tables":[1007]}]}"#,
    )
    .unwrap();
    let r = root.path().display().to_string();
    let out = verify(&ns, "eni/full-secondary.yaml", &["--root", &r]);
    assert!(out.status.success(), "{}", text(&out));
    ip(&ns, "rule add from 10.9.0.5 table 1007 priority 1007");
    let out = verify(&ns, "eni/full-secondary.yaml", &["--root", &r]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains(
            "eth7: stale-rule: expected no rule: the interface is no longer described, actual from 10.9.0.5 lookup 1007 priority 1007"
        ),
        "{}",
        text(&out)
    );
    let out = verify(
        &ns,
        "eni/full-secondary.yaml",
        &["--root", &r, "--exclude", "02:00:00:00:00:07"],
    );
    assert!(out.status.success(), "{}", text(&out));
}

#[test]
fn router_advertisements_on_a_nic_without_ipv6_are_findings() {
    if !require_root("router_advertisements_on_a_nic_without_ipv6_are_findings") {
        return;
    }
    // The state tencent-secondary-eni-route.yaml describes (IPv4 only), on a link that keeps
    // the kernel's accept_ra=1, with the conformance suite's router on it: the RA sender really
    // advertises, and verify names what the RA added.
    let ns = Netns::new();
    ns.add_veth("eth1", Some("52:54:00:8a:3c:11"));
    let _ra = common::dnsmasq::RouterAdvertiser::start(&ns, &["eth1"]);
    ip(&ns, "link set eth1 up");
    ip(&ns, "addr add 10.0.3.133/24 dev eth1");
    ip(&ns, "route add 192.168.0.0/16 via 10.0.3.1 dev eth1");
    let start = std::time::Instant::now();
    let slaac = || {
        ns.ip(&["-6", "addr", "show", "dev", "eth1", "scope", "global"])
            .contains("2001:db8:ff00:")
            && ns
                .ip(&["-6", "route", "show", "default"])
                .contains("proto ra")
    };
    while !slaac() && start.elapsed() < std::time::Duration::from_secs(20) {
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert!(slaac(), "no RA reached eth1:\n{}", ns.state(&["eth1"]));
    let out = verify(&ns, "eni/tencent-secondary-eni-route.yaml", &[]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    for want in [
        "eth1: unrequested-ipv6: expected no global IPv6 address or route (ipv6 is not configured), actual address 2001:db8:ff00:",
        "(dynamic: SLAAC from a router advertisement)",
        "actual route default via fe80::",
        "table main dev eth1 proto ra (from a router advertisement)",
        "actual route 2001:db8:ff00::/64 metric 256 table main dev eth1 proto kernel",
    ] {
        assert!(t.contains(want), "missing {want:?} in:\n{t}");
    }
    // With router advertisements off (what every backend writes), nothing is left to report.
    common::run_ok(
        ns.exec("sysctl")
            .args(["-q", "-w", "net.ipv6.conf.eth1.accept_ra=0"]),
    );
    ip(&ns, "-6 addr flush dev eth1 scope global");
    ip(&ns, "-6 route flush dev eth1 proto ra");
    ip(&ns, "-6 route del 2001:db8:ff00::/64 dev eth1");
    let out = verify(&ns, "eni/tencent-secondary-eni-route.yaml", &[]);
    assert!(out.status.success(), "{}", text(&out));
}

#[test]
fn shadowing_reads_ifcfg_profiles_and_foreign_rule_files() {
    let config = common::load_config(&fixture("eni/full-secondary.yaml"));
    let dir = "/etc/sysconfig/network-scripts";
    let marker = enicfg::backend::GENERATED_MARKER;
    let ours_old = format!(
        "{marker} (backend ifcfg-rh).\nDEVICE=eth1\nHWADDR=00:16:3e:12:34:56\nONBOOT=yes\n"
    );
    let ours_new = format!("{ours_old}AUTOCONNECT_PRIORITY=150\n");
    let wired = "HWADDR=00:16:3E:12:34:56\nNAME=\"Wired connection 1\"\nONBOOT=yes\n";

    // What NetworkManager persists on RHEL 8 beats an ifcfg profile without a priority...
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    put(r, &format!("{dir}/ifcfg-eth1"), &ours_old);
    put(r, &format!("{dir}/ifcfg-Wired_connection_1"), wired);
    let w = enicfg::verify::shadowing(r, &config);
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].contains(
            "ifcfg-Wired_connection_1 also matches eth1 with autoconnect-priority 0 (enicfg's: 0)"
        ),
        "{w:?}"
    );
    // ...and loses to enicfg's AUTOCONNECT_PRIORITY=150.
    put(r, &format!("{dir}/ifcfg-eth1"), &ours_new);
    assert!(enicfg::verify::shadowing(r, &config).is_empty());
    // A keyfile at a higher priority wins over our ifcfg profile; unmanaged, not autoconnecting
    // or backup ifcfg files do not count.
    put(
        r,
        &format!("{dir}/ifcfg-old"),
        "DEVICE=eth1\nAUTOCONNECT_PRIORITY=999\nNM_CONTROLLED=no\n",
    );
    put(
        r,
        &format!("{dir}/ifcfg-off"),
        "DEVICE=eth1\nAUTOCONNECT_PRIORITY=999\nONBOOT=no\n",
    );
    put(
        r,
        &format!("{dir}/ifcfg-eth1.bak"),
        "DEVICE=eth1\nAUTOCONNECT_PRIORITY=999\n",
    );
    assert!(enicfg::verify::shadowing(r, &config).is_empty());
    put(
        r,
        "/etc/NetworkManager/system-connections/eth1.nmconnection",
        "[connection]\nid=eth1\nautoconnect-priority=200\n[ethernet]\nmac-address=00:16:3e:12:34:56\n",
    );
    let w = enicfg::verify::shadowing(r, &config);
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].contains(
            "eth1.nmconnection also matches eth1 with autoconnect-priority 200 (enicfg's: 150)"
        ),
        "{w:?}"
    );

    // Our profile as a keyfile, a competing ifcfg profile by name at the same priority.
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    put(
        r,
        "/etc/NetworkManager/system-connections/enicfg-eth1.nmconnection",
        &format!(
            "{marker} (backend nm-keyfile).\n[connection]\ninterface-name=eth1\nautoconnect-priority=150\n"
        ),
    );
    put(
        r,
        &format!("{dir}/ifcfg-eth1"),
        "DEVICE=eth1\nAUTOCONNECT_PRIORITY=150\n",
    );
    let w = enicfg::verify::shadowing(r, &config);
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].contains(&format!("{dir}/ifcfg-eth1 also matches eth1")),
        "{w:?}"
    );

    // A user's rule file next to enicfg's ifcfg: NetworkManager would drop every rule and route.
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    put(r, &format!("{dir}/ifcfg-eth1"), &ours_new);
    put(
        r,
        &format!("{dir}/rule6-eth1"),
        &format!("{marker} (backend ifcfg-rh).\nfrom 2001:db8::10 table 1001 priority 1001\n"),
    );
    assert!(
        enicfg::verify::shadowing(r, &config).is_empty(),
        "enicfg's own rule file is not reported"
    );
    put(
        r,
        &format!("{dir}/rule-eth1"),
        "from 10.0.2.0/24 table 7 priority 100\n",
    );
    let w = enicfg::verify::shadowing(r, &config);
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].contains(&format!(
            "eth1: {dir}/rule-eth1 was not generated by enicfg"
        )) && w[0].contains("ignores every ROUTING_RULE and every route of the profile"),
        "{w:?}"
    );
    // Where ROOT shows the legacy network service and no NetworkManager, the service reads rule
    // files itself: nothing to report.
    put(r, &format!("{dir}/network-functions"), "# initscripts\n");
    let wants = r.join("etc/systemd/system/multi-user.target.wants");
    std::fs::create_dir_all(&wants).unwrap();
    std::os::unix::fs::symlink(
        "/usr/lib/systemd/system/network.service",
        wants.join("network.service"),
    )
    .unwrap();
    assert!(enicfg::verify::shadowing(r, &config).is_empty());
}
