//! Applying ifupdown renderings for real (verifying.md §3.2, §6.2), shared by the ifupdown
//! tests and the conformance suite.
#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};

use enicfg::backend::Rendered;

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
