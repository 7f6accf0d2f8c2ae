//! The driver against fake sockets: read-buffer sizing across bursts and parsing that
//! resumes when a backed-up queue drains.

use std::collections::VecDeque;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use bytes::{Buf, BytesMut};
use duplex_proto::{Config, Connection, Role};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::{Options, WebSocket};

/// A socket whose peer's bytes arrive in bursts the test releases, and which records the
/// reads that returned bytes: how much room each offered and how much it got.
#[derive(Default)]
struct BurstSocket {
    pending: VecDeque<u8>,
    reads: Vec<(usize, usize)>,
    waker: Option<Waker>,
    /// Writes wait (as to a peer that does not read) while this is set.
    writes_blocked: bool,
    write_waker: Option<Waker>,
}

impl AsyncRead for BurstSocket {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.pending.is_empty() {
            self.waker = Some(cx.waker().clone());
            return Poll::Pending;
        }
        let room = buf.remaining();
        let n = room.min(self.pending.len());
        let bytes: Vec<u8> = self.pending.drain(..n).collect();
        buf.put_slice(&bytes);
        self.reads.push((room, n));
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for BurstSocket {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.writes_blocked {
            self.write_waker = Some(cx.waker().clone());
            return Poll::Pending;
        }
        Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// A server-side WebSocket over `socket`.
fn server_over(socket: BurstSocket, options: Options) -> WebSocket<BurstSocket> {
    let (config, leftover) = (Config::default(), BytesMut::new());
    WebSocket::from_upgraded(socket, Role::Server, config, options, None, leftover)
}

/// The bytes a client sends for what `send` queues (masked frames).
fn client_sends(send: impl FnOnce(&mut Connection)) -> Vec<u8> {
    let mut client = Connection::new(Role::Client, Config::default());
    send(&mut client);
    let out = client.outgoing();
    out.copy_to_bytes(out.remaining()).to_vec()
}

/// Four masked 16 KiB binary frames, as a client pipelining them sends them.
fn burst_of_four() -> Vec<u8> {
    client_sends(|client| {
        for i in 0..4u8 {
            client.send_binary(&[i; 16 * 1024]).unwrap();
        }
    })
}

#[tokio::test]
async fn a_burst_after_an_idle_pause_is_read_in_one_syscall() {
    let mut ws = server_over(BurstSocket::default(), Options::default());
    for round in 0..3 {
        let burst = burst_of_four();
        ws.get_mut().pending.extend(&burst);
        ws.get_mut().reads.clear();
        for i in 0..4u8 {
            let message = ws.recv().await.unwrap().unwrap();
            assert_eq!(message.payload()[..], [i; 16 * 1024]);
        }
        // Nothing more: the socket pends and the idle connection gives its buffer back.
        let idle = tokio::time::timeout(std::time::Duration::from_millis(10), ws.recv());
        assert!(idle.await.is_err(), "no fifth message");
        assert_eq!(
            ws.core.read_buf.capacity(),
            0,
            "an idle connection keeps no buffer"
        );
        let reads = &ws.get_ref().reads;
        if round == 0 {
            // The first burst starts with a small first read and grows the buffer.
            assert!(reads.len() > 1, "{reads:?}");
        } else {
            // Later ones find a buffer sized for the last burst, with room to spare.
            assert_eq!(reads.len(), 1, "{reads:?}");
            assert_eq!(reads[0].1, burst.len());
            assert!(reads[0].0 > burst.len(), "{reads:?}");
        }
    }
}

#[tokio::test]
async fn a_large_frame_does_not_size_the_next_buffer() {
    let mut ws = server_over(BurstSocket::default(), Options::default());
    for _ in 0..2 {
        let frame = client_sends(|client| client.send_binary(&vec![7; 1 << 20]).unwrap());
        ws.get_mut().pending.extend(&frame);
        ws.get_mut().reads.clear();
        assert_eq!(ws.recv().await.unwrap().unwrap().len(), 1 << 20);
        let idle = tokio::time::timeout(std::time::Duration::from_millis(10), ws.recv());
        assert!(idle.await.is_err());
        // Its header comes first, through the small first read; the protocol core then
        // sizes the buffer for the whole frame. A buffer sized from the last burst would
        // only have been copied into that one.
        let reads = &ws.get_ref().reads;
        assert_eq!(reads[0].0, crate::io::FIRST_READ, "{reads:?}");
    }
}

#[tokio::test]
async fn frames_read_while_replies_were_backed_up_are_parsed_once_they_drain() {
    let blocked = BurstSocket {
        writes_blocked: true,
        ..BurstSocket::default()
    };
    let mut ws = server_over(blocked, Options::default().max_buffered(200));
    // Three 125-byte pings, then a message, all in one read: the second pong takes the
    // queue past 200 bytes, so parsing pauses with the third ping and the message unread.
    let bytes = client_sends(|client| {
        for _ in 0..3 {
            client.ping(&[b'p'; 125]).unwrap();
        }
        client.send_text("after the pings").unwrap();
    });
    ws.get_mut().pending.extend(&bytes);
    let stalled = tokio::time::timeout(std::time::Duration::from_millis(20), ws.recv());
    assert!(
        stalled.await.is_err(),
        "paused while the pongs cannot be written"
    );
    assert!(ws.buffered_amount() > 200);
    // The peer reads again. No new bytes arrive: what was read must be parsed anyway.
    ws.get_mut().writes_blocked = false;
    let mut recv = std::pin::pin!(ws.recv());
    let polled = recv.as_mut().poll(&mut Context::from_waker(Waker::noop()));
    let Poll::Ready(Ok(Some(message))) = polled else {
        panic!("the message already read must come on the first poll: {polled:?}");
    };
    assert_eq!(message.as_text(), Some("after the pings"));
}
