//! How fast the engines take publishes, and how much disk the SQLite engine uses.
//!
//! Run it in release mode (SQLite is compiled with the profile's optimisation):
//!
//! ```text
//! cargo run --release -p duplex-hub --example engine_throughput -- [SECONDS] [PUBLICATIONS]
//! ```
//!
//! Throughput: publications per second with history on (size 100, ttl 300 s) and 100-byte
//! payloads, for the memory engine and the SQLite engine (synchronous NORMAL and FULL), first
//! with one publisher awaiting each publish, then with 64 concurrent publishers (where the
//! SQLite writer's group commit shows). Each run lasts SECONDS (default 3).
//!
//! With `DUPLEX_BENCH_REDIS=redis://127.0.0.1:6379` the Redis engine is measured too, against that
//! server (use a scratch server: keys go under a fresh prefix and expire, but they are written).
//!
//! Disk (skipped when PUBLICATIONS is 0): PUBLICATIONS (default 1,000,000) spread over 1,000 channels, once with history_size
//! 100 (rows bounded: 100,000 kept) and once with a history_size that keeps every row; the
//! engine is closed (WAL checkpointed and truncated) and the folder measured.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use duplex_hub::engine::sqlite::{SqliteConfig, Synchronous};
use duplex_hub::engine::{
    BrokerEvents, ClientInfo, Engine, Publication, PublishOptions, StreamOptions,
};

/// The hub's side of the engine, doing nothing: only the engine is measured.
struct Ignore;

impl BrokerEvents for Ignore {
    fn on_publication(&self, _: &str, _: &Publication, _: &str) {}
    fn on_join(&self, _: &str, _: &ClientInfo) {}
    fn on_leave(&self, _: &str, _: &ClientInfo) {}
}

fn payload() -> bytes::Bytes {
    bytes::Bytes::from(vec![b'x'; 100])
}

fn options(size: usize) -> PublishOptions {
    PublishOptions {
        stream: Some(StreamOptions::new(size, Duration::from_secs(300))),
        ..PublishOptions::default()
    }
}

/// Publications per second from `publishers` tasks, each awaiting its publish, for `seconds`.
async fn throughput(engine: &Engine, publishers: usize, seconds: f64) -> f64 {
    let done = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let started = Instant::now();
    let tasks: Vec<_> = (0..publishers)
        .map(|n| {
            let (broker, done) = (engine.broker.clone(), done.clone());
            let channel = format!("bench:{}", n % 16);
            tokio::spawn(async move {
                let options = options(100);
                while Instant::now() < deadline {
                    let publication = Publication {
                        data: payload(),
                        ..Publication::default()
                    };
                    broker
                        .publish(&channel, publication, &options)
                        .await
                        .expect("publish");
                    done.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("publisher");
    }
    done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64()
}

async fn sqlite(folder: &Path, synchronous: Synchronous) -> Engine {
    let config = SqliteConfig {
        synchronous,
        ..SqliteConfig::new(folder)
    };
    let engine = Engine::sqlite_with(config).expect("sqlite engine");
    engine.broker.start(Arc::new(Ignore)).await.expect("start");
    engine
}

/// Bytes in the folder's files.
fn folder_size(folder: &Path) -> u64 {
    std::fs::read_dir(folder)
        .expect("data folder")
        .filter_map(Result::ok)
        .filter_map(|entry| entry.metadata().ok())
        .map(|metadata| metadata.len())
        .sum()
}

/// Publishes `count` publications over 1,000 channels kept at `size`; the folder's bytes
/// after close, and how long the publishing took.
async fn disk_use(count: u64, size: usize) -> (u64, Duration, i64) {
    let folder = tempfile::tempdir().expect("temp folder");
    let engine = sqlite(folder.path(), Synchronous::Normal).await;
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let tasks: Vec<_> = (0..64)
        .map(|_| {
            let (broker, next) = (engine.broker.clone(), next.clone());
            tokio::spawn(async move {
                let options = options(size);
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= count {
                        return;
                    }
                    let publication = Publication {
                        data: payload(),
                        ..Publication::default()
                    };
                    let channel = format!("disk:{}", n % 1_000);
                    broker
                        .publish(&channel, publication, &options)
                        .await
                        .expect("publish");
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("publisher");
    }
    let took = started.elapsed();
    engine.broker.close().await.expect("close");
    drop(engine);
    let database = folder
        .path()
        .join(duplex_hub::engine::sqlite::DATABASE_FILE);
    let rows: i64 = rusqlite::Connection::open(database)
        .and_then(|c| c.query_row("SELECT COUNT(*) FROM publications", [], |r| r.get(0)))
        .expect("count rows");
    (folder_size(folder.path()), took, rows)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mut args = std::env::args().skip(1);
    let seconds: f64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(3.0);
    let count: u64 = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);

    println!("publish throughput: history size 100 ttl 300s, 100-byte payloads, {seconds}s each");
    for publishers in [1, 64] {
        let memory = Engine::memory();
        memory.broker.start(Arc::new(Ignore)).await.expect("start");
        let rate = throughput(&memory, publishers, seconds).await;
        println!("  {publishers:>2} publisher(s)  memory          {rate:>10.0} publications/s");
        for (name, synchronous) in [
            ("sqlite normal", Synchronous::Normal),
            ("sqlite full", Synchronous::Full),
        ] {
            let folder = tempfile::tempdir().expect("temp folder");
            let engine = sqlite(folder.path(), synchronous).await;
            let rate = throughput(&engine, publishers, seconds).await;
            engine.broker.close().await.expect("close");
            println!("  {publishers:>2} publisher(s)  {name:<15} {rate:>10.0} publications/s");
        }
        if let Ok(address) = std::env::var("DUPLEX_BENCH_REDIS") {
            let mut config = duplex_hub::engine::redis::RedisConfig::new([address]);
            config.prefix = format!("bench-{}", uuid::Uuid::new_v4().simple());
            let engine = Engine::redis(config).await.expect("redis engine");
            engine.broker.start(Arc::new(Ignore)).await.expect("start");
            let rate = throughput(&engine, publishers, seconds).await;
            engine.broker.close().await.expect("close");
            println!(
                "  {publishers:>2} publisher(s)  {:<15} {rate:>10.0} publications/s",
                "redis"
            );
        }
    }
    if count == 0 {
        return;
    }

    println!("disk use: {count} publications over 1,000 channels, 64 publishers, WAL checkpointed");
    for (label, size) in [
        ("history_size 100", 100),
        ("history_size keeps all", usize::MAX / 2),
    ] {
        let (bytes, took, rows) = disk_use(count, size).await;
        let per_million = bytes as f64 * 1_000_000.0 / count as f64 / 1_048_576.0;
        println!(
            "  {label:<24} {rows:>9} rows kept  {:>8.1} MiB on disk  ({per_million:.1} MiB per \
             million published; {:.0} publications/s)",
            bytes as f64 / 1_048_576.0,
            count as f64 / took.as_secs_f64()
        );
    }
}
