//! The duplex client and server together, over loopback: what an application does.

use std::time::Duration;

use duplex::{ClientBuilder, CloseCode, Error, Event, Message, ServerBuilder};
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpListener;

mod common;
use common::echo_server;

#[tokio::test]
async fn echo_text_and_binary() {
    let url = echo_server(ServerBuilder::new()).await;
    let (mut ws, _) = duplex::connect(&url).await.unwrap();
    for message in [
        Message::text(""),
        Message::text("héllo ✓"),
        Message::binary(vec![0u8; 70_000]),
    ] {
        ws.send(message.clone()).await.unwrap();
        assert_eq!(ws.recv().await.unwrap(), Some(message));
    }
    ws.close(CloseCode::NORMAL, "done").await.unwrap();
    assert_eq!(ws.close_frame().map(|f| f.code), Some(CloseCode::NORMAL));
    assert!(matches!(ws.next_event().await, Err(Error::AlreadyClosed)));
}

#[tokio::test]
async fn subprotocol_is_negotiated_in_client_order() {
    let url = echo_server(ServerBuilder::new().protocols(["chat", "superchat"])).await;
    let (ws, response) = ClientBuilder::new()
        .protocol("superchat")
        .protocol("chat")
        .connect(&url)
        .await
        .unwrap();
    assert_eq!(response.protocol.as_deref(), Some("superchat"));
    assert_eq!(ws.protocol(), Some("superchat"));
    let (ws, _) = ClientBuilder::new()
        .protocol("other")
        .connect(&url)
        .await
        .unwrap();
    assert_eq!(ws.protocol(), None);
}

#[tokio::test]
async fn ping_is_answered_with_the_same_payload() {
    let url = echo_server(ServerBuilder::new()).await;
    let (mut ws, _) = duplex::connect(&url).await.unwrap();
    ws.ping("are you there").await.unwrap();
    match ws.next_event().await.unwrap() {
        Event::Pong(payload) => assert_eq!(&payload[..], b"are you there"),
        other => panic!("expected a pong, got {other:?}"),
    }
}

#[tokio::test]
async fn the_server_sees_the_clients_close_code_and_reason() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    let server = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let mut ws = duplex::accept(stream).await.unwrap();
        assert_eq!(ws.recv().await.unwrap(), None);
        ws.close_frame().cloned()
    });
    let (mut ws, _) = duplex::connect(&url).await.unwrap();
    ws.close(4001u16, "going home").await.unwrap();
    let seen = server.await.unwrap().unwrap();
    assert_eq!(
        (seen.code, seen.reason.as_str()),
        (CloseCode(4001), "going home")
    );
}

#[tokio::test]
async fn split_halves_work_from_two_tasks() {
    let url = echo_server(ServerBuilder::new()).await;
    let (ws, _) = duplex::connect(&url).await.unwrap();
    let (mut reader, mut writer) = ws.split();
    let sender = tokio::spawn(async move {
        for i in 0..500 {
            writer.feed(format!("{i}")).await.unwrap();
        }
        writer.flush().await.unwrap();
        writer
    });
    for i in 0..500 {
        let message = reader.recv().await.unwrap().unwrap();
        assert_eq!(message.as_text(), Some(format!("{i}").as_str()));
    }
    let mut writer = sender.await.unwrap();
    writer.close(CloseCode::NORMAL, "").await.unwrap();
    assert_eq!(reader.recv().await.unwrap(), None);
    assert_eq!(
        reader.close_frame().map(|f| f.code),
        Some(CloseCode::NORMAL)
    );
}

#[tokio::test]
async fn stream_and_sink() {
    let url = echo_server(ServerBuilder::new()).await;
    let (mut ws, _) = duplex::connect(&url).await.unwrap();
    ws.send_all(&mut futures_util::stream::iter(
        (0..10).map(|i| Ok(Message::text(format!("m{i}")))),
    ))
    .await
    .unwrap();
    let got: Vec<_> = (&mut ws).take(10).map(|m| m.unwrap()).collect().await;
    assert_eq!(got.len(), 10);
    assert_eq!(got[9].as_text(), Some("m9"));
}

#[tokio::test]
async fn ipv6_literal_urls_connect() {
    let Ok(listener) = TcpListener::bind("[::1]:0").await else {
        eprintln!("no IPv6 loopback on this machine");
        return;
    };
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let mut ws = duplex::accept(stream).await.unwrap();
        let m = ws.recv().await.unwrap().unwrap();
        ws.send(m).await.unwrap();
        let _ = ws.recv().await;
    });
    let (mut ws, _) = duplex::connect(&format!("ws://[::1]:{port}/v6"))
        .await
        .unwrap();
    ws.send("over v6").await.unwrap();
    assert_eq!(ws.recv().await.unwrap().unwrap().as_text(), Some("over v6"));
}

#[tokio::test]
async fn client_errors_say_what_went_wrong() {
    // Nothing listens on this port.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let err = duplex::connect(&format!("ws://127.0.0.1:{port}/"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Connect { source, .. } if source.kind() == std::io::ErrorKind::ConnectionRefused),
        "{err}"
    );

    assert!(matches!(
        duplex::connect("ftp://example.com/").await,
        Err(Error::InvalidUrl(_))
    ));
    assert!(matches!(
        duplex::connect("ws://h/#frag").await,
        Err(Error::InvalidUrl(_))
    ));

    // An HTTP server that is not a WebSocket server.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        use tokio::io::AsyncWriteExt;
        let (mut s, _) = listener.accept().await.unwrap();
        s.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nnot here\n")
            .await
            .unwrap();
    });
    let err = duplex::connect(&format!("ws://{addr}/")).await.unwrap_err();
    assert!(err.to_string().contains("404 Not Found"), "{err}");

    // A server that accepts TCP and says nothing.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (_s, _) = listener.accept().await.unwrap();
        std::future::pending::<()>().await;
    });
    let err = ClientBuilder::new()
        .connect_timeout(Duration::from_millis(200))
        .connect(&format!("ws://{addr}/"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Timeout(_)), "{err}");
}

#[tokio::test]
async fn a_dropped_connection_is_reported_as_abnormal() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let ws = duplex::accept(stream).await.unwrap();
        drop(ws);
    });
    let (mut ws, _) = duplex::connect(&url).await.unwrap();
    assert!(matches!(ws.recv().await, Err(Error::AbnormalClosure)));
}

#[tokio::test]
async fn permessage_deflate_is_negotiated_only_when_both_sides_want_it() {
    use duplex::DeflateConfig;
    let with = echo_server(ServerBuilder::new().deflate(DeflateConfig::default())).await;
    let without = echo_server(ServerBuilder::new()).await;
    let json = "{\"temperature\": 21.5, \"unit\": \"C\"}".repeat(1000);
    for (url, offer, expected) in [
        (&with, true, true),
        (&with, false, false),
        (&without, true, false),
    ] {
        let mut builder = ClientBuilder::new();
        if offer {
            builder = builder.deflate(DeflateConfig::lean());
        }
        let (mut ws, response) = builder.connect(url).await.unwrap();
        assert_eq!(ws.is_compressed(), expected, "{url} offer={offer}");
        assert_eq!(response.extensions.is_empty(), !expected);
        for _ in 0..3 {
            ws.send(json.clone()).await.unwrap();
            assert_eq!(
                ws.recv().await.unwrap().unwrap().as_text(),
                Some(json.as_str())
            );
        }
        ws.close(CloseCode::NORMAL, "").await.unwrap();
    }
}
