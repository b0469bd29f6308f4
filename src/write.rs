//! The only module that writes to the filesystem: plan, diff, back up, write atomically.
//!
//! Every target path is an absolute in-target path (`/etc/...`) joined onto ROOT. The writer
//! refuses paths with `.`/`..` components and never follows a symlink on the way (each existing
//! ancestor below ROOT and the target itself are checked with `lstat`), so it can never write
//! outside ROOT. Files are written to a temporary name in the same directory, fsynced, given
//! their exact mode, renamed over the target and the directory fsynced: a reader sees the old
//! file or the new one, never a half-written one. All temporary files are written before the
//! first rename, so a failure while writing leaves every target untouched.
//!
//! An existing file that enicfg did not generate (no [`GENERATED_MARKER`] first line) is copied
//! to `ROOT/var/lib/enicfg/backups/<timestamp>/<path>` before it is replaced; backups live
//! outside the configuration directories because several stacks read every file there
//! (`source *`, NetworkManager's keyfile directory).
//!
//! Every written file belongs to root (`0:0`) when enicfg runs as root: NetworkManager ignores
//! a keyfile that root does not own, so an owner that drifted is a change like any other (shown
//! by `--dry-run`, restored by writing). Run without root (an image root in the user's own
//! directory), files belong to the user running it. Before anything is touched, every
//! directory the plan writes into is checked for write access, so a run without the needed
//! privileges fails once, saying so, and changes nothing.
//!
//! Symlinks: a symlink anywhere on the way to a written file (the file itself, or any directory
//! between ROOT and it) is refused with an error naming it, even when it points inside ROOT;
//! ROOT itself may be a symlink. Reading follows links the way a chroot would (`root.rs`);
//! writing never does, so a link can never redirect a write.
//!
//! Writing converges: [`reconcile`] also plans the removal of every file enicfg generated
//! earlier (first line [`GENERATED_MARKER`]) in the directories the backends write into that
//! the current description no longer renders — a NIC dropped, an address gone, a change of
//! backend. A file enicfg did not generate is never removed. Files that belong to an excluded
//! interface are kept. A file of the user's that a backend appends lines to
//! ([`backend::APPENDED_TO`]: ifupdown's main file) keeps every line of the user's and loses an
//! appended line together with the file that line includes; it is backed up once, before the
//! first lines are appended, and `clean` gives back the user's bytes.
//!
//! Several files change together (`ifcfg-X` with its `route-X` and `rule-X`), and a rename is
//! atomic only per file. So before the first rename the whole plan is written to a journal
//! (`ROOT/var/lib/enicfg/journal.json`, atomically); it is removed when the last step is done.
//! A run killed in between leaves the journal, and the next run that writes ([`recover`], first
//! thing under the lock; at boot the hotplug units' run, before the network stack starts)
//! completes it, so no stack reads a mix of old and new files. Runs on one ROOT serialize on
//! [`Lock`].
//!
//! The writer knows nothing about formats.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write as _};
use std::os::unix::ffi::OsStrExt as _;
use std::os::unix::fs::{MetadataExt as _, OpenOptionsExt as _, PermissionsExt as _};
// NOTE: `create_new` is O_CREAT|O_EXCL, which never follows a symlink at the last component.
use std::path::{Component, Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, Result, bail};
use serde::{Deserialize, Serialize};

use crate::backend::{self, FileOut, GENERATED_MARKER};

/// Where backups go, inside ROOT.
pub const BACKUP_DIR: &str = "/var/lib/enicfg/backups";

/// enicfg's own state directory inside ROOT (lock, journal, backups).
pub const STATE_DIR: &str = "/var/lib/enicfg";

/// The journal of a write in progress, inside ROOT.
pub const JOURNAL: &str = "/var/lib/enicfg/journal.json";

/// The lock file that serializes runs on one ROOT.
pub const LOCK: &str = "/var/lib/enicfg/lock";

/// The directories enicfg created under ROOT outside its state directory, one per line, so that
/// `clean` leaves an image as it found it (an `interfaces.d/` that was not there).
pub const CREATED_DIRS: &str = "/var/lib/enicfg/created-dirs";

/// What will happen to one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// The file does not exist yet.
    Create,
    /// The file exists with other contents (or mode).
    Replace,
    /// Contents and mode already match.
    Unchanged,
    /// A file enicfg generated earlier that the description no longer renders.
    Remove,
}

/// One planned file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// The rendered file.
    pub file: FileOut,
    /// `ROOT` + `file.path`.
    pub full_path: PathBuf,
    /// What happens.
    pub action: Action,
    /// Current contents, when the file exists.
    pub old: Option<String>,
    /// Current mode, when the file exists.
    pub old_mode: Option<u32>,
    /// Current owner (uid, gid), when the file exists.
    pub old_owner: Option<(u32, u32)>,
    /// Whether the current file gets backed up first (it exists and enicfg did not make it).
    pub backup: bool,
}

/// The planned changes under ROOT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// ROOT.
    pub root: PathBuf,
    /// One step per file, in render order.
    pub steps: Vec<Step>,
    /// The owner (uid, gid) every written file gets.
    pub owner: (u32, u32),
}

/// The owner of written files: root when running as root, otherwise the user running enicfg.
pub fn expected_owner() -> (u32, u32) {
    // SAFETY: geteuid and getegid cannot fail and touch no memory.
    let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
    if uid == 0 { (0, 0) } else { (uid, gid) }
}

/// Checks an in-target path: absolute, no `.`/`..`, not the root itself.
fn checked_relative(path: &str) -> Result<PathBuf> {
    let p = Path::new(path);
    if !p.is_absolute() {
        bail!("refusing to write {path}: target paths must be absolute");
    }
    let mut rel = PathBuf::new();
    for c in p.components() {
        match c {
            Component::RootDir => {}
            Component::Normal(s) => rel.push(s),
            _ => bail!("refusing to write {path}: '.' and '..' are not allowed in target paths"),
        }
    }
    if rel.as_os_str().is_empty() {
        bail!("refusing to write {path}: not a file path");
    }
    Ok(rel)
}

