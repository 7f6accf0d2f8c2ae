//! The four client protocols the hub benchmark speaks, each as its users' SDKs put it on the
//! wire, and the matching way to publish: Centrifugo (JSON, server API), Pusher (protocol 7,
//! signed HTTP API), Socket.IO 4 (Engine.IO v4 over WebSocket, rooms) and uWebSockets pub/sub
//! (the raw floor, no hub features).
//!
//! A client only joins (connect, authenticate, subscribe), answers the server's heartbeats and
//! hands the text of what arrives to the caller; the caller finds the stamps in it
//! (`stamp.rs`), so no envelope is parsed on the hot path.

use std::net::IpAddr;
use std::time::Duration;

use anyhow::{bail, Context as _};
use clap::ValueEnum as _;
use duplex::handshake::Target;
use duplex::{Event, Message, Options, WebSocket};
use duplex_hub::pusher::signature::{sign_api_request, Credentials};
use serde::de::IgnoredAny;
use serde::Deserialize;
use serde_json::{json, Value};

use super::super::idle::How;
use super::super::report::Report;
use super::super::stamped::Stamped;
use crate::args::{HubProtocol, HubTargetArgs};

/// How long any one step of joining (a reply, a subscription) may take.
const STEP: Duration = Duration::from_secs(30);

/// Where a recovering Centrifugo subscription left off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    pub offset: u64,
    pub epoch: String,
}

/// What a joined client learned: for Centrifugo, each subscription's position (with history
/// on) and, when it recovered, the text of the reply holding the recovered publications.
#[derive(Debug, Default)]
pub struct Joined {
    pub positions: Vec<Option<Position>>,
    pub recovered: Vec<bool>,
    /// Reply lines that carried publications (recovered ones), in order.
    pub carried: Vec<String>,
}

/// A Centrifugo reply, as far as joining needs it. A recovery's reply carries every missed
/// publication; they are skipped here, not built into values (`stamp.rs` reads them from the
/// text), which kept the loader, not the server, the slower side of a mass reconnect.
#[derive(Deserialize)]
struct Reply<'a> {
    #[serde(default)]
    id: u64,
    error: Option<Value>,
    #[serde(borrow)]
    subscribe: Option<SubscribeResult<'a>>,
}

#[derive(Deserialize, Default)]
struct SubscribeResult<'a> {
    #[serde(borrow)]
    epoch: Option<std::borrow::Cow<'a, str>>,
    offset: Option<u64>,
    #[serde(default)]
    recovered: bool,
    publications: Option<IgnoredAny>,
}

/// Everything needed to open clients of one server.
pub struct Hub {
    pub protocol: HubProtocol,
    pub prefix: String,
    /// Clients being opened at once.
    pub open_concurrency: usize,
    how: How,
    token_secret: Option<String>,
    /// Source addresses clients bind to, round robin by client (none: the kernel picks).
    sources: Vec<IpAddr>,
}

impl Hub {
    /// From the command line: resolves the server's address once.
    pub async fn new(args: &HubTargetArgs) -> anyhow::Result<Hub> {
        let target = Target::parse(&args.common.url)?;
        anyhow::ensure!(
            !target.secure,
            "the hub benchmark measures ws:// (latency needs the kernel's receive timestamps)"
        );
        let server = tokio::net::lookup_host((target.host.as_str(), target.port))
            .await?
            .next()
            .with_context(|| format!("{} has no address", target.host))?;
        // SDKs send no WebSocket pings (the protocol's own heartbeat does that job), so
        // neither do these clients: the server sees what a browser would send.
        let builder = crate::client::builder(&args.common.client)?
            .options(Options::default().ping_interval(None).idle_timeout(None));
        Ok(Hub {
            protocol: args.hub_protocol,
            prefix: args
                .channel_prefix
                .clone()
                .unwrap_or_else(|| default_prefix(args.hub_protocol).to_owned()),
            how: How {
                builder,
                url: args.common.url.clone(),
                target,
                server,
                source: None,
                timeout: args.common.client.connect_timeout,
            },
            token_secret: args.token_secret.clone(),
            sources: match &args.source_ips {
                Some(text) => super::super::idle::parse_sources(text)?,
                None => Vec::new(),
            },
            open_concurrency: args.open_concurrency.max(1),
        })
    }

    /// The target's fields of a report: the URL and the protocol.
    pub fn describe(&self, report: &mut Report) {
        report.field("url", self.how.url.as_str());
        report.field("protocol", self.protocol_name());
    }

