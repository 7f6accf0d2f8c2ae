//! Proxies to the application's backend, against a real HTTP backend on a loopback port: what
//! the backend receives (Centrifugo's request objects, forwarded cookies and headers), what its
//! answers do to the client (allow, error, disconnect, changed data), and what a backend that is
//! down, slow or wrong does (error 100 quickly, the hub still serving others).

mod common;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use common::{now, token, TestClient, TestHub};
use duplex::ClientBuilder;
use serde_json::{json, Value};

/// What the backend answers on one path.
#[derive(Clone)]
enum Answer {
    /// 200 with this JSON.
    Json(Value),
    /// This status and body, as they are.
    Raw(u16, String),
    /// Sleeps, then answers 200 with this JSON.
    Slow(Duration, Value),
    /// 200 with a body of this many bytes.
    Huge(usize),
    /// 200 with a chunked body of JSON whitespace that never ends.
    Endless,
}

/// One request the backend received.
#[derive(Clone, Debug)]
struct Seen {
    path: String,
    headers: HeaderMap,
    body: Value,
}

#[derive(Clone, Default)]
struct Script {
    answers: Arc<Mutex<HashMap<String, Answer>>>,
    seen: Arc<Mutex<Vec<Seen>>>,
}

/// An application backend on a loopback port, answering each path as the test says.
struct Backend {
    addr: SocketAddr,
    script: Script,
}

impl Backend {
    async fn start() -> Backend {
        let script = Script::default();
        let app = axum::Router::new()
            .fallback(answer)
            .with_state(script.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move { axum::serve(listener, app).await });
        Backend { addr, script }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}/{path}", self.addr)
    }

    fn answer(&self, path: &str, answer: Answer) {
        self.script
            .answers
            .lock()
            .unwrap()
            .insert(format!("/{path}"), answer);
    }

    /// The requests received on `path`, in order.
    fn seen(&self, path: &str) -> Vec<Seen> {
        let path = format!("/{path}");
        self.script
            .seen
            .lock()
            .unwrap()
            .iter()
            .filter(|seen| seen.path == path)
            .cloned()
            .collect()
    }
}

async fn answer(
    State(script): State<Script>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_owned();
    let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
    script.seen.lock().unwrap().push(Seen {
        path: path.clone(),
        headers,
        body,
    });
    let answer = script.answers.lock().unwrap().get(&path).cloned();
    match answer {
        Some(Answer::Json(value)) => axum::Json(value).into_response(),
        Some(Answer::Raw(status, body)) => {
            (StatusCode::from_u16(status).unwrap(), body).into_response()
        }
        Some(Answer::Slow(pause, value)) => {
            tokio::time::sleep(pause).await;
            axum::Json(value).into_response()
        }
        Some(Answer::Huge(size)) => {
            let filler = "x".repeat(size);
            axum::Json(json!({"result": {"user": "56", "data": filler}})).into_response()
        }
        Some(Answer::Endless) => {
            let chunk = Bytes::from(vec![b' '; 64 * 1024]);
            let chunks =
                futures_util::stream::repeat_with(move || Ok::<_, std::io::Error>(chunk.clone()));
            axum::body::Body::from_stream(chunks).into_response()
        }
        None => (StatusCode::NOT_FOUND, "no answer scripted").into_response(),
    }
}

/// A loopback port with nothing listening on it.
async fn dead_port() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    addr
}

/// A hub whose connect proxy is `backend`'s `connect` path, forwarding `Cookie`.
async fn hub_with_connect_proxy(backend: &Backend, extra: &[(&str, &str)]) -> TestHub {
    let endpoint = backend.url("connect");
    let mut settings = vec![
        ("client.proxy.connect.enabled", "true"),
        ("client.proxy.connect.endpoint", endpoint.as_str()),
        ("client.proxy.connect.timeout", "500ms"),
        ("client.proxy.connect.http_headers", "Cookie Authorization"),
        (
            "client.proxy.connect.http.static_headers",
            r#"{"X-Static": "from-config", "Authorization": "static"}"#,
        ),
    ];
    settings.extend_from_slice(extra);
    TestHub::start(&settings).await
}

fn error_code(reply: &Value) -> (u64, String, bool) {
    let error = &reply["error"];
    (
        error["code"].as_u64().unwrap_or(0),
        error["message"].as_str().unwrap_or("").to_owned(),
        error["temporary"].as_bool().unwrap_or(false),
    )
}

