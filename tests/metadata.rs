//! Cloud metadata documents (saved samples and variants) -> model -> every backend, plus the
//! mapping rules: primary NIC, sysfs naming and `--ifname`, policy tables, `--dhcp`,
//! `--no-policy-routing`, and clear errors (naming MAC, key and value) for malformed documents.
//!
//! Snapshots: `metadata-model@<fixture>` (cloud, notes and the validated model as YAML),
//! `metadata-<stack>@<fixture>` (every rendered file), `metadata-error@<fixture>`.

mod common;

use common::snap::{STACKS, settings, show};

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use enicfg::backend;
use enicfg::model::Config;
use enicfg::root::RootFacts;
use enicfg::source::metadata::{self, Cloud, Options};

const ENICFG: &str = env!("CARGO_BIN_EXE_enicfg");

/// Every MAC written in a text, lower-cased, in order of first appearance.
fn macs_in(text: &str) -> Vec<String> {
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
fn sysfs_root(macs: &[String]) -> tempfile::TempDir {
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

/// Document -> (cloud, notes, validated config), with every NIC present in a fake sysfs.
fn convert(path: &Path, opts: &Options) -> anyhow::Result<(Cloud, Vec<String>, Config)> {
    let text = fs::read_to_string(path)?;
    let root = sysfs_root(&macs_in(&text));
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
    let doc = metadata::parse_document(&text, &name.unwrap_or_default())?;
    let (cloud, converted) = metadata::load(&doc, None, opts, root.path())?;
    let config = Config::from_spec(&converted.spec)?.select(opts.include_primary)?;
    Ok((cloud, converted.notes, config))
}

fn all_nics() -> Options {
    Options {
        include_primary: true,
        ..Options::default()
    }
}

#[test]
fn documents_to_model_and_every_backend() {
    settings().bind(|| {
        insta::glob!("fixtures/metadata/*", |path| {
            // A document whose primary NIC's data is inconsistent renders its secondary NICs,
            // and refuses --include-primary: the snapshot holds that error, then the rest.
            let mut model = String::new();
            let (cloud, notes, config) = match convert(path, &all_nics()) {
                Ok(c) => c,
                Err(e) => {
                    model.push_str(&format!("with --include-primary: error: {e:#}\n"));
                    convert(path, &Options::default())
                        .unwrap_or_else(|e| panic!("{}: {e:#}", path.display()))
                }
            };
            model.push_str(&format!("cloud: {cloud}\nnotes:\n"));
            for n in &notes {
                model.push_str(&format!("  - {n}\n"));
            }
            model.push_str("---\n");
            model.push_str(&serde_yaml::to_string(&config).unwrap());
            insta::assert_snapshot!("metadata-model", model);
            // Rendered as the guest would run it: secondary NICs only.
            let Ok(config) = config.select(false) else {
                return;
            };
            for (name, stack) in STACKS {
                let rendered = backend::render(&config, *stack, &RootFacts::default());
                insta::assert_snapshot!(format!("metadata-{name}"), show(rendered));
            }
        });
    });
}

#[test]
fn malformed_documents_fail_clearly() {
    settings().bind(|| {
        insta::glob!("fixtures/metadata-invalid/*", |path| {
            let msg = match convert(path, &Options::default()) {
                Err(e) => format!("{e:#}"),
                Ok(_) => panic!("{} was accepted", path.display()),
            };
            insta::assert_snapshot!("metadata-error", msg);
        });
    });
}

fn fixture(name: &str) -> std::path::PathBuf {
    common::fixture(&format!("metadata/{name}"))
}

fn secondary(name: &str) -> enicfg::model::Interface {
    let (_, _, config) = convert(&fixture(name), &Options::default()).unwrap();
    assert_eq!(config.interfaces.len(), 1, "{name}");
    config.interfaces[0].clone()
}

fn addrs(i: &enicfg::model::Interface) -> Vec<String> {
    i.ipv4
        .iter()
        .flat_map(|c| c.addresses().iter().map(ToString::to_string))
        .chain(
            i.ipv6
                .iter()
                .flat_map(|c| c.addresses().iter().map(ToString::to_string)),
        )
        .collect()
}

/// The table "What a correct parser should extract" of metadata.md §6, checked directly.
#[test]
fn samples_extract_what_the_reference_says() {
    let aws = secondary("aws.json");
    assert_eq!(aws.mac.unwrap().to_string(), "0e:1a:2b:3c:4d:02");
    assert_eq!(
        addrs(&aws),
        [
            "10.0.2.20/24",
            "10.0.2.21/24",
            "10.0.2.22/24",
            "2001:db8:1200:2::20/64"
        ]
    );
    assert_eq!(
        aws.ipv4.as_ref().unwrap().gateway().unwrap().to_string(),
        "10.0.2.1",
        "AWS: subnet base + 1"
    );
    assert_eq!(aws.ipv6.as_ref().unwrap().gateway(), None);
    assert_eq!(aws.policy_routing.unwrap().table, 10001);
    assert_eq!(aws.policy_routing.unwrap().priority, 10001);
    assert!(!aws.default_route);

    let ali = secondary("aliyun.json");
    assert_eq!(
        addrs(&ali),
        [
            "172.16.2.20/24",
            "172.16.2.21/24",
            "172.16.2.22/24",
            "2001:db8:0:2::20/64"
        ]
    );
    assert_eq!(
        ali.gateway(enicfg::model::Family::Ipv4)
            .unwrap()
            .to_string(),
        "172.16.2.253"
    );
    assert_eq!(
        ali.gateway(enicfg::model::Family::Ipv6)
            .unwrap()
            .to_string(),
        "2001:db8:0:2::1"
    );

    let ten = secondary("tencent.json");
    assert_eq!(ten.mac.unwrap().to_string(), "52:54:00:ab:cd:02");
    assert_eq!(
        addrs(&ten),
        ["10.0.2.20/24", "10.0.2.21/24", "10.0.2.22/24"]
    );
    assert_eq!(
        ten.gateway(enicfg::model::Family::Ipv4)
            .unwrap()
            .to_string(),
        "10.0.2.1"
    );
    assert!(ten.ipv6.is_none());

    let hw = secondary("huawei-network_data.json");
    assert_eq!(hw.mac.unwrap().to_string(), "fa:16:3e:0a:00:02");
    assert!(hw.ipv4.as_ref().unwrap().is_dhcp());
    assert!(
        hw.policy_routing.is_none(),
        "a DHCP gateway is not known in advance"
    );

    let os = secondary("openstack-network_data.json");
    assert_eq!(
        addrs(&os),
        [
            "10.0.2.20/24",
            "10.0.2.21/24",
            "10.0.2.22/24",
            "2001:db8:0:2::20/64"
        ]
    );
    assert_eq!(
        os.gateway(enicfg::model::Family::Ipv4).unwrap().to_string(),
        "10.0.2.1"
    );
    assert!(
        os.routes.is_empty(),
        "the three default routes merge into one gateway"
    );
    assert_eq!(os.mtu, Some(1500));

    // Multi-card AWS: table = 10000 + 100*card + device.
    let (_, _, multi) = convert(&fixture("aws-multi-card.json"), &Options::default()).unwrap();
    let tables: Vec<(String, u32)> = multi
        .interfaces
        .iter()
        .map(|i| (i.mac.unwrap().to_string(), i.policy_routing.unwrap().table))
        .collect();
    assert_eq!(
        tables,
        [
            ("0e:1a:2b:3c:4d:02".to_owned(), 10001),
            ("0e:1a:2b:3c:4d:04".to_owned(), 10002),
            ("0e:1a:2b:3c:4d:03".to_owned(), 10100),
        ]
    );
}

#[test]
fn options_dhcp_no_policy_routing_and_primary() {
    let path = fixture("aliyun.json");
    let (_, notes, c) = convert(
        &path,
        &Options {
            dhcp: true,
            ..Options::default()
        },
    )
    .unwrap();
    let i = &c.interfaces[0];
    assert!(i.ipv4.as_ref().unwrap().is_dhcp() && i.ipv6.as_ref().unwrap().is_dhcp());
    assert!(i.policy_routing.is_none());
    assert!(
        notes.iter().any(|n| n.contains("no policy routing")),
        "{notes:?}"
    );

    let (_, _, c) = convert(
        &path,
        &Options {
            no_policy_routing: true,
            ..Options::default()
        },
    )
    .unwrap();
    assert!(c.interfaces[0].policy_routing.is_none());
    assert!(!c.interfaces[0].ipv4.as_ref().unwrap().is_dhcp());

    let (_, _, c) = convert(&path, &all_nics()).unwrap();
    assert_eq!(c.interfaces.len(), 2);
    let p = &c.interfaces[0];
    assert!(p.primary && p.default_route && p.policy_routing.is_none());
    assert_eq!(p.name.as_str(), "eth0");
}

fn run(args: &[&str]) -> Output {
    Command::new(ENICFG).args(args).output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn guest_names_come_from_sysfs_or_ifname() {
    let doc = fixture("tencent.json").display().to_string();
    // sysfs under ROOT: the upper-case MAC matches the lower-case sysfs address.
    let root = sysfs_root(&["52:54:00:ab:cd:01".into(), "52:54:00:ab:cd:02".into()]);
    let r = root.path().to_str().unwrap();
    let out = run(&[
        "render",
        "--input",
        &doc,
        "--root",
        r,
        "--backend",
        "netplan",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("set-name: eth1"),
        "{}",
        text(&out.stdout)
    );

    // No sysfs entry: a clear error listing the unmatched MACs; nothing else needed.
    let empty = tempfile::tempdir().unwrap();
    let e = empty.path().to_str().unwrap();
    let out = run(&[
        "render",
        "--input",
        &doc,
        "--root",
        e,
        "--backend",
        "netplan",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("52:54:00:ab:cd:02") && err.contains("--ifname"),
        "{err}"
    );
    assert!(
        !err.contains("52:54:00:ab:cd:01"),
        "the primary is not needed: {err}"
    );

    // --ifname names it (MAC in any case); an image build needs nothing else.
    let out = run(&[
        "render",
        "--input",
        &doc,
        "--root",
        e,
        "--backend",
        "ifupdown",
        "--ifname",
        "52:54:00:AB:CD:02=ens6",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("ens6"), "{stdout}");
    // table from the name: ens6 -> 10006
    assert!(stdout.contains("10006"), "{stdout}");

    // Forcing the wrong cloud fails, naming the key.
    let out = run(&[
        "render",
        "--input",
        &doc,
        "--cloud",
        "aliyun",
        "--root",
        e,
        "--backend",
        "netplan",
        "--ifname",
        "52:54:00:ab:cd:02=eth1",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("has the shape of tencent metadata"),
        "{}",
        text(&out.stderr)
    );
    // Metadata-only flags on our own schema are a usage error.
    let own = common::fixture("eni/full-secondary.yaml")
        .display()
        .to_string();
    let out = run(&["render", "--input", &own, "--dhcp", "--backend", "netplan"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
}

#[test]
fn aws_notes_say_what_was_decided() {
    let doc = fixture("aws-ipv6-only.json").display().to_string();
    let root = tempfile::tempdir().unwrap();
    let out = run(&[
        "render",
        "--input",
        &doc,
        "--root",
        root.path().to_str().unwrap(),
        "--backend",
        "netplan",
        "--ifname",
        "0e:1a:2b:3c:4d:02=eth1",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(err.contains("no IPv6 gateway"), "{err}");
    assert!(err.contains("no policy routing"), "{err}");
}
