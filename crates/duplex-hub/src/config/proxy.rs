//! The options of the HTTP proxies to the application's backend, under Centrifugo v6's names:
//! `client.proxy.connect` and `client.proxy.refresh` (each with `enabled`), `channel.proxy.
//! subscribe`, `channel.proxy.publish` and `channel.proxy.sub_refresh` (switched on per namespace
//! with `subscribe_proxy_enabled` and the like), and `rpc.proxy` (switched on with
//! `rpc.without_namespace.proxy_enabled` or per RPC namespace).
//!
//! One [`ProxyConfig`] shape serves every proxy, as Centrifugo's proxy object does. Only HTTP
//! endpoints are implemented; a `grpc://` endpoint is refused when the configuration is
//! checked rather than ignored, since ignoring it would let every such event through or none.

use std::time::Duration;

use serde_json::Value;

use super::value::{describe, Setting};

/// One proxy endpoint and how to call it (Centrifugo's proxy object).
#[derive(Debug, Clone, PartialEq)]
pub struct ProxyConfig {
    /// The backend's `http://` or `https://` URL; empty: not configured (`endpoint`).
    pub endpoint: String,
    /// How long one call may take, retries included (`timeout`, 1s).
    pub timeout: Duration,
    /// Headers of the client's connection request to forward, such as `Cookie` or
    /// `Authorization` (`http_headers`; none by default).
    pub http_headers: Vec<String>,
    /// Headers added to every request to the backend; a forwarded header of the same name wins
    /// (`http.static_headers`).
    pub static_headers: Vec<(String, String)>,
    /// Send payloads as base64 in `b64data` rather than as JSON in `data`, for binary payloads
    /// (`binary_encoding`).
    pub binary_encoding: bool,
    /// Send the `meta` the connect proxy attached to the connection (`include_connection_meta`).
    pub include_connection_meta: bool,
}

impl Default for ProxyConfig {
    fn default() -> Self {
        Self {
            endpoint: String::new(),
            timeout: Duration::from_secs(1),
            http_headers: Vec::new(),
            static_headers: Vec::new(),
            binary_encoding: false,
            include_connection_meta: false,
        }
    }
}

impl ProxyConfig {
    /// Whether an endpoint is configured.
    pub fn is_configured(&self) -> bool {
        !self.endpoint.is_empty()
    }
}

/// A connection-wide proxy, which has its own switch (`client.proxy.connect.enabled`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SwitchedProxy {
    /// Call the proxy (`enabled`).
    pub enabled: bool,
    /// The endpoint and its options.
    pub proxy: ProxyConfig,
}

impl SwitchedProxy {
    /// The proxy's options, when it is switched on.
    pub fn active(&self) -> Option<&ProxyConfig> {
        self.enabled.then_some(&self.proxy)
    }
}

/// The connection-wide proxies (`client.proxy.*`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClientProxyConfig {
    /// Authenticates connections that come without a token (`client.proxy.connect`).
    pub connect: SwitchedProxy,
    /// Extends connections when they expire, instead of the client refreshing a token
    /// (`client.proxy.refresh`).
    pub refresh: SwitchedProxy,
}

/// The channel proxies (`channel.proxy.*`); each namespace switches them on for its channels.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChannelProxyConfig {
    /// Decides subscriptions (`channel.proxy.subscribe`, with `subscribe_proxy_enabled`).
    pub subscribe: ProxyConfig,
    /// Decides and may change publications (`channel.proxy.publish`, with
    /// `publish_proxy_enabled`).
    pub publish: ProxyConfig,
    /// Extends subscriptions when they expire (`channel.proxy.sub_refresh`, with
    /// `sub_refresh_proxy_enabled`).
    pub sub_refresh: ProxyConfig,
}

/// Client RPC calls (`rpc.*`).
#[derive(Debug, Clone, PartialEq)]
pub struct RpcConfig {
    /// Answers RPCs of the methods whose namespace enables it (`rpc.proxy`).
    pub proxy: ProxyConfig,
    /// Options of methods without a namespace (`rpc.without_namespace`).
    pub without_namespace: RpcOptions,
    /// RPC namespaces: a method `ns:name` takes the options of namespace `ns`
    /// (`rpc.namespaces`).
    pub namespaces: Vec<RpcNamespace>,
    /// Separates an RPC method's namespace from its name (`rpc.namespace_boundary`, `:`).
    pub namespace_boundary: String,
}

