//! Writing converges (issue 9 §1): the files enicfg generated earlier that the description no
//! longer renders are removed — a dropped address, a dropped NIC, a change of backend — and
//! nothing enicfg did not generate is ever removed. Excluded interfaces keep their files. Runs
//! on one ROOT serialize on a lock, and a run killed at any moment leaves either the old files,
//! the new ones, or a journal that the next run completes. Everything happens in temp roots.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::cli::{ENICFG, enicfg, ok, text};

/// Every regular file under ROOT/etc, path -> contents.
fn etc_files(root: &Path) -> BTreeMap<String, String> {
    fn walk(dir: &Path, base: &Path, out: &mut BTreeMap<String, String>) {
        let Ok(entries) = fs::read_dir(dir) else {
            return;
        };
        for e in entries {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, base, out);
            } else {
                let rel = p.strip_prefix(base).unwrap().display().to_string();
                out.insert(
                    format!("/{rel}"),
                    fs::read_to_string(&p).unwrap_or_default(),
                );
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(&root.join("etc"), root, &mut out);
    out
}

fn write_desc(dir: &Path, name: &str, yaml: &str) -> String {
    let p = dir.join(name);
    fs::write(&p, yaml).unwrap();
    p.display().to_string()
}

/// `enicfg write --input DESC --backend ifupdown --root ROOT EXTRA...`, which must succeed.
fn write_ifupdown(desc: &str, root: &str, extra: &[&str]) -> String {
    let mut args = vec![
        "write",
        "--input",
        desc,
        "--backend",
        "ifupdown",
        "--root",
        root,
    ];
    args.extend(extra);
    ok(&args)
}

const TWO_IPS_AND_ROUTE: &str = "interfaces:
  - name: eth1
    mac: \"00:16:3e:00:00:01\"
    ipv4:
      addresses: [10.0.2.5/24, 10.0.2.6, 10.0.2.7]
      gateway: 10.0.2.1
    routes:
      - { to: 192.168.0.0/16, via: 10.0.2.1 }
    policy_routing: { table: 1001 }
";

const ONE_IP: &str = "interfaces:
  - name: eth1
    mac: \"00:16:3e:00:00:01\"
    ipv4:
      addresses: [10.0.2.5/24]
      gateway: 10.0.2.1
    policy_routing: { table: 1001 }
";

/// Shrinking a description on centos:7: the rule file loses the dropped addresses' rules and
/// the route file, which no longer has anything to say, is removed.
#[test]
fn a_shrunk_description_leaves_no_stale_rule_or_route() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    let r = root.to_str().unwrap();
    let big = write_desc(tmp.path(), "big.yaml", TWO_IPS_AND_ROUTE);
    let small = write_desc(tmp.path(), "small.yaml", ONE_IP);
    ok(&[
        "write", "--input", &big, "--distro", "centos:7", "--root", r,
    ]);
    let dir = "/etc/sysconfig/network-scripts";
    let before = etc_files(&root);
    assert!(before[&format!("{dir}/rule-eth1")].contains("from 10.0.2.6 table 1001"));
    assert!(before.contains_key(&format!("{dir}/route-eth1")));

    let dry = ok(&[
        "write",
        "--input",
        &small,
        "--distro",
        "centos:7",
        "--root",
        r,
        "--dry-run",
    ]);
    assert!(dry.contains("-from 10.0.2.6 table 1001"), "{dry}");
    assert_eq!(etc_files(&root), before, "--dry-run wrote something");

    let out = ok(&[
        "write", "--input", &small, "--distro", "centos:7", "--root", r,
    ]);
    let after = etc_files(&root);
    assert!(
        !after[&format!("{dir}/rule-eth1")].contains("10.0.2.6"),
        "{out}"
    );
    assert!(!after[&format!("{dir}/rule-eth1")].contains("10.0.2.7"));
    // Exactly what a fresh write of the small description gives.
    let fresh = tmp.path().join("fresh");
    ok(&[
        "write",
        "--input",
        &small,
        "--distro",
        "centos:7",
        "--root",
        fresh.to_str().unwrap(),
    ]);
    assert_eq!(after, etc_files(&fresh), "{out}");
    assert!(
        ok(&[
            "write", "--input", &small, "--distro", "centos:7", "--root", r
        ])
        .starts_with("nothing to change")
    );
}

