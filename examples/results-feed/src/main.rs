//! results-feed: a backend that knows nothing about WebSockets, feeding live pages anyway.
//!
//! It simulates a small football league (six teams, three matches at a time, minutes ticking,
//! goals at random; when a round ends, the next one starts) and, after every change, publishes
//! the whole scoreboard to the channel `results:scoreboard` with one HTTP POST to the hub's
//! server API. The hub does the rest: every browser on the `/results` page of
//! `duplex serve --demo` is subscribed to that channel and redraws from each snapshot, and a page
//! opened late (or back from a lost connection) starts from the channel's last publication.
//!
//! That is the point of the example: REST in, WebSocket out. Any backend in any language can
//! do what `hub.rs` does; nothing here holds a connection open.
//!
//! Run it beside `duplex serve --demo`, which prints this command with its key (README.md):
//! `DUPLEX_HTTP_API_KEY=<key> cargo run -p results-feed`.

mod hub;
mod league;

use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use clap::Parser;

use crate::league::{Event, League, Tick};

/// Where the API key comes from when --api-key is not given (the hub reads the same name).
const API_KEY_ENV: &str = "DUPLEX_HTTP_API_KEY";

/// A simulated football league, published through the hub's server API after every change.
#[derive(Debug, Parser)]
#[command(
    name = "results-feed",
    after_help = "Run it beside `duplex serve --demo` (which prints this command with its key) and \
                  open http://127.0.0.1:8000/results:\n  \
                  DUPLEX_HTTP_API_KEY=<key> cargo run -p results-feed"
)]
struct Args {
    /// The hub's HTTP address (its server API is under /api).
    #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:8000")]
    url: String,
    /// The server API key (the hub's http_api.key). Default: $DUPLEX_HTTP_API_KEY.
    #[arg(long, value_name = "KEY")]
    api_key: Option<String>,
    /// The channel the snapshots go to.
    #[arg(long, default_value = "results:scoreboard")]
    channel: String,
    /// Milliseconds between simulation ticks (each plays three match minutes).
    #[arg(long, value_name = "MS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..))]
    interval_ms: u64,
    /// Stop after this many publications (default: run until Ctrl-C).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    updates: Option<u64>,
    /// Seed of the simulation: the same seed plays the same league (default: a random one).
    #[arg(long, value_name = "N")]
    seed: Option<u64>,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args = Args::parse();
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("results-feed: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> anyhow::Result<()> {
    let key = match args.api_key {
        Some(key) => key,
        None => std::env::var(API_KEY_ENV)
            .ok()
            .filter(|k| !k.is_empty())
            .with_context(|| {
                format!(
                "no API key: pass --api-key KEY or set {API_KEY_ENV} (`duplex serve --demo` prints \
                 the command with its key)"
            )
            })?,
    };
    let hub = hub::Hub::new(&args.url, &key)?;
    let seed = args.seed.unwrap_or_else(rand::random);
    let mut league = League::new(seed);
    println!(
        "results-feed: {} teams, seed {seed}, a tick every {} ms, publishing to {} at {}",
        league::TEAMS.len(),
        args.interval_ms,
        args.channel,
        args.url
    );

    let mut ticker = tokio::time::interval(Duration::from_millis(args.interval_ms));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticker.tick().await; // the first tick is immediate: publish the board as it starts
    let mut events = vec![Event::RoundScheduled(league.round())];
    let mut published = 0u64;
    loop {
        let offset = hub
            .publish(&args.channel, &league.snapshot(unix_ms()))
            .await?;
        published += 1;
        for event in &events {
            println!("{}", describe(&league, event, offset));
        }
        if args.updates.is_some_and(|n| published >= n) {
            println!("results-feed: {published} snapshots published; done");
            return Ok(());
        }
        events = loop {
            tokio::select! {
                _ = ticker.tick() => {}
                _ = tokio::signal::ctrl_c() => {
                    println!("results-feed: {published} snapshots published; stopped");
                    return Ok(());
                }
            }
            if let Tick::Changed(events) = league.tick() {
                break events;
            }
        };
    }
}

/// A line for the terminal about `event`, which the publication at `offset` carried.
fn describe(league: &League, event: &Event, offset: u64) -> String {
    let name = |id: &str| {
        league
            .matches()
            .iter()
            .find(|m| m.id == id)
            .map(|m| format!("{} v {}", m.home, m.away))
            .unwrap_or_else(|| id.to_owned())
    };
    match event {
        Event::RoundScheduled(round) => {
            let fixtures: Vec<String> = league.matches().iter().map(|m| name(&m.id)).collect();
            format!("[{offset}] round {round}: {}", fixtures.join(", "))
        }
        Event::KickOff(round) => format!("[{offset}] round {round}: kick-off"),
        Event::Goal {
            id,
            team,
            minute,
            score,
        } => format!(
            "[{offset}] {minute}' GOAL {team} ({}: {}-{})",
            name(id),
            score.0,
            score.1
        ),
        Event::FullTime(id) => {
            let score = league
                .matches()
                .iter()
                .find(|m| &m.id == id)
                .map(|m| format!("{} {}-{} {}", m.home, m.home_score, m.away_score, m.away))
                .unwrap_or_else(|| id.clone());
            format!("[{offset}] full time: {score}")
        }
    }
}

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}
