//! No panics on any input: every fixture (our schema, invalid inputs, cloud metadata documents)
//! is mutated many times with a fixed-seed generator — bytes flipped, lines dropped or
//! duplicated, hostile strings spliced in (quotes, `$(…)`, newlines, NULs, huge numbers) — and
//! each mutant goes through parsing, validation and every backend. Each step may fail with an
//! error; none may panic. Deterministic, so a failure reproduces.
//!
//! Every metadata parser sees every mutant that is JSON (forced with each `--cloud`, with and
//! without `--include-primary`/`--primary`/`--dhcp`, so a mutant of one cloud's document also
//! exercises the other clouds' decoders), and the os-release parser sees mutants of every
//! `os-release` under `tests/fixtures/roots/`. The same inputs seed the `cargo fuzz` targets
//! under `fuzz/` for longer runs (README "Tests").

mod common;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

use common::snap::STACKS;
use enicfg::backend::render;
use enicfg::model::Config;
use enicfg::root::RootFacts;
use enicfg::source::metadata::{self, Cloud, Options};

/// A small xorshift generator: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const SPLICES: &[&str] = &[
    "\"",
    "'",
    "$(reboot)",
    "`id`",
    "\n",
    "\r\n",
    "\0",
    "\\",
    ";",
    "#",
    ":",
    "/",
    "..",
    "-",
    "[",
    "]",
    "{",
    "}",
    "*",
    " ",
    "\t",
    "99999999999999999999",
    "-1",
    "0",
    "4294967295",
    "256",
    "::",
    "/129",
    "/33",
    "0.0.0.0/0",
    "fe80::1",
    "255.255.255.255",
    "nan",
    "true",
    "null",
    "~",
    "é",
    "\u{202e}",
    "eth1",
    "eth0",
    "00:16:3e:12:34:56",
    "10.0.2.5",
    "[a,b]",
    "[\"x\"]",
    "\\u0000",
];

fn mutate(text: &str, rng: &mut Rng) -> String {
    let mut s: Vec<char> = text.chars().collect();
    for _ in 0..1 + rng.below(2) {
        // weights: flip 25%, truncate 5%, splice 25%, lines 15%, token 30%
        let op = match rng.below(100) {
            0..25 => 0,
            25..30 => 1,
            30..55 => 2,
            55..70 => 3,
            _ => 4,
        };
        match op {
            0 if !s.is_empty() => {
                let i = rng.below(s.len());
                s[i] = char::from(b' ' + rng.below(95) as u8);
            }
            1 if !s.is_empty() => {
                let i = rng.below(s.len());
                s.truncate(i);
            }
            2 => {
                let i = rng.below(s.len() + 1);
                let splice = SPLICES[rng.below(SPLICES.len())];
                s.splice(i..i, splice.chars());
            }
            3 => {
                let lines: Vec<String> = s
                    .iter()
                    .collect::<String>()
                    .lines()
                    .map(str::to_owned)
                    .collect();
                if !lines.is_empty() {
                    let i = rng.below(lines.len());
                    let mut out = lines.clone();
                    if rng.below(2) == 0 {
                        out.remove(i);
                    } else {
                        out.insert(i, lines[i].clone());
                    }
                    s = out.join("\n").chars().collect();
                }
            }
            _ => {
                // Replace a token that looks like a value with a hostile splice.
                let text: String = s.iter().collect();
                let tokens: Vec<(usize, &str)> = text
                    .match_indices(|c: char| c.is_ascii_alphanumeric())
                    .collect();
                if let Some(&(i, _)) = tokens.get(rng.below(tokens.len())) {
                    let splice = SPLICES[rng.below(SPLICES.len())];
                    let mut t = text.clone();
                    t.replace_range(i..i + 1, splice);
                    s = t.chars().collect();
                }
            }
        }
    }
    s.into_iter().collect()
}

