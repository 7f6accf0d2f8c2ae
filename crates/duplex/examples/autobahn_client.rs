//! Runs every case of an Autobahn `fuzzingserver` against the duplex client.
//!
//! ```text
//! cargo run --release -p duplex --example autobahn_client -- ws://127.0.0.1:9001 duplex
//! ```
//!
//! For each case it connects to `/runCase?case=N&agent=AGENT`, offering permessage-deflate as
//! a browser does, and echoes every message until the server closes; then it asks the server to
//! write its reports.

use duplex::{ClientBuilder, DeflateConfig, Event, Message};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let base = args.next().unwrap_or_else(|| "ws://127.0.0.1:9001".into());
    let agent = args.next().unwrap_or_else(|| "duplex".into());
    let base = base.trim_end_matches('/');

    let (mut ws, _) = duplex::connect(&format!("{base}/getCaseCount")).await?;
    let count: u32 = match ws.recv().await? {
        Some(Message::Text(text)) => text.parse()?,
        other => return Err(format!("unexpected case count answer: {other:?}").into()),
    };
    let _ = ws.recv().await;
    eprintln!("running {count} cases as {agent}");

    let client = ClientBuilder::new().deflate(DeflateConfig::default());
    for case in 1..=count {
        let url = format!("{base}/runCase?case={case}&agent={agent}");
        match client.connect(&url).await {
            Ok((ws, _)) => echo(ws).await,
            Err(e) => eprintln!("case {case}: connect failed: {e}"),
        }
        if case % 50 == 0 {
            eprintln!("{case}/{count}");
        }
    }

    let (mut ws, _) = duplex::connect(&format!("{base}/updateReports?agent={agent}")).await?;
    while ws.recv().await?.is_some() {}
    eprintln!("reports updated");
    Ok(())
}

/// Echoes until the connection ends; protocol errors are the point of many cases.
async fn echo(mut ws: duplex::WebSocket<duplex::MaybeTlsStream<tokio::net::TcpStream>>) {
    loop {
        match ws.next_event().await {
            Ok(Event::Message(message)) => {
                if ws.feed(message).await.is_err() {
                    return;
                }
            }
            Ok(Event::Close(_)) | Err(_) => return,
            Ok(Event::Ping(_) | Event::Pong(_)) => {}
        }
    }
}
