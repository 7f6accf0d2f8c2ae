//! Pusher channel names and what their prefixes mean.
//!
//! In Pusher the name is the whole configuration: `private-` asks for an authorization
//! signature, `presence-` for one over the member's data too, `private-encrypted-` for one plus
//! end-to-end encrypted payloads, and `cache-` in any of those positions keeps the last event for
//! new subscribers. There is no namespace table to consult, so one function,
//! [`ChannelKind::from_name`], decides everything, and every other part of the front door asks
//! the kind rather than looking at prefixes itself.
//!
//! Names follow Pusher's rules: at most 164 characters of `[A-Za-z0-9_\-=@,.;]`. One more form
//! is reserved: `#server-to-user-{user_id}`, the channel pusher-js subscribes to after
//! `pusher:signin` to receive events sent to that user. Its `#` cannot appear in any other name,
//! so no client can create it by accident, and only a connection signed in as that user may
//! subscribe to it.

/// Most bytes in a channel name, prefix included (Pusher's limit, in characters; the allowed
/// characters are all ASCII).
pub const MAX_CHANNEL_NAME_LEN: usize = 164;

/// The prefix of a user's own channel, followed by the user id.
pub const SERVER_TO_USER_PREFIX: &str = "#server-to-user-";

/// What a channel name's prefix makes of the channel.
///
/// ```
/// use duplex_hub::pusher::channel::ChannelKind;
///
/// let kind = ChannelKind::from_name("presence-cache-room-42").unwrap();
/// assert_eq!(kind, ChannelKind::PresenceCache);
/// assert!(kind.needs_auth() && kind.is_presence() && kind.is_cache());
/// assert!(kind.allows_client_events());
///
/// let encrypted = ChannelKind::from_name("private-encrypted-secrets").unwrap();
/// assert!(encrypted.needs_auth() && !encrypted.allows_client_events());
/// assert!(ChannelKind::from_name("no spaces").is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChannelKind {
    /// No prefix: anyone who knows the name may subscribe.
    Public,
    /// `private-`: subscribing needs `key:hmac(socket_id:channel)`.
    Private,
    /// `private-encrypted-`: as private; payloads are encrypted end to end by the SDKs.
    PrivateEncrypted,
    /// `presence-`: as private, with the member's data signed too and a member list.
    Presence,
    /// `cache-`: public, and the last event is kept for new subscribers.
    Cache,
    /// `private-cache-`: private and cached.
    PrivateCache,
    /// `private-encrypted-cache-`: encrypted and cached.
    PrivateEncryptedCache,
    /// `presence-cache-`: presence and cached.
    PresenceCache,
    /// `#server-to-user-{user_id}`: events sent to one signed-in user.
    ServerToUser,
}

/// Why a channel name is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChannelNameError {
    /// The name is empty.
    #[error("channel name is empty")]
    Empty,
    /// The name is longer than [`MAX_CHANNEL_NAME_LEN`].
    #[error("channel name is {len} bytes long, at most {max} are allowed")]
    TooLong {
        /// The name's length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The name holds a character outside `[A-Za-z0-9_\-=@,.;]`.
    #[error("channel name has the character {found:?} at byte {at}; allowed are A-Z a-z 0-9 and _-=@,.;")]
    InvalidCharacter {
        /// The first character refused.
        found: char,
        /// Its byte offset in the name.
        at: usize,
    },
    /// `#server-to-user-` with no user id after it.
    #[error("server-to-user channel names need a user id")]
    MissingUserId,
}

impl ChannelKind {
    /// The kind of a valid channel name, or why the name is not valid.
    pub fn from_name(name: &str) -> Result<ChannelKind, ChannelNameError> {
        if name.is_empty() {
            return Err(ChannelNameError::Empty);
        }
        if name.len() > MAX_CHANNEL_NAME_LEN {
            return Err(ChannelNameError::TooLong {
                len: name.len(),
                max: MAX_CHANNEL_NAME_LEN,
            });
        }
        if let Some(user_id) = name.strip_prefix(SERVER_TO_USER_PREFIX) {
            // User ids come from the application's `user_data` and may hold any character;
            // control characters are still refused, as they have no place in a name.
            if user_id.is_empty() {
                return Err(ChannelNameError::MissingUserId);
            }
            if let Some((at, found)) = user_id.char_indices().find(|(_, c)| c.is_control()) {
                return Err(ChannelNameError::InvalidCharacter {
                    found,
                    at: at + SERVER_TO_USER_PREFIX.len(),
                });
            }
            return Ok(ChannelKind::ServerToUser);
        }
        if let Some((at, found)) = name.char_indices().find(|&(_, c)| !allowed(c)) {
            return Err(ChannelNameError::InvalidCharacter { found, at });
        }
        Ok(ChannelKind::of_valid_name(name))
    }

