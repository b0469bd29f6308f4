//! Debian ifupdown (`interfaces(5)`, ifupdown 0.8): one stanza file per interface under
//! `/etc/network/interfaces.d/`, plus, per DHCPv4 interface, a dhclient enter hook when it is
//! secondary or has a metric (it takes the lease's routes away from dhclient-script) and a
//! dhclient exit hook when it has a metric (it puts the metric on the lease's routes).
//!
//! What this module owns:
//! - choosing the stanza file name so the include directive actually present in ROOT's
//!   `/etc/network/interfaces` reads it (distro-matrix.md §3.5), or appending one `source` line
//!   per interface to that file when nothing includes it, each after an [`APPENDED_MARKER`]
//!   comment so that it can be taken out again: every other line is the user's and is kept
//!   byte for byte ([`drop_sources`] is what the writer calls when a stanza file goes);
//! - the stanzas: one `iface NAME inet|inet6 static` stanza per address (ifupdown runs one
//!   `ip addr add` per stanza and undoes it on ifdown), `gateway`/`metric` only for the main
//!   default route, and every other route and rule of the model as `up`/`down` `ip` commands.
//!
//! It must not compute routing: routes and rules come from [`Interface::routes`] and
//! [`Interface::rules`]. It never writes `hwaddress` (that *sets* the MAC), never `|| true`, and
//! fails with `backend ifupdown cannot express ...` rather than dropping anything.

use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;

use anyhow::{Context as _, Result, bail};
use askama::Template;

use super::quote::shell_word;
use super::text::{Push as _, ip, net, num, push_ip_route_args};
use super::{Backend, BackendKind, Commands, Context, FileOut, Rendered, header, render_file};
use crate::glob::glob_match;
use crate::model::{Config, Family, IfName, Interface, KernelRoute, KernelRule};

/// The main interfaces file.
pub const MAIN_FILE: &str = "/etc/network/interfaces";
/// The directory relative `source` paths are resolved against.
const MAIN_DIR: &str = "/etc/network";
/// Where stanza files go.
pub const STANZA_DIR: &str = "/etc/network/interfaces.d";
/// dhclient's Debian enter-hook directory (sourced by `/sbin/dhclient-script` via run-parts).
pub const DHCLIENT_ENTER_HOOKS: &str = "/etc/dhcp/dhclient-enter-hooks.d";
/// dhclient's Debian exit-hook directory (sourced by `/sbin/dhclient-script` via run-parts).
pub const DHCLIENT_EXIT_HOOKS: &str = "/etc/dhcp/dhclient-exit-hooks.d";

/// The ifupdown backend.
pub struct Ifupdown;

/// One option line of a stanza: `    KEY VALUE`.
struct OptionLine {
    key: &'static str,
    value: String,
}

/// One `iface NAME FAMILY METHOD` stanza.
struct Stanza {
    family: &'static str,
    method: &'static str,
    options: Vec<OptionLine>,
}

/// The stanza file of one interface.
#[derive(Template)]
#[template(path = "ifupdown/stanza.txt", escape = "none")]
struct StanzaFile {
    header: String,
    name: String,
    stanzas: Vec<Stanza>,
}

/// The dhclient enter hook that takes the lease's routes (routers and RFC 3442 classless
/// routes) away from dhclient-script: dropped for a secondary NIC, kept for the exit hook
/// otherwise.
#[derive(Template)]
#[template(path = "ifupdown/dhclient-enter-hook.txt", escape = "none")]
struct DhclientEnterHook {
    header: String,
    /// The interface name, for comments.
    name: String,
    /// The interface name as one shell word.
    name_word: String,
    /// A NIC without the main default route: drop every DHCP route (routers, classless).
    secondary: bool,
}

/// The dhclient exit hook that puts the interface's metric on the lease's subnet route and,
/// for a NIC that takes the default route, installs the routes the enter hook kept.
#[derive(Template)]
#[template(path = "ifupdown/dhclient-exit-hook.txt", escape = "none")]
struct DhclientExitHook {
    header: String,
    /// The interface name, for comments.
    name: String,
    /// The interface name as one shell word.
    name_word: String,
    metric: u32,
    /// Install the routes the enter hook kept (a NIC that takes the default route).
    routes: bool,
}

/// `/etc/network/interfaces` with our `source` lines appended, each after its marker comment.
#[derive(Template)]
#[template(path = "ifupdown/interfaces.txt", escape = "none")]
struct MainFile {
    /// Existing contents (ending with a newline), or the header when the file is new.
    existing: String,
    /// [`APPENDED_MARKER`].
    marker: &'static str,
    sources: Vec<Appended>,
}

