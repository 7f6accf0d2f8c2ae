//! TLS through rustls (the `tls` feature, on by default): the client's trust settings and the
//! server's certificate loading.
//!
//! The crypto provider is always `ring`, passed explicitly rather than installed process-wide,
//! so an application that links another provider elsewhere cannot make ours ambiguous. Both
//! sides advertise ALPN `http/1.1`, the protocol a WebSocket handshake is spoken in.
//!
//! A server terminates TLS itself and hands the stream to [`crate::ServerBuilder::accept`]:
//!
//! ```no_run
//! # async fn run() -> Result<(), duplex::Error> {
//! let acceptor = duplex::tls::acceptor_from_pem_files("cert.pem", "key.pem")?;
//! let listener = tokio::net::TcpListener::bind("0.0.0.0:443").await?;
//! let (tcp, _) = listener.accept().await?;
//! let tls = acceptor.accept(tcp).await?;
//! let mut ws = duplex::ServerBuilder::new().accept(tls).await?;
//! # Ok(()) }
//! ```

use std::path::Path;
use std::sync::{Arc, OnceLock};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, ServerConfig, SignatureScheme};

use crate::error::{Error, Result, TlsError};

pub use tokio_rustls::TlsAcceptor;

/// The ALPN protocol of a WebSocket handshake.
const ALPN_HTTP1: &[u8] = b"http/1.1";
/// The ALPN protocol of HTTP/2, where a WebSocket opens with an extended CONNECT (RFC 8441).
pub const ALPN_H2: &[u8] = b"h2";

fn provider() -> Arc<CryptoProvider> {
    static PROVIDER: OnceLock<Arc<CryptoProvider>> = OnceLock::new();
    PROVIDER
        .get_or_init(|| Arc::new(rustls::crypto::ring::default_provider()))
        .clone()
}

/// Parses every certificate in a PEM text; at least one is required.
pub(crate) fn certificates_from_pem(
    pem: &[u8],
    what: &str,
) -> Result<Vec<CertificateDer<'static>>> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|source| TlsError::Pem {
            what: what.to_owned(),
            source,
        })?;
    if certs.is_empty() {
        return Err(TlsError::NoCertificate {
            what: what.to_owned(),
        }
        .into());
    }
    Ok(certs)
}

fn read_file(path: &Path, what: &'static str) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|source| {
        TlsError::ReadFile {
            what,
            path: path.to_owned(),
            source,
        }
        .into()
    })
}

/// Reads a PEM file of certificates (for [`crate::ClientBuilder::add_root_certificates_pem`]).
pub(crate) fn certificates_from_pem_file(path: &Path) -> Result<Vec<CertificateDer<'static>>> {
    let pem = read_file(path, "certificate file")?;
    certificates_from_pem(&pem, &format!("certificate file {}", path.display()))
}

/// The client's TLS settings, as collected by [`crate::ClientBuilder`].
#[derive(Debug, Clone)]
pub(crate) struct ClientTls {
    pub(crate) web_pki_roots: bool,
    pub(crate) extra_roots: Vec<CertificateDer<'static>>,
    pub(crate) accept_invalid_certs: bool,
    pub(crate) custom: Option<Arc<ClientConfig>>,
    /// The config built from the fields above, shared by clones of the same settings.
    /// Every setter replaces this cell, so it never outlives the settings it was built from.
    pub(crate) built: Arc<OnceLock<Arc<ClientConfig>>>,
    /// The same config offering `h2` before `http/1.1` in ALPN, built on first use.
    pub(crate) built_h2: Arc<OnceLock<Arc<ClientConfig>>>,
}

impl Default for ClientTls {
    fn default() -> Self {
        ClientTls {
            web_pki_roots: true,
            extra_roots: Vec::new(),
            accept_invalid_certs: false,
            custom: None,
            built: Arc::default(),
            built_h2: Arc::default(),
        }
    }
}

impl ClientTls {
    /// Call after changing a setting: the next connection builds a fresh config.
    pub(crate) fn changed(&mut self) {
        self.built = Arc::default();
        self.built_h2 = Arc::default();
    }

    /// The config to connect with, offering `h2` in ALPN first when `offer_h2`.
    pub(crate) fn config_for(&self, offer_h2: bool) -> Result<Arc<ClientConfig>> {
        if !offer_h2 {
            return self.config();
        }
        if let Some(built) = self.built_h2.get() {
            return Ok(built.clone());
        }
        let mut config = (*self.config()?).clone();
        config.alpn_protocols = vec![ALPN_H2.to_vec(), ALPN_HTTP1.to_vec()];
        let config = Arc::new(config);
        Ok(self.built_h2.get_or_init(|| config).clone())
    }