/// `lstat` that maps "not found" to `None`.
fn lstat(path: &Path) -> Result<Option<fs::Metadata>> {
    match fs::symlink_metadata(path) {
        Ok(m) => Ok(Some(m)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("failed to inspect {}", path.display())),
    }
}

/// Fails if any existing ancestor of `rel` below `root` is a symlink or not a directory.
fn check_ancestors(root: &Path, rel: &Path) -> Result<()> {
    check_ancestors_once(root, rel, &mut std::collections::HashSet::new())
}

/// [`check_ancestors`], skipping a parent directory already found whole in `checked` (a plan
/// of N files in one directory would otherwise inspect it N times), and adding it when found.
fn check_ancestors_once(
    root: &Path,
    rel: &Path,
    checked: &mut std::collections::HashSet<PathBuf>,
) -> Result<()> {
    let parent = rel.parent().unwrap_or(Path::new(""));
    if checked.contains(parent) {
        return Ok(());
    }
    let mut cur = root.to_path_buf();
    for c in parent.components() {
        cur.push(c);
        match lstat(&cur)? {
            None => return Ok(()),
            Some(m) if m.file_type().is_symlink() => bail!(
                "refusing to write below {}: it is a symlink, and enicfg never follows symlinks",
                cur.display()
            ),
            Some(m) if !m.is_dir() => bail!(
                "cannot write below {}: it is not a directory",
                cur.display()
            ),
            Some(_) => {}
        }
    }
    checked.insert(parent.to_path_buf());
    Ok(())
}

/// Compares rendered files with what is under ROOT. Reads only.
pub fn plan(root: &Path, files: Vec<FileOut>) -> Result<Plan> {
    let owner = expected_owner();
    let mut steps = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut checked_dirs = std::collections::HashSet::new();
    for file in files {
        let rel = checked_relative(&file.path)?;
        if !seen.insert(rel.clone()) {
            bail!("internal error: {} is rendered twice", file.path);
        }
        check_ancestors_once(root, &rel, &mut checked_dirs)?;
        let full_path = root.join(&rel);
        let (old, old_mode, old_owner) = match lstat(&full_path)? {
            None => (None, None, None),
            Some(m) if m.file_type().is_symlink() => bail!(
                "refusing to replace {}: it is a symlink, and enicfg never follows symlinks",
                full_path.display()
            ),
            Some(m) if !m.is_file() => bail!(
                "cannot replace {}: it is not a regular file",
                full_path.display()
            ),
            Some(m) => {
                let old = read_text(&full_path, m.len())
                    .with_context(|| format!("failed to read {}", full_path.display()))?;
                (
                    Some(old),
                    Some(m.permissions().mode() & 0o7777),
                    Some((m.uid(), m.gid())),
                )
            }
        };
        let action = match (&old, old_mode, old_owner) {
            (None, _, _) => Action::Create,
            (Some(o), Some(m), Some(who))
                if *o == file.contents && m == file.mode && who == owner =>
            {
                Action::Unchanged
            }
            _ => Action::Replace,
        };
        // A file that already carries lines a backend appended was backed up when they were
        // first added; backing it up again would give `clean` a newest backup with them in it.
        let backup = action == Action::Replace
            && old.as_deref().is_some_and(|o| {
                !o.starts_with(GENERATED_MARKER)
                    && *o != file.contents
                    && backend::without_appended(&file.path, o).is_none()
            });
        steps.push(Step {
            file,
            full_path,
            action,
            old,
            old_mode,
            old_owner,
            backup,
        });
    }
    Ok(Plan {
        root: root.to_path_buf(),
        steps,
        owner,
    })
}

/// Reads a regular file that `lstat` found `len` bytes long: `fs::read_to_string` without its
/// own `fstat`, since a second `write` reads every file it wrote (4000 for 1000 SUSE NICs).
fn read_text(path: &Path, len: u64) -> io::Result<String> {
    let file = open_read_only(path)?;
    let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0).saturating_add(1));
    // `Take` reads to the end without asking the file its size again.
    io::Read::read_to_end(&mut io::Read::take(&file, u64::MAX), &mut bytes)?;
    String::from_utf8(bytes).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// Opens a file for reading, refusing a symlink (`O_NOFOLLOW`: one swapped in after the `lstat`
/// that found a regular file).
fn open_read_only(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NOCTTY)
        .open(path)
}

/// [`plan`], plus the removal of every file enicfg generated earlier under ROOT that `files`
/// no longer contains, unless `keep(path, contents)` says it belongs to something enicfg must
/// leave alone (an excluded interface). Searched: [`backend::OWNED_DIRS`], the directories of
/// `files`, and systemd-networkd drop-in directories (`*.network.d/`). Reads only; symlinks and
/// files without the marker are never planned for removal. Removals come last, and for one
/// interface its main file (`ifcfg-X`, `.network`, ...) before the files that extend it. The
/// lines a backend appended to a file of the user's that include a file that goes (or is gone)
/// go too ([`backend::APPENDED_TO`]), also when `files` does not render that file.
pub fn reconcile(
    root: &Path,
    files: &[FileOut],
    keep: &dyn Fn(&str, &str) -> bool,
) -> Result<Plan> {
    reconcile_in(root, files, keep, &[])
}

