//! Running the enicfg binary the tests built, as a user would, and reading what it printed.

use std::process::{Command, Output};

/// The binary under test.
pub const ENICFG: &str = env!("CARGO_BIN_EXE_enicfg");

/// `enicfg ARGS...`, whatever its exit status.
pub fn enicfg(args: &[&str]) -> Output {
    Command::new(ENICFG)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {ENICFG}: {e}"))
}

/// Output bytes as text.
pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// `enicfg ARGS...`, which must succeed; its standard output.
pub fn ok(args: &[&str]) -> String {
    let out = enicfg(args);
    assert!(
        out.status.success(),
        "enicfg {args:?} failed:\n{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

/// Asserts that what enicfg printed (stdout or stderr bytes) contains `needle`, showing all of
/// it when not.
#[track_caller]
pub fn says(printed: &[u8], needle: &str) {
    let printed = text(printed);
    assert!(
        printed.contains(needle),
        "expected {needle:?} in:\n{printed}"
    );
}
