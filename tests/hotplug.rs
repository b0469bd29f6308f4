//! The hotplug files (issue 9 §3): rendered like every other output (snapshot-tested, written
//! atomically and idempotently, removed by `clean` and `uninstall-hotplug`), the boot unit
//! enabled in an image root with `systemctl --root`, and the units judged by
//! `systemd-analyze verify`. Their behaviour in booted guests is in `tests/guest.rs`.

mod common;

use std::fs;
use std::path::Path;
use std::process::Command;

use common::cli::{ENICFG, enicfg, ok, text};
use common::debian_root;

/// Every file `install-hotplug` writes, with path and mode, for both kinds of source.
#[test]
fn hotplug_files_snapshot() {
    let mut all = String::new();
    for args in [
        &[
            "--imds",
            "aws",
            "--exclude",
            "eth9",
            "--exclude",
            "0E:00:00:00:00:09",
        ][..],
        &[
            "--input",
            "/etc/enicfg/eni.yaml",
            "--backend",
            "nm-keyfile",
            "--timeout",
            "5",
            "--binary",
            "/opt/enicfg/bin/enicfg",
        ],
    ] {
        let root = debian_root();
        let r = root.path().to_str().unwrap();
        let mut a = vec!["install-hotplug", "--root", r, "--dry-run"];
        a.extend_from_slice(args);
        let out = ok(&a);
        all.push_str(&format!("## install-hotplug {}\n", args.join(" ")));
        all.push_str(&out.replace(r, "ROOT"));
    }
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(concat!(env!("CARGO_MANIFEST_DIR"), "/snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| insta::assert_snapshot!("hotplug-files", all));
}

/// Written once, idempotent, the boot unit enabled in the image (its `.wants` link), the
/// settings valid for `hotplug`; `uninstall-hotplug` removes all of it, and so does `clean`.
#[test]
fn install_uninstall_and_clean() {
    let root = debian_root();
    let r = root.path().to_str().unwrap();
    let out = ok(&["install-hotplug", "--root", r, "--imds", "aliyun"]);
    assert!(out.contains("ran: systemctl --root="), "{out}");
    let wants = root
        .path()
        .join("etc/systemd/system/multi-user.target.wants/enicfg-boot.service");
    assert!(fs::symlink_metadata(&wants).is_ok(), "{out}");
    let again = ok(&["install-hotplug", "--root", r, "--imds", "aliyun"]);
    assert!(!again.contains("installed "), "{again}");
    for p in [
        "etc/enicfg/enicfg.yaml",
        "etc/udev/rules.d/90-enicfg.rules",
        "etc/systemd/system/enicfg@.service",
        "etc/systemd/system/enicfg-remove@.service",
        "etc/systemd/system/enicfg-boot.service",
    ] {
        let m = fs::metadata(root.path().join(p)).unwrap();
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(m.permissions().mode() & 0o777, 0o644, "{p}");
    }
    let out = ok(&["uninstall-hotplug", "--root", r]);
    assert!(fs::symlink_metadata(&wants).is_err(), "{out}");
    assert!(
        !root
            .path()
            .join("etc/systemd/system/enicfg@.service")
            .exists()
    );
    assert!(ok(&["uninstall-hotplug", "--root", r]).starts_with("nothing to uninstall"));

    ok(&["install-hotplug", "--root", r, "--imds", "aliyun"]);
    let out = ok(&["clean", "--root", r]);
    assert!(fs::symlink_metadata(&wants).is_err(), "{out}");
    for p in ["etc/enicfg/enicfg.yaml", "etc/udev/rules.d/90-enicfg.rules"] {
        assert!(!root.path().join(p).exists(), "{p}: {out}");
    }
}

/// Bad settings are usage errors naming the flag; a binary path a unit file would misread is
/// refused.
#[test]
fn bad_settings_are_refused() {
    let root = debian_root();
    let r = root.path().to_str().unwrap();
    let out = enicfg(&["install-hotplug", "--root", r]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let out = enicfg(&["install-hotplug", "--root", r, "--input", "relative.yaml"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("must be an absolute path"));
    let out = enicfg(&[
        "install-hotplug",
        "--root",
        r,
        "--imds",
        "aws",
        "--binary",
        "/usr/bin/enicfg %n",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("--binary"),
        "{}",
        text(&out.stderr)
    );
    assert!(!Path::new(r).join("etc/enicfg").exists());
}

/// systemd's own checker accepts the units (the binary they run exists: the test's own).
#[test]
fn systemd_analyze_verifies_the_units() {
    let root = debian_root();
    let r = root.path().to_str().unwrap();
    ok(&[
        "install-hotplug",
        "--root",
        r,
        "--imds",
        "aws",
        "--binary",
        ENICFG,
    ]);
    let dir = root.path().join("etc/systemd/system");
    for unit in [
        "enicfg@eth1.service",
        "enicfg-remove@eth1.service",
        "enicfg-boot.service",
    ] {
        // Instances of templates are verified through a link with the instance's name.
        let path = dir.join(unit);
        if unit.contains('@') {
            let template = unit.split('@').next().unwrap().to_owned() + "@.service";
            std::os::unix::fs::symlink(dir.join(&template), &path).unwrap();
        }
        let out = Command::new("systemd-analyze")
            .args(["verify", "--man=no"])
            .arg(&path)
            .output()
            .unwrap();
        let err = text(&out.stderr);
        let complaints: Vec<&str> = err.lines().filter(|l| l.contains("enicfg")).collect();
        assert!(
            out.status.success() && complaints.is_empty(),
            "{unit}: systemd-analyze verify: {err}"
        );
    }
    // And it does complain about a unit that runs a binary that is not there.
    let bad = dir.join("enicfg-boot.service");
    let text_now = fs::read_to_string(&bad)
        .unwrap()
        .replace(ENICFG, "/nonexistent/enicfg");
    fs::write(&bad, text_now).unwrap();
    let out = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(&bad)
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "systemd-analyze accepted a missing binary"
    );
}
