//! Cloud metadata documents (saved samples and variants) -> model -> every backend, plus the
//! mapping rules: primary NIC, sysfs naming and `--ifname`, policy tables, `--dhcp`,
//! `--no-policy-routing`, and clear errors (naming MAC, key and value) for malformed documents.
//!
//! Snapshots: `metadata-model@<fixture>` (cloud, notes and the validated model as YAML),
//! `metadata-<stack>@<fixture>` (every rendered file), `metadata-error@<fixture>`.

mod common;

use common::metadata::{convert, sysfs_root};
use common::snap::{STACKS, settings, show};

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use enicfg::backend;
use enicfg::model::Config;
use enicfg::root::RootFacts;
use enicfg::source::metadata::{self, Cloud, Options};

const ENICFG: &str = env!("CARGO_BIN_EXE_enicfg");

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

/// `--input` tells a metadata document from a JSON interface description by its top-level keys,
/// without building the description into a tree: the text rule must agree with the tree rule
/// on every document, on every description, and on values that are not objects.
#[test]
fn json_sniff_agrees_with_the_parsed_rule() {
    let mut texts: Vec<(String, String)> = Vec::new();
    for dir in ["metadata", "metadata-invalid"] {
        for entry in fs::read_dir(common::fixture(dir)).unwrap() {
            let path = entry.unwrap().path();
            texts.push((
                path.display().to_string(),
                fs::read_to_string(&path).unwrap(),
            ));
        }
    }
    for entry in fs::read_dir(common::fixture("eni")).unwrap() {
        let path = entry.unwrap().path();
        let spec: serde_json::Value =
            serde_yaml::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
        texts.push((path.display().to_string(), spec.to_string()));
    }
    for odd in [
        "[]",
        "[{\"network\": {}}]",
        "\"network\"",
        "1",
        "-1.5",
        "true",
        "null",
        "{}",
        "{\"network\": {}, \"interfaces\": []}",
        "{\"links\": [], \"x\": {\"interfaces\": 1}}",
    ] {
        texts.push((odd.to_owned(), odd.to_owned()));
    }
    let mut metadata_seen = 0;
    for (name, text) in &texts {
        let Ok(doc) = serde_json::from_str::<serde_json::Value>(text) else {
            assert!(metadata::json_looks_like_metadata(text).is_err(), "{name}");
            continue;
        };
        let tree = metadata::looks_like_metadata(&doc);
        assert_eq!(
            metadata::json_looks_like_metadata(text).unwrap(),
            tree,
            "{name}"
        );
        metadata_seen += usize::from(tree);
    }
    assert!(
        metadata_seen >= 24,
        "only {metadata_seen} documents were seen as metadata"
    );
    assert!(
        metadata::json_looks_like_metadata("{\"network\": {\"interfaces\": [}").is_err(),
        "a truncated document is an error"
    );
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
    assert_eq!(
        aws.ipv6.as_ref().unwrap().gateway().unwrap().to_string(),
        "fe80:ec2::1",
        "AWS: the VPC router's link-local address (issue 14)"
    );
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
    // Issue 14: the IPv6 gateway is the VPC router's link-local address, said in a note, and
    // an IPv6-only ENI gets its policy table like a dual-stack one.
    assert!(
        err.contains(
            "AWS publishes no IPv6 gateway: using the VPC router's link-local address fe80:ec2::1"
        ),
        "{err}"
    );
    assert!(!err.contains("no policy routing"), "{err}");
    assert!(!err.contains("reaches only their subnet"), "{err}");
    let out = text(&out.stdout);
    assert!(out.contains("via: \"fe80:ec2::1\""), "{out}");
}

// ---------------------------------------------------------------------------------------------
// Issue 10: the metadata other producers write. Each test states the expected result.
// ---------------------------------------------------------------------------------------------

fn notes_of(name: &str, opts: &Options) -> (Vec<String>, Config) {
    let (_, notes, config) =
        convert(&fixture(name), opts).unwrap_or_else(|e| panic!("{name}: {e:#}"));
    (notes, config)
}

