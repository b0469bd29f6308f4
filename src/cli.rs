//! The command line (clap derive; the doc comments are the help text).
// The doc comments are clap help text, where `ID[:VERSION]` is plain text, not a doc link.
#![allow(rustdoc::broken_intra_doc_links)]

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::backend::BackendKind;
use crate::source::flags::InterfaceFlags;
use crate::source::metadata::Cloud;

/// Configure secondary elastic network interfaces (ENIs) inside cloud Linux guests.
///
/// enicfg reads a description of the interfaces (our YAML/JSON schema, flags for one
/// interface, or a cloud's instance metadata), validates it, and renders it in the native
/// format of the target distro: RHEL ifcfg, SUSE ifcfg (wicked), Debian ifupdown, netplan,
/// NetworkManager keyfiles or systemd-networkd. `write` writes atomically, removes the files of
/// NICs no longer described, backs up files it did not generate, and prints the command that
/// applies the change (`--restart` runs it and verifies the result; `--check` detects drift).
///
/// Exit status: 0 on success (including "nothing to change"), 1 on error (and for verify, on any
/// mismatch), 2 on usage errors, 3 when `write --check` finds a file that would change.
#[derive(Debug, Parser)]
#[command(name = "enicfg", version, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
    /// Say only results, warnings and errors: no notes, and none of the lines write, clean and
    /// the hotplug commands print about what they did (the exit status tells).
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Also say, on stderr, what enicfg decided and why (the interfaces read, the target and how
    /// it was detected, each command it runs).
    #[arg(short, long, global = true)]
    pub verbose: bool,
}

impl Cli {
    /// The verbosity `-q`/`-v` ask for.
    pub fn verbosity(&self) -> crate::Verbosity {
        if self.quiet {
            crate::Verbosity::Quiet
        } else if self.verbose {
            crate::Verbosity::Verbose
        } else {
            crate::Verbosity::Normal
        }
    }
}

/// Subcommands.
///
/// Each one's arguments are built only when it runs (`defer`): building them all was most of a
/// one-NIC `render`'s time. So the argument structs below carry plain comments, not doc
/// comments: a deferred struct's doc comment would replace the subcommand's help text.
#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum Command {
    /// Print every file (path, mode, contents) and the apply commands; writes nothing.
    Render(RenderArgs),
    /// Write the files under ROOT (default /), atomically, with backups; or show the diff
    /// (--dry-run), detect drift (--check), or apply and verify (--restart).
    ///
    /// The files enicfg generated earlier that the description no longer renders are removed,
    /// files it did not generate are backed up before being replaced and never removed. A run
    /// that changes nothing says so. Without --restart on / it prints the command that applies
    /// the change; an image root (--root DIR) is applied by its own boot. --check exits 3 when a
    /// file would change. --format json prints a summary of the files, backups and commands.
    Write(WriteArgs),
    /// Print the detected distro, network stack, backend and commands.
    Detect(DetectArgs),
    /// Check the live kernel state (links, addresses, routes, rules, MTU) against the
    /// description; exit 1 on any mismatch.
    ///
    /// Reads the state with `ip -json` (inside --netns NAME when given). Checks, per described
    /// interface: link up with carrier, MTU, MAC, addresses (missing,
    /// extra, primary first), the connected and extra routes, no main default route unless
    /// `default_route`, the policy table's routes and rules (nothing missing, nothing extra).
    /// State enicfg does not own (other interfaces, tables, rules) is ignored. Also warns about
    /// strict rp_filter on policy-routed NICs, NICs sharing a subnet without policy routing, and
    /// files under ROOT that shadow enicfg's (an earlier-sorting networkd file, a netplan
    /// catch-all, a NetworkManager profile that wins).
    Verify(VerifyArgs),
    /// Crawl the NIC part of a cloud's metadata service and print it as a JSON document.
    ///
    /// The document has the shape `--input` accepts (EC2-style trees as nested objects with the
    /// raw string values; OpenStack/Huawei `network_data.json` as served), so a pipeline can
    /// save it and render later: `enicfg fetch --cloud aws > nics.json`, then
    /// `enicfg write --input nics.json`. Fails, naming the URL and how, rather than print an
    /// incomplete document.
    Fetch(FetchArgs),
    /// Remove every file enicfg generated under ROOT and put back what it backed up.
    ///
    /// For images: capture them without the build machine's NICs (what the Alibaba doc asks
    /// users to do by hand). Removes the files that carry enicfg's marker in the stacks'
    /// directories, restores the newest backup of every file enicfg replaced, then removes
    /// ROOT/var/lib/enicfg. Files enicfg did not generate are never removed.
    Clean(CleanArgs),
    /// Install the udev rule, systemd units and settings that follow NIC attach and detach.
    ///
    /// On a NIC's `add` the udev rule starts `enicfg@NIC.service`, which waits until the
    /// metadata service lists the NIC, writes (reconciling every file), applies that NIC with
    /// its stack's command and verifies it; on `remove`, `enicfg-remove@NIC.service` removes
    /// that NIC's files and takes back its rules; at boot `enicfg-boot.service` reconciles
    /// every NIC once. All read ROOT/etc/enicfg/enicfg.yaml, which this writes from the flags.
    InstallHotplug(InstallHotplugArgs),
    /// Remove what install-hotplug installed (disabling the boot unit).
    UninstallHotplug(UninstallHotplugArgs),
    /// What the hotplug units run: `add NIC`, `remove NIC` or `boot`, with the settings of
    /// /etc/enicfg/enicfg.yaml.
    Hotplug(HotplugArgs),
    /// Print the completion script for a shell.
    ///
    /// The packages install it; by hand: bash `enicfg completions bash >
    /// ~/.local/share/bash-completion/completions/enicfg`, zsh `enicfg completions zsh >
    /// DIR/_enicfg` (DIR in $fpath), fish `enicfg completions fish >
    /// ~/.config/fish/completions/enicfg.fish`.
    Completions(CompletionsArgs),
    /// Write the man pages, enicfg.1 and one enicfg-COMMAND.1 per command, into a directory
    /// (for packaging).
    #[command(hide = true)]
    Man(ManArgs),
}

