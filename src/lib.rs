//! enicfg: configure secondary elastic network interfaces inside cloud Linux guests.
//!
//! The pipeline, in one direction: a source produces a [`model::ConfigSpec`]; it is validated
//! once into a [`model::Config`]; the target's distro picks a [`distro::Stack`] and so a
//! backend; the backend renders files and apply commands ([`backend::Rendered`]); `write`
//! plans, diffs and writes them atomically under ROOT.

pub mod backend;
pub mod distro;
pub mod model;
pub mod root;
pub mod source;
