//! Tencent Cloud CVM: `network/interfaces/macs/<MAC>/…` with **upper-case** MACs (kept verbatim
//! as keys and URL segments, compared case-insensitively with the guest).
//!
//! `local-ipv4s/` is a directory with one sub-directory per private IP, each carrying its own
//! `gateway` and `subnet-mask`; the primary IP is `primary-local-ipv4`. No IPv6 key is
//! documented, so none is read; there is no device index, so policy tables use the fallback
//! rule of `metadata::to_spec`. An error in the primary NIC's data is a note unless the
//! primary is configured; a NIC without addresses is skipped by `metadata::to_spec`.

use std::net::Ipv4Addr;

use anyhow::{Result, anyhow, bail};
use serde_json::Value;

use super::{Decoded, Nic, kind_of, leaf, leaf_at, netmask_prefix, parse_ip};

/// Decodes a Tencent document.
pub fn decode(doc: &Value) -> Result<Decoded> {
    super::decode_listed(doc, nic)
}

/// One NIC directory.
fn nic(
    out: &mut Decoded,
    key: &str,
    dir: &serde_json::Map<String, Value>,
    primary: &str,
) -> Result<Nic> {
    let who = key;
    let mut nic = super::listed_nic(key, primary)?;
    let ips = match dir.get("local-ipv4s") {
        None => serde_json::Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(v) => bail!(
            "NIC {who}: local-ipv4s must be a directory with one entry per IP, got {}",
            kind_of(v)
        ),
    };
    let primary_ip: Option<Ipv4Addr> = leaf(dir, who, "primary-local-ipv4")?
        .map(|r| parse_ip(who, "primary-local-ipv4", r))
        .transpose()?;
    let mut gateway: Option<(Ipv4Addr, Ipv4Addr)> = None;
    let mut addrs = Vec::new();
    for (ip_key, entry) in &ips {
        let what = format!("local-ipv4s/{ip_key}");
        let ip: Ipv4Addr = parse_ip(who, &what, ip_key)?;
        let entry = entry.as_object().ok_or_else(|| {
            anyhow!(
                "NIC {who}: {what} must be a directory, got {}",
                kind_of(entry)
            )
        })?;
        let mask = leaf_at(entry, who, "subnet-mask", &what)?.ok_or_else(|| {
            anyhow!("NIC {who}: {what}/subnet-mask is missing: the prefix of {ip} is unknown")
        })?;
        let prefix = netmask_prefix(who, &format!("{what}/subnet-mask"), mask, 32)?;
        if let Some(raw) = leaf_at(entry, who, "gateway", &what)? {
            let gw: Ipv4Addr = parse_ip(who, &format!("{what}/gateway"), raw)?;
            match gateway {
                None => gateway = Some((gw, ip)),
                Some((g, first)) if g != gw => bail!(
                    "NIC {who}: local-ipv4s disagree on the gateway: {first} says {g}, {ip} says {gw}"
                ),
                Some(_) => {}
            }
        }
        addrs.push((ip, prefix));
    }
    if let Some(p) = primary_ip {
        match addrs.iter().position(|(a, _)| *a == p) {
            Some(i) => {
                let a = addrs.remove(i);
                addrs.insert(0, a);
            }
            None => bail!(
                "NIC {who}: primary-local-ipv4 {p} has no local-ipv4s/{p}/ entry (its subnet-mask is unknown)"
            ),
        }
    }
    if !addrs.is_empty() && gateway.is_none() {
        out.notes.push(format!(
            "NIC {who}: no local-ipv4s/<ip>/gateway is published: IPv4 is configured without a gateway"
        ));
    }
    nic.ipv4 = addrs;
    nic.gateway4 = gateway.map(|(g, _)| g);
    Ok(nic)
}
