//! `duplex serve` with webhooks and a queue file: the disconnect and unsubscribe events the
//! application has not yet acknowledged survive the server being stopped with SIGTERM or
//! killed with SIGKILL, and the next server on the same file delivers them, with the ids
//! they had.

mod common;

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use bytes::Bytes;
use common::duplex;
use common::served::{http, Served};
use duplex::Event;
use serde_json::{json, Value};

const PATIENCE: Duration = Duration::from_secs(15);

/// The application's endpoint: records every event and answers `status`.
struct Receiver {
    addr: SocketAddr,
    events: Arc<Mutex<Vec<Value>>>,
    server: tokio::task::JoinHandle<()>,
}

impl Receiver {
    async fn start(status: u16) -> Receiver {
        let events = Arc::new(Mutex::new(Vec::new()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = axum::Router::new()
            .route(
                "/hooks",
                post(
                    move |State(events): State<Arc<Mutex<Vec<Value>>>>, body: Bytes| async move {
                        let event = serde_json::from_slice(&body).unwrap_or(Value::Null);
                        events.lock().unwrap().push(event);
                        StatusCode::from_u16(status).unwrap()
                    },
                ),
            )
            .with_state(events.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Receiver {
            addr,
            events,
            server,
        }
    }

    fn endpoint(&self) -> String {
        format!("http://{}/hooks", self.addr)
    }

    /// The distinct event ids received so far.
    fn ids(&self) -> HashSet<String> {
        self.events
            .lock()
            .unwrap()
            .iter()
            .filter_map(|e| e["id"].as_str().map(str::to_owned))
            .collect()
    }

    async fn wait_for_ids(&self, count: usize) -> HashSet<String> {
        let deadline = Instant::now() + PATIENCE;
        while self.ids().len() < count {
            assert!(
                Instant::now() < deadline,
                "{count} events expected, got {:#?}",
                self.events.lock().unwrap()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.ids()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Where a served hub keeps the webhook events owed.
enum Queue<'a> {
    /// `webhook.queue_path`.
    File(&'a Path),
    /// The default: beside the SQLite engine's database in this data folder (`--data-dir`).
    DataFolder(&'a Path),
}

/// `duplex serve --dev` posting webhooks to `endpoint`, its queue where `queue` says.
fn start(endpoint: &str, queue: Queue<'_>) -> Served {
    let mut command = duplex();
    command.args(["serve", "--dev", "--address", "127.0.0.1", "--port", "0"]);
    match queue {
        Queue::File(file) => {
            command.arg("--data-dir").arg(file.with_extension("engine"));
            command.args(["--set", &format!("webhook.queue_path={}", file.display())]);
        }
        Queue::DataFolder(folder) => {
            command.arg("--data-dir").arg(folder);
        }
    }
    for setting in [
        "webhook.enabled=true".to_owned(),
        format!("webhook.endpoint={endpoint}"),
        "webhook.secret=serve-webhook-secret".to_owned(),
        "webhook.retry_min_delay=50ms".to_owned(),
        "webhook.retry_max_delay=200ms".to_owned(),
        "shutdown.timeout=3s".to_owned(),
    ] {
        command.args(["--set", &setting]);
    }
    Served::spawn(command)
}

/// A metric's value from `/metrics`.
fn metric(served: &Served, name: &str) -> Option<f64> {
    let (status, body) = http(served.addr, "GET", "/metrics", &[], "");
    (status == 200).then_some(())?;
    body.lines()
        .find_map(|line| line.strip_prefix(&format!("{name} ")))
        .and_then(|value| value.trim().parse().ok())
}

/// Waits until `name` is at least `value`.
async fn wait_for_metric(served: &Served, name: &str, value: f64) {
    let deadline = Instant::now() + PATIENCE;
    while metric(served, name).is_none_or(|v| v < value) {
        assert!(
            Instant::now() < deadline,
            "{name} stayed at {:?}",
            metric(served, name)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A client connected (development mode: no token) and subscribed to `news`.
async fn subscribed_client(
    served: &Served,
) -> duplex::WebSocket<duplex::MaybeTlsStream<tokio::net::TcpStream>> {
    let (mut ws, _) = duplex::connect(&served.url()).await.expect("websocket");
    for command in [
        json!({"id": 1, "connect": {"name": "test"}}),
        json!({"id": 2, "subscribe": {"channel": "news"}}),
    ] {
        ws.send(command.to_string()).await.unwrap();
        let reply = tokio::time::timeout(PATIENCE, ws.next_event())
            .await
            .expect("a reply in time")
            .expect("open");
        let Event::Message(message) = reply else {
            panic!("{reply:?}");
        };
        let reply: Value = serde_json::from_str(message.as_text().unwrap()).unwrap();
        assert!(reply.get("error").is_none(), "{reply}");
    }
    ws
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_owed_when_the_server_is_killed_are_delivered_by_the_next_one() {
    let folder = tempfile::tempdir().unwrap();
    let queue = folder.path().join("owed.sqlite3");
    let failing = Receiver::start(503).await;
    let mut served = start(&failing.endpoint(), Queue::File(&queue));
    let mut ws = subscribed_client(&served).await;
    ws.close(1000u16, "").await.ok();
    // Both events (the subscription's and the connection's) are owed, and were tried.
    wait_for_metric(&served, "duplex_hub_webhook_owed", 2.0).await;
    wait_for_metric(&served, "duplex_hub_webhook_failed_attempts_total", 2.0).await;
    let owed = failing.wait_for_ids(2).await;

    served.signal(libc::SIGKILL);
    served.exit_within(PATIENCE);

    let receiver = Receiver::start(200).await;
    let next = start(&receiver.endpoint(), Queue::File(&queue));
    let delivered = receiver.wait_for_ids(2).await;
    assert_eq!(delivered, owed, "the same events, by id");
    wait_for_metric(&next, "duplex_hub_webhook_delivered_total", 2.0).await;
    assert_eq!(metric(&next, "duplex_hub_webhook_owed"), Some(0.0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_disconnects_of_a_graceful_stop_are_delivered_after_it() {
    let folder = tempfile::tempdir().unwrap();
    let data = folder.path().join("data");
    let failing = Receiver::start(503).await;
    let mut served = start(&failing.endpoint(), Queue::DataFolder(&data));
    let mut ws = subscribed_client(&served).await;
    // The client answers the server's close, as SDKs do.
    let reader = tokio::spawn(async move {
        while let Ok(event) = ws.next_event().await {
            if matches!(event, Event::Close(_)) {
                break;
            }
        }
    });

    served.signal(libc::SIGTERM);
    served.exit_within(PATIENCE);
    let _ = reader.await;

    let receiver = Receiver::start(200).await;
    assert!(
        data.join("webhooks.sqlite3").exists(),
        "the queue sits beside the engine's database"
    );
    let _next = start(&receiver.endpoint(), Queue::DataFolder(&data));
    receiver.wait_for_ids(2).await;
    let events = receiver.events.lock().unwrap().clone();
    let disconnect = events
        .iter()
        .find(|e| e["type"] == "disconnect")
        .expect("a disconnect");
    assert_eq!(
        (&disconnect["code"], &disconnect["reason"]),
        (&json!(3001), &json!("shutdown"))
    );
    let unsubscribe = events
        .iter()
        .find(|e| e["type"] == "unsubscribe")
        .expect("an unsubscribe");
    assert_eq!(unsubscribe["channel"], "news");
}
