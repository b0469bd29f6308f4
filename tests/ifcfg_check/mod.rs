//! Strict readers for ifcfg files, written to the rules of the real parsers
//! (verifying.md §5.3, distro-matrix.md §3.1 and §3.3). They accept exactly the subset enicfg's
//! writers emit and reject whatever the real readers would read differently from bash — NM and
//! wicked silently turn such values into "" or drop them, so a check must fail instead.
#![allow(dead_code)]

use std::collections::BTreeMap;

/// Variables read from a file: last assignment wins, plus the assignment order.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Vars {
    /// key -> value (last wins).
    pub map: BTreeMap<String, String>,
    /// Keys in first-assignment order.
    pub order: Vec<String>,
}

impl Vars {
    fn set(&mut self, k: &str, v: String) {
        if !self.map.contains_key(k) {
            self.order.push(k.to_owned());
        }
        self.map.insert(k.to_owned(), v);
    }
    /// A value, if set.
    pub fn get(&self, k: &str) -> Option<&str> {
        self.map.get(k).map(String::as_str)
    }
}

fn split_key(line: &str, first: fn(char) -> bool) -> Option<(&str, &str)> {
    let eq = line.find('=')?;
    let key = &line[..eq];
    let mut cs = key.chars();
    let ok = cs.next().is_some_and(first) && cs.all(|c| c.is_ascii_alphanumeric() || c == '_');
    ok.then(|| (key, &line[eq + 1..]))
}

/// NetworkManager's `shvar.c` rules (`line_new_parse` + `svUnescape`).
pub fn read_nm(text: &str) -> Result<Vars, String> {
    let mut vars = Vars::default();
    if !text.is_empty() && !text.ends_with('\n') {
        return Err("file does not end with a newline".into());
    }
    for (n, raw) in text.lines().enumerate() {
        let n = n + 1;
        let line = raw.trim_start_matches([' ', '\t']);
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if line.starts_with("export ") {
            return Err(format!(
                "line {n}: `export` is not understood by NetworkManager"
            ));
        }
        let Some((key, rest)) = split_key(line, |c| c.is_ascii_alphabetic() || c == '_') else {
            return Err(format!("line {n}: not a KEY=value line: {raw:?}"));
        };
        let value = nm_unescape(rest).map_err(|e| format!("line {n} ({key}): {e}"))?;
        vars.set(key, value);
    }
    Ok(vars)
}

