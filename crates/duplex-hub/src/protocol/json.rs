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
//!
//! Both directions are chosen per field type by [`Field`], and [`message!`] declares a message
//! from its field list once, so a field's wire name, order, encoding and decoding cannot drift
//! apart between the struct, its writer and its reader.

use std::collections::BTreeMap;
use std::fmt::Display;
use std::str::FromStr;

use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};

use super::EncodeError;

/// A message that can append its Centrifugo JSON object to a buffer.
pub trait WriteJson {
    /// Appends `{...}` to `out`. On error `out` may hold a partial object; the frame writer
    /// truncates it.
    fn write_json(&self, out: &mut Vec<u8>) -> Result<(), EncodeError>;
}

/// Declares a protocol message: the struct (a prost message deserialized by serde, every
/// field through [`Field::read`]) and its [`WriteJson`], which writes the fields in the order
/// listed (client.proto's) under their Rust names (`r#pub` as `pub`), zero values left out.
///
/// The caller gives the struct's doc and its other derives, and for each field its doc and
/// `#[prost(...)]` attribute.
macro_rules! message {
    (
        $(#[$attr:meta])*
        pub struct $name:ident {
            $(
                $(#[doc = $doc:literal])*
                #[prost($($prost:tt)*)]
                pub $field:ident: $ty:ty,
            )*
        }
    ) => {
        $(#[$attr])*
        #[derive(::prost::Message, ::serde::Deserialize)]
        #[serde(default)]
        pub struct $name {
            $(
                $(#[doc = $doc])*
                #[prost($($prost)*)]
                #[serde(deserialize_with = "crate::protocol::json::Field::read")]
                pub $field: $ty,
            )*
        }

        impl $crate::protocol::json::WriteJson for $name {
            fn write_json(
                &self,
                out: &mut ::std::vec::Vec<u8>,
            ) -> ::std::result::Result<(), $crate::protocol::EncodeError> {
                #[allow(unused_mut)]
                let mut object = $crate::protocol::json::Object::new(out);
                $(
                    $crate::protocol::json::Field::write(
                        &self.$field,
                        &mut object,
                        $crate::protocol::json::field_name(stringify!($field)),
                    )?;
                )*
                object.finish()
            }
        }
    };
}
pub(crate) use message;

/// The JSON key of a field: its Rust name, without the `r#` a keyword needs (as serde does).
pub(crate) fn field_name(ident: &'static str) -> &'static str {
    ident.strip_prefix("r#").unwrap_or(ident)
}

/// How one field type goes to and comes from Centrifugo's JSON.
pub(crate) trait Field: Sized {
    /// Appends `"name":value` to `object`, unless the value is its type's zero value.
    fn write(&self, object: &mut Object<'_>, name: &'static str) -> Result<(), EncodeError>;

    /// Reads the value, `null` taken as the zero value.
    fn read<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error>;
}

impl Field for u32 {
    fn write(&self, object: &mut Object<'_>, name: &'static str) -> Result<(), EncodeError> {
        object.uint(name, *self);
        Ok(())
    }

    fn read<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        or_default(d)
    }
}

impl Field for u64 {
    fn write(&self, object: &mut Object<'_>, name: &'static str) -> Result<(), EncodeError> {
        object.uint(name, *self);
        Ok(())
    }

    fn read<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        lenient(d)
    }
}

impl Field for i32 {
    fn write(&self, object: &mut Object<'_>, name: &'static str) -> Result<(), EncodeError> {
        object.int(name, *self);
        Ok(())
    }

    fn read<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        or_default(d)
    }
}

impl Field for i64 {
    fn write(&self, object: &mut Object<'_>, name: &'static str) -> Result<(), EncodeError> {
        object.int(name, *self);
        Ok(())
    }

    fn read<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        lenient(d)
    }
}

impl Field for bool {
    fn write(&self, object: &mut Object<'_>, name: &'static str) -> Result<(), EncodeError> {
        object.bool(name, *self);
        Ok(())
    }

    fn read<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        or_default(d)
    }
}

impl Field for String {
    fn write(&self, object: &mut Object<'_>, name: &'static str) -> Result<(), EncodeError> {
        object.str(name, self);
        Ok(())
    }

    fn read<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        or_default(d)
    }
}

/// Every `bytes` field of the protocol is a payload: raw JSON text on JSON connections.
impl Field for Bytes {
    fn write(&self, object: &mut Object<'_>, name: &'static str) -> Result<(), EncodeError> {
        object.raw(name, self)
    }

    fn read<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        raw(d)
    }
}

/// An optional message: left out when absent.
impl<T: WriteJson + DeserializeOwned> Field for Option<T> {
    fn write(&self, object: &mut Object<'_>, name: &'static str) -> Result<(), EncodeError> {
        match self {
            Some(value) => object.value(name, |out| value.write_json(out)),
            None => Ok(()),
        }
    }

    fn read<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Option::deserialize(d)
    }
}

/// A repeated message: a JSON array.
impl<T: WriteJson + DeserializeOwned> Field for Vec<T> {
    fn write(&self, object: &mut Object<'_>, name: &'static str) -> Result<(), EncodeError> {
        object.seq(name, *b"[]", self, |out, value| value.write_json(out))
    }