fn err_of(path: &Path, opts: &Options) -> String {
    match convert(path, opts) {
        Err(e) => format!("{e:#}"),
        Ok(_) => panic!("{} was accepted", path.display()),
    }
}

fn invalid(name: &str) -> std::path::PathBuf {
    common::fixture(&format!("metadata-invalid/{name}"))
}

fn has(notes: &[String], all: &[&str]) -> bool {
    notes.iter().any(|n| all.iter().all(|w| n.contains(w)))
}

fn mac(s: &str) -> enicfg::model::MacAddr {
    s.parse().unwrap()
}

/// Item 1: `--include-primary` keeps the primary NIC on DHCP (and DHCPv6/RA where it has IPv6), with
/// its main default route and no policy table; secondary IPs it cannot add are named.
#[test]
fn include_primary_keeps_the_primary_on_dhcp() {
    let (notes, c) = notes_of("aws-dual-stack-primary-with-secondary-ip.json", &all_nics());
    let p = &c.interfaces[0];
    assert!(p.primary && p.name.as_str() == "eth0");
    assert!(p.ipv4.as_ref().unwrap().is_dhcp(), "IPv4 by DHCP");
    assert!(p.ipv6.as_ref().unwrap().is_dhcp(), "IPv6 by DHCPv6/RA");
    assert!(p.default_route && p.policy_routing.is_none());
    assert!(
        has(
            &notes,
            &[
                "eth0",
                "stays on IPv4 by DHCP, IPv6 by DHCPv6",
                "10.20.1.16 are NOT configured"
            ]
        ),
        "{notes:?}"
    );
    // No note about a static gateway for the primary: it is not used.
    assert!(
        !has(&notes, &["02:5f:aa:00:10:01: AWS publishes no gateway"]),
        "{notes:?}"
    );
    // What netplan writes for it: DHCP in both families and RA accepted.
    let only_primary = Config {
        interfaces: vec![p.clone()],
    };
    let out = show(backend::render(
        &only_primary,
        enicfg::distro::Stack::Netplan,
        &RootFacts::default(),
    ));
    assert!(
        out.contains("dhcp4: true") && out.contains("dhcp6: true"),
        "{out}"
    );
    assert!(!out.contains("accept-ra: false"), "{out}");

    // A primary without IPv6 in the metadata gets DHCPv4 only; every EC2-style cloud alike.
    for doc in ["aws-ipv6-only.json", "aliyun.json", "tencent.json"] {
        let (_, c) = notes_of(doc, &all_nics());
        let p = &c.interfaces[0];
        assert!(p.primary, "{doc}");
        assert!(p.ipv4.as_ref().unwrap().is_dhcp(), "{doc}");
        assert!(p.ipv6.is_none(), "{doc}");
    }
    // OpenStack says per network how a NIC is configured: a static primary stays static.
    let (_, c) = notes_of("openstack-network_data.json", &all_nics());
    assert!(!c.interfaces[0].ipv4.as_ref().unwrap().is_dhcp());
}

/// Item 2: A network-level `gateway` is honoured, an IPv6 link-local one too (on-link, kept in the
/// policy table).
#[test]
fn network_level_gateway_is_honoured() {
    let (notes, c) = notes_of("openstack-network-gateway-link-local.json", &all_nics());
    assert_eq!(
        c.interfaces[0]
            .gateway(enicfg::model::Family::Ipv4)
            .unwrap()
            .to_string(),
        "10.40.1.1"
    );
    let s = &c.interfaces[1];
    assert_eq!(
        s.gateway(enicfg::model::Family::Ipv6).unwrap().to_string(),
        "fe80::1"
    );
    let routes: Vec<String> = s
        .routes()
        .iter()
        .map(|r| format!("{} {:?} {:?}", r.to, r.via, r.table))
        .collect();
    assert!(
        routes.contains(&"::/0 Some(fe80::1) Some(10001)".to_owned()),
        "{routes:?}"
    );
    assert!(!has(&notes, &["no IPv6 gateway"]), "{notes:?}");
}