/// One `source` line enicfg appends to the main file, for the interface `name`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Appended {
    name: String,
    /// `STANZA_DIR/BASE`.
    path: String,
}

impl Backend for Ifupdown {
    fn render(&self, config: &Config, ctx: &Context<'_>) -> Result<Rendered> {
        let main = ctx.root.interfaces_main.as_deref();
        let pieces = main.map(main_pieces).unwrap_or_default();
        let parsed = main.map(parse_main).unwrap_or_default();
        // Only the user's own include directives decide where a stanza file goes: a `source`
        // line enicfg appended earlier is kept below only while it is still needed.
        let users = parse_main(&user_text(&pieces));
        let coverage = users.coverage();
        let mut files = Vec::new();
        let mut appended = Vec::new();
        let mut taken: BTreeMap<String, String> = BTreeMap::new();
        let mut interface_cmds = Vec::new();
        for iface in &config.interfaces {
            let name = iface.name.as_str();
            if let Some(line) = parsed
                .stanzas
                .iter()
                .find(|(_, n)| n == name)
                .map(|(l, _)| *l)
            {
                bail!(
                    "{MAIN_FILE} line {line} already has an iface {name} stanza: enicfg will not write a second \
                     configuration for {name}; remove that stanza first"
                );
            }
            let base = file_base(name);
            if let Some(other) = taken.insert(base.clone(), name.to_owned()) {
                bail!(
                    "interfaces {other} and {name} would both be written to {STANZA_DIR}/{base}: \
                     ifupdown only includes file names made of letters, digits, '_' and '-'"
                );
            }
            let path = match coverage.covering_path(&base) {
                Some(path) => path,
                None => {
                    let path = format!("{STANZA_DIR}/{base}");
                    appended.push(Appended {
                        name: name.to_owned(),
                        path: path.clone(),
                    });
                    path
                }
            };
            let stanzas = stanzas(iface)
                .with_context(|| format!("cannot render the ifupdown stanzas of {name}"))?;
            let contents = StanzaFile {
                header: header(BackendKind::Ifupdown),
                name: name.to_owned(),
                stanzas,
            }
            .render()
            .with_context(|| format!("failed to render the ifupdown stanza of {name}"))?;
            files.push(FileOut {
                path,
                mode: 0o644,
                contents,
            });
            files.extend(dhclient_hooks(iface)?);
            interface_cmds.push(format!("ifdown --force {name}; ifup {name}"));
        }
        if let Some(file) = main_file(main, &pieces, &config.interfaces, appended)? {
            files.push(file);
        }
        files.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(Rendered {
            files,
            commands: Commands {
                restart: ctx.stack.restart_command().to_owned(),
                interface: interface_cmds,
            },
        })
    }
}

