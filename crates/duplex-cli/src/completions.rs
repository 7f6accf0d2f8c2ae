//! `duplex completions SHELL`: completion scripts generated from the argument definitions.

use clap::CommandFactory as _;

/// Writes the completion script for `shell` to stdout.
pub fn run(shell: clap_complete::Shell) -> anyhow::Result<()> {
    let mut command = crate::args::Cli::command();
    clap_complete::generate(shell, &mut command, "duplex", &mut std::io::stdout());
    Ok(())
}