/// Item 3: The document's only default route on the second link: said, and `--primary` fixes it.
#[test]
fn default_route_on_a_secondary_link_is_said_and_primary_can_be_named() {
    let doc = "openstack-default-route-on-second-link.json";
    let (notes, c) = notes_of(doc, &Options::default());
    assert!(
        has(
            &notes,
            &[
                "only default routes",
                "via 203.0.113.65",
                "06:a1:b2:c3:00:02",
                "--primary MAC"
            ]
        ),
        "{notes:?}"
    );
    assert_eq!(c.interfaces.len(), 1);
    assert!(c.interfaces[0].policy_routing.is_some());

    let opts = Options {
        primary: Some(mac("06:A1:B2:C3:00:02")),
        include_primary: true,
        ..Options::default()
    };
    let (notes, c) = notes_of(doc, &opts);
    assert!(!has(&notes, &["only default routes"]), "{notes:?}");
    assert!(!has(&notes, &["marks no primary NIC"]), "{notes:?}");
    let public = c.interfaces.iter().find(|i| i.primary).unwrap();
    assert_eq!(public.mac.unwrap().to_string(), "06:a1:b2:c3:00:02");
    assert!(public.default_route && public.policy_routing.is_none());
    assert_eq!(
        public
            .main_default_route(enicfg::model::Family::Ipv4)
            .unwrap()
            .via
            .unwrap()
            .to_string(),
        "203.0.113.65"
    );

    // --primary must name a listed link, and must agree with an EC2-style document.
    let e = err_of(
        &fixture(doc),
        &Options {
            primary: Some(mac("06:a1:b2:c3:00:99")),
            ..Options::default()
        },
    );
    assert!(
        e.contains("--primary 06:a1:b2:c3:00:99") && e.contains("links[1]"),
        "{e}"
    );
    let e = err_of(
        &fixture("aws.json"),
        &Options {
            primary: Some(mac("0e:1a:2b:3c:4d:02")),
            ..Options::default()
        },
    );
    assert!(
        e.contains("names 0e:1a:2b:3c:4d:01 as the primary NIC"),
        "{e}"
    );

    // No NIC primary at all (the first link is a bond member): said.
    let text =
        fs::read_to_string(fixture("openstack-bond-and-vlan-next-to-plain-nic.json")).unwrap();
    let mut doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    let links = doc["links"].as_array_mut().unwrap();
    let first = links.remove(0);
    links.push(first);
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("bond-first.json");
    fs::write(&p, doc.to_string()).unwrap();
    let (_, notes, _) = convert(&p, &Options::default()).unwrap();
    assert!(
        has(&notes, &["no NIC is taken as the primary", "--primary MAC"]),
        "{notes:?}"
    );
}

/// Item 4: The same MAC twice in different case: an error naming both metadata keys.
#[test]
fn duplicate_macs_in_different_case_fail_naming_the_keys() {
    for (doc, key) in [
        ("aws-duplicate-mac-different-case.json", "02:5f:aa:00:50:02"),
        (
            "aws-duplicate-primary-mac-different-case.json",
            "0e:6c:11:d7:26:09",
        ),
    ] {
        for opts in [Options::default(), all_nics()] {
            let e = err_of(&invalid(doc), &opts);
            let upper = key.to_ascii_uppercase();
            assert!(
                e.contains("lists the same MAC twice") && e.contains(key) && e.contains(&upper),
                "{doc}: {e}"
            );
        }
    }
}

