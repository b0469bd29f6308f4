//! The exec floor of benches/whole-process.sh: a static binary that does nothing, built with
//! the same toolchain and target as enicfg's static binary.
fn main() {}
