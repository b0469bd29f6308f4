//! The subcommands: each turns its parsed arguments into what is printed, using the pipeline
//! in the crate root (load -> model -> detect -> render) and `write`. Output formats (text and
//! JSON) live here; nothing here knows a configuration format.

use std::path::Path;

use anyhow::Result;
use serde::Serialize;

use crate::backend::{self, BackendKind, Rendered};
use crate::cli::{
    CleanArgs, Command, DetectArgs, FetchArgs, Format, HotplugAction, HotplugArgs,
    InstallHotplugArgs, RenderArgs, TargetArgs, UninstallHotplugArgs, VerifyArgs, WriteArgs,
};
use crate::distro::{self, Detection, Stack};
use crate::model::{Config, ConfigSpec, FamilySpec, InterfaceSpec};
use crate::root::{self, RootFacts};
use crate::{
    Exclusions, UsageError, apply, detect, imds_settings, load_config_in, print_notes, render,
    source, verify, write,
};

/// What a successful run prints, and its exit status: 0, or 1 for `verify` with findings, or
/// [`DRIFT`] for `write --check` with files that would change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Standard output.
    pub stdout: String,
    /// The exit status.
    pub code: u8,
}

/// The exit status of `write --check` when a file would change (1 stays "error", 2 "usage").
pub const DRIFT: u8 = 3;

/// Runs a parsed command line.
pub fn run(command: &Command) -> Result<Outcome> {
    let done = |stdout: String| Outcome { stdout, code: 0 };
    // What write, clean and the hotplug commands print is a report of what they did: `-q`
    // keeps only its warnings.
    let report = |stdout: String| done(quiet_report(stdout));
    match command {
        Command::Render(args) => cmd_render(args).map(done),
        Command::Write(args) => cmd_write(args),
        Command::Detect(args) => cmd_detect(args).map(done),
        Command::Fetch(args) => cmd_fetch(args).map(done),
        Command::Clean(args) => cmd_clean(args).map(report),
        Command::InstallHotplug(args) => cmd_install_hotplug(args).map(report),
        Command::UninstallHotplug(args) => cmd_uninstall_hotplug(args).map(report),
        Command::Hotplug(args) => cmd_hotplug(args).map(report),
        Command::Verify(args) => cmd_verify(args),
        Command::Completions(args) => crate::docs::completion(args.shell).map(done),
        Command::Man(args) => crate::docs::cmd_man(&args.out_dir).map(done),
    }
}

/// A report of what a command did, as `-q` leaves it: its warnings only.
fn quiet_report(stdout: String) -> String {
    if crate::verbosity() != crate::Verbosity::Quiet {
        return stdout;
    }
    stdout
        .lines()
        .filter(|l| l.starts_with("warning: "))
        .map(|l| format!("{l}\n"))
        .collect()
}

fn cmd_verify(args: &VerifyArgs) -> Result<Outcome> {
    let config = load_config_in(&args.source, &args.root)?;
    let state = verify::KernelState::read(args.netns.as_deref(), &config)?;
    let mut report = verify::compare(&config, &state);
    // What enicfg applied earlier for interfaces that are no longer described.
    let exclusions = Exclusions::new(&args.source.exclude, &args.root)?;
    let dropped: Vec<(String, std::net::IpAddr, u32, u32)> = apply::Applied::load(&args.root)
        .dropped(&config)
        .into_iter()
        .filter(|a| !exclusions.covers(&a.name, a.mac.as_deref().and_then(|m| m.parse().ok())))
        .flat_map(|a| {
            a.rules
                .iter()
                .map(|r| (a.name.clone(), r.from, r.table, r.priority))
        })
        .collect();
    let stale = verify::leftovers(&state, &dropped);
    if !stale.is_empty() {
        report.ok = false;
        report.findings.extend(stale);
    }
    report
        .warnings
        .extend(verify::shadowing(&args.root, &config));
    let stdout = match args.format {
        Format::Text => report.text(),
        Format::Json => serde_json::to_string_pretty(&report)? + "\n",
    };
    Ok(Outcome {
        stdout,
        code: u8::from(!report.ok),
    })
}

