//! Writes the seed corpora under `fuzz/corpus/<target>/`: small, valid and almost-valid
//! inputs for each target, so fuzzing starts from real frames, handshakes and compressed
//! messages instead of rediscovering them.
//!
//! ```text
//! cargo run --manifest-path fuzz/Cargo.toml --no-default-features --example seeds
//! ```
//!
//! Output is deterministic (fixed masking keys, deterministic deflate), so re-running it
//! changes nothing unless this file changed. Files the fuzzer added are left alone.

use std::path::{Path, PathBuf};

// Beside this file rather than in it, which is long enough with the other targets.
#[path = "seeds/http_client.rs"]
mod http_client;

use bytes::Buf;
use duplex_proto::{
    apply_mask, Config, Connection, DeflateConfig, DeflateParams, FrameHeader, OpCode, Role,
};

const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// One frame on the wire, masked with `KEY` when `masked`.
fn frame(opcode: OpCode, fin: bool, rsv1: bool, payload: &[u8], masked: bool) -> Vec<u8> {
    let mut header = FrameHeader::new(opcode, payload.len() as u64).with_fin(fin);
    header.rsv1 = rsv1;
    if masked {
        header.mask = Some(KEY);
    }
    let mut out = vec![0u8; header.encoded_len()];
    header.encode(&mut out);
    let mut body = payload.to_vec();
    if masked {
        apply_mask(&mut body, KEY);
    }
    out.extend_from_slice(&body);
    out
}

/// Compressed payloads of `messages`, as a sender in `role` with `params` produces them (one
/// connection, so context takeover carries from one message to the next).
fn compressed(role: Role, params: DeflateParams, messages: &[&[u8]]) -> Vec<Vec<u8>> {
    let mut conn = Connection::new(role, Config::default());
    conn.enable_deflate(&params, &DeflateConfig::default().threshold(0));
    messages
        .iter()
        .map(|m| {
            conn.send_binary(m).expect("open");
            let out = conn.outgoing();
            let wire = out.copy_to_bytes(out.remaining());
            let (h, n) = FrameHeader::decode(&wire).unwrap().unwrap();
            assert!(h.rsv1, "threshold 0 compresses everything");
            let mut payload = wire[n..].to_vec();
            if let Some(key) = h.mask {
                apply_mask(&mut payload, key);
            }
            payload
        })
        .collect()
}

struct Corpus {
    dir: PathBuf,
}

impl Corpus {
    fn new(root: &Path, target: &str) -> Self {
        let dir = root.join(target);
        std::fs::create_dir_all(&dir).expect("create corpus dir");
        Corpus { dir }
    }

    fn add(&self, name: &str, bytes: &[u8]) {
        std::fs::write(self.dir.join(name), bytes).expect("write seed");
    }
}