/// Eight NICs, then one, on Amazon Linux 2023 (networkd): eth2..eth8's files go; a file enicfg
/// did not generate stays, even with an enicfg-like name.
#[test]
fn eight_nics_to_one_removes_seven_files_and_keeps_foreign_ones() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    let r = root.to_str().unwrap();
    let eight = common::fixture("eni/eight-nics.yaml").display().to_string();
    ok(&[
        "write",
        "--input",
        &eight,
        "--distro",
        "amzn:2023",
        "--root",
        r,
    ]);
    let dir = root.join("etc/systemd/network");
    fs::write(dir.join("05-enicfg-eth9.network"), "[Match]\nName=eth9\n").unwrap();
    fs::write(dir.join("50-user.network"), "[Match]\nName=eth0\n").unwrap();
    let one = write_desc(tmp.path(), "one.yaml", ONE_IP);
    let out = ok(&[
        "write",
        "--input",
        &one,
        "--distro",
        "amzn:2023",
        "--root",
        r,
    ]);
    for n in 2..=8 {
        assert!(
            out.contains(&format!(
                "removed {}/05-enicfg-eth{n}.network",
                dir.display()
            )),
            "{out}"
        );
        assert!(!dir.join(format!("05-enicfg-eth{n}.network")).exists());
    }
    assert!(dir.join("05-enicfg-eth1.network").exists());
    assert!(
        dir.join("05-enicfg-eth9.network").exists(),
        "a foreign file was removed"
    );
    assert!(dir.join("50-user.network").exists());
}

/// centos:8 (ifcfg read by NetworkManager), then `--backend nm-keyfile`: one profile remains.
#[test]
fn a_change_of_backend_leaves_one_profile() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    let r = root.to_str().unwrap();
    let full = common::fixture("eni/full-secondary.yaml")
        .display()
        .to_string();
    ok(&[
        "write", "--input", &full, "--distro", "centos:8", "--root", r,
    ]);
    assert!(
        root.join("etc/sysconfig/network-scripts/ifcfg-eth1")
            .exists()
    );
    let out = ok(&[
        "write",
        "--input",
        &full,
        "--backend",
        "nm-keyfile",
        "--root",
        r,
    ]);
    let files: Vec<String> = etc_files(&root).into_keys().collect();
    assert_eq!(
        files,
        vec!["/etc/NetworkManager/system-connections/enicfg-eth1.nmconnection".to_owned()],
        "{out}"
    );
    // An image root: nothing to apply here, so no command is printed.
    assert!(!out.contains("apply with"), "{out}");
}

/// `--exclude` by name or MAC: the interface is not rendered, and its earlier files stay.
#[test]
fn excluded_interfaces_keep_their_files() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    let r = root.to_str().unwrap();
    let eight = common::fixture("eni/eight-nics.yaml").display().to_string();
    ok(&[
        "write",
        "--input",
        &eight,
        "--distro",
        "amzn:2023",
        "--root",
        r,
    ]);
    let dir = root.join("etc/systemd/network");
    let eth3 = fs::read_to_string(dir.join("05-enicfg-eth3.network")).unwrap();
    let out = ok(&[
        "write",
        "--input",
        &eight,
        "--distro",
        "amzn:2023",
        "--root",
        r,
        "--exclude",
        "eth2",
        "--exclude",
        "00:16:3E:0B:00:03",
    ]);
    assert!(out.starts_with("nothing to change"), "{out}");
    let one = write_desc(tmp.path(), "one.yaml", ONE_IP);
    ok(&[
        "write",
        "--input",
        &one,
        "--distro",
        "amzn:2023",
        "--root",
        r,
        "--exclude",
        "eth2",
        "--exclude",
        "00:16:3e:0b:00:03",
    ]);
    assert!(dir.join("05-enicfg-eth2.network").exists());
    assert_eq!(
        fs::read_to_string(dir.join("05-enicfg-eth3.network")).unwrap(),
        eth3
    );
    assert!(!dir.join("05-enicfg-eth4.network").exists());
    let bad = enicfg(&["write", "--input", &one, "--root", r, "--exclude", "zz:1"]);
    assert_eq!(bad.status.code(), Some(2), "{}", text(&bad.stderr));
}