/// `render --format json`; `distro` has the shape of `detect`'s and `write`'s.
#[derive(Serialize)]
struct RenderJson<'a> {
    distro: Option<&'a distro::Distro>,
    stack: Stack,
    backend: BackendKind,
    #[serde(flatten)]
    rendered: &'a Rendered,
}

fn render_text(detection: &Detection, rendered: &Rendered) -> Result<String> {
    use std::fmt::Write as _;
    // Sized once and written in place: for 1000 NICs the text is megabytes, and growing it (and
    // a temporary per file) copied it several times over.
    let size: usize = rendered
        .files
        .iter()
        .map(|f| f.path.len() + f.contents.len() + 32)
        .chain(rendered.commands.interface.iter().map(|c| c.len() + 12))
        .sum();
    let mut out = String::with_capacity(size + 256);
    writeln!(
        out,
        "# target: {} -> {} (backend {})",
        detection
            .distro
            .as_ref()
            .map_or("(any distro)", |d| d.pretty_name.as_str()),
        detection.stack,
        detection.stack.backend()
    )?;
    for f in &rendered.files {
        write!(out, "\n==> {} (mode {:04o}) <==\n", f.path, f.mode)?;
        out.push_str(&f.contents);
    }
    writeln!(out, "\n# restart: {}", rendered.commands.restart)?;
    for c in &rendered.commands.interface {
        writeln!(out, "# apply:   {c}")?;
    }
    Ok(out)
}

fn cmd_render(args: &RenderArgs) -> Result<String> {
    let config = load_config_in(&args.source, &args.root)?;
    let detection = detect(&args.target, &args.root)?;
    let rendered = render(&config, &detection, &args.root)?;
    match args.format {
        Format::Text => render_text(&detection, &rendered),
        Format::Json => {
            let json = RenderJson {
                distro: detection.distro.as_ref(),
                stack: detection.stack,
                backend: detection.stack.backend(),
                rendered: &rendered,
            };
            Ok(serde_json::to_string_pretty(&json)? + "\n")
        }
    }
}

fn cmd_write(args: &WriteArgs) -> Result<Outcome> {
    let report = write_run(args, None)?;
    let stdout = match args.format {
        Format::Json => serde_json::to_string_pretty(&report)? + "\n",
        Format::Text => quiet_report(report.text.clone()),
    };
    // `--check`: drift is its own exit status, so a pipeline tells it from an error.
    let code = if args.check && report.changed {
        DRIFT
    } else {
        0
    };
    Ok(Outcome { stdout, code })
}

/// What `write` did (or, with `--dry-run`/`--check`, would do): the text it prints, and the
/// summary `--format json` prints.
#[derive(Debug, Serialize)]
struct WriteReport {
    /// The target distro (the shape of `detect`'s and `render`'s), `null` with `--backend`.
    distro: Option<distro::Distro>,
    stack: Stack,
    backend: BackendKind,
    /// Why this stack.
    reason: String,
    root: String,
    /// True for `--dry-run` and `--check`: nothing was written.
    dry_run: bool,
    /// True when a file was (or would be) created, replaced or removed.
    changed: bool,
    /// Every file of the plan, with what happens to it.
    files: Vec<FileReport>,
    /// Backups of files enicfg did not generate, as paths inside ROOT.
    backups: Vec<String>,
    /// What applies the change on this machine (`apply with`): empty for an image root, for a
    /// run that changed nothing, and with `--restart` (see `restart`).
    commands: Vec<String>,
    /// What `--restart` did; `null` without it.
    restart: Option<RestartReport>,
    /// Commands run on the way that failed without failing the run (`note:` lines).
    notes: Vec<String>,
    /// Files under ROOT that shadow enicfg's (after `--restart`).
    warnings: Vec<String>,
    /// The unified diff, with `--dry-run`/`--check`.
    #[serde(skip_serializing_if = "Option::is_none")]
    diff: Option<String>,
    #[serde(skip)]
    text: String,
}

