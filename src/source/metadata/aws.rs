//! AWS EC2: `network/interfaces/macs/<mac>/…`, every value `text/plain`, lists newline-separated.
//!
//! The primary NIC is the top-level `mac` (falling back to `device-number` 0 on card 0). Each
//! NIC's `(network-card, device-number)` numbers its policy table, `10000 + 100*card + device`,
//! the convention of amazon-ec2-net-utils. AWS publishes **no gateway**: enicfg uses the VPC
//! subnet router, the subnet's base address + 1 (AWS reserves it in every subnet), and says so
//! in a note. IPv6 has no published gateway either: the addresses are kept, without a gateway.

use std::net::{Ipv4Addr, Ipv6Addr};

use anyhow::{Result, anyhow, bail};
use ipnet::IpNet;
use serde_json::Value;

use super::{Decoded, Nic, leaf, lines, parse_cidr, parse_ip, parse_mac, top_mac};

fn index(who: &str, key: &str, raw: &str) -> Result<u32> {
    raw.trim()
        .parse::<u32>()
        .ok()
        .filter(|n| *n < 100)
        .ok_or_else(|| anyhow!("NIC {who}: {key} value {raw:?} is not an index 0..=99"))
}

/// Decodes an AWS document.
pub fn decode(doc: &Value) -> Result<Decoded> {
    let (obj, nics) = super::nic_dirs(doc)?;
    let primary = top_mac(obj)?;
    let mut out = Decoded::default();
    for (key, dir) in nics {
        let who = key.as_str();
        let mac = parse_mac(who, key)?;
        let Some(device) = leaf(dir, who, "device-number")? else {
            // NOTE: a detached ENI stays listed for minutes with its keys answering 404
            // (aws/amazon-vpc-cni-k8s#194): skip it, never fail on it.
            out.notes.push(format!(
                "NIC {who}: skipped: it has no device-number (a detached ENI stays listed for a while)"
            ));
            continue;
        };
        let device = index(who, "device-number", device)?;
        let card = match (
            leaf(dir, who, "network-card")?,
            leaf(dir, who, "network-card-index")?,
        ) {
            (Some(c), _) => index(who, "network-card", c)?,
            (None, Some(c)) => index(who, "network-card-index", c)?,
            // 404 on single-card instance types.
            (None, None) => 0,
        };
        let is_primary = match primary {
            Some(p) => key.eq_ignore_ascii_case(p),
            None => device == 0 && card == 0,
        };
        if !is_primary && device == 0 && card == 0 {
            bail!(
                "NIC {who}: device-number 0 on network card 0 but it is not the primary NIC (top-level mac): \
                 the attachment has not propagated yet; retry with --wait-for {mac}"
            );
        }
        let mut nic = Nic {
            key: key.clone(),
            mac: Some(mac),
            primary: is_primary,
            device: Some((card, device)),
            ..Nic::default()
        };
        if let Some(raw) = leaf(dir, who, "local-ipv4s")? {
            let v4: Vec<Ipv4Addr> = lines(raw)
                .into_iter()
                .map(|s| parse_ip(who, "local-ipv4s", s))
                .collect::<Result<_>>()?;
            if !v4.is_empty() {
                let Some(raw_subnet) = leaf(dir, who, "subnet-ipv4-cidr-block")? else {
                    bail!(
                        "NIC {who}: subnet-ipv4-cidr-block is missing: the prefix of {} is unknown",
                        v4[0]
                    );
                };
                let IpNet::V4(subnet) = parse_cidr(who, "subnet-ipv4-cidr-block", raw_subnet)?
                else {
                    bail!(
                        "NIC {who}: subnet-ipv4-cidr-block value {raw_subnet:?} is not an IPv4 block"
                    );
                };
                let subnet = subnet.trunc();
                if let Some(a) = v4.iter().find(|a| !subnet.contains(*a)) {
                    bail!(
                        "NIC {who}: local-ipv4s address {a} is outside subnet-ipv4-cidr-block {subnet}"
                    );
                }
                nic.ipv4 = v4.iter().map(|a| (*a, subnet.prefix_len())).collect();
                if subnet.prefix_len() <= 28 {
                    let gw = Ipv4Addr::from(u32::from(subnet.network()) + 1);
                    out.notes.push(format!(
                        "NIC {who}: AWS publishes no gateway: using the subnet router {gw} (base address + 1 of {subnet})"
                    ));
                    nic.gateway4 = Some(gw);
                }
            }
        }
        if let Some(raw) = leaf(dir, who, "ipv6s")? {
            let v6: Vec<Ipv6Addr> = lines(raw)
                .into_iter()
                .map(|s| parse_ip(who, "ipv6s", s))
                .collect::<Result<_>>()?;
            let blocks: Vec<IpNet> = match leaf(dir, who, "subnet-ipv6-cidr-blocks")? {
                Some(b) => lines(b)
                    .into_iter()
                    .map(|s| parse_cidr(who, "subnet-ipv6-cidr-blocks", s))
                    .collect::<Result<_>>()?,
                None => Vec::new(),
            };
            for a in v6 {
                let prefix = match blocks.iter().find(|b| b.contains(&std::net::IpAddr::V6(a))) {
                    Some(b) => b.prefix_len(),
                    None => {
                        out.notes.push(format!(
                            "NIC {who}: no subnet-ipv6-cidr-blocks entry holds {a}: it gets /128 (no on-link subnet route)"
                        ));
                        128
                    }
                };
                nic.ipv6.push((a, prefix));
            }
        }
        out.nics.push(nic);
    }
    if let Some(p) = primary
        && !out.nics.iter().any(|n| n.primary)
    {
        bail!(
            "the top-level mac {p} is not among network/interfaces/macs/ (or has no device-number)"
        );
    }
    // Ordered by (network-card, device-number), as cloud-init and net-utils do.
    out.nics.sort_by_key(|n| (!n.primary, n.device));
    let mut seen = std::collections::BTreeMap::new();
    for n in &out.nics {
        if let Some(d) = n.device
            && let Some(other) = seen.insert(d, n.key.clone())
        {
            bail!(
                "NICs {other} and {} both have network-card {} device-number {}: the metadata has not propagated yet",
                n.key,
                d.0,
                d.1
            );
        }
    }
    Ok(out)
}
