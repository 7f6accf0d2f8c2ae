//! Keys from a JSON Web Key Set URL, cached by `kid`, for identity providers that rotate
//! their signing keys.
//!
//! A token naming a `kid` the cache does not know causes one fetch of the set (concurrent
//! verifications wait for it instead of fetching too), so a rotated key works at once; but
//! fetches are at least [`JwksOptions::min_refetch_interval`] apart, so tokens with made-up
//! ids cannot flood the key server. The whole set is replaced on each fetch: a key the
//! provider removed is revoked. A fetch that fails is [`TokenError::Unavailable`] — the
//! client is not at fault.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Instant;

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};

use super::keys::{check_signature, KeyKind};
use super::{AuthConfigError, JwksOptions, TokenError};

/// A key set answer larger than this is refused: a key set is a few kilobytes.
const MAX_BODY: usize = 1 << 20;

pub(super) struct Jwks {
    url: String,
    client: reqwest::Client,
    options: JwksOptions,
    cache: RwLock<Cache>,
    /// Held while fetching: one fetch at a time, the others wait and reuse its result.
    fetching: tokio::sync::Mutex<()>,
}

#[derive(Default)]
struct Cache {
    keys: HashMap<String, Arc<CachedKey>>,
    /// When the keys were last fetched successfully.
    fetched_at: Option<Instant>,
    /// When a fetch was last tried, successful or not (the refetch rate limit).
    attempted_at: Option<Instant>,
}

struct CachedKey {
    kind: KeyKind,
    /// The key's `alg`, when the set says which algorithm it is for.
    alg: Option<Algorithm>,
    key: DecodingKey,
}

enum Lookup {
    Found(Arc<CachedKey>),
    Fetch,
    Unknown,
    Stale,
}

impl Jwks {
    pub fn new(url: &str, options: JwksOptions) -> Result<Jwks, AuthConfigError> {
        let url = url.trim();
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(AuthConfigError::JwksEndpoint(url.to_owned()));
        }
        let client = reqwest::Client::builder()
            .timeout(options.timeout)
            .build()
            .map_err(AuthConfigError::HttpClient)?;
        Ok(Jwks {
            url: url.to_owned(),
            client,
            options,
            cache: RwLock::default(),
            fetching: tokio::sync::Mutex::new(()),
        })
    }

    /// Checks a signature with the key the token names.
    pub async fn verify(
        &self,
        alg: Algorithm,
        kid: Option<&str>,
        message: &str,
        signature: &str,
    ) -> Result<(), TokenError> {
        let kid = kid
            .filter(|k| !k.is_empty())
            .ok_or_else(|| TokenError::Invalid("the token has no kid to find its key".into()))?;
        let wanted = KeyKind::for_algorithm(alg)
            .filter(|kind| *kind != KeyKind::Hmac)
            .ok_or_else(|| TokenError::Invalid(format!("unsupported algorithm {alg:?}")))?;
        let key = self.key(kid).await?;
        if key.kind != wanted || key.alg.is_some_and(|a| a != alg) {
            return Err(TokenError::Invalid(format!(
                "algorithm {alg:?} does not match key {kid:?}"
            )));
        }
        check_signature(&key.key, alg, message, signature)
    }

    async fn key(&self, kid: &str) -> Result<Arc<CachedKey>, TokenError> {
        if let Lookup::Found(key) = self.lookup(kid) {
            return Ok(key);
        }
        let _fetching = self.fetching.lock().await;
        // Whoever held the lock before may have fetched what we need.
        match self.lookup(kid) {
            Lookup::Found(key) => return Ok(key),
            Lookup::Unknown => return Err(unknown(kid)),
            Lookup::Stale => {
                return Err(TokenError::Unavailable(
                    "the key set could not be fetched recently".into(),
                ))
            }
            Lookup::Fetch => {}
        }
        let fetched = self.fetch().await;
        let mut cache = self.cache.write().unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        cache.attempted_at = Some(now);
        let keys = fetched?;
        cache.keys = keys;
        cache.fetched_at = Some(now);
        cache.keys.get(kid).cloned().ok_or_else(|| unknown(kid))
    }

    fn lookup(&self, kid: &str) -> Lookup {
        let cache = self.cache.read().unwrap_or_else(PoisonError::into_inner);
        let fresh = cache
            .fetched_at
            .is_some_and(|at| at.elapsed() < self.options.cache_ttl);
        if fresh {
            if let Some(key) = cache.keys.get(kid) {
                return Lookup::Found(key.clone());
            }
        }
        // The interval limits refetches and retries after a failure; a set that merely
        // aged out is fetched again at once.
        let last_failed = cache.attempted_at != cache.fetched_at;
        let may_fetch = (!fresh && !last_failed)
            || cache
                .attempted_at
                .is_none_or(|at| at.elapsed() >= self.options.min_refetch_interval);
        match (may_fetch, fresh) {
            (true, _) => Lookup::Fetch,
            (false, true) => Lookup::Unknown,
            (false, false) => Lookup::Stale,
        }
    }

    async fn fetch(&self) -> Result<HashMap<String, Arc<CachedKey>>, TokenError> {
        let unavailable = |e: &dyn std::fmt::Display| {
            TokenError::Unavailable(format!("cannot fetch the key set from {}: {e}", self.url))
        };
        let mut response = self
            .client
            .get(&self.url)
            .send()
            .await
            .map_err(|e| unavailable(&e))?;
        if response.status() != reqwest::StatusCode::OK {
            return Err(unavailable(&format!("status {}", response.status())));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| unavailable(&e))? {
            if body.len() + chunk.len() > MAX_BODY {
                return Err(unavailable(&"answer larger than 1 MiB"));
            }
            body.extend_from_slice(&chunk);
        }
        parse_key_set(&body).map_err(|e| unavailable(&e))
    }
}

