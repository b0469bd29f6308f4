//! The real systemd-networkd in a throw-away namespace (verifying.md §6.3), shared by the
//! netplan and networkd tests.
//!
//! networkd runs under `unshare -m` inside a [`Netns`], with tmpfs over `/run/systemd`,
//! `/etc/systemd/network` and `/usr/lib/systemd/network`, so it sees only the files a test
//! installs and never the host's (nor touches the host's state); `/sys` is remounted read-only
//! so networkd does not wait for udev. It is killed by PID on drop, and the namespace guard
//! kills whatever is left.

use std::fs;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use enicfg::model::Config;

use super::Netns;

/// The daemon (Debian 12: systemd 252).
pub const NETWORKD: &str = "/lib/systemd/systemd-networkd";

/// networkd's configuration directories, in the order of precedence for equal names.
pub const CONFIG_DIRS: [&str; 3] = [
    "/etc/systemd/network",
    "/run/systemd/network",
    "/usr/lib/systemd/network",
];

/// Files to install before networkd starts: every entry of `from` (files and `.network.d`
/// directories, modes and owners kept) is copied into `to`, one of [`CONFIG_DIRS`].
#[derive(Debug, Clone)]
pub struct Install {
    /// A host directory holding the files.
    pub from: PathBuf,
    /// The networkd directory inside the private mount namespace.
    pub to: &'static str,
}

/// networkd running inside a namespace; killed by PID on drop.
pub struct Networkd {
    child: Child,
    log: PathBuf,
}

impl Networkd {
    /// Starts networkd in `ns` with the given files, logging at debug level to `log`.
    pub fn start(ns: &Netns, installs: &[Install], log: PathBuf) -> Networkd {
        let mut script = String::from(
            "set -e; mount -t tmpfs tmpfs /run/systemd; \
             mkdir -p /run/systemd/network /run/systemd/netif; \
             chown systemd-network: /run/systemd/netif; \
             mount -t tmpfs tmpfs /etc/systemd/network; \
             mount -t tmpfs tmpfs /usr/lib/systemd/network; ",
        );
        for i in installs {
            assert!(
                CONFIG_DIRS.contains(&i.to),
                "{} is not a networkd dir",
                i.to
            );
            script.push_str(&format!("cp -pR '{}'/* {}/; ", i.from.display(), i.to));
        }
        script.push_str(&format!(
            "mount -o remount,ro,bind /sys; \
             exec env SYSTEMD_LOG_LEVEL=debug SYSTEMD_LOG_TARGET=console {NETWORKD}"
        ));
        let out = fs::File::create(&log).unwrap();
        let err = out.try_clone().unwrap();
        // `ip netns exec`, `unshare` (without --fork) and `sh -c exec` all exec: the child's PID
        // is networkd's.
        let child = ns
            .exec("unshare")
            .args(["-m", "--propagation", "private", "sh", "-c", &script])
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap();
        Networkd { child, log }
    }

    /// The log so far.
    pub fn log(&self) -> String {
        let mut s = String::new();
        if let Ok(mut f) = fs::File::open(&self.log) {
            let _ = f.read_to_string(&mut s);
        }
        s
    }

