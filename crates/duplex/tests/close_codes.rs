//! A peer that breaks the protocol over a real socket gets the exact close code, then the
//! server closes TCP; the server's application learns why. Every test runs on both drivers.

use duplex::{Config, DeflateConfig, Options, ServerBuilder};

#[macro_use]
mod common;
use common::raw::{self, masked};
use common::{serve, App, Driver};

/// Sends `frames` after `request` on a new connection to a server with `builder`'s policy;
/// returns the close code the server sent and how its application saw the connection end.
async fn close_code_with(
    driver: Driver,
    builder: ServerBuilder,
    request: &[u8],
    frames: &[u8],
) -> (u16, String) {
    let server = serve(driver, builder, App::Echo);
    let (code, _reason) = raw::close_after(server.addr, request, frames).await;
    let ends = server.wait_for_ends(1).await;
    let end = match &ends[..] {
        [Err(e)] => e.clone(),
        other => panic!("expected one connection ended by an error, got {other:?}"),
    };
    (code, end)
}

/// [`close_code_with`] the plain request and a server with `config`.
async fn close_code_for(driver: Driver, frames: &[u8], config: Config) -> (u16, String) {
    let builder = ServerBuilder::new().config(config);
    close_code_with(driver, builder, &raw::request(), frames).await
}

/// The close code for `frames` with the default limits; the server must report a protocol
/// error.
async fn protocol_error(driver: Driver, frames: &[u8]) -> u16 {
    let (code, error) = close_code_for(driver, frames, Config::default()).await;
    assert!(error.starts_with("protocol error by peer"), "{error}");
    code
}

async fn unmasked_frame_gets_1002(driver: Driver) {
    let (code, error) = close_code_for(driver, &[0x81, 0x02, b'h', b'i'], Config::default()).await;
    assert_eq!(code, 1002);
    assert!(error.contains("unmasked frame"), "{error}");
}
for_each_driver!(unmasked_frame_gets_1002);

async fn reserved_opcode_gets_1002(driver: Driver) {
    assert_eq!(protocol_error(driver, &masked(0x83, b"")).await, 1002);
}
for_each_driver!(reserved_opcode_gets_1002);

async fn rsv_bit_without_extension_gets_1002(driver: Driver) {
    assert_eq!(protocol_error(driver, &masked(0xc1, b"x")).await, 1002);
}
for_each_driver!(rsv_bit_without_extension_gets_1002);

async fn control_frame_too_long_or_fragmented_gets_1002(driver: Driver) {
    assert_eq!(protocol_error(driver, &masked(0x89, &[0; 126])).await, 1002);
    assert_eq!(protocol_error(driver, &masked(0x09, b"")).await, 1002);
}
for_each_driver!(control_frame_too_long_or_fragmented_gets_1002);

async fn continuation_without_start_and_nested_message_get_1002(driver: Driver) {
    assert_eq!(protocol_error(driver, &masked(0x80, b"x")).await, 1002);
    let mut nested = masked(0x01, b"a");
    nested.extend(masked(0x81, b"b"));
    assert_eq!(protocol_error(driver, &nested).await, 1002);
}
for_each_driver!(continuation_without_start_and_nested_message_get_1002);

async fn invalid_utf8_gets_1007(driver: Driver) {
    let text = masked(0x81, &[b'o', b'k', 0xff]);
    let (code, error) = close_code_for(driver, &text, Config::default()).await;
    assert_eq!(code, 1007);
    assert!(error.contains("UTF-8"), "{error}");
    let reason = masked(0x88, &[0x03, 0xe8, 0xff]);
    assert_eq!(protocol_error(driver, &reason).await, 1007);
}
for_each_driver!(invalid_utf8_gets_1007);

async fn message_over_the_limit_gets_1009(driver: Driver) {
    let config = Config::default().max_message_size(100);
    let (code, error) = close_code_for(driver, &masked(0x82, &[0; 200]), config).await;
    assert_eq!(code, 1009);
    assert!(error.contains("exceeds the limit"), "{error}");
}
for_each_driver!(message_over_the_limit_gets_1009);

async fn invalid_close_code_gets_1002(driver: Driver) {
    let close = masked(0x88, &1005u16.to_be_bytes());
    assert_eq!(protocol_error(driver, &close).await, 1002);
}
for_each_driver!(invalid_close_code_gets_1002);

/// 64 MiB of zeros, compressed by a client: one frame of about 64 KiB. Made once for both
/// drivers' tests (compressing takes a while in a debug build).
fn deflate_bomb() -> &'static [u8] {
    use duplex::proto::{Connection, DeflateParams, Role};
    static BOMB: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    BOMB.get_or_init(|| {
        let mut client = Connection::new(Role::Client, Config::default());
        client.enable_deflate(&DeflateParams::default(), &DeflateConfig::default());
        client.send_binary(&vec![0u8; 64 << 20]).unwrap();
        let out = client.outgoing();
        bytes::Buf::copy_to_bytes(out, bytes::Buf::remaining(out)).to_vec()
    })
}

async fn a_deflate_bomb_gets_1009(driver: Driver) {
    let bomb = deflate_bomb();
    assert!(bomb.len() < 128 * 1024);
    let server = ServerBuilder::new()
        .deflate(DeflateConfig::default())
        .config(Config::default().max_message_size(1 << 20));
    let offer = raw::Request::new()
        .header("Sec-WebSocket-Extensions", "permessage-deflate")
        .bytes();
    let (code, error) = close_code_with(driver, server, &offer, bomb).await;
    assert_eq!(code, 1009);
    assert!(error.contains("exceeds the limit"), "{error}");
}
for_each_driver!(a_deflate_bomb_gets_1009);

async fn a_truncated_frame_header_then_end_of_stream_is_an_abnormal_closure(driver: Driver) {
    // No keepalive: the end of stream itself must be noticed, not a failed ping 30 s later.
    let quiet = Options::default().ping_interval(None).idle_timeout(None);
    let server = serve(driver, ServerBuilder::new().options(quiet), App::Echo);
    let mut client = raw::connect(server.addr, &raw::request()).await;
    // All of the answer read first: closing with unread bytes would be a reset, not an end
    // of stream.
    let head = raw::read_head(&mut client).await;
    assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
    // The first 3 bytes of an 8-byte masked header, then the client goes away.
    tokio::io::AsyncWriteExt::write_all(&mut client, &[0x82, 0xfe, 0x01])
        .await
        .unwrap();
    drop(client);
    assert_eq!(
        server.wait_for_ends(1).await,
        [Err("connection closed without a close frame".to_owned())]
    );
}
for_each_driver!(a_truncated_frame_header_then_end_of_stream_is_an_abnormal_closure,
    tasks: #[tokio::test],
    event_loop: #[tokio::test]);
