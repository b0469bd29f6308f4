//! Cloud instance metadata as a source: a saved (or freshly crawled) metadata document becomes a
//! [`ConfigSpec`], which [`Config::from_spec`](crate::model::Config::from_spec) then validates
//! like any other input.
//!
//! Each cloud module (`aliyun`, `tencent`, `aws`, `openstack`) only decodes its document into
//! cloud-neutral [`Nic`]s, with one decoder per key because every cloud encodes lists
//! differently. This module then does what is common: pick the primary NIC, name each NIC from
//! the guest's sysfs (or `--ifname`), number the policy tables and build the spec. Whatever is
//! decided without the metadata saying so (AWS's gateway, IPv6 without a gateway, DHCP NICs
//! without policy routing) comes back as a note for the user, never silently; so does every
//! NIC or link left alone ([`Skipped`]: detached, without addresses, a bond or VLAN, the
//! primary when its data is inconsistent), and the error when nothing is left names them all.
//! The primary NIC, when configured, stays on DHCP on the EC2-style clouds ([`to_spec`]).
//!
//! Nothing here does network I/O (that is `source::imds`) or writes files.

pub mod aliyun;
pub mod aws;
pub mod openstack;
pub mod tencent;

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;

use anyhow::{Context as _, Result, anyhow, bail};
use clap::ValueEnum;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::model::{ConfigSpec, FamilySpec, InterfaceSpec, MacAddr, PolicyRoutingSpec, RouteSpec};
use crate::root;

/// The clouds whose metadata enicfg reads. Huawei Cloud is `openstack` (its `network_data.json`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, ValueEnum, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Cloud {
    /// Alibaba Cloud ECS (`100.100.100.200`).
    Aliyun,
    /// Tencent Cloud CVM (`metadata.tencentyun.com`, i.e. `169.254.0.23`).
    Tencent,
    /// AWS EC2 (`169.254.169.254`, IMDSv2).
    Aws,
    /// OpenStack and Huawei Cloud `network_data.json` (`169.254.169.254`).
    Openstack,
}

impl fmt::Display for Cloud {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Cloud::Aliyun => "aliyun",
            Cloud::Tencent => "tencent",
            Cloud::Aws => "aws",
            Cloud::Openstack => "openstack",
        })
    }
}

/// Base for the policy-routing table and rule priority of every secondary NIC.
pub const TABLE_BASE: u32 = 10000;

/// One NIC as the metadata describes it, cloud-neutral.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Nic {
    /// The MAC as the service spells it (Tencent: upper case).
    pub key: String,
    /// The parsed MAC.
    pub mac: Option<MacAddr>,
    /// The instance's primary NIC.
    pub primary: bool,
    /// `(network card, device index)` where the cloud publishes one (AWS).
    pub device: Option<(u32, u32)>,
    /// IPv4 addresses with their prefix, primary first.
    pub ipv4: Vec<(Ipv4Addr, u8)>,
    /// IPv4 gateway.
    pub gateway4: Option<Ipv4Addr>,
    /// IPv6 addresses with their prefix, primary first.
    pub ipv6: Vec<(Ipv6Addr, u8)>,
    /// IPv6 gateway.
    pub gateway6: Option<Ipv6Addr>,
    /// The cloud says IPv4 comes from DHCP (Huawei).
    pub dhcp4: bool,
    /// The cloud says IPv6 comes from DHCPv6/RA.
    pub dhcp6: bool,
    /// Link MTU, where published.
    pub mtu: Option<u32>,
    /// Extra routes through this NIC (OpenStack `routes`).
    pub routes: Vec<RouteSpec>,
    /// Prefixes delegated to the NIC (AWS `ipv4-prefix`/`ipv6-prefix`, Alibaba
    /// `ipv4-prefixes`/`ipv6-prefixes`), as `(key, prefix)`.
    pub prefixes: Vec<(String, ipnet::IpNet)>,
}

impl Nic {
    fn mac(&self) -> Result<MacAddr> {
        self.mac
            .ok_or_else(|| anyhow!("NIC {}: no MAC address", self.key))
    }
}

/// A NIC (or OpenStack link) the metadata lists but enicfg leaves alone, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Skipped {
    /// How to name it to the user: `NIC 0e:1a:2b:3c:4d:02`, `links[2] (bond0)`.
    pub who: String,
    /// The instance's primary NIC.
    pub primary: bool,
    /// Why it is left alone.
    pub reason: String,
    /// The reason is an inconsistency in its data: fatal only if the NIC is to be configured
    /// (the primary NIC with `--include-primary`).
    pub problem: bool,
}

/// What a cloud module returns: the NICs in a stable order, and notes for the user.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Decoded {
    /// The NICs, primary first, then in the cloud's order.
    pub nics: Vec<Nic>,
    /// Things decided without the metadata saying so.
    pub notes: Vec<String>,
    /// NICs and links left alone, each with its reason (named in notes, and in the error when
    /// nothing is left to configure).
    pub skipped: Vec<Skipped>,
}