/// Item 4, OpenStack: two links with one MAC (in different case) fail, naming both links.
#[test]
fn openstack_links_sharing_a_mac_fail_naming_both() {
    let doc = serde_json::json!({
        "links": [
            {"id": "tap-a", "type": "phy", "ethernet_mac_address": "fa:16:3e:d1:00:01"},
            {"id": "tap-b", "type": "phy", "ethernet_mac_address": "fa:16:3e:d1:00:02"},
            {"id": "tap-c", "type": "phy", "ethernet_mac_address": "FA:16:3E:D1:00:02"}
        ],
        "networks": [
            {"id": "n0", "link": "tap-a", "type": "ipv4_dhcp"},
            {"id": "n1", "link": "tap-b", "type": "ipv4_dhcp"},
            {"id": "n2", "link": "tap-c", "type": "ipv4_dhcp"}
        ]
    });
    let e = format!(
        "{:#}",
        metadata::decode(Cloud::Openstack, &doc, None).unwrap_err()
    );
    assert!(
        e.contains("links[1] (tap-b) and links[2] (tap-c) have the same ethernet_mac_address"),
        "{e}"
    );
}

/// Item 5: A missing `network-card` on a multi-card instance is not taken as card 0.
#[test]
fn missing_network_card_on_a_multi_card_instance_is_unpropagated() {
    let e = err_of(
        &invalid("aws-multi-card-network-card-missing.json"),
        &Options::default(),
    );
    assert!(
        e.contains("NIC 02:5f:aa:00:60:03: network-card is missing")
            && e.contains("--wait-for 02:5f:aa:00:60:03"),
        "{e}"
    );
    // Single-card types answer 404 for every NIC: card 0, as before.
    let (_, c) = notes_of("aws.json", &Options::default());
    assert_eq!(c.interfaces[0].policy_routing.unwrap().table, 10001);
}

/// Item 6: Bond and VLAN links are left alone, each named; the plain NIC next to them is configured.
#[test]
fn bonds_and_vlans_are_skipped_and_named_plain_nics_configured() {
    let (notes, c) = notes_of(
        "openstack-bond-and-vlan-next-to-plain-nic.json",
        &Options::default(),
    );
    let macs: Vec<String> = c
        .interfaces
        .iter()
        .map(|i| i.mac.unwrap().to_string())
        .collect();
    assert_eq!(macs, ["fa:16:3e:7b:00:02"]);
    assert_eq!(
        addrs(&c.interfaces[0]),
        ["10.30.2.5/24"],
        "the plain NIC keeps its network"
    );
    assert!(
        has(
            &notes,
            &[
                "bond link links[3] (bond0)",
                "eth-bond-a, eth-bond-b",
                "networks[1]"
            ]
        ),
        "{notes:?}"
    );
    assert!(
        has(
            &notes,
            &[
                "vlan link links[5] (vlan-101)",
                "VLAN 101 on link eth-trunk",
                "fa:16:3e:7b:01:01"
            ]
        ),
        "vlan_mac_address is read: {notes:?}"
    );
    assert!(
        has(&notes, &["fa:16:3e:7b:00:0a", "member of bond bond0"]),
        "{notes:?}"
    );
    assert!(
        has(&notes, &["eth-trunk", "only carries VLAN link vlan-101"]),
        "{notes:?}"
    );
}

/// Item 7: An inconsistency in the primary NIC's data is a note unless the primary is configured.
#[test]
fn primary_inconsistency_is_a_note_unless_configured() {
    let doc = fixture("aws-primary-inconsistent.json");
    let (_, notes, c) = convert(&doc, &Options::default()).unwrap();
    assert_eq!(c.interfaces.len(), 1);
    assert!(
        has(
            &notes,
            &[
                "02:5f:aa:00:30:01 is the primary NIC, left alone",
                "10.20.9.5 is outside"
            ]
        ),
        "{notes:?}"
    );
    let e = err_of(&doc, &all_nics());
    assert!(
        e.contains("--include-primary configures") && e.contains("10.20.9.5"),
        "{e}"
    );

    // ipv6s with a /64 suffix on the primary: the same.
    let text = fs::read_to_string(&doc)
        .unwrap()
        .replace("\"10.20.9.5\"", "\"10.20.1.5\"");
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("aws-primary-ipv6s-with-prefix.json");
    fs::write(&p, text).unwrap();
    let (_, notes, _) = convert(&p, &Options::default()).unwrap();
    assert!(
        has(&notes, &["left alone", "2001:db8:4400:1::5/64"]),
        "{notes:?}"
    );
    assert!(err_of(&p, &all_nics()).contains("2001:db8:4400:1::5/64"));
}

