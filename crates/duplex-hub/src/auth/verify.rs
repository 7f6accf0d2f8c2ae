//! Token verification as Centrifugo does it: the same claims, the same checks, the same
//! order, and the same two outcomes the session acts on — expired (error 109, the client
//! refreshes) or invalid (the client is disconnected).
//!
//! Order: parse, then `aud`/`iss` (cheap, and before any JWKS fetch), then the signature,
//! then the kind-specific claims, then `exp`/`nbf`. `exp` has no leeway and must be in the
//! future; an `nbf` in the future also counts as expired, as in Centrifugo.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use serde::de::DeserializeOwned;

use super::claims::{RawConnect, RawSubscribe, Registered};
use super::jwks::Jwks;
use super::keys::StaticKeys;
use super::{AuthConfigError, ConnectClaims, JwksOptions, SubscribeClaims, TokenConfig};

/// Why a token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// The token was valid but its `exp` has passed (or its `nbf` has not come): the client
    /// should get a new one (Centrifugo error 109, "token expired").
    #[error("token expired")]
    Expired,
    /// Not a token we accept: malformed, bad signature, disabled algorithm, wrong audience
    /// or issuer, missing or forbidden claims. The reason is for logs, not for the client.
    #[error("invalid token: {0}")]
    Invalid(String),
    /// The keys to check it could not be fetched (JWKS endpoint down): not the client's
    /// fault, so the session answers with an internal error rather than a disconnect.
    #[error("token keys unavailable: {0}")]
    Unavailable(String),
}

/// Verifies connection and subscription tokens. Cheap to clone (one `Arc`): every session
/// holds one.
///
/// ```
/// use duplex_hub::auth::{mint_hs256, MintClaims, TokenConfig, TokenVerifier};
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let config = TokenConfig { hmac_secret_key: Some("secret".into()), ..TokenConfig::default() };
/// let verifier = TokenVerifier::new(&config, None)?;
/// let token = mint_hs256("secret", &MintClaims::user("42"))?;
/// assert_eq!(verifier.verify_connect(&token).await?.sub, "42");
/// # Ok::<_, Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
#[derive(Clone)]
pub struct TokenVerifier {
    inner: Arc<Inner>,
}

struct Inner {
    connection: Checker,
    /// `None`: subscription tokens are checked like connection tokens.
    subscription: Option<Checker>,
}

/// The keys and registered-claim checks of one kind of token.
struct Checker {
    keys: Keys,
    audience: Option<String>,
    issuer: Option<String>,
}

enum Keys {
    Static(StaticKeys),
    /// With a JWKS endpoint the static keys are not consulted, as in Centrifugo.
    Jwks(Jwks),
}

impl TokenVerifier {
    /// A verifier for connection tokens, and for subscription tokens with their own keys
    /// when `subscription` is given (Centrifugo's `client.subscription_token` with
    /// `enabled: true`; a given configuration without keys refuses every subscription
    /// token), otherwise with the connection's keys.
    pub fn new(
        connection: &TokenConfig,
        subscription: Option<&TokenConfig>,
    ) -> Result<Self, AuthConfigError> {
        Self::with_jwks_options(connection, subscription, JwksOptions::default())
    }

    /// [`TokenVerifier::new`] with the JWKS cache tuned.
    pub fn with_jwks_options(
        connection: &TokenConfig,
        subscription: Option<&TokenConfig>,
        jwks: JwksOptions,
    ) -> Result<Self, AuthConfigError> {
        Ok(TokenVerifier {
            inner: Arc::new(Inner {
                connection: Checker::new(connection, &jwks)?,
                subscription: subscription
                    .map(|config| Checker::new(config, &jwks))
                    .transpose()?,
            }),
        })
    }

    /// Verifies a connection token (the `token` of a `connect` or `refresh` command).
    pub async fn verify_connect(&self, token: &str) -> Result<ConnectClaims, TokenError> {
        let raw: RawConnect = self.inner.connection.verify(token).await?;
        let (exp, nbf) = times(&raw);
        let claims = raw.into_claims()?;
        check_time(exp, nbf, unix_now())?;
        Ok(claims)
    }

