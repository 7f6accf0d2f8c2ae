//! A client made of bytes: the handshake request, masked frames, and readers that take the
//! server's answer apart. The tests that check what a server does with a broken or hostile
//! peer cannot use duplex's own client (it never sends such bytes), so they all build them
//! here, from one request and one frame encoder.

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use super::HANG_GUARD;

/// The `Sec-WebSocket-Key` of RFC 6455's example (section 1.3).
pub const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

/// An opening handshake request, as a browser would send it, that a test may change: the
/// method, the path, any header (replaced in place, so the order stays a browser's), or
/// without one.
///
/// ```ignore
/// let bytes = Request::new().header("Sec-WebSocket-Version", "8").bytes();
/// ```
#[derive(Clone, Debug)]
pub struct Request {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
}

impl Request {
    /// `GET /` with `Host`, `Upgrade`, `Connection`, the example key and version 13.
    pub fn new() -> Self {
        let headers = [
            ("Host", "localhost"),
            ("Upgrade", "websocket"),
            ("Connection", "Upgrade"),
            ("Sec-WebSocket-Key", KEY),
            ("Sec-WebSocket-Version", "13"),
        ];
        Request {
            method: "GET".to_owned(),
            path: "/".to_owned(),
            headers: headers
                .iter()
                .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
                .collect(),
        }
    }

    /// Another method than `GET`.
    pub fn method(mut self, method: &str) -> Self {
        method.clone_into(&mut self.method);
        self
    }

    /// Another path than `/`.
    pub fn path(mut self, path: &str) -> Self {
        path.clone_into(&mut self.path);
        self
    }

    /// Sets a header: replaces its value where it is, or adds it at the end.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        match self
            .headers
            .iter_mut()
            .find(|(have, _)| have.eq_ignore_ascii_case(name))
        {
            Some((_, old)) => value.clone_into(old),
            None => self.headers.push((name.to_owned(), value.to_owned())),
        }
        self
    }

    /// Leaves a header out.
    pub fn without(mut self, name: &str) -> Self {
        self.headers
            .retain(|(have, _)| !have.eq_ignore_ascii_case(name));
        self
    }

    /// The request head, ending with its blank line.
    pub fn bytes(&self) -> Vec<u8> {
        let mut head = format!("{} {} HTTP/1.1\r\n", self.method, self.path);
        for (name, value) in &self.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        head.into_bytes()
    }
}

impl Default for Request {
    fn default() -> Self {
        Request::new()
    }
}

/// The plain request of [`Request::new`].
pub fn request() -> Vec<u8> {
    Request::new().bytes()
}

/// A client frame: `first_byte` (FIN, RSV bits and opcode) and `payload`, masked as a client
/// must (with a fixed key, so a failure prints the same bytes every time).
pub fn masked(first_byte: u8, payload: &[u8]) -> Vec<u8> {
    let key = [1, 2, 3, 4];
    let mut out = vec![first_byte];
    match payload.len() {
        len @ 0..=125 => out.push(0x80 | len as u8),
        len @ 126..=0xffff => {
            out.push(0x80 | 126);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        }
        len => {
            out.push(0x80 | 127);
            out.extend_from_slice(&(len as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(&key);
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    out
}

/// A client's close frame with `code` (and no reason).
pub fn close_frame(code: u16) -> Vec<u8> {
    masked(0x88, &code.to_be_bytes())
}

/// A TCP connection to `addr` that has sent `request` (nothing else yet).
pub async fn connect(addr: SocketAddr, request: &[u8]) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream.write_all(request).await.expect("send the request");
    stream
}

/// A client that completes the handshake and then never reads, with a tiny receive buffer:
/// what a server queues for it stays queued.
pub async fn stalled(addr: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().expect("a socket");
    socket.set_recv_buffer_size(4096).expect("SO_RCVBUF");
    let mut stream = socket.connect(addr).await.expect("connect");
    stream
        .write_all(&request())
        .await
        .expect("send the request");
    stream
}

/// Everything the server sends until it closes TCP. With `answer_close`, the server's close
/// frame is answered with 1000 as soon as it arrives, as a well-behaved client does (then the
/// server ends the connection at once instead of after its close timeout).
///
/// Panics if the server keeps the connection open past [`HANG_GUARD`]: only a hang gets there.
pub async fn read_to_end(stream: &mut TcpStream, answer_close: bool) -> Vec<u8> {
    let mut answer = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    let mut replied = !answer_close;
    let deadline = tokio::time::Instant::now() + HANG_GUARD;
    loop {
        let read = tokio::time::timeout_at(deadline, stream.read(&mut buf));
        // A reset after our close counts as the end too.
        let n = read
            .await
            .expect("the server closes the connection")
            .unwrap_or(0);
        if n == 0 {
            return answer;
        }
        answer.extend_from_slice(&buf[..n]);
        if !replied && close_in(&answer).is_some() {
            // The server may have closed its side already: then this write fails, harmlessly.
            let _ = stream.write_all(&close_frame(1000)).await;
            replied = true;
        }
    }
}

/// Reads the server's answer up to the end of its head (byte by byte, so that nothing after
/// it is consumed); returns the head. Panics if the server closes first or hangs.
pub async fn read_head(stream: &mut TcpStream) -> String {
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8; 1];
        let n = tokio::time::timeout(HANG_GUARD, stream.read(&mut byte))
            .await
            .expect("the server answers")
            .expect("read the answer");
        assert_eq!(n, 1, "closed before the end of the head: {head:?}");
        head.push(byte[0]);
    }
    String::from_utf8_lossy(&head).into_owned()
}

/// The first line of an HTTP answer (empty if there is none).
pub fn status_line(answer: &[u8]) -> String {
    String::from_utf8_lossy(answer)
        .lines()
        .next()
        .unwrap_or("")
        .to_owned()
}

/// One frame from the server: its opcode and payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    /// The opcode (the FIN and RSV bits left out).
    pub opcode: u8,
    /// The payload (a server does not mask).
    pub payload: Vec<u8>,
}

