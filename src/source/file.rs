//! Our documented input schema, as YAML or JSON (detected from the content).

use std::io::Read;
use std::path::Path;

use anyhow::{Context as _, Result};

use crate::model::ConfigSpec;

/// Parses a document; JSON when it starts with `{` (after whitespace), YAML otherwise.
/// `origin` names the input in errors (a path, or `<stdin>`).
pub fn parse(text: &str, origin: &str) -> Result<ConfigSpec> {
    if text.trim_start().starts_with('{') {
        serde_json::from_str(text).with_context(|| format!("{origin}: invalid JSON input"))
    } else {
        serde_yaml::from_str(text).with_context(|| format!("{origin}: invalid YAML input"))
    }
}

/// Reads and parses `path`, or standard input for `-`.
pub fn load(path: &Path) -> Result<ConfigSpec> {
    let (text, origin) = read(path)?;
    parse(&text, &origin)
}

/// Reads `path` (standard input for `-`); returns the text and its name for errors.
pub fn read(path: &Path) -> Result<(String, String)> {
    if path == Path::new("-") {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("failed to read the input from standard input")?;
        Ok((text, "<stdin>".to_owned()))
    } else {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("failed to read input file {}", path.display()))?;
        Ok((text, path.display().to_string()))
    }
}
