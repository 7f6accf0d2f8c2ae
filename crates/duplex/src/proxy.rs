//! HTTP proxies: which one a connection uses, and the `CONNECT` tunnel through it.
//!
//! By default the proxy comes from the environment as curl reads it: `https_proxy` for `wss://`,
//! `http_proxy` for `ws://`, then `all_proxy` (lower case first, then upper case), skipped for
//! hosts matched by `no_proxy`. Like Go's `net/http`, `localhost` and loopback addresses never
//! take a proxy from the environment, and `HTTP_PROXY` is ignored when `REQUEST_METHOD` is set
//! (a CGI request can set it through a `Proxy:` header: "httpoxy"). TLS, when asked for, runs
//! inside the tunnel, so the proxy sees only the host and port.

use std::net::IpAddr;

use base64::Engine as _;
use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};

use crate::client::Target;
use crate::error::{ProxyError, Result};
use crate::io::poll_read_into;

/// How a client picks its proxy.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) enum ProxySetting {
    /// From the environment (the default).
    #[default]
    FromEnv,
    /// Never.
    Disabled,
    /// This proxy URL for every connection.
    Url(String),
}

/// An HTTP proxy to tunnel through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Proxy {
    /// The URL, with any password removed, for messages.
    pub(crate) shown: String,
    pub(crate) host: String,
    pub(crate) port: u16,
    /// `Proxy-Authorization` value, from the URL's user and password.
    authorization: Option<String>,
}