/// [`reconcile`], also searching `extra_dirs` (the hotplug files' directories for `clean`).
pub fn reconcile_in(
    root: &Path,
    files: &[FileOut],
    keep: &dyn Fn(&str, &str) -> bool,
    extra_dirs: &[&str],
) -> Result<Plan> {
    let rendered: std::collections::HashSet<&str> = files.iter().map(|f| f.path.as_str()).collect();
    let mut dirs: Vec<String> = backend::OWNED_DIRS
        .iter()
        .chain(extra_dirs)
        .map(|d| (*d).to_owned())
        .collect();
    for f in files {
        if let Some((dir, _)) = f.path.rsplit_once('/') {
            dirs.push(dir.to_owned());
        }
    }
    // networkd drop-in directories (netplan's IPv6 drop-in lives in one).
    for name in list_dir(root, "/etc/systemd/network")? {
        if name.ends_with(".network.d") {
            dirs.push(format!("/etc/systemd/network/{name}"));
        }
    }
    dirs.sort();
    dirs.dedup();
    let mut stale = Vec::new();
    for dir in &dirs {
        for name in list_dir(root, dir)? {
            let path = format!("{dir}/{name}");
            if rendered.contains(path.as_str()) {
                continue;
            }
            let rel = checked_relative(&path)?;
            let full_path = root.join(&rel);
            let Some(m) = lstat(&full_path)? else {
                continue;
            };
            if !m.is_file() {
                continue;
            }
            let Ok(old) = fs::read_to_string(&full_path) else {
                continue; // not text: never ours
            };
            if !old.starts_with(GENERATED_MARKER) || keep(&path, &old) {
                continue;
            }
            stale.push(removal(path, full_path, &m, old));
        }
    }
    let removed: std::collections::BTreeSet<&str> =
        stale.iter().map(|s| s.file.path.as_str()).collect();
    let (files, gone_too) = drop_appended_lines(root, files, &rendered, &removed)?;
    stale.extend(gone_too);
    let mut plan = plan(root, files)?;
    stale.sort_by_key(|s| {
        let iface = backend::interface_of(&s.file.path).unwrap_or_default();
        (iface, !is_main_file(&s.file.path), s.file.path.clone())
    });
    plan.steps.extend(stale);
    Ok(plan)
}

/// The step that removes a file found under ROOT (`m` its `lstat`, `old` its contents).
fn removal(path: String, full_path: PathBuf, m: &fs::Metadata, old: String) -> Step {
    let mode = m.permissions().mode() & 0o7777;
    Step {
        file: FileOut {
            path,
            mode,
            contents: String::new(),
        },
        full_path,
        action: Action::Remove,
        old: Some(old),
        old_mode: Some(mode),
        old_owner: Some((m.uid(), m.gid())),
        backup: false,
    }
}

/// `files`, with every [`backend::APPENDED_TO`] file (as rendered, else as it is under ROOT)
/// without the appended lines that include a file that is gone: removed by this plan
/// (`removed`), or missing and not among the paths it writes (`written`). A line with the backend's mark is the
/// backend's; one without it only in the form the backend appends is taken as one an older
/// enicfg appended when there is evidence: the file is one enicfg generated, or its oldest
/// backup (the file before enicfg first changed it) does not have that line. Also returns the
/// removal of such a file that enicfg created itself and that has nothing left but comments.
///
/// NOTE: without a backup of the file a mark-less line is always the user's: a `source
/// /etc/network/interfaces.d/eth9` the user wrote looks exactly like one enicfg 0.x appended,
/// and removing a user's line is worse than leaving one of ours (ifupdown skips a `source`
/// whose file is missing).
fn drop_appended_lines(
    root: &Path,
    files: &[FileOut],
    written: &std::collections::HashSet<&str>,
    removed: &std::collections::BTreeSet<&str>,
) -> Result<(Vec<FileOut>, Vec<Step>)> {
    let mut files = files.to_vec();
    let mut gone_too = Vec::new();
    for path in backend::APPENDED_TO {
        let full_path = root.join(checked_relative(path)?);
        // Not a regular file, or not text: nothing of enicfg's is in it.
        let on_disk = match lstat(&full_path)? {
            Some(m) if m.is_file() => fs::read_to_string(&full_path).ok().map(|text| (m, text)),
            _ => None,
        };
        let index = files.iter().position(|f| f.path == *path);
        let current = match (index, &on_disk) {
            (Some(i), _) => files[i].contents.clone(),
            (None, Some((_, text))) => text.clone(),
            (None, None) => continue,
        };
        let generated = on_disk
            .as_ref()
            .map_or(current.as_str(), |(_, text)| text.as_str())
            .starts_with(GENERATED_MARKER);
        let oldest = oldest_backup(root, path)?;
        let gone = |included: &str, marked: bool| -> bool {
            if written.contains(included) {
                return false;
            }
            let missing = removed.contains(included)
                || checked_relative(included)
                    .ok()
                    .and_then(|rel| lstat(&root.join(rel)).ok())
                    .is_some_and(|m| m.is_none());
            let ours = marked
                || generated
                || oldest
                    .as_deref()
                    .is_some_and(|o| !o.lines().any(|l| l == format!("source {included}")));
            missing && ours
        };
        let mut dropped = backend::drop_appended(path, &current, &gone);
        // Nothing of enicfg's left, and what is left is the file before enicfg first changed it
        // but for the newline appending had to end its last line with: the original bytes.
        if let Some(o) = oldest.as_deref().filter(|o| format!("{o}\n") == dropped)
            && backend::without_appended(path, &dropped).is_none()
        {
            dropped = o.to_owned();
        }
        let only_comments = dropped
            .lines()
            .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'));
        if generated && only_comments {
            if let Some(i) = index {
                files.remove(i);
            }
            if let Some((m, text)) = on_disk {
                gone_too.push(removal((*path).to_owned(), full_path, &m, text));
            }
            continue;
        }
        match (index, on_disk) {
            (Some(i), _) => files[i].contents = dropped,
            (None, Some((m, text))) if dropped != text => files.push(FileOut {
                path: (*path).to_owned(),
                mode: m.permissions().mode() & 0o7777,
                contents: dropped,
            }),
            _ => {}
        }
    }
    Ok((files, gone_too))
}

/// The contents of the oldest backup of `path` (the file as it was before enicfg first
/// replaced it), when there is one.
fn oldest_backup(root: &Path, path: &str) -> Result<Option<String>> {
    for ts in list_dir(root, BACKUP_DIR)? {
        let backup = format!("{BACKUP_DIR}/{ts}{path}");
        let full = root.join(checked_relative(&backup)?);
        if lstat(&full)?.is_some_and(|m| m.is_file()) {
            let text = fs::read_to_string(&full)
                .with_context(|| format!("failed to read backup {}", full.display()))?;
            return Ok(Some(text));
        }
    }
    Ok(None)
}