    /// The protocol as the command line names it.
    pub fn protocol_name(&self) -> String {
        self.protocol
            .to_possible_value()
            .map_or_else(String::new, |value| value.get_name().to_owned())
    }

    /// The name of channel `number`.
    pub fn channel(&self, number: u32) -> String {
        format!("{}{number}", self.prefix)
    }

    /// Opens client number `index` (from its source address, if any), connects as user
    /// `u<index>` and subscribes to `channels`; with `recover`, each subscription asks for what
    /// followed its position.
    pub async fn join(
        &self,
        index: usize,
        channels: &[u32],
        recover: Option<&[Option<Position>]>,
    ) -> anyhow::Result<(Client, Joined)> {
        let source = (!self.sources.is_empty()).then(|| self.sources[index % self.sources.len()]);
        let user = format!("u{index}");
        let work = async {
            let tcp = Stamped::new(self.how.tcp_from(source).await?)?;
            let (ws, _) = self.how.builder.handshake(tcp, &self.how.target).await?;
            let mut client = Client {
                ws,
                protocol: self.protocol,
                closed: None,
            };
            let names: Vec<String> = channels.iter().map(|c| self.channel(*c)).collect();
            let joined = match self.protocol {
                HubProtocol::Centrifugo => {
                    let token = match &self.token_secret {
                        Some(secret) => Some(duplex_hub::auth::mint_hs256(
                            secret,
                            &duplex_hub::auth::MintClaims::user(&user),
                        )?),
                        None => None,
                    };
                    client.join_centrifugo(token, &names, recover).await?
                }
                HubProtocol::Pusher => client.join_pusher(&names).await?,
                HubProtocol::Socketio => client.join_socketio(&names).await?,
                HubProtocol::Uws => client.join_uws(&names).await?,
            };
            anyhow::Ok((client, joined))
        };
        tokio::time::timeout(STEP, work)
            .await
            .map_err(|_| anyhow::anyhow!("timed out joining"))?
    }
}

/// The default channel prefix: Centrifugo channels live in a namespace (`fan:`, with
/// history); Pusher channel names may not hold `:`.
pub fn default_prefix(protocol: HubProtocol) -> &'static str {
    match protocol {
        HubProtocol::Centrifugo => "fan:",
        _ => "fan-",
    }
}

/// One connected client.
pub struct Client {
    pub ws: WebSocket<Stamped>,
    protocol: HubProtocol,
    /// The server's close frame, once it closed the connection: code and reason.
    closed: Option<String>,
}

impl Client {
    /// The next text the server sent that is not a heartbeat (answered here). `None` when the
    /// connection ended.
    pub async fn next_text(&mut self) -> anyhow::Result<Option<Message>> {
        loop {
            let message = match self.ws.next_event().await {
                Ok(Event::Message(message)) => message,
                Ok(Event::Ping(_) | Event::Pong(_)) => continue,
                Ok(Event::Close(frame)) => {
                    self.closed = Some(match frame {
                        Some(frame) => format!("{} {}", u16::from(frame.code), frame.reason),
                        None => "no close frame".into(),
                    });
                    return Ok(None);
                }
                Err(e) => return Err(e.into()),
            };
            let Some(text) = message.as_text() else {
                bail!("a binary message from a text protocol");
            };
            if let Some(answer) = self.heartbeat_answer(text) {
                self.ws.send(Message::text(answer)).await?;
                // A Centrifugo frame can carry a ping and publications together.
                if !(self.protocol == HubProtocol::Centrifugo && text.contains('\n')) {
                    continue;
                }
            }
            return Ok(Some(message));
        }
    }

    /// What to answer if `text` is (or holds) the server's heartbeat.
    fn heartbeat_answer(&self, text: &str) -> Option<&'static str> {
        match self.protocol {
            HubProtocol::Centrifugo => text.split('\n').any(|l| l == "{}").then_some("{}"),
            HubProtocol::Pusher => text
                .contains("\"pusher:ping\"")
                .then_some(r#"{"event":"pusher:pong","data":{}}"#),
            HubProtocol::Socketio => (text == "2").then_some("3"),
            HubProtocol::Uws => None,
        }
    }

    async fn send(&mut self, text: String) -> anyhow::Result<()> {
        Ok(self.ws.send(Message::text(text)).await?)
    }

