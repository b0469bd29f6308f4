//! Alibaba Cloud ECS: `network/interfaces/macs/<mac>/…` (lower-case MACs).
//!
//! Three list encodings on one NIC, one decoder each: `private-ipv4s` is JSON-array text
//! (`["a","b"]`), `ipv6s` is a bracketed list *without* quotes (`[a,b]`, not JSON), and
//! CRLF/LF lists elsewhere. The primary NIC is the top-level `mac`. Gateways are published
//! (`gateway`, `ipv6-gateway`); there is no device index, so policy tables use the fallback
//! rule of `metadata::to_spec`. An error in the primary NIC's data is a note unless the
//! primary is configured; a NIC without addresses is skipped by `metadata::to_spec`.

use std::net::{Ipv4Addr, Ipv6Addr};

use anyhow::{Result, anyhow, bail};
use serde_json::Value;

use super::{Decoded, Nic, leaf, lines, netmask_prefix, parse_cidr, parse_ip};

/// `private-ipv4s`: JSON-array text; also accepts a plain LF/CRLF list.
fn private_ipv4s(who: &str, raw: &str) -> Result<Vec<Ipv4Addr>> {
    let items: Vec<String> = if raw.trim_start().starts_with('[') {
        serde_json::from_str::<Vec<String>>(raw.trim()).map_err(|e| {
            anyhow!("NIC {who}: private-ipv4s value {raw:?} is not a JSON array of strings: {e}")
        })?
    } else {
        lines(raw).into_iter().map(str::to_owned).collect()
    };
    items
        .iter()
        .map(|s| parse_ip::<Ipv4Addr>(who, "private-ipv4s", s))
        .collect()
}

/// `ipv6s`: `[a,b]` without quotes (terway strips the brackets and splits on commas).
fn ipv6s(who: &str, raw: &str) -> Result<Vec<Ipv6Addr>> {
    super::loose_list(raw)
        .map(|s| parse_ip::<Ipv6Addr>(who, "ipv6s", s))
        .collect()
}

/// Decodes an Alibaba document.
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
    let mut v4 = match leaf(dir, who, "private-ipv4s")? {
        Some(raw) => private_ipv4s(who, raw)?,
        None => Vec::new(),
    };
    if let Some(raw) = leaf(dir, who, "primary-ip-address")? {
        let p: Ipv4Addr = parse_ip(who, "primary-ip-address", raw)?;
        match v4.iter().position(|a| *a == p) {
            Some(i) => {
                let a = v4.remove(i);
                v4.insert(0, a);
            }
            None if v4.is_empty() => v4.push(p),
            None => bail!(
                "NIC {who}: primary-ip-address {p} is not in private-ipv4s {:?}",
                v4.iter().map(ToString::to_string).collect::<Vec<_>>()
            ),
        }
    }
    if !v4.is_empty() {
        let prefix = match (
            leaf(dir, who, "netmask")?,
            leaf(dir, who, "vswitch-cidr-block")?,
        ) {
            (Some(m), _) => netmask_prefix(who, "netmask", m, 32)?,
            (None, Some(c)) => parse_cidr(who, "vswitch-cidr-block", c)?.prefix_len(),
            (None, None) => bail!(
                "NIC {who}: neither netmask nor vswitch-cidr-block is published: the prefix of {} is unknown",
                v4[0]
            ),
        };
        nic.ipv4 = v4.into_iter().map(|a| (a, prefix)).collect();
        nic.gateway4 = leaf(dir, who, "gateway")?
            .map(|g| parse_ip(who, "gateway", g))
            .transpose()?;
        if nic.gateway4.is_none() {
            out.notes.push(format!(
                "NIC {who}: the metadata has no gateway key: IPv4 is configured without a gateway"
            ));
        }
    }
    if let Some(raw) = leaf(dir, who, "ipv6s")? {
        let v6 = ipv6s(who, raw)?;
        let prefix = match leaf(dir, who, "vswitch-ipv6-cidr-block")? {
            Some(c) => parse_cidr(who, "vswitch-ipv6-cidr-block", c)?.prefix_len(),
            None => {
                out.notes.push(format!(
                    "NIC {who}: no vswitch-ipv6-cidr-block: its IPv6 addresses get /128 (no on-link subnet route)"
                ));
                128
            }
        };
        nic.ipv6 = v6.into_iter().map(|a| (a, prefix)).collect();
        nic.gateway6 = leaf(dir, who, "ipv6-gateway")?
            .map(|g| parse_ip(who, "ipv6-gateway", g))
            .transpose()?;
    }
    // NOTE: no public document names Alibaba's prefix keys (metadata.md §2.2); these are the
    // spellings seen in the field, read only so that the NIC's note names them.
    for key in ["ipv4-prefixes", "ipv6-prefixes"] {
        nic.prefixes.extend(super::prefixes(dir, who, key)?);
    }
    Ok(nic)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_encodings() {
        assert_eq!(
            private_ipv4s("m", "[\"10.0.0.1\",\"10.0.0.2\"]")
                .unwrap()
                .len(),
            2
        );
        assert_eq!(
            private_ipv4s("m", "10.0.0.1\r\n10.0.0.2\r\n")
                .unwrap()
                .len(),
            2
        );
        assert_eq!(ipv6s("m", "[fd00::1, fd00::2]").unwrap().len(), 2);
        let e = private_ipv4s("m", "[10.0.0.1]").unwrap_err().to_string();
        assert!(e.contains("private-ipv4s") && e.contains("NIC m"), "{e}");
        let e = ipv6s("m", "[fd00::zz]").unwrap_err().to_string();
        assert!(e.contains("fd00::zz"), "{e}");
    }
}
