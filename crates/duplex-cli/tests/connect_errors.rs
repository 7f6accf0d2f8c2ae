//! `duplex connect` failures: one line on stderr that says what went wrong, and an exit
//! status a script can test (1 for errors, derived from the close code when the server
//! closed).

mod common;

use std::io::{Read as _, Write as _};
use std::net::TcpListener;

use common::{run, run_open, Echo, QUICK};

/// Asserts exit status 1 and an error line containing every one of `needles`.
fn assert_fails(args: &[&str], needles: &[&str]) {
    let out = run(args, "", QUICK);
    assert_eq!(out.code(), 1, "{out:?}");
    assert!(out.stderr.starts_with("duplex: "), "{}", out.stderr);
    assert_eq!(out.stderr.lines().count(), 1, "one line: {}", out.stderr);
    for needle in needles {
        assert!(
            out.stderr.contains(needle),
            "{needle:?} not in {}",
            out.stderr
        );
    }
}

#[test]
fn bad_url() {
    assert_fails(&["connect", "ftp://example.com/"], &["invalid URL", "ftp"]);
    assert_fails(&["connect", "not a url"], &["invalid URL"]);
}

#[test]
fn dns_failure() {
    assert_fails(
        &["connect", "ws://nonexistent.invalid/"],
        &["could not resolve nonexistent.invalid"],
    );
}

#[test]
fn connection_refused() {
    // A port that was free a moment ago: nothing listens there.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("ws://127.0.0.1:{port}/");
    assert_fails(&["connect", &url], &["could not connect", "refused"]);
}

#[test]
fn untrusted_certificate_then_trusted_with_ca_or_insecure() {
    let dir = tempfile::tempdir().unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    let (cert_file, key_file) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_file, cert.pem()).unwrap();
    std::fs::write(&key_file, key.serialize_pem()).unwrap();
    let (cert_file, key_file) = (cert_file.to_str().unwrap(), key_file.to_str().unwrap());
    let echo = Echo::start(&["--cert", cert_file, "--key", key_file]);
    assert!(echo.url.starts_with("wss://"), "{}", echo.url);

    assert_fails(
        &["connect", &echo.url],
        &["TLS", "certificate", "--ca", "--insecure"],
    );
    let trusted = run(
        &["connect", "--ca", cert_file, &echo.url],
        "over tls\n",
        QUICK,
    );
    assert_eq!((trusted.code(), trusted.stdout.as_str()), (0, "over tls\n"));
    let insecure = run(&["connect", "--insecure", &echo.url], "anyway\n", QUICK);
    assert_eq!((insecure.code(), insecure.stdout.as_str()), (0, "anyway\n"));
}

#[test]
fn http_answer_other_than_101_shows_status_and_body() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("ws://{}/chat", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut head = Vec::new();
        let mut byte = [0];
        while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap() == 1 {
            head.push(byte[0]);
        }
        let body = "sign in first: no session cookie";
        let answer = format!(
            "HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(answer.as_bytes()).unwrap();
    });
    assert_fails(&["connect", &url], &["403 Forbidden", "no session cookie"]);
}

/// A server that answers the first message by closing with `code` and `reason`.
fn closing_server(code: u16, reason: &'static str) -> String {
    common::serve_in_thread(move |listener| async move {
        let (stream, _) = listener.accept().await.unwrap();
        let mut ws = duplex::accept(stream).await.unwrap();
        let _ = ws.recv().await;
        let _ = ws.close(code, reason).await;
    })
}

#[test]
fn closed_by_the_server_with_an_application_code() {
    let url = closing_server(4000, "bye now");
    let out = run_open(&["connect", &url], "hi\n", QUICK);
    assert_eq!(out.code(), 4, "4000-4999 exit with 4: {out:?}");
    assert_eq!(
        out.stderr,
        "duplex: closed by the server with code 4000: bye now\n"
    );
}

#[test]
fn closed_by_the_server_going_away_and_with_json() {
    let url = closing_server(1001, "restarting");
    let out = run_open(&["connect", "--json", &url], "hi\n", QUICK);
    assert_eq!(out.code(), 101, "1001 exits with 101: {out:?}");
    let events = out.json_lines();
    let close = events
        .iter()
        .find(|e| e["event"] == "close")
        .expect("a close event");
    assert_eq!(close["code"], 1001);
    assert_eq!(close["reason"], "restarting");
    assert_eq!(close["initiator"], "server");
    assert_eq!(events.last().unwrap()["event"], "error");
}

#[test]
fn closed_normally_by_the_server_is_success() {
    let url = closing_server(1000, "done");
    let out = run_open(&["connect", &url], "hi\n", QUICK);
    assert_eq!(out.code(), 0, "{out:?}");
}
