//! The nm-keyfile backend judged by the real NetworkManager (Debian 12's 1.42), run in
//! throw-away namespaces by `common::nm` (verifying.md §6.4):
//! - every static fixture: NM loads each profile without a keyfile warning, its parsed view
//!   (`nmcli connection show`) says what the model says, and the kernel state equals
//!   `common::expected::expected_state_all` — the state ifupdown and netplan reach;
//! - DHCPv4, and DHCPv6 with router advertisements, against dnsmasq in a peer namespace
//!   (verifying.md §6.5): no main default route for a secondary NIC (while `default_route: true`
//!   does get the offered ones), the route metric applied;
//! - our profile is the one activated next to stale image profiles;
//! - a keyfile with a wrong mode is ignored by NM (so the 0600 mode is asserted on every
//!   rendering), and a broken keyfile is caught by the warning check;
//! - the keyfile quoting function, round-tripped through NM's (GLib's) parser.

mod common;

use std::process::Command;
use std::time::Duration;

use common::nm::{NetworkManager, Profile, profiles_of};
use enicfg::backend::{self, Rendered, nm_keyfile};
use enicfg::distro::Stack;
use enicfg::model::{Config, Family, Interface};
use enicfg::root::RootFacts;

const CONNECT_DEADLINE: Duration = Duration::from_secs(30);
const SETTLE_DEADLINE: Duration = Duration::from_secs(10);

fn render(config: &Config) -> Rendered {
    backend::render(config, Stack::NetworkManagerKeyfile, &RootFacts::default()).unwrap()
}

fn ifnames(config: &Config) -> Vec<&str> {
    config.interfaces.iter().map(|i| i.name.as_str()).collect()
}

/// Adds one veth per interface (name and MAC from the model) to `ns`.
fn add_links(ns: &common::Netns, config: &Config) {
    for iface in &config.interfaces {
        let mac = iface.mac.map(|m| m.to_string());
        ns.add_veth(iface.name.as_str(), mac.as_deref());
    }
}

/// Every file is a 0600 keyfile in `system-connections`: NM ignores anything else.
fn assert_modes(rendered: &Rendered) {
    for f in &rendered.files {
        assert_eq!(
            f.mode, 0o600,
            "{} has mode {:04o}: NetworkManager ignores keyfiles with any 0077 bit",
            f.path, f.mode
        );
        assert!(f.path.starts_with(nm_keyfile::DIR), "{}", f.path);
        assert!(f.path.ends_with(".nmconnection"), "{}", f.path);
    }
}

/// `key:value` lines of `nmcli -t connection show` as pairs.
fn fields(show: &str) -> Vec<(String, String)> {
    show.lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.to_owned(), v.replace("\\:", ":")))
        .collect()
}

fn field<'a>(fields: &'a [(String, String)], key: &str) -> &'a str {
    fields
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("nmcli shows no {key}: {fields:?}"))
}

/// An `ipv4.routes` entry as nmcli prints it (`DEST [GW] [METRIC] [table=T]`), in the terms
/// of [`check_profile`]: `DEST [via GW] [metric M] [table T]`.
fn normalize_nm_route(route: &str) -> String {
    let mut words = route.split_whitespace();
    let mut out = words.next().unwrap_or_default().to_owned();
    let (mut via, mut metric, mut table) = (None, None, None);
    for w in words {
        if let Some(t) = w.strip_prefix("table=") {
            table = Some(t.to_owned());
        } else if w.contains('.') || w.contains(':') {
            via = Some(w.to_owned()).filter(|v| v != "0.0.0.0" && v != "::");
        } else if w.chars().all(|c| c.is_ascii_digit()) {
            metric = Some(w.to_owned());
        } else {
            panic!("unexpected word {w:?} in route {route:?}");
        }
    }
    if let Some(v) = via {
        out.push_str(&format!(" via {v}"));
    }
    if let Some(m) = metric {
        out.push_str(&format!(" metric {m}"));
    }
    if let Some(t) = table {
        out.push_str(&format!(" table {t}"));
    }
    out
}

