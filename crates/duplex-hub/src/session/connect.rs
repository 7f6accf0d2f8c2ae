//! connect and refresh: who the client is, until when, and the subscriptions the server makes
//! for it on connect (the token's `channels` and `subs`, the user's personal channel).
//!
//! Deny by default: a connection needs a valid token, unless the hub runs in development mode
//! (`client.insecure`) or allows anonymous connections without a token explicitly. With a
//! connect proxy (`client.proxy.connect`), a connection without a token is the backend's to
//! accept; one with a token still goes by its token, as in Centrifugo. With a refresh proxy
//! (`client.proxy.refresh`), an expiring connection is extended by the backend rather than by
//! the client's new token, so the connect reply does not ask the client to refresh.

use bytes::Bytes;

use crate::auth::TokenError;
use crate::codes::{Disconnect, Error};
use crate::protocol::{ConnectRequest, ConnectResult, RefreshRequest, RefreshResult, Reply};
use crate::proxy::{Caller, ConnectOutcome, RefreshOutcome, Refusal};

use super::{unix_now, whole_seconds, Outcome, ServerSubscribe, Session};

/// The version the connect reply reports (centrifuge-python insists it is not empty).
pub(crate) const VERSION: &str = concat!("duplex ", env!("CARGO_PKG_VERSION"));

/// Who a connection is, from its token or the hub's anonymous policy.
struct Credentials {
    user: String,
    expires_at: Option<i64>,
    info: Option<Bytes>,
    /// Channels to subscribe on the server's side, with their channel info.
    channels: Vec<(String, Option<Bytes>, Option<Bytes>)>,
}

impl Credentials {
    /// What the connect proxy said about the connection.
    fn from_proxy(outcome: &ConnectOutcome) -> Self {
        Credentials {
            user: outcome.user.clone(),
            expires_at: outcome.expires_at,
            info: outcome.info.clone(),
            channels: outcome.channels.clone(),
        }
    }

    /// A user without a token's claims (anonymous when "").
    fn anonymous(user: String) -> Self {
        Credentials {
            user,
            expires_at: None,
            info: None,
            channels: Vec::new(),
        }
    }
}

