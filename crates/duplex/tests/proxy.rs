//! The client tunnels through an HTTP proxy with CONNECT: a tiny proxy on loopback records what
//! it was asked, and a proxy that wants credentials gets a clear error back to the caller.

use std::sync::{Arc, Mutex};

use duplex::{ClientBuilder, Error, ProxyError, ServerBuilder};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A plain ws echo server; returns its port.
async fn ws_echo() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut ws = ServerBuilder::new().accept(tcp).await?;
                while let Some(message) = ws.recv().await? {
                    ws.send(message).await?;
                }
                Ok::<_, Error>(())
            });
        }
    });
    port
}

async fn read_head(stream: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).await.unwrap_or(0) == 1 {
        head.push(byte[0]);
    }
    String::from_utf8_lossy(&head).into_owned()
}

/// A CONNECT proxy: records each request head; answers `refusal` if given, else connects to
/// the requested authority and relays bytes both ways. Returns its port and the heads seen.
async fn connect_proxy(refusal: Option<&'static str>) -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let log = log.clone();
            tokio::spawn(async move {
                let head = read_head(&mut client).await;
                log.lock().unwrap().push(head.clone());
                if let Some(answer) = refusal {
                    let _ = client.write_all(answer.as_bytes()).await;
                    return;
                }
                let authority = head.split_whitespace().nth(1).unwrap_or("").to_owned();
                let Ok(mut upstream) = TcpStream::connect(authority).await else {
                    let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\n\r\n").await;
                    return;
                };
                let _ = client
                    .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                    .await;
                let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
            });
        }
    });
    (port, seen)
}

#[tokio::test]
async fn client_tunnels_through_a_connect_proxy_with_basic_auth() {
    let target = ws_echo().await;
    let (proxy, seen) = connect_proxy(None).await;
    let client = ClientBuilder::new().proxy(format!("http://user:p%40ss@127.0.0.1:{proxy}"));
    let (mut ws, _) = client
        .connect(&format!("ws://127.0.0.1:{target}/through"))
        .await
        .unwrap();
    ws.send("via proxy").await.unwrap();
    let reply = ws.recv().await.unwrap().unwrap();
    assert_eq!(reply.as_text(), Some("via proxy"));
    ws.close(duplex::CloseCode::NORMAL, "").await.unwrap();

    let heads = seen.lock().unwrap().clone();
    assert_eq!(heads.len(), 1);
    assert!(
        heads[0].starts_with(&format!(
            "CONNECT 127.0.0.1:{target} HTTP/1.1\r\nHost: 127.0.0.1:{target}\r\n"
        )),
        "{}",
        heads[0]
    );
    // base64("user:p@ss")
    assert!(
        heads[0].contains("Proxy-Authorization: Basic dXNlcjpwQHNz\r\n"),
        "{}",
        heads[0]
    );
}

#[cfg(feature = "tls")]
#[tokio::test]
async fn wss_runs_tls_inside_the_tunnel_and_verifies_the_target() {
    // A self-signed certificate for 127.0.0.1, trusted as its own root.
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .unwrap()
        .self_signed(&key)
        .unwrap()
        .pem();
    let server =
        duplex::tls::server_config_from_pem(cert.as_bytes(), key.serialize_pem().as_bytes())
            .unwrap();
    let acceptor = duplex::tls::TlsAcceptor::from(server);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let target = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let tls = acceptor.accept(tcp).await?;
        let mut ws = ServerBuilder::new().accept(tls).await?;
        while let Some(message) = ws.recv().await? {
            ws.send(message).await?;
        }
        Ok::<_, Error>(())
    });
    let (proxy, seen) = connect_proxy(None).await;
    let (mut ws, _) = ClientBuilder::new()
        .proxy(format!("http://127.0.0.1:{proxy}"))
        .add_root_certificates_pem(&cert)
        .unwrap()
        .connect(&format!("wss://127.0.0.1:{target}/"))
        .await
        .unwrap();
    assert!(ws.get_ref().is_tls());
    ws.send("secret").await.unwrap();
    assert_eq!(ws.recv().await.unwrap().unwrap().as_text(), Some("secret"));
    assert!(seen.lock().unwrap()[0].starts_with(&format!("CONNECT 127.0.0.1:{target} ")));
}

#[tokio::test]
async fn proxy_asking_for_credentials_is_a_clear_error() {
    let (proxy, seen) = connect_proxy(Some(
        "HTTP/1.1 407 Proxy Authentication Required\r\n\
         Proxy-Authenticate: Basic realm=\"test\"\r\nContent-Length: 0\r\n\r\n",
    ))
    .await;
    let error = ClientBuilder::new()
        .proxy(format!("http://127.0.0.1:{proxy}"))
        .connect("wss://example.com/")
        .await
        .unwrap_err();
    let Error::Proxy(ProxyError::Refused { status, .. }) = &error else {
        panic!("expected Error::Proxy, got {error:?}");
    };
    assert_eq!(*status, 407);
    assert_eq!(
        error.to_string(),
        format!(
            "proxy http://127.0.0.1:{proxy} refused CONNECT example.com:443: \
             407 Proxy Authentication Required: put credentials in the proxy URL \
             (http://user:password@host:port)"
        )
    );
    assert!(seen.lock().unwrap()[0].starts_with("CONNECT example.com:443 HTTP/1.1\r\n"));
}

#[tokio::test]
async fn unreachable_proxy_is_named_in_the_error() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let error = ClientBuilder::new()
        .proxy(format!("127.0.0.1:{port}"))
        .connect("ws://example.com/")
        .await
        .unwrap_err();
    let text = error.to_string();
    assert!(
        matches!(&error, Error::Proxy(ProxyError::Connect { source, .. })
            if source.kind() == std::io::ErrorKind::ConnectionRefused),
        "{error:?}"
    );
    assert!(
        text.starts_with(&format!(
            "could not connect to proxy http://127.0.0.1:{port} (127.0.0.1:{port}): "
        )),
        "{text}"
    );
}

#[tokio::test]
async fn no_proxy_connects_directly() {
    let target = ws_echo().await;
    let (mut ws, _) = ClientBuilder::new()
        .proxy("http://127.0.0.1:1")
        .no_proxy()
        .connect(&format!("ws://127.0.0.1:{target}/"))
        .await
        .unwrap();
    ws.close(duplex::CloseCode::NORMAL, "").await.unwrap();
}
