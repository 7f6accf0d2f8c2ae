//! `duplex serve`, run as an operator runs it: secure by default and saying so, a development
//! mode that says so loudly, Centrifugo and TOML configuration files, refusals of bad
//! configuration that name what is wrong, JSON logs, and a graceful shutdown on SIGTERM or
//! Ctrl-C that tells every client to reconnect (3001).

mod common;

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::served::{http, Served};
use common::{block_on, duplex};
use duplex::{Event, MaybeTlsStream, WebSocket};
use serde_json::{json, Value};

const SECRET: &str = "serve-test-secret";
const API_KEY: &str = "serve-test-key";

/// Runs `duplex ARGS` that must fail at start; fails the test if it is still running after
/// 20 s.
fn refused(mut command: Command) -> Output {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start duplex");
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("duplex was expected to refuse to start, and is still running");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    child.wait_with_output().expect("output")
}

/// A connection token for `user` made by `duplex token`, as a backend would.
fn token(user: &str) -> String {
    let output = duplex()
        .args(["token", "--user", user, "--secret", SECRET])
        .output()
        .expect("run duplex token");
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

/// A client speaking the JSON protocol as the SDKs put it on the wire.
struct Client {
    ws: WebSocket<MaybeTlsStream<tokio::net::TcpStream>>,
    next_id: u64,
    pushes: Vec<Value>,
}

/// How long a client waits for the hub before the test fails.
const PATIENCE: Duration = Duration::from_secs(10);

impl Client {
    async fn open(served: &Served) -> Client {
        let (ws, _) = duplex::connect(&served.url()).await.expect("websocket");
        Client {
            ws,
            next_id: 0,
            pushes: Vec::new(),
        }
    }

    /// Opens and sends connect with `token` (none if empty); the whole reply, or the close
    /// code and reason if the hub closed instead.
    async fn connect(served: &Served, token: &str) -> (Client, Result<Value, (u16, String)>) {
        let mut client = Client::open(served).await;
        let connect = if token.is_empty() {
            json!({"connect": {"name": "test"}})
        } else {
            json!({"connect": {"token": token, "name": "test"}})
        };
        let reply = client.call(connect).await;
        (client, reply)
    }

    /// Sends a command with the next id; its reply, or the close if the hub closed.
    async fn call(&mut self, mut command: Value) -> Result<Value, (u16, String)> {
        self.next_id += 1;
        let id = self.next_id;
        command["id"] = json!(id);
        self.ws.send(command.to_string()).await.expect("send");
        loop {
            for message in self.read().await? {
                if message["id"] == id {
                    return Ok(message);
                }
                self.pushes.push(message);
            }
        }
    }

    /// The next push, skipping replies.
    async fn push(&mut self) -> Value {
        loop {
            if !self.pushes.is_empty() {
                let push = self.pushes.remove(0);
                return push.get("push").cloned().unwrap_or(push);
            }
            let messages = self.read().await.expect("open while waiting for a push");
            self.pushes.extend(messages);
        }
    }

    /// The close code and reason the hub ends the connection with.
    async fn closed(&mut self) -> (u16, String) {
        loop {
            if let Err(close) = self.read().await {
                return close;
            }
        }
    }

    /// The next frame's commands' replies and pushes; pings are answered, as SDKs do.
    async fn read(&mut self) -> Result<Vec<Value>, (u16, String)> {
        loop {
            let event = tokio::time::timeout(PATIENCE, self.ws.next_event())
                .await
                .expect("the hub answers in time");
            match event {
                Ok(Event::Message(message)) => {
                    let text = message.as_text().expect("JSON frames are text").to_owned();
                    let mut messages = Vec::new();
                    for line in text.lines().filter(|line| !line.is_empty()) {
                        let value: Value = serde_json::from_str(line).expect("JSON from the hub");
                        if value == json!({}) {
                            self.ws.send("{}").await.expect("pong");
                        } else {
                            messages.push(value);
                        }
                    }
                    if !messages.is_empty() {
                        return Ok(messages);
                    }
                }
                Ok(Event::Close(frame)) => {
                    return Err(frame.map_or((1005, String::new()), |frame| {
                        (frame.code.0, frame.reason.to_string())
                    }))
                }
                Ok(_) => {}
                Err(_) => return Err((1006, String::new())),
            }
        }
    }
}

#[test]
fn without_configuration_it_runs_and_refuses_every_connection_saying_why() {
    let served = Served::start(&[]);
    assert_eq!(
        http(served.addr, "GET", "/health", &[], ""),
        (200, "{}".into())
    );
    let stderr = served.stderr();
    assert!(
        stderr.contains("every Centrifugo-protocol connection will be refused"),
        "{stderr}"
    );
    assert!(
        stderr.contains("client.token.hmac_secret_key") && stderr.contains("--dev"),
        "the warning says how to fix it: {stderr}"
    );
    assert!(
        stderr.contains("the server API at /api refuses every call"),
        "{stderr}"
    );
    block_on(async {
        let (_client, reply) = Client::connect(&served, "").await;
        assert_eq!(reply.map_err(|(code, _)| code), Err(3501));
    });
    // The server API without a key is refused too.
    let (status, _) = http(
        served.addr,
        "POST",
        "/api/info",
        &["Content-Type: application/json"],
        "{}",
    );
    assert_eq!(status, 401);
}

#[test]
fn dev_mode_says_so_loudly_and_lets_a_client_in_without_a_token() {
    let served = Served::start(&["--dev"]);
    let stderr = served.stderr();
    assert!(stderr.contains("DEVELOPMENT MODE"), "{stderr}");
    assert!(stderr.contains("never run this in production"), "{stderr}");
    block_on(async {
        let (_client, reply) = Client::connect(&served, "").await;
        let reply = reply.expect("connected without a token");
        assert!(reply["connect"]["client"].as_str().is_some(), "{reply}");
    });
    // The server API takes calls without a key.
    let (status, body) = http(
        served.addr,
        "POST",
        "/api/info",
        &["Content-Type: application/json"],
        "{}",
    );
    assert_eq!(status, 200, "{body}");
}

/// Centrifugo's insecure mode (`client.insecure`, which `--dev` sets) opens every channel to
/// every client: subscribe, publish, presence and history, as `--dev`'s warning says.
#[test]
fn dev_mode_opens_every_channel() {
    let served = Served::start(&["--dev"]);
    block_on(async {
        let (mut client, reply) = Client::connect(&served, "").await;
        reply.expect("connected");
        let subscribed = client
            .call(json!({"subscribe": {"channel": "news"}}))
            .await
            .expect("open");
        assert!(subscribed.get("subscribe").is_some(), "{subscribed}");
        let published = client
            .call(json!({"publish": {"channel": "news", "data": {"text": "hi"}}}))
            .await
            .expect("open");
        assert!(published.get("publish").is_some(), "{published}");
        assert_eq!(client.push().await["pub"]["data"], json!({"text": "hi"}));
    });
}

/// A Centrifugo v6 configuration file, with options duplex implements and some it does not.
const CENTRIFUGO_JSON: &str = r#"{
  "client": {
    "token": {"hmac_secret_key": "serve-test-secret"},
    "allowed_origins": ["http://localhost:3000"]
  },
  "http_api": {"key": "serve-test-key"},
  "engine": {"type": "memory", "redis": {"address": "redis://localhost:6379", "sentinel_address": "localhost:26379"}},
  "admin": {"enabled": true, "password": "password", "secret": "secret"},
  "channel": {
    "namespaces": [
      {"name": "chat", "allow_subscribe_for_client": true, "presence": true,
       "history_size": 10, "history_ttl": "300s"}
    ]
  }
}"#;

