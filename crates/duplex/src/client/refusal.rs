//! The start of a refused handshake's body, for [`HandshakeError::Rejected`]: a server that
//! says no usually says why in its body, so the client reads a little of it.
//!
//! All of it is the server's to choose: the length, the chunk sizes (`ffffffffffffffff`
//! included), how the bytes are split into reads, how slowly they come. So reading stops at
//! [`BODY_SNIPPET`] bytes of data, [`CHUNKED_READ_LIMIT`] bytes on the wire or [`BODY_WAIT`],
//! whichever comes first; chunk sizes never enter unchecked arithmetic; and a chunked body is
//! parsed once as it arrives rather than again after every read.
//!
//! [`HandshakeError::Rejected`]: duplex_proto::HandshakeError::Rejected

use std::time::Duration;

use bytes::BytesMut;
use duplex_proto::handshake::MAX_HEADERS;
use tokio::io::AsyncRead;

use crate::io::poll_read_into;

/// How much of a refusal's body [`duplex_proto::HandshakeError::Rejected`] keeps.
pub(crate) const BODY_SNIPPET: usize = 1024;
/// How long to wait for that body after the refusal's head.
const BODY_WAIT: Duration = Duration::from_millis(500);
/// How many bytes of a chunked refusal body to read at most while looking for the snippet's
/// data: size lines cost bytes too (six per byte of data in one-byte chunks), but a server
/// must not make the client buffer without bound.
pub(crate) const CHUNKED_READ_LIMIT: usize = 16 * BODY_SNIPPET;

/// Reads the start of a refusal's body: up to its `Content-Length` and [`BODY_SNIPPET`]
/// bytes, waiting at most [`BODY_WAIT`]. `buf` holds the response head (which
/// `parse_response` accepted) and whatever followed.
pub(crate) async fn body_snippet<S: AsyncRead + Unpin>(
    stream: &mut S,
    buf: &mut BytesMut,
    headers: &[(String, String)],
) -> String {
    let Some(start) = head_len(buf) else {
        return String::new();
    };
    let header = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim())
    };
    let chunked = header("Transfer-Encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked"));
    let length = header("Content-Length").and_then(|v| v.parse::<usize>().ok());
    let want = length.unwrap_or(BODY_SNIPPET).min(BODY_SNIPPET);
    // For a chunked body only the chunk structure says where the data ends: "0\r\n\r\n" can
    // be data too, and the bytes read include the size lines.
    let mut chunks = Dechunker::new(want);
    let _ = tokio::time::timeout(BODY_WAIT, async {
        loop {
            let body = &buf[start..];
            let complete = if chunked {
                chunks.update(body) || body.len() >= CHUNKED_READ_LIMIT
            } else {
                body.len() >= want
            };
            if complete {
                break;
            }
            match std::future::poll_fn(|cx| poll_read_into(stream, cx, buf)).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
    })
    .await;
    let body = &buf[start..];
    let body = if chunked {
        chunks.finish(body).0
    } else {
        body[..want.min(body.len())].to_vec()
    };
    String::from_utf8_lossy(&body).trim().to_owned()
}

/// The length of the response head at the front of `buf`, as the parser that refused it
/// counts: a search for CRLF CRLF would be fooled by the empty lines allowed before the status
/// line, or by bare LF line ends. (A function of its own so that the header array is not
/// kept in `body_snippet`'s future.)
fn head_len(buf: &[u8]) -> Option<usize> {
    let mut raw = [httparse::EMPTY_HEADER; MAX_HEADERS];
    match httparse::Response::new(&mut raw).parse(buf) {
        Ok(httparse::Status::Complete(len)) => Some(len),
        _ => None,
    }
}

/// The data of a chunked body, as far as it goes, up to `limit` bytes, and whether the body's
/// last chunk (size 0) was reached.
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) fn dechunk(wire: &[u8], limit: usize) -> (Vec<u8>, bool) {
    Dechunker::new(limit).finish(wire)
}

