//! `write --restart`: run the stack's apply commands, check the kernel against the
//! description, and roll back when either fails.
//!
//! Applying is never skipped: a first apply that failed, or power lost between writing and
//! applying, leaves files that are up to date and a kernel that is not, and running the same
//! command again must fix that. After the commands, the kernel state is compared with the
//! description (the `verify` logic) until it matches or the settle time runs out; stacks
//! configure asynchronously (networkd, NetworkManager, DHCP).
//!
//! On a failed command or a failed verification the previous files are put back and the apply
//! commands run again (what nmstate's checkpoints give): a bad configuration on a remote VM
//! must not cut the user off. Both outcomes are reported, and the run fails. `--no-rollback`
//! keeps the new files in place instead. This module runs commands; it writes files only
//! through [`Plan::restore`].

use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};

use crate::model::Config;
use crate::verify::{self, Report};
use crate::write::Plan;

/// How `--restart` behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// How long the kernel state may take to match after the commands.
    pub settle: Duration,
    /// Put the previous files back and re-apply on failure.
    pub rollback: bool,
}

/// Runs one apply command through `/bin/sh -c`, capturing its output.
fn run_shell(command: &str) -> Result<()> {
    crate::explain(|| format!("running: {command}"));
    let out = Command::new("/bin/sh")
        .arg("-c")
        .arg(command)
        .output()
        .with_context(|| format!("failed to start apply command `{command}`"))?;
    if !out.status.success() {
        let mut msg = format!("apply command `{command}` failed with {}", out.status);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(5).collect();
        if !tail.is_empty() {
            msg.push_str(": ");
            msg.push_str(&tail.into_iter().rev().collect::<Vec<_>>().join(" / "));
        }
        bail!(msg);
    }
    Ok(())
}

/// What applying did: the text a command prints (`ran: ...`, `note: ...` and other lines),
/// and the commands run and the failures noted, for `--format json`.
#[derive(Debug, Default)]
pub struct Log {
    /// Every line, as printed.
    pub text: String,
    /// Every command run, in order.
    pub ran: Vec<String>,
    /// What failed without failing the run.
    pub notes: Vec<String>,
}

impl Log {
    /// Adds text that is neither a command nor a note.
    pub fn push_str(&mut self, text: &str) {
        self.text.push_str(text);
    }

    /// Records a command that ran.
    pub fn ran(&mut self, command: &str) {
        self.text.push_str(&format!("ran: {command}\n"));
        self.ran.push(command.to_owned());
    }

    /// Records a failure that does not fail the run.
    pub fn note(&mut self, note: String) {
        self.text.push_str(&format!("note: {note}\n"));
        self.notes.push(note);
    }

    /// Adds what another log recorded, after this one's.
    pub fn append(&mut self, other: Log) {
        self.text.push_str(&other.text);
        self.ran.extend(other.ran);
        self.notes.extend(other.notes);
    }
}

/// Runs every command in order; stops at the first failure.
fn run_all(commands: &[String], log: &mut Log) -> Result<()> {
    for c in commands {
        run_shell(c)?;
        log.ran(c);
    }
    Ok(())
}

/// Reads and compares the kernel state until it matches — and has settled — or `settle` has
/// passed.
///
/// NOTE: systemd-networkd applies asynchronously, and `networkctl reload` + `reconfigure` (and
/// `netplan apply`) can make it configure a link twice: once for the reload, once for the
/// reconfigure request. The state may match between the two passes and then be dropped and
/// re-added. So while networkd still reports a described link as `configuring`/`pending`, the
/// state is not taken as final, and a match must hold on two reads in a row.
fn settle(config: &Config, settle: Duration) -> Result<Report> {
    let deadline = Instant::now() + settle;
    let mut matched_before = false;
    loop {
        let state = verify::KernelState::read(None, config)?;
        let report = verify::compare(config, &state);
        let ok = report.ok && networkd_idle(config);
        if (ok && matched_before) || Instant::now() >= deadline {
            return Ok(report);
        }
        matched_before = ok;
        std::thread::sleep(Duration::from_millis(if ok { 200 } else { 250 }));
    }
}

/// False while systemd-networkd reports a described link as still being set up. True when
/// networkd is not running or does not manage the link (NetworkManager, ifupdown).
fn networkd_idle(config: &Config) -> bool {
    let active = Command::new("systemctl")
        .args(["is-active", "--quiet", "systemd-networkd.service"])
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !active {
        return true;
    }
    let Ok(out) = Command::new("networkctl")
        .args(["list", "--no-legend", "--no-pager"])
        .output()
    else {
        return true;
    };
    if !out.status.success() {
        return true;
    }
    let text = String::from_utf8_lossy(&out.stdout);
    !text.lines().any(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        f.len() >= 5
            && config.interfaces.iter().any(|i| i.name.as_str() == f[1])
            && matches!(f[4], "configuring" | "pending" | "initialized")
    })
}