    /// Waits until `done` says the lines seen so far are enough; fails if the server closes.
    async fn until(
        &mut self,
        mut done: impl FnMut(&str) -> anyhow::Result<bool>,
    ) -> anyhow::Result<()> {
        loop {
            let Some(message) = self.next_text().await? else {
                bail!(
                    "the server closed the connection while joining ({})",
                    self.closed.as_deref().unwrap_or("no close frame")
                );
            };
            let text = message.as_text().unwrap_or_default();
            for line in text.split('\n').filter(|l| !l.is_empty() && *l != "{}") {
                if done(line)? {
                    return Ok(());
                }
            }
        }
    }

    async fn join_centrifugo(
        &mut self,
        token: Option<String>,
        channels: &[String],
        recover: Option<&[Option<Position>]>,
    ) -> anyhow::Result<Joined> {
        let mut connect = json!({"name": "duplex-bench"});
        if let Some(token) = token {
            connect["token"] = token.into();
        }
        self.send(json!({"id": 1, "connect": connect}).to_string())
            .await?;
        self.until(|line| {
            let reply: Reply = serde_json::from_str(line)?;
            if let Some(error) = reply.error {
                bail!("connect refused: {error}");
            }
            Ok(reply.id == 1)
        })
        .await?;
        let mut joined = Joined {
            positions: vec![None; channels.len()],
            recovered: vec![false; channels.len()],
            carried: Vec::new(),
        };
        if channels.is_empty() {
            return Ok(joined);
        }
        // One frame for all subscribes, as the SDKs batch what is asked in one tick.
        let mut frame = String::new();
        for (i, channel) in channels.iter().enumerate() {
            let mut subscribe = json!({"channel": channel});
            if let Some(Some(position)) = recover.and_then(|r| r.get(i)) {
                subscribe["recover"] = true.into();
                subscribe["offset"] = position.offset.into();
                subscribe["epoch"] = position.epoch.clone().into();
            }
            if i > 0 {
                frame.push('\n');
            }
            frame.push_str(&json!({"id": 2 + i, "subscribe": subscribe}).to_string());
        }
        self.send(frame).await?;
        let mut waiting = channels.len();
        self.until(|line| {
            if !line.starts_with("{\"id\"") {
                // A publication pushed after a subscribe's reply: kept for the caller.
                joined.carried.push(line.to_owned());
                return Ok(false);
            }
            let reply: Reply = serde_json::from_str(line)?;
            if let Some(error) = reply.error {
                bail!("subscribe refused: {error}");
            }
            let Some(i) = reply.id.checked_sub(2) else {
                return Ok(false);
            };
            let i = i as usize;
            let result = reply.subscribe.unwrap_or_default();
            if let Some(epoch) = result.epoch {
                if let Some(slot) = joined.positions.get_mut(i) {
                    *slot = Some(Position {
                        offset: result.offset.unwrap_or(0),
                        epoch: epoch.into_owned(),
                    });
                }
            }
            if result.recovered {
                if let Some(slot) = joined.recovered.get_mut(i) {
                    *slot = true;
                }
            }
            if result.publications.is_some() {
                joined.carried.push(line.to_owned());
            }
            waiting -= 1;
            Ok(waiting == 0)
        })
        .await?;
        Ok(joined)
    }

    async fn join_pusher(&mut self, channels: &[String]) -> anyhow::Result<Joined> {
        self.until(|line| {
            if line.contains("\"pusher:error\"") {
                bail!("refused: {line}");
            }
            Ok(line.contains("\"pusher:connection_established\""))
        })
        .await?;
        // One frame per subscribe, as pusher-js sends them.
        for channel in channels {
            self.send(
                json!({"event": "pusher:subscribe", "data": {"channel": channel}}).to_string(),
            )
            .await?;
        }
        let mut waiting = channels.len();
        if waiting > 0 {
            self.until(|line| {
                if line.contains("\"pusher:error\"") || line.contains("subscription_error") {
                    bail!("subscribe refused: {line}");
                }
                if line.contains("\"pusher_internal:subscription_succeeded\"") {
                    waiting -= 1;
                }
                Ok(waiting == 0)
            })
            .await?;
        }
        Ok(Joined::default())
    }

    async fn join_socketio(&mut self, channels: &[String]) -> anyhow::Result<Joined> {
        // Engine.IO's open packet, then Socket.IO's connect to the main namespace.
        self.until(|line| Ok(line.starts_with('0'))).await?;
        self.send("40".into()).await?;
        self.until(|line| {
            if line.starts_with("44") {
                bail!("refused: {line}");
            }
            Ok(line.starts_with("40"))
        })
        .await?;
        self.send(format!("421{}", json!(["subscribe", channels])))
            .await?;
        self.until(|line| Ok(line.starts_with("431"))).await?;
        Ok(Joined::default())
    }

