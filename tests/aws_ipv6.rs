//! AWS IPv6 on a secondary ENI, end to end on every stack that runs here (issue 14).
//!
//! An AWS metadata document with a secondary ENI carrying two IPv6 addresses
//! (`fixtures/metadata/aws-secondary-ipv6.json`) is rendered for ifupdown, netplan (applied by
//! systemd-networkd), systemd-networkd and NetworkManager keyfiles, and applied by the real
//! software in a throw-away namespace. The ENI's veth peer sits in a router namespace of its
//! own that plays the VPC router: it answers on `fe80:ec2::1` (the address AWS reserves for the
//! router in every subnet since November 2022), owns an "outside" address 2001:db8:ffff::1 on
//! its `lo`, routes the ENI's subnet back on the link, and sends router advertisements with a
//! default router, as an IPv6-enabled VPC does. Each stack must then:
//!
//! - pass `enicfg verify --netns` (addresses, table 10001, a rule per address, no main
//!   default route, nothing from the RAs);
//! - route 2001:db8:ffff::1 from each IPv6 address through table 10001 via `fe80:ec2::1 dev
//!   eth1` (`ip -6 route get … from …`), while the main table has no route to it at all;
//! - reach it with a real `ping -6 -I <address>` from each address.
//!
//! Then one rule is deleted and the ping from that address must fail: the proof depends on
//! the policy table, not on some other path.
//!
//! Everything stays inside the namespaces the test creates; no packet leaves them.

mod common;

use std::fs;
use std::process::Command;
use std::time::{Duration, Instant};

use common::dnsmasq::{RouterAdvertiser, wait_for_next_ra};
use common::stacks::{Runner, bring_up, netplan_generated};
use common::{Netns, require_root};
use enicfg::backend::render;
use enicfg::model::Config;
use enicfg::root::RootFacts;
use enicfg::source::metadata::{self, Options};

const ENICFG: &str = env!("CARGO_BIN_EXE_enicfg");
const DEADLINE: Duration = Duration::from_secs(40);
const FIXTURE: &str = "metadata/aws-secondary-ipv6.json";
const MAC: &str = "0e:1a:2b:3c:4d:02";
const NAME: &str = "eth1";
const TABLE: &str = "10001";
const ROUTER: &str = "fe80:ec2::1";
const SUBNET6: &str = "2001:db8:1200:2::/64";
const ADDRS6: [&str; 2] = ["2001:db8:1200:2::20", "2001:db8:1200:2::21"];
const OUTSIDE: &str = "2001:db8:ffff::1";

fn ifname_opt() -> String {
    format!("{MAC}={NAME}")
}

/// The fixture through the metadata pipeline (secondary NICs only, named by `--ifname`).
fn config() -> Config {
    let path = common::fixture(FIXTURE);
    let text = fs::read_to_string(&path).unwrap();
    let doc = metadata::parse_document(&text, FIXTURE).unwrap();
    let opts = Options {
        ifnames: vec![ifname_opt()],
        ..Options::default()
    };
    let empty_root = tempfile::tempdir().unwrap();
    let (_, converted) = metadata::load(&doc, None, &opts, empty_root.path()).unwrap();
    assert!(
        converted
            .notes
            .iter()
            .any(|n| n.contains("no IPv6 gateway") && n.contains(ROUTER)),
        "the note says where the IPv6 gateway came from: {:?}",
        converted.notes
    );
    Config::from_spec(&converted.spec)
        .unwrap()
        .select(false)
        .unwrap()
}

/// The model is what the issue asks for, before any stack is involved.
#[test]
fn aws_secondary_ipv6_gets_the_vpc_router_and_its_own_table() {
    let cfg = config();
    assert_eq!(cfg.interfaces.len(), 1);
    let i = &cfg.interfaces[0];
    assert_eq!(i.name.as_str(), NAME);
    assert_eq!(
        i.gateway(enicfg::model::Family::Ipv6)
            .map(|g| g.to_string()),
        Some(ROUTER.to_owned())
    );
    assert!(
        !i.default_route,
        "a secondary ENI gets no main default route"
    );
    let routes: Vec<String> = i
        .routes()
        .iter()
        .map(|r| format!("{} via {:?} table {:?}", r.to, r.via, r.table))
        .collect();
    assert!(
        routes.contains(&format!("::/0 via Some({ROUTER}) table Some({TABLE})")),
        "{routes:?}"
    );
    let rules: Vec<String> = i.rules().iter().map(|r| r.from.to_string()).collect();
    for a in ADDRS6 {
        assert!(rules.contains(&a.to_owned()), "a rule from {a}: {rules:?}");
    }
}