impl Default for RpcConfig {
    fn default() -> Self {
        Self {
            proxy: ProxyConfig::default(),
            without_namespace: RpcOptions::default(),
            namespaces: Vec::new(),
            namespace_boundary: ":".to_owned(),
        }
    }
}

impl RpcConfig {
    /// The options of `method`'s namespace; `None` for a namespace that is not configured.
    ///
    /// ```
    /// use duplex_hub::config::HubConfig;
    ///
    /// let mut config = HubConfig::default();
    /// config.set("rpc.namespaces", r#"[{"name": "orders", "proxy_enabled": true}]"#).unwrap();
    /// assert!(config.rpc.options("orders:list").unwrap().proxy_enabled);
    /// assert!(!config.rpc.options("ping").unwrap().proxy_enabled);
    /// assert!(config.rpc.options("nope:list").is_none());
    /// ```
    pub fn options(&self, method: &str) -> Option<&RpcOptions> {
        match method.split_once(self.namespace_boundary.as_str()) {
            Some((namespace, _)) if !self.namespace_boundary.is_empty() => self
                .namespaces
                .iter()
                .find(|candidate| candidate.name == namespace)
                .map(|found| &found.options),
            _ => Some(&self.without_namespace),
        }
    }
}

/// Options of RPC methods.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RpcOptions {
    /// Send these methods to `rpc.proxy` (`proxy_enabled`).
    pub proxy_enabled: bool,
}

/// An RPC namespace: methods named `name:...` and their options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RpcNamespace {
    /// The namespace name, matching `^[-a-zA-Z0-9_.]{2,}$` and unique.
    pub name: String,
    /// Its options.
    pub options: RpcOptions,
}

/// `http.static_headers`: a JSON object of header names and values; from a variable, the same
/// object as JSON text (Centrifugo's environment form).
impl Setting for Vec<(String, String)> {
    fn from_json(value: &Value) -> Result<Self, String> {
        let Value::Object(map) = value else {
            return Err(format!(
                "expected an object of header names and values, got {}",
                describe(value)
            ));
        };
        map.iter()
            .map(|(name, value)| match value {
                Value::String(text) => Ok((name.clone(), text.clone())),
                other => Err(format!(
                    "header {name:?}: expected a string, got {}",
                    describe(other)
                )),
            })
            .collect()
    }

    fn from_text(text: &str) -> Result<Self, String> {
        let value: Value = serde_json::from_str(text)
            .map_err(|error| format!("expected a JSON object: {error}"))?;
        Self::from_json(&value)
    }
}

/// `rpc.namespaces`: a list of `{"name": ..., "proxy_enabled": ...}` objects; from a variable,
/// the same list as JSON.
impl Setting for Vec<RpcNamespace> {
    fn from_json(value: &Value) -> Result<Self, String> {
        let Value::Array(items) = value else {
            return Err(format!(
                "expected a list of RPC namespaces, got {}",
                describe(value)
            ));
        };
        items.iter().map(rpc_namespace).collect()
    }

    fn from_text(text: &str) -> Result<Self, String> {
        let value: Value = serde_json::from_str(text)
            .map_err(|error| format!("expected a JSON array: {error}"))?;
        Self::from_json(&value)
    }
}

fn rpc_namespace(item: &Value) -> Result<RpcNamespace, String> {
    let Value::Object(object) = item else {
        return Err(format!(
            "expected an RPC namespace object, got {}",
            describe(item)
        ));
    };
    let mut namespace = RpcNamespace {
        name: String::new(),
        options: RpcOptions::default(),
    };
    for (key, value) in object {
        match key.as_str() {
            "name" => namespace.name = String::from_json(value)?,
            "proxy_enabled" => namespace.options.proxy_enabled = bool::from_json(value)?,
            // Named proxies are not implemented: a namespace that names one would otherwise
            // reach the default proxy, a backend that was not meant to answer it.
            "proxy_name" | "rpc_proxy_name" => {
                let name = String::from_json(value)?;
                if !(name.is_empty() || name == "default") {
                    return Err(format!(
                        "named proxies are not implemented ({key} {name:?}); use rpc.proxy"
                    ));
                }
            }
            other => return Err(format!("unknown RPC namespace option {other:?}")),
        }
    }
    if namespace.name.is_empty() {
        return Err("an RPC namespace needs a name".to_owned());
    }
    Ok(namespace)
}