fn unknown(kid: &str) -> TokenError {
    TokenError::Invalid(format!("no key {kid:?} in the key set"))
}

/// The signing keys of a JWKS document by `kid`. Keys this verifier cannot use (encryption
/// keys, symmetric keys, unknown algorithms, no `kid`) are skipped, not fatal: one exotic key
/// must not take the others down.
fn parse_key_set(body: &[u8]) -> Result<HashMap<String, Arc<CachedKey>>, String> {
    #[derive(serde::Deserialize)]
    struct Set {
        keys: Vec<serde_json::Value>,
    }
    let set: Set = serde_json::from_slice(body).map_err(|e| format!("not a key set: {e}"))?;
    let mut keys = HashMap::new();
    for value in set.keys {
        let Ok(jwk) = serde_json::from_value::<Jwk>(value) else {
            continue;
        };
        if let Some((kid, key)) = usable(&jwk) {
            keys.insert(kid, Arc::new(key));
        }
    }
    Ok(keys)
}

fn usable(jwk: &Jwk) -> Option<(String, CachedKey)> {
    let kid = jwk.common.key_id.clone().filter(|k| !k.is_empty())?;
    if matches!(
        jwk.common.public_key_use,
        Some(PublicKeyUse::Encryption | PublicKeyUse::Other(_))
    ) {
        return None;
    }
    let kind = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => KeyKind::Rsa,
        AlgorithmParameters::EllipticCurve(ec)
            if matches!(ec.curve, EllipticCurve::P256 | EllipticCurve::P384) =>
        {
            KeyKind::Ec
        }
        AlgorithmParameters::OctetKeyPair(okp) if okp.curve == EllipticCurve::Ed25519 => {
            KeyKind::Ed
        }
        _ => return None,
    };
    let alg = match jwk.common.key_algorithm {
        None => None,
        Some(named) => Some(signing_algorithm(named)?),
    };
    let key = DecodingKey::from_jwk(jwk).ok()?;
    Some((kid, CachedKey { kind, alg, key }))
}

fn signing_algorithm(alg: KeyAlgorithm) -> Option<Algorithm> {
    Some(match alg {
        KeyAlgorithm::RS256 => Algorithm::RS256,
        KeyAlgorithm::RS384 => Algorithm::RS384,
        KeyAlgorithm::RS512 => Algorithm::RS512,
        KeyAlgorithm::ES256 => Algorithm::ES256,
        KeyAlgorithm::ES384 => Algorithm::ES384,
        KeyAlgorithm::EdDSA => Algorithm::EdDSA,
        _ => return None,
    })
}
