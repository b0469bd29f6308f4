//! Cross-stack conformance: every backend whose network stack runs here, applied by the real
//! software in a throw-away network namespace, must reach the state the description means —
//! judged by `enicfg verify` inside the namespace — and every stack must reach the kernel
//! state written by hand for the fixture (`tests/fixtures/expected/`: every scenario fixture has
//! one), the model's (static fixtures) and the *same* state as every other stack (DHCP leases
//! masked).
//!
//! The cases are every scenario fixture (`tests/fixtures/eni/`) and every cloud metadata
//! document (`tests/fixtures/metadata/`) converted as `enicfg render --input DOCUMENT` converts
//! it (secondary NICs only, named by a fake sysfs), except the documents in
//! [`METADATA_EXCLUDED`], each with its reason; `aws.json` and `tencent.json` have hand-written
//! states too (`tests/fixtures/expected/metadata/`).
//!
//! Every link of every case carries router advertisements with a SLAAC prefix and a default
//! router (dnsmasq `--enable-ra`, see `tests/common/dnsmasq.rs`), as an IPv6-enabled cloud VPC
//! sends them: a NIC whose IPv6 is not DHCP must come out with no address and no route from
//! them (`verify` reports them as `unrequested-ipv6` or `default-route`, and the states differ).
//!
//! Stacks that run here (Debian 12): ifupdown (`ifup`), netplan (`netplan generate`, applied by
//! the real systemd-networkd), systemd-networkd files, NetworkManager keyfiles. DHCP fixtures
//! get dnsmasq in a peer namespace. What cannot run here is said per case, loudly: RHEL
//! network-scripts, NetworkManager's ifcfg-rh plugin and wicked are not packaged for Debian
//! (their formats are judged by the strict readers in `tests/ifcfg.rs`), and
//! [`unrunnable_stacks_are_really_absent`] fails the day one is installed on the test machine. A fixture a
//! format cannot express is reported with the backend's own "cannot express" error.

mod common;

use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::dnsmasq::{Dnsmasq, RouterAdvertiser, wait_for_next_ra};
use common::expected::{expected_state_all, mask_macs};
use common::stacks::{RUNNERS, Runner, bring_up};
use common::{Netns, load_config, require_root};
use enicfg::backend::{Rendered, render};
use enicfg::model::{Config, Family};
use enicfg::root::RootFacts;
use enicfg::source::metadata::Options;

const ENICFG: &str = env!("CARGO_BIN_EXE_enicfg");
const DEADLINE: Duration = Duration::from_secs(40);

fn has_dhcp(config: &Config) -> bool {
    config
        .interfaces
        .iter()
        .any(|i| i.is_dhcp(Family::Ipv4) || i.is_dhcp(Family::Ipv6))
}

fn has_dhcp6(config: &Config) -> bool {
    config.interfaces.iter().any(|i| i.is_dhcp(Family::Ipv6))
}

/// One case of the suite: a validated description, the arguments `enicfg verify` reads the
/// same description from, and the stem of its hand-written state under
/// `tests/fixtures/expected/`.
struct Case {
    /// The fixture, relative to `tests/fixtures/` (`eni/full-secondary.yaml`).
    name: String,
    config: Config,
    /// `enicfg verify` arguments before `--netns`.
    verify_args: Vec<String>,
    /// `tests/fixtures/expected/<stem>.txt`, when it exists.
    stem: String,
    /// A fake root whose sysfs names a metadata document's NICs, kept while the case runs.
    _root: Option<tempfile::TempDir>,
}

/// A scenario fixture (`tests/fixtures/eni/`), primary interfaces included.
fn eni_case(fixture_name: &str) -> Case {
    let fixture = common::fixture(&format!("eni/{fixture_name}"));
    let stem = fixture_name
        .rsplit_once('.')
        .map_or(fixture_name, |(s, _)| s);
    Case {
        name: format!("eni/{fixture_name}"),
        config: load_config(&fixture),
        verify_args: vec![
            "--include-primary".to_owned(),
            "--input".to_owned(),
            fixture.display().to_string(),
        ],
        stem: stem.to_owned(),
        _root: None,
    }
}

