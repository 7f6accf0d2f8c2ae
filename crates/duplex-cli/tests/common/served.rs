//! A running `duplex serve` on a free loopback port, as an operator runs it (the `Served` of
//! tests/serve.rs, shared), and a plain HTTP/1.1 request to it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::duplex;

/// A running `duplex serve`, killed on drop if still running.
pub struct Served {
    child: Child,
    pub addr: SocketAddr,
    /// Everything it printed on stderr so far.
    stderr: Arc<Mutex<String>>,
    /// Its SQLite data folder (the default engine), removed after the test.
    _data: Option<tempfile::TempDir>,
}

impl Served {
    /// `duplex serve --address 127.0.0.1 --port 0 ARGS`, once it listens.
    pub fn start(args: &[&str]) -> Served {
        let data = tempfile::tempdir().expect("data folder");
        let mut command = duplex();
        command.args([
            "serve",
            "--address",
            "127.0.0.1",
            "--port",
            "0",
            "--data-dir",
        ]);
        command.arg(data.path());
        command.args(args);
        let mut served = Served::spawn(command);
        served._data = Some(data);
        served
    }

    /// Starts `command` and waits for its listening line, plain or JSON.
    pub fn spawn(mut command: Command) -> Served {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start duplex serve");
        let mut lines = BufReader::new(child.stderr.take().expect("piped stderr")).lines();
        let stderr = Arc::new(Mutex::new(String::new()));
        let addr = loop {
            let Some(Ok(line)) = lines.next() else {
                let _ = child.wait();
                panic!(
                    "duplex serve exited before listening: {}",
                    stderr.lock().unwrap()
                );
            };
            stderr.lock().unwrap().push_str(&format!("{line}\n"));
            if let Some(addr) = listening_address(&line) {
                break addr;
            }
        };
        // Keep reading, so that it never blocks on a full pipe and the test sees all of it.
        let log = stderr.clone();
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                log.lock().unwrap().push_str(&format!("{line}\n"));
            }
        });
        Served {
            child,
            addr,
            stderr,
            _data: None,
        }
    }

    /// The WebSocket endpoint.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn url(&self) -> String {
        format!("ws://{}/connection/websocket", self.addr)
    }

    /// The HTTP address (the server API is under /api).
    pub fn http_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Sends `signal` (SIGTERM, SIGINT) to the server.
    pub fn signal(&self, signal: i32) {
        // SAFETY: signalling the child we started, by its id.
        assert_eq!(unsafe { libc::kill(self.child.id() as i32, signal) }, 0);
    }

    /// Waits up to `limit` for the server to exit; its exit code and how long it took.
    pub fn exit_within(&mut self, limit: Duration) -> (Option<i32>, Duration) {
        let started = Instant::now();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return (status.code(), started.elapsed());
            }
            assert!(
                started.elapsed() < limit,
                "duplex serve still running after {limit:?}; stderr:\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The address in `duplex serve: listening on ADDR`, or in the JSON event's `address` field.
pub fn listening_address(line: &str) -> Option<SocketAddr> {
    if let Some(rest) = line.strip_prefix("duplex serve: listening on ") {
        return rest.trim().parse().ok();
    }
    let event: Value = serde_json::from_str(line).ok()?;
    event["fields"]["address"].as_str()?.parse().ok()
}

/// A plain HTTP/1.1 request; the status code and the body.
pub fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[&str],
    body: &str,
) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).expect("connect for HTTP");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("read timeout");
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for header in headers {
        request.push_str(&format!("{header}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes()).expect("send request");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read response");
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP response: {response:?}"));
    let body = response.split_once("\r\n\r\n").map_or("", |(_, body)| body);
    (status, body.to_owned())
}
