//! The client's task: connect, run a session, and when it ends decide — from the close code,
//! the hub's advice and the backoff — whether and when to connect again.
//!
//! Everything that outlives one connection lives here: the connection token, the channels
//! with their positions, the requests waiting for a connection, the backoff. A
//! [`Session`](crate::session::Session) borrows it for one connection's lifetime. One task owns
//! all of it, so there are no locks: the handles talk to it through a channel.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use duplex_hub::protocol::{Command, Reply};
use tokio::sync::{mpsc, oneshot};

use crate::backoff::Backoff;
use crate::client::Control;
use crate::codes;
use crate::config::Settings;
use crate::error::{Error, TokenError};
use crate::events::{ErrorKind, Event, EventError};
use crate::session::Session;
use crate::subscription::{ChannelState, SubscriptionOptions};

/// A token callback's answer, delivered to the task that asked.
#[derive(Debug)]
pub(crate) struct TokenResult {
    /// The connection it was fetched for: answers for an earlier one are dropped.
    pub generation: u64,
    pub target: TokenTarget,
    pub result: Result<String, TokenError>,
}

/// What a token is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TokenTarget {
    /// The connection's refresh.
    Connection,
    /// A channel's subscribe (or its refresh, when it is already subscribed).
    Channel(String),
}

/// What to do after an attempt or a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Next {
    /// Connect again after the backoff delay, or after the hub's suggestion if longer.
    Reconnect { at_least: Option<Duration> },
    /// Stop for good.
    Stop,
}

/// A user request waiting for a connection.
pub(crate) type Queued = (Box<Command>, oneshot::Sender<Result<Reply, Error>>);

pub(crate) struct Driver {
    pub settings: Arc<Settings>,
    pub controls: mpsc::UnboundedReceiver<Control>,
    pub events: mpsc::Sender<Event>,
    pub tokens_tx: mpsc::UnboundedSender<TokenResult>,
    pub tokens_rx: mpsc::UnboundedReceiver<TokenResult>,
    pub backoff: Backoff,
    /// The connection token to connect with; `None` makes the callback run first.
    pub token: Option<String>,
    /// When the hub said that token expires: past it, a reconnect fetches a new one first
    /// instead of being refused (109) with the old one.
    pub token_expires: Option<tokio::time::Instant>,
    pub channels: BTreeMap<String, ChannelState>,
    pub queued: Vec<Queued>,
    pub was_connected: bool,
    pub generation: u64,
}

impl Driver {
    pub fn new(
        settings: Arc<Settings>,
        controls: mpsc::UnboundedReceiver<Control>,
        events: mpsc::Sender<Event>,
    ) -> Driver {
        let (tokens_tx, tokens_rx) = mpsc::unbounded_channel();
        Driver {
            backoff: Backoff::new(settings.min_delay, settings.max_delay),
            token: settings.token.clone(),
            token_expires: None,
            settings,
            controls,
            events,
            tokens_tx,
            tokens_rx,
            channels: BTreeMap::new(),
            queued: Vec::new(),
            was_connected: false,
            generation: 0,
        }
    }

    /// Connects, and reconnects, until told to stop.
    pub async fn run(mut self) {
        loop {
            match self.attempt().await {
                Next::Stop => break,
                Next::Reconnect { at_least } => {
                    let delay = self.backoff.next_delay().max(at_least.unwrap_or_default());
                    tracing::debug!("reconnecting in {delay:?}");
                    if self.wait(delay).await == Next::Stop {
                        break;
                    }
                }
            }
        }
        for (_, reply) in self.queued.drain(..) {
            let _ = reply.send(Err(Error::Closed));
        }
    }

    /// Sends an event; a program that dropped the stream just does not see it.
    pub async fn emit(&self, event: Event) {
        let _ = self.events.send(event).await;
    }

    /// Reports a problem the client handles by itself.
    pub async fn emit_error(&self, kind: ErrorKind, message: impl Into<String>) {
        self.emit(Event::Error(EventError::new(kind, message)))
            .await;
    }

    /// One connection: a token, the WebSocket, then the session until it ends.
    async fn attempt(&mut self) -> Next {
        self.generation += 1;
        self.emit(Event::Connecting {
            attempt: self.backoff.attempts(),
        })
        .await;
        let token = match self.connection_token().await {
            Ok(token) => token,
            Err(next) => return next,
        };
        let connecting = self.settings.websocket.connect(&self.settings.url);
        let ws = match tokio::time::timeout(self.settings.connect_timeout, connecting).await {
            Ok(Ok((ws, _))) => ws,
            Ok(Err(error)) => {
                let at_least = retry_after(&error);
                self.emit_error(ErrorKind::Transport, error.to_string())
                    .await;
                return Next::Reconnect { at_least };
            }
            Err(_) => {
                self.emit_error(
                    ErrorKind::Transport,
                    format!("no WebSocket within {:?}", self.settings.connect_timeout),
                )
                .await;
                return Next::Reconnect { at_least: None };
            }
        };
        Session::new(self, ws, token).run().await
    }

    /// The token to connect with: the one held, or a new one from the callback.
    async fn connection_token(&mut self) -> Result<String, Next> {
        let expired = self
            .token_expires
            .is_some_and(|at| at <= tokio::time::Instant::now());
        if expired && self.settings.token_source.is_some() {
            self.token = None;
        }
        if let Some(token) = &self.token {
            return Ok(token.clone());
        }
        let Some(source) = self.settings.token_source.clone() else {
            return Ok(String::new());
        };
        match tokio::time::timeout(self.settings.connect_timeout, source.fetch()).await {
            Ok(Ok(token)) => {
                self.token = Some(token.clone());
                self.token_expires = None;
                Ok(token)
            }
            Ok(Err(TokenError::Unauthorized)) => {
                self.emit(Event::Disconnected {
                    code: codes::UNAUTHORIZED,
                    reason: "unauthorized".to_owned(),
                    reconnect: false,
                })
                .await;
                Err(Next::Stop)
            }
            Ok(Err(TokenError::Failed(message))) => {
                self.emit_error(ErrorKind::Token, message).await;
                Err(Next::Reconnect { at_least: None })
            }
            Err(_) => {
                self.emit_error(ErrorKind::Token, "the token callback timed out")
                    .await;
                Err(Next::Reconnect { at_least: None })
            }
        }
    }

