//! The frames of one fan-out: a publication (or a join, a leave) encoded at most once per
//! format and per payload form, whatever the number of subscribers.
//!
//! A subscriber that negotiated fossil deltas takes payloads in Centrifugo's delta shape, which
//! the SDKs decode before the application sees anything:
//!
//! - in Protobuf, `data` is the bytes: the whole payload (`delta: false`) or the fossil delta
//!   from the channel's previous publication (`delta: true`);
//! - in JSON, `data` is a JSON *string* in both cases — the payload's text, or the delta's text
//!   (a fossil delta of UTF-8 text is text) — because the SDK needs the exact bytes to apply the
//!   next delta to, and raw JSON is re-formatted on its way through a parser.
//!
//! A delta no shorter than the payload, or (for JSON) one that cuts a UTF-8 character in two,
//! is not sent: the whole payload goes instead, as Centrifugo does. The delta is computed once
//! per publication and shared by both formats.

use std::cell::OnceCell;

use bytes::Bytes;

use crate::delta::fossil_delta;
use crate::engine::{ClientInfo, Publication};
use crate::protocol::{self, json, Encoding};
use crate::session::{frame, Format};
use duplex::proto::PreparedFrame;

/// How a subscriber takes a publication's payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Form {
    /// As published (raw JSON on JSON connections): no delta negotiated.
    Plain,
    /// Delta negotiated, the whole payload (`delta: false`).
    Full,
    /// Delta negotiated, the fossil delta from the channel's previous payload, if worth it.
    Delta,
}

/// The frames of one push, built lazily: once per (format, form), only if someone needs it. A
/// Pusher subscriber takes one form only (Pusher has no deltas).
///
/// A payload that is not JSON cannot reach a JSON connection (its frame would not parse): such
/// a subscriber gets `None` and is closed with 3506 "inappropriate protocol" rather than
/// silently skipped.
pub(crate) struct Frames<'a> {
    build: &'a dyn Fn(Format, Form) -> Option<Bytes>,
    /// JSON's three forms, Protobuf's three, Pusher's one.
    built: [OnceCell<Option<PreparedFrame>>; 7],
}

impl<'a> Frames<'a> {
    /// Frames built by `build`, which is called at most once per (format, form).
    pub(crate) fn new(build: &'a dyn Fn(Format, Form) -> Option<Bytes>) -> Self {
        Frames {
            build,
            built: Default::default(),
        }
    }

    /// The frame for a subscriber with this format and form.
    pub(crate) fn get(&self, format: Format, form: Form) -> Option<&PreparedFrame> {
        let (slot, form, encoding) = match (format, form) {
            // In Protobuf a whole payload is the same bytes with or without deltas.
            (Format::Centrifugo(Encoding::Protobuf), Form::Full) => {
                (3, Form::Plain, Encoding::Protobuf)
            }
            (Format::Centrifugo(Encoding::Protobuf), form) => {
                (3 + form as usize, form, Encoding::Protobuf)
            }
            (Format::Centrifugo(Encoding::Json), form) => (form as usize, form, Encoding::Json),
            // Pusher's frames are JSON text.
            (Format::Pusher, _) => (6, Form::Plain, Encoding::Json),
        };
        self.built[slot]
            .get_or_init(|| (self.build)(format, form).map(|bytes| frame(encoding, bytes)))
            .as_ref()
    }
}

/// A publication's payload in every form a fan-out may need, the delta computed on first use.
pub(crate) struct Payloads<'a> {
    publication: &'a Publication,
    previous: Option<&'a Bytes>,
    delta: OnceCell<Option<Vec<u8>>>,
}

impl<'a> Payloads<'a> {
    /// The payloads of `publication`; `previous` is the channel's previous payload, if known.
    pub(crate) fn new(publication: &'a Publication, previous: Option<&'a Bytes>) -> Self {
        Payloads {
            publication,
            previous,
            delta: OnceCell::new(),
        }
    }

