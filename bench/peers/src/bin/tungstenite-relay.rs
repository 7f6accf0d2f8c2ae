//! tokio-tungstenite broadcast server, set up as its `examples/server.rs`: a map of peers to
//! unbounded channels; every text or binary message one peer sends is cloned into every other
//! peer's channel, and each connection forwards its channel to its socket. Current-thread
//! runtime, like the echo server. Used for the broadcast scenarios (g1, g2) of bench/run.py.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use futures_channel::mpsc::{unbounded, UnboundedSender};
use futures_util::{future, pin_mut, StreamExt, TryStreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::Message;

const NAME: &str = "tungstenite-relay";

type PeerMap = Arc<Mutex<HashMap<SocketAddr, UnboundedSender<Message>>>>;

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let addr = duplex_bench_peers::listen_addr(NAME);
    let listener = TcpListener::bind(addr).await?;
    duplex_bench_peers::announce(NAME, &listener);
    let peers = PeerMap::default();
    loop {
        match listener.accept().await {
            Ok((stream, addr)) => {
                tokio::spawn(handle_connection(peers.clone(), stream, addr));
            }
            Err(err) => {
                eprintln!("{NAME}: accept: {err}");
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
        }
    }
}

async fn handle_connection(peers: PeerMap, stream: TcpStream, addr: SocketAddr) {
    let Ok(ws_stream) = tokio_tungstenite::accept_async(stream).await else { return };
    let (tx, rx) = unbounded();
    peers.lock().unwrap_or_else(|p| p.into_inner()).insert(addr, tx);
    let (outgoing, incoming) = ws_stream.split();
    let broadcast_incoming = incoming.try_for_each(|msg| {
        if msg.is_text() || msg.is_binary() {
            let peers = peers.lock().unwrap_or_else(|p| p.into_inner());
            for (_, recipient) in peers.iter().filter(|(peer, _)| **peer != addr) {
                let _ = recipient.unbounded_send(msg.clone());
            }
        }
        future::ok(())
    });
    let receive_from_others = rx.map(Ok).forward(outgoing);
    pin_mut!(broadcast_incoming, receive_from_others);
    future::select(broadcast_incoming, receive_from_others).await;
    peers.lock().unwrap_or_else(|p| p.into_inner()).remove(&addr);
}