/// Frame-target seeds for a connection in `role`: the peer's frames are masked for a server.
fn frames(root: &Path, target: &str, role: Role) {
    let c = Corpus::new(root, target);
    let masked = role == Role::Server;
    let peer = match role {
        Role::Server => Role::Client,
        Role::Client => Role::Server,
    };
    let f = |op, fin, payload: &[u8]| frame(op, fin, false, payload, masked);
    let seed = |control: [u8; 4], frames: &[Vec<u8>]| [&control[..], &frames.concat()].concat();

    let hello = f(OpCode::Text, true, b"Hello");
    c.add("text", &seed([0, 0, 0, 0], std::slice::from_ref(&hello)));
    c.add(
        "text_bytewise",
        &seed([0, 0, 0, 1], std::slice::from_ref(&hello)),
    );
    c.add("text_echo", &seed([0x20, 0, 0, 3], &[hello.clone(), hello]));
    let unicode = "😀 ünïcödé €".as_bytes();
    c.add(
        "text_unicode_split",
        &seed([0, 0, 0, 2], &[f(OpCode::Text, true, unicode)]),
    );
    let pattern: Vec<u8> = (0..=255u8).collect();
    c.add(
        "binary_len16",
        &seed([0, 0, 0, 7], &[f(OpCode::Binary, true, &pattern)]),
    );
    // A 64-bit length form for a small payload (not minimal, but legal to receive).
    let mut long = vec![0x82, if masked { 0xff } else { 0x7f }];
    long.extend_from_slice(&200u64.to_be_bytes());
    let mut body = pattern[..200].to_vec();
    if masked {
        long.extend_from_slice(&KEY);
        apply_mask(&mut body, KEY);
    }
    long.extend_from_slice(&body);
    c.add("binary_len64", &seed([0, 0, 0, 0x45], &[long]));
    let control = [
        f(OpCode::Ping, true, b"abc"),
        f(OpCode::Pong, true, b"xyz"),
        f(OpCode::Close, true, b"\x03\xe8bye"),
    ];
    c.add("ping_pong_close", &seed([0, 0, 0, 0], &control));
    c.add("ping_no_autopong", &seed([0x08, 0, 0, 5], &control[..1]));
    let fragmented = [
        f(OpCode::Text, false, b"Hel"),
        f(OpCode::Ping, true, b"p"),
        f(OpCode::Continuation, false, b"lo \xe2\x82"),
        f(OpCode::Continuation, true, b"\xac!"),
    ];
    c.add("fragmented_text", &seed([0x20, 0, 0, 3], &fragmented));
    c.add(
        "fragmented_binary",
        &seed(
            [0x20, 0, 1, 0],
            &[
                f(OpCode::Binary, false, &pattern),
                f(OpCode::Continuation, true, &pattern),
            ],
        ),
    );
    c.add(
        "close_empty",
        &seed([0, 0, 0, 0], &[f(OpCode::Close, true, b"")]),
    );
    c.add(
        "close_one_byte",
        &seed([0, 0, 0, 0], &[f(OpCode::Close, true, b"\x03")]),
    );
    c.add(
        "close_1005",
        &seed([0, 0, 0, 0], &[f(OpCode::Close, true, b"\x03\xed")]),
    );
    c.add(
        "close_bad_utf8",
        &seed([0, 0, 0, 0], &[f(OpCode::Close, true, b"\x03\xe8\xff")]),
    );
    c.add(
        "text_after_close",
        &seed(
            [0, 0, 0, 0],
            &[
                f(OpCode::Close, true, b"\x0f\xa0"),
                f(OpCode::Text, true, b"x"),
            ],
        ),
    );
    c.add(
        "text_invalid_utf8",
        &seed(
            [0, 0, 0, 1],
            &[f(OpCode::Text, true, b"ok\xf4\x90\x80\x80")],
        ),
    );
    c.add(
        "text_truncated_utf8",
        &seed([0, 0, 0, 0], &[f(OpCode::Text, true, b"\xe2\x82")]),
    );
    c.add(
        "reserved_opcode",
        &seed(
            [0, 0, 0, 0],
            &[frame(OpCode::Binary, true, false, b"", masked)
                .into_iter()
                .enumerate()
                .map(|(i, b)| if i == 0 { 0x83 } else { b })
                .collect()],
        ),
    );
    let mut rsv2 = f(OpCode::Binary, true, b"x");
    rsv2[0] |= 0x20;
    c.add("rsv2", &seed([0, 0, 0, 0], &[rsv2]));
    c.add(
        "wrong_masking",
        &seed(
            [0, 0, 0, 0],
            &[frame(OpCode::Text, true, false, b"hi", !masked)],
        ),
    );
    let mut huge = vec![0x82, if masked { 0xff } else { 0x7f }];
    huge.extend_from_slice(&(1u64 << 62).to_be_bytes());
    if masked {
        huge.extend_from_slice(&KEY);
    }
    c.add("huge_length", &seed([0, 0, 0, 0], &[huge]));
    let mut big_ping = f(OpCode::Ping, true, &[b'p'; 126]);
    big_ping.truncate(big_ping.len() - 60);
    c.add("control_too_big", &seed([0, 0, 0, 0], &[big_ping]));
    c.add(
        "fragmented_ping",
        &seed([0, 0, 0, 0], &[f(OpCode::Ping, false, b"p")]),
    );
    c.add(
        "stray_continuation",
        &seed([0, 0, 0, 0], &[f(OpCode::Continuation, true, b"x")]),
    );
    c.add(
        "over_frame_limit",
        &seed([0, 0, 3, 0], &[f(OpCode::Binary, true, &pattern)]),
    );
    c.add(
        "over_message_limit",
        &seed(
            [0, 0, 3, 0],
            &[
                f(OpCode::Binary, false, &pattern[..100]),
                f(OpCode::Continuation, false, &pattern[..100]),
                f(OpCode::Continuation, true, &pattern[..100]),
            ],
        ),
    );

    // permessage-deflate: the control bytes' flags bit 0 turns it on.
    let z = |fin: bool, op, payload: &[u8]| frame(op, fin, true, payload, masked);
    let json = br#"{"symbol":"ACME","price":101.5,"volume":1200}"#.repeat(4);
    let params = DeflateParams::default();
    let m = compressed(peer, params, &[&json, &json, b"tail"]);
    c.add(
        "deflate_text",
        &seed([0x01, 0x77, 0, 0], &[z(true, OpCode::Text, &m[0])]),
    );
    c.add(
        "deflate_context_takeover",
        &seed(
            [0x21, 0x77, 0, 0x0f],
            &[
                z(true, OpCode::Text, &m[0]),
                z(true, OpCode::Binary, &m[1]),
                z(true, OpCode::Text, &m[2]),
            ],
        ),
    );
    let half = m[0].len() / 2;
    c.add(
        "deflate_fragmented",
        &seed(
            [0x61, 0x77, 0, 0],
            &[
                z(false, OpCode::Text, &m[0][..half]),
                f(OpCode::Ping, true, b""),
                f(OpCode::Continuation, true, &m[0][half..]),
            ],
        ),
    );
    c.add(
        "deflate_rsv1_on_continuation",
        &seed(
            [0x01, 0x77, 0, 0],
            &[
                z(false, OpCode::Text, &m[0][..half]),
                z(true, OpCode::Continuation, &m[0][half..]),
            ],
        ),
    );
    let lean = DeflateParams {
        server_no_context_takeover: true,
        client_no_context_takeover: true,
        server_max_window_bits: 9,
        client_max_window_bits: 9,
    };
    let m9 = compressed(peer, lean, &[&json, &json]);
    c.add(
        "deflate_no_context_takeover_9_bits",
        &seed(
            [0x37, 0x11, 0, 0x21],
            &[z(true, OpCode::Text, &m9[0]), z(true, OpCode::Text, &m9[1])],
        ),
    );
    // Agreed 8-bit windows: a peer's zlib really compresses with 9 bits, which we inflate.
    let window9 = DeflateParams {
        server_max_window_bits: 9,
        client_max_window_bits: 9,
        ..DeflateParams::default()
    };
    let m8 = compressed(peer, window9, &[&json]);
    c.add(
        "deflate_window_8",
        &seed([0x61, 0x00, 0, 0], &[z(true, OpCode::Binary, &m8[0])]),
    );
    let bomb = compressed(peer, params, &[&vec![0u8; 1 << 20]]);
    c.add(
        "deflate_bomb",
        &seed([0x01, 0x77, 2, 0], &[z(true, OpCode::Binary, &bomb[0])]),
    );
    c.add(
        "deflate_garbage",
        &seed(
            [0x01, 0x77, 0, 0],
            &[z(true, OpCode::Binary, b"\xff\xff\xff\xff")],
        ),
    );
    c.add(
        "deflate_invalid_utf8",
        &seed(
            [0x01, 0x77, 0, 0],
            &[z(
                true,
                OpCode::Text,
                &compressed(peer, params, &[b"ok\xc0\xafok"])[0],
            )],
        ),
    );
    c.add(
        "rsv1_without_deflate",
        &seed([0, 0, 0, 0], &[z(true, OpCode::Text, &m[0])]),
    );
}

