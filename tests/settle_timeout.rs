//! `enicfg write --restart --settle-timeout SECONDS` with a value that is not a number of seconds
//! above 0 is a usage error: exit status 2, one message naming the flag and the value, and
//! nothing written.
//!
//! `--restart` works on `/` only (it runs the apply commands here), so the value is only ever
//! checked on a live root. The test gives the static binary a `/` of its own: it runs as
//! `/enicfg` in a chroot that holds the binary, an os-release and the description, inside a
//! fresh network namespace. Were a value accepted, the write would land in that chroot and its
//! apply commands would find no shell and no network: neither the host's `/etc` nor its network
//! can be touched.

mod common;

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

/// `enicfg write --input /eni.yaml --restart SETTLE...` as `/enicfg` chrooted into `jail`, in a
/// new network namespace: its exit code and stderr, and whether it printed on stdout.
fn write_restart(jail: &Path, settle: &[&str]) -> (Option<i32>, String, bool) {
    let mut cmd = Command::new("unshare");
    cmd.args(["--net", "--", "/usr/sbin/chroot"])
        .arg(jail)
        .args(["/enicfg", "write", "--input", "/eni.yaml", "--restart"])
        .args(settle)
        .env_clear();
    let out: Output = common::run(&mut cmd);
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        !out.stdout.is_empty(),
    )
}

/// Every file under `dir`, relative to it, sorted.
fn tree(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            out.push(p.strip_prefix(dir).unwrap().display().to_string());
            if p.is_dir() && !p.is_symlink() {
                todo.push(p);
            }
        }
    }
    out.sort();
    out
}

/// A chroot holding the static binary, Debian 12's os-release and a description.
fn jail() -> tempfile::TempDir {
    let jail = tempfile::tempdir().unwrap();
    let dir = jail.path();
    fs::copy(common::static_bin::static_binary(), dir.join("enicfg")).unwrap();
    fs::create_dir_all(dir.join("etc")).unwrap();
    fs::copy(
        common::fixture("roots/debian-12/etc/os-release"),
        dir.join("etc/os-release"),
    )
    .unwrap();
    fs::copy(
        common::fixture("eni/full-secondary.yaml"),
        dir.join("eni.yaml"),
    )
    .unwrap();
    jail
}

#[test]
fn a_settle_timeout_that_is_not_seconds_above_zero_is_a_usage_error() {
    if !common::require_root("a_settle_timeout_that_is_not_seconds_above_zero_is_a_usage_error") {
        return;
    }
    let jail = jail();
    let before = tree(jail.path());
    // (the flag as typed, the value as the message names it: a number as parsed, a huge one in
    // exponent form; a value the parser rejects quoted)
    for (flag, named) in [
        ("--settle-timeout=-1", "-1"),
        ("--settle-timeout=-0.5", "-0.5"),
        ("--settle-timeout=0", "0"),
        ("--settle-timeout=abc", "'abc'"),
        ("--settle-timeout=", "''"),
        ("--settle-timeout=30s", "'30s'"),
        ("--settle-timeout=inf", "inf"),
        ("--settle-timeout=NaN", "NaN"),
        ("--settle-timeout=1e30", "1e30"),
        // Once past the check, `Instant::now() + 1e19 s` overflowed: a panic after the files
        // were written and applied.
        ("--settle-timeout=1e19", "1e19"),
        ("--settle-timeout=86401", "86401"),
    ] {
        let (code, err, printed) = write_restart(jail.path(), &[flag]);
        assert_eq!(code, Some(2), "{flag}: expected a usage error:\n{err}");
        assert!(
            err.starts_with("error: ") && err.contains("--settle-timeout") && err.contains(named),
            "{flag}: the message does not name the flag and {named}:\n{err}"
        );
        assert!(!printed, "{flag}: printed on stdout");
        assert_eq!(
            tree(jail.path()),
            before,
            "{flag}: the run changed the root"
        );
    }
    // A negative number as a separate word is the flag's value, not an option: the same usage
    // error, naming the flag.
    let (code, err, _) = write_restart(jail.path(), &["--settle-timeout", "-1"]);
    assert_eq!(code, Some(2), "--settle-timeout -1: {err}");
    assert!(
        err.contains("--settle-timeout -1: expected a number of seconds above 0 and at most 86400"),
        "--settle-timeout -1: {err}"
    );
    assert_eq!(
        tree(jail.path()),
        before,
        "--settle-timeout -1: changed the root"
    );
}

/// The same run with a valid value gets past the check (and writes into the jail, whose apply
/// commands then fail): the refusals above come from the value, not from the jail.
#[test]
fn a_settle_timeout_in_seconds_passes_the_check() {
    if !common::require_root("a_settle_timeout_in_seconds_passes_the_check") {
        return;
    }
    let jail = jail();
    for flag in [
        "--settle-timeout=5",
        "--settle-timeout=0.5",
        "--settle-timeout=86400",
    ] {
        let (code, err, _) = write_restart(jail.path(), &[flag]);
        assert_ne!(code, Some(2), "{flag}: {err}");
        assert!(!err.contains("--settle-timeout"), "{flag}: {err}");
        assert!(
            tree(jail.path()).iter().any(|f| f.contains("enicfg-eth1")),
            "{flag}: the write did not reach the files:\n{err}\n{:?}",
            tree(jail.path())
        );
    }
}
