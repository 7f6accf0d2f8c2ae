//! `duplex serve` keeps what its clients need across a restart: a client that was subscribed
//! before the server stopped (by SIGTERM, or killed outright with SIGKILL) reconnects to the
//! restarted server and recovers exactly the publications it missed — those published before
//! the stop and those after the restart — in order, once, in the same epoch.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::{block_on, duplex};
use duplex::{Event, MaybeTlsStream, WebSocket};
use serde_json::{json, Value};

const SECRET: &str = "restart-test-secret";
const API_KEY: &str = "restart-test-key";
const CHANNEL: &str = "chat:room";

/// How long the test waits for the server or a reply.
const PATIENCE: Duration = Duration::from_secs(20);

/// A running `duplex serve` on `data`, killed on drop if still running.
struct Served {
    child: Child,
    addr: SocketAddr,
}

impl Served {
    /// `duplex serve` on a free loopback port with the SQLite engine's folder `data` (the
    /// engine is the default one: no --engine flag) and a namespace that forces recovery.
    fn start(data: &Path) -> Served {
        let namespaces = json!([{
            "name": "chat", "history_size": 100, "history_ttl": "300s",
            "force_recovery": true, "allow_subscribe_for_client": true
        }]);
        let mut child = duplex()
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
            .args(["--set", "shutdown.timeout=3s"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start duplex serve");
        let mut lines = BufReader::new(child.stderr.take().expect("piped stderr")).lines();
        let mut seen = String::new();
        let addr = loop {
            let Some(Ok(line)) = lines.next() else {
                let _ = child.wait();
                panic!("duplex serve exited before listening: {seen}");
            };
            seen.push_str(&line);
            seen.push('\n');
            if let Some(rest) = line.strip_prefix("duplex serve: listening on ") {
                break rest.trim().parse().expect("listening address");
            }
        };
        std::thread::spawn(move || lines.map_while(Result::ok).for_each(drop));
        Served { child, addr }
    }

    /// Stops the server with `signal` and waits for it to exit; its exit code.
    fn stop(mut self, signal: i32) -> Option<i32> {
        // SAFETY: signalling the child we started, by its id.
        assert_eq!(unsafe { libc::kill(self.child.id() as i32, signal) }, 0);
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status.code();
            }
            assert!(Instant::now() < deadline, "duplex serve did not stop");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Publishes `data` through the server API; the publication's (offset, epoch).
    fn publish(&self, data: Value) -> (u64, String) {
        let body = json!({"channel": CHANNEL, "data": data}).to_string();
        let (status, reply) = http(self.addr, "/api/publish", &body);
        assert_eq!(status, 200, "{reply}");
        let reply: Value = serde_json::from_str(&reply).expect("JSON reply");
        let result = &reply["result"];
        (
            result["offset"].as_u64().expect("offset"),
            result["epoch"].as_str().expect("epoch").to_owned(),
        )
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A server API call over plain HTTP/1.1; the status and the body.
fn http(addr: SocketAddr, path: &str, body: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).expect("connect for HTTP");
    stream.set_read_timeout(Some(PATIENCE)).expect("timeout");
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nX-API-Key: {API_KEY}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).expect("send request");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read response");
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP response: {response:?}"));
    let body = response.split_once("\r\n\r\n").map_or("", |(_, body)| body);
    (status, body.to_owned())
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
    let served = Served::start(data.path());
    let before = served.publish(json!({"n": 0}));

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
        missed.push((served.publish(json!({"n": n})), n));
    }
    let code = served.stop(signal);
    if signal == libc::SIGTERM {
        assert_eq!(code, Some(0), "a clean exit on SIGTERM");
    }

    let served = Served::start(data.path());
    for n in 6..=8 {
        missed.push((served.publish(json!({"n": n})), n));
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