/// The main file with the `source` lines the rendered interfaces need, or `None` when it is
/// left as it is. Lines enicfg appended earlier for a rendered interface stay where they are while
/// still needed and go when not (the user's own include now reads its file); those of an
/// interface not rendered are kept here: whether its stanza file goes is the writer's call (an
/// excluded interface keeps it), and the writer drops the line with the file
/// ([`drop_sources`]). Every other line is the user's and is kept byte for byte.
fn main_file(
    main: Option<&str>,
    pieces: &[Piece<'_>],
    interfaces: &[Interface],
    mut wanted: Vec<Appended>,
) -> Result<Option<FileOut>> {
    let rendered = |name: &str| interfaces.iter().any(|i| i.name.as_str() == name);
    let mut kept = String::new();
    for piece in pieces {
        match &piece.appended {
            None => kept.push_str(piece.text),
            Some(a) if !rendered(&a.name) => kept.push_str(piece.text),
            Some(a) => {
                if let Some(i) = wanted.iter().position(|w| w == a) {
                    wanted.remove(i);
                    kept.push_str(piece.text);
                }
            }
        }
    }
    if !wanted.is_empty() && kept.lines().last().is_some_and(continues) {
        bail!(
            "the last line of {MAIN_FILE} ends with a backslash, so ifupdown would join the \
             lines enicfg appends to it: end that line first"
        );
    }
    let existing = match main {
        None if wanted.is_empty() => return Ok(None),
        None => header(BackendKind::Ifupdown),
        Some(_) if wanted.is_empty() || kept.is_empty() || kept.ends_with('\n') => kept,
        Some(_) => format!("{kept}\n"),
    };
    let contents = MainFile {
        existing,
        marker: APPENDED_MARKER,
        sources: wanted,
    }
    .render()
    .with_context(|| format!("failed to render {MAIN_FILE}"))?;
    // Unchanged: left alone. A main file enicfg created itself that has nothing left but its
    // header: not rendered, so the writer removes it.
    if main == Some(contents.as_str()) || contents == header(BackendKind::Ifupdown) {
        return Ok(None);
    }
    Ok(Some(FileOut {
        path: MAIN_FILE.to_owned(),
        mode: 0o644,
        contents,
    }))
}

/// The dhclient hooks of a DHCPv4 interface: an enter hook when it is secondary or has a
/// metric, an exit hook when it has a metric; none otherwise (dhclient-script's own routes are
/// right then).
fn dhclient_hooks(iface: &Interface) -> Result<Vec<FileOut>> {
    let name = iface.name.as_str();
    let mut files = Vec::new();
    if !iface.is_dhcp(Family::Ipv4) {
        return Ok(files);
    }
    if !iface.default_route || iface.metric.is_some() {
        let hook = DhclientEnterHook {
            header: header(BackendKind::Ifupdown),
            name: name.to_owned(),
            name_word: shell_word(name),
            secondary: !iface.default_route,
        };
        let contents = render_file(&hook, &format!("the dhclient enter hook of {name}"))?;
        files.push(FileOut {
            path: dhclient_hook_path(name),
            mode: 0o644,
            contents,
        });
    }
    if let Some(metric) = iface.metric {
        let hook = DhclientExitHook {
            header: header(BackendKind::Ifupdown),
            name: name.to_owned(),
            name_word: shell_word(name),
            metric,
            routes: iface.default_route,
        };
        let contents = render_file(&hook, &format!("the dhclient exit hook of {name}"))?;
        files.push(FileOut {
            path: dhclient_exit_hook_path(name),
            mode: 0o644,
            contents,
        });
    }
    Ok(files)
}

// ---------------------------------------------------------------------------------------------
// Stanzas.
// ---------------------------------------------------------------------------------------------

fn opt(key: &'static str, value: impl Into<String>) -> OptionLine {
    OptionLine {
        key,
        value: value.into(),
    }
}

/// Builds the stanzas of one interface: IPv6 before IPv4, first address first. The MTU goes into
/// the first stanza; the `up` commands into the last one (so every address exists when they run)
/// and the `down` commands into the first one, because ifdown deconfigures the stanzas of an
/// interface in file order: the first stanza's `down` lines run before any address is removed.
///
/// NOTE: IPv6 comes first because every stanza's ifdown ends with `ip link set dev NAME down`,
/// which drops the IPv6 addresses but keeps the IPv4 ones; with IPv4 first, the inet6 stanza's
/// `ip -6 addr del` would then fail. Within a family the first stanza's ifdown flushes the
/// family (`ip -4 addr flush`), so the later stanzas' `ip addr del` report "Address not found"
/// (ifdown still exits 0 and the state is clean); that is ifupdown's own behaviour with
/// repeated stanzas.
fn stanzas(iface: &Interface) -> Result<Vec<Stanza>> {
    let name = iface.name.as_str();
    let mut out: Vec<Stanza> = Vec::new();
    // Main-table default routes are expressed by `gateway` (+ `metric`); everything else by
    // `up`/`down` commands.
    let (main_defaults, others): (Vec<KernelRoute>, Vec<KernelRoute>) = iface
        .routes()
        .into_iter()
        .partition(|r| r.table.is_none() && r.is_default());

    for family in [Family::Ipv6, Family::Ipv4] {
        let fam = match family {
            Family::Ipv4 => "inet",
            Family::Ipv6 => "inet6",
        };
        let configured = match family {
            Family::Ipv4 => iface.ipv4.is_some(),
            Family::Ipv6 => iface.ipv6.is_some(),
        };
        if !configured {
            continue;
        }
        let default = main_defaults.iter().find(|r| r.family() == family);
        if iface.is_dhcp(family) {
            let mut options = Vec::new();
            match family {
                Family::Ipv4 => {
                    // With a metric, enicfg's dhclient hooks install the lease's routes with it
                    // (dhclient_hooks); `metric` (IF_METRIC for dhclient-script) says the same.
                    if let Some(m) = iface.metric {
                        options.push(opt("metric", num(m)));
                    }
                }
                Family::Ipv6 => {
                    // NOTE: DHCPv6 carries no routes; the prefix and default routes come from
                    // router advertisements, which the kernel installs with its own metrics:
                    // ifupdown cannot set them (interfaces(5), inet6 dhcp has no `metric`).
                    if iface.metric.is_some() {
                        bail!(
                            "backend ifupdown cannot express a metric for the IPv6 routes learnt by \
                             DHCPv6/router advertisements (inet6 dhcp has no metric option, and the \
                             kernel installs router-advertisement routes with its own metrics)"
                        );
                    }
                    if !iface.default_route {
                        // inet6 dhcp sets accept_ra=1 (interfaces(5)); keep RA prefixes but never let
                        // an RA install a default route for a secondary NIC.
                        options.push(opt(
                            "pre-up",
                            format!("sysctl -q -w {}", ipv6_sysctl(name, "accept_ra_defrtr", 0)),
                        ));
                    }
                }
            }
            out.push(Stanza {
                family: fam,
                method: "dhcp",
                options,
            });
            continue;
        }
        // IPv6 in reverse: the kernel prefers the newest address (Interface::addresses_to_add).
        let addresses = iface.addresses_to_add(family);
        if let Some(d) = default {
            let via = d.via.context("a main default route without a next hop")?;
            if Some(via) != iface.gateway(family) {
                bail!(
                    "backend ifupdown cannot express a main default route via {via} that is not the {} gateway",
                    family.key()
                );
            }
        }
        // The stanza whose address covers the gateway carries it, so the route is added after
        // its subnet exists (a link-local IPv6 gateway goes with the first address).
        let gw_index = default.and_then(|d| d.via).map(|via| {
            addresses
                .iter()
                .position(|a| a.trunc().contains(&via))
                .unwrap_or(0)
        });
        for (i, addr) in addresses.iter().enumerate() {
            let mut options = vec![opt("address", net(*addr))];
            if family == Family::Ipv6 && i == 0 {
                // NOTE: inet6 static leaves accept_ra at the kernel default (on), so an RA
                // could add a default route to main. The model's gateway is authoritative;
                // only an interface that wants a default route but has no static gateway
                // keeps RAs.
                if !(iface.default_route && iface.gateway(family).is_none()) {
                    options.push(opt("accept_ra", "0"));
                }
            }
            if let Some(via) = default.and_then(|d| d.via).filter(|_| gw_index == Some(i)) {
                options.push(opt("gateway", ip(via)));
                if let Some(m) = default.and_then(|d| d.metric) {
                    options.push(opt("metric", num(m)));
                }
            }
            out.push(Stanza {
                family: fam,
                method: "static",
                options,
            });
        }
    }

    let Some(first) = out.first_mut() else {
        bail!("backend ifupdown cannot express an interface without IPv4 or IPv6 configuration");
    };
    if let Some(mtu) = iface.mtu {
        if first.method == "static" {
            first.options.insert(1, opt("mtu", num(mtu)));
        } else {
            // The dhcp methods have no `mtu` option (interfaces(5)); set it before dhclient runs.
            first.options.insert(
                0,
                opt("pre-up", format!("ip link set dev {name} mtu {mtu}")),
            );
        }
    }
    if iface.ipv6.is_none() {
        // NOTE: with no inet6 stanza nothing touches IPv6 and the kernel default accept_ra=1
        // stays: a router advertisement (an IPv6-enabled VPC) would give the NIC a SLAAC address
        // and a main-table default route. Turned off before the link comes up, as the other
        // backends do for a NIC without IPv6. `-e` only ignores a missing key, i.e. a kernel
        // without IPv6, where there is nothing to turn off.
        // After `address` and `mtu` (static) or the MTU `pre-up` (dhcp).
        let at = first
            .options
            .iter()
            .take_while(|o| matches!(o.key, "address" | "mtu" | "pre-up"))
            .count();
        first.options.insert(
            at,
            opt(
                "pre-up",
                format!("sysctl -q -e -w {}", ipv6_sysctl(name, "accept_ra", 0)),
            ),
        );
    }
    let mut downs = Vec::new();
    for r in &others {
        downs.push(opt("down", route_cmd("del", r, name)));
    }
    for r in iface.rules() {
        downs.push(opt("down", rule_cmd("del", &r)));
    }
    // Undo in reverse order: rules first, then routes, table default before its subnet route.
    downs.reverse();
    first.options.extend(downs);
    let Some(last) = out.last_mut() else {
        bail!("backend ifupdown cannot express an interface without IPv4 or IPv6 configuration");
    };
    for r in &others {
        last.options.push(opt("up", route_cmd("add", r, name)));
    }
    for r in iface.rules() {
        last.options.push(opt("up", rule_cmd("add", &r)));
    }
    Ok(out)
}

/// `net.ipv6.conf.NAME.SETTING=VALUE`, with `.` in the name written as `/` (sysctl(8)).
fn ipv6_sysctl(name: &str, setting: &str, value: u32) -> String {
    format!("net.ipv6.conf.{}.{setting}={value}", name.replace('.', "/"))
}

fn ip_family(family: Family) -> &'static str {
    match family {
        Family::Ipv4 => "ip",
        Family::Ipv6 => "ip -6",
    }
}

