//! The server API speaks Centrifugo's wire format: requests as `cent` sends them reach the
//! backend intact, replies have the shapes `cent` parses, and authentication, error modes,
//! batches and malformed input get Centrifugo's status codes. Driven over real HTTP against a
//! recording fake backend.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use bytes::Bytes;
use duplex_hub::api::replies::{
    ChannelInfo, ChannelsResult, ClientInfo, HistoryResult, InfoResult, NodeInfo, PresenceResult,
    PresenceStatsResult, Publication, PublishResult,
};
use duplex_hub::api::requests::{
    ChannelOverride, ChannelsRequest, DisconnectReason, DisconnectRequest, HistoryRemoveRequest,
    HistoryRequest, PresenceRequest, PublishRequest, RefreshRequest, StreamPosition,
    SubscribeRequest, UnsubscribeRequest,
};
use duplex_hub::api::{router, ApiBackend, ApiError, ApiSettings, Method};
use serde_json::{json, Value};

const KEY: &str = "test-key";

/// Every call the API made, in order.
#[derive(Debug, Clone, PartialEq)]
enum Call {
    Publish(PublishRequest),
    Subscribe(SubscribeRequest),
    Unsubscribe(UnsubscribeRequest),
    Disconnect(DisconnectRequest),
    Refresh(RefreshRequest),
    Presence(PresenceRequest),
    PresenceStats(PresenceRequest),
    History(HistoryRequest),
    HistoryRemove(HistoryRemoveRequest),
    Channels(ChannelsRequest),
    Info,
}

/// Channels under `unknown:` have no namespace; `plain:` keeps no history; `gone` has lost the
/// position asked for. Everything else succeeds with fixed data.
#[derive(Default)]
struct Fake {
    calls: Mutex<Vec<Call>>,
}

impl Fake {
    fn record(&self, call: Call) {
        self.calls.lock().unwrap().push(call);
    }

    fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }

    fn known(channel: &str) -> Result<(), ApiError> {
        match channel.starts_with("unknown:") {
            true => Err(ApiError::unknown_channel()),
            false => Ok(()),
        }
    }
}

#[async_trait]
impl ApiBackend for Fake {
    async fn publish(&self, request: PublishRequest) -> Result<PublishResult, ApiError> {
        let channel = request.channel.clone();
        self.record(Call::Publish(request));
        Fake::known(&channel)?;
        Ok(match channel.starts_with("plain:") {
            true => PublishResult::default(),
            false => PublishResult {
                offset: 7,
                epoch: "ep".to_owned(),
            },
        })
    }

    async fn subscribe(&self, request: SubscribeRequest) -> Result<(), ApiError> {
        self.record(Call::Subscribe(request));
        Ok(())
    }

    async fn unsubscribe(&self, request: UnsubscribeRequest) -> Result<(), ApiError> {
        self.record(Call::Unsubscribe(request));
        Ok(())
    }

    async fn disconnect(&self, request: DisconnectRequest) -> Result<(), ApiError> {
        self.record(Call::Disconnect(request));
        Ok(())
    }

    async fn refresh(&self, request: RefreshRequest) -> Result<(), ApiError> {
        self.record(Call::Refresh(request));
        Ok(())
    }

