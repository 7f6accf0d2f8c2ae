//! Where the two protocols meet: how a hub publication (from a Pusher client, the Pusher HTTP
//! API, a Centrifugo client or the Centrifugo server API) looks to a Pusher subscriber, and how
//! a Pusher event is kept as a hub publication. Written once here, so that the fan-out
//! (`node::channels`), the Pusher session and the HTTP API agree.
//!
//! - A Pusher channel `news` of an app is the hub channel `<namespace>:news`.
//! - A Pusher event's name and, for client events, its sender ride in the publication's tags
//!   ([`EVENT_TAG`], [`SOCKET_TAG`], [`USER_TAG`]); a publication without an event name reaches
//!   Pusher subscribers as event `message`.
//! - Pusher's `data` is a string. A hub payload is JSON, so a `data` that is JSON text is kept as
//!   it is, and any other text as a JSON string; either way a Pusher subscriber gets the
//!   payload's text, which pusher-js parses back to what was sent.
//!
//! ```
//! use duplex_hub::pusher::relay::{payload_from_data, pusher_channel};
//!
//! assert_eq!(pusher_channel("pusher-42:private-chat"), "private-chat");
//! assert_eq!(&payload_from_data(r#"{"n":1}"#)[..], br#"{"n":1}"#);
//! assert_eq!(&payload_from_data("hello")[..], br#""hello""#);
//! ```

use bytes::Bytes;
use serde_json::value::RawValue;

use crate::engine::{ClientInfo, Publication};

use super::wire::{PresenceMember, ServerMessage};

/// The tag that carries a Pusher event's name.
pub const EVENT_TAG: &str = "pusher_event";
/// The tag that names the connection an event must not reach (its sender's socket id).
pub const SOCKET_TAG: &str = "pusher_socket_id";
/// The tag that carries a presence channel client event's sender.
pub const USER_TAG: &str = "pusher_user_id";
/// The event name of a publication that names none.
pub const DEFAULT_EVENT: &str = "message";

/// The Pusher name of a hub channel: what follows the namespace.
pub fn pusher_channel(hub_channel: &str) -> &str {
    hub_channel
        .split_once(':')
        .map_or(hub_channel, |(_, name)| name)
}

/// The hub channel of Pusher channel `name` in an app's `namespace`.
pub fn hub_channel(namespace: &str, name: &str) -> String {
    format!("{namespace}:{name}")
}

/// The hub payload of a Pusher event's `data` (see the module's comment).
pub fn payload_from_data(data: &str) -> Bytes {
    // JSON as the hub's JSON connections take it (numbers of any size included).
    if crate::protocol::json::is_json(data.as_bytes()) {
        Bytes::copy_from_slice(data.as_bytes())
    } else {
        Bytes::from(serde_json::to_vec(data).unwrap_or_default())
    }
}

/// A connection's socket id, from the number the node keys its client id by: the two halves
/// of the UUID in decimal, as Pusher's `\d+\.\d+`.
///
/// ```
/// use duplex_hub::pusher::relay::{client_key, socket_id};
///
/// let id = socket_id((7 << 64) | 42);
/// assert_eq!(id, "7.42");
/// assert_eq!(client_key(&id), Some((7 << 64) | 42));
/// ```
pub fn socket_id(client_key: u128) -> String {
    format!("{}.{}", client_key >> 64, client_key as u64)
}

/// The client key a socket id was made from ([`socket_id`]'s inverse); `None` for another
/// text.
pub fn client_key(socket_id: &str) -> Option<u128> {
    let (high, low) = socket_id.split_once('.')?;
    let high: u64 = high.parse().ok()?;
    let low: u64 = low.parse().ok()?;
    Some((u128::from(high) << 64) | u128::from(low))
}

/// The client id of the connection a publication must not reach, when its publisher named
/// one: made once per publication, so that the fan-out compares it with each subscriber's id
/// as it is, rather than parsing every subscriber's.
pub(crate) fn excluded(publication: &Publication) -> Option<String> {
    let key = client_key(publication.tags.get(SOCKET_TAG)?)?;
    Some(uuid::Uuid::from_u128(key).hyphenated().to_string())
}

