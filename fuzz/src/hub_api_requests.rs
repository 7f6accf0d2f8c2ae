//! `hub_api_requests`: duplex-hub's server API (`POST /api/<method>`, `batch`, the legacy
//! newline-delimited `POST /api`) on arbitrary request bodies, through the real axum router.
//!
//! The decoders (`api/wire.rs`, `api/dispatch.rs`, `api/batch.rs`, `api/legacy.rs`) are private
//! to the crate, so the target drives them the way the network does: one in-process request to
//! [`duplex_hub::api::router`], no socket. That costs some speed but needs no hook in the
//! crate, and it also covers the handler's status codes and error mode.
//!
//! Input layout: byte 0 picks the route (low four bits: a method of [`Method::ALL`], 13 the
//! legacy endpoint, 14 and 15 a method name taken from the input up to the first newline),
//! bit 4 asks for transport error mode, bit 5 leaves the API key out, bit 6 runs the request
//! against a real [`Hub`] with the memory engine instead of the recording fake. The rest is
//! the body.
//!
//! Invariants, beyond "never panics":
//! - without the key: 401; an unknown method name: 404; a body that is not JSON: 400;
//!   nothing is ever 500 (the fake never fails internally, and neither should the hub on
//!   any request);
//! - a 200 body is JSON: `{"result"}` or `{"error"}` for one method, `{"replies": [...]}`
//!   with one reply per command for `batch`, one `result`/`error` line per command line for
//!   the legacy endpoint;
//! - what reaches the fake backend is validated: a channel where one is required, a
//!   publication's `data` is the JSON text sent unless `b64data` was given.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use axum::body::Body;
use axum::Router;
use bytes::Bytes;
use duplex_hub::api::replies::{
    ChannelInfo, ChannelsResult, ClientInfo, HistoryResult, InfoResult, NodeInfo, PresenceResult,
    PresenceStatsResult, Publication, PublishResult,
};
use duplex_hub::api::requests::{
    ChannelsRequest, DisconnectRequest, HistoryRemoveRequest, HistoryRequest, PresenceRequest,
    PublishRequest, RefreshRequest, SubscribeRequest, UnsubscribeRequest,
};
use duplex_hub::api::{
    router, ApiBackend, ApiError, ApiSettings, Method, API_KEY_HEADER, ERROR_MODE_HEADER,
};
use duplex_hub::config::HubConfig;
use duplex_hub::Hub;
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

const KEY: &str = "fuzz-key";
/// A real hub is rebuilt after this many requests, so its channels and history stay small.
const HUB_REQUESTS: u32 = 2048;

/// The target.
pub fn run(data: &[u8]) {
    let Some((&control, rest)) = data.split_first() else {
        return;
    };
    let (path, body) = match control & 0x0f {
        13 => ("/api".to_owned(), rest),
        14 | 15 => {
            let (name, body) = match rest.iter().position(|&b| b == b'\n') {
                Some(at) => (&rest[..at], &rest[at + 1..]),
                None => (rest, &[][..]),
            };
            let name = String::from_utf8_lossy(name);
            // Only names a URI path can carry: the router is not what is under test.
            if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                return;
            }
            (format!("/api/{name}"), body)
        }
        index => (
            format!("/api/{}", Method::ALL[usize::from(index)].name()),
            rest,
        ),
    };
    SENT_B64.with(|sent| sent.set(names_b64data(body)));
    let transport = control & 0x10 != 0;
    let with_key = control & 0x20 == 0;
    let real_hub = control & 0x40 != 0;
    RUNTIME.with(|runtime| {
        runtime.block_on(async {
            let app = if real_hub {
                hub_router().await
            } else {
                FAKE.with(|fake| fake.borrow().clone())
            };
            check(app, &path, body, transport, with_key).await;
        })
    });
}

thread_local! {
    static RUNTIME: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a current-thread runtime builds");
    static FAKE: RefCell<Router> = RefCell::new(router(Arc::new(Fake::default()), settings()));
    static HUB: RefCell<Option<(Hub, Router, u32)>> = const { RefCell::new(None) };
}

fn settings() -> ApiSettings {
    ApiSettings {
        key: Some(KEY.to_owned()),
        ..ApiSettings::default()
    }
}

/// The shared real hub's router, rebuilt every [`HUB_REQUESTS`] requests.
async fn hub_router() -> Router {
    let current = HUB.with(|hub| {
        let mut hub = hub.borrow_mut();
        match hub.as_mut() {
            Some((_, app, used)) if *used < HUB_REQUESTS => {
                *used += 1;
                Some(app.clone())
            }
            _ => None,
        }
    });
    if let Some(app) = current {
        return app;
    }
    let config = HubConfig::from_centrifugo_json(HUB_CONFIG)
        .expect("the fuzz hub's configuration is valid")
        .config;
    let hub = Hub::new(config).await.expect("the fuzz hub builds");
    let app = router(Arc::new(hub.clone()), settings());
    HUB.with(|slot| *slot.borrow_mut() = Some((hub, app.clone(), 0)));
    app
}

