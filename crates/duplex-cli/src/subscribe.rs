//! `duplex subscribe`: a hub's channels on the terminal, through `duplex-hub-client`, which
//! reconnects and recovers by itself; this file only words its events for a person (or as
//! JSON lines for a script) and decides when the run is over.
//!
//! It is over on Ctrl-C (status 0), when the hub closes for good (a refused token, a ban: the
//! code's status, see `status::HubClosed`), when the hub cannot be reached at all on the first
//! attempt, or when no channel is left. Publications, joins and leaves go to stdout; the
//! connection's story to stderr.

use std::collections::BTreeSet;
use std::io::Write as _;

use anyhow::{anyhow, Context as _};
use duplex_hub_client::{codes, ClientBuilder, ErrorKind, Event, SubscriptionOptions};
use serde_json::{json, Value};

use crate::args::SubscribeArgs;
use crate::status::HubClosed;

/// Subscribes and prints until the run is over.
pub fn run(args: SubscribeArgs) -> anyhow::Result<()> {
    duplex::handshake::Target::parse(&args.url)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(subscribe(args))
}

async fn subscribe(args: SubscribeArgs) -> anyhow::Result<()> {
    let mut websocket = duplex::ClientBuilder::new()
        .options(
            duplex::Options::default()
                .ping_interval(None)
                .idle_timeout(None),
        )
        .connect_timeout(args.connect_timeout)
        .danger_accept_invalid_certs(args.insecure);
    if let Some(ca) = &args.ca {
        websocket = websocket
            .add_root_certificates_pem_file(ca)
            .with_context(|| format!("--ca {}", ca.display()))?;
    }
    let mut builder = ClientBuilder::new(&args.url)
        .name("duplex-cli", env!("CARGO_PKG_VERSION"))
        .connect_timeout(args.connect_timeout)
        .websocket(websocket);
    if let Some(token) = &args.token {
        builder = builder.token(token.clone());
    }
    let (client, mut events) = builder.connect();
    for channel in &args.channels {
        let mut options = SubscriptionOptions::new().join_leave(true);
        if let Some((_, token)) = args.sub_tokens.iter().find(|(c, _)| c == channel) {
            options = options.token(token.clone());
        }
        client.subscribe_with(channel, options).await?;
    }

    let mut printer = Printer {
        args: &args,
        connected_once: false,
        channels: args.channels.iter().cloned().collect(),
    };
    let interrupted = tokio::signal::ctrl_c();
    tokio::pin!(interrupted);
    loop {
        let event = tokio::select! {
            _ = &mut interrupted => {
                client.disconnect().await;
                return Ok(());
            }
            event = events.recv() => event,
        };
        let Some(event) = event else {
            return Ok(());
        };
        printer.event(event)?;
    }
}

/// Words events and keeps what decides the end of the run.
struct Printer<'a> {
    args: &'a SubscribeArgs,
    connected_once: bool,
    /// Channels still subscribed or being subscribed.
    channels: BTreeSet<String>,
}

