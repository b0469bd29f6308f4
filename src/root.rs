//! Reading the target root: the one door every read under ROOT goes through.
//!
//! ROOT is `/` inside a guest, or an image being built. Either way a path like `/etc/os-release`
//! means what it would mean to a process chrooted into ROOT, so [`resolve`] follows symlinks the
//! way the kernel would after `chroot ROOT`: an absolute link target starts again at ROOT, `..`
//! never climbs above ROOT, and more than [`MAX_LINKS`] links on one path (a loop, or a chain
//! too long) is an error naming the path. Images are full of links (`/etc/os-release` →
//! `../usr/lib/os-release`, merged-/usr `/lib` → `usr/lib`, `*.wants/` unit links to
//! `/lib/systemd/system/…`, `/sys/class/net/*` → `../../devices/…`); following them on the build
//! host instead would read the host's files, and refusing them would break on nearly every
//! distro. Nothing outside ROOT is ever read.
//!
//! The probe, distro detection, `verify`'s shadowing check, the sysfs walk and [`RootFacts`] use
//! only the helpers here; none of them calls `std::fs` on a ROOT path. Nothing here writes
//! (`write.rs` owns writing, and never follows a link at all).

use std::ffi::OsString;
use std::fs;
use std::io;
use std::path::{Component, Path, PathBuf};

use anyhow::{Context as _, Result, bail};

use crate::backend::BackendKind;

/// The most symlinks followed while resolving one path: Linux's own limit (`MAXSYMLINKS`,
/// ELOOP), so a chain that works inside a chroot works here and a loop fails the same way.
pub const MAX_LINKS: usize = 40;

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

/// Joins an absolute in-target path (`/etc/...`) onto ROOT, literally: nothing is resolved.
/// For messages and for the writer; reads go through [`resolve`] and the helpers below.
pub fn in_root(root: &Path, path: &str) -> PathBuf {
    root.join(path.trim_start_matches('/'))
}

/// The components of a path (or link target), last first, so the walk can pop them.
fn components_rev(path: &Path, out: &mut Vec<OsString>) {
    let mut parts: Vec<OsString> = path
        .components()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(n.to_owned()),
            Component::ParentDir => Some(OsString::from("..")),
            Component::RootDir | Component::CurDir | Component::Prefix(_) => None,
        })
        .collect();
    parts.reverse();
    out.extend(parts);
}

/// Walks `path` inside ROOT, following links chroot-style; the last component is followed only
/// when `follow_last`. Returns the in-target absolute path of what it names (free of links,
/// except a last component left unfollowed), or `None` when something on the way is missing
/// (a dangling link included) or is not a directory.
fn walk(root: &Path, path: &str, follow_last: bool) -> Result<Option<PathBuf>> {
    // `done` never contains a link, so `..` can be applied to it by dropping the last name, and
    // `PathBuf::pop` on `/` does nothing: `..` stops at ROOT like it stops at `/` in a chroot.
    let mut done = PathBuf::from("/");
    let mut todo = Vec::new();
    components_rev(Path::new(path), &mut todo);
    let mut links = 0;
    while let Some(name) = todo.pop() {
        if name == ".." {
            done.pop();
            continue;
        }
        let next = done.join(&name);
        let full = root.join(next.strip_prefix("/").unwrap_or(&next));
        let meta = match fs::symlink_metadata(&full) {
            Ok(m) => m,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
                ) =>
            {
                return Ok(None);
            }
            Err(e) => {
                return Err(e).with_context(|| {
                    format!(
                        "failed to inspect {} while resolving {path} inside {}",
                        full.display(),
                        root.display()
                    )
                });
            }
        };
        let last = todo.is_empty();
        if meta.file_type().is_symlink() && (follow_last || !last) {
            links += 1;
            if links > MAX_LINKS {
                bail!(
                    "cannot resolve {path} inside {}: more than {MAX_LINKS} symbolic links (a loop?), the last one at {}",
                    root.display(),
                    full.display()
                );
            }
            let target = fs::read_link(&full)
                .with_context(|| format!("failed to read the symlink {}", full.display()))?;
            if target.has_root() {
                done = PathBuf::from("/");
            }
            components_rev(&target, &mut todo);
            continue;
        }
        if !last && !meta.is_dir() {
            return Ok(None);
        }
        done = next;
    }
    Ok(Some(done))
}

