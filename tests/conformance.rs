//! Cross-stack conformance: every backend whose network stack runs here, applied by the real
//! software in a throw-away network namespace, must reach the state the description means —
//! judged by `enicfg verify` inside the namespace — and every stack must reach the kernel
//! state written by hand for the fixture (`tests/fixtures/expected/`, when there is one), the
//! model's (static fixtures) and the *same* state as every other stack (DHCP leases masked).
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
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::dnsmasq::{Dnsmasq, RouterAdvertiser, wait_for_next_ra};
use common::expected::{expected_state_all, mask_macs};
use common::networkd::{Install, Networkd};
use common::nm::{NetworkManager, profiles_of};
use common::{Netns, load_config, require_root};
use enicfg::backend::{Rendered, render};
use enicfg::distro::Stack;
use enicfg::model::{Config, Family};
use enicfg::root::RootFacts;

const ENICFG: &str = env!("CARGO_BIN_EXE_enicfg");
const DEADLINE: Duration = Duration::from_secs(40);

/// The stacks that run here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Runner {
    Ifupdown,
    Netplan,
    Networkd,
    NetworkManager,
}

const RUNNERS: [Runner; 4] = [
    Runner::Ifupdown,
    Runner::Netplan,
    Runner::Networkd,
    Runner::NetworkManager,
];

impl Runner {
    fn stack(self) -> Stack {
        match self {
            Runner::Ifupdown => Stack::Ifupdown { upstart: false },
            Runner::Netplan => Stack::Netplan,
            Runner::Networkd => Stack::Networkd,
            Runner::NetworkManager => Stack::NetworkManagerKeyfile,
        }
    }
}

fn has_dhcp(config: &Config) -> bool {
    config
        .interfaces
        .iter()
        .any(|i| i.is_dhcp(Family::Ipv4) || i.is_dhcp(Family::Ipv6))
}

fn has_dhcp6(config: &Config) -> bool {
    config.interfaces.iter().any(|i| i.is_dhcp(Family::Ipv6))
}

/// `enicfg verify` inside the namespace; panics with its findings unless it passes within
/// [`DEADLINE`]. A stack reports "configured" before every lease has landed (networkd with
/// DHCPv6 under load), so the state is read again until it matches or time runs out.
fn verify(ns: &Netns, fixture: &Path, what: &str) {
    let start = std::time::Instant::now();
    let out = loop {
        let out = Command::new(ENICFG)
            .args(["verify", "--include-primary", "--input"])
            .arg(fixture)
            .args(["--netns", &ns.name])
            .output()
            .unwrap();
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

/// The files of a rendering under `strip_dir` (relative to it), with their modes.
fn dir_of(rendered: &Rendered, strip_dir: &str) -> tempfile::TempDir {
    let files: Vec<(String, String, u32)> = rendered
        .files
        .iter()
        .filter(|f| f.path.starts_with(strip_dir))
        .map(|f| {
            let name = f
                .path
                .strip_prefix(strip_dir)
                .unwrap()
                .trim_start_matches('/')
                .to_owned();
            (name, f.contents.clone(), f.mode)
        })
        .collect();
    let refs: Vec<(&str, &str, u32)> = files
        .iter()
        .map(|(n, c, m)| (n.as_str(), c.as_str(), *m))
        .collect();
    common::networkd::dir_with(&refs)
}

/// netplan generate into a private root; the `.network` files, matched on the current MAC (a
/// veth has no permanent one), installed where netplan puts them.
fn netplan_networks(rendered: &Rendered) -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    for f in &rendered.files {
        let p = root.path().join(f.path.trim_start_matches('/'));
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, &f.contents).unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(f.mode)).unwrap();
    }
    let out = common::run(
        Command::new("netplan")
            .arg("generate")
            .arg("--root-dir")
            .arg(root.path()),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && !stderr.contains("WARNING") && !stderr.contains("Error"),
        "netplan generate: {stderr}"
    );
    let gen_dir = root.path().join("run/systemd/network");
    let mut files = Vec::new();
    for e in fs::read_dir(&gen_dir).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        if name.ends_with(".network") {
            let text = fs::read_to_string(gen_dir.join(&name))
                .unwrap()
                .replace("PermanentMACAddress=", "MACAddress=");
            files.push((name, text));
        }
    }
    assert!(!files.is_empty(), "netplan generated no .network file");
    let refs: Vec<(&str, &str, u32)> = files
        .iter()
        .map(|(n, t)| (n.as_str(), t.as_str(), 0o644))
        .collect();
    common::networkd::dir_with(&refs)
}

