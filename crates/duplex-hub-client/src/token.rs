//! Token callbacks: where the client gets a connection or subscription token, each time it
//! needs one — on connect, and again before the current one expires.
//!
//! A callback is an async closure, as centrifuge-js's `getToken`: it usually asks the
//! application's backend, which knows the logged-in user. It runs on a task of its own, so a
//! slow backend never holds up the connection's reading and writing.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::error::TokenError;

/// The future a token callback returns.
pub type TokenFuture = Pin<Box<dyn Future<Output = Result<String, TokenError>> + Send>>;

/// A token callback, cheap to clone.
///
/// ```
/// use duplex_hub_client::{TokenError, TokenSource};
///
/// let source = TokenSource::new(|| async {
///     // Ask the backend: reqwest::get("https://example.com/hub-token")...
///     Ok::<_, TokenError>("eyJ...".to_owned())
/// });
/// # let _ = source;
/// ```
#[derive(Clone)]
pub struct TokenSource(Arc<dyn Fn() -> TokenFuture + Send + Sync>);

impl TokenSource {
    /// Wraps an async closure that returns a token.
    pub fn new<F, Fut>(callback: F) -> TokenSource
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<String, TokenError>> + Send + 'static,
    {
        TokenSource(Arc::new(move || Box::pin(callback())))
    }

    /// Calls the callback.
    pub fn fetch(&self) -> TokenFuture {
        (self.0)()
    }
}

impl std::fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenSource(..)")
    }
}
