//! wss:// through rustls: a CA and server certificates made at test time with rcgen, a TLS echo
//! server on loopback, and the client's trust decisions with the errors a person reads.
#![cfg(feature = "tls")]

use std::path::PathBuf;
use std::sync::Arc;

use duplex::{ClientBuilder, Error, MaybeTlsStream, ServerBuilder};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose};
use tokio::net::TcpListener;

/// A CA and a server certificate it signed, all PEM.
struct Pki {
    ca: String,
    cert: String,
    key: String,
}

fn make_pki(names: &[&str]) -> Pki {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "duplex test CA");
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca = ca.self_signed(&ca_key).unwrap();
    let key = KeyPair::generate().unwrap();
    let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let mut leaf = CertificateParams::new(names).unwrap();
    leaf.distinguished_name
        .push(DnType::CommonName, "duplex test server");
    let leaf = leaf.signed_by(&key, &ca, &ca_key).unwrap();
    Pki {
        ca: ca.pem(),
        cert: leaf.pem(),
        key: key.serialize_pem(),
    }
}

/// Writes `text` to a fresh file in the temp directory (so the file-path helpers are tested).
fn temp_file(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("duplex-tls-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// A wss echo server presenting `pki`'s certificate (loaded from files); returns its port.
async fn wss_echo(pki: &Pki, tag: &str) -> u16 {
    let cert = temp_file(&format!("{tag}-cert.pem"), &pki.cert);
    let key = temp_file(&format!("{tag}-key.pem"), &pki.key);
    let acceptor = duplex::tls::acceptor_from_pem_files(&cert, &key).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let tls = acceptor.accept(tcp).await?;
                let mut ws = ServerBuilder::new().accept(tls).await?;
                while let Some(message) = ws.recv().await? {
                    ws.send(message).await?;
                }
                Ok::<_, Error>(())
            });
        }
    });
    port
}

async fn round_trip(client: &ClientBuilder, url: &str) -> Result<(), Error> {
    let (mut ws, _) = client.connect(url).await?;
    let MaybeTlsStream::Tls(tls) = ws.get_ref() else {
        panic!("wss:// gave a plain stream");
    };
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"http/1.1"[..]));
    ws.send("over TLS ✓").await?;
    let reply = ws.recv().await?.expect("an echo");
    assert_eq!(reply.as_text(), Some("over TLS ✓"));
    ws.close(duplex::CloseCode::NORMAL, "").await?;
    Ok(())
}

fn tls_message(result: Result<(), Error>) -> String {
    match result {
        Err(Error::Tls(message)) => message,
        other => panic!("expected Error::Tls, got {other:?}"),
    }
}

#[tokio::test]
async fn wss_echo_round_trip_trusting_a_private_ca() {
    let pki = make_pki(&["localhost", "127.0.0.1"]);
    let port = wss_echo(&pki, "roundtrip").await;
    let client = ClientBuilder::new()
        .add_root_certificates_pem(&pki.ca)
        .unwrap();
    round_trip(&client, &format!("wss://localhost:{port}/"))
        .await
        .unwrap();
    let from_file = ClientBuilder::new()
        .add_root_certificates_pem_file(temp_file("roundtrip-ca.pem", &pki.ca))
        .unwrap()
        .web_pki_roots(false);
    round_trip(&from_file, &format!("wss://localhost:{port}/"))
        .await
        .unwrap();
}

#[tokio::test]
async fn ipv4_literal_is_verified_against_the_ip_address_san() {
    let pki = make_pki(&["127.0.0.1"]);
    let port = wss_echo(&pki, "ipv4").await;
    let client = ClientBuilder::new()
        .add_root_certificates_pem(&pki.ca)
        .unwrap();
    round_trip(&client, &format!("wss://127.0.0.1:{port}/"))
        .await
        .unwrap();
}

#[tokio::test]
async fn untrusted_certificate_is_a_tls_error_that_says_so() {
    let pki = make_pki(&["localhost"]);
    let port = wss_echo(&pki, "untrusted").await;
    let message =
        tls_message(round_trip(&ClientBuilder::new(), &format!("wss://localhost:{port}/")).await);
    assert!(message.contains("UnknownIssuer"), "{message}");
    let shown = Error::Tls(message).to_string();
    assert!(
        shown.starts_with("TLS: invalid peer certificate"),
        "{shown}"
    );
}

#[tokio::test]
async fn certificate_for_another_host_is_refused() {
    let pki = make_pki(&["other.example"]);
    let port = wss_echo(&pki, "mismatch").await;
    let client = ClientBuilder::new()
        .add_root_certificates_pem(&pki.ca)
        .unwrap();
    let message = tls_message(round_trip(&client, &format!("wss://localhost:{port}/")).await);
    assert!(message.contains("not valid for name"), "{message}");
}

#[tokio::test]
async fn danger_accept_invalid_certs_connects_to_an_untrusted_server() {
    let pki = make_pki(&["other.example"]);
    let port = wss_echo(&pki, "danger").await;
    let client = ClientBuilder::new().danger_accept_invalid_certs(true);
    round_trip(&client, &format!("wss://127.0.0.1:{port}/"))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_custom_rustls_config_is_used_as_is() {
    let pki = make_pki(&["localhost"]);
    let port = wss_echo(&pki, "custom").await;
    let mut roots = duplex::rustls::RootCertStore::empty();
    for cert in duplex::rustls::pki_types::pem::PemObject::pem_slice_iter(pki.ca.as_bytes()) {
        roots.add(cert.unwrap()).unwrap();
    }
    let provider = Arc::new(duplex::rustls::crypto::ring::default_provider());
    let mut config = duplex::rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let client = ClientBuilder::new().tls_config(Arc::new(config));
    round_trip(&client, &format!("wss://localhost:{port}/"))
        .await
        .unwrap();
}

#[test]
fn server_certificate_loading_says_what_is_wrong() {
    let pki = make_pki(&["localhost"]);
    let other = make_pki(&["localhost"]);
    let cert = temp_file("load-cert.pem", &pki.cert);
    let key = temp_file("load-key.pem", &pki.key);
    let error = |result: Result<duplex::tls::TlsAcceptor, Error>| match result {
        Err(Error::Tls(message)) => message,
        Err(other) => panic!("expected Error::Tls, got {other:?}"),
        Ok(_) => panic!("expected an error"),
    };

    let missing = error(duplex::tls::acceptor_from_pem_files(
        "/nonexistent/cert.pem",
        &key,
    ));
    assert!(
        missing.contains("cannot read certificate file /nonexistent/cert.pem"),
        "{missing}"
    );
    let no_cert = error(duplex::tls::acceptor_from_pem_files(&key, &key));
    assert!(no_cert.contains("no certificate found"), "{no_cert}");
    let no_key = error(duplex::tls::acceptor_from_pem_files(&cert, &cert));
    assert!(no_key.contains("no private key found"), "{no_key}");
    let wrong_key = temp_file("load-other-key.pem", &other.key);
    let mismatch = error(duplex::tls::acceptor_from_pem_files(&cert, &wrong_key));
    assert!(mismatch.contains("does not match"), "{mismatch}");
    assert!(duplex::tls::acceptor_from_pem_files(&cert, &key).is_ok());

    match ClientBuilder::new().add_root_certificates_pem("not a certificate") {
        Err(Error::Tls(message)) => assert!(message.contains("no certificate found"), "{message}"),
        other => panic!("expected Error::Tls, got {other:?}"),
    }
}
