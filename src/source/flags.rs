//! A single interface described by command-line flags.
// The doc comments are clap help text, where `ID[:VERSION]` is plain text, not a doc link.
#![allow(rustdoc::broken_intra_doc_links)]

use anyhow::Result;
use clap::Args;

use crate::model::{ConfigSpec, FamilySpec, InterfaceSpec, PolicyRoutingSpec, RouteSpec};

// Describe one interface with flags instead of `--input`.
#[derive(Debug, Clone, Default, Args)]
#[group(id = "iface", multiple = true)]
pub struct InterfaceFlags {
    /// Interface name (e.g. eth1); required when describing an interface with flags.
    #[arg(
        long,
        value_name = "IFNAME",
        help_heading = "Interface (instead of --input)"
    )]
    pub name: Option<String>,
    /// MAC address of the interface.
    #[arg(
        long,
        value_name = "MAC",
        help_heading = "Interface (instead of --input)"
    )]
    pub mac: Option<String>,
    /// IPv4 address ADDR[/PREFIX]; repeat for secondary private IPs (the first is primary).
    #[arg(
        long = "address",
        value_name = "ADDR[/PREFIX]",
        help_heading = "Interface (instead of --input)"
    )]
    pub addresses: Vec<String>,
    /// IPv4 gateway.
    #[arg(
        long,
        value_name = "IP",
        help_heading = "Interface (instead of --input)"
    )]
    pub gateway: Option<String>,
    /// Use DHCP for IPv4. With cloud metadata: secondary NICs use DHCP instead of static
    /// addresses (and so get no policy routing).
    #[arg(long, help_heading = "Interface (instead of --input)")]
    pub dhcp: bool,
    /// IPv6 address ADDR[/PREFIX]; repeatable.
    #[arg(
        long = "ipv6-address",
        value_name = "ADDR[/PREFIX]",
        help_heading = "Interface (instead of --input)"
    )]
    pub ipv6_addresses: Vec<String>,
    /// IPv6 gateway.
    #[arg(
        long,
        value_name = "IP",
        help_heading = "Interface (instead of --input)"
    )]
    pub ipv6_gateway: Option<String>,
    /// Use DHCPv6 / router advertisements for IPv6.
    #[arg(long, help_heading = "Interface (instead of --input)")]
    pub ipv6_dhcp: bool,
    /// MTU.
    #[arg(
        long,
        value_name = "BYTES",
        help_heading = "Interface (instead of --input)"
    )]
    pub mtu: Option<u32>,
    /// Extra route TO[,via=IP][,metric=N]; repeatable.
    #[arg(
        long = "route",
        value_name = "TO[,via=IP][,metric=N]",
        help_heading = "Interface (instead of --input)"
    )]
    pub routes: Vec<String>,
    /// Policy-routing table id (rule priority = table id).
    #[arg(
        long,
        value_name = "N",
        help_heading = "Interface (instead of --input)"
    )]
    pub table: Option<u32>,
    /// Put the gateway in the main table as a default route.
    #[arg(long, help_heading = "Interface (instead of --input)")]
    pub default_route: bool,
    /// Route metric for this interface's routes.
    #[arg(
        long,
        value_name = "N",
        help_heading = "Interface (instead of --input)"
    )]
    pub metric: Option<u32>,
}

impl InterfaceFlags {
    /// True when any interface flag was given.
    pub fn any(&self) -> bool {
        self.name.is_some()
            || self.mac.is_some()
            || !self.addresses.is_empty()
            || self.gateway.is_some()
            || self.dhcp
            || !self.ipv6_addresses.is_empty()
            || self.ipv6_gateway.is_some()
            || self.ipv6_dhcp
            || self.mtu.is_some()
            || !self.routes.is_empty()
            || self.table.is_some()
            || self.default_route
            || self.metric.is_some()
    }