    /// The kind by prefix alone, for a name already known to be valid. Longer prefixes are
    /// tried first: `private-encrypted-` is not merely `private-`.
    fn of_valid_name(name: &str) -> ChannelKind {
        const PREFIXES: [(&str, ChannelKind); 7] = [
            (
                "private-encrypted-cache-",
                ChannelKind::PrivateEncryptedCache,
            ),
            ("private-encrypted-", ChannelKind::PrivateEncrypted),
            ("private-cache-", ChannelKind::PrivateCache),
            ("private-", ChannelKind::Private),
            ("presence-cache-", ChannelKind::PresenceCache),
            ("presence-", ChannelKind::Presence),
            ("cache-", ChannelKind::Cache),
        ];
        PREFIXES
            .iter()
            .find(|(prefix, _)| name.starts_with(prefix))
            .map_or(ChannelKind::Public, |&(_, kind)| kind)
    }

    /// Whether subscribing needs an `auth` signature (private, encrypted and presence, cached
    /// or not). A server-to-user channel needs no signature: it needs the connection to be
    /// signed in as its user instead.
    pub fn needs_auth(self) -> bool {
        !matches!(
            self,
            ChannelKind::Public | ChannelKind::Cache | ChannelKind::ServerToUser
        )
    }

    /// Whether the signature covers `channel_data` and the channel keeps a member list.
    pub fn is_presence(self) -> bool {
        matches!(self, ChannelKind::Presence | ChannelKind::PresenceCache)
    }

    /// Whether the SDKs encrypt the payloads end to end (`private-encrypted-`).
    pub fn is_encrypted(self) -> bool {
        matches!(
            self,
            ChannelKind::PrivateEncrypted | ChannelKind::PrivateEncryptedCache
        )
    }

    /// Whether the channel keeps its last event for new subscribers.
    pub fn is_cache(self) -> bool {
        matches!(
            self,
            ChannelKind::Cache
                | ChannelKind::PrivateCache
                | ChannelKind::PrivateEncryptedCache
                | ChannelKind::PresenceCache
        )
    }

    /// Whether clients may send `client-` events on it: private and presence channels only.
    /// Encrypted channels are excluded because the server cannot encrypt for the sender and
    /// the SDKs do not offer it; public channels because nobody vouched for the sender.
    pub fn allows_client_events(self) -> bool {
        matches!(
            self,
            ChannelKind::Private
                | ChannelKind::PrivateCache
                | ChannelKind::Presence
                | ChannelKind::PresenceCache
        )
    }
}

/// The user a `#server-to-user-{user_id}` channel belongs to, or `None` for any other name.
///
/// ```
/// use duplex_hub::pusher::channel::server_to_user_id;
///
/// assert_eq!(server_to_user_id("#server-to-user-42"), Some("42"));
/// assert_eq!(server_to_user_id("private-42"), None);
/// ```
pub fn server_to_user_id(name: &str) -> Option<&str> {
    name.strip_prefix(SERVER_TO_USER_PREFIX)
        .filter(|id| !id.is_empty())
}

/// The channel name of a user's own channel.
pub fn server_to_user_channel(user_id: &str) -> String {
    format!("{SERVER_TO_USER_PREFIX}{user_id}")
}

