//! The network stacks that run here (Debian 12), each bringing up a rendering for real inside a
//! throw-away namespace: ifupdown (`ifup`), netplan (`netplan generate`, applied by the real
//! systemd-networkd), systemd-networkd files and NetworkManager keyfiles. Shared by the
//! conformance suite and the AWS IPv6 test, so both apply a rendering the same way.
//!
//! [`bring_up`] returns a guard that keeps the stack running: checks (`enicfg verify`, the
//! kernel state, pings) run while it lives, and dropping it stops the daemon by PID. The
//! namespace, its links and any router or DHCP server are the caller's.
#![allow(dead_code)]

use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use enicfg::backend::Rendered;
use enicfg::distro::Stack;

use super::Netns;
use super::networkd::{Install, Networkd};
use super::nm::{NetworkManager, profiles_of};

/// The stacks that run here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Runner {
    Ifupdown,
    Netplan,
    Networkd,
    NetworkManager,
}

/// Every [`Runner`], in the order the suites run them.
pub const RUNNERS: [Runner; 4] = [
    Runner::Ifupdown,
    Runner::Netplan,
    Runner::Networkd,
    Runner::NetworkManager,
];

impl Runner {
    /// The stack enicfg renders for this runner.
    pub fn stack(self) -> Stack {
        match self {
            Runner::Ifupdown => Stack::Ifupdown { upstart: false },
            Runner::Netplan => Stack::Netplan,
            Runner::Networkd => Stack::Networkd,
            Runner::NetworkManager => Stack::NetworkManagerKeyfile,
        }
    }
}

/// The rendered files under `dir`, relative to it (modes kept), in a directory for [`Install`].
pub fn files_under(rendered: &Rendered, dir: &str) -> tempfile::TempDir {
    let files: Vec<(String, String, u32)> = rendered
        .files
        .iter()
        .filter_map(|f| {
            let rel = f.path.strip_prefix(dir)?.trim_start_matches('/').to_owned();
            Some((rel, f.contents.clone(), f.mode))
        })
        .collect();
    let refs: Vec<(&str, &str, u32)> = files
        .iter()
        .map(|(n, c, m)| (n.as_str(), c.as_str(), *m))
        .collect();
    super::networkd::dir_with(&refs)
}

/// `netplan generate` into a private root: the generated `.network` files (name, text), matched
/// on the current MAC (a veth has no permanent one, verifying.md §6.3). Fails on any warning.
pub fn netplan_generated(rendered: &Rendered) -> Vec<(String, String)> {
    let root = tempfile::tempdir().unwrap();
    for f in &rendered.files {
        let p = root.path().join(f.path.trim_start_matches('/'));
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, &f.contents).unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(f.mode)).unwrap();
    }
    let out = super::run(
        Command::new("netplan")
            .arg("generate")
            .arg("--root-dir")
            .arg(root.path()),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && !stderr.contains("WARNING") && !stderr.contains("Error"),
        "netplan generate: {stderr}"
    );
    let gen_dir = root.path().join("run/systemd/network");
    let mut files = Vec::new();
    for e in fs::read_dir(&gen_dir).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        if name.ends_with(".network") {
            let text = fs::read_to_string(gen_dir.join(&name))
                .unwrap()
                .replace("PermanentMACAddress=", "MACAddress=");
            files.push((name, text));
        }
    }
    assert!(!files.is_empty(), "netplan generated no .network file");
    files.sort();
    files
}

/// [`netplan_generated`] in a directory for [`Install`].
fn netplan_networks(rendered: &Rendered) -> tempfile::TempDir {
    let files = netplan_generated(rendered);
    let refs: Vec<(&str, &str, u32)> = files
        .iter()
        .map(|(n, t)| (n.as_str(), t.as_str(), 0o644))
        .collect();
    super::networkd::dir_with(&refs)
}