/// `ip [-6] route add|del TO [via VIA] dev NAME [metric M] [table T]`.
fn route_cmd(verb: &str, r: &KernelRoute, dev: &str) -> String {
    let mut s = String::with_capacity(96);
    s.s(ip_family(r.family())).s(" route ").s(verb).s(" ");
    push_ip_route_args(&mut s, r, dev);
    s
}

/// `ip [-6] rule add|del from A lookup T priority P`.
fn rule_cmd(verb: &str, r: &KernelRule) -> String {
    let mut s = String::with_capacity(64);
    s.s(ip_family(r.family()))
        .s(" rule ")
        .s(verb)
        .s(" from ")
        .ip(r.from)
        .s(" lookup ")
        .num(r.table)
        .s(" priority ")
        .num(r.priority);
    s
}

// ---------------------------------------------------------------------------------------------
// File names and include directives.
// ---------------------------------------------------------------------------------------------

/// The stanza file's base name: the interface name with every character outside
/// `[A-Za-z0-9_-]` mapped to `_`, because `source-directory` and run-parts ignore other names.
pub fn file_base(name: &str) -> String {
    name.chars()
        .map(|c| if run_parts_char(c) { c } else { '_' })
        .collect()
}

fn run_parts_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

/// `/etc/dhcp/dhclient-enter-hooks.d/enicfg-NAME`, NAME escaped by `hook_file_name`.
pub fn dhclient_hook_path(name: &str) -> String {
    format!("{DHCLIENT_ENTER_HOOKS}/{}", hook_file_name(name))
}

