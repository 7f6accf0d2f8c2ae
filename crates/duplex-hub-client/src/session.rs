//! One connection, from `connect` to its close: a single loop that waits on the socket, the
//! handles' messages, token callbacks' answers and the earliest timer, handles what came, then
//! writes the commands it produced as one frame.
//!
//! Timers are deadlines recomputed each turn (no timer tasks to cancel): the connect and
//! subscribe replies' deadlines, the ping deadline (the hub's interval plus
//! `max_ping_delay`, pushed back by anything received), and the token refreshes. Replies,
//! pushes and their effect on subscriptions are in [`crate::replies`].

use std::collections::HashMap;
use std::time::Duration;

use duplex::{MaybeTlsStream, Message, WebSocket};
use duplex_hub::protocol::{
    decode_replies, encode_command, Command, ConnectRequest, EncodeError, Encoding, Reply,
    UnsubscribeRequest,
};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::time::Instant;

use crate::backoff::Backoff;
use crate::client::Control;
use crate::codes;
use crate::driver::{reconnect_after, Driver, Next, TokenResult, TokenTarget};
use crate::error::{Error, TokenError};
use crate::events::{ErrorKind, Event};
use crate::subscription::Phase;
use crate::token::TokenSource;

/// A command sent and not yet answered.
#[derive(Debug)]
pub(crate) enum Pending {
    Connect,
    Refresh,
    Subscribe { channel: String, deadline: Instant },
    SubRefresh { channel: String },
    Unsubscribe,
    Request(oneshot::Sender<Result<Reply, Error>>),
}

/// How a session ends.
#[derive(Debug)]
pub(crate) struct End {
    pub code: u32,
    pub reason: String,
    pub reconnect: bool,
    /// Whether to send a close frame (the client ends it, rather than the hub).
    pub close_socket: bool,
    /// Already reported (as an error event); no Disconnected event.
    pub silent: bool,
    /// A `disconnect()` call waiting for the end.
    pub done: Option<oneshot::Sender<()>>,
}

impl End {
    /// The client ends the connection itself.
    pub fn local(code: u32, reason: impl Into<String>, reconnect: bool) -> End {
        End {
            code,
            reason: reason.into(),
            reconnect,
            close_socket: true,
            silent: false,
            done: None,
        }
    }

    /// The hub closed (or the connection dropped).
    fn remote(code: u32, reason: String, reconnect: bool) -> End {
        End {
            close_socket: false,
            ..End::local(code, reason, reconnect)
        }
    }
}

/// What woke the loop.
enum Input {
    Socket(duplex::Result<duplex::Event>),
    Control(Option<Control>),
    Token(TokenResult),
    Timer,
}

pub(crate) struct Session<'a> {
    pub driver: &'a mut Driver,
    ws: WebSocket<MaybeTlsStream<TcpStream>>,
    next_id: u32,
    pub pending: HashMap<u32, Pending>,
    /// Commands to write, as one JSON frame.
    frame: Vec<u8>,
    pub connected: bool,
    connect_deadline: Instant,
    /// The hub's ping interval plus the allowed delay, once connected with pings.
    pub ping_window: Option<Duration>,
    pub alive_until: Option<Instant>,
    /// Whether the hub wants each ping answered.
    pub pong: bool,
    pub refresh_at: Option<Instant>,
    pub refresh_backoff: Backoff,
    /// The hub's disconnect push, for the close that follows it.
    pub advice: Option<(u32, String, bool)>,
    /// Channels the hub subscribed this connection to by itself (reported, not tracked):
    /// publications of any other channel the program does not have are stale and dropped.
    pub server_side: std::collections::BTreeSet<String>,
}

