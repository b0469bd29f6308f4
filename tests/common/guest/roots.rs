//! Guest roots: one Debian 12 root per flavor (network stack), built with `mmdebstrap` from
//! Debian's packages, cached as a tarball under `target/guest-roots/` keyed by a hash of
//! everything that goes into it, and unpacked into a fresh directory per test.
//!
//! Builds are safe to run concurrently: a root is built under a temporary name and renamed into
//! place, so another process sees either no tarball or a whole one (two processes may both
//! build it; the second rename wins with identical content). Within one process a per-flavor
//! lock keeps two tests from building the same root twice.

use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A guest's network stack: the Debian packages and the units that apply its files at boot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// netplan.io rendering for systemd-networkd (Debian 12's netplan is networkd-only here).
    Netplan,
    /// ifupdown, applied at boot by `networking.service`.
    Ifupdown,
    /// NetworkManager with Debian's default configuration.
    NetworkManager,
    /// systemd-networkd alone.
    Networkd,
}

const SUITE: &str = "bookworm";
const BASE: [&str; 5] = ["systemd", "systemd-sysv", "udev", "dbus", "iproute2"];

/// The image's own primary-NIC netplan file (cloud images ship one): DHCP on eth0, which no
/// one answers in the test VPC. It also makes the netplan stack visible to enicfg's probe.
const NETPLAN_PRIMARY: &str =
    "network:\n  version: 2\n  renderer: networkd\n  ethernets:\n    eth0:\n      dhcp4: true\n";

impl Flavor {
    /// Every flavor, in the order the suite reports them.
    pub const ALL: [Flavor; 4] = [
        Flavor::Netplan,
        Flavor::Ifupdown,
        Flavor::NetworkManager,
        Flavor::Networkd,
    ];

    /// A short name for paths and reports.
    pub fn name(self) -> &'static str {
        match self {
            Flavor::Netplan => "netplan",
            Flavor::Ifupdown => "ifupdown",
            Flavor::NetworkManager => "networkmanager",
            Flavor::Networkd => "networkd",
        }
    }

    /// The packages besides [`BASE`].
    fn packages(self) -> &'static [&'static str] {
        match self {
            Flavor::Netplan => &["netplan.io"],
            // procps: ifupdown's inet6 method runs `sysctl` (every Debian image has it).
            Flavor::Ifupdown => &["ifupdown", "procps"],
            Flavor::NetworkManager => &["network-manager"],
            Flavor::Networkd => &[],
        }
    }

    /// `mmdebstrap --customize-hook` commands (`$1` is the root): enable the stack's units, and
    /// for netplan the image's own primary-NIC file.
    fn hooks(self) -> Vec<String> {
        let enable = |unit: &str| format!("chroot \"$1\" systemctl enable {unit}");
        match self {
            Flavor::Netplan => vec![
                enable("systemd-networkd"),
                format!(
                    "mkdir -p \"$1\"/etc/netplan && printf '{}' > \"$1\"/etc/netplan/50-primary.yaml && chmod 0600 \"$1\"/etc/netplan/50-primary.yaml",
                    NETPLAN_PRIMARY.replace('\n', "\\n")
                ),
            ],
            Flavor::Ifupdown => vec![enable("networking")],
            Flavor::NetworkManager => vec![enable("NetworkManager")],
            Flavor::Networkd => vec![enable("systemd-networkd")],
        }
    }

    /// Everything the root is made from, one item per line: its cache key.
    fn recipe(self) -> String {
        let mut s = format!("suite {SUITE}\nvariant minbase\n");
        for p in BASE.iter().chain(self.packages()) {
            s.push_str(&format!("package {p}\n"));
        }
        for h in self.hooks() {
            s.push_str(&format!("hook {h}\n"));
        }
        s
    }

    fn lock(self) -> &'static Mutex<()> {
        static LOCKS: [Mutex<()>; 4] = [
            Mutex::new(()),
            Mutex::new(()),
            Mutex::new(()),
            Mutex::new(()),
        ];
        &LOCKS[self as usize]
    }
}