/// The same in duplex's TOML form.
const DUPLEX_TOML: &str = r#"
[client.token]
hmac_secret_key = "serve-test-secret"

[http_api]
key = "serve-test-key"

[[channel.namespaces]]
name = "chat"
allow_subscribe_for_client = true
presence = true
history_size = 10
history_ttl = "300s"
"#;

/// A client of user 42 subscribes to `chat:lobby`; a publication through the server API
/// reaches it.
fn chat_works(served: &Served) {
    block_on(async {
        let (mut client, reply) = Client::connect(served, &token("42")).await;
        let reply = reply.expect("connected with a token");
        assert!(reply.get("connect").is_some(), "{reply}");
        let subscribed = client
            .call(json!({"subscribe": {"channel": "chat:lobby"}}))
            .await
            .expect("open");
        assert!(subscribed.get("subscribe").is_some(), "{subscribed}");
        let (status, body) = http(
            served.addr,
            "POST",
            "/api/publish",
            &[&format!("X-API-Key: {API_KEY}")],
            r#"{"channel": "chat:lobby", "data": {"text": "hello"}}"#,
        );
        assert_eq!(status, 200, "{body}");
        let push = client.push().await;
        assert_eq!(push["channel"], "chat:lobby");
        assert_eq!(push["pub"]["data"], json!({"text": "hello"}));
    });
}