    /// The rustls config to connect with.
    pub(crate) fn config(&self) -> Result<Arc<ClientConfig>> {
        if let Some(custom) = &self.custom {
            return Ok(custom.clone());
        }
        if let Some(built) = self.built.get() {
            return Ok(built.clone());
        }
        let builder = ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(TlsError::Rustls)?;
        let mut config = if self.accept_invalid_certs {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(
                    provider().signature_verification_algorithms,
                )))
                .with_no_client_auth()
        } else {
            let mut roots = RootCertStore::empty();
            if self.web_pki_roots {
                roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
            }
            for cert in &self.extra_roots {
                roots
                    .add(cert.clone())
                    .map_err(|source| TlsError::Unusable {
                        what: "root certificate".to_owned(),
                        source,
                    })?;
            }
            builder.with_root_certificates(roots).with_no_client_auth()
        };
        config.alpn_protocols = vec![ALPN_HTTP1.to_vec()];
        let config = Arc::new(config);
        Ok(self.built.get_or_init(|| config).clone())
    }

    /// Runs the TLS handshake with `host` (a name or an IP literal) as the name to verify,
    /// offering `h2` in ALPN when `offer_h2`.
    pub(crate) async fn connect<S>(
        &self,
        host: &str,
        stream: S,
        offer_h2: bool,
    ) -> Result<tokio_rustls::client::TlsStream<S>>
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    {
        let name = ServerName::try_from(host.to_owned())
            .map_err(|_| TlsError::InvalidServerName(host.to_owned()))?;
        tokio_rustls::TlsConnector::from(self.config_for(offer_h2)?)
            .connect(name, stream)
            .await
            .map_err(tls_error)
    }
}

/// Turns an I/O error from a TLS handshake into [`Error::Tls`] when rustls is the cause.
pub(crate) fn tls_error(e: std::io::Error) -> Error {
    match e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    {
        Some(tls) => TlsError::Rustls(tls.clone()).into(),
        None => Error::Io(e),
    }
}

/// A verifier for [`crate::ClientBuilder::danger_accept_invalid_certs`]: any certificate for
/// any name is accepted, but the handshake's signatures are still checked, so the session is
/// at least bound to the key in the certificate it showed.
#[derive(Debug)]
struct AcceptAnyCertificate(WebPkiSupportedAlgorithms);

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_schemes()
    }
}

/// A server config from a PEM certificate chain (leaf first) and a PEM private key (PKCS#8,
/// PKCS#1 RSA or SEC1 EC), with ALPN `http/1.1`.
///
/// Fails with [`Error::Tls`] when the chain has no certificate, there is no key, or the key
/// does not belong to the first certificate.
pub fn server_config_from_pem(cert_chain: &[u8], key: &[u8]) -> Result<Arc<ServerConfig>> {
    server_config(cert_chain, key, "certificate", "private key")
}

/// [`server_config_from_pem`] from two files; errors name the file at fault.
pub fn server_config_from_pem_files(
    cert_chain: impl AsRef<Path>,
    key: impl AsRef<Path>,
) -> Result<Arc<ServerConfig>> {
    let (cert_path, key_path) = (cert_chain.as_ref(), key.as_ref());
    let certs = read_file(cert_path, "certificate file")?;
    let key = read_file(key_path, "key file")?;
    server_config(
        &certs,
        &key,
        &format!("certificate file {}", cert_path.display()),
        &format!("key file {}", key_path.display()),
    )
}

/// A [`TlsAcceptor`] from a PEM certificate chain file and a PEM key file; see
/// [`server_config_from_pem`].
///
/// ```no_run
/// # fn run() -> Result<(), duplex::Error> {
/// let acceptor = duplex::tls::acceptor_from_pem_files("cert.pem", "key.pem")?;
/// # Ok(()) }
/// ```
pub fn acceptor_from_pem_files(
    cert_chain: impl AsRef<Path>,
    key: impl AsRef<Path>,
) -> Result<TlsAcceptor> {
    server_config_from_pem_files(cert_chain, key).map(TlsAcceptor::from)
}

fn server_config(
    cert_pem: &[u8],
    key_pem: &[u8],
    cert_what: &str,
    key_what: &str,
) -> Result<Arc<ServerConfig>> {
    let certs = certificates_from_pem(cert_pem, cert_what)?;
    let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| match e {
        rustls::pki_types::pem::Error::NoItemsFound => TlsError::NoPrivateKey {
            what: key_what.to_owned(),
        },
        source => TlsError::Pem {
            what: key_what.to_owned(),
            source,
        },
    })?;
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(TlsError::Rustls)?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| match e {
            rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch) => {
                TlsError::KeyMismatch {
                    certificate: cert_what.to_owned(),
                    key: key_what.to_owned(),
                }
            }
            source => TlsError::Unusable {
                what: format!("{cert_what} and {key_what}"),
                source,
            },
        })?;
    config.alpn_protocols = vec![ALPN_HTTP1.to_vec()];
    Ok(Arc::new(config))
}