/// Compares NM's parsed view of an interface's profile with the model.
fn check_profile(nm: &NetworkManager, iface: &Interface) {
    let show = nm.show(&nm_keyfile::connection_id(iface));
    // Printed for review (`--nocapture`); compared with the model below.
    eprintln!(
        "nmcli connection show {}:\n{show}",
        nm_keyfile::connection_id(iface)
    );
    let f = fields(&show);
    let ctx = format!("{}:\n{show}", iface.name);
    assert_eq!(
        field(&f, "connection.uuid"),
        nm_keyfile::connection_uuid(iface).to_string(),
        "{ctx}"
    );
    assert_eq!(
        field(&f, "connection.interface-name"),
        iface.name.as_str(),
        "{ctx}"
    );
    assert_eq!(field(&f, "connection.autoconnect"), "yes", "{ctx}");
    assert_eq!(
        field(&f, "connection.autoconnect-priority"),
        nm_keyfile::AUTOCONNECT_PRIORITY.to_string(),
        "{ctx}"
    );
    let mac = iface
        .mac
        .map(|m| m.to_string().to_ascii_uppercase())
        .unwrap_or_default();
    assert_eq!(field(&f, "802-3-ethernet.mac-address"), mac, "{ctx}");
    let mtu = iface
        .mtu
        .map(|m| m.to_string())
        .unwrap_or_else(|| "auto".to_owned());
    assert_eq!(field(&f, "802-3-ethernet.mtu"), mtu, "{ctx}");
    for family in [Family::Ipv4, Family::Ipv6] {
        let key = family.key();
        let configured = match family {
            Family::Ipv4 => iface.ipv4.is_some(),
            Family::Ipv6 => iface.ipv6.is_some(),
        };
        let method = match (configured, iface.is_dhcp(family), family) {
            (false, _, Family::Ipv4) => "disabled",
            (false, _, Family::Ipv6) => "link-local",
            (true, true, _) => "auto",
            (true, false, _) => "manual",
        };
        assert_eq!(field(&f, &format!("{key}.method")), method, "{ctx}");
        // Addresses as a set: their order is checked on the kernel, where it matters.
        let mut shown: Vec<String> = field(&f, &format!("{key}.addresses"))
            .split(", ")
            .filter(|a| !a.is_empty())
            .map(str::to_owned)
            .collect();
        shown.sort();
        let mut want: Vec<String> = iface
            .addresses(family)
            .iter()
            .map(ToString::to_string)
            .collect();
        want.sort();
        assert_eq!(shown, want, "{ctx}");
        if configured {
            let metric = iface
                .metric
                .filter(|_| iface.is_dhcp(family))
                .unwrap_or(nm_keyfile::DEFAULT_ROUTE_METRIC);
            assert_eq!(
                field(&f, &format!("{key}.route-metric")),
                metric.to_string(),
                "{ctx}"
            );
            let never_default = if iface.default_route { "no" } else { "yes" };
            assert_eq!(
                field(&f, &format!("{key}.never-default")),
                never_default,
                "{ctx}"
            );
            // A secondary DHCPv4 NIC takes no route from the lease (option 121 included), as
            // with networkd's UseRoutes=no.
            let secondary_dhcp4 =
                family == Family::Ipv4 && iface.is_dhcp(family) && !iface.default_route;
            assert_eq!(
                field(&f, &format!("{key}.ignore-auto-routes")),
                if secondary_dhcp4 { "yes" } else { "no" },
                "{ctx}"
            );
        }
        // Routes: what NM holds (`DEST [GW] [METRIC] [table=T]`, plus `gateway`) must be the
        // model's routes of this family, every table included.
        let mut shown: Vec<String> = field(&f, &format!("{key}.routes"))
            .split(", ")
            .filter(|r| !r.is_empty())
            .map(normalize_nm_route)
            .collect();
        let gateway = field(&f, &format!("{key}.gateway"));
        if !gateway.is_empty() {
            let default = match family {
                Family::Ipv4 => "0.0.0.0/0",
                Family::Ipv6 => "::/0",
            };
            shown.push(format!("{default} via {gateway}"));
        }
        shown.sort();
        let mut want: Vec<String> = iface
            .routes()
            .iter()
            .filter(|r| r.family() == family)
            .map(|r| {
                let mut s = r.to.to_string();
                if let Some(via) = r.via {
                    s.push_str(&format!(" via {via}"));
                }
                if let Some(m) = r.metric {
                    s.push_str(&format!(" metric {m}"));
                }
                if let Some(t) = r.table {
                    s.push_str(&format!(" table {t}"));
                }
                s
            })
            .collect();
        want.sort();
        assert_eq!(shown, want, "{ctx}");
        let rules = field(&f, &format!("{key}.routing-rules"));
        let want_rules: Vec<String> = iface
            .rules()
            .iter()
            .filter(|r| r.family() == family)
            .map(|r| format!("priority {} from {} table {}", r.priority, r.from, r.table))
            .collect();
        assert_eq!(
            rules.split(", ").filter(|r| !r.is_empty()).count(),
            want_rules.len(),
            "{ctx}"
        );
        for r in &want_rules {
            assert!(rules.contains(r.as_str()), "{ctx}\nmissing rule {r}");
        }
    }
    assert_eq!(
        nm.user_data(&nm_keyfile::connection_id(iface)),
        vec![(
            "org.freedesktop.NetworkManager.origin".to_owned(),
            nm_keyfile::ORIGIN.to_owned()
        )],
        "{ctx}"
    );
}

