//! Properties that must hold for every input, checked on generated ones.

use bytes::{Buf, BytesMut};
use duplex_proto::{Config, Connection, Event, FrameHeader, Message, OpCode, Role, Utf8Validator};
use proptest::prelude::*;

fn opcode() -> impl Strategy<Value = OpCode> {
    prop_oneof![
        Just(OpCode::Continuation),
        Just(OpCode::Text),
        Just(OpCode::Binary),
        Just(OpCode::Close),
        Just(OpCode::Ping),
        Just(OpCode::Pong),
    ]
}

proptest! {
    #[test]
    fn headers_round_trip(
        fin: bool, rsv1: bool, rsv2: bool, rsv3: bool,
        opcode in opcode(),
        mask: Option<[u8; 4]>,
        len in prop_oneof![0u64..=125, 126u64..=0xffff, 0x1_0000u64..(1 << 63)],
    ) {
        let header = FrameHeader { fin, rsv1, rsv2, rsv3, opcode, mask, payload_len: len };
        let mut wire = [0u8; 14];
        let n = header.encode(&mut wire);
        prop_assert_eq!(FrameHeader::decode(&wire[..n]).unwrap(), Some((header, n)));
        prop_assert_eq!(FrameHeader::decode(&wire[..n - 1]).unwrap(), None);
    }

    #[test]
    fn utf8_validation_agrees_with_std(bytes: Vec<u8>, cuts: Vec<prop::sample::Index>) {
        let mut points: Vec<usize> = cuts.iter().map(|i| i.index(bytes.len() + 1)).collect();
        points.sort_unstable();
        let mut validator = Utf8Validator::new();
        let mut ok = true;
        let mut start = 0;
        for end in points.into_iter().chain([bytes.len()]) {
            ok &= validator.feed(&bytes[start..end]).is_ok();
            start = end;
            if !ok { break; }
        }
        ok = ok && validator.finish().is_ok();
        prop_assert_eq!(ok, std::str::from_utf8(&bytes).is_ok());
    }

    #[test]
    fn valid_text_in_any_fragmentation_and_any_read_split_is_the_same_message(
        text in "\\PC{0,200}",
        frag_cuts: Vec<prop::sample::Index>,
        read_cut: prop::sample::Index,
    ) {
        let bytes = text.as_bytes();
        let mut points: Vec<usize> = frag_cuts.iter().map(|i| i.index(bytes.len() + 1)).collect();
        points.sort_unstable();
        points.dedup();
        // Build the message as the client would send it, one frame per piece.
        let mut client = Connection::new(Role::Client, Config::default());
        let mut start = 0;
        let ends: Vec<usize> = points.into_iter().filter(|&p| p > 0 && p < bytes.len()).chain([bytes.len()]).collect();
        for (i, &end) in ends.iter().enumerate() {
            client.send_fragment(true, i == 0, i + 1 == ends.len(), &bytes[start..end]).unwrap();
            start = end;
        }
        let out = client.outgoing();
        let wire = out.copy_to_bytes(out.remaining());
        let cut = read_cut.index(wire.len() + 1);

        let mut server = Connection::new(Role::Server, Config::default());
        let mut buf = BytesMut::from(&wire[..cut]);
        let mut events = Vec::new();
        while let Some(e) = server.receive(&mut buf).unwrap() { events.push(e); }
        buf.extend_from_slice(&wire[cut..]);
        while let Some(e) = server.receive(&mut buf).unwrap() { events.push(e); }
        prop_assert_eq!(events, vec![Event::Message(Message::text(text.clone()))]);
    }
}