/// A stack applying a rendering; the daemon (if any) stops when this is dropped.
pub enum Up {
    /// `ifup` has run; the temporary root and state directory are kept until drop.
    Ifupdown(tempfile::TempDir),
    /// networkd, for the netplan and networkd runners, with the directories it was given.
    Networkd(Networkd, Vec<tempfile::TempDir>),
    /// NetworkManager and its private D-Bus.
    NetworkManager(NetworkManager),
}

impl Up {
    /// Polls `done` until it holds or `deadline` passes; whether it held. With
    /// NetworkManager, panics if the daemon exits meanwhile.
    pub fn wait_for(&mut self, deadline: Duration, done: impl Fn() -> bool) -> bool {
        if let Up::NetworkManager(nm) = self {
            return nm.wait_for(deadline, |_| done());
        }
        let start = Instant::now();
        loop {
            if done() {
                return true;
            }
            if start.elapsed() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// The running NetworkManager, for runners that have one.
    pub fn nm(&self) -> Option<&NetworkManager> {
        match self {
            Up::NetworkManager(nm) => Some(nm),
            _ => None,
        }
    }
}

/// Applies `rendered` to the interfaces `names` (already in `ns`) with the real stack, and
/// waits until the stack says it is done: `ifup` has returned, networkd has configured (or,
/// unless `dhcp`, settled with only dynamic configuration missing), NetworkManager has
/// connected every interface. Fails on any complaint of networkd's config parser or of
/// NetworkManager about keyfiles. `what` names the case in panics.
pub fn bring_up(
    runner: Runner,
    ns: &Netns,
    rendered: &Rendered,
    names: &[&str],
    dhcp: bool,
    deadline: Duration,
    what: &str,
) -> Up {
    match runner {
        Runner::Ifupdown => {
            let tmp = tempfile::tempdir().unwrap();
            let main = super::ifupdown::write_root(
                &tmp.path().join("root"),
                rendered,
                Some(super::ifupdown::DEBIAN_CLOUD_MAIN),
            );
            let state: PathBuf = tmp.path().join("state");
            fs::create_dir_all(&state).unwrap();
            for name in names {
                super::ifupdown::ifupdown_in(ns, "ifup", &main, &state, name);
            }
            Up::Ifupdown(tmp)
        }
        Runner::Netplan | Runner::Networkd => {
            // netplan's generated files go to /run; files rendered for /etc/systemd/network
            // (the networkd backend's, and the netplan backend's drop-ins) go there.
            let mut dirs = Vec::new();
            let mut installs = Vec::new();
            if rendered
                .files
                .iter()
                .any(|f| f.path.starts_with("/etc/systemd/network/"))
            {
                let etc = files_under(rendered, "/etc/systemd/network");
                installs.push(Install {
                    from: etc.path().to_path_buf(),
                    to: "/etc/systemd/network",
                });
                dirs.push(etc);
            }
            if runner == Runner::Netplan {
                let generated = netplan_networks(rendered);
                installs.push(Install {
                    from: generated.path().to_path_buf(),
                    to: "/run/systemd/network",
                });
                dirs.push(generated);
            }
            let logdir = tempfile::tempdir().unwrap();
            let mut networkd = Networkd::start(ns, &installs, logdir.path().join("networkd.log"));
            dirs.push(logdir);
            networkd.wait_settled(names, deadline, dhcp);
            let parser: Vec<String> = super::networkd::parser_lines(&networkd.log())
                .iter()
                .map(|s| s.to_string())
                .collect();
            assert!(
                parser.is_empty(),
                "{what}: networkd complained:\n{}",
                parser.join("\n")
            );
            Up::Networkd(networkd, dirs)
        }
        Runner::NetworkManager => {
            let mut nm = NetworkManager::start(ns, &profiles_of(rendered));
            nm.wait_connected(names, deadline);
            let problems = nm.keyfile_problems();
            assert!(
                problems.is_empty(),
                "{what}: NetworkManager complained:\n{}",
                problems.join("\n")
            );
            Up::NetworkManager(nm)
        }
    }
}
