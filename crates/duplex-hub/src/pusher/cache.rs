//! Cache channels (`cache-`, `private-cache-`, `presence-cache-`...): the channel's last event
//! is kept, and a new subscriber gets it right after `subscription_succeeded`, or
//! `pusher:cache_miss` when there is none.
//!
//! The last event is the hub stream's last publication: events of a cache channel are published
//! with a history of one, kept for Pusher's 30 minutes, whatever the app's namespace keeps
//! for its other channels. So it is in the engine, seen by every node, and kept across a
//! restart by the SQLite engine.

use std::borrow::Cow;
use std::time::Duration;

use crate::config::ChannelOptions;
use crate::engine::{HistoryQuery, Publication};
use crate::node::Node;

use super::channel::ChannelKind;

/// How long a cache channel keeps its last event, as Pusher does.
pub(crate) const CACHE_TTL: Duration = Duration::from_secs(30 * 60);

/// The options a publication into `name` is made with: the namespace's, with a history of at
/// least one event for a cache channel.
pub(crate) fn publish_options<'a>(
    options: &'a ChannelOptions,
    name: &str,
) -> Cow<'a, ChannelOptions> {
    if !ChannelKind::from_name(name).is_ok_and(ChannelKind::is_cache) {
        return Cow::Borrowed(options);
    }
    let mut cached = options.clone();
    cached.history_size = cached.history_size.max(1);
    if cached.history_ttl.is_zero() {
        cached.history_ttl = CACHE_TTL;
    }
    Cow::Owned(cached)
}

/// The last event of cache channel `hub` (its Pusher name `name`), if one is kept.
pub(crate) async fn last_event(node: &Node, hub: &str, name: &str) -> Option<Publication> {
    let options = node.channel_options(hub).ok()?;
    let options = publish_options(&options, name);
    let query = HistoryQuery {
        since: None,
        limit: Some(1),
        reverse: true,
    };
    match node.history_in(hub, &options, &query).await {
        Ok(page) => page.publications.into_iter().next(),
        Err(error) => {
            tracing::warn!(channel = %hub, "cache read failed: {}", error.message);
            None
        }
    }
}