/// What `enicfg clean` does: every file enicfg generated under ROOT goes, and every file it
/// backed up gets the newest backup's contents and mode back. A file a backend appended lines
/// to (`/etc/network/interfaces`) loses exactly those lines instead, keeping the user's later
/// edits; it gets its backup back when that is what is left. Nothing new is backed up. Reads only; apply it with
/// [`Plan::apply`], then [`remove_state`].
pub fn clean_plan(root: &Path, extra_dirs: &[&str]) -> Result<Plan> {
    let mut restored = newest_backups(root)?;
    // A file with lines a backend appended loses them, and keeps every other line as it is now
    // (the user may have edited it since the backup); its backup is restored only when it is
    // what is left, so the bytes are exactly the original ones (down to a last line without a
    // newline, which appending had to end). Files without such lines get their backup back.
    for path in backend::APPENDED_TO {
        let full = root.join(checked_relative(path)?);
        if !lstat(&full)?.is_some_and(|m| m.is_file()) {
            continue;
        }
        let Ok(current) = fs::read_to_string(&full) else {
            continue; // not text: nothing of enicfg's in it
        };
        let Some(users) = backend::without_appended(path, &current) else {
            continue;
        };
        if current.starts_with(GENERATED_MARKER) {
            continue;
        }
        restored.retain(|b| {
            b.path != *path || b.contents == users || format!("{}\n", b.contents) == users
        });
    }
    let mut plan = reconcile_in(root, &restored, &|_, _| false, extra_dirs)?;
    for step in &mut plan.steps {
        step.backup = false;
    }
    Ok(plan)
}

/// The newest backup of every backed-up path, as files to put back.
fn newest_backups(root: &Path) -> Result<Vec<FileOut>> {
    let mut newest: std::collections::BTreeMap<String, FileOut> = Default::default();
    for ts in list_dir(root, BACKUP_DIR)? {
        let base = format!("{BACKUP_DIR}/{ts}");
        let mut stack = vec![base.clone()];
        while let Some(dir) = stack.pop() {
            for name in list_dir(root, &dir)? {
                let path = format!("{dir}/{name}");
                let full = root.join(checked_relative(&path)?);
                match lstat(&full)? {
                    Some(m) if m.is_dir() => stack.push(path),
                    Some(m) if m.is_file() => {
                        let contents = fs::read_to_string(&full)
                            .with_context(|| format!("failed to read backup {}", full.display()))?;
                        let target = path[base.len()..].to_owned();
                        // Timestamps sort as text; a later one replaces an earlier one.
                        newest.insert(
                            target.clone(),
                            FileOut {
                                path: target,
                                mode: m.permissions().mode() & 0o7777,
                                contents,
                            },
                        );
                    }
                    _ => {}
                }
            }
        }
    }
    Ok(newest.into_values().collect())
}

/// Removes enicfg's state directory under ROOT (backups, record, journal, lock): the last step
/// of `clean`, once every backup is restored.
pub fn remove_state(root: &Path) -> Result<bool> {
    let rel = checked_relative(STATE_DIR)?;
    let full = root.join(&rel);
    check_ancestors(root, &rel.join("x"))?;
    match lstat(&full)? {
        None => Ok(false),
        Some(m) if m.is_dir() => {
            fs::remove_dir_all(&full)
                .with_context(|| format!("failed to remove {}", full.display()))?;
            Ok(true)
        }
        Some(_) => bail!("{} is not a directory", full.display()),
    }
}

/// Whether a generated file is the one that makes a stack configure the interface (the others
/// only extend it: routes, rules, hooks, drop-ins).
fn is_main_file(path: &str) -> bool {
    let file = path.rsplit('/').next().unwrap_or(path);
    file.starts_with("ifcfg-")
        || file.ends_with(".network")
        || file.ends_with(".yaml")
        || file.ends_with(".nmconnection")
        || path.starts_with(crate::backend::ifupdown::STANZA_DIR)
}

/// Names in an in-target directory (empty when it does not exist); never follows a symlink.
fn list_dir(root: &Path, dir: &str) -> Result<Vec<String>> {
    let rel = checked_relative(dir)?;
    let full = root.join(&rel);
    if check_ancestors(root, &rel.join("x")).is_err() {
        return Ok(Vec::new());
    }
    match lstat(&full)? {
        Some(m) if m.is_dir() => {}
        _ => return Ok(Vec::new()),
    }
    let mut names = Vec::new();
    for e in fs::read_dir(&full).with_context(|| format!("failed to list {}", full.display()))? {
        let e = e.with_context(|| format!("failed to list {}", full.display()))?;
        names.push(e.file_name().to_string_lossy().into_owned());
    }
    // Names in one directory are unique: an unstable sort gives the same order.
    names.sort_unstable();
    Ok(names)
}

/// One step of the journal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "kebab-case")]
enum JournalStep {
    /// Put these contents in place.
    Write {
        path: String,
        contents: String,
        mode: u32,
        uid: u32,
        gid: u32,
    },
    /// Remove the file.
    Remove { path: String },
}

/// The plan of a write in progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Journal {
    /// UTC timestamp of the write.
    started: String,
    steps: Vec<JournalStep>,
}

/// Completes a write that was interrupted (a journal is left in ROOT): every step is done again
/// (each is idempotent), then the journal is removed. Returns what was done, or `None` when
/// there was nothing to complete. Call it under [`Lock`].
pub fn recover(root: &Path) -> Result<Option<Vec<String>>> {
    let rel = checked_relative(JOURNAL)?;
    let full = root.join(&rel);
    match lstat(&full)? {
        None => return Ok(None),
        Some(m) if !m.is_file() => bail!(
            "{} is not a regular file: remove it by hand",
            full.display()
        ),
        Some(_) => {}
    }
    let text =
        fs::read_to_string(&full).with_context(|| format!("failed to read {}", full.display()))?;
    let journal: Journal = serde_json::from_str(&text).with_context(|| {
        format!(
            "{} is not an enicfg journal (cannot complete an interrupted write)",
            full.display()
        )
    })?;
    let mut done = vec![format!(
        "completing the write interrupted at {} ({})",
        journal.started,
        full.display()
    )];
    for step in &journal.steps {
        match step {
            JournalStep::Write {
                path,
                contents,
                mode,
                uid,
                gid,
            } => {
                let rel = checked_relative(path)?;
                create_dirs(root, rel.parent().unwrap_or(Path::new("")))?;
                let target = root.join(&rel);
                if lstat(&target)?.is_some_and(|m| m.file_type().is_symlink()) {
                    bail!("refusing to replace {}: it is a symlink", target.display());
                }
                let tmp = write_temp(&target, contents, *mode, (*uid, *gid))?;
                fs::rename(&tmp, &target)
                    .with_context(|| format!("failed to move {} into place", target.display()))?;
                sync_dir(target.parent().unwrap_or(root))?;
                done.push(format!("wrote {}", target.display()));
            }
            JournalStep::Remove { path } => {
                let rel = checked_relative(path)?;
                let target = root.join(&rel);
                if lstat(&target)?.is_some_and(|m| m.is_file()) {
                    fs::remove_file(&target)
                        .with_context(|| format!("failed to remove {}", target.display()))?;
                    sync_dir(target.parent().unwrap_or(root))?;
                }
                done.push(format!("removed {}", target.display()));
            }
        }
    }
    fs::remove_file(&full).with_context(|| format!("failed to remove {}", full.display()))?;
    sync_dir(full.parent().unwrap_or(root))?;
    Ok(Some(done))
}

