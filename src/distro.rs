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
    pub fn backend(self) -> BackendKind {
        match self {
            Stack::Initscripts { .. } | Stack::NetworkManagerIfcfg => BackendKind::IfcfgRh,
            Stack::Wicked | Stack::SuseSysconfig => BackendKind::IfcfgSuse,
            Stack::Ifupdown { .. } => BackendKind::Ifupdown,
            Stack::Netplan => BackendKind::Netplan,
            Stack::NetworkManagerKeyfile => BackendKind::NmKeyfile,
            Stack::Networkd => BackendKind::Networkd,
        }
    }

    /// The stack a backend is assumed to be read by when only `--backend` is given.
    pub fn default_for(kind: BackendKind) -> Stack {
        match kind {
            // NOTE: EL8 and later read ifcfg through NetworkManager; that is today's common case.
            BackendKind::IfcfgRh => Stack::NetworkManagerIfcfg,
            BackendKind::IfcfgSuse => Stack::Wicked,
            BackendKind::Ifupdown => Stack::Ifupdown { upstart: false },
            BackendKind::Netplan => Stack::Netplan,
            BackendKind::NmKeyfile => Stack::NetworkManagerKeyfile,
            BackendKind::Networkd => Stack::Networkd,
        }
    }

    /// The whole-stack restart command (distro-matrix.md §1 and the Alibaba table, §2.1).
    pub fn restart_command(self) -> &'static str {
        match self {
            Stack::Initscripts { sysv: true, .. } => "service network restart",
            Stack::Initscripts { sysv: false, .. } => "systemctl restart network",
            Stack::NetworkManagerIfcfg | Stack::NetworkManagerKeyfile => {
                "systemctl restart NetworkManager"
            }
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

/// What os-release (or an override) says about the target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Distro {
    /// `ID`, lower-cased.
    pub id: String,
    /// `VERSION_ID`, when present (Debian testing has none; Kylin says `V10`).
    pub version_id: Option<String>,
    /// `ID_LIKE` entries, lower-cased.
    pub id_like: Vec<String>,
    /// `PRETTY_NAME` (or a name built from the ID and version).
    pub pretty_name: String,
}

impl Distro {
    /// The leading number of `VERSION_ID` (`7` for `7.9`, `2016` for `2016.03`), if numeric.
    pub fn major(&self) -> Option<u32> {
        let v = self.version_id.as_deref()?;
        let digits: String = v.chars().take_while(char::is_ascii_digit).collect();
        digits.parse().ok()
    }

    /// `ID VERSION_ID`, e.g. `centos 7`.
    pub fn short(&self) -> String {
        match &self.version_id {
            Some(v) => format!("{} {v}", self.id),
            None => self.id.clone(),
        }
    }
}

/// The result of detection: the distro (when known) and the stack that reads the files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Detection {
    /// The distro, or `None` when the target was given as `--backend`.
    pub distro: Option<Distro>,
    /// The network stack.
    pub stack: Stack,
    /// How the stack was decided (for `detect` and error messages).
    pub reason: String,
}

/// IDs in the distro table, for error messages.
pub const KNOWN_IDS: &[&str] = &[
    "almalinux",
    "alinux",
    "amzn",
    "anolis",
    "centos",
    "debian",
    "fedora",
    "kylin",
    "ol",
    "openeuler",
    "opensuse",
    "opensuse-leap",
    "opensuse-tumbleweed",
    "rhel",
    "rocky",
    "sles",
    "tencentos",
    "tlinux",
    "ubuntu",
];

/// The distro table (distro-matrix.md §2): `None` when the ID is unknown, an error when the
/// ID is known but the version is not covered (naming the versions that are).
pub fn stack_for(d: &Distro) -> Option<Result<Stack>> {
    Some(table(&d.id, d.major())?.ok_or_else(|| {
        let known = known_versions(&d.id).unwrap_or_default();
        anyhow::anyhow!(
            "{} version {} is not in enicfg's distro table, which knows {} {known}: pass --backend to choose the format",
            d.id,
            d.version_id.as_deref().unwrap_or("(none)"),
            d.id,
        )
    }))
}

/// The highest major version [`known_versions`] looks at (Amazon Linux counts years).
const PROBE_MAX: u32 = 2100;

