//! What the two ifcfg backends share: files of shell-style `KEY=value` variables, each key
//! checked and each value quoted by the one function of that format (RHEL's or SUSE's, in
//! [`quote`]). The formats themselves stay in `ifcfg_rh.rs` and `ifcfg_suse.rs`.

use std::borrow::Cow;

use anyhow::{Context as _, Result};

use super::text::Push as _;
use super::{BackendKind, quote};

/// The key and value rules of one ifcfg format.
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    /// Rejects a key the format's reader would not take as a variable.
    pub check_key: fn(&str) -> Result<()>,
    /// Quotes a value so the format's readers all read it back unchanged (borrowed when the
    /// value stands as it is).
    pub quote: fn(&str) -> Result<Cow<'_, str>>,
}

/// RHEL ifcfg: NetworkManager's `shvar.c` reader and bash (distro-matrix.md §3.1).
pub const RH: Rules = Rules {
    check_key: quote::check_rh_key,
    quote: quote::ifcfg_rh,
};
/// SUSE ifcfg: wicked's `unquote()` reader and bash (distro-matrix.md §3.3).
pub const SUSE: Rules = Rules {
    check_key: quote::check_suse_key,
    quote: quote::ifcfg_suse,
};

/// One `KEY=value` line; `value` is already quoted.
pub struct Var {
    /// The variable name (most are constants).
    pub key: Cow<'static, str>,
    /// The quoted value.
    pub value: String,
}

/// Variables in the order they are set.
pub struct Vars {
    rules: Rules,
    vars: Vec<Var>,
}

impl Vars {
    /// An empty list for a format.
    pub fn new(rules: Rules) -> Vars {
        Vars {
            rules,
            vars: Vec::new(),
        }
    }

    /// Adds `KEY=value`, checking the key and quoting the value.
    pub fn set(
        &mut self,
        key: impl Into<Cow<'static, str>>,
        value: impl Into<String>,
    ) -> Result<()> {
        let key = key.into();
        (self.rules.check_key)(&key)?;
        let value = value.into();
        let quoted = match (self.rules.quote)(&value).with_context(|| format!("variable {key}"))? {
            Cow::Owned(quoted) => Some(quoted),
            Cow::Borrowed(_) => None,
        };
        self.vars.push(Var {
            key,
            value: quoted.unwrap_or(value),
        });
        Ok(())
    }

    /// The variables, for a template.
    pub fn into_vec(self) -> Vec<Var> {
        self.vars
    }
}

/// `base` followed by `n`, as a key: `ROUTING_RULE_2`, `IPADDR_1`.
pub fn numbered(base: &'static str, n: usize) -> Cow<'static, str> {
    Cow::Owned(key_with_number(base, "", n))
}

/// `base` for the first of a list (`i` 0), then `base`, `sep` and `i`: RHEL's `IPADDR`,
/// `IPADDR1` (`sep` empty), SUSE's `IPADDR`, `IPADDR_1` (`sep` `_`).
pub fn indexed(base: &'static str, sep: &str, i: usize) -> Cow<'static, str> {
    if i == 0 {
        Cow::Borrowed(base)
    } else {
        Cow::Owned(key_with_number(base, sep, i))
    }
}

fn key_with_number(base: &str, sep: &str, n: usize) -> String {
    let mut key = String::with_capacity(base.len() + sep.len() + 4);
    // usize is at most 64 bits on every target.
    key.s(base).s(sep).num(n as u64);
    key
}

/// The generated-file header without its final newline (the ifcfg templates add it).
pub fn header_line(kind: BackendKind) -> String {
    super::header(kind).trim_end_matches('\n').to_owned()
}