/// Replaces one of enicfg's own state files (under [`STATE_DIR`]) atomically, mode 0600.
pub fn put_state(root: &Path, path: &str, contents: &str) -> Result<()> {
    if !path.starts_with(STATE_DIR) {
        bail!("internal error: {path} is not under {STATE_DIR}");
    }
    let rel = checked_relative(path)?;
    create_dirs(root, rel.parent().unwrap_or(Path::new("")))?;
    let target = root.join(&rel);
    if lstat(&target)?.is_some_and(|m| !m.is_file()) {
        bail!(
            "refusing to replace {}: not a regular file",
            target.display()
        );
    }
    let tmp = write_temp(&target, contents, 0o600, expected_owner())?;
    fs::rename(&tmp, &target)
        .with_context(|| format!("failed to move {} into place", target.display()))?;
    sync_dir(target.parent().unwrap_or(root))
}

/// Whether a journal of an interrupted write is waiting in ROOT.
pub fn journal_pending(root: &Path) -> bool {
    checked_relative(JOURNAL)
        .ok()
        .is_some_and(|rel| lstat(&root.join(rel)).ok().flatten().is_some())
}

/// An exclusive lock on ROOT (`flock` on [`LOCK`]), held until dropped: two runs on one ROOT
/// serialize instead of interleaving their writes.
#[derive(Debug)]
pub struct Lock {
    _file: File,
    /// The directories on the way to the lock that taking it created (in-target paths).
    made: Vec<String>,
}

impl Lock {
    /// Takes the lock, waiting for another run that holds it. Creates ROOT and the state
    /// directory when missing.
    pub fn acquire(root: &Path) -> Result<Lock> {
        if lstat(root)?.is_none() {
            fs::create_dir_all(root).with_context(|| {
                format!("failed to create the root directory {}", root.display())
            })?;
        }
        let rel = checked_relative(LOCK)?;
        let state = root.join(rel.parent().unwrap_or(Path::new("")));
        let existing = nearest_existing(&state);
        if let Err(e) = writable(&existing)
            && lstat(&root.join(&rel))?.is_none()
        {
            return Err(unwritable(root, &existing, &e));
        }
        let made = create_dirs(root, rel.parent().unwrap_or(Path::new("")))?;
        let path = root.join(&rel);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&path)
            .with_context(|| format!("failed to open the lock {}", path.display()))?;
        use std::os::fd::AsRawFd as _;
        loop {
            // SAFETY: the descriptor is open for the whole call.
            let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) };
            if rc == 0 {
                break;
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e).with_context(|| format!("failed to lock {}", path.display()));
            }
        }
        // The way to the state directory in an image root that had none (`var/lib`).
        record_created(root, &made)?;
        Ok(Lock { _file: file, made })
    }

    /// The directories taking the lock created: a `clean` that finds nothing to clean removes
    /// them again without reporting them.
    pub fn made(&self) -> &[String] {
        &self.made
    }
}

impl Plan {
    /// True when nothing would change.
    pub fn is_noop(&self) -> bool {
        self.steps.iter().all(|s| s.action == Action::Unchanged)
    }

    /// A unified diff of every change (`--dry-run`); empty when nothing would change.
    pub fn diff(&self) -> String {
        let mut out = String::new();
        for s in self.steps.iter().filter(|s| s.action != Action::Unchanged) {
            let path = s.file.path.trim_start_matches('/');
            let old = s.old.as_deref().unwrap_or("");
            let (a, b) = match s.action {
                Action::Create => ("/dev/null".to_owned(), format!("b/{path}")),
                Action::Remove => (format!("a/{path}"), "/dev/null".to_owned()),
                _ => (format!("a/{path}"), format!("b/{path}")),
            };
            if s.action == Action::Remove {
                out.push_str(&format!(
                    "# {}: generated by enicfg and no longer rendered: it will be removed\n",
                    s.file.path
                ));
            }
            match s.old_mode {
                _ if s.action == Action::Remove => {}
                Some(m) if m != s.file.mode => {
                    out.push_str(&format!(
                        "# {}: mode {m:04o} -> {:04o}\n",
                        s.file.path, s.file.mode
                    ));
                }
                None => out.push_str(&format!(
                    "# {}: new file, mode {:04o}\n",
                    s.file.path, s.file.mode
                )),
                _ => {}
            }
            if let Some((uid, gid)) = s
                .old_owner
                .filter(|o| *o != self.owner && s.action != Action::Remove)
            {
                out.push_str(&format!(
                    "# {}: owner {uid}:{gid} -> {}:{}\n",
                    s.file.path, self.owner.0, self.owner.1
                ));
            }
            if s.backup {
                out.push_str(&format!(
                    "# {}: not generated by enicfg; it will be backed up first\n",
                    s.file.path
                ));
            }
            if old != s.file.contents {
                let diff = similar::TextDiff::from_lines(old, &s.file.contents);
                out.push_str(
                    &diff
                        .unified_diff()
                        .context_radius(3)
                        .header(&a, &b)
                        .to_string(),
                );
            }
        }
        out
    }

