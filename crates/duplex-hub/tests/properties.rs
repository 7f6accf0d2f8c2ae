//! Properties that must hold for every input, not just the examples the other tests pick:
//! the client protocol's codecs give back exactly the messages they were given, in both
//! encodings and with several messages per frame, and `glob::matches` agrees with an obvious
//! backtracking matcher.
//!
//! The fuzz targets (`fuzz/`) look for inputs that break the decoders; these look for
//! messages the encoders get wrong, which a fuzzer rarely builds because it starts from bytes.
//! Payloads are generated as JSON values and written compactly, since a JSON connection can
//! only carry payloads that are JSON (anything else is refused, and tested elsewhere).

use std::collections::BTreeMap;

use bytes::Bytes;
use duplex_hub::glob;
use duplex_hub::protocol::{
    decode_commands, decode_replies, encode_command, encode_reply, ClientInfo, Command, Connect,
    ConnectRequest, ConnectResult, Disconnect, Encoding, Error, HistoryRequest, HistoryResult,
    Join, Leave, Message, PingRequest, PingResult, PresenceRequest, PresenceResult,
    PresenceStatsRequest, PresenceStatsResult, Publication, PublishRequest, PublishResult, Push,
    Refresh, RefreshRequest, RefreshResult, Reply, RpcRequest, RpcResult, SendRequest,
    StreamPosition, SubRefreshRequest, SubRefreshResult, Subscribe, SubscribeRequest,
    SubscribeResult, Unsubscribe, UnsubscribeRequest, UnsubscribeResult,
};
use proptest::collection::{btree_map, vec};
use proptest::option::weighted;
use proptest::prelude::*;
use serde_json::Value;

// ---- generators ------------------------------------------------------------------------

/// Short strings of any characters, control characters, quotes and non-ASCII included.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[a-z0-9:#,_-]{0,8}",
        1 => vec(any::<char>(), 0..6).prop_map(String::from_iter),
    ]
}

/// Any JSON value without floats (whose text form is not ours to keep).
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(Value::Array),
            btree_map(text(), inner, 0..4).prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

/// A payload as a client or the server API sends it: nothing, or compact JSON.
fn payload() -> impl Strategy<Value = Bytes> {
    prop_oneof![
        1 => Just(Bytes::new()),
        3 => json_value().prop_map(|value| {
            Bytes::from(serde_json::to_vec(&value).expect("a JSON value serializes"))
        }),
    ]
}

/// An optional sub-message, present a third of the time. Boxed: the nested strategies' value
/// trees are large, and inline they overflow a test thread's stack in debug builds.
fn maybe<T: std::fmt::Debug + 'static>(
    inner: impl Strategy<Value = T> + 'static,
) -> BoxedStrategy<Option<T>> {
    weighted(0.35, inner).boxed()
}

fn strings() -> impl Strategy<Value = BTreeMap<String, String>> {
    btree_map(text(), text(), 0..3)
}

prop_compose! {
    fn subscribe_request()(
        (channel, token, recover, epoch, offset, data) in
            (text(), text(), any::<bool>(), text(), any::<u64>(), payload()),
        (positioned, recoverable, join_leave, delta, flag) in
            (any::<bool>(), any::<bool>(), any::<bool>(), text(), any::<i64>()),
    ) -> SubscribeRequest {
        SubscribeRequest {
            channel, token, recover, epoch, offset, data, positioned, recoverable, join_leave,
            delta, flag,
        }
    }
}

prop_compose! {
    fn connect_request()(
        token in text(),
        data in payload(),
        subs in btree_map(text(), subscribe_request(), 0..3),
        name in text(),
        version in text(),
        headers in strings(),
        flag in any::<i64>(),
    ) -> ConnectRequest {
        ConnectRequest { token, data, subs, name, version, headers, flag }
    }
}

prop_compose! {
    fn history_request()(
        channel in text(),
        limit in any::<i32>(),
        since in maybe((any::<u64>(), text()).prop_map(|(offset, epoch)| StreamPosition { offset, epoch })),
        reverse in any::<bool>(),
    ) -> HistoryRequest {
        HistoryRequest { channel, limit, since, reverse }
    }
}

