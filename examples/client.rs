//! A line-based client: each line typed is sent as a text message; each message received is
//! printed. Ctrl-D closes the connection with 1000.
//!
//! ```text
//! cargo run -p duplex-examples --example client -- ws://127.0.0.1:9001
//! cargo run -p duplex-examples --example client -- wss://127.0.0.1:9443 ca.pem
//! ```
//!
//! An optional second argument is a PEM file of CA certificates to trust for `wss://`, besides
//! the built-in web PKI roots.

use duplex::{CloseCode, Event};
use tokio::io::{AsyncBufReadExt, BufReader};

#[tokio::main]
async fn main() -> Result<(), duplex::Error> {
    let url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "ws://127.0.0.1:9001".into());
    let mut client = duplex::ClientBuilder::new();
    if let Some(ca) = std::env::args().nth(2) {
        client = client.add_root_certificates_pem_file(ca)?;
    }
    let (ws, response) = client.connect(&url).await?;
    eprintln!("connected to {url} (subprotocol {:?})", response.protocol);
    let (mut reader, mut writer) = ws.split();

    let printer = tokio::spawn(async move {
        loop {
            match reader.next_event().await {
                Ok(Event::Message(m)) => println!("< {}", m.as_text().unwrap_or("<binary>")),
                Ok(Event::Close(frame)) => return eprintln!("closed: {frame:?}"),
                Ok(_) => {}
                Err(e) => return eprintln!("error: {e}"),
            }
        }
    });

    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    while let Some(line) = lines.next_line().await? {
        writer.send(line).await?;
    }
    writer.close(CloseCode::NORMAL, "").await?;
    let _ = printer.await;
    Ok(())
}
