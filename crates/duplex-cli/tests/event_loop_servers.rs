//! `duplex echo --event-loop`: the echo server on `duplex::event_loop`, checked by the load
//! generator (every echo is verified, small and multi-frame-sized) and by Ctrl-C, which must
//! close each connection with 1001 and exit cleanly. (`tests/bench.rs` runs the broadcast
//! benchmark against `duplex relay --event-loop`.)

mod common;

use std::time::Duration;

use common::{run, Echo};
use serde_json::Value;

/// Runs `duplex bench ... --json` and returns its report, which must have no errors.
fn bench(args: &[&str]) -> Value {
    let mut all = vec!["bench"];
    all.extend_from_slice(args);
    all.push("--json");
    let out = run(&all, "", Duration::from_secs(60));
    assert_eq!(out.code(), 0, "{out:?}");
    let report: Value = serde_json::from_str(out.stdout.lines().last().expect("output"))
        .expect("the last line is JSON");
    assert_eq!(report["errors"], 0, "{report}");
    report
}

#[test]
fn the_event_loop_echo_returns_every_message_intact_and_in_order() {
    let echo = Echo::start(&["--event-loop"]);
    for size in ["20", "70000"] {
        let report = bench(&[
            "echo",
            "--url",
            &echo.url,
            "--conns",
            "4",
            "--pipeline",
            "8",
            "--size",
            size,
            "--duration",
            "0.5",
            "--warmup",
            "0.2",
        ]);
        assert!(report["messages"].as_u64().unwrap() > 0, "{report}");
    }
}

#[test]
fn ctrl_c_closes_connections_with_1001_and_exits_cleanly() {
    let mut echo = Echo::start(&["--event-loop"]);
    let url = echo.url.clone();
    common::block_on(async {
        let (mut ws, _) = duplex::connect(&url).await.unwrap();
        ws.send("hello").await.unwrap();
        assert_eq!(ws.recv().await.unwrap().unwrap().as_text(), Some("hello"));
        echo.interrupt();
        common::expect_going_away(std::slice::from_mut(&mut ws)).await;
    });
    echo.expect_clean_exit();
}
