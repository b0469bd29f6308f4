//! Distro detection: every row of the distro table has a fake root under
//! `tests/fixtures/roots/` (real os-release contents, and the legacy release files of EL6 and
//! SLES 11). `enicfg detect --root` must pick the expected backend; the commands are reviewed in
//! one snapshot table.

use std::path::Path;
use std::process::Command;

const ENICFG: &str = env!("CARGO_BIN_EXE_enicfg");

/// Root fixture -> expected backend, or the start of the expected error.
const EXPECTED: &[(&str, &str)] = &[
    ("almalinux-10.0", "nm-keyfile"),
    ("almalinux-8.3", "ifcfg-rh"),
    ("alinux-2", "ifcfg-rh"),
    ("alinux-3", "ifcfg-rh"),
    ("alinux-4", "nm-keyfile"),
    ("amzn-2", "ifcfg-rh"),
    ("amzn-2018.03", "ifcfg-rh"),
    ("amzn-2023", "networkd"),
    ("anolis-23", "nm-keyfile"),
    ("anolis-7.9", "ifcfg-rh"),
    ("anolis-8.8", "ifcfg-rh"),
    ("centos-6", "ifcfg-rh"),
    ("centos-7", "ifcfg-rh"),
    ("centos-8", "ifcfg-rh"),
    ("centos-stream-10", "nm-keyfile"),
    ("centos-stream-9", "nm-keyfile"),
    ("debian-10", "ifupdown"),
    ("debian-11", "ifupdown"),
    ("debian-12", "netplan"),
    ("debian-13", "netplan"),
    ("debian-8", "ifupdown"),
    ("debian-9", "ifupdown"),
    ("debian-testing", "netplan"),
    ("derivative-of-rhel-8", "ifcfg-rh"),
    ("fedora-32", "ifcfg-rh"),
    ("fedora-33", "nm-keyfile"),
    ("fedora-35", "nm-keyfile"),
    ("fedora-36", "nm-keyfile"),
    ("fedora-42", "nm-keyfile"),
    ("kylin-v10", "ifcfg-rh"),
    ("ol-7.5", "ifcfg-rh"),
    ("ol-9.2", "nm-keyfile"),
    ("openeuler-20.03", "ifcfg-rh"),
    ("openeuler-22.03", "ifcfg-rh"),
    ("openeuler-24.03", "ifcfg-rh"),
    ("opensuse-42.1", "ifcfg-suse"),
    ("opensuse-leap-15.5", "ifcfg-suse"),
    ("rhel-10.0", "nm-keyfile"),
    ("rhel-6", "ifcfg-rh"),
    ("rhel-7.5", "ifcfg-rh"),
    ("rhel-8.4", "ifcfg-rh"),
    ("rhel-9.6", "nm-keyfile"),
    ("rocky-10.0", "nm-keyfile"),
    ("rocky-8.4", "ifcfg-rh"),
    ("rocky-9.3", "nm-keyfile"),
    ("sles-11.3", "ifcfg-suse"),
    ("sles-11.4", "ifcfg-suse"),
    ("sles-12.1", "ifcfg-suse"),
    ("sles-15.4", "ifcfg-suse"),
    ("sles-16.0", "nm-keyfile"),
    ("tencentos-2.4", "ifcfg-rh"),
    ("tencentos-3.1", "ifcfg-rh"),
    ("tencentos-4", "nm-keyfile"),
    ("tlinux-2.2", "ifcfg-rh"),
    ("ubuntu-14.04", "ifupdown"),
    ("ubuntu-16.04", "ifupdown"),
    ("ubuntu-18.04", "netplan"),
    ("ubuntu-20.04", "netplan"),
    ("ubuntu-22.04", "netplan"),
    ("ubuntu-24.04", "netplan"),
    ("uos-20", "error: unknown distro"),
    ("usr-lib-only-debian-12", "netplan"),
];

fn detect(root: &Path) -> (bool, serde_json::Value, String) {
    let out = Command::new(ENICFG)
        .args(["detect", "--format", "json", "--root"])
        .arg(root)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let json = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
    (out.status.success(), json, stderr)
}

