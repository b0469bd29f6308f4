//! The RHEL-family ifcfg backend: `/etc/sysconfig/network-scripts/ifcfg-NAME`, plus
//! `route-NAME` / `route6-NAME` (iproute2 argument lines) and, for the initscripts network
//! service only, `rule-NAME` / `rule6-NAME`.
//!
//! Two readers consume these files (distro-matrix.md §3.1, §3.2): the initscripts `network`
//! service sources them with bash, NetworkManager's ifcfg-rh plugin parses them with `shvar.c`.
//! Every value goes through [`quote::ifcfg_rh`](super::quote::ifcfg_rh), the subset both read identically. Where the
//! readers differ, the [`Stack`] decides: NetworkManager ignores `rule-*` files and reads
//! `ROUTING_RULE_n` keys instead, and takes `IPV4_ROUTE_METRIC` where initscripts takes `METRIC`;
//! `ARPCHECK` and `NOZEROCONF` are initscripts keys NetworkManager does not know. Every NIC gets
//! `IPV6INIT=yes`, and one without a DHCPv6 family `IPV6_AUTOCONF=no`, so neither reader lets a
//! router advertisement add an address or a default route the description does not have
//! (real-readers.md §1, §2).
//!
//! The routes and rules come from [`Interface::routes`] and [`Interface::rules`]; this module
//! only decides where each one is written. It never reads or writes files.

use std::net::IpAddr;

use anyhow::{Context as _, Result, bail};
use askama::Template;

use super::nm_keyfile::AUTOCONNECT_PRIORITY;
use super::sysconfig::{self, Var, Vars};
use super::{Backend, BackendKind, Commands, Context, FileOut, Rendered};
use crate::distro::Stack;
use crate::model::{Config, Family, Interface, KernelRoute, KernelRule};

/// Directory of every file this backend writes.
pub const DIR: &str = "/etc/sysconfig/network-scripts";

/// The ifcfg-rh backend.
pub struct IfcfgRh;

/// Which reader the files are written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reader {
    /// initscripts' `network` service (bash); `ec2` adds `EC2SYNC=no` for ec2-net-utils 1.x.
    Initscripts { ec2: bool },
    /// NetworkManager's ifcfg-rh plugin.
    NetworkManager,
}

#[derive(Template)]
#[template(path = "ifcfg-rh/ifcfg.txt", escape = "none")]
struct IfcfgView {
    header: String,
    vars: Vec<Var>,
}

#[derive(Template)]
#[template(path = "ifcfg-rh/lines.txt", escape = "none")]
struct LinesView {
    header: String,
    comment: String,
    lines: Vec<String>,
}

impl Backend for IfcfgRh {
    fn render(&self, config: &Config, ctx: &Context<'_>) -> Result<Rendered> {
        let reader = match ctx.stack {
            Stack::Initscripts { ec2_net_utils, .. } => Reader::Initscripts { ec2: ec2_net_utils },
            Stack::NetworkManagerIfcfg => Reader::NetworkManager,
            other => bail!(
                "backend ifcfg-rh cannot write for the {other} stack: it is read by initscripts or NetworkManager's ifcfg-rh plugin"
            ),
        };
        let mut files = Vec::new();
        let mut interface = Vec::new();
        for iface in &config.interfaces {
            files.extend(
                render_interface(iface, reader)
                    .with_context(|| format!("{}: cannot render ifcfg-rh files", iface.name))?,
            );
            let ifcfg = format!("{DIR}/ifcfg-{}", iface.name);
            interface.push(match reader {
                Reader::Initscripts { .. } => format!("ifdown {0}; ifup {0}", iface.name),
                Reader::NetworkManager => {
                    format!("nmcli connection load {ifcfg} && nmcli connection up filename {ifcfg}")
                }
            });
        }
        Ok(Rendered {
            files,
            commands: Commands {
                restart: ctx.stack.restart_command().to_owned(),
                interface,
            },
        })
    }
}

/// `ip route` arguments for a route through `dev`: `DEST [via GW] dev DEV [metric M] [table T]`.
pub fn route_line(r: &KernelRoute, dev: &str) -> String {
    let mut s = if r.is_default() {
        "default".to_owned()
    } else {
        r.to.to_string()
    };
    if let Some(via) = r.via {
        s.push_str(&format!(" via {via}"));
    }
    s.push_str(&format!(" dev {dev}"));
    if let Some(m) = r.metric {
        s.push_str(&format!(" metric {m}"));
    }
    if let Some(t) = r.table {
        s.push_str(&format!(" table {t}"));
    }
    s
}

/// `ip rule` arguments of a rule file line: `from ADDR table T priority P`.
pub fn rule_line(r: &KernelRule) -> String {
    format!("from {} table {} priority {}", r.from, r.table, r.priority)
}

