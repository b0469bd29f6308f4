//! Cloud metadata documents through enicfg's metadata pipeline, as the CLI runs it, for tests:
//! a fake root whose sysfs names every NIC of a document, and the conversion to a validated
//! model. Shared by the metadata snapshots (`tests/metadata.rs`) and the conformance suite,
//! which applies the same conversions on real stacks.
#![allow(dead_code)]

use std::fs;
use std::path::Path;

use enicfg::model::Config;
use enicfg::source::metadata::{self, Cloud, Options};

/// Every MAC written in a text, lower-cased, in order of first appearance.
pub fn macs_in(text: &str) -> Vec<String> {
    let b = text.as_bytes();
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i + 17 <= b.len() {
        let w = &b[i..i + 17];
        let ok = (0..17).all(|k| {
            if k % 3 == 2 {
                w[k] == b':'
            } else {
                w[k].is_ascii_hexdigit()
            }
        });
        let bounded = i + 17 == b.len() || !b[i + 17].is_ascii_hexdigit() && b[i + 17] != b':';
        if ok && bounded && (i == 0 || !b[i - 1].is_ascii_hexdigit()) {
            let m = String::from_utf8_lossy(w).to_ascii_lowercase();
            if !out.contains(&m) {
                out.push(m);
            }
            i += 17;
        } else {
            i += 1;
        }
    }
    out
}

/// A fake root whose `sys/class/net` has `eth0..` for the given MACs (each with a `device`).
pub fn sysfs_root(macs: &[String]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (i, mac) in macs.iter().enumerate() {
        let d = dir.path().join(format!("sys/class/net/eth{i}"));
        fs::create_dir_all(d.join("device")).unwrap();
        fs::write(d.join("address"), format!("{mac}\n")).unwrap();
    }
    let lo = dir.path().join("sys/class/net/lo");
    fs::create_dir_all(&lo).unwrap();
    fs::write(lo.join("address"), "00:00:00:00:00:00\n").unwrap();
    dir
}

/// Document -> (cloud, notes, validated config), with every NIC present in a fake sysfs
/// ([`sysfs_root`] over the document's MACs: `eth0`, `eth1`, … in order of first appearance).
pub fn convert(path: &Path, opts: &Options) -> anyhow::Result<(Cloud, Vec<String>, Config)> {
    let text = fs::read_to_string(path)?;
    let root = sysfs_root(&macs_in(&text));
    convert_in(path, opts, root.path())
}

/// [`convert`] with the NICs named by `root`'s `sys/class/net`, as `enicfg render --input
/// DOCUMENT --root ROOT` names them.
pub fn convert_in(
    path: &Path,
    opts: &Options,
    root: &Path,
) -> anyhow::Result<(Cloud, Vec<String>, Config)> {
    let text = fs::read_to_string(path)?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
    let doc = metadata::parse_document(&text, &name.unwrap_or_default())?;
    let (cloud, converted) = metadata::load(&doc, None, opts, root)?;
    let config = Config::from_spec(&converted.spec)?.select(opts.include_primary)?;
    Ok((cloud, converted.notes, config))
}