// `enicfg completions`.
#[derive(Debug, Clone, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum, value_name = "SHELL")]
    pub shell: crate::docs::Shell,
}

// `enicfg man`.
#[derive(Debug, Clone, Args)]
pub struct ManArgs {
    /// The directory to write the pages into (created if missing).
    #[arg(long, value_name = "DIR")]
    pub out_dir: PathBuf,
}

// `enicfg install-hotplug`.
#[derive(Debug, Clone, Args)]
pub struct InstallHotplugArgs {
    /// Install into this root instead of / (image builds).
    #[arg(long, value_name = "DIR", default_value = "/")]
    pub root: PathBuf,
    /// The units follow this cloud's live metadata service.
    #[arg(
        long,
        value_enum,
        value_name = "CLOUD",
        required_unless_present = "input"
    )]
    pub imds: Option<Cloud>,
    /// The metadata service's address, when not the cloud's documented one.
    #[arg(long, value_name = "URL", requires = "imds")]
    pub endpoint: Option<String>,
    /// The units follow this description file (a path inside the guest) instead.
    #[arg(long, short = 'i', value_name = "FILE", conflicts_with = "imds")]
    pub input: Option<PathBuf>,
    /// Never touch this interface, by MAC or name (repeatable).
    #[arg(long, value_name = "MAC|NAME")]
    pub exclude: Vec<String>,
    /// No policy routing for secondary NICs.
    #[arg(long)]
    pub no_policy_routing: bool,
    /// How long the units wait for the metadata service to list a NIC, in seconds.
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = 60.0,
        allow_negative_numbers = true
    )]
    pub timeout: f64,
    /// Where enicfg is installed in the guest [default: the first of /usr/local/bin/enicfg and
    /// /usr/bin/enicfg that exists under ROOT, else /usr/local/bin/enicfg].
    #[arg(long, value_name = "PATH")]
    pub binary: Option<String>,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub target: TargetArgs,
    /// Print the diff and change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