/// Waits until the kernel state equals `want` (routes may trail the `connected` state while
/// IPv6 DAD runs); returns the last state.
fn settle(ns: &common::Netns, nm: &mut NetworkManager, names: &[&str], want: &str) -> String {
    let _ = nm.wait_for(SETTLE_DEADLINE, |_| {
        common::nm::kernel_state(ns, names) == want
    });
    common::nm::kernel_state(ns, names)
}

/// Renders a fixture, lets NetworkManager apply it in a namespace, and checks the profiles and
/// the kernel state.
fn apply_for_real(fixture: &str) {
    let config = common::load_config(&common::fixture(&format!("eni/{fixture}")));
    let rendered = render(&config);
    assert_modes(&rendered);
    let ns = common::Netns::new();
    add_links(&ns, &config);
    let names = ifnames(&config);
    let mut nm = NetworkManager::start(&ns, &profiles_of(&rendered));
    nm.wait_connected(&names, CONNECT_DEADLINE);
    let problems = nm.keyfile_problems();
    assert!(
        problems.is_empty(),
        "NetworkManager complained about {fixture}:\n{}",
        problems.join("\n")
    );
    for iface in &config.interfaces {
        check_profile(&nm, iface);
    }
    let want = common::expected::expected_state_all(&config.interfaces);
    let state = settle(&ns, &mut nm, &names, &want);
    let state = common::expected::mask_macs(&state, &config.interfaces);
    assert_eq!(
        state, want,
        "{fixture}: kernel state differs from the model"
    );
}

macro_rules! real_apply {
    ($($test:ident => $fixture:literal,)*) => {
        $(
            #[test]
            fn $test() {
                if common::require_root(stringify!($test)) {
                    apply_for_real($fixture);
                }
            }
        )*

        /// Every fixture without DHCP is applied above (DHCP has its own tests below).
        #[test]
        fn every_static_fixture_is_applied() {
            let covered = [$($fixture),*];
            for path in common::scenario_fixtures() {
                let config = common::load_config(&path);
                let dhcp = config.interfaces.iter().any(|i| {
                    i.is_dhcp(Family::Ipv4) || i.is_dhcp(Family::Ipv6)
                });
                let name = path.file_name().unwrap().to_string_lossy().into_owned();
                assert!(dhcp || covered.contains(&name.as_str()), "{name} is not applied");
            }
        }
    };
}

