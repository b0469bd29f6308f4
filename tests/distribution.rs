//! What the packages ship besides the binary (issue 11 §2): shell completions that the real bash
//! loads and that complete, man pages that man-db and groff format without a warning and that
//! describe every flag, and hotplug units that run the binary where it is installed. The
//! packages themselves are built and inspected by `pkg/check.sh` (run by `.ci/run`).

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::Command;

use clap::CommandFactory as _;
use common::cli::{ENICFG, enicfg, ok, text};

/// The subcommands the help lists (the ones with a man page).
fn visible_subcommands() -> Vec<clap::Command> {
    enicfg::cli::Cli::command()
        .get_subcommands()
        .filter(|s| !s.is_hide_set())
        .cloned()
        .collect()
}

/// Runs a tool that must succeed and complain about nothing on stderr; its stdout. `what` says
/// which tool and which Debian package provides it.
fn clean_run(cmd: &mut Command, what: &str) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "{what} on {:?} failed or warned:\n{}{}",
        cmd.get_args().collect::<Vec<_>>(),
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

/// Runs `script` in a bash without any startup file, after sourcing the bash completion.
fn bash_with_completion(script: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let completion = dir.path().join("enicfg.bash");
    fs::write(&completion, ok(&["completions", "bash"])).unwrap();
    clean_run(
        Command::new("bash")
            .args(["--norc", "--noprofile", "-c"])
            .arg(format!("source {}\n{script}", completion.display())),
        "bash",
    )
}

/// What the completion function offers for the words typed so far (the last one being
/// completed), as bash's programmable completion calls it.
fn complete(words: &[&str]) -> Vec<String> {
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let cword = words.len() - 1;
    let prev = if cword > 0 { words[cword - 1] } else { "" };
    let out = bash_with_completion(&format!(
        "COMP_WORDS=({}); COMP_CWORD={cword}; COMP_LINE='{}'; COMP_POINT=${{#COMP_LINE}}\n\
         _enicfg enicfg '{}' '{prev}'\n\
         printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        quoted.join(" "),
        words.join(" "),
        words[cword],
    ));
    out.lines().map(str::to_owned).collect()
}

#[test]
fn bash_completion_parses_and_completes_subcommands_and_flags() {
    let dir = tempfile::tempdir().unwrap();
    let completion = dir.path().join("enicfg.bash");
    fs::write(&completion, ok(&["completions", "bash"])).unwrap();
    clean_run(Command::new("bash").arg("-n").arg(&completion), "bash -n");

    // Registered for the command name the packages install.
    let registered = bash_with_completion("complete -p enicfg");
    assert!(registered.contains("-F _enicfg"), "{registered}");

    let all = complete(&["enicfg", ""]);
    for sub in visible_subcommands() {
        assert!(
            all.iter().any(|w| w == sub.get_name()),
            "{} not offered: {all:?}",
            sub.get_name()
        );
    }
    assert_eq!(complete(&["enicfg", "wr"]), ["write"]);
    let flags = complete(&["enicfg", "write", "--r"]);
    assert!(flags.iter().any(|w| w == "--root"), "{flags:?}");
    assert!(flags.iter().any(|w| w == "--restart"), "{flags:?}");
    assert!(!flags.iter().any(|w| w == "--format"), "{flags:?}");
    // Value enums complete to their values.
    let clouds = complete(&["enicfg", "fetch", "--cloud", ""]);
    assert!(clouds.iter().any(|w| w == "aws"), "{clouds:?}");
}

#[test]
fn completions_for_every_shell_and_usage_error_for_another() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let script = ok(&["completions", shell]);
        assert!(
            script.contains("install-hotplug") && script.contains("enicfg"),
            "{shell}: {script}"
        );
    }
    let out = enicfg(&["completions", "tcsh"]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("tcsh") && err.contains("bash"), "{err}");
}

/// `enicfg man` writes the top page and one per listed subcommand, nothing else.
fn man_pages(dir: &Path) -> Vec<String> {
    let out = ok(&["man", "--out-dir", dir.to_str().unwrap()]);
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    let mut expected: Vec<String> = visible_subcommands()
        .iter()
        .map(|s| format!("enicfg-{}.1", s.get_name()))
        .chain(["enicfg.1".to_owned()])
        .collect();
    expected.sort();
    assert_eq!(names, expected, "{out}");
    assert_eq!(out.lines().count(), names.len(), "{out}");
    names
}

