//! The SUSE ifcfg backend: `/etc/sysconfig/network/ifcfg-NAME`, plus `ifroute-NAME` (routes of
//! every table), `ifrule-NAME` (policy rules, wicked ≥ 0.6.33) and `ifsysctl-NAME`
//! (`accept_ra = 0` for a NIC without DHCPv6: no ifcfg variable turns router advertisements
//! off).
//!
//! wicked parses ifcfg with its own reader (`unquote()` in `src/sysconfig.c`: no escapes, a
//! 512-byte line buffer); SLES 11's scripts source it with bash. Every value goes through
//! [`quote::ifcfg_suse`](super::quote::ifcfg_suse) (`KEY='value'`), the subset both read identically
//! (distro-matrix.md §3.3). `LLADDR` is never written: on SUSE it *sets* the MAC.
//!
//! The routes and rules come from [`Interface::routes`] and [`Interface::rules`]. This module
//! never reads or writes files.

use anyhow::{Context as _, Result, bail};
use askama::Template;

use super::sysconfig::{self, Var, Vars, indexed};
use super::text::{Push as _, net, num};
use super::{Backend, BackendKind, Commands, Context, FileOut, Rendered};
use crate::distro::Stack;
use crate::model::{Config, Family, Interface, KernelRoute, KernelRule};

/// Directory of every file this backend writes.
pub const DIR: &str = "/etc/sysconfig/network";

/// wicked reads lines with `fgets` into a 512-byte buffer: a longer line is split in two.
pub const MAX_LINE: usize = 511;

/// The ifcfg-suse backend.
pub struct IfcfgSuse;

#[derive(Template)]
#[template(path = "ifcfg-suse/ifcfg.txt", escape = "none")]
struct IfcfgView {
    header: String,
    notes: Vec<String>,
    vars: Vec<Var>,
}

#[derive(Template)]
#[template(path = "ifcfg-suse/lines.txt", escape = "none")]
struct LinesView {
    header: String,
    comment: String,
    lines: Vec<String>,
}