impl Decoded {
    /// Decodes one NIC with `f`. An error in the primary NIC's data does not fail the document:
    /// the primary is recorded as skipped with the error as a problem, which matters only if
    /// it is configured (`--include-primary`). Errors in other NICs fail the document.
    pub(crate) fn nic_or_problem(
        &mut self,
        who: &str,
        primary: bool,
        f: impl FnOnce(&mut Decoded) -> Result<Option<Nic>>,
    ) -> Result<()> {
        match f(self) {
            Ok(Some(nic)) => self.nics.push(nic),
            Ok(None) => {}
            Err(e) if primary => self.skipped.push(Skipped {
                who: who.to_owned(),
                primary: true,
                reason: format!("{e:#}"),
                problem: true,
            }),
            Err(e) => return Err(e),
        }
        Ok(())
    }

    /// Records a NIC left alone for a reason that is not an error.
    pub(crate) fn skip(
        &mut self,
        who: impl Into<String>,
        primary: bool,
        reason: impl Into<String>,
    ) {
        self.skipped.push(Skipped {
            who: who.into(),
            primary,
            reason: reason.into(),
            problem: false,
        });
    }
}

/// How the metadata becomes interfaces (the metadata flags of `render`/`write`).
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Also configure the primary NIC.
    pub include_primary: bool,
    /// No policy routing for secondary NICs.
    pub no_policy_routing: bool,
    /// Secondary NICs use DHCP instead of static addresses.
    pub dhcp: bool,
    /// `--ifname MAC=NAME`, as given.
    pub ifnames: Vec<String>,
    /// `--primary MAC`: the primary NIC, for documents that mark none (OpenStack).
    pub primary: Option<MacAddr>,
}

/// A spec plus the notes explaining what was decided.
#[derive(Debug, Clone, PartialEq)]
pub struct Converted {
    /// The spec, to be validated by `Config::from_spec`.
    pub spec: ConfigSpec,
    /// Notes for the user (printed on stderr).
    pub notes: Vec<String>,
}

// ---------------------------------------------------------------------------------------------
// Documents: detection and decoding.
// ---------------------------------------------------------------------------------------------

/// Whether a parsed JSON value looks like a metadata document rather than our own schema.
pub fn looks_like_metadata(doc: &Value) -> bool {
    doc.as_object()
        .is_some_and(|obj| keys_look_like_metadata(|key| obj.contains_key(key)))
}

/// [`looks_like_metadata`] for a JSON text, from its top-level keys alone: values are checked
/// for syntax and skipped, never built into a tree, so a large interface description is not
/// parsed twice into memory. Fails where the text is not JSON, with serde_json's position.
pub fn json_looks_like_metadata(text: &str) -> serde_json::Result<bool> {
    let TopKeys(keys) = serde_json::from_str(text)?;
    Ok(keys.is_some_and(|keys| keys_look_like_metadata(|key| keys.iter().any(|k| k == key))))
}

/// The rule both share: a metadata document has one of these keys, and never `interfaces`.
fn keys_look_like_metadata(has: impl Fn(&str) -> bool) -> bool {
    !has("interfaces") && (has("network") || has("links") || has("networks"))
}

/// A JSON value's top-level keys when it is an object (`None` for any other value).
struct TopKeys(Option<Vec<String>>);

