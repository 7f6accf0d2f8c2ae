//! A NATS server of the test's own: `nats-server` on a free loopback port (outside the ephemeral
//! range), stopped by its PID when dropped, and restartable on the same port to test
//! reconnection. It never touches a NATS already running on the machine.
//!
//! The binary is `$DUPLEX_NATS_SERVER`, else `nats-server` on `PATH` or in `/usr/sbin` and
//! `/usr/bin` (Debian's package). Without it, [`Nats::start`] returns `None` and the test skips
//! with a message, unless `DUPLEX_REQUIRE_NATS=1` (CI), where it fails.
//!
//! ```ignore
//! let Some(nats) = Nats::start("fan_out") else { return };
//! let engine = Engine::nats(&NatsConfig::new(nats.url())).await.unwrap();
//! ```

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long the server may take to start.
const STARTUP: Duration = Duration::from_secs(10);

/// A running (or, between [`Nats::stop`] and [`Nats::start_again`], stopped) server.
pub struct Nats {
    bin: PathBuf,
    port: u16,
    server: Option<Child>,
}

impl Nats {
    /// A server, started; `None` (after saying why) when `nats-server` is not installed and
    /// `DUPLEX_REQUIRE_NATS` is not `1`. `name` labels the messages.
    pub fn start(name: &str) -> Option<Nats> {
        let Some(bin) = binary() else {
            let message = "nats-server was not found (looked at $DUPLEX_NATS_SERVER, PATH, \
                /usr/sbin and /usr/bin); install the `nats-server` package \
                (tests/lib/setup-nats.sh does)";
            if std::env::var("DUPLEX_REQUIRE_NATS").as_deref() == Ok("1") {
                panic!("{name}: {message}");
            }
            eprintln!("SKIPPED {name}: {message}");
            return None;
        };
        let mut nats = Nats {
            bin,
            port: super::postgres::free_port(),
            server: None,
        };
        nats.start_again();
        Some(nats)
    }

    /// The URL clients connect to.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Kills the server (SIGKILL: as abrupt as a crash) and waits for it to exit.
    pub fn stop(&mut self) {
        if let Some(mut server) = self.server.take() {
            let _ = server.kill();
            let _ = server.wait();
        }
    }

    /// Starts the server again on the same port, waiting until it accepts connections.
    pub fn start_again(&mut self) {
        assert!(self.server.is_none(), "the server is running");
        let server = Command::new(&self.bin)
            .args(["-a", "127.0.0.1", "-p", &self.port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn nats-server");
        self.server = Some(server);
        let deadline = Instant::now() + STARTUP;
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "nats-server did not listen on {} within {STARTUP:?}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Nats {
    fn drop(&mut self) {
        self.stop();
    }
}

fn binary() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("DUPLEX_NATS_SERVER").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/usr/bin")])
        .map(|dir| dir.join("nats-server"))
        .find(|candidate| candidate.is_file())
}
