//! OpenStack `network_data.json` (upstream Nova, and Huawei Cloud's variant).
//!
//! `links[]` are the NICs (matched by `ethernet_mac_address`); `networks[]` carry the layer 3
//! configuration, **one entry per fixed IP** in upstream Nova, each repeating the same default
//! route, so default routes are merged into one per family (and must agree). Huawei serves only
//! `ipv4_dhcp` networks and a non-standard link `type` `cascading`; unknown physical link types
//! are accepted, never dropped. No link is marked primary: the first of `links[]` is taken as
//! the primary NIC. There is no device index, so policy tables use the fallback rule of
//! `metadata::to_spec`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use anyhow::{Result, anyhow, bail};
use serde_json::{Map, Value};

use super::{Decoded, Nic, kind_of, netmask_prefix, parse_mac};
use crate::model::RouteSpec;

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

/// Link types that are not a plain NIC: enicfg does not configure them from metadata.
const VIRTUAL_TYPES: &[&str] = &["bond", "vlan"];

/// Decodes a `network_data.json` document.
pub fn decode(doc: &Value) -> Result<Decoded> {
    let obj = doc
        .as_object()
        .ok_or_else(|| anyhow!("network_data.json is not a JSON object"))?;
    let links = array(obj, "links")?;
    let networks = array(obj, "networks")?;
    if links.is_empty() {
        bail!("network_data.json has no links[]: it lists no NICs");
    }
    let mut out = Decoded::default();
    for (li, link) in links.iter().enumerate() {
        let what = format!("links[{li}]");
        let link = link
            .as_object()
            .ok_or_else(|| anyhow!("{what} must be an object, got {}", kind_of(link)))?;
        let id = field(link, &what, "id")?.ok_or_else(|| anyhow!("{what}: id is missing"))?;
        let raw_mac = field(link, &what, "ethernet_mac_address")?
            .ok_or_else(|| anyhow!("{what} ({id}): ethernet_mac_address is missing"))?;
        let who = raw_mac.to_owned();
        let mac = parse_mac(&who, raw_mac)?;
        let kind = field(link, &what, "type")?.unwrap_or("");
        if VIRTUAL_TYPES.contains(&kind) {
            bail!(
                "NIC {who} ({id}): link type {kind:?} is not supported: enicfg configures plain NICs"
            );
        }
        let mtu = match link.get("mtu") {
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
            primary: li == 0,
            mtu,
            ..Nic::default()
        };
        let mut any = false;
        for (ni, net) in networks.iter().enumerate() {
            let nwhat = format!("networks[{ni}]");
            let net = net
                .as_object()
                .ok_or_else(|| anyhow!("{nwhat} must be an object, got {}", kind_of(net)))?;
            if field(net, &nwhat, "link")? != Some(id) {
                continue;
            }
            any = true;
            let ntype = field(net, &nwhat, "type")?
                .ok_or_else(|| anyhow!("NIC {who}: {nwhat}: type is missing"))?;
            let key = |k: &str| format!("{nwhat}.{k}");
            match ntype {
                "ipv4_dhcp" | "dhcp4" => nic.dhcp4 = true,
                "ipv6_dhcp"
                | "ipv6_slaac"
                | "ipv6_dhcpv6-stateless"
                | "ipv6_dhcpv6-stateful"
                | "dhcp6" => nic.dhcp6 = true,
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
        if !any {
            out.notes.push(format!(
                "NIC {who} ({id}): skipped: no networks[] entry refers to this link"
            ));
            continue;
        }
        if nic.dhcp4 {
            out.notes.push(format!(
                "NIC {who} ({id}): the metadata says ipv4_dhcp: it uses DHCP (address, netmask and gateway come from the lease)"
            ));
        }
        out.nics.push(nic);
    }
    let primary = out.nics.iter().find(|n| n.primary).map(|n| n.key.clone());
    if let Some(p) = primary {
        out.notes.push(format!(
            "network_data.json marks no primary NIC: the first link, {p}, is taken as the primary"
        ));
    }
    Ok(out)
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
            match net_addr {
                IpAddr::V4(_) => {
                    let gw: Ipv4Addr = gw.parse().map_err(|_| {
                        anyhow!("NIC {who}: {rwhat}.gateway value {gw:?} is not an IPv4 address")
                    })?;
                    if let Some(old) = nic.gateway4.replace(gw)
                        && old != gw
                    {
                        bail!(
                            "NIC {who}: networks[] give two IPv4 default gateways, {old} and {gw}"
                        );
                    }
                }
                IpAddr::V6(_) => {
                    let gw: Ipv6Addr = gw.parse().map_err(|_| {
                        anyhow!("NIC {who}: {rwhat}.gateway value {gw:?} is not an IPv6 address")
                    })?;
                    if let Some(old) = nic.gateway6.replace(gw)
                        && old != gw
                    {
                        bail!(
                            "NIC {who}: networks[] give two IPv6 default gateways, {old} and {gw}"
                        );
                    }
                }
            }
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