impl<'de> Deserialize<'de> for TopKeys {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = TopKeys;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<TopKeys, A::Error> {
                let mut keys = Vec::new();
                while let Some(key) = map.next_key::<String>()? {
                    map.next_value::<serde::de::IgnoredAny>()?;
                    keys.push(key);
                }
                Ok(TopKeys(Some(keys)))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<TopKeys, A::Error> {
                while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                Ok(TopKeys(None))
            }
            fn visit_bool<E>(self, _: bool) -> Result<TopKeys, E> {
                Ok(TopKeys(None))
            }
            fn visit_i64<E>(self, _: i64) -> Result<TopKeys, E> {
                Ok(TopKeys(None))
            }
            fn visit_u64<E>(self, _: u64) -> Result<TopKeys, E> {
                Ok(TopKeys(None))
            }
            fn visit_f64<E>(self, _: f64) -> Result<TopKeys, E> {
                Ok(TopKeys(None))
            }
            fn visit_str<E>(self, _: &str) -> Result<TopKeys, E> {
                Ok(TopKeys(None))
            }
            fn visit_unit<E>(self) -> Result<TopKeys, E> {
                Ok(TopKeys(None))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

/// Tells the cloud from a document's shape. Fails, naming what was seen, when it cannot.
pub fn detect(doc: &Value) -> Result<Cloud> {
    let obj = doc
        .as_object()
        .ok_or_else(|| anyhow!("a metadata document is a JSON object, got {}", kind_of(doc)))?;
    if obj.contains_key("links") || obj.contains_key("networks") {
        return Ok(Cloud::Openstack);
    }
    let macs = macs(obj)?;
    let has = |key: &str| macs.values().any(|m| m.get(key).is_some());
    if macs
        .values()
        .any(|m| m.get("local-ipv4s").is_some_and(Value::is_object))
        || has("primary-local-ipv4")
    {
        return Ok(Cloud::Tencent);
    }
    if has("private-ipv4s") || has("primary-ip-address") || has("network-interface-id") {
        return Ok(Cloud::Aliyun);
    }
    if has("device-number") || has("interface-id") || has("subnet-ipv4-cidr-block") {
        return Ok(Cloud::Aws);
    }
    let keys: Vec<&str> = macs
        .values()
        .filter_map(Value::as_object)
        .flat_map(|m| m.keys().map(String::as_str))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    bail!(
        "unknown cloud metadata shape: the NICs have keys [{}], which match none of aliyun \
         (private-ipv4s), tencent (local-ipv4s/ directory), aws (device-number) or openstack \
         (links/networks); force the kind with --cloud",
        keys.join(", ")
    )
}

/// Decodes a document of a known cloud into NICs. `primary` is `--primary MAC`: it names the
/// primary NIC of a document that marks none (OpenStack); an EC2-style document names its own
/// (the top-level `mac`), so there it must agree.
pub fn decode(cloud: Cloud, doc: &Value, primary: Option<MacAddr>) -> Result<Decoded> {
    let decoded = match cloud {
        Cloud::Aliyun => aliyun::decode(doc),
        Cloud::Tencent => tencent::decode(doc),
        Cloud::Aws => aws::decode(doc),
        Cloud::Openstack => openstack::decode(doc, primary),
    }
    .with_context(|| format!("invalid {cloud} metadata"))?;
    if let Some(want) = primary
        && cloud != Cloud::Openstack
    {
        let named = doc.get("mac").and_then(Value::as_str).unwrap_or_default();
        if named.trim().parse::<MacAddr>().ok() != Some(want) {
            bail!(
                "--primary {want}: the {cloud} metadata names {named} as the primary NIC (top-level \
                 mac); --primary is for documents that mark none (openstack network_data.json)"
            );
        }
    }
    Ok(decoded)
}

/// `network.interfaces.macs` of an EC2-style document.
pub(crate) fn macs(obj: &Map<String, Value>) -> Result<&Map<String, Value>> {
    let mut cur = obj;
    let mut path = String::new();
    for key in ["network", "interfaces", "macs"] {
        path = if path.is_empty() {
            key.to_owned()
        } else {
            format!("{path}/{key}")
        };
        cur = match cur.get(key) {
            None => bail!("the document has no {path}/ directory: it lists no NICs"),
            Some(Value::Object(m)) => m,
            Some(v) => bail!(
                "{path} is not a directory (a JSON object): got {}",
                kind_of(v)
            ),
        };
    }
    if cur.is_empty() {
        bail!("network/interfaces/macs/ is empty: the metadata lists no NICs");
    }
    Ok(cur)
}

/// The document as an object, and each listed NIC's directory (MAC key as listed, object).
/// Fails naming the NIC whose entry is not a directory.
pub(crate) type NicDirs<'a> = (
    &'a Map<String, Value>,
    Vec<(&'a String, &'a Map<String, Value>)>,
);

/// Splits an EC2-style document into the root object and the NIC directories. A MAC listed
/// twice (in different case) fails, naming both keys: which entry is right is not knowable.
pub(crate) fn nic_dirs(doc: &Value) -> Result<NicDirs<'_>> {
    let obj = doc
        .as_object()
        .ok_or_else(|| anyhow!("the document is not a JSON object"))?;
    let mut nics = Vec::new();
    let mut seen: BTreeMap<String, &String> = BTreeMap::new();
    for (key, dir) in macs(obj)? {
        if let Some(other) = seen.insert(key.trim().to_ascii_lowercase(), key) {
            bail!(
                "network/interfaces/macs/ lists the same MAC twice, as {other:?} and {key:?}: \
                 which entry is right cannot be told; fix the document"
            );
        }
        let dir = dir.as_object().ok_or_else(|| {
            anyhow!(
                "NIC {key}: expected a directory (object), got {}",
                kind_of(dir)
            )
        })?;
        nics.push((key, dir));
    }
    Ok((obj, nics))
}

/// The top-level `mac` checked against the listing: it must name one of the listed NICs.
pub(crate) fn listed_top_mac<'a>(
    obj: &'a Map<String, Value>,
    nics: &[(&String, &Map<String, Value>)],
) -> Result<Option<&'a str>> {
    let Some(top) = top_mac(obj)? else {
        return Ok(None);
    };
    if !nics.iter().any(|(k, _)| k.trim().eq_ignore_ascii_case(top)) {
        let listed: Vec<&str> = nics.iter().map(|(k, _)| k.as_str()).collect();
        bail!(
            "the top-level mac {top} (the primary NIC) is not among network/interfaces/macs/, \
             which lists {}",
            listed.join(", ")
        );
    }
    Ok(Some(top))
}

/// The NIC of a directory whose key names it, for clouds whose top-level `mac` names the
/// primary NIC (Alibaba, Tencent).
pub(crate) fn listed_nic(key: &str, primary: &str) -> Result<Nic> {
    Ok(Nic {
        key: key.to_owned(),
        mac: Some(parse_mac(key, key)?),
        primary: key.eq_ignore_ascii_case(primary),
        ..Nic::default()
    })
}

