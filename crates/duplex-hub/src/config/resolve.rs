//! From a channel string to the options that govern it: the question every subscribe, publish,
//! presence and history command asks first.

use super::{ChannelOptions, HubConfig};
use crate::channel::{ChannelError, ChannelName};

impl HubConfig {
    /// The options of `channel` and its parsed name. A namespace that is not configured is an
    /// error (the session answers 102, unknown channel); the name's `users` are read only where
    /// the namespace allows user-limited channels.
    ///
    /// ```
    /// use duplex_hub::config::HubConfig;
    ///
    /// let config = HubConfig::from_centrifugo_json(
    ///     r#"{"channel": {"namespaces": [{"name": "dialog", "allow_user_limited_channels": true}]}}"#,
    /// ).unwrap().config;
    /// let (_, name) = config.channel_options("dialog:#42,43").unwrap();
    /// assert!(name.allows_user("42"));
    /// assert!(config.channel_options("nope:x").is_err());
    /// ```
    pub fn channel_options<'a>(
        &self,
        channel: &'a str,
    ) -> Result<(&ChannelOptions, ChannelName<'a>), ChannelError> {
        let rules = &self.channel.rules;
        let name = ChannelName::parse_namespace(channel, rules)?;
        let options = match name.namespace {
            None => &self.channel.without_namespace,
            Some(namespace) => self
                .namespace(namespace)
                .ok_or_else(|| ChannelError::UnknownNamespace(namespace.to_owned()))?,
        };
        let name = ChannelName::parse(channel, rules, options.allow_user_limited_channels)?;
        Ok((options, name))
    }

    /// The options of the namespace called `name`, if it is configured.
    pub fn namespace(&self, name: &str) -> Option<&ChannelOptions> {
        self.channel
            .namespaces
            .iter()
            .find(|namespace| namespace.name == name)
            .map(|namespace| &namespace.options)
    }
}
