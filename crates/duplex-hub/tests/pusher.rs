//! The Pusher front door over real sockets, by hand, as pusher-js and the server SDKs put it on
//! the wire: the close codes of connections it cannot serve, authorization, presence by user,
//! client events, the activity ping, bad input, the signed HTTP API, and publications crossing
//! between the two protocols. tests/pusher drives the real SDKs.

mod common;

use std::time::Duration;

use common::{TestClient, TestHub, PATIENCE};
use duplex::proto::{Event, Message};
use duplex::{ClientBuilder, MaybeTlsStream, WebSocket};
use duplex_hub::pusher::signature::{channel_auth, sign_api_request, user_auth, Credentials};
use serde_json::{json, Value};
use tokio::net::TcpStream;

const APP_ID: &str = "1001";
const KEY: &str = "app-key";
const SECRET: &str = "app-secret";

fn app() -> Credentials {
    Credentials::new(KEY, SECRET)
}

async fn hub(extra: &[(&str, &str)]) -> TestHub {
    let apps = json!([{"id": APP_ID, "key": KEY, "secret": SECRET}]).to_string();
    let mut settings = vec![("pusher.apps", apps.as_str())];
    settings.extend_from_slice(extra);
    TestHub::start(&settings).await
}

/// A Pusher connection, read message by message.
struct Pusher {
    ws: WebSocket<MaybeTlsStream<TcpStream>>,
    socket_id: String,
}

impl Pusher {
    /// Opens `path` (with its query) and returns the socket, before any message is read.
    async fn open(hub: &TestHub, path: &str) -> WebSocket<MaybeTlsStream<TcpStream>> {
        let (ws, _) = ClientBuilder::new()
            .connect(&format!("ws://{}{path}", hub.addr))
            .await
            .expect("websocket");
        ws
    }

    /// A connection to the test app, past `connection_established`.
    async fn connect(hub: &TestHub) -> Pusher {
        let ws = Pusher::open(
            hub,
            &format!("/app/{KEY}?protocol=7&client=js&version=8.4.0"),
        )
        .await;
        let mut pusher = Pusher {
            ws,
            socket_id: String::new(),
        };
        let hello = pusher.next().await;
        assert_eq!(hello["event"], "pusher:connection_established");
        let data: Value = serde_json::from_str(hello["data"].as_str().unwrap()).unwrap();
        assert!(
            data["activity_timeout"].as_u64().is_some_and(|t| t > 0),
            "{data}"
        );
        pusher.socket_id = data["socket_id"].as_str().unwrap().to_owned();
        pusher
    }

    async fn send(&mut self, message: Value) {
        self.ws
            .send(Message::text(message.to_string()))
            .await
            .expect("send");
    }

    /// The next message; panics if the connection closes first.
    async fn next(&mut self) -> Value {
        match self.read(PATIENCE).await {
            Some(Ok(value)) => value,
            Some(Err(close)) => panic!("closed while waiting for a message: {close:?}"),
            None => panic!("no message within {PATIENCE:?}"),
        }
    }

    /// The next message with this event name, skipping others.
    async fn next_event(&mut self, event: &str) -> Value {
        loop {
            let message = self.next().await;
            if message["event"] == event {
                return message;
            }
        }
    }