/// Decodes one listed NIC directory (`key`, its directory, the primary's MAC key).
pub(crate) type ListedNic = fn(&mut Decoded, &str, &Map<String, Value>, &str) -> Result<Nic>;

/// The walk Alibaba and Tencent share: every NIC directory of `network/interfaces/macs/`, the
/// top-level `mac` naming the primary, each decoded by `nic` (a problem in one becomes a note
/// or an error as [`Decoded::nic_or_problem`] decides), primary first, then by MAC.
pub(crate) fn decode_listed(doc: &Value, nic: ListedNic) -> Result<Decoded> {
    let (obj, nics) = nic_dirs(doc)?;
    let primary = required_top_mac(obj, &nics)?;
    let mut out = Decoded::default();
    for (key, dir) in nics {
        let is_primary = key.trim().eq_ignore_ascii_case(primary);
        out.nic_or_problem(&format!("NIC {key}"), is_primary, |out| {
            nic(out, key, dir, primary).map(Some)
        })?;
    }
    out.nics.sort_by_key(|n| (!n.primary, n.mac));
    Ok(out)
}

/// The top-level `mac`, which the cloud requires: it names the primary NIC, and must be listed.
pub(crate) fn required_top_mac<'a>(
    obj: &'a Map<String, Value>,
    nics: &[(&String, &Map<String, Value>)],
) -> Result<&'a str> {
    listed_top_mac(obj, nics)?
        .ok_or_else(|| anyhow!("the top-level mac key is missing: it names the primary NIC"))
}

/// Delegated prefixes under `key` (a newline-separated or `[a,b]` list of CIDR blocks).
pub(crate) fn prefixes(
    dir: &Map<String, Value>,
    who: &str,
    key: &str,
) -> Result<Vec<(String, ipnet::IpNet)>> {
    let Some(raw) = leaf(dir, who, key)? else {
        return Ok(Vec::new());
    };
    loose_list(raw)
        .map(|s| Ok((key.to_owned(), parse_cidr(who, key, s)?)))
        .collect()
}

/// The items of a list value as the clouds write them loosely: `[a,b]` with or without quotes,
/// or one item per line (Alibaba's `ipv6s`, prefixes); empty items dropped.
pub(crate) fn loose_list(raw: &str) -> impl Iterator<Item = &str> {
    let t = raw.trim();
    t.strip_prefix('[')
        .and_then(|s| s.strip_suffix(']'))
        .unwrap_or(t)
        .split([',', '\n'])
        .map(|s| s.trim().trim_matches('"'))
        .filter(|s| !s.is_empty())
}

/// A short description of a JSON value for error messages.
pub(crate) fn kind_of(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("the boolean {b}"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) => format!("the string {s:?}"),
        Value::Array(_) => "an array".into(),
        Value::Object(_) => "a directory (object)".into(),
    }
}

/// A string leaf of an EC2-style directory: `None` when absent (HTTP 404 on the service).
pub(crate) fn leaf<'a>(
    dir: &'a Map<String, Value>,
    who: &str,
    key: &str,
) -> Result<Option<&'a str>> {
    match dir.get(key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(v) => bail!(
            "NIC {who}: {key} must be a string (the raw HTTP body), got {}",
            kind_of(v)
        ),
    }
}

/// Like [`leaf`] for a key inside a sub-directory `dir_path` (named in errors).
pub(crate) fn leaf_at<'a>(
    dir: &'a Map<String, Value>,
    who: &str,
    key: &str,
    dir_path: &str,
) -> Result<Option<&'a str>> {
    match dir.get(key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(v) => bail!(
            "NIC {who}: {dir_path}/{key} must be a string (the raw HTTP body), got {}",
            kind_of(v)
        ),
    }
}

/// The top-level `mac` of an EC2-style document.
pub(crate) fn top_mac(obj: &Map<String, Value>) -> Result<Option<&str>> {
    match obj.get("mac") {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.trim())),
        Some(v) => bail!("top-level mac must be a string, got {}", kind_of(v)),
    }
}

/// Parses a MAC as listed by the service, naming the key on failure.
pub(crate) fn parse_mac(who: &str, raw: &str) -> Result<MacAddr> {
    raw.trim()
        .parse::<MacAddr>()
        .map_err(|e| anyhow!("NIC {who}: {e}"))
}

/// Parses one address of a family, naming NIC, key and value on failure.
pub(crate) fn parse_ip<A: std::str::FromStr>(who: &str, key: &str, raw: &str) -> Result<A> {
    raw.trim()
        .parse::<A>()
        .map_err(|_| anyhow!("NIC {who}: {key} value {raw:?} is not a valid address"))
}

/// A dotted netmask (IPv4 or IPv6) or a bare prefix length -> prefix length.
pub(crate) fn netmask_prefix(who: &str, key: &str, raw: &str, max: u8) -> Result<u8> {
    let raw_t = raw.trim();
    if let Ok(p) = raw_t.parse::<u8>()
        && p <= max
    {
        return Ok(p);
    }
    let bits: u128 = match raw_t.parse::<IpAddr>() {
        Ok(IpAddr::V4(m)) if max == 32 => u128::from(u32::from(m)) << 96,
        Ok(IpAddr::V6(m)) if max == 128 => u128::from(m),
        _ => bail!("NIC {who}: {key} value {raw:?} is not a netmask"),
    };
    let ones = bits.leading_ones();
    if bits.checked_shl(ones).unwrap_or(0) != 0 {
        bail!("NIC {who}: {key} value {raw:?} is not a contiguous netmask");
    }
    u8::try_from(ones).map_err(|_| anyhow!("NIC {who}: {key} value {raw:?} is not a netmask"))
}

