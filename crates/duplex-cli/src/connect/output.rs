//! What `duplex connect` shows: one line per event, in the style of the mode it runs in.
//!
//! Piped output is the data alone (a received message per line) so it composes with other
//! tools; interactive output marks direction (`>` sent, `<` received) and shows control
//! frames; JSON output is one object per event for programs. The interactive sink is the line
//! editor's external printer, which prints above the prompt while the user types.

use std::cell::RefCell;
use std::io::Write as _;

use base64::Engine as _;
use duplex::handshake::Response;
use duplex::{CloseFrame, Event, Message};
use serde_json::{json, Value};

/// How events are shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// Received messages only, one per line.
    Piped,
    /// Every event with a direction mark.
    Interactive,
    /// One JSON object per event.
    Json,
}

/// Where lines go.
pub enum Sink {
    /// Standard output, flushed after every line.
    Stdout,
    /// The line editor's printer, which keeps the prompt and the typed text intact.
    Printer(Box<dyn rustyline::ExternalPrinter + Send>),
}

/// Formats events and writes them to the sink.
pub struct Output {
    style: Style,
    timestamps: bool,
    base64: bool,
    sink: RefCell<Sink>,
}

impl Output {
    /// Output in `style` to `sink`; `timestamps` prefixes lines with the time of day (UTC) and
    /// adds a `time` field to JSON; `base64` shows binary data as base64 instead of hex.
    pub fn new(style: Style, sink: Sink, timestamps: bool, base64: bool) -> Self {
        Output {
            style,
            timestamps,
            base64,
            sink: RefCell::new(sink),
        }
    }

    /// The connection is open.
    pub fn open(&self, url: &str, response: &Response) -> anyhow::Result<()> {
        match self.style {
            Style::Json => self.json(json!({
                "event": "open",
                "url": url,
                "protocol": response.protocol,
                "extensions": response.extensions,
            })),
            Style::Interactive => {
                let mut line = format!("connected to {url}");
                if let Some(protocol) = &response.protocol {
                    line.push_str(&format!(", subprotocol {protocol}"));
                }
                if !response.extensions.is_empty() {
                    line.push_str(&format!(", {}", response.extensions.join(", ")));
                }
                line.push_str(" (/help lists the commands)");
                self.line(line)
            }
            Style::Piped => Ok(()),
        }
    }

    /// We sent a message. Only shown interactively with timestamps: otherwise the line the
    /// user typed after the `> ` prompt already is the record.
    pub fn sent(&self, message: &Message) -> anyhow::Result<()> {
        if self.style == Style::Interactive && self.timestamps {
            return self.line(format!("> {}", self.message_text(message)));
        }
        Ok(())
    }

    /// A message, ping or pong arrived (closes go to [`Output::closed`]).
    pub fn received(&self, event: &Event) -> anyhow::Result<()> {
        let (kind, data) = match event {
            Event::Message(message) => return self.message(message),
            Event::Ping(data) => ("ping", data),
            Event::Pong(data) => ("pong", data),
            Event::Close(_) => return Ok(()),
        };
        match self.style {
            Style::Json => {
                let (data, encoding) = self.encode(data);
                self.json(json!({"event": kind, "data": data, "encoding": encoding}))
            }
            Style::Interactive => self.line(format!("< [{kind}] {}", self.control_text(data))),
            Style::Piped => Ok(()),
        }
    }

    /// The closing handshake is done; `ours` says who started it.
    pub fn closed(&self, frame: Option<&CloseFrame>, ours: bool) -> anyhow::Result<()> {
        match self.style {
            Style::Json => self.json(json!({
                "event": "close",
                "code": frame.map(|f| f.code.0),
                "reason": frame.map_or("", |f| f.reason.as_str()),
                "initiator": if ours { "client" } else { "server" },
            })),
            Style::Interactive => self.line(match frame {
                Some(f) if f.reason.is_empty() => format!("< [close] {}", f.code.0),
                Some(f) => format!("< [close] {} {}", f.code.0, f.reason),
                None => "< [close] (no status code)".to_owned(),
            }),
            Style::Piped => Ok(()),
        }
    }

