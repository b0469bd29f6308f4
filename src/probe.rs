//! Which network stack is really there, beyond what os-release suggests.
//!
//! os-release is not enough (distro-matrix.md §6): Alibaba Cloud Linux 2 images differ, RHEL 9
//! images are mixed, users switch stacks. So before writing, enicfg looks at the target:
//!
//! - always, by files only (safe for image roots): NetworkManager's configuration (`plugins=`)
//!   and whether the ifcfg-rh plugin library is installed, netplan YAML and the netplan binary,
//!   systemd units enabled through `*.wants/` symlinks (NetworkManager, systemd-networkd,
//!   wicked, network), initscripts' `network-functions`, ifupdown's `ifup` and
//!   `/etc/network/interfaces`;
//! - only when ROOT is `/` (inside a guest) booted with systemd, also the running services
//!   through `systemctl is-active` — never for an image root, whose services are not the build
//!   host's. systemctl's stderr is captured; when it cannot answer (no systemd as PID 1, no
//!   systemctl) [`Evidence::unprobed`] says why, once.
//!
//! Every file is read through [`crate::root`], so links resolve inside ROOT as in a chroot.
//!
//! [`decide`] keeps the os-release stack when the evidence agrees with it (or there is none),
//! and otherwise prefers what is really there, saying both and why. This module only reads.

use std::io;
use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{Context as _, Result};
use serde::Serialize;

use crate::distro::Stack;
use crate::root::{exists, read_dir_names, read_optional, symlink_target};

/// What was found in ROOT (and, for `/`, among the running services).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Evidence {
    /// NetworkManager is installed and enabled (or running).
    pub networkmanager: bool,
    /// NetworkManager's `[main] plugins=` list, when configured.
    pub nm_plugins: Option<Vec<String>>,
    /// The ifcfg-rh settings plugin library is installed.
    pub nm_ifcfg_rh_plugin: bool,
    /// netplan YAML exists and netplan is installed.
    pub netplan: bool,
    /// systemd-networkd is enabled (or running).
    pub networkd: bool,
    /// wicked is enabled (or running).
    pub wicked: bool,
    /// initscripts' network service is installed and enabled (or a SysV system).
    pub initscripts: bool,
    /// ifupdown is installed and `/etc/network/interfaces` exists.
    pub ifupdown: bool,
    /// What each finding rests on, for `detect`.
    pub notes: Vec<String>,
    /// Why the running services could not be asked (ROOT `/` only), said once.
    pub unprobed: Option<String>,
}

fn any_exists(root: &Path, paths: &[&str]) -> Result<Option<String>> {
    for p in paths {
        if exists(root, p)? {
            return Ok(Some((*p).to_owned()));
        }
    }
    Ok(None)
}

/// A unit enabled for boot: an entry in one of the usual `.wants` directories, described for
/// the notes.
///
/// NOTE: the entry itself is the evidence, even when its target is missing inside ROOT. That is
/// what `systemctl enable` records, an image may be assembled with the link laid down before
/// the unit file's package (or the unit may come from a generator), and NetworkManager and
/// wicked also need their binary installed before they count. The target is still resolved
/// inside ROOT, never on the build host, and a dangling link is said so in the note.
fn enabled(root: &Path, unit: &str) -> Result<Option<String>> {
    let dirs = [
        "/etc/systemd/system/multi-user.target.wants",
        "/etc/systemd/system/network-online.target.wants",
        "/etc/systemd/system/sysinit.target.wants",
        "/etc/systemd/system/network.target.wants",
    ];
    for d in dirs {
        let p = format!("{d}/{unit}");
        match (symlink_target(root, &p)?, exists(root, &p)?) {
            (_, true) => return Ok(Some(format!("{p} exists"))),
            (Some(target), false) => {
                return Ok(Some(format!(
                    "{p} exists (a link to {}, missing inside the root)",
                    target.display()
                )));
            }
            (None, false) => {}
        }
    }
    Ok(None)
}

/// The running services, asked through `systemctl is-active` (ROOT `/` only). systemctl's own
/// complaints are captured, never printed: when it cannot answer, the first reason is kept for
/// `detect` to say once, and no more units are asked.
struct Services {
    program: &'static str,
    usable: bool,
    why_not: Option<String>,
}