/// A chunked body decoded as it arrives, keeping at most `limit` bytes of data.
///
/// Each [`Dechunker::update`] gets the body from its start, longer than the time before, and
/// parses only the chunks it has not parsed yet, so a server dribbling its body a byte at a
/// time costs linear work, not a parse of everything per read.
struct Dechunker {
    limit: usize,
    data: Vec<u8>,
    /// Wire bytes of the whole chunks parsed so far.
    parsed: usize,
    /// The last chunk (size 0) was reached.
    ended: bool,
    /// The framing broke (a size that is not hex, data not followed by CRLF): the body ends.
    broken: bool,
}

/// The size line at the front of `wire`: the size and the line's length with its CRLF;
/// `None` until the line is complete, `Some(None)` when it holds no size.
fn size_line(wire: &[u8]) -> Option<Option<(usize, usize)>> {
    let eol = wire.windows(2).position(|w| w == b"\r\n")?;
    let text = String::from_utf8_lossy(&wire[..eol]);
    let text = text.split(';').next().unwrap_or("").trim();
    Some(
        usize::from_str_radix(text, 16)
            .ok()
            .map(|size| (size, eol + 2)),
    )
}

impl Dechunker {
    fn new(limit: usize) -> Self {
        Dechunker {
            limit,
            data: Vec::new(),
            parsed: 0,
            ended: false,
            broken: false,
        }
    }

    /// Parses what `wire` added since the last call; true once no more bytes are needed: the
    /// last chunk arrived, the data fills `limit`, or the framing broke.
    fn update(&mut self, wire: &[u8]) -> bool {
        while !self.is_done() {
            let rest = &wire[self.parsed..];
            let (size, line) = match size_line(rest) {
                None => return false,
                Some(None) => {
                    self.broken = true;
                    break;
                }
                Some(Some(sized)) => sized,
            };
            if size == 0 {
                self.ended = true;
                break;
            }
            let chunk = &rest[line..];
            // The data and its CRLF; the size is the server's, so `+ 2` is checked.
            let Some(end) = size.checked_add(2).filter(|&end| end <= chunk.len()) else {
                // Not all here yet: enough if what did arrive fills the snippet.
                return self.data.len() + size.min(chunk.len()) >= self.limit;
            };
            self.push(&chunk[..size]);
            if &chunk[size..end] != b"\r\n" {
                self.broken = true;
                break;
            }
            self.parsed += line + end;
        }
        true
    }

    fn is_done(&self) -> bool {
        self.ended || self.broken || self.data.len() >= self.limit
    }

    /// Keeps as much of `data` as fits under the limit.
    fn push(&mut self, data: &[u8]) {
        let room = self.limit.saturating_sub(self.data.len());
        self.data.extend_from_slice(&data[..data.len().min(room)]);
    }

