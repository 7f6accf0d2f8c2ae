//! `handshake_request`: the server's parser of the opening handshake, and what it answers.
//!
//! Input: one control byte, then the request bytes. Bit 7 of the control byte clear: the
//! bytes go to [`Request::parse`] with the head limit `(control & 0x7f) * 64` (0 meaning the
//! default). Bit 7 set: the bytes are split into a method, a path and header lines (on `\n`,
//! each `name: value`) and handed straight to [`Request::from_head`] with version
//! `HTTP/1.(control & 1)`, so header values may hold what `httparse` would never let through
//! (CR, LF, NUL, non-UTF-8).
//!
//! Invariants: a parsed request parses the same from its head alone, and every strictly
//! shorter prefix of that head is "need more bytes"; `Request::parse` agrees with `from_head`
//! on the same pieces; the 101 answer is a well-formed HTTP response carrying the right
//! `Sec-WebSocket-Accept`; deflate offers negotiate into parameters a `Connection` accepts;
//! every refusal's response is a complete, well-formed HTTP response with the status the
//! error reports and a correct `Content-Length` (no header injection from request bytes).

use duplex_proto::handshake::{accept_key, server, MAX_HEADERS};
use duplex_proto::{Config, Connection, DeflateConfig, HandshakeError, Role};

use crate::input::Input;

/// The target.
pub fn run(data: &[u8]) {
    let mut input = Input::new(data);
    let control = input.byte();
    let bytes = input.rest();
    if control & 0x80 != 0 {
        from_pieces(control, bytes);
        return;
    }
    let max_head = match (control & 0x7f) as usize * 64 {
        0 => server::DEFAULT_MAX_HEAD,
        n => n,
    };
    match server::Request::parse(bytes, max_head) {
        Ok(None) => assert!(bytes.len() <= max_head, "Ok(None) past the head limit"),
        Ok(Some((request, head_len))) => {
            assert!(head_len <= bytes.len() && head_len <= max_head);
            let head = &bytes[..head_len];
            assert_eq!(
                server::Request::parse(head, max_head),
                Ok(Some((request.clone(), head_len)))
            );
            for cut in [head_len - 1, head_len / 2] {
                assert_eq!(server::Request::parse(&head[..cut], max_head), Ok(None));
            }
            assert_eq!(via_httparse(head), Some(Ok(request.clone())));
            check_request(&request);
        }
        Err(err) => check_refusal(&err),
    }
}

/// Parses with `httparse` directly and hands the pieces to `from_head`.
fn via_httparse(head: &[u8]) -> Option<Result<server::Request, HandshakeError>> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    match req.parse(head) {
        Ok(httparse::Status::Complete(_)) => {}
        _ => return None,
    }
    let raw: Vec<(&str, &[u8])> = req.headers.iter().map(|h| (h.name, h.value)).collect();
    Some(server::Request::from_head(
        req.method?,
        req.version?,
        req.path?,
        &raw,
    ))
}

/// `from_head` on pieces cut from the input, no HTTP parser in between.
fn from_pieces(control: u8, bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    let mut lines = text.split('\n');
    let method = lines.next().unwrap_or("");
    let path = lines.next().unwrap_or("");
    let headers: Vec<(&str, &[u8])> = lines
        .take(MAX_HEADERS)
        .map(|line| match line.split_once(':') {
            Some((name, value)) => (name, value.as_bytes()),
            None => (line, &b""[..]),
        })
        .collect();
    match server::Request::from_head(method, control & 1, path, &headers) {
        Ok(request) => check_request(&request),
        Err(err) => check_refusal(&err),
    }
}

/// What follows a successful parse: the 101 answer and deflate negotiation.
fn check_request(request: &server::Request) {
    assert!(!request.key.is_empty());
    let answer = request.accept(None, None, &[]);
    let (status, headers, _) = parse_response(&answer).expect("our 101 is valid HTTP");
    assert_eq!(status, 101);
    let accept = accept_key(request.key.as_bytes());
    assert!(
        headers
            .iter()
            .any(|(n, v)| n.eq_ignore_ascii_case("Sec-WebSocket-Accept") && *v == accept),
        "missing Sec-WebSocket-Accept"
    );
    for config in [
        DeflateConfig::default(),
        DeflateConfig::lean().max_window_bits(10),
    ] {
        if let Some((params, answer)) = config.accept_offers(&request.extensions) {
            for bits in [params.server_max_window_bits, params.client_max_window_bits] {
                assert!((8..=15).contains(&bits), "{params:?}");
            }
            assert!(!answer.contains(['\r', '\n']), "{answer:?}");
            let mut conn = Connection::new(Role::Server, Config::default());
            conn.enable_deflate(&params, &config);
            // Our answer fed back through the client-side check: it must not panic.
            let _ = DeflateConfig::default().check_answer(&[answer]);
        }
    }
}

/// A refusal must come with a well-formed HTTP answer that says the same status.
fn check_refusal(err: &HandshakeError) {
    let Some(response) = err.response() else {
        return;
    };
    let (status, headers, body) =
        parse_response(&response).unwrap_or_else(|| panic!("refusal for {err:?} is not HTTP"));
    assert_eq!(Some(status), err.status(), "{err:?}");
    let length = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("Content-Length"))
        .map(|(_, v)| v.parse::<usize>().expect("numeric Content-Length"));
    assert_eq!(length, Some(body.len()), "Content-Length of {err:?}");
}

/// Status, headers and body of an HTTP response.
type ParsedResponse<'a> = (u16, Vec<(String, String)>, &'a [u8]);

/// Status, headers and body of a whole HTTP response, or `None` if it is not one.
fn parse_response(bytes: &[u8]) -> Option<ParsedResponse<'_>> {
    let mut raw = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut res = httparse::Response::new(&mut raw);
    let httparse::Status::Complete(n) = res.parse(bytes).ok()? else {
        return None;
    };
    let headers = res
        .headers
        .iter()
        .map(|h| {
            let value = std::str::from_utf8(h.value).ok()?;
            Some((h.name.to_owned(), value.to_owned()))
        })
        .collect::<Option<Vec<_>>>()?;
    Some((res.code?, headers, &bytes[n..]))
}
