//! Interactive mode: a line editor with history; received events print above the prompt.
//!
//! The editor runs on its own thread and turns typed lines into [`Input`]s. It cannot be
//! interrupted while it waits for a key, so when the server ends the connection we put the
//! terminal back into the mode we found it in ourselves and leave without it.

use rustyline::error::ReadlineError;
use tokio::sync::mpsc;

use super::command::{self, Command, HELP};
use super::output::{Output, Sink, Style};
use super::Input;
use crate::args::ConnectArgs;

/// Connects, then runs the editor until either side closes.
pub fn run(runtime: &tokio::runtime::Runtime, args: &ConnectArgs) -> anyhow::Result<()> {
    let (ws, response) = runtime.block_on(super::open(args))?;
    let terminal = Terminal::save();
    let mut editor = rustyline::DefaultEditor::with_config(
        rustyline::Config::builder().auto_add_history(true).build(),
    )?;
    let printer = editor.create_external_printer()?;
    let out = Output::new(
        Style::Interactive,
        Sink::Printer(Box::new(printer)),
        args.timestamps,
        args.base64,
    );
    out.open(&args.url, &response)?;
    let (inputs, received) = mpsc::channel(16);
    let (binary, base64) = (args.binary, args.base64);
    std::thread::Builder::new()
        .name("editor".into())
        .spawn(move || edit(editor, &inputs, binary, base64))?;
    let timing = super::Timing {
        ping_interval: args.ping_interval,
        linger: std::time::Duration::ZERO,
    };
    let result = runtime.block_on(super::session(ws, received, &out, timing));
    terminal.restore();
    result
}

/// Reads lines until the user closes (or the session ends and nobody listens any more).
fn edit(
    mut editor: rustyline::DefaultEditor,
    inputs: &mpsc::Sender<Input>,
    binary: bool,
    base64: bool,
) {
    loop {
        let input = match editor.readline("> ") {
            Ok(line) => match command::parse(&line, binary, base64) {
                Ok(Command::Send(message)) => Input::Message(message),
                Ok(Command::Ping(data)) => Input::Ping(data),
                Ok(Command::Close(frame)) => Input::Close(frame),
                Ok(Command::Help) => {
                    println!("{HELP}");
                    continue;
                }
                Ok(Command::Nothing) => continue,
                Err(message) => {
                    eprintln!("duplex: {message}");
                    continue;
                }
            },
            Err(ReadlineError::Eof | ReadlineError::Interrupted) => {
                Input::Close(duplex::CloseFrame::new(duplex::CloseCode::NORMAL, ""))
            }
            Err(e) => Input::Failed(anyhow::Error::new(e).context("line editor failed")),
        };
        let last = matches!(input, Input::Close(_) | Input::Failed(_));
        if inputs.blocking_send(input).is_err() || last {
            return;
        }
    }
}

/// The terminal's settings when we started, to restore when the editor cannot.
struct Terminal(Option<libc::termios>);

impl Terminal {
    fn save() -> Self {
        let mut termios = std::mem::MaybeUninit::<libc::termios>::uninit();
        // SAFETY: tcgetattr fills the struct when it returns 0; we read it only then.
        let saved = unsafe {
            (libc::tcgetattr(libc::STDIN_FILENO, termios.as_mut_ptr()) == 0)
                .then(|| termios.assume_init())
        };
        Terminal(saved)
    }

    /// Puts the settings back and clears the line the prompt was on.
    fn restore(&self) {
        use std::io::Write as _;
        if let Some(termios) = &self.0 {
            // SAFETY: a valid termios from tcgetattr, for the same file descriptor.
            unsafe { libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, termios) };
        }
        let mut stdout = std::io::stdout();
        let _ = stdout.write_all(b"\r\x1b[2K");
        let _ = stdout.flush();
    }
}
