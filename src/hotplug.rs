//! Following the NICs for their whole life: a udev rule that hands every NIC `add`/`remove` to
//! a systemd template unit at once (udev kills long work), the units themselves, a boot-time
//! unit that reconciles NICs attached or detached while the guest was off, and the one settings
//! file they all read, `/etc/enicfg/enicfg.yaml`.
//!
//! Rendering is pure, like a backend's: the files come back as [`FileOut`]s and are written by
//! the writer (atomic, idempotent, removed by `clean`). The units run `enicfg hotplug
//! add|remove|boot`, which turn the settings into the same `write --restart` as a user's.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use askama::Template;
use serde::Deserialize;

use crate::backend::{FileOut, GENERATED_MARKER, netplan::quote as yaml};
use crate::distro::Stack;
use crate::source::metadata::Cloud;

/// The settings file, inside ROOT.
pub const CONFIG: &str = "/etc/enicfg/enicfg.yaml";
/// The udev rule.
pub const UDEV_RULE: &str = "/etc/udev/rules.d/90-enicfg.rules";
/// The unit that configures a hot-plugged NIC.
pub const ADD_UNIT: &str = "/etc/systemd/system/enicfg@.service";
/// The unit that forgets a detached NIC.
pub const REMOVE_UNIT: &str = "/etc/systemd/system/enicfg-remove@.service";
/// The unit that reconciles every NIC at boot.
pub const BOOT_UNIT: &str = "/etc/systemd/system/enicfg-boot.service";
/// Where the units look for enicfg when `--binary` is not given: the first of these installed
/// under ROOT, in the order of a shell's `PATH` (README "Install": by hand into /usr/local/bin,
/// the .deb and .rpm packages into /usr/bin).
pub const BINARY_CANDIDATES: &[&str] = &["/usr/local/bin/enicfg", "/usr/bin/enicfg"];
/// Where the units look for enicfg when none of [`BINARY_CANDIDATES`] is installed yet (an image
/// whose binary is copied in later): the README's place for a hand install.
pub const DEFAULT_BINARY: &str = "/usr/local/bin/enicfg";

/// Directories that hold hotplug files, searched by `clean`.
pub const DIRS: &[&str] = &["/etc/enicfg", "/etc/udev/rules.d", "/etc/systemd/system"];

/// What the units do, from `/etc/enicfg/enicfg.yaml`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The live metadata service of this cloud.
    #[serde(default)]
    pub imds: Option<Cloud>,
    /// Its address, when not the cloud's documented one.
    #[serde(default)]
    pub endpoint: Option<String>,
    /// A description file instead of the metadata service.
    #[serde(default)]
    pub input: Option<PathBuf>,
    /// Policy routing for secondary NICs (metadata only).
    #[serde(default = "yes")]
    pub policy_routing: bool,
    /// How long to wait for the metadata service (and for it to list a new NIC), in seconds.
    #[serde(default = "sixty")]
    pub timeout: f64,
    /// Interfaces never touched, by MAC or name.
    #[serde(default)]
    pub exclude: Vec<String>,
}

fn yes() -> bool {
    true
}

fn sixty() -> f64 {
    60.0
}

impl Settings {
    /// Checks that exactly one source is set and the values can be written into unit files.
    pub fn check(&self) -> Result<()> {
        match (&self.imds, &self.input) {
            (Some(_), Some(_)) => bail!("imds and input: give one source, not both"),
            (None, None) => bail!("no source: give imds (a cloud) or input (a description file)"),
            (None, Some(_)) if self.endpoint.is_some() => {
                bail!("endpoint applies to imds only")
            }
            _ => {}
        }
        if let Some(p) = &self.input
            && !p.is_absolute()
        {
            bail!("input {}: must be an absolute path", p.display());
        }
        if let Err(rule) = crate::check_seconds(self.timeout) {
            bail!("timeout {}: {rule}", crate::show_seconds(self.timeout));
        }
        Ok(())
    }

    /// Reads and checks the settings file under ROOT.
    pub fn load(root: &Path) -> Result<Settings> {
        let path = crate::root::in_root(root, CONFIG);
        let text = crate::root::read_optional(root, CONFIG)?.with_context(|| {
            format!(
                "{} is missing: run `enicfg install-hotplug` first",
                path.display()
            )
        })?;
        let settings: Settings = serde_yaml::from_str(&text)
            .with_context(|| format!("invalid settings in {}", path.display()))?;
        settings
            .check()
            .with_context(|| format!("invalid settings in {}", path.display()))?;
        Ok(settings)
    }
}

