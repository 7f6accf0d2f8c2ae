//! `duplex bench`: load generators for any WebSocket server, built on the library's client.
//!
//! Each benchmark runs on a current-thread runtime unless `--threads` asks for more, so that
//! `taskset -c N duplex bench ...` puts the whole load generator on one core and what is
//! measured is the server. Every benchmark ends with a [`report::Report`].

mod broadcast;
mod connect;
mod echo;
mod hub;
mod idle;
mod report;
mod stamped;
mod sys;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use tokio::time::Instant;

use crate::args::{BenchArgs, BenchCommand};

/// Runs the chosen benchmark.
pub fn run(args: BenchArgs) -> anyhow::Result<()> {
    match args.command {
        BenchCommand::Echo(args) => {
            crate::runtime::build(args.common.threads)?.block_on(echo::run(args))
        }
        BenchCommand::Connect(args) => {
            crate::runtime::build(args.common.threads)?.block_on(connect::run(args))
        }
        BenchCommand::Idle(args) => {
            crate::runtime::build(args.common.threads)?.block_on(idle::run(args))
        }
        BenchCommand::Broadcast(args) => {
            crate::runtime::build(args.common.threads)?.block_on(broadcast::run(args))
        }
        BenchCommand::Hub(args) => hub::run(*args),
    }
}

/// When a timed benchmark measures: load starts when it is made, counts from
/// `measure_from`, stops at `stop_at`.
#[derive(Debug, Clone, Copy)]
pub struct Phases {
    /// Measuring starts (after the warmup).
    pub measure_from: Instant,
    /// No new work starts after this.
    pub stop_at: Instant,
}

impl Phases {
    /// Phases starting now.
    pub fn starting_now(warmup: Duration, duration: Duration) -> Self {
        let start = Instant::now();
        Phases {
            measure_from: start + warmup,
            stop_at: start + warmup + duration,
        }
    }

    /// Whether something that happened at `at` is counted.
    pub fn measures(&self, at: Instant) -> bool {
        at >= self.measure_from && at < self.stop_at
    }
}

/// CPU time used by the server (if its pid is known) and by us over the measured phase.
#[derive(Debug, Default, Clone, Copy)]
pub struct CpuUse {
    /// Seconds of the server's CPU time, when `--server-pid` was given.
    pub server: Option<f64>,
    /// Seconds of our own CPU time.
    pub loader: f64,
}

/// CPU times at the start of a phase, for [`CpuStart::finish`] at its end.
#[derive(Debug, Clone, Copy)]
pub struct CpuStart {
    server_pid: Option<u32>,
    server: Option<f64>,
    loader: f64,
}

impl CpuStart {
    /// The CPU used since the start.
    pub fn finish(self) -> anyhow::Result<CpuUse> {
        let server = self
            .server_pid
            .map(|pid| sys::cpu_seconds(Some(pid)))
            .transpose()?;
        Ok(CpuUse {
            server: server.zip(self.server).map(|(end, start)| end - start),
            loader: sys::cpu_seconds(None)? - self.loader,
        })
    }
}

impl CpuUse {
    /// Samples CPU times now, for a phase that ends when its work does.
    pub fn start(server_pid: Option<u32>) -> anyhow::Result<CpuStart> {
        Ok(CpuStart {
            server_pid,
            server: server_pid
                .map(|pid| sys::cpu_seconds(Some(pid)))
                .transpose()?,
            loader: sys::cpu_seconds(None)?,
        })
    }

    /// Samples CPU times at the start and end of the measured phase.
    pub async fn measure(phases: Phases, server_pid: Option<u32>) -> anyhow::Result<CpuUse> {
        tokio::time::sleep_until(phases.measure_from).await;
        let start = CpuUse::start(server_pid)?;
        tokio::time::sleep_until(phases.stop_at).await;
        start.finish()
    }

    /// Adds CPU rows and fields; `per` names the unit of work (`message`, `handshake`).
    pub fn report(&self, report: &mut report::Report, work: u64, per: &str, seconds: f64) {
        let per_unit = |cpu: f64| cpu / work.max(1) as f64 * 1e6;
        if let Some(server) = self.server {
            report.row(
                "server CPU",
                format!(
                    "{server:.2} s, {:.0}% of a core, {:.2} µs per {per}",
                    server / seconds * 100.0,
                    per_unit(server)
                ),
            );
            report.field("server_cpu_s", report::round(server, 3));
            report.field(
                &format!("server_cpu_us_per_{per}"),
                report::round(per_unit(server), 3),
            );
        }
        report.row(
            "loader CPU",
            format!(
                "{:.2} s, {:.0}% of a core",
                self.loader,
                self.loader / seconds * 100.0
            ),
        );
        report.field("loader_cpu_s", report::round(self.loader, 3));
    }
}

/// A progress bar on stderr (hidden when stderr is not a terminal) over `total` time that
/// shows, once a second, the rate of `counter` in `unit`s per second.
pub fn progress(total: Duration, counter: Arc<AtomicU64>, unit: &'static str) -> ProgressBar {
    let bar = ProgressBar::new(total.as_millis().try_into().unwrap_or(u64::MAX));
    if let Ok(style) = ProgressStyle::with_template("{elapsed:>4} [{bar:30}] {msg}") {
        bar.set_style(style.progress_chars("=> "));
    }
    let ticking = bar.clone();
    tokio::spawn(async move {
        let start = Instant::now();
        let mut last = (start, counter.load(Ordering::Relaxed));
        let mut every = tokio::time::interval(Duration::from_millis(200));
        while !ticking.is_finished() {
            every.tick().await;
            let now = Instant::now();
            ticking.set_position((now - start).as_millis().try_into().unwrap_or(u64::MAX));
            if !unit.is_empty() && now - last.0 >= Duration::from_secs(1) {
                let n = counter.load(Ordering::Relaxed);
                let rate = n.saturating_sub(last.1) as f64 / (now - last.0).as_secs_f64();
                ticking.set_message(format!("{} {unit}/s", report::count(rate as u64)));
                last = (now, n);
            }
        }
    });
    bar
}

/// A progress bar on stderr counting up to `total` things.
pub fn counter(total: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(total);
    let template = format!("{{elapsed:>4}} [{{bar:30}}] {{pos}}/{{len}} {what}");
    if let Ok(style) = ProgressStyle::with_template(&template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}