    /// Verifies a subscription token (the `token` of a `subscribe` or `sub_refresh`
    /// command). The caller checks `channel` and `sub` against the request.
    pub async fn verify_subscribe(&self, token: &str) -> Result<SubscribeClaims, TokenError> {
        let inner = &self.inner;
        let checker = inner.subscription.as_ref().unwrap_or(&inner.connection);
        let raw: RawSubscribe = checker.verify(token).await?;
        let (exp, nbf) = times(&raw);
        let claims = raw.into_claims()?;
        check_time(exp, nbf, unix_now())?;
        Ok(claims)
    }
}

impl std::fmt::Debug for TokenVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenVerifier")
            .field(
                "separate_subscription_keys",
                &self.inner.subscription.is_some(),
            )
            .finish_non_exhaustive()
    }
}

impl Checker {
    fn new(config: &TokenConfig, jwks: &JwksOptions) -> Result<Checker, AuthConfigError> {
        let endpoint = config.jwks_public_endpoint.as_deref().map(str::trim);
        let keys = match endpoint.filter(|e| !e.is_empty()) {
            Some(url) => Keys::Jwks(Jwks::new(url, jwks.clone())?),
            None => Keys::Static(StaticKeys::new(config)?),
        };
        let present = |value: &Option<String>| value.clone().filter(|v| !v.is_empty());
        Ok(Checker {
            keys,
            audience: present(&config.audience),
            issuer: present(&config.issuer),
        })
    }

    /// Everything but the time checks: the payload, once its audience, issuer and signature
    /// have passed.
    async fn verify<T: Payload>(&self, token: &str) -> Result<T, TokenError> {
        let invalid = |reason: &str| TokenError::Invalid(reason.to_owned());
        let (message, signature) = token
            .rsplit_once('.')
            .ok_or_else(|| invalid("not a JWT (three dot-separated parts)"))?;
        let (_, payload) = message
            .split_once('.')
            .ok_or_else(|| invalid("not a JWT (three dot-separated parts)"))?;
        let header = jsonwebtoken::decode_header(token)
            .map_err(|e| TokenError::Invalid(format!("bad header: {e}")))?;
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|e| TokenError::Invalid(format!("payload is not base64url: {e}")))?;
        let raw: T = serde_json::from_slice(&payload)
            .map_err(|e| TokenError::Invalid(format!("bad claims: {e}")))?;
        let registered = raw.registered();
        if let Some(audience) = &self.audience {
            if !registered.aud.is_some_and(|aud| aud.contains(audience)) {
                return Err(invalid("audience mismatch"));
            }
        }
        if let Some(issuer) = &self.issuer {
            if registered.iss != Some(issuer.as_str()) {
                return Err(invalid("issuer mismatch"));
            }
        }
        match &self.keys {
            Keys::Static(keys) => keys.verify(header.alg, message, signature)?,
            Keys::Jwks(jwks) => {
                jwks.verify(header.alg, header.kid.as_deref(), message, signature)
                    .await?
            }
        }
        Ok(raw)
    }
}

/// A token payload: its registered claims are checked the same way for both kinds.
pub(super) trait Payload: DeserializeOwned {
    fn registered(&self) -> Registered<'_>;
}

fn times<T: Payload>(raw: &T) -> (Option<i64>, Option<i64>) {
    let registered = raw.registered();
    (registered.exp, registered.nbf)
}

/// Centrifugo's rule: valid while `now < exp` and `nbf <= now`, no leeway.
fn check_time(exp: Option<i64>, nbf: Option<i64>, now: i64) -> Result<(), TokenError> {
    if exp.is_some_and(|exp| exp <= now) || nbf.is_some_and(|nbf| nbf > now) {
        return Err(TokenError::Expired);
    }
    Ok(())
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_has_no_leeway() {
        assert_eq!(check_time(Some(100), None, 99), Ok(()));
        assert_eq!(check_time(Some(100), None, 100), Err(TokenError::Expired));
        assert_eq!(check_time(None, Some(100), 100), Ok(()));
        assert_eq!(check_time(None, Some(101), 100), Err(TokenError::Expired));
        assert_eq!(check_time(None, None, i64::MAX), Ok(()));
    }
}