/// The binary the units run when `--binary` is not given: the first of [`BINARY_CANDIDATES`]
/// installed under ROOT, otherwise [`DEFAULT_BINARY`]. Looked up under ROOT, not taken from the
/// running process, so that an image root gets the path of the image's own binary.
pub fn default_binary(root: &Path) -> Result<&'static str> {
    for candidate in BINARY_CANDIDATES {
        if crate::root::exists(root, candidate)? {
            return Ok(candidate);
        }
    }
    Ok(DEFAULT_BINARY)
}

/// Checks a path written into unit files and udev rules: absolute, and nothing systemd or udev
/// would read as a specifier, a separator or a quote.
fn checked_binary(path: &str) -> Result<&str> {
    if !path.starts_with('/')
        || !path
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+".contains(c))
    {
        bail!("--binary {path:?}: expected an absolute path of letters, digits and / . _ - +");
    }
    Ok(path)
}

#[derive(Template)]
#[template(path = "hotplug/90-enicfg.rules", escape = "none")]
struct RuleView<'a> {
    header: &'a str,
    systemctl: &'a str,
}

#[derive(Template)]
#[template(path = "hotplug/enicfg@.service", escape = "none")]
struct AddView<'a> {
    header: &'a str,
    after: &'a [&'a str],
    binary: &'a str,
}

#[derive(Template)]
#[template(path = "hotplug/enicfg-remove@.service", escape = "none")]
struct RemoveView<'a> {
    header: &'a str,
    after: &'a [&'a str],
    binary: &'a str,
}

#[derive(Template)]
#[template(path = "hotplug/enicfg-boot.service", escape = "none")]
struct BootView<'a> {
    header: &'a str,
    after: &'a [&'a str],
    binary: &'a str,
}

#[derive(Template)]
#[template(path = "hotplug/enicfg.yaml", escape = "none")]
struct SettingsView {
    header: String,
    imds: Option<String>,
    endpoint: Option<String>,
    input: Option<String>,
    policy_routing: bool,
    timeout: String,
    exclude: Vec<String>,
}

/// The units each stack's service must be up before (the units apply with its commands).
fn stack_units(stack: Stack) -> &'static [&'static str] {
    match stack {
        Stack::Initscripts { .. } => &["network.service"],
        Stack::NetworkManagerIfcfg | Stack::NetworkManagerKeyfile => &["NetworkManager.service"],
        Stack::Wicked => &["wicked.service"],
        Stack::SuseSysconfig => &["network.service"],
        Stack::Ifupdown { .. } => &["networking.service"],
        Stack::Netplan => &["systemd-networkd.service", "NetworkManager.service"],
        Stack::Networkd => &["systemd-networkd.service"],
    }
}

/// The hotplug files for a stack: settings, udev rule, the three units.
pub fn render(settings: &Settings, stack: Stack, binary: &str) -> Result<Vec<FileOut>> {
    settings.check()?;
    let binary = checked_binary(binary)?;
    let header = format!(
        "{GENERATED_MARKER} (hotplug). Do not edit: changes are lost when enicfg runs again.\n"
    );
    let after = stack_units(stack);
    let file = |path: &str, mode: u32, t: &dyn askama::DynTemplate| -> Result<FileOut> {
        let mut contents = t
            .dyn_render()
            .map_err(|e| anyhow::anyhow!("failed to render {path}: {e}"))?;
        if !contents.ends_with('\n') {
            contents.push('\n');
        }
        Ok(FileOut {
            path: path.to_owned(),
            mode,
            contents,
        })
    };
    let view = SettingsView {
        header: header.clone(),
        imds: settings.imds.map(|c| c.to_string()),
        endpoint: settings.endpoint.as_deref().map(yaml),
        input: settings
            .input
            .as_ref()
            .map(|p| yaml(&p.display().to_string())),
        policy_routing: settings.policy_routing,
        timeout: format!("{}", settings.timeout),
        exclude: settings.exclude.iter().map(|e| yaml(e)).collect(),
    };
    Ok(vec![
        file(CONFIG, 0o644, &view)?,
        file(
            UDEV_RULE,
            0o644,
            &RuleView {
                header: &header,
                systemctl: "systemctl",
            },
        )?,
        file(
            ADD_UNIT,
            0o644,
            &AddView {
                header: &header,
                after,
                binary,
            },
        )?,
        file(
            REMOVE_UNIT,
            0o644,
            &RemoveView {
                header: &header,
                after,
                binary,
            },
        )?,
        file(
            BOOT_UNIT,
            0o644,
            &BootView {
                header: &header,
                after,
                binary,
            },
        )?,
    ])
}

/// The hotplug file paths, for removal.
pub fn paths() -> [&'static str; 5] {
    [CONFIG, UDEV_RULE, ADD_UNIT, REMOVE_UNIT, BOOT_UNIT]
}