#[test]
fn man_pages_format_without_warnings() {
    let dir = tempfile::tempdir().unwrap();
    // Into a directory that does not exist yet.
    let dir = dir.path().join("man1");
    for name in man_pages(&dir) {
        let page = dir.join(&name);
        let man = clean_run(
            Command::new("man")
                .args(["--warnings", "-l"])
                .arg(&page)
                .env("MANWIDTH", "80")
                .env("LC_ALL", "C.UTF-8"),
            "man (Debian package man-db)",
        );
        assert!(man.contains("SYNOPSIS"), "{name}: {man}");
        clean_run(
            Command::new("groff")
                .args(["-man", "-Tutf8", "-ww", "-z"])
                .arg(&page),
            "groff (Debian package groff-base)",
        );
    }
}

#[test]
fn each_man_page_describes_its_flags() {
    let dir = tempfile::tempdir().unwrap();
    man_pages(dir.path());
    let top = fs::read_to_string(dir.path().join("enicfg.1")).unwrap();
    for sub in visible_subcommands() {
        let name = format!("enicfg-{}.1", sub.get_name());
        // The top page lists the subcommand pages.
        assert!(
            top.contains(&format!(
                "enicfg\\-{}(1)",
                sub.get_name().replace('-', "\\-")
            )),
            "enicfg.1 does not list {name}"
        );
        let page = fs::read_to_string(dir.path().join(&name)).unwrap();
        for arg in sub.get_arguments().filter(|a| !a.is_hide_set()) {
            let Some(long) = arg.get_long() else {
                continue;
            };
            // In the synopsis and as an entry of OPTIONS, in roff's escaped hyphens.
            let flag = format!("\\fB\\-\\-{}\\fR", long.replace('-', "\\-"));
            assert!(
                page.matches(&flag).count() >= 2,
                "{name} does not describe --{long}"
            );
            if let Some(help) = arg.get_help() {
                // Up to the first character roff escapes.
                let first_words: String = help
                    .to_string()
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == ' ')
                    .take(20)
                    .collect();
                assert!(
                    page.contains(&first_words),
                    "{name} lacks the help of --{long}: {first_words:?}"
                );
            }
        }
    }
}

/// A root whose os-release is Debian 12's, with enicfg installed at each of `binaries`.
fn root_with(binaries: &[&str]) -> tempfile::TempDir {
    let d = common::debian_root();
    for b in binaries {
        let p = d.path().join(b.trim_start_matches('/'));
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::copy(ENICFG, &p).unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
    }
    d
}

/// The ExecStart= of the boot unit `install-hotplug` would write.
fn boot_exec(root: &Path, extra: &[&str]) -> String {
    let mut args = vec![
        "install-hotplug",
        "--root",
        root.to_str().unwrap(),
        "--imds",
        "aws",
        "--dry-run",
    ];
    args.extend_from_slice(extra);
    let out = ok(&args);
    let execs: Vec<&str> = out
        .lines()
        .filter_map(|l| l.strip_prefix("+ExecStart="))
        .collect();
    assert_eq!(execs.len(), 3, "{out}");
    assert!(
        out.contains(&format!(
            "+ConditionFileIsExecutable={}",
            execs[0].split(' ').next().unwrap()
        )),
        "{out}"
    );
    execs
        .iter()
        .find(|e| e.ends_with(" hotplug boot"))
        .unwrap()
        .to_string()
}

/// The units run the binary installed under ROOT: the package's /usr/bin/enicfg, a hand
/// install's /usr/local/bin/enicfg (first, as in PATH), /usr/local/bin/enicfg when neither is
/// there yet, and --binary above all.
#[test]
fn install_hotplug_units_run_the_installed_binary() {
    let package = root_with(&["/usr/bin/enicfg"]);
    assert_eq!(
        boot_exec(package.path(), &[]),
        "/usr/bin/enicfg hotplug boot"
    );
    let both = root_with(&["/usr/bin/enicfg", "/usr/local/bin/enicfg"]);
    assert_eq!(
        boot_exec(both.path(), &[]),
        "/usr/local/bin/enicfg hotplug boot"
    );
    let none = root_with(&[]);
    assert_eq!(
        boot_exec(none.path(), &[]),
        "/usr/local/bin/enicfg hotplug boot"
    );
    assert_eq!(
        boot_exec(package.path(), &["--binary", "/opt/enicfg/enicfg"]),
        "/opt/enicfg/enicfg hotplug boot"
    );
}