/// A cloud metadata document (`tests/fixtures/metadata/`) converted as `enicfg render --input
/// DOCUMENT --root ROOT` converts it: secondary NICs only, named by a fake root whose sysfs
/// lists the document's MACs as `eth0`, `eth1`, … in order of first appearance; `verify` reads
/// the same document with the same root.
fn metadata_case(file: &str) -> Case {
    let path = common::fixture(&format!("metadata/{file}"));
    let text = fs::read_to_string(&path).unwrap();
    let root = common::metadata::sysfs_root(&common::metadata::macs_in(&text));
    let (_, _, config) = common::metadata::convert_in(&path, &Options::default(), root.path())
        .unwrap_or_else(|e| panic!("metadata/{file}: {e:#}"));
    let stem = file.rsplit_once('.').map_or(file, |(s, _)| s);
    Case {
        name: format!("metadata/{file}"),
        config,
        verify_args: vec![
            "--input".to_owned(),
            path.display().to_string(),
            "--root".to_owned(),
            root.path().display().to_string(),
        ],
        stem: format!("metadata/{stem}"),
        _root: Some(root),
    }
}

/// `enicfg verify` inside the namespace; panics with its findings unless it passes within
/// [`DEADLINE`]. A stack reports "configured" before every lease has landed (networkd with
/// DHCPv6 under load), so the state is read again until it matches or time runs out.
fn verify(ns: &Netns, case: &Case, what: &str) {
    let start = std::time::Instant::now();
    let out = loop {
        let out = verify_once(ns, case);
        if out.status.success() || start.elapsed() >= DEADLINE {
            break out;
        }
        std::thread::sleep(std::time::Duration::from_millis(250));
    };
    assert!(
        out.status.success(),
        "{what}: enicfg verify found mismatches:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn verify_once(ns: &Netns, case: &Case) -> std::process::Output {
    Command::new(ENICFG)
        .arg("verify")
        .args(&case.verify_args)
        .args(["--netns", &ns.name])
        .output()
        .unwrap()
}

/// Applies one rendering with the real stack, runs `enicfg verify` while the stack is still up,
/// and returns the normalized kernel state.
fn apply(runner: Runner, case: &Case, rendered: &Rendered) -> String {
    let config = &case.config;
    let what = format!("{} with {runner:?}", case.name);
    let ns = Netns::new();
    common::networkd::add_links(&ns, config);
    let names: Vec<&str> = config.interfaces.iter().map(|i| i.name.as_str()).collect();
    // Router advertisements on every link, as in an IPv6-enabled VPC. DHCP fixtures have one
    // interface; its peer moves to dnsmasq's namespace, which also sends RAs (DHCPv6's, or a
    // SLAAC-only prefix). Every other fixture gets a router on each of its links.
    let dhcp = has_dhcp(config);
    let _dhcp = dhcp.then(|| Dnsmasq::start(&ns, names[0], has_dhcp6(config)));
    let _ra = (!dhcp).then(|| RouterAdvertiser::start(&ns, &names));
    let want = expected_state_all(&config.interfaces);
    let settled = || mask_macs(&common::nm::kernel_state(&ns, &names), &config.interfaces);
    let mut up = bring_up(runner, &ns, rendered, &names, dhcp, DEADLINE, &what);
    // A stack can say it is done before the kernel holds everything (NetworkManager adds
    // routes after "connected", networkd DHCPv6 leases land late): wait for the model's state
    // (static) or for `verify` to pass (DHCP), then judge.
    if dhcp {
        let _ = up.wait_for(DEADLINE, || verify_once(&ns, case).status.success());
    } else {
        let _ = up.wait_for(DEADLINE, || settled() == want);
    }
    wait_for_next_ra(&ns, &names);
    verify(&ns, case, &what);
    settled()
}

/// Prints a report line and appends it to `$CARGO_TARGET_TMPDIR/conformance-report.txt`, which
/// `.ci/run` prints after the tests, so every case is visible even when cargo captures output.
fn report(line: String) {
    use std::io::Write as _;
    eprintln!("{line}");
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join("conformance-report.txt");
    if let Ok(mut f) = fs::OpenOptions::new().create(true).append(true).open(path) {
        let _ = writeln!(f, "{line}");
    }
}

/// Runs one case through every stack.
fn conformance(case: &Case) {
    let name = case.name.as_str();
    if !require_root(name) {
        return;
    }
    let config = &case.config;
    let dhcp = has_dhcp(config);
    let facts = RootFacts {
        interfaces_main: Some(common::ifupdown::DEBIAN_CLOUD_MAIN.to_owned()),
        ..RootFacts::default()
    };
    let mut states: Vec<(Runner, String)> = Vec::new();
    for runner in RUNNERS {
        let rendered = match render(config, runner.stack(), &facts) {
            Ok(r) => r,
            Err(e) => {
                let msg = format!("{e:#}");
                assert!(msg.contains("cannot express"), "{name} {runner:?}: {msg}");
                report(format!(
                    "CONFORMANCE {name} {runner:?}: not expressible: {msg}"
                ));
                continue;
            }
        };
        if dhcp && runner == Runner::Ifupdown {
            let what = format!("{name} with {runner:?}");
            let (state, _after) = common::ifupdown::dhcp_apply(config, &rendered, |ns| {
                wait_for_next_ra(ns, &[config.interfaces[0].name.as_str()]);
                verify(ns, case, &what);
                common::nm::kernel_state(ns, &[config.interfaces[0].name.as_str()])
            });
            report(format!(
                "CONFORMANCE {name} {runner:?}: applied with dnsmasq, verify passed"
            ));
            states.push((runner, state));
            continue;
        }
        let state = apply(runner, case, &rendered);
        report(format!(
            "CONFORMANCE {name} {runner:?}: applied, verify passed"
        ));
        states.push((runner, state));
    }
    for stack in [
        "ifcfg-rh (network-scripts, NetworkManager ifcfg-rh plugin)",
        "ifcfg-suse (wicked)",
    ] {
        report(format!(
            "CONFORMANCE {name} {stack}: cannot run on this OS (not packaged); judged by tests/ifcfg.rs"
        ));
    }
    assert!(!states.is_empty(), "{name}: no stack could apply it");
    // DHCP states are compared with the leased addresses masked (`oracle::mask_leases`): the
    // prefix lengths, every route with its metric, the rules are compared as they are.
    let states: Vec<(Runner, String)> = states
        .into_iter()
        .map(|(r, s)| (r, common::oracle::mask_leases(&s)))
        .collect();
    let want = expected_state_all(&config.interfaces);
    let by_hand = common::oracle::load(&case.stem);
    for (runner, state) in &states {
        if let Some(by_hand) = &by_hand {
            assert_eq!(
                common::oracle::canonical(state),
                *by_hand,
                "{name}: {runner:?} reached another kernel state than the one written by hand in {}",
                common::oracle::path(&case.stem).display()
            );
        }
        // The model cannot predict a lease: DHCP states are judged by `verify`, the
        // hand-written state (when there is one) and each other.
        if !dhcp {
            assert_eq!(
                state, &want,
                "{name}: {runner:?} reached another kernel state than the model's"
            );
        }
    }
    let (first, first_state) = &states[0];
    for (runner, state) in &states[1..] {
        assert_eq!(
            state, first_state,
            "{name}: {runner:?} and {first:?} disagree (DHCP leases masked)"
        );
    }
}

macro_rules! conformance {
    ($($test:ident => $fixture:literal,)*) => {
        $(
            #[test]
            fn $test() {
                conformance(&eni_case($fixture));
            }
        )*

        #[test]
        fn every_scenario_is_in_the_suite() {
            let covered = [$($fixture),*];
            for path in common::scenario_fixtures() {
                let name = path.file_name().unwrap().to_string_lossy().into_owned();
                assert!(covered.contains(&name.as_str()), "{name} is not in the conformance suite");
            }
        }
    };
}

conformance! {
    aliyun_eip_on_nic => "aliyun-eip-on-nic.yaml",
    aliyun_ipv4_ipv6 => "aliyun-ipv4-ipv6.yaml",
    aliyun_secondary_dhcp => "aliyun-secondary-dhcp.yaml",
    dhcp_both_families => "dhcp-both-families.yaml",
    dhcp6_secondary => "dhcp6-secondary.yaml",
    eight_nics => "eight-nics.yaml",
    full_secondary => "full-secondary.yaml",
    ipv6_only => "ipv6-only.yaml",
    json_input => "json-input.json",
    jumbo_mtu_onlink_route => "jumbo-mtu-onlink-route.yaml",
    secondary_default_route => "secondary-default-route.yaml",
    tencent_primary_secondary_ip => "tencent-primary-secondary-ip.yaml",
    tencent_secondary_eni_route => "tencent-secondary-eni-route.yaml",
    tencent_symmetric_routing => "tencent-symmetric-routing.yaml",
    thirty_secondary_ips => "thirty-secondary-ips.yaml",
    two_nics_same_subnet => "two-nics-same-subnet.yaml",
}

macro_rules! metadata_conformance {
    ($($test:ident => $file:literal,)*) => {
        $(
            #[test]
            fn $test() {
                conformance(&metadata_case($file));
            }
        )*

        #[test]
        fn every_metadata_document_is_in_the_suite_or_excluded_with_a_reason() {
            let covered = [$($file),*];
            for path in fs::read_dir(common::fixture("metadata")).unwrap() {
                let name = path.unwrap().file_name().to_string_lossy().into_owned();
                let excluded = METADATA_EXCLUDED.iter().find(|(f, _)| *f == name);
                assert!(
                    covered.contains(&name.as_str()) != excluded.is_some(),
                    "metadata/{name} must be either a conformance case or excluded with a reason, not {}",
                    if excluded.is_some() { "both" } else { "neither" }
                );
            }
            for (file, reason) in METADATA_EXCLUDED {
                assert!(
                    common::fixture(&format!("metadata/{file}")).exists() && !reason.is_empty(),
                    "{file}: an exclusion names an existing document and says why"
                );
                report(format!("CONFORMANCE metadata/{file}: not applied: {reason}"));
            }
        }
    };
}

/// Metadata documents not applied here, each with the reason.
const METADATA_EXCLUDED: [(&str, &str); 1] = [(
    "openstack-dhcp-network-routes-and-dns.json",
    "its secondary NIC is DHCP in 10.60.2.0/24 with routes via 10.60.2.1; the test DHCP server \
     (tests/common/dnsmasq.rs) leases 10.0.2.0/24, so that next hop is never on-link",
)];

// Every document in tests/fixtures/metadata/ as the guest renders it (secondary NICs only),
// applied on every stack; the hand-written states are under tests/fixtures/expected/metadata/.
metadata_conformance! {
    metadata_aliyun => "aliyun.json",
    metadata_aliyun_nic_without_addresses => "aliyun-nic-without-addresses.json",
    metadata_aliyun_no_secondary_ips_missing_optional_keys => "aliyun-no-secondary-ips-missing-optional-keys.json",
    metadata_aliyun_several_secondary_nics => "aliyun-several-secondary-nics.json",
    metadata_aws => "aws.json",
    metadata_aws_delegated_prefixes => "aws-delegated-prefixes.json",
    metadata_aws_detached_nic_next_to_good_one => "aws-detached-nic-next-to-good-one.json",
    metadata_aws_dual_stack_primary_with_secondary_ip => "aws-dual-stack-primary-with-secondary-ip.json",
    metadata_aws_ipv6_only => "aws-ipv6-only.json",
    metadata_aws_multi_card => "aws-multi-card.json",
    metadata_aws_primary_inconsistent => "aws-primary-inconsistent.json",
    metadata_aws_secondary_ipv6 => "aws-secondary-ipv6.json",
    metadata_aws_upper_case_macs => "aws-upper-case-macs.json",
    metadata_huawei_network_data => "huawei-network_data.json",
    metadata_openstack_bond_and_vlan_next_to_plain_nic => "openstack-bond-and-vlan-next-to-plain-nic.json",
    metadata_openstack_default_route_on_second_link => "openstack-default-route-on-second-link.json",
    metadata_openstack_ipv6_empty_netmask => "openstack-ipv6-empty-netmask.json",
    metadata_openstack_ipv6_only => "openstack-ipv6-only.json",
    metadata_openstack_network_gateway_link_local => "openstack-network-gateway-link-local.json",
    metadata_openstack_network_data => "openstack-network_data.json",
    metadata_tencent => "tencent.json",
    metadata_tencent_nic_without_addresses => "tencent-nic-without-addresses.json",
    metadata_tencent_single_ip_missing_optional_keys => "tencent-single-ip-missing-optional-keys.json",
}

/// Metadata documents that must have a kernel state written by hand
/// (`tests/fixtures/expected/metadata/<stem>.txt`): one AWS and one Tencent document.
const METADATA_BY_HAND: [&str; 2] = ["aws", "tencent"];

/// The sections every hand-written state has, in order.
fn assert_sections(stem: &str) {
    let text = common::oracle::load(stem)
        .unwrap_or_else(|| panic!("{} is missing", common::oracle::path(stem).display()));
    let titles: Vec<&str> = text.lines().filter(|l| l.starts_with("== ")).collect();
    assert_eq!(
        titles,
        [
            "== addr ==",
            "== link ==",
            "== route (all tables) ==",
            "== rule4 ==",
            "== rule6 =="
        ],
        "{stem}: sections"
    );
}

/// The stems of the `.txt` files in `tests/fixtures/<dir>`.
fn states_in(dir: &str) -> Vec<String> {
    fs::read_dir(common::fixture(dir))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "txt"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect()
}

/// Every scenario fixture (`tests/fixtures/eni/`, whatever its extension) and the metadata
/// documents in [`METADATA_BY_HAND`] have a kernel state written by hand
/// (`tests/fixtures/expected/`), and every such file belongs to a fixture.
#[test]
fn every_scenario_has_a_hand_written_state() {
    let scenarios = common::scenario_fixtures();
    assert!(scenarios.len() >= 16, "{scenarios:?}");
    let stems: Vec<String> = scenarios
        .iter()
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    for stem in &stems {
        assert_sections(stem);
    }
    for stem in states_in("expected") {
        assert!(
            stems.contains(&stem),
            "expected/{stem}.txt names no scenario fixture"
        );
    }
    for stem in METADATA_BY_HAND {
        assert_sections(&format!("metadata/{stem}"));
    }
    for stem in states_in("expected/metadata") {
        assert!(
            common::fixture(&format!("metadata/{stem}.json")).exists(),
            "expected/metadata/{stem}.txt names no metadata document"
        );
    }
}

/// The stacks this suite cannot run must really be absent: the day Debian packages one of
/// them, this fails and the suite must grow a runner for it.
#[test]
fn unrunnable_stacks_are_really_absent() {
    for (what, paths) in [
        (
            "RHEL network-scripts (ifup-routes)",
            &[
                "/etc/sysconfig/network-scripts/ifup-routes",
                "/usr/libexec/network-scripts/ifup-routes",
            ][..],
        ),
        ("wicked", &["/usr/sbin/wicked", "/sbin/wicked"][..]),
    ] {
        for p in paths {
            assert!(
                !Path::new(p).exists(),
                "{what} is installed ({p}): add it to the conformance suite"
            );
        }
    }
    let plugin_dirs = [
        "/usr/lib/x86_64-linux-gnu/NetworkManager",
        "/usr/lib/aarch64-linux-gnu/NetworkManager",
        "/usr/lib/NetworkManager",
        "/usr/lib64/NetworkManager",
    ];
    for d in plugin_dirs {
        let Ok(entries) = fs::read_dir(d) else {
            continue;
        };
        for e in entries.flatten() {
            let lib = e.path().join("libnm-settings-plugin-ifcfg-rh.so");
            assert!(
                !lib.exists(),
                "NetworkManager's ifcfg-rh plugin is installed ({}): add it to the conformance suite",
                lib.display()
            );
        }
    }
}
