//! The rules that tie options together, checked once every source has been applied (a file's
//! history size may get its TTL from the environment). Each error names the key at fault.

use std::time::Duration;

use super::keys::{NAMESPACES, WITHOUT_NAMESPACE};
use super::{ChannelOptions, ConfigError, HubConfig};

impl HubConfig {
    /// Checks the configuration as a whole: Centrifugo's rules (history needs both size and
    /// TTL, recovery needs history, namespace names `^[-a-zA-Z0-9_.]{2,}$` and unique, the
    /// personal channel namespace exists) and the hub's own (limits above zero, pong timeout
    /// below ping interval, user presence needs presence). Loading a file and applying the
    /// environment call it; call it again after the last [`HubConfig::set`].
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.validate_client()?;
        self.validate_webhook()?;
        self.validate_pusher()?;
        let rules = &self.channel.rules;
        for (key, value) in [
            ("channel.namespace_boundary", &rules.namespace_boundary),
            ("channel.user_boundary", &rules.user_boundary),
            ("channel.user_separator", &rules.user_separator),
        ] {
            if value.is_empty() {
                return Err(ConfigError::invalid(key, "must not be empty"));
            }
        }
        positive("channel.max_length", rules.max_length)?;
        positive(
            "websocket.message_size_limit",
            self.websocket.message_size_limit,
        )?;
        let meta_ttl = self.channel.history_meta_ttl;
        validate_options(WITHOUT_NAMESPACE, &self.channel.without_namespace, meta_ttl)?;
        for (index, namespace) in self.channel.namespaces.iter().enumerate() {
            let name = &namespace.name;
            if !valid_namespace_name(name) {
                return Err(ConfigError::invalid(
                    format!("{NAMESPACES}[{index}].name"),
                    format!("{name:?} must match ^[-a-zA-Z0-9_.]{{2,}}$"),
                ));
            }
            if self.channel.namespaces[..index]
                .iter()
                .any(|earlier| earlier.name == *name)
            {
                return Err(ConfigError::invalid(
                    format!("{NAMESPACES}[{name}]"),
                    "namespace names must be unique",
                ));
            }
            validate_options(
                &format!("{NAMESPACES}[{name}]"),
                &namespace.options,
                meta_ttl,
            )?;
        }
        self.validate_personal_channel()?;
        self.validate_proxies()?;
        self.validate_broker()?;
        super::consumers::validate_consumers(&self.consumers)
    }

    /// A NATS broker has a server and a literal subject prefix, and no namespace asks it for
    /// history it cannot keep: refused at start rather than failing every publish later.
    fn validate_broker(&self) -> Result<(), ConfigError> {
        if !self.broker.is_nats() {
            return Ok(());
        }
        let nats = &self.broker.nats;
        if nats.url.trim().is_empty() {
            return Err(ConfigError::invalid("broker.nats.url", "must not be empty"));
        }
        crate::engine::nats::validate_prefix(&nats.prefix)
            .map_err(|why| ConfigError::invalid("broker.nats.prefix", why))?;
        if nats.write_timeout.is_zero() {
            return Err(ConfigError::invalid(
                "broker.nats.write_timeout",
                "must be positive",
            ));
        }
        let namespaces = std::iter::once((
            WITHOUT_NAMESPACE.to_owned(),
            &self.channel.without_namespace,
        ))
        .chain(
            self.channel
                .namespaces
                .iter()
                .map(|n| (format!("{NAMESPACES}[{}]", n.name), &n.options)),
        );
        for (path, options) in namespaces {
            if options.history_size > 0 && !options.history_ttl.is_zero() {
                return Err(ConfigError::invalid(
                    format!("{path}.history_size"),
                    "the NATS broker (broker.type = \"nats\") keeps no history: set \
                     history_size and history_ttl to 0, or use an engine with history",
                ));
            }
        }
        Ok(())
    }

    /// Every proxy in use has an HTTP endpoint; endpoints are HTTP; RPC namespaces are named
    /// as channel namespaces are.
    fn validate_proxies(&self) -> Result<(), ConfigError> {
        let namespaces = || {
            std::iter::once(&self.channel.without_namespace)
                .chain(self.channel.namespaces.iter().map(|n| &n.options))
        };
        let rpc = &self.rpc;
        let rpc_used = rpc.without_namespace.proxy_enabled
            || rpc.namespaces.iter().any(|n| n.options.proxy_enabled);
        let proxies = [
            (
                "client.proxy.connect",
                &self.client.proxy.connect.proxy,
                self.client.proxy.connect.enabled,
            ),
            (
                "client.proxy.refresh",
                &self.client.proxy.refresh.proxy,
                self.client.proxy.refresh.enabled,
            ),
            (
                "channel.proxy.subscribe",
                &self.channel.proxy.subscribe,
                namespaces().any(|o| o.subscribe_proxy_enabled),
            ),
            (
                "channel.proxy.publish",
                &self.channel.proxy.publish,
                namespaces().any(|o| o.publish_proxy_enabled),
            ),
            (
                "channel.proxy.sub_refresh",
                &self.channel.proxy.sub_refresh,
                namespaces().any(|o| o.sub_refresh_proxy_enabled),
            ),
            ("rpc.proxy", &rpc.proxy, rpc_used),
        ];
        for (path, proxy, used) in proxies {
            let endpoint = &proxy.endpoint;
            if used && endpoint.is_empty() {
                return Err(ConfigError::invalid(
                    format!("{path}.endpoint"),
                    "is needed: the proxy is switched on",
                ));
            }
            let http = endpoint.starts_with("http://") || endpoint.starts_with("https://");
            if !(endpoint.is_empty() || http) {
                return Err(ConfigError::invalid(
                    format!("{path}.endpoint"),
                    format!("{endpoint:?}: only http:// and https:// endpoints are implemented"),
                ));
            }
            if proxy.timeout.is_zero() {
                return Err(ConfigError::invalid(
                    format!("{path}.timeout"),
                    "must be above zero",
                ));
            }
        }
        for (index, namespace) in rpc.namespaces.iter().enumerate() {
            if !valid_namespace_name(&namespace.name) {
                return Err(ConfigError::invalid(
                    format!("rpc.namespaces[{index}].name"),
                    format!("{:?} must match ^[-a-zA-Z0-9_.]{{2,}}$", namespace.name),
                ));
            }
            if rpc.namespaces[..index]
                .iter()
                .any(|earlier| earlier.name == namespace.name)
            {
                return Err(ConfigError::invalid(
                    format!("rpc.namespaces[{}]", namespace.name),
                    "namespace names must be unique",
                ));
            }
        }
        Ok(())
    }

    fn validate_client(&self) -> Result<(), ConfigError> {
        let client = &self.client;
        if let (Some(ping), Some(pong)) = (client.ping_interval, client.pong_timeout) {
            if pong >= ping {
                return Err(ConfigError::invalid(
                    "client.pong_timeout",
                    format!("{pong:?} must be shorter than client.ping_interval ({ping:?})"),
                ));
            }
        }
        positive("client.queue_max_size", client.queue_max_size)?;
        positive("client.channel_limit", client.channel_limit)?;
        positive(
            "client.history_max_publication_limit",
            client.history_max_publication_limit,
        )?;
        positive(
            "client.recovery_max_publication_limit",
            client.recovery_max_publication_limit,
        )
    }

    fn validate_personal_channel(&self) -> Result<(), ConfigError> {
        let personal = &self.client.subscribe_to_user_personal_channel;
        if !personal.enabled {
            return Ok(());
        }
        let key = "client.subscribe_to_user_personal_channel.personal_channel_namespace";
        let namespace = &personal.personal_channel_namespace;
        let options = if namespace.is_empty() {
            &self.channel.without_namespace
        } else {
            self.namespace(namespace).ok_or_else(|| {
                ConfigError::invalid(key, format!("no namespace {namespace:?} is configured"))
            })?
        };
        if personal.single_connection && !options.presence {
            return Err(ConfigError::invalid(
                "client.subscribe_to_user_personal_channel.single_connection",
                "needs presence in the personal channel's namespace",
            ));
        }
        Ok(())
    }
}

