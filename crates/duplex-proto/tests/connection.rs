//! The connection state machine, driven with byte slices: what a peer sends, what we answer.

use bytes::{Buf, Bytes, BytesMut};
use duplex_proto::{
    apply_mask, CloseCode, CloseFrame, CloseState, Config, Connection, Event, FrameHeader, Message,
    OpCode, ProtocolError, Role, SendError,
};

const KEY: [u8; 4] = [0x11, 0x22, 0x33, 0x44];

/// One frame as a client would send it (masked), with full control over every bit.
fn client_frame(fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
    raw_frame(fin, opcode, payload, Some(KEY))
}

fn raw_frame(fin: bool, opcode: u8, payload: &[u8], mask: Option<[u8; 4]>) -> Vec<u8> {
    let mut out = vec![(fin as u8) << 7 | opcode];
    let mask_bit = if mask.is_some() { 0x80 } else { 0 };
    match payload.len() {
        n @ 0..=125 => out.push(mask_bit | n as u8),
        n @ 126..=0xffff => {
            out.push(mask_bit | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(mask_bit | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    let mut body = payload.to_vec();
    if let Some(key) = mask {
        out.extend_from_slice(&key);
        apply_mask(&mut body, key);
    }
    out.extend_from_slice(&body);
    out
}

fn server() -> Connection {
    Connection::new(Role::Server, Config::default())
}

/// Feeds `wire` to `conn` and collects events until it needs more bytes or fails.
fn feed(conn: &mut Connection, wire: &[u8]) -> (Vec<Event>, Option<ProtocolError>) {
    let mut buf = BytesMut::from(wire);
    let mut events = Vec::new();
    loop {
        match conn.receive(&mut buf) {
            Ok(Some(event)) => events.push(event),
            Ok(None) => return (events, None),
            Err(e) => return (events, Some(e)),
        }
    }
}

/// Decodes every frame `conn` wants to send (server frames are unmasked).
fn sent_frames(conn: &mut Connection) -> Vec<(FrameHeader, Bytes)> {
    let out = conn.outgoing();
    let mut wire = out.copy_to_bytes(out.remaining());
    let mut frames = Vec::new();
    while !wire.is_empty() {
        let (header, n) = FrameHeader::decode(&wire).unwrap().unwrap();
        wire.advance(n);
        let mut payload = wire.split_to(header.payload_len as usize).to_vec();
        if let Some(key) = header.mask {
            apply_mask(&mut payload, key);
        }
        frames.push((header, payload.into()));
    }
    frames
}

/// The close code the connection sent, if it sent a close frame.
fn sent_close_code(conn: &mut Connection) -> Option<u16> {
    sent_frames(conn)
        .into_iter()
        .find(|(h, _)| h.opcode == OpCode::Close)
        .map(|(_, p)| u16::from_be_bytes([p[0], p[1]]))
}

fn fails_with(wire: &[u8], config: Config, expected_code: CloseCode) -> ProtocolError {
    let mut conn = Connection::new(Role::Server, config);
    let (_, err) = feed(&mut conn, wire);
    let err = err.unwrap_or_else(|| panic!("{wire:x?} should fail"));
    assert_eq!(err.close_code(), expected_code, "{err}");
    assert_eq!(sent_close_code(&mut conn), Some(expected_code.0), "{err}");
    assert!(!conn.can_send());
    err
}

#[test]
fn a_message_that_arrives_in_one_frame_is_not_copied() {
    let mut conn = server();
    let mut buf = BytesMut::from(&client_frame(true, 2, &[7; 1000])[..]);
    let start = buf.as_ptr() as usize;
    let Some(Event::Message(Message::Binary(data))) = conn.receive(&mut buf).unwrap() else {
        panic!("expected a binary message")
    };
    assert_eq!(&data[..], &[7; 1000][..]);
    // The payload is a slice of the read buffer, right after the 8-byte header.
    assert_eq!(data.as_ptr() as usize, start + 8);
}

#[test]
fn fragments_and_interleaved_control_frames() {
    let mut conn = server();
    let mut wire = client_frame(false, 1, "héllo ".as_bytes());
    wire.extend(client_frame(true, 9, b"ping!"));
    wire.extend(client_frame(false, 0, &"wörld".as_bytes()[..2]));
    wire.extend(client_frame(true, 0, &"wörld".as_bytes()[2..]));
    let (events, err) = feed(&mut conn, &wire);
    assert_eq!(err, None);
    assert_eq!(
        events,
        [
            Event::Ping(Bytes::from_static(b"ping!")),
            Event::Message(Message::text("héllo wörld")),
        ]
    );
    let sent = sent_frames(&mut conn);
    assert_eq!(sent.len(), 1);
    assert_eq!(
        (sent[0].0.opcode, &sent[0].1[..]),
        (OpCode::Pong, &b"ping!"[..])
    );
}

#[test]
fn every_byte_split_of_the_input_gives_the_same_events() {
    let mut wire = client_frame(false, 1, "κόσμε ".as_bytes());
    wire.extend(client_frame(true, 0, "𝄞".as_bytes()));
    wire.extend(client_frame(true, 2, &[1; 300]));
    let expected = feed(&mut server(), &wire).0;
    assert_eq!(expected.len(), 2);
    for cut in 0..wire.len() {
        let mut conn = server();
        let mut buf = BytesMut::from(&wire[..cut]);
        let mut events = Vec::new();
        while let Some(e) = conn.receive(&mut buf).unwrap() {
            events.push(e);
        }
        buf.extend_from_slice(&wire[cut..]);
        while let Some(e) = conn.receive(&mut buf).unwrap() {
            events.push(e);
        }
        assert_eq!(events, expected, "cut at {cut}");
    }
}

#[test]
fn violations_fail_with_1002() {
    let d = Config::default();
    let e = fails_with(
        &raw_frame(true, 1, b"hi", None),
        d,
        CloseCode::PROTOCOL_ERROR,
    );
    assert_eq!(e, ProtocolError::UnmaskedFrame);
    for op in [3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf] {
        fails_with(&client_frame(true, op, b""), d, CloseCode::PROTOCOL_ERROR);
    }
    let mut rsv = client_frame(true, 1, b"x");
    for bit in [0x40, 0x20, 0x10] {
        rsv[0] = 0x81 | bit;
        let e = fails_with(&rsv, d, CloseCode::PROTOCOL_ERROR);
        assert_eq!(e, ProtocolError::ReservedBits);
    }
    let e = fails_with(
        &client_frame(true, 9, &[0; 126]),
        d,
        CloseCode::PROTOCOL_ERROR,
    );
    assert_eq!(e, ProtocolError::ControlFrameTooBig);
    let e = fails_with(&client_frame(false, 9, b""), d, CloseCode::PROTOCOL_ERROR);
    assert_eq!(e, ProtocolError::FragmentedControlFrame);
    let e = fails_with(&client_frame(true, 0, b"x"), d, CloseCode::PROTOCOL_ERROR);
    assert_eq!(e, ProtocolError::UnexpectedContinuation);
    let mut nested = client_frame(false, 1, b"a");
    nested.extend(client_frame(true, 2, b"b"));
    let e = fails_with(&nested, d, CloseCode::PROTOCOL_ERROR);
    assert_eq!(e, ProtocolError::ExpectedContinuation);
    let e = fails_with(&client_frame(true, 8, &[3]), d, CloseCode::PROTOCOL_ERROR);
    assert_eq!(e, ProtocolError::InvalidClosePayload);
    for code in [0u16, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000] {
        let e = fails_with(
            &client_frame(true, 8, &code.to_be_bytes()),
            d,
            CloseCode::PROTOCOL_ERROR,
        );
        assert_eq!(e, ProtocolError::InvalidCloseCode(code));
    }
}

#[test]
fn a_client_rejects_masked_frames_from_the_server() {
    let mut client = Connection::new(Role::Client, Config::default());
    let (_, err) = feed(&mut client, &client_frame(true, 1, b"hi"));
    assert_eq!(err, Some(ProtocolError::MaskedFrame));
    let (events, err) = feed(
        &mut Connection::new(Role::Client, Config::default()),
        &raw_frame(true, 1, b"hi", None),
    );
    assert_eq!(
        (events, err),
        (vec![Event::Message(Message::text("hi"))], None)
    );
}

#[test]
fn invalid_utf8_fails_with_1007_before_the_frame_is_complete() {
    let d = Config::default();
    fails_with(
        &client_frame(true, 1, &[0xff]),
        d,
        CloseCode::INVALID_PAYLOAD,
    );
    // Close reason that is not UTF-8.
    fails_with(
        &client_frame(true, 8, &[0x03, 0xe8, 0xc0]),
        d,
        CloseCode::INVALID_PAYLOAD,
    );
    // A fragmented message ending mid code point.
    let mut wire = client_frame(false, 1, &[0xe2, 0x82]);
    wire.extend(client_frame(true, 0, b""));
    fails_with(&wire, d, CloseCode::INVALID_PAYLOAD);

    // Only the first half of a 1000-byte frame has arrived, and it already holds 0xF4 0x90.
    let mut payload = vec![b'a'; 1000];
    payload[10] = 0xf4;
    payload[11] = 0x90;
    let wire = client_frame(true, 1, &payload);
    let mut conn = server();
    let (_, err) = feed(&mut conn, &wire[..500]);
    assert_eq!(err, Some(ProtocolError::InvalidUtf8));
}

#[test]
fn limits_fail_with_1009_from_the_header_alone() {
    let small = Config::default().max_message_size(1000);
    // Only the header of a too-big frame: no payload needed to refuse it.
    let wire = client_frame(true, 2, &[0; 1001]);
    let e = fails_with(&wire[..8], small, CloseCode::MESSAGE_TOO_BIG);
    assert!(matches!(
        e,
        ProtocolError::FrameTooBig {
            size: 1001,
            limit: 1000
        }
    ));
    // Fragments that add up past the limit.
    let mut wire = client_frame(false, 2, &[0; 600]);
    wire.extend(client_frame(true, 0, &[0; 600]));
    let e = fails_with(&wire, small, CloseCode::MESSAGE_TOO_BIG);
    assert!(matches!(
        e,
        ProtocolError::MessageTooBig {
            size: 1200,
            limit: 1000
        }
    ));
    // Exactly at the limit is fine.
    let (events, err) = feed(
        &mut Connection::new(Role::Server, small),
        &client_frame(true, 2, &[0; 1000]),
    );
    assert_eq!((events.len(), err), (1, None));
}

#[test]
fn after_a_failure_input_is_drained_until_the_peer_closes() {
    let mut conn = server();
    let mut wire = raw_frame(true, 1, b"unmasked", None);
    wire.extend(client_frame(true, 1, b"ignored"));
    let (_, err) = feed(&mut conn, &wire);
    assert_eq!(err, Some(ProtocolError::UnmaskedFrame));
    assert!(
        !conn.is_receive_done(),
        "still waiting for the peer's close"
    );
    let (events, err) = feed(&mut conn, &client_frame(true, 8, &1002u16.to_be_bytes()));
    assert_eq!((events, err), (vec![], None));
    assert!(conn.is_receive_done());
    assert_eq!(conn.close_state(), CloseState::Closed);
}

#[test]
fn an_invalid_close_frame_still_ends_the_peers_side() {
    // Autobahn 7.3.6: a close frame too long to be valid. The peer sends nothing after it, so
    // waiting for another close would only delay the teardown.
    let mut conn = server();
    let (_, err) = feed(&mut conn, &client_frame(true, 8, &[0x03; 126]));
    assert_eq!(err, Some(ProtocolError::ControlFrameTooBig));
    assert!(conn.is_receive_done());
    assert_eq!(sent_close_code(&mut conn), Some(1002));
}

#[test]
fn the_close_handshake_initiated_by_the_peer() {
    let mut conn = server();
    let (events, _) = feed(
        &mut conn,
        &client_frame(true, 8, &[&4000u16.to_be_bytes()[..], b"bye"].concat()),
    );
    assert_eq!(events, [Event::Close(Some(CloseFrame::new(4000, "bye")))]);
    let sent = sent_frames(&mut conn);
    assert_eq!(
        (sent[0].0.opcode, &sent[0].1[..]),
        (OpCode::Close, &b"\x0f\xa0bye"[..])
    );
    assert_eq!(conn.close_state(), CloseState::Closed);
    assert_eq!(conn.send_text("late"), Err(SendError::Closed));
    // Anything after the close is ignored.
    let (events, err) = feed(&mut conn, &client_frame(true, 1, b"after"));
    assert_eq!((events, err), (vec![], None));
}

#[test]
fn the_close_handshake_initiated_by_us() {
    let mut conn = server();
    conn.close(Some(CloseFrame::new(CloseCode::GOING_AWAY, "restart")))
        .unwrap();
    assert_eq!(conn.close_state(), CloseState::CloseSent);
    assert_eq!(conn.send_binary(b"x"), Err(SendError::Closed));
    assert_eq!(conn.ping(b""), Err(SendError::Closed));
    // The peer may still send data before its close; we still deliver it, but no pong.
    let mut wire = client_frame(true, 1, b"in flight");
    wire.extend(client_frame(true, 9, b""));
    wire.extend(client_frame(true, 8, &1001u16.to_be_bytes()));
    let (events, _) = feed(&mut conn, &wire);
    assert_eq!(events.len(), 3);
    let sent = sent_frames(&mut conn);
    assert_eq!(sent.len(), 1, "only our close, no pong and no second close");
    assert_eq!(conn.close_state(), CloseState::Closed);
}

#[test]
fn an_empty_close_is_answered_with_an_empty_close() {
    let mut conn = server();
    let (events, _) = feed(&mut conn, &client_frame(true, 8, b""));
    assert_eq!(events, [Event::Close(None)]);
    let sent = sent_frames(&mut conn);
    assert_eq!((sent[0].0.opcode, sent[0].1.len()), (OpCode::Close, 0));
}

#[test]
fn local_misuse_is_refused() {
    let mut conn = server();
    assert_eq!(
        conn.ping(&[0; 126]),
        Err(SendError::ControlPayloadTooBig(126))
    );
    assert_eq!(
        conn.close(Some(CloseFrame::new(1006, ""))),
        Err(SendError::InvalidCloseCode(1006))
    );
    assert!(conn.can_send(), "a refused close sends nothing");
}

#[test]
fn clients_mask_with_a_fresh_key_per_frame() {
    let mut client = Connection::new(Role::Client, Config::default());
    client.send_text("same").unwrap();
    client.send_text("same").unwrap();
    let frames = sent_frames(&mut client);
    assert!(frames
        .iter()
        .all(|(h, p)| h.mask.is_some() && &p[..] == b"same"));
    assert_ne!(frames[0].0.mask, frames[1].0.mask);
}

#[test]
fn auto_pong_can_be_turned_off() {
    let mut conn = Connection::new(Role::Server, Config::default().auto_pong(false));
    let (events, _) = feed(&mut conn, &client_frame(true, 9, b"x"));
    assert_eq!(events, [Event::Ping(Bytes::from_static(b"x"))]);
    assert!(sent_frames(&mut conn).is_empty());
}

#[test]
fn a_large_server_payload_is_queued_without_a_copy() {
    let mut conn = server();
    let payload = Bytes::from(vec![5u8; 100_000]);
    conn.send(Message::Binary(payload.clone())).unwrap();
    let out = conn.outgoing();
    assert_eq!(out.remaining(), 10 + 100_000);
    out.advance(10); // the 10-byte header (64-bit length form)
    assert_eq!(out.chunk().as_ptr(), payload.as_ptr());
}