impl Session {
    /// The connect command.
    pub(super) async fn connect(
        &mut self,
        id: u32,
        request: ConnectRequest,
    ) -> Result<Outcome, Disconnect> {
        if self.connected {
            return Err(Disconnect::BAD_REQUEST);
        }
        let mut verified = match self.verify_token(&request.token).await? {
            Ok(verified) => verified,
            Err(error) => return Ok(Outcome::Error(error)),
        };
        let node = self.node.clone();
        let mut proxied = None;
        if verified.is_none() {
            match node.proxies().connect(self.caller(), &request).await {
                // Already expired: error 110, as Centrifugo answers such credentials.
                Some(Ok(outcome)) if outcome.expires_at.is_some_and(|at| at <= unix_now()) => {
                    return Ok(Outcome::Error(Error::EXPIRED));
                }
                Some(Ok(outcome)) => {
                    verified = Some(Credentials::from_proxy(&outcome));
                    proxied = Some(outcome);
                }
                Some(Err(Refusal::Error(error))) => return Ok(Outcome::Error(error)),
                Some(Err(Refusal::Disconnect(disconnect))) => return Err(disconnect),
                None => {}
            }
        }
        let decision = node
            .callbacks()
            .connecting(
                &self.handle,
                verified.as_ref().map(|c| c.user.as_str()),
                &request,
            )
            .await?;
        let config = node.config();
        let credentials = match (verified, decision.user) {
            (Some(credentials), _) => credentials,
            (None, Some(user)) => Credentials::anonymous(user),
            (None, None)
                if config.client.insecure
                    || config.client.allow_anonymous_connect_without_token =>
            {
                Credentials::anonymous(String::new())
            }
            (None, None) => {
                tracing::debug!("connection without a token refused");
                return Err(Disconnect::BAD_REQUEST);
            }
        };
        self.info = decision.info.or(credentials.info).map(Box::new);
        self.set_expiry(credentials.expires_at);
        let mut data = decision.data;
        if let Some(outcome) = proxied {
            data = data.or(outcome.data);
            if let Some(state) = self.proxy_state_mut() {
                state.meta = outcome.meta;
            }
        }
        node.register(&self.handle, &credentials.user)?;
        self.connected = true;
        if let Some(interval) = node.ping_interval() {
            self.next_ping = node.clock().now() + whole_seconds(interval);
        }

        // The server's subscriptions: the token's, then the personal channel.
        let mut wanted = credentials.channels;
        if let Some(personal) = node.personal_channel(self.user()) {
            if !wanted.iter().any(|(c, _, _)| *c == personal) {
                wanted.push((personal, None, None));
            }
        }
        let mut subs = std::collections::BTreeMap::new();
        let mut pending = Vec::new();
        for (channel, info, data) in wanted {
            let since = request.subs.get(&channel).and_then(|s| {
                s.recover.then(|| crate::engine::StreamPosition {
                    offset: s.offset,
                    epoch: s.epoch.clone(),
                })
            });
            let server = ServerSubscribe {
                channel: channel.clone(),
                info,
                data,
                recover_since: since,
            };
            match self.subscribe_server_side_prepare(&server).await {
                Ok((result, join)) => {
                    pending.push((channel.clone(), result.offset, result.epoch.clone(), join));
                    subs.insert(channel, result);
                }
                Err(error) => {
                    tracing::debug!(%channel, "server-side subscription refused: {error}");
                }
            }
        }
        let ttl = self.client_refresh_ttl();
        let reply = Reply {
            id,
            connect: Some(ConnectResult {
                client: self.handle.client().to_owned(),
                version: VERSION.to_owned(),
                expires: ttl.is_some(),
                ttl: ttl.unwrap_or(0),
                subs,
                ping: node.ping_interval().map_or(0, |d| d.as_secs() as u32),
                pong: node.ping_interval().is_some(),
                data: data.unwrap_or_default(),
                session: self.emulation_session().unwrap_or_default().to_owned(),
                node: match self.emulation_session() {
                    Some(_) => node.name().to_owned(),
                    None => String::new(),
                },
                ..Default::default()
            }),
            ..Default::default()
        };
        // The connect reply goes first; publications made while it was being built follow.
        self.append_reply(reply);
        for (channel, offset, epoch, join) in pending {
            self.go_live(&channel, offset, &epoch);
            self.announce_join(&channel, join).await;
        }
        Ok(Outcome::Nothing)
    }