/// `/etc/dhcp/dhclient-exit-hooks.d/enicfg-NAME`, NAME escaped by `hook_file_name`.
pub fn dhclient_exit_hook_path(name: &str) -> String {
    format!("{DHCLIENT_EXIT_HOOKS}/{}", hook_file_name(name))
}

/// `enicfg-NAME`, NAME escaped injectively for run-parts: `_` becomes `__`, any other
/// character outside `[A-Za-z0-9-]` becomes `_XX` (hex).
fn hook_file_name(name: &str) -> String {
    let mut escaped = String::new();
    for c in name.chars() {
        if c == '_' {
            escaped.push_str("__");
        } else if run_parts_char(c) {
            escaped.push(c);
        } else {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                let _ = write!(escaped, "_{b:02x}");
            }
        }
    }
    format!("enicfg-{escaped}")
}

/// The interface name of a dhclient hook (`enicfg-ESCAPED`), undoing [`dhclient_hook_path`]'s
/// escaping; `None` when ESCAPED is not something it produces.
pub fn hook_interface(escaped: &str) -> Option<String> {
    let mut bytes = Vec::new();
    let mut it = escaped.bytes();
    while let Some(b) = it.next() {
        if b != b'_' {
            bytes.push(b);
            continue;
        }
        match it.next()? {
            b'_' => bytes.push(b'_'),
            hi => {
                let lo = it.next()?;
                let hex = [hi, lo];
                let hex = std::str::from_utf8(&hex).ok()?;
                bytes.push(u8::from_str_radix(hex, 16).ok()?);
            }
        }
    }
    String::from_utf8(bytes).ok().filter(|n| !n.is_empty())
}

/// The comment line enicfg writes before each `source` line it appends to the main file,
/// followed by the interface name: `# enicfg: eth2`. interfaces(5) has comments only as whole
/// lines starting with `#` (a `#` after a path is part of the path), so the mark is a line of
/// its own, and a line is enicfg's only as this pair, exactly as written. The name is an
/// [`IfName`] (printable ASCII without whitespace or `\`), so the comment can neither end early
/// nor continue onto the `source` line below it.
pub const APPENDED_MARKER: &str = "# enicfg: ";

/// A piece of the main file, in order: one line of the user's (with its newline), or a marker
/// line and the `source` line below it, which enicfg appended.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Piece<'a> {
    text: &'a str,
    appended: Option<Appended>,
}

