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
        })
    }
}