    /// The data of the whole body so far, including what arrived of an unfinished chunk, and
    /// whether the last chunk was reached.
    fn finish(mut self, wire: &[u8]) -> (Vec<u8>, bool) {
        self.update(wire);
        if !self.is_done() {
            if let Some(Some((size, line))) = size_line(&wire[self.parsed..]) {
                let chunk = &wire[self.parsed + line..];
                self.push(&chunk[..size.min(chunk.len())]);
            }
        }
        (self.data, self.ended)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dechunk_joins_chunks_and_ignores_extensions() {
        let wire = b"5;name=value\r\nlog i\r\n4\r\nn fi\r\n3\r\nrst\r\n0\r\n\r\n";
        assert_eq!(dechunk(wire, 1024), (b"log in first".to_vec(), true));
        assert_eq!(dechunk(wire, 7), (b"log in ".to_vec(), false));
        // The last chunk's marker inside data is data (found by the http_client fuzz target).
        assert_eq!(
            dechunk(b"8\r\n0\r\n\r\nabc\r\n", 1024),
            (b"0\r\n\r\nabc".to_vec(), false)
        );
    }

    #[test]
    fn dechunk_survives_sizes_a_server_should_not_send() {
        let huge = b"ffffffffffffffff\r\nno such luck";
        assert_eq!(dechunk(huge, 1024).0, b"no such luck");
        assert_eq!(dechunk(huge, 2).0, b"no");
        // One digit past usize, a size that is not hex, a size with no line end, nothing.
        assert_eq!(dechunk(b"1ffffffffffffffff\r\nabc", 1024).0, b"");
        assert_eq!(dechunk(b"zz\r\nabc\r\n", 1024).0, b"");
        assert_eq!(dechunk(b"ffffffffffffffff", 1024).0, b"");
        assert_eq!(dechunk(b"", 1024).0, b"");
        // A chunk shorter than its size ends the body; so does a missing CRLF after it.
        assert_eq!(dechunk(b"a\r\nshort", 1024).0, b"short");
        assert_eq!(dechunk(b"2\r\nabXX1\r\nc\r\n", 1024).0, b"ab");
        assert_eq!(dechunk(b"fffffffffffffffe\r\nxy", 1024).0, b"xy");
    }

    /// A reader that returns one scripted piece per read, then the end of the stream.
    struct Pieces(std::collections::VecDeque<&'static [u8]>);

    impl AsyncRead for Pieces {
        fn poll_read(
            mut self: std::pin::Pin<&mut Self>,
            _cx: &mut std::task::Context<'_>,
            buf: &mut tokio::io::ReadBuf<'_>,
        ) -> std::task::Poll<std::io::Result<()>> {
            if let Some(piece) = self.0.pop_front() {
                buf.put_slice(piece);
            }
            std::task::Poll::Ready(Ok(()))
        }
    }

    #[tokio::test]
    async fn a_chunked_body_is_read_to_its_last_chunk_not_to_a_look_alike() {
        let head = "HTTP/1.1 403 Forbidden\r\nTransfer-Encoding: chunked\r\n\r\n";
        let mut buf = BytesMut::from(format!("{head}8\r\n0\r\n\r\nabc\r\n").as_bytes());
        let mut rest = Pieces([&b"4\r\n, ok\r\n0\r\n\r\n"[..]].into());
        let headers = [("Transfer-Encoding".to_owned(), "chunked".to_owned())];
        let body = body_snippet(&mut rest, &mut buf, &headers).await;
        assert_eq!(body, "0\r\n\r\nabc, ok");
    }

    #[tokio::test]
    async fn a_chunked_body_dribbled_a_byte_at_a_time_is_read_whole() {
        let wire = b"5\r\nlog i\r\n4\r\nn fi\r\n3\r\nrst\r\n0\r\n\r\nnot read";
        let mut bytes = Pieces(wire.chunks(1).collect());
        let mut buf = BytesMut::from(&b"HTTP/1.1 401 Unauthorized\r\n\r\n"[..]);
        let headers = [("Transfer-Encoding".to_owned(), " Chunked ".to_owned())];
        let body = body_snippet(&mut bytes, &mut buf, &headers).await;
        assert_eq!(body, "log in first");
        // The last chunk's size line is the end; its trailer section is not needed.
        assert_eq!(
            bytes.0.len(),
            b"\r\nnot read".len(),
            "read past the last chunk"
        );
    }

    #[tokio::test]
    async fn the_body_starts_after_the_head_the_parser_read() {
        // Empty lines before the status line are allowed (found by the http_client fuzzer),
        // and so are bare LF line ends.
        let headers = [("Content-Length".to_owned(), "3".to_owned())];
        for head in [
            "\r\n\r\nHTTP/1.1 403 Forbidden\r\n\r\n",
            "HTTP/1.1 403 No\n\n",
        ] {
            let mut buf = BytesMut::from(format!("{head}why").as_bytes());
            let body = body_snippet(&mut Pieces([].into()), &mut buf, &headers).await;
            assert_eq!(body, "why", "{head:?}");
        }
    }

    #[tokio::test]
    async fn an_endless_chunk_is_read_only_to_the_snippet() {
        let mut buf = BytesMut::from(&b"HTTP/1.1 403 Forbidden\r\n\r\nffffffffffffffff\r\n"[..]);
        let mut data = Pieces(std::iter::repeat_n(&[b'x'; 100][..], 100).collect());
        let headers = [("Transfer-Encoding".to_owned(), "chunked".to_owned())];
        let body = body_snippet(&mut data, &mut buf, &headers).await;
        assert_eq!(body, "x".repeat(BODY_SNIPPET));
        assert!(data.0.len() >= 89, "read {} pieces", 100 - data.0.len());
    }
}
