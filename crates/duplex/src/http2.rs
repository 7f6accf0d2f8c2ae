//! [`Http2Stream`]: one HTTP/2 stream as a byte stream, for a client's WebSocket over HTTP/2
//! (RFC 8441, feature `http2`).
//!
//! After an extended CONNECT is answered 200, the stream's DATA frames carry the WebSocket's
//! bytes both ways, so the tokio driver runs over it unchanged. HTTP/2 framing and flow control
//! belong to the `h2` crate; its connection runs in a task of its own (spawned by the client),
//! because it answers pings and window updates even while the application reads nothing. A
//! WebSocket is the only stream on that connection, so when the stream is dropped the
//! connection task has nothing left and ends.

use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::{Buf, Bytes};
use h2::{RecvStream, SendStream};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The byte stream under a client's WebSocket over HTTP/2: the DATA frames of one stream.
///
/// ```no_run
/// # async fn run() -> Result<(), duplex::Error> {
/// let (ws, _) = duplex::ClientBuilder::new()
///     .http2(duplex::Http2::Require)
///     .connect("wss://example.com/ws")
///     .await?;
/// assert!(ws.get_ref().is_http2());
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Http2Stream {
    send: SendStream<Bytes>,
    recv: RecvStream,
    /// What arrived in a DATA frame and was not read yet.
    unread: Bytes,
    tls: bool,
}

impl Http2Stream {
    pub(crate) fn new(send: SendStream<Bytes>, recv: RecvStream, tls: bool) -> Self {
        Http2Stream {
            send,
            recv,
            unread: Bytes::new(),
            tls,
        }
    }

    /// True when the HTTP/2 connection runs over TLS.
    pub fn is_tls(&self) -> bool {
        self.tls
    }
}

/// An h2 error as I/O: the peer's reset or the connection's failure ends the WebSocket.
fn io_error(e: h2::Error) -> std::io::Error {
    if e.is_io() {
        if let Some(io) = e.into_io() {
            return io;
        }
        return std::io::Error::other("http/2 connection failed");
    }
    std::io::Error::other(e)
}

impl AsyncRead for Http2Stream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        while self.unread.is_empty() {
            match ready!(self.recv.poll_data(cx)) {
                // END_STREAM: the peer is done sending, as a TCP FIN would say.
                None => return Poll::Ready(Ok(())),
                Some(Ok(data)) => {
                    // Flow control: the window reopens as soon as the bytes are ours, since
                    // the WebSocket layer bounds what it buffers itself.
                    let _ = self.recv.flow_control().release_capacity(data.len());
                    self.unread = data;
                }
                Some(Err(e)) => {
                    return Poll::Ready(match e.reason() {
                        // A reset after the close handshake, or a cancel: an end of stream.
                        Some(h2::Reason::NO_ERROR) | Some(h2::Reason::CANCEL) => Ok(()),
                        _ => Err(io_error(e)),
                    });
                }
            }
        }
        let n = self.unread.len().min(buf.remaining());
        buf.put_slice(&self.unread[..n]);
        self.unread.advance(n);
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Http2Stream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        // h2 buffers what it is given and sends it as the peer's window allows: ask for room
        // for this write, wait until some is granted, and hand over that much.
        self.send.reserve_capacity(buf.len());
        loop {
            let granted = self.send.capacity();
            if granted > 0 {
                let n = granted.min(buf.len());
                self.send
                    .send_data(Bytes::copy_from_slice(&buf[..n]), false)
                    .map_err(io_error)?;
                return Poll::Ready(Ok(n));
            }
            match self.send.poll_capacity(cx) {
                Poll::Ready(Some(Ok(_))) => continue,
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Err(io_error(e))),
                Poll::Ready(None) => {
                    return Poll::Ready(Err(std::io::ErrorKind::BrokenPipe.into()))
                }
                Poll::Pending => {
                    // Waiting for window: a reset by the peer must wake us too.
                    if let Poll::Ready(reason) = self.send.poll_reset(cx) {
                        let reason = reason.map_err(io_error)?;
                        return Poll::Ready(Err(std::io::Error::new(
                            std::io::ErrorKind::BrokenPipe,
                            format!("http/2 stream reset by peer: {reason}"),
                        )));
                    }
                    return Poll::Pending;
                }
            }
        }
    }

    /// The connection task writes what h2 buffered; nothing to wait for here.
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    /// Ends our half of the stream (END_STREAM), as a TCP shutdown would.
    fn poll_shutdown(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.send.send_data(Bytes::new(), true) {
            Ok(()) => Poll::Ready(Ok(())),
            Err(e) if e.is_io() => Poll::Ready(Err(io_error(e))),
            // Already ended, or reset by the peer: either way our half is closed.
            Err(_) => Poll::Ready(Ok(())),
        }
    }
}