    /// The next message within `wait`: `None` if none, `Err` with the close code and reason
    /// if the server closed.
    async fn read(&mut self, wait: Duration) -> Option<Result<Value, (u16, String)>> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let event = tokio::time::timeout_at(deadline, self.ws.next_event())
                .await
                .ok()?;
            return Some(match event {
                Ok(Event::Message(message)) => {
                    Ok(serde_json::from_str(message.as_text().expect("text")).expect("JSON"))
                }
                Ok(Event::Close(frame)) => {
                    Err(frame.map_or((1005, String::new()), |f| (f.code.0, f.reason.to_string())))
                }
                Ok(_) => continue,
                Err(_) => Err((1006, String::new())),
            });
        }
    }

    /// The close code the server ends the connection with.
    async fn closed(&mut self) -> (u16, String) {
        loop {
            match self.read(PATIENCE).await {
                Some(Err(close)) => return close,
                Some(Ok(_)) => continue,
                None => panic!("not closed within {PATIENCE:?}"),
            }
        }
    }

    async fn subscribe(&mut self, channel: &str, auth: Option<String>, channel_data: Option<&str>) {
        let mut data = json!({"channel": channel});
        if let Some(auth) = auth {
            data["auth"] = json!(auth);
        }
        if let Some(channel_data) = channel_data {
            data["channel_data"] = json!(channel_data);
        }
        self.send(json!({"event": "pusher:subscribe", "data": data}))
            .await;
    }

    /// Subscribes with a valid signature and waits for success; returns its data.
    async fn join(&mut self, channel: &str, channel_data: Option<&str>) -> Value {
        let auth = (!channel.starts_with("cache-") && channel.contains('-'))
            .then(|| channel_auth(&app(), &self.socket_id, channel, channel_data));
        self.subscribe(channel, auth, channel_data).await;
        let reply = self
            .next_event("pusher_internal:subscription_succeeded")
            .await;
        assert_eq!(reply["channel"], channel);
        serde_json::from_str(reply["data"].as_str().unwrap_or("{}")).unwrap_or(Value::Null)
    }

    async fn quiet_for(&mut self, wait: Duration) -> bool {
        self.read(wait).await.is_none()
    }
}

/// Calls the Pusher HTTP API, signed with `secret`.
async fn api(
    hub: &TestHub,
    method: &str,
    path: &str,
    params: &[(&str, &str)],
    body: &str,
    secret: &str,
) -> (u16, Value) {
    let credentials = Credentials::new(KEY, secret);
    let query = sign_api_request(
        &credentials,
        method,
        path,
        params,
        body.as_bytes(),
        common::now(),
    );
    let url = format!("http://{}{path}?{query}", hub.addr);
    let client = reqwest::Client::new();
    let request = match method {
        "POST" => client
            .post(url)
            .header("Content-Type", "application/json")
            .body(body.to_owned()),
        _ => client.get(url),
    };
    let response = request.send().await.expect("api call");
    let status = response.status().as_u16();
    let text = response.text().await.unwrap_or_default();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

async fn trigger(hub: &TestHub, channels: &[&str], event: &str, data: &str) -> u16 {
    let body = json!({"name": event, "channels": channels, "data": data}).to_string();
    api(
        hub,
        "POST",
        &format!("/apps/{APP_ID}/events"),
        &[],
        &body,
        SECRET,
    )
    .await
    .0
}

#[tokio::test]
async fn connections_the_hub_cannot_serve_are_told_why_with_pushers_codes() {
    let hub = hub(&[]).await;
    for (path, code) in [
        ("/app/no-such-key?protocol=7".to_owned(), 4001),
        (format!("/app/{KEY}"), 4008),
        (format!("/app/{KEY}?protocol=6"), 4007),
    ] {
        let ws = Pusher::open(&hub, &path).await;
        let mut pusher = Pusher {
            ws,
            socket_id: String::new(),
        };
        let error = pusher.next().await;
        assert_eq!(error["event"], "pusher:error", "{path}");
        assert_eq!(error["data"]["code"], code, "{path}");
        assert_eq!(pusher.closed().await.0, code, "{path}");
    }
}

#[tokio::test]
async fn pings_are_answered_and_bad_messages_get_an_error_without_closing() {
    let hub = hub(&[]).await;
    let mut pusher = Pusher::connect(&hub).await;
    assert!(duplex_hub::pusher::signature::is_valid_socket_id(
        &pusher.socket_id
    ));
    pusher
        .send(json!({"event": "pusher:ping", "data": {}}))
        .await;
    assert_eq!(pusher.next().await["event"], "pusher:pong");
    for bad in [
        "not json",
        r#"{"event": 5}"#,
        r#"{"data": {}}"#,
        r#"{"event": "pusher:subscribe", "data": {}}"#,
        r#"{"event": "pusher:nonsense"}"#,
    ] {
        pusher
            .ws
            .send(Message::text(bad.to_owned()))
            .await
            .expect("send");
        let reply = pusher.next().await;
        assert_eq!(reply["event"], "pusher:error", "{bad}");
    }
    pusher
        .send(json!({"event": "pusher:ping", "data": {}}))
        .await;
    assert_eq!(pusher.next().await["event"], "pusher:pong");
}

#[tokio::test]
async fn a_silent_client_is_pinged_and_closed_with_4201_when_it_does_not_answer() {
    let hub = hub(&[
        ("pusher.activity_timeout", "1s"),
        ("pusher.pong_timeout", "1s"),
    ])
    .await;
    let mut pusher = Pusher::connect(&hub).await;
    let started = std::time::Instant::now();
    assert_eq!(pusher.next().await["event"], "pusher:ping");
    assert_eq!(pusher.closed().await.0, 4201);
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(1500) && took < Duration::from_secs(5),
        "{took:?}"
    );

    // One that answers stays.
    let mut answering = Pusher::connect(&hub).await;
    for _ in 0..2 {
        assert_eq!(answering.next().await["event"], "pusher:ping");
        answering
            .send(json!({"event": "pusher:pong", "data": {}}))
            .await;
    }
    answering
        .send(json!({"event": "pusher:ping", "data": {}}))
        .await;
    assert_eq!(
        answering.next_event("pusher:pong").await["event"],
        "pusher:pong"
    );
}

