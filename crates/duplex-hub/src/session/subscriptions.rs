//! The channels one connection is subscribed to, as its own task sees them.
//!
//! Every idle connection carries this list, so it is laid out for memory rather than lookup
//! speed: a vector sized to its length (one allocation, no spare capacity), entries of 32
//! bytes keyed by the channel table's own `Arc<str>` (no copy of the name), scanned linearly.
//! A connection has at most `client.channel_limit` subscriptions (128 by default), and a scan
//! of a few dozen keys costs less than hashing one. A `HashMap<Box<str>, _>` of five
//! subscriptions used to cost about 750 bytes per connection; this costs 176.

use std::sync::Arc;

use bytes::Bytes;

/// One channel this connection is subscribed to.
pub(crate) struct Subscription {
    /// An expiry and channel info, which most subscriptions have neither of: boxed, they cost
    /// a pointer in the others.
    rare: Option<Box<Rare>>,
    /// Made by the server (token `channels`, personal channel, server API), not the client.
    pub(crate) server_side: bool,
    /// Whether presence is kept for this subscription (its namespace has presence on).
    pub(crate) presence: bool,
    /// Whether this subscription counts its user once in presence (user-level presence).
    pub(crate) user_presence: bool,
    /// Whether joins and leaves are published (the namespace's join_leave).
    pub(crate) join_leave: bool,
    /// Extended by the sub_refresh proxy at its expiry, not by the client's new token.
    pub(crate) proxy_refresh: bool,
}

/// The parts of a subscription most do without.
#[derive(Default)]
struct Rare {
    /// When the subscription token expires (Unix seconds); `None`: never.
    expires_at: Option<i64>,
    /// Channel info of this subscriber (raw JSON), for presence and join/leave.
    chan_info: Option<Bytes>,
}

/// What a new subscription is made of; see [`Subscription`] for each field.
pub(crate) struct NewSubscription {
    pub(crate) server_side: bool,
    pub(crate) expires_at: Option<i64>,
    pub(crate) chan_info: Option<Bytes>,
    pub(crate) presence: bool,
    pub(crate) user_presence: bool,
    pub(crate) join_leave: bool,
    pub(crate) proxy_refresh: bool,
}

impl Subscription {
    pub(crate) fn new(new: NewSubscription) -> Self {
        let mut subscription = Subscription {
            rare: None,
            server_side: new.server_side,
            presence: new.presence,
            user_presence: new.user_presence,
            join_leave: new.join_leave,
            proxy_refresh: new.proxy_refresh,
        };
        subscription.set_expires_at(new.expires_at);
        if let Some(info) = new.chan_info {
            subscription.set_chan_info(info);
        }
        subscription
    }

    /// When the subscription token expires (Unix seconds); `None`: never.
    pub(crate) fn expires_at(&self) -> Option<i64> {
        self.rare.as_ref().and_then(|rare| rare.expires_at)
    }

    /// A new expiry.
    pub(crate) fn set_expires_at(&mut self, at: Option<i64>) {
        self.update(|rare| rare.expires_at = at);
    }

    /// This subscriber's channel info (raw JSON).
    pub(crate) fn chan_info(&self) -> Option<&Bytes> {
        self.rare.as_ref().and_then(|rare| rare.chan_info.as_ref())
    }

    /// Replaces the channel info.
    pub(crate) fn set_chan_info(&mut self, info: Bytes) {
        self.update(|rare| rare.chan_info = Some(info));
    }

    /// Takes the channel info out (the subscription is ending).
    pub(crate) fn take_chan_info(&mut self) -> Option<Bytes> {
        let mut info = None;
        self.update(|rare| info = rare.chan_info.take());
        info
    }

    /// Changes the rare parts, boxing them only while one is set.
    fn update(&mut self, change: impl FnOnce(&mut Rare)) {
        let mut rare = self.rare.take().map(|rare| *rare).unwrap_or_default();
        change(&mut rare);
        if rare.expires_at.is_some() || rare.chan_info.is_some() {
            self.rare = Some(Box::new(rare));
        }
    }
}

