//! The client protocol's frames, byte for byte: what the SDKs send must decode, what the hub
//! sends must be exactly what Centrifugo sends, and a broken frame must be an error, never a
//! panic or a large allocation.

use bytes::Bytes;
use duplex_hub::codes;
use duplex_hub::protocol::{
    decode_commands, decode_replies, encode_command, encode_reply, ClientInfo, Command,
    ConnectRequest, ConnectResult, DecodeError, Decoder, EncodeError, EncodedReply, Encoding,
    FrameWriter, HistoryRequest, HistoryResult, Join, PresenceResult, Publication, PublishRequest,
    PublishResult, Push, Reply, StreamPosition, SubscribeRequest, SubscribeResult,
};
use prost::Message as _;

fn json(reply: &Reply) -> String {
    let mut out = Vec::new();
    encode_reply(Encoding::Json, reply, &mut out).expect("encodes");
    String::from_utf8(out).expect("JSON is UTF-8")
}

fn pub_push(channel: &str, data: &'static str, offset: u64) -> Reply {
    Reply::push(Push {
        channel: channel.into(),
        r#pub: Some(Publication {
            data: Bytes::from_static(data.as_bytes()),
            offset,
            ..Default::default()
        }),
        ..Default::default()
    })
}

#[test]
fn server_ping_is_an_empty_object() {
    assert_eq!(json(&Reply::default()), "{}");
    let mut out = Vec::new();
    encode_reply(Encoding::Protobuf, &Reply::default(), &mut out).expect("encodes");
    assert_eq!(out, [0], "a zero-length message");
}

#[test]
fn connect_reply_leaves_out_zero_values() {
    let reply = Reply {
        id: 1,
        connect: Some(ConnectResult {
            client: "c1".into(),
            version: "0.1.0".into(),
            ping: 25,
            pong: true,
            ..Default::default()
        }),
        ..Default::default()
    };
    assert_eq!(
        json(&reply),
        r#"{"id":1,"connect":{"client":"c1","version":"0.1.0","ping":25,"pong":true}}"#
    );
}

