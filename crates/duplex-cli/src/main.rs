//! The `duplex` command: a thin shell over the `duplex` library.
//!
//! Arguments are parsed in [`args`]; each subcommand lives in its own module and returns a
//! `Result`; `main` turns that into an exit code ([`status`]) and a one-line error a person
//! can act on.

mod args;
mod bench;
mod client;
mod completions;
mod connect;
mod demo;
mod echo;
mod publish;
mod relay;
mod runtime;
mod serve;
mod status;
mod subscribe;
mod token;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let args = args::Cli::parse();
    init_tracing(&args);
    let result = match args.command {
        args::Command::Serve(serve) => serve::run(serve),
        args::Command::Connect(connect) => connect::run(connect),
        args::Command::Echo(echo) => echo::run(echo),
        args::Command::Relay(relay) => relay::run(relay),
        args::Command::Bench(bench) => bench::run(bench),
        args::Command::Subscribe(subscribe) => subscribe::run(subscribe),
        args::Command::Publish(publish) => publish::run(publish),
        args::Command::Token(token) => token::run(token),
        args::Command::Completions { shell } => completions::run(shell),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) if is_broken_pipe(&error) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("duplex: {}", status::describe(&error));
            std::process::ExitCode::from(status::exit_status(&error))
        }
    }
}

/// Logs go to stderr (stdout is the conversation for the client commands), at the level the
/// flags ask for unless RUST_LOG says otherwise; `duplex serve --log-format json` writes one
/// JSON object per line for a log collector, with no colours to strip.
fn init_tracing(args: &args::Cli) {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::{fmt, reload, EnvFilter};

    let from_env = EnvFilter::try_from_default_env().ok();
    let chosen = from_env.is_some() || args.verbose > 0 || args.quiet;
    let filter = from_env.unwrap_or_else(|| EnvFilter::new(args.log_level()));
    let (filter, handle) = reload::Layer::new(filter);
    if !chosen {
        let _ = LOG_LEVEL.set(Box::new(move |level| {
            let _ = handle.reload(EnvFilter::new(level));
        }));
    }
    let logs = tracing_subscriber::registry().with(filter);
    if matches!(&args.command, args::Command::Serve(serve) if serve.json_logs()) {
        logs.with(
            fmt::layer()
                .json()
                .with_current_span(false)
                .with_writer(std::io::stderr),
        )
        .init();
    } else {
        logs.with(
            fmt::layer()
                .with_writer(std::io::stderr)
                .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr())),
        )
        .init();
    }
}

/// Sets the log filter after start, when neither the flags (-v, -q) nor RUST_LOG chose one:
/// `duplex serve` reads a level from its configuration file (`log.level`), and a person's
/// flags win over a file.
type SetLogLevel = Box<dyn Fn(&str) + Send + Sync>;
static LOG_LEVEL: std::sync::OnceLock<SetLogLevel> = std::sync::OnceLock::new();

/// Applies `level` (a tracing filter such as `warn` or `off`) unless the flags or RUST_LOG
/// chose the level.
fn set_default_log_level(level: &str) {
    if let Some(set) = LOG_LEVEL.get() {
        set(level);
    }
}

/// Whoever read our output stopped reading (`duplex connect ... | head -1`): not an error.
fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
