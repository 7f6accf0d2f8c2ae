//! One backend endpoint: a JSON POST with the forwarded and static headers, one deadline for
//! the whole call, at most one retry where the call is safe to repeat, and a bounded reply.
//!
//! The deadline covers connecting, sending, waiting and reading the body, and the retry too,
//! so a client never waits longer than the proxy's `timeout` for an answer whatever the backend
//! does. Only a connection that could not be made is retried: then the backend never saw the
//! request, and one more try rides over a backend restarting or a stale pooled connection.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::{HeaderMap, HeaderName, HeaderValue};
use tokio::time::Instant;

use super::{ConnectionState, ProxyError, MAX_REPLY_SIZE};
use crate::config::ProxyConfig;

/// Pause before the one retry: long enough for a backend that is restarting to listen again,
/// short against the default one-second timeout.
const RETRY_PAUSE: Duration = Duration::from_millis(50);

/// One configured proxy endpoint.
pub(super) struct Endpoint {
    client: reqwest::Client,
    url: reqwest::Url,
    timeout: Duration,
    /// Names of the connection's headers to forward (lower case).
    forwarded: Vec<HeaderName>,
    /// `http.static_headers`.
    static_headers: HeaderMap,
    /// Whether a connection error is retried once (the event only reads the backend's view).
    retry: bool,
    binary: bool,
    include_meta: bool,
}

impl Endpoint {
    /// The endpoint of `config`; the error names what is wrong with it.
    pub(super) fn new(
        client: reqwest::Client,
        config: &ProxyConfig,
        retry: bool,
    ) -> Result<Endpoint, String> {
        let url = reqwest::Url::parse(&config.endpoint)
            .map_err(|error| format!("endpoint {:?}: {error}", config.endpoint))?;
        let forwarded = config
            .http_headers
            .iter()
            .map(|name| {
                HeaderName::from_bytes(name.as_bytes())
                    .map_err(|_| format!("http_headers: {name:?} is not a header name"))
            })
            .collect::<Result<_, _>>()?;
        let mut static_headers = HeaderMap::new();
        for (name, value) in &config.static_headers {
            let header = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| format!("http.static_headers: {name:?} is not a header name"))?;
            let value = HeaderValue::from_str(value)
                .map_err(|_| format!("http.static_headers: the value of {name:?} is invalid"))?;
            static_headers.insert(header, value);
        }
        Ok(Endpoint {
            client,
            url,
            timeout: config.timeout,
            forwarded,
            static_headers,
            retry,
            binary: config.binary_encoding,
            include_meta: config.include_connection_meta,
        })
    }

    /// The header names this endpoint forwards from the connection.
    pub(super) fn forwarded(&self) -> &[HeaderName] {
        &self.forwarded
    }

    /// Whether payloads go as base64 (`b64data`) rather than JSON.
    pub(super) fn binary(&self) -> bool {
        self.binary
    }

    /// Whether requests carry the connection's `meta`.
    pub(super) fn includes_meta(&self) -> bool {
        self.include_meta
    }

    /// POSTs `body` and returns the reply body of a 200 answer.
    pub(super) async fn call(
        &self,
        body: Vec<u8>,
        state: Option<&ConnectionState>,
    ) -> Result<Bytes, ProxyError> {
        let deadline = Instant::now() + self.timeout;
        let headers = self.headers(state);
        let body = Bytes::from(body);
        let mut retried = false;
        loop {
            let attempt = self.attempt(headers.clone(), body.clone());
            match tokio::time::timeout_at(deadline, attempt).await {
                Err(_) => return Err(ProxyError::Timeout(self.timeout)),
                Ok(Err(ProxyError::Unreachable(reason))) if self.retry && !retried => {
                    tracing::debug!(url = %self.url, "proxy: {reason}; trying once more");
                    retried = true;
                    let pause = (Instant::now() + RETRY_PAUSE).min(deadline);
                    tokio::time::sleep_until(pause).await;
                }
                Ok(result) => return result,
            }
        }
    }

    /// Static headers first, then the forwarded ones (which win), then the content type,
    /// which is always JSON as in Centrifugo.
    fn headers(&self, state: Option<&ConnectionState>) -> HeaderMap {
        let mut headers = self.static_headers.clone();
        if let Some(state) = state {
            for name in &self.forwarded {
                let mut values = state.headers.iter().filter(|(n, _)| n == name).peekable();
                if values.peek().is_some() {
                    headers.remove(name);
                    for (_, value) in values {
                        headers.append(name.clone(), value.clone());
                    }
                }
            }
        }
        headers.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        headers
    }

    async fn attempt(&self, headers: HeaderMap, body: Bytes) -> Result<Bytes, ProxyError> {
        let mut response = self
            .client
            .post(self.url.clone())
            .headers(headers)
            .body(body)
            .send()
            .await
            .map_err(|error| ProxyError::Unreachable(error.to_string()))?;
        let status = response.status();
        if status != reqwest::StatusCode::OK {
            return Err(ProxyError::Status(status.as_u16()));
        }
        if response
            .content_length()
            .is_some_and(|length| length > MAX_REPLY_SIZE as u64)
        {
            return Err(ProxyError::TooLarge);
        }
        let mut reply = BytesMut::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|error| ProxyError::Malformed(format!("reading the reply: {error}")))?
        {
            if reply.len() + chunk.len() > MAX_REPLY_SIZE {
                return Err(ProxyError::TooLarge);
            }
            reply.extend_from_slice(&chunk);
        }
        Ok(reply.freeze())
    }
}