impl Services {
    /// `live` is false for an image root, whose services are not the build host's.
    fn new(root: &Path, live: bool, program: &'static str) -> Result<Services> {
        let mut s = Services {
            program,
            usable: live,
            why_not: None,
        };
        // NOTE: sd_booted(3): a system runs systemd as PID 1 exactly when /run/systemd/system
        // exists. In a container or chroot it does not, and every systemctl call would only
        // print "System has not been booted with systemd" and "Failed to connect to bus".
        if live && !exists(root, "/run/systemd/system")? {
            s.usable = false;
            s.why_not = Some(
                "running services not probed: this system was not booted with systemd (no /run/systemd/system: a container or chroot?), so only files were looked at"
                    .to_owned(),
            );
        }
        Ok(s)
    }

    /// Whether a unit is active. False when it is not, or when systemctl cannot tell.
    fn active(&mut self, unit: &str) -> bool {
        if !self.usable {
            return false;
        }
        let out = Command::new(self.program)
            .args(["is-active", "--quiet", unit])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output();
        let why_not = match out {
            Ok(out) if out.status.success() => return true,
            // Inactive or unknown units exit non-zero quietly; a complaint means systemctl
            // itself could not answer.
            Ok(out) => {
                let err = String::from_utf8_lossy(&out.stderr);
                match err.lines().map(str::trim).find(|l| !l.is_empty()) {
                    None => return false,
                    Some(line) => format!(
                        "running services not probed: `{} is-active {unit}` failed: {line}",
                        self.program
                    ),
                }
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => format!(
                "running services not probed: {} is not installed (not found on PATH), so only files were looked at",
                self.program
            ),
            Err(e) => format!(
                "running services not probed: cannot run {}: {e}",
                self.program
            ),
        };
        self.usable = false;
        self.why_not = Some(why_not);
        false
    }
}

/// NetworkManager's `[main] plugins=` from NetworkManager.conf and conf.d (last one wins).
fn nm_plugins(root: &Path) -> Result<Option<Vec<String>>> {
    let mut files = vec!["/etc/NetworkManager/NetworkManager.conf".to_owned()];
    for dir in [
        "/usr/lib/NetworkManager/conf.d",
        "/etc/NetworkManager/conf.d",
    ] {
        for name in read_dir_names(root, dir)?.unwrap_or_default() {
            if name.ends_with(".conf") {
                files.push(format!("{dir}/{name}"));
            }
        }
    }
    let mut plugins = None;
    for f in files {
        let Some(text) = read_optional(root, &f)? else {
            continue;
        };
        let mut in_main = false;
        for line in text.lines().map(str::trim) {
            if line.starts_with('[') {
                in_main = line == "[main]";
            } else if in_main
                && let Some((k, v)) = line.split_once('=')
                && k.trim() == "plugins"
            {
                plugins = Some(
                    v.split(',')
                        .map(|p| p.trim().to_owned())
                        .filter(|p| !p.is_empty())
                        .collect(),
                );
            }
        }
    }
    Ok(plugins)
}

/// Whether a directory holds a netplan YAML file that is there (a dangling link is not).
fn has_yaml(root: &Path, dir: &str) -> Result<bool> {
    for name in read_dir_names(root, dir)?.unwrap_or_default() {
        if name.ends_with(".yaml") && exists(root, &format!("{dir}/{name}"))? {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Gathers the evidence. `live` (ROOT is `/`) adds the running services.
pub fn gather(root: &Path, live: bool) -> Result<Evidence> {
    gather_with(root, live, "systemctl")
        .with_context(|| format!("cannot probe the network stack under {}", root.display()))
}

fn gather_with(root: &Path, live: bool, systemctl: &'static str) -> Result<Evidence> {
    let mut ev = Evidence::default();
    let mut services = Services::new(root, live, systemctl)?;

    // NetworkManager
    let nm_bin = any_exists(root, &["/usr/sbin/NetworkManager", "/sbin/NetworkManager"])?;
    let nm_on = match enabled(root, "NetworkManager.service")? {
        Some(why) => Some(why),
        None => services
            .active("NetworkManager")
            .then(|| "NetworkManager is active".to_owned()),
    };
    if let (Some(bin), Some(why)) = (&nm_bin, &nm_on) {
        ev.networkmanager = true;
        ev.notes
            .push(format!("NetworkManager: {bin} installed, {why}"));
    }
    ev.nm_plugins = nm_plugins(root)?;
    for dir in [
        "/usr/lib64/NetworkManager",
        "/usr/lib/NetworkManager",
        "/usr/lib/x86_64-linux-gnu/NetworkManager",
        "/usr/lib/aarch64-linux-gnu/NetworkManager",
    ] {
        for version in read_dir_names(root, dir)?.unwrap_or_default() {
            if exists(
                root,
                &format!("{dir}/{version}/libnm-settings-plugin-ifcfg-rh.so"),
            )? {
                ev.nm_ifcfg_rh_plugin = true;
            }
        }
    }
    if ev.networkmanager {
        match &ev.nm_plugins {
            Some(p) => ev
                .notes
                .push(format!("NetworkManager plugins={}", p.join(","))),
            None => ev
                .notes
                .push("NetworkManager plugins= not set (build default)".to_owned()),
        }
        ev.notes.push(format!(
            "ifcfg-rh plugin library {}",
            if ev.nm_ifcfg_rh_plugin {
                "installed"
            } else {
                "not installed"
            }
        ));
    }

    // netplan
    let netplan_bin = any_exists(
        root,
        &["/usr/sbin/netplan", "/sbin/netplan", "/usr/bin/netplan"],
    )?;
    let mut netplan_yaml = None;
    for d in [
        "/etc/netplan",
        "/lib/netplan",
        "/usr/lib/netplan",
        "/run/netplan",
    ] {
        if has_yaml(root, d)? {
            netplan_yaml = Some(d);
            break;
        }
    }
    if let (Some(bin), Some(dir)) = (&netplan_bin, netplan_yaml) {
        ev.netplan = true;
        ev.notes
            .push(format!("netplan: {bin} installed, YAML in {dir}"));
    }

    // systemd-networkd
    let networkd_on = match enabled(root, "systemd-networkd.service")? {
        Some(why) => Some(why),
        None => services
            .active("systemd-networkd")
            .then(|| "systemd-networkd is active".to_owned()),
    };
    if let Some(why) = networkd_on {
        ev.networkd = true;
        ev.notes.push(format!("systemd-networkd: {why}"));
    }

    // wicked
    let wicked_bin = any_exists(root, &["/usr/sbin/wicked", "/sbin/wicked"])?;
    let wicked_on = match enabled(root, "wicked.service")? {
        Some(why) => Some(why),
        None => services
            .active("wicked")
            .then(|| "wicked is active".to_owned()),
    };
    if let (Some(bin), Some(why)) = (&wicked_bin, wicked_on) {
        ev.wicked = true;
        ev.notes.push(format!("wicked: {bin} installed, {why}"));
    }

    // initscripts' network service
    if exists(root, "/etc/sysconfig/network-scripts/network-functions")? {
        let sysv = any_exists(root, &["/etc/rc.d/init.d/network", "/etc/init.d/network"])?;
        let on = symlink_target(
            root,
            "/etc/systemd/system/multi-user.target.wants/network.service",
        )?
        .is_some()
            || exists(
                root,
                "/etc/systemd/system/multi-user.target.wants/network.service",
            )?
            || services.active("network")
            || (sysv.is_some()
                && !exists(root, "/usr/lib/systemd/systemd")?
                && !exists(root, "/lib/systemd/systemd")?);
        if on {
            ev.initscripts = true;
            ev.notes.push(
                "initscripts: network-functions installed and the network service enabled"
                    .to_owned(),
            );
        }
    }

    // ifupdown
    if exists(root, "/etc/network/interfaces")?
        && let Some(bin) = any_exists(root, &["/sbin/ifup", "/usr/sbin/ifup"])?
        && !exists(root, "/etc/sysconfig/network-scripts")?
    {
        ev.ifupdown = true;
        ev.notes.push(format!(
            "ifupdown: {bin} and /etc/network/interfaces present"
        ));
    }
    ev.unprobed = services.why_not;
    Ok(ev)
}

/// Whether the evidence shows a stack at work.
fn present(ev: &Evidence, stack: Stack) -> bool {
    let nm_reads_ifcfg = ev.nm_ifcfg_rh_plugin
        && ev
            .nm_plugins
            .as_ref()
            .is_none_or(|p| p.iter().any(|x| x == "ifcfg-rh"));
    match stack {
        Stack::Netplan => ev.netplan,
        Stack::NetworkManagerIfcfg => ev.networkmanager && nm_reads_ifcfg,
        Stack::NetworkManagerKeyfile => ev.networkmanager,
        Stack::Networkd => ev.networkd && !ev.netplan && !ev.networkmanager,
        Stack::Wicked => ev.wicked,
        Stack::SuseSysconfig => ev.wicked,
        Stack::Initscripts { .. } => ev.initscripts,
        Stack::Ifupdown { .. } => ev.ifupdown,
    }
}

/// The stack the evidence shows, when os-release gives none (an unknown distro).
pub fn found(ev: &Evidence) -> Option<Stack> {
    CANDIDATES.into_iter().find(|s| present(ev, *s))
}

/// Stacks in order of preference when the evidence must choose.
const CANDIDATES: [Stack; 6] = [
    Stack::Netplan,
    Stack::NetworkManagerKeyfile,
    Stack::Networkd,
    Stack::Wicked,
    Stack::Initscripts {
        sysv: false,
        ec2_net_utils: false,
    },
    Stack::Ifupdown { upstart: false },
];

/// Chooses between the os-release stack and what the evidence shows. Returns the stack and,
/// when it differs from os-release's, why.
pub fn decide(ev: &Evidence, os_stack: Stack) -> (Stack, Option<String>) {
    let any = ev.networkmanager
        || ev.netplan
        || ev.networkd
        || ev.wicked
        || ev.initscripts
        || ev.ifupdown;
    if !any || present(ev, os_stack) {
        return (os_stack, None);
    }
    // What runs instead: NM reading ifcfg keeps ifcfg-based docs and tools working on EL7/EL8
    // lineages, so it goes first there; otherwise the general order.
    let ifcfg_family = matches!(
        os_stack,
        Stack::Initscripts { .. } | Stack::NetworkManagerIfcfg
    );
    let first = (ifcfg_family && present(ev, Stack::NetworkManagerIfcfg))
        .then_some(Stack::NetworkManagerIfcfg);
    match first.or_else(|| found(ev)) {
        Some(found) => (
            found,
            Some(format!(
                "os-release suggests {os_stack}, but {found} is what this system runs ({})",
                ev.notes.join("; ")
            )),
        ),
        None => (os_stack, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_image_root_never_asks_the_running_services() {
        let t = tempfile::tempdir().unwrap();
        let ev = gather_with(t.path(), false, "enicfg-test-no-such-systemctl").unwrap();
        assert_eq!(ev.unprobed, None);
    }

    #[test]
    fn a_root_not_booted_with_systemd_is_said_once() {
        let t = tempfile::tempdir().unwrap();
        let ev = gather_with(t.path(), true, "systemctl").unwrap();
        let why = ev.unprobed.unwrap();
        assert!(why.contains("not booted with systemd"), "{why}");
    }

    #[test]
    fn a_missing_systemctl_is_said_once() {
        let t = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(t.path().join("run/systemd/system")).unwrap();
        let ev = gather_with(t.path(), true, "enicfg-test-no-such-systemctl").unwrap();
        let why = ev.unprobed.unwrap();
        assert!(
            why.contains("enicfg-test-no-such-systemctl is not installed"),
            "{why}"
        );
        assert!(ev.notes.is_empty(), "{:?}", ev.notes);
    }

    #[test]
    fn systemctl_complaints_are_captured_and_kept() {
        // `false` stands in for a systemctl that fails quietly: an inactive unit, not a failure.
        let t = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(t.path().join("run/systemd/system")).unwrap();
        let ev = gather_with(t.path(), true, "false").unwrap();
        assert_eq!(ev.unprobed, None);
        // `ls is-active --quiet X` complains on stderr like systemctl without a bus does.
        let ev = gather_with(t.path(), true, "ls").unwrap();
        let why = ev.unprobed.unwrap();
        assert!(
            why.starts_with("running services not probed: `ls is-active NetworkManager` failed:"),
            "{why}"
        );
    }
}
