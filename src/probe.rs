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
//! - only when ROOT is `/` (inside a guest), also the running services through
//!   `systemctl is-active` — never for an image root, whose services are not the build host's.
//!
//! [`decide`] keeps the os-release stack when the evidence agrees with it (or there is none),
//! and otherwise prefers what is really there, saying both and why. This module only reads.

use std::fs;
use std::path::Path;
use std::process::Command;

use serde::Serialize;

use crate::distro::Stack;
use crate::root::{in_root, read_optional};

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
}

fn exists(root: &Path, path: &str) -> bool {
    fs::symlink_metadata(in_root(root, path)).is_ok()
}

fn any_exists(root: &Path, paths: &[&str]) -> Option<String> {
    paths
        .iter()
        .find(|p| exists(root, p))
        .map(|p| (*p).to_owned())
}

/// A unit enabled for boot: a symlink in one of the usual `.wants` directories.
fn enabled(root: &Path, unit: &str) -> Option<String> {
    let dirs = [
        "/etc/systemd/system/multi-user.target.wants",
        "/etc/systemd/system/network-online.target.wants",
        "/etc/systemd/system/sysinit.target.wants",
        "/etc/systemd/system/network.target.wants",
    ];
    dirs.iter()
        .map(|d| format!("{d}/{unit}"))
        .find(|p| exists(root, p))
}

/// Whether a unit is active on this machine (ROOT `/` only).
fn active(unit: &str) -> bool {
    Command::new("systemctl")
        .args(["is-active", "--quiet", unit])
        .status()
        .is_ok_and(|s| s.success())
}

/// NetworkManager's `[main] plugins=` from NetworkManager.conf and conf.d (last one wins).
fn nm_plugins(root: &Path) -> Option<Vec<String>> {
    let mut files = vec!["/etc/NetworkManager/NetworkManager.conf".to_owned()];
    for dir in [
        "/usr/lib/NetworkManager/conf.d",
        "/etc/NetworkManager/conf.d",
    ] {
        if let Ok(entries) = fs::read_dir(in_root(root, dir)) {
            let mut names: Vec<String> = entries
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".conf"))
                .collect();
            names.sort();
            files.extend(names.into_iter().map(|n| format!("{dir}/{n}")));
        }
    }
    let mut plugins = None;
    for f in files {
        let Ok(Some(text)) = read_optional(root, &f) else {
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
    plugins
}

fn has_yaml(root: &Path, dir: &str) -> bool {
    fs::read_dir(in_root(root, dir)).is_ok_and(|entries| {
        entries
            .filter_map(|e| e.ok())
            .any(|e| e.file_name().to_string_lossy().ends_with(".yaml"))
    })
}

/// Gathers the evidence. `live` (ROOT is `/`) adds the running services.
pub fn gather(root: &Path, live: bool) -> Evidence {
    let mut ev = Evidence::default();

    // NetworkManager
    let nm_bin = any_exists(root, &["/usr/sbin/NetworkManager", "/sbin/NetworkManager"]);
    let nm_on = enabled(root, "NetworkManager.service")
        .map(|p| format!("{p} exists"))
        .or_else(|| {
            (live && active("NetworkManager")).then(|| "NetworkManager is active".to_owned())
        });
    if let (Some(bin), Some(why)) = (&nm_bin, &nm_on) {
        ev.networkmanager = true;
        ev.notes
            .push(format!("NetworkManager: {bin} installed, {why}"));
    }
    ev.nm_plugins = nm_plugins(root);
    for dir in [
        "/usr/lib64/NetworkManager",
        "/usr/lib/NetworkManager",
        "/usr/lib/x86_64-linux-gnu/NetworkManager",
        "/usr/lib/aarch64-linux-gnu/NetworkManager",
    ] {
        if let Ok(entries) = fs::read_dir(in_root(root, dir)) {
            for version_dir in entries.filter_map(|e| e.ok()) {
                let lib = version_dir.path().join("libnm-settings-plugin-ifcfg-rh.so");
                if fs::symlink_metadata(&lib).is_ok() {
                    ev.nm_ifcfg_rh_plugin = true;
                }
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
    );
    let netplan_yaml = [
        "/etc/netplan",
        "/lib/netplan",
        "/usr/lib/netplan",
        "/run/netplan",
    ]
    .into_iter()
    .find(|d| has_yaml(root, d));
    if let (Some(bin), Some(dir)) = (&netplan_bin, netplan_yaml) {
        ev.netplan = true;
        ev.notes
            .push(format!("netplan: {bin} installed, YAML in {dir}"));
    }

    // systemd-networkd
    let networkd_on = enabled(root, "systemd-networkd.service")
        .map(|p| format!("{p} exists"))
        .or_else(|| {
            (live && active("systemd-networkd")).then(|| "systemd-networkd is active".to_owned())
        });
    if let Some(why) = networkd_on {
        ev.networkd = true;
        ev.notes.push(format!("systemd-networkd: {why}"));
    }

    // wicked
    let wicked_bin = any_exists(root, &["/usr/sbin/wicked", "/sbin/wicked"]);
    let wicked_on = enabled(root, "wicked.service")
        .map(|p| format!("{p} exists"))
        .or_else(|| (live && active("wicked")).then(|| "wicked is active".to_owned()));
    if let (Some(bin), Some(why)) = (&wicked_bin, wicked_on) {
        ev.wicked = true;
        ev.notes.push(format!("wicked: {bin} installed, {why}"));
    }

    // initscripts' network service
    if exists(root, "/etc/sysconfig/network-scripts/network-functions") {
        let sysv = any_exists(root, &["/etc/rc.d/init.d/network", "/etc/init.d/network"]);
        let on = exists(
            root,
            "/etc/systemd/system/multi-user.target.wants/network.service",
        ) || (live && active("network"))
            || (sysv.is_some()
                && !exists(root, "/usr/lib/systemd/systemd")
                && !exists(root, "/lib/systemd/systemd"));
        if on {
            ev.initscripts = true;
            ev.notes.push(
                "initscripts: network-functions installed and the network service enabled"
                    .to_owned(),
            );
        }
    }

    // ifupdown
    if exists(root, "/etc/network/interfaces")
        && let Some(bin) = any_exists(root, &["/sbin/ifup", "/usr/sbin/ifup"])
        && !exists(root, "/etc/sysconfig/network-scripts")
    {
        ev.ifupdown = true;
        ev.notes.push(format!(
            "ifupdown: {bin} and /etc/network/interfaces present"
        ));
    }
    ev
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