/// One file of a write.
#[derive(Debug, Serialize)]
struct FileReport {
    /// Path inside ROOT.
    path: String,
    #[serde(serialize_with = "mode_octal")]
    mode: u32,
    action: write::Action,
}

fn mode_octal<S: serde::Serializer>(mode: &u32, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&format!("{mode:04o}"))
}

/// What `write --restart` did.
#[derive(Debug, Default, Serialize)]
struct RestartReport {
    /// Every command run, in order (taking back what is no longer described, then applying).
    ran: Vec<String>,
    /// The interfaces applied (their files changed or their kernel state did not match).
    applied: Vec<String>,
    /// True when the kernel state was compared with the description and matched (a failed
    /// verification is an error, after the rollback).
    verified: bool,
}

/// Every file of a plan with what happens to it.
fn files_of(plan: &write::Plan) -> Vec<FileReport> {
    plan.steps
        .iter()
        .map(|s| FileReport {
            path: s.file.path.clone(),
            mode: s.file.mode,
            action: s.action,
        })
        .collect()
}

/// `write --dry-run`/`--check`: the diff (or "nothing to change"), the command that would apply
/// it on this machine, and whether anything would change (an interrupted write pending counts).
fn dry_run_report(
    root_dir: &Path,
    plan: &write::Plan,
    rendered: &Rendered,
    report: &mut WriteReport,
) {
    let mut out = String::new();
    let pending = write::journal_pending(root_dir);
    if pending {
        out.push_str(&format!(
            "# an interrupted write left {}: the next write completes it first\n",
            root::in_root(root_dir, write::JOURNAL).display()
        ));
    }
    if plan.is_noop() {
        out.push_str(&up_to_date(plan.steps.len()));
    } else {
        let diff = plan.diff();
        out.push_str(&diff);
        report.diff = Some(diff);
    }
    // An image root is applied by its own boot, not by commands run here.
    if !plan.is_noop() && root_dir == Path::new("/") {
        report.commands = rendered.commands.interface.clone();
        out.push_str(&format!("# apply with: {}\n", report.commands.join("; ")));
    }
    report.changed = !plan.is_noop() || pending;
    report.files = files_of(plan);
    report.text = out;
}

/// What a write that applied `plan` says: each file with its verb and mode, then the backups.
fn written_text(root_dir: &Path, plan: &write::Plan, backups: &[String]) -> String {
    let mut out = String::new();
    for step in &plan.steps {
        let verb = match step.action {
            write::Action::Create => "created",
            write::Action::Replace => "updated",
            write::Action::Unchanged => "unchanged",
            write::Action::Remove => "removed",
        };
        out.push_str(&format!(
            "{verb} {} (mode {:04o})\n",
            step.full_path.display(),
            step.file.mode
        ));
    }
    for b in backups {
        out.push_str(&format!(
            "backup {}\n",
            root::in_root(root_dir, b).display()
        ));
    }
    out
}