// `enicfg uninstall-hotplug`.
#[derive(Debug, Clone, Args)]
pub struct UninstallHotplugArgs {
    /// Uninstall from this root instead of /.
    #[arg(long, value_name = "DIR", default_value = "/")]
    pub root: PathBuf,
}

/// What a hotplug unit asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum HotplugAction {
    /// A NIC appeared: reconcile, then apply and verify that NIC.
    Add,
    /// A NIC went: remove its files and take back its rules.
    Remove,
    /// At boot: reconcile and apply every NIC.
    Boot,
}

// `enicfg hotplug`.
#[derive(Debug, Clone, Args)]
pub struct HotplugArgs {
    /// What happened.
    #[arg(value_enum)]
    pub action: HotplugAction,
    /// The NIC (for add and remove).
    #[arg(value_name = "NIC", required_if_eq_any = [("action", "add"), ("action", "remove")])]
    pub interface: Option<String>,
}

// `enicfg clean`.
#[derive(Debug, Clone, Args)]
pub struct CleanArgs {
    /// Clean this root instead of /.
    #[arg(long, value_name = "DIR", default_value = "/")]
    pub root: PathBuf,
    /// List what would be removed and restored (a unified diff) and change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

// Where the interface description comes from.
#[derive(Debug, Clone, Args)]
pub struct SourceArgs {
    /// Interface description (YAML or JSON, see README "Input schema"), or a saved cloud
    /// metadata document (see --cloud); `-` reads stdin.
    #[arg(long, short = 'i', value_name = "FILE")]
    pub input: Option<PathBuf>,
    /// Also take the interfaces marked `primary: true` (the primary NIC is left alone by
    /// default).
    #[arg(long)]
    pub include_primary: bool,
    /// Never touch this interface, by MAC or name (repeatable): it is left out of the
    /// description, and files enicfg generated for it earlier are kept. For NICs another tool
    /// manages (Kubernetes CNI plugins such as the AWS VPC CNI or Alibaba's Terway).
    #[arg(long, value_name = "MAC|NAME")]
    pub exclude: Vec<String>,
    /// One interface described by flags.
    #[command(flatten)]
    pub flags: InterfaceFlags,
    /// Cloud metadata as the source.
    #[command(flatten)]
    pub metadata: MetadataArgs,
}

// Cloud metadata as the source: a saved document (`--input`) or the live service (`--imds`).
//
// Each secondary NIC becomes one interface: its private IPs (primary first), the prefix from
// the netmask or subnet CIDR, the gateway the cloud publishes — on AWS, which publishes none,
// the VPC subnet router: the subnet's base address + 1, and fe80:ec2::1 for IPv6 — and policy
// routing. With
// `--dhcp`, secondary NICs use DHCP instead of static addresses.
#[derive(Debug, Clone, Default, Args)]
pub struct MetadataArgs {
    /// Read the NICs live from this cloud's instance metadata service (Huawei: openstack).
    /// Each secondary NIC gets its private IPs (primary first) and the gateway the cloud
    /// publishes; AWS publishes none, so the subnet's base address + 1 (the VPC router) is
    /// used for IPv4 and the VPC router's link-local fe80:ec2::1 for IPv6, each said in a note.
    /// The primary NIC is left alone unless --include-primary.
    #[arg(
        long,
        value_enum,
        value_name = "CLOUD",
        conflicts_with = "input",
        help_heading = "Cloud metadata"
    )]
    pub imds: Option<Cloud>,
    /// Kind of the metadata document given with --input (default: detected from its shape):
    /// the JSON tree `enicfg fetch` prints, or OpenStack/Huawei network_data.json.
    #[arg(
        long,
        value_enum,
        value_name = "CLOUD",
        requires = "input",
        help_heading = "Cloud metadata"
    )]
    pub cloud: Option<Cloud>,
    /// Name a NIC's guest interface, MAC=NAME (repeatable; MAC in any case). Needed in image
    /// builds, where the NIC is not under ROOT/sys/class/net yet.
    #[arg(
        long = "ifname",
        value_name = "MAC=NAME",
        help_heading = "Cloud metadata"
    )]
    pub ifnames: Vec<String>,
    /// No policy routing for secondary NICs. By default each gets its own table, with rule
    /// priority = table = 10000 + 100*card + device on AWS (network-card, device-number), and
    /// 10000 + N elsewhere (N = the number ending the interface name, eth2 -> 10002, or the
    /// NIC's position in MAC order when names carry no distinct number).
    #[arg(long, help_heading = "Cloud metadata")]
    pub no_policy_routing: bool,
    /// The primary NIC's MAC, for metadata that marks none (OpenStack/Huawei network_data.json,
    /// where the first of links[] is taken otherwise). The primary is left alone unless
    /// --include-primary, and is the NIC whose default route goes into the main table.
    #[arg(long, value_name = "MAC", help_heading = "Cloud metadata")]
    pub primary: Option<String>,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub service: ServiceArgs,
}

