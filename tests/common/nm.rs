//! The real NetworkManager, run inside a throw-away namespace (verifying.md §6.4), for any test
//! that wants NetworkManager to judge keyfiles.
//!
//! NetworkManager runs under `ip netns exec NS unshare -m -u --propagation private`, so its
//! mounts and hostname changes stay private: an overlay over `/etc` (upper and work directories
//! in a temporary directory), tmpfs over `/run` (its D-Bus socket and state), over
//! `/var/lib/NetworkManager` and over `system-connections` and `conf.d`, `/sys` read-only (NM
//! then manages the veths without udev), a private `dbus-daemon --system`, and a
//! `NetworkManager.conf` with only the keyfile plugin, no automatic DHCP profiles and the veth
//! peers (`*-p`) unmanaged. nmcli reaches it through `nsenter` into the same namespaces. Both
//! daemons are killed by PID on drop (and the [`Netns`] guard kills whatever is left).
#![allow(dead_code)]

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use enicfg::backend::Rendered;
use enicfg::backend::nm_keyfile;

use super::{Netns, run};

/// The private `NetworkManager.conf` (verifying.md §6.4). `hostname-mode=none` and `dns=none`
/// keep NM from touching the hostname and resolv.conf even inside its private namespaces.
const NM_CONF: &str = "[main]\nplugins=keyfile\nno-auto-default=*\nhostname-mode=none\ndns=none\n\
                       \n[keyfile]\nunmanaged-devices=interface-name:*-p\n\n[logging]\nlevel=DEBUG\n";

/// One keyfile to install: file name inside `system-connections`, contents, mode.
#[derive(Debug, Clone)]
pub struct Profile {
    /// File name, e.g. `enicfg-eth1.nmconnection`.
    pub file_name: String,
    /// Contents.
    pub contents: String,
    /// Mode it is installed with (NM ignores anything with `0077` bits).
    pub mode: u32,
}

/// The keyfiles of a rendering, with the modes the backend chose.
pub fn profiles_of(rendered: &Rendered) -> Vec<Profile> {
    rendered
        .files
        .iter()
        .map(|f| {
            let (dir, name) = f.path.rsplit_once('/').unwrap();
            assert_eq!(
                dir,
                nm_keyfile::DIR,
                "{} is not a system connection",
                f.path
            );
            Profile {
                file_name: name.to_owned(),
                contents: f.contents.clone(),
                mode: f.mode,
            }
        })
        .collect()
}

/// A running NetworkManager (and its private D-Bus) inside a namespace.
pub struct NetworkManager {
    child: Child,
    dir: tempfile::TempDir,
    log: PathBuf,
}

impl NetworkManager {
    /// Starts NetworkManager in `ns` with exactly these profiles in `system-connections`.
    pub fn start(ns: &Netns, profiles: &[Profile]) -> NetworkManager {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        for sub in ["upper", "work", "profiles"] {
            fs::create_dir(d.join(sub)).unwrap();
        }
        fs::write(d.join("NetworkManager.conf"), NM_CONF).unwrap();
        for p in profiles {
            let path = d.join("profiles").join(&p.file_name);
            fs::write(&path, &p.contents).unwrap();
            fs::set_permissions(&path, fs::Permissions::from_mode(p.mode)).unwrap();
        }
        let script = format!(
            "set -e\n\
             mount -t overlay overlay -o lowerdir=/etc,upperdir={d}/upper,workdir={d}/work /etc\n\
             mount -t tmpfs tmpfs /run\n\
             mkdir -p /run/dbus /run/NetworkManager\n\
             for m in /var/lib/NetworkManager /etc/NetworkManager/system-connections /etc/NetworkManager/conf.d; do\n\
               mkdir -p $m; mount -t tmpfs tmpfs $m\n\
             done\n\
             cp {d}/NetworkManager.conf /etc/NetworkManager/NetworkManager.conf\n\
             cp -a {d}/profiles/. /etc/NetworkManager/system-connections/\n\
             mount -o remount,ro,bind /sys\n\
             dbus-daemon --system --fork --print-pid=3 3>{d}/dbus.pid\n\
             exec NetworkManager --debug\n",
            d = d.display()
        );
        let log = d.join("nm.log");
        let out = fs::File::create(&log).unwrap();
        let err = out.try_clone().unwrap();
        // `ip netns exec`, `unshare` (without --fork) and `sh -c exec` all exec: the child's PID
        // is NetworkManager's, and `nsenter -t PID` reaches its namespaces.
        let child = ns
            .exec("unshare")
            .args(["-m", "-u", "--propagation", "private", "sh", "-c", &script])
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap();
        NetworkManager { child, dir, log }
    }

    /// NetworkManager's log so far.
    pub fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// `nmcli ARGS...` inside NetworkManager's namespaces.
    pub fn nmcli(&self, args: &[&str]) -> Output {
        run(Command::new("nsenter")
            .arg("-t")
            .arg(self.child.id().to_string())
            .args(["-m", "-n", "-u", "nmcli"])
            .args(args))
    }

