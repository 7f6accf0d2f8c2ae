//! Checks the duplex client against an echo server someone else wrote.
//!
//! ```text
//! cargo run --release -p duplex --example interop_client -- ws://127.0.0.1:8765
//! cargo run --release -p duplex --example interop_client -- ws://127.0.0.1:8765 --deflate --expect-deflate
//! ```
//!
//! The server must echo text and binary messages, choose the first subprotocol the client
//! offers among `chat` and `superchat`, and answer a close with the same code and reason. Exits
//! non-zero with the first mismatch.
//!
//! `--deflate` offers permessage-deflate (`DeflateConfig::default()`). `--expect-deflate` makes
//! every connection check that it was agreed (`WebSocket::is_compressed`), and that 1 MiB of
//! JSON really crosses the wire compressed both ways (bytes counted on the TCP stream, ws://
//! only); `--expect-no-deflate` checks the opposite.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use duplex::handshake::Target;
use duplex::{Bytes, ClientBuilder, CloseCode, Message};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

type Outcome = Result<(), String>;

const USAGE: &str =
    "usage: interop_client [ws://HOST:PORT] [--deflate] [--expect-deflate | --expect-no-deflate]";

/// What the command line asked for.
struct Opts {
    url: String,
    /// Offer permessage-deflate.
    deflate: bool,
    /// Check that permessage-deflate was (true) or was not (false) agreed.
    expect: Option<bool>,
}

fn parse_args() -> Result<Opts, String> {
    let mut opts = Opts {
        url: "ws://127.0.0.1:8765".into(),
        deflate: false,
        expect: None,
    };
    let mut url = None;
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--deflate" => opts.deflate = true,
            "--expect-deflate" => opts.expect = Some(true),
            "--expect-no-deflate" => opts.expect = Some(false),
            _ if !arg.starts_with("--") && url.is_none() => url = Some(arg),
            _ => return Err(format!("unexpected argument {arg:?}")),
        }
    }
    if opts.expect == Some(true) && !opts.deflate {
        return Err("--expect-deflate needs --deflate".into());
    }
    if let Some(url) = url {
        opts.url = url;
    }
    Ok(opts)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    let opts = match parse_args() {
        Ok(opts) => opts,
        Err(why) => {
            eprintln!("{why}\n{USAGE}");
            return std::process::ExitCode::from(2);
        }
    };
    let checks: [(&str, Outcome); 7] = [
        ("extensions", extensions(&opts).await),
        ("text messages", text_messages(&opts).await),
        ("1 MiB of JSON on the wire", json_on_the_wire(&opts).await),
        ("binary messages", binary_messages(&opts).await),
        ("burst of 1000 in order", burst(&opts).await),
        ("subprotocol choice", subprotocols(&opts).await),
        ("close code and reason", close(&opts).await),
    ];
    let mut failed = 0;
    for (name, outcome) in &checks {
        match outcome {
            Ok(()) => println!("ok   {name}"),
            Err(why) => {
                failed += 1;
                println!("FAIL {name}: {why}");
            }
        }
    }
    println!(
        "interop_client: {} passed, {failed} failed",
        checks.len() - failed
    );
    if failed == 0 {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::FAILURE
    }
}

fn builder(opts: &Opts) -> ClientBuilder {
    let builder = ClientBuilder::new();
    if opts.deflate {
        builder.deflate(duplex::DeflateConfig::default())
    } else {
        builder
    }
}

/// Checks the permessage-deflate agreement against `--expect-(no-)deflate`.
fn check_deflate<S: AsyncRead + AsyncWrite + Unpin>(
    opts: &Opts,
    ws: &duplex::WebSocket<S>,
    response: &duplex::handshake::Response,
) -> Outcome {
    match opts.expect {
        Some(expected) if ws.is_compressed() != expected => Err(format!(
            "expected permessage-deflate {}, is_compressed() is {}; the server answered \
             Sec-WebSocket-Extensions: {:?}",
            if expected { "on" } else { "off" },
            ws.is_compressed(),
            response.extensions
        )),
        _ => Ok(()),
    }
}