    async fn join_uws(&mut self, channels: &[String]) -> anyhow::Result<Joined> {
        self.send(json!({"subscribe": channels}).to_string())
            .await?;
        self.until(|line| Ok(line.starts_with("{\"subscribed\"")))
            .await?;
        Ok(Joined::default())
    }
}

/// Publishes through the server's HTTP API, the way a backend does.
#[derive(Clone)]
pub struct Publisher {
    protocol: HubProtocol,
    http: reqwest::Client,
    /// Where each publish goes: Centrifugo's `…/publish`, the peers' endpoint, Pusher's
    /// `…/apps/ID/events` (its signed query added per request).
    endpoint: String,
    /// Pusher's path, which its signature covers.
    pusher_path: String,
    api_key: Option<String>,
    app: Credentials,
}

impl Publisher {
    pub fn new(args: &HubTargetArgs) -> anyhow::Result<Publisher> {
        let url = args
            .publish_url
            .clone()
            .context("--publish-url is needed to publish")?;
        let api_key = args
            .api_key
            .clone()
            .or_else(|| std::env::var(crate::args::API_KEY_ENV).ok());
        if args.hub_protocol == HubProtocol::Centrifugo && api_key.is_none() {
            bail!("--api-key is needed to publish through a Centrifugo server API");
        }
        let pusher_path = format!("/apps/{}/events", args.app_id);
        Ok(Publisher {
            protocol: args.hub_protocol,
            http: reqwest::Client::builder()
                .pool_max_idle_per_host(usize::MAX)
                .tcp_nodelay(true)
                .build()?,
            endpoint: match args.hub_protocol {
                HubProtocol::Centrifugo => format!("{}/publish", url.trim_end_matches('/')),
                HubProtocol::Pusher => format!("{}{pusher_path}", url.trim_end_matches('/')),
                HubProtocol::Socketio | HubProtocol::Uws => url,
            },
            pusher_path,
            api_key,
            app: Credentials::new(args.app_key.clone(), args.app_secret.clone()),
        })
    }

    /// Publishes `data` (a JSON object's text) into `channel`, and waits for the server's
    /// answer: an error unless it accepted the publication.
    pub async fn publish(&self, channel: &str, data: &str) -> anyhow::Result<()> {
        let request = match self.protocol {
            HubProtocol::Pusher => {
                let body = json!({"name": "pub", "channels": [channel], "data": data}).to_string();
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)?
                    .as_secs() as i64;
                let query = sign_api_request(
                    &self.app,
                    "POST",
                    &self.pusher_path,
                    &[],
                    body.as_bytes(),
                    now,
                );
                self.http
                    .post(format!("{}?{query}", self.endpoint))
                    .body(body)
            }
            // Centrifugo's server API and the peers' endpoints take the same body.
            _ => {
                let request = self.http.post(&self.endpoint).body(format!(
                    "{{\"channel\":{},\"data\":{data}}}",
                    json!(channel)
                ));
                match &self.api_key {
                    Some(key) => request.header("X-API-Key", key),
                    None => request,
                }
            }
        }
        .header("Content-Type", "application/json");
        let response = request.send().await?;
        let status = response.status();
        let body = response.bytes().await?;
        if !status.is_success() {
            bail!(
                "publish answered {status}: {}",
                String::from_utf8_lossy(&body)
            );
        }
        if self.protocol == HubProtocol::Centrifugo && body.starts_with(b"{\"error\"") {
            bail!("publish refused: {}", String::from_utf8_lossy(&body));
        }
        Ok(())
    }
}

/// The channels client `index` subscribes to: (index*S + j) mod C for j < S, distinct while
/// S <= C.
pub fn channels_of(index: usize, subs: usize, channels: usize) -> Vec<u32> {
    let channels = channels.max(1);
    let mut list: Vec<u32> = (0..subs)
        .map(|j| ((index * subs + j) % channels) as u32)
        .collect();
    list.dedup();
    list
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clients_spread_over_the_channels() {
        assert_eq!(channels_of(21, 5, 100), [5, 6, 7, 8, 9]);
        assert_eq!(channels_of(0, 1, 1), [0]);
        assert_eq!(channels_of(7, 1, 1), [0]);
        // Every channel gets the same number of subscribers when C divides N*S.
        let mut per = vec![0; 1000];
        for i in 0..10_000 {
            for c in channels_of(i, 5, 1000) {
                per[c as usize] += 1;
            }
        }
        assert!(per.iter().all(|n| *n == 50));
    }
}
