//! The webhook signature: `X-Duplex-Signature: t=<unix seconds>,v1=<hex>`, where the hex is
//! HMAC-SHA256 with the configured secret over `<t>.<body>` — the scheme Stripe uses, so
//! receivers know its shape and its reasons.
//!
//! The timestamp is inside the MAC so that a captured request cannot be replayed later: a
//! receiver refuses signatures older than a few minutes. Each attempt is signed anew with its
//! own time, so a retry an hour later still passes that check. `v1` names the scheme; a later
//! one can be added beside it without breaking receivers.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The header that carries the signature.
pub const SIGNATURE_HEADER: &str = "X-Duplex-Signature";

type HmacSha256 = Hmac<Sha256>;

/// Why a signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The header is not `t=<unix seconds>,v1=<hex>`.
    #[error("malformed signature header")]
    Malformed,
    /// The timestamp is further from now than the tolerance allows.
    #[error("signature timestamp outside the tolerance")]
    Stale,
    /// No `v1` value matches the body and the secret.
    #[error("signature does not match")]
    Mismatch,
}

/// The header value for `body` sent at `timestamp` (Unix seconds).
///
/// ```
/// use duplex_hub::webhook::{sign, verify};
///
/// let header = sign(b"secret", 1_765_000_000, br#"{"id":"1"}"#);
/// assert!(header.starts_with("t=1765000000,v1="));
/// assert_eq!(verify(b"secret", &header, br#"{"id":"1"}"#, 1_765_000_010, 300), Ok(()));
/// assert!(verify(b"other", &header, br#"{"id":"1"}"#, 1_765_000_010, 300).is_err());
/// ```
pub fn sign(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let tag = mac(secret, timestamp, body).finalize().into_bytes();
    format!("t={timestamp},v1={}", hex(&tag))
}

/// Checks a signature header against `body`: its timestamp within `tolerance_secs` of `now`
/// (Unix seconds), and one of its `v1` values the MAC of the body (compared in constant time).
pub fn verify(
    secret: &[u8],
    header: &str,
    body: &[u8],
    now: i64,
    tolerance_secs: i64,
) -> Result<(), SignatureError> {
    let mut timestamp = None;
    let mut tags = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", value)) => {
                timestamp = Some(
                    value
                        .parse::<i64>()
                        .map_err(|_| SignatureError::Malformed)?,
                )
            }
            Some(("v1", value)) => tags.push(unhex(value).ok_or(SignatureError::Malformed)?),
            // Other schemes, for forward compatibility.
            Some(_) => {}
            None => return Err(SignatureError::Malformed),
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed)?;
    if tags.is_empty() {
        return Err(SignatureError::Malformed);
    }
    if now.abs_diff(timestamp) > tolerance_secs.unsigned_abs() {
        return Err(SignatureError::Stale);
    }
    if tags
        .iter()
        .any(|tag| mac(secret, timestamp, body).verify_slice(tag).is_ok())
    {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

fn mac(secret: &[u8], timestamp: i64, body: &[u8]) -> HmacSha256 {
    // HMAC takes a key of any length; `new_from_slice` cannot fail for it.
    let mut mac = match HmacSha256::new_from_slice(secret) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC accepts keys of every length"),
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(DIGITS[usize::from(byte >> 4)] as char);
        out.push(DIGITS[usize::from(byte & 0xf)] as char);
    }
    out
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 || text.len() > 128 {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mac_covers_the_timestamp_and_the_body() {
        let header = sign(b"k", 100, b"body");
        assert_eq!(verify(b"k", &header, b"body", 100, 300), Ok(()));
        assert_eq!(
            verify(b"k", &header, b"bodY", 100, 300),
            Err(SignatureError::Mismatch)
        );
        let moved = header.replace("t=100", "t=101");
        assert_eq!(
            verify(b"k", &moved, b"body", 100, 300),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(b"k", &header, b"body", 401, 300),
            Err(SignatureError::Stale)
        );
    }

    #[test]
    fn it_matches_an_independent_hmac() {
        // Python: hmac.new(b"Jefe", b"1765000000.what do ya want for nothing?",
        // hashlib.sha256).hexdigest() — what the docs tell receivers to compute.
        assert_eq!(
            sign(b"Jefe", 1_765_000_000, b"what do ya want for nothing?"),
            "t=1765000000,v1=95db04b8286d6f80da4dfc2d1ae49186dd1395f63122bf4afe43e57162f6b65e"
        );
    }

    #[test]
    fn malformed_headers_are_refused_not_panicked_on() {
        for header in [
            "",
            "t=1",
            "v1=00",
            "t=x,v1=00",
            "t=1,v1=0",
            "t=1,v1=zz",
            "garbage",
        ] {
            assert_eq!(
                verify(b"k", header, b"", 1, 300),
                Err(SignatureError::Malformed),
                "{header:?}"
            );
        }
    }
}
