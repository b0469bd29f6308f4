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
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown distro \"plan9 4\""));
}