/// Every channel option that changes what the API does: history, presence, deltas,
/// user-limited channels, and the default namespace with none of them.
const HUB_CONFIG: &str = r#"{
    "client": {"token": {"hmac_secret_key": "fuzz"}},
    "http_api": {"key": "fuzz-key"},
    "channel": {
        "without_namespace": {"history_size": 3, "history_ttl": "60s", "presence": true},
        "namespaces": [
            {"name": "chat", "presence": true, "join_leave": true, "history_size": 5,
             "history_ttl": "30s", "force_recovery": true, "allow_user_limited_channels": true},
            {"name": "prices", "history_size": 2, "history_ttl": "10s",
             "allowed_delta_types": ["fossil"], "delta_publish": true}
        ]
    }
}"#;

async fn check(app: Router, path: &str, body: &[u8], transport: bool, with_key: bool) {
    let mut request = Request::post(path);
    if with_key {
        request = request.header(API_KEY_HEADER, KEY);
    }
    if transport {
        request = request.header(ERROR_MODE_HEADER, "transport");
    }
    let request = request
        .body(Body::from(body.to_vec()))
        .expect("a request from a valid path and headers");
    let response = app
        .oneshot(request)
        .await
        .expect("the router is infallible");
    let status = response.status();
    let reply = response
        .into_body()
        .collect()
        .await
        .expect("an in-memory body")
        .to_bytes();
    assert_ne!(status, StatusCode::INTERNAL_SERVER_ERROR, "500 for {path}");
    if !with_key {
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "no key, yet {status} for {path}"
        );
        return;
    }
    let method = path.strip_prefix("/api/").map(Method::from_name);
    if method == Some(None) {
        assert_eq!(status, StatusCode::NOT_FOUND, "unknown method {path}");
        return;
    }
    let blank = body.iter().all(u8::is_ascii_whitespace);
    if path == "/api" {
        check_legacy(body, status, &reply);
        return;
    }
    if !blank && serde_json::from_slice::<serde::de::IgnoredAny>(body).is_err() {
        assert_eq!(status, StatusCode::BAD_REQUEST, "not JSON, yet {status}");
        return;
    }
    if status == StatusCode::BAD_REQUEST {
        return;
    }
    let reply: Value = serde_json::from_slice(&reply).expect("a reply is JSON");
    if method == Some(Some(Method::Batch)) {
        assert_eq!(status, StatusCode::OK);
        // Lossy: the decoder skips unknown strings without checking their UTF-8.
        let commands = serde_json::from_str::<Value>(&String::from_utf8_lossy(body))
            .ok()
            .and_then(|body| body.get("commands")?.as_array().map(Vec::len))
            .unwrap_or(0);
        let replies = reply["replies"].as_array().expect("batch replies");
        assert_eq!(replies.len(), commands, "one reply per batch command");
        replies.iter().for_each(one_key_object);
    } else if status == StatusCode::OK {
        one_key_object(&reply);
        let key = reply.as_object().and_then(|o| o.keys().next()).cloned();
        assert!(
            matches!(key.as_deref(), Some("result" | "error")),
            "a reply is a result or an error: {reply}"
        );
    } else {
        // Transport error mode: the bare error with its HTTP status.
        assert!(transport, "{status} without transport error mode");
        assert!(reply["code"].is_u64(), "an error has a code: {reply}");
    }
}

fn one_key_object(value: &Value) {
    let object = value.as_object().expect("a reply is an object");
    assert_eq!(object.len(), 1, "a reply has one key: {value}");
}

/// The legacy endpoint: 400 as soon as any non-blank line is not JSON; otherwise one reply
/// line per command line.
fn check_legacy(body: &[u8], status: StatusCode, reply: &[u8]) {
    let lines: Vec<&[u8]> = body
        .split(|&b| b == b'\n')
        .filter(|line| !line.iter().all(u8::is_ascii_whitespace))
        .collect();
    let decodes = |line: &&[u8]| serde_json::from_slice::<LegacyShape>(line).is_ok();
    if lines.is_empty() || !lines.iter().all(decodes) {
        assert_eq!(status, StatusCode::BAD_REQUEST, "legacy body, yet {status}");
        return;
    }
    assert_eq!(
        status,
        StatusCode::OK,
        "legacy commands decode, yet {status}"
    );
    let replies: Vec<Value> = reply
        .split(|&b| b == b'\n')
        .map(|line| serde_json::from_slice(line).expect("a legacy reply line is JSON"))
        .collect();
    assert_eq!(replies.len(), lines.len(), "one legacy reply per command");
    for reply in &replies {
        assert!(
            reply.get("result").is_some() != reply.get("error").is_some(),
            "a legacy reply is a result or an error: {reply}"
        );
    }
}

