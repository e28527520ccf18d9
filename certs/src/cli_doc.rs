//! What the three command lines (`lianxi`, `lianxi-hub`, `lianxi-ca`) share
//! about their own documentation: shell completions and man pages generated
//! from the clap definitions (clap_complete and clap_mangen: the definitions
//! stay the one source), and the check that every option says what it does.

use std::path::{Path, PathBuf};

use clap::Command;
use clap_complete::Shell;

/// Options and arguments with no help text, as `command sub --option`.
pub fn undocumented(cmd: &Command) -> Vec<String> {
    let mut out = Vec::new();
    walk(cmd, cmd.get_name(), &mut out);
    out
}

fn walk(cmd: &Command, path: &str, out: &mut Vec<String>) {
    for a in cmd.get_arguments() {
        let id = a.get_id().as_str();
        if matches!(id, "help" | "version") || a.is_hide_set() {
            continue;
        }
        if a.get_help().is_none() && a.get_long_help().is_none() {
            let name = a
                .get_long()
                .map_or_else(|| id.to_uppercase(), |l| format!("--{l}"));
            out.push(format!("{path} {name}"));
        }
    }
    for sub in cmd.get_subcommands() {
        if sub.is_hide_set() || sub.get_name() == "help" {
            continue;
        }
        walk(sub, &format!("{path} {}", sub.get_name()), out);
    }
}

/// Panics listing every option of `cmd` without help text (for each
/// binary's unit test).
pub fn assert_documented(cmd: &Command) {
    let missing = undocumented(cmd);
    assert!(missing.is_empty(), "options without help: {missing:#?}");
}

/// Write `cmd`'s completion script for `shell` to standard output.
pub fn print_completions(mut cmd: Command, shell: Shell) {
    let name = cmd.get_name().to_owned();
    clap_complete::generate(shell, &mut cmd, name, &mut std::io::stdout());
}

/// Write a man page for `cmd` and each subcommand (`lianxi-case-intake.1`…)
/// into `dir`; returns the files written.
pub fn write_man_pages(cmd: Command, dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let mut written = Vec::new();
    page(cmd, dir, &mut written)?;
    Ok(written)
}

fn page(cmd: Command, dir: &Path, written: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let cmd = cmd.disable_help_subcommand(true);
    let name = cmd.get_display_name().unwrap_or(cmd.get_name()).to_owned();
    let path = dir.join(format!("{name}.1"));
    let mut buf = Vec::new();
    clap_mangen::Man::new(cmd.clone()).render(&mut buf)?;
    std::fs::write(&path, buf)?;
    written.push(path);
    for sub in cmd.get_subcommands() {
        if sub.is_hide_set() {
            continue;
        }
        let sub = sub
            .clone()
            .display_name(format!("{name}-{}", sub.get_name()));
        page(sub, dir, written)?;
    }
    Ok(())
}
