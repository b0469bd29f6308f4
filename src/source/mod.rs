//! Everything that produces a model: our YAML/JSON schema ([`file`](mod@file)), command-line flags
//! ([`flags`]), and cloud metadata documents ([`metadata`]), saved or crawled live ([`imds`]). Each source yields a [`ConfigSpec`](crate::model::ConfigSpec); validation
//! happens once, in [`Config::from_spec`](crate::model::Config::from_spec).

pub mod file;
pub mod flags;
pub mod imds;
pub mod metadata;
