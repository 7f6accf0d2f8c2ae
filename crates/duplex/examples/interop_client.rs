//! Checks the duplex client against an echo server someone else wrote.
//!
//! ```text
//! cargo run --release -p duplex --example interop_client -- ws://127.0.0.1:8765
//! ```
//!
//! The server must echo text and binary messages, choose the first subprotocol the client
//! offers among `chat` and `superchat`, and answer a close with the same code and reason. Exits
//! non-zero with the first mismatch.

use duplex::{Bytes, ClientBuilder, CloseCode, Message};

type Outcome = Result<(), String>;

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    let url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "ws://127.0.0.1:8765".into());
    let checks: [(&str, Outcome); 5] = [
        ("text messages", text_messages(&url).await),
        ("binary messages", binary_messages(&url).await),
        ("burst of 1000 in order", burst(&url).await),
        ("subprotocol choice", subprotocols(&url).await),
        ("close code and reason", close(&url).await),
    ];
    let mut failed = 0;
    for (name, outcome) in &checks {
        match outcome {
            Ok(()) => println!("ok   {name}"),
            Err(why) => {
                failed += 1;
                println!("FAIL {name}: {why}");
            }
        }
    }
    println!(
        "interop_client: {} passed, {failed} failed",
        checks.len() - failed
    );
    if failed == 0 {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::FAILURE
    }
}

async fn open(
    url: &str,
) -> Result<duplex::WebSocket<duplex::MaybeTlsStream<tokio::net::TcpStream>>, String> {
    ClientBuilder::new()
        .connect(url)
        .await
        .map(|(ws, _)| ws)
        .map_err(|e| format!("connect: {e}"))
}

async fn round_trip(
    ws: &mut duplex::WebSocket<duplex::MaybeTlsStream<tokio::net::TcpStream>>,
    sent: Message,
) -> Outcome {
    ws.send(sent.clone())
        .await
        .map_err(|e| format!("send: {e}"))?;
    match ws.recv().await {
        Ok(Some(got)) if got == sent => Ok(()),
        Ok(Some(got)) => Err(format!(
            "sent {} bytes ({}), got {} bytes ({})",
            sent.len(),
            kind(&sent),
            got.len(),
            kind(&got)
        )),
        Ok(None) => Err("closed instead of echoing".into()),
        Err(e) => Err(format!("recv: {e}")),
    }
}

fn kind(m: &Message) -> &'static str {
    if m.is_text() {
        "text"
    } else {
        "binary"
    }
}

async fn text_messages(url: &str) -> Outcome {
    let mut ws = open(url).await?;
    let mut texts = vec![String::new(), "héllo wörld ✓ 😀 日本語".to_owned()];
    for len in [125, 126, 65535, 65536, 1 << 20] {
        texts.push((0..len).map(|i| (b'a' + (i % 26) as u8) as char).collect());
    }
    for text in texts {
        round_trip(&mut ws, Message::text(text)).await?;
    }
    ws.close(CloseCode::NORMAL, "")
        .await
        .map_err(|e| format!("close: {e}"))
}

async fn binary_messages(url: &str) -> Outcome {
    let mut ws = open(url).await?;
    let mut state = 0x2545_f491_4f6c_dd1du64;
    for len in [0usize, 1, 125, 126, 65536, 1 << 20] {
        let data: Vec<u8> = (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect();
        round_trip(&mut ws, Message::Binary(Bytes::from(data))).await?;
    }
    ws.close(CloseCode::NORMAL, "")
        .await
        .map_err(|e| format!("close: {e}"))
}

async fn burst(url: &str) -> Outcome {
    let mut ws = open(url).await?;
    for i in 0..1000 {
        ws.feed(Message::text(format!("message {i}")))
            .await
            .map_err(|e| format!("feed: {e}"))?;
    }
    ws.flush().await.map_err(|e| format!("flush: {e}"))?;
    for i in 0..1000 {
        let expected = format!("message {i}");
        match ws.recv().await {
            Ok(Some(m)) if m.as_text() == Some(expected.as_str()) => {}
            other => return Err(format!("expected {expected:?}, got {other:?}")),
        }
    }
    ws.close(CloseCode::NORMAL, "")
        .await
        .map_err(|e| format!("close: {e}"))
}

async fn subprotocols(url: &str) -> Outcome {
    for (offered, expected) in [
        (&["superchat", "chat"][..], "superchat"),
        (&["chat"][..], "chat"),
    ] {
        let mut builder = ClientBuilder::new();
        for p in offered {
            builder = builder.protocol(*p);
        }
        let (mut ws, response) = builder
            .connect(url)
            .await
            .map_err(|e| format!("connect: {e}"))?;
        if response.protocol.as_deref() != Some(expected) || ws.protocol() != Some(expected) {
            return Err(format!(
                "offered {offered:?}, expected {expected:?}, got {:?}",
                response.protocol
            ));
        }
        ws.close(CloseCode::NORMAL, "")
            .await
            .map_err(|e| format!("close: {e}"))?;
    }
    Ok(())
}

async fn close(url: &str) -> Outcome {
    let mut ws = open(url).await?;
    ws.close(4000u16, "bye ✓")
        .await
        .map_err(|e| format!("close: {e}"))?;
    match ws.close_frame() {
        Some(frame) if frame.code == CloseCode(4000) && frame.reason == "bye ✓" => Ok(()),
        other => Err(format!(
            "expected the server to answer 4000 \"bye ✓\", got {other:?}"
        )),
    }
}