/// NetworkManager's `ROUTING_RULE_n` value: `priority P from ADDR/LEN table T`.
pub fn nm_rule_value(r: &KernelRule) -> String {
    let len = match r.from {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    };
    format!(
        "priority {} from {}/{len} table {}",
        r.priority, r.from, r.table
    )
}

fn render_interface(iface: &Interface, reader: Reader) -> Result<Vec<FileOut>> {
    let name = iface.name.as_str();
    let initscripts = matches!(reader, Reader::Initscripts { .. });
    let mut v = Vars::new(sysconfig::RH);
    v.set("DEVICE", name)?;
    if let Some(mac) = iface.mac {
        v.set("HWADDR", mac.to_string())?;
    }
    v.set("TYPE", "Ethernet")?;
    v.set("ONBOOT", "yes")?;
    v.set(
        "BOOTPROTO",
        if iface.is_dhcp(Family::Ipv4) {
            "dhcp"
        } else {
            "none"
        },
    )?;
    if reader == (Reader::Initscripts { ec2: true }) {
        // NOTE: ec2-net-utils 1.x greps for exactly `EC2SYNC=no` (distro-matrix.md §3.2, §5).
        v.set("EC2SYNC", "no")?;
    }
    // NOTE: NetworkManager's own automatic or persisted profiles for the same device
    // (`ifcfg-Wired_connection_1`, a keyfile for the MAC) win at the same priority
    // (real-readers.md §2); the keyfile backend's value makes ours win. initscripts ignores it.
    v.set("AUTOCONNECT_PRIORITY", AUTOCONNECT_PRIORITY.to_string())?;
    if initscripts {
        // NOTE: ifup-eth runs `arping -D` for ~3 s per IPv4 address unless ARPCHECK=no (30
        // addresses: 92 s), and adds 169.254.0.0/16 unless NOZEROCONF=yes (real-readers.md §1).
        // Cloud VPCs guarantee unique addresses, and 169.254.169.254 is the metadata service,
        // which no other stack routes through a secondary NIC. NetworkManager reads neither key
        // (it does no ARP check by default and never adds the zeroconf route), so they are
        // written for the network service only.
        v.set("ARPCHECK", "no")?;
        v.set("NOZEROCONF", "yes")?;
    }

    // Main-table default routes become GATEWAY / IPV6_DEFAULTGW; every other route goes to a
    // route file. initscripts cannot put a metric on IPV6_DEFAULTGW, so there it goes to route6.
    let mut route4 = Vec::new();
    let mut route6 = Vec::new();
    let (mut gateway4, mut gateway6) = (None, None);
    for r in iface.routes() {
        let main_default = r.is_default() && r.table.is_none();
        let family = r.family();
        if main_default && !(initscripts && family == Family::Ipv6 && r.metric.is_some()) {
            match family {
                Family::Ipv4 => gateway4 = r.via,
                Family::Ipv6 => gateway6 = r.via,
            }
            continue;
        }
        match family {
            Family::Ipv4 => route4.push(route_line(&r, name)),
            Family::Ipv6 => route6.push(route_line(&r, name)),
        }
    }

    if iface.ipv4.is_some() {
        for (i, a) in iface.addresses(Family::Ipv4).iter().enumerate() {
            let sfx = if i == 0 { String::new() } else { i.to_string() };
            v.set(format!("IPADDR{sfx}"), a.addr().to_string())?;
            v.set(format!("PREFIX{sfx}"), a.prefix_len().to_string())?;
        }
        if let Some(gw) = gateway4 {
            v.set("GATEWAY", gw.to_string())?;
        }
        v.set("DEFROUTE", if iface.default_route { "yes" } else { "no" })?;
        if let Some(m) = iface.metric {
            // NOTE: NetworkManager ignores METRIC (cloud-init #5776); initscripts ignores
            // IPV4_ROUTE_METRIC and applies METRIC to GATEWAY and to dhclient's routes.
            v.set(
                if initscripts {
                    "METRIC"
                } else {
                    "IPV4_ROUTE_METRIC"
                },
                m.to_string(),
            )?;
        }
    }
    if let Some(mtu) = iface.mtu {
        v.set("MTU", mtu.to_string())?;
    }
    // NOTE: IPv6 is always initialised, even on an IPv4-only NIC: without IPV6INIT, ifup-ipv6
    // turns router advertisements and SLAAC on (unset is "not false"), and NetworkManager
    // reads `ipv6.method ignore` and leaves the kernel's accept_ra=1; either way an RA on the
    // link gives the NIC an address and a main-table default route nobody asked for.
    // `IPV6INIT=yes` + `IPV6_AUTOCONF=no` (and no address) is accept_ra=0 autoconf=0 for
    // ifup-ipv6 and `ipv6.method link-local` for NetworkManager (real-readers.md §1, §2):
    // what the other backends write for a NIC without IPv6. `IPV6INIT=no` does not do it.
    v.set("IPV6INIT", "yes")?;
    if iface.ipv6.is_none() {
        v.set("IPV6_AUTOCONF", "no")?;
    }
    if let Some(v6) = &iface.ipv6 {
        if v6.is_dhcp() {
            if initscripts && !iface.default_route {
                bail!(
                    "backend ifcfg-rh cannot express IPv6 DHCP/router advertisements without a default route \
                     on the initscripts network service: it has no setting that stops the RA default route \
                     (use static IPv6 addresses, or default_route: true)"
                );
            }
            if initscripts && iface.metric.is_some() {
                bail!(
                    "backend ifcfg-rh cannot express a route metric for IPv6 DHCP/router advertisements \
                     on the initscripts network service (there is no IPv6 metric setting)"
                );
            }
            v.set("IPV6_AUTOCONF", "yes")?;
            v.set("DHCPV6C", "yes")?;
        } else {
            v.set("IPV6_AUTOCONF", "no")?;
            // NOTE: NetworkManager adds IPV6ADDR last, so it becomes the preferred source
            // address; initscripts' ifup-ipv6 adds IPV6ADDR first and the secondaries after it,
            // and the kernel prefers the newest, so for initscripts the order is reversed.
            let addrs: Vec<String> = if initscripts {
                iface.addresses_to_add(Family::Ipv6)
            } else {
                iface.addresses(Family::Ipv6)
            }
            .iter()
            .map(ToString::to_string)
            .collect();
            if let Some((first, rest)) = addrs.split_first() {
                v.set("IPV6ADDR", first)?;
                if !rest.is_empty() {
                    v.set("IPV6ADDR_SECONDARIES", rest.join(" "))?;
                }
            }
        }
        if let Some(gw) = gateway6 {
            v.set("IPV6_DEFAULTGW", gw.to_string())?;
        }
        if !initscripts {
            v.set(
                "IPV6_DEFROUTE",
                if iface.default_route { "yes" } else { "no" },
            )?;
            if let Some(m) = iface.metric {
                v.set("IPV6_ROUTE_METRIC", m.to_string())?;
            }
        }
    }

    let rules = iface.rules();
    let mut rule4 = Vec::new();
    let mut rule6 = Vec::new();
    match reader {
        Reader::NetworkManager => {
            // NOTE: NM does not read rule-* files (only the NetworkManager-dispatcher-routing-rules
            // package applies them); its own form is ROUTING_RULE_n / ROUTING_RULE6_n, numbered
            // from 1 across both families as NM's writer does.
            for (i, r) in rules.iter().enumerate() {
                let key = match r.family() {
                    Family::Ipv4 => format!("ROUTING_RULE_{}", i + 1),
                    Family::Ipv6 => format!("ROUTING_RULE6_{}", i + 1),
                };
                v.set(key, nm_rule_value(r))?;
            }
        }
        Reader::Initscripts { .. } => {
            for r in &rules {
                match r.family() {
                    Family::Ipv4 => rule4.push(rule_line(r)),
                    Family::Ipv6 => rule6.push(rule_line(r)),
                }
            }
        }
    }

    let mut files = vec![file(
        format!("ifcfg-{name}"),
        IfcfgView {
            header: sysconfig::header_line(BackendKind::IfcfgRh),
            vars: v.into_vec(),
        }
        .render()?,
    )];
    for (prefix, lines, what) in [
        (
            "route",
            route4,
            "IPv4 routes, `ip route add` arguments (read by ifup-routes / NetworkManager)",
        ),
        (
            "route6",
            route6,
            "IPv6 routes, `ip -6 route add` arguments (read by ifup-routes / NetworkManager)",
        ),
        (
            "rule",
            rule4,
            "IPv4 policy rules, `ip rule add` arguments (read by ifup-routes)",
        ),
        (
            "rule6",
            rule6,
            "IPv6 policy rules, `ip -6 rule add` arguments (read by ifup-routes)",
        ),
    ] {
        if !lines.is_empty() {
            let view = LinesView {
                header: sysconfig::header_line(BackendKind::IfcfgRh),
                comment: what.to_owned(),
                lines,
            };
            files.push(file(format!("{prefix}-{name}"), view.render()?));
        }
    }
    Ok(files)
}

fn file(base: String, mut contents: String) -> FileOut {
    if !contents.ends_with('\n') {
        contents.push('\n');
    }
    FileOut {
        path: format!("{DIR}/{base}"),
        mode: 0o644,
        contents,
    }
}
