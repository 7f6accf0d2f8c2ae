//! The fallback transports as the `centrifuge` SDK uses them where WebSocket is blocked:
//! HTTP-streaming (`POST /connection/http_stream`) and SSE (`GET /connection/sse`), each with
//! its later commands POSTed to `/emulation`. The same session as WebSocket behind them: auth,
//! subscriptions, publications, recovery, and a disconnect that reaches the client as a push.

mod common;

use std::time::Duration;

use common::{token, TestHub, PATIENCE};
use serde_json::{json, Value};

/// One streaming connection, read reply by reply.
struct Stream {
    response: reqwest::Response,
    buffer: Vec<u8>,
    sse: bool,
}

impl Stream {
    /// Opens HTTP-streaming with a connect command for `user`.
    async fn http(hub: &TestHub, user: &str) -> Stream {
        let connect = json!({"id": 1, "connect": {"token": token(user, None)}}).to_string();
        let response = reqwest::Client::new()
            .post(format!("http://{}/connection/http_stream", hub.addr))
            .header("Content-Type", "application/json")
            .body(connect)
            .send()
            .await
            .expect("http_stream");
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "application/json");
        Stream {
            response,
            buffer: Vec::new(),
            sse: false,
        }
    }

    /// Opens SSE with a connect command for `user`, as EventSource does.
    async fn sse(hub: &TestHub, user: &str) -> Stream {
        let connect = json!({"id": 1, "connect": {"token": token(user, None)}}).to_string();
        let response = reqwest::Client::new()
            .get(format!("http://{}/connection/sse", hub.addr))
            .query(&[("cf_connect", connect)])
            .send()
            .await
            .expect("sse");
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "text/event-stream");
        Stream {
            response,
            buffer: Vec::new(),
            sse: true,
        }
    }

    /// The next reply or push; `None` when the stream ended.
    async fn next(&mut self) -> Option<Value> {
        loop {
            let line_end = self.buffer.iter().position(|b| *b == b'\n');
            if let Some(end) = line_end {
                let line: Vec<u8> = self.buffer.drain(..=end).collect();
                let line = std::str::from_utf8(&line[..end]).expect("utf-8").trim();
                let line = if self.sse {
                    match line.strip_prefix("data: ") {
                        Some(data) => data,
                        None => continue, // the empty line that ends an event
                    }
                } else {
                    line
                };
                return Some(serde_json::from_str(line).expect("a JSON reply"));
            }
            let chunk = tokio::time::timeout(PATIENCE, self.response.chunk())
                .await
                .expect("a reply in time")
                .expect("stream readable")?;
            self.buffer.extend_from_slice(&chunk);
        }
    }

    /// The next reply that is not a server ping.
    async fn reply(&mut self) -> Value {
        loop {
            let reply = self.next().await.expect("the stream goes on");
            if reply != json!({}) {
                return reply;
            }
        }
    }
}

/// POSTs `command` to `/emulation` for `session`; the status.
async fn emulate(hub: &TestHub, session: &str, command: Value) -> u16 {
    reqwest::Client::new()
        .post(format!("http://{}/emulation", hub.addr))
        .json(&json!({"session": session, "node": "", "data": command.to_string()}))
        .send()
        .await
        .expect("emulation")
        .status()
        .as_u16()
}

/// The connect reply's emulation session id, checked to be there.
fn session_of(connect: &Value) -> String {
    let result = &connect["connect"];
    assert!(
        !result["node"].as_str().unwrap_or("").is_empty(),
        "{connect}"
    );
    let session = result["session"].as_str().expect("session").to_owned();
    // Not the client id, which other clients see in presence: only this client knows it.
    assert_ne!(
        Some(session.as_str()),
        result["client"].as_str(),
        "{connect}"
    );
    session
}

#[tokio::test]
async fn http_streaming_connects_subscribes_receives_and_is_told_of_its_disconnect() {
    let hub = TestHub::start(&[]).await;
    let mut stream = Stream::http(&hub, "alice").await;
    let session = session_of(&stream.reply().await);

    let status = emulate(
        &hub,
        &session,
        json!({"id": 2, "subscribe": {"channel": "small:a"}}),
    )
    .await;
    assert_eq!(status, 204);
    let subscribed = stream.reply().await;
    assert_eq!(subscribed["id"], 2, "{subscribed}");
    assert!(subscribed["subscribe"].is_object(), "{subscribed}");

    for n in 0..3 {
        hub.api("publish", json!({"channel": "small:a", "data": {"n": n}}))
            .await;
    }
    for n in 0..3 {
        let push = stream.reply().await;
        assert_eq!(push["push"]["channel"], "small:a");
        assert_eq!(push["push"]["pub"]["data"]["n"], n, "{push}");
        assert_eq!(push["push"]["pub"]["offset"], n + 1, "{push}");
    }

    hub.api(
        "disconnect",
        json!({"user": "alice", "disconnect": {"code": 4501, "reason": "bye"}}),
    )
    .await;
    let push = stream.reply().await;
    assert_eq!(push["push"]["disconnect"]["code"], 4501, "{push}");
    assert_eq!(push["push"]["disconnect"]["reason"], "bye", "{push}");
    // The stream stays open a little after the push (the SDK closes it once it has read it),
    // then ends.
    assert!(
        stream.next().await.is_none(),
        "the stream ends after the disconnect"
    );
    assert_eq!(
        emulate(
            &hub,
            &session,
            json!({"id": 3, "presence": {"channel": "small:a"}})
        )
        .await,
        404
    );
}

