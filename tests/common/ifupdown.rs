//! Applying ifupdown renderings for real (verifying.md §3.2, §6.2), shared by the ifupdown
//! tests and the conformance suite.
#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use enicfg::backend::Rendered;
use enicfg::model::Config;

use super::{Netns, run};

/// The main file of Debian's cloud images (≤ 11): `source-directory` (names without a dot).
pub const DEBIAN_CLOUD_MAIN: &str = "# This file describes the network interfaces available on your system\n\
source-directory /etc/network/interfaces.d\n\nauto lo\niface lo inet loopback\n";

/// Writes the rendered files into ROOT; the main file is the rendered one, else `main`.
/// Returns the path of a copy of the main file whose include paths point into ROOT.
pub fn write_root(root: &Path, rendered: &Rendered, main: Option<&str>) -> PathBuf {
    let main_path = root.join("etc/network/interfaces");
    fs::create_dir_all(root.join("etc/network/interfaces.d")).unwrap();
    if let Some(text) = main {
        fs::write(&main_path, text).unwrap();
    }
    for f in &rendered.files {
        let p = root.join(f.path.trim_start_matches('/'));
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, &f.contents).unwrap();
    }
    let text = fs::read_to_string(&main_path).unwrap_or_default();
    let rewritten = rewrite_includes(&text, root);
    let checked = root.join("interfaces.checked");
    fs::write(&checked, rewritten).unwrap();
    checked
}

/// verifying.md §3.2: include directives are absolute, so point them into ROOT.
pub fn rewrite_includes(text: &str, root: &Path) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            [kw @ ("source" | "source-directory"), path] => {
                let abs = if path.starts_with('/') {
                    path.to_string()
                } else {
                    format!("/etc/network/{path}")
                };
                out.push_str(&format!("{kw} {}{abs}\n", root.display()));
            }
            _ => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    out
}

/// Runs `ifup`/`ifdown` for one interface inside the namespace and fails on any error line.
pub fn ifupdown_in(ns: &Netns, cmd: &str, main: &Path, state: &Path, name: &str) -> String {
    let mut c = ns.exec(cmd);
    c.args(["-v", "--no-scripts", "-i"])
        .arg(main)
        .arg("--state-dir")
        .arg(state);
    if cmd == "ifdown" {
        c.arg("--force");
    }
    c.arg(name);
    let out = run(&mut c);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // ifupdown exits 0 after a failed `up` command (interfaces(5)); its message is the signal.
    // The one expected error: on ifdown, the first stanza of a family flushes the family, so a
    // later stanza's own `ip addr del` finds its address gone (see the backend's notes).
    let lines: Vec<&str> = text.lines().collect();
    let unexpected: Vec<&str> = lines
        .iter()
        .enumerate()
        .filter(|(i, l)| {
            let known = cmd == "ifdown"
                && i.checked_sub(1)
                    .is_some_and(|p| lines[p].contains(" addr del "))
                && matches!(
                    **l,
                    "Error: ipv4: Address not found." | "Error: ipv6: address not found."
                );
            (l.contains("Error") || l.contains("failed")) && !known
        })
        .map(|(_, l)| *l)
        .collect();
    assert!(
        out.status.success() && unexpected.is_empty(),
        "{cmd} {name} failed ({}): {unexpected:?}\n{text}",
        out.status
    );
    text
}

/// Applies a DHCP rendering with `ifup` against dnsmasq in a peer namespace (verifying.md
/// §6.5), calls `during` while the lease is up, then `ifdown`s; returns `during`'s result and the
/// state after `ifdown`. One shell, one private mount namespace: dhclient's leases, pid file
/// (/run) and the rendered enter and exit hooks stay private, and ifdown finds the pid file ifup's
/// dhclient wrote. `unshare -u` keeps dhclient-script's set_hostname away from the host.
pub fn dhcp_apply<T>(
    config: &Config,
    rendered: &Rendered,
    during: impl FnOnce(&Netns) -> T,
) -> (T, String) {
    dhcp_apply_with(config, rendered, true, during)
}