#[test]
fn every_distro_row_gets_its_backend_and_commands() {
    let roots = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/roots");
    let mut dirs: Vec<String> = std::fs::read_dir(&roots)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with("netplan-") && !n.starts_with("ifupdown-"))
        .collect();
    dirs.sort();
    let mut listed: Vec<&str> = EXPECTED.iter().map(|(d, _)| *d).collect();
    listed.sort();
    assert_eq!(
        dirs, listed,
        "every root fixture needs an expectation (and vice versa)"
    );

    let mut table = String::new();
    for (dir, expected) in EXPECTED {
        let (ok, json, stderr) = detect(&roots.join(dir));
        if let Some(err) = expected.strip_prefix("error: ") {
            assert!(!ok, "{dir}: expected an error, got {json}");
            assert!(
                stderr.contains(err),
                "{dir}: expected {err:?} in {stderr:?}"
            );
            let stderr = stderr.replace(&roots.display().to_string(), "ROOTS");
            table.push_str(&format!("{dir}: {}\n", stderr.trim()));
            continue;
        }
        assert!(ok, "{dir}: detect failed: {stderr}");
        assert_eq!(json["backend"], *expected, "{dir}: {json}");
        table.push_str(&format!(
            "{dir}: {} {} -> {} | restart: {} | interface: {}\n",
            json["distro"]["id"].as_str().unwrap(),
            json["distro"]["version_id"].as_str().unwrap_or("-"),
            json["backend"].as_str().unwrap(),
            json["commands"]["restart"].as_str().unwrap(),
            json["commands"]["interface"][0].as_str().unwrap(),
        ));
    }
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(concat!(env!("CARGO_MANIFEST_DIR"), "/snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| insta::assert_snapshot!("distro-table", table));
}

#[test]
fn tencentos_31_prefers_etc_over_usr_lib() {
    let roots = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/roots");
    let (ok, json, stderr) = detect(&roots.join("tencentos-3.1"));
    assert!(ok, "{stderr}");
    assert_eq!(json["distro"]["id"], "tencentos");
    assert_eq!(json["stack"], "network-manager-ifcfg");
}

#[test]
fn amazon_linux_2_keeps_ec2_net_utils_away() {
    let roots = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/roots");
    let (ok, json, stderr) = detect(&roots.join("amzn-2"));
    assert!(ok, "{stderr}");
    assert_eq!(
        json["stack"]["initscripts"]["ec2_net_utils"], true,
        "{json}"
    );
}

#[test]
fn distro_override_and_os_release_file() {
    let out = Command::new(ENICFG)
        .args(["detect", "--distro", "Debian:11"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("backend:   ifupdown"), "{text}");
    let osr = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/roots/openeuler-22.03/etc/os-release");
    let out = Command::new(ENICFG)
        .args(["detect", "--os-release"])
        .arg(&osr)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("backend:   ifcfg-rh"));
    let out = Command::new(ENICFG)
        .args(["detect", "--distro", "plan9:4"])
        .output()
        .unwrap();
    // A --distro value the table does not know is a usage error.
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown distro ID plan9"));
}

// ---------------------------------------------------------------------------------------------
// Image-shaped roots: the same rows, laid out the way real images are (issue 8 §1).
// ---------------------------------------------------------------------------------------------

/// How an image lays out its release file and /usr.
#[derive(Debug, Clone, Copy)]
enum Layout {
    /// `etc/os-release -> ../usr/lib/os-release` (most distros).
    RelativeLink,
    /// `etc/os-release -> /usr/lib/os-release`: on the build host that is the host's file.
    AbsoluteLink,
    /// `etc/os-release -> ../../../../../../usr/lib/os-release`: climbs above ROOT.
    OutsideLink,
    /// No `etc/os-release` at all, only `usr/lib/os-release` (os-release(5)'s fallback).
    UsrLibOnly,
    /// Relative release link, merged /usr (`bin`, `sbin`, `lib`, `lib64` -> `usr/...`), and the
    /// stack's own files installed under /usr, its unit enabled by an absolute
    /// `/lib/systemd/system/...` link.
    MergedUsr,
}

const LAYOUTS: [Layout; 5] = [
    Layout::RelativeLink,
    Layout::AbsoluteLink,
    Layout::OutsideLink,
    Layout::UsrLibOnly,
    Layout::MergedUsr,
];

fn copy_tree(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).unwrap();
    for e in std::fs::read_dir(src).unwrap() {
        let e = e.unwrap();
        let to = dst.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &to);
        } else {
            std::fs::copy(e.path(), &to).unwrap();
        }
    }
}

