//! Centrifugo's JSON form of the protocol messages, written by hand on the encode side.
//!
//! Encoding is the hot path (one publication is encoded once per channel and format, then
//! copied to every subscriber), and Centrifugo's JSON has rules serde would need a wrapper per
//! field for: payload `bytes` fields are embedded as raw JSON text, not base64; zero values
//! are left out, so a server ping is exactly `{}`; fields come in proto field order. So every
//! message implements [`WriteJson`] over an [`Object`] writer that appends to the frame's
//! buffer directly — no intermediate value, no allocation beyond the buffer's growth.
//!
//! Decoding goes through serde (derived on the message types) with the helpers at the end of
//! this file: raw JSON kept as the bytes, 64-bit integers as numbers or strings, and `null`
//! taken as the zero value.

use std::collections::BTreeMap;

use bytes::Bytes;
use serde::{Deserialize, Deserializer};

use super::EncodeError;

/// A message that can append its Centrifugo JSON object to a buffer.
pub trait WriteJson {
    /// Appends `{...}` to `out`. On error `out` may hold a partial object; the frame writer
    /// truncates it.
    fn write_json(&self, out: &mut Vec<u8>) -> Result<(), EncodeError>;
}

/// Writes one JSON object, leaving out zero values. `finish` closes it.
pub(crate) struct Object<'a> {
    out: &'a mut Vec<u8>,
    empty: bool,
}

impl<'a> Object<'a> {
    pub(crate) fn new(out: &'a mut Vec<u8>) -> Self {
        out.push(b'{');
        Object { out, empty: true }
    }

    fn key(&mut self, name: &str) {
        if !self.empty {
            self.out.push(b',');
        }
        self.empty = false;
        self.out.push(b'"');
        // Field names are ours and plain ASCII: no escaping needed.
        self.out.extend_from_slice(name.as_bytes());
        self.out.extend_from_slice(b"\":");
    }

    pub(crate) fn uint(&mut self, name: &str, value: impl Into<u64>) -> &mut Self {
        let value = value.into();
        if value != 0 {
            self.key(name);
            write_u64(self.out, value);
        }
        self
    }

    pub(crate) fn int(&mut self, name: &str, value: impl Into<i64>) -> &mut Self {
        let value = value.into();
        if value != 0 {
            self.key(name);
            if value < 0 {
                self.out.push(b'-');
            }
            write_u64(self.out, value.unsigned_abs());
        }
        self
    }

    pub(crate) fn bool(&mut self, name: &str, value: bool) -> &mut Self {
        if value {
            self.key(name);
            self.out.extend_from_slice(b"true");
        }
        self
    }

    pub(crate) fn str(&mut self, name: &str, value: &str) -> &mut Self {
        if !value.is_empty() {
            self.key(name);
            write_str(self.out, value);
        }
        self
    }

    /// A payload field: its bytes are JSON text and go in as they are.
    pub(crate) fn raw(
        &mut self,
        name: &'static str,
        value: &Bytes,
    ) -> Result<&mut Self, EncodeError> {
        if !value.is_empty() {
            if !is_json(value) {
                return Err(EncodeError::NotJson { field: name });
            }
            self.key(name);
            // Whitespace around and line breaks within valid JSON are insignificant, but a
            // line break would split the frame for SDKs that read newline-delimited replies
            // line by line: drop them, so the bytes decode back to exactly what was written.
            let value = value.trim_ascii();
            if value.contains(&b'\n') {
                self.out
                    .extend(value.iter().copied().filter(|&b| b != b'\n'));
            } else {
                self.out.extend_from_slice(value);
            }
        }
        Ok(self)
    }

    pub(crate) fn msg<T: WriteJson>(
        &mut self,
        name: &str,
        value: Option<&T>,
    ) -> Result<&mut Self, EncodeError> {
        if let Some(value) = value {
            self.key(name);
            value.write_json(self.out)?;
        }
        Ok(self)
    }

    pub(crate) fn list<T: WriteJson>(
        &mut self,
        name: &str,
        values: &[T],
    ) -> Result<&mut Self, EncodeError> {
        if !values.is_empty() {
            self.key(name);
            self.out.push(b'[');
            for (i, value) in values.iter().enumerate() {
                if i > 0 {
                    self.out.push(b',');
                }
                value.write_json(self.out)?;
            }
            self.out.push(b']');
        }
        Ok(self)
    }

    pub(crate) fn map<T: WriteJson>(
        &mut self,
        name: &str,
        values: &BTreeMap<String, T>,
    ) -> Result<&mut Self, EncodeError> {
        if !values.is_empty() {
            self.key(name);
            self.out.push(b'{');
            for (i, (key, value)) in values.iter().enumerate() {
                if i > 0 {
                    self.out.push(b',');
                }
                write_str(self.out, key);
                self.out.push(b':');
                value.write_json(self.out)?;
            }
            self.out.push(b'}');
        }
        Ok(self)
    }