/// Runs on one ROOT serialize: eight concurrent writes of two different descriptions (two
/// backends) end with exactly one description's files, and no journal.
#[test]
fn concurrent_writes_serialize() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    let r = root.to_str().unwrap().to_owned();
    let eight = common::fixture("eni/eight-nics.yaml").display().to_string();
    let one = write_desc(tmp.path(), "one.yaml", ONE_IP);
    let expected: Vec<BTreeMap<String, String>> = [(&eight, "networkd"), (&one, "nm-keyfile")]
        .iter()
        .map(|(input, backend)| {
            let fresh = tempfile::tempdir().unwrap();
            let fr = fresh.path().join("r");
            ok(&[
                "write",
                "--input",
                input,
                "--backend",
                backend,
                "--root",
                fr.to_str().unwrap(),
            ]);
            etc_files(&fr)
        })
        .collect();
    for round in 0..3 {
        let children: Vec<_> = (0..8)
            .map(|i| {
                let (input, backend) = if i % 2 == 0 {
                    (&eight, "networkd")
                } else {
                    (&one, "nm-keyfile")
                };
                Command::new(ENICFG)
                    .args([
                        "write",
                        "--input",
                        input,
                        "--backend",
                        backend,
                        "--root",
                        &r,
                    ])
                    .stdout(Stdio::null())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for c in children {
            let out = c.wait_with_output().unwrap();
            assert!(out.status.success(), "round {round}: {}", text(&out.stderr));
        }
        let now = etc_files(&root);
        assert!(
            expected.contains(&now),
            "round {round}: a mix of two descriptions: {:?}",
            now.keys().collect::<Vec<_>>()
        );
        assert!(!root.join("var/lib/enicfg/journal.json").exists());
    }
}

/// SIGKILL at any moment: what is left is the old set, the new set, or a journal; the next run
/// completes the journal ("completing the write interrupted at ...") and then has nothing to
/// change. The kill delays sweep the whole run, so every phase is hit.
#[test]
fn a_killed_write_is_completed_by_the_next_run() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    let r = root.to_str().unwrap().to_owned();
    let a = common::fixture("eni/eight-nics.yaml").display().to_string();
    let b = write_desc(tmp.path(), "one.yaml", TWO_IPS_AND_ROUTE);
    let set = |input: &str, distro: &str| {
        let fresh = tempfile::tempdir().unwrap();
        let fr = fresh.path().join("r");
        ok(&[
            "write",
            "--input",
            input,
            "--distro",
            distro,
            "--root",
            fr.to_str().unwrap(),
        ]);
        etc_files(&fr)
    };
    // centos:7 (ifcfg + route + rule files per NIC) and amzn:2023 (networkd): a kill between
    // two files of one NIC, or between two backends, is possible.
    let targets = [
        (&a, "centos:7"),
        (&b, "amzn:2023"),
        (&b, "centos:7"),
        (&a, "amzn:2023"),
    ];
    let sets: Vec<_> = targets.iter().map(|(i, d)| set(i, d)).collect();
    ok(&["write", "--input", &a, "--distro", "centos:7", "--root", &r]);
    // How long a whole run takes here, so the kill delays sweep 0..120 % of it on any machine.
    let mut span = Duration::ZERO;
    for (input, distro) in [targets[1], targets[0]] {
        let t = std::time::Instant::now();
        ok(&["write", "--input", input, "--distro", distro, "--root", &r]);
        span = span.max(t.elapsed());
    }
    let (mut journals, mut killed, mut whole) = (0, 0, 0);
    for i in 0..120u64 {
        let (from, to) = (i as usize % 4, (i as usize + 1) % 4);
        let (input, distro) = targets[to];
        let mut child = Command::new(ENICFG)
            .args(["write", "--input", input, "--distro", distro, "--root", &r])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(span * ((i as u32 * 37) % 121) / 100);
        let _ = child.kill();
        let status = child.wait().unwrap();
        if status.success() {
            whole += 1;
        } else {
            killed += 1;
        }
        // Temporary files (`.NAME.enicfg-tmp`) are read by no stack: not part of the state.
        let mut now = etc_files(&root);
        now.retain(|p, _| !p.ends_with(".enicfg-tmp"));
        let journal = root.join("var/lib/enicfg/journal.json").exists();
        if journal {
            journals += 1;
        } else {
            assert!(
                now == sets[from] || now == sets[to],
                "run {i}: killed with no journal, and the files are neither the old nor the new set: {:?}",
                now.keys().collect::<Vec<_>>()
            );
        }
        // The next run (same target) completes whatever was interrupted.
        let out = ok(&["write", "--input", input, "--distro", distro, "--root", &r]);
        if journal {
            assert!(out.contains("completing the write interrupted at"), "{out}");
        }
        assert_eq!(etc_files(&root), sets[to], "run {i}: {out}");
        assert!(!root.join("var/lib/enicfg/journal.json").exists());
    }
    eprintln!("kill test: {killed} killed ({journals} with a journal), {whole} finished");
    assert!(
        killed > 0 && whole > 0,
        "the kill delays never hit (killed {killed}, whole {whole})"
    );
}

