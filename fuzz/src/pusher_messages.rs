//! `pusher_messages`: duplex-hub's Pusher front door on arbitrary bytes: the WebSocket message
//! parser ([`parse_client_message`]) with what follows a parse (channel names, presence
//! `channel_data`, sign-in `user_data`, re-encoding for other subscribers), and the HTTP API's
//! signature check ([`verify_api_request`]).
//!
//! The whole input is read two ways, as `hub_commands` reads one frame as commands and as
//! replies:
//! - as one text frame from a client, parsed with the default limits and with a message limit
//!   of half the input's length;
//! - as an HTTP API request, `METHOD\npath\nquery\nbody` (missing parts empty, lossy UTF-8),
//!   checked as it is, and then signed properly with the same method, path, parameters and
//!   body and checked again.
//!
//! Invariants, beyond "never panics": a frame over the limit is refused as too large and only
//! then; whatever parses came from a JSON object; a client event's name starts with `client-`
//! and its data is within the limit, and what the server would send other subscribers decodes
//! to the same event, channel and data; empty `auth`/`channel_data` never survive as values; a
//! parsed user id is never empty; a properly signed request always verifies, and is refused
//! once its time is 601 s off or its body changed.

use duplex_hub::pusher::api::{ApiLimits, BatchRequest, Trigger, TriggerRequest};
use duplex_hub::pusher::channel::ChannelKind;
use duplex_hub::pusher::relay;
use duplex_hub::pusher::signature::{
    sign_api_request, verify_api_request, ApiAuthError, ApiRequest, Credentials,
};
use duplex_hub::pusher::wire::{
    parse_client_message, ClientMessage, ParseError, PresenceMember, ServerMessage, UserData,
    WireLimits,
};
use serde_json::Value;

const NOW: i64 = 1_700_000_000;

/// The target.
pub fn run(data: &[u8]) {
    check_frame(data, &WireLimits::default());
    let tight = WireLimits {
        max_message_bytes: data.len() / 2,
        ..WireLimits::default()
    };
    check_frame(data, &tight);
    check_request(data);
    check_api_body(data);
}

/// The HTTP API's bodies and what an event becomes: a trigger or batch body is accepted or
/// refused with a 4xx, never a panic; an accepted event's data, kept as a hub payload, is JSON,
/// and the frame a Pusher subscriber gets for it is JSON whose `data` is that payload's text.
fn check_api_body(body: &[u8]) {
    let limits = ApiLimits::default();
    let mut events = Vec::new();
    match TriggerRequest::from_body(body, &limits) {
        Ok(trigger) => events.push(trigger),
        Err(error) => assert!(error.status.is_client_error(), "{error}"),
    }
    match BatchRequest::from_body(body, &limits) {
        Ok(batch) => events.extend(batch),
        Err(error) => assert!(error.status.is_client_error(), "{error}"),
    }
    if let Ok(text) = std::str::from_utf8(body) {
        events.push(Trigger {
            name: "fuzz".into(),
            data: text.to_owned(),
            channels: vec!["news".into()],
            socket_id: None,
            info: Default::default(),
        });
    }
    for event in events {
        assert!(!event.channels.is_empty() && event.data.len() <= limits.max_data_bytes.max(body.len()));
        let payload = relay::payload_from_data(&event.data);
        assert!(
            duplex_hub::protocol::json::is_json(&payload),
            "a payload is JSON"
        );
        let publication = duplex_hub::engine::Publication {
            data: payload.clone(),
            ..Default::default()
        };
        let frame = relay::publication_frame("pusher-1:news", &publication)
            .expect("a JSON payload is text");
        let frame: Value = serde_json::from_slice(&frame).expect("a frame is JSON");
        assert_eq!(frame["channel"], "news");
        assert_eq!(frame["data"].as_str().map(str::as_bytes), Some(&payload[..]));
    }
}