real_apply! {
    nm_applies_aliyun_eip_on_nic => "aliyun-eip-on-nic.yaml",
    nm_applies_eight_nics => "eight-nics.yaml",
    nm_applies_thirty_secondary_ips => "thirty-secondary-ips.yaml",
    nm_applies_aliyun_ipv4_ipv6 => "aliyun-ipv4-ipv6.yaml",
    nm_applies_full_secondary => "full-secondary.yaml",
    nm_applies_ipv6_only => "ipv6-only.yaml",
    nm_applies_json_input => "json-input.json",
    nm_applies_jumbo_mtu_onlink_route => "jumbo-mtu-onlink-route.yaml",
    nm_applies_secondary_default_route => "secondary-default-route.yaml",
    nm_applies_tencent_primary_secondary_ip => "tencent-primary-secondary-ip.yaml",
    nm_applies_tencent_secondary_eni_route => "tencent-secondary-eni-route.yaml",
    nm_applies_tencent_symmetric_routing => "tencent-symmetric-routing.yaml",
    nm_applies_two_nics_same_subnet => "two-nics-same-subnet.yaml",
}

#[test]
fn every_rendering_is_mode_0600() {
    for path in common::scenario_fixtures() {
        assert_modes(&render(&common::load_config(&path)));
    }
}

#[test]
fn written_keyfiles_are_0600_root_and_loaded() {
    if !common::require_root("written_keyfiles_are_0600_root_and_loaded") {
        return;
    }
    use std::os::unix::fs::MetadataExt;
    // `enicfg write` into a root, then NM reads exactly what is on disk, with its mode.
    let fixture = common::fixture("eni/two-nics-same-subnet.yaml");
    let root = tempfile::tempdir().unwrap();
    common::run_ok(
        Command::new(env!("CARGO_BIN_EXE_enicfg"))
            .args(["write", "--backend", "nm-keyfile", "--input"])
            .arg(&fixture)
            .arg("--root")
            .arg(root.path()),
    );
    let config = common::load_config(&fixture);
    let mut profiles = Vec::new();
    for iface in &config.interfaces {
        let path = root
            .path()
            .join(nm_keyfile::file_path(iface).trim_start_matches('/'));
        let meta = std::fs::metadata(&path).unwrap();
        assert_eq!(meta.mode() & 0o7777, 0o600, "{}", path.display());
        assert_eq!(meta.uid(), 0, "{} is not owned by root", path.display());
        profiles.push(Profile {
            file_name: path.file_name().unwrap().to_string_lossy().into_owned(),
            contents: std::fs::read_to_string(&path).unwrap(),
            mode: meta.mode() & 0o7777,
        });
    }
    let ns = common::Netns::new();
    add_links(&ns, &config);
    let mut nm = NetworkManager::start(&ns, &profiles);
    nm.wait_connected(&ifnames(&config), CONNECT_DEADLINE);
    assert!(nm.keyfile_problems().is_empty(), "{}", nm.log());
}

// ---------------------------------------------------------------------------------------------
// What NM must refuse, and that the checks notice.
// ---------------------------------------------------------------------------------------------

