//! What the two ifcfg backends share: files of shell-style `KEY=value` variables, each key
//! checked and each value quoted by the one function of that format (RHEL's or SUSE's, in
//! [`quote`]). The formats themselves stay in `ifcfg_rh.rs` and `ifcfg_suse.rs`.

use anyhow::{Context as _, Result};

use super::{BackendKind, quote};

/// The key and value rules of one ifcfg format.
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    /// Rejects a key the format's reader would not take as a variable.
    pub check_key: fn(&str) -> Result<()>,
    /// Quotes a value so the format's readers all read it back unchanged.
    pub quote: fn(&str) -> Result<String>,
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
    /// The variable name.
    pub key: String,
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
    pub fn set(&mut self, key: impl Into<String>, value: impl AsRef<str>) -> Result<()> {
        let key = key.into();
        (self.rules.check_key)(&key)?;
        let value =
            (self.rules.quote)(value.as_ref()).with_context(|| format!("variable {key}"))?;
        self.vars.push(Var { key, value });
        Ok(())
    }

    /// The variables, for a template.
    pub fn into_vec(self) -> Vec<Var> {
        self.vars
    }
}

/// The generated-file header without its final newline (the ifcfg templates add it).
pub fn header_line(kind: BackendKind) -> String {
    super::header(kind).trim_end_matches('\n').to_owned()
}
