//! Authentication with JSON Web Tokens, compatible with Centrifugo: the tokens an
//! application's backend already makes for Centrifugo work here unchanged.
//!
//! - [`TokenConfig`]: where keys come from (HMAC secret, RSA/EC PEM, or a JWKS URL) and the
//!   `aud`/`iss` checks; one for connection tokens, optionally one for subscription tokens.
//! - [`TokenVerifier`]: checks a token and returns its claims, [`ConnectClaims`] or
//!   [`SubscribeClaims`], or says why not ([`TokenError`]: expired, invalid, or keys
//!   unavailable).
//! - [`mint_hs256`]: makes tokens for development and tests (`duplex token`).
//!
//! Algorithms: HS256/384/512, RS256/384/512 and ES256/384 from configured keys; RS, ES and
//! EdDSA from JWKS. `none` and RSASSA-PSS are refused, as in Centrifugo. Not supported yet:
//! Centrifugo's `audience_regex`/`issuer_regex`, URL templates in the JWKS endpoint and
//! `user_id_claim`.

mod claims;
mod config;
mod jwks;
mod keys;
mod mint;
mod verify;

pub use claims::{ConnectClaims, SubscribeClaims, SubscribeGrant, SubscribeOverrides};
pub use config::{AuthConfigError, JwksOptions, TokenConfig};
pub use mint::{mint_hs256, MintClaims, MintError};
pub use verify::{TokenError, TokenVerifier};
