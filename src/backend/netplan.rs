//! Placeholder: being written.

use anyhow::{Result, bail};

use super::{Backend, Context, Rendered};
use crate::model::Config;

/// The netplan backend.
pub struct Netplan;

impl Backend for Netplan {
    fn render(&self, _config: &Config, _ctx: &Context<'_>) -> Result<Rendered> {
        bail!("backend netplan is being written")
    }
}
