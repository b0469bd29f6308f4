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

/// Runs every command in order; stops at the first failure.
fn run_all(commands: &[String], out: &mut String) -> Result<()> {
    for c in commands {
        run_shell(c)?;
        out.push_str(&format!("ran: {c}\n"));
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
fn failure(
    config: &Config,
    commands: &[String],
    opts: Options,
    out: &mut String,
) -> Option<String> {
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
pub fn apply(config: &Config, commands: &[String], plan: &Plan, opts: Options) -> Result<String> {
    let mut out = String::new();
    let Some(why) = failure(config, commands, opts, &mut out) else {
        return Ok(out);
    };
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
    let mut again = String::new();
    match run_all(commands, &mut again) {
        Ok(()) => report.push_str(&format!(
            "re-applied the previous files: {}\n",
            commands.join("; ")
        )),
        Err(e) => report.push_str(&format!("re-applying the previous files failed: {e:#}\n")),
    }
    bail!("{}", report.trim_end())
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

/// Runs best-effort commands (taking back state that may already be gone), collecting what ran
/// and what failed into `out`.
pub fn run_best_effort(commands: &[String], out: &mut String) {
    for c in commands {
        match run_shell(c) {
            Ok(()) => out.push_str(&format!("ran: {c}\n")),
            Err(e) => out.push_str(&format!("note: {e:#}\n")),
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