impl Backend for IfcfgSuse {
    fn render(&self, config: &Config, ctx: &Context<'_>) -> Result<Rendered> {
        let wicked = match ctx.stack {
            Stack::Wicked => true,
            Stack::SuseSysconfig => false,
            other => bail!(
                "backend ifcfg-suse cannot write for the {other} stack: it is read by wicked or the SUSE 11 sysconfig scripts"
            ),
        };
        let mut files = Vec::new();
        let mut interface = Vec::new();
        for iface in &config.interfaces {
            files.extend(
                render_interface(iface, wicked)
                    .with_context(|| format!("{}: cannot render ifcfg-suse files", iface.name))?,
            );
            interface.push(if wicked {
                format!("wicked ifreload {}", iface.name)
            } else {
                format!("ifdown {0}; ifup {0}", iface.name)
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

/// An `ifroute` line: `DESTINATION GATEWAY NETMASK INTERFACE [OPTIONS]`, `-` for an empty
/// column, `default` for a default route, the prefix in the destination.
pub fn ifroute_line(r: &KernelRoute, dev: &str) -> String {
    let mut s = String::with_capacity(80);
    if r.is_default() {
        s.s("default");
    } else {
        s.net(r.to);
    }
    match r.via {
        Some(via) => s.s(" ").ip(via),
        None => s.s(" -"),
    };
    s.s(" - ").s(dev);
    if let Some(m) = r.metric {
        s.s(" metric ").num(m);
    }
    if let Some(t) = r.table {
        s.s(" table ").num(t);
    }
    s
}

/// An `ifrule` line: `ipv4|ipv6 from ADDR table T priority P`.
pub fn ifrule_line(r: &KernelRule) -> String {
    let fam = match r.family() {
        Family::Ipv4 => "ipv4",
        Family::Ipv6 => "ipv6",
    };
    let mut s = String::with_capacity(56);
    s.s(fam)
        .s(" from ")
        .ip(r.from)
        .s(" table ")
        .num(r.table)
        .s(" priority ")
        .num(r.priority);
    s
}

/// The `ifsysctl` key for an IPv6 setting of an interface (slash form when the name has a dot,
/// because sysctl's dotted form would split it).
fn ipv6_sysctl(dev: &str, setting: &str) -> String {
    if dev.contains('.') {
        format!("net/ipv6/conf/{dev}/{setting}")
    } else {
        format!("net.ipv6.conf.{dev}.{setting}")
    }
}

fn render_interface(iface: &Interface, wicked: bool) -> Result<Vec<FileOut>> {
    let name = iface.name.as_str();
    let dhcp4 = iface.is_dhcp(Family::Ipv4);
    let dhcp6 = iface.is_dhcp(Family::Ipv6);
    let mut v = Vars::new(sysconfig::SUSE);
    v.set("STARTMODE", "auto")?;
    v.set(
        "BOOTPROTO",
        match (dhcp4, dhcp6) {
            (true, true) => "dhcp",
            (true, false) => "dhcp4",
            (false, true) => "dhcp6",
            (false, false) => "static",
        },
    )?;
    // Static addresses of both families: IPADDR, IPADDR_1, ..., IPv4 first.
    // NOTE: wicked adds them in file order and the kernel lists the newest IPv6 address first
    // and prefers it as the source (real-readers.md §3), so IPv6 goes in reverse and the first
    // described address is added last, as every backend does (`Interface::addresses_to_add`).
    let addrs: Vec<String> = [Family::Ipv4, Family::Ipv6]
        .into_iter()
        .flat_map(|f| iface.addresses_to_add(f))
        .map(net)
        .collect();
    for (i, a) in addrs.iter().enumerate() {
        v.set(indexed("IPADDR", "_", i), a.as_str())?;
    }
    if let Some(mtu) = iface.mtu {
        v.set("MTU", num(mtu))?;
    }
    if dhcp4 {
        v.set(
            "DHCLIENT_SET_DEFAULT_ROUTE",
            if iface.default_route { "yes" } else { "no" },
        )?;
        if let Some(m) = iface.metric {
            v.set("DHCLIENT_ROUTE_PRIORITY", num(m))?;
        }
    }
    // NOTE: SUSE cloud-netconfig leaves an interface alone with this opt-out (distro-matrix.md §5).
    v.set("CLOUD_NETCONFIG_MANAGE", "no")?;

    let routes: Vec<String> = iface
        .routes()
        .iter()
        .map(|r| ifroute_line(r, name))
        .collect();
    let rules: Vec<String> = iface.rules().iter().map(ifrule_line).collect();
    if !rules.is_empty() && !wicked {
        bail!(
            "backend ifcfg-suse cannot express policy routing (ip rules) on SUSE 11 sysconfig: \
             ifrule files need wicked 0.6.33 or later; render without policy routing (leave \
             policy_routing out of an interface description, or pass --no-policy-routing with cloud \
             metadata)"
        );
    }

    // Router advertisements: no ifcfg variable turns them off, ifsysctl does.
    // NOTE: wicked reads only disable_ipv6, forwarding, accept_ra, accept_dad, autoconf,
    // use_tempaddr, accept_redirects, addr_gen_mode and stable_secret from ifsysctl files
    // (compat-suse.c, 0.6.50-0.6.80): `accept_ra_defrtr` is silently ignored (real-readers.md
    // §3). `accept_ra = 0` is honoured: without DHCPv6 no RA may add an address, a prefix or a
    // default route the model does not describe, on an IPv4-only NIC too (the kernel default
    // is accept_ra=1), as the other backends do.
    let mut sysctl = Vec::new();
    if !dhcp6 {
        sysctl.push(format!("{} = 0", ipv6_sysctl(name, "accept_ra")));
    }
    if dhcp6 && iface.metric.is_some() {
        // NOTE: wicked leaves router advertisements to the kernel, which installs their prefix
        // and default routes with its own metrics (ra_defrtr_metric covers only the default
        // route, and only since Linux 5.18); DHCLIENT_ROUTE_PRIORITY is for DHCPv4.
        bail!(
            "backend ifcfg-suse cannot express a metric for the IPv6 routes learnt by DHCPv6/router \
             advertisements (the kernel installs router-advertisement routes with its own metrics)"
        );
    }
    if dhcp6 && !iface.default_route {
        // NOTE: DHCPv6 needs accept_ra on (the RA's M flag starts it), and the only kernel
        // setting that keeps the RA's default route out of main, accept_ra_defrtr, is one wicked
        // does not read. Setting it outside wicked (a sysctl.d drop-in applied by udev when the
        // NIC appears) worked when set before wicked configured the NIC, but that path was not
        // tested on SUSE and would not remove a route already learnt; so, like ifcfg-rh on the
        // network service, this is refused rather than written wrong.
        bail!(
            "backend ifcfg-suse cannot express IPv6 DHCP/router advertisements without a default \
             route: wicked ignores accept_ra_defrtr in ifsysctl files and DHCPv6 needs accept_ra \
             on, so the router advertisement's default route would reach the main table (use \
             static IPv6 addresses, or default_route: true)"
        );
    }

    // NOTE: SUSE ifcfg has no match-by-MAC key (LLADDR would *change* the MAC); the name comes
    // from udev. The expected MAC is recorded as a comment for whoever reads the file.
    let notes: Vec<String> = iface
        .mac
        .iter()
        .map(|mac| format!("expected MAC address of {name}: {mac}"))
        .collect();
    let view = IfcfgView {
        header: sysconfig::header_line(BackendKind::IfcfgSuse),
        notes,
        vars: v.into_vec(),
    };
    let mut files = vec![file(format!("ifcfg-{name}"), view.render()?)?];
    for (prefix, lines, what) in [
        (
            "ifroute",
            routes,
            "routes: DESTINATION GATEWAY NETMASK INTERFACE OPTIONS",
        ),
        (
            "ifrule",
            rules,
            "policy rules: ipv4|ipv6 followed by `ip rule add` arguments",
        ),
        (
            "ifsysctl",
            sysctl,
            "IPv6 router advertisement settings for this interface",
        ),
    ] {
        if !lines.is_empty() {
            let view = LinesView {
                header: sysconfig::header_line(BackendKind::IfcfgSuse),
                comment: what.to_owned(),
                lines,
            };
            files.push(file(format!("{prefix}-{name}"), view.render()?)?);
        }
    }
    Ok(files)
}

fn file(base: String, mut contents: String) -> Result<FileOut> {
    if !contents.ends_with('\n') {
        contents.push('\n');
    }
    let path = format!("{DIR}/{base}");
    if let Some((n, line)) = contents
        .lines()
        .enumerate()
        .find(|(_, l)| l.len() >= MAX_LINE)
    {
        bail!(
            "backend ifcfg-suse cannot write {path}: line {} is {} bytes, and wicked splits lines of {MAX_LINE} bytes or more ({:.40}...)",
            n + 1,
            line.len(),
            line
        );
    }
    Ok(FileOut {
        path,
        mode: 0o644,
        contents,
    })
}