fn check_frame(frame: &[u8], limits: &WireLimits) {
    let parsed = parse_client_message(frame, limits);
    let too_large = frame.len() > limits.max_message_bytes;
    assert_eq!(
        matches!(parsed, Err(ParseError::TooLarge { .. })),
        too_large,
        "TooLarge exactly when over the limit"
    );
    let Ok(message) = parsed else {
        return;
    };
    assert!(
        // Read as the parser reads it: numbers of any size are JSON, as in JavaScript (a
        // `Value` would refuse one past f64's range).
        serde_json::from_slice::<std::collections::HashMap<String, serde::de::IgnoredAny>>(frame)
            .is_ok(),
        "a parsed message came from a JSON object"
    );
    match message {
        ClientMessage::Subscribe(sub) => {
            assert_ne!(sub.auth.as_deref(), Some(""));
            assert_ne!(sub.channel_data.as_deref(), Some(""));
            let _ = ChannelKind::from_name(&sub.channel);
            if let Some(data) = &sub.channel_data {
                if let Ok(member) = PresenceMember::from_channel_data(data, limits) {
                    assert!(!member.user_id.is_empty());
                    let encoded = ServerMessage::MemberAdded {
                        channel: &sub.channel,
                        member: &member,
                    }
                    .encode();
                    assert!(serde_json::from_str::<Value>(&encoded).is_ok());
                }
            }
            let reply = ServerMessage::SubscriptionSucceeded {
                channel: &sub.channel,
            }
            .encode();
            let reply: Value = serde_json::from_str(&reply).expect("our frames are JSON");
            assert_eq!(reply["channel"].as_str(), Some(sub.channel.as_str()));
        }
        ClientMessage::Unsubscribe { channel } => {
            let _ = ChannelKind::from_name(&channel);
        }
        ClientMessage::Signin(signin) => {
            if let Ok(user) = UserData::parse(&signin.user_data, limits) {
                assert!(!user.id.is_empty());
                assert!(user.watchlist.len() <= limits.max_watchlist);
            }
        }
        ClientMessage::ClientEvent(event) => {
            assert!(event.event.starts_with("client-"));
            assert!(event.event.chars().count() <= limits.max_event_name_len);
            assert!(event.data.len() <= limits.max_client_event_bytes);
            let sent = ServerMessage::Event {
                event: &event.event,
                channel: &event.channel,
                data: &event.data,
                user_id: Some("u"),
            }
            .encode();
            let sent: Value = serde_json::from_str(&sent).expect("our frames are JSON");
            assert_eq!(sent["event"].as_str(), Some(event.event.as_str()));
            assert_eq!(sent["channel"].as_str(), Some(event.channel.as_str()));
            assert_eq!(sent["data"].as_str(), Some(event.data.as_str()));
        }
        ClientMessage::Ping | ClientMessage::Pong => {}
    }
}

fn check_request(data: &[u8]) {
    let mut parts = data.splitn(4, |&b| b == b'\n');
    let mut next = || String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let (method, path, query) = (next(), next(), next());
    let body = data
        .splitn(4, |&b| b == b'\n')
        .nth(3)
        .unwrap_or_default()
        .to_vec();
    let tokens = [Credentials::new("fuzz-key", "fuzz-secret")];

    // As it came: refused or accepted, never a panic.
    let request = ApiRequest {
        method: &method,
        path: &path,
        query: &query,
        body: &body,
    };
    let _ = verify_api_request(&request, &tokens, NOW);

    // Signed properly, it verifies. Parameters are the query's pieces, the signature's own
    // left out and repeated keys (compared as the check compares them) kept once.
    let mut params: Vec<(String, String)> = Vec::new();
    for piece in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = piece.split_once('=').unwrap_or((piece, ""));
        let lower = key.to_ascii_lowercase();
        let reserved = lower.starts_with("auth_") || lower == "body_md5";
        if !reserved && !params.iter().any(|(k, _)| k.to_ascii_lowercase() == lower) {
            params.push((key.to_owned(), value.to_owned()));
        }
    }
    let params: Vec<(&str, &str)> = params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let signed = sign_api_request(&tokens[0], &method, &path, &params, &body, NOW);
    let encoded_path = encode_path(&path);
    let request = ApiRequest {
        method: &method,
        path: &encoded_path,
        query: &signed,
        body: &body,
    };
    assert_eq!(
        verify_api_request(&request, &tokens, NOW),
        Ok(&tokens[0]),
        "a properly signed request verifies: {signed:?}"
    );
    assert_eq!(
        verify_api_request(&request, &tokens, NOW + 601),
        Err(ApiAuthError::TimestampOutOfRange {
            timestamp: NOW,
            now: NOW + 601
        })
    );
    let mut changed = body.clone();
    changed.push(b'x');
    let tampered = ApiRequest {
        body: &changed,
        ..request
    };
    let expected = if body.is_empty() {
        ApiAuthError::MissingBodyMd5
    } else {
        ApiAuthError::BodyMd5Mismatch
    };
    assert_eq!(verify_api_request(&tampered, &tokens, NOW), Err(expected));
}

/// The path as a client puts it in a URL: everything but unreserved characters and `/`
/// percent-encoded, so that decoding it gives back exactly what was signed.
fn encode_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for byte in path.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}
