//! Placeholder: being written.

use anyhow::{Result, bail};

use super::{Backend, Context, Rendered};
use crate::model::Config;

/// The ifupdown backend.
pub struct Ifupdown;

impl Backend for Ifupdown {
    fn render(&self, _config: &Config, _ctx: &Context<'_>) -> Result<Rendered> {
        bail!("backend ifupdown is being written")
    }
}
