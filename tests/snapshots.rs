//! One insta snapshot per scenario fixture x backend (x stack, where the stack changes the
//! output), holding every rendered file with its path and mode, and the apply commands; and one
//! snapshot per invalid fixture holding its error message. Snapshots live in the top-level
//! `snapshots/` folder. A snapshot only proves the output did not change: the real readers
//! judge the same output in `tests/ifcfg.rs`, `tests/ifupdown.rs`, `tests/netplan.rs`,
//! `tests/nm_keyfile.rs` and `tests/networkd.rs`.

mod common;

use common::snap::{STACKS, settings, show};
use enicfg::backend;
use enicfg::model::Config;
use enicfg::root::RootFacts;

#[test]
fn rendered_scenarios() {
    settings().bind(|| {
        insta::glob!("fixtures/eni/*", |path| {
            let config: Config = common::load_config(path);
            for (name, stack) in STACKS {
                let rendered = backend::render(&config, *stack, &RootFacts::default());
                insta::assert_snapshot!(*name, show(rendered));
            }
        });
    });
}

#[test]
fn invalid_inputs() {
    settings().bind(|| {
        insta::glob!("fixtures/invalid/*", |path| {
            let text = std::fs::read_to_string(path).unwrap();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let msg = match enicfg::source::file::parse(&text, &name) {
                Err(e) => format!("{e:#}"),
                Ok(spec) => match Config::from_spec(&spec) {
                    Err(e) => e.to_string(),
                    Ok(c) => match c.select(false) {
                        Err(e) => e.to_string(),
                        Ok(_) => panic!("{name} was accepted"),
                    },
                },
            };
            insta::assert_snapshot!("error", msg);
        });
    });
}

/// Orphaned snapshots fail: every `.snap` file must belong to a fixture x stack (or invalid
/// fixture, or the distro table), so a renamed fixture cannot leave a stale expectation behind.
#[test]
fn no_orphaned_snapshots() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let names = |sub: &str| -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir.join("tests/fixtures").join(sub))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    let mut expected = std::collections::BTreeSet::new();
    for f in names("eni") {
        for (stack, _) in STACKS {
            expected.insert(format!("{stack}@{f}.snap"));
        }
    }
    for f in names("invalid") {
        expected.insert(format!("error@{f}.snap"));
    }
    expected.insert("distro-table.snap".to_owned());
    // tests/hotplug.rs: the udev rule, units and settings.
    expected.insert("hotplug-files.snap".to_owned());
    // tests/metadata.rs: cloud metadata documents.
    for f in names("metadata") {
        expected.insert(format!("metadata-model@{f}.snap"));
        for (stack, _) in STACKS {
            expected.insert(format!("metadata-{stack}@{f}.snap"));
        }
    }
    for f in names("metadata-invalid") {
        expected.insert(format!("metadata-error@{f}.snap"));
    }
    let mut orphans = Vec::new();
    for e in std::fs::read_dir(dir.join("snapshots")).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        if name.ends_with(".snap") && !expected.contains(&name) {
            orphans.push(name);
        }
    }
    assert!(
        orphans.is_empty(),
        "orphaned snapshots (delete them): {orphans:?}"
    );
}
