//! A peer that breaks the protocol over a real socket gets the exact close code, then the
//! server closes TCP.

use duplex::{Config, ServerBuilder};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const REQUEST: &str =
    "GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
    Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

fn masked(first_byte: u8, payload: &[u8]) -> Vec<u8> {
    let key = [1, 2, 3, 4];
    let mut out = vec![first_byte];
    if payload.len() < 126 {
        out.push(0x80 | payload.len() as u8);
    } else {
        out.push(0x80 | 126);
        out.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    }
    out.extend_from_slice(&key);
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    out
}

/// Sends `frames` after the handshake; returns the close code the server sent and the error
/// its connection reported.
async fn close_code_for(frames: Vec<u8>, config: Config) -> (u16, String) {
    close_code_with(frames, ServerBuilder::new().config(config), REQUEST).await
}

async fn close_code_with(
    frames: Vec<u8>,
    builder: ServerBuilder,
    request: &'static str,
) -> (u16, String) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let mut ws = builder.accept(stream).await.unwrap();
        loop {
            match ws.recv().await {
                Ok(Some(_)) => continue,
                Ok(None) => return "closed cleanly".to_owned(),
                Err(e) => return e.to_string(),
            }
        }
    });
    let mut client = TcpStream::connect(addr).await.unwrap();
    client.write_all(request.as_bytes()).await.unwrap();
    client.write_all(&frames).await.unwrap();
    // Answer the server's close as a well-behaved client would, then read to the end.
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    let mut replied = false;
    loop {
        let n = client.read(&mut buf).await.unwrap();
        if n == 0 {
            break;
        }
        answer.extend_from_slice(&buf[..n]);
        if !replied && answer.windows(4).any(|w| w == b"\r\n\r\n") && find_close(&answer).is_some()
        {
            client
                .write_all(&masked(0x88, &1000u16.to_be_bytes()))
                .await
                .unwrap();
            replied = true;
        }
    }
    let code = find_close(&answer).expect("server sent a close frame");
    drop(client); // the server waits for our end of stream after its FIN
    (code, server.await.unwrap())
}

/// The close code in the first close frame after the 101 head.
fn find_close(answer: &[u8]) -> Option<u16> {
    let start = answer.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let frames = &answer[start..];
    let mut at = 0;
    while at + 2 <= frames.len() {
        let len = (frames[at + 1] & 0x7f) as usize;
        if frames[at] & 0x0f == 8 && at + 4 <= frames.len() {
            return Some(u16::from_be_bytes([frames[at + 2], frames[at + 3]]));
        }
        at += 2 + len;
    }
    None
}

#[tokio::test]
async fn unmasked_frame_gets_1002() {
    let (code, error) = close_code_for(vec![0x81, 0x02, b'h', b'i'], Config::default()).await;
    assert_eq!(code, 1002);
    assert!(error.contains("unmasked frame"), "{error}");
}

#[tokio::test]
async fn reserved_opcode_gets_1002() {
    assert_eq!(
        close_code_for(masked(0x83, b""), Config::default()).await.0,
        1002
    );
}

#[tokio::test]
async fn rsv_bit_without_extension_gets_1002() {
    assert_eq!(
        close_code_for(masked(0xc1, b"x"), Config::default())
            .await
            .0,
        1002
    );
}

#[tokio::test]
async fn control_frame_too_long_or_fragmented_gets_1002() {
    assert_eq!(
        close_code_for(masked(0x89, &[0; 126]), Config::default())
            .await
            .0,
        1002
    );
    assert_eq!(
        close_code_for(masked(0x09, b""), Config::default()).await.0,
        1002
    );
}

#[tokio::test]
async fn continuation_without_start_and_nested_message_get_1002() {
    assert_eq!(
        close_code_for(masked(0x80, b"x"), Config::default())
            .await
            .0,
        1002
    );
    let mut nested = masked(0x01, b"a");
    nested.extend(masked(0x81, b"b"));
    assert_eq!(close_code_for(nested, Config::default()).await.0, 1002);
}

#[tokio::test]
async fn invalid_utf8_gets_1007() {
    let (code, error) = close_code_for(masked(0x81, &[b'o', b'k', 0xff]), Config::default()).await;
    assert_eq!(code, 1007);
    assert!(error.contains("UTF-8"), "{error}");
    assert_eq!(
        close_code_for(masked(0x88, &[0x03, 0xe8, 0xff]), Config::default())
            .await
            .0,
        1007
    );
}

#[tokio::test]
async fn message_over_the_limit_gets_1009() {
    let config = Config::default().max_message_size(100);
    let (code, error) = close_code_for(masked(0x82, &[0; 200]), config).await;
    assert_eq!(code, 1009);
    assert!(error.contains("exceeds the limit"), "{error}");
}

#[tokio::test]
async fn invalid_close_code_gets_1002() {
    assert_eq!(
        close_code_for(masked(0x88, &1005u16.to_be_bytes()), Config::default())
            .await
            .0,
        1002
    );
}

#[tokio::test]
async fn a_deflate_bomb_gets_1009() {
    use duplex::proto::{Connection, DeflateParams, Role};
    use duplex::DeflateConfig;
    // 64 MiB of zeros, compressed by a client: one frame of about 64 KiB.
    let mut client = Connection::new(Role::Client, Config::default());
    client.enable_deflate(&DeflateParams::default(), &DeflateConfig::default());
    client.send_binary(&vec![0u8; 64 << 20]).unwrap();
    let out = client.outgoing();
    let bomb = bytes::Buf::copy_to_bytes(out, bytes::Buf::remaining(out)).to_vec();
    assert!(bomb.len() < 128 * 1024);
    let server = ServerBuilder::new()
        .deflate(DeflateConfig::default())
        .config(Config::default().max_message_size(1 << 20));
    const OFFER: &str =
        "GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
        Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
        Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n";
    let (code, error) = close_code_with(bomb, server, OFFER).await;
    assert_eq!(code, 1009);
    assert!(error.contains("exceeds the limit"), "{error}");
}

#[tokio::test]
async fn a_truncated_frame_header_then_end_of_stream_is_an_abnormal_closure() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let mut ws = duplex::accept(stream).await.unwrap();
        ws.recv().await.map(|_| ()).map_err(|e| e.to_string())
    });
    let mut client = TcpStream::connect(addr).await.unwrap();
    client.write_all(REQUEST.as_bytes()).await.unwrap();
    // The first 3 bytes of an 8-byte masked header, then the client goes away.
    client.write_all(&[0x82, 0xfe, 0x01]).await.unwrap();
    drop(client);
    let result = server.await.unwrap();
    assert_eq!(
        result,
        Err("connection closed without a close frame".to_owned())
    );
}