/// The frames after the `101` head, as far as they are complete. Panics if there is no head:
/// every caller expects the handshake to have succeeded.
pub fn frames(answer: &[u8]) -> Vec<Frame> {
    let start = head_end(answer).expect("a 101 head before the frames");
    let mut frames = Vec::new();
    let mut at = start;
    while let Some((frame, next)) = frame_at(answer, at) {
        frames.push(frame);
        at = next;
    }
    frames
}

/// The code and reason of the first close frame after the head.
pub fn close_in(answer: &[u8]) -> Option<(u16, String)> {
    head_end(answer)?;
    frames(answer)
        .into_iter()
        .find(|frame| frame.opcode == 8)
        .map(|frame| close_payload(&frame.payload))
}

/// The code and reason of a close frame's payload (1005, "" when it has none).
pub fn close_payload(payload: &[u8]) -> (u16, String) {
    match payload {
        [high, low, reason @ ..] => (
            u16::from_be_bytes([*high, *low]),
            String::from_utf8_lossy(reason).into_owned(),
        ),
        _ => (1005, String::new()),
    }
}

/// Sends `request` and then `frames` on a new connection, answers the server's close, and
/// returns the code and reason the server closed with.
pub async fn close_after(addr: SocketAddr, request: &[u8], frames: &[u8]) -> (u16, String) {
    let mut stream = connect(addr, request).await;
    stream.write_all(frames).await.expect("send the frames");
    let answer = read_to_end(&mut stream, true).await;
    close_in(&answer).unwrap_or_else(|| {
        panic!(
            "no close frame in {:?}",
            String::from_utf8_lossy(&answer[..answer.len().min(512)])
        )
    })
}

fn head_end(answer: &[u8]) -> Option<usize> {
    answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|at| at + 4)
}

/// The frame that starts at `at`, and where the next one starts; `None` if incomplete.
fn frame_at(bytes: &[u8], at: usize) -> Option<(Frame, usize)> {
    let header = bytes.get(at..at + 2)?;
    let opcode = header[0] & 0x0f;
    let (len, start) = match header[1] & 0x7f {
        126 => {
            let len = bytes.get(at + 2..at + 4)?;
            (usize::from(u16::from_be_bytes([len[0], len[1]])), at + 4)
        }
        127 => {
            let len: [u8; 8] = bytes.get(at + 2..at + 10)?.try_into().ok()?;
            (usize::try_from(u64::from_be_bytes(len)).ok()?, at + 10)
        }
        len => (usize::from(len), at + 2),
    };
    let payload = bytes.get(start..start.checked_add(len)?)?.to_vec();
    Some((Frame { opcode, payload }, start + len))
}
