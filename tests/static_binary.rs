//! The shipped artifact is a static binary that starts on every supported distro, CentOS 7's
//! glibc 2.17 included: built with the README's command for the musl target, it must have no
//! program interpreter (no dynamic loader, no libc), run inside an empty chroot that holds only
//! the binary and its input, and print exactly the bytes the normal build prints.

mod common;

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

const ENICFG: &str = env!("CARGO_BIN_EXE_enicfg");

/// Program header types of an ELF64 little-endian file, or an error saying why not.
fn program_header_types(bytes: &[u8]) -> Result<Vec<u32>, String> {
    let u16_at = |o: usize| {
        bytes
            .get(o..o + 2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]))
    };
    let u32_at = |o: usize| {
        bytes
            .get(o..o + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    let u64_at = |o: usize| {
        bytes
            .get(o..o + 8)
            .map(|b| u64::from_le_bytes(b.try_into().unwrap()))
    };
    if bytes.get(..4) != Some(b"\x7fELF".as_slice()) || bytes.get(4) != Some(&2) {
        return Err("not an ELF64 file".into());
    }
    let phoff = u64_at(0x20).ok_or("truncated header")? as usize;
    let phentsize = u16_at(0x36).ok_or("truncated header")? as usize;
    let phnum = u16_at(0x38).ok_or("truncated header")? as usize;
    (0..phnum)
        .map(|i| u32_at(phoff + i * phentsize).ok_or_else(|| format!("truncated header {i}")))
        .collect()
}

const PT_INTERP: u32 = 3;

#[test]
fn static_binary_has_no_program_interpreter() {
    let bin = common::static_bin::static_binary();
    let types = program_header_types(&fs::read(&bin).unwrap()).unwrap();
    assert!(!types.is_empty(), "{}: no program headers", bin.display());
    assert!(
        !types.contains(&PT_INTERP),
        "{} asks for a dynamic loader: it is not static",
        bin.display()
    );
    // The normal build does have one, so the check can fail.
    let normal = program_header_types(&fs::read(ENICFG).unwrap()).unwrap();
    assert!(
        normal.contains(&PT_INTERP),
        "{ENICFG} was expected to be dynamic"
    );
}

/// Runs `enicfg ARGS` with the working directory DIR, either as the normal build on the host or
/// as `/enicfg` inside `chroot DIR` (whose working directory is then DIR too).
fn run_in(dir: &Path, chrooted: bool, args: &[&str]) -> Output {
    let mut cmd = if chrooted {
        let mut c = Command::new("/usr/sbin/chroot");
        c.arg(dir).arg("/enicfg");
        c
    } else {
        let mut c = Command::new(ENICFG);
        c.current_dir(dir);
        c
    };
    cmd.args(args).env_clear();
    common::run(&mut cmd)
}

/// Every fixture x every backend, and detection and writing from an image root, inside an
/// empty chroot: same exit status, same stdout, same stderr as the normal build.
#[test]
fn static_binary_runs_without_libc_and_renders_the_same_bytes() {
    if !common::require_root("static_binary_runs_without_libc_and_renders_the_same_bytes") {
        return;
    }
    let bin = common::static_bin::static_binary();
    let jail = tempfile::tempdir().unwrap();
    let dir = jail.path();
    fs::copy(&bin, dir.join("enicfg")).unwrap();
    // An image root inside the jail, so that neither build reads the host's files.
    let img = dir.join("img");
    fs::create_dir_all(img.join("etc")).unwrap();
    fs::copy(
        common::fixture("roots/debian-12/etc/os-release"),
        img.join("etc/os-release"),
    )
    .unwrap();
    let mut inputs: Vec<String> = Vec::new();
    for f in common::scenario_fixtures() {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        fs::copy(&f, dir.join(&name)).unwrap();
        inputs.push(name);
    }
    let bad = "name-injection.yaml";
    fs::copy(common::fixture(&format!("invalid/{bad}")), dir.join(bad)).unwrap();
    inputs.push(bad.to_owned());
    // The jail holds nothing else: no libc, no loader, no /dev, no /proc.
    let mut entries: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    entries.sort();
    assert!(
        !entries
            .iter()
            .any(|e| e == "lib" || e == "lib64" || e == "usr")
    );

    let backends = [
        "ifcfg-rh",
        "ifcfg-suse",
        "ifupdown",
        "netplan",
        "nm-keyfile",
        "networkd",
    ];
    let mut compared = 0;
    for input in &inputs {
        for backend in backends {
            for format in ["text", "json"] {
                let args = [
                    "render",
                    "--input",
                    input,
                    "--backend",
                    backend,
                    "--root",
                    "img",
                    "--format",
                    format,
                ];
                let normal = run_in(dir, false, &args);
                let stat = run_in(dir, true, &args);
                assert_eq!(
                    (normal.status.code(), &normal.stdout, &normal.stderr),
                    (stat.status.code(), &stat.stdout, &stat.stderr),
                    "enicfg {args:?}: the static binary differs from the normal build"
                );
                compared += 1;
            }
        }
    }
    assert!(compared >= 17 * 12);

    // Detection from the image root, and a real write into it.
    let detect = ["detect", "--root", "img", "--format", "json"];
    let normal = run_in(dir, false, &detect);
    let stat = run_in(dir, true, &detect);
    assert!(
        stat.status.success(),
        "{}",
        String::from_utf8_lossy(&stat.stderr)
    );
    assert_eq!(normal.stdout, stat.stdout);
    let write = ["write", "--input", "full-secondary.yaml", "--root", "img"];
    let out = run_in(dir, true, &write);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let written = fs::read_to_string(img.join("etc/netplan/60-enicfg-eth1.yaml"))
        .or_else(|_| fs::read_to_string(img.join("etc/network/interfaces.d/enicfg-eth1")));
    let rendered = run_in(
        dir,
        false,
        &["render", "--input", "full-secondary.yaml", "--root", "img"],
    );
    assert!(rendered.status.success());
    let text = String::from_utf8_lossy(&rendered.stdout);
    let written = written.expect("the static binary wrote no configuration into the image root");
    assert!(
        text.contains(&written),
        "written file differs from the normal build's rendering"
    );
}