/// Splits the main file into [`Piece`]s; concatenated, they are the file byte for byte. A pair
/// is enicfg's only when the marker names a valid interface name and the next line is exactly
/// `source STANZA_DIR/BASE` for that name's [`file_base`].
fn main_pieces(text: &str) -> Vec<Piece<'_>> {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let mut pieces = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        // A line after one ending in a backslash continues it: never a line of its own.
        let continued = i > 0 && continues(lines[i - 1]);
        if let Some(appended) = lines
            .get(i + 1)
            .filter(|_| !continued)
            .and_then(|next| marked_pair(lines[i], next))
        {
            let len = lines[i].len() + lines[i + 1].len();
            let start = lines[..i].iter().map(|l| l.len()).sum::<usize>();
            pieces.push(Piece {
                text: &text[start..start + len],
                appended: Some(appended),
            });
            i += 2;
        } else {
            pieces.push(Piece {
                text: lines[i],
                appended: None,
            });
            i += 1;
        }
    }
    pieces
}

/// Whether ifupdown joins the next line to this one (a trailing backslash).
fn continues(line: &str) -> bool {
    line.strip_suffix('\n').unwrap_or(line).ends_with('\\')
}

/// The [`Appended`] line a marker line and the line after it are, if they are one.
fn marked_pair(marker: &str, source: &str) -> Option<Appended> {
    let name = marker.strip_suffix('\n')?.strip_prefix(APPENDED_MARKER)?;
    // The same check as the model's: a name that is not a valid interface name never came from
    // enicfg.
    let name: IfName = name.parse().ok()?;
    let path = format!("{STANZA_DIR}/{}", file_base(name.as_str()));
    let line = source.strip_suffix('\n').unwrap_or(source);
    (line.strip_prefix("source ") == Some(path.as_str())).then(|| Appended {
        name: name.as_str().to_owned(),
        path,
    })
}

/// The user's lines of the main file: everything but the lines enicfg appended.
fn user_text(pieces: &[Piece<'_>]) -> String {
    pieces
        .iter()
        .filter(|p| p.appended.is_none())
        .map(|p| p.text)
        .collect()
}

/// The main file without the lines enicfg appended (marker and `source` line), or `None` when
/// it has none: the user's own contents. (A file that did not end with a newline before enicfg
/// appended to it has one now.)
pub fn without_appended(text: &str) -> Option<String> {
    let pieces = main_pieces(text);
    pieces
        .iter()
        .any(|p| p.appended.is_some())
        .then(|| user_text(&pieces))
}

/// The main file without the `source` lines that include a stanza file that is gone:
/// `gone(path, marked)` says so for a pair enicfg marked (`marked`), and for a line exactly
/// `source STANZA_DIR/BASE` without a marker (`!marked`): what enicfg appended before it marked
/// its lines. The writer decides what is gone (it knows which files it removes and which it
/// keeps); every other line is kept byte for byte.
pub fn drop_sources(text: &str, gone: &dyn Fn(&str, bool) -> bool) -> String {
    let mut out = String::new();
    let mut continued = false;
    for piece in main_pieces(text) {
        let drop = match &piece.appended {
            Some(a) => gone(&a.path, true),
            None if continued => false,
            None => unmarked_source(piece.text).is_some_and(|path| gone(path, false)),
        };
        continued = continues(piece.text);
        if !drop {
            out.push_str(piece.text);
        }
    }
    out
}

/// The path of a line exactly `source STANZA_DIR/BASE` (BASE a name [`file_base`] can give),
/// the form every enicfg version appended.
fn unmarked_source(line: &str) -> Option<&str> {
    let path = line
        .strip_suffix('\n')
        .unwrap_or(line)
        .strip_prefix("source ")?;
    let base = path.strip_prefix(STANZA_DIR)?.strip_prefix('/')?;
    (!base.is_empty() && base.chars().all(run_parts_char)).then_some(path)
}

/// One include directive of the main file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Include {
    /// `source PATTERN`, made absolute.
    Source(String),
    /// `source-directory DIR`, made absolute, without a trailing `/`.
    SourceDirectory(String),
}

/// What enicfg needs from `/etc/network/interfaces`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MainFacts {
    /// Include directives, in order.
    pub includes: Vec<Include>,
    /// `iface NAME ...` stanzas: (1-based line number, interface name).
    pub stanzas: Vec<(usize, String)>,
}

impl MainFacts {
    /// The first candidate path (`DIR/BASE`, then `DIR/BASE.cfg`) an include reads.
    pub fn covering_path(&self, base: &str) -> Option<String> {
        self.coverage().covering_path(base)
    }

