//! The memory presence manager: per channel, the live clients and a count of clients per user.
//!
//! The per-user count is what makes user-level join/leave an O(1) answer to add and remove.
//! Entries expire at their ttl: an expired client is dropped from its channel when the channel
//! is next touched, and a sweep over all channels, at most once per sweep interval, drops the
//! ones nobody touches, so a channel whose clients all vanished is forgotten entirely.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;

use super::{lock, MemoryConfig};
use crate::engine::{ClientInfo, EngineError, PresenceManager, PresenceStats};

/// The single-node presence manager of [`Engine::memory`](crate::engine::Engine::memory).
#[derive(Debug)]
pub struct MemoryPresence {
    sweep_interval: Duration,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    channels: HashMap<String, ChannelPresence>,
    next_sweep: Instant,
}

/// One channel's clients and, for user-level transitions, how many live clients each user has.
#[derive(Debug, Default)]
struct ChannelPresence {
    clients: HashMap<String, Present>,
    users: HashMap<String, usize>,
    /// No client expires before this, so most calls skip the scan for expired clients; it may
    /// be early (a refresh moved the earliest expiry later), which costs one scan that fixes it.
    next_expiry: Option<Instant>,
}

#[derive(Debug)]
struct Present {
    info: ClientInfo,
    expires: Instant,
}

impl MemoryPresence {
    /// An empty presence manager sweeping at the config's interval.
    pub fn new(config: MemoryConfig) -> Self {
        MemoryPresence {
            sweep_interval: config.sweep_interval,
            state: Mutex::new(State {
                channels: HashMap::new(),
                next_sweep: Instant::now() + config.sweep_interval,
            }),
        }
    }

    /// How many channels have presence state: bounded memory is observable.
    pub fn channel_count(&self) -> usize {
        lock(&self.state).channels.len()
    }

    /// Runs `f` on the channel's presence after dropping expired clients (and the sweep when
    /// due), then forgets the channel if it ended up empty.
    fn with_channel<R>(&self, channel: &str, f: impl FnOnce(&mut ChannelPresence) -> R) -> R {
        let now = Instant::now();
        let mut state = lock(&self.state);
        if now >= state.next_sweep {
            state.next_sweep = now + self.sweep_interval;
            state.channels.retain(|_, presence| {
                presence.expire(now);
                !presence.clients.is_empty()
            });
        }
        let presence = state.channels.entry(channel.to_owned()).or_default();
        presence.expire(now);
        let result = f(presence);
        if presence.clients.is_empty() {
            state.channels.remove(channel);
        }
        result
    }
}

impl ChannelPresence {
    fn expire(&mut self, now: Instant) {
        if self.next_expiry.is_none_or(|at| at > now) {
            return;
        }
        let expired: Vec<String> = self
            .clients
            .iter()
            .filter(|(_, present)| present.expires <= now)
            .map(|(client, _)| client.clone())
            .collect();
        for client in expired {
            self.remove(&client);
        }
        self.next_expiry = self.clients.values().map(|present| present.expires).min();
    }

    /// Removes a client; true if it was there.
    fn remove(&mut self, client: &str) -> bool {
        let Some(present) = self.clients.remove(client) else {
            return false;
        };
        if let Some(count) = self.users.get_mut(&present.info.user) {
            *count -= 1;
            if *count == 0 {
                self.users.remove(&present.info.user);
            }
        }
        true
    }

    fn stats(&self) -> PresenceStats {
        PresenceStats {
            num_clients: u32::try_from(self.clients.len()).unwrap_or(u32::MAX),
            num_users: u32::try_from(self.users.len()).unwrap_or(u32::MAX),
        }
    }
}

#[async_trait]
impl PresenceManager for MemoryPresence {
    async fn add_presence(
        &self,
        channel: &str,
        info: &ClientInfo,
        ttl: Duration,
    ) -> Result<bool, EngineError> {
        let expires = Instant::now() + ttl;
        Ok(self.with_channel(channel, |presence| {
            presence.next_expiry = Some(presence.next_expiry.map_or(expires, |at| at.min(expires)));
            if let Some(present) = presence.clients.get_mut(&info.client) {
                if present.info.user == info.user {
                    *present = Present {
                        info: info.clone(),
                        expires,
                    };
                    return false;
                }
                // The same client id under another user: the old user loses a client.
                presence.remove(&info.client);
            }
            presence.clients.insert(
                info.client.clone(),
                Present {
                    info: info.clone(),
                    expires,
                },
            );
            let count = presence.users.entry(info.user.clone()).or_insert(0);
            *count += 1;
            *count == 1
        }))
    }

    async fn remove_presence(
        &self,
        channel: &str,
        client: &str,
        user: &str,
    ) -> Result<bool, EngineError> {
        // Removing before expiring: a client that expired a moment ago still counts as "was
        // there", so its user's leave is not lost to the race with its ttl.
        let now = Instant::now();
        let mut state = lock(&self.state);
        let Some(presence) = state.channels.get_mut(channel) else {
            return Ok(false);
        };
        let was_there = presence.remove(client);
        presence.expire(now);
        let last = was_there && !presence.users.contains_key(user);
        if presence.clients.is_empty() {
            state.channels.remove(channel);
        }
        Ok(last)
    }

    async fn presence(&self, channel: &str) -> Result<HashMap<String, ClientInfo>, EngineError> {
        Ok(self.with_channel(channel, |presence| {
            presence
                .clients
                .iter()
                .map(|(client, present)| (client.clone(), present.info.clone()))
                .collect()
        }))
    }

    async fn presence_stats(&self, channel: &str) -> Result<PresenceStats, EngineError> {
        Ok(self.with_channel(channel, |presence| presence.stats()))
    }
}