#[tokio::test]
async fn a_connection_without_a_token_is_the_backends_to_accept_with_cookies_forwarded() {
    let backend = Backend::start().await;
    backend.answer(
        "connect",
        Answer::Json(json!({"result": {
            "user": "56",
            "info": {"name": "Ann"},
            "data": {"welcome": true},
            "channels": ["news"],
            "meta": {"plan": "gold"}
        }})),
    );
    let hub = hub_with_connect_proxy(&backend, &[]).await;
    let builder = ClientBuilder::new()
        .header("Cookie", "session=abc")
        .header("X-Not-Listed", "secret");
    let mut client = TestClient::open_with(&hub, builder).await;
    let reply = client
        .call(json!({"connect": {"name": "js", "version": "5.0", "data": {"theme": "dark"}}}))
        .await;
    let result = &reply["connect"];
    assert_eq!(result["data"], json!({"welcome": true}), "{reply}");
    assert!(
        result["subs"]["news"].is_object(),
        "server-side sub: {reply}"
    );
    assert!(result.get("expires").is_none(), "{reply}");

    let seen = backend.seen("connect");
    assert_eq!(seen.len(), 1);
    let request = &seen[0];
    assert_eq!(
        request.body,
        json!({
            "client": result["client"],
            "transport": "websocket",
            "protocol": "json",
            "encoding": "json",
            "name": "js",
            "version": "5.0",
            "data": {"theme": "dark"}
        })
    );
    let header = |name: &str| {
        request
            .headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    assert_eq!(header("cookie").as_deref(), Some("session=abc"));
    assert_eq!(header("x-static").as_deref(), Some("from-config"));
    // Not sent by the client: the static value stays.
    assert_eq!(header("authorization").as_deref(), Some("static"));
    assert_eq!(header("x-not-listed"), None);
    assert_eq!(header("content-type").as_deref(), Some("application/json"));

    // The user the backend named is the connection's user.
    let info = hub.api("info", json!({})).await;
    assert_eq!(info["result"]["nodes"][0]["num_users"], 1, "{info}");
    let published = hub
        .api("publish", json!({"channel": "news", "data": {"n": 1}}))
        .await;
    assert!(published.get("error").is_none(), "{published}");
    assert_eq!(client.publication("news").await["data"], json!({"n": 1}));
}

#[tokio::test]
async fn a_connection_with_a_token_is_decided_by_its_token_not_the_backend() {
    let backend = Backend::start().await;
    backend.answer(
        "connect",
        Answer::Json(json!({"disconnect": {"code": 4501, "reason": "no"}})),
    );
    let hub = hub_with_connect_proxy(&backend, &[]).await;
    let (_client, result) = TestClient::connect(&hub, &token("42", None)).await;
    assert!(result["client"].is_string());
    assert!(backend.seen("connect").is_empty());
}

#[tokio::test]
async fn the_backend_refuses_with_its_error_or_its_disconnect() {
    let backend = Backend::start().await;
    let hub = hub_with_connect_proxy(&backend, &[]).await;

    backend.answer(
        "connect",
        Answer::Json(
            json!({"error": {"code": 1000, "message": "come back later", "temporary": true}}),
        ),
    );
    let mut client = TestClient::open(&hub).await;
    let reply = client.call(json!({"connect": {}})).await;
    assert_eq!(
        error_code(&reply),
        (1000, "come back later".to_owned(), true)
    );

    backend.answer(
        "connect",
        Answer::Json(json!({"result": {"user": "56", "expire_at": now() - 10}})),
    );
    let mut client = TestClient::open(&hub).await;
    let reply = client.call(json!({"connect": {}})).await;
    assert_eq!(error_code(&reply).0, 110, "already expired: {reply}");

    backend.answer(
        "connect",
        Answer::Json(json!({"disconnect": {"code": 4501, "reason": "unauthorized"}})),
    );
    let mut client = TestClient::open(&hub).await;
    client.send_raw(r#"{"id":1,"connect":{}}"#).await;
    assert_eq!(client.closed().await, (4501, "unauthorized".to_owned()));
}

#[tokio::test]
async fn a_slow_backend_gives_error_100_at_the_timeout_and_the_hub_serves_others_meanwhile() {
    let backend = Backend::start().await;
    backend.answer(
        "connect",
        Answer::Slow(Duration::from_secs(10), json!({"result": {"user": "56"}})),
    );
    let hub = hub_with_connect_proxy(&backend, &[("client.proxy.connect.timeout", "2s")]).await;
    let mut slow = TestClient::open(&hub).await;
    let started = Instant::now();
    slow.send_raw(r#"{"id":1,"connect":{}}"#).await;

    // While that connection waits on the backend, others connect and call.
    let (mut other, _) = TestClient::connect(&hub, &token("7", None)).await;
    let reply = other.call(json!({"rpc": {"method": "x"}})).await;
    assert_eq!(error_code(&reply).0, 104);
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "the hub waited on the backend for others"
    );

    let reply = slow.reply(1).await;
    let waited = started.elapsed();
    assert_eq!(
        error_code(&reply),
        (100, "internal server error".to_owned(), true),
        "{reply}"
    );
    assert!(
        waited >= Duration::from_millis(1900) && waited < Duration::from_millis(4000),
        "answered after {waited:?}, the timeout is 2s"
    );
}

#[tokio::test]
async fn a_backend_that_is_down_gives_error_100_at_once() {
    let dead = dead_port().await;
    let endpoint = format!("http://{dead}/connect");
    let hub = TestHub::start(&[
        ("client.proxy.connect.enabled", "true"),
        ("client.proxy.connect.endpoint", &endpoint),
    ])
    .await;
    let mut client = TestClient::open(&hub).await;
    let started = Instant::now();
    let reply = client.call(json!({"connect": {}})).await;
    assert_eq!(error_code(&reply).0, 100, "{reply}");
    assert!(started.elapsed() < Duration::from_millis(900));
}

#[tokio::test]
async fn a_backend_answering_garbage_gives_error_100_never_a_yes() {
    let backend = Backend::start().await;
    let hub = hub_with_connect_proxy(&backend, &[]).await;
    let cases = [
        ("html", Answer::Raw(200, "<html>hello</html>".to_owned())),
        ("wrong shape", Answer::Json(json!({"result": "yes"}))),
        ("a list", Answer::Json(json!([{"result": {"user": "56"}}]))),
        ("nothing decided", Answer::Json(json!({}))),
        ("a result of null", Answer::Json(json!({"result": null}))),
        (
            "a disconnect code no close frame can carry",
            Answer::Json(json!({"disconnect": {"code": 1000, "reason": "x"}})),
        ),
        (
            "bad base64",
            Answer::Json(json!({"result": {"user": "56", "b64data": "%%%"}})),
        ),
        ("a huge body", Answer::Huge(2 * 1024 * 1024)),
        ("a body that never ends", Answer::Endless),
        (
            "status 500",
            Answer::Raw(500, r#"{"result": {"user": "56"}}"#.to_owned()),
        ),
        ("status 204", Answer::Raw(204, String::new())),
    ];
    for (case, answer) in cases {
        backend.answer("connect", answer);
        let mut client = TestClient::open(&hub).await;
        let reply = client.call(json!({"connect": {}})).await;
        assert_eq!(error_code(&reply).0, 100, "{case}: {reply}");
        // Still not connected: nothing but connect is allowed.
        client.send_raw(r#"{"id":9,"rpc":{"method":"x"}}"#).await;
        assert_eq!(client.closed().await.0, 3501, "{case}");
    }
}

/// A loopback server that accepts connections and closes them without a word, counting them.
async fn slammer() -> (SocketAddr, Arc<Mutex<usize>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let count = Arc::new(Mutex::new(0));
    let counted = count.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            *counted.lock().unwrap() += 1;
            drop(stream);
        }
    });
    (addr, count)
}

#[tokio::test]
async fn reads_are_retried_once_after_a_connection_error_and_publishes_never() {
    let (addr, count) = slammer().await;
    let hub = TestHub::start(&[
        ("client.proxy.connect.enabled", "true"),
        (
            "client.proxy.connect.endpoint",
            &format!("http://{addr}/connect"),
        ),
        (
            "channel.proxy.publish.endpoint",
            &format!("http://{addr}/publish"),
        ),
        ("channel.namespaces.open.publish_proxy_enabled", "true"),
    ])
    .await;
    let mut client = TestClient::open(&hub).await;
    let reply = client.call(json!({"connect": {}})).await;
    assert_eq!(error_code(&reply).0, 100, "{reply}");
    assert_eq!(*count.lock().unwrap(), 2, "connect: one try and one retry");

    *count.lock().unwrap() = 0;
    let (mut client, _) = TestClient::connect(&hub, &token("42", None)).await;
    let reply = client
        .call(json!({"publish": {"channel": "open:x", "data": {"a": 1}}}))
        .await;
    assert_eq!(error_code(&reply).0, 100, "{reply}");
    assert_eq!(*count.lock().unwrap(), 1, "publish: never repeated");
}

/// A hub with the channel and RPC proxies on `backend`, and namespace `room` proxied.
async fn hub_with_channel_proxies(backend: &Backend, extra: &[(&str, &str)]) -> TestHub {
    let namespaces = json!([
        {"name": "room", "subscribe_proxy_enabled": true, "publish_proxy_enabled": true,
         "sub_refresh_proxy_enabled": true, "history_size": 10, "history_ttl": "60s"},
        {"name": "dialog", "allow_user_limited_channels": true, "subscribe_proxy_enabled": true},
        {"name": "plain", "allow_subscribe_for_client": true}
    ])
    .to_string();
    let mut settings = vec![
        ("channel.namespaces", namespaces.as_str()),
        ("rpc.without_namespace.proxy_enabled", "true"),
        (
            "rpc.namespaces",
            r#"[{"name": "local", "proxy_enabled": false}]"#,
        ),
        ("channel.proxy.sub_refresh.timeout", "300ms"),
    ];
    let subscribe = backend.url("subscribe");
    let publish = backend.url("publish");
    let sub_refresh = backend.url("sub_refresh");
    let rpc = backend.url("rpc");
    settings.extend_from_slice(&[
        ("channel.proxy.subscribe.endpoint", subscribe.as_str()),
        ("channel.proxy.publish.endpoint", publish.as_str()),
        ("channel.proxy.sub_refresh.endpoint", sub_refresh.as_str()),
        ("rpc.proxy.endpoint", rpc.as_str()),
    ]);
    settings.extend_from_slice(extra);
    TestHub::start(&settings).await
}

#[tokio::test]
async fn subscriptions_in_a_proxied_namespace_are_the_backends_to_decide() {
    let backend = Backend::start().await;
    let hub = hub_with_channel_proxies(&backend, &[]).await;
    let (mut client, connected) = TestClient::connect(&hub, &token("42", None)).await;

    backend.answer(
        "subscribe",
        Answer::Json(
            json!({"result": {"info": {"role": "admin"}, "data": {"topic": "rust"},
                                        "override": {"force_recovery": {"value": true}}}}),
        ),
    );
    let reply = client
        .call(json!({"subscribe": {"channel": "room:1", "data": {"invite": "x"}}}))
        .await;
    let result = &reply["subscribe"];
    assert_eq!(result["data"], json!({"topic": "rust"}), "{reply}");
    assert_eq!(
        result["recoverable"], true,
        "the override forced recovery: {reply}"
    );
    let seen = backend.seen("subscribe");
    assert_eq!(
        seen[0].body,
        json!({"client": connected["client"], "transport": "websocket", "protocol": "json",
               "encoding": "json", "user": "42", "channel": "room:1", "data": {"invite": "x"}})
    );

    backend.answer(
        "subscribe",
        Answer::Json(json!({"error": {"code": 403, "message": "permission denied"}})),
    );
    let reply = client
        .call(json!({"subscribe": {"channel": "room:2"}}))
        .await;
    assert_eq!(
        error_code(&reply),
        (403, "permission denied".to_owned(), false)
    );

    // A user-limited channel naming the user needs no backend.
    let asked = backend.seen("subscribe").len();
    let reply = client
        .call(json!({"subscribe": {"channel": "dialog:#42,43"}}))
        .await;
    assert!(reply.get("subscribe").is_some(), "{reply}");
    assert_eq!(backend.seen("subscribe").len(), asked);

    backend.answer(
        "subscribe",
        Answer::Json(json!({"disconnect": {"code": 4000, "reason": "reconnect please"}})),
    );
    client
        .send_raw(r#"{"id":50,"subscribe":{"channel":"room:3"}}"#)
        .await;
    assert_eq!(client.closed().await, (4000, "reconnect please".to_owned()));
}

#[tokio::test]
async fn publications_in_a_proxied_namespace_are_checked_and_changed_by_the_backend() {
    let backend = Backend::start().await;
    let hub = hub_with_channel_proxies(&backend, &[]).await;
    backend.answer("subscribe", Answer::Json(json!({"result": {}})));
    let (mut client, _) = TestClient::connect(&hub, &token("42", None)).await;
    client
        .call(json!({"subscribe": {"channel": "room:1"}}))
        .await;

    backend.answer(
        "publish",
        Answer::Json(json!({"result": {"data": {"text": "[censored]"}, "skip_history": true}})),
    );
    let reply = client
        .call(json!({"publish": {"channel": "room:1", "data": {"text": "rude"}}}))
        .await;
    assert!(reply.get("publish").is_some(), "{reply}");
    assert_eq!(
        client.publication("room:1").await["data"],
        json!({"text": "[censored]"})
    );
    let seen = backend.seen("publish");
    assert_eq!(seen[0].body["channel"], "room:1");
    assert_eq!(seen[0].body["data"], json!({"text": "rude"}));
    let history = hub
        .api("history", json!({"channel": "room:1", "limit": 10}))
        .await;
    assert_eq!(
        history["result"]["publications"]
            .as_array()
            .map_or(0, Vec::len),
        0,
        "skip_history kept it out: {history}"
    );

    backend.answer(
        "publish",
        Answer::Json(json!({"error": {"code": 1001, "message": "slow down"}})),
    );
    let reply = client
        .call(json!({"publish": {"channel": "room:1", "data": {"text": "again"}}}))
        .await;
    assert_eq!(error_code(&reply).0, 1001);
    assert!(client.no_push_within(Duration::from_millis(200)).await);
}

#[tokio::test]
async fn rpcs_are_answered_by_the_backend_where_their_namespace_says_so() {
    let backend = Backend::start().await;
    let hub = hub_with_channel_proxies(&backend, &[]).await;
    backend.answer(
        "rpc",
        Answer::Json(json!({"result": {"data": {"answer": "2019"}}})),
    );
    let (mut client, _) = TestClient::connect(&hub, &token("42", None)).await;
    let reply = client
        .call(json!({"rpc": {"method": "getCurrentPrice", "data": {"id": 12}}}))
        .await;
    assert_eq!(reply["rpc"]["data"], json!({"answer": "2019"}), "{reply}");
    let seen = backend.seen("rpc");
    assert_eq!(seen[0].body["method"], "getCurrentPrice");
    assert_eq!(seen[0].body["user"], "42");
    assert_eq!(seen[0].body["data"], json!({"id": 12}));

    // A namespace without the proxy, and one not configured: the hub's own answer.
    let reply = client.call(json!({"rpc": {"method": "local:x"}})).await;
    assert_eq!(error_code(&reply).0, 104);
    let reply = client.call(json!({"rpc": {"method": "nope:x"}})).await;
    assert_eq!(error_code(&reply).0, 104);
    assert_eq!(backend.seen("rpc").len(), 1);

    backend.answer(
        "rpc",
        Answer::Json(json!({"disconnect": {"code": 4503, "reason": "banned"}})),
    );
    client.send_raw(r#"{"id":70,"rpc":{"method":"x"}}"#).await;
    assert_eq!(client.closed().await, (4503, "banned".to_owned()));
}

#[tokio::test]
async fn the_refresh_proxy_extends_a_connection_or_lets_it_expire() {
    let backend = Backend::start().await;
    let refresh = backend.url("refresh");
    let hub = hub_with_connect_proxy(
        &backend,
        &[
            ("client.proxy.refresh.enabled", "true"),
            ("client.proxy.refresh.endpoint", &refresh),
        ],
    )
    .await;
    backend.answer(
        "connect",
        Answer::Json(json!({"result": {"user": "56", "expire_at": now() + 1}})),
    );
    backend.answer(
        "refresh",
        Answer::Json(json!({"result": {"expire_at": now() + 3600, "info": {"v": 2}}})),
    );
    let mut extended = TestClient::open(&hub).await;
    let reply = extended.call(json!({"connect": {}})).await;
    assert!(
        reply["connect"].get("expires").is_none(),
        "the backend refreshes, not the client: {reply}"
    );
    let client_id = reply["connect"]["client"].clone();

    // The connection outlives its first expiry: the backend extended it.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let reply = extended.call(json!({"rpc": {"method": "x"}})).await;
    assert_eq!(error_code(&reply).0, 104, "still connected: {reply}");
    let seen = backend.seen("refresh");
    assert_eq!(seen.len(), 1);
    assert_eq!(
        seen[0].body,
        json!({"client": client_id, "transport": "websocket", "protocol": "json",
               "encoding": "json", "user": "56"})
    );

    backend.answer(
        "refresh",
        Answer::Json(json!({"result": {"expired": true}})),
    );
    backend.answer(
        "connect",
        Answer::Json(json!({"result": {"user": "57", "expire_at": now() + 1}})),
    );
    let mut expiring = TestClient::open(&hub).await;
    expiring.call(json!({"connect": {}})).await;
    assert_eq!(expiring.closed().await.0, 3005);
}

#[tokio::test]
async fn a_refresh_the_backend_cannot_answer_keeps_the_connection() {
    let backend = Backend::start().await;
    let refresh = backend.url("refresh");
    let hub = hub_with_connect_proxy(
        &backend,
        &[
            ("client.proxy.refresh.enabled", "true"),
            ("client.proxy.refresh.endpoint", &refresh),
        ],
    )
    .await;
    backend.answer(
        "connect",
        Answer::Json(json!({"result": {"user": "56", "expire_at": now() + 1}})),
    );
    backend.answer(
        "refresh",
        Answer::Raw(503, "down for maintenance".to_owned()),
    );
    let mut client = TestClient::open(&hub).await;
    client.call(json!({"connect": {}})).await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert!(!backend.seen("refresh").is_empty());
    let reply = client.call(json!({"rpc": {"method": "x"}})).await;
    assert_eq!(error_code(&reply).0, 104, "still connected: {reply}");
}

#[tokio::test]
async fn the_sub_refresh_proxy_ends_a_subscription_the_backend_lets_expire() {
    let backend = Backend::start().await;
    let hub = hub_with_channel_proxies(&backend, &[]).await;
    backend.answer(
        "subscribe",
        Answer::Json(json!({"result": {"expire_at": now() + 1}})),
    );
    backend.answer(
        "sub_refresh",
        Answer::Json(json!({"result": {"expired": true}})),
    );
    let (mut client, _) = TestClient::connect(&hub, &token("42", None)).await;
    let reply = client
        .call(json!({"subscribe": {"channel": "room:1"}}))
        .await;
    assert!(
        reply["subscribe"].get("expires").is_none(),
        "the backend refreshes, not the client: {reply}"
    );
    let push = client.push().await;
    assert_eq!(push["channel"], "room:1", "{push}");
    assert_eq!(push["unsubscribe"]["code"], 2501, "{push}");
    let seen = backend.seen("sub_refresh");
    assert_eq!(seen[0].body["channel"], "room:1");
    assert_eq!(seen[0].body["user"], "42");
}

#[tokio::test]
async fn a_proxy_switched_on_without_an_endpoint_or_over_grpc_is_refused_at_startup() {
    use duplex_hub::config::HubConfig;
    let mut config = HubConfig::default();
    config.set("client.proxy.connect.enabled", "true").unwrap();
    let error = config.validate().unwrap_err().to_string();
    assert!(error.contains("client.proxy.connect.endpoint"), "{error}");

    let mut config = HubConfig::default();
    config
        .set("channel.without_namespace.publish_proxy_enabled", "true")
        .unwrap();
    config
        .set("channel.proxy.publish.endpoint", "grpc://localhost:9000")
        .unwrap();
    let error = config.validate().unwrap_err().to_string();
    assert!(error.contains("channel.proxy.publish.endpoint"), "{error}");
}

#[tokio::test]
async fn binary_encoding_sends_base64_and_meta_from_connect_comes_back_to_the_backend() {
    let backend = Backend::start().await;
    let rpc = backend.url("rpc");
    let hub = hub_with_connect_proxy(
        &backend,
        &[
            ("rpc.proxy.endpoint", &rpc),
            ("rpc.proxy.binary_encoding", "true"),
            ("rpc.proxy.include_connection_meta", "true"),
            ("rpc.without_namespace.proxy_enabled", "true"),
        ],
    )
    .await;
    backend.answer(
        "connect",
        Answer::Json(json!({"result": {"user": "56", "meta": {"tenant": 7}}})),
    );
    // {"a":1} in base64.
    backend.answer(
        "rpc",
        Answer::Json(json!({"result": {"b64data": "eyJhIjoxfQ=="}})),
    );
    let mut client = TestClient::open(&hub).await;
    client.call(json!({"connect": {}})).await;
    let reply = client
        .call(json!({"rpc": {"method": "m", "data": {"id": 12}}}))
        .await;
    assert_eq!(reply["rpc"]["data"], json!({"a": 1}), "{reply}");
    let seen = backend.seen("rpc");
    let body = &seen[0].body;
    assert_eq!(body["encoding"], "binary");
    assert_eq!(
        body["b64data"], "eyJpZCI6MTJ9",
        "base64 of {{\"id\":12}}: {body}"
    );
    assert!(body.get("data").is_none(), "{body}");
    assert_eq!(body["meta"], json!({"tenant": 7}), "{body}");
    // The connect proxy, which does not include meta, never saw any.
    assert!(backend.seen("connect")[0].body.get("meta").is_none());
}
