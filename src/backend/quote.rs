//! Quoting, one function per format, each tested against that format's real parser rules
//! (distro-matrix.md §3).
//!
//! Every value a backend writes into a shell-style file passes through exactly one function
//! here; nothing else concatenates user-derived text into such a file.

use std::borrow::Cow;

use anyhow::{Result, bail};

/// Characters an ifcfg-rh value may carry bare: bash, NetworkManager's `shvar.c` and the
/// initscripts `grep`s all read them literally (distro-matrix.md §3.1, "safe writer subset").
fn rh_bare_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'.' | b'_' | b':' | b'/' | b'@' | b'+' | b',' | b'=' | b'-'
        )
}

/// Rejects what no ifcfg reader can take safely: control characters (newline included) and
/// DEL. (`&str` is always valid UTF-8, so non-UTF-8 cannot reach this point.)
fn reject_control(format: &str, value: &str) -> Result<()> {
    if let Some(c) = value.chars().find(|c| c.is_control()) {
        bail!(
            "backend {format} cannot express the value {value:?}: it contains the control character {c:?}, \
             which the file's readers would split or misread"
        );
    }
    Ok(())
}

/// Quotes a value for a RHEL-family ifcfg file (read by bash *and* by NetworkManager's
/// `shvar.c`): bare when every character is in `[A-Za-z0-9._:/@+,=-]`, otherwise in double
/// quotes with `\`, `"`, `$` and `` ` `` backslash-escaped. Control characters are an error.
/// The empty string becomes `""`. A bare value is the value itself (borrowed).
pub fn ifcfg_rh(value: &str) -> Result<Cow<'_, str>> {
    // Bare (ASCII, no control character): the common case, checked first.
    if !value.is_empty() && value.bytes().all(rh_bare_byte) {
        return Ok(Cow::Borrowed(value));
    }
    reject_control("ifcfg-rh", value)?;
    let mut out = String::with_capacity(value.len() + 8);
    out.push('"');
    // The four escaped characters are ASCII, so a split before one is a char boundary.
    let mut rest = value;
    while let Some(at) = rest.find(['\\', '"', '$', '`']) {
        let (plain, special) = rest.split_at(at);
        out.push_str(plain);
        out.push('\\');
        let (c, after) = special.split_at(1);
        out.push_str(c);
        rest = after;
    }
    out.push_str(rest);
    out.push('"');
    Ok(Cow::Owned(out))
}

/// Quotes a value for a SUSE ifcfg file (read by wicked's `unquote()`, which knows no escapes,
/// and sourced by SLES 11's bash scripts): always `'value'`. A `'`, a control character
/// (newline included) is an error, because neither reader could get it back.
pub fn ifcfg_suse(value: &str) -> Result<Cow<'_, str>> {
    reject_control("ifcfg-suse", value)?;
    if value.contains('\'') {
        bail!(
            "backend ifcfg-suse cannot express the value {value:?}: it contains a single quote, \
             which wicked's unquote() cannot escape"
        );
    }
    let mut out = String::with_capacity(value.len() + 2);
    out.push('\'');
    out.push_str(value);
    out.push('\'');
    Ok(Cow::Owned(out))
}

/// Checks a variable name for a RHEL-family ifcfg file: `[A-Za-z_][A-Za-z0-9_]*`
/// (NetworkManager's `line_new_parse`).
pub fn check_rh_key(key: &str) -> Result<()> {
    let mut chars = key.chars();
    let ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !ok {
        bail!(
            "backend ifcfg-rh cannot use the variable name {key:?}: names are [A-Za-z_][A-Za-z0-9_]*"
        );
    }
    Ok(())
}

/// Checks a variable name for a SUSE ifcfg file: `[A-Z][A-Z0-9_]*` (wicked wants a leading
/// letter; upper case keeps it apart from shell internals).
pub fn check_suse_key(key: &str) -> Result<()> {
    let mut chars = key.chars();
    let ok = chars.next().is_some_and(|c| c.is_ascii_uppercase())
        && chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
    if !ok {
        bail!("backend ifcfg-suse cannot use the variable name {key:?}: names are [A-Z][A-Z0-9_]*");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rh_bare_and_quoted() {
        assert_eq!(ifcfg_rh("10.0.2.5").unwrap(), "10.0.2.5");
        assert_eq!(ifcfg_rh("a b").unwrap(), "\"a b\"");
        assert_eq!(ifcfg_rh("$(reboot)").unwrap(), "\"\\$(reboot)\"");
        assert_eq!(ifcfg_rh("`x`\"\\").unwrap(), "\"\\`x\\`\\\"\\\\\"");
        assert_eq!(ifcfg_rh("").unwrap(), "\"\"");
        assert!(ifcfg_rh("a\nb").is_err());
        assert!(ifcfg_rh("a\tb").is_err());
    }

    #[test]
    fn suse_quoted_or_rejected() {
        assert_eq!(ifcfg_suse("10.0.2.5/24").unwrap(), "'10.0.2.5/24'");
        assert_eq!(ifcfg_suse("$(reboot)").unwrap(), "'$(reboot)'");
        assert!(ifcfg_suse("it's").is_err());
        assert!(ifcfg_suse("a\nb").is_err());
    }

    #[test]
    fn keys() {
        assert!(check_rh_key("IPADDR1").is_ok());
        assert!(check_rh_key("1X").is_err());
        assert!(check_rh_key("A-B").is_err());
        assert!(check_suse_key("IPADDR_1").is_ok());
        assert!(check_suse_key("_X").is_err());
        assert!(check_suse_key("ipaddr").is_err());
    }
}

/// One word for `/bin/sh -c`: plain when it holds only characters no shell treats specially,
/// otherwise single-quoted (a `'` becomes `'\''`). Used for names and paths read back from
/// ROOT (a stale file's name), which validation has not seen.
pub fn shell_word(value: &str) -> String {
    let plain = !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:@%+=,".contains(c));
    if plain {
        value.to_owned()
    } else {
        format!("'{}'", value.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod shell_word_tests {
    use super::shell_word;

    #[test]
    fn quotes_what_a_shell_would_read() {
        assert_eq!(shell_word("eth1"), "eth1");
        assert_eq!(
            shell_word("/etc/systemd/network/05-enicfg-eth1.network"),
            "/etc/systemd/network/05-enicfg-eth1.network"
        );
        assert_eq!(shell_word("a b"), "'a b'");
        assert_eq!(shell_word("$(reboot)"), "'$(reboot)'");
        assert_eq!(shell_word("x'; reboot; '"), r"'x'\''; reboot; '\'''");
        assert_eq!(shell_word(""), "''");
    }
}
