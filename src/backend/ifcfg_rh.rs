//! Placeholder: being written.

use anyhow::{Result, bail};

use super::{Backend, Context, Rendered};
use crate::model::Config;

/// The ifcfg_rh backend.
pub struct IfcfgRh;

impl Backend for IfcfgRh {
    fn render(&self, _config: &Config, _ctx: &Context<'_>) -> Result<Rendered> {
        bail!("backend ifcfg_rh is being written")
    }
}
