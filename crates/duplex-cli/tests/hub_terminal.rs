//! The hub from the terminal: `duplex subscribe` prints what `duplex publish` sends through a
//! running `duplex serve` (JSON lines or text), comes back by itself after the hub drops it and
//! says what it recovered; and both explain the mistakes people make: a hub that is not there,
//! a refused token, DATA that is not JSON, a wrong API key.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::served::{http, Served};
use common::{duplex, run, QUICK};
use serde_json::{json, Value};

const SECRET: &str = "terminal-test-secret";
const API_KEY: &str = "terminal-test-key";

/// A hub with a secret, an API key and a `chat` namespace with history and join/leave.
fn hub() -> Served {
    let dir = tempfile::tempdir().expect("config folder");
    let path = dir.path().join("duplex.toml");
    let config = format!(
        r#"
[client.token]
hmac_secret_key = "{SECRET}"

[http_api]
key = "{API_KEY}"

[[channel.namespaces]]
name = "chat"
allow_subscribe_for_client = true
join_leave = true
force_push_join_leave = true
presence = true
history_size = 100
history_ttl = "300s"
force_recovery = true
"#
    );
    std::fs::write(&path, config).expect("write config");
    let served = Served::start(&["--config", path.to_str().expect("utf-8 path")]);
    drop(dir); // read at start
    served
}