/// Why an apply did not reach the described state.
fn failure(config: &Config, commands: &[String], opts: Options, out: &mut Log) -> Option<String> {
    if let Err(e) = run_all(commands, out) {
        return Some(format!("{e:#}"));
    }
    match settle(config, opts.settle) {
        Err(e) => Some(format!("cannot read the kernel state: {e:#}")),
        Ok(report) if report.ok => {
            out.push_str(&format!(
                "verified: the kernel state matches the description ({} interface{})\n",
                config.interfaces.len(),
                if config.interfaces.len() == 1 {
                    ""
                } else {
                    "s"
                }
            ));
            None
        }
        Ok(report) => Some(format!(
            "the kernel state does not match the description after {} s:\n{}",
            opts.settle.as_secs_f64(),
            report.text().trim_end()
        )),
    }
}

/// Applies, verifies and, on failure, rolls back. Returns what was done, or an error saying
/// what failed and what the rollback did.
///
/// `done`: commands that already ran, successfully, after the files were written (a removed
/// NIC's `netplan apply`); they are not run again, but a rollback runs every command.
pub fn apply(
    config: &Config,
    commands: &[String],
    done: &[String],
    plan: &Plan,
    opts: Options,
) -> Result<Log> {
    let mut log = Log::default();
    let Some(why) = failure(config, &still_to_run(commands, done), opts, &mut log) else {
        return Ok(log);
    };
    let out = log.text;
    let changed = !plan.is_noop();
    if !opts.rollback || !changed {
        let kept = if changed {
            "the new files stay in place (--no-rollback)"
        } else {
            "the files were already up to date, so there is nothing to roll back"
        };
        bail!("{out}{why}\n{kept}");
    }
    let mut report = format!("{out}{why}\nrolling back:\n");
    match plan.restore() {
        Err(e) => bail!("{report}rollback failed: {e:#}"),
        Ok(lines) => {
            for l in lines {
                report.push_str(&format!("  {l}\n"));
            }
        }
    }
    match run_all(commands, &mut Log::default()) {
        Ok(()) => report.push_str(&format!(
            "re-applied the previous files: {}\n",
            commands.join("; ")
        )),
        Err(e) => report.push_str(&format!("re-applying the previous files failed: {e:#}\n")),
    }
    bail!("{}", report.trim_end())
}

/// `commands` without those in `done`.
fn still_to_run(commands: &[String], done: &[String]) -> Vec<String> {
    commands
        .iter()
        .filter(|c| !done.contains(c))
        .cloned()
        .collect()
}

// ---------------------------------------------------------------------------------------------
// What enicfg applied, and taking back what is no longer described.
// ---------------------------------------------------------------------------------------------

/// Where the record of the last verified apply lives, inside ROOT.
pub const APPLIED: &str = "/var/lib/enicfg/applied.json";

/// One rule enicfg put into the kernel.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AppliedRule {
    /// Source address.
    pub from: std::net::IpAddr,
    /// Table.
    pub table: u32,
    /// Priority.
    pub priority: u32,
}

/// One interface as enicfg last applied it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AppliedInterface {
    /// Its name.
    pub name: String,
    /// Its MAC, when described.
    pub mac: Option<String>,
    /// Addresses with prefix (static ones; DHCP leases belong to the stack).
    pub addresses: Vec<String>,
    /// Its policy-routing rules.
    pub rules: Vec<AppliedRule>,
    /// Tables its routes live in (besides main).
    pub tables: Vec<u32>,
}

/// The record of the last verified `write --restart`: what enicfg owns in the kernel, so a
/// later run can take back what the description dropped (a detached ENI's rules outlive the
/// device) and `verify` can see what is left over.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Applied {
    /// The interfaces.
    pub interfaces: Vec<AppliedInterface>,
}

