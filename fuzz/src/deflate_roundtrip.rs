//! `deflate_roundtrip`: messages through a client/server pair with permessage-deflate on.
//!
//! Input: `mode`, `client`, `server` control bytes, one chunking byte, then the data, which
//! the chunking byte cuts into messages (at most [`MAX_MESSAGES`]). Each message goes one way
//! (bit 0 of `mode`, then alternating per message when bit 1 is set) as text when it is UTF-8
//! and bit 2 is clear, else as binary, and must arrive exactly as sent, with nothing else.
//! Bit 6 sends an empty message after each one (chunks are never empty).
//!
//! The agreement comes from the real negotiation when bit 3 is clear: the client offers per its
//! [`DeflateConfig`], the server answers with `accept_offers`, the client checks the answer
//! with `check_answer`, and each side enables what *it* concluded. That tests that the two
//! conclusions are compatible, not just that one agreement round-trips. With bit 3 set, both
//! sides get the same raw [`DeflateParams`] from the `client` byte (8-bit windows included).

use bytes::{Buf, BytesMut};
use duplex_proto::{Config, Connection, DeflateConfig, DeflateParams, Event, Message, Role};

use crate::input::{Chunks, Input};

/// More messages add little: context takeover shows up from the second message on.
pub const MAX_MESSAGES: usize = 16;

/// A [`DeflateConfig`] from one control byte: bits 0-2 our window (9 + n, capped at 15),
/// bits 3-5 the peer's, bit 6 no context takeover of our own, bit 7 asking the peer for none;
/// level and threshold come from `mode`.
fn config(byte: u8, mode: u8) -> DeflateConfig {
    DeflateConfig::default()
        .max_window_bits(9 + (byte & 7))
        .peer_max_window_bits(9 + ((byte >> 3) & 7))
        .no_context_takeover(byte & 0x40 != 0)
        .peer_no_context_takeover(byte & 0x80 != 0)
        .level(((mode >> 4) % 10) as u32)
        .threshold(if mode & 0x80 != 0 { 16 } else { 0 })
}

/// The target.
pub fn run(data: &[u8]) {
    let mut input = Input::new(data);
    let (mode, client_byte, server_byte, chunking) =
        (input.byte(), input.byte(), input.byte(), input.byte());
    let payload = input.rest();
    let client_config = config(client_byte, mode);
    let server_config = config(server_byte, mode);

    let (client_params, server_params) = if mode & 0x08 == 0 {
        let offer = client_config.client_offer();
        let (server_params, answer) = server_config
            .accept_offers(std::slice::from_ref(&offer))
            .unwrap_or_else(|| panic!("our own offer {offer:?} was declined"));
        let client_params = client_config
            .check_answer(std::slice::from_ref(&answer))
            .unwrap_or_else(|e| panic!("our own answer {answer:?} to {offer:?}: {e}"))
            .expect("an answer that names permessage-deflate agrees to it");
        (client_params, server_params)
    } else {
        let params = DeflateParams {
            server_no_context_takeover: client_byte & 0x40 != 0,
            client_no_context_takeover: client_byte & 0x80 != 0,
            server_max_window_bits: 8 + (client_byte & 7),
            client_max_window_bits: 8 + ((client_byte >> 3) & 7),
        };
        (params, params)
    };

    let mut client = Connection::new(Role::Client, Config::default());
    let mut server = Connection::new(Role::Server, Config::default());
    client.enable_deflate(&client_params, &client_config);
    server.enable_deflate(&server_params, &server_config);

    let mut to_server = mode & 1 == 0;
    let empty_after_each = mode & 0x40 != 0;
    let pieces = Chunks::new(payload, chunking)
        .take(MAX_MESSAGES)
        .flat_map(|piece| [Some(piece), empty_after_each.then_some(&b""[..])])
        .flatten();
    for piece in pieces {
        let message = match std::str::from_utf8(piece) {
            Ok(text) if mode & 0x04 == 0 => Message::text(text.to_owned()),
            _ => Message::binary(piece.to_vec()),
        };
        let (sender, receiver) = if to_server {
            (&mut client, &mut server)
        } else {
            (&mut server, &mut client)
        };
        sender.send(message.clone()).expect("open");
        let out = sender.outgoing();
        let mut wire = BytesMut::from(&out.copy_to_bytes(out.remaining())[..]);
        let event = receiver
            .receive(&mut wire)
            .unwrap_or_else(|e| panic!("{e} receiving {message:?}"));
        assert_eq!(event, Some(Event::Message(message)));
        assert!(
            wire.is_empty(),
            "{} bytes left after one message",
            wire.len()
        );
        assert_eq!(
            receiver.outgoing_len(),
            0,
            "the receiver answered a message"
        );
        if mode & 0x02 != 0 {
            to_server = !to_server;
        }
    }
}
