//! Minting HS256 tokens, for development (`duplex token`) and tests. Production tokens come
//! from the application's backend, which holds the secret; the hub only verifies them.

use jsonwebtoken::{EncodingKey, Header};
use serde::Serialize;

/// The claims of a minted token. With `channel` set it is a subscription token for that
/// channel, otherwise a connection token.
///
/// ```
/// use duplex_hub::auth::MintClaims;
///
/// let claims = MintClaims { exp: Some(1_900_000_000), ..MintClaims::user("42") };
/// let subscription = MintClaims { channel: Some("news".into()), ..claims.clone() };
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct MintClaims {
    /// The user id (`sub`); empty for an anonymous user.
    pub sub: String,
    /// Expiry time, Unix seconds (`exp`); `None`: the token never expires.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    /// For a subscription token: the channel it grants (`channel`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// Connection or channel info (`info`), any JSON value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub info: Option<serde_json::Value>,
    /// For a connection token: channels subscribed on the server side (`channels`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub channels: Vec<String>,
    /// Audience (`aud`), for a hub configured to check it.
    #[serde(rename = "aud", skip_serializing_if = "Option::is_none")]
    pub audience: Option<String>,
    /// Issuer (`iss`), for a hub configured to check it.
    #[serde(rename = "iss", skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
}

impl MintClaims {
    /// A connection token for `user` that never expires; set the other fields with struct
    /// update syntax.
    pub fn user(user: impl Into<String>) -> MintClaims {
        MintClaims {
            sub: user.into(),
            ..MintClaims::default()
        }
    }
}

/// Why a token could not be minted.
#[derive(Debug, thiserror::Error)]
pub enum MintError {
    /// An empty secret: the hub treats it as "no HMAC key" and would refuse the token.
    #[error("the HMAC secret is empty")]
    EmptySecret,
    /// The signing library failed.
    #[error("cannot sign the token: {0}")]
    Sign(#[from] jsonwebtoken::errors::Error),
}

/// Signs `claims` with HS256 and `secret`: the token format Centrifugo's `gentoken` makes.
pub fn mint_hs256(secret: &str, claims: &MintClaims) -> Result<String, MintError> {
    if secret.is_empty() {
        return Err(MintError::EmptySecret);
    }
    let key = EncodingKey::from_secret(secret.as_bytes());
    Ok(jsonwebtoken::encode(&Header::default(), claims, &key)?)
}
