//! Channel names: which namespace a channel belongs to and which users a user-limited channel
//! names, following Centrifugo's rules so that channel strings written for Centrifugo mean the
//! same here.
//!
//! A channel is a plain string created on first use. Text before the first namespace boundary
//! (`:` by default) names its namespace (`chat:room1` is in `chat`; `news` has none). In a
//! namespace that allows user-limited channels, the text after the last user boundary (`#`)
//! lists the users, separated by the user separator (`,`), who may subscribe without any other
//! grant: `dialog#42,43`. Elsewhere `#` is an ordinary character, so parsing the users is the
//! caller's decision once it knows the namespace's options ([`ChannelName::parse`] takes it).
//!
//! Names are borrowed from the channel string: resolving a channel on every command allocates
//! only the small user list, never a copy of the name.

use thiserror::Error;

/// The characters and limits that give channel names their structure (`channel.*` in the
/// configuration; see docs/hub-config.md).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelRules {
    /// Separates the namespace from the rest of the name (`channel.namespace_boundary`, `:`).
    pub namespace_boundary: String,
    /// Starts the list of users of a user-limited channel (`channel.user_boundary`, `#`).
    pub user_boundary: String,
    /// Separates the users of a user-limited channel (`channel.user_separator`, `,`).
    pub user_separator: String,
    /// The longest channel name accepted, in bytes (`channel.max_length`, 255).
    pub max_length: usize,
}

impl Default for ChannelRules {
    fn default() -> Self {
        Self {
            namespace_boundary: ":".to_owned(),
            user_boundary: "#".to_owned(),
            user_separator: ",".to_owned(),
            max_length: 255,
        }
    }
}

/// Why a channel name cannot be used. The session answers each with Centrifugo's error
/// 102 (unknown channel), except where it says otherwise.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ChannelError {
    /// The channel string is empty.
    #[error("empty channel name")]
    Empty,
    /// The channel string is longer than `channel.max_length` bytes.
    #[error("channel name is {length} bytes, longer than the {max} allowed")]
    TooLong {
        /// The length of the rejected name, in bytes.
        length: usize,
        /// `channel.max_length`.
        max: usize,
    },
    /// The namespace before the boundary is not configured.
    #[error("unknown channel namespace {0:?}")]
    UnknownNamespace(String),
}

/// A channel string taken apart.
///
/// ```
/// use duplex_hub::channel::{ChannelName, ChannelRules};
///
/// let rules = ChannelRules::default();
/// let dialog = ChannelName::parse("dialog:#42,43", &rules, true).unwrap();
/// assert_eq!(dialog.namespace, Some("dialog"));
/// assert!(dialog.allows_user("43"));
/// assert!(!dialog.allows_user("44"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelName<'a> {
    /// The whole channel string.
    pub name: &'a str,
    /// The namespace, or `None` for a channel without one (its options are
    /// `channel.without_namespace`).
    pub namespace: Option<&'a str>,
    /// The users a user-limited channel names; empty when the channel is not user-limited.
    pub users: Vec<&'a str>,
}

impl<'a> ChannelName<'a> {
    /// Takes `channel` apart under `rules`. `user_limited` says whether the channel's namespace
    /// allows user-limited channels (`allow_user_limited_channels`): only then is the text after
    /// the user boundary a list of users.
    pub fn parse(
        channel: &'a str,
        rules: &ChannelRules,
        user_limited: bool,
    ) -> Result<Self, ChannelError> {
        let mut name = Self::parse_namespace(channel, rules)?;
        if user_limited {
            name.users = users_of(channel, rules);
        }
        Ok(name)
    }

