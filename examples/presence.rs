//! A lobby on `duplex::event_loop`: one thread holds every connection, each costing about
//! 250 bytes while idle, and every client hears who comes, who goes and what others say.
//!
//! The application is three callbacks; `on_close` reaches the remaining connections through
//! `Sockets`, so departures are announced as arrivals are. A message is encoded once (`PreparedFrame`) and the
//! same bytes are queued on every other connection; a client that stops reading is closed
//! with 1008 once `Options::max_buffered` bytes wait for it, instead of slowing the rest.
//!
//! ```text
//! cargo run -p duplex-examples --example presence -- 127.0.0.1:9003
//! duplex connect ws://127.0.0.1:9003     # in two terminals; type in one
//! ```

use std::collections::HashMap;
use std::time::Duration;

use duplex::event_loop::{EventLoop, Handler, Socket, SocketId, Sockets};
use duplex::{CloseFrame, Message, Options, PreparedFrame, ServerBuilder};

/// Who is here, by connection.
struct Lobby {
    names: HashMap<SocketId, String>,
}

impl Handler for Lobby {
    fn on_open(&mut self, socket: &mut Socket<'_>) {
        let name = match socket.peer_addr() {
            Ok(addr) => format!("guest@{addr}"),
            Err(_) => format!("guest{}", socket.id()),
        };
        let _ = socket.send(format!("welcome, {name}; {} here", self.names.len() + 1));
        socket.broadcast(&PreparedFrame::new(&Message::text(format!(
            "{name} joined"
        ))));
        self.names.insert(socket.id(), name);
    }

    fn on_message(&mut self, socket: &mut Socket<'_>, message: Message) {
        let Some(text) = message.as_text() else {
            return; // a lobby speaks text
        };
        let name = &self.names[&socket.id()];
        let line = Message::text(format!("{name}: {text}"));
        socket.broadcast(&PreparedFrame::new(&line));
    }

    fn on_close(
        &mut self,
        sockets: &mut Sockets<'_>,
        id: SocketId,
        _end: Result<Option<CloseFrame>, duplex::Error>,
    ) {
        if let Some(name) = self.names.remove(&id) {
            let left = format!("{name} left; {} here", self.names.len());
            sockets.broadcast(&PreparedFrame::new(&Message::text(left)));
        }
    }
}

fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9003".into());
    let server = ServerBuilder::new().options(
        Options::default()
            .ping_interval(Some(Duration::from_secs(20)))
            .max_buffered(256 * 1024),
    );
    let event_loop = EventLoop::bind(
        addr.parse().expect("an address such as 127.0.0.1:9003"),
        server,
    )?;
    println!("lobby on ws://{}", event_loop.local_addr()?);
    event_loop.run(&mut Lobby {
        names: HashMap::new(),
    })
}