    /// The includes, indexed for [`Coverage::covering_path`].
    pub fn coverage(&self) -> Coverage<'_> {
        let mut coverage = Coverage::default();
        for inc in &self.includes {
            match inc {
                // A `source` line without a wildcard reads exactly one path; after enicfg has
                // written N interfaces there are N of them, so they are looked up, not matched.
                Include::Source(pattern) if !pattern.contains(['*', '?', '[']) => {
                    coverage.literal.insert(pattern.as_str());
                }
                _ => coverage.patterns.push(inc),
            }
        }
        coverage
    }
}

/// The paths the include directives of `/etc/network/interfaces` read.
#[derive(Debug, Default)]
pub struct Coverage<'a> {
    literal: HashSet<&'a str>,
    patterns: Vec<&'a Include>,
}

impl Coverage<'_> {
    /// The first candidate path (`DIR/BASE`, then `DIR/BASE.cfg`) an include reads.
    pub fn covering_path(&self, base: &str) -> Option<String> {
        [
            format!("{STANZA_DIR}/{base}"),
            format!("{STANZA_DIR}/{base}.cfg"),
        ]
        .into_iter()
        .find(|p| {
            self.literal.contains(p.as_str()) || self.patterns.iter().any(|inc| inc.covers(p))
        })
    }
}

impl Include {
    /// Whether this directive makes ifupdown read the absolute `path`.
    pub fn covers(&self, path: &str) -> bool {
        match self {
            Include::Source(pattern) => glob_match(pattern, path),
            Include::SourceDirectory(dir) => match path.rsplit_once('/') {
                Some((parent, file)) => {
                    parent == dir && !file.is_empty() && file.chars().all(run_parts_char)
                }
                None => false,
            },
        }
    }
}

fn absolute(path: &str) -> String {
    let p = if path.starts_with('/') {
        path.to_owned()
    } else {
        format!("{MAIN_DIR}/{path}")
    };
    let trimmed = p.trim_end_matches('/');
    if trimmed.is_empty() {
        "/".to_owned()
    } else {
        trimmed.to_owned()
    }
}