    /// Writes every changed file. Returns the backups made (in-target paths).
    pub fn apply(&self, timestamp: &str) -> Result<Vec<String>> {
        let changed: Vec<&Step> = self
            .steps
            .iter()
            .filter(|s| s.action != Action::Unchanged)
            .collect();
        self.check_access()?;
        // An image root that does not exist yet is created (the paths below it are checked one
        // component at a time as usual).
        if !changed.is_empty() && lstat(&self.root)?.is_none() {
            fs::create_dir_all(&self.root).with_context(|| {
                format!(
                    "failed to create the root directory {}",
                    self.root.display()
                )
            })?;
        }
        // 1. Directories and temporary files; nothing is replaced yet.
        let mut temps: Vec<(PathBuf, &Step)> = Vec::new();
        let mut made: Vec<String> = Vec::new();
        let result = (|| -> Result<()> {
            for step in changed.iter().filter(|s| s.action != Action::Remove) {
                let rel = checked_relative(&step.file.path)?;
                made.extend(create_dirs(
                    &self.root,
                    rel.parent().unwrap_or(Path::new("")),
                )?);
                let tmp = write_temp(
                    &step.full_path,
                    &step.file.contents,
                    step.file.mode,
                    self.owner,
                )?;
                temps.push((tmp, step));
            }
            // Recorded before any file is in place, so `clean` finds them after a crash too.
            record_created(&self.root, &made)
        })();
        if let Err(e) = result {
            for (tmp, _) in &temps {
                let _ = fs::remove_file(tmp);
            }
            // Nothing was written: the directories made for it go too.
            let _ = remove_empty_dirs(&self.root, &made);
            return Err(e);
        }
        // 2. Backups of files enicfg did not make.
        let mut backups = Vec::new();
        for (_, step) in &temps {
            if step.backup {
                match self.backup(step, timestamp) {
                    Ok(b) => backups.push(b),
                    Err(e) => {
                        for (t, _) in &temps {
                            let _ = fs::remove_file(t);
                        }
                        return Err(e);
                    }
                }
            }
        }
        // 3. The journal: from here on, an interrupted write is completed by the next run.
        let journal = Journal {
            started: timestamp.to_owned(),
            steps: changed
                .iter()
                .map(|s| match s.action {
                    Action::Remove => JournalStep::Remove {
                        path: s.file.path.clone(),
                    },
                    _ => JournalStep::Write {
                        path: s.file.path.clone(),
                        contents: s.file.contents.clone(),
                        mode: s.file.mode,
                        uid: self.owner.0,
                        gid: self.owner.1,
                    },
                })
                .collect(),
        };
        if let Err(e) = self.write_journal(&journal) {
            for (t, _) in &temps {
                let _ = fs::remove_file(t);
            }
            return Err(e);
        }
        // 4. Atomic renames, each followed by an fsync of its directory.
        for (tmp, step) in &temps {
            // Re-check right before replacing: the target must still not be a symlink.
            if lstat(&step.full_path)?.is_some_and(|m| m.file_type().is_symlink()) {
                let _ = fs::remove_file(tmp);
                bail!(
                    "refusing to replace {}: it became a symlink",
                    step.full_path.display()
                );
            }
            fs::rename(tmp, &step.full_path).with_context(|| {
                format!("failed to move {} into place", step.full_path.display())
            })?;
            sync_dir(step.full_path.parent().unwrap_or(&self.root))?;
        }
        // 5. Removals of stale files, in the planned order (main file first).
        for step in changed.iter().filter(|s| s.action == Action::Remove) {
            if lstat(&step.full_path)?.is_some_and(|m| m.is_file()) {
                fs::remove_file(&step.full_path)
                    .with_context(|| format!("failed to remove {}", step.full_path.display()))?;
                sync_dir(step.full_path.parent().unwrap_or(&self.root))?;
            }
        }
        // 6. Done: the journal goes.
        let journal = self.root.join(checked_relative(JOURNAL)?);
        fs::remove_file(&journal)
            .with_context(|| format!("failed to remove {}", journal.display()))?;
        sync_dir(journal.parent().unwrap_or(&self.root))?;
        Ok(backups)
    }

    fn write_journal(&self, journal: &Journal) -> Result<()> {
        let rel = checked_relative(JOURNAL)?;
        create_dirs(&self.root, rel.parent().unwrap_or(Path::new("")))?;
        let target = self.root.join(&rel);
        if lstat(&target)?.is_some() {
            bail!(
                "{} exists: an interrupted write must be completed first",
                target.display()
            );
        }
        let json = serde_json::to_string(journal).context("failed to encode the journal")?;
        let tmp = write_temp(&target, &json, 0o600, self.owner)?;
        fs::rename(&tmp, &target)
            .with_context(|| format!("failed to move {} into place", target.display()))?;
        sync_dir(target.parent().unwrap_or(&self.root))
    }

    /// Fails, once and before anything is touched, when a directory the plan writes into is
    /// not writable, or an owner must be restored without root.
    pub fn check_access(&self) -> Result<()> {
        let changed: Vec<&Step> = self
            .steps
            .iter()
            .filter(|s| s.action != Action::Unchanged)
            .collect();
        if changed.is_empty() {
            return Ok(());
        }
        let (uid, _) = expected_owner();
        let mut dirs: Vec<PathBuf> = changed
            .iter()
            .filter_map(|s| s.full_path.parent().map(Path::to_path_buf))
            .collect();
        if changed.iter().any(|s| s.backup) {
            dirs.push(in_root_dir(&self.root, BACKUP_DIR));
        }
        dirs.push(in_root_dir(&self.root, STATE_DIR));
        dirs.sort();
        dirs.dedup();
        for dir in dirs {
            let existing = nearest_existing(&dir);
            if let Err(e) = writable(&existing) {
                return Err(unwritable(&self.root, &existing, &e));
            }
        }
        if uid != 0
            && let Some(s) = changed
                .iter()
                .find(|s| s.old_owner.is_some_and(|o| o.0 != uid))
        {
            bail!(
                "{} belongs to uid {}: restoring its owner needs root; nothing was written",
                s.full_path.display(),
                s.old_owner.map_or(0, |o| o.0)
            );
        }
        Ok(())
    }