    /// The connection failed (JSON only: people read errors on stderr).
    pub fn error(&self, error: &anyhow::Error) -> anyhow::Result<()> {
        match self.style {
            Style::Json => {
                self.json(json!({"event": "error", "message": crate::status::describe(error)}))
            }
            _ => Ok(()),
        }
    }

    /// Waits (briefly) until the line editor has printed every line given to it.
    ///
    /// The editor prints on its own thread, from a queue of one: once a second message has
    /// been handed over, the first was taken, so everything before it is on the screen. The
    /// two messages move the cursor up a line and back down, which changes nothing whether
    /// the editor or the printer (when no line is being edited) writes them.
    pub fn finish(&self) {
        const NOTHING: &str = "\x1b[1A\n";
        let sink = std::mem::replace(&mut *self.sink.borrow_mut(), Sink::Stdout);
        if let Sink::Printer(mut printer) = sink {
            let (done, finished) = std::sync::mpsc::channel();
            std::thread::spawn(move || {
                let _ = printer.print(NOTHING.into());
                let _ = printer.print(NOTHING.into());
                let _ = done.send(());
            });
            let _ = finished.recv_timeout(std::time::Duration::from_millis(500));
        }
    }

    fn message(&self, message: &Message) -> anyhow::Result<()> {
        match self.style {
            Style::Json => match message {
                Message::Text(text) => self.json(json!({
                    "event": "message", "type": "text", "data": text.as_str(),
                })),
                Message::Binary(data) => {
                    let (data, encoding) = self.encode(data);
                    self.json(json!({
                        "event": "message", "type": "binary", "data": data, "encoding": encoding,
                    }))
                }
            },
            Style::Interactive => self.line(format!("< {}", self.message_text(message))),
            Style::Piped => self.line(match message {
                Message::Text(text) => text.to_string(),
                Message::Binary(data) => self.encode(data).0,
            }),
        }
    }

    fn message_text(&self, message: &Message) -> String {
        match message {
            Message::Text(text) => text.to_string(),
            Message::Binary(data) => format!("[binary] {}", self.encode(data).0),
        }
    }

    /// Control payloads are usually short text; show them as such when they are.
    fn control_text(&self, data: &[u8]) -> String {
        match std::str::from_utf8(data) {
            Ok(text) if !text.chars().any(char::is_control) => text.to_owned(),
            _ => self.encode(data).0,
        }
    }

    fn encode(&self, data: &[u8]) -> (String, &'static str) {
        if self.base64 {
            (
                base64::engine::general_purpose::STANDARD.encode(data),
                "base64",
            )
        } else {
            (hex(data), "hex")
        }
    }

    fn json(&self, mut value: Value) -> anyhow::Result<()> {
        if self.timestamps {
            value["time"] = Value::String(now().to_string());
        }
        self.write(value.to_string())
    }

    fn line(&self, text: String) -> anyhow::Result<()> {
        if self.timestamps {
            // The time of day from the RFC 3339 form: `12:34:56.789`.
            let now = now().to_string();
            self.write(format!("{} {text}", now.get(11..23).unwrap_or(&now)))
        } else {
            self.write(text)
        }
    }

    fn write(&self, mut line: String) -> anyhow::Result<()> {
        line.push('\n');
        match &mut *self.sink.borrow_mut() {
            Sink::Stdout => {
                let mut stdout = std::io::stdout().lock();
                stdout.write_all(line.as_bytes())?;
                stdout.flush()?;
            }
            Sink::Printer(printer) => printer.print(line)?,
        }
        Ok(())
    }
}

fn now() -> humantime::Rfc3339Timestamp {
    humantime::format_rfc3339_millis(std::time::SystemTime::now())
}

/// Lowercase hex, no separators.
pub fn hex(data: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(data.len() * 2);
    for byte in data {
        text.push(DIGITS[usize::from(byte >> 4)] as char);
        text.push(DIGITS[usize::from(byte & 0xf)] as char);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_digits() {
        assert_eq!(hex(&[0x00, 0x1f, 0xab, 0xff]), "001fabff");
        assert_eq!(hex(&[]), "");
    }
}
