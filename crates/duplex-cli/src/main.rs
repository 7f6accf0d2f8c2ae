//! The `duplex` command: a thin shell over the `duplex` library.
//!
//! Arguments are parsed in [`args`]; each subcommand lives in its own module and returns a
//! `Result`; `main` turns that into an exit code and a one-line error a person can act on.

mod args;
mod echo;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let args = args::Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(args.log_level())),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let result = match args.command {
        args::Command::Echo(echo) => echo::run(echo),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("duplex: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