/// `write`, with `--restart`'s apply and verification limited to the interfaces in `scope`
/// when given (a hot-plugged NIC: the files of every NIC are reconciled, but only that one is
/// re-applied; at boot, the NICs that are attached).
fn write_run(args: &WriteArgs, scope: Option<&[String]>) -> Result<WriteReport> {
    if args.restart && args.root != Path::new("/") {
        return Err(UsageError(format!(
            "--restart runs the apply commands on this machine, so it needs --root / (got {})",
            args.root.display()
        ))
        .into());
    }
    let config = load_config_in(&args.source, &args.root)?;
    let exclusions = Exclusions::new(&args.source.exclude, &args.root)?;
    let detection = detect(&args.target, &args.root)?;
    let rendered = render(&config, &detection, &args.root)?;
    let keep = |path: &str, contents: &str| exclusions.owns_file(path, contents);
    let live = args.root == Path::new("/");
    let mut report = WriteReport {
        distro: detection.distro.clone(),
        stack: detection.stack,
        backend: detection.stack.backend(),
        reason: detection.reason.clone(),
        root: args.root.display().to_string(),
        dry_run: args.dry_run || args.check,
        changed: false,
        files: Vec::new(),
        backups: Vec::new(),
        commands: Vec::new(),
        restart: None,
        notes: Vec::new(),
        warnings: Vec::new(),
        diff: None,
        text: String::new(),
    };
    if report.dry_run {
        let plan = write::reconcile(&args.root, &rendered.files, &keep)?;
        dry_run_report(&args.root, &plan, &rendered, &mut report);
        return Ok(report);
    }
    let mut out = apply::Log::default();
    let settle = if args.restart {
        Some(crate::seconds(
            "--settle-timeout",
            args.settle_timeout,
            30.0,
        )?)
    } else {
        None
    };
    // Say that privileges are missing before anything is touched (the lock included). Root has
    // them, and does not pay for a second reading of every file: a read-only filesystem is
    // still reported by the lock, or by the check under it, before anything is written.
    if write::expected_owner().0 != 0 {
        write::reconcile(&args.root, &rendered.files, &keep)?.check_access()?;
    }
    let _lock = write::Lock::acquire(&args.root)?;
    if let Some(lines) = write::recover(&args.root)? {
        report.changed = true;
        for l in lines {
            out.push_str(&format!("{l}\n"));
        }
    }
    let plan = write::reconcile(&args.root, &rendered.files, &keep)?;
    plan.check_access()?;
    report.changed |= !plan.is_noop();
    report.files = files_of(&plan);
    let described = |name: &str| config.interfaces.iter().any(|i| i.name.as_str() == name);
    let retire = apply::retire(&plan, &described);
    if args.restart {
        apply::run_best_effort(&retire.before, &mut out);
    }
    if plan.is_noop() {
        out.push_str(&up_to_date(plan.steps.len()));
    } else {
        report.backups = plan.apply(&write::timestamp(std::time::SystemTime::now()))?;
        out.push_str(&written_text(&args.root, &plan, &report.backups));
    }
    match settle {
        Some(settle) => {
            let mut restart = RestartReport::default();
            let ran_before = out.ran.len();
            apply::run_best_effort(&retire.after, &mut out);
            // What the stacks' forgetting ran after every file was written (`netplan apply`)
            // is not run again to apply the rendered interfaces.
            let done = out.ran.get(ran_before..).unwrap_or_default().to_vec();
            apply::take_back(
                &args.root,
                &config,
                &|name, mac| exclusions.covers(name, mac),
                &mut out,
            );
            let opts = apply::Options {
                settle,
                rollback: !args.no_rollback,
            };
            let target = apply::in_scope(&config, scope);
            if target.interfaces.is_empty() {
                out.push_str(&format!(
                    "{} not among the described interfaces (the primary, or not listed): nothing to apply\n",
                    scope.unwrap_or_default().join(", ")
                ));
            } else {
                let to_apply = apply::needing_apply(&target, &plan)?;
                restart.applied = to_apply
                    .interfaces
                    .iter()
                    .map(|i| i.name.to_string())
                    .collect();
                let cmds = if to_apply.interfaces.is_empty() {
                    out.push_str(
                        "no file changed and the kernel state matches: nothing to re-apply\n",
                    );
                    Vec::new()
                } else {
                    render(&to_apply, &detection, &args.root)?
                        .commands
                        .interface
                };
                out.append(apply::apply(&target, &cmds, &done, &plan, opts)?);
                restart.verified = true;
            }
            let record = serde_json::to_string_pretty(&apply::Applied::of(&config))?;
            write::put_state(&args.root, apply::APPLIED, &(record + "\n"))?;
            for w in verify::shadowing(&args.root, &config) {
                out.push_str(&format!("warning: {w}\n"));
                report.warnings.push(w);
            }
            restart.ran = out.ran.clone();
            report.restart = Some(restart);
        }
        // An image root is applied by its own boot, not by commands run here.
        None if !plan.is_noop() && live => {
            let cmds = apply_line(&retire.after, &rendered.commands.interface);
            out.push_str(&format!("apply with: {}\n", cmds.join("; ")));
            report.commands = cmds;
        }
        None => {}
    }
    report.notes = out.notes;
    report.text = out.text;
    Ok(report)
}

