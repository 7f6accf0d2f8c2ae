//! A Redis server of the test's own: `redis-server` on a free loopback port outside the
//! ephemeral range, with no persistence (`--save "" --appendonly no`) and its folder in a
//! temporary directory, stopped by its PID when dropped. It never touches a Redis already
//! running on the machine.
//!
//! The binary is `$DUPLEX_REDIS_SERVER`, else `redis-server` (or `valkey-server`) on `PATH` or in
//! /usr/bin. Without it, [`Redis::start`] returns `None` and the test skips with a message,
//! unless `DUPLEX_REQUIRE_REDIS=1` (CI), where it fails.
//!
//! Servers are spawned from one long-lived thread with `PR_SET_PDEATHSIG`, so a test binary
//! that ends without dropping a server (a shared one in a static, a panic) takes it along
//! instead of leaving it running.
//!
//! ```ignore
//! let Some(redis) = Redis::start("presence_shared") else { return };
//! let engine = Engine::redis(RedisConfig::new([redis.address()])).await.unwrap();
//! ```

use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// How long the server may take to start or to stop.
const STARTUP: Duration = Duration::from_secs(10);

/// A running (or stopped, between [`Redis::stop`] and [`Redis::start_again`]) server.
pub struct Redis {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
    server: Option<Child>,
}

impl Redis {
    /// A new server, started; `None` (after saying why) when redis-server is not installed and
    /// `DUPLEX_REQUIRE_REDIS` is not `1`. `name` labels the messages.
    pub fn start(name: &str) -> Option<Redis> {
        let Some(bin) = binary() else {
            let message = "redis-server was not found (looked at $DUPLEX_REDIS_SERVER, PATH and \
                /usr/bin); install the `redis-server` package (tests/lib/setup-redis.sh does)";
            if std::env::var("DUPLEX_REQUIRE_REDIS").as_deref() == Ok("1") {
                panic!("{name}: {message}");
            }
            eprintln!("SKIPPED {name}: {message}");
            return None;
        };
        let dir = tempfile::Builder::new()
            .prefix("duplex-redis-")
            .tempdir()
            .expect("temporary folder");
        let mut redis = Redis {
            dir,
            bin,
            port: super::postgres::free_port(),
            server: None,
        };
        redis.start_again();
        Some(redis)
    }

    /// A server shared by every test of this binary, started on first use and stopped when the
    /// binary exits; `None` as [`start`](Self::start).
    pub fn shared(slot: &'static OnceLock<Option<Redis>>, name: &str) -> Option<&'static Redis> {
        slot.get_or_init(|| Redis::start(name)).as_ref()
    }

    /// `redis://127.0.0.1:<port>`.
    pub fn address(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// The TCP port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops the server (SIGTERM: without persistence, everything in it is gone) and waits
    /// for it to exit.
    pub fn stop(&mut self) {
        let Some(mut server) = self.server.take() else {
            return;
        };
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(server.id().to_string())
            .status();
        let deadline = Instant::now() + STARTUP;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = server.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = server.kill();
        let _ = server.wait();
    }

    /// Starts the server again on the same port, empty, and waits until it answers PING.
    pub fn start_again(&mut self) {
        assert!(self.server.is_none(), "already running");
        let mut command = Command::new(&self.bin);
        command
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(self.dir.path())
            .args(["--loglevel", "warning"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        self.server = Some(spawn(command));
        let deadline = Instant::now() + STARTUP;
        while Instant::now() < deadline {
            if self.answers_ping() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("redis-server on port {} did not start", self.port);
    }

    fn answers_ping(&self) -> bool {
        let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
        let mut reply = [0u8; 7];
        stream.write_all(b"PING\r\n").is_ok()
            && stream.read_exact(&mut reply).is_ok()
            && &reply == b"+PONG\r\n"
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The server binary.
fn binary() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("DUPLEX_REDIS_SERVER").map(PathBuf::from) {
        return path.is_file().then_some(path);
    }
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect())
        .unwrap_or_default();
    dirs.push(PathBuf::from("/usr/bin"));
    ["redis-server", "valkey-server"]
        .iter()
        .flat_map(|name| dirs.iter().map(move |dir| dir.join(name)))
        .find(|path| path.is_file())
}

type SpawnRequest = (Command, mpsc::Sender<std::io::Result<Child>>);

/// Spawns on a thread that lives as long as the test binary: the kernel's parent-death signal
/// follows the thread that forked, so servers die with the binary, not with the test thread.
fn spawn(command: Command) -> Child {
    static SPAWNER: OnceLock<Mutex<mpsc::Sender<SpawnRequest>>> = OnceLock::new();
    let spawner = SPAWNER.get_or_init(|| {
        let (requests, inbox) = mpsc::channel::<SpawnRequest>();
        std::thread::spawn(move || {
            for (mut command, reply) in inbox {
                // SAFETY: prctl is async-signal-safe and touches no memory of the parent.
                unsafe {
                    command.pre_exec(|| {
                        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                        Ok(())
                    });
                }
                let _ = reply.send(command.spawn());
            }
        });
        Mutex::new(requests)
    });
    let (reply, answer) = mpsc::channel();
    spawner
        .lock()
        .unwrap()
        .send((command, reply))
        .expect("spawner thread");
    answer
        .recv()
        .expect("spawner thread")
        .expect("start redis-server")
}