    /// The fossil delta from the previous payload, when there is one and it is shorter.
    fn delta(&self) -> Option<&[u8]> {
        self.delta
            .get_or_init(|| {
                let previous = self.previous?;
                let delta = fossil_delta(previous, &self.publication.data);
                (delta.len() < self.publication.data.len()).then_some(delta)
            })
            .as_deref()
    }

    /// The wire publication for `form` in `encoding`; `None` if the payload cannot be written
    /// in that encoding.
    pub(crate) fn publication(
        &self,
        encoding: Encoding,
        form: Form,
    ) -> Option<protocol::Publication> {
        let mut wire = protocol_publication(self.publication);
        if form == Form::Plain {
            return Some(wire);
        }
        if form == Form::Delta {
            if let Some(delta) = self.delta() {
                let data = match encoding {
                    Encoding::Protobuf => Some(Bytes::copy_from_slice(delta)),
                    // A JSON client must be able to read the payload itself too.
                    Encoding::Json if json::is_json(&self.publication.data) => {
                        std::str::from_utf8(delta).ok().map(json_string)
                    }
                    Encoding::Json => return None,
                };
                if let Some(data) = data {
                    wire.data = data;
                    wire.delta = true;
                    return Some(wire);
                }
            }
        }
        if encoding == Encoding::Json {
            wire.data = full_json_string(&self.publication.data)?;
        }
        Some(wire)
    }
}

/// A whole payload as a delta subscriber takes it (the recovered publications of a subscribe
/// reply): for JSON, the payload's text as a JSON string; for Protobuf, as it is.
pub(crate) fn full_for_delta(
    encoding: Encoding,
    publication: &Publication,
) -> protocol::Publication {
    let mut wire = protocol_publication(publication);
    if encoding == Encoding::Json {
        // A payload that is not JSON stays raw, and the reply's encoder refuses it as it would
        // without deltas.
        if let Some(data) = full_json_string(&publication.data) {
            wire.data = data;
        }
    }
    wire
}

fn full_json_string(data: &Bytes) -> Option<Bytes> {
    if !json::is_json(data) {
        return None;
    }
    std::str::from_utf8(data).ok().map(json_string)
}

fn json_string(text: &str) -> Bytes {
    let mut out = Vec::with_capacity(text.len() + 16);
    json::write_str(&mut out, text);
    Bytes::from(out)
}

/// The engine's client info in the wire's shape.
pub(crate) fn protocol_info(info: &ClientInfo) -> protocol::ClientInfo {
    protocol::ClientInfo {
        user: info.user.clone(),
        client: info.client.clone(),
        conn_info: info.conn_info.clone().unwrap_or_default(),
        chan_info: info.chan_info.clone().unwrap_or_default(),
    }
}

/// The engine's publication in the wire's shape.
pub(crate) fn protocol_publication(publication: &Publication) -> protocol::Publication {
    protocol::Publication {
        data: publication.data.clone(),
        info: publication.info.as_ref().map(protocol_info),
        offset: publication.offset,
        tags: publication
            .tags
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        ..Default::default()
    }
}

/// One push, encoded as a whole frame of its own; `None` if its payload cannot be written in
/// this encoding (binary data to a JSON connection).
pub(crate) fn encode_push(encoding: Encoding, push: protocol::Push) -> Option<Bytes> {
    let reply = protocol::Reply {
        push: Some(push),
        ..Default::default()
    };
    let mut out = Vec::with_capacity(64);
    protocol::encode_reply(encoding, &reply, &mut out).ok()?;
    Some(Bytes::from(out))
}

/// The frame of a publication push.
pub(crate) fn publication_push(
    encoding: Encoding,
    channel: &str,
    publication: protocol::Publication,
) -> Option<Bytes> {
    encode_push(
        encoding,
        protocol::Push {
            channel: channel.to_owned(),
            r#pub: Some(publication),
            ..Default::default()
        },
    )
}