    /// Waits out a reconnect delay, taking the handles' messages meanwhile.
    async fn wait(&mut self, delay: Duration) -> Next {
        let until = tokio::time::Instant::now() + delay;
        loop {
            let control = tokio::select! {
                control = self.controls.recv() => control,
                _ = tokio::time::sleep_until(until) => return Next::Reconnect { at_least: None },
            };
            match control {
                None => return Next::Stop,
                Some(Control::Disconnect { done }) => {
                    self.disconnected_by_program().await;
                    let _ = done.send(());
                    return Next::Stop;
                }
                Some(control) => self.offline_control(control).await,
            }
        }
    }

    /// A handle's message while no session is up (Disconnect aside).
    pub async fn offline_control(&mut self, control: Control) {
        match control {
            Control::Request { command, reply } => {
                self.queued.retain(|(_, reply)| !reply.is_closed());
                self.queued.push((command, reply));
            }
            Control::Subscribe {
                channel,
                options,
                done,
            } => {
                let _ = done.send(self.add_channel(&channel, options));
            }
            Control::Unsubscribe { channel, done } => {
                if self.channels.remove(&channel).is_some() {
                    self.emit_unsubscribed(channel).await;
                }
                let _ = done.send(());
            }
            Control::Disconnect { done } => {
                // Handled by the callers, which must also stop; kept total for safety.
                let _ = done.send(());
            }
        }
    }

    /// Registers a channel; it is subscribed by the session.
    pub fn add_channel(
        &mut self,
        channel: &str,
        options: SubscriptionOptions,
    ) -> Result<(), Error> {
        if self.channels.contains_key(channel) {
            return Err(Error::Server {
                code: 105,
                message: "already subscribed".to_owned(),
                temporary: false,
            });
        }
        let state = ChannelState::new(options, self.settings.min_delay, self.settings.max_delay);
        self.channels.insert(channel.to_owned(), state);
        Ok(())
    }

    /// The program left a channel.
    pub async fn emit_unsubscribed(&self, channel: String) {
        self.emit(Event::Unsubscribed {
            channel,
            code: 0,
            reason: "unsubscribe called".to_owned(),
        })
        .await;
    }

    /// The program stopped the client.
    pub async fn disconnected_by_program(&mut self) {
        self.emit(Event::Disconnected {
            code: codes::DISCONNECT_CALLED,
            reason: "disconnect called".to_owned(),
            reconnect: false,
        })
        .await;
    }
}

/// The delay a refusing server suggested: `Retry-After` seconds on a 503 or 429 (the hub's
/// connection limit answers so).
fn retry_after(error: &duplex::Error) -> Option<Duration> {
    let duplex::Error::Handshake(duplex::proto::HandshakeError::Rejected { headers, .. }) = error
    else {
        return None;
    };
    let (_, value) = headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("retry-after"))?;
    let secs: u64 = value.trim().parse().ok()?;
    // A misconfigured server must not park the client for days.
    Some(Duration::from_secs(secs.min(600)))
}

/// Whether to reconnect after the hub closed with `code` and `reason`: not after 3500–3999 or
/// 4500–4999 (the shared table's rule), nor when the reason carries Centrifugo's
/// `{"reconnect": false}` advice (protocol v1 close reasons).
pub(crate) fn reconnect_after(code: u32, reason: &str) -> bool {
    if let Some(advice) = reason
        .trim_start()
        .starts_with('{')
        .then(|| reconnect_advice(reason))
        .flatten()
    {
        return advice;
    }
    match u16::try_from(code) {
        Ok(code) => duplex_hub::codes::Disconnect::new(code, "").reconnect(),
        Err(_) => true,
    }
}

/// The `reconnect` field of a JSON close reason, if it has one.
fn reconnect_advice(reason: &str) -> Option<bool> {
    let at = reason.find("\"reconnect\"")? + "\"reconnect\"".len();
    let rest = reason[at..].trim_start().strip_prefix(':')?.trim_start();
    if rest.starts_with("true") {
        Some(true)
    } else if rest.starts_with("false") {
        Some(false)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_decide_reconnect() {
        assert!(reconnect_after(3001, "shutdown"));
        assert!(reconnect_after(4000, "go"));
        assert!(reconnect_after(1006, ""));
        assert!(reconnect_after(1000, ""));
        assert!(!reconnect_after(3500, "invalid token"));
        assert!(!reconnect_after(3999, ""));
        assert!(!reconnect_after(4501, "banned"));
        assert!(!reconnect_after(
            3000,
            r#"{"reason":"bye","reconnect":false}"#
        ));
        assert!(reconnect_after(
            3503,
            r#"{"reason":"x", "reconnect" : true}"#
        ));
    }

    #[test]
    fn retry_after_is_read_from_a_refusal() {
        let refusal = duplex::Error::Handshake(duplex::proto::HandshakeError::Rejected {
            status: 503,
            reason: "Service Unavailable".into(),
            headers: vec![("Retry-After".into(), "7".into())],
            body: String::new(),
        });
        assert_eq!(retry_after(&refusal), Some(Duration::from_secs(7)));
        assert_eq!(retry_after(&duplex::Error::AbnormalClosure), None);
    }
}