#[derive(Serialize)]
struct DetectJson {
    distro: Option<distro::Distro>,
    stack: Stack,
    backend: BackendKind,
    reason: String,
    commands: backend::Commands,
}

fn cmd_detect(args: &DetectArgs) -> Result<String> {
    let target = TargetArgs {
        distro: args.distro.clone(),
        os_release: args.os_release.clone(),
        backend: None,
    };
    let detection = detect(&target, &args.root)?;
    let kind = detection.stack.backend();
    // The commands for an interface named IFNAME, as the backend renders them.
    let sample = Config::from_spec(&ConfigSpec {
        interfaces: vec![InterfaceSpec {
            name: "IFNAME".into(),
            ipv4: Some(FamilySpec {
                dhcp: true,
                ..FamilySpec::default()
            }),
            ..InterfaceSpec::default()
        }],
    })?;
    let commands = backend::backend_for(kind)
        .render(
            &sample,
            &backend::Context {
                stack: detection.stack,
                root: &RootFacts::default(),
            },
        )?
        .commands;
    match args.format {
        Format::Json => Ok(serde_json::to_string_pretty(&DetectJson {
            distro: detection.distro.clone(),
            stack: detection.stack,
            backend: kind,
            reason: detection.reason.clone(),
            commands,
        })? + "\n"),
        Format::Text => {
            let mut out = String::new();
            if let Some(d) = &detection.distro {
                out.push_str(&format!(
                    "distro:    {} (ID {}, VERSION_ID {})\n",
                    d.pretty_name,
                    d.id,
                    d.version_id.as_deref().unwrap_or("-")
                ));
            }
            out.push_str(&format!("stack:     {}\n", detection.stack));
            out.push_str(&format!("backend:   {kind}\n"));
            out.push_str(&format!("why:       {}\n", detection.reason));
            out.push_str(&format!("restart:   {}\n", commands.restart));
            for c in &commands.interface {
                out.push_str(&format!("interface: {c}\n"));
            }
            Ok(out)
        }
    }
}

fn cmd_fetch(args: &FetchArgs) -> Result<String> {
    let settings = imds_settings(&args.service)?;
    let fetched = source::imds::fetch(args.cloud, &settings)?;
    print_notes(&fetched.notes);
    Ok(serde_json::to_string_pretty(&fetched.doc)? + "\n")
}