/// A CIDR block leaf (`10.0.2.0/24`).
pub(crate) fn parse_cidr(who: &str, key: &str, raw: &str) -> Result<ipnet::IpNet> {
    raw.trim()
        .parse::<ipnet::IpNet>()
        .map_err(|_| anyhow!("NIC {who}: {key} value {raw:?} is not a CIDR block like 10.0.2.0/24"))
}

/// Newline (LF or CRLF) separated list, blank lines dropped.
pub(crate) fn lines(raw: &str) -> Vec<&str> {
    raw.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect()
}

// ---------------------------------------------------------------------------------------------
// NICs -> spec.
// ---------------------------------------------------------------------------------------------

/// Reads `ROOT/sys/class/net/*/address`: (interface, lower-case MAC, has a `device` link).
///
/// NOTE: the entries of `/sys/class/net` are symlinks to `../../devices/...` by kernel design;
/// [`root`] resolves them inside ROOT (for ROOT `/`, that is the real sysfs). An entry without
/// an `address` (like `bonding_masters`, a file) is not an interface.
pub fn sysfs_macs(root: &Path) -> Result<Vec<(String, String, bool)>> {
    let mut out = Vec::new();
    for name in root::read_dir_names(root, "/sys/class/net")?.unwrap_or_default() {
        let Some(addr) = root::read_optional(root, &format!("/sys/class/net/{name}/address"))?
        else {
            continue;
        };
        let physical = root::exists(root, &format!("/sys/class/net/{name}/device"))?;
        out.push((name, addr.trim().to_ascii_lowercase(), physical));
    }
    out.sort();
    Ok(out)
}

/// Parses `--ifname MAC=NAME` values.
fn parse_ifnames(raw: &[String]) -> Result<BTreeMap<MacAddr, String>> {
    let mut out = BTreeMap::new();
    for r in raw {
        let Some((mac, name)) = r.split_once('=') else {
            bail!("--ifname {r:?}: expected MAC=NAME, like 0e:1a:2b:3c:4d:02=eth1");
        };
        let mac: MacAddr = mac
            .trim()
            .parse()
            .map_err(|e| anyhow!("--ifname {r:?}: {e}"))?;
        if out.insert(mac, name.trim().to_owned()).is_some() {
            bail!("--ifname {mac} is given twice");
        }
    }
    Ok(out)
}

/// Finds the guest interface name of every NIC; lists all unmatched MACs at once.
fn names(nics: &[Nic], ifnames: &[String], root: &Path) -> Result<Vec<String>> {
    let overrides = parse_ifnames(ifnames)?;
    let sysfs = if nics
        .iter()
        .all(|n| n.mac.is_some_and(|m| overrides.contains_key(&m)))
    {
        Vec::new()
    } else {
        sysfs_macs(root)?
    };
    let mut out = Vec::new();
    let mut unmatched = Vec::new();
    for nic in nics {
        let mac = nic.mac()?;
        if let Some(name) = overrides.get(&mac) {
            out.push(name.clone());
            continue;
        }
        let want = mac.to_string();
        let mut found: Vec<&(String, String, bool)> =
            sysfs.iter().filter(|(_, a, _)| *a == want).collect();
        if found.len() > 1 {
            // VLANs, bonds and macvlans copy their parent's MAC: keep the physical ones.
            found.retain(|(_, _, physical)| *physical);
        }
        match found.as_slice() {
            [one] => out.push(one.0.clone()),
            [] => unmatched.push(want),
            many => {
                let list: Vec<&str> = many.iter().map(|(n, _, _)| n.as_str()).collect();
                bail!(
                    "MAC {want} belongs to several physical interfaces under {}: {}; name it with --ifname {want}=NAME",
                    root::in_root(root, "/sys/class/net").display(),
                    list.join(", ")
                );
            }
        }
    }
    if !unmatched.is_empty() {
        let example = unmatched.first().cloned().unwrap_or_default();
        bail!(
            "no interface under {} has MAC {}: in an image build (or before the NIC is attached) \
             name each NIC with --ifname MAC=NAME, e.g. --ifname {example}=eth1",
            root::in_root(root, "/sys/class/net").display(),
            unmatched.join(", ")
        );
    }
    Ok(out)
}

/// The number at the end of an interface name (`eth1` -> 1, `ens5` -> 5).
fn name_number(name: &str) -> Option<u32> {
    let digits: String = name
        .chars()
        .rev()
        .take_while(char::is_ascii_digit)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    digits.parse().ok()
}

