//! `duplex connect` with stdin not a terminal: lines in, lines out, and a clean close.

mod common;

use common::{run, Echo, QUICK};

#[test]
fn lines_go_out_and_echoes_come_back_in_order() {
    let echo = Echo::start(&[]);
    let out = run(&["connect", &echo.url], "hello\nwörld\n\nlast", QUICK);
    assert_eq!(out.code(), 0, "end of input closes normally");
    assert_eq!(out.stdout, "hello\nwörld\n\nlast\n");
    assert_eq!(out.stderr, "");
}

#[test]
fn binary_lines_come_back_as_hex_or_base64() {
    let echo = Echo::start(&[]);
    let out = run(&["connect", "--binary", &echo.url], "hi\n", QUICK);
    assert_eq!((out.code(), out.stdout.as_str()), (0, "6869\n"));
    let out = run(
        &["connect", "--binary", "--base64", &echo.url],
        "hi\n",
        QUICK,
    );
    assert_eq!((out.code(), out.stdout.as_str()), (0, "aGk=\n"));
}

#[test]
fn json_writes_one_object_per_event() {
    let echo = Echo::start(&["--protocol", "chat"]);
    let args = ["connect", "--json", "-t", "--protocol", "chat", &echo.url];
    let out = run(&args, "one\ntwo\n", QUICK);
    assert_eq!(out.code(), 0);
    let events = out.json_lines();
    let kinds: Vec<_> = events
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["open", "message", "message", "close"]);
    assert_eq!(events[0]["url"], echo.url.as_str());
    assert_eq!(events[0]["protocol"], "chat");
    assert_eq!(events[1]["type"], "text");
    assert_eq!(events[1]["data"], "one");
    assert_eq!(events[2]["data"], "two");
    assert_eq!(events[3]["code"], 1000);
    assert_eq!(events[3]["initiator"], "client");
    assert!(
        events.iter().all(|e| e["time"].is_string()),
        "-t adds times"
    );
}

#[test]
fn many_lines_do_not_deadlock_against_an_echo() {
    // More than the socket buffers hold both ways: reading must not wait for writing.
    let echo = Echo::start(&[]);
    let line = "x".repeat(1000);
    let input: String = (0..5000).map(|i| format!("{i} {line}\n")).collect();
    let out = run(&["connect", &echo.url], &input, QUICK);
    assert_eq!(out.code(), 0);
    assert_eq!(out.stdout, input);
}

#[test]
fn invalid_utf8_input_is_refused_with_a_hint() {
    let echo = Echo::start(&[]);
    let out = run_bytes(&["connect", &echo.url], b"ok\n\xff\xfe\n");
    assert_eq!(out.0, Some(1));
    assert!(
        out.1.contains("line 2") && out.1.contains("--binary"),
        "{}",
        out.1
    );
}

/// Runs with raw bytes on stdin; returns the exit code and stderr.
fn run_bytes(args: &[&str], input: &[u8]) -> (Option<i32>, String) {
    use std::io::Write as _;
    let mut child = common::duplex()
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

#[test]
fn replies_after_the_end_of_input_still_arrive() {
    // The server answers 200 ms late; --linger (0.5 s by default) waits for it.
    let url = slow_server(std::time::Duration::from_millis(200));
    let out = run(&["connect", &url], "question\n", QUICK);
    assert_eq!(
        (out.code(), out.stdout.as_str()),
        (0, "answer to question\n")
    );
    let url = slow_server(std::time::Duration::from_millis(200));
    let out = run(&["connect", "--linger", "0", &url], "question\n", QUICK);
    assert_eq!(
        (out.code(), out.stdout.as_str()),
        (0, ""),
        "--linger 0 closes at once"
    );
}

/// Answers each message after `delay` but, like Python `websockets`, answers a close at
/// once: replies still pending then are dropped.
fn slow_server(delay: std::time::Duration) -> String {
    common::serve_in_thread(move |listener| async move {
        let (stream, _) = listener.accept().await.unwrap();
        let (mut reader, mut writer) = duplex::accept(stream).await.unwrap().split();
        let (replies, mut pending) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Some(text) = pending.recv().await {
                tokio::time::sleep(delay).await;
                if writer.send(text).await.is_err() {
                    break;
                }
            }
        });
        while let Ok(Some(message)) = reader.recv().await {
            let _ = replies.send(format!("answer to {}", message.as_text().unwrap_or("?")));
        }
    })
}