#[test]
fn a_centrifugo_config_works_and_every_ignored_key_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.json");
    std::fs::write(&path, CENTRIFUGO_JSON).unwrap();
    let served = Served::start(&["--config", path.to_str().unwrap()]);
    let stderr = served.stderr();
    for key in [
        "engine.redis.sentinel_address",
        "admin.enabled",
        "admin.password",
        "admin.secret",
    ] {
        assert!(
            stderr.contains(&format!(
                "option {key} is not implemented by duplex; ignored"
            )),
            "{key} is named: {stderr}"
        );
    }
    for implemented in [
        "client.allowed_origins",
        "http_api.key",
        "engine.type",
        "engine.redis.address",
    ] {
        assert!(
            !stderr.contains(&format!("option {implemented} ")),
            "{implemented} is not reported: {stderr}"
        );
    }
    assert!(
        !stderr.contains("every Centrifugo-protocol connection will be refused"),
        "{stderr}"
    );
    chat_works(&served);
}

#[test]
fn a_toml_config_works() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("duplex.toml");
    std::fs::write(&path, DUPLEX_TOML).unwrap();
    let served = Served::start(&["--config", path.to_str().unwrap()]);
    let stderr = served.stderr();
    assert!(!stderr.contains("ignored"), "{stderr}");
    assert!(!stderr.contains("refuse"), "{stderr}");
    chat_works(&served);
}

#[test]
fn an_unknown_duplex_variable_is_refused_by_name() {
    let mut command = duplex();
    command
        .args(["serve", "--address", "127.0.0.1", "--port", "0"])
        .env("DUPLEX_FOO", "1");
    let output = refused(command);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("unknown environment variable DUPLEX_FOO"),
        "{stderr}"
    );
}

#[test]
fn a_bad_value_is_refused_naming_its_key() {
    let mut command = duplex();
    command.args([
        "serve",
        "--address",
        "127.0.0.1",
        "--port",
        "0",
        "--set",
        "client.channel_limit=notanumber",
    ]);
    let output = refused(command);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("client.channel_limit"), "{stderr}");
    assert!(stderr.contains("notanumber"), "{stderr}");

    // A misspelt key, too.
    let mut command = duplex();
    command.args(["serve", "--port", "0", "--set", "client.chanel_limit=5"]);
    let output = refused(command);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("client.chanel_limit"), "{stderr}");
}

/// Three connected clients; `signal` makes each receive 3001 "shutdown" (a code that asks
/// SDKs to reconnect), and the server exits with 0 within its shutdown timeout.
fn shutdown_on(signal: i32) {
    let timeout = Duration::from_secs(4);
    let mut served = Served::start(&[
        "--set",
        &format!("client.token.hmac_secret_key={SECRET}"),
        "--set",
        "shutdown.timeout=4s",
    ]);
    let tokens = [token("1"), token("2"), token("3")];
    block_on(async {
        let mut clients = Vec::new();
        for token in &tokens {
            let (client, reply) = Client::connect(&served, token).await;
            reply.expect("connected");
            clients.push(client);
        }
        served.signal(signal);
        for (i, client) in clients.iter_mut().enumerate() {
            assert_eq!(
                client.closed().await,
                (3001, "shutdown".to_owned()),
                "client {i}"
            );
        }
    });
    let (code, took) = served.exit_within(timeout + Duration::from_secs(10));
    assert_eq!(code, Some(0), "{}", served.stderr());
    assert!(took <= timeout, "exited after {took:?}");
    assert!(
        served.stderr().contains("shutting down"),
        "{}",
        served.stderr()
    );
}

#[test]
fn sigterm_tells_every_client_to_reconnect_and_exits_cleanly() {
    shutdown_on(libc::SIGTERM);
}

#[test]
fn ctrl_c_tells_every_client_to_reconnect_and_exits_cleanly() {
    shutdown_on(libc::SIGINT);
}

#[test]
fn json_logs_are_one_object_per_line() {
    let mut served = Served::start(&["--dev", "--log-format", "json"]);
    assert_eq!(
        http(served.addr, "GET", "/health", &[], ""),
        (200, "{}".into())
    );
    served.signal(libc::SIGTERM);
    let (code, _) = served.exit_within(Duration::from_secs(20));
    assert_eq!(code, Some(0));
    let stderr = served.stderr();
    let events: Vec<Value> = stderr
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{line:?}: {e}")))
        .collect();
    let listening = events
        .iter()
        .find(|event| event["fields"]["address"].is_string())
        .expect("a listening event");
    assert_eq!(listening["level"], "INFO");
    assert_eq!(
        listening["fields"]["address"],
        served.addr.to_string(),
        "{listening}"
    );
    assert!(
        events.iter().any(|event| event["level"] == "WARN"
            && event["fields"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("DEVELOPMENT MODE"))),
        "{stderr}"
    );
    assert!(events.iter().all(|event| event["timestamp"].is_string()));
}

