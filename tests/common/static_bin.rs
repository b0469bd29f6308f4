//! The shipped artifact: the static (musl) binary, built with the README's command.
//!
//! Tests that judge the static binary (the empty-chroot test, the booted guests) build it
//! once per test process with exactly the command the README gives users, and fail loudly
//! when it cannot be built: they never fall back to another binary.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

/// The target the static binary is built for.
pub const TARGET: &str = "x86_64-unknown-linux-musl";

/// Builds (or finds up to date) the static binary and returns its path.
pub fn static_binary() -> PathBuf {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    BUILT
        .get_or_init(build)
        .clone()
        .unwrap_or_else(|e| panic!("{e}"))
}

fn build() -> Result<PathBuf, String> {
    let manifest = env!("CARGO_MANIFEST_DIR");
    let out = Command::new(env!("CARGO"))
        .args(["build", "--release", "--locked", "--target", TARGET])
        .current_dir(manifest)
        .output()
        .map_err(|e| format!("cannot run cargo to build the static binary: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "`cargo build --release --locked --target {TARGET}` failed ({}); is the target installed (`rustup target add {TARGET}`)?\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| PathBuf::from(manifest).join("target"), PathBuf::from);
    let path = target_dir.join(format!("{TARGET}/release/enicfg"));
    if !path.is_file() {
        return Err(format!("{} is missing after the build", path.display()));
    }
    Ok(path)
}
