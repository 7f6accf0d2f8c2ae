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
    /// Started as a Redis Cluster node (its node id and slots kept in the folder, so a restart
    /// rejoins the cluster, empty).
    cluster_node: bool,
}

impl Redis {
    /// A new server, started; `None` (after saying why) when redis-server is not installed and
    /// `DUPLEX_REQUIRE_REDIS` is not `1`. `name` labels the messages.
    pub fn start(name: &str) -> Option<Redis> {
        Redis::start_as(name, false)
    }

    fn start_as(name: &str, cluster_node: bool) -> Option<Redis> {
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
            port: if cluster_node {
                cluster_port()
            } else {
                super::postgres::free_port()
            },
            server: None,
            cluster_node,
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
            .args(["--loglevel", "warning"]);
        if self.cluster_node {
            command
                .args(["--cluster-enabled", "yes"])
                .args(["--cluster-config-file", "nodes.conf"])
                .args(["--cluster-node-timeout", "2000"]);
        }
        command
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

    /// A synchronous client, for the test's own commands.
    pub fn client(&self) -> redis::Connection {
        redis::Client::open(self.address())
            .and_then(|client| client.get_connection())
            .expect("connect to the test's redis-server")
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

/// A Redis Cluster of the test's own: three primaries (no replicas) on free ports, the 16,384
/// slots split evenly, formed with CLUSTER ADDSLOTS and MEET (no redis-cli needed).
///
/// ```ignore
/// let Some(cluster) = RedisCluster::start("contract") else { return };
/// let engine = Engine::redis(RedisConfig::cluster(cluster.seeds())).await.unwrap();
/// ```
pub struct RedisCluster {
    /// The primaries; stop and start one to take its slots away and give them back, empty.
    pub nodes: Vec<Redis>,
}

impl RedisCluster {
    /// A formed cluster whose state is `ok` on every node; `None` as [`Redis::start`].
    pub fn start(name: &str) -> Option<RedisCluster> {
        const SLOTS: u16 = 16_384;
        let mut nodes = Vec::new();
        for _ in 0..3 {
            nodes.push(Redis::start_as(name, true)?);
        }
        let share = SLOTS / 3 + 1;
        for (index, node) in nodes.iter().enumerate() {
            let first = share * index as u16;
            let last = (first + share).min(SLOTS);
            let mut add = redis::cmd("CLUSTER");
            add.arg("ADDSLOTS");
            for slot in first..last {
                add.arg(slot);
            }
            add.exec(&mut node.client()).expect("CLUSTER ADDSLOTS");
        }
        let mut first = nodes[0].client();
        for node in &nodes[1..] {
            redis::cmd("CLUSTER")
                .arg("MEET")
                .arg("127.0.0.1")
                .arg(node.port())
                .exec(&mut first)
                .expect("CLUSTER MEET");
        }
        let cluster = RedisCluster { nodes };
        cluster.wait_until_ok();
        Some(cluster)
    }

    /// Every node's address; any one is enough to find the others.
    pub fn seeds(&self) -> Vec<String> {
        self.nodes.iter().map(Redis::address).collect()
    }

    /// Waits until every running node reports `cluster_state:ok` and knows all three
    /// primaries.
    pub fn wait_until_ok(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let ok = self.nodes.iter().all(|node| {
                let Ok(info) = redis::cmd("CLUSTER")
                    .arg("INFO")
                    .query::<String>(&mut node.client())
                else {
                    return false;
                };
                info.contains("cluster_state:ok") && info.contains("cluster_known_nodes:3")
            });
            if ok {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the test's Redis Cluster did not form"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// A free port whose cluster bus port (10,000 above) is free too and below the ephemeral
/// range.
fn cluster_port() -> u16 {
    for _ in 0..500 {
        let port = super::postgres::free_port();
        if port <= 22_767 && std::net::TcpListener::bind(("127.0.0.1", port + 10_000)).is_ok() {
            return port;
        }
    }
    panic!("no free pair of ports for a Redis Cluster node");
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
