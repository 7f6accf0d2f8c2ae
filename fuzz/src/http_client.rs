//! `http_client`: the HTTP that `duplex`'s client parses itself, around the proto handshake:
//! a refused handshake's status and body, chunked bodies, a proxy's answer to `CONNECT`, the
//! URL and the `no_proxy` list. A server, a proxy or the environment chooses all of it.
//!
//! Input: a mode byte, a cut byte (how the peer's bytes are split into reads, see
//! [`Chunks`]), then the rest. By `mode % 4`:
//!
//! 0. **refusal**: the rest is the server's answer to [`ClientBuilder::handshake`] for
//!    `ws://example.com/chat`. A refusal is a `Rejected` with the status `httparse` reads,
//!    a trimmed body of at most [`BODY_SNIPPET`] characters, and, for a body that is not
//!    chunked, exactly the start of it that `Content-Length` allows.
//! 1. **chunked**: [`dechunk`] on the rest returns at most the limit and never more than it
//!    was given; then the rest, cut into chunks, is sent chunk-encoded (with extensions when
//!    bit 7 of the mode is set) and must come back whole from `dechunk`, at any limit, and as
//!    the body of a 403 through the handshake (within the client's read limit).
//! 2. **proxy**: the rest is the proxy's answer to `CONNECT` (the proxy URL has credentials
//!    when bit 7 of the mode is set). The tunnel opens exactly when `httparse` finds a 2xx head
//!    (extra bytes after it may be refused), a non-2xx is `Refused` with that status, and
//!    malformed, truncated and oversized answers are the matching `ProxyError`.
//! 3. **URL**: the first line is a URL, the rest a `no_proxy` list. A parsed [`Target`]
//!    parses again from its own parts to the same target; a list naming the host (or `*`, or
//!    the host with its port) exempts it, the host with another port does not; an exempt or
//!    loopback host never takes a proxy from the environment. The first line as a proxy URL
//!    shows no credentials in `shown`.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use duplex::__fuzz::{
    dechunk, no_proxy_matches, proxy_from_env, proxy_tunnel, proxy_url, BODY_SNIPPET,
    CHUNKED_READ_LIMIT,
};
use duplex::proto::handshake::MAX_HEADERS;
use duplex::proto::HandshakeError;
use duplex::handshake::Target;
use duplex::{ClientBuilder, Error, ProxyError};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::input::{Chunks, Input};

/// The proxy's limit on the head of its answer (`proxy.rs`).
const PROXY_MAX_HEAD: usize = 16 * 1024;

/// The target.
pub fn run(data: &[u8]) {
    let mut input = Input::new(data);
    let mode = input.byte();
    let cut = input.byte();
    let rest = input.rest();
    let flag = mode & 0x80 != 0;
    match mode % 4 {
        0 => refusal(rest, cut),
        1 => chunked(rest, cut, flag),
        2 => proxy_answer(rest, cut, flag),
        _ => url_and_no_proxy(rest),
    }
}

/// Runs a future to completion. The peer is never pending, so no timer ever has to fire.
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    thread_local! {
        static RUNTIME: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("a current-thread runtime builds"); // no input involved
    }
    RUNTIME.with(|runtime| runtime.block_on(future))
}

/// The other end of the connection: reads come from a script in pieces, writes vanish, and
/// the end of the script is the end of the stream.
struct Peer<'a> {
    pieces: Chunks<'a>,
    current: &'a [u8],
}

impl<'a> Peer<'a> {
    fn new(script: &'a [u8], cut: u8) -> Self {
        Peer {
            pieces: Chunks::new(script, cut),
            current: &[],
        }
    }
}

impl AsyncRead for Peer<'_> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.current.is_empty() {
            self.current = self.pieces.next().unwrap_or(&[]);
        }
        let n = self.current.len().min(buf.remaining());
        buf.put_slice(&self.current[..n]);
        self.current = &self.current[n..];
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Peer<'_> {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

fn target(url: &str) -> Target {
    Target::parse(url).expect("a valid URL") // a constant, not input
}

/// What `ClientBuilder::handshake` makes of `answer`: `Some((status, body))` for a refusal.
fn handshake(answer: &[u8], cut: u8) -> Option<(u16, String)> {
    let target = target("ws://example.com/chat");
    let client = ClientBuilder::new().no_proxy();
    match block_on(client.handshake(Peer::new(answer, cut), &target)) {
        Err(Error::Handshake(HandshakeError::Rejected { status, body, .. })) => {
            assert_ne!(status, 101);
            assert!(body.chars().count() <= BODY_SNIPPET, "{body:?}");
            assert_eq!(body.trim(), body);
            Some((status, body))
        }
        _ => None,
    }
}

fn refusal(answer: &[u8], cut: u8) {
    let Some((status, body)) = handshake(answer, cut) else {
        return;
    };
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut headers);
    let Ok(httparse::Status::Complete(head_len)) = response.parse(answer) else {
        return;
    };
    assert_eq!(Some(status), response.code);
    let header = |name: &str| {
        response
            .headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| String::from_utf8_lossy(h.value).trim().to_owned())
    };
    if header("Transfer-Encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        return; // mode 1 checks chunked bodies against what was encoded
    }
    let length = header("Content-Length").and_then(|v| v.parse::<usize>().ok());
    let want = length.unwrap_or(BODY_SNIPPET).min(BODY_SNIPPET);
    let sent = &answer[head_len..];
    let expected = String::from_utf8_lossy(&sent[..want.min(sent.len())]);
    assert_eq!(body, expected.trim());
}