fn validate_options(
    path: &str,
    options: &ChannelOptions,
    global_meta_ttl: Duration,
) -> Result<(), ConfigError> {
    let has_size = options.history_size > 0;
    let has_ttl = !options.history_ttl.is_zero();
    if has_size != has_ttl {
        let missing = if has_size {
            "history_ttl"
        } else {
            "history_size"
        };
        return Err(ConfigError::invalid(
            format!("{path}.{missing}"),
            "history needs both history_size and history_ttl",
        ));
    }
    let meta_ttl = if options.history_meta_ttl.is_zero() {
        global_meta_ttl
    } else {
        options.history_meta_ttl
    };
    if options.history_ttl > meta_ttl {
        return Err(ConfigError::invalid(
            format!("{path}.history_ttl"),
            format!("must not exceed the history meta TTL ({meta_ttl:?})"),
        ));
    }
    if options.force_recovery && !has_size {
        return Err(ConfigError::invalid(
            format!("{path}.force_recovery"),
            "recovery needs history (history_size and history_ttl)",
        ));
    }
    if options.user_presence && !options.presence {
        return Err(ConfigError::invalid(
            format!("{path}.user_presence"),
            "user presence needs presence",
        ));
    }
    Ok(())
}

fn positive(key: &str, value: usize) -> Result<(), ConfigError> {
    if value == 0 {
        return Err(ConfigError::invalid(key, "must be above zero"));
    }
    Ok(())
}

/// Centrifugo's namespace name rule, `^[-a-zA-Z0-9_.]{2,}$`, without a regex engine.
pub(super) fn valid_namespace_name(name: &str) -> bool {
    name.len() >= 2
        && name
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.'))
}