impl<'a> Session<'a> {
    pub fn new(
        driver: &'a mut Driver,
        ws: WebSocket<MaybeTlsStream<TcpStream>>,
        token: String,
    ) -> Session<'a> {
        let settings = driver.settings.clone();
        let mut session = Session {
            refresh_backoff: Backoff::new(settings.min_delay, settings.max_delay),
            driver,
            ws,
            next_id: 1,
            pending: HashMap::new(),
            frame: Vec::new(),
            connected: false,
            connect_deadline: Instant::now() + settings.connect_timeout,
            ping_window: None,
            alive_until: None,
            pong: false,
            refresh_at: None,
            advice: None,
            server_side: Default::default(),
        };
        let mut connect = Command {
            connect: Some(ConnectRequest {
                token,
                data: settings.data.clone(),
                name: settings.name.clone(),
                version: settings.version.clone(),
                ..ConnectRequest::default()
            }),
            ..Command::default()
        };
        if let Err(e) = session.queue(connect.clone(), Pending::Connect) {
            // Only the connect data can fail to encode; the hub would refuse it anyway.
            tracing::warn!("connect data is not JSON ({e}); connecting without it");
            if let Some(request) = &mut connect.connect {
                request.data = bytes::Bytes::new();
            }
            let _ = session.queue(connect, Pending::Connect);
        }
        session
    }

    /// Runs the connection to its end; says what to do next.
    pub async fn run(mut self) -> Next {
        loop {
            if let Err(end) = self.flush().await {
                return self.finish(end).await;
            }
            let deadline = self.next_deadline();
            let input = tokio::select! {
                event = self.ws.next_event() => Input::Socket(event),
                control = self.driver.controls.recv() => Input::Control(control),
                Some(token) = self.driver.tokens_rx.recv() => Input::Token(token),
                _ = tokio::time::sleep_until(deadline) => Input::Timer,
            };
            let end = match input {
                Input::Socket(event) => self.on_socket(event).await,
                Input::Control(control) => self.on_control(control).await,
                Input::Token(token) => self.on_token(token).await,
                Input::Timer => self.on_timer().await,
            };
            if let Some(end) = end {
                return self.finish(end).await;
            }
        }
    }

    /// Adds a command to the frame being built, with the next id, and remembers it.
    pub fn queue(&mut self, mut command: Command, pending: Pending) -> Result<(), EncodeError> {
        command.id = self.next_id;
        encode_command(Encoding::Json, &command, &mut self.frame)?;
        self.pending.insert(self.next_id, pending);
        self.next_id = self.next_id.wrapping_add(1).max(1);
        Ok(())
    }

    /// A program's request: into the frame, or refused at once if it cannot be encoded.
    pub fn queue_request(
        &mut self,
        command: Command,
        reply: oneshot::Sender<Result<Reply, Error>>,
    ) {
        if reply.is_closed() {
            return; // its caller timed out already
        }
        let mut command = command;
        command.id = self.next_id;
        match encode_command(Encoding::Json, &command, &mut self.frame) {
            Ok(()) => {
                self.pending.insert(self.next_id, Pending::Request(reply));
                self.next_id = self.next_id.wrapping_add(1).max(1);
            }
            Err(e) => {
                let _ = reply.send(Err(Error::Encode(e)));
            }
        }
    }

    /// The answer to a server ping: an empty command.
    pub fn queue_pong(&mut self) {
        let _ = encode_command(Encoding::Json, &Command::default(), &mut self.frame);
    }

    /// Writes the frame built this turn.
    async fn flush(&mut self) -> Result<(), End> {
        if self.frame.is_empty() {
            return Ok(());
        }
        let frame = std::mem::take(&mut self.frame);
        let text = String::from_utf8(frame)
            .map_err(|_| End::local(codes::BAD_PROTOCOL, "a command is not UTF-8", true))?;
        // A hub that stops reading for that long is as dead as one that stops pinging.
        let limit = self.driver.settings.connect_timeout;
        match tokio::time::timeout(limit, self.ws.send(Message::text(text))).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(End::remote(codes::ABNORMAL_CLOSURE, e.to_string(), true)),
            Err(_) => Err(End::local(codes::TIMEOUT, "the hub stopped reading", true)),
        }
    }

    fn next_deadline(&self) -> Instant {
        let mut deadline = Instant::now() + Duration::from_secs(3600);
        let mut consider = |at: Option<Instant>| {
            if let Some(at) = at {
                deadline = deadline.min(at);
            }
        };
        consider((!self.connected).then_some(self.connect_deadline));
        consider(self.alive_until);
        consider(self.refresh_at);
        for state in self.driver.channels.values() {
            consider(state.refresh_at);
            consider(state.retry_at);
        }
        for pending in self.pending.values() {
            if let Pending::Subscribe { deadline, .. } = pending {
                consider(Some(*deadline));
            }
        }
        deadline
    }

    async fn on_socket(&mut self, event: duplex::Result<duplex::Event>) -> Option<End> {
        if let Some(window) = self.ping_window {
            self.alive_until = Some(Instant::now() + window);
        }
        match event {
            Ok(duplex::Event::Message(message)) => {
                let replies = match decode_replies(Encoding::Json, message.payload()) {
                    Ok(replies) => replies,
                    Err(e) => {
                        let reason = format!("undecodable frame from the hub: {e}");
                        return Some(End::local(codes::BAD_PROTOCOL, reason, true));
                    }
                };
                for reply in replies {
                    if let Some(end) = self.on_reply(reply).await {
                        return Some(end);
                    }
                }
                None
            }
            Ok(duplex::Event::Close(frame)) => {
                let (code, reason) = frame.map_or((1005, String::new()), |frame| {
                    (u32::from(frame.code.0), frame.reason)
                });
                let (code, reason, reconnect) = match self.advice.take() {
                    Some(advice) => advice,
                    None => {
                        let reconnect = reconnect_after(code, &reason);
                        (code, reason, reconnect)
                    }
                };
                Some(End::remote(code, reason, reconnect))
            }
            Ok(_) => None, // WebSocket pings (answered by the driver) and pongs
            Err(e) => {
                let (code, reason, reconnect) = self.advice.take().unwrap_or((
                    codes::ABNORMAL_CLOSURE,
                    format!("connection lost: {e}"),
                    true,
                ));
                Some(End::remote(code, reason, reconnect))
            }
        }
    }

    async fn on_control(&mut self, control: Option<Control>) -> Option<End> {
        match control {
            None => Some(End {
                // Every handle is gone: nobody can use the client any more.
                ..End::local(codes::DISCONNECT_CALLED, "client dropped", false)
            }),
            Some(Control::Disconnect { done }) => Some(End {
                done: Some(done),
                ..End::local(codes::DISCONNECT_CALLED, "disconnect called", false)
            }),
            Some(Control::Request { command, reply }) if self.connected => {
                self.queue_request(*command, reply);
                None
            }
            Some(Control::Subscribe {
                channel,
                options,
                done,
            }) => {
                let added = self.driver.add_channel(&channel, options);
                let ok = added.is_ok();
                let _ = done.send(added);
                if ok && self.connected {
                    self.start_subscribe(&channel);
                }
                None
            }
            Some(Control::Unsubscribe { channel, done }) => {
                if let Some(state) = self.driver.channels.remove(&channel) {
                    if matches!(state.phase, Phase::Subscribing | Phase::Subscribed) {
                        let command = Command {
                            unsubscribe: Some(UnsubscribeRequest {
                                channel: channel.clone(),
                            }),
                            ..Command::default()
                        };
                        let _ = self.queue(command, Pending::Unsubscribe);
                    }
                    self.driver.emit_unsubscribed(channel).await;
                }
                let _ = done.send(());
                None
            }
            Some(control) => {
                self.driver.offline_control(control).await;
                None
            }
        }
    }

    async fn on_token(&mut self, token: TokenResult) -> Option<End> {
        if token.generation != self.driver.generation {
            return None; // fetched for an earlier connection
        }
        let now = Instant::now();
        match (token.target, token.result) {
            (TokenTarget::Connection, Ok(token)) => {
                self.driver.token = Some(token.clone());
                let command = Command {
                    refresh: Some(duplex_hub::protocol::RefreshRequest { token }),
                    ..Command::default()
                };
                let _ = self.queue(command, Pending::Refresh);
                None
            }
            (TokenTarget::Connection, Err(TokenError::Unauthorized)) => {
                Some(End::local(codes::UNAUTHORIZED, "unauthorized", false))
            }
            (TokenTarget::Connection, Err(TokenError::Failed(message))) => {
                self.driver.emit_error(ErrorKind::Token, message).await;
                self.refresh_at = Some(now + self.refresh_backoff.next_delay());
                None
            }
            (TokenTarget::Channel(channel), result) => {
                self.on_channel_token(channel, result).await;
                None
            }
        }
    }

    async fn on_timer(&mut self) -> Option<End> {
        let now = Instant::now();
        if !self.connected && now >= self.connect_deadline {
            let reason = "no reply to connect in time";
            return Some(End::local(codes::TIMEOUT, reason, true));
        }
        if self.alive_until.is_some_and(|at| now >= at) {
            return Some(End::local(codes::NO_PING, "no ping from the hub", true));
        }
        let late = self.pending.values().find_map(|pending| match pending {
            Pending::Subscribe { channel, deadline } if now >= *deadline => Some(channel.clone()),
            _ => None,
        });
        if let Some(channel) = late {
            let reason = format!("no reply to subscribe {channel} in time");
            return Some(End::local(codes::TIMEOUT, reason, true));
        }
        if self.refresh_at.is_some_and(|at| now >= at) {
            self.refresh_at = None;
            if let Some(source) = self.driver.settings.token_source.clone() {
                self.fetch_token(TokenTarget::Connection, source);
            }
        }
        let due: Vec<(String, bool)> = self
            .driver
            .channels
            .iter()
            .filter_map(|(channel, state)| {
                let refresh = state.refresh_at.is_some_and(|at| now >= at);
                let retry = state.retry_at.is_some_and(|at| now >= at);
                (refresh || retry).then(|| (channel.clone(), refresh))
            })
            .collect();
        for (channel, refresh) in due {
            let Some(state) = self.driver.channels.get_mut(&channel) else {
                continue;
            };
            if refresh {
                state.refresh_at = None;
                if let Some(source) = state.options.token_source.clone() {
                    self.fetch_token(TokenTarget::Channel(channel), source);
                }
            } else {
                state.retry_at = None;
                self.start_subscribe(&channel);
            }
        }
        None
    }

    /// Runs a token callback on a task of its own; the answer comes back as an input.
    pub fn fetch_token(&self, target: TokenTarget, source: TokenSource) {
        let tokens = self.driver.tokens_tx.clone();
        let generation = self.driver.generation;
        let limit = self.driver.settings.connect_timeout;
        let fetching = source.fetch();
        tokio::spawn(async move {
            let result = tokio::time::timeout(limit, fetching)
                .await
                .unwrap_or_else(|_| Err(TokenError::failed("the token callback timed out")));
            let _ = tokens.send(TokenResult {
                generation,
                target,
                result,
            });
        });
    }

    /// Ends the session: closes if it is ours to close, fails what waited on it, reports.
    async fn finish(mut self, end: End) -> Next {
        if end.close_socket {
            let closing = self.ws.close(1000u16, "");
            let _ = tokio::time::timeout(Duration::from_secs(1), closing).await;
        }
        for (_, pending) in self.pending.drain() {
            if let Pending::Request(reply) = pending {
                let _ = reply.send(Err(Error::Disconnected));
            }
        }
        for state in self.driver.channels.values_mut() {
            state.phase = Phase::Idle;
            state.refresh_at = None;
            state.retry_at = None;
        }
        if !end.silent {
            if self.connected || !end.reconnect {
                self.driver
                    .emit(Event::Disconnected {
                        code: end.code,
                        reason: end.reason.clone(),
                        reconnect: end.reconnect,
                    })
                    .await;
            } else {
                let message = match end.reason.as_str() {
                    "" => format!("closed with {} before connecting", end.code),
                    reason => format!("closed with {} before connecting: {reason}", end.code),
                };
                self.driver.emit_error(ErrorKind::Transport, message).await;
            }
        }
        if let Some(done) = end.done {
            let _ = done.send(());
        }
        if end.reconnect {
            Next::Reconnect { at_least: None }
        } else {
            Next::Stop
        }
    }
}

/// When to refresh a token that expires in `ttl` seconds: a second early because the hub
/// counts whole seconds (its `ttl` may overstate the token's life by almost one), and a fifth
/// of the life earlier still (at most 10 s), so that a slow token callback beats the expiry.
pub(crate) fn refresh_delay(ttl: u32) -> Duration {
    let ttl = Duration::from_secs(u64::from(ttl));
    ttl.saturating_sub(Duration::from_secs(1) + (ttl / 5).min(Duration::from_secs(10)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refreshes_come_before_the_expiry() {
        assert_eq!(refresh_delay(0), Duration::ZERO);
        assert_eq!(refresh_delay(1), Duration::ZERO);
        assert_eq!(refresh_delay(2), Duration::from_millis(600));
        assert_eq!(refresh_delay(10), Duration::from_secs(7));
        assert_eq!(refresh_delay(3600), Duration::from_secs(3589));
    }
}