    /// `nmcli -t -f DEVICE,STATE device` as (device, state) pairs; empty while NM starts.
    pub fn devices(&self) -> Vec<(String, String)> {
        let out = self.nmcli(&["-t", "-f", "DEVICE,STATE", "device"]);
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.split_once(':'))
            .map(|(d, s)| (d.to_owned(), s.to_owned()))
            .collect()
    }

    /// Polls until `done` holds (true) or the deadline passes (false); panics when
    /// NetworkManager exits.
    pub fn wait_for(&mut self, deadline: Duration, done: impl Fn(&Self) -> bool) -> bool {
        let start = Instant::now();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("NetworkManager exited ({status}):\n{}", self.log());
            }
            if done(self) {
                return true;
            }
            if start.elapsed() > deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits until every interface is `connected`; panics with the log on timeout.
    pub fn wait_connected(&mut self, ifnames: &[&str], deadline: Duration) {
        let ok = self.wait_for(deadline, |nm| {
            let devices = nm.devices();
            ifnames
                .iter()
                .all(|i| devices.iter().any(|(d, s)| d == i && s == "connected"))
        });
        assert!(
            ok,
            "NetworkManager did not connect {ifnames:?} within {deadline:?}: {:?}\n{}",
            self.devices(),
            self.log()
        );
    }

    /// NetworkManager's complaints about keyfiles and settings: every `<warn>` or `<error>` line
    /// that names the keyfile plugin or a setting.
    pub fn keyfile_problems(&self) -> Vec<String> {
        self.log()
            .lines()
            .filter(|l| l.contains("<warn>") || l.contains("<error>"))
            .filter(|l| l.contains("keyfile") || l.contains("setting"))
            .map(str::to_owned)
            .collect()
    }

    /// NM's parsed view of a profile (verifying.md §3.4): the fields `nmcli -t` prints, as
    /// `key:value` lines; panics when NM does not know the profile.
    pub fn show(&self, id: &str) -> String {
        let out = self.nmcli(&[
            "-t",
            "-f",
            "connection.id,connection.uuid,connection.interface-name,connection.autoconnect,\
             connection.autoconnect-priority,802-3-ethernet.mac-address,802-3-ethernet.mtu,\
             ipv4,ipv6",
            "connection",
            "show",
            id,
        ]);
        assert!(
            out.status.success(),
            "nmcli connection show {id} failed: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            self.log()
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The `[user]` key-value pairs of a profile, read over D-Bus (`GetSettings`): nmcli 1.42
    /// does not print the `user` setting.
    pub fn user_data(&self, id: &str) -> Vec<(String, String)> {
        let out = self.nmcli(&["-g", "GENERAL.CON-PATH", "connection", "show", id]);
        assert!(out.status.success(), "no profile {id}:\n{}", self.log());
        let path = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        let out = run(Command::new("nsenter")
            .arg("-t")
            .arg(self.child.id().to_string())
            .args(["-m", "-n", "-u", "dbus-send", "--system", "--print-reply"])
            .arg("--dest=org.freedesktop.NetworkManager")
            .arg(&path)
            .arg("org.freedesktop.NetworkManager.Settings.Connection.GetSettings"));
        assert!(out.status.success(), "GetSettings {path} failed");
        // The reply prints the `user` setting's `data` as `string "KEY"` / `string "VALUE"`
        // lines; keep the string lines after `string "data"` inside the `user` setting.
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let strings: Vec<String> = text
            .lines()
            .filter_map(|l| l.trim().strip_prefix("string \""))
            .filter_map(|l| l.strip_suffix('"'))
            .map(str::to_owned)
            .collect();
        let Some(start) = strings
            .windows(2)
            .position(|w| w[0] == "user" && w[1] == "data")
        else {
            return Vec::new();
        };
        strings[start + 2..]
            .chunks(2)
            .take_while(|kv| kv.len() == 2 && kv[0].contains('.'))
            .map(|kv| (kv[0].clone(), kv[1].clone()))
            .collect()
    }

    /// The directory holding NM's private files (log, overlay).
    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }
}

impl Drop for NetworkManager {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .output();
        let _ = self.child.wait();
        if let Ok(pid) = fs::read_to_string(self.dir.path().join("dbus.pid")) {
            let _ = Command::new("kill").arg(pid.trim()).output();
        }
    }
}

/// [`super::kernel_state`] with two more pieces of renderer noise removed (verifying.md §6.6).
///
/// NOTE: NetworkManager adds addresses with `noprefixroute` and then one prefix route per IPv4
/// address (`10.0.2.0/24 ... src 10.0.2.5`, `... src 10.0.2.6`), where the kernel adds one for
/// the primary address only. The normalizer drops `src`, so those lines become identical: they
/// are the same connected route, not a difference between stacks, and are deduplicated.
/// NetworkManager also marks its rules `proto static` (a keyfile cannot choose the protocol);
/// `proto` is dropped from rules as it is from routes.
pub fn kernel_state(ns: &Netns, ifnames: &[&str]) -> String {
    let state = super::kernel_state(ns, ifnames);
    let mut out = String::new();
    let mut section = "";
    let mut last = String::new();
    for line in state.lines() {
        let line = if line.starts_with("== ") {
            section = if line.starts_with("== route") {
                "route"
            } else if line.starts_with("== rule") {
                "rule"
            } else {
                ""
            };
            line.to_owned()
        } else if section == "rule" {
            drop_proto(line)
        } else {
            line.to_owned()
        };
        if section == "route" && line == last {
            continue;
        }
        out.push_str(&line);
        out.push('\n');
        last = line;
    }
    out
}

/// A rule line without its `proto X` pair.
fn drop_proto(rule: &str) -> String {
    let words: Vec<&str> = rule.split(' ').collect();
    let mut kept = Vec::new();
    let mut i = 0;
    while i < words.len() {
        if words[i] == "proto" {
            i += 2;
        } else {
            kept.push(words[i]);
            i += 1;
        }
    }
    kept.join(" ")
}
