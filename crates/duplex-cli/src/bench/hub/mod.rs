//! `duplex bench hub`: load for a real-time hub through its whole client protocol, with
//! publications through its server API, as applications use one.
//!
//! It speaks four protocols ([`protocol`]): Centrifugo's and Pusher's, so that it measures any
//! server that speaks them (duplex, Centrifugo, Sockudo, Soketi…), Socket.IO's, and the bare
//! pub/sub of uWebSockets as the floor. It is native and runs on one thread, so that
//! `taskset -c 1 duplex bench hub …` leaves the other core to the server: a Node.js loader
//! tops out near 45k deliveries/s on a core, below what the servers it measures can do.
//!
//! - [`fanout`]: deliveries/s and latency at a publication rate, every delivery checked;
//! - [`idle`]: the server's memory per connected, authenticated, subscribed client;
//! - [`connect`]: connect + authenticate + subscribe per second;
//! - [`reconnect`]: a mass reconnect with recovery of missed publications.

mod connect;
mod fanout;
mod idle;
mod protocol;
mod reconnect;
mod stamp;

use std::sync::Arc;

use anyhow::Context as _;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::report::Errors;
use crate::args::{HubBenchArgs, HubBenchCommand, HubLayoutArgs};
use protocol::{channels_of, Client, Hub, Joined};

/// Runs the chosen hub benchmark.
pub fn run(args: HubBenchArgs) -> anyhow::Result<()> {
    let threads = match &args.command {
        HubBenchCommand::Fanout(a) => a.target.common.threads,
        HubBenchCommand::Idle(a) => a.target.common.threads,
        HubBenchCommand::Connect(a) => a.target.common.threads,
        HubBenchCommand::Reconnect(a) => a.target.common.threads,
    };
    let runtime = crate::runtime::build(threads)?;
    runtime.block_on(async move {
        let (before, limit) =
            super::sys::raise_nofile_limit().context("cannot raise the open-file limit")?;
        if limit > before {
            eprintln!("duplex: raised the open-file limit from {before} to {limit}");
        }
        match args.command {
            HubBenchCommand::Fanout(args) => fanout::run(args).await,
            HubBenchCommand::Idle(args) => idle::run(args).await,
            HubBenchCommand::Connect(args) => connect::run(args).await,
            HubBenchCommand::Reconnect(args) => reconnect::run(args).await,
        }
    })
}

/// Opens `layout.clients` clients, the hub's `open_concurrency` at a time, each joined to its
/// channels. Returns them with their index; failures are counted in `errors`.
async fn open_clients(
    hub: &Arc<Hub>,
    layout: &HubLayoutArgs,
    errors: &Arc<Errors>,
) -> anyhow::Result<Vec<(usize, Client)>> {
    let joined = open_clients_joined(hub, layout, errors).await?;
    Ok(joined
        .into_iter()
        .map(|(index, client, _)| (index, client))
        .collect())
}

/// [`open_clients`], with what each learned on joining.
async fn open_clients_joined(
    hub: &Arc<Hub>,
    layout: &HubLayoutArgs,
    errors: &Arc<Errors>,
) -> anyhow::Result<Vec<(usize, Client, Joined)>> {
    let bar = super::counter(layout.clients as u64, "clients joined");
    let permits = Arc::new(Semaphore::new(hub.open_concurrency));
    let mut opening = JoinSet::new();
    for index in 0..layout.clients {
        let (hub, permits) = (hub.clone(), permits.clone());
        let channels = channels_of(index, layout.subs_per_client, layout.channels);
        opening.spawn(async move {
            let _permit = permits.acquire_owned().await?;
            let (client, joined) = hub.join(index, &channels, None).await?;
            anyhow::Ok((index, client, joined))
        });
    }
    let mut clients = Vec::with_capacity(layout.clients);
    while let Some(opened) = opening.join_next().await {
        match opened? {
            Ok(client) => {
                bar.inc(1);
                clients.push(client);
            }
            Err(e) => errors.add(format!("join: {e:#}")),
        }
    }
    bar.finish_and_clear();
    clients.sort_by_key(|(index, _, _)| *index);
    Ok(clients)
}
