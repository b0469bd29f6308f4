//! The `enicfg` binary: parse the command line, run, print `error: ...` once, exit.
//!
//! Exit status: 0 on success, 1 on error (or `verify` findings), 2 on usage errors, 3 when
//! `write --check` finds files that would change.

use std::io::Write as _;
use std::process::ExitCode;

use clap::Parser as _;

/// The allocator. musl's own (mallocng), which the shipped static binary would otherwise use,
/// maps and unmaps memory on nearly every change of an allocation's size class: half of a 1-NIC
/// `render`'s time went to `mmap`/`munmap`. TLSF takes memory from the kernel 64 KiB at a time,
/// keeps it until exit (every enicfg run is short), and costs nothing to start, which matters
/// because enicfg runs at every boot and NIC attach. Measured in README "Performance".
#[global_allocator]
static ALLOC: rlsf::GlobalTlsf = rlsf::GlobalTlsf::new();

fn main() -> ExitCode {
    let cli = enicfg::cli::Cli::parse();
    enicfg::set_verbosity(cli.verbosity());
    match enicfg::run(&cli.command) {
        Ok(outcome) => {
            let mut stdout = std::io::stdout().lock();
            let written = stdout
                .write_all(outcome.stdout.as_bytes())
                .and_then(|()| stdout.flush());
            if written.is_err() {
                return ExitCode::FAILURE;
            }
            ExitCode::from(outcome.code)
        }
        Err(err) => {
            eprintln!("error: {err:#}");
            if err.downcast_ref::<enicfg::UsageError>().is_some() {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}