/// A mutant through every metadata decoder, forced, with several option sets; errors are fine.
fn every_metadata_parser(doc: &serde_json::Value, root: &Path) {
    let ifnames = vec![
        "00:16:3e:0a:00:02=eth1".into(),
        "0e:1a:2b:3c:4d:02=eth1".into(),
        "52:54:00:12:34:57=eth1".into(),
        "fa:16:3e:0a:00:02=eth1".into(),
    ];
    let primary: enicfg::model::MacAddr = "fa:16:3e:0a:00:01".parse().unwrap();
    for cloud in [Cloud::Aliyun, Cloud::Tencent, Cloud::Aws, Cloud::Openstack] {
        let _ = metadata::detect(doc);
        for (include_primary, dhcp, prim) in [
            (false, false, None),
            (true, true, None),
            (true, false, Some(primary)),
        ] {
            let opts = Options {
                include_primary,
                dhcp,
                primary: prim,
                ifnames: ifnames.clone(),
                ..Options::default()
            };
            if let Ok(decoded) = metadata::decode(cloud, doc, opts.primary)
                && let Ok(converted) = metadata::to_spec(cloud, decoded, &opts, root)
                && let Ok(config) = Config::from_spec(&converted.spec)
                && let Ok(config) = config.select(include_primary)
            {
                for (_, stack) in STACKS {
                    let _ = render(&config, *stack, &RootFacts::default());
                }
            }
        }
    }
}

/// Everything a mutant goes through; errors are fine, panics are not. Returns whether the
/// mutant got as far as the backends.
fn exercise(text: &str, root: &Path) -> bool {
    if let Ok(doc) = serde_json::from_str::<serde_json::Value>(text) {
        every_metadata_parser(&doc, root);
    }
    let spec = if let Ok(doc) = metadata::parse_document(text, "mutant")
        && metadata::looks_like_metadata(&doc)
    {
        let opts = Options {
            include_primary: true,
            ifnames: vec![
                "00:16:3e:0a:00:02=eth1".into(),
                "0e:1a:2b:3c:4d:02=eth1".into(),
                "52:54:00:12:34:57=eth1".into(),
            ],
            ..Options::default()
        };
        match metadata::load(&doc, None, &opts, root) {
            Ok((_, converted)) => converted.spec,
            Err(_) => return false,
        }
    } else {
        match enicfg::source::file::parse(text, "mutant") {
            Ok(spec) => spec,
            Err(_) => return false,
        }
    };
    let Ok(config) = Config::from_spec(&spec) else {
        return false;
    };
    let Ok(config) = config.select(true) else {
        return false;
    };
    for (_, stack) in STACKS {
        let _ = render(&config, *stack, &RootFacts::default());
    }
    true
}

#[test]
fn mutated_inputs_never_panic() {
    let empty_root = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for dir in ["eni", "invalid", "metadata", "metadata-invalid"] {
        for e in std::fs::read_dir(common::fixture(dir)).unwrap() {
            files.push(e.unwrap().path());
        }
    }
    files.sort();
    let mut rng = Rng(0x5eed_e41c_f600_0001);
    let (mut runs, mut rendered) = (0, 0);
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        for n in 0..150 {
            let mutant = mutate(&text, &mut rng);
            let outcome = catch_unwind(AssertUnwindSafe(|| exercise(&mutant, empty_root.path())));
            rendered += usize::from(outcome.as_ref().is_ok_and(|r| *r));
            assert!(
                outcome.is_ok(),
                "panic on mutant {n} of {}:\n---\n{mutant}\n---",
                file.display()
            );
            runs += 1;
        }
    }
    assert!(runs > 5000, "only {runs} mutants");
    // The mutants must also reach the backends, not just fail to parse.
    assert!(
        rendered > 400,
        "only {rendered} of {runs} mutants reached the backends"
    );
}

/// The os-release parser and the distro decision never panic on mutated os-release files.
#[test]
fn mutated_os_release_never_panics() {
    let mut files = Vec::new();
    for e in std::fs::read_dir(common::fixture("roots")).unwrap() {
        let p = e.unwrap().path().join("etc/os-release");
        if p.is_file() {
            files.push(p);
        }
    }
    files.sort();
    assert!(files.len() > 20, "only {} os-release fixtures", files.len());
    let mut rng = Rng(0x05e1_ea5e_0000_0001);
    let mut decided = 0;
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        for n in 0..100 {
            let mutant = mutate(&text, &mut rng);
            let outcome = catch_unwind(AssertUnwindSafe(|| {
                let d = enicfg::distro::parse_os_release(&mutant);
                enicfg::distro::decide(&d).is_ok()
            }));
            assert!(
                outcome.is_ok(),
                "panic on mutant {n} of {}:\n---\n{mutant}\n---",
                file.display()
            );
            decided += usize::from(outcome.is_ok_and(|ok| ok));
        }
    }
    assert!(decided > 500, "only {decided} mutants reached a decision");
}