/// FNV-1a, 64 bits: a cache key that is stable across Rust versions.
fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The cached root tarball of a flavor, built with mmdebstrap if it is not there yet.
pub fn cached(flavor: Flavor) -> PathBuf {
    let _guard = flavor.lock().lock().unwrap_or_else(|e| e.into_inner());
    let dir = super::target_dir().join("guest-roots");
    let recipe = flavor.recipe();
    let tar = dir.join(format!("{}-{:016x}.tar", flavor.name(), fnv1a(&recipe)));
    if tar.is_file() {
        return tar;
    }
    fs::create_dir_all(&dir).unwrap();
    static N: AtomicUsize = AtomicUsize::new(0);
    let tmp = dir.join(format!(
        "{}.tmp-{}-{}.tar",
        flavor.name(),
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    let include = BASE
        .iter()
        .chain(flavor.packages())
        .copied()
        .collect::<Vec<_>>()
        .join(",");
    let mut cmd = Command::new("mmdebstrap");
    cmd.args(["--quiet", "--variant=minbase", "--mode=root"])
        .arg(format!("--include={include}"));
    for h in flavor.hooks() {
        cmd.arg(format!("--customize-hook={h}"));
    }
    cmd.arg(SUITE).arg(&tmp);
    let started = std::time::Instant::now();
    let out = super::super::run(&mut cmd);
    if !out.status.success() {
        let _ = fs::remove_file(&tmp);
        panic!(
            "mmdebstrap could not build the {} guest root (it needs Debian's mirrors): {cmd:?}\n{}",
            flavor.name(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    fs::write(tmp.with_extension("recipe"), &recipe).unwrap();
    fs::rename(tmp.with_extension("recipe"), tar.with_extension("recipe")).unwrap();
    fs::rename(&tmp, &tar).unwrap();
    super::report(&format!(
        "GUEST root {}: built with mmdebstrap in {:.0} s ({})",
        flavor.name(),
        started.elapsed().as_secs_f64(),
        tar.display()
    ));
    tar
}

/// A per-test copy of a flavor's root with the enicfg under test installed as
/// `/usr/local/bin/enicfg`; deleted on drop (stop the guest first: [`super::boot::Guest`]
/// owns its root for that reason).
pub struct GuestRoot {
    /// The flavor it was made from.
    pub flavor: Flavor,
    dir: tempfile::TempDir,
}

impl GuestRoot {
    /// Unpacks the cached root of `flavor` and installs the enicfg binary.
    pub fn new(flavor: Flavor) -> GuestRoot {
        let tar = cached(flavor);
        let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
        fs::create_dir_all(tmp).unwrap();
        let dir = tempfile::Builder::new()
            .prefix(&format!("guest-{}-", flavor.name()))
            .tempdir_in(tmp)
            .unwrap();
        // The root directory of a machine is 0755 (tempfile makes 0700).
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
        super::super::run_ok(
            Command::new("tar")
                .arg("-C")
                .arg(dir.path())
                .args(["--numeric-owner", "-xpf"])
                .arg(&tar),
        );
        let bin = dir.path().join("usr/local/bin/enicfg");
        fs::create_dir_all(bin.parent().unwrap()).unwrap();
        fs::copy(super::enicfg_binary(), &bin).unwrap();
        fs::set_permissions(&bin, fs::Permissions::from_mode(0o755)).unwrap();
        GuestRoot { flavor, dir }
    }

    /// The root directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes a file into the guest (`guest_path` absolute inside it).
    pub fn put(&self, guest_path: &str, contents: &str, mode: u32) {
        let p = self.path().join(guest_path.trim_start_matches('/'));
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, contents).unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(mode)).unwrap();
    }

    /// Whether a path exists inside the guest's root (without following a final symlink).
    pub fn exists(&self, guest_path: &str) -> bool {
        fs::symlink_metadata(self.path().join(guest_path.trim_start_matches('/'))).is_ok()
    }
}
