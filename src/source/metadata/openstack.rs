//! OpenStack `network_data.json` (upstream Nova, and Huawei Cloud's variant).
//!
//! `links[]` are the NICs (matched by `ethernet_mac_address`); `networks[]` carry the layer 3
//! configuration, **one entry per fixed IP** in upstream Nova, each repeating the same default
//! route, so default routes (and a network-level `gateway`, which cloud-init honours too) are
//! merged into one per family (and must agree). Huawei serves only `ipv4_dhcp` networks and a
//! non-standard link `type` `cascading`; unknown physical link types are accepted, never
//! dropped. Bond and VLAN links, bond members and the networks on them are left alone, each
//! named in a note; the plain NICs next to them are configured. No link is marked primary: the
//! first of `links[]` is taken as the primary NIC unless `--primary MAC` names one, and a note
//! says when the document's only default route is on a NIC treated as secondary. Routes on
//! DHCP networks are kept (their default route is the lease's); DNS `services` are named in a
//! note. There is no device index, so policy tables use the fallback rule of
//! `metadata::to_spec`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use anyhow::{Result, anyhow, bail};
use serde_json::{Map, Value};

use std::collections::BTreeMap;

use super::{Decoded, Nic, kind_of, netmask_prefix, parse_mac};
use crate::model::{MacAddr, RouteSpec};

fn field<'a>(obj: &'a Map<String, Value>, what: &str, key: &str) -> Result<Option<&'a str>> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(v) => bail!("{what}: {key} must be a string, got {}", kind_of(v)),
    }
}

fn array<'a>(obj: &'a Map<String, Value>, key: &str) -> Result<&'a [Value]> {
    match obj.get(key) {
        None => Ok(&[]),
        Some(Value::Array(a)) => Ok(a),
        Some(v) => bail!("{key} must be an array, got {}", kind_of(v)),
    }
}

/// Link types that are not a plain NIC: enicfg leaves them (and the networks on them) alone.
const VIRTUAL_TYPES: &[&str] = &["bond", "vlan"];

/// One entry of `links[]`, before it is decoded.
struct Link<'a> {
    index: usize,
    id: &'a str,
    kind: &'a str,
    obj: &'a Map<String, Value>,
}

impl Link<'_> {
    fn what(&self) -> String {
        format!("links[{}] ({})", self.index, self.id)
    }
}