impl Printer<'_> {
    fn event(&mut self, event: Event) -> anyhow::Result<()> {
        let json = self.args.json;
        match event {
            Event::Connected {
                client,
                reconnected,
                ..
            } => {
                self.connected_once = true;
                let doing = if reconnected {
                    "reconnected"
                } else {
                    "connected"
                };
                status(&format!("{doing} to {} (client {client})", self.args.url));
                if json {
                    line(
                        &json!({"type": "connected", "client": client, "reconnected": reconnected}),
                    )?;
                }
            }
            Event::Disconnected {
                code,
                reason,
                reconnect: true,
            } => {
                status(&format!(
                    "disconnected: {}; reconnecting",
                    said(code, &reason)
                ));
                if json {
                    line(&json!({"type": "disconnected", "code": code, "reason": reason}))?;
                }
            }
            Event::Disconnected {
                code: codes::DISCONNECT_CALLED,
                ..
            } => {}
            Event::Disconnected { code, reason, .. } => return Err(self.refused(code, &reason)),
            Event::Subscribed {
                channel,
                was_recovering,
                recovered,
                recovered_publications,
                epoch,
                offset,
                ..
            } => {
                let text = match (was_recovering, recovered) {
                    (false, _) => format!("subscribed to {channel}"),
                    (true, true) => {
                        format!("{channel}: reconnected, recovered {recovered_publications}")
                    }
                    (true, false) => format!(
                        "{channel}: reconnected, but missed publications could not be recovered \
                         (the channel's history no longer holds them)"
                    ),
                };
                status(&text);
                if json {
                    line(&json!({
                        "type": "subscribed", "channel": channel, "was_recovering": was_recovering,
                        "recovered": recovered, "recovered_publications": recovered_publications,
                        "epoch": epoch, "offset": offset,
                    }))?;
                }
            }
            Event::Unsubscribed {
                channel,
                code,
                reason,
            } => {
                let text = match code {
                    2000..=2999 => format!("unsubscribed from {channel} by the hub: {reason}"),
                    _ => format!("cannot subscribe to {channel}: {}", said(code, &reason)),
                };
                eprintln!("duplex: {text}");
                self.channels.remove(&channel);
                if self.channels.is_empty() {
                    return Err(anyhow!("{text}; no channel left"));
                }
            }
            Event::Publication {
                channel,
                data,
                offset,
                info,
                tags,
            } => {
                if json {
                    let mut object = json!({"type": "publication", "channel": channel, "offset": offset, "data": payload(&data)});
                    if !tags.is_empty() {
                        object["tags"] = json!(tags);
                    }
                    if let Some(info) = info {
                        object["info"] = json!({"user": info.user, "client": info.client});
                    }
                    line(&object)?;
                } else {
                    let data = String::from_utf8_lossy(&data);
                    let from = info.map_or(String::new(), |i| format!("  (from user {})", i.user));
                    match offset {
                        0 => text_line(&format!("{channel} {data}{from}"))?,
                        _ => text_line(&format!("{channel} #{offset} {data}{from}"))?,
                    }
                }
            }
            Event::Join { channel, info } => self.presence("join", &channel, &info)?,
            Event::Leave { channel, info } => self.presence("leave", &channel, &info)?,
            Event::Message { data } => {
                if json {
                    line(&json!({"type": "message", "data": payload(&data)}))?;
                } else {
                    text_line(&format!("message: {}", String::from_utf8_lossy(&data)))?;
                }
            }
            Event::Error(error) if error.kind == ErrorKind::Transport && !self.connected_once => {
                return Err(anyhow!(
                    "cannot reach the hub at {}: {} (is `duplex serve` running there?)",
                    self.args.url,
                    error.message
                ));
            }
            Event::Error(error) => status(&error.to_string()),
            _ => {}
        }
        Ok(())
    }

    fn presence(
        &self,
        kind: &str,
        channel: &str,
        info: &duplex_hub_client::ClientInfo,
    ) -> anyhow::Result<()> {
        if self.args.json {
            line(
                &json!({"type": kind, "channel": channel, "user": info.user, "client": info.client}),
            )
        } else {
            let verb = if kind == "join" { "+ joined" } else { "- left" };
            text_line(&format!(
                "{channel} {verb}: user {} (client {})",
                info.user, info.client
            ))
        }
    }

    /// The error for a hub that closed for good.
    fn refused(&self, code: u32, reason: &str) -> anyhow::Error {
        let message = match code {
            // Invalid, expired or revoked tokens, and connections that needed one.
            3500 | 101 | 109 | 113 => format!("the hub refused the token: {}", said(code, reason)),
            3501 if self.args.token.is_none() => format!(
                "the hub refused the connection: {}; does it need a token? pass --token \
                 (`duplex token --user ID` makes one)",
                said(code, reason)
            ),
            _ => format!(
                "the hub closed the connection for good: {}",
                said(code, reason)
            ),
        };
        anyhow::Error::new(HubClosed { code, message })
    }
}

/// `reason (code N)`, or the code alone.
fn said(code: u32, reason: &str) -> String {
    if reason.is_empty() {
        format!("code {code}")
    } else {
        format!("{reason} (code {code})")
    }
}

/// Payload bytes as a JSON value (they are JSON text on JSON connections).
fn payload(data: &[u8]) -> Value {
    serde_json::from_slice(data)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(data).into_owned()))
}

/// The connection's story, on stderr.
fn status(text: &str) {
    eprintln!("duplex: {text}");
}

fn line(value: &Value) -> anyhow::Result<()> {
    text_line(&value.to_string())
}

fn text_line(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{text}")?;
    out.flush()?;
    Ok(())
}
