//! `duplex connect --ping-interval`: pings keep going while pongs come back, and a server
//! that stops answering is reported as a dead connection.

mod common;

use common::{run, run_open, Echo, QUICK};

#[test]
fn answered_pings_are_quiet() {
    let echo = Echo::start(&[]);
    // --linger keeps the connection up long enough for several pings.
    let args = [
        "connect",
        "--json",
        "--ping-interval",
        "0.1",
        "--linger",
        "0.6",
        &echo.url,
    ];
    let out = run(&args, "hi\n", QUICK);
    assert_eq!(out.code(), 0, "{out:?}");
    let kinds: Vec<_> = out
        .json_lines()
        .iter()
        .map(|e| e["event"].to_string())
        .collect();
    assert_eq!(
        kinds,
        ["\"open\"", "\"message\"", "\"close\""],
        "keepalive pongs are not events"
    );
}

#[test]
fn a_server_that_stops_answering_pings_is_dead() {
    let url = common::serve_in_thread(move |listener| async move {
        let (stream, _) = listener.accept().await.unwrap();
        let server =
            duplex::ServerBuilder::new().config(duplex::Config::default().auto_pong(false));
        let mut ws = server.accept(stream).await.unwrap();
        while ws.next_event().await.is_ok() {}
    });
    // Bounded by QUICK: a client that never gave up would be killed there, without this
    // exit code and message.
    let out = run_open(&["connect", "--ping-interval", "0.2", &url], "", QUICK);
    assert_eq!(out.code(), 1, "{out:?}");
    assert!(
        out.stderr.contains("no pong within 0.2 s"),
        "{}",
        out.stderr
    );
}