/// `log.level` from the configuration sets how much is logged, unless the flags say
/// otherwise: a person's `-q` wins over a file.
#[test]
fn the_configured_log_level_applies_unless_a_flag_overrides_it() {
    let refusal_logged = |flags: &[&str]| {
        let mut args = vec!["--set", "log.level=debug"];
        args.extend_from_slice(flags);
        let served = Served::start(&args);
        block_on(async {
            let (_client, reply) = Client::connect(&served, "").await;
            assert_eq!(reply.map_err(|(code, _)| code), Err(3501));
        });
        // The session logs the refusal as it ends; give the line a moment to arrive.
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if served
                .stderr()
                .contains("connection without a token refused")
            {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    };
    assert!(refusal_logged(&[]), "log.level=debug shows debug lines");
    assert!(!refusal_logged(&["-q"]), "-q wins over log.level");
}

#[test]
fn help_shows_examples() {
    let run = common::run(&["serve", "--help"], "", common::QUICK);
    assert_eq!(run.code(), 0);
    for text in [
        "Examples:",
        "duplex serve --demo",
        "duplex serve --dev",
        "duplex serve --config config.json",
        "--log-format json",
        "new Centrifuge('ws://localhost:8000/connection/websocket'",
        "X-API-Key",
    ] {
        assert!(run.stdout.contains(text), "{text:?} in:\n{}", run.stdout);
    }
}

/// `--demo`: the pages, a token for any name from the server itself (loopback only), the
/// server API under this run's printed key, and the dashboard's feed of the hub's figures.
#[test]
fn the_demo_serves_pages_mints_tokens_and_feeds_its_dashboard() {
    let served = Served::start(&["--demo"]);
    let stderr = served.stderr();
    let port = served.addr.port();
    assert!(
        stderr.contains(&format!("DEMO: open http://127.0.0.1:{port}/")),
        "{stderr}"
    );
    let (status, index) = http(served.addr, "GET", "/", &[], "");
    assert_eq!(status, 200);
    for page in ["/chat", "/dashboard", "/results", "/cursors"] {
        assert!(
            index.contains(&format!("href=\"{page}\"")),
            "{page} in {index}"
        );
        assert_eq!(http(served.addr, "GET", page, &[], "").0, 200, "{page}");
    }
    assert_eq!(
        http(served.addr, "GET", "/demo/vendor/centrifuge.js", &[], "").0,
        200
    );
    assert_eq!(http(served.addr, "GET", "/demo/no-such.js", &[], "").0, 404);

    // The key the operator is told to give the results feed opens the server API.
    let key = stderr
        .split("DUPLEX_HTTP_API_KEY=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("the feed command with its key")
        .to_owned();
    let api = |key: &str| {
        http(
            served.addr,
            "POST",
            "/api/info",
            &[&format!("X-API-Key: {key}")],
            "{}",
        )
        .0
    };
    assert_eq!(api(&key), 200);
    assert_eq!(api("guess"), 401);

    let (status, body) = http(served.addr, "GET", "/demo/token?user=alice", &[], "");
    assert_eq!(status, 200, "{body}");
    let token: Value = serde_json::from_str(&body).unwrap();
    let token = token["token"].as_str().unwrap().to_owned();
    assert_eq!(
        http(served.addr, "GET", "/demo/token?user=%3Cb%3E", &[], "").0,
        400
    );
    block_on(async {
        let (mut client, reply) = Client::connect(&served, &token).await;
        let reply = reply.expect("connected with the demo's token");
        assert!(reply["connect"]["client"].as_str().is_some(), "{reply}");
        let subscribed = client
            .call(json!({"subscribe": {"channel": "metrics:hub"}}))
            .await
            .expect("subscribed");
        assert!(subscribed.get("subscribe").is_some(), "{subscribed}");
        // Within two seconds, a point that counts this connection.
        let point = tokio::time::timeout(Duration::from_secs(3), client.push())
            .await
            .expect("a dashboard point every second");
        let data = &point["pub"]["data"];
        assert!(data["connections"].as_u64() >= Some(1), "{point}");
        assert!(data["deliveries_per_second"].is_number(), "{point}");
        // Clients may not publish into the dashboard.
        let refused = client
            .call(json!({"publish": {"channel": "metrics:hub", "data": {}}}))
            .await
            .expect("a reply");
        assert_eq!(refused["error"]["code"], 103, "{refused}");
    });
}

#[test]
fn the_demo_refuses_to_listen_beyond_loopback() {
    let mut command = duplex();
    command.args(["serve", "--demo", "--address", "0.0.0.0", "--port", "0"]);
    let output = refused(command);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("loopback"), "{stderr}");
}
