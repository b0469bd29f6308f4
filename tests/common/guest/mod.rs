//! The booted-guest harness (`tests/guest.rs`, verifying.md §9): Debian roots built with
//! `mmdebstrap` and cached under `target/` ([`roots`]), booted with `systemd-nspawn` and systemd
//! as PID 1 ([`boot`]), NICs attached as veth pairs whose far ends live in a test-made "VPC"
//! namespace ([`nics`]), and a fake metadata service bound inside the guest ([`imds`]).
//!
//! One job per file; the test file reads like a user's session. Nothing here touches the host's
//! network or `/etc`: the guest has a private network namespace (`--private-network`), the VPC
//! side is a namespace of our own, and the guest's files live in a per-test copy of the root
//! under `target/tmp/`. Every guest, namespace and root copy is removed on drop, also when a test
//! fails. Where the suite cannot run (not root, a missing tool, no Debian mirror) it fails
//! loudly: it never skips.

pub mod boot;
pub mod imds;
pub mod nics;
pub mod roots;

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// `target/` (the parent of `CARGO_TARGET_TMPDIR`).
pub fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("CARGO_TARGET_TMPDIR has a parent")
        .to_path_buf()
}

/// Panics (never skips) unless the suite can run here: root, and the tools it drives.
pub fn require_tools(test: &str) {
    let status = fs::read_to_string("/proc/self/status").unwrap_or_default();
    let root = status
        .lines()
        .find(|l| l.starts_with("Uid:"))
        .is_some_and(|l| l.split_whitespace().nth(1) == Some("0"));
    assert!(
        root,
        "{test}: the booted-guest suite needs root (it boots systemd-nspawn guests); it never skips"
    );
    for (tool, package) in [
        ("mmdebstrap", "mmdebstrap"),
        ("systemd-nspawn", "systemd-container"),
        ("nsenter", "util-linux"),
        ("ip", "iproute2"),
        ("tar", "tar"),
    ] {
        let found = ["/usr/bin", "/usr/sbin", "/bin", "/sbin"]
            .iter()
            .any(|d| Path::new(d).join(tool).exists());
        assert!(
            found,
            "{test}: `{tool}` is missing: install the Debian package {package} (.ci/run does)"
        );
    }
}

/// The product binary the guests run: the static musl binary, built with the README's command
/// ([`crate::common::static_bin`]). Panics if the build fails: no other binary is ever used.
pub fn enicfg_binary() -> PathBuf {
    super::static_bin::static_binary()
}

/// Prints a report line and appends it to `$CARGO_TARGET_TMPDIR/guest-report.txt`, which
/// `.ci/run` prints after the tests: what ran, and what is a documented per-flavor limit.
pub fn report(line: &str) {
    eprintln!("{line}");
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join("guest-report.txt");
    if let Ok(mut f) = fs::OpenOptions::new().create(true).append(true).open(path) {
        let _ = writeln!(f, "{line}");
    }
}
