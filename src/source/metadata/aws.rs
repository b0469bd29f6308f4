//! AWS EC2: `network/interfaces/macs/<mac>/…`, every value `text/plain`, lists newline-separated.
//!
//! The primary NIC is the top-level `mac` (falling back to `device-number` 0 on card 0), which
//! must be listed under `macs/`; a MAC listed twice (in different case) fails. Each
//! NIC's `(network-card, device-number)` numbers its policy table, `10000 + 100*card + device`,
//! the convention of amazon-ec2-net-utils. AWS publishes **no gateway**: enicfg uses the VPC
//! subnet router, the subnet's base address + 1 (AWS reserves it in every subnet), and says so
//! in a note. IPv6 has no published gateway either, but AWS documents one: since November 2022
//! the VPC router answers on the link-local address `fe80:ec2::1` in every subnet (AWS VPC user
//! guide, IPv6 subnet sizing; reference/metadata.md §1.4). A NIC with IPv6 addresses gets it as
//! its IPv6 gateway, on that NIC, so IPv6 is routed like IPv4 (policy table, rule per address)
//! without waiting for a router advertisement; a note says so.
//! A NIC without `device-number` (detached) is skipped; a NIC without `network-card` on a
//! multi-card instance, or reading `device-number` 0 while not the primary, has not propagated
//! and fails (the live crawl's `--wait-for` waits for both). Delegated prefixes
//! (`ipv4-prefix`/`ipv6-prefix`) are read for the note `metadata::to_spec` gives about them.

use std::net::{Ipv4Addr, Ipv6Addr};

use anyhow::{Result, anyhow, bail};
use ipnet::IpNet;
use serde_json::Value;

use super::{Decoded, Nic, leaf, lines, parse_cidr, parse_ip, parse_mac};

/// The VPC router's link-local IPv6 address, reserved in every subnet since November 2022
/// ("The link-local IPv6 address FE80:ec2::1 is reserved for the default VPC router", AWS VPC
/// user guide, subnet sizing for IPv6). amazon-vpc-cni-k8s, the ECS agent and Cilium's ENI mode
/// route IPv6 through it instead of waiting for router advertisements.
pub const IPV6_ROUTER: Ipv6Addr = Ipv6Addr::new(0xfe80, 0xec2, 0, 0, 0, 0, 0, 1);

fn index(who: &str, key: &str, raw: &str) -> Result<u32> {
    raw.trim()
        .parse::<u32>()
        .ok()
        .filter(|n| *n < 100)
        .ok_or_else(|| anyhow!("NIC {who}: {key} value {raw:?} is not an index 0..=99"))
}

/// `network-card` (or `network-card-index`) of a NIC directory, raw.
fn card_leaf<'a>(
    dir: &'a serde_json::Map<String, Value>,
    who: &str,
) -> Result<Option<(&'static str, &'a str)>> {
    Ok(
        match (
            leaf(dir, who, "network-card")?,
            leaf(dir, who, "network-card-index")?,
        ) {
            (Some(c), _) => Some(("network-card", c)),
            (None, Some(c)) => Some(("network-card-index", c)),
            (None, None) => None,
        },
    )
}

/// Decodes an AWS document.
pub fn decode(doc: &Value) -> Result<Decoded> {
    let (obj, nics) = super::nic_dirs(doc)?;
    let primary = super::listed_top_mac(obj, &nics)?;
    // NOTE: `network-card` answers 404 on single-card instance types, for every NIC. When some
    // NIC has one, the instance is multi-card and a NIC without it has not propagated yet:
    // taking it as card 0 gave two NICs one table (amazon-ec2-net-utils PR #153).
    let mut multi_card = false;
    for (key, dir) in &nics {
        multi_card |= card_leaf(dir, key)?.is_some();
    }
    let mut out = Decoded::default();
    for (key, dir) in nics {
        let who = key.as_str();
        let listed_primary = primary.is_some_and(|p| key.trim().eq_ignore_ascii_case(p));
        out.nic_or_problem(&format!("NIC {who}"), listed_primary, |out| {
            nic(out, key, dir, primary, multi_card)
        })?;
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

/// One NIC directory; `None` when it is skipped (recorded in `out`).
fn nic(
    out: &mut Decoded,
    key: &str,
    dir: &serde_json::Map<String, Value>,
    primary: Option<&str>,
    multi_card: bool,
) -> Result<Option<Nic>> {
    let who = key;
    let mac = parse_mac(who, key)?;
    let listed_primary = primary.is_some_and(|p| key.trim().eq_ignore_ascii_case(p));
    let Some(device) = leaf(dir, who, "device-number")? else {
        if listed_primary {
            bail!("it has no device-number (the primary NIC has device-number 0)");
        }
        // NOTE: a detached ENI stays listed for minutes with its keys answering 404
        // (aws/amazon-vpc-cni-k8s#194): skip it, never fail on it.
        out.skip(
            format!("NIC {who}"),
            false,
            "it has no device-number (a detached ENI stays listed for a while)",
        );
        return Ok(None);
    };
    let device = index(who, "device-number", device)?;
    let card = match card_leaf(dir, who)? {
        Some((k, c)) => index(who, k, c)?,
        // The primary NIC is always on card 0.
        None if multi_card && !listed_primary => bail!(
            "NIC {who}: network-card is missing while other NICs have one (a multi-card \
             instance): the attachment has not propagated yet, and taking it as card 0 could give \
             two NICs one table; read the service again with --imds aws --wait-for {mac}"
        ),
        // 404 on single-card instance types.
        None => 0,
    };
    let is_primary = match primary {
        Some(_) => listed_primary,
        None => device == 0 && card == 0,
    };
    if is_primary && (device, card) != (0, 0) {
        bail!(
            "NIC {who}: the top-level mac names it the primary NIC, but it has network-card {card} \
             device-number {device} (the primary NIC has 0 and 0)"
        );
    }
    if !is_primary && device == 0 && card == 0 {
        bail!(
            "NIC {who}: device-number 0 on network card 0 but it is not the primary NIC (the \
             top-level mac is {}): the attachment has not propagated yet; read the service again \
             with --imds aws --wait-for {mac}",
            primary.unwrap_or("absent")
        );
    }
    let mut nic = Nic {
        key: key.to_owned(),
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
            let IpNet::V4(subnet) = parse_cidr(who, "subnet-ipv4-cidr-block", raw_subnet)? else {
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
        if !nic.ipv6.is_empty() {
            // NOTE: the metadata has no IPv6 gateway key; the VPC router's documented
            // link-local address is on-link on every NIC, whatever its subnet.
            out.notes.push(format!(
                "NIC {who}: AWS publishes no IPv6 gateway: using the VPC router's link-local address {IPV6_ROUTER} on this NIC (reserved in every subnet since November 2022)"
            ));
            nic.gateway6 = Some(IPV6_ROUTER);
        }
    }
    // amazon-ec2-net-utils reads `ipv4-prefix`/`ipv6-prefix`; the plural spelling is accepted too.
    for key in [
        "ipv4-prefix",
        "ipv4-prefixes",
        "ipv6-prefix",
        "ipv6-prefixes",
    ] {
        nic.prefixes.extend(super::prefixes(dir, who, key)?);
    }
    Ok(Some(nic))
}