fn cmd_clean(args: &CleanArgs) -> Result<String> {
    let mut out = apply::Log::default();
    if args.dry_run {
        let plan = write::clean_plan(&args.root, crate::hotplug::DIRS)?;
        if plan.is_noop() {
            out.push_str("nothing to clean: no file generated or replaced by enicfg\n");
        } else {
            out.push_str(&plan.diff());
        }
        let state = root::in_root(&args.root, write::STATE_DIR);
        if std::fs::symlink_metadata(&state).is_ok() {
            out.push_str(&format!("# {} will be removed\n", state.display()));
        }
        for dir in write::created_dirs(&args.root)? {
            out.push_str(&format!(
                "# {}/ will be removed if nothing but enicfg's files is in it (enicfg created it)\n",
                root::in_root(&args.root, &dir).display()
            ));
        }
        return Ok(out.text);
    }
    write::clean_plan(&args.root, crate::hotplug::DIRS)?.check_access()?;
    let state = root::in_root(&args.root, write::STATE_DIR);
    let had_state = std::fs::symlink_metadata(&state).is_ok();
    let lock = write::Lock::acquire(&args.root)?;
    if let Some(lines) = write::recover(&args.root)? {
        for l in lines {
            out.push_str(&format!("{l}\n"));
        }
    }
    let plan = write::clean_plan(&args.root, crate::hotplug::DIRS)?;
    let mut retire = backend::Retire::default();
    if plan
        .steps
        .iter()
        .any(|s| s.action == write::Action::Remove && s.file.path == crate::hotplug::BOOT_UNIT)
    {
        // The boot unit's enable link goes with it.
        let disable = if args.root == Path::new("/") {
            "systemctl disable --now enicfg-boot.service".to_owned()
        } else {
            format!(
                "systemctl --root={} disable enicfg-boot.service",
                crate::backend::quote::shell_word(&args.root.display().to_string())
            )
        };
        apply::run_best_effort(&[disable], &mut out);
    }
    if !plan.is_noop() {
        plan.apply(&write::timestamp(std::time::SystemTime::now()))?;
        for step in &plan.steps {
            let verb = match step.action {
                write::Action::Remove => "removed",
                write::Action::Unchanged => continue,
                _ => "restored",
            };
            out.push_str(&format!("{verb} {}\n", step.full_path.display()));
            if let Some(kind) = step
                .old
                .as_deref()
                .and_then(|o| o.lines().next())
                .and_then(backend::generated_by)
            {
                retire
                    .after
                    .extend(backend::retire_commands(kind, &step.file.path, true).after);
            }
        }
    }
    let created = write::created_dirs(&args.root)?;
    let lock_made = lock.made().to_vec();
    drop(lock);
    if write::remove_state(&args.root)? && had_state {
        out.push_str(&format!("removed {}\n", state.display()));
    }
    // The directories enicfg made, now empty (an image's `interfaces.d/` that was not there);
    // those this run made to take its lock are not news.
    for dir in write::remove_empty_dirs(&args.root, &created)? {
        if !lock_made.contains(&dir) {
            out.push_str(&format!(
                "removed {}/\n",
                root::in_root(&args.root, &dir).display()
            ));
        }
    }
    if plan.is_noop() && out.text.is_empty() {
        out.push_str("nothing to clean: no file generated or replaced by enicfg\n");
    }
    retire.after.dedup();
    if !retire.after.is_empty() && args.root == Path::new("/") {
        out.push_str(&format!("apply with: {}\n", retire.after.join("; ")));
    }
    Ok(out.text)
}

fn cmd_install_hotplug(args: &InstallHotplugArgs) -> Result<String> {
    let settings = crate::hotplug::Settings {
        imds: args.imds,
        endpoint: args.endpoint.clone(),
        input: args.input.clone(),
        policy_routing: !args.no_policy_routing,
        timeout: args.timeout,
        exclude: args.exclude.clone(),
    };
    settings
        .check()
        .map_err(|e| anyhow::Error::from(UsageError(format!("{e:#}"))))?;
    Exclusions::new(&args.exclude, &args.root)?;
    let detection = detect(&args.target, &args.root)?;
    let binary = match &args.binary {
        Some(binary) => binary.as_str(),
        None => crate::hotplug::default_binary(&args.root)?,
    };
    let files = crate::hotplug::render(&settings, detection.stack, binary)?;
    let plan = write::plan(&args.root, files)?;
    let mut out = apply::Log::default();
    let live = args.root == Path::new("/");
    let enable = if live {
        "udevadm control --reload-rules; systemctl daemon-reload; systemctl enable enicfg-boot.service".to_owned()
    } else {
        format!(
            "systemctl --root={} enable enicfg-boot.service",
            crate::backend::quote::shell_word(&args.root.display().to_string())
        )
    };
    if args.dry_run {
        out.push_str(&if plan.is_noop() {
            up_to_date(plan.steps.len())
        } else {
            plan.diff()
        });
        out.push_str(&format!("# then: {enable}\n"));
        return Ok(out.text);
    }
    plan.check_access()?;
    let _lock = write::Lock::acquire(&args.root)?;
    if !plan.is_noop() {
        plan.apply(&write::timestamp(std::time::SystemTime::now()))?;
    }
    for step in &plan.steps {
        out.push_str(&format!(
            "{} {}\n",
            if step.action == write::Action::Unchanged {
                "unchanged"
            } else {
                "installed"
            },
            step.full_path.display()
        ));
    }
    apply::run_best_effort(&[enable], &mut out);
    out.push_str(&format!(
        "stack: {} ({})\n",
        detection.stack, detection.reason
    ));
    Ok(out.text)
}