impl Applied {
    /// The record of a configuration.
    pub fn of(config: &Config) -> Applied {
        use crate::model::Family;
        Applied {
            interfaces: config
                .interfaces
                .iter()
                .map(|i| {
                    let mut addresses: Vec<String> = [Family::Ipv4, Family::Ipv6]
                        .into_iter()
                        .flat_map(|f| i.addresses_to_add(f))
                        .map(|a| a.to_string())
                        .collect();
                    addresses.sort();
                    let rules: Vec<AppliedRule> = i
                        .rules()
                        .iter()
                        .map(|r| AppliedRule {
                            from: r.from,
                            table: r.table,
                            priority: r.priority,
                        })
                        .collect();
                    let mut tables: Vec<u32> = rules.iter().map(|r| r.table).collect();
                    tables.sort_unstable();
                    tables.dedup();
                    AppliedInterface {
                        name: i.name.to_string(),
                        mac: i.mac.map(|m| m.to_string()),
                        addresses,
                        rules,
                        tables,
                    }
                })
                .collect(),
        }
    }

    /// Reads the record from ROOT (empty when there is none or it cannot be read: it is a
    /// cache of what enicfg did, never a reason to fail).
    pub fn load(root: &std::path::Path) -> Applied {
        crate::root::read_optional(root, APPLIED)
            .ok()
            .flatten()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_default()
    }

    /// Interfaces in this record that `config` no longer describes.
    pub fn dropped<'a>(&'a self, config: &Config) -> Vec<&'a AppliedInterface> {
        self.interfaces
            .iter()
            .filter(|a| !config.interfaces.iter().any(|i| i.name.as_str() == a.name))
            .collect()
    }
}

/// Runs best-effort commands (taking back state that may already be gone), recording what ran
/// and what failed.
pub fn run_best_effort(commands: &[String], log: &mut Log) {
    for c in commands {
        match run_shell(c) {
            Ok(()) => log.ran(c),
            Err(e) => log.note(format!("{e:#}")),
        }
    }
}

/// `ip` commands that take an interface's leftovers out of the kernel after its stack let go
/// of it: its rules (they outlive a detached device), the routes of its tables when no
/// described interface uses them, and its static addresses when the device is still there.
pub fn cleanup_commands(
    dropped: &AppliedInterface,
    config: &Config,
    device_exists: bool,
) -> Vec<String> {
    use crate::backend::quote::shell_word;
    let mut cmds = Vec::new();
    let described_tables: Vec<u32> = config
        .interfaces
        .iter()
        .flat_map(|i| i.rules())
        .map(|r| r.table)
        .collect();
    for r in &dropped.rules {
        let fam = if r.from.is_ipv4() { "-4" } else { "-6" };
        cmds.push(format!(
            "ip {fam} rule del from {} table {} priority {} 2>/dev/null || true",
            r.from, r.table, r.priority
        ));
    }
    for t in dropped
        .tables
        .iter()
        .filter(|t| !described_tables.contains(t))
    {
        cmds.push(format!("ip -4 route flush table {t} 2>/dev/null || true"));
        cmds.push(format!("ip -6 route flush table {t} 2>/dev/null || true"));
    }
    if device_exists {
        let dev = shell_word(&dropped.name);
        for a in &dropped.addresses {
            cmds.push(format!(
                "ip addr del {} dev {dev} 2>/dev/null || true",
                shell_word(a)
            ));
        }
    }
    cmds
}

/// `ip rule del` for every rule enicfg applied earlier for an interface that is still described
/// but no longer has it (an address dropped, moved to another NIC, a table changed): the
/// stacks delete only the rules their files list now (network-scripts' `ifdown-routes` reads
/// the new file), so the old rule would keep sending that address's replies into the old table.
pub fn changed_rule_commands(applied: &Applied, config: &Config) -> Vec<String> {
    let wanted: Vec<(std::net::IpAddr, u32, u32)> = config
        .interfaces
        .iter()
        .flat_map(|i| i.rules())
        .map(|r| (r.from, r.table, r.priority))
        .collect();
    let mut cmds = Vec::new();
    for a in applied
        .interfaces
        .iter()
        .filter(|a| config.interfaces.iter().any(|i| i.name.as_str() == a.name))
    {
        for r in a
            .rules
            .iter()
            .filter(|r| !wanted.contains(&(r.from, r.table, r.priority)))
        {
            let fam = if r.from.is_ipv4() { "-4" } else { "-6" };
            cmds.push(format!(
                "ip {fam} rule del from {} table {} priority {} 2>/dev/null || true",
                r.from, r.table, r.priority
            ));
        }
    }
    cmds
}

// ---------------------------------------------------------------------------------------------
// The steps of `write --restart` around the apply itself.
// ---------------------------------------------------------------------------------------------

