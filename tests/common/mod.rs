//! Shared test helpers: fixture loading and throw-away network namespaces (`nm` runs the real
//! NetworkManager in one).
//!
//! Every namespace is created with a unique name (test process id + counter), and deleted by
//! `Drop` — after killing every process still inside it — even when the test fails. Nothing
//! here touches the host's interfaces, `/etc` or `/run`.
#![allow(dead_code)]

pub mod cli;
pub mod dnsmasq;
pub mod expected;
pub mod guest;
pub mod ifupdown;
pub mod imds;
pub mod metadata;
pub mod networkd;
pub mod nm;
pub mod oracle;
pub mod snap;
pub mod stacks;
pub mod static_bin;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

use enicfg::model::Config;

/// Absolute path of a fixture under `tests/fixtures/`.
pub fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
}

/// A throw-away root whose only file is Debian 12's `/etc/os-release`.
pub fn debian_root() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(d.path().join("etc")).unwrap();
    std::fs::copy(
        fixture("roots/debian-12/etc/os-release"),
        d.path().join("etc/os-release"),
    )
    .unwrap();
    d
}

/// Loads and validates a scenario fixture, primary interfaces included.
pub fn load_config(path: &Path) -> Config {
    let text = std::fs::read_to_string(path).unwrap();
    let spec = enicfg::source::file::parse(&text, &path.display().to_string()).unwrap();
    Config::from_spec(&spec)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .select(true)
        .unwrap()
}