fn chunked(data: &[u8], cut: u8, extensions: bool) {
    let (out, _) = dechunk(data, BODY_SNIPPET);
    assert!(out.len() <= BODY_SNIPPET.min(data.len()));

    let mut wire = Vec::new();
    for piece in Chunks::new(data, cut) {
        wire.extend_from_slice(format!("{:x}", piece.len()).as_bytes());
        if extensions {
            wire.extend_from_slice(b"; name=\"v\"");
        }
        wire.extend_from_slice(b"\r\n");
        wire.extend_from_slice(piece);
        wire.extend_from_slice(b"\r\n");
    }
    wire.extend_from_slice(b"0\r\n\r\n");
    assert_eq!(dechunk(&wire, usize::MAX), (data.to_vec(), true));
    let half = data.len() / 2;
    assert_eq!(dechunk(&wire, half).0, &data[..half]);

    let mut answer = b"HTTP/1.1 403 Forbidden\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    answer.extend_from_slice(&wire);
    let (status, body) = handshake(&answer, cut).expect("a 403 is a refusal");
    assert_eq!(status, 403);
    if wire.len() > CHUNKED_READ_LIMIT {
        return; // the client may stop reading before the snippet is full
    }
    let shown = String::from_utf8_lossy(&data[..data.len().min(BODY_SNIPPET)]);
    assert_eq!(body, shown.trim());
}

fn proxy_answer(answer: &[u8], cut: u8, credentials: bool) {
    let url = if credentials {
        "http://user:secret@proxy.example:3128"
    } else {
        "http://proxy.example:3128"
    };
    let target = target("wss://example.com/");
    let result = block_on(proxy_tunnel(url, &mut Peer::new(answer, cut), &target));

    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut response = httparse::Response::new(&mut headers);
    let parsed = response.parse(answer);
    let too_long = answer.len() > PROXY_MAX_HEAD;
    match (parsed, &result) {
        (Ok(httparse::Status::Complete(head_len)), _) if head_len > PROXY_MAX_HEAD => {
            // The client gave up before the head was complete, unless a read delivered it.
        }
        (Ok(httparse::Status::Complete(head_len)), _) => {
            let status = response.code.unwrap_or(0);
            match &result {
                Ok(()) => assert!((200..300).contains(&status)),
                Err(Error::Proxy(ProxyError::Refused {
                    status: refused,
                    sent_credentials,
                    ..
                })) => {
                    assert_eq!(*refused, status);
                    assert!(!(200..300).contains(&status));
                    assert_eq!(*sent_credentials, credentials);
                }
                Err(Error::Proxy(ProxyError::EarlyData { .. })) => {
                    assert!((200..300).contains(&status) && answer.len() > head_len);
                }
                Err(other) => panic!("{other:?} for a complete head with status {status}"),
            }
            if (200..300).contains(&status) && answer.len() == head_len {
                assert!(result.is_ok(), "{result:?}");
            }
        }
        (Ok(httparse::Status::Partial), Err(Error::Proxy(ProxyError::Closed { .. }))) => {}
        (Ok(httparse::Status::Partial), Err(Error::Proxy(ProxyError::HeadTooLarge { .. })))
        | (Err(_), Err(Error::Proxy(ProxyError::HeadTooLarge { .. }))) => assert!(too_long),
        (Err(_), Err(Error::Proxy(ProxyError::Malformed { .. }))) => {}
        (parsed, result) => panic!("httparse says {parsed:?}, the tunnel {result:?}"),
    }
}

fn url_and_no_proxy(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (url, no_proxy) = text.split_once('\n').unwrap_or((text, ""));

    if let Ok((_, _, shown)) = proxy_url(url, "fuzz") {
        let shown = url::Url::parse(&shown).expect("shown is a URL");
        assert!(shown.username().is_empty() && shown.password().is_none());
    }

    let Ok(target) = Target::parse(url) else {
        return;
    };
    let scheme = if target.secure { "wss" } else { "ws" };
    let again = Target::parse(&format!("{scheme}://{}{}", target.host_header, target.path));
    assert_eq!(again.ok().as_ref(), Some(&target));
    if target.host.contains(':') {
        assert!(target.authority().parse::<std::net::SocketAddr>().is_ok());
    }

    let exempt = no_proxy_matches(no_proxy, &target);
    let env = |name: &str| match name {
        "all_proxy" => Some(url.to_owned()),
        "no_proxy" => Some(no_proxy.to_owned()),
        _ => None,
    };
    let loopback = target.host == "localhost" || target.host.ends_with(".localhost") || {
        target
            .host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
    };
    if (exempt && !no_proxy.trim().is_empty()) || loopback {
        assert!(matches!(proxy_from_env(&target, env), Ok(None)));
    }
    assert!(no_proxy_matches(&format!("{no_proxy},*"), &target));

    // A list naming the host matches it, whatever else it holds. Left out: hosts the list
    // syntax cannot name, with a comma in them or a leading `*` or `.`, which an entry reads
    // as "subdomains of" (the URL parser allows `wss:/*./`, host `*.`: found by the fuzzer).
    if target.host.contains(',')
        || target.host.starts_with(['*', '.'])
        || target.host.trim_matches('.').is_empty()
    {
        return;
    }
    let host = if target.host.contains(':') {
        format!("[{}]", target.host)
    } else {
        target.host.clone()
    };
    assert!(no_proxy_matches(&format!("{no_proxy},{host}"), &target));
    assert!(no_proxy_matches(
        &format!("{host}:{}", target.port),
        &target
    ));
    assert!(!no_proxy_matches(
        &format!("{host}:{}", target.port.wrapping_add(1)),
        &target
    ));
}