/// Device index of each secondary NIC where the cloud gives none: the number at the end of its
/// interface name when every secondary NIC has a distinct one in 1..=99, else its position
/// (1, 2, ...) among the secondary NICs in MAC order.
fn fallback_indexes(names: &[&str], macs: &[MacAddr]) -> Vec<u32> {
    let numbers: Vec<Option<u32>> = names.iter().map(|n| name_number(n)).collect();
    let distinct: std::collections::BTreeSet<u32> = numbers.iter().flatten().copied().collect();
    if numbers
        .iter()
        .all(|n| n.is_some_and(|n| (1..=99).contains(&n)))
        && distinct.len() == names.len()
    {
        return numbers.into_iter().flatten().collect();
    }
    let mut order: Vec<usize> = (0..macs.len()).collect();
    order.sort_by_key(|i| macs[*i]);
    let mut out = vec![0; macs.len()];
    for (pos, i) in order.into_iter().enumerate() {
        out[i] = u32::try_from(pos + 1).unwrap_or(u32::MAX);
    }
    out
}

/// NICs -> spec: drops the primary unless asked for, skips NICs without addresses, names the
/// NICs, numbers the policy tables; every NIC left alone is named in a note with its reason.
///
/// The primary NIC, with `--include-primary`, keeps what the cloud gives it by DHCP on the
/// EC2-style clouds (AWS, Alibaba, Tencent serve the primary NIC's address, gateway, DNS and MTU
/// by DHCP): IPv4 by DHCP, IPv6 by DHCPv6/RA where the metadata lists IPv6, no policy routing.
/// Its secondary IPs are named in a note: the model cannot add static addresses next to DHCP.
/// OpenStack documents say per network how a NIC is configured, the primary included.
pub fn to_spec(cloud: Cloud, decoded: Decoded, opts: &Options, root: &Path) -> Result<Converted> {
    let Decoded {
        nics,
        mut notes,
        skipped,
    } = decoded;
    let ec2_style = cloud != Cloud::Openstack;
    let primary: Vec<(String, Option<MacAddr>)> = nics
        .iter()
        .filter(|n| n.primary)
        .map(|n| (n.key.clone(), n.mac))
        .collect();
    if !opts.include_primary || ec2_style {
        // Notes about a NIC that is left alone (or kept on DHCP) would only confuse.
        notes.retain(|n| {
            !primary
                .iter()
                .any(|(p, _)| n.starts_with(&format!("NIC {p}:")))
        });
    }
    let mut left_alone = Vec::new();
    for (p, _) in &primary {
        if !opts.include_primary {
            left_alone.push(format!(
                "NIC {p} is the primary NIC, left alone unless --include-primary is given"
            ));
        }
    }
    for s in &skipped {
        if s.primary && s.problem {
            if opts.include_primary {
                bail!(
                    "{} is the primary NIC, which --include-primary configures, and its data is \
                     inconsistent: {}",
                    s.who,
                    s.reason
                );
            }
            notes.push(format!(
                "{} is the primary NIC, left alone; its data is inconsistent, which would matter \
                 only with --include-primary: {}",
                s.who, s.reason
            ));
            left_alone.push(format!("{} is the primary NIC, left alone", s.who));
        } else {
            notes.push(format!("{}: skipped: {}", s.who, s.reason));
            left_alone.push(format!("{} is skipped: {}", s.who, s.reason));
        }
    }
    let mut kept = Vec::new();
    for nic in nics {
        if nic.primary && !opts.include_primary {
            continue;
        }
        let bare = nic.ipv4.is_empty() && nic.ipv6.is_empty() && !nic.dhcp4 && !nic.dhcp6;
        if bare && !nic.primary && !opts.dhcp {
            let mac = nic.mac()?;
            let reason = format!(
                "the metadata lists no address for it (a NIC attached a moment ago has none yet): \
                 read the service again with --imds {cloud} --wait-for {mac}, or configure it by \
                 DHCP with --dhcp"
            );
            notes.push(format!("NIC {}: skipped: {reason}", nic.key));
            left_alone.push(format!("NIC {} is skipped: {reason}", nic.key));
            continue;
        }
        kept.push(nic);
    }
    let nics = kept;
    if nics.is_empty() {
        if skipped.is_empty() && left_alone.len() == 1 && primary.len() == 1 {
            bail!(
                "nothing to configure: the {cloud} metadata lists only the primary NIC {}, which is \
                 left alone unless --include-primary is given",
                primary[0].0
            );
        }
        if left_alone.is_empty() {
            bail!("nothing to configure: the {cloud} metadata lists no NIC");
        }
        bail!(
            "nothing to configure in the {cloud} metadata: {}",
            left_alone.join("; ")
        );
    }
    let names = names(&nics, &opts.ifnames, root)?;

    let secondary: Vec<usize> = (0..nics.len()).filter(|i| !nics[*i].primary).collect();
    let sec_names: Vec<&str> = secondary.iter().map(|i| names[*i].as_str()).collect();
    let sec_macs: Vec<MacAddr> = secondary.iter().filter_map(|i| nics[*i].mac).collect();
    let fallback = fallback_indexes(&sec_names, &sec_macs);

    let mut interfaces = Vec::new();
    for (i, (nic, name)) in nics.iter().zip(&names).enumerate() {
        let mac = nic.mac()?;
        let bare = nic.ipv4.is_empty() && nic.ipv6.is_empty();
        let (dhcp4, dhcp6) = if nic.primary && ec2_style {
            primary_on_dhcp(cloud, nic, name, &mut notes);
            (!nic.ipv4.is_empty() || bare, !nic.ipv6.is_empty())
        } else {
            let wanted = opts.dhcp && !nic.primary;
            (
                nic.dhcp4 || (wanted && (!nic.ipv4.is_empty() || (bare && !nic.dhcp6))),
                nic.dhcp6 || (wanted && !nic.ipv6.is_empty()),
            )
        };
        let ipv4 = if dhcp4 {
            Some(FamilySpec {
                dhcp: true,
                ..FamilySpec::default()
            })
        } else if nic.ipv4.is_empty() {
            None
        } else {
            Some(FamilySpec {
                dhcp: false,
                addresses: nic.ipv4.iter().map(|(a, p)| format!("{a}/{p}")).collect(),
                gateway: nic.gateway4.map(|g| g.to_string()),
            })
        };
        let ipv6 = if dhcp6 {
            Some(FamilySpec {
                dhcp: true,
                ..FamilySpec::default()
            })
        } else if nic.ipv6.is_empty() {
            None
        } else {
            if nic.gateway6.is_none() {
                notes.push(format!(
                    "{name} ({mac}): the {cloud} metadata publishes IPv6 addresses but no IPv6 gateway: \
                     the addresses are configured statically without a gateway, so IPv6 from them \
                     reaches only their subnet (no IPv6 default route, no IPv6 policy table)"
                ));
            }
            Some(FamilySpec {
                dhcp: false,
                addresses: nic.ipv6.iter().map(|(a, p)| format!("{a}/{p}")).collect(),
                gateway: nic.gateway6.map(|g| g.to_string()),
            })
        };
        if ipv4.is_none() && ipv6.is_none() {
            // Only the primary NIC of an OpenStack document can get here (bare NICs are skipped
            // above, EC2-style primaries use DHCP).
            bail!(
                "NIC {} ({name}): the metadata gives it no address and no DHCP",
                nic.key
            );
        }
        let has_static_gw =
            (!dhcp4 && nic.gateway4.is_some()) || (!dhcp6 && nic.gateway6.is_some());
        let policy_routing = if nic.primary || opts.no_policy_routing {
            None
        } else if !has_static_gw {
            let why = if opts.dhcp && !bare {
                "--dhcp: its gateway is only known from the lease; without --dhcp its addresses \
                 from the metadata are configured statically, with policy routing"
            } else {
                "the metadata publishes no gateway for it (DHCP, or none published); add the rules \
                 by hand if replies must leave through it"
            };
            notes.push(format!("{name} ({mac}): no policy routing: {why}"));
            None
        } else {
            let table = match nic.device {
                Some((card, device)) => TABLE_BASE + 100 * card + device,
                None => {
                    let pos = secondary.iter().position(|s| *s == i).unwrap_or(0);
                    TABLE_BASE + fallback.get(pos).copied().unwrap_or(0)
                }
            };
            Some(PolicyRoutingSpec {
                table,
                priority: Some(table),
            })
        };
        let kept_on_dhcp = nic.primary && ec2_style;
        if !nic.prefixes.is_empty() && !kept_on_dhcp {
            prefix_note(cloud, nic, name, policy_routing.as_ref(), &mut notes);
        }
        interfaces.push(InterfaceSpec {
            name: name.clone(),
            mac: Some(mac.to_string()),
            primary: nic.primary,
            mtu: nic.mtu,
            ipv4,
            ipv6,
            routes: nic.routes.clone(),
            default_route: None,
            metric: None,
            policy_routing,
        });
    }
    Ok(Converted {
        spec: ConfigSpec { interfaces },
        notes,
    })
}