/// Item 8: An empty IPv6 netmask reads as /64 (cloud-init's reading), with a note; IPv4 fails.
#[test]
fn empty_ipv6_netmask_is_64() {
    let (notes, c) = notes_of("openstack-ipv6-empty-netmask.json", &Options::default());
    assert_eq!(addrs(&c.interfaces[0]), ["2001:db8:90:2::9/64"]);
    assert!(has(&notes, &["netmask is empty", "/64"]), "{notes:?}");
    let e = err_of(
        &invalid("openstack-ipv4-empty-netmask.json"),
        &Options::default(),
    );
    assert!(
        e.contains("networks[1].netmask value \"\" is not a netmask"),
        "{e}"
    );
}

/// Item 9: A NIC without addresses (just attached) is skipped with a note on every cloud, and the
/// note's `--dhcp` advice works.
#[test]
fn nic_without_addresses_is_skipped_and_dhcp_configures_it() {
    for (doc, bare, key) in [
        (
            "aliyun-nic-without-addresses.json",
            "00:16:3e:5c:00:02",
            "00:16:3e:5c:00:02",
        ),
        (
            "tencent-nic-without-addresses.json",
            "52:54:00:6e:00:02",
            "52:54:00:6E:00:02",
        ),
    ] {
        let (notes, c) = notes_of(doc, &Options::default());
        assert_eq!(c.interfaces.len(), 1, "{doc}: only the NIC with addresses");
        assert!(
            has(
                &notes,
                &[&format!("NIC {key}: skipped"), "--wait-for", "--dhcp"]
            ),
            "{doc}: {notes:?}"
        );
        let (_, c) = notes_of(
            doc,
            &Options {
                dhcp: true,
                ..Options::default()
            },
        );
        let i = c
            .interfaces
            .iter()
            .find(|i| i.mac.unwrap().to_string() == bare)
            .unwrap_or_else(|| panic!("{doc}: --dhcp configures the NIC without addresses"));
        assert!(
            i.ipv4.as_ref().unwrap().is_dhcp() && i.ipv6.is_none(),
            "{doc}"
        );
    }
}

/// Item 11: Every NIC left alone is named with its reason; no empty names.
#[test]
fn nothing_to_configure_names_every_nic_and_why() {
    let e = err_of(
        &invalid("aws-only-primary-and-detached-nic.json"),
        &Options::default(),
    );
    assert!(
        e.contains("NIC 02:5f:aa:00:80:01 is the primary NIC, left alone unless --include-primary")
            && e.contains("NIC 02:5f:aa:00:80:02 is skipped: it has no device-number"),
        "{e}"
    );
    assert!(!e.contains("NIC ,") && !e.contains("NIC  "), "{e}");
    let e = err_of(
        &invalid("openstack-network-names-no-link.json"),
        &Options::default(),
    );
    assert!(
        e.contains("networks[1] (s4) is skipped: its link \"tap-gone\" names no entry of links[]")
            && e.contains("(links[1] tap-s) is skipped"),
        "{e}"
    );
    // With --include-primary the primary is configured, and the detached NIC still named.
    let (_, notes, c) = convert(
        &invalid("aws-only-primary-and-detached-nic.json"),
        &all_nics(),
    )
    .unwrap();
    assert_eq!(c.interfaces.len(), 1);
    assert!(has(&notes, &["02:5f:aa:00:80:02: skipped"]), "{notes:?}");
}

