//! Helpers for driving the built `duplex` binary: an echo server on a free port, and runs
//! of `duplex` with input, a time limit and captured output.

#![allow(dead_code)] // each test file uses its own part of this

pub mod served;

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// The binary under test.
pub fn duplex() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_duplex"));
    // Loopback servers only: a proxy from the environment must not interfere.
    for name in ["http_proxy", "https_proxy", "all_proxy"] {
        command.env_remove(name).env_remove(name.to_uppercase());
    }
    command
}

/// A running `duplex echo` on a free port, stopped on drop.
pub struct Echo {
    child: Child,
    /// `ws://127.0.0.1:PORT` (or `wss://`).
    pub url: String,
}

impl Echo {
    /// Starts `duplex echo --listen 127.0.0.1:0` with extra arguments.
    pub fn start(extra: &[&str]) -> Echo {
        Echo::start_server("echo", extra)
    }

    /// Starts `duplex SUBCOMMAND --listen 127.0.0.1:0` (echo or relay) with extra arguments.
    pub fn start_server(subcommand: &str, extra: &[&str]) -> Echo {
        let mut child = duplex()
            .args([subcommand, "--listen", "127.0.0.1:0"])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start duplex echo");
        let mut lines = BufReader::new(child.stderr.take().expect("piped stderr")).lines();
        let url = loop {
            let line = lines
                .next()
                .expect("duplex echo exited before listening")
                .expect("read duplex echo's log");
            if let Some(at) = line.find(" on ws") {
                break line[at + " on ".len()..].trim().to_owned();
            }
        };
        // Keep reading its log so that it never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Echo { child, url }
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits up to `limit` for the server to exit by itself; its status, if it did.
    pub fn wait(&mut self, limit: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + limit;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Echo {
    /// Ctrl-C, as a user would: SIGINT to the server.
    pub fn interrupt(&self) {
        // SAFETY: signalling the child we started, by its id.
        assert_eq!(unsafe { libc::kill(self.pid() as i32, libc::SIGINT) }, 0);
    }

    /// After [`Echo::interrupt`]: the server exits by itself, with 0, within 10 s.
    pub fn expect_clean_exit(&mut self) {
        let status = self.wait(Duration::from_secs(10));
        assert_eq!(
            status.and_then(|s| s.code()),
            Some(0),
            "the server exits with 0"
        );
    }
}

/// Runs a future (a test's clients, a test server) on a current-thread runtime of its own.
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
        .block_on(future)
}

/// Every client gets the server's 1001 close (a graceful shutdown) within 10 s.
pub async fn expect_going_away<S>(clients: &mut [duplex::WebSocket<S>])
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    for (i, ws) in clients.iter_mut().enumerate() {
        match tokio::time::timeout(Duration::from_secs(10), ws.next_event()).await {
            Ok(Ok(duplex::Event::Close(Some(frame)))) => {
                assert_eq!(frame.code, duplex::CloseCode::GOING_AWAY, "connection {i}");
            }
            other => panic!("connection {i}: expected a 1001 close, got {other:?}"),
        }
    }
}

impl Drop for Echo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What a finished run printed.
#[derive(Debug)]
pub struct Run {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// The exit code (panics if a signal ended the process).
    pub fn code(&self) -> i32 {
        self.status.code().expect("exited with a code")
    }

    /// Stdout lines parsed as JSON.
    pub fn json_lines(&self) -> Vec<serde_json::Value> {
        self.stdout
            .lines()
            .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{line:?}: {e}")))
            .collect()
    }
}

/// Runs `duplex ARGS` with `input` on stdin, then the end of input; fails the test after
/// `limit`.
pub fn run(args: &[&str], input: &str, limit: Duration) -> Run {
    run_with(args, input, false, limit)
}

/// Like [`run`], but the input stays open after `input`: duplex does not close first.
pub fn run_open(args: &[&str], input: &str, limit: Duration) -> Run {
    run_with(args, input, true, limit)
}

fn run_with(args: &[&str], input: &str, keep_open: bool, limit: Duration) -> Run {
    let mut child = duplex()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start duplex");
    let mut stdin = child.stdin.take().expect("piped stdin");
    let input = input.to_owned();
    std::thread::spawn(move || {
        let _ = stdin.write_all(input.as_bytes());
        if keep_open {
            std::thread::sleep(limit);
        }
    });
    let stdout = read_all(child.stdout.take().expect("piped stdout"));
    let stderr = read_all(child.stderr.take().expect("piped stderr"));
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for duplex") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "duplex {args:?} still running after {limit:?}; stderr: {}",
                stderr.join().unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let run = Run {
        status,
        stdout: stdout.join().expect("stdout reader"),
        stderr: stderr.join().expect("stderr reader"),
    };
    eprintln!("duplex {args:?}: {run:#?}");
    run
}

fn read_all(mut from: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut text = String::new();
        let _ = from.read_to_string(&mut text);
        text
    })
}

/// A short limit for runs that should end at once.
pub const QUICK: Duration = Duration::from_secs(20);

/// Runs a server the test writes itself: `serve` gets a listener on a free loopback port and
/// runs on its own thread and single-threaded runtime (so it outlives nothing but the test
/// process). Returns the `ws://127.0.0.1:PORT/` URL.
pub fn serve_in_thread<F, Fut>(serve: F) -> String
where
    F: FnOnce(tokio::net::TcpListener) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + 'static,
{
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    let url = format!("ws://{}/", listener.local_addr().expect("local address"));
    std::thread::spawn(move || {
        block_on(async move {
            listener
                .set_nonblocking(true)
                .expect("non-blocking listener");
            serve(tokio::net::TcpListener::from_std(listener).expect("tokio listener")).await;
        });
    });
    url
}
