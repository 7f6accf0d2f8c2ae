//! `duplex bench echo|connect|idle|broadcast`, briefly, against `duplex echo` and `duplex
//! relay` (the relay on both drivers): the JSON line (the last line of output) has sane numbers and no errors.

mod common;

use std::time::Duration;

use common::{run, Echo};
use serde_json::Value;

const LIMIT: Duration = Duration::from_secs(60);

/// Runs a benchmark with --json and returns its last line, parsed.
fn bench(args: &[&str]) -> Value {
    let mut all = vec!["bench"];
    all.extend_from_slice(args);
    all.push("--json");
    let out = run(&all, "", LIMIT);
    assert_eq!(out.code(), 0, "{out:?}");
    let last = out.stdout.lines().last().expect("output");
    let report: Value = serde_json::from_str(last).expect("the last line is JSON");
    assert_eq!(report["errors"], 0, "{report}");
    assert_eq!(report["first_error"], Value::Null);
    report
}

#[test]
fn echo_checks_every_message_and_reports_rates() {
    let echo = Echo::start(&[]);
    let pid = echo.pid().to_string();
    let args = [
        "echo",
        "--url",
        &echo.url,
        "--conns",
        "3",
        "--pipeline",
        "4",
        "--size",
        "100",
        "--duration",
        "1",
        "--warmup",
        "0.2",
        "--server-pid",
        &pid,
    ];
    let report = bench(&args);
    assert_eq!(report["bench"], "echo");
    assert_eq!(report["conns"], 3);
    let messages = report["messages"].as_u64().unwrap();
    assert!(messages > 0, "{report}");
    let rate = report["messages_per_s"].as_f64().unwrap();
    assert!((rate - messages as f64).abs() < 1.0, "1 s: rate = count");
    assert!(report["mb_per_s"].as_f64().unwrap() > 0.0);
    let latency = &report["latency_us"];
    let (p50, p99, p999) = (
        latency["p50"].as_f64(),
        latency["p99"].as_f64(),
        latency["p999"].as_f64(),
    );
    assert!(p50 > Some(0.0) && p50 <= p99 && p99 <= p999, "{latency}");
    assert!(report["server_cpu_s"].as_f64().is_some());
}

#[test]
fn echo_binary_with_threads() {
    let echo = Echo::start(&[]);
    let args = [
        "echo",
        "--url",
        &echo.url,
        "--conns",
        "2",
        "--size",
        "70000",
        "--binary",
        "--duration",
        "0.5",
        "--warmup",
        "0",
        "--threads",
        "2",
    ];
    let report = bench(&args);
    assert!(report["messages"].as_u64().unwrap() > 0, "{report}");
    assert_eq!(report["binary"], true);
}

#[test]
fn echo_detects_a_server_that_does_not_echo_faithfully() {
    // A server that echoes every message but the third as "garbage".
    let url = lying_server();
    let out = run(
        &[
            "bench",
            "echo",
            "--url",
            &url,
            "--duration",
            "0.5",
            "--warmup",
            "0",
            "--json",
        ],
        "",
        LIMIT,
    );
    let report: Value = serde_json::from_str(out.stdout.lines().last().unwrap()).unwrap();
    assert_eq!(report["errors"], 1, "{report}");
    let first = report["first_error"].as_str().unwrap();
    assert!(first.contains("echo 2 differs"), "{first}");
}

#[test]
fn connect_counts_handshakes() {
    let echo = Echo::start(&[]);
    let args = [
        "connect",
        "--url",
        &echo.url,
        "--concurrency",
        "2",
        "--duration",
        "1",
    ];
    let report = bench(&args);
    assert_eq!(report["bench"], "connect");
    assert!(report["handshakes"].as_u64().unwrap() > 0, "{report}");
    assert!(report["latency_us"]["p50"].as_f64().unwrap() > 0.0);
}

#[test]
fn idle_holds_connections_from_several_addresses_and_measures_memory() {
    let echo = Echo::start(&[]);
    let pid = echo.pid().to_string();
    let args = [
        "idle",
        "--url",
        &echo.url,
        "--conns",
        "50",
        "--hold",
        "0.5",
        "--source-ips",
        "127.0.0.1-127.0.0.3",
        "--server-pid",
        &pid,
    ];
    let report = bench(&args);
    assert_eq!(report["bench"], "idle");
    assert_eq!(report["opened"], 50);
    assert_eq!(report["dropped"], 0);
    assert_eq!(report["source_ips"], 3);
    assert!(report["server_rss_after"].as_u64().unwrap() > 0);
    assert!(report["bytes_per_conn"].as_f64().is_some());
}

/// Accepts connections; on each, echoes messages except the third, which comes back changed.
fn lying_server() -> String {
    common::serve_in_thread(move |listener| async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            tokio::spawn(async move {
                let mut ws = duplex::accept(stream).await?;
                let mut n = 0;
                while let Some(message) = ws.recv().await? {
                    n += 1;
                    if n == 3 {
                        ws.send("garbage").await?;
                    } else {
                        ws.send(message).await?;
                    }
                }
                Ok::<_, duplex::Error>(())
            });
        }
    })
}

#[test]
fn broadcast_through_the_relay_delivers_every_message_in_order() {
    broadcast_through_the_relay(&[]);
}

#[test]
fn broadcast_through_the_event_loop_relay_delivers_every_message_in_order() {
    broadcast_through_the_relay(&["--event-loop"]);
}

#[test]
fn broadcast_through_two_event_loops_delivers_every_message_in_order() {
    // 21 connections over two loops: the publisher's loop has all of them with odds of 2^-20,
    // so receivers on the other loop get the messages only if the loops relay to each other.
    broadcast_through_the_relay(&["--event-loop", "--threads", "2"]);
}

/// `duplex bench broadcast` against `duplex relay` started with `relay_args`.
fn broadcast_through_the_relay(relay_args: &[&str]) {
    let relay = Echo::start_server("relay", relay_args);
    let pid = relay.pid().to_string();
    let report = bench(&[
        "broadcast",
        "--url",
        &relay.url,
        "--receivers",
        "20",
        "--rate",
        "200",
        "--duration",
        "1",
        "--warmup",
        "0.5",
        "--server-pid",
        &pid,
    ]);
    assert_eq!(report["lost"], 0, "{report}");
    assert_eq!(report["out_of_order"], 0, "{report}");
    let deliveries = report["deliveries"].as_u64().unwrap();
    // 200 messages/s for 1 s to 20 receivers: about 4,000 deliveries measured.
    assert!((3000..=4400).contains(&deliveries), "{report}");
    assert!(
        report["server_cpu_us_per_delivery"].as_f64().unwrap() > 0.0,
        "{report}"
    );
    // Every delivery has both latencies; the kernel received each message before the
    // receiver read it.
    let kernel = &report["latency_us"];
    let read = &report["read_latency_us"];
    assert_eq!(kernel["samples"].as_u64(), Some(deliveries), "{report}");
    assert_eq!(read["samples"].as_u64(), Some(deliveries), "{report}");
    let (kernel_p50, read_p50) = (
        kernel["p50"].as_f64().unwrap(),
        read["p50"].as_f64().unwrap(),
    );
    assert!(kernel_p50 > 0.0 && kernel_p50 <= read_p50, "{report}");
}