async fn open(
    opts: &Opts,
) -> Result<duplex::WebSocket<duplex::MaybeTlsStream<tokio::net::TcpStream>>, String> {
    let (ws, response) = builder(opts)
        .connect(&opts.url)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    check_deflate(opts, &ws, &response)?;
    Ok(ws)
}

async fn extensions(opts: &Opts) -> Outcome {
    let (mut ws, response) = builder(opts)
        .connect(&opts.url)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    println!(
        "info negotiated extensions: {:?}, is_compressed() {}",
        response.extensions,
        ws.is_compressed()
    );
    check_deflate(opts, &ws, &response)?;
    ws.close(CloseCode::NORMAL, "")
        .await
        .map_err(|e| format!("close: {e}"))
}

/// About `n` bytes of JSON that compresses well but is not one repeated block.
fn json_text(n: usize) -> String {
    let mut s = String::from("[");
    let mut i = 0u64;
    while s.len() + 1 < n {
        if i > 0 {
            s.push(',');
        }
        s.push_str(&format!(
            r#"{{"seq":{i},"user":"user-{}","channel":"general","text":"message number {i} from the interop test ✓","ts":{}}}"#,
            i % 97,
            1_700_000_000_000u64 + i * 17
        ));
        i += 1;
    }
    s.push(']');
    s
}

/// Counts the bytes read from and written to a stream.
struct Counting<S> {
    inner: S,
    read: Arc<AtomicU64>,
    written: Arc<AtomicU64>,
}

impl<S: AsyncRead + Unpin> AsyncRead for Counting<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let poll = Pin::new(&mut self.inner).poll_read(cx, buf);
        let n = buf.filled().len() - before;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        poll
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Counting<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = poll {
            self.written.fetch_add(n as u64, Ordering::Relaxed);
        }
        poll
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if let Poll::Ready(Ok(n)) = poll {
            self.written.fetch_add(n as u64, Ordering::Relaxed);
        }
        poll
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Echoes 1 MiB of JSON over a TCP stream that counts its bytes: with permessage-deflate it
/// must cross the wire compressed both ways (our compressor out, the server's back).
async fn json_on_the_wire(opts: &Opts) -> Outcome {
    let target = Target::parse(&opts.url).map_err(|e| format!("url: {e}"))?;
    if target.secure {
        println!("info 1 MiB JSON: bytes are only counted over ws://, checking the echo alone");
        let mut ws = open(opts).await?;
        round_trip(&mut ws, Message::text(json_text(1 << 20))).await?;
        return ws
            .close(CloseCode::NORMAL, "")
            .await
            .map_err(|e| format!("close: {e}"));
    }
    let tcp = tokio::net::TcpStream::connect((target.host.as_str(), target.port))
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let (read, written) = (Arc::default(), Arc::default());
    let stream = Counting {
        inner: tcp,
        read: Arc::clone(&read),
        written: Arc::clone(&written),
    };
    let (mut ws, response) = builder(opts)
        .handshake(stream, &target)
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    check_deflate(opts, &ws, &response)?;
    let text = json_text(1 << 20);
    let (read0, written0) = (
        read.load(Ordering::Relaxed),
        written.load(Ordering::Relaxed),
    );
    round_trip(&mut ws, Message::text(text.clone())).await?;
    let read = read.load(Ordering::Relaxed) - read0;
    let written = written.load(Ordering::Relaxed) - written0;
    println!(
        "info 1 MiB JSON ({} bytes): {written} bytes on the wire out, {read} back",
        text.len()
    );
    let len = text.len() as u64;
    match opts.expect {
        Some(true) if read > len / 4 || written > len / 4 => {
            return Err(format!(
                "expected a compressed echo, got {written} bytes out and {read} back for {len}"
            ))
        }
        Some(false) if read < len || written < len => {
            return Err(format!(
                "expected no compression, got {written} bytes out and {read} back for {len}"
            ))
        }
        _ => {}
    }
    ws.close(CloseCode::NORMAL, "")
        .await
        .map_err(|e| format!("close: {e}"))
}

