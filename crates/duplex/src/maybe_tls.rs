//! [`MaybeTlsStream`]: one stream type for `ws://` and `wss://`.
//!
//! [`crate::connect`] returns the same `WebSocket<MaybeTlsStream<TcpStream>>` whatever the URL's
//! scheme, so an application stores and passes one type. The TLS side is boxed: a rustls
//! session is a few kilobytes, and a plain connection should not pay for it. Every call forwards
//! to the inner stream, vectored writes included, so queued frames still leave in one write.
//! With the `http2` feature, a client's WebSocket over HTTP/2 is one more kind of stream here,
//! so `ClientBuilder::http2` changes nothing in the types an application names.

use std::io::IoSlice;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// A byte stream that is either plain or wrapped in TLS (client or server side).
///
/// ```no_run
/// # async fn run() -> Result<(), duplex::Error> {
/// let (ws, _) = duplex::connect("wss://echo.example.com/").await?;
/// assert!(ws.get_ref().is_tls());
/// # Ok(()) }
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum MaybeTlsStream<S> {
    /// No encryption (`ws://`).
    Plain(S),
    /// TLS through rustls (`wss://`).
    #[cfg(feature = "tls")]
    Tls(Box<tokio_rustls::TlsStream<S>>),
    /// One stream of an HTTP/2 connection (RFC 8441), over TLS or cleartext; the connection
    /// itself (and its transport) belongs to a task of its own.
    #[cfg(feature = "http2")]
    Http2(Box<crate::http2::Http2Stream>),
}

impl<S> MaybeTlsStream<S> {
    /// The underlying transport (the TCP stream), under any TLS layer; `None` over HTTP/2,
    /// where the transport is the HTTP/2 connection's, not this stream's.
    pub fn transport(&self) -> Option<&S> {
        match self {
            MaybeTlsStream::Plain(s) => Some(s),
            #[cfg(feature = "tls")]
            MaybeTlsStream::Tls(s) => Some(s.get_ref().0),
            #[cfg(feature = "http2")]
            MaybeTlsStream::Http2(_) => None,
        }
    }

    /// True when the bytes are encrypted.
    pub fn is_tls(&self) -> bool {
        match self {
            MaybeTlsStream::Plain(_) => false,
            #[cfg(feature = "tls")]
            MaybeTlsStream::Tls(_) => true,
            #[cfg(feature = "http2")]
            MaybeTlsStream::Http2(s) => s.is_tls(),
        }
    }

    /// True when the WebSocket runs over an HTTP/2 stream (RFC 8441).
    pub fn is_http2(&self) -> bool {
        match self {
            #[cfg(feature = "http2")]
            MaybeTlsStream::Http2(_) => true,
            _ => false,
        }
    }
}

#[cfg(feature = "tls")]
impl<S> From<tokio_rustls::client::TlsStream<S>> for MaybeTlsStream<S> {
    fn from(stream: tokio_rustls::client::TlsStream<S>) -> Self {
        MaybeTlsStream::Tls(Box::new(stream.into()))
    }
}

#[cfg(feature = "tls")]
impl<S> From<tokio_rustls::server::TlsStream<S>> for MaybeTlsStream<S> {
    fn from(stream: tokio_rustls::server::TlsStream<S>) -> Self {
        MaybeTlsStream::Tls(Box::new(stream.into()))
    }
}

/// Forwards one method to whichever stream is inside.
macro_rules! forward {
    ($self:ident, $s:ident => $call:expr) => {
        match $self.get_mut() {
            MaybeTlsStream::Plain($s) => $call,
            #[cfg(feature = "tls")]
            MaybeTlsStream::Tls($s) => $call,
            #[cfg(feature = "http2")]
            MaybeTlsStream::Http2($s) => $call,
        }
    };
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for MaybeTlsStream<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        forward!(self, s => Pin::new(s).poll_read(cx, buf))
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for MaybeTlsStream<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        forward!(self, s => Pin::new(s).poll_write(cx, buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        forward!(self, s => Pin::new(s).poll_write_vectored(cx, bufs))
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            MaybeTlsStream::Plain(s) => s.is_write_vectored(),
            #[cfg(feature = "tls")]
            MaybeTlsStream::Tls(s) => s.is_write_vectored(),
            #[cfg(feature = "http2")]
            MaybeTlsStream::Http2(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        forward!(self, s => Pin::new(s).poll_flush(cx))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        forward!(self, s => Pin::new(s).poll_shutdown(cx))
    }
}