/// `enicfg clean` before capturing an image: every generated file goes, every file enicfg
/// changed gets its original back (`/etc/network/interfaces` without the appended include),
/// enicfg's state directory goes, and files enicfg did not generate stay. `--dry-run` changes
/// nothing; a second clean has nothing to do.
#[test]
fn clean_leaves_the_image_as_it_was() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    let r = root.to_str().unwrap();
    fs::create_dir_all(root.join("etc/network")).unwrap();
    fs::create_dir_all(root.join("etc/systemd/network")).unwrap();
    let original = "auto lo\niface lo inet loopback\n";
    fs::write(root.join("etc/network/interfaces"), original).unwrap();
    fs::write(
        root.join("etc/systemd/network/50-user.network"),
        "[Match]\nName=eth0\n",
    )
    .unwrap();
    let before = etc_files(&root);
    let eight = common::fixture("eni/eight-nics.yaml").display().to_string();
    let full = common::fixture("eni/full-secondary.yaml")
        .display()
        .to_string();
    ok(&[
        "write",
        "--input",
        &full,
        "--backend",
        "ifupdown",
        "--root",
        r,
    ]);
    assert_ne!(
        fs::read_to_string(root.join("etc/network/interfaces")).unwrap(),
        original,
        "the include line was expected"
    );
    // Files of another backend too (a change of backend leaves none, so write them by hand
    // into a second directory through a second root's write and copy).
    let other = tmp.path().join("other");
    ok(&[
        "write",
        "--input",
        &eight,
        "--backend",
        "networkd",
        "--root",
        other.to_str().unwrap(),
    ]);
    for e in fs::read_dir(other.join("etc/systemd/network")).unwrap() {
        let p = e.unwrap().path();
        fs::copy(
            &p,
            root.join("etc/systemd/network")
                .join(p.file_name().unwrap()),
        )
        .unwrap();
    }
    let dirty = etc_files(&root);
    let dry = ok(&["clean", "--root", r, "--dry-run"]);
    assert!(dry.contains("+++ /dev/null"), "{dry}");
    assert!(dry.contains("var/lib/enicfg will be removed"), "{dry}");
    assert_eq!(etc_files(&root), dirty, "--dry-run changed something");

    let out = ok(&["clean", "--root", r]);
    assert_eq!(etc_files(&root), before, "{out}");
    assert!(!root.join("var/lib/enicfg").exists(), "{out}");
    assert!(out.contains("restored "), "{out}");
    let again = ok(&["clean", "--root", r]);
    assert!(again.starts_with("nothing to clean"), "{again}");
}

const TWO_DHCP_NICS: &str = "interfaces:
  - name: eth1
    mac: \"00:16:3e:00:00:01\"
    ipv4: { dhcp: true }
    metric: 200
  - name: eth2
    mac: \"00:16:3e:00:00:02\"
    ipv4: { dhcp: true }
    default_route: true
    metric: 300
";

const ONE_DHCP_NIC_NO_METRIC: &str = "interfaces:
  - name: eth1
    mac: \"00:16:3e:00:00:01\"
    ipv4: { dhcp: true }
";