/// A legacy command line's shape as Centrifugo documents it: an object with an optional
/// numeric `id`, an optional `method` name and any `params`.
#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct LegacyShape {
    id: Option<u32>,
    method: Option<String>,
    params: Option<Box<serde_json::value::RawValue>>,
}

thread_local! {
    /// Whether the request being run names `b64data` anywhere: only then may a publication
    /// reach the backend with bytes that are not JSON.
    static SENT_B64: Cell<bool> = const { Cell::new(false) };
}

/// Whether any JSON document in `body` (the whole body, or one of its lines) has a `b64data`
/// key at any depth, escapes resolved.
fn names_b64data(body: &[u8]) -> bool {
    fn walk(value: &Value) -> bool {
        match value {
            Value::Object(object) => object
                .iter()
                .any(|(key, value)| key == "b64data" || walk(value)),
            Value::Array(items) => items.iter().any(walk),
            _ => false,
        }
    }
    std::iter::once(body)
        .chain(body.split(|&b| b == b'\n'))
        .filter_map(|doc| serde_json::from_str::<Value>(&String::from_utf8_lossy(doc)).ok())
        .any(|doc| walk(&doc))
}

/// A backend that checks what it is given and answers with plausible results built from it,
/// so the reply encoders see the payloads the fuzzer sent (binary ones included).
#[derive(Default)]
struct Fake {
    last_data: Mutex<Bytes>,
    last_info: Mutex<Option<Bytes>>,
}

fn channel_given(channel: &str) {
    assert!(
        !channel.is_empty(),
        "a required channel reached the backend empty"
    );
}

#[async_trait]
impl ApiBackend for Fake {
    async fn publish(&self, request: PublishRequest) -> Result<PublishResult, ApiError> {
        channel_given(&request.channel);
        assert!(
            serde_json::from_slice::<serde::de::IgnoredAny>(&request.data).is_ok()
                || SENT_B64.with(Cell::get),
            "a publication without b64data reached the backend as non-JSON"
        );
        *self.last_data.lock().unwrap_or_else(|e| e.into_inner()) = request.data;
        if request.channel.starts_with('x') {
            return Err(ApiError::new(102, "unknown channel"));
        }
        Ok(PublishResult {
            offset: request.version,
            epoch: request.version_epoch,
        })
    }

    async fn subscribe(&self, request: SubscribeRequest) -> Result<(), ApiError> {
        channel_given(&request.channel);
        *self.last_info.lock().unwrap_or_else(|e| e.into_inner()) = request.info;
        Ok(())
    }

    async fn unsubscribe(&self, _request: UnsubscribeRequest) -> Result<(), ApiError> {
        Ok(())
    }

    async fn disconnect(&self, _request: DisconnectRequest) -> Result<(), ApiError> {
        Ok(())
    }

    async fn refresh(&self, request: RefreshRequest) -> Result<(), ApiError> {
        *self.last_info.lock().unwrap_or_else(|e| e.into_inner()) = request.info;
        Ok(())
    }

    async fn presence(&self, request: PresenceRequest) -> Result<PresenceResult, ApiError> {
        channel_given(&request.channel);
        let info = self
            .last_info
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let client = ClientInfo {
            client: request.channel.clone(),
            user: request.channel,
            conn_info: info.clone(),
            chan_info: info,
        };
        Ok(PresenceResult {
            presence: BTreeMap::from([(client.client.clone(), client)]),
        })
    }

    async fn presence_stats(
        &self,
        request: PresenceRequest,
    ) -> Result<PresenceStatsResult, ApiError> {
        channel_given(&request.channel);
        Ok(PresenceStatsResult::default())
    }

    async fn history(&self, request: HistoryRequest) -> Result<HistoryResult, ApiError> {
        channel_given(&request.channel);
        if request
            .since
            .as_ref()
            .is_some_and(|since| since.offset > 100)
        {
            return Err(ApiError::new(112, "unrecoverable position"));
        }
        let data = self
            .last_data
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        Ok(HistoryResult {
            publications: vec![Publication {
                data,
                offset: 1,
                ..Publication::default()
            }],
            epoch: request.since.map(|since| since.epoch).unwrap_or_default(),
            offset: 1,
        })
    }

    async fn history_remove(&self, request: HistoryRemoveRequest) -> Result<(), ApiError> {
        channel_given(&request.channel);
        Ok(())
    }

    async fn channels(&self, request: ChannelsRequest) -> Result<ChannelsResult, ApiError> {
        Ok(ChannelsResult {
            channels: BTreeMap::from([(request.pattern, ChannelInfo { num_clients: 1 })]),
        })
    }

    async fn info(&self) -> Result<InfoResult, ApiError> {
        Ok(InfoResult {
            nodes: vec![NodeInfo::default()],
        })
    }
}