#[test]
fn nm_ignores_a_keyfile_that_is_not_0600() {
    if !common::require_root("nm_ignores_a_keyfile_that_is_not_0600") {
        return;
    }
    let config = common::load_config(&common::fixture("eni/full-secondary.yaml"));
    let mut profiles = profiles_of(&render(&config));
    profiles[0].mode = 0o644;
    let ns = common::Netns::new();
    add_links(&ns, &config);
    let mut nm = NetworkManager::start(&ns, &profiles);
    let refused = nm.wait_for(CONNECT_DEADLINE, |nm| {
        nm.log().contains("File permissions (100644) are insecure")
    });
    assert!(refused, "NM did not refuse the 0644 keyfile:\n{}", nm.log());
    let id = nm_keyfile::connection_id(&config.interfaces[0]);
    assert!(
        !nm.nmcli(&["connection", "show", &id]).status.success(),
        "NM loaded a 0644 keyfile"
    );
    assert!(
        !nm.devices()
            .iter()
            .any(|(d, s)| d == "eth1" && s == "connected"),
        "{:?}",
        nm.devices()
    );
    assert!(!nm.keyfile_problems().is_empty());
}

#[test]
fn a_broken_keyfile_is_caught_by_the_warning_check() {
    if !common::require_root("a_broken_keyfile_is_caught_by_the_warning_check") {
        return;
    }
    let config = common::load_config(&common::fixture("eni/full-secondary.yaml"));
    let mut profiles = profiles_of(&render(&config));
    let good = profiles[0].contents.clone();
    let broken = good.replacen(
        "routing-rule1=priority 1001 from 10.0.2.5 table 1001",
        "routing-rule1=priority 1001 from 10.0.2.5 tabel 1001",
        1,
    );
    assert_ne!(good, broken);
    profiles[0].contents = broken;
    let ns = common::Netns::new();
    add_links(&ns, &config);
    let mut nm = NetworkManager::start(&ns, &profiles);
    let caught = nm.wait_for(CONNECT_DEADLINE, |nm| !nm.keyfile_problems().is_empty());
    let problems = nm.keyfile_problems().join("\n");
    assert!(caught, "no warning for a broken keyfile:\n{}", nm.log());
    assert!(problems.contains("unsupported key \"tabel\""), "{problems}");
}

#[test]
fn ours_wins_over_stale_profiles() {
    if !common::require_root("ours_wins_over_stale_profiles") {
        return;
    }
    // Profiles baked into images (CentOS Stream 9's `ens3.nmconnection` binds to any ethernet
    // device; cloud-init's uses autoconnect-priority 120): ours must be the one activated.
    let stale = |name: &str, extra: &str| Profile {
        file_name: format!("{name}.nmconnection"),
        contents: format!(
            "[connection]\nid={name}\nuuid=00000000-0000-4000-8000-{:012}\ntype=ethernet\n\
             autoconnect=true\n{extra}\n[ipv4]\nmethod=auto\n\n[ipv6]\nmethod=auto\n",
            name.len()
        ),
        mode: 0o600,
    };
    let config = common::load_config(&common::fixture("eni/full-secondary.yaml"));
    let mut profiles = vec![
        stale("ens3", ""),
        stale(
            "cloud-init-eth1",
            "interface-name=eth1\nautoconnect-priority=120\n",
        ),
    ];
    profiles.extend(profiles_of(&render(&config)));
    let ns = common::Netns::new();
    add_links(&ns, &config);
    let mut nm = NetworkManager::start(&ns, &profiles);
    nm.wait_connected(&["eth1"], CONNECT_DEADLINE);
    let out = nm.nmcli(&["-g", "GENERAL.CONNECTION", "device", "show", "eth1"]);
    let active = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert_eq!(
        active,
        nm_keyfile::connection_id(&config.interfaces[0]),
        "{}",
        nm.log()
    );
}

// ---------------------------------------------------------------------------------------------
// DHCPv4 for real (verifying.md §6.5).
// ---------------------------------------------------------------------------------------------

fn dhcp_config(default_route: bool) -> Config {
    let text = format!(
        "interfaces:\n  - name: eth1\n    mac: \"00:16:3e:0a:7b:21\"\n    ipv4: {{dhcp: true}}\n    \
         metric: 200\n    default_route: {default_route}\n"
    );
    let spec = enicfg::source::file::parse(&text, "test.yaml").unwrap();
    Config::from_spec(&spec).unwrap()
}