/// The note for a primary NIC kept on DHCP: what it gets, and what the metadata adds that is
/// not configured (secondary IPs, delegated prefixes).
fn primary_on_dhcp(cloud: Cloud, nic: &Nic, name: &str, notes: &mut Vec<String>) {
    let mac = nic.mac.map(|m| m.to_string()).unwrap_or_default();
    let how = if nic.ipv6.is_empty() {
        "IPv4 by DHCP"
    } else if nic.ipv4.is_empty() {
        "IPv6 by DHCPv6 and router advertisements"
    } else {
        "IPv4 by DHCP, IPv6 by DHCPv6 and router advertisements"
    };
    let mut note = format!(
        "{name} ({mac}) is the primary NIC: it stays on {how}, as the {cloud} network serves it \
         (address, gateway, DNS servers and MTU come from the lease); no policy routing"
    );
    let extra: Vec<String> = nic
        .ipv4
        .iter()
        .skip(1)
        .map(|(a, _)| a.to_string())
        .chain(nic.ipv6.iter().skip(1).map(|(a, _)| a.to_string()))
        .collect();
    if !extra.is_empty() {
        note.push_str(&format!(
            "; its secondary IPs {} are NOT configured: enicfg cannot add static addresses next \
             to DHCP (add them in the image's own configuration)",
            extra.join(", ")
        ));
    }
    if !nic.prefixes.is_empty() {
        let list: Vec<String> = nic.prefixes.iter().map(|(_, p)| p.to_string()).collect();
        note.push_str(&format!(
            "; its delegated prefixes {} are not configured",
            list.join(", ")
        ));
    }
    notes.push(note);
}

