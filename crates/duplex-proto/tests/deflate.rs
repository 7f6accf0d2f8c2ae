//! permessage-deflate through the connection: compressed both ways, RSV1 rules, limits.

use bytes::{Buf, BytesMut};
use duplex_proto::{
    apply_mask, CloseCode, Config, Connection, DeflateConfig, DeflateParams, Event, FrameHeader,
    Message, OpCode, ProtocolError, Role,
};

fn pair(config: Config, deflate: DeflateConfig) -> (Connection, Connection) {
    let params = DeflateParams::default();
    let mut client = Connection::new(Role::Client, config);
    let mut server = Connection::new(Role::Server, config);
    client.enable_deflate(&params, &deflate);
    server.enable_deflate(&params, &deflate);
    (client, server)
}

fn wire(conn: &mut Connection) -> BytesMut {
    let out = conn.outgoing();
    BytesMut::from(&out.copy_to_bytes(out.remaining())[..])
}

fn frames(mut wire: BytesMut) -> Vec<FrameHeader> {
    let mut headers = Vec::new();
    while !wire.is_empty() {
        let (h, n) = FrameHeader::decode(&wire).unwrap().unwrap();
        wire.advance(n + h.payload_len as usize);
        headers.push(h);
    }
    headers
}

fn receive_all(conn: &mut Connection, mut buf: BytesMut) -> (Vec<Event>, Option<ProtocolError>) {
    let mut events = Vec::new();
    loop {
        match conn.receive(&mut buf) {
            Ok(Some(e)) => events.push(e),
            Ok(None) => return (events, None),
            Err(e) => return (events, Some(e)),
        }
    }
}

#[test]
fn messages_round_trip_compressed_both_ways() {
    for deflate in [DeflateConfig::default(), DeflateConfig::lean()] {
        let (mut client, mut server) = pair(Config::default(), deflate);
        let json = "{\"id\": 1, \"values\": [1, 2, 3], \"name\": \"sensor\"}".repeat(100);
        for _ in 0..3 {
            client.send_text(&json).unwrap();
            let bytes = wire(&mut client);
            let headers = frames(bytes.clone());
            assert!(headers[0].rsv1, "large text is compressed");
            assert!((headers[0].payload_len as usize) < json.len() / 5);
            let (events, err) = receive_all(&mut server, bytes);
            assert_eq!(
                (events, err),
                (vec![Event::Message(Message::text(json.clone()))], None)
            );

            server.send_binary(json.as_bytes()).unwrap();
            let (events, err) = receive_all(&mut client, wire(&mut server));
            assert_eq!(
                (events, err),
                (
                    vec![Event::Message(Message::binary(json.clone().into_bytes()))],
                    None
                )
            );
        }
    }
}

#[test]
fn small_messages_and_control_frames_are_not_compressed() {
    let (mut client, _) = pair(Config::default(), DeflateConfig::default().threshold(100));
    client.send_text("short").unwrap();
    client.ping(b"p").unwrap();
    let headers = frames(wire(&mut client));
    assert!(headers.iter().all(|h| !h.rsv1));
}

fn masked(first: u8, payload: &[u8]) -> Vec<u8> {
    let key = [9, 8, 7, 6];
    let mut out = vec![first, 0x80 | payload.len() as u8];
    out.extend_from_slice(&key);
    let mut body = payload.to_vec();
    apply_mask(&mut body, key);
    out.extend(body);
    out
}

#[test]
fn rsv1_is_only_valid_on_the_first_frame_of_a_data_message() {
    // "Hello" compressed with an empty dictionary, tail removed (RFC 7692 7.2.3.1).
    let hello = [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
    let (_, mut server) = pair(Config::default(), DeflateConfig::default());
    let (events, err) = receive_all(&mut server, BytesMut::from(&masked(0xc1, &hello)[..]));
    assert_eq!(
        (events, err),
        (vec![Event::Message(Message::text("Hello"))], None)
    );

    // Split over two frames: RSV1 on the first only.
    let (_, mut server) = pair(Config::default(), DeflateConfig::default());
    let mut split = masked(0x41, &hello[..3]);
    split.extend(masked(0x80, &hello[3..]));
    let (events, err) = receive_all(&mut server, BytesMut::from(&split[..]));
    assert_eq!(
        (events, err),
        (vec![Event::Message(Message::text("Hello"))], None)
    );

    for bad in [masked(0xc9, b""), {
        let mut v = masked(0x41, &hello[..3]);
        v.extend(masked(0xc0, &hello[3..]));
        v
    }] {
        let (_, mut server) = pair(Config::default(), DeflateConfig::default());
        let (_, err) = receive_all(&mut server, BytesMut::from(&bad[..]));
        assert_eq!(err, Some(ProtocolError::ReservedBits));
    }
    // Without deflate agreed, RSV1 is a protocol error.
    let mut plain = Connection::new(Role::Server, Config::default());
    let (_, err) = receive_all(&mut plain, BytesMut::from(&masked(0xc1, &hello)[..]));
    assert_eq!(err.map(|e| e.close_code()), Some(CloseCode::PROTOCOL_ERROR));
}

#[test]
fn a_deflate_bomb_fails_with_1009_without_inflating_it() {
    let limit = 1 << 20;
    let (mut client, _) = pair(Config::default(), DeflateConfig::default());
    // 64 MiB of zeros compresses to about 64 KiB: one frame under every frame limit.
    client.send_binary(&vec![0u8; 64 << 20]).unwrap();
    let bomb = wire(&mut client);
    assert!(bomb.len() < 128 * 1024, "bomb is {} bytes", bomb.len());
    let (_, mut server) = pair(
        Config::default().max_message_size(limit),
        DeflateConfig::default(),
    );
    let (events, err) = receive_all(&mut server, bomb);
    assert!(events.is_empty());
    let err = err.expect("the bomb must fail");
    assert!(
        matches!(err, ProtocolError::MessageTooBig { limit: l, .. } if l == limit),
        "{err}"
    );
    assert_eq!(err.close_code(), CloseCode::MESSAGE_TOO_BIG);
    let out = server.outgoing();
    let close = out.copy_to_bytes(out.remaining());
    assert_eq!(&close[2..4], &1009u16.to_be_bytes());
}

#[test]
fn corrupt_compressed_data_fails_with_1007() {
    let (_, mut server) = pair(Config::default(), DeflateConfig::default());
    let (_, err) = receive_all(
        &mut server,
        BytesMut::from(&masked(0xc2, &[0xff, 0xff, 0xff, 0xff])[..]),
    );
    assert_eq!(err, Some(ProtocolError::InvalidCompressedData));
}

#[test]
fn compressed_text_must_inflate_to_utf8() {
    let (mut client, mut server) = pair(Config::default(), DeflateConfig::default().threshold(0));
    // Compress invalid UTF-8 as "binary", then relabel the frame as text.
    client.send_binary(&[0xff; 200]).unwrap();
    let mut bytes = wire(&mut client);
    bytes[0] = (bytes[0] & 0xf0) | OpCode::Text.as_u8();
    let (_, err) = receive_all(&mut server, bytes);
    assert_eq!(err, Some(ProtocolError::InvalidUtf8));
}