/// [`dhcp_apply`]; `classless: false` makes dnsmasq send no option 121.
pub fn dhcp_apply_with<T>(
    config: &Config,
    rendered: &Rendered,
    classless: bool,
    during: impl FnOnce(&Netns) -> T,
) -> (T, String) {
    let iface = &config.interfaces[0];
    let name = iface.name.as_str();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    let main = write_root(&root, rendered, Some(DEBIAN_CLOUD_MAIN));
    let hooks = root.join("etc/dhcp/dhclient-enter-hooks.d");
    fs::create_dir_all(&hooks).unwrap();
    // The exit hooks are ROOT's (enicfg's, when rendered) next to Debian's own
    // rfc3442-classless-routes, which installs option 121 routes unless they are taken from it.
    let exit_hooks = root.join("etc/dhcp/dhclient-exit-hooks.d");
    fs::create_dir_all(&exit_hooks).unwrap();
    let debian_hook = "/etc/dhcp/dhclient-exit-hooks.d/rfc3442-classless-routes";
    fs::copy(debian_hook, exit_hooks.join("rfc3442-classless-routes"))
        .unwrap_or_else(|e| panic!("{debian_hook} (isc-dhcp-client): {e}"));
    let state = tmp.path().join("state");
    fs::create_dir_all(&state).unwrap();

    let ns = Netns::new();
    ns.add_veth(name, iface.mac.map(|m| m.to_string()).as_deref());
    let dhcp6 = config
        .interfaces
        .iter()
        .any(|i| i.is_dhcp(enicfg::model::Family::Ipv6));
    let _dnsmasq = super::dnsmasq::Dnsmasq::start_with(&ns, name, dhcp6, classless);

    let ready = tmp.path().join("ready");
    let log = tmp.path().join("ifup.log");
    let go = tmp.path().join("go");
    let script = format!(
        "set -e; mount -t tmpfs tmpfs /var/lib/dhcp; mount -t tmpfs tmpfs /run; \
         mount --bind '{hooks}' /etc/dhcp/dhclient-enter-hooks.d; \
         mount --bind '{exit_hooks}' /etc/dhcp/dhclient-exit-hooks.d; \
         ifup -v --no-scripts -i '{main}' --state-dir '{state}' {name} >'{log}' 2>&1; touch '{ready}'; \
         while [ ! -e '{go}' ]; do sleep 0.1; done; \
         ifdown -v --force --no-scripts -i '{main}' --state-dir '{state}' {name}",
        hooks = hooks.display(),
        exit_hooks = exit_hooks.display(),
        main = main.display(),
        state = state.display(),
        ready = ready.display(),
        log = log.display(),
        go = go.display(),
    );
    let mut child = ns
        .exec("unshare")
        .args(["-u", "sh", "-c", &script])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while !ready.exists() {
        if let Some(status) = child.try_wait().unwrap() {
            let out = child.wait_with_output().unwrap();
            panic!(
                "ifup exited early ({status}):\n{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "timed out waiting for the DHCP lease"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // ifup exits 0 after a failed `up` command or a dhclient that got no lease (interfaces(5)),
    // so its exit status proves nothing: judge it by its messages and by the state it left.
    let text = fs::read_to_string(&log).unwrap_or_default();
    let errors: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("Error") || l.contains("failed"))
        .collect();
    assert!(errors.is_empty(), "ifup {name}: {errors:?}\n{text}");
    let families = [
        (enicfg::model::Family::Ipv4, format!("{name} inet ")),
        (
            enicfg::model::Family::Ipv6,
            format!("{name} inet6 2001:db8:2::"),
        ),
    ];
    let start = Instant::now();
    loop {
        let state = ns.state(&[name]);
        let missing: Vec<&String> = families
            .iter()
            .filter(|(f, _)| iface.is_dhcp(*f))
            .map(|(_, prefix)| prefix)
            .filter(|prefix| !state.lines().any(|l| l.starts_with(prefix.as_str())))
            .collect();
        if missing.is_empty() && state.contains(&format!("{name}: mtu ")) && state.contains(" up\n")
        {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(40),
            "ifup {name} exited 0 but left no lease ({missing:?}):\n{state}\n{text}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let result = during(&ns);
    fs::write(&go, "").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "ifup/ifdown failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let after = ns.state(&[name]);
    (result, after)
}