    /// Takes the namespace off `channel` without reading users: the first step of resolving a
    /// channel, before its namespace's options are known.
    pub fn parse_namespace(channel: &'a str, rules: &ChannelRules) -> Result<Self, ChannelError> {
        if channel.is_empty() {
            return Err(ChannelError::Empty);
        }
        if channel.len() > rules.max_length {
            return Err(ChannelError::TooLong {
                length: channel.len(),
                max: rules.max_length,
            });
        }
        // As in Centrifugo, `:rest` has an empty namespace and so belongs to no namespace.
        let namespace = channel
            .split_once(rules.namespace_boundary.as_str())
            .map(|(namespace, _)| namespace)
            .filter(|namespace| !namespace.is_empty());
        Ok(Self {
            name: channel,
            namespace,
            users: Vec::new(),
        })
    }

    /// Whether this is a user-limited channel naming at least one user.
    pub fn is_user_limited(&self) -> bool {
        !self.users.is_empty()
    }

    /// Whether this user-limited channel names `user`, which lets that user subscribe without a
    /// token. Never true for the anonymous user (empty ID) nor for a channel that is not
    /// user-limited: the grant comes only from being named.
    pub fn allows_user(&self, user: &str) -> bool {
        !user.is_empty() && self.users.contains(&user)
    }
}

/// The users after the last user boundary; empty entries (`news#`, `a#1,,2`) name nobody.
fn users_of<'a>(channel: &'a str, rules: &ChannelRules) -> Vec<&'a str> {
    match channel.rsplit_once(rules.user_boundary.as_str()) {
        Some((_, users)) => users
            .split(rules.user_separator.as_str())
            .filter(|user| !user.is_empty())
            .collect(),
        None => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(channel: &str, user_limited: bool) -> Result<ChannelName<'_>, ChannelError> {
        ChannelName::parse(channel, &ChannelRules::default(), user_limited)
    }

    #[test]
    fn a_channel_without_boundary_has_no_namespace() {
        let name = parse("news", true).unwrap();
        assert_eq!(name.namespace, None);
        assert!(!name.is_user_limited());
    }

    #[test]
    fn the_namespace_is_the_text_before_the_first_boundary() {
        let name = parse("chat:room:1", false).unwrap();
        assert_eq!(name.namespace, Some("chat"));
        assert_eq!(name.name, "chat:room:1");
    }

    #[test]
    fn an_empty_namespace_means_none() {
        assert_eq!(parse(":room", false).unwrap().namespace, None);
    }

    #[test]
    fn users_after_the_last_user_boundary_are_read_when_allowed() {
        let name = parse("dialog:#42,43", true).unwrap();
        assert_eq!(name.users, vec!["42", "43"]);
        assert!(name.allows_user("42"));
        assert!(!name.allows_user("4"));
        let nested = parse("news#a#7", true).unwrap();
        assert_eq!(nested.users, vec!["7"]);
    }

    #[test]
    fn the_user_boundary_is_ordinary_text_where_not_allowed() {
        let name = parse("news#42", false).unwrap();
        assert!(!name.is_user_limited());
        assert!(!name.allows_user("42"));
    }

    #[test]
    fn empty_user_entries_grant_nobody() {
        let name = parse("news#", true).unwrap();
        assert!(!name.is_user_limited());
        assert!(!name.allows_user(""));
        let gaps = parse("news#1,,2", true).unwrap();
        assert_eq!(gaps.users, vec!["1", "2"]);
        assert!(!gaps.allows_user(""));
    }

    #[test]
    fn empty_and_overlong_names_are_refused() {
        assert_eq!(parse("", true), Err(ChannelError::Empty));
        let long = "a".repeat(256);
        assert_eq!(
            parse(&long, false),
            Err(ChannelError::TooLong {
                length: 256,
                max: 255
            })
        );
        assert!(parse(&long[..255], false).is_ok());
    }

    #[test]
    fn custom_boundaries_are_honoured() {
        let rules = ChannelRules {
            namespace_boundary: "/".to_owned(),
            user_boundary: "@".to_owned(),
            user_separator: ";".to_owned(),
            max_length: 16,
        };
        let name = ChannelName::parse("chat/x@1;2", &rules, true).unwrap();
        assert_eq!(name.namespace, Some("chat"));
        assert_eq!(name.users, vec!["1", "2"]);
    }
}