async fn round_trip<S: AsyncRead + AsyncWrite + Unpin>(
    ws: &mut duplex::WebSocket<S>,
    sent: Message,
) -> Outcome {
    ws.send(sent.clone())
        .await
        .map_err(|e| format!("send: {e}"))?;
    match ws.recv().await {
        Ok(Some(got)) if got == sent => Ok(()),
        Ok(Some(got)) => Err(format!(
            "sent {} bytes ({}), got {} bytes ({})",
            sent.len(),
            kind(&sent),
            got.len(),
            kind(&got)
        )),
        Ok(None) => Err("closed instead of echoing".into()),
        Err(e) => Err(format!("recv: {e}")),
    }
}

fn kind(m: &Message) -> &'static str {
    if m.is_text() {
        "text"
    } else {
        "binary"
    }
}

async fn text_messages(opts: &Opts) -> Outcome {
    let mut ws = open(opts).await?;
    let mut texts = vec![String::new(), "héllo wörld ✓ 😀 日本語".to_owned()];
    for len in [125, 126, 65535, 65536, 1 << 20] {
        texts.push((0..len).map(|i| (b'a' + (i % 26) as u8) as char).collect());
    }
    for text in texts {
        round_trip(&mut ws, Message::text(text)).await?;
    }
    ws.close(CloseCode::NORMAL, "")
        .await
        .map_err(|e| format!("close: {e}"))
}

async fn binary_messages(opts: &Opts) -> Outcome {
    let mut ws = open(opts).await?;
    let mut state = 0x2545_f491_4f6c_dd1du64;
    for len in [0usize, 1, 125, 126, 65536, 1 << 20] {
        let data: Vec<u8> = (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect();
        round_trip(&mut ws, Message::Binary(Bytes::from(data))).await?;
    }
    ws.close(CloseCode::NORMAL, "")
        .await
        .map_err(|e| format!("close: {e}"))
}

async fn burst(opts: &Opts) -> Outcome {
    let mut ws = open(opts).await?;
    for i in 0..1000 {
        ws.feed(Message::text(format!("message {i}")))
            .await
            .map_err(|e| format!("feed: {e}"))?;
    }
    ws.flush().await.map_err(|e| format!("flush: {e}"))?;
    for i in 0..1000 {
        let expected = format!("message {i}");
        match ws.recv().await {
            Ok(Some(m)) if m.as_text() == Some(expected.as_str()) => {}
            other => return Err(format!("expected {expected:?}, got {other:?}")),
        }
    }
    ws.close(CloseCode::NORMAL, "")
        .await
        .map_err(|e| format!("close: {e}"))
}

async fn subprotocols(opts: &Opts) -> Outcome {
    for (offered, expected) in [
        (&["superchat", "chat"][..], "superchat"),
        (&["chat"][..], "chat"),
    ] {
        let mut builder = builder(opts);
        for p in offered {
            builder = builder.protocol(*p);
        }
        let (mut ws, response) = builder
            .connect(&opts.url)
            .await
            .map_err(|e| format!("connect: {e}"))?;
        check_deflate(opts, &ws, &response)?;
        if response.protocol.as_deref() != Some(expected) || ws.protocol() != Some(expected) {
            return Err(format!(
                "offered {offered:?}, expected {expected:?}, got {:?}",
                response.protocol
            ));
        }
        ws.close(CloseCode::NORMAL, "")
            .await
            .map_err(|e| format!("close: {e}"))?;
    }
    Ok(())
}

async fn close(opts: &Opts) -> Outcome {
    let mut ws = open(opts).await?;
    ws.close(4000u16, "bye ✓")
        .await
        .map_err(|e| format!("close: {e}"))?;
    match ws.close_frame() {
        Some(frame) if frame.code == CloseCode(4000) && frame.reason == "bye ✓" => Ok(()),
        other => Err(format!(
            "expected the server to answer 4000 \"bye ✓\", got {other:?}"
        )),
    }
}
