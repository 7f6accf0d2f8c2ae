//! What every publication of the hub benchmark carries, and how a subscriber finds it again in
//! whatever envelope the server wrapped it in.
//!
//! The data is a small JSON object, `{"k":CHANNEL,"q":SEQUENCE,"t":SENT_NS,"p":"xx…"}`, padded
//! to the asked size. Centrifugo embeds it as JSON, Pusher as a JSON string (so its quotes come
//! escaped), Socket.IO as an event argument, uWS as part of the published body. The subscriber
//! does not parse the envelope: it scans for the three keys in either form, which keeps the
//! loader cheaper per delivery than the servers it measures.

use std::fmt::Write as _;

/// One publication's identity and send time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    /// The channel's number (its name is the prefix and this number).
    pub channel: u32,
    /// Its place in the channel's stream, from 0.
    pub seq: u64,
    /// When the publish request was sent, in nanoseconds since the run's clock started.
    pub sent_ns: u64,
}

impl Stamp {
    /// The publication's data, padded with `x` to at least `size` bytes.
    ///
    /// ```ignore
    /// let data = Stamp { channel: 3, seq: 7, sent_ns: 42 }.data(40);
    /// assert_eq!(data, r#"{"k":3,"q":7,"t":42,"p":"xxxxxxxxxxxxxxxx"}"#);
    /// ```
    pub fn data(&self, size: usize) -> String {
        let mut data = String::with_capacity(size + 8);
        let _ = write!(
            data,
            "{{\"k\":{},\"q\":{},\"t\":{},\"p\":\"",
            self.channel, self.seq, self.sent_ns
        );
        let pad = size.saturating_sub(data.len() + 2);
        data.extend(std::iter::repeat_n('x', pad));
        data.push_str("\"}");
        data
    }
}

/// Appends every stamp in `text` to `out`, in the order they appear (a Centrifugo frame can
/// hold several publications, a recovery reply a whole list).
pub fn stamps_in(text: &str, out: &mut Vec<Stamp>) {
    let mut rest = text.as_bytes();
    while let Some((channel, after)) = number_after(rest, b'k') {
        let Some((seq, after)) = number_after(after, b'q') else {
            return;
        };
        let Some((sent_ns, after)) = number_after(after, b't') else {
            return;
        };
        out.push(Stamp {
            channel: u32::try_from(channel).unwrap_or(u32::MAX),
            seq,
            sent_ns,
        });
        rest = after;
    }
}

/// The number after the next `"KEY":` (or its escaped form `\"KEY\":`), and what follows it.
fn number_after(text: &[u8], key: u8) -> Option<(u64, &[u8])> {
    let mut from = 0;
    loop {
        let at = from + text[from..].windows(2).position(|w| w == [b'"', key])?;
        let mut i = at + 2;
        if text.get(i) == Some(&b'\\') {
            i += 1;
        }
        if text.get(i) == Some(&b'"') && text.get(i + 1) == Some(&b':') {
            i += 2;
            let digits = text[i..].iter().take_while(|b| b.is_ascii_digit()).count();
            if digits > 0 {
                let number = std::str::from_utf8(&text[i..i + digits])
                    .ok()?
                    .parse()
                    .ok()?;
                return Some((number, &text[i + digits..]));
            }
        }
        from = at + 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(text: &str) -> Vec<Stamp> {
        let mut out = Vec::new();
        stamps_in(text, &mut out);
        out
    }

    const STAMP: Stamp = Stamp {
        channel: 3,
        seq: 7,
        sent_ns: 42,
    };

    #[test]
    fn the_data_is_padded_json() {
        let data = STAMP.data(100);
        assert_eq!(data.len(), 100);
        let value: serde_json::Value = serde_json::from_str(&data).unwrap_or_default();
        assert_eq!(value["k"], 3);
        assert_eq!(value["q"], 7);
        assert_eq!(value["t"], 42);
        // Smaller than the stamp itself: no padding, still valid.
        assert_eq!(STAMP.data(0), r#"{"k":3,"q":7,"t":42,"p":""}"#);
    }

    #[test]
    fn stamps_are_found_in_every_envelope() {
        let data = STAMP.data(40);
        let centrifugo =
            format!(r#"{{"push":{{"channel":"fan:3","pub":{{"data":{data},"offset":8}}}}}}"#);
        let pusher =
            serde_json::json!({"event": "pub", "channel": "fan-3", "data": data}).to_string();
        let socketio = format!(r#"42["pub","fan-3",{data}]"#);
        let uws = format!(r#"{{"channel":"fan-3","data":{data}}}"#);
        for envelope in [centrifugo, pusher, socketio, uws] {
            assert_eq!(all(&envelope), [STAMP], "{envelope}");
        }
    }

    #[test]
    fn several_stamps_come_out_in_order() {
        let one = Stamp { seq: 8, ..STAMP };
        let two = Stamp { seq: 9, ..STAMP };
        let frame = format!(
            "{{\"push\":{{\"pub\":{{\"data\":{}}}}}}}\n{{}}\n{{\"push\":{{\"pub\":{{\"data\":{}}}}}}}",
            one.data(64),
            two.data(64)
        );
        assert_eq!(all(&frame), [one, two]);
        let reply = format!(
            r#"{{"id":2,"subscribe":{{"recovered":true,"publications":[{{"data":{},"offset":9}},{{"data":{},"offset":10}}]}}}}"#,
            one.data(10),
            two.data(10)
        );
        assert_eq!(all(&reply), [one, two]);
    }

    #[test]
    fn other_text_holds_no_stamp() {
        for text in [
            "{}",
            r#"{"id":1,"connect":{"client":"k","version":"q"}}"#,
            "2",
            r#"{"k":"x"}"#,
            r#""k":"#,
        ] {
            assert_eq!(all(text), [], "{text}");
        }
    }
}