/// The peer namespace as the VPC router: `fe80:ec2::1` on its end of the link, the outside
/// address on its `lo`, the ENI's subnet on-link for the replies, and IPv4's base+1 router.
fn vpc_router(router: &Netns) {
    let peer = common::peer_name(NAME);
    router.ip(&[
        "-6",
        "addr",
        "add",
        &format!("{ROUTER}/64"),
        "dev",
        &peer,
        "nodad",
    ]);
    router.ip(&["addr", "add", "10.0.2.1/24", "dev", &peer]);
    router.ip(&[
        "-6",
        "addr",
        "add",
        &format!("{OUTSIDE}/128"),
        "dev",
        "lo",
        "nodad",
    ]);
    router.ip(&["-6", "route", "add", SUBNET6, "dev", &peer]);
}

/// `enicfg verify` on the same document inside the namespace, retried until it passes or the
/// deadline (a stack reports "connected" a moment before its last route lands).
fn verify(ns: &Netns, input: &[String], what: &str) {
    let empty_root = tempfile::tempdir().unwrap();
    let start = Instant::now();
    loop {
        let out = Command::new(ENICFG)
            .arg("verify")
            .args(input)
            .args(["--netns", &ns.name, "--root"])
            .arg(empty_root.path())
            .output()
            .unwrap();
        if out.status.success() {
            return;
        }
        assert!(
            start.elapsed() < DEADLINE,
            "{what}: enicfg verify found mismatches:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// A real ICMPv6 echo from `src` to the outside address, inside `ns`.
fn ping_from(ns: &Netns, src: &str) -> std::process::Output {
    common::run(
        ns.exec("ping")
            .args(["-6", "-n", "-c", "1", "-W", "2", "-I", src, OUTSIDE]),
    )
}

/// The proofs that IPv6 from each address leaves through its own table and reaches the
/// outside, and that it depends on that table.
fn prove_reachability(ns: &Netns, default_route: bool, what: &str) {
    let main_default = ns.ip(&["-6", "route", "show", "table", "main", "default"]);
    if default_route {
        // The main default route is the model's, through the known router; none from an RA.
        let lines: Vec<&str> = main_default.lines().collect();
        assert!(
            lines.len() == 1
                && lines[0].starts_with(&format!("default via {ROUTER} dev {NAME}"))
                && !lines[0].contains("proto ra"),
            "{what}: the main IPv6 default route must be exactly `default via {ROUTER} dev \
             {NAME}`: {main_default}"
        );
        let unsourced = ns.ip(&["-6", "route", "get", OUTSIDE]);
        assert!(
            unsourced.contains(&format!("via {ROUTER} dev {NAME}")),
            "{what}: main does not route {OUTSIDE} via {ROUTER}: {unsourced}"
        );
    } else {
        assert!(
            main_default.trim().is_empty(),
            "{what}: an IPv6 default route in main (router advertisements must stay off on a \
             secondary ENI, and it has no default_route): {main_default}"
        );
        // Without a source address the main table decides, and it has no way out.
        let unsourced = ns.ip_raw(&["-6", "route", "get", OUTSIDE]);
        assert!(
            !unsourced.status.success(),
            "{what}: main routes {OUTSIDE}: {}",
            String::from_utf8_lossy(&unsourced.stdout)
        );
    }
    for src in ADDRS6 {
        let got = ns.ip(&["-6", "route", "get", OUTSIDE, "from", src]);
        assert!(
            got.contains(&format!("via {ROUTER} dev {NAME}"))
                && got.contains(&format!("table {TABLE}")),
            "{what}: {OUTSIDE} from {src} does not go through table {TABLE} via {ROUTER}: {got}"
        );
        let out = ping_from(ns, src);
        assert!(
            out.status.success(),
            "{what}: ping -6 -I {src} {OUTSIDE} failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    if default_route {
        // With a main default route the rule is not what makes the ping work.
        return;
    }
    // The proof can fail: without its rule the second address has no way out.
    ns.ip(&[
        "-6", "rule", "del", "from", ADDRS6[1], "lookup", TABLE, "priority", TABLE,
    ]);
    let out = ping_from(ns, ADDRS6[1]);
    assert!(
        !out.status.success(),
        "{what}: ping from {} still works without its rule: the test proves nothing",
        ADDRS6[1]
    );
}

/// What a run applies: the model, and the `--input …` arguments `enicfg verify` reads it from.
struct Case {
    name: &'static str,
    cfg: Config,
    input: Vec<String>,
    default_route: bool,
    _dir: Option<tempfile::TempDir>,
}

/// The AWS document, as `enicfg write --imds aws` would see it.
fn aws_case() -> Case {
    Case {
        name: FIXTURE,
        cfg: config(),
        input: vec![
            "--input".to_owned(),
            common::fixture(FIXTURE).display().to_string(),
            "--ifname".to_owned(),
            ifname_opt(),
        ],
        default_route: false,
        _dir: None,
    }
}

/// The same NIC described by hand with `default_route: true`: the link-local router becomes
/// the main default route too, and still nothing comes from router advertisements.
fn default_route_case() -> Case {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("eni.yaml");
    fs::write(
        &path,
        format!(
            "interfaces:\n  - name: {NAME}\n    mac: '{MAC}'\n    ipv6:\n      addresses: ['{}/64', '{}/64']\n      gateway: '{ROUTER}'\n    default_route: true\n    policy_routing: {{ table: {TABLE} }}\n",
            ADDRS6[0], ADDRS6[1]
        ),
    )
    .unwrap();
    Case {
        name: "default_route: true with gateway fe80:ec2::1",
        cfg: common::load_config(&path),
        input: vec!["--input".to_owned(), path.display().to_string()],
        default_route: true,
        _dir: Some(dir),
    }
}

/// Renders, applies with the real stack, verifies and proves reachability while it runs.
fn run_stack(runner: Runner, case: Case) {
    let what = format!("{} with {runner:?}", case.name);
    if !require_root(&what) {
        return;
    }
    let cfg = &case.cfg;
    let facts = RootFacts {
        interfaces_main: Some(common::ifupdown::DEBIAN_CLOUD_MAIN.to_owned()),
        ..RootFacts::default()
    };
    let rendered = render(cfg, runner.stack(), &facts)
        .unwrap_or_else(|e| panic!("{what}: cannot render: {e:#}"));
    if runner == Runner::Netplan {
        for (name, text) in netplan_generated(&rendered) {
            assert!(
                text.contains(&format!("Gateway={ROUTER}")),
                "{what}: netplan dropped the link-local gateway in {name}:\n{text}"
            );
        }
    }
    let ns = Netns::new();
    ns.add_veth(NAME, Some(MAC));
    let ra = RouterAdvertiser::start(&ns, &[NAME]);
    vpc_router(&ra.router);
    let up = bring_up(runner, &ns, &rendered, &[NAME], false, DEADLINE, &what);
    if let Some(nm) = up.nm() {
        let shown = nm.show(&format!("enicfg-{NAME}"));
        assert!(
            shown.contains(ROUTER),
            "{what}: NetworkManager's profile lost the gateway:\n{shown}"
        );
    }
    wait_for_next_ra(&ns, &[NAME]);
    verify(&ns, &case.input, &what);
    prove_reachability(&ns, case.default_route, &what);
}

#[test]
fn ifupdown_routes_each_ipv6_address_through_fe80_ec2_1() {
    run_stack(Runner::Ifupdown, aws_case());
}

#[test]
fn ifupdown_main_default_route_via_fe80_ec2_1() {
    run_stack(Runner::Ifupdown, default_route_case());
}

#[test]
fn netplan_routes_each_ipv6_address_through_fe80_ec2_1() {
    run_stack(Runner::Netplan, aws_case());
}

#[test]
fn netplan_main_default_route_via_fe80_ec2_1() {
    run_stack(Runner::Netplan, default_route_case());
}

#[test]
fn networkd_routes_each_ipv6_address_through_fe80_ec2_1() {
    run_stack(Runner::Networkd, aws_case());
}

#[test]
fn networkd_main_default_route_via_fe80_ec2_1() {
    run_stack(Runner::Networkd, default_route_case());
}

#[test]
fn networkmanager_routes_each_ipv6_address_through_fe80_ec2_1() {
    run_stack(Runner::NetworkManager, aws_case());
}

#[test]
fn networkmanager_main_default_route_via_fe80_ec2_1() {
    run_stack(Runner::NetworkManager, default_route_case());
}