/// ifupdown's dhclient hooks are generated files like any other: a NIC dropped from the
/// description loses its enter and exit hooks, a NIC that loses its metric loses its exit hook,
/// `clean` removes the rest; Debian's own hooks and a user's hook with an enicfg-like name stay.
#[test]
fn dhclient_hooks_follow_the_description_and_clean_removes_them() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    let r = root.to_str().unwrap();
    let enter = "/etc/dhcp/dhclient-enter-hooks.d";
    let exit = "/etc/dhcp/dhclient-exit-hooks.d";
    fs::create_dir_all(root.join(&exit[1..])).unwrap();
    let foreign = [
        (format!("{exit}/rfc3442-classless-routes"), "# Debian's\n"),
        (format!("{exit}/enicfg-eth3"), "# a user's, not generated\n"),
    ];
    for (path, text) in &foreign {
        fs::write(root.join(&path[1..]), text).unwrap();
    }
    let two = write_desc(tmp.path(), "two.yaml", TWO_DHCP_NICS);
    let one = write_desc(tmp.path(), "one.yaml", ONE_DHCP_NIC_NO_METRIC);
    let write =
        |desc: &str, dry: bool| write_ifupdown(desc, r, if dry { &["--dry-run"] } else { &[] });
    let hooks = |files: &BTreeMap<String, String>| -> Vec<String> {
        files
            .keys()
            .filter(|p| p.starts_with("/etc/dhcp/"))
            .cloned()
            .collect()
    };
    write(&two, false);
    let both = etc_files(&root);
    assert_eq!(
        hooks(&both),
        [
            format!("{enter}/enicfg-eth1"),
            format!("{enter}/enicfg-eth2"),
            format!("{exit}/enicfg-eth1"),
            format!("{exit}/enicfg-eth2"),
            format!("{exit}/enicfg-eth3"),
            format!("{exit}/rfc3442-classless-routes"),
        ]
    );
    assert!(both[&format!("{exit}/enicfg-eth2")].contains("metric 300"));

    let dry = write(&one, true);
    assert!(dry.contains(&format!("{exit}/enicfg-eth2")), "{dry}");
    assert_eq!(etc_files(&root), both, "--dry-run wrote something");
    let out = write(&one, false);
    let after = etc_files(&root);
    assert_eq!(
        hooks(&after),
        [
            format!("{enter}/enicfg-eth1"),
            format!("{exit}/enicfg-eth3"),
            format!("{exit}/rfc3442-classless-routes"),
        ],
        "{out}"
    );
    // Everything is exactly what a fresh write of the smaller description gives, next to the
    // foreign hooks: the hooks, and /etc/network/interfaces, whose `source` line for eth2 went
    // with eth2's stanza file.
    let fresh = tmp.path().join("fresh");
    fs::create_dir_all(fresh.join(&exit[1..])).unwrap();
    for (path, text) in &foreign {
        fs::write(fresh.join(&path[1..]), text).unwrap();
    }
    write_ifupdown(&one, fresh.to_str().unwrap(), &[]);
    let dhcp_files = |files: BTreeMap<String, String>| -> BTreeMap<String, String> {
        files
            .into_iter()
            .filter(|(p, _)| p.starts_with("/etc/dhcp/"))
            .collect()
    };
    assert_eq!(
        dhcp_files(after.clone()),
        dhcp_files(etc_files(&fresh)),
        "{out}"
    );
    assert_eq!(after, etc_files(&fresh), "{out}");

    write(&two, false);
    let out = ok(&["clean", "--root", r]);
    let cleaned = etc_files(&root);
    assert_eq!(
        hooks(&cleaned),
        [
            format!("{exit}/enicfg-eth3"),
            format!("{exit}/rfc3442-classless-routes"),
        ],
        "{out}"
    );
    for (path, text) in &foreign {
        assert_eq!(cleaned[path], *text, "{path}");
    }
}