    async fn presence(&self, request: PresenceRequest) -> Result<PresenceResult, ApiError> {
        self.record(Call::Presence(request));
        let client = ClientInfo {
            client: "c1".to_owned(),
            user: "42".to_owned(),
            conn_info: Some(Bytes::from_static(br#"{"name":"Ann"}"#)),
            chan_info: None,
        };
        Ok(PresenceResult {
            presence: BTreeMap::from([("c1".to_owned(), client)]),
        })
    }

    async fn presence_stats(
        &self,
        request: PresenceRequest,
    ) -> Result<PresenceStatsResult, ApiError> {
        self.record(Call::PresenceStats(request));
        Ok(PresenceStatsResult {
            num_clients: 3,
            num_users: 1,
        })
    }

    async fn history(&self, request: HistoryRequest) -> Result<HistoryResult, ApiError> {
        let channel = request.channel.clone();
        self.record(Call::History(request));
        if channel == "gone" {
            return Err(ApiError::unrecoverable_position());
        }
        let publication = Publication {
            data: Bytes::from_static(br#"{"text": "hi"}"#),
            offset: 5,
            tags: BTreeMap::new(),
            info: None,
        };
        Ok(HistoryResult {
            publications: vec![publication],
            epoch: "ep".to_owned(),
            offset: 5,
        })
    }

    async fn history_remove(&self, request: HistoryRemoveRequest) -> Result<(), ApiError> {
        self.record(Call::HistoryRemove(request));
        Ok(())
    }

    async fn channels(&self, request: ChannelsRequest) -> Result<ChannelsResult, ApiError> {
        self.record(Call::Channels(request));
        let info = ChannelInfo { num_clients: 2 };
        Ok(ChannelsResult {
            channels: BTreeMap::from([("chat".to_owned(), info)]),
        })
    }

    async fn info(&self) -> Result<InfoResult, ApiError> {
        self.record(Call::Info);
        let node = NodeInfo {
            uid: "u1".to_owned(),
            name: "hub".to_owned(),
            ..NodeInfo::default()
        };
        Ok(InfoResult { nodes: vec![node] })
    }
}

/// A running API over a fresh fake.
struct Server {
    base: String,
    fake: Arc<Fake>,
    http: reqwest::Client,
}

impl Server {
    async fn start(settings: ApiSettings) -> Server {
        let fake = Arc::new(Fake::default());
        let app = router(Arc::clone(&fake), settings);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Server {
            base,
            fake,
            http: reqwest::Client::new(),
        }
    }

    async fn with_key() -> Server {
        Server::start(ApiSettings {
            key: Some(KEY.to_owned()),
            ..ApiSettings::default()
        })
        .await
    }

    fn post(&self, path: &str) -> reqwest::RequestBuilder {
        self.http.post(format!("{}{path}", self.base))
    }

    /// Calls a method the way `cent` does: JSON body, `X-API-Key` header.
    async fn call(&self, method: &str, body: Value) -> (u16, Value) {
        let response = self
            .post(&format!("/api/{method}"))
            .header("X-API-Key", KEY)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    async fn raw(&self, method: &str, body: &'static str) -> u16 {
        let request = self
            .post(&format!("/api/{method}"))
            .header("X-API-Key", KEY);
        request.body(body).send().await.unwrap().status().as_u16()
    }
}

#[tokio::test]
async fn the_key_is_required_in_any_of_centrifugos_three_places() {
    let server = Server::with_key().await;
    let status = |request: reqwest::RequestBuilder| async move {
        request.body("{}").send().await.unwrap().status().as_u16()
    };
    assert_eq!(status(server.post("/api/info")).await, 401);
    assert_eq!(
        status(server.post("/api/info").header("X-API-Key", "wrong")).await,
        401
    );
    assert_eq!(
        status(server.post("/api/info").header("X-API-Key", KEY)).await,
        200
    );
    let bearer = format!("apikey {KEY}");
    assert_eq!(
        status(server.post("/api/info").header("Authorization", bearer)).await,
        200
    );
    assert_eq!(
        status(server.post("/api/info").header("Authorization", KEY)).await,
        401
    );
    assert_eq!(
        status(server.post(&format!("/api/info?api_key={KEY}"))).await,
        200
    );
    // Unknown methods are hidden behind authentication too.
    assert_eq!(status(server.post("/api/nope")).await, 401);
    assert_eq!(
        server.fake.calls(),
        vec![Call::Info, Call::Info, Call::Info]
    );

    let keyless = Server::start(ApiSettings::default()).await;
    assert_eq!(
        status(keyless.post("/api/info").header("X-API-Key", "")).await,
        401
    );
    let open = Server::start(ApiSettings {
        insecure: true,
        ..ApiSettings::default()
    })
    .await;
    assert_eq!(status(open.post("/api/info")).await, 200);
}

#[tokio::test]
async fn publish_delivers_the_json_text_byte_for_byte_and_reports_the_position() {
    let server = Server::with_key().await;
    let body = r#"{"channel": "chat", "data": {"text": "hi",  "n": 1.50}, "skip_history": true,
        "tags": {"k": "v"}, "idempotency_key": "once", "delta": true, "unknown_field": 1}"#;
    let response = server
        .post("/api/publish")
        .header("X-API-Key", KEY)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(
        response.text().await.unwrap(),
        r#"{"result":{"offset":7,"epoch":"ep"}}"#
    );
    let expected = PublishRequest {
        channel: "chat".to_owned(),
        data: Bytes::from_static(br#"{"text": "hi",  "n": 1.50}"#),
        skip_history: true,
        tags: BTreeMap::from([("k".to_owned(), "v".to_owned())]),
        idempotency_key: Some("once".to_owned()),
        delta: true,
        version: 0,
        version_epoch: String::new(),
    };
    assert_eq!(server.fake.calls(), vec![Call::Publish(expected)]);

    let (_, reply) = server
        .call("publish", json!({"channel": "plain:x", "data": 1}))
        .await;
    assert_eq!(reply, json!({"result": {}}), "no history, no position");
}

#[tokio::test]
async fn publish_payload_problems_are_error_107_in_a_200_reply() {
    let server = Server::with_key().await;
    let (status, reply) = server
        .call("publish", json!({"channel": "bin", "b64data": "AAH/"}))
        .await;
    assert_eq!(
        (status, reply),
        (200, json!({"result": {"offset": 7, "epoch": "ep"}}))
    );
    let Call::Publish(published) = &server.fake.calls()[0] else {
        panic!("not a publish")
    };
    assert_eq!(published.data, Bytes::from_static(&[0, 1, 255]));

    for (body, message) in [
        (json!({"channel": "chat"}), "data required"),
        (json!({"channel": "chat", "data": null}), "data required"),
        (json!({"data": {}}), "channel required"),
        (
            json!({"channel": "chat", "b64data": "%%%"}),
            "b64data is not valid base64",
        ),
    ] {
        let (status, reply) = server.call("publish", body).await;
        assert_eq!(status, 200);
        assert_eq!(reply, json!({"error": {"code": 107, "message": message}}));
    }
    assert_eq!(
        server.fake.calls().len(),
        1,
        "invalid requests never reach the backend"
    );
}

#[tokio::test]
async fn broadcast_answers_one_response_per_channel_in_order() {
    let server = Server::with_key().await;
    let body = json!({"channels": ["a", "unknown:b", ""], "data": {"x": 1}});
    let (_, reply) = server.call("broadcast", body).await;
    let responses = json!([
        {"result": {"offset": 7, "epoch": "ep"}},
        {"error": {"code": 102, "message": "unknown channel"}},
        {"error": {"code": 107, "message": "channel required"}},
    ]);
    assert_eq!(reply, json!({"result": {"responses": responses}}));
    let published: Vec<String> = server
        .fake
        .calls()
        .into_iter()
        .filter_map(|call| match call {
            Call::Publish(request) => Some(request.channel),
            _ => None,
        })
        .collect();
    assert_eq!(
        published,
        ["a", "unknown:b"],
        "an empty channel name is never published to"
    );
    let (_, reply) = server
        .call("broadcast", json!({"channels": [], "data": 1}))
        .await;
    assert_eq!(reply["error"]["code"], 107);
}

#[tokio::test]
async fn connection_management_requests_arrive_as_cent_sends_them() {
    let server = Server::with_key().await;
    let subscribe = json!({"user": "42", "channel": "news", "info": {"role": "admin"},
        "b64data": "aGk=", "client": "c1", "recover_since": {"offset": 3, "epoch": "e"},
        "override": {"presence": {"value": false}, "force_recovery": {"value": true}}});
    let disconnect = json!({"user": "42", "whitelist": ["c2"],
        "disconnect": {"code": 4000, "reason": "bye"}});
    let refresh =
        json!({"user": "42", "session": "s", "expired": true, "expire_at": 1_700_000_000});
    let empty = json!({"result": {}});
    assert_eq!(
        server.call("subscribe", subscribe).await,
        (200, empty.clone())
    );
    let unsubscribe = json!({"user": "42", "channel": "news", "client": ""});
    assert_eq!(
        server.call("unsubscribe", unsubscribe).await,
        (200, empty.clone())
    );
    assert_eq!(
        server.call("disconnect", disconnect).await,
        (200, empty.clone())
    );
    assert_eq!(server.call("refresh", refresh).await, (200, empty));

    let expected = vec![
        Call::Subscribe(SubscribeRequest {
            user: "42".to_owned(),
            channel: "news".to_owned(),
            client: Some("c1".to_owned()),
            session: None,
            info: Some(Bytes::from_static(br#"{"role":"admin"}"#)),
            data: Some(Bytes::from_static(b"hi")),
            recover_since: Some(StreamPosition {
                offset: 3,
                epoch: "e".to_owned(),
            }),
            channel_override: ChannelOverride {
                presence: Some(false),
                force_recovery: Some(true),
                ..ChannelOverride::default()
            },
            expire_at: None,
        }),
        Call::Unsubscribe(UnsubscribeRequest {
            user: "42".to_owned(),
            channel: "news".to_owned(),
            client: None,
            session: None,
        }),
        Call::Disconnect(DisconnectRequest {
            user: "42".to_owned(),
            client: None,
            session: None,
            whitelist: vec!["c2".to_owned()],
            disconnect: Some(DisconnectReason {
                code: 4000,
                reason: "bye".to_owned(),
            }),
        }),
        Call::Refresh(RefreshRequest {
            user: "42".to_owned(),
            client: None,
            session: Some("s".to_owned()),
            expired: true,
            expire_at: Some(1_700_000_000),
            info: None,
        }),
    ];
    assert_eq!(server.fake.calls(), expected);
}

#[tokio::test]
async fn query_methods_reply_with_the_fields_cent_requires() {
    let server = Server::with_key().await;
    let presence = json!({"result": {"presence": {"c1": {"client": "c1", "user": "42",
        "conn_info": {"name": "Ann"}}}}});
    assert_eq!(
        server.call("presence", json!({"channel": "chat"})).await,
        (200, presence)
    );
    let stats = json!({"result": {"num_clients": 3, "num_users": 1}});
    assert_eq!(
        server
            .call("presence_stats", json!({"channel": "chat"}))
            .await,
        (200, stats)
    );
    let history = json!({"channel": "chat", "limit": 10, "since": {"offset": 2, "epoch": "ep"},
        "reverse": true});
    let publications = json!([{"data": {"text": "hi"}, "offset": 5}]);
    let reply = json!({"result": {"publications": publications, "epoch": "ep", "offset": 5}});
    assert_eq!(server.call("history", history).await, (200, reply));
    let removed = server
        .call("history_remove", json!({"channel": "chat"}))
        .await;
    assert_eq!(removed, (200, json!({"result": {}})));
    let channels = json!({"result": {"channels": {"chat": {"num_clients": 2}}}});
    assert_eq!(
        server.call("channels", json!({"pattern": "ch*"})).await,
        (200, channels)
    );
    let (_, info) = server.call("info", json!({})).await;
    assert_eq!(info["result"]["nodes"][0]["uid"], "u1");
    assert_eq!(info["result"]["nodes"][0]["num_clients"], 0);

    let calls = server.fake.calls();
    let since = StreamPosition {
        offset: 2,
        epoch: "ep".to_owned(),
    };
    let read = HistoryRequest {
        channel: "chat".to_owned(),
        limit: 10,
        since: Some(since),
        reverse: true,
    };
    assert_eq!(calls[2], Call::History(read));
    assert_eq!(
        calls[4],
        Call::Channels(ChannelsRequest {
            pattern: "ch*".to_owned()
        })
    );
    let (_, reply) = server.call("presence", json!({})).await;
    assert_eq!(
        reply,
        json!({"error": {"code": 107, "message": "channel required"}})
    );
}

#[tokio::test]
async fn transport_error_mode_turns_errors_into_http_statuses() {
    let server = Server::with_key().await;
    let unknown = json!({"channel": "unknown:x", "data": {}});
    let (status, reply) = server.call("publish", unknown.clone()).await;
    assert_eq!((status, &reply["error"]["code"]), (200, &json!(102)));

    let transport = |method: &str, body: &Value| {
        server
            .post(&format!("/api/{method}"))
            .header("X-API-Key", KEY)
            .header("X-Centrifugo-Error-Mode", "transport")
            .json(body)
            .send()
    };
    let response = transport("publish", &unknown).await.unwrap();
    assert_eq!(response.status(), 404);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body, json!({"code": 102, "message": "unknown channel"}));
    let gone = transport("history", &json!({"channel": "gone", "limit": 1}))
        .await
        .unwrap();
    assert_eq!(gone.status(), 416);
    let bad = transport("publish", &json!({"channel": "chat"}))
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    let fine = transport("publish", &json!({"channel": "chat", "data": 1}))
        .await
        .unwrap();
    assert_eq!(fine.status(), 200);

    let always = ApiSettings {
        key: Some(KEY.to_owned()),
        transport_errors: true,
        ..ApiSettings::default()
    };
    let server = Server::start(always).await;
    assert_eq!(server.call("publish", unknown).await.0, 404);
}

#[tokio::test]
async fn batch_replies_are_keyed_by_method_in_request_order() {
    let server = Server::with_key().await;
    for parallel in [false, true] {
        let body = json!({"parallel": parallel, "commands": [
            {"publish": {"channel": "a", "data": {"n": 1}}},
            {"publish": {"channel": "unknown:b", "data": {}}},
            {"presence_stats": {"channel": "a"}},
            {"rpc": {"method": "x"}},
            {"subscribe": {"user": "1", "channel": "a"}},
        ]});
        let (status, reply) = server.call("batch", body).await;
        assert_eq!(status, 200);
        let replies = json!({"replies": [
            {"publish": {"offset": 7, "epoch": "ep"}},
            {"error": {"code": 102, "message": "unknown channel"}},
            {"presence_stats": {"num_clients": 3, "num_users": 1}},
            {"error": {"code": 104, "message": "not found"}},
            {"subscribe": {}},
        ]});
        assert_eq!(reply, replies, "parallel: {parallel}");
    }
    assert_eq!(server.fake.calls().len(), 8);

    // One undecodable command rejects the whole batch before anything runs.
    let body = json!({"commands": [
        {"publish": {"channel": "a", "data": 1}},
        {"publish": {"channel": 5, "data": 1}},
    ]});
    assert_eq!(server.call("batch", body).await.0, 400);
    assert_eq!(server.fake.calls().len(), 8);
    let (_, reply) = server.call("batch", json!({})).await;
    assert_eq!(reply, json!({"replies": []}));
}

#[tokio::test]
async fn malformed_requests_get_centrifugos_statuses_without_reaching_the_backend() {
    let server = Server::with_key().await;
    assert_eq!(server.raw("nope", "{}").await, 404);
    assert_eq!(server.raw("publish", "{not json").await, 400);
    assert_eq!(
        server.raw("publish", r#"{"channel": 5, "data": 1}"#).await,
        400
    );
    assert_eq!(
        server
            .raw("history", r#"{"channel": "c", "limit": "ten"}"#)
            .await,
        400
    );
    assert_eq!(server.raw("batch", "[]").await, 400);
    assert_eq!(server.raw("publish", "\u{0}\u{ff}").await, 400);
    assert!(server.fake.calls().is_empty());
    assert_eq!(
        server.raw("info", "").await,
        200,
        "an empty body is an empty request"
    );

    let small = ApiSettings {
        key: Some(KEY.to_owned()),
        max_body_bytes: 64,
        ..ApiSettings::default()
    };
    let server = Server::start(small).await;
    let big = json!({"channel": "c", "data": "x".repeat(100)});
    assert_eq!(server.call("publish", big).await.0, 413);
}

#[tokio::test]
async fn the_legacy_endpoint_answers_newline_delimited_commands_line_by_line() {
    let server = Server::with_key().await;
    let body = concat!(
        r#"{"id": 1, "method": "publish", "params": {"channel": "a", "data": {"n": 1}}}"#,
        "\n",
        r#"{"method": "presence_stats", "params": {"channel": "a"}}"#,
        "\n",
        r#"{"id": 3, "method": "teleport", "params": {}}"#,
        "\n",
    );
    let response = server
        .post("/api")
        .header("X-API-Key", KEY)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(
        lines,
        vec![
            json!({"id": 1, "result": {"offset": 7, "epoch": "ep"}}),
            json!({"result": {"num_clients": 3, "num_users": 1}}),
            json!({"id": 3, "error": {"code": 104, "message": "not found"}}),
        ]
    );
    let unauthorized = server.post("/api").body(body).send().await.unwrap();
    assert_eq!(unauthorized.status(), 401);
}

#[tokio::test]
async fn the_openapi_document_describes_every_method() {
    let server = Server::with_key().await;
    let response = server
        .http
        .get(format!("{}/api/openapi.json", server.base))
        .send()
        .await;
    let document: Value = response.unwrap().json().await.unwrap();
    assert!(document["openapi"].as_str().unwrap().starts_with("3.0"));
    for method in Method::ALL {
        let operation = &document["paths"][format!("/api/{}", method.name())]["post"];
        assert_eq!(operation["operationId"], method.name());
        let schema = &operation["requestBody"]["content"]["application/json"]["schema"]["$ref"];
        let name = schema
            .as_str()
            .unwrap()
            .trim_start_matches("#/components/schemas/");
        assert!(
            document["components"]["schemas"][name].is_object(),
            "{name} is defined"
        );
    }
}

/// The Python `cent` client, run for real when `CENT_PYTHON` names a Python with `cent`
/// installed (e.g. `python3 -m venv /tmp/centvenv && /tmp/centvenv/bin/pip install cent`, then
/// `CENT_PYTHON=/tmp/centvenv/bin/python`); skipped otherwise, since CI images lack it.
#[tokio::test]
async fn the_cent_python_client_round_trips_every_method() {
    let Ok(python) = std::env::var("CENT_PYTHON") else {
        eprintln!("CENT_PYTHON not set: skipping the cent round trip");
        return;
    };
    let server = Server::with_key().await;
    let (url, script) = (format!("{}/api", server.base), CENT_SCRIPT);
    // Blocking in the pool, so the test's single-threaded runtime keeps serving the calls.
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new(python)
            .args(["-c", script, &url, KEY])
            .output()
    })
    .await
    .unwrap()
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "cent failed:\n{stdout}\n{stderr}");
    assert_eq!(stdout.trim(), "all ok");
    let Call::Publish(published) = &server.fake.calls()[0] else {
        panic!("not a publish")
    };
    assert_eq!(
        published.data,
        Bytes::from_static(br#"{"text": "hi"}"#),
        "as json.dumps wrote it"
    );
}

const CENT_SCRIPT: &str = r#"
import sys
from cent import *
url, key = sys.argv[1], sys.argv[2]
c = Client(url, key)
r = c.publish(PublishRequest(channel="chat", data={"text": "hi"}, tags={"k": "v"}, idempotency_key="i"))
assert (r.offset, r.epoch) == (7, "ep"), r
r = c.publish(PublishRequest(channel="plain:x", data=1))
assert (r.offset, r.epoch) == (0, ""), r
r = c.broadcast(BroadcastRequest(channels=["a", "unknown:b"], data={"x": 1}))
assert r.responses[0].result.offset == 7 and r.responses[1].error.code == 102, r
c.subscribe(SubscribeRequest(user="42", channel="news", info={"a": 1},
    recover_since=StreamPosition(offset=1, epoch="e"),
    override=ChannelOptionsOverride(presence=BoolValue(value=True))))
c.unsubscribe(UnsubscribeRequest(user="42", channel="news"))
c.disconnect(DisconnectRequest(user="42", disconnect=Disconnect(code=4000, reason="bye")))
c.refresh(RefreshRequest(user="42", expired=True))
r = c.presence(PresenceRequest(channel="chat"))
assert r.presence["c1"].user == "42" and r.presence["c1"].conn_info == {"name": "Ann"}, r
r = c.presence_stats(PresenceStatsRequest(channel="chat"))
assert (r.num_clients, r.num_users) == (3, 1), r
r = c.history(HistoryRequest(channel="chat", limit=10, since=StreamPosition(offset=1, epoch="ep"), reverse=True))
assert r.publications[0].data == {"text": "hi"} and r.offset == 5 and r.epoch == "ep", r
c.history_remove(HistoryRemoveRequest(channel="chat"))
r = c.channels(ChannelsRequest(pattern="*"))
assert r.channels["chat"].num_clients == 2, r
r = c.info(InfoRequest())
assert r.nodes[0].uid == "u1" and r.nodes[0].name == "hub", r
r = c.batch(BatchRequest(requests=[PublishRequest(channel="a", data={}),
    PresenceStatsRequest(channel="a")], parallel=True))
assert r.replies[0].offset == 7 and r.replies[1].num_clients == 3, r
try:
    c.publish(PublishRequest(channel="unknown:x", data={}))
    raise SystemExit("expected an error")
except CentApiResponseError as e:
    assert (e.code, e.message) == (102, "unknown channel"), e
try:
    Client(url, "wrong").info(InfoRequest())
    raise SystemExit("expected unauthorized")
except CentUnauthorizedError:
    pass
print("all ok")
"#;