    fn read<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        or_default(d)
    }
}

/// A map of messages: a JSON object.
impl<T: WriteJson + DeserializeOwned> Field for BTreeMap<String, T> {
    fn write(&self, object: &mut Object<'_>, name: &'static str) -> Result<(), EncodeError> {
        object.seq(name, *b"{}", self, |out, (key, value)| {
            write_str(out, key);
            out.push(b':');
            value.write_json(out)
        })
    }

    fn read<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        or_default(d)
    }
}

/// A map of strings (headers, tags): a JSON object.
impl Field for BTreeMap<String, String> {
    fn write(&self, object: &mut Object<'_>, name: &'static str) -> Result<(), EncodeError> {
        object.seq(name, *b"{}", self, |out, (key, value)| {
            write_str(out, key);
            out.push(b':');
            write_str(out, value);
            Ok(())
        })
    }

    fn read<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        or_default(d)
    }
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

    /// Writes `"name":` and then the value, by `write_value`.
    fn value(
        &mut self,
        name: &str,
        write_value: impl FnOnce(&mut Vec<u8>) -> Result<(), EncodeError>,
    ) -> Result<(), EncodeError> {
        self.key(name);
        write_value(self.out)
    }

    pub(crate) fn uint(&mut self, name: &str, value: impl Into<u64>) {
        let value = value.into();
        if value != 0 {
            self.key(name);
            write_u64(self.out, value);
        }
    }

    pub(crate) fn int(&mut self, name: &str, value: impl Into<i64>) {
        let value = value.into();
        if value != 0 {
            self.key(name);
            if value < 0 {
                self.out.push(b'-');
            }
            write_u64(self.out, value.unsigned_abs());
        }
    }

    pub(crate) fn bool(&mut self, name: &str, value: bool) {
        if value {
            self.key(name);
            self.out.extend_from_slice(b"true");
        }
    }

    pub(crate) fn str(&mut self, name: &str, value: &str) {
        if !value.is_empty() {
            self.key(name);
            write_str(self.out, value);
        }
    }

    /// A payload field: its bytes are JSON text and go in as they are.
    pub(crate) fn raw(&mut self, name: &'static str, value: &Bytes) -> Result<(), EncodeError> {
        if value.is_empty() {
            return Ok(());
        }
        if !is_json(value) {
            return Err(EncodeError::NotJson { field: name });
        }
        self.key(name);
        // Whitespace around and line breaks within valid JSON are insignificant, but a line
        // break would split the frame for SDKs that read newline-delimited replies line by
        // line: drop them, so the bytes decode back to exactly what was written.
        let value = value.trim_ascii();
        if value.contains(&b'\n') {
            self.out
                .extend(value.iter().copied().filter(|&b| b != b'\n'));
        } else {
            self.out.extend_from_slice(value);
        }
        Ok(())
    }

    /// An array (`brackets` `[]`) or object (`{}`) of `items`, each written by `write_item`;
    /// left out when there are none.
    fn seq<I: IntoIterator>(
        &mut self,
        name: &str,
        [open, close]: [u8; 2],
        items: I,
        mut write_item: impl FnMut(&mut Vec<u8>, I::Item) -> Result<(), EncodeError>,
    ) -> Result<(), EncodeError> {
        let mut items = items.into_iter().peekable();
        if items.peek().is_none() {
            return Ok(());
        }
        self.key(name);
        self.out.push(open);
        for (i, item) in items.enumerate() {
            if i > 0 {
                self.out.push(b',');
            }
            write_item(self.out, item)?;
        }
        self.out.push(close);
        Ok(())
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

/// Deserializes a 64-bit integer: a number, or a decimal string as protobuf's canonical JSON
/// has it.
fn lenient<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + FromStr + Default,
    T::Err: Display,
{
    match Option::<NumberOrString<T>>::deserialize(d)? {
        None => Ok(T::default()),
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
        obj.uint("a", u64::MAX);
        obj.int("b", i64::MIN);
        obj.int("c", -5i64);
        obj.uint("zero", 0u32);
        obj.finish().expect("finish");
        assert_eq!(
            out,
            br#"{"a":18446744073709551615,"b":-9223372036854775808,"c":-5}"#
        );
    }

    #[test]
    fn keyword_fields_drop_their_raw_prefix() {
        assert_eq!(field_name("r#pub"), "pub");
        assert_eq!(field_name("channel"), "channel");
    }

    #[test]
    fn int64_fields_read_numbers_strings_and_null() {
        let read = |text: &str| i64::read(&mut serde_json::Deserializer::from_str(text));
        assert_eq!(read("-5").ok(), Some(-5));
        assert_eq!(read("\"-9223372036854775808\"").ok(), Some(i64::MIN));
        assert_eq!(read("null").ok(), Some(0));
        assert!(read("\"5x\"").is_err());
    }

    #[test]
    fn payloads_must_be_one_json_value_in_utf8() {
        assert!(is_json(b" {\"a\": [1, \"x\"]}\n"));
        assert!(!is_json(b"{\"a\":1} {}"));
        assert!(!is_json(b"\"\xff\""), "invalid UTF-8 inside a string");
        assert!(!is_json(b"\x00\x01"));
    }
}