#[tokio::test]
async fn private_channels_need_the_apps_signature_for_this_socket_and_channel() {
    let hub = hub(&[]).await;
    let mut pusher = Pusher::connect(&hub).await;
    let forged = Credentials::new(KEY, "not-the-secret");
    let other_socket = channel_auth(&app(), "1.2", "private-a", None);
    for (channel, auth) in [
        ("private-a", None),
        (
            "private-a",
            Some(channel_auth(&forged, &pusher.socket_id, "private-a", None)),
        ),
        ("private-a", Some(other_socket)),
        (
            "private-a",
            Some(channel_auth(&app(), &pusher.socket_id, "private-b", None)),
        ),
        (
            "presence-a",
            Some(channel_auth(&app(), &pusher.socket_id, "presence-a", None)),
        ),
    ] {
        pusher.subscribe(channel, auth, None).await;
        let reply = pusher.next().await;
        assert_eq!(reply["event"], "pusher:subscription_error", "{channel}");
        assert_eq!(reply["channel"], channel);
        assert_eq!(reply["data"]["status"], 401);
        assert_eq!(reply["data"]["type"], "AuthError");
    }
    // The connection is still there, and a good signature works.
    pusher.join("private-a", None).await;
    assert_eq!(trigger(&hub, &["private-a"], "e", r#"{"x":1}"#).await, 200);
    let event = pusher.next_event("e").await;
    assert_eq!(event["channel"], "private-a");
    assert_eq!(event["data"], r#"{"x":1}"#);
}

#[tokio::test]
async fn presence_members_are_users_not_connections() {
    let hub = hub(&[]).await;
    let ann = r#"{"user_id":"ann","user_info":{"name":"Ann"}}"#;
    let bob = r#"{"user_id":"bob"}"#;
    let mut ann1 = Pusher::connect(&hub).await;
    let data = ann1.join("presence-room", Some(ann)).await;
    assert_eq!(data["presence"]["count"], 1);
    assert_eq!(data["presence"]["hash"]["ann"]["name"], "Ann");

    let mut ann2 = Pusher::connect(&hub).await;
    let data = ann2.join("presence-room", Some(ann)).await;
    assert_eq!(
        data["presence"]["count"], 1,
        "a second connection adds no member"
    );
    assert!(
        ann1.quiet_for(Duration::from_millis(300)).await,
        "no member_added for Ann's second connection"
    );

    let mut bob1 = Pusher::connect(&hub).await;
    let data = bob1.join("presence-room", Some(bob)).await;
    assert_eq!(data["presence"]["count"], 2);
    for ann in [&mut ann1, &mut ann2] {
        let added = ann.next_event("pusher_internal:member_added").await;
        assert_eq!(added["data"], r#"{"user_id":"bob"}"#);
    }
    assert!(
        bob1.quiet_for(Duration::from_millis(300)).await,
        "no member_added for oneself"
    );

    let (status, users) = api(
        &hub,
        "GET",
        &format!("/apps/{APP_ID}/channels/presence-room/users"),
        &[],
        "",
        SECRET,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(users, json!({"users": [{"id": "ann"}, {"id": "bob"}]}));
    let (_, info) = api(
        &hub,
        "GET",
        &format!("/apps/{APP_ID}/channels/presence-room"),
        &[("info", "user_count,subscription_count")],
        "",
        SECRET,
    )
    .await;
    assert_eq!(
        info,
        json!({"occupied": true, "user_count": 2, "subscription_count": 3})
    );

    // Ann's second connection leaving removes no one; her last one does.
    ann2.send(json!({"event": "pusher:unsubscribe", "data": {"channel": "presence-room"}}))
        .await;
    assert!(bob1.quiet_for(Duration::from_millis(300)).await);
    drop(ann1);
    let removed = bob1.next_event("pusher_internal:member_removed").await;
    assert_eq!(removed["data"], r#"{"user_id":"ann"}"#);
}

#[tokio::test]
async fn client_events_reach_the_others_only_on_private_and_presence_channels() {
    let hub = hub(&[("pusher.client_events_per_second", "3")]).await;
    let mut a = Pusher::connect(&hub).await;
    let mut b = Pusher::connect(&hub).await;
    for pusher in [&mut a, &mut b] {
        pusher.join("private-chat", None).await;
        pusher.join("news", None).await;
    }
    a.send(json!({"event": "client-typing", "channel": "private-chat", "data": {"x": 1}}))
        .await;
    let got = b.next_event("client-typing").await;
    assert_eq!(got["channel"], "private-chat");
    assert_eq!(
        serde_json::from_str::<Value>(got["data"].as_str().unwrap()).unwrap(),
        json!({"x": 1})
    );
    assert!(got.get("user_id").is_none());
    assert!(
        a.quiet_for(Duration::from_millis(300)).await,
        "not echoed to the sender"
    );

    a.send(json!({"event": "client-typing", "channel": "news", "data": {}}))
        .await;
    assert_eq!(a.next().await["event"], "pusher:error");
    a.send(json!({"event": "client-typing", "channel": "private-elsewhere", "data": {}}))
        .await;
    assert_eq!(a.next().await["event"], "pusher:error");
    assert!(
        b.quiet_for(Duration::from_millis(300)).await,
        "refused events reach no one"
    );

    // Past the rate, each event is refused with 4301, and the connection stays. Thirty sent at
    // once span a window or two of the limit's clock: at least its 3 go, and most are refused.
    const SENT: usize = 30;
    // A fresh window: the event above spent one of this one's.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    for n in 0..SENT {
        a.send(json!({"event": "client-n", "channel": "private-chat", "data": {"n": n}}))
            .await;
    }
    let (mut refused, mut delivered) = (0, Vec::new());
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while refused + delivered.len() < SENT {
        assert!(
            tokio::time::Instant::now() < deadline,
            "refused {refused}, delivered {}",
            delivered.len()
        );
        if let Some(Ok(message)) = a.read(Duration::from_millis(50)).await {
            assert_eq!(message["event"], "pusher:error");
            assert_eq!(message["data"]["code"], 4301);
            refused += 1;
        }
        if let Some(Ok(message)) = b.read(Duration::from_millis(50)).await {
            assert_eq!(message["event"], "client-n");
            let data: Value = serde_json::from_str(message["data"].as_str().unwrap()).unwrap();
            delivered.push(data["n"].as_u64().unwrap());
        }
    }
    assert!(
        delivered.len() >= 3 && refused >= SENT / 2,
        "refused {refused}, delivered {delivered:?}"
    );
    assert!(
        delivered.windows(2).all(|w| w[0] < w[1]),
        "in order: {delivered:?}"
    );
    assert!(
        a.quiet_for(Duration::from_millis(300)).await
            && b.quiet_for(Duration::from_millis(300)).await
    );

    // On a presence channel the receiver learns the sender.
    let ann = r#"{"user_id":"ann"}"#;
    let bob = r#"{"user_id":"bob"}"#;
    a.join("presence-room", Some(ann)).await;
    b.join("presence-room", Some(bob)).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    a.send(json!({"event": "client-hi", "channel": "presence-room", "data": "hello"}))
        .await;
    let got = b.next_event("client-hi").await;
    assert_eq!(got["user_id"], "ann");
    assert_eq!(got["data"], r#""hello""#);
}

#[tokio::test]
async fn the_http_api_takes_only_requests_signed_by_the_apps_secret() {
    let hub = hub(&[]).await;
    let mut pusher = Pusher::connect(&hub).await;
    pusher.join("news", None).await;
    let body = json!({"name": "tick", "channels": ["news"], "data": "{\"n\":1}"}).to_string();
    let path = format!("/apps/{APP_ID}/events");
    assert_eq!(api(&hub, "POST", &path, &[], &body, "forged").await.0, 401);
    assert_eq!(
        api(&hub, "POST", "/apps/999/events", &[], &body, SECRET)
            .await
            .0,
        404
    );
    assert!(pusher.quiet_for(Duration::from_millis(300)).await);
    assert_eq!(api(&hub, "POST", &path, &[], &body, SECRET).await.0, 200);
    assert_eq!(pusher.next_event("tick").await["data"], "{\"n\":1}");

    // The body is signed too: a changed body fails its md5.
    let credentials = app();
    let query = sign_api_request(
        &credentials,
        "POST",
        &path,
        &[],
        body.as_bytes(),
        common::now(),
    );
    let response = reqwest::Client::new()
        .post(format!("http://{}{path}?{query}", hub.addr))
        .body(body.replace("tick", "tock"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 401);

    // Bad bodies are refused by status, and publish nothing.
    for bad in [
        r#"{"name":"x","channels":["news"]}"#,
        r#"{"name":"x","data":"1"}"#,
        "not json",
    ] {
        let (status, _) = api(&hub, "POST", &path, &[], bad, SECRET).await;
        assert_eq!(status, 400, "{bad}");
    }
    assert!(pusher.quiet_for(Duration::from_millis(300)).await);

    let (status, channels) = api(
        &hub,
        "GET",
        &format!("/apps/{APP_ID}/channels"),
        &[("filter_by_prefix", "ne")],
        "",
        SECRET,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(channels, json!({"channels": {"news": {}}}));
    let (_, empty) = api(
        &hub,
        "GET",
        &format!("/apps/{APP_ID}/channels/quiet"),
        &[("info", "subscription_count")],
        "",
        SECRET,
    )
    .await;
    assert_eq!(empty, json!({"occupied": false, "subscription_count": 0}));
}

#[tokio::test]
async fn an_event_with_a_socket_id_skips_that_connection() {
    let hub = hub(&[]).await;
    let mut a = Pusher::connect(&hub).await;
    let mut b = Pusher::connect(&hub).await;
    a.join("news", None).await;
    b.join("news", None).await;
    let body =
        json!({"name": "e", "channel": "news", "data": "1", "socket_id": a.socket_id}).to_string();
    assert_eq!(
        api(
            &hub,
            "POST",
            &format!("/apps/{APP_ID}/events"),
            &[],
            &body,
            SECRET
        )
        .await
        .0,
        200
    );
    assert_eq!(b.next_event("e").await["data"], "1");
    assert!(a.quiet_for(Duration::from_millis(300)).await);
}

#[tokio::test]
async fn publications_cross_between_the_two_protocols() {
    let hub = hub(&[]).await;
    let mut pusher = Pusher::connect(&hub).await;
    pusher.join("news", None).await;
    let token = common::sub_token("alice", "pusher-1001:news", None);
    let (mut centrifugo, _) = TestClient::connect(&hub, &common::token("alice", None)).await;
    let reply = centrifugo
        .call(json!({"subscribe": {"channel": "pusher-1001:news", "token": token}}))
        .await;
    assert!(reply.get("subscribe").is_some(), "{reply}");

    // The Centrifugo server API to both, as event `message` for Pusher.
    hub.api(
        "publish",
        json!({"channel": "pusher-1001:news", "data": {"text": "hi"}}),
    )
    .await;
    let event = pusher.next_event("message").await;
    assert_eq!(event["channel"], "news");
    assert_eq!(
        serde_json::from_str::<Value>(event["data"].as_str().unwrap()).unwrap(),
        json!({"text": "hi"})
    );
    assert_eq!(
        centrifugo.publication("pusher-1001:news").await["data"],
        json!({"text": "hi"})
    );

    // The Pusher API to both, the event's name in the tags for Centrifugo.
    assert_eq!(
        trigger(&hub, &["news"], "scores", r#"{"home":1}"#).await,
        200
    );
    assert_eq!(pusher.next_event("scores").await["data"], r#"{"home":1}"#);
    let publication = centrifugo.publication("pusher-1001:news").await;
    assert_eq!(publication["data"], json!({"home": 1}));
    assert_eq!(publication["tags"]["pusher_event"], "scores");
}

#[tokio::test]
async fn terminate_connections_closes_the_users_signed_in_connections_only() {
    let hub = hub(&[]).await;
    let mut signed = Pusher::connect(&hub).await;
    let mut other = Pusher::connect(&hub).await;
    let user_data = r#"{"id":"u1","user_info":{"name":"U"}}"#;
    let auth = user_auth(&app(), &signed.socket_id, user_data);
    signed
        .send(json!({"event": "pusher:signin", "data": {"auth": auth, "user_data": user_data}}))
        .await;
    assert_eq!(signed.next().await["event"], "pusher:signin_success");
    // The user's own channel is the signed-in user's only.
    signed.join("#server-to-user-u1", None).await;
    other.subscribe("#server-to-user-u1", None, None).await;
    assert_eq!(other.next().await["event"], "pusher:subscription_error");

    let path = format!("/apps/{APP_ID}/users/u1/terminate_connections");
    assert_eq!(api(&hub, "POST", &path, &[], "{}", SECRET).await.0, 200);
    assert_eq!(signed.closed().await.0, 4009);
    other
        .send(json!({"event": "pusher:ping", "data": {}}))
        .await;
    assert_eq!(other.next().await["event"], "pusher:pong");

    // A forged sign-in closes the connection with 4009.
    let forged = user_auth(
        &Credentials::new(KEY, "forged"),
        &other.socket_id,
        user_data,
    );
    other
        .send(json!({"event": "pusher:signin", "data": {"auth": forged, "user_data": user_data}}))
        .await;
    assert_eq!(other.closed().await.0, 4009);
}

#[tokio::test]
async fn without_an_app_there_is_no_pusher_endpoint() {
    let hub = TestHub::start(&[]).await;
    let response = reqwest::get(format!("http://{}/apps/1/channels", hub.addr))
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 404);
}

#[tokio::test]
async fn a_cache_channel_gives_a_new_subscriber_its_last_event_or_a_cache_miss() {
    let hub = hub(&[]).await;
    let mut first = Pusher::connect(&hub).await;
    first.join("cache-empty", None).await;
    let miss = first.next().await;
    assert_eq!(miss["event"], "pusher:cache_miss");
    assert_eq!(miss["channel"], "cache-empty");

    assert_eq!(trigger(&hub, &["cache-scores"], "score", "1").await, 200);
    assert_eq!(trigger(&hub, &["cache-scores"], "score", "2").await, 200);
    let mut late = Pusher::connect(&hub).await;
    late.join("cache-scores", None).await;
    let cached = late.next().await;
    assert_eq!(cached["event"], "score");
    assert_eq!(cached["data"], "2");
    assert!(
        late.quiet_for(Duration::from_millis(300)).await,
        "only the last one"
    );

    // A public channel keeps nothing.
    assert_eq!(trigger(&hub, &["plain"], "score", "3").await, 200);
    let mut plain = Pusher::connect(&hub).await;
    plain.join("plain", None).await;
    assert!(plain.quiet_for(Duration::from_millis(300)).await);
}

/// What a webhook receiver saw: each request's status answered, key, signature and body.
type Hooks = std::sync::Arc<std::sync::Mutex<Vec<(u16, String, String, Vec<u8>)>>>;

/// A webhook receiver that fails its first `failures` requests with 500.
async fn receiver(failures: usize) -> (String, Hooks) {
    use axum::http::HeaderMap;
    let hooks: Hooks = Default::default();
    let seen = hooks.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: axum::body::Bytes| {
            let seen = seen.clone();
            async move {
                let mut seen = seen.lock().unwrap();
                let status = if seen.len() < failures { 500 } else { 200 };
                let header = |name: &str| {
                    headers
                        .get(name)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("")
                        .to_owned()
                };
                seen.push((
                    status,
                    header("X-Pusher-Key"),
                    header("X-Pusher-Signature"),
                    body.to_vec(),
                ));
                axum::http::StatusCode::from_u16(status).unwrap()
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/hook"), hooks)
}

#[tokio::test]
async fn webhooks_are_signed_with_the_apps_secret_and_retried_until_answered() {
    let (url, hooks) = receiver(2).await;
    let apps =
        json!([{"id": APP_ID, "key": KEY, "secret": SECRET, "webhook_url": url}]).to_string();
    let hub = TestHub::start(&[
        ("pusher.apps", apps.as_str()),
        ("webhook.retry_min_delay", "100ms"),
        ("webhook.retry_max_delay", "200ms"),
    ])
    .await;
    let mut pusher = Pusher::connect(&hub).await;
    pusher.join("news", None).await;

    let deadline = tokio::time::Instant::now() + PATIENCE;
    while hooks.lock().unwrap().len() < 3 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "not retried until answered"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let hooks = hooks.lock().unwrap().clone();
    let statuses: Vec<u16> = hooks.iter().map(|h| h.0).collect();
    assert_eq!(statuses, [500, 500, 200]);
    for (_, key, signature, body) in &hooks {
        assert_eq!(key, KEY);
        assert!(duplex_hub::pusher::webhook::verify(&[app()], key, signature, body).is_some());
        assert!(duplex_hub::pusher::webhook::verify(
            &[Credentials::new(KEY, "forged")],
            key,
            signature,
            body
        )
        .is_none());
        let body: Value = serde_json::from_slice(body).unwrap();
        assert_eq!(
            body["events"],
            json!([{"name": "channel_occupied", "channel": "news"}])
        );
        assert!(body["time_ms"].as_i64().unwrap() > 0);
    }
    assert_eq!(hooks[0].3, hooks[2].3, "a retry posts the same body");
}

#[tokio::test]
async fn apps_never_see_each_others_channels() {
    let apps = json!([
        {"id": APP_ID, "key": KEY, "secret": SECRET},
        {"id": "2002", "key": "other-key", "secret": "other-secret"}
    ])
    .to_string();
    let hub = TestHub::start(&[("pusher.apps", apps.as_str())]).await;
    let mut mine = Pusher::connect(&hub).await;
    mine.join("news", None).await;
    let ws = Pusher::open(&hub, "/app/other-key?protocol=7").await;
    let mut theirs = Pusher {
        ws,
        socket_id: String::new(),
    };
    let hello = theirs.next().await;
    assert_eq!(hello["event"], "pusher:connection_established");
    theirs
        .send(json!({"event": "pusher:subscribe", "data": {"channel": "news"}}))
        .await;
    theirs
        .next_event("pusher_internal:subscription_succeeded")
        .await;

    // The other app's secret does not sign for this app's id, and its events stay its own.
    let body = json!({"name": "e", "channel": "news", "data": "2"}).to_string();
    let path = format!("/apps/{APP_ID}/events");
    assert_eq!(
        api(&hub, "POST", &path, &[], &body, "other-secret").await.0,
        401
    );
    let credentials = Credentials::new("other-key", "other-secret");
    let query = sign_api_request(
        &credentials,
        "POST",
        "/apps/2002/events",
        &[],
        body.as_bytes(),
        common::now(),
    );
    let response = reqwest::Client::new()
        .post(format!("http://{}/apps/2002/events?{query}", hub.addr))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(theirs.next_event("e").await["data"], "2");
    assert!(mine.quiet_for(Duration::from_millis(300)).await);
}