/// The versions of `id` the distro table covers, as `6, 7, 8, 9 or later` (one entry per run of
/// majors that get the same stack), read from the table itself; `None` when the table does not
/// know the ID or every version is covered.
pub fn known_versions(id: &str) -> Option<String> {
    let runs = version_runs(id)?;
    let parts: Vec<String> = runs
        .iter()
        .map(|&(start, end)| match (start, end) {
            (0, end) => format!("{end} or earlier"),
            (start, PROBE_MAX) => format!("{start} or later"),
            (start, end) if start == end => start.to_string(),
            (start, end) => format!("{start}-{end}"),
        })
        .collect();
    Some(parts.join(", "))
}

/// The runs of majors of `id` that the table covers, each with one stack; `None` as for
/// [`known_versions`].
fn version_runs(id: &str) -> Option<Vec<(u32, u32)>> {
    table(id, None)?;
    let mut runs: Vec<(u32, u32, Stack)> = Vec::new();
    for major in 0..=PROBE_MAX {
        let Some(Some(stack)) = table(id, Some(major)) else {
            continue;
        };
        match runs.last_mut() {
            Some((_, end, s)) if *end + 1 == major && *s == stack => *end = major,
            _ => runs.push((major, major, stack)),
        }
    }
    if let [(0, PROBE_MAX, _)] = runs.as_slice() {
        return None;
    }
    Some(
        runs.into_iter()
            .map(|(start, end, _)| (start, end))
            .collect(),
    )
}

/// The table itself: `None` when the ID is unknown, `Some(None)` when the version is not
/// covered.
fn table(id: &str, major: Option<u32>) -> Option<Option<Stack>> {
    let initscripts = |sysv| Stack::Initscripts {
        sysv,
        ec2_net_utils: false,
    };
    // RHEL and its rebuilds, by major version.
    let el = |m: Option<u32>| -> Result<Stack, ()> {
        match m {
            Some(6) => Ok(initscripts(true)),
            Some(7) => Ok(initscripts(false)),
            Some(8) => Ok(Stack::NetworkManagerIfcfg),
            // NOTE: EL9 still reads ifcfg through the built-in ifcfg-rh plugin, but keyfiles are
            // its default and ifcfg is deprecated (distro-matrix.md §2 rows 7-8, §6 step 3);
            // EL10 reads keyfiles only.
            Some(m) if m >= 9 => Ok(Stack::NetworkManagerKeyfile),
            _ => Err(()),
        }
    };
    let stack = match id {
        "centos" | "rhel" | "rocky" | "almalinux" | "ol" => el(major),
        "fedora" => match major {
            // NOTE: Fedora 33 made keyfiles the default for new profiles, 36 moved the ifcfg-rh
            // plugin to a subpackage new installs lack, 41 removed it (distro-matrix.md §2 row 14).
            Some(m) if m <= 32 => Ok(Stack::NetworkManagerIfcfg),
            Some(_) => Ok(Stack::NetworkManagerKeyfile),
            None => Err(()),
        },
        "alinux" => match major {
            // NOTE: Alibaba's docs disagree for Alinux 2 (networkd vs network service); the
            // current doc and multi-nic-util use ifcfg + `systemctl restart network`.
            Some(2) => Ok(initscripts(false)),
            Some(3) => Ok(Stack::NetworkManagerIfcfg),
            Some(m) if m >= 4 => Ok(Stack::NetworkManagerKeyfile),
            _ => Err(()),
        },
        "anolis" => match major {
            Some(7) => Ok(initscripts(false)),
            Some(8) => Ok(Stack::NetworkManagerIfcfg),
            Some(m) if m >= 23 => Ok(Stack::NetworkManagerKeyfile),
            _ => Err(()),
        },
        "openeuler" | "kylin" => Ok(Stack::NetworkManagerIfcfg),
        "tlinux" => Ok(initscripts(false)),
        "tencentos" => match major {
            Some(2) => Ok(initscripts(false)),
            Some(3) => Ok(Stack::NetworkManagerIfcfg),
            Some(m) if m >= 4 => Ok(Stack::NetworkManagerKeyfile),
            _ => Err(()),
        },
        "amzn" => match major {
            // Amazon Linux 1 (2016.03-2018.03) and 2 run ec2-net-utils 1.x, which rewrites
            // ifcfg-ethN unless it says EC2SYNC=no.
            Some(m) if (2016..=2018).contains(&m) => Ok(Stack::Initscripts {
                sysv: true,
                ec2_net_utils: true,
            }),
            Some(2) => Ok(Stack::Initscripts {
                sysv: false,
                ec2_net_utils: true,
            }),
            Some(m) if m >= 2022 => Ok(Stack::Networkd),
            _ => Err(()),
        },
        "ubuntu" => match major {
            Some(14) => Ok(Stack::Ifupdown { upstart: true }),
            Some(15..=17) => Ok(Stack::Ifupdown { upstart: false }),
            Some(m) if m >= 18 => Ok(Stack::Netplan),
            _ => Err(()),
        },
        "debian" => match major {
            Some(8..=11) => Ok(Stack::Ifupdown { upstart: false }),
            Some(m) if m >= 12 => Ok(Stack::Netplan),
            // testing/sid have no VERSION_ID: they are newer than the last release.
            None => Ok(Stack::Netplan),
            _ => Err(()),
        },
        "sles" | "sled" => match major {
            Some(11) => Ok(Stack::SuseSysconfig),
            Some(12 | 15) => Ok(Stack::Wicked),
            Some(m) if m >= 16 => Ok(Stack::NetworkManagerKeyfile),
            _ => Err(()),
        },
        "opensuse" | "opensuse-leap" => match major {
            Some(15 | 42) => Ok(Stack::Wicked),
            Some(m) if (16..42).contains(&m) => Ok(Stack::NetworkManagerKeyfile),
            _ => Err(()),
        },
        // NOTE: Tumbleweed installs NetworkManager by default since 2024.
        "opensuse-tumbleweed" => Ok(Stack::NetworkManagerKeyfile),
        _ => return None,
    };
    Some(stack.ok())
}

