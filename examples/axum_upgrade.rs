//! A WebSocket inside an axum app: one listener serves an HTML page at `/` and a WebSocket echo
//! at `/ws`, the way most applications deploy (pages, REST and push on the same port).
//!
//! ```text
//! cargo run -p duplex-examples --example axum_upgrade -- 127.0.0.1:3000
//! ```
//!
//! Then open <http://127.0.0.1:3000/>: the page connects to `/ws`, sends a message and shows the
//! echo; the form sends more.

use axum::response::{Html, Response};
use axum::routing::get;
use axum::Router;
use duplex::axum::WebSocketUpgrade;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3000".into());
    let app = Router::new()
        .route("/", get(|| async { Html(PAGE) }))
        .route("/ws", get(echo));
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await
}

/// Upgrades the request (a refusal, such as 426 for a plain GET, is answered by the extractor)
/// and echoes every message back.
async fn echo(upgrade: WebSocketUpgrade) -> Response {
    // The page offers the `echo` subprotocol; browsers want an offered subprotocol selected.
    upgrade.protocols(["echo"]).on_upgrade(|mut ws| async move {
        loop {
            match ws.recv().await {
                Ok(Some(message)) => {
                    if let Err(e) = ws.send(message).await {
                        return eprintln!("echo: {e}");
                    }
                }
                Ok(None) => return println!("closed: {:?}", ws.close_frame()),
                Err(e) => return eprintln!("echo: {e}"),
            }
        }
    })
}

/// The page: connects to `/ws` on the same host and port, sends a message, lists the echoes.
const PAGE: &str = r#"<!doctype html>
<html lang="en">
<meta charset="utf-8">
<link rel="icon" href="data:,">
<title>duplex inside axum</title>
<h1>duplex inside axum</h1>
<p>This page and the WebSocket at <code>/ws</code> come from the same port.</p>
<form id="form"><input id="text" value="hello again" autocomplete="off"> <button>send</button></form>
<p id="status">connecting…</p>
<ul id="log"></ul>
<script>
  const status = document.getElementById('status');
  const log = document.getElementById('log');
  const show = (line) => {
    const item = document.createElement('li');
    item.textContent = line;
    log.append(item);
  };
  const url = new URL('/ws', location.href);
  url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const ws = new WebSocket(url, ['echo']);
  const send = (text) => {
    ws.send(text);
    show(`sent: ${text}`);
  };
  ws.onopen = () => {
    status.textContent = `open, subprotocol ${ws.protocol || '(none)'}`;
    send('hello from the browser ✓');
  };
  ws.onmessage = (event) => show(`echo: ${event.data}`);
  ws.onerror = () => { status.textContent = 'error (see the console)'; };
  ws.onclose = (event) => { status.textContent = `closed: ${event.code} ${event.reason}`; };
  document.getElementById('form').addEventListener('submit', (event) => {
    event.preventDefault();
    send(document.getElementById('text').value);
  });
</script>
</html>
"#;
