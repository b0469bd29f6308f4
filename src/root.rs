//! Read-only facts about the target root that change how files are rendered.
//!
//! Backends are pure and never read files, so whatever they need to know about what is already
//! in ROOT (which include directive `/etc/network/interfaces` uses, which netplan files exist) is
//! read here, once, before rendering. Nothing here writes; symlinks are never followed, so a
//! link inside an image root can never make enicfg read the build host's files.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};

/// What the target root already holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RootFacts {
    /// Contents of `ROOT/etc/network/interfaces`, when it exists.
    pub interfaces_main: Option<String>,
    /// netplan YAML files present, as (absolute path inside the root, contents), sorted by path.
    pub netplan_files: Vec<(String, String)>,
    /// `rule-*` / `rule6-*` files in `/etc/sysconfig/network-scripts`, as (file name, whether
    /// enicfg generated it), sorted: NetworkManager's ifcfg-rh plugin ignores every rule and
    /// route of a profile that has one.
    pub rh_rule_files: Vec<(String, bool)>,
}

/// Joins an absolute in-target path (`/etc/...`) onto ROOT.
pub fn in_root(root: &Path, path: &str) -> PathBuf {
    root.join(path.trim_start_matches('/'))
}

/// Reads a regular file under ROOT; `None` when absent. Symlinks and non-files are errors.
pub fn read_optional(root: &Path, path: &str) -> Result<Option<String>> {
    let full = in_root(root, path);
    match fs::symlink_metadata(&full) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("failed to inspect {}", full.display())),
        Ok(m) if m.file_type().is_symlink() => {
            bail!(
                "{} is a symlink: enicfg does not follow symlinks inside the target root",
                full.display()
            )
        }
        Ok(m) if !m.is_file() => bail!("{} is not a regular file", full.display()),
        Ok(_) => fs::read_to_string(&full)
            .map(Some)
            .with_context(|| format!("failed to read {}", full.display())),
    }
}

impl RootFacts {
    /// Gathers the facts from ROOT.
    pub fn gather(root: &Path) -> Result<RootFacts> {
        let interfaces_main = read_optional(root, "/etc/network/interfaces")?;
        let mut netplan_files = Vec::new();
        for dir in ["/lib/netplan", "/etc/netplan", "/run/netplan"] {
            let full = in_root(root, dir);
            let entries = match fs::read_dir(&full) {
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => {
                    return Err(e).with_context(|| format!("failed to list {}", full.display()));
                }
                Ok(entries) => entries,
            };
            for entry in entries {
                let entry = entry.with_context(|| format!("failed to list {}", full.display()))?;
                let name = entry.file_name().to_string_lossy().into_owned();
                if !name.ends_with(".yaml") {
                    continue;
                }
                let path = format!("{dir}/{name}");
                if let Some(contents) = read_optional(root, &path)? {
                    netplan_files.push((path, contents));
                }
            }
        }
        netplan_files.sort();
        Ok(RootFacts {
            interfaces_main,
            netplan_files,
            rh_rule_files: rh_rule_files(root)?,
        })
    }
}

/// The `rule-*` / `rule6-*` files of `/etc/sysconfig/network-scripts`, with whether each starts
/// with enicfg's marker. One that cannot be read as a regular file (a symlink, say) counts as
/// not generated: NetworkManager only checks that it exists.
pub fn rh_rule_files(root: &Path) -> Result<Vec<(String, bool)>> {
    let dir = "/etc/sysconfig/network-scripts";
    let full = in_root(root, dir);
    let entries = match fs::read_dir(&full) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("failed to list {}", full.display())),
        Ok(entries) => entries,
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.with_context(|| format!("failed to list {}", full.display()))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if !(name.starts_with("rule-") || name.starts_with("rule6-")) {
            continue;
        }
        let generated = read_optional(root, &format!("{dir}/{name}"))
            .ok()
            .flatten()
            .is_some_and(|text| text.starts_with(crate::backend::GENERATED_MARKER));
        out.push((name, generated));
    }
    out.sort();
    Ok(out)
}