/// Applies a one-interface DHCPv4 config with dnsmasq serving 10.0.2.100-199 (router
/// 10.0.2.1) from a peer namespace; returns the kernel state once a lease is in place.
fn dhcp_for_real(config: &Config) -> String {
    dhcp_for_real_with(config, false)
}

/// [`dhcp_for_real`], and with `ipv6` also router advertisements (dnsmasq as the router) and
/// DHCPv6 leases from 2001:db8:2::100-1ff (`common::dnsmasq::Dnsmasq`).
fn dhcp_for_real_with(config: &Config, ipv6: bool) -> String {
    let rendered = render(config);
    assert_modes(&rendered);
    let ns = common::Netns::new();
    add_links(&ns, config);
    let ifname = config.interfaces[0].name.as_str();
    let dnsmasq = common::dnsmasq::Dnsmasq::start(&ns, ifname, ipv6);
    let mut nm = NetworkManager::start(&ns, &profiles_of(&rendered));
    nm.wait_connected(&[ifname], CONNECT_DEADLINE);
    let problems = nm.keyfile_problems();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    check_profile(&nm, &config.interfaces[0]);
    if ipv6 {
        // `connected` may come with the first family; wait for the DHCPv6 lease too.
        let _ = nm.wait_for(SETTLE_DEADLINE, |_| {
            common::nm::kernel_state(&ns, &[ifname]).contains("inet6 2001:db8:2::1")
        });
    }
    let state = common::nm::kernel_state(&ns, &[ifname]);
    eprintln!("kernel state with DHCP:\n{state}");
    drop(nm);
    drop(dnsmasq);
    state
}

fn section(state: &str, title: &str) -> Vec<String> {
    common::expected::sections(state)
        .into_iter()
        .find(|(t, _)| t == title)
        .map(|(_, lines)| lines)
        .unwrap_or_default()
}

#[test]
fn nm_dhcp_secondary_gets_no_default_route() {
    if !common::require_root("nm_dhcp_secondary_gets_no_default_route") {
        return;
    }
    // The same as fixture aliyun-secondary-dhcp.yaml, which must stay in step.
    let config = common::load_config(&common::fixture("eni/aliyun-secondary-dhcp.yaml"));
    assert_eq!(config, dhcp_config(false));
    let state = dhcp_for_real(&config);
    let addrs = section(&state, "addr");
    assert_eq!(addrs.len(), 1, "{state}");
    assert!(addrs[0].starts_with("eth1 inet 10.0.2.1"), "{state}");
    // dnsmasq sends 192.168.0.0/16 and the default route as classless routes (option 121):
    // ignore-auto-routes drops them, as networkd, netplan and ifupdown do.
    let routes = section(&state, "route (all tables)");
    assert_eq!(routes, vec!["10.0.2.0/24 dev eth1 metric 200"], "{state}");
}

#[test]
fn nm_dhcp_with_default_route_uses_the_metric() {
    if !common::require_root("nm_dhcp_with_default_route_uses_the_metric") {
        return;
    }
    let state = dhcp_for_real(&dhcp_config(true));
    let routes = section(&state, "route (all tables)");
    assert!(
        routes.contains(&"default via 10.0.2.1 dev eth1 metric 200".to_owned()),
        "{state}"
    );
}

