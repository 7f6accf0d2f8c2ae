//! `duplex serve` keeps what its clients need across a restart: a client that was subscribed
//! before the server stopped (by SIGTERM, or killed outright with SIGKILL) reconnects to the
//! restarted server and recovers exactly the publications it missed — those published before
//! the stop and those after the restart — in order, once, in the same epoch.

mod common;

use std::path::Path;
use std::time::Duration;

use common::served::{http, Served};
use common::{block_on, duplex};
use duplex::{Event, MaybeTlsStream, WebSocket};
use serde_json::{json, Value};

const SECRET: &str = "restart-test-secret";
const API_KEY: &str = "restart-test-key";
const CHANNEL: &str = "chat:room";

/// How long the test waits for the server or a reply.
const PATIENCE: Duration = Duration::from_secs(20);

/// `duplex serve` on a free loopback port with the SQLite engine's folder `data` (the engine
/// is the default one: no --engine flag) and a namespace that forces recovery.
fn start(data: &Path) -> Served {
    let namespaces = json!([{
        "name": "chat", "history_size": 100, "history_ttl": "300s",
        "force_recovery": true, "allow_subscribe_for_client": true
    }]);
    let mut command = duplex();
    command
        .args([
            "serve",
            "--address",
            "127.0.0.1",
            "--port",
            "0",
            "--data-dir",
        ])
        .arg(data)
        .args(["--set", &format!("client.token.hmac_secret_key={SECRET}")])
        .args(["--set", &format!("http_api.key={API_KEY}")])
        .args(["--set", &format!("channel.namespaces={namespaces}")])
        .args(["--set", "shutdown.timeout=3s"]);
    Served::spawn(command)
}

/// Stops `served` with `signal` and waits for it to exit; its exit code.
fn stop(mut served: Served, signal: i32) -> Option<i32> {
    served.signal(signal);
    served.exit_within(PATIENCE).0
}

/// Publishes `data` through the server API; the publication's (offset, epoch).
fn publish(served: &Served, data: Value) -> (u64, String) {
    let body = json!({"channel": CHANNEL, "data": data}).to_string();
    let key = format!("X-API-Key: {API_KEY}");
    let (status, reply) = http(
        served.addr,
        "POST",
        "/api/publish",
        &[&key, "Content-Type: application/json"],
        &body,
    );
    assert_eq!(status, 200, "{reply}");
    let reply: Value = serde_json::from_str(&reply).expect("JSON reply");
    let result = &reply["result"];
    (
        result["offset"].as_u64().expect("offset"),
        result["epoch"].as_str().expect("epoch").to_owned(),
    )
}

/// A connection token for user 42, made by `duplex token` as a backend would.
fn token() -> String {
    let output = duplex()
        .args(["token", "--user", "42", "--secret", SECRET])
        .output()
        .expect("run duplex token");
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

/// A client speaking the JSON protocol as the SDKs put it on the wire.
struct Client {
    ws: WebSocket<MaybeTlsStream<tokio::net::TcpStream>>,
    next_id: u64,
}

impl Client {
    /// Connects to `served` with a token.
    async fn connect(served: &Served, token: &str) -> Client {
        let url = format!("ws://{}/connection/websocket", served.addr);
        let (ws, _) = duplex::connect(&url).await.expect("websocket");
        let mut client = Client { ws, next_id: 0 };
        let reply = client
            .call(json!({"connect": {"token": token, "name": "restart-test"}}))
            .await;
        assert!(reply.get("connect").is_some(), "{reply}");
        client
    }

    /// Sends a command and returns its reply (pushes before it are skipped).
    async fn call(&mut self, mut command: Value) -> Value {
        self.next_id += 1;
        command["id"] = json!(self.next_id);
        self.ws.send(command.to_string()).await.expect("send");
        loop {
            let event = tokio::time::timeout(PATIENCE, self.ws.next_event())
                .await
                .expect("the hub answers in time")
                .expect("connection open");
            let Event::Message(message) = event else {
                continue;
            };
            let text = message.as_text().expect("JSON frames are text").to_owned();
            for line in text.lines().filter(|line| !line.is_empty()) {
                let value: Value = serde_json::from_str(line).expect("JSON from the hub");
                if value["id"] == json!(self.next_id) {
                    return value;
                }
            }
        }
    }
}

/// The whole scenario, the server stopped by `signal` in the middle.
fn recovers_across_a_restart(signal: i32) {
    let data = tempfile::tempdir().expect("data folder");
    let token = token();
    let served = start(data.path());
    let before = publish(&served, json!({"n": 0}));

    // A subscriber takes its position, then goes away.
    let (offset, epoch) = block_on(async {
        let mut client = Client::connect(&served, &token).await;
        let reply = client
            .call(json!({"subscribe": {"channel": CHANNEL}}))
            .await;
        let subscribe = &reply["subscribe"];
        assert_eq!(subscribe["recoverable"], json!(true), "{reply}");
        (
            subscribe["offset"].as_u64().expect("offset"),
            subscribe["epoch"].as_str().expect("epoch").to_owned(),
        )
    });
    assert_eq!((offset, epoch.as_str()), (before.0, before.1.as_str()));

    let mut missed = Vec::new();
    for n in 1..=5 {
        missed.push((publish(&served, json!({"n": n})), n));
    }
    let code = stop(served, signal);
    if signal == libc::SIGTERM {
        assert_eq!(code, Some(0), "a clean exit on SIGTERM");
    }

    let served = start(data.path());
    for n in 6..=8 {
        missed.push((publish(&served, json!({"n": n})), n));
    }
    let expected_offsets: Vec<u64> = (offset + 1..=offset + 8).collect();
    assert_eq!(
        missed.iter().map(|((o, _), _)| *o).collect::<Vec<_>>(),
        expected_offsets,
        "offsets continue after the restart"
    );
    assert!(
        missed.iter().all(|((_, e), _)| *e == epoch),
        "the epoch survives the restart"
    );

    let reply = block_on(async {
        let mut client = Client::connect(&served, &token).await;
        client
            .call(json!({"subscribe": {
                "channel": CHANNEL, "recover": true, "offset": offset, "epoch": epoch
            }}))
            .await
    });
    let subscribe = &reply["subscribe"];
    assert_eq!(subscribe["recovered"], json!(true), "{reply}");
    assert_eq!(subscribe["epoch"], json!(epoch), "{reply}");
    assert_eq!(subscribe["offset"], json!(offset + 8), "{reply}");
    let recovered: Vec<(u64, Value)> = subscribe["publications"]
        .as_array()
        .expect("publications")
        .iter()
        .map(|p| (p["offset"].as_u64().expect("offset"), p["data"].clone()))
        .collect();
    let expected: Vec<(u64, Value)> = missed
        .iter()
        .map(|((offset, _), n)| (*offset, json!({"n": n})))
        .collect();
    assert_eq!(
        recovered, expected,
        "exactly the missed ones, in order, once"
    );
}

#[test]
fn a_client_recovers_what_it_missed_across_a_sigterm_restart() {
    recovers_across_a_restart(libc::SIGTERM);
}

#[test]
fn a_client_recovers_what_it_missed_across_a_sigkill_restart() {
    recovers_across_a_restart(libc::SIGKILL);
}