    /// Puts back what [`Plan::apply`] changed: replaced files get their old contents, mode and
    /// owner (atomically, like any write), created files are removed. Returns one line per file.
    pub fn restore(&self) -> Result<Vec<String>> {
        let mut done = Vec::new();
        for step in self.steps.iter().filter(|s| s.action != Action::Unchanged) {
            match (&step.old, step.old_mode) {
                (Some(old), Some(mode)) => {
                    let tmp = write_temp(
                        &step.full_path,
                        old,
                        mode,
                        step.old_owner.unwrap_or(self.owner),
                    )?;
                    fs::rename(&tmp, &step.full_path).with_context(|| {
                        format!(
                            "failed to move {} back into place",
                            step.full_path.display()
                        )
                    })?;
                    done.push(format!("restored {}", step.full_path.display()));
                }
                _ => {
                    match fs::remove_file(&step.full_path) {
                        Err(e) if e.kind() != io::ErrorKind::NotFound => {
                            return Err(e).with_context(|| {
                                format!("failed to remove {}", step.full_path.display())
                            });
                        }
                        _ => {}
                    }
                    done.push(format!("removed {}", step.full_path.display()));
                }
            }
            sync_dir(step.full_path.parent().unwrap_or(&self.root))?;
        }
        Ok(done)
    }

    fn backup(&self, step: &Step, timestamp: &str) -> Result<String> {
        let rel = checked_relative(&step.file.path)?;
        // A second backup of the same file within one second (two runs, or NIC churn) goes to
        // `TIMESTAMP-002`, ... so that it neither fails nor replaces the first; the names still
        // sort oldest first.
        let mut backup_rel = checked_relative(BACKUP_DIR)?.join(timestamp).join(&rel);
        for n in 2..=999 {
            if lstat(&self.root.join(&backup_rel))?.is_none() {
                break;
            }
            backup_rel = checked_relative(BACKUP_DIR)?
                .join(format!("{timestamp}-{n:03}"))
                .join(&rel);
        }
        create_dirs(&self.root, backup_rel.parent().unwrap_or(Path::new("")))?;
        let dest = self.root.join(&backup_rel);
        let contents = step.old.as_deref().unwrap_or("");
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(step.old_mode.unwrap_or(0o600))
            .open(&dest)
            .with_context(|| format!("failed to create backup {}", dest.display()))?;
        f.write_all(contents.as_bytes())
            .and_then(|()| f.sync_all())
            .with_context(|| format!("failed to write backup {}", dest.display()))?;
        Ok(format!("/{}", backup_rel.display()))
    }
}

/// Creates `rel` below `root` one component at a time (mode 0755), refusing symlinks. Returns
/// the directories it created as in-target paths (`/etc/network`), outermost first.
fn create_dirs(root: &Path, rel: &Path) -> Result<Vec<String>> {
    let mut created = Vec::new();
    let mut cur = root.to_path_buf();
    let mut cur_rel = PathBuf::from("/");
    for c in rel.components() {
        cur.push(c);
        cur_rel.push(c);
        match lstat(&cur)? {
            Some(m) if m.file_type().is_symlink() => bail!(
                "refusing to write below {}: it is a symlink, and enicfg never follows symlinks",
                cur.display()
            ),
            Some(m) if m.is_dir() => {}
            Some(_) => bail!(
                "cannot create directory {}: a file is in the way",
                cur.display()
            ),
            None => match fs::create_dir(&cur) {
                // Another run (the lock's directory is created before the lock is held) made
                // it in between: fine if it is a directory, checked like any other.
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    if !lstat(&cur)?.is_some_and(|m| m.is_dir()) {
                        bail!(
                            "cannot create directory {}: something else appeared in the way",
                            cur.display()
                        );
                    }
                }
                made => {
                    made.and_then(|()| {
                        fs::set_permissions(&cur, fs::Permissions::from_mode(0o755))
                    })
                    .with_context(|| format!("failed to create directory {}", cur.display()))?;
                    created.push(cur_rel.display().to_string());
                }
            },
        }
    }
    Ok(created)
}

/// Adds `created` (from [`create_dirs`]) to [`CREATED_DIRS`], leaving out enicfg's own state
/// directory and what is below it (`clean` removes that whole).
fn record_created(root: &Path, created: &[String]) -> Result<()> {
    let new: Vec<&String> = created
        .iter()
        .filter(|d| !Path::new(d).starts_with(STATE_DIR))
        .collect();
    if new.is_empty() {
        return Ok(());
    }
    let mut all = created_dirs(root)?;
    for d in new {
        if !all.contains(d) {
            all.push(d.clone());
        }
    }
    put_state(root, CREATED_DIRS, &(all.join("\n") + "\n"))
}

/// The directories [`CREATED_DIRS`] lists.
pub fn created_dirs(root: &Path) -> Result<Vec<String>> {
    let path = root.join(checked_relative(CREATED_DIRS)?);
    match lstat(&path)? {
        Some(m) if m.is_file() => Ok(fs::read_to_string(&path)
            .with_context(|| format!("failed to read {}", path.display()))?
            .lines()
            .filter(|l| l.starts_with('/'))
            .map(str::to_owned)
            .collect()),
        _ => Ok(Vec::new()),
    }
}

/// Removes those of `dirs` (in-target paths) that exist as empty directories, innermost first,
/// so a parent emptied by its child's removal goes too; never a symlink, never a directory
/// with anything in it. Returns the removed ones, as given.
pub fn remove_empty_dirs(root: &Path, dirs: &[String]) -> Result<Vec<String>> {
    let mut sorted: Vec<&String> = dirs.iter().collect();
    // Deeper paths first; among equals, any order.
    sorted.sort_by_key(|d| std::cmp::Reverse(d.matches('/').count()));
    let mut removed = Vec::new();
    for d in sorted {
        // A line that is no in-target path (the record edited by hand) names nothing to remove.
        let Ok(rel) = checked_relative(d) else {
            continue;
        };
        if rel.as_os_str().is_empty() || check_ancestors(root, &rel).is_err() {
            continue;
        }
        let full = root.join(&rel);
        if !lstat(&full)?.is_some_and(|m| m.is_dir()) {
            continue;
        }
        // rmdir(2) removes only an empty directory, atomically: anything in it keeps it.
        match fs::remove_dir(&full) {
            Ok(()) => removed.push(d.clone()),
            Err(e) if matches!(e.raw_os_error(), Some(libc::ENOTEMPTY | libc::EEXIST)) => {}
            Err(e) => {
                return Err(e).with_context(|| format!("failed to remove {}", full.display()));
            }
        }
    }
    Ok(removed)
}