    pub(crate) fn string_map(
        &mut self,
        name: &str,
        values: &BTreeMap<String, String>,
    ) -> &mut Self {
        if !values.is_empty() {
            self.key(name);
            self.out.push(b'{');
            for (i, (key, value)) in values.iter().enumerate() {
                if i > 0 {
                    self.out.push(b',');
                }
                write_str(self.out, key);
                self.out.push(b':');
                write_str(self.out, value);
            }
            self.out.push(b'}');
        }
        self
    }

    pub(crate) fn finish(&mut self) -> Result<(), EncodeError> {
        self.out.push(b'}');
        Ok(())
    }
}

/// Whether `bytes` is one complete JSON value. Raw payloads come from JSON clients (already
/// parsed) or from Protobuf clients and the API's `b64data` (anything): the latter must not
/// reach a JSON connection as broken JSON, so the caller can disconnect it with 3506 instead.
pub fn is_json(bytes: &[u8]) -> bool {
    // serde_json skips strings it ignores without checking their UTF-8, and a JSON connection
    // sends text frames: check the encoding first.
    std::str::from_utf8(bytes)
        .is_ok_and(|text| serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok())
}

fn write_u64(out: &mut Vec<u8>, mut value: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (value % 10) as u8;
        value /= 10;
        if value == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
}

/// Appends `value` as a JSON string: quotes, backslashes and control characters escaped, the
/// rest (UTF-8 included) as it is.
pub(crate) fn write_str(out: &mut Vec<u8>, value: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.reserve(value.len() + 2);
    out.push(b'"');
    let bytes = value.as_bytes();
    let mut plain_from = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0..=0x1f => b"",
            _ => continue,
        };
        out.extend_from_slice(&bytes[plain_from..i]);
        plain_from = i + 1;
        if escape.is_empty() {
            out.extend_from_slice(b"\\u00");
            out.push(HEX[usize::from(b >> 4)]);
            out.push(HEX[usize::from(b & 0xf)]);
        } else {
            out.extend_from_slice(escape);
        }
    }
    out.extend_from_slice(&bytes[plain_from..]);
    out.push(b'"');
}

/// Deserializes a payload field: the raw JSON text of the value becomes the bytes.
pub(crate) fn raw<'de, D: Deserializer<'de>>(d: D) -> Result<Bytes, D::Error> {
    let raw: &'de serde_json::value::RawValue = Deserialize::deserialize(d)?;
    Ok(Bytes::copy_from_slice(raw.get().as_bytes()))
}

/// Deserializes any field whose `null` means its zero value.
pub(crate) fn or_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

#[derive(Deserialize)]
#[serde(untagged)]
enum NumberOrString<T> {
    Number(T),
    String(String),
}

/// Deserializes a `uint64`: a number, or a decimal string as protobuf's canonical JSON has it.
pub(crate) fn u64_lenient<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    match Option::<NumberOrString<u64>>::deserialize(d)? {
        None => Ok(0),
        Some(NumberOrString::Number(n)) => Ok(n),
        Some(NumberOrString::String(s)) => s.parse().map_err(serde::de::Error::custom),
    }
}

/// Deserializes an `int64`: a number, or a decimal string as protobuf's canonical JSON has it.
pub(crate) fn i64_lenient<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    match Option::<NumberOrString<i64>>::deserialize(d)? {
        None => Ok(0),
        Some(NumberOrString::Number(n)) => Ok(n),
        Some(NumberOrString::String(s)) => s.parse().map_err(serde::de::Error::custom),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_escaped_like_json() {
        let mut out = Vec::new();
        write_str(&mut out, "a\"b\\c\nd\u{1}é");
        assert_eq!(std::str::from_utf8(&out), Ok(r#""a\"b\\c\nd\u0001é""#));
        let back: String = serde_json::from_slice(&out).expect("valid JSON string");
        assert_eq!(back, "a\"b\\c\nd\u{1}é");
    }

    #[test]
    fn integers_are_plain_numbers() {
        let mut out = Vec::new();
        let mut obj = Object::new(&mut out);
        obj.uint("a", u64::MAX)
            .int("b", i64::MIN)
            .int("c", -5i64)
            .uint("zero", 0u32);
        obj.finish().expect("finish");
        assert_eq!(
            out,
            br#"{"a":18446744073709551615,"b":-9223372036854775808,"c":-5}"#
        );
    }

    #[test]
    fn payloads_must_be_one_json_value_in_utf8() {
        assert!(is_json(b" {\"a\": [1, \"x\"]}\n"));
        assert!(!is_json(b"{\"a\":1} {}"));
        assert!(!is_json(b"\"\xff\""), "invalid UTF-8 inside a string");
        assert!(!is_json(b"\x00\x01"));
    }
}