/// Item 12: A top-level mac that is not listed says exactly that.
#[test]
fn unlisted_top_level_mac_says_so() {
    let e = err_of(
        &invalid("aws-top-level-mac-not-listed.json"),
        &Options::default(),
    );
    assert!(
        e.contains("the top-level mac 02:5f:aa:00:70:09 (the primary NIC) is not among network/interfaces/macs/"),
        "{e}"
    );
    assert!(!e.contains("propagated"), "{e}");
}

/// Item 14: Delegated prefixes, routes on DHCP networks and DNS services: each handled or named.
#[test]
fn prefixes_dhcp_routes_and_dns_are_handled_or_named() {
    let (notes, c) = notes_of("aws-delegated-prefixes.json", &Options::default());
    assert!(
        has(
            &notes,
            &[
                "10.20.2.64/28 (ipv4-prefix)",
                "2001:db8:4400:2:8000::/80 (ipv6-prefix)",
                "ip rule add from PREFIX lookup 10001"
            ]
        ),
        "{notes:?}"
    );
    assert!(
        c.interfaces[0]
            .rules()
            .iter()
            .all(|r| r.from.to_string() != "10.20.2.64")
    );

    let (notes, c) = notes_of(
        "openstack-dhcp-network-routes-and-dns.json",
        &Options::default(),
    );
    let i = &c.interfaces[0];
    assert!(i.ipv4.as_ref().unwrap().is_dhcp());
    assert_eq!(
        i.routes.len(),
        1,
        "the non-default route of the DHCP network is kept"
    );
    assert_eq!(i.routes[0].to.to_string(), "172.31.0.0/16");
    assert_eq!(i.routes[0].via.unwrap().to_string(), "10.60.2.1");
    assert!(
        has(
            &notes,
            &["default route via 10.60.2.1 is left to the lease"]
        ),
        "{notes:?}"
    );
    assert!(
        has(&notes, &["DNS servers 10.60.0.2, 10.60.0.53"]),
        "{notes:?}"
    );
}

/// Item 10: A document that does not parse says where parsing stopped, whatever its kind looked
/// like; with `--ifname` on stdin it is not a usage error.
#[test]
fn unparsable_documents_say_where_parsing_stopped() {
    let doc = invalid("truncated-aws.json").display().to_string();
    let out = run(&["render", "--input", &doc, "--backend", "netplan"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("invalid JSON") && err.contains("line") && err.contains("column"),
        "{err}"
    );
    assert!(!err.contains("unknown field"), "{err}");

    let body = fs::read(invalid("truncated-aws.json")).unwrap();
    let mut child = Command::new(ENICFG)
        .args([
            "render",
            "--input",
            "-",
            "--backend",
            "netplan",
            "--ifname",
            "0e:1a:2b:3c:4d:02=eth1",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write as _;
        child.stdin.take().unwrap().write_all(&body).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "not a usage error: {err}");
    assert!(
        err.contains("<stdin>: invalid JSON") && err.contains("column"),
        "{err}"
    );
}

/// Item 13: Backend-limit errors suggest what metadata users can do.
#[test]
fn backend_limits_suggest_metadata_flags() {
    let doc = fixture("aws.json").display().to_string();
    let name = ["--ifname", "0e:1a:2b:3c:4d:02=eth1"];
    let mut args = vec!["render", "--input", &doc, "--distro", "sles:11"];
    args.extend(name);
    let out = run(&args);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("--no-policy-routing"), "{err}");
    args.push("--no-policy-routing");
    let out = run(&args);
    assert!(
        out.status.success(),
        "the suggestion works: {}",
        text(&out.stderr)
    );

    let mut args = vec!["render", "--input", &doc, "--distro", "centos:7", "--dhcp"];
    args.extend(name);
    let out = run(&args);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("leave out --dhcp"), "{err}");
    let mut args = vec!["render", "--input", &doc, "--distro", "centos:7"];
    args.extend(name);
    assert!(run(&args).status.success(), "the suggestion works");
}
