//! The library paths of every command, on the 1000-NIC × 10-address description of
//! `benches/gen-description.sh` (issue 11's targets: `render` ≤ 30 ms, `write` again ≤ 100 ms,
//! `verify` ≤ 0.5 s, all linear in NICs and addresses). `cargo bench --bench library`; the
//! whole-process numbers come from `benches/whole-process.sh`.
//!
//! Each group also runs 100 NICs, so a quadratic path shows as a 100× (not 10×) step.

use std::path::Path;
use std::process::Command;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};

use enicfg::backend::{self, BackendKind};
use enicfg::distro::Stack;
use enicfg::model::Config;
use enicfg::root::RootFacts;
use enicfg::source::file;
use enicfg::verify::{self, KernelState};
use enicfg::write;

const SIZES: [usize; 2] = [100, 1000];

fn generated(nics: usize, mode: &str) -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/gen-description.sh");
    let out = Command::new("sh")
        .arg(&script)
        .arg(nics.to_string())
        .arg(mode)
        .output()
        .expect("run benches/gen-description.sh");
    assert!(out.status.success(), "gen-description.sh failed");
    String::from_utf8(out.stdout).expect("UTF-8")
}

fn description(nics: usize) -> (String, Config) {
    let text = generated(nics, "yaml");
    let spec = file::parse(&text, "bench").expect("parse");
    let config = Config::from_spec(&spec).expect("valid");
    (text, config)
}

/// Every backend.
fn backends() -> &'static [BackendKind] {
    <BackendKind as clap::ValueEnum>::value_variants()
}

/// Parsing and validating the description: the first half of every command.
fn load(c: &mut Criterion) {
    let mut group = c.benchmark_group("load");
    for nics in SIZES {
        let text = generated(nics, "yaml");
        group.bench_with_input(BenchmarkId::from_parameter(nics), &text, |b, text| {
            b.iter(|| Config::from_spec(&file::parse(text, "bench").expect("parse")))
        });
    }
    group.finish();
}

/// `render`: the model to every file of a backend.
fn render(c: &mut Criterion) {
    let mut group = c.benchmark_group("render");
    let facts = RootFacts::default();
    for nics in SIZES {
        let (_, config) = description(nics);
        for &kind in backends() {
            group.bench_with_input(BenchmarkId::new(kind.name(), nics), &config, |b, config| {
                b.iter(|| {
                    backend::render(config, Stack::default_for(kind), &facts).expect("render")
                })
            });
        }
    }
    group.finish();
}

/// `write` a second time: read the root's facts, render, and compare every file with the root
/// (nothing changes). The netplan backend once parsed every existing file per interface.
fn write_again(c: &mut Criterion) {
    let mut group = c.benchmark_group("write-again");
    group.sample_size(20);
    for nics in SIZES {
        let (_, config) = description(nics);
        for &kind in backends() {
            let root = tempfile::tempdir().expect("tempdir");
            let stack = Stack::default_for(kind);
            let rendered = backend::render(&config, stack, &RootFacts::default()).expect("render");
            write::plan(root.path(), rendered.files)
                .expect("plan")
                .apply("bench")
                .expect("first write");
            group.bench_function(BenchmarkId::new(kind.name(), nics), |b| {
                b.iter(|| {
                    let facts = RootFacts::gather_for(root.path(), kind).expect("facts");
                    let rendered = backend::render(&config, stack, &facts).expect("render");
                    let plan = write::reconcile(root.path(), &rendered.files, &|_, _| false)
                        .expect("plan");
                    assert!(plan.is_noop(), "a second write changed something");
                })
            });
        }
    }
    group.finish();
}

/// `verify`'s comparison of the model with a kernel state (the state `ip -json` printed for
/// the description applied in a namespace is synthesised here: no root needed).
fn verify_compare(c: &mut Criterion) {
    let mut group = c.benchmark_group("verify-compare");
    for nics in SIZES {
        let (_, config) = description(nics);
        let state = state_of(&config);
        assert!(
            verify::compare(&config, &state).ok,
            "the synthesised state must match"
        );
        group.bench_with_input(BenchmarkId::from_parameter(nics), &state, |b, state| {
            b.iter(|| verify::compare(&config, state))
        });
    }
    group.finish();
}

/// The kernel state a correct apply leaves, in `ip -json`'s shape.
fn state_of(config: &Config) -> KernelState {
    use enicfg::model::Family;
    use serde_json::json;
    let mut state = KernelState::default();
    for iface in &config.interfaces {
        let name = iface.name.as_str();
        let mac = iface.mac.map(|m| m.to_string()).unwrap_or_default();
        state
            .links
            .push(json!({"ifname": name, "flags": ["UP", "LOWER_UP"],
            "mtu": iface.mtu.unwrap_or(1500), "address": mac}));
        let mut info = Vec::new();
        for family in [Family::Ipv4, Family::Ipv6] {
            // The kernel's order: the description's first address first.
            for (i, a) in iface.addresses(family).iter().enumerate() {
                info.push(
                    json!({"family": if family == Family::Ipv4 { "inet" } else { "inet6" },
                    "local": a.addr().to_string(), "prefixlen": a.prefix_len(),
                    "scope": "global", "secondary": family == Family::Ipv4 && i > 0}),
                );
            }
            for subnet in iface.subnets(family) {
                state
                    .routes
                    .push(json!({"dst": subnet.to_string(), "dev": name}));
            }
        }
        state.addrs.push(json!({"ifname": name, "addr_info": info}));
        for r in iface.routes() {
            let mut route = json!({"dst": if r.is_default() { "default".to_owned() } else { r.to.to_string() },
                "dev": name});
            if let Some(via) = r.via {
                route["gateway"] = json!(via.to_string());
            }
            if let Some(table) = r.table {
                route["table"] = json!(table.to_string());
            }
            if let Some(metric) = r.metric {
                route["metric"] = json!(metric);
            }
            state.routes.push(route);
        }
        for rule in iface.rules() {
            state.rules.push(
                json!({"priority": rule.priority, "src": rule.from.to_string(),
                "table": rule.table.to_string()}),
            );
        }
    }
    state
}

criterion_group!(benches, load, render, write_again, verify_compare);
criterion_main!(benches);
