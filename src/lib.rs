//! enicfg: configure secondary elastic network interfaces inside cloud Linux guests.
//!
//! The pipeline, in one direction: a source produces a [`model::ConfigSpec`]; it is validated
//! once into a [`model::Config`]; the target's distro picks a [`distro::Stack`] and so a
//! backend; the backend renders files and apply commands ([`backend::Rendered`]); [`mod@write`]
//! plans, diffs and writes them atomically under ROOT.

pub mod apply;
pub mod backend;
pub mod cli;
pub mod commands;
pub mod distro;
pub mod docs;
pub mod glob;
pub mod hotplug;
pub mod model;
pub mod probe;
pub mod root;
pub mod source;
pub mod verify;
pub mod write;

pub use commands::{Outcome, run};

use std::fmt;
use std::path::Path;

use anyhow::{Context as _, Result};

use crate::backend::Rendered;
use crate::cli::{ServiceArgs, SourceArgs, TargetArgs};
use crate::distro::{Detection, Stack};
use crate::model::Config;
use crate::root::RootFacts;

/// A command-line usage problem found after parsing (exit status 2).
#[derive(Debug)]
pub struct UsageError(pub String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// Source -> validated model (primary interfaces dropped unless asked for); cloud metadata
/// NICs are matched against `/sys/class/net`.
pub fn load_config(source: &SourceArgs) -> Result<Config> {
    load_config_in(source, Path::new("/"))
}

/// [`load_config`], matching cloud metadata NICs against `ROOT/sys/class/net`; interfaces
/// named by `--exclude` are left out.
pub fn load_config_in(source: &SourceArgs, root: &Path) -> Result<Config> {
    let exclusions = Exclusions::new(&source.exclude, root)?;
    let (config, origin) = load_described(source, root)?;
    let config = exclusions.apply(config)?;
    explain(|| {
        let names: Vec<String> = config
            .interfaces
            .iter()
            .map(|i| i.name.to_string())
            .collect();
        format!(
            "{} interface{} to configure from {origin}: {}",
            names.len(),
            if names.len() == 1 { "" } else { "s" },
            names.join(", ")
        )
    });
    Ok(config)
}

/// The interfaces enicfg must never touch (`--exclude MAC|NAME`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Exclusions {
    /// Excluded names, and the names ROOT's sysfs gives excluded MACs.
    pub names: Vec<String>,
    /// Excluded MACs.
    pub macs: Vec<model::MacAddr>,
}

impl Exclusions {
    /// Parses the `--exclude` values — a MAC (any case) or an interface name — together with
    /// the `exclude:` list of ROOT's hotplug settings (`/etc/enicfg/enicfg.yaml`) when there is
    /// one: a NIC excluded there is never touched by a manual run either.
    pub fn new(values: &[String], root: &Path) -> Result<Exclusions> {
        let mut ex = Exclusions::default();
        let mut all = values.to_vec();
        if root::exists(root, hotplug::CONFIG).unwrap_or(false) {
            let settings = hotplug::Settings::load(root)?;
            all.extend(settings.exclude);
        }
        for v in &all {
            match v.parse::<model::MacAddr>() {
                Ok(mac) => ex.macs.push(mac),
                Err(_) if v.contains(':') => {
                    return Err(UsageError(format!(
                        "--exclude {v}: neither a MAC address (xx:xx:xx:xx:xx:xx) nor an interface name"
                    ))
                    .into());
                }
                Err(_) if v.is_empty() || v.contains('/') || v.chars().any(char::is_whitespace) => {
                    return Err(
                        UsageError(format!("--exclude {v:?}: not an interface name")).into(),
                    );
                }
                Err(_) => ex.names.push(v.clone()),
            }
        }
        if !ex.macs.is_empty() {
            for (name, mac, _) in source::metadata::sysfs_macs(root).unwrap_or_default() {
                if mac
                    .parse::<model::MacAddr>()
                    .is_ok_and(|m| ex.macs.contains(&m))
                {
                    ex.names.push(name);
                }
            }
        }
        Ok(ex)
    }

    /// Whether an interface is excluded.
    pub fn covers(&self, name: &str, mac: Option<model::MacAddr>) -> bool {
        self.names.iter().any(|n| n == name) || mac.is_some_and(|m| self.macs.contains(&m))
    }

    /// Whether a generated file belongs to an excluded interface: by the name in its path, or
    /// an excluded MAC in its contents.
    pub fn owns_file(&self, path: &str, contents: &str) -> bool {
        if backend::interface_of(path).is_some_and(|n| self.names.contains(&n)) {
            return true;
        }
        let lower = contents.to_ascii_lowercase();
        self.macs
            .iter()
            .any(|m| lower.contains(&m.to_string().to_ascii_lowercase()))
    }