fn cmd_uninstall_hotplug(args: &UninstallHotplugArgs) -> Result<String> {
    let paths = crate::hotplug::paths();
    let keep = |p: &str, _: &str| !paths.contains(&p);
    let plan = write::reconcile_in(&args.root, &[], &keep, crate::hotplug::DIRS)?;
    let mut out = apply::Log::default();
    let live = args.root == Path::new("/");
    let disable = if live {
        "systemctl disable --now enicfg-boot.service".to_owned()
    } else {
        format!(
            "systemctl --root={} disable enicfg-boot.service",
            crate::backend::quote::shell_word(&args.root.display().to_string())
        )
    };
    if plan.is_noop() {
        return Ok("nothing to uninstall\n".to_owned());
    }
    plan.check_access()?;
    let _lock = write::Lock::acquire(&args.root)?;
    apply::run_best_effort(&[disable], &mut out);
    plan.apply(&write::timestamp(std::time::SystemTime::now()))?;
    for step in plan
        .steps
        .iter()
        .filter(|s| s.action == write::Action::Remove)
    {
        out.push_str(&format!("removed {}\n", step.full_path.display()));
    }
    if live {
        apply::run_best_effort(
            &["systemctl daemon-reload; udevadm control --reload-rules".to_owned()],
            &mut out,
        );
    }
    Ok(out.text)
}

/// The MAC of a NIC on this machine, from sysfs.
fn nic_mac(name: &str) -> Option<String> {
    source::metadata::sysfs_macs(Path::new("/"))
        .ok()?
        .into_iter()
        .find(|(n, _, _)| n == name)
        .map(|(_, mac, _)| mac)
}

fn cmd_hotplug(args: &HotplugArgs) -> Result<String> {
    let root = Path::new("/");
    let settings = crate::hotplug::Settings::load(root)?;
    let exclusions = Exclusions::new(&settings.exclude, root)?;
    let nic = args.interface.clone().unwrap_or_default();
    if args.action != HotplugAction::Boot {
        let mac = nic_mac(&nic).and_then(|m| m.parse().ok());
        if exclusions.covers(&nic, mac) {
            return Ok(format!(
                "{nic} is excluded in {}: left alone\n",
                crate::hotplug::CONFIG
            ));
        }
    }
    if args.action == HotplugAction::Remove {
        return forget(root, &nic, &exclusions);
    }
    let mut source = crate::cli::SourceArgs {
        input: settings.input.clone(),
        include_primary: false,
        exclude: settings.exclude.clone(),
        flags: Default::default(),
        metadata: Default::default(),
    };
    if let Some(cloud) = settings.imds {
        source.metadata.imds = Some(cloud);
        source.metadata.no_policy_routing = !settings.policy_routing;
        source.metadata.service.endpoint = settings.endpoint.clone();
        source.metadata.service.timeout = Some(settings.timeout);
        if args.action == HotplugAction::Add
            && let Some(mac) = nic_mac(&nic)
        {
            // Wait until the metadata service lists the new NIC (it lags the attach).
            source.metadata.service.wait_for = vec![mac];
        }
    }
    let write = WriteArgs {
        source,
        target: TargetArgs {
            distro: None,
            os_release: None,
            backend: None,
        },
        root: root.to_path_buf(),
        dry_run: false,
        check: false,
        restart: true,
        no_rollback: false,
        settle_timeout: None,
        format: Format::Text,
    };
    // A hot-plugged NIC is applied alone; at boot, every NIC that is attached (a description
    // file may list NICs that are not, yet).
    let scope: Vec<String> = if args.action == HotplugAction::Add {
        vec![nic]
    } else {
        source::metadata::sysfs_macs(root)
            .unwrap_or_default()
            .into_iter()
            .map(|(name, _, _)| name)
            .collect()
    };
    Ok(write_run(&write, Some(&scope))?.text)
}

