//! The command line (clap derive; the doc comments are the help text).
// The doc comments are clap help text, where `ID[:VERSION]` is plain text, not a doc link.
#![allow(rustdoc::broken_intra_doc_links)]

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::backend::BackendKind;
use crate::source::flags::InterfaceFlags;

/// Configure secondary elastic network interfaces (ENIs) inside cloud Linux guests.
///
/// enicfg reads a description of the interfaces (our YAML/JSON schema, or flags for one
/// interface), validates it, and renders it in the native format of the target distro:
/// RHEL ifcfg, SUSE ifcfg (wicked), Debian ifupdown, netplan or NetworkManager keyfiles. It
/// writes atomically, backs up files it did not generate, and prints the command that applies
/// the change.
///
/// Exit status: 0 on success (including "nothing to change"), 1 on error, 2 on usage errors.
#[derive(Debug, Parser)]
#[command(name = "enicfg", version, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print every file (path, mode, contents) and the apply commands; writes nothing.
    Render(RenderArgs),
    /// Write the files under ROOT (default /), atomically, with backups.
    Write(WriteArgs),
    /// Print the detected distro, network stack, backend and commands.
    Detect(DetectArgs),
    /// Compare the live kernel state with the description; exit 1 on any mismatch.
    ///
    /// Checks, per described interface: link up with carrier, MTU, MAC, addresses (missing,
    /// extra, primary first), the connected and extra routes, no main default route unless
    /// `default_route`, the policy table's routes and rules (nothing missing, nothing extra).
    /// State enicfg does not own (other interfaces, tables, rules) is ignored. Also warns about
    /// strict rp_filter on policy-routed NICs, NICs sharing a subnet without policy routing, and
    /// files under ROOT that shadow enicfg's (an earlier-sorting networkd file, a netplan
    /// catch-all, a NetworkManager profile that wins).
    Verify(VerifyArgs),
}

/// Where the interface description comes from.
#[derive(Debug, Clone, Args)]
pub struct SourceArgs {
    /// Interface description (YAML or JSON, see README "Input schema"); `-` reads stdin.
    #[arg(long, short = 'i', value_name = "FILE", conflicts_with = "iface")]
    pub input: Option<PathBuf>,
    /// Also configure interfaces marked `primary: true` (left alone by default).
    #[arg(long)]
    pub include_primary: bool,
    /// One interface described by flags.
    #[command(flatten)]
    pub flags: InterfaceFlags,
}

/// Which system the files are for (at most one; default: detect from ROOT's os-release).
#[derive(Debug, Clone, Args)]
#[group(id = "target", multiple = false)]
pub struct TargetArgs {
    /// Target distro as ID[:VERSION] (os-release ID and VERSION_ID), e.g. centos:7, debian:12.
    #[arg(long, value_name = "ID[:VERSION]")]
    pub distro: Option<String>,
    /// Read the distro from this os-release file.
    #[arg(long, value_name = "FILE")]
    pub os_release: Option<PathBuf>,
    /// Render this format, whatever the distro.
    #[arg(long, value_enum, value_name = "NAME")]
    pub backend: Option<BackendKind>,
}

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum Format {
    /// Human-readable text.
    #[default]
    Text,
    /// JSON for scripts.
    Json,
}

/// `enicfg render`.
#[derive(Debug, Clone, Args)]
pub struct RenderArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub source: SourceArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub target: TargetArgs,
    /// Root whose files are inspected (os-release, /etc/network/interfaces); nothing is written.
    #[arg(long, value_name = "DIR", default_value = "/")]
    pub root: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

/// `enicfg write`.
#[derive(Debug, Clone, Args)]
pub struct WriteArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub source: SourceArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub target: TargetArgs,
    /// Write under this directory instead of / (image builds).
    #[arg(long, value_name = "DIR", default_value = "/")]
    pub root: PathBuf,
    /// Print a unified diff against the files on disk and write nothing.
    #[arg(long, conflicts_with = "restart")]
    pub dry_run: bool,
    /// After writing, run the per-interface apply commands (only with --root /).
    #[arg(long)]
    pub restart: bool,
}

/// `enicfg verify`.
#[derive(Debug, Clone, Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub source: SourceArgs,
    /// Read the state inside this network namespace (`ip -n NAME`).
    #[arg(long, value_name = "NAME")]
    pub netns: Option<String>,
    /// Root whose configuration files are checked for files that shadow enicfg's.
    #[arg(long, value_name = "DIR", default_value = "/")]
    pub root: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

/// `enicfg detect`.
#[derive(Debug, Clone, Args)]
pub struct DetectArgs {
    /// Root to inspect.
    #[arg(long, value_name = "DIR", default_value = "/")]
    pub root: PathBuf,
    /// Use this distro instead of ROOT's os-release, as ID[:VERSION].
    #[arg(long, value_name = "ID[:VERSION]", conflicts_with = "os_release")]
    pub distro: Option<String>,
    /// Read the distro from this os-release file.
    #[arg(long, value_name = "FILE")]
    pub os_release: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::Cli;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }
}