fn host_path(root: &Path, inner: &Path) -> PathBuf {
    root.join(inner.strip_prefix("/").unwrap_or(inner))
}

/// Where `path` (absolute, as seen inside the target) really is on this machine, resolved the
/// way a chroot into ROOT would: `None` when it does not exist there (a dangling link
/// included). Errors on a symlink loop or chain longer than [`MAX_LINKS`], naming the path.
pub fn resolve(root: &Path, path: &str) -> Result<Option<PathBuf>> {
    Ok(walk(root, path, true)?.map(|inner| host_path(root, &inner)))
}

/// Whether `path` exists inside ROOT, links followed chroot-style ([`resolve`]).
pub fn exists(root: &Path, path: &str) -> Result<bool> {
    Ok(walk(root, path, true)?.is_some())
}

/// The target of `path` when `path` itself is a symlink (its directories resolved
/// chroot-style, the link itself not followed); `None` when it is missing or not a link.
pub fn symlink_target(root: &Path, path: &str) -> Result<Option<PathBuf>> {
    let Some(inner) = walk(root, path, false)? else {
        return Ok(None);
    };
    let full = host_path(root, &inner);
    match fs::symlink_metadata(&full) {
        Ok(m) if m.file_type().is_symlink() => fs::read_link(&full)
            .map(Some)
            .with_context(|| format!("failed to read the symlink {}", full.display())),
        Ok(_) => Ok(None),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("failed to inspect {}", full.display())),
    }
}

/// Reads a file under ROOT, links followed chroot-style. `None` when it does not exist, or when
/// it resolves to `/dev/null`: systemd and NetworkManager mask a configuration file by linking
/// it there, and a masked file is as good as absent. Anything else that is not a regular file
/// is an error.
pub fn read_optional(root: &Path, path: &str) -> Result<Option<String>> {
    let Some(inner) = walk(root, path, true)? else {
        return Ok(None);
    };
    if inner == Path::new("/dev/null") {
        return Ok(None);
    }
    let full = host_path(root, &inner);
    let given = in_root(root, path);
    let shown = if full == given {
        given.display().to_string()
    } else {
        format!("{} (resolved to {})", given.display(), full.display())
    };
    let meta = fs::metadata(&full).with_context(|| format!("failed to inspect {shown}"))?;
    if !meta.is_file() {
        bail!("{shown} is not a regular file");
    }
    fs::read_to_string(&full)
        .map(Some)
        .with_context(|| format!("failed to read {shown}"))
}

/// The entry names of a directory under ROOT, sorted; links followed chroot-style on the way
/// to it (the entries themselves are not resolved). `None` when the directory does not exist.
/// Names that are not UTF-8 are skipped: no file enicfg looks for has one.
pub fn read_dir_names(root: &Path, dir: &str) -> Result<Option<Vec<String>>> {
    let Some(full) = resolve(root, dir)? else {
        return Ok(None);
    };
    let given = in_root(root, dir);
    let entries = match fs::read_dir(&full) {
        Err(e) if e.kind() == io::ErrorKind::NotADirectory => {
            bail!("{} is not a directory", given.display())
        }
        Err(e) => return Err(e).with_context(|| format!("failed to list {}", given.display())),
        Ok(entries) => entries,
    };
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.with_context(|| format!("failed to list {}", given.display()))?;
        if let Ok(name) = entry.file_name().into_string() {
            names.push(name);
        }
    }
    names.sort();
    Ok(Some(names))
}

impl RootFacts {
    /// Gathers the facts `kind` renders from, and only those: a NIC's render at boot or attach
    /// reads no other stack's files (and is not failed by them).
    pub fn gather_for(root: &Path, kind: BackendKind) -> Result<RootFacts> {
        Ok(RootFacts {
            interfaces_main: match kind {
                BackendKind::Ifupdown => read_optional(root, "/etc/network/interfaces")?,
                _ => None,
            },
            netplan_files: match kind {
                BackendKind::Netplan => netplan_files(root)?,
                _ => Vec::new(),
            },
            rh_rule_files: match kind {
                BackendKind::IfcfgRh => rh_rule_files(root)?,
                _ => Vec::new(),
            },
        })
    }
}

