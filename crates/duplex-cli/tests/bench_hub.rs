//! `duplex bench hub`, briefly, against `duplex serve`: over the Centrifugo and the Pusher
//! protocols, every delivery checked; idle memory; a mass reconnect that recovers what the
//! clients missed, with the hub's engine reads counted; and a refused client reported.

mod common;

use std::time::Duration;

use common::run;
use common::served::Served;
use serde_json::{json, Value};

const LIMIT: Duration = Duration::from_secs(90);
const SECRET: &str = "bench-secret";
const API_KEY: &str = "bench-api-key";

/// A hub with the namespace the benchmark's Centrifugo channels live in (`fan:`, history on)
/// and a Pusher app, on the memory engine.
fn hub() -> (Served, tempfile::TempDir) {
    hub_on("memory")
}

/// [`hub`] on `engine`.
fn hub_on(engine: &str) -> (Served, tempfile::TempDir) {
    let folder = tempfile::tempdir().expect("temporary folder");
    let config = json!({
        "client": {"token": {"hmac_secret_key": SECRET}},
        "http_api": {"key": API_KEY},
        "channel": {"namespaces": [{"name": "fan", "allow_subscribe_for_client": true,
            "history_size": 1000, "history_ttl": "300s", "force_recovery": true}]},
        "pusher": {"apps": [{"id": "bench", "key": "bench-key", "secret": "bench-secret"}]},
    });
    let path = folder.path().join("hub.json");
    std::fs::write(&path, config.to_string()).expect("write the configuration");
    let served = Served::start(&[
        "--config",
        path.to_str().expect("a UTF-8 path"),
        "--engine",
        engine,
    ]);
    (served, folder)
}

/// `duplex bench hub ARGS --json`: the exit code and the report (its last line).
fn bench_hub(args: &[String]) -> (i32, Value) {
    let mut all = vec!["bench".to_owned(), "hub".to_owned()];
    all.extend_from_slice(args);
    all.push("--json".into());
    let all: Vec<&str> = all.iter().map(String::as_str).collect();
    let out = run(&all, "", LIMIT);
    let last = out.stdout.lines().last().unwrap_or_default().to_owned();
    let report = serde_json::from_str(&last).unwrap_or_else(|_| panic!("no JSON report: {out:?}"));
    (out.code(), report)
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

fn centrifugo(served: &Served) -> Vec<String> {
    let mut list = args(&["--url", &served.url()]);
    list.extend(args(&[
        "--publish-url",
        &format!("{}/api", served.http_url()),
        "--api-key",
        API_KEY,
        "--token-secret",
        SECRET,
        "--server-pid",
    ]));
    list.push(served.pid().to_string());
    list
}

#[test]
fn fanout_over_the_centrifugo_protocol_checks_every_delivery() {
    let (served, _folder) = hub();
    let mut list = args(&["fanout"]);
    list.extend(centrifugo(&served));
    list.extend(args(&[
        "--clients",
        "40",
        "--channels",
        "4",
        "--subs-per-client",
        "2",
        "--rate",
        "200",
        "--duration",
        "1",
        "--warmup",
        "0.5",
    ]));
    let (code, report) = bench_hub(&list);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["errors"], 0, "{report}");
    for key in ["lost", "duplicated", "out_of_order", "publish_failed"] {
        assert_eq!(report[key], 0, "{key}: {report}");
    }
    // 300 publications over 4 channels, each channel with 20 subscribers: 6,000 deliveries,
    // 4,000 of them in the measured second.
    assert_eq!(
        report["delivered"], report["expected_deliveries"],
        "{report}"
    );
    let measured = report["deliveries"].as_u64().unwrap_or(0);
    assert!((3000..=4400).contains(&measured), "{report}");
    assert_eq!(
        report["latency_us"]["samples"].as_u64(),
        Some(measured),
        "{report}"
    );
    assert!(
        report["server_cpu_us_per_delivery"].as_f64().unwrap_or(0.0) > 0.0,
        "{report}"
    );
}

#[test]
fn fanout_over_the_pusher_protocol_checks_every_delivery() {
    let (served, _folder) = hub();
    let list = args(&[
        "fanout",
        "--hub-protocol",
        "pusher",
        "--url",
        &format!("ws://{}/app/bench-key?protocol=7", served.addr),
        "--publish-url",
        &served.http_url(),
        "--app-id",
        "bench",
        "--app-key",
        "bench-key",
        "--app-secret",
        "bench-secret",
        "--clients",
        "30",
        "--channels",
        "3",
        "--rate",
        "100",
        "--duration",
        "1",
        "--warmup",
        "0.5",
    ]);
    let (code, report) = bench_hub(&list);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["protocol"], "pusher");
    assert_eq!(report["lost"], 0, "{report}");
    assert_eq!(report["out_of_order"], 0, "{report}");
    assert_eq!(
        report["delivered"], report["expected_deliveries"],
        "{report}"
    );
    assert!(
        report["deliveries"].as_u64().unwrap_or(0) >= 800,
        "{report}"
    );
}

#[test]
fn idle_measures_the_servers_memory_per_subscribed_client() {
    let (served, _folder) = hub();
    let mut list = args(&["idle"]);
    list.extend(centrifugo(&served));
    list.extend(args(&[
        "--clients",
        "200",
        "--channels",
        "100",
        "--subs-per-client",
        "5",
        "--hold",
        "0.5",
    ]));
    let (code, report) = bench_hub(&list);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["joined"], 200, "{report}");
    assert_eq!(report["dropped"], 0, "{report}");
    let per_client = report["bytes_per_client"].as_f64().unwrap_or(0.0);
    // A subscribed client costs the server something, and far less than a megabyte.
    assert!(per_client > 0.0 && per_client < 1_000_000.0, "{report}");
}

#[test]
fn a_mass_reconnect_recovers_every_missed_publication_with_shared_engine_reads() {
    // SQLite, as a server that comes back keeps its history: its reads take long enough for
    // the subscribes that arrive meanwhile to share them.
    let (served, _folder) = hub_on("sqlite");
    let mut list = args(&["reconnect"]);
    list.extend(centrifugo(&served));
    list.extend(args(&[
        "--clients",
        "60",
        "--channels",
        "3",
        "--subs-per-client",
        "2",
        "--missed",
        "25",
        "--open-concurrency",
        "60",
        "--metrics-url",
        &format!("{}/metrics", served.http_url()),
    ]));
    let (code, report) = bench_hub(&list);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["recovered_clients"], 60, "{report}");
    assert_eq!(report["errors"], 0, "{report}");
    // 120 recovering subscriptions over 3 channels: the engine is read about once per channel
    // (a flight's page answers the subscribers that come after it), not once per subscription.
    let reads = report["engine_reads"].as_u64().unwrap_or(u64::MAX);
    assert!((3..=6).contains(&reads), "{report}");
}

#[test]
fn a_client_the_hub_refuses_is_reported_and_fails_the_run() {
    let (served, _folder) = hub();
    let list = args(&[
        "idle",
        "--url",
        &served.url(),
        "--token-secret",
        "not-the-hubs-secret",
        "--clients",
        "3",
        "--hold",
        "0.1",
    ]);
    let (code, report) = bench_hub(&list);
    assert_ne!(code, 0, "{report}");
    assert_eq!(report["joined"], 0, "{report}");
    assert_eq!(report["errors"], 3, "{report}");
    let first = report["first_error"].as_str().unwrap_or_default();
    // The hub closes the connection with 3500, "invalid token".
    assert!(first.contains("3500"), "{report}");
}