impl ProxySetting {
    /// The proxy for `target`, if any, reading the environment through `env`.
    pub(crate) fn resolve(
        &self,
        target: &Target,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Option<Proxy>> {
        match self {
            ProxySetting::Disabled => Ok(None),
            ProxySetting::Url(url) => Proxy::parse(url, "the configured proxy").map(Some),
            ProxySetting::FromEnv => {
                let get = |name: &str| env(name).filter(|v| !v.trim().is_empty());
                let cgi = env("REQUEST_METHOD").is_some();
                let found = if target.secure {
                    get("https_proxy")
                        .map(|v| (v, "https_proxy"))
                        .or_else(|| get("HTTPS_PROXY").map(|v| (v, "HTTPS_PROXY")))
                } else {
                    get("http_proxy").map(|v| (v, "http_proxy")).or_else(|| {
                        get("HTTP_PROXY")
                            .filter(|_| !cgi)
                            .map(|v| (v, "HTTP_PROXY"))
                    })
                }
                .or_else(|| get("all_proxy").map(|v| (v, "all_proxy")))
                .or_else(|| get("ALL_PROXY").map(|v| (v, "ALL_PROXY")));
                let Some((url, var)) = found else {
                    return Ok(None);
                };
                let no_proxy = get("no_proxy").or_else(|| get("NO_PROXY"));
                if is_loopback(&target.host) || bypass(no_proxy.as_deref(), target) {
                    return Ok(None);
                }
                Proxy::parse(&url, var).map(Some)
            }
        }
    }
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host.to_ascii_lowercase().ends_with(".localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Whether `no_proxy` (a comma list of `*`, hosts, domain suffixes with or without a leading
/// dot, IP addresses, each optionally with `:port`) exempts the target.
pub(crate) fn bypass(no_proxy: Option<&str>, target: &Target) -> bool {
    let Some(list) = no_proxy else { return false };
    let host = target.host.trim_end_matches('.').to_ascii_lowercase();
    list.split(',').map(str::trim).any(|entry| {
        if entry == "*" {
            return true;
        }
        // An entry is `name`, `name:port`, `[v6]`, `[v6]:port` or a bare IPv6 address.
        let (name, port) = if entry.parse::<IpAddr>().is_ok() {
            (entry, None)
        } else if let Some(rest) = entry.strip_prefix('[') {
            match rest.split_once(']') {
                Some((ip, tail)) => (ip, tail.strip_prefix(':')),
                None => return false,
            }
        } else {
            match entry.rsplit_once(':') {
                Some((name, port)) => (name, Some(port)),
                None => (entry, None),
            }
        };
        if port.is_some_and(|p| p.parse::<u16>().ok() != Some(target.port)) {
            return false;
        }
        let name = name
            .trim_start_matches("*.")
            .trim_start_matches('.')
            .trim_end_matches('.')
            .to_ascii_lowercase();
        if name.is_empty() {
            return false;
        }
        if let (Ok(a), Ok(b)) = (name.parse::<IpAddr>(), host.parse::<IpAddr>()) {
            return a == b;
        }
        host == name || host.ends_with(&format!(".{name}"))
    })
}

impl Proxy {
    /// Parses `http://[user[:password]@]host[:port]` (a bare `host:port` means `http://`).
    pub(crate) fn parse(url: &str, origin: &str) -> Result<Proxy> {
        let with_scheme = if url.contains("://") {
            url.to_owned()
        } else {
            format!("http://{url}")
        };
        let invalid = |source| ProxyError::InvalidUrl {
            origin: origin.to_owned(),
            url: url.to_owned(),
            source,
        };
        let parsed = url::Url::parse(&with_scheme).map_err(invalid)?;
        if parsed.scheme() != "http" {
            let mut shown = parsed.clone();
            let _ = shown.set_password(None); // errors get logged; passwords must not
            return Err(ProxyError::UnsupportedScheme {
                origin: origin.to_owned(),
                url: shown.to_string(),
            }
            .into());
        }
        let host = match parsed.host() {
            Some(url::Host::Domain(d)) => d.to_owned(),
            Some(url::Host::Ipv4(ip)) => ip.to_string(),
            Some(url::Host::Ipv6(ip)) => ip.to_string(),
            // The url crate requires a host for http://; this is only belt and braces.
            None => return Err(invalid(url::ParseError::EmptyHost).into()),
        };
        let port = parsed.port().unwrap_or(80);
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        };
        let authorization = (!parsed.username().is_empty()).then(|| {
            let credentials = format!(
                "{}:{}",
                decode(parsed.username()),
                decode(parsed.password().unwrap_or(""))
            );
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(credentials)
            )
        });
        let mut shown = parsed.clone();
        let _ = shown.set_password(None);
        let _ = shown.set_username("");
        Ok(Proxy {
            shown: shown.as_str().trim_end_matches('/').to_owned(),
            host,
            port,
            authorization,
        })
    }

    /// Asks the proxy for a tunnel to `target` with `CONNECT`; on success the stream carries
    /// the target's bytes.
    pub(crate) async fn tunnel<S: AsyncRead + AsyncWrite + Unpin>(
        &self,
        stream: &mut S,
        target: &Target,
    ) -> Result<()> {
        let authority = target.authority();
        let mut request = format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n");
        if let Some(auth) = &self.authorization {
            request.push_str(&format!("Proxy-Authorization: {auth}\r\n"));
        }
        request.push_str("\r\n");
        stream.write_all(request.as_bytes()).await?;
        stream.flush().await?;

        const MAX_HEAD: usize = 16 * 1024;
        let mut buf = BytesMut::with_capacity(1024);
        loop {
            let mut headers = [httparse::EMPTY_HEADER; 64];
            let mut response = httparse::Response::new(&mut headers);
            match response.parse(&buf) {
                Ok(httparse::Status::Complete(head_len)) => {
                    let status = response.code.unwrap_or(0);
                    if !(200..300).contains(&status) {
                        return Err(ProxyError::Refused {
                            proxy: self.shown.clone(),
                            authority,
                            status,
                            reason: response.reason.unwrap_or("").to_owned(),
                            sent_credentials: self.authorization.is_some(),
                        }
                        .into());
                    }
                    if buf.len() > head_len {
                        return Err(ProxyError::EarlyData {
                            proxy: self.shown.clone(),
                        }
                        .into());
                    }
                    return Ok(());
                }
                Ok(httparse::Status::Partial) if buf.len() <= MAX_HEAD => {}
                Ok(httparse::Status::Partial) => {
                    return Err(ProxyError::HeadTooLarge {
                        proxy: self.shown.clone(),
                        limit: MAX_HEAD,
                    }
                    .into())
                }
                Err(source) => {
                    return Err(ProxyError::Malformed {
                        proxy: self.shown.clone(),
                        source,
                    }
                    .into())
                }
            }
            let n = std::future::poll_fn(|cx| poll_read_into(stream, cx, &mut buf)).await?;
            if n == 0 {
                return Err(ProxyError::Closed {
                    proxy: self.shown.clone(),
                    authority,
                }
                .into());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    fn proxy_for(url: &str, vars: &[(&str, &str)]) -> Option<String> {
        let target = Target::parse(url).unwrap();
        ProxySetting::FromEnv
            .resolve(&target, env(vars))
            .unwrap()
            .map(|p| format!("{}:{}", p.host, p.port))
    }

    #[test]
    fn picks_the_variable_for_the_scheme() {
        let vars = [
            ("http_proxy", "http://plain:3128"),
            ("HTTPS_PROXY", "secure:8080"),
        ];
        assert_eq!(
            proxy_for("ws://example.com/", &vars).as_deref(),
            Some("plain:3128")
        );
        assert_eq!(
            proxy_for("wss://example.com/", &vars).as_deref(),
            Some("secure:8080")
        );
        let all = [("ALL_PROXY", "http://all")];
        assert_eq!(
            proxy_for("wss://example.com/", &all).as_deref(),
            Some("all:80")
        );
        assert_eq!(proxy_for("ws://example.com/", &[]), None);
    }

    #[test]
    fn ignores_upper_case_http_proxy_under_cgi() {
        let vars = [("HTTP_PROXY", "http://evil:1"), ("REQUEST_METHOD", "GET")];
        assert_eq!(proxy_for("ws://example.com/", &vars), None);
    }

    #[test]
    fn no_proxy_and_loopback_bypass_the_proxy() {
        let with = |no: &'static str| [("https_proxy", "http://p:1"), ("no_proxy", no)];
        assert_eq!(
            proxy_for("wss://a.example.com/", &with("example.com")),
            None
        );
        assert_eq!(proxy_for("wss://example.com/", &with(".example.com")), None);
        assert_eq!(proxy_for("wss://example.com/", &with("*")), None);
        assert_eq!(proxy_for("wss://10.0.0.1/", &with("foo, 10.0.0.1")), None);
        assert_eq!(
            proxy_for("wss://[2001:db8::1]/", &with("[2001:db8::1]")),
            None
        );
        assert_eq!(
            proxy_for("wss://example.com:8443/", &with("example.com:8443")),
            None
        );
        assert!(proxy_for("wss://example.com/", &with("example.com:8443")).is_some());
        assert!(proxy_for("wss://notexample.com/", &with("example.com")).is_some());
        let only = [("https_proxy", "http://p:1")];
        assert_eq!(proxy_for("wss://localhost:9001/", &only), None);
        assert_eq!(proxy_for("wss://127.0.0.1:9001/", &only), None);
        assert_eq!(proxy_for("wss://[::1]:9001/", &only), None);
    }

    #[test]
    fn parses_credentials_and_refuses_other_schemes() {
        let p = Proxy::parse("http://us%40er:p%3Ass@proxy.local:3128/", "test").unwrap();
        assert_eq!((p.host.as_str(), p.port), ("proxy.local", 3128));
        let expected = base64::engine::general_purpose::STANDARD.encode("us@er:p:ss");
        assert_eq!(p.authorization, Some(format!("Basic {expected}")));
        assert_eq!(p.shown, "http://proxy.local:3128");
        let err = Proxy::parse("socks5://user:secret@p:1080", "ALL_PROXY").unwrap_err();
        assert!(!err.to_string().contains("secret"), "{err}");
        assert!(
            matches!(&err, crate::Error::Proxy(ProxyError::UnsupportedScheme { origin, .. }) if origin == "ALL_PROXY"),
            "{err:?}"
        );
        assert!(err.to_string().contains("only http:// proxies"), "{err}");
        let err = Proxy::parse("http://[::1", "https_proxy").unwrap_err();
        assert!(
            matches!(&err, crate::Error::Proxy(ProxyError::InvalidUrl { .. })),
            "{err:?}"
        );
    }
}
