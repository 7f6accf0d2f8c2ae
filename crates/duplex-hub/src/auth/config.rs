//! Where token keys come from: the settings Centrifugo calls `client.token` (and
//! `client.subscription_token`), and the JWKS cache's tuning.
//!
//! The settings hold secrets, so `Debug` says which keys are set, never what they are: a
//! configuration dump in a log must not leak the HMAC secret.

use std::time::Duration;

/// Keys and checks for one kind of token (connection or subscription).
///
/// Every field is optional; a kind of key left out means tokens signed that way are refused.
/// With `jwks_public_endpoint` set, the static keys are not used at all (as in Centrifugo).
///
/// ```
/// use duplex_hub::auth::TokenConfig;
///
/// let config = TokenConfig {
///     hmac_secret_key: Some("secret".into()),
///     ..TokenConfig::default()
/// };
/// assert!(config.is_configured());
/// assert!(!format!("{config:?}").contains("\"secret\""));
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct TokenConfig {
    /// Shared secret for HS256, HS384 and HS512 tokens.
    pub hmac_secret_key: Option<String>,
    /// PEM public key (SPKI `PUBLIC KEY` or PKCS#1 `RSA PUBLIC KEY`) for RS256/384/512 tokens.
    pub rsa_public_key: Option<String>,
    /// PEM public key (SPKI `PUBLIC KEY`) for ES256 (P-256) or ES384 (P-384) tokens.
    pub ecdsa_public_key: Option<String>,
    /// `http(s)://` URL of a JSON Web Key Set: tokens name their key with `kid`.
    pub jwks_public_endpoint: Option<String>,
    /// When set, a token's `aud` (a string or a list) must contain it.
    pub audience: Option<String>,
    /// When set, a token's `iss` must equal it.
    pub issuer: Option<String>,
}

impl TokenConfig {
    /// Whether any key is configured. A verifier without keys refuses every token, so the
    /// server refuses connections unless a development flag says otherwise.
    pub fn is_configured(&self) -> bool {
        [
            &self.hmac_secret_key,
            &self.rsa_public_key,
            &self.ecdsa_public_key,
            &self.jwks_public_endpoint,
        ]
        .into_iter()
        .any(|value| value.as_deref().is_some_and(|v| !v.trim().is_empty()))
    }
}

impl std::fmt::Debug for TokenConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let set = |value: &Option<String>| value.as_ref().map(|_| "<set>");
        f.debug_struct("TokenConfig")
            .field("hmac_secret_key", &set(&self.hmac_secret_key))
            .field("rsa_public_key", &set(&self.rsa_public_key))
            .field("ecdsa_public_key", &set(&self.ecdsa_public_key))
            .field("jwks_public_endpoint", &self.jwks_public_endpoint)
            .field("audience", &self.audience)
            .field("issuer", &self.issuer)
            .finish()
    }
}

/// How the JWKS cache behaves. The defaults suit production; tests shorten the intervals.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JwksOptions {
    /// How long a fetched key set is trusted before it is fetched again (Centrifugo: 1 hour).
    pub cache_ttl: Duration,
    /// Shortest time between two fetches caused by tokens naming an unknown `kid`: a rotated
    /// key is picked up at once, while a flood of tokens with made-up ids cannot turn into a
    /// flood of requests to the key server. Default: 10 seconds.
    pub min_refetch_interval: Duration,
    /// Time limit of one fetch, connection included. Default: 5 seconds.
    pub timeout: Duration,
}

impl Default for JwksOptions {
    fn default() -> Self {
        JwksOptions {
            cache_ttl: Duration::from_secs(3600),
            min_refetch_interval: Duration::from_secs(10),
            timeout: Duration::from_secs(5),
        }
    }
}

/// A token configuration that cannot work: found when the verifier is built, so the server
/// refuses to start rather than refusing every client later.
#[derive(Debug, thiserror::Error)]
pub enum AuthConfigError {
    /// `rsa_public_key` is not a PEM RSA public key.
    #[error("rsa_public_key is not a PEM RSA public key: {0}")]
    RsaPublicKey(#[source] jsonwebtoken::errors::Error),
    /// `ecdsa_public_key` is not a PEM EC public key.
    #[error("ecdsa_public_key is not a PEM EC public key: {0}")]
    EcdsaPublicKey(#[source] jsonwebtoken::errors::Error),
    /// `jwks_public_endpoint` is not an http:// or https:// URL.
    #[error("jwks_public_endpoint must be an http:// or https:// URL, not {0:?}")]
    JwksEndpoint(String),
    /// The HTTP client for JWKS could not be built (TLS backend initialisation).
    #[error("cannot build the JWKS HTTP client: {0}")]
    HttpClient(#[source] reqwest::Error),
}