fn nm_unescape(s: &str) -> Result<String, String> {
    let cs: Vec<char> = s.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < cs.len() {
        let c = cs[i];
        match c {
            ' ' | '\t' | ';' => {
                // The value ended: only whitespace, one ';' or a comment may follow.
                let rest: String = cs[i..].iter().collect();
                let rest = rest.trim_start_matches([' ', '\t']);
                let rest = rest
                    .strip_prefix(';')
                    .unwrap_or(rest)
                    .trim_start_matches([' ', '\t']);
                if rest.is_empty() || rest.starts_with('#') {
                    return Ok(out);
                }
                return Err(format!("text after the value: {rest:?}"));
            }
            '|' | '&' | '(' | ')' | '<' | '>' => return Err(format!("unquoted {c:?}")),
            '$' if cs.get(i + 1) == Some(&'\'') => {
                i += 2;
                loop {
                    let Some(&d) = cs.get(i) else {
                        return Err("unterminated $'".into());
                    };
                    i += 1;
                    match d {
                        '\'' => break,
                        '\\' => {
                            let Some(&e) = cs.get(i) else {
                                return Err("dangling \\".into());
                            };
                            i += 1;
                            out.push(match e {
                                'n' => '\n',
                                't' => '\t',
                                'r' => '\r',
                                '\\' | '\'' | '"' | '?' => e,
                                _ => return Err(format!("unsupported $'' escape \\{e} (strict)")),
                            });
                        }
                        _ => out.push(d),
                    }
                }
            }
            '$' | '`' => return Err(format!("unquoted {c:?} (NM does no expansion)")),
            '\\' => {
                let Some(&e) = cs.get(i + 1) else {
                    return Err("dangling \\ (no line continuation)".into());
                };
                out.push(e);
                i += 2;
            }
            '\'' => {
                i += 1;
                loop {
                    let Some(&d) = cs.get(i) else {
                        return Err("unterminated single quote".into());
                    };
                    i += 1;
                    if d == '\'' {
                        break;
                    }
                    out.push(d);
                }
            }
            '"' => {
                i += 1;
                loop {
                    let Some(&d) = cs.get(i) else {
                        return Err("unterminated double quote".into());
                    };
                    i += 1;
                    match d {
                        '"' => break,
                        '$' | '`' => return Err(format!("unescaped {d:?} inside double quotes")),
                        '\\' => {
                            let Some(&e) = cs.get(i) else {
                                return Err("unterminated double quote".into());
                            };
                            i += 1;
                            match e {
                                '$' | '`' | '"' | '\\' => out.push(e),
                                // NM drops the backslash of \' and \~ but bash keeps it: ambiguous.
                                '\'' | '~' => {
                                    return Err(format!(
                                        "\\{e} is read differently by NM and bash"
                                    ));
                                }
                                _ => {
                                    out.push('\\');
                                    out.push(e);
                                }
                            }
                        }
                        _ => out.push(d),
                    }
                }
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    Ok(out)
}

/// Bytes after which wicked's `fgets` buffer splits a line.
pub const WICKED_MAX_LINE: usize = 511;

/// wicked's `src/sysconfig.c` rules (`fgets` into 512 bytes, `unquote()`), made strict: what
/// wicked would silently drop, split or read differently from bash is an error.
pub fn read_wicked(text: &str) -> Result<Vars, String> {
    let mut vars = Vars::default();
    let ends_nl = text.ends_with('\n');
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    for (n, raw) in lines.iter().enumerate() {
        let n = n + 1;
        let line = raw.strip_suffix('\n').unwrap_or(raw);
        if line.len() >= WICKED_MAX_LINE {
            return Err(format!(
                "line {n} is {} bytes: wicked splits lines of {WICKED_MAX_LINE}+",
                line.len()
            ));
        }
        let line = line.trim_start_matches([' ', '\t']);
        if !line.chars().next().is_some_and(|c| c.is_ascii_alphabetic()) {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            return Err(format!("line {n}: wicked ignores this line: {raw:?}"));
        }
        let Some((key, rest)) = split_key(line, |c| c.is_ascii_alphabetic()) else {
            return Err(format!("line {n}: wicked ignores this line: {raw:?}"));
        };
        let value = match rest.chars().next() {
            Some(q @ ('\'' | '"')) => {
                let body = &rest[1..];
                let Some(end) = body.find(q) else {
                    return Err(format!(
                        "line {n} ({key}): unterminated quote: wicked drops the variable"
                    ));
                };
                let v = &body[..end];
                let after = body[end + 1..].trim_start_matches([' ', '\t']);
                if !(after.is_empty() || after.starts_with('#')) {
                    return Err(format!(
                        "line {n} ({key}): text after the closing quote, ignored by wicked: {after:?}"
                    ));
                }
                if q == '"' && v.contains(['$', '`', '\\']) {
                    return Err(format!(
                        "line {n} ({key}): bash expands inside double quotes, wicked does not"
                    ));
                }
                v.to_owned()
            }
            _ => {
                if n == lines.len() && !ends_nl {
                    return Err(format!(
                        "line {n} ({key}): unquoted value on the last line without a newline: wicked drops it"
                    ));
                }
                let v: &str = rest.split([' ', '\t']).next().unwrap_or("");
                let after = rest[v.len()..].trim_start_matches([' ', '\t']);
                if !(after.is_empty() || after.starts_with('#')) {
                    return Err(format!(
                        "line {n} ({key}): a bare value stops at whitespace; rest {after:?}"
                    ));
                }
                if v.contains(|c: char| !(c.is_ascii_alphanumeric() || "._:/@+,=-".contains(c))) {
                    return Err(format!(
                        "line {n} ({key}): bare value {v:?} has characters bash treats specially"
                    ));
                }
                v.to_owned()
            }
        };
        vars.set(key, value);
    }
    if !text.is_empty() && !ends_nl {
        return Err("file does not end with a newline".into());
    }
    Ok(vars)
}

/// The IPv6 sysctls wicked takes from `ifsysctl` files (`ni_suse_ifcfg_parse_ifsysctl_ipv6` in
/// `client/suse/compat-suse.c`, 0.6.50 through 0.6.80; real-readers.md §3). Anything else —
/// `accept_ra_defrtr` included — is ignored without a word.
pub const WICKED_IFSYSCTL_IPV6: &[&str] = &[
    "disable_ipv6",
    "forwarding",
    "accept_ra",
    "accept_dad",
    "autoconf",
    "use_tempaddr",
    "accept_redirects",
    "addr_gen_mode",
    "stable_secret",
];

/// What wicked applies from an `ifsysctl-IFNAME` file: the per-interface IPv6 settings it
/// honours, as (setting, value). Strict: a line wicked would ignore (another interface, a key
/// it does not read, a malformed line) is an error, since a writer that emits it believes in
/// an effect that never happens.
pub fn read_wicked_ifsysctl(text: &str, ifname: &str) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    let dotted = format!("net.ipv6.conf.{ifname}.");
    let slashed = format!("net/ipv6/conf/{ifname}/");
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        let (key, value) = line
            .split_once('=')
            .map(|(k, v)| (k.trim(), v.trim()))
            .ok_or_else(|| format!("line {}: not KEY = VALUE: {raw:?}", n + 1))?;
        let setting = key
            .strip_prefix(&dotted)
            .or_else(|| key.strip_prefix(&slashed))
            .ok_or_else(|| format!("line {}: {key} is not an IPv6 setting of {ifname}", n + 1))?;
        if !WICKED_IFSYSCTL_IPV6.contains(&setting) {
            return Err(format!(
                "line {}: wicked ignores {setting} in ifsysctl files (it reads only {})",
                n + 1,
                WICKED_IFSYSCTL_IPV6.join(", ")
            ));
        }
        out.insert(setting.to_owned(), value.to_owned());
    }
    Ok(out)
}