/// Decides the stack of a distro: by ID and version, then — only as a last resort — by the
/// first `ID_LIKE` entry the table knows.
pub fn decide(d: &Distro) -> Result<(Stack, String)> {
    if let Some(stack) = stack_for(d) {
        return Ok((stack?, format!("{} from the distro table", d.short())));
    }
    for like in &d.id_like {
        let guess = Distro {
            id: like.clone(),
            ..d.clone()
        };
        if let Some(Ok(stack)) = stack_for(&guess) {
            return Ok((
                stack,
                format!(
                    "{} is not in the distro table; guessed from ID_LIKE {like} {} (pass --distro or --backend if this is wrong)",
                    d.id,
                    d.version_id.as_deref().unwrap_or("")
                ),
            ));
        }
    }
    bail!(
        "unknown distro {:?} (ID_LIKE {:?}): enicfg knows {}; pass --distro ID:VERSION or --backend",
        d.short(),
        d.id_like.join(" "),
        KNOWN_IDS.join(", ")
    )
}

/// Parses `ID[:VERSION]` from `--distro`.
pub fn parse_override(s: &str) -> Result<Distro> {
    let (id, version) = match s.split_once(':') {
        Some((id, v)) => (id, Some(v.to_owned()).filter(|v| !v.is_empty())),
        None => (s, None),
    };
    if id.is_empty()
        || !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err(crate::UsageError(format!(
            "--distro {s:?}: expected ID[:VERSION] like centos:7 or debian:12"
        ))
        .into());
    }
    let id = id.to_ascii_lowercase();
    let distro = Distro {
        pretty_name: match &version {
            Some(v) => format!("{id} {v}"),
            None => id.clone(),
        },
        id,
        version_id: version,
        id_like: Vec::new(),
    };
    // A value the table cannot place is a usage error naming what it knows.
    let problem = match stack_for(&distro) {
        Some(Ok(_)) => return Ok(distro),
        None => format!(
            "--distro {s}: unknown distro ID {}: enicfg knows {}; or pass --backend to choose the format",
            distro.id,
            KNOWN_IDS.join(", ")
        ),
        Some(Err(_)) => {
            let id = &distro.id;
            let known = known_versions(id).unwrap_or_default();
            match &distro.version_id {
                None => {
                    let example = version_runs(id)
                        .and_then(|runs| {
                            runs.first()
                                .map(|&(start, end)| if start == 0 { end } else { start })
                        })
                        .unwrap_or(1);
                    format!(
                        "--distro {id} needs a version: enicfg knows {id} {known} (os-release VERSION_ID, e.g. --distro {id}:{example})"
                    )
                }
                Some(v) => format!(
                    "--distro {s}: {id} {v} is not in enicfg's distro table, which knows {id} {known}: pass one of those, or --backend to choose the format"
                ),
            }
        }
    };
    Err(crate::UsageError(problem).into())
}