/// The commands that take the files a plan removes out of their stacks, each said once:
/// `before` while the old files are still there, `after` once they are gone. `described` tells
/// whether an interface is still described (its files move or shrink) or gone (it is taken
/// down).
pub fn retire(plan: &Plan, described: &dyn Fn(&str) -> bool) -> crate::backend::Retire {
    use crate::backend;
    let mut retire = backend::Retire::default();
    for step in plan
        .steps
        .iter()
        .filter(|s| s.action == crate::write::Action::Remove)
    {
        let Some(kind) = step
            .old
            .as_deref()
            .and_then(|o| o.lines().next())
            .and_then(backend::generated_by)
        else {
            continue;
        };
        let stale_nic = backend::interface_of(&step.file.path).is_some_and(|n| !described(&n));
        let r = backend::retire_commands(kind, &step.file.path, stale_nic);
        for c in r.before {
            if !retire.before.contains(&c) {
                retire.before.push(c);
            }
        }
        for c in r.after {
            if !retire.after.contains(&c) {
                retire.after.push(c);
            }
        }
    }
    retire
}

/// Takes back what the stacks left in the kernel of what enicfg applied earlier: the rules,
/// tables and addresses of interfaces no longer described (rules outlive a detached device),
/// unless `excluded`, and the rules of described interfaces that the description dropped.
/// Best effort: what ran and what failed goes into `log`.
pub fn take_back(
    root: &std::path::Path,
    config: &Config,
    excluded: &dyn Fn(&str, Option<crate::model::MacAddr>) -> bool,
    log: &mut Log,
) {
    let applied = Applied::load(root);
    let present: Vec<String> = crate::source::metadata::sysfs_macs(root)
        .unwrap_or_default()
        .into_iter()
        .map(|(name, _, _)| name)
        .collect();
    for gone in applied.dropped(config) {
        let mac = gone.mac.as_deref().and_then(|m| m.parse().ok());
        if excluded(&gone.name, mac) {
            continue;
        }
        let exists = present.contains(&gone.name);
        run_best_effort(&cleanup_commands(gone, config, exists), log);
    }
    run_best_effort(&changed_rule_commands(&applied, config), log);
}

/// The described interfaces within `scope` (every one without a scope; a hot-plugged NIC, or
/// at boot the NICs that are attached, with one).
pub fn in_scope(config: &Config, scope: Option<&[String]>) -> Config {
    Config {
        interfaces: config
            .interfaces
            .iter()
            .filter(|i| scope.is_none_or(|nics| nics.iter().any(|n| n == i.name.as_str())))
            .cloned()
            .collect(),
    }
}

/// The interfaces of `target` to apply: those whose files the plan changed or whose kernel
/// state does not match the description. Re-applying one that already matches would only
/// bounce it (and a stack that reconfigures asynchronously would do so after we verified).
pub fn needing_apply(target: &Config, plan: &Plan) -> Result<Config> {
    let changed = |name: &str| {
        plan.steps.iter().any(|s| {
            s.action != crate::write::Action::Unchanged
                && crate::backend::interface_of(&s.file.path).is_none_or(|n| n == name)
        })
    };
    let state = verify::KernelState::read(None, target)?;
    let mismatched: Vec<String> = verify::compare(target, &state)
        .findings
        .into_iter()
        .map(|f| f.interface)
        .collect();
    Ok(Config {
        interfaces: target
            .interfaces
            .iter()
            .filter(|i| {
                let name = i.name.as_str();
                let why = if changed(name) {
                    "its files changed"
                } else if mismatched.iter().any(|m| m == name) {
                    "its kernel state does not match the description"
                } else {
                    crate::explain(|| {
                        format!(
                            "not re-applying {name}: its files are unchanged and its kernel state matches"
                        )
                    });
                    return false;
                };
                crate::explain(|| format!("applying {name}: {why}"));
                true
            })
            .cloned()
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::still_to_run;

    /// A removed NIC's `netplan apply` ran after every file was written: applying the rendered
    /// interfaces does not run it again; what it did not run still runs, in order.
    #[test]
    fn a_command_already_run_is_not_run_again() {
        let owned = |v: &[&str]| v.iter().map(|c| (*c).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            still_to_run(
                &owned(&["netplan apply"]),
                &owned(&["netplan apply", "networkctl reconfigure eth2 || true"])
            ),
            Vec::<String>::new()
        );
        assert_eq!(
            still_to_run(
                &owned(&["ifdown eth1; ifup eth1", "ifdown eth3; ifup eth3"]),
                &owned(&[
                    "if command -v nmcli >/dev/null 2>&1; then nmcli connection load x || true; fi"
                ])
            ),
            ["ifdown eth1; ifup eth1", "ifdown eth3; ifup eth3"]
        );
    }
}
