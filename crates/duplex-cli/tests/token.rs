//! `duplex token` mints tokens the hub's verifier accepts, with the claims asked for, and
//! refuses clearly when it has no secret to sign with.

use std::process::{Command, Output};
use std::time::{SystemTime, UNIX_EPOCH};

use duplex_hub::auth::{TokenConfig, TokenVerifier};

const ENV: &str = "DUPLEX_CLIENT_TOKEN_HMAC_SECRET_KEY";

/// `duplex token ARGS` with the secret variable set to `env_secret` (or unset).
fn token(args: &[&str], env_secret: Option<&str>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_duplex"));
    command.arg("token").args(args).env_remove(ENV);
    if let Some(secret) = env_secret {
        command.env(ENV, secret);
    }
    command.output().expect("run duplex token")
}

fn minted(output: &Output) -> String {
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8(output.stdout.clone()).unwrap();
    assert_eq!(stdout.lines().count(), 1, "only the token: {stdout:?}");
    stdout.trim().to_owned()
}

fn verifier(secret: &str) -> TokenVerifier {
    let config = TokenConfig {
        hmac_secret_key: Some(secret.into()),
        ..TokenConfig::default()
    };
    TokenVerifier::new(&config, None).unwrap()
}

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(future)
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[test]
fn connection_token_from_the_environment() {
    let token = minted(&token(
        &[
            "--user",
            "42",
            "--ttl",
            "2h",
            "--info",
            r#"{"name":"Ada"}"#,
            "--subscribe",
            "news",
        ],
        Some("env-secret"),
    ));
    let claims = block_on(verifier("env-secret").verify_connect(&token)).unwrap();
    assert_eq!(claims.sub, "42");
    assert_eq!(claims.info.as_deref(), Some(&br#"{"name":"Ada"}"#[..]));
    assert_eq!(claims.channels, ["news"]);
    let exp = claims.exp.expect("an exp claim");
    assert!((now() + 7200 - exp).abs() <= 5, "exp {exp}");
    // Another secret does not verify it.
    assert!(block_on(verifier("other").verify_connect(&token)).is_err());
}

#[test]
fn subscription_token_with_the_secret_flag() {
    // --secret wins over the environment.
    let output = token(
        &[
            "--user",
            "42",
            "--channel",
            "$private:42",
            "--secret",
            "flag-secret",
        ],
        Some("env-secret"),
    );
    let token = minted(&output);
    let claims = block_on(verifier("flag-secret").verify_subscribe(&token)).unwrap();
    assert_eq!(
        (claims.sub.as_str(), claims.channel.as_str()),
        ("42", "$private:42")
    );
    // A subscription token is no connection token.
    assert!(block_on(verifier("flag-secret").verify_connect(&token)).is_err());
}

#[test]
fn anonymous_token_without_expiry() {
    let token = minted(&token(
        &["--user", "", "--no-expiry", "--secret", "s"],
        None,
    ));
    let claims = block_on(verifier("s").verify_connect(&token)).unwrap();
    assert_eq!((claims.sub.as_str(), claims.exp), ("", None));
}

#[test]
fn audience_and_issuer() {
    let token = minted(&token(
        &[
            "--user",
            "1",
            "--secret",
            "s",
            "--audience",
            "chat",
            "--issuer",
            "https://auth.example.com",
        ],
        None,
    ));
    let config = TokenConfig {
        hmac_secret_key: Some("s".into()),
        audience: Some("chat".into()),
        issuer: Some("https://auth.example.com".into()),
        ..TokenConfig::default()
    };
    let verifier = TokenVerifier::new(&config, None).unwrap();
    assert_eq!(block_on(verifier.verify_connect(&token)).unwrap().sub, "1");
}

#[test]
fn no_secret_is_a_clear_error() {
    for env in [None, Some("")] {
        let output = token(&["--user", "42"], env);
        assert_eq!(output.status.code(), Some(1), "{output:?}");
        assert!(output.stdout.is_empty());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.starts_with(
                "duplex: no secret to sign with: pass --secret or set DUPLEX_CLIENT_TOKEN_HMAC_SECRET_KEY"
            ),
            "{stderr}"
        );
    }
}

#[test]
fn bad_arguments_are_usage_errors() {
    for args in [
        &["--user", "1", "--secret", "s", "--ttl", "0s"][..],
        &["--user", "1", "--secret", "s", "--ttl", "soon"],
        &["--user", "1", "--secret", "s", "--info", "{name: Ada}"],
        &["--user", "1", "--secret", "s", "--ttl", "1h", "--no-expiry"],
        &["--secret", "s"],
    ] {
        let output = token(args, None);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {output:?}");
    }
}

#[test]
fn help_has_examples() {
    let output = token(&["--help"], None);
    let help = String::from_utf8_lossy(&output.stdout);
    assert!(help.contains("Examples:"), "{help}");
    assert!(help.contains(ENV), "{help}");
}