prop_compose! {
    fn command()(
        id in any::<u32>(),
        (connect, subscribe, unsubscribe, publish) in (
            maybe(connect_request()),
            maybe(subscribe_request()),
            maybe(text().prop_map(|channel| UnsubscribeRequest { channel })),
            maybe((text(), payload()).prop_map(|(channel, data)| PublishRequest { channel, data })),
        ),
        (presence, presence_stats, history, ping) in (
            maybe(text().prop_map(|channel| PresenceRequest { channel })),
            maybe(text().prop_map(|channel| PresenceStatsRequest { channel })),
            maybe(history_request()),
            maybe(Just(PingRequest {})),
        ),
        (send, rpc, refresh, sub_refresh) in (
            maybe(payload().prop_map(|data| SendRequest { data })),
            maybe((payload(), text()).prop_map(|(data, method)| RpcRequest { data, method })),
            maybe(text().prop_map(|token| RefreshRequest { token })),
            maybe((text(), text()).prop_map(|(channel, token)| SubRefreshRequest { channel, token })),
        ),
    ) -> Command {
        Command {
            id, connect, subscribe, unsubscribe, publish, presence, presence_stats, history,
            ping, send, rpc, refresh, sub_refresh,
        }
    }
}

prop_compose! {
    fn client_info()(user in text(), client in text(), conn_info in payload(), chan_info in payload())
        -> ClientInfo {
        ClientInfo { user, client, conn_info, chan_info }
    }
}

prop_compose! {
    fn publication()(
        data in payload(),
        info in maybe(client_info()),
        offset in any::<u64>(),
        tags in strings(),
        delta in any::<bool>(),
        time in any::<i64>(),
        channel in text(),
    ) -> Publication {
        Publication { data, info, offset, tags, delta, time, channel }
    }
}

prop_compose! {
    fn subscribe_result()(
        (expires, ttl, recoverable, epoch, publications, recovered) in (
            any::<bool>(), any::<u32>(), any::<bool>(), text(), vec(publication(), 0..3),
            any::<bool>(),
        ),
        (offset, positioned, data, was_recovering, delta) in
            (any::<u64>(), any::<bool>(), payload(), any::<bool>(), any::<bool>()),
    ) -> SubscribeResult {
        SubscribeResult {
            expires, ttl, recoverable, epoch, publications, recovered, offset, positioned, data,
            was_recovering, delta,
        }
    }
}

prop_compose! {
    fn connect_result()(
        (client, version, expires, ttl, data, subs) in (
            text(), text(), any::<bool>(), any::<u32>(), payload(),
            btree_map(text(), subscribe_result(), 0..2),
        ),
        (ping, pong, session, node, time) in
            (any::<u32>(), any::<bool>(), text(), text(), any::<i64>()),
    ) -> ConnectResult {
        ConnectResult { client, version, expires, ttl, data, subs, ping, pong, session, node, time }
    }
}

prop_compose! {
    fn connect_push()(result in connect_result()) -> Connect {
        let ConnectResult { client, version, expires, ttl, data, subs, ping, pong, session, node, time } = result;
        Connect { client, version, data, subs, expires, ttl, ping, pong, session, node, time }
    }
}

prop_compose! {
    fn push()(
        channel in text(),
        (publication, join, leave, unsubscribe, message) in (
            maybe(publication()),
            maybe(maybe(client_info()).prop_map(|info| Join { info })),
            maybe(maybe(client_info()).prop_map(|info| Leave { info })),
            maybe((any::<u32>(), text()).prop_map(|(code, reason)| Unsubscribe { code, reason })),
            maybe(payload().prop_map(|data| Message { data })),
        ),
        (subscribe, connect, disconnect, refresh) in (
            maybe((any::<bool>(), text(), any::<u64>(), any::<bool>(), payload()).prop_map(
                |(recoverable, epoch, offset, positioned, data)| Subscribe {
                    recoverable, epoch, offset, positioned, data,
                },
            )),
            maybe(connect_push()),
            maybe((any::<u32>(), text(), any::<bool>()).prop_map(|(code, reason, reconnect)| {
                Disconnect { code, reason, reconnect }
            })),
            maybe((any::<bool>(), any::<u32>()).prop_map(|(expires, ttl)| Refresh { expires, ttl })),
        ),
    ) -> Push {
        Push {
            channel, r#pub: publication, join, leave, unsubscribe, message, subscribe, connect,
            disconnect, refresh,
        }
    }
}

