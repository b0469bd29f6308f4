//! Placeholder: being written.

use anyhow::{Result, bail};

use super::{Backend, Context, Rendered};
use crate::model::Config;

/// The ifcfg_suse backend.
pub struct IfcfgSuse;

impl Backend for IfcfgSuse {
    fn render(&self, _config: &Config, _ctx: &Context<'_>) -> Result<Rendered> {
        bail!("backend ifcfg_suse is being written")
    }
}