fn handshake_request(root: &Path) {
    let c = Corpus::new(root, "handshake_request");
    let base = "GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n\
                Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
                Origin: http://example.com\r\nSec-WebSocket-Protocol: chat, superchat\r\n\
                Sec-WebSocket-Version: 13\r\n";
    let with = |extra: &str| format!("\0{base}{extra}\r\n").into_bytes();
    c.add("rfc6455", &with(""));
    c.add(
        "chromium_deflate",
        &with("Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"),
    );
    c.add(
        "deflate_offers",
        &with(
            "Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=10; \
             client_no_context_takeover, permessage-deflate\r\n\
             Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; \
             client_max_window_bits=9\r\n",
        ),
    );
    c.add(
        "deflate_bad_offers",
        &with(
            "Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=8, \
             permessage-deflate; server_max_window_bits, x-webkit-deflate-frame, \
             permessage-deflate; client_no_context_takeover; client_no_context_takeover, \
             permessage-deflate; client_max_window_bits=16; foo=\"bar\"\r\n",
        ),
    );
    c.add(
        "trailing_frame",
        &[
            with("").as_slice(),
            b"\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58",
        ]
        .concat(),
    );
    c.add("partial", &with("")[..base.len() - 10]);
    c.add("small_limit", &[&[1u8][..], &with("")[1..]].concat());
    let lower =
        "GET / HTTP/1.1\r\nhost: a\r\nupgrade: WebSocket\r\nconnection: keep-alive, upgrade\r\n\
                 sec-websocket-key: AAAAAAAAAAAAAAAAAAAAAA==\r\nsec-websocket-version: 13\r\n\r\n";
    c.add("lowercase", format!("\0{lower}").as_bytes());
    let replace = |from: &str, to: &str| format!("\0{}\r\n", base.replace(from, to)).into_bytes();
    c.add("post", &replace("GET", "POST"));
    c.add("http10", &replace("HTTP/1.1", "HTTP/1.0"));
    c.add(
        "missing_key",
        &replace("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", ""),
    );
    c.add(
        "short_key",
        &replace("dGhlIHNhbXBsZSBub25jZQ==", "dGhlIHNhbXBsZQ=="),
    );
    c.add(
        "duplicate_key",
        &with("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"),
    );
    c.add("version_8", &replace("Version: 13", "Version: 8"));
    c.add("missing_host", &replace("Host: server.example.com\r\n", ""));
    c.add(
        "bad_subprotocol",
        &replace("chat, superchat", "ch@t, \"x\""),
    );
    c.add("no_upgrade", &replace("Upgrade: websocket\r\n", ""));
    c.add("too_many_headers", &with(&"X-A: b\r\n".repeat(70)));
    c.add(
        "not_http",
        b"\0\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
    );
    // from_head directly: bit 7 of the control byte, then method, path and header lines.
    let pieces = "GET\n/chat\nHost: x\nUpgrade: websocket\nConnection: upgrade\n\
                  Sec-WebSocket-Version: 13\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\n\
                  Sec-WebSocket-Protocol: chat\nSec-WebSocket-Extensions: permessage-deflate";
    c.add("pieces_valid", &[&[0x81u8][..], pieces.as_bytes()].concat());
    c.add(
        "pieces_injection",
        &[
            &[0x81u8][..],
            pieces
                .replace("Version: 13", "Version: 1\r\n3\0")
                .as_bytes(),
        ]
        .concat(),
    );
    c.add(
        "pieces_bad_subprotocol",
        &[
            &[0x81u8][..],
            pieces
                .replace("Protocol: chat", "Protocol: a\rb\u{e9}")
                .as_bytes(),
        ]
        .concat(),
    );
}