prop_compose! {
    fn reply()(
        id in any::<u32>(),
        (error, push, connect, subscribe, unsubscribe) in (
            maybe((any::<u32>(), text(), any::<bool>()).prop_map(|(code, message, temporary)| {
                Error { code, message, temporary }
            })),
            maybe(push()),
            maybe(connect_result()),
            maybe(subscribe_result()),
            maybe(Just(UnsubscribeResult {})),
        ),
        (publish, presence, presence_stats, history) in (
            maybe(Just(PublishResult {})),
            maybe(btree_map(text(), client_info(), 0..3).prop_map(|presence| PresenceResult { presence })),
            maybe((any::<u32>(), any::<u32>()).prop_map(|(num_clients, num_users)| {
                PresenceStatsResult { num_clients, num_users }
            })),
            maybe((vec(publication(), 0..3), text(), any::<u64>()).prop_map(
                |(publications, epoch, offset)| HistoryResult { publications, epoch, offset },
            )),
        ),
        (ping, rpc, refresh, sub_refresh) in (
            maybe(Just(PingResult {})),
            maybe(payload().prop_map(|data| RpcResult { data })),
            maybe((text(), text(), any::<bool>(), any::<u32>()).prop_map(
                |(client, version, expires, ttl)| RefreshResult { client, version, expires, ttl },
            )),
            maybe((any::<bool>(), any::<u32>()).prop_map(|(expires, ttl)| SubRefreshResult { expires, ttl })),
        ),
    ) -> Reply {
        Reply {
            id, error, push, connect, subscribe, unsubscribe, publish, presence, presence_stats,
            history, ping, rpc, refresh, sub_refresh,
        }
    }
}

fn encoding() -> impl Strategy<Value = Encoding> {
    prop_oneof![Just(Encoding::Json), Just(Encoding::Protobuf)]
}

// ---- the codec -------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn a_command_round_trips(encoding in encoding(), command in command()) {
        let mut frame = Vec::new();
        encode_command(encoding, &command, &mut frame).expect("JSON payloads encode in both");
        prop_assert_eq!(decode_commands(encoding, &frame).expect("our frame decodes"), vec![command]);
    }

    #[test]
    fn a_reply_round_trips(encoding in encoding(), reply in reply()) {
        let mut frame = Vec::new();
        encode_reply(encoding, &reply, &mut frame).expect("JSON payloads encode in both");
        prop_assert_eq!(decode_replies(encoding, &frame).expect("our frame decodes"), vec![reply]);
    }

    #[test]
    fn a_frame_of_commands_decodes_to_the_same_list(
        encoding in encoding(),
        commands in vec(command(), 1..6),
    ) {
        // At least one: an empty message is not a frame (the decoder says so).
        let mut frame = Vec::new();
        for command in &commands {
            encode_command(encoding, command, &mut frame).expect("encodes");
        }
        prop_assert_eq!(decode_commands(encoding, &frame).expect("our frame decodes"), commands);
    }

    #[test]
    fn a_frame_of_replies_decodes_to_the_same_list(
        encoding in encoding(),
        replies in vec(reply(), 1..6),
    ) {
        let mut frame = Vec::new();
        for reply in &replies {
            encode_reply(encoding, reply, &mut frame).expect("encodes");
        }
        prop_assert_eq!(decode_replies(encoding, &frame).expect("our frame decodes"), replies);
    }
}

// ---- glob --------------------------------------------------------------------------------

/// The obvious matcher, by backtracking over characters: `*` takes none, or one more.
fn reference_matches(pattern: &[char], text: &[char]) -> bool {
    match (pattern.split_first(), text.split_first()) {
        (None, _) => text.is_empty(),
        (Some(('*', rest)), _) => {
            reference_matches(rest, text)
                || text
                    .split_first()
                    .is_some_and(|(_, text_rest)| reference_matches(pattern, text_rest))
        }
        (Some((p, rest)), Some((t, text_rest))) => p == t && reference_matches(rest, text_rest),
        (Some(_), None) => false,
    }
}

/// Patterns and texts over a small alphabet, so that matches are common and `*` meets the
/// characters around it; `é` checks that the matcher never splits a character.
fn glob_text(star: bool) -> impl Strategy<Value = String> {
    let chars: &[char] = if star {
        &['a', 'b', ':', 'é', '*']
    } else {
        &['a', 'b', ':', 'é']
    };
    vec(proptest::sample::select(chars.to_vec()), 0..10).prop_map(String::from_iter)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn glob_agrees_with_backtracking(pattern in glob_text(true), text in glob_text(false)) {
        let p: Vec<char> = pattern.chars().collect();
        let t: Vec<char> = text.chars().collect();
        prop_assert_eq!(glob::matches(&pattern, &text), reference_matches(&p, &t));
    }

    #[test]
    fn a_text_matches_itself_and_star(text in glob_text(false)) {
        prop_assert!(glob::matches(&text, &text));
        prop_assert!(glob::matches("*", &text));
        let first_and_star: String = text.chars().take(1).chain(['*']).collect();
        prop_assert!(glob::matches(&first_and_star, &text));
    }
}