/// A connection token for `user`, made by `duplex token`.
fn token(user: &str) -> String {
    let output = duplex()
        .args(["token", "--user", user, "--secret", SECRET])
        .output()
        .expect("run duplex token");
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

/// A running `duplex subscribe`, its output lines arriving on channels; killed on drop.
struct Subscriber {
    child: Child,
    stdout: mpsc::Receiver<String>,
    stderr: Arc<Mutex<String>>,
}

impl Subscriber {
    fn start(args: &[&str]) -> Subscriber {
        let mut child = duplex()
            .arg("subscribe")
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start duplex subscribe");
        let (lines, stdout) = mpsc::channel();
        let out = BufReader::new(child.stdout.take().expect("piped stdout"));
        std::thread::spawn(move || {
            for line in out.lines().map_while(Result::ok) {
                if lines.send(line).is_err() {
                    return;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let log = stderr.clone();
        let err = BufReader::new(child.stderr.take().expect("piped stderr"));
        std::thread::spawn(move || {
            for line in err.lines().map_while(Result::ok) {
                log.lock().unwrap().push_str(&format!("{line}\n"));
            }
        });
        Subscriber {
            child,
            stdout,
            stderr,
        }
    }

    /// The next stdout line, within 10 s.
    fn line(&self) -> String {
        self.stdout
            .recv_timeout(Duration::from_secs(10))
            .unwrap_or_else(|_| panic!("no output in time; stderr:\n{}", self.stderr()))
    }

    /// The next stdout line that is not a join or a leave.
    fn publication(&self) -> String {
        loop {
            let line = self.line();
            if !line.contains(" + joined: ") && !line.contains(" - left: ") {
                return line;
            }
        }
    }

    /// The next stdout line as JSON.
    fn json(&self) -> Value {
        let line = self.line();
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{line:?}: {e}"))
    }

    /// The next JSON line of this type, skipping others.
    fn next_of(&self, kind: &str) -> Value {
        loop {
            let value = self.json();
            if value["type"] == kind {
                return value;
            }
        }
    }

    fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Waits until stderr holds `text`, within 10 s.
    fn wait_stderr(&self, text: &str) {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while !self.stderr().contains(text) {
            assert!(
                std::time::Instant::now() < deadline,
                "{text:?} not on stderr:\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Ctrl-C; the exit code.
    fn interrupt(mut self) -> Option<i32> {
        // SAFETY: signalling the child we started, by its id.
        assert_eq!(
            unsafe { libc::kill(self.child.id() as i32, libc::SIGINT) },
            0
        );
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status.code();
            }
            assert!(
                std::time::Instant::now() < deadline,
                "still running after Ctrl-C"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Subscriber {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `duplex publish CHANNEL DATA` to `served` with the right key.
fn publish(served: &Served, channel: &str, data: &str) -> common::Run {
    run(
        &[
            "publish",
            channel,
            data,
            "--api",
            &served.http_url(),
            "--api-key",
            API_KEY,
        ],
        "",
        QUICK,
    )
}

#[test]
fn subscribe_prints_what_publish_sends_as_json_lines() {
    let served = hub();
    let token = token("42");
    let url = served.url();
    let subscriber = Subscriber::start(&["--json", &url, "chat:news", "--token", &token]);
    assert_eq!(subscriber.next_of("connected")["reconnected"], false);
    let subscribed = subscriber.next_of("subscribed");
    assert_eq!(subscribed["channel"], "chat:news");
    assert_eq!(subscribed["was_recovering"], false);

    for n in 1..=3 {
        let published = publish(&served, "chat:news", &json!({"n": n}).to_string());
        assert_eq!(published.code(), 0, "{published:?}");
        assert!(
            published
                .stdout
                .starts_with(&format!("published to chat:news: offset {n}, epoch ")),
            "{}",
            published.stdout
        );
    }
    for n in 1..=3u64 {
        let line = subscriber.next_of("publication");
        assert_eq!(line["channel"], "chat:news");
        assert_eq!(line["offset"], n);
        assert_eq!(line["data"], json!({"n": n}));
    }
    assert_eq!(subscriber.interrupt(), Some(0), "Ctrl-C ends it cleanly");
}

#[test]
fn subscribe_comes_back_after_a_drop_and_says_what_it_recovered() {
    let served = hub();
    let token = token("7");
    let url = served.url();
    let subscriber = Subscriber::start(&[&url, "chat:room", "--token", &token]);
    subscriber.wait_stderr("subscribed to chat:room");
    // Its own join comes first (the namespace pushes joins and leaves).
    assert!(
        subscriber
            .line()
            .starts_with("chat:room + joined: user 7 (client "),
        "{}",
        subscriber.stderr()
    );
    assert_eq!(publish(&served, "chat:room", r#"{"n":1}"#).code(), 0);
    assert_eq!(subscriber.publication(), r#"chat:room #1 {"n":1}"#);

    // The hub drops the connection with a reconnect code, and publications go on meanwhile.
    let (status, body) = http(
        served.addr,
        "POST",
        "/api/disconnect",
        &[&format!("X-API-Key: {API_KEY}")],
        r#"{"user": "7", "disconnect": {"code": 3011, "reason": "force reconnect"}}"#,
    );
    assert_eq!(status, 200, "{body}");
    for n in 2..=4 {
        let (status, body) = http(
            served.addr,
            "POST",
            "/api/publish",
            &[&format!("X-API-Key: {API_KEY}")],
            &json!({"channel": "chat:room", "data": {"n": n}}).to_string(),
        );
        assert_eq!(status, 200, "{body}");
    }
    subscriber.wait_stderr("disconnected: force reconnect (code 3011); reconnecting");
    subscriber.wait_stderr("chat:room: reconnected, recovered");
    // Each once, in order, whether it came back recovered or live.
    for n in 2..=4 {
        assert_eq!(
            subscriber.publication(),
            format!(r#"chat:room #{n} {{"n":{n}}}"#)
        );
    }
    assert_eq!(subscriber.interrupt(), Some(0));
}

#[test]
fn an_unreachable_hub_is_said_plainly() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = closed.local_addr().unwrap();
    drop(closed);
    let url = format!("ws://{addr}/connection/websocket");
    let subscribed = run(&["subscribe", &url, "chat:news"], "", QUICK);
    assert_eq!(subscribed.code(), 1);
    assert!(
        subscribed.stderr.contains(&format!(
            "cannot reach the hub at {url}: could not connect to {addr}"
        )),
        "{}",
        subscribed.stderr
    );

    let api = format!("http://{addr}");
    let published = run(
        &[
            "publish",
            "chat:news",
            "{}",
            "--api",
            &api,
            "--api-key",
            "k",
        ],
        "",
        QUICK,
    );
    assert_eq!(published.code(), 1);
    assert!(
        published.stderr.contains(&format!(
            "cannot reach the hub's API at {api}/api/publish: "
        )) && published.stderr.to_lowercase().contains("refused"),
        "{}",
        published.stderr
    );
}

#[test]
fn a_refused_token_shows_the_hubs_code_and_message() {
    let served = hub();
    let url = served.url();
    let refused = run(
        &["subscribe", &url, "chat:news", "--token", "not-a-token"],
        "",
        QUICK,
    );
    assert_eq!(refused.code(), 3, "3500-3999 exit with 3");
    assert!(
        refused
            .stderr
            .contains("the hub refused the token: invalid token (code 3500)"),
        "{}",
        refused.stderr
    );
    // Without a token at all, the hint says where one comes from.
    let bare = run(&["subscribe", &url, "chat:news"], "", QUICK);
    assert_eq!(bare.code(), 3);
    assert!(bare.stderr.contains("pass --token"), "{}", bare.stderr);
}

#[test]
fn publish_explains_bad_json_a_wrong_key_and_an_unknown_channel() {
    let served = hub();
    let api = served.http_url();

    let bad_json = run(
        &[
            "publish",
            "chat:news",
            "{text: hi}",
            "--api",
            &api,
            "--api-key",
            API_KEY,
        ],
        "",
        QUICK,
    );
    assert_eq!(bad_json.code(), 2, "a usage error");
    assert!(
        bad_json.stderr.contains("not JSON") && bad_json.stderr.contains("quoted"),
        "{}",
        bad_json.stderr
    );

    let wrong_key = run(
        &[
            "publish",
            "chat:news",
            "{}",
            "--api",
            &api,
            "--api-key",
            "nope",
        ],
        "",
        QUICK,
    );
    assert_eq!(wrong_key.code(), 1);
    assert!(
        wrong_key
            .stderr
            .contains("the hub refused the API key (401 Unauthorized)"),
        "{}",
        wrong_key.stderr
    );

    let unknown = publish(&served, "nowhere:news", "{}");
    assert_eq!(unknown.code(), 1);
    assert!(
        unknown.stderr.contains(
            "the hub refused the publication to nowhere:news: unknown channel (code 102)"
        ),
        "{}",
        unknown.stderr
    );
}

#[test]
fn help_shows_examples() {
    for (command, example) in [
        (
            "subscribe",
            "duplex subscribe ws://127.0.0.1:8000/connection/websocket chat:news",
        ),
        ("publish", "duplex publish chat:news '{\"text\":\"hello\"}'"),
    ] {
        let help = run(&[command, "--help"], "", QUICK);
        assert_eq!(help.code(), 0);
        assert!(help.stdout.contains("Examples:"), "{}", help.stdout);
        assert!(
            help.stdout.contains(example),
            "{example:?} in:\n{}",
            help.stdout
        );
    }
}

/// `duplex serve` takes a WebSocket opened over cleartext HTTP/2 (prior knowledge, RFC 8441's
/// extended CONNECT) on the same port as HTTP/1.1, and the hub answers over it.
#[test]
fn the_hub_is_reachable_over_http2() {
    let served = hub();
    let token = token("alice");
    common::block_on(async move {
        let (mut ws, _) = duplex::ClientBuilder::new()
            .http2(duplex::Http2::Require)
            .connect(&served.url())
            .await
            .expect("a WebSocket over HTTP/2");
        assert!(ws.get_ref().is_http2(), "the stream is an HTTP/2 one");
        let connect = json!({"id": 1, "connect": {"token": token}}).to_string();
        ws.send(connect).await.expect("send connect");
        let reply = loop {
            let event = tokio::time::timeout(Duration::from_secs(10), ws.next_event())
                .await
                .expect("a reply in time")
                .expect("open");
            if let duplex::Event::Message(message) = event {
                break message.as_text().expect("text").to_owned();
            }
        };
        let reply: Value = serde_json::from_str(&reply).expect("JSON");
        assert!(reply["connect"]["client"].is_string(), "{reply}");
    });
}