/// Every `*.yaml` of netplan's three directories, with its contents, sorted by path.
fn netplan_files(root: &Path) -> Result<Vec<(String, String)>> {
    let mut files = Vec::new();
    for dir in ["/lib/netplan", "/etc/netplan", "/run/netplan"] {
        for name in read_dir_names(root, dir)?.unwrap_or_default() {
            if !name.ends_with(".yaml") {
                continue;
            }
            let path = format!("{dir}/{name}");
            if let Some(contents) = read_optional(root, &path)? {
                files.push((path, contents));
            }
        }
    }
    files.sort();
    Ok(files)
}

/// The `rule-*` / `rule6-*` files of `/etc/sysconfig/network-scripts`, with whether each starts
/// with enicfg's marker. One that cannot be read as a regular file counts as not generated:
/// NetworkManager only checks that it exists.
pub fn rh_rule_files(root: &Path) -> Result<Vec<(String, bool)>> {
    let dir = "/etc/sysconfig/network-scripts";
    let mut out = Vec::new();
    for name in read_dir_names(root, dir)?.unwrap_or_default() {
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn put(root: &Path, path: &str, text: &str) {
        let full = in_root(root, path);
        fs::create_dir_all(full.parent().unwrap()).unwrap();
        fs::write(full, text).unwrap();
    }

    fn link(root: &Path, path: &str, target: &str) {
        let full = in_root(root, path);
        fs::create_dir_all(full.parent().unwrap()).unwrap();
        symlink(target, full).unwrap();
    }

    #[test]
    fn absolute_targets_start_again_at_root() {
        let t = tempfile::tempdir().unwrap();
        let r = t.path();
        put(r, "/usr/lib/os-release", "ID=inside\n");
        link(r, "/etc/os-release", "/usr/lib/os-release");
        assert_eq!(
            read_optional(r, "/etc/os-release").unwrap().as_deref(),
            Some("ID=inside\n")
        );
        assert_eq!(
            resolve(r, "/etc/os-release").unwrap(),
            Some(r.join("usr/lib/os-release"))
        );
    }

    #[test]
    fn dotdot_never_climbs_above_root() {
        let t = tempfile::tempdir().unwrap();
        let r = t.path();
        put(r, "/usr/lib/os-release", "ID=inside\n");
        link(
            r,
            "/etc/os-release",
            "../../../../../../../../usr/lib/os-release",
        );
        assert_eq!(
            read_optional(r, "/etc/os-release").unwrap().as_deref(),
            Some("ID=inside\n")
        );
        // In the path itself too.
        assert_eq!(
            read_optional(r, "/../../etc/../usr/lib/os-release")
                .unwrap()
                .as_deref(),
            Some("ID=inside\n")
        );
    }

    #[test]
    fn a_dangling_link_is_missing_and_never_reaches_the_host() {
        let t = tempfile::tempdir().unwrap();
        let r = t.path();
        // The build host has /etc/passwd; ROOT does not.
        link(r, "/etc/os-release", "/etc/passwd");
        assert_eq!(read_optional(r, "/etc/os-release").unwrap(), None);
        assert!(!exists(r, "/etc/os-release").unwrap());
        assert_eq!(
            symlink_target(r, "/etc/os-release").unwrap(),
            Some(PathBuf::from("/etc/passwd"))
        );
    }

    #[test]
    fn merged_usr_links_are_followed_on_the_way() {
        let t = tempfile::tempdir().unwrap();
        let r = t.path();
        put(r, "/usr/lib/systemd/system/x.service", "[Unit]\n");
        put(r, "/usr/sbin/ifup", "");
        link(r, "/lib", "usr/lib");
        link(r, "/sbin", "usr/sbin");
        link(
            r,
            "/etc/systemd/system/multi-user.target.wants/x.service",
            "/lib/systemd/system/x.service",
        );
        assert!(exists(r, "/sbin/ifup").unwrap());
        assert!(exists(r, "/etc/systemd/system/multi-user.target.wants/x.service").unwrap());
        assert_eq!(
            read_dir_names(r, "/lib/systemd/system").unwrap(),
            Some(vec!["x.service".to_owned()])
        );
        // A file in the middle of a path is "not there", like ENOTDIR.
        assert!(!exists(r, "/sbin/ifup/x").unwrap());
    }

    #[test]
    fn loops_and_long_chains_are_errors_naming_the_path() {
        let t = tempfile::tempdir().unwrap();
        let r = t.path();
        link(r, "/etc/a", "b");
        link(r, "/etc/b", "/etc/a");
        let err = format!("{:#}", read_optional(r, "/etc/a").unwrap_err());
        assert!(err.contains("cannot resolve /etc/a inside"), "{err}");
        assert!(err.contains("more than 40 symbolic links"), "{err}");

        // 40 links in a row resolve, 41 do not.
        put(r, "/chain/end", "ok");
        link(r, "/chain/l0", "end");
        for i in 1..=40 {
            link(r, &format!("/chain/l{i}"), &format!("l{}", i - 1));
        }
        assert_eq!(
            read_optional(r, "/chain/l39").unwrap().as_deref(),
            Some("ok")
        );
        assert!(read_optional(r, "/chain/l40").is_err());
    }

    #[test]
    fn a_file_masked_with_dev_null_is_absent() {
        let t = tempfile::tempdir().unwrap();
        let r = t.path();
        link(r, "/etc/NetworkManager/conf.d/x.conf", "/dev/null");
        assert_eq!(
            read_optional(r, "/etc/NetworkManager/conf.d/x.conf").unwrap(),
            None
        );
        // Also when ROOT's /dev/null exists (ROOT is `/`): not read as a file.
        put(r, "/dev/null", "not a device here");
        assert_eq!(
            read_optional(r, "/etc/NetworkManager/conf.d/x.conf").unwrap(),
            None
        );
    }

    #[test]
    fn a_directory_is_not_read_as_a_file() {
        let t = tempfile::tempdir().unwrap();
        let r = t.path();
        fs::create_dir_all(r.join("etc/os-release")).unwrap();
        let err = format!("{:#}", read_optional(r, "/etc/os-release").unwrap_err());
        assert!(err.contains("is not a regular file"), "{err}");
    }

    /// A backend gets its own stack's facts and nothing of the other stacks: a broken
    /// file of another stack neither costs it a read nor fails it.
    #[test]
    fn each_backend_gathers_its_own_facts() {
        let t = tempfile::tempdir().unwrap();
        let r = t.path();
        put(
            r,
            "/etc/network/interfaces",
            "source /etc/network/interfaces.d/*\n",
        );
        put(
            r,
            "/etc/netplan/50-cloud-init.yaml",
            "network: {version: 2}\n",
        );
        put(
            r,
            "/etc/sysconfig/network-scripts/rule-eth1",
            "from 10.0.0.1 table 5\n",
        );
        for &kind in <BackendKind as clap::ValueEnum>::value_variants() {
            let own = RootFacts::gather_for(r, kind).unwrap();
            assert_eq!(
                own.interfaces_main.as_deref(),
                Some("source /etc/network/interfaces.d/*\n")
                    .filter(|_| kind == BackendKind::Ifupdown),
                "{kind}"
            );
            assert_eq!(
                own.netplan_files,
                if kind == BackendKind::Netplan {
                    vec![(
                        "/etc/netplan/50-cloud-init.yaml".to_owned(),
                        "network: {version: 2}\n".to_owned(),
                    )]
                } else {
                    Vec::new()
                },
                "{kind}"
            );
            assert_eq!(
                own.rh_rule_files.is_empty(),
                kind != BackendKind::IfcfgRh,
                "{kind}"
            );
        }
        // A loop in ifupdown's file fails ifupdown only.
        fs::remove_file(r.join("etc/network/interfaces")).unwrap();
        symlink("interfaces", r.join("etc/network/interfaces")).unwrap();
        assert!(RootFacts::gather_for(r, BackendKind::Ifupdown).is_err());
        assert!(RootFacts::gather_for(r, BackendKind::Netplan).is_ok());
    }
}