#[test]
fn nm_dhcp_both_families_take_no_default_route() {
    if !common::require_root("nm_dhcp_both_families_take_no_default_route") {
        return;
    }
    let config = common::load_config(&common::fixture("eni/dhcp-both-families.yaml"));
    let state = dhcp_for_real_with(&config, true);
    let addrs = section(&state, "addr");
    assert!(
        addrs.iter().any(|a| a.starts_with("eth2 inet 10.0.2.1")),
        "{state}"
    );
    assert!(
        addrs
            .iter()
            .any(|a| a.starts_with("eth2 inet6 2001:db8:2::1")),
        "{state}"
    );
    let routes = section(&state, "route (all tables)");
    // The router advertisement's default route is dropped (never-default), the metric applies.
    assert!(!routes.iter().any(|r| r.starts_with("default")), "{state}");
    assert!(
        routes.contains(&"10.0.2.0/24 dev eth2 metric 300".to_owned()),
        "{state}"
    );
    assert!(
        routes.contains(&"2001:db8:2::/64 dev eth2 metric 300".to_owned()),
        "{state}"
    );
}

#[test]
fn nm_dhcp_both_families_with_default_route_use_the_metric() {
    if !common::require_root("nm_dhcp_both_families_with_default_route_use_the_metric") {
        return;
    }
    // The same fixture with default_route: the router advertisement and the DHCPv4 lease do
    // offer default routes (so the test above proves never-default drops them).
    let text = std::fs::read_to_string(common::fixture("eni/dhcp-both-families.yaml"))
        .unwrap()
        .replace(
            "    metric: 300",
            "    metric: 300\n    default_route: true",
        );
    let spec = enicfg::source::file::parse(&text, "dhcp-both-families+default.yaml").unwrap();
    let config = Config::from_spec(&spec).unwrap();
    assert!(config.interfaces[0].default_route);
    let state = dhcp_for_real_with(&config, true);
    let routes = section(&state, "route (all tables)");
    assert!(
        routes.contains(&"default via 10.0.2.1 dev eth2 metric 300".to_owned()),
        "{state}"
    );
    assert!(
        routes
            .iter()
            .any(|r| r.starts_with("default via fe80:") && r.ends_with("dev eth2 metric 300")),
        "{state}"
    );
}

// ---------------------------------------------------------------------------------------------
// Quoting, judged by NM's own parser.
// ---------------------------------------------------------------------------------------------

#[test]
fn quoted_values_survive_nms_parser() {
    if !common::require_root("quoted_values_survive_nms_parser") {
        return;
    }
    let values = [
        "plain",
        " leading and trailing ",
        "tab\there",
        "back\\slash",
        "semi;colon",
        "hash # and = and [x]",
        "new\nline",
        "cr\rhere",
        "\"quotes\" 'too'",
    ];
    let profiles: Vec<Profile> = values
        .iter()
        .enumerate()
        .map(|(i, v)| Profile {
            file_name: format!("q{i}.nmconnection"),
            contents: format!(
                "[connection]\nid={}\nuuid=00000000-0000-4000-8000-{i:012}\ntype=ethernet\n\
                 interface-name=q{i}\nautoconnect=false\n\n[ipv4]\nmethod=disabled\n\n\
                 [ipv6]\nmethod=ignore\n",
                nm_keyfile::quote(v).unwrap()
            ),
            mode: 0o600,
        })
        .collect();
    let ns = common::Netns::new();
    let mut nm = NetworkManager::start(&ns, &profiles);
    let last = format!("00000000-0000-4000-8000-{:012}", values.len() - 1);
    let loaded = nm.wait_for(CONNECT_DEADLINE, |nm| {
        nm.nmcli(&["connection", "show", &last]).status.success()
    });
    assert!(loaded, "profiles not loaded:\n{}", nm.log());
    let problems = nm.keyfile_problems();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    for (i, v) in values.iter().enumerate() {
        let uuid = format!("00000000-0000-4000-8000-{i:012}");
        let out = nm.nmcli(&[
            "--escape",
            "no",
            "-g",
            "connection.id",
            "connection",
            "show",
            &uuid,
        ]);
        assert!(out.status.success(), "{}", nm.log());
        let got = String::from_utf8_lossy(&out.stdout);
        let got = got.strip_suffix('\n').unwrap_or(&got);
        assert_eq!(got, *v, "value {v:?} came back as {got:?}");
    }
}