/// A publication as a Pusher event frame; `None` if its payload is not text.
///
/// ```
/// use duplex_hub::engine::Publication;
/// use duplex_hub::pusher::relay::{payload_from_data, publication_frame, EVENT_TAG};
///
/// let mut publication = Publication { data: payload_from_data(r#"{"home":2}"#), ..Default::default() };
/// publication.tags.insert(EVENT_TAG.into(), "score".into());
/// let frame = publication_frame("pusher-42:match-7", &publication).unwrap();
/// assert_eq!(frame, r#"{"event":"score","channel":"match-7","data":"{\"home\":2}"}"#);
/// ```
pub fn publication_frame(hub_channel: &str, publication: &Publication) -> Option<Bytes> {
    let data = std::str::from_utf8(&publication.data).ok()?;
    let event = publication
        .tags
        .get(EVENT_TAG)
        .map_or(DEFAULT_EVENT, String::as_str);
    let message = ServerMessage::Event {
        event,
        channel: pusher_channel(hub_channel),
        data,
        user_id: publication.tags.get(USER_TAG).map(String::as_str),
    };
    Some(Bytes::from(message.encode()))
}

/// A presence join or leave as `member_added` or `member_removed`: the member is the user, its
/// `user_info` the subscriber's channel info.
pub fn join_leave_frame(hub_channel: &str, info: &ClientInfo, join: bool) -> Option<Bytes> {
    let channel = pusher_channel(hub_channel);
    let message = if join {
        let member = member(info);
        ServerMessage::MemberAdded {
            channel,
            member: &member,
        }
        .encode()
    } else {
        ServerMessage::MemberRemoved {
            channel,
            user_id: &info.user,
        }
        .encode()
    };
    Some(Bytes::from(message))
}

/// A presence entry as a Pusher member.
pub fn member(info: &ClientInfo) -> PresenceMember {
    PresenceMember {
        user_id: info.user.clone(),
        user_info: info
            .chan_info
            .as_ref()
            .and_then(|raw| std::str::from_utf8(raw).ok())
            .and_then(|text| RawValue::from_string(text.to_owned()).ok()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socket_ids_round_trip_to_client_keys() {
        for key in [
            0u128,
            1,
            u128::MAX,
            0x0123_4567_89ab_cdef_fedc_ba98_7654_3210,
        ] {
            let id = socket_id(key);
            assert!(super::super::signature::is_valid_socket_id(&id), "{id}");
            assert_eq!(client_key(&id), Some(key));
        }
        assert_eq!(client_key("1.2.3"), None);
        assert_eq!(client_key("x.2"), None);
    }

    #[test]
    fn an_event_keeps_its_name_and_sender_and_a_hub_publication_is_a_message() {
        let mut publication = Publication {
            data: payload_from_data(r#"{"text":"hi"}"#),
            ..Default::default()
        };
        assert_eq!(
            publication_frame("pusher-1:news", &publication).unwrap(),
            r#"{"event":"message","channel":"news","data":"{\"text\":\"hi\"}"}"#
        );
        publication
            .tags
            .insert(EVENT_TAG.into(), "client-typing".into());
        publication.tags.insert(USER_TAG.into(), "u1".into());
        assert_eq!(
            publication_frame("pusher-1:presence-room", &publication).unwrap(),
            r#"{"event":"client-typing","channel":"presence-room","data":"{\"text\":\"hi\"}","user_id":"u1"}"#
        );
        publication.data = Bytes::from_static(&[0xff, 0xfe]);
        assert_eq!(publication_frame("pusher-1:news", &publication), None);
    }

    #[test]
    fn text_that_is_not_json_travels_as_a_json_string_and_comes_back_as_itself() {
        // A number too large for a float is still JSON, as JavaScript reads it.
        assert_eq!(&payload_from_data("2e2222")[..], b"2e2222");
        let payload = payload_from_data("plain \"quoted\" text");
        assert_eq!(&payload[..], br#""plain \"quoted\" text""#);
        let back: String = serde_json::from_slice(&payload).unwrap();
        assert_eq!(back, "plain \"quoted\" text");
    }

    #[test]
    fn members_come_and_go_by_user() {
        let info = ClientInfo {
            user: "u1".into(),
            client: "c".into(),
            conn_info: None,
            chan_info: Some(Bytes::from_static(br#"{"name":"Ann"}"#)),
        };
        assert_eq!(
            join_leave_frame("pusher-1:presence-room", &info, true).unwrap(),
            r#"{"event":"pusher_internal:member_added","channel":"presence-room","data":"{\"user_id\":\"u1\",\"user_info\":{\"name\":\"Ann\"}}"}"#
        );
        assert_eq!(
            join_leave_frame("pusher-1:presence-room", &info, false).unwrap(),
            r#"{"event":"pusher_internal:member_removed","channel":"presence-room","data":"{\"user_id\":\"u1\"}"}"#
        );
    }
}