fn allowed(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '=' | '@' | ',' | '.' | ';')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_prefix_maps_to_its_kind() {
        let cases = [
            ("my-channel", ChannelKind::Public),
            ("private-chat", ChannelKind::Private),
            ("private-encrypted-chat", ChannelKind::PrivateEncrypted),
            ("presence-room", ChannelKind::Presence),
            ("cache-prices", ChannelKind::Cache),
            ("private-cache-prices", ChannelKind::PrivateCache),
            (
                "private-encrypted-cache-prices",
                ChannelKind::PrivateEncryptedCache,
            ),
            ("presence-cache-room", ChannelKind::PresenceCache),
            ("#server-to-user-42", ChannelKind::ServerToUser),
            // A prefix must be the start of the name, with its dash.
            ("privatechat", ChannelKind::Public),
            ("my-private-chat", ChannelKind::Public),
            ("cache", ChannelKind::Public),
            ("presence-encrypted-x", ChannelKind::Presence),
            ("private-presence-x", ChannelKind::Private),
        ];
        for (name, kind) in cases {
            assert_eq!(ChannelKind::from_name(name), Ok(kind), "{name}");
        }
    }

    #[test]
    fn properties_of_each_kind() {
        use ChannelKind::*;
        // (kind, needs_auth, presence, encrypted, cache, client events)
        let table = [
            (Public, false, false, false, false, false),
            (Private, true, false, false, false, true),
            (PrivateEncrypted, true, false, true, false, false),
            (Presence, true, true, false, false, true),
            (Cache, false, false, false, true, false),
            (PrivateCache, true, false, false, true, true),
            (PrivateEncryptedCache, true, false, true, true, false),
            (PresenceCache, true, true, false, true, true),
            (ServerToUser, false, false, false, false, false),
        ];
        for (kind, auth, presence, encrypted, cache, client) in table {
            assert_eq!(kind.needs_auth(), auth, "{kind:?} needs_auth");
            assert_eq!(kind.is_presence(), presence, "{kind:?} is_presence");
            assert_eq!(kind.is_encrypted(), encrypted, "{kind:?} is_encrypted");
            assert_eq!(kind.is_cache(), cache, "{kind:?} is_cache");
            assert_eq!(
                kind.allows_client_events(),
                client,
                "{kind:?} client events"
            );
        }
    }

    #[test]
    fn the_documented_example_name_is_valid() {
        assert_eq!(
            ChannelKind::from_name("foo-bar_1234@=,.;"),
            Ok(ChannelKind::Public)
        );
    }

    #[test]
    fn length_limit_counts_the_prefix() {
        let longest = format!("private-{}", "a".repeat(MAX_CHANNEL_NAME_LEN - 8));
        assert_eq!(ChannelKind::from_name(&longest), Ok(ChannelKind::Private));
        let too_long = format!("{longest}a");
        assert_eq!(
            ChannelKind::from_name(&too_long),
            Err(ChannelNameError::TooLong { len: 165, max: 164 })
        );
        let user = format!("#server-to-user-{}", "u".repeat(150));
        assert_eq!(
            ChannelKind::from_name(&user),
            Err(ChannelNameError::TooLong { len: 166, max: 164 })
        );
    }

    #[test]
    fn empty_names_are_refused() {
        assert_eq!(ChannelKind::from_name(""), Err(ChannelNameError::Empty));
    }

    #[test]
    fn characters_outside_the_set_are_refused_with_their_place() {
        let cases = [
            ("with space", ' ', 4),
            ("slash/", '/', 5),
            ("colon:x", ':', 5),
            ("hash#", '#', 4),
            ("plus+", '+', 4),
            ("é", 'é', 0),
            ("private-\u{0}", '\u{0}', 8),
            // `#` is only allowed as the start of the reserved prefix.
            ("#server-to-users", '#', 0),
            ("#private-x", '#', 0),
        ];
        for (name, found, at) in cases {
            assert_eq!(
                ChannelKind::from_name(name),
                Err(ChannelNameError::InvalidCharacter { found, at }),
                "{name:?}"
            );
        }
    }

    #[test]
    fn server_to_user_names_need_a_user_id_without_control_characters() {
        assert_eq!(
            ChannelKind::from_name("#server-to-user-"),
            Err(ChannelNameError::MissingUserId)
        );
        assert_eq!(
            ChannelKind::from_name("#server-to-user-a\nb"),
            Err(ChannelNameError::InvalidCharacter {
                found: '\n',
                at: 17
            })
        );
        // Any other character is a user id's business.
        assert_eq!(
            ChannelKind::from_name("#server-to-user-ada lovelace@example.com"),
            Ok(ChannelKind::ServerToUser)
        );
        assert_eq!(server_to_user_id("#server-to-user-"), None);
        assert_eq!(
            server_to_user_channel("ada"),
            "#server-to-user-ada".to_owned()
        );
    }
}
