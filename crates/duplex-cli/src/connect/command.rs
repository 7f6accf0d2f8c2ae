//! The interactive client's input language: a line is a message unless it is a `/command`.

use base64::Engine as _;
use duplex::{Bytes, CloseCode, CloseFrame, Message};

/// The command list `/help` prints.
pub const HELP: &str = "\
commands:
  /ping [DATA]             send a ping with optional text
  /close [CODE [REASON]]   close (default 1000) and exit once the server answers
  /binary DATA             send a binary message; DATA in hex (base64 with --base64)
  /quit                    close normally and exit (also Ctrl-D, Ctrl-C)
  //TEXT                   send `/TEXT` as text
  anything else            send it as a text message (binary with --binary)";

/// What a typed line asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum Command {
    /// Send this message.
    Send(Message),
    /// Send a ping with this payload.
    Ping(Bytes),
    /// Close with this frame and exit.
    Close(CloseFrame),
    /// Show [`HELP`].
    Help,
    /// Nothing to do (an empty line).
    Nothing,
}

/// Reads one typed line. `binary` sends plain lines as binary; `base64` reads `/binary` data
/// as base64 instead of hex. Errors are messages for the user.
pub fn parse(line: &str, binary: bool, base64: bool) -> Result<Command, String> {
    if line.is_empty() {
        return Ok(Command::Nothing);
    }
    let Some(command) = line.strip_prefix('/') else {
        return Ok(Command::Send(plain(line.to_owned(), binary)));
    };
    if command.starts_with('/') {
        return Ok(Command::Send(plain(command.to_owned(), binary)));
    }
    let (name, rest) = command.split_once(' ').unwrap_or((command, ""));
    match name {
        "ping" => {
            if rest.len() > 125 {
                return Err("a ping carries at most 125 bytes".into());
            }
            Ok(Command::Ping(Bytes::copy_from_slice(rest.as_bytes())))
        }
        "close" => close(rest.trim_start()),
        "quit" | "exit" => Ok(Command::Close(CloseFrame::new(CloseCode::NORMAL, ""))),
        "binary" => decode(rest, base64).map(|data| Command::Send(Message::binary(data))),
        "help" | "?" => Ok(Command::Help),
        _ => Err(format!(
            "unknown command /{name} (/help lists them; //{name} sends `/{name}` as text)"
        )),
    }
}

fn plain(line: String, binary: bool) -> Message {
    if binary {
        Message::binary(line.into_bytes())
    } else {
        Message::text(line)
    }
}

/// `/close`, `/close 4000`, `/close 4000 some reason`.
fn close(args: &str) -> Result<Command, String> {
    if args.is_empty() {
        return Ok(Command::Close(CloseFrame::new(CloseCode::NORMAL, "")));
    }
    let (code, reason) = args.split_once(' ').unwrap_or((args, ""));
    let code = code
        .parse::<u16>()
        .ok()
        .map(CloseCode)
        .filter(|code| code.is_sendable())
        .ok_or_else(|| {
            format!("{code} cannot be sent as a close code (1000-1003, 1007-1014, 3000-4999)")
        })?;
    if reason.len() > 123 {
        return Err("a close reason has at most 123 bytes".into());
    }
    Ok(Command::Close(CloseFrame::new(code, reason)))
}

/// Hex (spaces allowed between bytes) or base64.
fn decode(data: &str, base64: bool) -> Result<Vec<u8>, String> {
    if base64 {
        return base64::engine::general_purpose::STANDARD
            .decode(data.trim())
            .map_err(|e| format!("invalid base64: {e}"));
    }
    let digits: Vec<u8> = data.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if digits.len() % 2 != 0 {
        return Err("hex data needs two digits per byte".into());
    }
    digits
        .chunks(2)
        .map(|pair| {
            std::str::from_utf8(pair)
                .ok()
                .and_then(|pair| u8::from_str_radix(pair, 16).ok())
                .ok_or_else(|| format!("invalid hex {:?}", String::from_utf8_lossy(pair)))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(line: &str) -> Command {
        parse(line, false, false).unwrap()
    }

    #[test]
    fn messages() {
        assert_eq!(ok("hello"), Command::Send(Message::text("hello")));
        assert_eq!(ok("//ping"), Command::Send(Message::text("/ping")));
        assert_eq!(ok(""), Command::Nothing);
        assert_eq!(
            parse("hi", true, false),
            Ok(Command::Send(Message::binary(b"hi".to_vec())))
        );
    }

    #[test]
    fn commands() {
        assert_eq!(ok("/ping"), Command::Ping(Bytes::new()));
        assert_eq!(ok("/ping a b"), Command::Ping(Bytes::from_static(b"a b")));
        assert_eq!(ok("/close"), Command::Close(CloseFrame::new(1000, "")));
        assert_eq!(
            ok("/close 4000 bye now"),
            Command::Close(CloseFrame::new(4000, "bye now"))
        );
        assert_eq!(ok("/quit"), Command::Close(CloseFrame::new(1000, "")));
        assert_eq!(ok("/help"), Command::Help);
        assert!(parse("/close 1006", false, false).is_err());
        assert!(parse("/close soon", false, false).is_err());
        assert!(parse("/nope", false, false).is_err());
    }

    #[test]
    fn binary_data() {
        assert_eq!(
            ok("/binary 00ff 10"),
            Command::Send(Message::binary(vec![0, 0xff, 0x10]))
        );
        assert_eq!(
            parse("/binary AP8Q", false, true),
            Ok(Command::Send(Message::binary(vec![0, 0xff, 0x10])))
        );
        assert!(parse("/binary abc", false, false).is_err());
        assert!(parse("/binary zz", false, false).is_err());
    }
}