    /// Builds the one-interface spec; fails on a missing `--name` or a malformed `--route`.
    pub fn to_spec(&self) -> Result<ConfigSpec> {
        let Some(name) = self.name.clone() else {
            return Err(crate::UsageError(
                "--name is required when an interface is described with flags".to_owned(),
            )
            .into());
        };
        let family = |dhcp: bool, addresses: &[String], gateway: &Option<String>| {
            (dhcp || !addresses.is_empty() || gateway.is_some()).then(|| FamilySpec {
                dhcp,
                addresses: addresses.to_vec(),
                gateway: gateway.clone(),
            })
        };
        let routes = self
            .routes
            .iter()
            .map(|r| parse_route(r))
            .collect::<Result<Vec<_>>>()?;
        Ok(ConfigSpec {
            interfaces: vec![InterfaceSpec {
                name,
                mac: self.mac.clone(),
                primary: false,
                mtu: self.mtu,
                ipv4: family(self.dhcp, &self.addresses, &self.gateway),
                ipv6: family(self.ipv6_dhcp, &self.ipv6_addresses, &self.ipv6_gateway),
                routes,
                default_route: self.default_route.then_some(true),
                metric: self.metric,
                policy_routing: self.table.map(|table| PolicyRoutingSpec {
                    table,
                    priority: None,
                }),
            }],
        })
    }
}

/// The flag that sets a key of the interface schema, for errors that name what the user typed
/// (`model::Naming::Flags`); `None` for a key no flag sets.
pub fn flag_for(key: &str) -> Option<&'static str> {
    Some(match key {
        "name" => "--name",
        "mac" => "--mac",
        "mtu" => "--mtu",
        "metric" => "--metric",
        "ipv4.addresses" => "--address",
        "ipv4.gateway" => "--gateway",
        "ipv4.dhcp" => "--dhcp",
        "ipv6.addresses" => "--ipv6-address",
        "ipv6.gateway" => "--ipv6-gateway",
        "ipv6.dhcp" => "--ipv6-dhcp",
        "routes" => "--route",
        "default_route" => "--default-route",
        "policy_routing" | "policy_routing.table" | "policy_routing.priority" => "--table",
        _ => return None,
    })
}

/// Parses `TO[,via=IP][,metric=N]`.
pub fn parse_route(s: &str) -> Result<RouteSpec> {
    let mut parts = s.split(',');
    let to = parts.next().unwrap_or_default().trim();
    if to.is_empty() {
        return Err(crate::UsageError(format!(
            "--route {s:?}: the destination is missing: expected TO[,via=IP][,metric=N]"
        ))
        .into());
    }
    let mut route = RouteSpec {
        to: to.to_owned(),
        via: None,
        metric: None,
    };
    for part in parts {
        match part.split_once('=') {
            Some(("via", v)) if route.via.is_none() => route.via = Some(v.to_owned()),
            Some(("metric", m)) if route.metric.is_none() => {
                route.metric = Some(m.parse().map_err(|_| {
                    anyhow::anyhow!("--route {s:?}: metric {m:?} is not a number 0..=4294967295")
                })?)
            }
            _ => return Err(crate::UsageError(format!(
                "--route {s:?}: unexpected {part:?}: expected TO[,via=IP][,metric=N], each key once"
            ))
            .into()),
        }
    }
    Ok(route)
}

#[cfg(test)]
mod tests {
    use super::flag_for;
    use clap::CommandFactory as _;

    /// Every flag an error can name is one `render` (and `write`) really has.
    #[test]
    fn every_flag_named_in_errors_exists() {
        let mut cli = crate::cli::Cli::command();
        cli.build();
        for command in ["render", "write"] {
            let sub = cli
                .find_subcommand(command)
                .unwrap_or_else(|| panic!("no {command} command"));
            let longs: Vec<&str> = sub.get_arguments().filter_map(|a| a.get_long()).collect();
            for key in [
                "name",
                "mac",
                "mtu",
                "metric",
                "ipv4.addresses",
                "ipv4.gateway",
                "ipv4.dhcp",
                "ipv6.addresses",
                "ipv6.gateway",
                "ipv6.dhcp",
                "routes",
                "default_route",
                "policy_routing",
                "policy_routing.table",
                "policy_routing.priority",
            ] {
                let flag = flag_for(key).unwrap_or_else(|| panic!("{key} has no flag"));
                let long = flag.strip_prefix("--").unwrap_or(flag);
                assert!(longs.contains(&long), "{key}: {command} has no {flag}");
            }
        }
        assert_eq!(flag_for("interfaces"), None);
    }
}