/// The note for delegated prefixes: enicfg's policy rules take a host address as source, so
/// `from PREFIX lookup TABLE` (what amazon-ec2-net-utils adds) is not expressible.
fn prefix_note(
    cloud: Cloud,
    nic: &Nic,
    name: &str,
    policy: Option<&PolicyRoutingSpec>,
    notes: &mut Vec<String>,
) {
    let mac = nic.mac.map(|m| m.to_string()).unwrap_or_default();
    let list: Vec<String> = nic
        .prefixes
        .iter()
        .map(|(k, p)| format!("{p} ({k})"))
        .collect();
    let hint = match policy {
        Some(p) => format!(
            "to route replies from them through this NIC, add `ip rule add from PREFIX lookup {} \
             priority {}` for each",
            p.table,
            p.priority.unwrap_or(p.table)
        ),
        None => "they are not routed by enicfg".to_owned(),
    };
    notes.push(format!(
        "{name} ({mac}): the {cloud} metadata delegates the prefixes {} to this NIC; enicfg does \
         not configure them (its policy rules take single source addresses, not prefixes): {hint}",
        list.join(", ")
    ));
}

/// Parses document text as JSON, naming the origin on failure.
pub fn parse_document(text: &str, origin: &str) -> Result<Value> {
    serde_json::from_str(text).with_context(|| format!("{origin}: invalid JSON metadata document"))
}

/// Document text -> spec, for `--input FILE` with (or without) `--cloud`.
pub fn load(
    doc: &Value,
    forced: Option<Cloud>,
    opts: &Options,
    root: &Path,
) -> Result<(Cloud, Converted)> {
    let cloud = match forced {
        Some(c) => c,
        None => detect(doc)?,
    };
    let decoded = decode(cloud, doc, opts.primary)?;
    Ok((cloud, to_spec(cloud, decoded, opts, root)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sysfs_entries_are_links_resolved_inside_the_root() {
        use std::os::unix::fs::symlink;
        let t = tempfile::tempdir().unwrap();
        let r = t.path();
        let dev = r.join("sys/devices/pci0000:00/0000:00:05.0");
        std::fs::create_dir_all(dev.join("net/eth1")).unwrap();
        std::fs::write(dev.join("net/eth1/address"), "0E:1A:2B:3C:4D:02\n").unwrap();
        symlink("../../../0000:00:05.0", dev.join("net/eth1/device")).unwrap();
        let virt = r.join("sys/devices/virtual/net/lo");
        std::fs::create_dir_all(&virt).unwrap();
        std::fs::write(virt.join("address"), "00:00:00:00:00:00\n").unwrap();
        let class = r.join("sys/class/net");
        std::fs::create_dir_all(&class).unwrap();
        symlink(
            "../../devices/pci0000:00/0000:00:05.0/net/eth1",
            class.join("eth1"),
        )
        .unwrap();
        // An absolute link is resolved inside ROOT too, never in the host's /sys.
        symlink("/sys/devices/virtual/net/lo", class.join("lo")).unwrap();
        std::fs::write(class.join("bonding_masters"), "\n").unwrap();
        assert_eq!(
            sysfs_macs(r).unwrap(),
            vec![
                ("eth1".to_owned(), "0e:1a:2b:3c:4d:02".to_owned(), true),
                ("lo".to_owned(), "00:00:00:00:00:00".to_owned(), false),
            ]
        );
    }

    #[test]
    fn netmasks() {
        assert_eq!(
            netmask_prefix("x", "netmask", "255.255.255.0", 32).unwrap(),
            24
        );
        assert_eq!(netmask_prefix("x", "netmask", "0.0.0.0", 32).unwrap(), 0);
        assert_eq!(
            netmask_prefix("x", "netmask", "ffff:ffff:ffff:ffff::", 128).unwrap(),
            64
        );
        assert_eq!(netmask_prefix("x", "netmask", "64", 128).unwrap(), 64);
        let e = netmask_prefix("x", "netmask", "255.0.255.0", 32).unwrap_err();
        assert!(e.to_string().contains("contiguous"), "{e}");
        assert!(netmask_prefix("x", "netmask", "nope", 32).is_err());
    }

    #[test]
    fn fallback_numbers_follow_names_or_mac_order() {
        let m = |s: &str| s.parse::<MacAddr>().unwrap();
        assert_eq!(
            fallback_indexes(
                &["eth2", "eth1"],
                &[m("00:16:3e:00:00:01"), m("00:16:3e:00:00:02")]
            ),
            [2, 1]
        );
        assert_eq!(
            fallback_indexes(
                &["eth1", "ens1"],
                &[m("00:16:3e:00:00:09"), m("00:16:3e:00:00:02")]
            ),
            [2, 1]
        );
    }
}