/// Parses the include directives and `iface` stanzas of an `interfaces(5)` file: comments only
/// at the start of a line, a trailing backslash continues the line.
pub fn parse_main(text: &str) -> MainFacts {
    let mut facts = MainFacts::default();
    let mut logical = String::new();
    let mut start = 0;
    for (i, raw) in text.lines().enumerate() {
        if logical.is_empty() {
            start = i + 1;
        }
        if let Some(cont) = raw.strip_suffix('\\') {
            logical.push_str(cont);
            logical.push(' ');
            continue;
        }
        logical.push_str(raw);
        let line = std::mem::take(&mut logical);
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            [first, ..] if first.starts_with('#') => {}
            ["source", path, ..] => facts.includes.push(Include::Source(absolute(path))),
            ["source-directory", dir, ..] => {
                facts.includes.push(Include::SourceDirectory(absolute(dir)))
            }
            ["iface", name, ..] => facts.stanzas.push((start, (*name).to_owned())),
            _ => {}
        }
    }
    facts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob() {
        assert!(glob_match(
            "/etc/network/interfaces.d/*",
            "/etc/network/interfaces.d/eth1"
        ));
        assert!(glob_match(
            "/etc/network/interfaces.d/*.cfg",
            "/etc/network/interfaces.d/eth1.cfg"
        ));
        assert!(!glob_match(
            "/etc/network/interfaces.d/*.cfg",
            "/etc/network/interfaces.d/eth1"
        ));
        assert!(!glob_match(
            "/etc/network/*",
            "/etc/network/interfaces.d/eth1"
        ));
        assert!(glob_match(
            "/etc/network/interfaces.d/eth?",
            "/etc/network/interfaces.d/eth1"
        ));
        assert!(glob_match(
            "/etc/network/interfaces.d/eth[0-9]",
            "/etc/network/interfaces.d/eth1"
        ));
        assert!(!glob_match(
            "/etc/network/interfaces.d/eth[!0-9]",
            "/etc/network/interfaces.d/eth1"
        ));
        assert!(!glob_match(
            "/etc/network/interfaces.d/*",
            "/etc/network/interfaces.d/.hidden"
        ));
    }

    #[test]
    fn includes() {
        let ubuntu = parse_main(
            "auto lo\niface lo inet loopback\n\nsource /etc/network/interfaces.d/*.cfg\n",
        );
        assert_eq!(
            ubuntu.covering_path("eth1").as_deref(),
            Some("/etc/network/interfaces.d/eth1.cfg")
        );
        let debian = parse_main("source-directory /etc/network/interfaces.d/\n");
        assert_eq!(
            debian.covering_path("eth1").as_deref(),
            Some("/etc/network/interfaces.d/eth1")
        );
        let relative = parse_main("source interfaces.d/*\n");
        assert_eq!(
            relative.covering_path("eth1").as_deref(),
            Some("/etc/network/interfaces.d/eth1")
        );
        let commented = parse_main("# source /etc/network/interfaces.d/*\n");
        assert_eq!(commented.covering_path("eth1"), None);
        let continued =
            parse_main("source \\\n /etc/network/interfaces.d/*\niface eth1 inet dhcp\n");
        assert_eq!(
            continued.covering_path("eth1").as_deref(),
            Some("/etc/network/interfaces.d/eth1")
        );
        assert_eq!(continued.stanzas, vec![(3, "eth1".to_owned())]);
    }

    const USERS: &str =
        "# mine\nauto lo\niface lo inet loopback\nsource /etc/network/interfaces.d/eth9\n";

    #[test]
    fn appended_lines_are_the_marked_pairs_only() {
        let text = format!(
            "{USERS}# enicfg: eth1.100\nsource /etc/network/interfaces.d/eth1_100\n\
             # enicfg: eth2\nsource /etc/network/interfaces.d/eth3\n\
             # enicfg: eth 4\nsource /etc/network/interfaces.d/eth_4\n\
             # enicfg: eth5\nsource /etc/network/interfaces.d/eth5 \n\
             up true \\\n# enicfg: eth6\nsource /etc/network/interfaces.d/eth6\n\
             # enicfg: eth7\nsource /etc/network/interfaces.d/eth7"
        );
        let pieces = main_pieces(&text);
        assert_eq!(pieces.iter().map(|p| p.text).collect::<String>(), text);
        let marked: Vec<&str> = pieces
            .iter()
            .filter_map(|p| p.appended.as_ref().map(|a| a.name.as_str()))
            .collect();
        // A marker naming another file, an invalid name, a changed line, a marker that
        // continues the line above: the user's.
        assert_eq!(marked, ["eth1.100", "eth7"]);
        assert_eq!(
            without_appended(&text).as_deref(),
            Some(
                text.replace(
                    "# enicfg: eth1.100\nsource /etc/network/interfaces.d/eth1_100\n",
                    ""
                )
                .replace("# enicfg: eth7\nsource /etc/network/interfaces.d/eth7", "")
                .as_str()
            )
        );
        assert_eq!(without_appended(USERS), None);
    }

    #[test]
    fn dropping_sources_keeps_the_users_lines() {
        let text = format!(
            "{USERS}source /etc/network/interfaces.d/eth8\n\
             # enicfg: eth1\nsource /etc/network/interfaces.d/eth1\n\
             # enicfg: eth2\nsource /etc/network/interfaces.d/eth2\n\
             source /etc/network/interfaces.d/*.cfg\n"
        );
        let asked = std::cell::RefCell::new(Vec::new());
        let gone = |path: &str, marked: bool| {
            asked.borrow_mut().push((path.to_owned(), marked));
            path.ends_with("eth2") || path.ends_with("eth8") || path.ends_with("*.cfg")
        };
        assert_eq!(
            drop_sources(&text, &gone),
            format!(
                "{}# enicfg: eth1\nsource /etc/network/interfaces.d/eth1\n\
                 source /etc/network/interfaces.d/*.cfg\n",
                USERS
            )
        );
        let d = "/etc/network/interfaces.d";
        assert_eq!(
            *asked.borrow(),
            [
                (format!("{d}/eth9"), false),
                (format!("{d}/eth8"), false),
                (format!("{d}/eth1"), true),
                (format!("{d}/eth2"), true),
            ]
        );
    }

    #[test]
    fn names() {
        assert_eq!(file_base("eth1.100"), "eth1_100");
        assert_eq!(
            dhclient_hook_path("eth1.100"),
            "/etc/dhcp/dhclient-enter-hooks.d/enicfg-eth1_2e100"
        );
        assert_eq!(
            dhclient_hook_path("a_b"),
            "/etc/dhcp/dhclient-enter-hooks.d/enicfg-a__b"
        );
        assert_ne!(dhclient_hook_path("a_2e"), dhclient_hook_path("a.")); // a__2e vs a_2e
        assert_eq!(
            dhclient_exit_hook_path("eth1.100"),
            "/etc/dhcp/dhclient-exit-hooks.d/enicfg-eth1_2e100"
        );
    }
}
