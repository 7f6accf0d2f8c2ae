//! wss:// through rustls: a CA and server certificates made at test time with rcgen, a TLS echo
//! server on loopback, and the client's trust decisions with the errors a person reads.
#![cfg(feature = "tls")]

use std::path::PathBuf;
use std::sync::Arc;

use duplex::{rustls, ClientBuilder, Error, MaybeTlsStream, ServerBuilder, TlsError};
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

/// The refused certificate's error, after checking the error is one.
fn refused_certificate(result: Result<(), Error>) -> Error {
    match result {
        Err(Error::Tls(tls)) if tls.is_invalid_certificate() => Error::Tls(tls),
        other => panic!("expected Error::Tls for the certificate, got {other:?}"),
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
    let error = refused_certificate(
        round_trip(&ClientBuilder::new(), &format!("wss://localhost:{port}/")).await,
    );
    let Error::Tls(TlsError::Rustls(rustls::Error::InvalidCertificate(why))) = &error else {
        panic!("expected a rustls certificate error, got {error:?}");
    };
    assert_eq!(why, &rustls::CertificateError::UnknownIssuer);
    let shown = error.to_string();
    assert_eq!(shown, "TLS: invalid peer certificate: UnknownIssuer");
    let source = std::error::Error::source(&error).map(ToString::to_string);
    assert_eq!(
        source.as_deref(),
        Some("invalid peer certificate: UnknownIssuer")
    );
}

#[tokio::test]
async fn certificate_for_another_host_is_refused() {
    let pki = make_pki(&["other.example"]);
    let port = wss_echo(&pki, "mismatch").await;
    let client = ClientBuilder::new()
        .add_root_certificates_pem(&pki.ca)
        .unwrap();
    let message =
        refused_certificate(round_trip(&client, &format!("wss://localhost:{port}/")).await)
            .to_string();
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
        Err(Error::Tls(error)) => error,
        Err(other) => panic!("expected Error::Tls, got {other:?}"),
        Ok(_) => panic!("expected an error"),
    };

    let missing = error(duplex::tls::acceptor_from_pem_files(
        "/nonexistent/cert.pem",
        &key,
    ));
    assert!(
        matches!(&missing, TlsError::ReadFile { what: "certificate file", source, .. }
            if source.kind() == std::io::ErrorKind::NotFound),
        "{missing:?}"
    );
    assert!(
        missing
            .to_string()
            .starts_with("cannot read certificate file /nonexistent/cert.pem: "),
        "{missing}"
    );
    let no_cert = error(duplex::tls::acceptor_from_pem_files(&key, &key));
    assert!(
        matches!(&no_cert, TlsError::NoCertificate { what } if what.contains("load-key.pem")),
        "{no_cert:?}"
    );
    assert!(
        no_cert.to_string().contains("no certificate found"),
        "{no_cert}"
    );
    let no_key = error(duplex::tls::acceptor_from_pem_files(&cert, &cert));
    assert!(
        matches!(&no_key, TlsError::NoPrivateKey { .. }),
        "{no_key:?}"
    );
    assert!(
        no_key.to_string().contains("no private key found"),
        "{no_key}"
    );
    let wrong_key = temp_file("load-other-key.pem", &other.key);
    let mismatch = error(duplex::tls::acceptor_from_pem_files(&cert, &wrong_key));
    assert!(
        matches!(&mismatch, TlsError::KeyMismatch { .. }),
        "{mismatch:?}"
    );
    assert!(
        mismatch.to_string().contains("does not match"),
        "{mismatch}"
    );
    assert!(duplex::tls::acceptor_from_pem_files(&cert, &key).is_ok());

    match ClientBuilder::new().add_root_certificates_pem("not a certificate") {
        Err(Error::Tls(TlsError::NoCertificate { what })) => assert_eq!(what, "root certificates"),
        other => panic!("expected Error::Tls, got {other:?}"),
    }
}