/// A NIC went: its files go (with their stacks' after-commands) and the rules enicfg applied
/// for it leave the kernel; the record forgets it.
fn forget(root: &Path, nic: &str, exclusions: &Exclusions) -> Result<String> {
    let mut out = apply::Log::default();
    let _lock = write::Lock::acquire(root)?;
    if let Some(lines) = write::recover(root)? {
        for l in lines {
            out.push_str(&format!("{l}\n"));
        }
    }
    // Every generated file is kept but this NIC's: the plan removes exactly its files.
    let keep = |p: &str, c: &str| {
        backend::interface_of(p).as_deref() != Some(nic) || exclusions.owns_file(p, c)
    };
    let plan = write::reconcile(root, &[], &keep)?;
    // The NIC is gone: none of its files belongs to a described interface.
    let retire = apply::retire(&plan, &|_| false);
    if !plan.is_noop() {
        plan.apply(&write::timestamp(std::time::SystemTime::now()))?;
        for step in &plan.steps {
            out.push_str(&format!("removed {}\n", step.full_path.display()));
        }
    }
    apply::run_best_effort(&retire.after, &mut out);
    let mut applied = apply::Applied::load(root);
    if let Some(pos) = applied.interfaces.iter().position(|a| a.name == nic) {
        let gone = applied.interfaces.remove(pos);
        let rest = Config {
            interfaces: Vec::new(),
        };
        let exists = nic_mac(nic).is_some();
        apply::run_best_effort(&apply::cleanup_commands(&gone, &rest, exists), &mut out);
        let record = serde_json::to_string_pretty(&applied)?;
        write::put_state(root, apply::APPLIED, &(record + "\n"))?;
    }
    if out.text.is_empty() {
        out.push_str(&format!("{nic}: nothing of enicfg's to remove\n"));
    }
    Ok(out.text)
}

/// "nothing to change" with the right number.
fn up_to_date(n: usize) -> String {
    if n == 1 {
        "nothing to change: the 1 file is up to date\n".to_owned()
    } else {
        format!("nothing to change: all {n} files are up to date\n")
    }
}

/// The commands of the `apply with` line: the stacks forget the removed files, then the
/// rendered interfaces are applied; a command both say (`netplan apply`) is said once, where it
/// first comes.
fn apply_line(retire_after: &[String], interface: &[String]) -> Vec<String> {
    let mut cmds = retire_after.to_vec();
    for c in interface {
        if !cmds.contains(c) {
            cmds.push(c.clone());
        }
    }
    cmds
}

#[cfg(test)]
mod tests {
    use super::apply_line;

    #[test]
    fn the_apply_line_says_a_global_command_once() {
        let owned = |v: &[&str]| v.iter().map(|c| (*c).to_owned()).collect::<Vec<_>>();
        // netplan: a NIC's file removed, another rendered.
        assert_eq!(
            apply_line(
                &owned(&["netplan apply", "networkctl reconfigure eth2 || true"]),
                &owned(&["netplan apply"])
            ),
            ["netplan apply", "networkctl reconfigure eth2 || true"]
        );
        // Nothing removed: the rendered commands as they are.
        assert_eq!(
            apply_line(
                &[],
                &owned(&["ifdown eth1; ifup eth1", "ifdown eth2; ifup eth2"])
            ),
            ["ifdown eth1; ifup eth1", "ifdown eth2; ifup eth2"]
        );
    }
}