/// The hotplug settings' `exclude:` list holds for manual runs too.
#[test]
fn the_settings_file_excludes_for_every_run() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    let r = root.to_str().unwrap();
    fs::create_dir_all(root.join("etc/enicfg")).unwrap();
    fs::write(
        root.join("etc/enicfg/enicfg.yaml"),
        "imds: aws\nexclude: [eth2, \"00:16:3E:0B:00:03\"]\n",
    )
    .unwrap();
    let eight = common::fixture("eni/eight-nics.yaml").display().to_string();
    let out = enicfg(&[
        "write",
        "--input",
        &eight,
        "--distro",
        "amzn:2023",
        "--root",
        r,
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(
        err.contains("eth2 is excluded") && err.contains("eth3 is excluded"),
        "{err}"
    );
    let dir = root.join("etc/systemd/network");
    assert!(!dir.join("05-enicfg-eth2.network").exists());
    assert!(!dir.join("05-enicfg-eth3.network").exists());
    assert!(dir.join("05-enicfg-eth4.network").exists());
    fs::write(root.join("etc/enicfg/enicfg.yaml"), "imds: aws\nbogus: 1\n").unwrap();
    let out = enicfg(&[
        "write",
        "--input",
        &eight,
        "--distro",
        "amzn:2023",
        "--root",
        r,
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("etc/enicfg/enicfg.yaml"),
        "{}",
        text(&out.stderr)
    );
}

/// centos:7 then rocky:8 on one root (an in-place upgrade, or a changed detection): enicfg's own
/// `rule-eth1` from the first write would make NetworkManager's ifcfg-rh plugin ignore every
/// rule and route of the rocky:8 profile (issue 13 §2), so it must go; the profile carries the
/// rules as ROUTING_RULE keys instead.
#[test]
fn centos7_to_rocky8_leaves_no_rule_file() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    let r = root.to_str().unwrap();
    let full = common::fixture("eni/full-secondary.yaml")
        .display()
        .to_string();
    ok(&[
        "write", "--input", &full, "--distro", "centos:7", "--root", r,
    ]);
    let dir = root.join("etc/sysconfig/network-scripts");
    assert!(dir.join("rule-eth1").exists() && dir.join("rule6-eth1").exists());
    let out = ok(&[
        "write", "--input", &full, "--distro", "rocky:8", "--root", r,
    ]);
    for f in ["rule-eth1", "rule6-eth1"] {
        assert!(
            !dir.join(f).exists(),
            "{f} left after the rocky:8 write:\n{out}"
        );
    }
    let ifcfg = fs::read_to_string(dir.join("ifcfg-eth1")).unwrap();
    assert!(ifcfg.contains("ROUTING_RULE_1="), "{ifcfg}");
}

/// A Debian-like main file of the user's that includes nothing of enicfg's stanza directory:
/// comments, an include of another directory, and a `source` line of the user's own for one
/// file of the stanza directory.
const USERS_MAIN: &str = "# The user's own interfaces(5), with comments.\n\
auto lo\niface lo inet loopback\n\n\
# Other stanzas come from elsewhere.\nsource-directory /etc/network/other.d\n\
source /etc/network/interfaces.d/eth9\n";

const ETH1_ETH2_ETH9: &str = "interfaces:
  - name: eth1
    mac: \"00:16:3e:00:00:01\"
    ipv4: { addresses: [10.0.2.21/24] }
  - name: eth2
    mac: \"00:16:3e:00:00:02\"
    ipv4: { addresses: [10.0.2.22/24] }
  - name: eth9
    mac: \"00:16:3e:00:00:09\"
    ipv4: { addresses: [10.0.2.29/24] }
";

const ETH1: &str = "interfaces:
  - name: eth1
    mac: \"00:16:3e:00:00:01\"
    ipv4: { addresses: [10.0.2.21/24] }
";

const MAIN: &str = "etc/network/interfaces";

fn marked(name: &str) -> String {
    format!("# enicfg: {name}\nsource /etc/network/interfaces.d/{name}\n")
}

/// The interfaces `ifquery --list` finds through ROOT's main file (include paths pointed into
/// ROOT), and what `ifquery NAME` says of each.
fn ifquery(root: &Path) -> BTreeMap<String, String> {
    let main = fs::read_to_string(root.join(MAIN)).unwrap_or_default();
    let checked = root.with_extension("interfaces");
    fs::write(&checked, common::ifupdown::rewrite_includes(&main, root)).unwrap();
    let list = common::run_ok(
        Command::new("ifquery")
            .arg("-i")
            .arg(&checked)
            .arg("--list"),
    );
    list.lines()
        .map(|name| {
            let q = common::run_ok(Command::new("ifquery").arg("-i").arg(&checked).arg(name));
            (name.to_owned(), q)
        })
        .collect()
}

/// The backups of the main file enicfg made under ROOT.
fn main_backups(root: &Path) -> usize {
    fs::read_dir(root.join("var/lib/enicfg/backups"))
        .map(|d| {
            d.filter(|e| e.as_ref().unwrap().path().join(MAIN).exists())
                .count()
        })
        .unwrap_or(0)
}

/// The `source` lines enicfg appends to a main file that does not include its stanza directory
/// follow the NICs: a dropped NIC's line goes with its stanza file, an excluded NIC's stays
/// with its file, and when no NIC is left (another backend) the main file is the user's again,
/// byte for byte; `clean` too. The user's lines, their own `source .../eth9` included (even
/// once enicfg wrote and removed eth9's stanza file, which that line read), are never touched,
/// and the main file is backed up once, before enicfg first appends to it. ifupdown's own
/// reader parses the marked main file and finds exactly the NICs that are left.
#[test]
fn appended_source_lines_follow_the_nics_and_clean_restores_the_main_file() {
    for original in [
        Some(USERS_MAIN),
        Some("auto lo\niface lo inet loopback\n"),
        Some("auto lo\niface lo inet loopback"),
        None,
    ] {
        let what = format!("main file {original:?}");
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("root");
        let r = root.to_str().unwrap();
        fs::create_dir_all(root.join("etc/network")).unwrap();
        if let Some(text) = original {
            fs::write(root.join(MAIN), text).unwrap();
        }
        let before = etc_files(&root);
        let three = write_desc(tmp.path(), "three.yaml", ETH1_ETH2_ETH9);
        let one = write_desc(tmp.path(), "one.yaml", ETH1);
        let write = |desc: &str, extra: &[&str]| write_ifupdown(desc, r, extra);
        // What enicfg adds to the user's text (a header when it creates the file; a newline
        // when the user's last line has none).
        let users = match original {
            Some(t) if t.ends_with('\n') => t.to_owned(),
            Some(t) => format!("{t}\n"),
            None => "# Generated by enicfg (backend ifupdown). Do not edit: changes are lost when enicfg runs again.\n".to_owned(),
        };
        let eth9 = if original == Some(USERS_MAIN) {
            String::new() // the user's own line reads it
        } else {
            marked("eth9")
        };
        let read = || fs::read_to_string(root.join(MAIN)).ok();

        let out = write(&three, &[]);
        let all = format!("{users}{}{}{eth9}", marked("eth1"), marked("eth2"));
        assert_eq!(read().as_deref(), Some(all.as_str()), "{what}: {out}");
        let found = ifquery(&root);
        for name in ["eth1", "eth2", "eth9"] {
            assert!(found.contains_key(name), "{what}: {found:?}");
        }

        // eth2 excluded: its file and its line stay.
        let out = write(&three, &["--exclude", "eth2"]);
        assert!(root.join("etc/network/interfaces.d/eth2").exists(), "{out}");
        assert!(read().unwrap().contains(&marked("eth2")), "{what}: {out}");

        let dry = write(&one, &["--dry-run"]);
        assert!(
            dry.contains("-source /etc/network/interfaces.d/eth2"),
            "{what}: {dry}"
        );
        let out = write(&one, &[]);
        let left = format!("{users}{}", marked("eth1"));
        assert_eq!(read().as_deref(), Some(left.as_str()), "{what}: {out}");
        assert!(!root.join("etc/network/interfaces.d/eth9").exists());
        let found = ifquery(&root);
        assert_eq!(
            found
                .keys()
                .filter(|n| n.starts_with("eth"))
                .collect::<Vec<_>>(),
            ["eth1"],
            "{what}: {found:?}"
        );
        assert!(
            found["eth1"].contains("address: 10.0.2.21\n"),
            "{what}: {found:?}"
        );
        let again = write(&one, &[]);
        assert!(again.starts_with("nothing to change"), "{what}: {again}");
        assert_eq!(
            main_backups(&root),
            usize::from(original.is_some()),
            "{what}"
        );

        // No NIC left for ifupdown: the main file is the user's again (or gone, when enicfg
        // created it), byte for byte.
        let out = ok(&[
            "write",
            "--input",
            &one,
            "--backend",
            "networkd",
            "--root",
            r,
        ]);
        assert_eq!(read().as_deref(), original, "{what}: {out}");
        assert_eq!(
            main_backups(&root),
            usize::from(original.is_some()),
            "{what}"
        );

        write(&three, &[]);
        write(&one, &[]);
        write(&three, &[]);
        let out = ok(&["clean", "--root", r]);
        let mut after = etc_files(&root);
        after.retain(|p, _| !p.starts_with("/etc/systemd/"));
        assert_eq!(after, before, "{what}: {out}");
        assert_eq!(read().as_deref(), original, "{what}: {out}");
    }
}

/// Before the mark, enicfg appended bare `source /etc/network/interfaces.d/NAME` lines. Such a
/// line goes with its stanza file only when the main file's oldest backup (the file before
/// enicfg first changed it) shows that enicfg added it; without a backup it stays, since a
/// user's own line looks the same.
#[test]
fn unmarked_source_lines_of_older_versions_go_only_with_evidence() {
    for with_backup in [true, false] {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("root");
        let r = root.to_str().unwrap();
        fs::create_dir_all(root.join("etc/network")).unwrap();
        fs::write(root.join(MAIN), USERS_MAIN).unwrap();
        let three = write_desc(tmp.path(), "three.yaml", ETH1_ETH2_ETH9);
        let one = write_desc(tmp.path(), "one.yaml", ETH1);
        write_ifupdown(&three, r, &[]);
        // What an older enicfg left: the same lines without their marker comments.
        let main = fs::read_to_string(root.join(MAIN)).unwrap();
        let old = main
            .replace("# enicfg: eth1\n", "")
            .replace("# enicfg: eth2\n", "");
        assert_eq!(
            old,
            format!(
                "{USERS_MAIN}source /etc/network/interfaces.d/eth1\n\
                 source /etc/network/interfaces.d/eth2\n"
            )
        );
        fs::write(root.join(MAIN), &old).unwrap();
        if !with_backup {
            fs::remove_dir_all(root.join("var/lib/enicfg/backups")).unwrap();
        }
        let out = write_ifupdown(&one, r, &[]);
        let after = fs::read_to_string(root.join(MAIN)).unwrap();
        if with_backup {
            // eth1's line still reads its file; eth2's went with it; eth9's is the user's.
            assert_eq!(
                after,
                format!("{USERS_MAIN}source /etc/network/interfaces.d/eth1\n"),
                "{out}"
            );
            let out = ok(&["clean", "--root", r]);
            assert_eq!(
                fs::read_to_string(root.join(MAIN)).unwrap(),
                USERS_MAIN,
                "{out}"
            );
        } else {
            assert_eq!(after, old, "{out}");
        }
    }
}

/// Every path under `root`, directories included, sorted.
fn tree(root: &Path) -> Vec<String> {
    fn walk(dir: &Path, base: &Path, out: &mut Vec<String>) {
        for e in fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            out.push(p.strip_prefix(base).unwrap().display().to_string());
            if p.is_dir() && !p.is_symlink() {
                walk(&p, base, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out.sort();
    out
}

/// An image pipeline's bare root, written for every stack plus the hotplug files, then
/// cleaned: the root is exactly as it was, directories included (an `interfaces.d/`, a
/// `var/lib/` enicfg made go). A directory that was there before stays even when empty, and one
/// enicfg made stays when something else was put in it.
#[test]
fn clean_leaves_a_bare_image_root_as_it_found_it() {
    let full = common::fixture("eni/full-secondary.yaml")
        .display()
        .to_string();
    let write_all = |r: &str| {
        for backend in [
            "ifupdown",
            "netplan",
            "networkd",
            "nm-keyfile",
            "ifcfg-rh",
            "ifcfg-suse",
        ] {
            ok(&["write", "--input", &full, "--backend", backend, "--root", r]);
        }
        ok(&[
            "install-hotplug",
            "--root",
            r,
            "--imds",
            "aliyun",
            "--binary",
            "/usr/bin/enicfg",
        ]);
    };

    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let r = root.to_str().unwrap();
    fs::create_dir_all(root.join("etc")).unwrap();
    fs::write(
        root.join("etc/os-release"),
        "ID=debian\nVERSION_ID=\"12\"\n",
    )
    .unwrap();
    let before = tree(root);
    write_all(r);
    assert!(root.join("etc/network/interfaces.d").is_dir());
    let dry = ok(&["clean", "--root", r, "--dry-run"]);
    assert!(
        dry.contains(&format!(
            "# {r}/etc/network/interfaces.d/ will be removed if nothing but enicfg's files is in it (enicfg created it)"
        )),
        "{dry}"
    );
    let out = ok(&["clean", "--root", r]);
    assert!(
        out.contains(&format!("removed {r}/etc/network/interfaces.d/")),
        "{out}"
    );
    assert_eq!(tree(root), before, "{out}");

    // What was there stays: an empty directory of the image's own, and one enicfg made that now
    // holds somebody else's file.
    fs::create_dir_all(root.join("etc/network/interfaces.d")).unwrap();
    write_all(r);
    fs::write(
        root.join("etc/systemd/network/50-user.network"),
        "[Match]\nName=eth0\n",
    )
    .unwrap();
    let out = ok(&["clean", "--root", r]);
    let after = tree(root);
    for kept in [
        "etc/network/interfaces.d",
        "etc/systemd/network/50-user.network",
    ] {
        assert!(after.iter().any(|p| p == kept), "{kept} went: {out}");
    }
    assert!(!root.join("etc/netplan").exists(), "{out}");
    assert!(!root.join("var").exists(), "{out}");
}

/// A write that fails before any file is in place leaves no directory it made for them: here
/// the main file's temporary name is taken by a directory, after the dhclient hook directories
/// were made (a DHCP NIC with a metric on ifupdown).
#[test]
fn a_write_that_fails_removes_the_directories_it_made() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let r = root.to_str().unwrap();
    fs::create_dir_all(root.join("etc/network/.interfaces.enicfg-tmp")).unwrap();
    fs::write(root.join("etc/network/.interfaces.enicfg-tmp/x"), "").unwrap();
    let before = tree(&root.join("etc"));
    let dhcp = common::fixture("eni/aliyun-secondary-dhcp.yaml")
        .display()
        .to_string();
    let out = enicfg(&[
        "write",
        "--input",
        &dhcp,
        "--backend",
        "ifupdown",
        "--root",
        r,
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains(".interfaces.enicfg-tmp"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(tree(&root.join("etc")), before, "{}", text(&out.stderr));
}