    /// Who proxy calls from this connection are about.
    pub(super) fn caller(&self) -> Caller<'_> {
        Caller {
            client: self.handle.client(),
            user: self.user(),
            encoding: self.handle.encoding(),
            state: self.proxy_state(),
        }
    }

    /// The TTL the client is told to refresh within; none where the refresh proxy extends
    /// connections on the server's side.
    fn client_refresh_ttl(&self) -> Option<u32> {
        if self.node.proxies().has_refresh() {
            return None;
        }
        self.ttl()
    }

    /// The connection reached its expiry (and grace): the refresh proxy may extend it;
    /// without one it ends.
    pub(super) async fn connection_expired(&mut self) -> Result<(), Disconnect> {
        let node = self.node.clone();
        match node.proxies().refresh(self.caller()).await {
            None | Some(RefreshOutcome::Expired) => Err(Disconnect::EXPIRED),
            Some(RefreshOutcome::Extended {
                expires_at,
                info,
                meta,
            }) => {
                // An expiry already past would have the timer ask the backend again at once.
                if expires_at.is_some_and(|at| at <= unix_now()) {
                    return Err(Disconnect::EXPIRED);
                }
                self.set_expiry(expires_at);
                if info.is_some() {
                    self.info = info.map(Box::new);
                }
                if let (Some(meta), Some(state)) = (meta, self.proxy_state_mut()) {
                    state.meta = Some(meta);
                }
                Ok(())
            }
        }
    }

    /// Seconds until the connection expires, if it does.
    fn ttl(&self) -> Option<u32> {
        self.expires_at
            .map(|at| (at.get() - unix_now()).clamp(0, u32::MAX as i64) as u32)
    }

    /// Verifies the token, if there is one. The outer error ends the connection; the inner
    /// one is an error reply (an expired token: the SDK fetches a new one and connects again).
    async fn verify_token(
        &self,
        token: &str,
    ) -> Result<Result<Option<Credentials>, Error>, Disconnect> {
        if token.is_empty() {
            return Ok(Ok(None));
        }
        let claims = match self.node.verifier().verify_connect(token).await {
            Ok(claims) => claims,
            Err(TokenError::Expired) => return Ok(Err(Error::TOKEN_EXPIRED)),
            Err(TokenError::Unavailable(reason)) => {
                tracing::warn!("cannot verify a connection token now: {reason}");
                return Ok(Err(Error::INTERNAL));
            }
            Err(error) => {
                tracing::info!("invalid connection token: {error}");
                return Err(Disconnect::INVALID_TOKEN);
            }
        };
        let channels = claims
            .server_subscriptions()
            .into_iter()
            .map(|(channel, grant)| {
                (
                    channel.to_owned(),
                    grant.and_then(|g| g.info.clone()),
                    grant.and_then(|g| g.data.clone()),
                )
            })
            .collect();
        Ok(Ok(Some(Credentials {
            expires_at: claims.expires_at(),
            user: claims.sub,
            info: claims.info,
            channels,
        })))
    }

    /// The refresh command: a new token for the same user extends the connection.
    pub(super) async fn refresh(&mut self, request: RefreshRequest) -> Result<Outcome, Disconnect> {
        if request.token.is_empty() {
            return Err(Disconnect::BAD_REQUEST);
        }
        let claims = match self.node.verifier().verify_connect(&request.token).await {
            Ok(claims) => claims,
            Err(TokenError::Expired) => return Err(Disconnect::EXPIRED),
            Err(TokenError::Unavailable(_)) => return Ok(Outcome::Error(Error::INTERNAL)),
            Err(_) => return Err(Disconnect::INVALID_TOKEN),
        };
        if claims.sub != self.user() {
            return Err(Disconnect::INVALID_TOKEN);
        }
        self.set_expiry(claims.expires_at());
        if claims.info.is_some() {
            self.info = claims.info.map(Box::new);
        }
        let ttl = self.ttl();
        Ok(Outcome::Reply(Box::new(Reply {
            refresh: Some(RefreshResult {
                client: self.handle.client().to_owned(),
                version: super::connect::VERSION.to_owned(),
                expires: ttl.is_some(),
                ttl: ttl.unwrap_or(0),
            }),
            ..Default::default()
        })))
    }

    /// The server API's refresh: a new expiry decided by the backend.
    pub(super) fn server_refresh(
        &mut self,
        expired: bool,
        expire_at: Option<i64>,
        info: Option<Bytes>,
    ) -> Result<(), Disconnect> {
        if expired {
            return Err(Disconnect::EXPIRED);
        }
        if let Some(at) = expire_at {
            self.set_expiry(Some(at));
        }
        if info.is_some() {
            self.info = info.map(Box::new);
        }
        let ttl = self.ttl();
        self.append_reply(Reply {
            push: Some(crate::protocol::Push {
                refresh: Some(crate::protocol::Refresh {
                    expires: ttl.is_some(),
                    ttl: ttl.unwrap_or(0),
                }),
                ..Default::default()
            }),
            ..Default::default()
        });
        Ok(())
    }
}