/// Applies one rendering with the real stack, runs `enicfg verify` while the stack is still up,
/// and returns the normalized kernel state.
fn apply(runner: Runner, fixture: &Path, config: &Config, rendered: &Rendered) -> String {
    let what = format!("{} with {runner:?}", fixture.display());
    let ns = Netns::new();
    common::networkd::add_links(&ns, config);
    let names: Vec<&str> = config.interfaces.iter().map(|i| i.name.as_str()).collect();
    // Router advertisements on every link, as in an IPv6-enabled VPC. DHCP fixtures have one
    // interface; its peer moves to dnsmasq's namespace, which also sends RAs (DHCPv6's, or a
    // SLAAC-only prefix). Every other fixture gets a router on each of its links.
    let _dhcp = has_dhcp(config).then(|| Dnsmasq::start(&ns, names[0], has_dhcp6(config)));
    let _ra = (!has_dhcp(config)).then(|| RouterAdvertiser::start(&ns, &names));
    let dhcp = has_dhcp(config);
    let want = expected_state_all(&config.interfaces);
    let settled = |ns: &Netns| mask_macs(&common::nm::kernel_state(ns, &names), &config.interfaces);
    let wait_until = |ok: &dyn Fn() -> bool| {
        let start = std::time::Instant::now();
        while !ok() && start.elapsed() < DEADLINE {
            std::thread::sleep(Duration::from_millis(200));
        }
    };
    match runner {
        Runner::Ifupdown => {
            let tmp = tempfile::tempdir().unwrap();
            let main = common::ifupdown::write_root(
                &tmp.path().join("root"),
                rendered,
                Some(common::ifupdown::DEBIAN_CLOUD_MAIN),
            );
            let state = tmp.path().join("state");
            fs::create_dir_all(&state).unwrap();
            for name in &names {
                common::ifupdown::ifupdown_in(&ns, "ifup", &main, &state, name);
            }
            wait_for_next_ra(&ns, &names);
            verify(&ns, fixture, &what);
            settled(&ns)
        }
        Runner::Netplan | Runner::Networkd => {
            // netplan's generated files go to /run; files rendered for /etc/systemd/network
            // (the networkd backend's, and the netplan backend's drop-ins) go there.
            let etc = dir_of(rendered, "/etc/systemd/network");
            let mut installs = Vec::new();
            if rendered
                .files
                .iter()
                .any(|f| f.path.starts_with("/etc/systemd/network/"))
            {
                installs.push(Install {
                    from: etc.path().to_path_buf(),
                    to: "/etc/systemd/network",
                });
            }
            let generated = (runner == Runner::Netplan).then(|| netplan_networks(rendered));
            if let Some(dir) = &generated {
                installs.push(Install {
                    from: dir.path().to_path_buf(),
                    to: "/run/systemd/network",
                });
            }
            let logdir = tempfile::tempdir().unwrap();
            let mut networkd = Networkd::start(&ns, &installs, logdir.path().join("networkd.log"));
            networkd.wait_settled(&names, DEADLINE, dhcp);
            if !dhcp {
                wait_until(&|| settled(&ns) == want);
            }
            let parser = common::networkd::parser_lines(&networkd.log())
                .iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>();
            assert!(
                parser.is_empty(),
                "{what}: networkd complained:\n{}",
                parser.join("\n")
            );
            wait_for_next_ra(&ns, &names);
            verify(&ns, fixture, &what);
            settled(&ns)
        }
        Runner::NetworkManager => {
            let mut nm = NetworkManager::start(&ns, &profiles_of(rendered));
            nm.wait_connected(&names, DEADLINE);
            if !dhcp {
                let _ = nm.wait_for(DEADLINE, |_| settled(&ns) == want);
            } else {
                let _ = nm.wait_for(DEADLINE, |_| {
                    Command::new(ENICFG)
                        .args(["verify", "--include-primary", "--input"])
                        .arg(fixture)
                        .args(["--netns", &ns.name])
                        .output()
                        .is_ok_and(|o| o.status.success())
                });
            }
            let problems = nm.keyfile_problems();
            assert!(
                problems.is_empty(),
                "{what}: NetworkManager complained:\n{}",
                problems.join("\n")
            );
            wait_for_next_ra(&ns, &names);
            verify(&ns, fixture, &what);
            settled(&ns)
        }
    }
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

/// Runs one fixture through every stack.
fn conformance(fixture_name: &str) {
    if !require_root(fixture_name) {
        return;
    }
    let fixture = common::fixture(&format!("eni/{fixture_name}"));
    let config = load_config(&fixture);
    let dhcp = has_dhcp(&config);
    let facts = RootFacts {
        interfaces_main: Some(common::ifupdown::DEBIAN_CLOUD_MAIN.to_owned()),
        ..RootFacts::default()
    };
    let mut states: Vec<(Runner, String)> = Vec::new();
    for runner in RUNNERS {
        let rendered = match render(&config, runner.stack(), &facts) {
            Ok(r) => r,
            Err(e) => {
                let msg = format!("{e:#}");
                assert!(
                    msg.contains("cannot express"),
                    "{fixture_name} {runner:?}: {msg}"
                );
                report(format!(
                    "CONFORMANCE {fixture_name} {runner:?}: not expressible: {msg}"
                ));
                continue;
            }
        };
        if dhcp && runner == Runner::Ifupdown {
            let what = format!("{fixture_name} with {runner:?}");
            let (state, _after) = common::ifupdown::dhcp_apply(&config, &rendered, |ns| {
                wait_for_next_ra(ns, &[config.interfaces[0].name.as_str()]);
                verify(ns, &fixture, &what);
                common::nm::kernel_state(ns, &[config.interfaces[0].name.as_str()])
            });
            report(format!(
                "CONFORMANCE {fixture_name} {runner:?}: applied with dnsmasq, verify passed"
            ));
            states.push((runner, state));
            continue;
        }
        let state = apply(runner, &fixture, &config, &rendered);
        report(format!(
            "CONFORMANCE {fixture_name} {runner:?}: applied, verify passed"
        ));
        states.push((runner, state));
    }
    for stack in [
        "ifcfg-rh (network-scripts, NetworkManager ifcfg-rh plugin)",
        "ifcfg-suse (wicked)",
    ] {
        report(format!(
            "CONFORMANCE {fixture_name} {stack}: cannot run on this OS (not packaged); judged by tests/ifcfg.rs"
        ));
    }
    assert!(
        !states.is_empty(),
        "{fixture_name}: no stack could apply it"
    );
    // DHCP states are compared with the leased addresses masked (`oracle::mask_leases`): the
    // prefix lengths, every route with its metric, the rules are compared as they are.
    let states: Vec<(Runner, String)> = states
        .into_iter()
        .map(|(r, s)| (r, common::oracle::mask_leases(&s)))
        .collect();
    let want = expected_state_all(&config.interfaces);
    let stem = fixture_name
        .rsplit_once('.')
        .map_or(fixture_name, |(s, _)| s);
    let by_hand = common::oracle::load(stem);
    for (runner, state) in &states {
        if let Some(by_hand) = &by_hand {
            assert_eq!(
                common::oracle::canonical(state),
                *by_hand,
                "{fixture_name}: {runner:?} reached another kernel state than the one written by hand in {}",
                common::oracle::path(stem).display()
            );
        }
        // The model cannot predict a lease: DHCP states are judged by `verify`, the
        // hand-written state (when there is one) and each other.
        if !dhcp {
            assert_eq!(
                state, &want,
                "{fixture_name}: {runner:?} reached another kernel state than the model's"
            );
        }
    }
    let (first, first_state) = &states[0];
    for (runner, state) in &states[1..] {
        assert_eq!(
            state, first_state,
            "{fixture_name}: {runner:?} and {first:?} disagree (DHCP leases masked)"
        );
    }
}

macro_rules! conformance {
    ($($test:ident => $fixture:literal,)*) => {
        $(
            #[test]
            fn $test() {
                conformance($fixture);
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

/// Every scenario fixture (`tests/fixtures/eni/`, whatever its extension) has a kernel state
/// written by hand (`tests/fixtures/expected/`), and every such file belongs to a fixture.
#[test]
fn every_scenario_has_a_hand_written_state() {
    let scenarios = common::scenario_fixtures();
    assert!(scenarios.len() >= 16, "{scenarios:?}");
    for path in &scenarios {
        let stem = path.file_stem().unwrap().to_string_lossy();
        let text = common::oracle::load(&stem)
            .unwrap_or_else(|| panic!("{} is missing", common::oracle::path(&stem).display()));
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
    let stems: Vec<String> = scenarios
        .iter()
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    for e in fs::read_dir(common::fixture("expected")).unwrap() {
        let path = e.unwrap().path();
        if !path.is_file() || path.extension().is_none_or(|x| x != "txt") {
            continue;
        }
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        assert!(
            stems.contains(&stem),
            "expected/{stem}.txt names no scenario fixture"
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
