//! Shell completions and man pages, generated from the clap definitions in [`crate::cli`] at
//! run time (`enicfg completions SHELL`, `enicfg man --out-dir DIR`): the definitions name
//! crate types, so a build script could not see them, and the help text stays the one source.
//! The packages ship both (README "Install"); `pkg/build-assets.sh` makes them with the built
//! binary.
//!
//! Rendering is pure ([`completion`], [`man_pages`]). [`write_man_pages`] writes into a build
//! directory, never under ROOT, so it does not go through the writer (no markers, backups or
//! locks to honour there).

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use clap::CommandFactory as _;
pub use clap_complete::Shell;

use crate::cli::Cli;

/// The command's name, as installed.
const BIN: &str = "enicfg";

/// The completion script for `shell`.
pub fn completion(shell: Shell) -> Result<String> {
    let mut cmd = Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut cmd, BIN, &mut script);
    String::from_utf8(script).with_context(|| format!("the {shell} completion is not UTF-8"))
}

/// One man page: its file name (`enicfg-render.1`) and roff source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManPage {
    /// The file name, section included.
    pub file_name: String,
    /// The roff source.
    pub contents: Vec<u8>,
}

/// `enicfg.1`, then one `enicfg-COMMAND.1` per subcommand that the help lists (hidden ones and
/// clap's `help` left out), in the order of the help.
pub fn man_pages() -> Result<Vec<ManPage>> {
    let mut cmd = Cli::command().disable_help_subcommand(true);
    // Building sets each subcommand's display name (`enicfg-render`), the page's title and
    // file name, and its usage line (`enicfg render`).
    cmd.build();
    let mut pages = vec![man_page(cmd.clone())?];
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        pages.push(man_page(sub.clone())?);
    }
    Ok(pages)
}

fn man_page(cmd: clap::Command) -> Result<ManPage> {
    let man = clap_mangen::Man::new(cmd);
    let file_name = man.get_filename();
    let mut contents = Vec::new();
    man.render(&mut contents)
        .with_context(|| format!("failed to render the man page {file_name}"))?;
    Ok(ManPage {
        file_name,
        contents,
    })
}

/// Writes [`man_pages`] into `dir` (created if missing); returns the paths written.
pub fn write_man_pages(dir: &Path) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("failed to create the directory {}", dir.display()))?;
    let mut written = Vec::new();
    for page in man_pages()? {
        let path = dir.join(&page.file_name);
        std::fs::write(&path, &page.contents)
            .with_context(|| format!("failed to write {}", path.display()))?;
        written.push(path);
    }
    Ok(written)
}

/// `enicfg man --out-dir DIR`: the pages, and one `wrote PATH` line per page.
pub fn cmd_man(dir: &Path) -> Result<String> {
    Ok(write_man_pages(dir)?
        .iter()
        .map(|p| format!("wrote {}\n", p.display()))
        .collect())
}