fn put(root: &Path, path: &str, text: &str) {
    let full = root.join(path.trim_start_matches('/'));
    std::fs::create_dir_all(full.parent().unwrap()).unwrap();
    std::fs::write(full, text).unwrap();
}

fn link(root: &Path, path: &str, target: &str) {
    let full = root.join(path.trim_start_matches('/'));
    std::fs::create_dir_all(full.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(target, full).unwrap();
}

/// Installs the files that show `stack` at work, the way a merged-/usr image has them: under
/// /usr only, reached through the `lib`/`sbin` links, units enabled by absolute links.
fn install_stack(r: &Path, stack: &serde_json::Value) {
    let enable = |unit: &str| {
        put(r, &format!("/usr/lib/systemd/system/{unit}"), "[Unit]\n");
        link(
            r,
            &format!("/etc/systemd/system/multi-user.target.wants/{unit}"),
            &format!("/lib/systemd/system/{unit}"),
        );
    };
    let nm = |plugins: &str| {
        put(r, "/usr/sbin/NetworkManager", "");
        enable("NetworkManager.service");
        put(r, "/usr/share/enicfg-test/plugins.conf", plugins);
        link(
            r,
            "/etc/NetworkManager/conf.d/00-plugins.conf",
            "/usr/share/enicfg-test/plugins.conf",
        );
    };
    let name = stack
        .as_str()
        .or_else(|| {
            stack
                .as_object()
                .and_then(|o| o.keys().next().map(String::as_str))
        })
        .unwrap_or("none");
    match name {
        "network-manager-ifcfg" => {
            nm("[main]\nplugins=ifcfg-rh,keyfile\n");
            put(
                r,
                "/usr/lib64/NetworkManager/1.40.16/libnm-settings-plugin-ifcfg-rh.so",
                "",
            );
        }
        "network-manager-keyfile" => nm("[main]\nplugins=keyfile\n"),
        "netplan" => {
            put(r, "/usr/sbin/netplan", "");
            put(
                r,
                "/usr/lib/netplan/00-image.yaml",
                "network: {version: 2}\n",
            );
        }
        "networkd" => enable("systemd-networkd.service"),
        "wicked" => {
            put(r, "/usr/sbin/wicked", "");
            enable("wicked.service");
        }
        "initscripts" => {
            put(r, "/etc/sysconfig/network-scripts/network-functions", "");
            if stack["initscripts"]["sysv"] == true {
                put(r, "/etc/rc.d/init.d/network", "");
            } else {
                enable("network.service");
            }
        }
        "ifupdown" => {
            put(r, "/usr/sbin/ifup", "");
            put(
                r,
                "/etc/network/interfaces",
                "source /etc/network/interfaces.d/*\n",
            );
        }
        // SUSE 11's sysconfig scripts leave no evidence the probe looks for, and an unknown
        // distro (an error row) has no stack.
        "suse-sysconfig" | "none" => {}
        other => panic!("no image layout for stack {other}"),
    }
}

/// An image-shaped copy of a flat fixture root. `None` when the layout does not apply.
fn image_variant(
    flat: &Path,
    layout: Layout,
    stack: &serde_json::Value,
) -> Option<tempfile::TempDir> {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path();
    copy_tree(flat, r);
    // The release files in /etc move to /usr/lib, and /etc links to them.
    let mut moved = 0;
    for name in [
        "os-release",
        "centos-release",
        "redhat-release",
        "SuSE-release",
    ] {
        let etc = r.join("etc").join(name);
        if !etc.exists() {
            continue;
        }
        let inner = if name == "os-release" && !r.join("usr/lib/os-release").exists() {
            "usr/lib/os-release".to_owned()
        } else {
            // TencentOS 3.1 keeps CentOS values in usr/lib/os-release: keep that file as is.
            format!("usr/lib/enicfg-test/{name}")
        };
        std::fs::create_dir_all(r.join(&inner).parent().unwrap()).unwrap();
        std::fs::rename(&etc, r.join(&inner)).unwrap();
        let depth = inner.matches('/').count();
        let target = match layout {
            Layout::RelativeLink | Layout::MergedUsr => format!("../{inner}"),
            Layout::AbsoluteLink => format!("/{inner}"),
            Layout::OutsideLink => format!("{}{inner}", "../".repeat(depth + 6)),
            Layout::UsrLibOnly if inner == "usr/lib/os-release" => {
                moved += 1;
                continue;
            }
            Layout::UsrLibOnly => return None,
        };
        link(r, &format!("/etc/{name}"), &target);
        moved += 1;
    }
    if moved == 0 {
        return None;
    }
    if let Layout::MergedUsr = layout {
        for d in ["bin", "sbin", "lib", "lib64"] {
            std::fs::create_dir_all(r.join("usr").join(d)).unwrap();
            link(r, &format!("/{d}"), &format!("usr/{d}"));
        }
        install_stack(r, stack);
    }
    Some(dir)
}

#[test]
fn image_shaped_roots_detect_like_the_flat_ones() {
    let roots = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/roots");
    let mut checked = 0;
    for (dir, expected) in EXPECTED {
        let flat = roots.join(dir);
        let (flat_ok, flat_json, flat_stderr) = detect(&flat);
        for layout in LAYOUTS {
            let Some(image) = image_variant(&flat, layout, &flat_json["stack"]) else {
                continue;
            };
            let (ok, json, stderr) = detect(image.path());
            let what = format!("{dir} as {layout:?}");
            if let Some(err) = expected.strip_prefix("error: ") {
                assert!(!flat_ok && !ok, "{what}: expected an error, got {json}");
                assert!(stderr.contains(err), "{what}: {stderr}");
                assert!(flat_stderr.contains(err), "{what}: {flat_stderr}");
                checked += 1;
                continue;
            }
            assert!(ok, "{what}: detect failed: {stderr}");
            assert_eq!(stderr, "", "{what}: stray stderr");
            assert_eq!(json["distro"], flat_json["distro"], "{what}");
            assert_eq!(json["stack"], flat_json["stack"], "{what}: {json}");
            assert_eq!(json["backend"], *expected, "{what}: {json}");
            if let Layout::MergedUsr = layout {
                // The stack's own files were found through the links, inside the image.
                let ev = enicfg::probe::gather(image.path(), false).unwrap();
                let notes = ev.notes.join("; ");
                assert!(
                    !notes.contains("missing inside the root"),
                    "{what}: {notes}"
                );
                if json["stack"] != "suse-sysconfig" {
                    assert!(!ev.notes.is_empty(), "{what}: no evidence found");
                }
                match json["stack"].as_str() {
                    Some("network-manager-ifcfg") => {
                        assert!(ev.nm_ifcfg_rh_plugin, "{what}");
                        assert_eq!(
                            ev.nm_plugins,
                            Some(vec!["ifcfg-rh".into(), "keyfile".into()])
                        );
                    }
                    Some("network-manager-keyfile") => {
                        assert_eq!(ev.nm_plugins, Some(vec!["keyfile".into()]), "{what}");
                    }
                    Some("netplan") => {
                        assert!(notes.contains("YAML in /lib/netplan"), "{what}: {notes}")
                    }
                    _ if json["stack"].get("ifupdown").is_some() => {
                        assert!(notes.contains("/sbin/ifup and"), "{what}: {notes}")
                    }
                    _ => {}
                }
            }
            checked += 1;
        }
    }
    assert!(
        checked > 4 * EXPECTED.len(),
        "only {checked} variants checked"
    );
}

/// `detect --root` on a root holding only the given links and files.
fn detect_links(
    links: &[(&str, &str)],
    files: &[(&str, &str)],
) -> (bool, serde_json::Value, String) {
    let dir = tempfile::tempdir().unwrap();
    for (path, target) in links {
        link(dir.path(), path, target);
    }
    for (path, text) in files {
        put(dir.path(), path, text);
    }
    let (ok, json, stderr) = detect(dir.path());
    (
        ok,
        json,
        stderr.replace(&dir.path().display().to_string(), "ROOT"),
    )
}

#[test]
fn a_dangling_os_release_link_never_reads_the_build_host() {
    // The proof needs a host file the link would reach if it were followed on the host.
    let host = std::fs::read_to_string("/usr/lib/os-release")
        .expect("this test needs the build host's /usr/lib/os-release to prove it is not read");
    assert!(host.contains("ID="), "{host}");
    for target in [
        "/usr/lib/os-release",
        "../usr/lib/os-release",
        "../../../../../../usr/lib/os-release",
    ] {
        let (ok, json, stderr) = detect_links(&[("/etc/os-release", target)], &[]);
        assert!(!ok, "{target}: read the host's file: {json}");
        assert!(
            stderr.contains(&format!(
                "error: cannot tell the distro of ROOT: no etc/os-release, usr/lib/os-release or legacy release file (ROOT/etc/os-release is a symlink to {target}, which does not exist inside ROOT)"
            )),
            "{target}: {stderr}"
        );
    }
    // With a legacy release file in the image, that one is used instead.
    let (ok, json, stderr) = detect_links(
        &[("/etc/os-release", "/usr/lib/os-release")],
        &[("/etc/redhat-release", "CentOS release 6.7 (Final)\n")],
    );
    assert!(ok, "{stderr}");
    assert_eq!(json["distro"]["id"], "centos", "{json}");
}

#[test]
fn a_dangling_etc_link_falls_back_to_usr_lib_os_release() {
    let (ok, json, stderr) = detect_links(
        &[("/etc/os-release", "../usr/share/os-release-gone")],
        &[("/usr/lib/os-release", "ID=\"alinux\"\nVERSION_ID=\"3\"\n")],
    );
    assert!(ok, "{stderr}");
    assert_eq!(json["distro"]["id"], "alinux", "{json}");
    assert_eq!(json["backend"], "ifcfg-rh", "{json}");
    assert!(
        json["reason"]
            .as_str()
            .unwrap()
            .contains("usr/lib/os-release)"),
        "{json}"
    );
}

#[test]
fn an_os_release_link_loop_is_a_clear_error() {
    let (ok, _, stderr) = detect_links(
        &[
            ("/etc/os-release", "/usr/lib/os-release"),
            ("/usr/lib/os-release", "../../etc/os-release"),
        ],
        &[],
    );
    assert!(!ok);
    assert!(
        stderr.contains("error: cannot resolve /etc/os-release inside ROOT: more than 40 symbolic links (a loop?)"),
        "{stderr}"
    );
    // A loop where the probe looks (a unit link) is named too.
    let (ok, _, stderr) = detect_links(
        &[
            ("/etc/os-release", "../usr/lib/os-release"),
            ("/lib", "usr/lib"),
            ("/usr/lib", "../lib"),
        ],
        &[],
    );
    assert!(!ok);
    assert!(stderr.contains("cannot resolve"), "{stderr}");
    assert!(stderr.contains("more than 40 symbolic links"), "{stderr}");
}

#[test]
fn detect_on_this_machine_prints_nothing_on_stderr() {
    // ROOT `/`: the build host itself, read only. On a host without systemd as PID 1 (a
    // container), systemctl's complaints must not leak; `why` says once what was not probed.
    let out = Command::new(ENICFG).args(["detect"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(stderr, "", "stray stderr");
    if !Path::new("/run/systemd/system").exists() {
        assert_eq!(
            stdout.matches("running services not probed").count(),
            1,
            "{stdout}"
        );
    }
}
