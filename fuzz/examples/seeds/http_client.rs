//! Seeds for `http_client`: a mode byte, a cut byte, then the peer's bytes (see
//! `fuzz/src/http_client.rs`). Real refusals as servers send them, chunked bodies (with the
//! `ffffffffffffffff` size that once overflowed), proxy answers to `CONNECT`, and URLs with
//! `no_proxy` lists.

use std::path::Path;

use super::Corpus;

const REFUSAL: u8 = 0;
const CHUNKED: u8 = 1;
const PROXY: u8 = 2;
const URL: u8 = 3;
/// Bit 7 of the mode: chunk extensions (chunked), credentials in the proxy URL (proxy).
const FLAG: u8 = 0x80;

pub fn seeds(root: &Path) {
    let c = Corpus::new(root, "http_client");
    let add = |name: &str, mode: u8, cut: u8, bytes: &[u8]| {
        c.add(name, &[&[mode, cut][..], bytes].concat())
    };

    add(
        "refusal_403_content_length",
        REFUSAL,
        0,
        b"HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: 27\r\n\r\n\
          token expired; log in again",
    );
    add(
        "refusal_401_chunked_bytewise",
        REFUSAL,
        1,
        b"HTTP/1.1 401 Unauthorized\r\nTransfer-Encoding: chunked\r\n\r\n\
          5\r\nlog i\r\n4\r\nn fi\r\n3\r\nrst\r\n0\r\n\r\n",
    );
    add(
        "refusal_chunk_size_u64_max",
        REFUSAL,
        0,
        b"HTTP/1.1 403 Forbidden\r\nTransfer-Encoding: chunked\r\n\r\n\
          ffffffffffffffff\r\nno such luck",
    );
    add(
        "refusal_502_no_length",
        REFUSAL,
        3,
        b"HTTP/1.1 502 Bad Gateway\r\nServer: nginx\r\n\r\nupstream down\n",
    );
    add(
        "refusal_duplex_origin",
        REFUSAL,
        0,
        b"HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain; charset=utf-8\r\n\
          Content-Length: 42\r\nConnection: close\r\n\r\n\
          origin https://evil.example is not allowed",
    );
    add(
        "refusal_426_version",
        REFUSAL,
        2,
        b"HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 13\r\n\
          Content-Length: 0\r\n\r\n",
    );
    let long = [
        &b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 2000\r\n\r\n"[..],
        &b"stack trace line\n".repeat(118),
    ]
    .concat();
    add("refusal_long_body", REFUSAL, 0x45, &long);
    add(
        "refusal_non_utf8_body",
        REFUSAL,
        0,
        b"HTTP/1.1 400 Bad Request\r\nContent-Length: 6\r\n\r\n\xff\xfe ok\xc3",
    );
    add(
        "wrong_accept",
        REFUSAL,
        0,
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
          Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n",
    );

    add("chunked_text", CHUNKED, 3, b"log in first");
    add(
        "chunked_extensions",
        CHUNKED | FLAG,
        1,
        b"{\"error\":\"forbidden\"}",
    );
    add(
        "chunked_size_u64_max",
        CHUNKED,
        0,
        b"ffffffffffffffff\r\nabc",
    );
    add(
        "chunked_size_past_u64",
        CHUNKED,
        0,
        b"1ffffffffffffffff\r\nabc\r\n0\r\n\r\n",
    );
    add(
        "chunked_long_bytewise",
        CHUNKED,
        1,
        &b"0123456789abcdef".repeat(90),
    );

    let established = b"HTTP/1.1 200 Connection established\r\n\r\n";
    add("proxy_200", PROXY, 0, established);
    add("proxy_200_bytewise", PROXY, 1, established);
    add(
        "proxy_200_http10",
        PROXY,
        0,
        b"HTTP/1.0 200 OK\r\nProxy-Agent: squid\r\n\r\n",
    );
    let auth = b"HTTP/1.1 407 Proxy Authentication Required\r\n\
                 Proxy-Authenticate: Basic realm=\"test\"\r\nContent-Length: 0\r\n\r\n";
    add("proxy_407", PROXY, 0, auth);
    add("proxy_407_with_credentials", PROXY | FLAG, 0, auth);
    add(
        "proxy_403",
        PROXY,
        2,
        b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n",
    );
    add(
        "proxy_200_early_data",
        PROXY,
        0,
        b"HTTP/1.1 200 OK\r\n\r\nHTTP/1.1 101 Switching Protocols\r\n\r\n",
    );
    add("proxy_garbage", PROXY, 0, b"SSH-2.0-OpenSSH_9.6\r\n");
    add("proxy_truncated", PROXY, 0, b"HTTP/1.1 200 Conn");
    add("proxy_bare_lf", PROXY, 0, b"HTTP/1.1 200 OK\n\n");

    let urls: &[(&str, &str)] = &[
        ("url_host", "ws://example.com/chat\nexample.com"),
        ("url_ipv6_port", "wss://[::1]:9001/a?b=c\n[::1]:9001"),
        (
            "url_ipv4_list",
            "ws://10.0.0.1:8080/\nfoo, 10.0.0.1, .example.org",
        ),
        (
            "url_proxy_credentials",
            "http://user:p%3Ass@proxy.local:3128/\n*",
        ),
        (
            "url_suffixes",
            "wss://a.example.com/\n.example.com:443,*.example.com",
        ),
        ("url_socks", "socks5://p:1080\n"),
        ("url_localhost", "ws://localhost:9001/\n"),
        ("url_fragment", "ws://example.com/#frag\n"),
        (
            "url_idn",
            "wss://xn--bcher-kva.example/\nb\u{fc}cher.example",
        ),
        ("url_trailing_dot", "ws://example.com.:80/\nexample.com."),
        ("url_ipv6_bare_entry", "wss://[2001:db8::1]/\n2001:db8::1"),
    ];
    for (name, text) in urls {
        add(name, URL, 0, text.as_bytes());
    }
}