/// Decodes a `network_data.json` document. `primary` (`--primary MAC`) names the primary NIC;
/// without it the first link is taken as the primary, and a note says so.
pub fn decode(doc: &Value, primary: Option<MacAddr>) -> Result<Decoded> {
    let obj = doc
        .as_object()
        .ok_or_else(|| anyhow!("network_data.json is not a JSON object"))?;
    let raw_links = array(obj, "links")?;
    let raw_networks = array(obj, "networks")?;
    if raw_links.is_empty() {
        bail!("network_data.json has no links[]: it lists no NICs");
    }
    let mut links = Vec::new();
    for (index, link) in raw_links.iter().enumerate() {
        let what = format!("links[{index}]");
        let link = link
            .as_object()
            .ok_or_else(|| anyhow!("{what} must be an object, got {}", kind_of(link)))?;
        let id = field(link, &what, "id")?.ok_or_else(|| anyhow!("{what}: id is missing"))?;
        if let Some(other) = links.iter().find(|l: &&Link<'_>| l.id == id) {
            bail!("{what} and links[{}] have the same id {id:?}", other.index);
        }
        let kind = field(link, &what, "type")?.unwrap_or("");
        links.push(Link {
            index,
            id,
            kind,
            obj: link,
        });
    }
    let mut networks = Vec::new();
    for (ni, net) in raw_networks.iter().enumerate() {
        let nwhat = format!("networks[{ni}]");
        let net = net
            .as_object()
            .ok_or_else(|| anyhow!("{nwhat} must be an object, got {}", kind_of(net)))?;
        let link = field(net, &nwhat, "link")?
            .ok_or_else(|| anyhow!("{nwhat}: link is missing (it names the links[] id)"))?;
        networks.push((ni, net, link));
    }

    let mut out = Decoded::default();
    // Networks that name no link: nothing to attach them to.
    for (ni, net, link) in &networks {
        if !links.iter().any(|l| l.id == *link) {
            let id = field(net, "networks[]", "id")?.unwrap_or("no id");
            out.skip(
                format!("networks[{ni}] ({id})"),
                false,
                format!("its link {link:?} names no entry of links[]"),
            );
        }
    }
    // Bond members and VLAN parents, to name them when they are left alone.
    let mut member_of: BTreeMap<&str, &str> = BTreeMap::new();
    let mut vlans_on: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for l in &links {
        match l.kind {
            "bond" => {
                for m in array(l.obj, "bond_links").map_err(|e| anyhow!("{}: {e}", l.what()))? {
                    if let Some(m) = m.as_str() {
                        member_of.insert(m, l.id);
                    }
                }
            }
            "vlan" => {
                if let Some(parent) = field(l.obj, &l.what(), "vlan_link")? {
                    vlans_on.entry(parent).or_default().push(l.id);
                }
            }
            _ => {}
        }
    }
    // The same MAC on two plain links: which is the NIC cannot be told.
    let mut macs: BTreeMap<String, &Link<'_>> = BTreeMap::new();
    for l in links.iter().filter(|l| !VIRTUAL_TYPES.contains(&l.kind)) {
        if let Some(m) = field(l.obj, &l.what(), "ethernet_mac_address")?
            && let Some(other) = macs.insert(m.trim().to_ascii_lowercase(), l)
        {
            bail!(
                "{} and {} have the same ethernet_mac_address {m}: which is the NIC cannot be told",
                other.what(),
                l.what()
            );
        }
    }
    let primary_index = match primary {
        None => 0,
        Some(want) => {
            let found = links.iter().find(|l| {
                !VIRTUAL_TYPES.contains(&l.kind)
                    && field(l.obj, "", "ethernet_mac_address")
                        .ok()
                        .flatten()
                        .and_then(|m| m.trim().parse::<MacAddr>().ok())
                        == Some(want)
            });
            match found {
                Some(l) => l.index,
                None => bail!(
                    "--primary {want}: no plain link of links[] has this ethernet_mac_address (links: {})",
                    links
                        .iter()
                        .map(|l| format!("{} {}", l.what(), mac_text(l)))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            }
        }
    };

    let mut dns = Vec::new();
    services(obj, "services", &mut dns)?;
    for l in &links {
        let is_primary = l.index == primary_index;
        let nets: Vec<&(usize, &Map<String, Value>, &str)> = networks
            .iter()
            .filter(|(_, _, link)| *link == l.id)
            .collect();
        let net_list = || {
            nets.iter()
                .map(|(ni, _, _)| format!("networks[{ni}]"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        if VIRTUAL_TYPES.contains(&l.kind) {
            let detail = if l.kind == "vlan" {
                let id = l
                    .obj
                    .get("vlan_id")
                    .map_or_else(|| "?".to_owned(), ToString::to_string);
                let parent = field(l.obj, &l.what(), "vlan_link")?.unwrap_or("?");
                let mac =
                    field(l.obj, &l.what(), "vlan_mac_address")?.unwrap_or("no vlan_mac_address");
                format!("VLAN {id} on link {parent}, {mac}")
            } else {
                let members: Vec<&str> = member_of
                    .iter()
                    .filter(|(_, b)| **b == l.id)
                    .map(|(m, _)| *m)
                    .collect();
                format!("members {}", members.join(", "))
            };
            let carried = if nets.is_empty() {
                String::new()
            } else {
                format!("; the networks on it ({}) are left alone too", net_list())
            };
            out.skip(
                format!("{} link {}", l.kind, l.what()),
                is_primary,
                format!(
                    "link type {:?} ({detail}): enicfg configures plain NICs only{carried}",
                    l.kind
                ),
            );
            continue;
        }
        let who = format!("NIC {} (links[{}] {})", mac_text(l), l.index, l.id);
        if let Some(bond) = member_of.get(l.id) {
            out.skip(
                who,
                is_primary,
                format!("it is a member of bond {bond}, which enicfg leaves alone"),
            );
            continue;
        }
        if nets.is_empty() {
            let why = match vlans_on.get(l.id) {
                Some(v) => format!(
                    "no networks[] entry refers to link {} (it only carries VLAN link {}, left alone)",
                    l.id,
                    v.join(", ")
                ),
                None => format!("no networks[] entry refers to link {}", l.id),
            };
            out.skip(who, is_primary, why);
            continue;
        }
        out.nic_or_problem(&who, is_primary, |out| {
            link_nic(out, l, is_primary, &nets, &mut dns).map(Some)
        })?;
    }

    let prim = out.nics.iter().find(|n| n.primary);
    if primary.is_none() {
        match prim {
            Some(p) => out.notes.push(format!(
                "network_data.json marks no primary NIC: the first link, {} ({}), is taken as the \
                 primary; name another with --primary MAC",
                p.key, links[0].id
            )),
            None => out.notes.push(format!(
                "network_data.json marks no primary NIC, and its first link, {}, is not configured \
                 (see the skipped links): no NIC is taken as the primary; name it with --primary MAC",
                links[0].what()
            )),
        }
    }
    // The document's default routes all on NICs treated as secondary: each goes into its NIC's
    // policy table only, and the machine gets no default route from enicfg.
    let has_default = |n: &Nic| n.dhcp4 || n.dhcp6 || n.gateway4.is_some() || n.gateway6.is_some();
    if !prim.is_some_and(has_default) {
        let with: Vec<String> = out
            .nics
            .iter()
            .filter(|n| !n.primary)
            .flat_map(|n| {
                let gws: Vec<IpAddr> = n
                    .gateway4
                    .map(IpAddr::V4)
                    .into_iter()
                    .chain(n.gateway6.map(IpAddr::V6))
                    .collect();
                gws.into_iter()
                    .map(move |g| format!("via {g} on NIC {}", n.key))
            })
            .collect();
        if !with.is_empty() {
            let primary_is = match prim {
                Some(p) => format!("the primary is taken to be {}, which has none", p.key),
                None => "no NIC is taken as the primary".to_owned(),
            };
            out.notes.push(format!(
                "the document's only default routes ({}) belong to a NIC enicfg treats as \
                 secondary ({primary_is}): they go into that NIC's policy table only, so the \
                 machine gets no default route from enicfg; if that NIC is the primary, pass \
                 --primary MAC",
                with.join(", ")
            ));
        }
    }
    if !dns.is_empty() {
        dns.dedup();
        out.notes.push(format!(
            "network_data.json lists DNS servers {} (services): enicfg writes no resolver \
             configuration; the primary NIC's DHCP lease or the image's resolver setup provides DNS",
            dns.join(", ")
        ));
    }
    Ok(out)
}

/// A link's `ethernet_mac_address` as written, for messages.
fn mac_text(l: &Link<'_>) -> String {
    field(l.obj, "", "ethernet_mac_address")
        .ok()
        .flatten()
        .unwrap_or("(no ethernet_mac_address)")
        .to_owned()
}

/// `services[]` of type `dns`: their addresses.
fn services(obj: &Map<String, Value>, what: &str, dns: &mut Vec<String>) -> Result<()> {
    for s in array(obj, "services").map_err(|e| anyhow!("{what}: {e}"))? {
        if s.get("type").and_then(Value::as_str) == Some("dns")
            && let Some(a) = s.get("address").and_then(Value::as_str)
        {
            dns.push(a.to_owned());
        }
    }
    Ok(())
}

/// One plain link and the networks on it.
fn link_nic(
    out: &mut Decoded,
    l: &Link<'_>,
    is_primary: bool,
    nets: &[&(usize, &Map<String, Value>, &str)],
    dns: &mut Vec<String>,
) -> Result<Nic> {
    let what = l.what();
    let id = l.id;
    let raw_mac = field(l.obj, &what, "ethernet_mac_address")?
        .ok_or_else(|| anyhow!("{what}: ethernet_mac_address is missing"))?;
    let who = raw_mac.to_owned();
    let mac = parse_mac(&who, raw_mac)?;
    let mtu = match l.obj.get("mtu") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => Some(
            n.as_u64()
                .and_then(|m| u32::try_from(m).ok())
                .ok_or_else(|| anyhow!("NIC {who}: mtu value {n} is not a valid MTU"))?,
        ),
        Some(v) => bail!(
            "NIC {who}: mtu must be a number or null, got {}",
            kind_of(v)
        ),
    };
    let mut nic = Nic {
        key: who.clone(),
        mac: Some(mac),
        primary: is_primary,
        mtu,
        ..Nic::default()
    };
    for (ni, net, _) in nets {
        let nwhat = format!("networks[{ni}]");
        let ntype = field(net, &nwhat, "type")?
            .ok_or_else(|| anyhow!("NIC {who}: {nwhat}: type is missing"))?;
        let key = |k: &str| format!("{nwhat}.{k}");
        services(net, &nwhat, dns)?;
        match ntype {
            "ipv4_dhcp" | "dhcp4" => {
                nic.dhcp4 = true;
                dhcp_extras(out, &who, &nwhat, net, &mut nic)?;
            }
            "ipv6_dhcp"
            | "ipv6_slaac"
            | "ipv6_dhcpv6-stateless"
            | "ipv6_dhcpv6-stateful"
            | "dhcp6" => {
                nic.dhcp6 = true;
                dhcp_extras(out, &who, &nwhat, net, &mut nic)?;
            }
            "ipv4" | "static" | "ipv6" | "static6" => {
                let raw = field(net, &nwhat, "ip_address")?
                    .ok_or_else(|| anyhow!("NIC {who}: {} is missing", key("ip_address")))?;
                let (addr_s, plen) = match raw.split_once('/') {
                    Some((a, p)) => (a, Some(p)),
                    None => (raw, None),
                };
                let addr: IpAddr = addr_s.trim().parse().map_err(|_| {
                    anyhow!(
                        "NIC {who}: {} value {raw:?} is not a valid address",
                        key("ip_address")
                    )
                })?;
                let max = if addr.is_ipv4() { 32 } else { 128 };
                let prefix = match (plen, field(net, &nwhat, "netmask")?) {
                    (Some(p), _) => netmask_prefix(&who, &key("ip_address"), p, max)?,
                    // NOTE: cloud-init reads an empty IPv6 netmask as /64 (the only prefix
                    // SLAAC-era OpenStack subnets use); enicfg does the same and says so.
                    (None, Some(m)) if m.trim().is_empty() && addr.is_ipv6() => {
                        out.notes.push(format!(
                            "NIC {who}: {} is empty for {addr}: read as /64, as cloud-init does",
                            key("netmask")
                        ));
                        64
                    }
                    (None, Some(m)) => netmask_prefix(&who, &key("netmask"), m, max)?,
                    (None, None) => bail!(
                        "NIC {who}: {} is missing: the prefix of {addr} is unknown",
                        key("netmask")
                    ),
                };
                match addr {
                    IpAddr::V4(a) => nic.ipv4.push((a, prefix)),
                    IpAddr::V6(a) => nic.ipv6.push((a, prefix)),
                }
                if let Some(gw) = field(net, &nwhat, "gateway")? {
                    default_gateway(&who, &key("gateway"), addr.is_ipv6(), gw, &mut nic)?;
                }
                routes(&who, &nwhat, net, &mut nic)?;
            }
            other => bail!(
                "NIC {who}: {} value {other:?} is not a known network type (ipv4, ipv6, ipv4_dhcp, ipv6_dhcp, ipv6_slaac, ...)",
                key("type")
            ),
        }
    }
    if nic.dhcp4 && !nic.ipv4.is_empty() {
        bail!("NIC {who}: networks[] give it both ipv4_dhcp and static IPv4 addresses");
    }
    if nic.dhcp6 && !nic.ipv6.is_empty() {
        bail!("NIC {who}: networks[] give it both DHCPv6/SLAAC and static IPv6 addresses");
    }
    if nic.dhcp4 {
        out.notes.push(format!(
            "NIC {who} ({id}): the metadata says ipv4_dhcp: it uses DHCP (address, netmask and gateway come from the lease)"
        ));
    }
    Ok(nic)
}

/// A DHCP network's `routes` and `gateway`: routes other than the default are kept (the lease
/// gives the address, not these routes); a default route or gateway is the lease's business,
/// and a note says it is not written.
fn dhcp_extras(
    out: &mut Decoded,
    who: &str,
    nwhat: &str,
    net: &Map<String, Value>,
    nic: &mut Nic,
) -> Result<()> {
    let mut scratch = Nic::default();
    routes(who, nwhat, net, &mut scratch)?;
    if let Some(gw) = field(net, nwhat, "gateway")? {
        out.notes.push(format!(
            "NIC {who}: {nwhat} is a DHCP network: its gateway {gw} is left to the lease"
        ));
    }
    for gw in scratch
        .gateway4
        .map(IpAddr::V4)
        .into_iter()
        .chain(scratch.gateway6.map(IpAddr::V6))
    {
        out.notes.push(format!(
            "NIC {who}: {nwhat} is a DHCP network: its default route via {gw} is left to the lease"
        ));
    }
    for r in scratch.routes {
        if !nic.routes.contains(&r) {
            nic.routes.push(r);
        }
    }
    Ok(())
}

/// Merges a default gateway (a route to `0.0.0.0/0`/`::/0`, or a network's `gateway`) into the
/// NIC's: one per family, and they must agree. An IPv6 link-local gateway (`fe80::1`) is kept:
/// the model takes it as on-link.
fn default_gateway(who: &str, what: &str, v6: bool, gw: &str, nic: &mut Nic) -> Result<()> {
    if v6 {
        let gw: Ipv6Addr = gw
            .trim()
            .parse()
            .map_err(|_| anyhow!("NIC {who}: {what} value {gw:?} is not an IPv6 address"))?;
        if let Some(old) = nic.gateway6.replace(gw)
            && old != gw
        {
            bail!("NIC {who}: networks[] give two IPv6 default gateways, {old} and {gw}");
        }
    } else {
        let gw: Ipv4Addr = gw
            .trim()
            .parse()
            .map_err(|_| anyhow!("NIC {who}: {what} value {gw:?} is not an IPv4 address"))?;
        if let Some(old) = nic.gateway4.replace(gw)
            && old != gw
        {
            bail!("NIC {who}: networks[] give two IPv4 default gateways, {old} and {gw}");
        }
    }
    Ok(())
}

/// Merges a network's routes: one default route per family, the others as extra routes.
fn routes(who: &str, nwhat: &str, net: &Map<String, Value>, nic: &mut Nic) -> Result<()> {
    for (ri, r) in array(net, "routes")
        .map_err(|e| anyhow!("NIC {who}: {nwhat}: {e}"))?
        .iter()
        .enumerate()
    {
        let rwhat = format!("{nwhat}.routes[{ri}]");
        let r = r
            .as_object()
            .ok_or_else(|| anyhow!("NIC {who}: {rwhat} must be an object, got {}", kind_of(r)))?;
        let network = field(r, &rwhat, "network")?
            .ok_or_else(|| anyhow!("NIC {who}: {rwhat}.network is missing"))?;
        let gateway = field(r, &rwhat, "gateway")?;
        let net_addr: IpAddr = network.parse().map_err(|_| {
            anyhow!("NIC {who}: {rwhat}.network value {network:?} is not an address")
        })?;
        let max = if net_addr.is_ipv4() { 32 } else { 128 };
        let prefix = match field(r, &rwhat, "netmask")? {
            Some(m) => netmask_prefix(who, &format!("{rwhat}.netmask"), m, max)?,
            None => max,
        };
        if prefix == 0 {
            let Some(gw) = gateway else {
                bail!("NIC {who}: {rwhat} is a default route without a gateway");
            };
            default_gateway(
                who,
                &format!("{rwhat}.gateway"),
                net_addr.is_ipv6(),
                gw,
                nic,
            )?;
        } else {
            let to = format!("{network}/{prefix}");
            let route = RouteSpec {
                to,
                via: gateway.map(str::to_owned),
                metric: None,
            };
            if !nic.routes.contains(&route) {
                nic.routes.push(route);
            }
        }
    }
    Ok(())
}
