//! What the application sees: whole messages and control events.
//!
//! Payloads are [`Bytes`], so a message that arrived in one frame is handed over without a copy
//! (it is a slice of the read buffer), and a message to broadcast can be shared by every
//! connection. Text is [`Utf8Bytes`]: bytes already proven to be UTF-8, readable as `&str`.

use bytes::Bytes;

use crate::close::CloseFrame;

/// Bytes that are valid UTF-8: a cheaply clonable, shareable `str`.
///
/// ```
/// use duplex_proto::Utf8Bytes;
/// let text = Utf8Bytes::from("héllo");
/// assert_eq!(text.as_str(), "héllo");
/// assert_eq!(&*text, "héllo"); // derefs to str
/// ```
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Utf8Bytes(Bytes);

impl Utf8Bytes {
    /// Checks that `bytes` are UTF-8.
    ///
    /// ```
    /// use duplex_proto::Utf8Bytes;
    /// assert!(Utf8Bytes::try_from_bytes(bytes::Bytes::from_static(b"ok")).is_ok());
    /// assert!(Utf8Bytes::try_from_bytes(bytes::Bytes::from_static(b"\xff")).is_err());
    /// ```
    pub fn try_from_bytes(bytes: Bytes) -> Result<Self, std::str::Utf8Error> {
        if simdutf8::basic::from_utf8(&bytes).is_err() {
            std::str::from_utf8(&bytes)?;
        }
        Ok(Utf8Bytes(bytes))
    }

    /// Wraps bytes this crate has already validated.
    pub(crate) fn from_validated(bytes: Bytes) -> Self {
        debug_assert!(std::str::from_utf8(&bytes).is_ok());
        Utf8Bytes(bytes)
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        // SAFETY: every constructor proves the bytes are UTF-8 and they are immutable.
        unsafe { std::str::from_utf8_unchecked(&self.0) }
    }

    /// The underlying bytes.
    pub fn as_bytes(&self) -> &Bytes {
        &self.0
    }

    /// Gives up the UTF-8 guarantee and returns the bytes.
    pub fn into_bytes(self) -> Bytes {
        self.0
    }
}

impl std::ops::Deref for Utf8Bytes {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl std::fmt::Debug for Utf8Bytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.as_str().fmt(f)
    }
}

impl std::fmt::Display for Utf8Bytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.as_str().fmt(f)
    }
}

impl From<&str> for Utf8Bytes {
    fn from(s: &str) -> Self {
        Utf8Bytes(Bytes::copy_from_slice(s.as_bytes()))
    }
}

impl From<String> for Utf8Bytes {
    fn from(s: String) -> Self {
        Utf8Bytes(Bytes::from(s))
    }
}

impl From<&'static str> for Message {
    fn from(s: &'static str) -> Self {
        Message::Text(Utf8Bytes(Bytes::from_static(s.as_bytes())))
    }
}

impl From<String> for Message {
    fn from(s: String) -> Self {
        Message::Text(s.into())
    }
}

impl From<Vec<u8>> for Message {
    fn from(v: Vec<u8>) -> Self {
        Message::Binary(v.into())
    }
}

impl From<Bytes> for Message {
    fn from(b: Bytes) -> Self {
        Message::Binary(b)
    }
}

/// A whole WebSocket message.
///
/// ```
/// use duplex_proto::Message;
/// let m = Message::text("hi");
/// assert_eq!(m.as_text(), Some("hi"));
/// assert_eq!(Message::binary(vec![1, 2]).len(), 2);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A UTF-8 text message.
    Text(Utf8Bytes),
    /// A binary message.
    Binary(Bytes),
}

impl Message {
    /// A text message.
    pub fn text(text: impl Into<Utf8Bytes>) -> Self {
        Message::Text(text.into())
    }

    /// A binary message.
    pub fn binary(data: impl Into<Bytes>) -> Self {
        Message::Binary(data.into())
    }

    /// The payload as bytes, whatever the kind.
    pub fn payload(&self) -> &Bytes {
        match self {
            Message::Text(t) => t.as_bytes(),
            Message::Binary(b) => b,
        }
    }

    /// The text, if this is a text message.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Message::Text(t) => Some(t.as_str()),
            Message::Binary(_) => None,
        }
    }

    /// True for a text message.
    pub fn is_text(&self) -> bool {
        matches!(self, Message::Text(_))
    }

    /// Payload length in bytes.
    pub fn len(&self) -> usize {
        self.payload().len()
    }

    /// True when the payload is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Something the peer sent, as [`crate::Connection::receive`] reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A whole text or binary message.
    Message(Message),
    /// A ping; with auto-pong on (the default) the pong is already queued.
    Ping(Bytes),
    /// A pong.
    Pong(Bytes),
    /// The peer's close frame (`None`: it carried no status code). Our answer, if one was
    /// owed, is already queued; nothing more will be received.
    Close(Option<CloseFrame>),
}
