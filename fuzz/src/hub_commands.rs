//! `hub_commands`: duplex-hub's client-protocol frame decoders on arbitrary bytes, and the
//! encoders on whatever decodes.
//!
//! The whole input is one frame, decoded as commands and as replies, in JSON and in Protobuf.
//! Whatever decodes must encode again and decode back:
//! - through Protobuf, to exactly the same messages;
//! - through JSON, to exactly the same messages when they came from JSON; messages from
//!   Protobuf may carry payloads JSON cannot (then the encoder must say `NotJson`), or JSON
//!   payloads with whitespace the encoder normalizes, so for them the JSON bytes must be a
//!   fixed point: encoding what they decode to gives the same bytes again.
//!
//! Replies are decoded too although only clients decode them: the reply encoder is the hub's
//! hot path, and this is how it meets every field combination.

use duplex_hub::protocol::{
    encode_command, encode_reply, Command, DecodeError, Decoder, EncodeError, Encoding, Reply,
};

/// The target.
pub fn run(data: &[u8]) {
    for source in [Encoding::Json, Encoding::Protobuf] {
        if let Some(commands) = decode::<Command>(source, data) {
            round_trip(source, &commands, encode_command);
        }
        if let Some(replies) = decode::<Reply>(source, data) {
            round_trip(source, &replies, encode_reply);
        }
    }
}

type Encode<M> = fn(Encoding, &M, &mut Vec<u8>) -> Result<(), EncodeError>;

fn decode<M>(encoding: Encoding, frame: &[u8]) -> Option<Vec<M>>
where
    M: serde::de::DeserializeOwned + prost::Message + Default,
{
    let decoded: Result<Vec<M>, DecodeError> = Decoder::new(encoding, frame).collect();
    decoded.ok()
}

fn encode_all<M>(
    encoding: Encoding,
    messages: &[M],
    encode: Encode<M>,
) -> Result<Vec<u8>, EncodeError> {
    let mut frame = Vec::new();
    for message in messages {
        let before = frame.len();
        if let Err(err) = encode(encoding, message, &mut frame) {
            assert_eq!(
                frame.len(),
                before,
                "a failed encode must leave the frame as it was"
            );
            return Err(err);
        }
    }
    Ok(frame)
}

fn round_trip<M>(source: Encoding, messages: &[M], encode: Encode<M>)
where
    M: serde::de::DeserializeOwned + prost::Message + Default + PartialEq,
{
    let protobuf =
        encode_all(Encoding::Protobuf, messages, encode).expect("Protobuf carries anything");
    let back = decode::<M>(Encoding::Protobuf, &protobuf).expect("our Protobuf frame decodes");
    assert!(back == messages, "Protobuf round trip changed the messages");

    match encode_all(Encoding::Json, messages, encode) {
        Ok(json) => {
            assert!(
                std::str::from_utf8(&json).is_ok(),
                "JSON frames go in text messages"
            );
            let back = decode::<M>(Encoding::Json, &json).expect("our JSON frame decodes");
            assert_eq!(back.len(), messages.len(), "one line per message");
            if source == Encoding::Json {
                assert!(back == messages, "JSON round trip changed the messages");
            }
            let again = encode_all(Encoding::Json, &back, encode).expect("decoded JSON encodes");
            assert_eq!(again, json, "JSON encoding is not a fixed point");
        }
        Err(EncodeError::NotJson { .. }) => {
            assert_eq!(source, Encoding::Protobuf, "a payload from JSON is JSON");
        }
        Err(other) => panic!("unexpected encode error {other:?}"),
    }
}