/// Parses os-release text (the `os-release` crate reads the fields; IDs are lower-cased).
pub fn parse_os_release(text: &str) -> Distro {
    // NOTE: os-release 0.1.0 strips quotes with `line[1..len - 1]` when a value starts and
    // ends with the same quote, which panics on a value that is one lone quote (`ID="`, as in
    // a truncated file): such a value is empty (found by tests/robustness.rs).
    let lines = text.lines().map(|l| match l.split_once('=') {
        Some((k, v)) if matches!(v.trim(), "\"" | "'") => format!("{k}="),
        _ => l.to_owned(),
    });
    let os = os_release::OsRelease::from_iter(lines);
    let id = os.id.trim().to_ascii_lowercase();
    let version_id = Some(os.version_id.trim().to_owned()).filter(|v| !v.is_empty());
    Distro {
        pretty_name: if os.pretty_name.is_empty() {
            match &version_id {
                Some(v) => format!("{id} {v}"),
                None => id.clone(),
            }
        } else {
            os.pretty_name.clone()
        },
        id_like: os
            .id_like
            .split_whitespace()
            .map(str::to_ascii_lowercase)
            .collect(),
        id,
        version_id,
    }
}

/// Parses the pre-os-release files: `/etc/redhat-release`-style lines (EL6, Amazon Linux 1)
/// and `/etc/SuSE-release` (SLES 11 SP3).
pub fn parse_legacy_release(text: &str) -> Option<Distro> {
    let first = text.lines().next()?.trim();
    let lower = first.to_ascii_lowercase();
    if lower.starts_with("suse linux enterprise") {
        let field = |key: &str| {
            text.lines().find_map(|l| {
                let (k, v) = l.split_once('=')?;
                (k.trim() == key).then(|| v.trim().to_owned())
            })
        };
        let version = field("VERSION")?;
        let version = match field("PATCHLEVEL") {
            Some(p) => format!("{version}.{p}"),
            None => version,
        };
        return Some(Distro {
            id: "sles".into(),
            version_id: Some(version),
            id_like: Vec::new(),
            pretty_name: first.to_owned(),
        });
    }
    let id = if lower.starts_with("centos") {
        "centos"
    } else if lower.starts_with("red hat enterprise linux") {
        "rhel"
    } else if lower.starts_with("amazon linux ami") {
        "amzn"
    } else {
        return None;
    };
    let version = first
        .split_whitespace()
        .skip_while(|w| *w != "release")
        .nth(1)?
        .to_owned();
    Some(Distro {
        id: id.into(),
        version_id: Some(version),
        id_like: Vec::new(),
        pretty_name: first.to_owned(),
    })
}

/// Finds the distro of a root: `/etc/os-release`, then `/usr/lib/os-release`, then the legacy
/// release files. (`/etc` first: TencentOS 3.1's `/usr/lib/os-release` still says CentOS.)
/// Links are followed inside ROOT ([`crate::root`]): `/etc/os-release` is a link to
/// `../usr/lib/os-release` nearly everywhere, and one whose target is missing inside ROOT counts
/// as absent (the next file is tried; the build host's is never read).
pub fn read_root(root: &std::path::Path) -> Result<(Distro, String)> {
    if std::fs::metadata(root).is_err() {
        bail!(
            "the root {} does not exist (or is not readable): pass an existing --root, or name the target with --distro or --os-release",
            root.display()
        );
    }
    for path in ["/etc/os-release", "/usr/lib/os-release"] {
        if let Some(text) = crate::root::read_optional(root, path)? {
            return Ok((parse_os_release(&text), path.to_owned()));
        }
    }
    for path in [
        "/etc/SuSE-release",
        "/etc/centos-release",
        "/etc/redhat-release",
        "/etc/system-release",
    ] {
        if let Some(d) = crate::root::read_optional(root, path)?
            .as_deref()
            .and_then(parse_legacy_release)
        {
            return Ok((d, path.to_owned()));
        }
    }
    let mut dangling = Vec::new();
    for path in ["/etc/os-release", "/usr/lib/os-release"] {
        if let Some(target) = crate::root::symlink_target(root, path)? {
            dangling.push(format!(
                "{} is a symlink to {}, which does not exist inside {}",
                crate::root::in_root(root, path).display(),
                target.display(),
                root.display()
            ));
        }
    }
    let dangling = if dangling.is_empty() {
        String::new()
    } else {
        format!(" ({})", dangling.join("; "))
    };
    bail!(
        "cannot tell the distro of {}: no etc/os-release, usr/lib/os-release or legacy release file{dangling}; pass --distro or --backend",
        root.display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lone_quote_is_an_empty_value_not_a_panic() {
        let d = parse_os_release("ID=\"\nVERSION_ID='\nNAME=x\n");
        assert_eq!(d.id, "");
        assert_eq!(d.version_id, None);
    }
}