    /// Waits until every interface is configured (or, unless `configured_only`, settled: only
    /// dynamic configuration missing, verifying.md §6.3); panics on failure or timeout.
    pub fn wait_settled(&mut self, ifnames: &[&str], deadline: Duration, configured_only: bool) {
        let start = Instant::now();
        loop {
            let log = self.log();
            let mut done = 0;
            for ifname in ifnames {
                let failed = format!("{ifname}: State changed: configuring -> failed");
                assert!(!log.contains(&failed), "{ifname} failed:\n{log}");
                let configured = format!("{ifname}: State changed: configuring -> configured");
                let settled = format!(
                    "{ifname}: link_check_ready(): dynamic addresses or routes are not configured."
                );
                if log.contains(&configured) || (!configured_only && log.contains(&settled)) {
                    done += 1;
                }
            }
            if done == ifnames.len() {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("networkd exited ({status}):\n{log}");
            }
            assert!(
                start.elapsed() < deadline,
                "networkd did not settle in {deadline:?}:\n{log}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Networkd {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .output();
        let _ = self.child.wait();
    }
}

/// Config-parser complaints, `/…/systemd/network/FILE:LINE: …`, and files networkd could not
/// load (`Failed to …` about a file in a config directory, e.g. one it may not read).
pub fn parser_lines(log: &str) -> Vec<&str> {
    log.lines()
        .filter(|l| {
            if l.contains("/systemd/network/") && l.contains("Failed to") {
                return true;
            }
            let Some(rest) = CONFIG_DIRS
                .iter()
                .find_map(|d| l.strip_prefix(d).and_then(|r| r.strip_prefix('/')))
            else {
                return false;
            };
            let Some((_, after)) = rest.split_once(':') else {
                return false;
            };
            let digits = after.chars().take_while(char::is_ascii_digit).count();
            digits > 0 && after[digits..].starts_with(": ")
        })
        .collect()
}

/// What one networkd run left behind.
pub struct Outcome {
    /// `common::kernel_state` of the interfaces, dumped before networkd was stopped.
    pub state: String,
    /// networkd's whole log.
    pub log: String,
}

impl Outcome {
    /// The config-parser complaints of the run.
    pub fn parser_lines(&self) -> Vec<&str> {
        parser_lines(&self.log)
    }
}

/// How long networkd may take to settle.
pub const DEADLINE: Duration = Duration::from_secs(30);

/// Runs networkd in `ns` with `installs` until every interface of `config` is settled (with
/// `configured_only`, until every one is `configured`: for DHCP, whose addresses come after the
/// static part has settled), and returns the kernel state dumped before networkd is stopped (it
/// drops DHCP addresses on exit) with the log. Does not judge the log: see [`run`].
pub fn run_raw(
    ns: &Netns,
    installs: &[Install],
    config: &Config,
    configured_only: bool,
) -> Outcome {
    let names: Vec<&str> = config.interfaces.iter().map(|i| i.name.as_str()).collect();
    let logdir = tempfile::tempdir().unwrap();
    let log = logdir.path().join("networkd.log");
    let mut networkd = Networkd::start(ns, installs, log.clone());
    networkd.wait_settled(&names, DEADLINE, configured_only);
    let state = super::kernel_state(ns, &names);
    drop(networkd);
    let log = fs::read_to_string(&log).unwrap();
    Outcome { state, log }
}

/// [`run_raw`], failing on any networkd config-parser complaint; returns the kernel state.
pub fn run(ns: &Netns, installs: &[Install], config: &Config, configured_only: bool) -> String {
    let outcome = run_raw(ns, installs, config, configured_only);
    let parser = outcome.parser_lines();
    assert!(
        parser.is_empty(),
        "networkd config-parser complaints:\n{}",
        parser.join("\n")
    );
    outcome.state
}

/// Adds one veth per interface (name and MAC from the model) to `ns`.
pub fn add_links(ns: &Netns, config: &Config) {
    for iface in &config.interfaces {
        let mac = iface.mac.map(|m| m.to_string());
        ns.add_veth(iface.name.as_str(), mac.as_deref());
    }
}

/// Writes `files` (name, contents, mode) into a fresh temporary directory for an [`Install`].
pub fn dir_with(files: &[(&str, &str, u32)]) -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    // tempdir() is 0700; networkd only reads the copies, but keep the tree readable anyway.
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
    for (name, contents, mode) in files {
        let path = dir.path().join(name);
        fs::create_dir_all(path.parent().unwrap_or(Path::new("/"))).unwrap();
        fs::write(&path, contents).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(*mode)).unwrap();
    }
    dir
}

/// [`run`] on links that carry router advertisements, as in an IPv6-enabled VPC: the peers of
/// `config`'s interfaces move to a router namespace ([`super::dnsmasq::RouterAdvertiser`], a
/// SLAAC prefix no fixture uses and a default router), and the state is dumped once an
/// advertisement has reached every link after networkd settled, so a rendering that leaves
/// router advertisements on shows an extra address or route. Fails on any parser complaint.
pub fn run_with_ras(ns: &Netns, installs: &[Install], config: &Config) -> String {
    let names: Vec<&str> = config.interfaces.iter().map(|i| i.name.as_str()).collect();
    let _ra = super::dnsmasq::RouterAdvertiser::start(ns, &names);
    let logdir = tempfile::tempdir().unwrap();
    let mut networkd = Networkd::start(ns, installs, logdir.path().join("networkd.log"));
    networkd.wait_settled(&names, DEADLINE, false);
    super::dnsmasq::wait_for_next_ra(ns, &names);
    let state = super::kernel_state(ns, &names);
    let log = networkd.log();
    drop(networkd);
    let parser = parser_lines(&log);
    assert!(
        parser.is_empty(),
        "networkd config-parser complaints:\n{}",
        parser.join("\n")
    );
    state
}
