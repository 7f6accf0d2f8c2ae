//! `--event-loop --threads N`: several loops on one port. The echo answers every connection
//! whichever loop took it and Ctrl-C closes all of them with 1001 before a clean exit; the
//! relay delivers every message to every receiver, across loops, in order (the broadcast
//! benchmark checks).

mod common;

use std::time::Duration;

use common::{run, Echo};
use serde_json::Value;

const CONNECTIONS: usize = 32;

#[test]
fn two_event_loops_echo_every_connection_and_stop_on_ctrl_c() {
    let mut echo = Echo::start(&["--event-loop", "--threads", "2"]);
    let url = echo.url.clone();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut clients = Vec::with_capacity(CONNECTIONS);
        for _ in 0..CONNECTIONS {
            clients.push(duplex::connect(&url).await.unwrap().0);
        }
        for (i, ws) in clients.iter_mut().enumerate() {
            ws.send(format!("hello {i}")).await.unwrap();
            let echoed = ws.recv().await.unwrap().unwrap();
            assert_eq!(echoed.as_text(), Some(format!("hello {i}").as_str()));
        }
        // Named as it starts, so looked for once the echoes are in: 32 connections over two
        // loops leave the second without one with odds of 2^-32.
        #[cfg(target_os = "linux")]
        {
            let names = thread_names(echo.pid());
            assert!(
                names.iter().any(|n| n == "duplex-loop-1"),
                "a second loop's thread: {names:?}"
            );
        }
        echo.interrupt();
        common::expect_going_away(&mut clients).await;
    });
    echo.expect_clean_exit();
}

#[test]
fn two_event_loops_relay_every_message_to_every_receiver_in_order() {
    let relay = Echo::start_server("relay", &["--event-loop", "--threads", "2"]);
    // 21 connections over two loops: the publisher's loop has all of them with odds of 2^-20,
    // so receivers on the other loop get the messages only if the loops relay to each other.
    let out = run(
        &[
            "bench",
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
            "0.2",
            "--json",
        ],
        "",
        Duration::from_secs(60),
    );
    assert_eq!(out.code(), 0, "{out:?}");
    let report: Value = serde_json::from_str(out.stdout.lines().last().expect("output"))
        .expect("the last line is JSON");
    assert_eq!(report["errors"], 0, "{report}");
    assert_eq!(report["lost"], 0, "{report}");
    assert_eq!(report["out_of_order"], 0, "{report}");
    assert!(report["deliveries"].as_u64().unwrap() > 0, "{report}");
}

/// The names of a process's threads.
#[cfg(target_os = "linux")]
fn thread_names(pid: u32) -> Vec<String> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).expect("the server's threads");
    tasks
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
        .map(|name| name.trim().to_owned())
        .collect()
}