/// A connection's subscriptions, by channel.
#[derive(Default)]
pub(crate) struct Subscriptions {
    entries: Vec<(Arc<str>, Subscription)>,
}

impl Subscriptions {
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    pub(crate) fn contains_key(&self, channel: &str) -> bool {
        self.position(channel).is_some()
    }

    pub(crate) fn get(&self, channel: &str) -> Option<&Subscription> {
        self.position(channel).map(|i| &self.entries[i].1)
    }

    pub(crate) fn get_mut(&mut self, channel: &str) -> Option<&mut Subscription> {
        self.position(channel).map(|i| &mut self.entries[i].1)
    }

    /// Adds or replaces `channel`'s subscription. The vector grows by exactly one: the
    /// reallocation is nothing beside a subscribe's work, and spare capacity would be kept
    /// for the life of the connection.
    pub(crate) fn insert(&mut self, channel: Arc<str>, subscription: Subscription) {
        if let Some(existing) = self.get_mut(&channel) {
            *existing = subscription;
            return;
        }
        self.entries.reserve_exact(1);
        self.entries.push((channel, subscription));
    }

    pub(crate) fn remove(&mut self, channel: &str) -> Option<Subscription> {
        let index = self.position(channel)?;
        let (_, subscription) = self.entries.swap_remove(index);
        if self.entries.len() * 2 < self.entries.capacity() {
            self.entries.shrink_to_fit();
        }
        Some(subscription)
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (&Arc<str>, &Subscription)> {
        self.entries.iter().map(|(channel, s)| (channel, s))
    }

    pub(crate) fn keys(&self) -> impl Iterator<Item = &Arc<str>> {
        self.entries.iter().map(|(channel, _)| channel)
    }

    pub(crate) fn values(&self) -> impl Iterator<Item = &Subscription> {
        self.entries.iter().map(|(_, s)| s)
    }

    fn position(&self, channel: &str) -> Option<usize> {
        self.entries.iter().position(|(c, _)| &**c == channel)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain() -> Subscription {
        Subscription::new(NewSubscription {
            server_side: false,
            expires_at: None,
            chan_info: None,
            presence: false,
            user_presence: false,
            join_leave: false,
            proxy_refresh: false,
        })
    }

    #[test]
    fn an_entry_stays_at_thirty_two_bytes() {
        assert_eq!(std::mem::size_of::<(Arc<str>, Subscription)>(), 32);
    }

    #[test]
    fn subscriptions_are_found_replaced_and_removed_by_channel() {
        let mut subscriptions = Subscriptions::default();
        for name in ["a", "b", "c"] {
            subscriptions.insert(Arc::from(name), plain());
        }
        assert_eq!(subscriptions.len(), 3);
        assert_eq!(subscriptions.entries.capacity(), 3, "no spare capacity");
        let mut replacement = plain();
        replacement.server_side = true;
        subscriptions.insert(Arc::from("b"), replacement);
        assert_eq!(subscriptions.len(), 3);
        assert!(subscriptions.get("b").is_some_and(|s| s.server_side));
        assert!(subscriptions.remove("a").is_some());
        assert!(subscriptions.remove("a").is_none());
        assert!(!subscriptions.contains_key("a"));
        let mut left: Vec<&str> = subscriptions.keys().map(|c| &**c).collect();
        left.sort_unstable();
        assert_eq!(left, ["b", "c"]);
    }

    #[test]
    fn expiry_and_channel_info_round_trip() {
        let mut subscription = plain();
        assert_eq!(subscription.expires_at(), None);
        subscription.set_expires_at(Some(1_900_000_000));
        assert_eq!(subscription.expires_at(), Some(1_900_000_000));
        subscription.set_expires_at(None);
        assert_eq!(subscription.expires_at(), None);
        assert!(subscription.rare.is_none(), "nothing rare is left boxed");
        subscription.set_chan_info(Bytes::from_static(b"{\"a\":1}"));
        assert_eq!(
            subscription.chan_info().map(|b| &b[..]),
            Some(&b"{\"a\":1}"[..])
        );
        assert!(subscription.take_chan_info().is_some());
        assert!(subscription.chan_info().is_none());
        assert!(subscription.rare.is_none());
    }
}