    fn apply(&self, config: Config) -> Result<Config> {
        if self.names.is_empty() && self.macs.is_empty() {
            return Ok(config);
        }
        let (out, kept): (Vec<_>, Vec<_>) = config
            .interfaces
            .into_iter()
            .partition(|i| self.covers(i.name.as_str(), i.mac));
        let notes: Vec<String> = out
            .iter()
            .map(|i| format!("{} is excluded (--exclude): left alone", i.name))
            .collect();
        print_notes(&notes);
        if kept.is_empty() {
            anyhow::bail!(
                "nothing to configure: every described interface is excluded ({})",
                out.iter()
                    .map(|i| i.name.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        Ok(Config { interfaces: kept })
    }
}

/// The validated description, and where it came from (for messages).
fn load_described(source: &SourceArgs, root: &Path) -> Result<(Config, String)> {
    let spec = match (
        load_metadata(source, root)?,
        &source.input,
        source.flags.any(),
    ) {
        (Loaded::Metadata(config, origin), _, _) => return Ok((config, origin)),
        (Loaded::Schema(text, origin), _, _) => source::file::parse(&text, &origin)?,
        (Loaded::NotRead, Some(path), _) => source::file::load(path)?,
        (Loaded::NotRead, None, true) => source.flags.to_spec()?,
        (Loaded::NotRead, None, false) => {
            return Err(UsageError(
                "no interface given: pass --input FILE (or - for stdin), or describe one interface with --name and --address/--dhcp"
                    .into(),
            )
            .into());
        }
    };
    let origin = source.input.as_ref().map_or_else(
        || "the command-line flags".to_owned(),
        |p| p.display().to_string(),
    );
    // Flag users are told about the flags they typed, file users about the file's keys.
    let naming = if source.input.is_some() {
        model::Naming::Schema
    } else {
        model::Naming::Flags(source::flags::flag_for)
    };
    let config = Config::from_spec_named(&spec, naming)
        .with_context(|| format!("invalid interface description in {origin}"))?;
    Ok((config.select(source.include_primary)?, origin))
}

/// Decides the target stack from `--backend`, `--distro`, `--os-release` or ROOT.
pub fn detect(target: &TargetArgs, root: &Path) -> Result<Detection> {
    let detection = detect_quietly(target, root)?;
    explain(|| {
        format!(
            "target {}: {} (backend {}), because {}",
            detection
                .distro
                .as_ref()
                .map_or("(any distro)".to_owned(), |d| d.pretty_name.clone()),
            detection.stack,
            detection.stack.backend(),
            detection.reason
        )
    });
    Ok(detection)
}

fn detect_quietly(target: &TargetArgs, root: &Path) -> Result<Detection> {
    if let Some(kind) = target.backend {
        return Ok(Detection {
            distro: None,
            stack: Stack::default_for(kind),
            reason: format!("--backend {kind}"),
        });
    }
    let from_root = target.distro.is_none() && target.os_release.is_none();
    let (distro, origin) = if let Some(s) = &target.distro {
        (distro::parse_override(s)?, "--distro".to_owned())
    } else if let Some(path) = &target.os_release {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("failed to read os-release file {}", path.display()))?;
        (distro::parse_os_release(&text), path.display().to_string())
    } else {
        let (d, path) = distro::read_root(root)?;
        (d, root::in_root(root, &path).display().to_string())
    };
    let decided = distro::decide(&distro)
        .with_context(|| format!("cannot configure {} (from {origin})", distro.pretty_name));
    if !from_root {
        let (stack, why) = decided?;
        return Ok(Detection {
            distro: Some(distro),
            stack,
            reason: format!("{why} (read from {origin})"),
        });
    }
    // The target's own root: look at what is really there (files; services too inside a guest).
    let evidence = probe::gather(root, root == Path::new("/"))?;
    let (stack, mut reason) = match decided {
        Ok((os_stack, why)) => match probe::decide(&evidence, os_stack) {
            (stack, None) => (stack, format!("{why} (read from {origin})")),
            (stack, Some(change)) => (stack, format!("{why} (read from {origin}); {change}")),
        },
        Err(e) => match probe::found(&evidence) {
            Some(stack) => (
                stack,
                format!(
                    "{e:#}; but {stack} is what this system runs ({})",
                    evidence.notes.join("; ")
                ),
            ),
            None => return Err(e),
        },
    };
    if let Some(unprobed) = &evidence.unprobed {
        reason = format!("{reason}; {unprobed}");
    }
    Ok(Detection {
        distro: Some(distro),
        stack,
        reason,
    })
}

/// Model + target -> files and commands.
pub fn render(config: &Config, detection: &Detection, root: &Path) -> Result<Rendered> {
    let facts = RootFacts::gather_for(root, detection.stack.backend())?;
    let what = match &detection.distro {
        Some(d) => d.pretty_name.clone(),
        None => detection.reason.clone(),
    };
    backend::render(config, detection.stack, &facts)
        .with_context(|| format!("cannot render for {what}"))
}

// ---------------------------------------------------------------------------------------------
// Cloud metadata (saved documents and the live service).
// ---------------------------------------------------------------------------------------------

/// The longest timeout a flag takes, in seconds (a day): anything longer is a typo, and a
/// deadline must stay representable (`Instant::now() + 1e19 s` overflows).
pub const MAX_SECONDS: f64 = 86_400.0;

/// A flag's number of seconds, checked: above 0 and at most [`MAX_SECONDS`].
pub(crate) fn seconds(flag: &str, value: Option<f64>, default: f64) -> Result<std::time::Duration> {
    let v = value.unwrap_or(default);
    check_seconds(v)
        .map_err(|rule| UsageError(format!("{flag} {}: {rule}", show_seconds(v))).into())
}

/// Checks a number of seconds; the error is the rule it breaks.
pub fn check_seconds(v: f64) -> std::result::Result<std::time::Duration, String> {
    if v.is_finite()
        && v > 0.0
        && v <= MAX_SECONDS
        && let Ok(d) = std::time::Duration::try_from_secs_f64(v)
        && !d.is_zero()
    {
        return Ok(d);
    }
    Err(format!(
        "expected a number of seconds above 0 and at most {MAX_SECONDS} (a day)"
    ))
}

/// A number of seconds as a person would write it: `1e30`, not thirty-one digits.
pub fn show_seconds(v: f64) -> String {
    if v.is_finite() && v.abs() < 1e15 {
        v.to_string()
    } else {
        format!("{v:?}")
    }
}

pub(crate) fn imds_settings(service: &ServiceArgs) -> Result<source::imds::Settings> {
    let wait_for = service
        .wait_for
        .iter()
        .map(|m| {
            m.parse::<model::MacAddr>()
                .map_err(|e| anyhow::Error::from(UsageError(format!("--wait-for: {e}"))))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(source::imds::Settings {
        endpoint: service.endpoint.clone(),
        timeout: seconds("--timeout", service.timeout, 60.0)?,
        request_timeout: seconds("--request-timeout", service.request_timeout, 5.0)?,
        wait_for,
    })
}

/// How much enicfg says besides its results: `-q` keeps results, warnings and errors only;
/// `-v` adds, on stderr, what it decided and why and each command it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum Verbosity {
    /// `-q`: no notes and no lines about what was done.
    Quiet,
    /// The default.
    #[default]
    Normal,
    /// `-v`: also what was decided and why.
    Verbose,
}

/// The process-wide verbosity: set once by `main` from `-q`/`-v`, read where notes and
/// explanations are printed (a global rather than a parameter threaded through every layer:
/// it changes what is said, never what is done).
static VERBOSITY: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(1);

/// Sets the process-wide [`Verbosity`].
pub fn set_verbosity(v: Verbosity) {
    VERBOSITY.store(v as u8, std::sync::atomic::Ordering::Relaxed);
}

/// The process-wide [`Verbosity`].
pub fn verbosity() -> Verbosity {
    match VERBOSITY.load(std::sync::atomic::Ordering::Relaxed) {
        0 => Verbosity::Quiet,
        1 => Verbosity::Normal,
        _ => Verbosity::Verbose,
    }
}

/// Prints notes on stderr (`note: ...`), unless `-q`.
pub(crate) fn print_notes(notes: &[String]) {
    if verbosity() == Verbosity::Quiet {
        return;
    }
    for n in notes {
        eprintln!("note: {n}");
    }
}

/// With `-v`, says on stderr what enicfg decided and why (`info: ...`); the message is only
/// built when it is printed.
pub(crate) fn explain(message: impl FnOnce() -> String) {
    if verbosity() == Verbosity::Verbose {
        eprintln!("info: {}", message());
    }
}

/// What [`load_metadata`] found.
enum Loaded {
    /// A metadata source, validated, and where it came from.
    Metadata(Config, String),
    /// `--input` was read and is our own schema: (text, origin).
    Schema(String, String),
    /// Not a metadata source, and nothing was read.
    NotRead,
}

/// The metadata source, when the command line asks for one.
fn load_metadata(source: &SourceArgs, root: &Path) -> Result<Loaded> {
    use source::metadata;
    let m = &source.metadata;
    let mut iface_flags = source.flags.clone();
    iface_flags.dhcp = false;
    if iface_flags.any() && (m.imds.is_some() || source.input.is_some()) {
        return Err(UsageError(
            "interface flags (--name, --address, ...) describe one interface instead of --input or --imds: use one or the other".into(),
        )
        .into());
    }
    if m.imds.is_none() && m.service.any() {
        return Err(UsageError(
            "--endpoint, --timeout, --request-timeout and --wait-for apply to --imds only".into(),
        )
        .into());
    }
    let opts = metadata::Options {
        include_primary: source.include_primary,
        no_policy_routing: m.no_policy_routing,
        dhcp: source.flags.dhcp,
        ifnames: m.ifnames.clone(),
        primary: m
            .primary
            .as_deref()
            .map(|raw| {
                raw.trim()
                    .parse::<model::MacAddr>()
                    .map_err(|e| anyhow::Error::from(UsageError(format!("--primary: {e}"))))
            })
            .transpose()?,
    };
    let (cloud, doc, origin) = if let Some(cloud) = m.imds {
        let settings = imds_settings(&m.service)?;
        let endpoint = settings
            .endpoint
            .clone()
            .unwrap_or_else(|| source::imds::default_endpoint(cloud).to_owned());
        let fetched = source::imds::fetch(cloud, &settings).with_context(|| {
            format!("cannot read the {cloud} metadata service at {endpoint}; nothing was written")
        })?;
        print_notes(&fetched.notes);
        (
            cloud,
            fetched.doc,
            format!("the {cloud} metadata service at {endpoint}"),
        )
    } else if let Some(path) = &source.input {
        let (text, origin) = source::file::read(path)?;
        let doc = if m.cloud.is_some() {
            Some(metadata::parse_document(&text, &origin)?)
        } else if text.trim_start().starts_with('{') {
            // A JSON text that does not parse is neither kind: say where parsing stopped, before
            // guessing a kind (a truncated metadata document must not be blamed on our schema).
            let is_metadata = metadata::json_looks_like_metadata(&text).with_context(|| {
                format!(
                    "{origin}: invalid JSON (neither a cloud metadata document nor an interface \
                     description can be read from it)"
                )
            })?;
            if is_metadata {
                Some(metadata::parse_document(&text, &origin)?)
            } else {
                None
            }
        } else {
            None
        };
        let Some(doc) = doc else {
            if source.flags.dhcp
                || !m.ifnames.is_empty()
                || m.no_policy_routing
                || m.primary.is_some()
            {
                return Err(UsageError(format!(
                    "--dhcp, --ifname, --no-policy-routing and --primary apply to cloud metadata, and {origin} is an interface description"
                ))
                .into());
            }
            return Ok(Loaded::Schema(text, origin));
        };
        let cloud = match m.cloud {
            Some(c) => {
                if let Ok(seen) = metadata::detect(&doc)
                    && seen != c
                {
                    return Err(UsageError(format!(
                        "--cloud {c}, but {origin} has the shape of {seen} metadata: drop --cloud or pass --cloud {seen}"
                    ))
                    .into());
                }
                c
            }
            None => metadata::detect(&doc)
                .with_context(|| format!("{origin}: cannot tell which cloud's metadata this is"))?,
        };
        (cloud, doc, origin)
    } else {
        if !m.ifnames.is_empty() || m.no_policy_routing || m.primary.is_some() {
            return Err(UsageError(
                "--ifname, --no-policy-routing and --primary apply to cloud metadata (--input DOCUMENT or --imds CLOUD)".into(),
            )
            .into());
        }
        return Ok(Loaded::NotRead);
    };
    let decoded =
        metadata::decode(cloud, &doc, opts.primary).with_context(|| format!("in {origin}"))?;
    let converted = metadata::to_spec(cloud, decoded, &opts, root)
        .with_context(|| format!("cannot map the NICs of {origin} to interfaces"))?;
    print_notes(&converted.notes);
    let config = Config::from_spec(&converted.spec)
        .with_context(|| format!("invalid interface description from {origin}"))?;
    Ok(Loaded::Metadata(
        config.select(source.include_primary)?,
        origin,
    ))
}
