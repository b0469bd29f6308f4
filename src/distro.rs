//! Distro detection: os-release -> [`Distro`] -> [`Stack`] -> backend and apply commands.
//!
//! The distro table lives here (see `../shared/reference/distro-matrix.md` §2). Decisions are
//! made on `ID` (lower-cased) and `VERSION_ID`; `ID_LIKE` is a last resort only (§6: RHEL says
//! only `fedora`, Amazon Linux 2023 says `fedora` but runs networkd).

use std::fmt;

use anyhow::{Result, bail};
use serde::Serialize;

use crate::backend::BackendKind;

/// The network stack that reads the configuration on a target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stack {
    /// initscripts' `network` service reading ifcfg (EL6/EL7, AL2, Anolis 7).
    Initscripts {
        /// SysV init (EL6, Amazon Linux 1): `service network restart`.
        sysv: bool,
        /// amazon-ec2-net-utils 1.x is present and rewrites ifcfg unless `EC2SYNC=no`.
        ec2_net_utils: bool,
    },
    /// NetworkManager reading ifcfg through the ifcfg-rh plugin (EL8, Alinux 3, openEuler).
    NetworkManagerIfcfg,
    /// NetworkManager with keyfiles only (EL10, Fedora 41+, SLES 16).
    NetworkManagerKeyfile,
    /// SUSE wicked (SLES/openSUSE 12, 15, 42).
    Wicked,
    /// SUSE 11 sysconfig scripts.
    SuseSysconfig,
    /// Debian ifupdown.
    Ifupdown {
        /// Ubuntu 14.04 (upstart): no `systemctl`.
        upstart: bool,
    },
    /// netplan (rendering to systemd-networkd or NetworkManager).
    Netplan,
    /// Plain systemd-networkd (Amazon Linux 2023).
    Networkd,
}

impl Stack {
    /// The backend that writes this stack's files.
    pub fn backend(self) -> Result<BackendKind> {
        Ok(match self {
            Stack::Initscripts { .. } | Stack::NetworkManagerIfcfg => BackendKind::IfcfgRh,
            Stack::Wicked | Stack::SuseSysconfig => BackendKind::IfcfgSuse,
            Stack::Ifupdown { .. } => BackendKind::Ifupdown,
            Stack::Netplan => BackendKind::Netplan,
            Stack::NetworkManagerKeyfile => bail!(
                "this system runs NetworkManager with keyfiles only: it needs the nm-keyfile backend \
                 (/etc/NetworkManager/system-connections/*.nmconnection), which this enicfg does not have yet"
            ),
            Stack::Networkd => bail!(
                "this system runs plain systemd-networkd: it needs the networkd backend \
                 (/etc/systemd/network/*.network), which this enicfg does not have yet"
            ),
        })
    }

    /// The stack a backend is assumed to be read by when only `--backend` is given.
    pub fn default_for(kind: BackendKind) -> Stack {
        match kind {
            // NOTE: EL8 and later read ifcfg through NetworkManager; that is today's common case.
            BackendKind::IfcfgRh => Stack::NetworkManagerIfcfg,
            BackendKind::IfcfgSuse => Stack::Wicked,
            BackendKind::Ifupdown => Stack::Ifupdown { upstart: false },
            BackendKind::Netplan => Stack::Netplan,
        }
    }

    /// The whole-stack restart command (distro-matrix.md §1 and the Alibaba table, §2.1).
    pub fn restart_command(self) -> &'static str {
        match self {
            Stack::Initscripts { sysv: true, .. } => "service network restart",
            Stack::Initscripts { sysv: false, .. } => "systemctl restart network",
            Stack::NetworkManagerIfcfg | Stack::NetworkManagerKeyfile => "systemctl restart NetworkManager",
            Stack::Wicked => "systemctl restart wicked",
            Stack::SuseSysconfig => "rcnetwork restart",
            Stack::Ifupdown { upstart: true } => "service networking restart",
            Stack::Ifupdown { upstart: false } => "systemctl restart networking",
            Stack::Netplan => "netplan apply",
            Stack::Networkd => "systemctl restart systemd-networkd",
        }
    }

    /// A short human description.
    pub fn describe(self) -> &'static str {
        match self {
            Stack::Initscripts { .. } => "initscripts network service",
            Stack::NetworkManagerIfcfg => "NetworkManager (ifcfg-rh plugin)",
            Stack::NetworkManagerKeyfile => "NetworkManager (keyfile)",
            Stack::Wicked => "wicked",
            Stack::SuseSysconfig => "SUSE 11 sysconfig scripts",
            Stack::Ifupdown { .. } => "ifupdown",
            Stack::Netplan => "netplan",
            Stack::Networkd => "systemd-networkd",
        }
    }
}

impl fmt::Display for Stack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}
