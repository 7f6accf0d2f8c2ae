//! Signature checks against keys from the configuration (HMAC secret, RSA and EC PEM).
//!
//! The key is chosen by the token's `alg` and each algorithm family has its own key, so a
//! token cannot pick how its signature is checked: an HS256 token "signed" with the RSA
//! public key is checked against the HMAC secret (or refused when there is none) — the
//! classic algorithm confusion attack fails. `none` does not parse as an algorithm at all.

use jsonwebtoken::{Algorithm, DecodingKey};

use super::{AuthConfigError, TokenConfig, TokenError};

/// What a public key is, so that only matching algorithms ever reach it. (jsonwebtoken's
/// own family is private, and handing it a mismatched key can panic.)
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum KeyKind {
    Hmac,
    Rsa,
    Ec,
    Ed,
}

impl KeyKind {
    /// The key kind an algorithm needs; `None` for algorithms Centrifugo does not accept.
    pub fn for_algorithm(alg: Algorithm) -> Option<KeyKind> {
        match alg {
            Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => Some(KeyKind::Hmac),
            Algorithm::RS256 | Algorithm::RS384 | Algorithm::RS512 => Some(KeyKind::Rsa),
            Algorithm::ES256 | Algorithm::ES384 => Some(KeyKind::Ec),
            Algorithm::EdDSA => Some(KeyKind::Ed),
            Algorithm::PS256 | Algorithm::PS384 | Algorithm::PS512 => None,
        }
    }
}

/// The keys given in the configuration, one per family.
pub(super) struct StaticKeys {
    hmac: Option<DecodingKey>,
    rsa: Option<DecodingKey>,
    ec: Option<DecodingKey>,
}

impl StaticKeys {
    pub fn new(config: &TokenConfig) -> Result<StaticKeys, AuthConfigError> {
        let present = |value: &Option<String>| value.clone().filter(|v| !v.trim().is_empty());
        Ok(StaticKeys {
            hmac: present(&config.hmac_secret_key).map(|s| DecodingKey::from_secret(s.as_bytes())),
            rsa: present(&config.rsa_public_key)
                .map(|pem| DecodingKey::from_rsa_pem(pem.as_bytes()))
                .transpose()
                .map_err(AuthConfigError::RsaPublicKey)?,
            ec: present(&config.ecdsa_public_key)
                .map(|pem| DecodingKey::from_ec_pem(pem.as_bytes()))
                .transpose()
                .map_err(AuthConfigError::EcdsaPublicKey)?,
        })
    }

    /// Checks the signature with the key of the token's algorithm family.
    pub fn verify(&self, alg: Algorithm, message: &str, signature: &str) -> Result<(), TokenError> {
        let key = match KeyKind::for_algorithm(alg) {
            Some(KeyKind::Hmac) => self.hmac.as_ref(),
            Some(KeyKind::Rsa) => self.rsa.as_ref(),
            Some(KeyKind::Ec) => self.ec.as_ref(),
            Some(KeyKind::Ed) | None => {
                return Err(TokenError::Invalid(format!(
                    "unsupported algorithm {alg:?}"
                )))
            }
        };
        let key =
            key.ok_or_else(|| TokenError::Invalid(format!("algorithm {alg:?} is not enabled")))?;
        check_signature(key, alg, message, signature)
    }
}

/// The caller guarantees that `key` is of the kind `alg` needs.
pub(super) fn check_signature(
    key: &DecodingKey,
    alg: Algorithm,
    message: &str,
    signature: &str,
) -> Result<(), TokenError> {
    match jsonwebtoken::crypto::verify(signature, message.as_bytes(), key, alg) {
        Ok(true) => Ok(()),
        Ok(false) => Err(TokenError::Invalid("bad signature".into())),
        Err(e) => Err(TokenError::Invalid(format!("bad signature: {e}"))),
    }
}