/// All scenario fixtures (`tests/fixtures/eni/*`), sorted.
pub fn scenario_fixtures() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(fixture("eni"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

/// Runs a command, returning its output; panics only if it cannot be started.
pub fn run(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

/// Runs a command and panics with its stderr unless it succeeds; returns stdout.
pub fn run_ok(cmd: &mut Command) -> String {
    let out = run(cmd);
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// True when running as root (namespaces need it). Tests that need root fail loudly otherwise
/// unless ENICFG_ALLOW_NONROOT_SKIP=1 is set.
pub fn require_root(test: &str) -> bool {
    // SAFETY-free check: /proc/self/status Uid line.
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let uid0 = status
        .lines()
        .find(|l| l.starts_with("Uid:"))
        .is_some_and(|l| l.split_whitespace().nth(1) == Some("0"));
    if uid0 {
        return true;
    }
    if std::env::var("ENICFG_ALLOW_NONROOT_SKIP").as_deref() == Ok("1") {
        eprintln!("SKIPPED {test}: needs root for network namespaces");
        return false;
    }
    panic!("{test} needs root (network namespaces); set ENICFG_ALLOW_NONROOT_SKIP=1 to skip");
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A network namespace that is deleted on drop.
pub struct Netns {
    /// Its name, `enicfg-t-<pid>-<n>`.
    pub name: String,
}

impl Netns {
    /// Creates a fresh namespace with `lo` up.
    pub fn new() -> Netns {
        let name = format!(
            "enicfg-t-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        );
        run_ok(Command::new("ip").args(["netns", "add", &name]));
        let ns = Netns { name };
        ns.ip(&["link", "set", "lo", "up"]);
        ns
    }

    /// `ip -n NAME ARGS...`, which must succeed; returns stdout.
    pub fn ip(&self, args: &[&str]) -> String {
        run_ok(Command::new("ip").arg("-n").arg(&self.name).args(args))
    }

    /// `ip -n NAME ARGS...`, returning the raw output (for commands expected to fail).
    pub fn ip_raw(&self, args: &[&str]) -> Output {
        run(Command::new("ip").arg("-n").arg(&self.name).args(args))
    }

    /// A command run inside the namespace (`ip netns exec NAME PROGRAM`).
    pub fn exec(&self, program: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name, program]);
        c
    }

    /// Adds a veth pair `ifname` / `<ifname[..13]>-p`, both ends inside, the peer up, and sets
    /// `ifname`'s MAC when given. `ifname` stays down: the stack under test brings it up.
    pub fn add_veth(&self, ifname: &str, mac: Option<&str>) {
        let peer = peer_name(ifname);
        self.ip(&["link", "add", ifname, "type", "veth", "peer", "name", &peer]);
        self.ip(&["link", "set", &peer, "up"]);
        if let Some(mac) = mac {
            self.ip(&["link", "set", "dev", ifname, "address", mac]);
        }
    }

    /// The normalized kernel state (verifying.md §6.6) of the given interfaces.
    pub fn state(&self, ifnames: &[&str]) -> String {
        kernel_state(self, ifnames)
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let pids = run(Command::new("ip").args(["netns", "pids", &self.name]));
        for pid in String::from_utf8_lossy(&pids.stdout).split_whitespace() {
            let _ = Command::new("kill").args(["-9", pid]).output();
        }
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .output();
    }
}

/// The veth peer name for an interface (at most 15 bytes).
pub fn peer_name(ifname: &str) -> String {
    let base: String = ifname.chars().take(13).collect();
    format!("{base}-p")
}

/// Kernel state normalized as in verifying.md §6.6: addresses, link MTU/MAC, routes of every
/// table, IPv4 and IPv6 rules. Peers, `lo`, link-local, local/broadcast/multicast routes, the
/// default rules and renderer noise (proto, scope, src, pref, expires, default metrics) are dropped.
pub fn kernel_state(ns: &Netns, ifnames: &[&str]) -> String {
    let mut out = String::new();
    out.push_str("== addr ==\n");
    let mut addrs = Vec::new();
    for line in ns.ip(&["-o", "addr", "show"]).lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 4 || !ifnames.contains(&f[1]) {
            continue;
        }
        if f[2] == "inet6" && f[3].starts_with("fe80:") {
            continue;
        }
        addrs.push(format!("{} {} {}", f[1], f[2], f[3]));
    }
    // keep kernel order per interface: it shows which address is primary
    out.push_str(&addrs.join("\n"));
    out.push_str("\n== link ==\n");
    for ifname in ifnames {
        let l = ns.ip(&["-o", "link", "show", "dev", ifname]);
        let f: Vec<&str> = l.split_whitespace().collect();
        let mtu = f
            .iter()
            .position(|w| *w == "mtu")
            .map(|i| f[i + 1])
            .unwrap_or("?");
        let mac = f
            .iter()
            .position(|w| *w == "link/ether")
            .map(|i| f[i + 1])
            .unwrap_or("?");
        let up = if l.contains(",UP") || l.contains("<UP") {
            "up"
        } else {
            "down"
        };
        out.push_str(&format!("{ifname}: mtu {mtu} ether {mac} {up}\n"));
    }
    out.push_str("== route (all tables) ==\n");
    let mut routes = Vec::new();
    for fam in ["-4", "-6"] {
        for line in ns.ip(&[fam, "route", "show", "table", "all"]).lines() {
            if let Some(r) = normalize_route(line, ifnames) {
                routes.push(r);
            }
        }
    }
    routes.sort();
    out.push_str(&routes.join("\n"));
    for fam in ["-4", "-6"] {
        out.push_str(&format!("\n== rule{} ==\n", &fam[1..]));
        let mut rules: Vec<String> = ns
            .ip(&[fam, "rule", "show"])
            .lines()
            .filter(|l| !matches!(l.split(':').next(), Some("0" | "32766" | "32767")))
            .map(normalize_rule)
            .collect();
        rules.sort();
        out.push_str(&rules.join("\n"));
    }
    out.push('\n');
    out
}

/// A rule with whitespace collapsed and `proto X` dropped (networkd marks its rules
/// `proto static`; the protocol is renderer noise like a route's).
fn normalize_rule(line: &str) -> String {
    let f: Vec<&str> = line.split_whitespace().collect();
    let mut kept = Vec::new();
    let mut i = 0;
    while i < f.len() {
        if f[i] == "proto" {
            i += 2;
        } else {
            kept.push(f[i]);
            i += 1;
        }
    }
    kept.join(" ")
}

fn normalize_route(line: &str, ifnames: &[&str]) -> Option<String> {
    let f: Vec<&str> = line.split_whitespace().collect();
    let first = *f.first()?;
    if matches!(
        first,
        "local" | "broadcast" | "multicast" | "anycast" | "unreachable"
    ) {
        return None;
    }
    let dev = f.iter().position(|w| *w == "dev").map(|i| f[i + 1])?;
    if !ifnames.contains(&dev) {
        return None;
    }
    if first.starts_with("fe80:") || first.starts_with("ff00:") || first == "169.254.0.0/16" {
        return None;
    }
    let mut kept = Vec::new();
    let mut i = 0;
    while i < f.len() {
        match f[i] {
            // `expires N` is the remaining lifetime of a route from a router advertisement
            // (the kernel's own RA handling); NetworkManager and networkd add the same route
            // without one.
            "proto" | "scope" | "src" | "pref" | "expires" => i += 2,
            "onlink" | "linkdown" => i += 1,
            "metric" => {
                let m = f.get(i + 1).copied().unwrap_or("");
                if !matches!(m, "0" | "100" | "256" | "1024" | "1003") {
                    kept.push(format!("metric {m}"));
                }
                i += 2;
            }
            "table" => {
                let t = f.get(i + 1).copied().unwrap_or("");
                if t != "main" {
                    kept.push(format!("table {t}"));
                }
                i += 2;
            }
            w => {
                kept.push(w.to_owned());
                i += 1;
            }
        }
    }
    // put table last for stable comparison
    let (tables, mut rest): (Vec<String>, Vec<String>) =
        kept.into_iter().partition(|w| w.starts_with("table "));
    rest.extend(tables);
    Some(rest.join(" "))
}
