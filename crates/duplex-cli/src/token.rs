//! `duplex token`: mints a Centrifugo-format HS256 token for trying a hub by hand and for
//! scripts, so nobody needs a backend (or jwt.io) to get a first client connected.
//!
//! Only the token goes to stdout, so that `TOKEN=$(duplex token --user 42)` works.

use std::io::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context as _};
use duplex_hub::auth::{mint_hs256, MintClaims};

use crate::args::TokenArgs;

/// Where the secret comes from when --secret is not given.
pub const SECRET_ENV: &str = "DUPLEX_CLIENT_TOKEN_HMAC_SECRET_KEY";

/// Prints the token the arguments describe.
pub fn run(args: TokenArgs) -> anyhow::Result<()> {
    let secret = match args.secret {
        Some(secret) => secret,
        None => std::env::var(SECRET_ENV).unwrap_or_default(),
    };
    if secret.is_empty() {
        bail!(
            "no secret to sign with: pass --secret or set {SECRET_ENV} \
             (the hub's client.token.hmac_secret_key)"
        );
    }
    let exp = if args.no_expiry {
        None
    } else {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .context("the system clock is before 1970")?;
        let exp = now.saturating_add(args.ttl).as_secs();
        Some(i64::try_from(exp).context("--ttl is too long")?)
    };
    let claims = MintClaims {
        sub: args.user,
        exp,
        channel: args.channel,
        info: args.info,
        channels: args.channels,
        audience: args.audience,
        issuer: args.issuer,
    };
    let token = mint_hs256(&secret, &claims)?;
    writeln!(std::io::stdout().lock(), "{token}")?;
    Ok(())
}