fn handshake_response(root: &Path) {
    let c = Corpus::new(root, "handshake_response");
    let ok = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
              Sec-WebSocket-Accept: {accept}\r\n";
    let with = |extra: &str| format!("\0{ok}{extra}\r\n").into_bytes();
    c.add("plain", &with(""));
    c.add("subprotocol", &with("Sec-WebSocket-Protocol: chat\r\n"));
    c.add(
        "deflate",
        &with(
            "Sec-WebSocket-Protocol: superchat\r\nSec-WebSocket-Extensions: permessage-deflate; \
             client_max_window_bits=10; server_no_context_takeover\r\n",
        ),
    );
    c.add(
        "deflate_bad_answers",
        &with(
            "Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=16\r\n\
             Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n",
        ),
    );
    c.add(
        "deflate_twice",
        &with("Sec-WebSocket-Extensions: permessage-deflate, permessage-deflate\r\n"),
    );
    c.add(
        "extension_not_offered",
        &with("Sec-WebSocket-Extensions: x-webkit-deflate-frame\r\n"),
    );
    c.add(
        "subprotocol_not_offered",
        &with("Sec-WebSocket-Protocol: mqtt\r\n"),
    );
    c.add(
        "two_subprotocols",
        &with("Sec-WebSocket-Protocol: chat, superchat\r\n"),
    );
    c.add(
        "wrong_accept",
        format!(
            "\0{}\r\n",
            ok.replace("{accept}", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
        )
        .as_bytes(),
    );
    c.add(
        "missing_upgrade",
        format!("\0{}\r\n", ok.replace("Upgrade: websocket\r\n", "")).as_bytes(),
    );
    c.add(
        "trailing_frame",
        &[with("").as_slice(), b"\x81\x05Hello"].concat(),
    );
    c.add("partial", &with("")[..40]);
    c.add("small_limit", &[&[1u8][..], &with("")[1..]].concat());
    c.add(
        "refused_426",
        b"\0HTTP/1.1 426 Upgrade Required\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\
          Content-Length: 5\r\n\r\nnope\n",
    );
    c.add("refused_400", b"\0HTTP/1.1 400 Bad Request\r\n\r\n");
    c.add(
        "http10",
        format!("\0{}\r\n", ok.replace("HTTP/1.1", "HTTP/1.0")).as_bytes(),
    );
}

fn close_payload(root: &Path) {
    let c = Corpus::new(root, "close_payload");
    c.add("empty", b"");
    c.add("one_byte", b"\x03");
    c.add("normal", b"\x03\xe8");
    c.add("normal_reason", b"\x03\xe8bye");
    c.add("app_unicode", "\u{f}\u{a0}bye ✓".as_bytes());
    c.add("code_1005", b"\x03\xed");
    c.add("code_4999", b"\x13\x87");
    c.add("code_5000", b"\x13\x88");
    c.add("bad_utf8", b"\x03\xe8\xc0\xaf");
    c.add("reason_123", &[&b"\x03\xe9"[..], &[b'r'; 123]].concat());
    c.add("reason_124", &[&b"\x03\xe9"[..], &[b'r'; 124]].concat());
}

fn utf8_split(root: &Path) {
    let c = Corpus::new(root, "utf8_split");
    let add =
        |name: &str, chunking: u8, bytes: &[u8]| c.add(name, &[&[chunking][..], bytes].concat());
    add("ascii", 0, b"hello world");
    add("mixed_bytewise", 1, "aé€😀z".as_bytes());
    add("mixed_pairs", 2, "ünïcödé ✓ 你好 😀".as_bytes());
    add("surrogate", 1, b"ab\xed\xa0\x80");
    add("beyond_max", 1, b"\xf4\x90\x80\x80");
    add("max_scalar", 3, b"\xf4\x8f\xbf\xbf");
    add("overlong", 1, b"\xc0\xaf\xe0\x80\xaf");
    add("truncated", 2, b"ok\xe2\x82");
    add("stray_continuation", 0, b"\x80abc");
    add("long_valid", 0x41, "κόσμε 😀 ".repeat(40).as_bytes());
}

fn deflate_roundtrip(root: &Path) {
    let c = Corpus::new(root, "deflate_roundtrip");
    let add =
        |name: &str, control: [u8; 4], data: &[u8]| c.add(name, &[&control[..], data].concat());
    let json = br#"{"user":"alice","text":"hello there, how are you today?"}"#.repeat(3);
    add("negotiated_default", [0x00, 0x3f, 0x3f, 0x7f], &json);
    add("alternating", [0x22, 0x3f, 0x3f, 0x1f], &json);
    add("lean_small_windows", [0x12, 0xc0, 0xc1, 0x0f], &json);
    add("raw_window_8", [0x08, 0x00, 0x00, 0x40], &json);
    add("raw_mixed", [0x0b, 0x5d, 0x00, 0x09], &json);
    let noise: Vec<u8> = (0..600u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    add("binary_noise", [0x94, 0x07, 0x38, 0x7f], &noise);
    add("zeros_level_0", [0x04, 0x3f, 0x3f, 0x00], &[0u8; 2000]);
    add("empty_messages", [0x00, 0x3f, 0x3f, 0x01], b"");
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    frames(&root, "frame_server", Role::Server);
    frames(&root, "frame_client", Role::Client);
    handshake_request(&root);
    handshake_response(&root);
    close_payload(&root);
    utf8_split(&root);
    deflate_roundtrip(&root);
    http_client::seeds(&root);
    println!("seeds written under {}", root.display());
}