// How to reach a metadata service.
#[derive(Debug, Clone, Default, Args)]
pub struct ServiceArgs {
    /// Metadata service base URL, http://HOST or http://HOST:PORT (default: the cloud's documented address:
    /// aws/openstack 169.254.169.254, aliyun 100.100.100.200, tencent 169.254.0.23).
    #[arg(long, value_name = "URL", help_heading = "Metadata service")]
    pub endpoint: Option<String>,
    /// Overall deadline of the crawl, retries and --wait-for included [default: 60].
    #[arg(
        long,
        value_name = "SECS",
        help_heading = "Metadata service",
        allow_negative_numbers = true
    )]
    pub timeout: Option<f64>,
    /// Timeout of each HTTP request; timeouts, 429 and 5xx are retried with back-off
    /// [default: 5].
    #[arg(
        long,
        value_name = "SECS",
        help_heading = "Metadata service",
        allow_negative_numbers = true
    )]
    pub request_timeout: Option<f64>,
    /// Wait (up to --timeout) until this NIC is listed with its addresses; repeatable. New
    /// NICs show up in metadata late.
    #[arg(
        long = "wait-for",
        value_name = "MAC",
        help_heading = "Metadata service"
    )]
    pub wait_for: Vec<String>,
}

impl ServiceArgs {
    /// True when any service flag was given.
    pub fn any(&self) -> bool {
        self.endpoint.is_some()
            || self.timeout.is_some()
            || self.request_timeout.is_some()
            || !self.wait_for.is_empty()
    }
}

// `enicfg fetch`.
#[derive(Debug, Clone, Args)]
pub struct FetchArgs {
    /// The cloud whose metadata service to crawl (Huawei: openstack).
    #[arg(long, value_enum, value_name = "CLOUD")]
    pub cloud: Cloud,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub service: ServiceArgs,
}

// Which system the files are for (at most one; default: detect from ROOT's os-release).
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

// `enicfg render`.
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

// `enicfg write`.
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
    /// Print a unified diff against the files on disk (removals as diffs to /dev/null) and write
    /// nothing.
    #[arg(long, conflicts_with = "restart")]
    pub dry_run: bool,
    /// Drift check for pipelines: like --dry-run (prints the diff, writes nothing), and exits 3
    /// when a file would be created, changed or removed, 0 when every file is up to date.
    #[arg(long, conflicts_with = "restart")]
    pub check: bool,
    /// Apply on this machine (only with --root /): run the apply commands of every interface
    /// whose files changed or whose kernel state does not match the description (so running it
    /// again fixes a failed apply), take back what is no longer described, then check the
    /// kernel state against the description; on failure put the previous files back and apply
    /// them again.
    #[arg(long)]
    pub restart: bool,
    /// With --restart: keep the new files when applying or verifying fails.
    #[arg(long, requires = "restart", conflicts_with = "dry_run")]
    pub no_rollback: bool,
    /// With --restart: how long the kernel state may take to match the description.
    #[arg(
        long,
        value_name = "SECONDS",
        requires = "restart",
        conflicts_with = "dry_run",
        allow_negative_numbers = true
    )]
    pub settle_timeout: Option<f64>,
    /// Output format: text, or a JSON summary (target, each file with its action, backups, the
    /// apply commands, what --restart ran and whether the kernel state matched).
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

// `enicfg verify`.
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

// `enicfg detect`.
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