#[tokio::test]
async fn sse_carries_the_same_session() {
    let hub = TestHub::start(&[]).await;
    let mut stream = Stream::sse(&hub, "bob").await;
    let session = session_of(&stream.reply().await);
    let status = emulate(
        &hub,
        &session,
        json!({"id": 2, "subscribe": {"channel": "chat:b"}}),
    )
    .await;
    assert_eq!(status, 204);
    assert_eq!(stream.reply().await["id"], 2);
    let join = stream.reply().await;
    assert_eq!(join["push"]["join"]["info"]["user"], "bob", "{join}");
    hub.api(
        "publish",
        json!({"channel": "chat:b", "data": "multi\nline?"}),
    )
    .await;
    let push = stream.reply().await;
    assert_eq!(push["push"]["pub"]["data"], "multi\nline?");
    // Several commands in one POST, answered in order on the stream.
    let two = format!(
        "{}\n{}",
        json!({"id": 3, "presence": {"channel": "chat:b"}}),
        json!({"id": 4, "history": {"channel": "chat:b", "limit": 10}})
    );
    let status = reqwest::Client::new()
        .post(format!("http://{}/emulation", hub.addr))
        .json(&json!({"session": session, "data": two}))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 204);
    let presence = stream.reply().await;
    assert_eq!(presence["id"], 3, "{presence}");
    assert!(presence["presence"]["presence"].is_object(), "{presence}");
    let history = stream.reply().await;
    assert_eq!(history["id"], 4, "{history}");
    assert_eq!(
        history["history"]["publications"].as_array().unwrap().len(),
        1
    );
}

#[tokio::test]
async fn a_client_recovers_over_a_new_stream_what_it_missed() {
    let hub = TestHub::start(&[]).await;
    let mut first = Stream::http(&hub, "carol").await;
    let session = session_of(&first.reply().await);
    emulate(
        &hub,
        &session,
        json!({"id": 2, "subscribe": {"channel": "small:r"}}),
    )
    .await;
    let subscribed = first.reply().await;
    let epoch = subscribed["subscribe"]["epoch"]
        .as_str()
        .unwrap()
        .to_owned();
    hub.api("publish", json!({"channel": "small:r", "data": 1}))
        .await;
    assert_eq!(first.reply().await["push"]["pub"]["offset"], 1);
    drop(first);
    // The session ends when its stream is gone.
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let info = hub.api("info", json!({})).await;
        if info["result"]["nodes"][0]["num_clients"] == 0 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{info}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for n in 2..=4 {
        hub.api("publish", json!({"channel": "small:r", "data": n}))
            .await;
    }
    let mut second = Stream::http(&hub, "carol").await;
    let session = session_of(&second.reply().await);
    let subscribe = json!({"id": 2, "subscribe": {
        "channel": "small:r", "recover": true, "offset": 1, "epoch": epoch}});
    emulate(&hub, &session, subscribe).await;
    let recovered = second.reply().await;
    assert_eq!(recovered["subscribe"]["recovered"], true, "{recovered}");
    let data: Vec<_> = recovered["subscribe"]["publications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["data"].clone())
        .collect();
    assert_eq!(data, [json!(2), json!(3), json!(4)]);
}

#[tokio::test]
async fn bad_requests_get_exact_answers() {
    let hub = TestHub::start(&[("client.allowed_origins", r#"["https://app.example.com"]"#)]).await;
    let http = reqwest::Client::new();
    let base = format!("http://{}", hub.addr);
    // Unknown session, malformed body, no commands.
    let status = |r: reqwest::Response| r.status().as_u16();
    let unknown = http
        .post(format!("{base}/emulation"))
        .json(&json!({"session": "nope", "data": "{}"}))
        .send()
        .await
        .unwrap();
    assert_eq!(status(unknown), 404);
    let malformed = http
        .post(format!("{base}/emulation"))
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(status(malformed), 400);
    // A page from an origin not allowed cannot open a stream; an allowed one can, with CORS.
    let refused = http
        .post(format!("{base}/connection/http_stream"))
        .header("Origin", "https://evil.example.com")
        .body(json!({"id": 1, "connect": {"token": token("x", None)}}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(status(refused), 403);
    let preflight = http
        .request(reqwest::Method::OPTIONS, format!("{base}/emulation"))
        .header("Origin", "https://app.example.com")
        .header("Access-Control-Request-Method", "POST")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), 204);
    assert_eq!(
        preflight.headers()["access-control-allow-origin"],
        "https://app.example.com"
    );
    // No connect command, and a connect that is not one.
    let empty = http
        .post(format!("{base}/connection/http_stream"))
        .send()
        .await
        .unwrap();
    assert_eq!(status(empty), 400);
    let no_param = http
        .get(format!("{base}/connection/sse"))
        .send()
        .await
        .unwrap();
    assert_eq!(status(no_param), 400);
    let mut garbage = http
        .post(format!("{base}/connection/http_stream"))
        .body("{\"id\":1,\"connect\":")
        .send()
        .await
        .unwrap();
    assert_eq!(
        garbage.status(),
        200,
        "the stream opens, then the session refuses"
    );
    let mut body = Vec::new();
    while let Some(chunk) = tokio::time::timeout(PATIENCE, garbage.chunk())
        .await
        .unwrap()
        .unwrap()
    {
        body.extend_from_slice(&chunk);
    }
    let reply: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        reply["push"]["disconnect"]["code"], 3501,
        "bad request: {reply}"
    );
}

#[tokio::test]
async fn the_fallbacks_can_be_switched_off() {
    let hub = TestHub::start(&[("http_stream.enabled", "false"), ("sse.enabled", "false")]).await;
    let http = reqwest::Client::new();
    for (method, path) in [
        (reqwest::Method::POST, "/connection/http_stream"),
        (reqwest::Method::GET, "/connection/sse"),
        (reqwest::Method::POST, "/emulation"),
    ] {
        let response = http
            .request(method, format!("http://{}{path}", hub.addr))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404, "{path}");
    }
}
