//! `hub_proxy_replies`: duplex-hub's reader of the application backend's proxy replies
//! (connect, refresh, subscribe, publish, sub_refresh, rpc) on arbitrary bytes as the body.
//!
//! The backend is another process, and a broken one (or one an attacker reached) can send
//! anything up to the reply size limit; its reply goes straight into decisions about clients.
//!
//! Input layout: the whole input is the reply body.
//!
//! Invariants beyond "never panics": a reply that parses is a JSON object; an error has a
//! code; a disconnect has a code a close frame may carry to a client (3000–4999) and a reason
//! that fits in one (at most 123 bytes).

use duplex_hub::proxy::{check_any_reply, parse_reply, BackendReply};

/// The target.
pub fn run(data: &[u8]) {
    check_any_reply(data);
    match parse_reply::<serde_json::Value>(data) {
        Ok(BackendReply::Disconnect(disconnect)) => {
            assert!((3000..=4999).contains(&disconnect.code), "{disconnect:?}");
            assert!(disconnect.reason.len() <= 123, "{disconnect:?}");
        }
        Ok(BackendReply::Error(error)) => assert_ne!(error.code, 0),
        Ok(BackendReply::Result(_)) => {
            let value: serde_json::Value = serde_json::from_slice(data).expect("parsed before");
            assert!(value.is_object(), "a reply that is not an object passed");
        }
        Err(_) => {}
    }
}