#[test]
fn empty_result_is_still_present() {
    let reply = Reply {
        id: 3,
        publish: Some(PublishResult {}),
        ..Default::default()
    };
    assert_eq!(json(&reply), r#"{"id":3,"publish":{}}"#);
}

#[test]
fn publication_data_is_embedded_as_raw_json() {
    assert_eq!(
        json(&pub_push("news", r#"{"text":"hi","n":[1,2]}"#, 8)),
        r#"{"push":{"channel":"news","pub":{"data":{"text":"hi","n":[1,2]},"offset":8}}}"#
    );
}

#[test]
fn line_breaks_in_payload_json_are_dropped() {
    // Server API payloads may be pretty-printed; a raw newline would split an NDJSON frame.
    assert_eq!(
        json(&pub_push("n", "{\n  \"a\": \"x y\"\n}", 0)),
        r#"{"push":{"channel":"n","pub":{"data":{  "a": "x y"}}}}"#
    );
}

#[test]
fn binary_data_cannot_go_to_a_json_connection() {
    let reply = pub_push("n", "\u{1}not json", 0);
    let mut out = b"{}".to_vec();
    let err = encode_reply(Encoding::Json, &reply, &mut out).expect_err("not JSON");
    assert_eq!(err, EncodeError::NotJson { field: "data" });
    assert_eq!(err.disconnect(), codes::Disconnect::INAPPROPRIATE_PROTOCOL);
    assert_eq!(out, b"{}", "the frame is left as it was");
    // Protobuf carries any bytes.
    assert!(EncodedReply::new(Encoding::Protobuf, &reply).is_ok());
}

#[test]
fn error_reply_comes_from_the_codes_table() {
    assert_eq!(
        json(&Reply::error(4, codes::Error::PERMISSION_DENIED)),
        r#"{"id":4,"error":{"code":103,"message":"permission denied"}}"#
    );
    assert_eq!(
        json(&Reply::error(5, codes::Error::TOO_MANY_REQUESTS)),
        r#"{"id":5,"error":{"code":111,"message":"too many requests","temporary":true}}"#
    );
}

#[test]
fn strings_are_escaped_and_maps_sorted() {
    let mut presence = PresenceResult::default();
    for (client, user) in [("b", "u\"2"), ("a", "u1")] {
        presence.presence.insert(
            client.into(),
            ClientInfo {
                user: user.into(),
                client: client.into(),
                conn_info: Bytes::from_static(b"{\"name\":\"Ann\"}"),
                ..Default::default()
            },
        );
    }
    let reply = Reply {
        id: 9,
        presence: Some(presence),
        ..Default::default()
    };
    assert_eq!(
        json(&reply),
        r#"{"id":9,"presence":{"presence":{"a":{"user":"u1","client":"a","conn_info":{"name":"Ann"}},"b":{"user":"u\"2","client":"b","conn_info":{"name":"Ann"}}}}}"#
    );
}

#[test]
fn decodes_what_centrifuge_js_sends() {
    let frame = concat!(
        r#"{"id":1,"connect":{"token":"x","name":"js"}}"#,
        "\n",
        r#"{"id":2,"subscribe":{"channel":"news","recover":true,"offset":5,"epoch":"abc"}}"#,
        "\n",
        r#"{"id":3,"subscribe":{"channel":"chat","flag":1,"join_leave":true,"delta":"fossil"}}"#,
        "\n",
        r#"{"id":4,"publish":{"channel":"chat","data":{"text":"hi"}}}"#,
        "\n",
        r#"{"id":5,"history":{"channel":"chat","limit":10,"since":{"offset":3,"epoch":"e"},"reverse":true}}"#,
        "\n",
        "{}",
        "\n",
    );
    let commands = decode_commands(Encoding::Json, frame.as_bytes()).expect("decodes");
    assert_eq!(commands.len(), 6);
    assert_eq!(
        commands[0],
        Command {
            id: 1,
            connect: Some(ConnectRequest {
                token: "x".into(),
                name: "js".into(),
                ..Default::default()
            }),
            ..Default::default()
        }
    );
    assert_eq!(
        commands[1].subscribe,
        Some(SubscribeRequest {
            channel: "news".into(),
            recover: true,
            offset: 5,
            epoch: "abc".into(),
            ..Default::default()
        })
    );
    let sub = commands[2].subscribe.as_ref().expect("subscribe");
    assert_eq!(
        (sub.flag, sub.join_leave, sub.delta.as_str()),
        (1, true, "fossil")
    );
    assert_eq!(
        commands[3].publish,
        Some(PublishRequest {
            channel: "chat".into(),
            data: Bytes::from_static(br#"{"text":"hi"}"#),
        })
    );
    assert_eq!(
        commands[4].history,
        Some(HistoryRequest {
            channel: "chat".into(),
            limit: 10,
            since: Some(StreamPosition {
                offset: 3,
                epoch: "e".into()
            }),
            reverse: true,
        })
    );
    assert_eq!(commands[5], Command::default(), "the pong");
}

#[test]
fn json_decoding_is_lenient_where_clients_differ() {
    let frame = br#"{"id":1,"subscribe":{"channel":"a","offset":"18446744073709551615","epoch":null,"unknown":[1,{}]},"future":true}"#;
    let commands = decode_commands(Encoding::Json, frame).expect("decodes");
    let sub = commands[0].subscribe.as_ref().expect("subscribe");
    assert_eq!(sub.offset, u64::MAX);
    assert_eq!(sub.epoch, "");
    // Blank lines and CRLF are skipped.
    let frame = b"\r\n{\"id\":1}\r\n\r\n{\"id\":2}\r\n";
    let ids: Vec<u32> = decode_commands(Encoding::Json, frame)
        .expect("decodes")
        .iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(ids, [1, 2]);
}

#[test]
fn malformed_json_frames_are_errors() {
    let cases: &[&[u8]] = &[
        b"",
        b"\n\n",
        b"[1,2]",
        b"\"connect\"",
        b"{\"id\":1",
        b"{\"id\":1}{\"id\":2}",
        b"{\"id\":-1}",
        b"{\"id\":1,\"id\":2}",
        b"{\"id\":1,\"connect\":[\"token\"]}x",
        b"{\"id\":1,\"subscribe\":{\"offset\":\"nope\"}}",
        b"{\"id\":1}\n{\"id\":2,\"publish\":{\"data\":}}",
        b"\xff\xfe",
    ];
    for &frame in cases {
        let err = decode_commands(Encoding::Json, frame).expect_err("malformed");
        assert_eq!(err.disconnect(), codes::Disconnect::BAD_REQUEST, "{err}");
    }
    let err = decode_commands(Encoding::Json, b"{\"id\":1}\n[]").expect_err("array");
    assert!(
        matches!(err, DecodeError::NotAnObject { index: 1 }),
        "{err:?}"
    );
}

#[test]
fn protobuf_frames_round_trip_several_commands() {
    let commands = [
        Command {
            id: 1,
            connect: Some(ConnectRequest {
                token: "t".into(),
                data: Bytes::from_static(&[0, 159, 146, 150]),
                ..Default::default()
            }),
            ..Default::default()
        },
        Command::default(),
        Command {
            id: 300,
            subscribe: Some(SubscribeRequest {
                channel: "news".into(),
                recover: true,
                offset: u64::MAX,
                epoch: "abc".into(),
                flag: -1,
                ..Default::default()
            }),
            ..Default::default()
        },
    ];
    // Encoded independently with prost's own length-delimited form.
    let mut frame = Vec::new();
    for command in &commands {
        command
            .encode_length_delimited(&mut frame)
            .expect("vec grows");
    }
    assert_eq!(
        decode_commands(Encoding::Protobuf, &frame).expect("decodes"),
        commands
    );

    // And with ours.
    let mut ours = Vec::new();
    for command in &commands {
        encode_command(Encoding::Protobuf, command, &mut ours).expect("encodes");
    }
    assert_eq!(ours, frame);
}

#[test]
fn truncated_or_malformed_protobuf_frames_are_errors() {
    let command = Command {
        id: 7,
        publish: Some(PublishRequest {
            channel: "c".into(),
            data: Bytes::from_static(b"payload"),
        }),
        ..Default::default()
    };
    let frame = command.encode_length_delimited_to_vec();
    for cut in 1..frame.len() {
        let err = decode_commands(Encoding::Protobuf, &frame[..cut]).expect_err("truncated");
        assert_eq!(err.disconnect(), codes::Disconnect::BAD_REQUEST);
    }
    // A length of 2^63 must not be trusted, let alone allocated.
    let huge = [
        0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 1, 2,
    ];
    assert!(matches!(
        decode_commands(Encoding::Protobuf, &huge),
        Err(DecodeError::Truncated {
            index: 0,
            remaining: 2,
            ..
        })
    ));
    // An unterminated varint.
    assert!(matches!(
        decode_commands(Encoding::Protobuf, &[0xff; 11]),
        Err(DecodeError::BadLength { index: 0 })
    ));
    // A well-framed message with a bad wire type inside.
    assert!(matches!(
        decode_commands(Encoding::Protobuf, &[2, 0x0f, 0]),
        Err(DecodeError::Protobuf { index: 0, .. })
    ));
    assert!(matches!(
        decode_commands(Encoding::Protobuf, b""),
        Err(DecodeError::Empty)
    ));
}

#[test]
fn a_session_can_stop_at_its_command_limit() {
    // A hostile frame of many empty commands: the decoder yields them one by one.
    let frame = vec![0u8; 100_000];
    let mut decoder = Decoder::<Command>::new(Encoding::Protobuf, &frame);
    let first: Vec<_> = decoder.by_ref().take(3).collect();
    assert_eq!(first.len(), 3);
    assert!(decoder.next().is_some(), "more remain; the caller decides");
}

#[test]
fn frames_batch_replies_in_both_encodings() {
    let replies = [
        Reply {
            id: 2,
            subscribe: Some(SubscribeResult {
                recoverable: true,
                epoch: "abc".into(),
                offset: 9,
                positioned: true,
                recovered: true,
                was_recovering: true,
                publications: vec![Publication {
                    data: Bytes::from_static(b"1"),
                    offset: 9,
                    ..Default::default()
                }],
                ..Default::default()
            }),
            ..Default::default()
        },
        pub_push("news", r#""hello""#, 10),
        Reply::push(Push {
            channel: "news".into(),
            join: Some(Join {
                info: Some(ClientInfo {
                    user: "42".into(),
                    client: "c".into(),
                    ..Default::default()
                }),
            }),
            ..Default::default()
        }),
        Reply {
            id: 5,
            history: Some(HistoryResult {
                epoch: "abc".into(),
                offset: 10,
                ..Default::default()
            }),
            ..Default::default()
        },
        Reply::default(),
    ];
    for encoding in [Encoding::Json, Encoding::Protobuf] {
        let shared = EncodedReply::new(encoding, &replies[1]).expect("encodes");
        let mut frame = FrameWriter::new(encoding);
        frame.push(&replies[0]).expect("encodes");
        frame.push_encoded(&shared).expect("same encoding");
        for reply in &replies[2..] {
            frame.push(reply).expect("encodes");
        }
        assert_eq!(frame.count(), replies.len());
        let bytes = frame.finish();
        assert_eq!(
            decode_replies(encoding, &bytes).expect("decodes"),
            replies,
            "{encoding:?}"
        );
    }
    let json_frame = {
        let mut frame = FrameWriter::new(Encoding::Json);
        for reply in &replies[1..] {
            frame.push(reply).expect("encodes");
        }
        String::from_utf8(frame.finish()).expect("UTF-8")
    };
    assert_eq!(
        json_frame,
        concat!(
            r#"{"push":{"channel":"news","pub":{"data":"hello","offset":10}}}"#,
            "\n",
            r#"{"push":{"channel":"news","join":{"info":{"user":"42","client":"c"}}}}"#,
            "\n",
            r#"{"id":5,"history":{"epoch":"abc","offset":10}}"#,
            "\n",
            "{}"
        )
    );
}

#[test]
fn an_encoded_reply_only_goes_into_frames_of_its_encoding() {
    let encoded = EncodedReply::new(Encoding::Protobuf, &Reply::default()).expect("encodes");
    let mut frame = FrameWriter::new(Encoding::Json);
    assert!(matches!(
        frame.push_encoded(&encoded),
        Err(EncodeError::EncodingMismatch { .. })
    ));
    assert!(frame.is_empty());
}

#[test]
fn disconnect_and_unsubscribe_pushes_come_from_the_codes_table() {
    let reply = Reply::push(Push {
        channel: "news".into(),
        unsubscribe: Some(codes::Unsubscribe::SERVER.into()),
        ..Default::default()
    });
    assert_eq!(
        json(&reply),
        r#"{"push":{"channel":"news","unsubscribe":{"code":2000,"reason":"server unsubscribe"}}}"#
    );
    let reply = Reply::push(Push {
        disconnect: Some(codes::Disconnect::SHUTDOWN.into()),
        ..Default::default()
    });
    assert_eq!(
        json(&reply),
        r#"{"push":{"disconnect":{"code":3001,"reason":"shutdown","reconnect":true}}}"#
    );
}