/// `ROOT` + an absolute in-target directory.
fn in_root_dir(root: &Path, dir: &str) -> PathBuf {
    root.join(dir.trim_start_matches('/'))
}

/// The path itself when it exists, else its nearest existing ancestor.
fn nearest_existing(path: &Path) -> PathBuf {
    let mut cur = path;
    loop {
        if fs::symlink_metadata(cur).is_ok() {
            return cur.to_path_buf();
        }
        match cur.parent() {
            Some(p) => cur = p,
            None => return PathBuf::from("/"),
        }
    }
}

/// Whether this process may create entries in directory `dir`.
/// The refusal to write under `root` because `dir` (its nearest existing directory on the way to
/// a file) is not writable: a read-only file system, a user who is not root, or what else
/// `access(2)` said.
fn unwritable(root: &Path, dir: &Path, e: &std::io::Error) -> anyhow::Error {
    let (uid, _) = expected_owner();
    let (root, at) = (root.display(), dir.display());
    match e.raw_os_error() {
        Some(libc::EROFS) => anyhow::anyhow!(
            "cannot write under {root}: {at} is on a read-only file system; nothing was written"
        ),
        Some(libc::EACCES) if uid != 0 => anyhow::anyhow!(
            "writing under {root} needs root (or write access to it): {at} is not writable by uid {uid}; nothing was written"
        ),
        _ => anyhow::anyhow!(
            "cannot write under {root}: {at} is not writable ({e}); nothing was written"
        ),
    }
}

/// Whether this process may create files in `dir` (`access(2)`, which also reports a read-only
/// file system as `EROFS`).
fn writable(dir: &Path) -> std::io::Result<()> {
    let c = std::ffi::CString::new(dir.as_os_str().as_bytes())
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    // SAFETY: `c` is a valid NUL-terminated path that outlives the call.
    if unsafe { libc::access(c.as_ptr(), libc::W_OK | libc::X_OK) } == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Writes `contents` to `.NAME.enicfg-tmp` beside `target`, with the exact mode and owner,
/// and fsyncs it. The name starts with a dot and has no format suffix, so no stack reads it.
fn write_temp(target: &Path, contents: &str, mode: u32, owner: (u32, u32)) -> Result<PathBuf> {
    let dir = target.parent().unwrap_or(Path::new("/"));
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.enicfg-tmp"));
    if lstat(&tmp)?.is_some() {
        fs::remove_file(&tmp)
            .with_context(|| format!("failed to remove stale {}", tmp.display()))?;
    }
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .with_context(|| format!("failed to create {}", tmp.display()))?;
    let res = f
        .write_all(contents.as_bytes())
        .and_then(|()| std::os::unix::fs::fchown(&f, Some(owner.0), Some(owner.1)))
        .and_then(|()| f.set_permissions(fs::Permissions::from_mode(mode)))
        .and_then(|()| f.sync_all());
    if let Err(e) = res {
        let _ = fs::remove_file(&tmp);
        return Err(e).with_context(|| format!("failed to write {}", tmp.display()));
    }
    Ok(tmp)
}

fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("failed to fsync directory {}", dir.display()))
}

/// A UTC timestamp `YYYYMMDDTHHMMSSZ` for backup directories.
pub fn timestamp(now: SystemTime) -> String {
    let secs = now
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's days-from-civil inverse.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The read behind a plan never follows a symlink, even one that replaced the regular file
    /// its `lstat` saw.
    #[test]
    fn reading_a_file_refuses_a_symlink() {
        let t = tempfile::tempdir().unwrap();
        fs::write(t.path().join("real"), "x\n").unwrap();
        std::os::unix::fs::symlink("real", t.path().join("link")).unwrap();
        assert_eq!(read_text(&t.path().join("real"), 2).unwrap(), "x\n");
        let err = read_text(&t.path().join("link"), 2).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::ELOOP), "{err}");
    }

    #[test]
    fn timestamp_is_civil_utc() {
        assert_eq!(timestamp(UNIX_EPOCH), "19700101T000000Z");
        let t = UNIX_EPOCH + std::time::Duration::from_secs(1_795_624_496); // 2026-11-25 16:34:56
        assert_eq!(timestamp(t), "20261125T163456Z");
        let leap = UNIX_EPOCH + std::time::Duration::from_secs(951_782_400); // 2000-02-29
        assert_eq!(timestamp(leap), "20000229T000000Z");
    }

    #[test]
    fn a_second_backup_within_one_second_is_kept_apart() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path();
        fs::create_dir_all(root.join("etc")).unwrap();
        fs::write(root.join("etc/x"), "the user's\n").unwrap();
        let file = |c: &str| FileOut {
            path: "/etc/x".to_owned(),
            mode: 0o644,
            contents: c.to_owned(),
        };
        let ts = "20260101T000000Z";
        let first = plan(root, vec![file("enicfg's\n")])
            .unwrap()
            .apply(ts)
            .unwrap();
        fs::write(root.join("etc/x"), "the user's again\n").unwrap();
        let second = plan(root, vec![file("enicfg's\n")])
            .unwrap()
            .apply(ts)
            .unwrap();
        assert_eq!(first, [format!("{BACKUP_DIR}/{ts}/etc/x")]);
        assert_eq!(second, [format!("{BACKUP_DIR}/{ts}-002/etc/x")]);
        let newest = newest_backups(root).unwrap();
        assert_eq!(newest[0].contents, "the user's again\n");
    }

    #[test]
    fn rejects_dot_dot_and_relative_paths() {
        assert!(checked_relative("/etc/../x").is_err());
        assert!(checked_relative("etc/x").is_err());
        assert!(checked_relative("/").is_err());
        assert_eq!(
            checked_relative("/etc/x").ok(),
            Some(PathBuf::from("etc/x"))
        );
    }
}
