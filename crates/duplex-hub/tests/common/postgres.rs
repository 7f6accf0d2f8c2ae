//! A PostgreSQL server of the test's own: a fresh cluster (initdb) in a temporary folder,
//! listening on a free loopback port with its unix socket in that folder, stopped by its PID
//! when dropped. It never touches a PostgreSQL already running on the machine.
//!
//! The binaries are found in `$DUPLEX_POSTGRES_BIN`, then `/usr/lib/postgresql/<newest>/bin`
//! (Debian and Ubuntu), then on `PATH`. Without them, [`Postgres::start`] returns `None` and the
//! test skips with a message, unless `DUPLEX_REQUIRE_POSTGRES=1` (CI), where it fails.
//!
//! PostgreSQL refuses to run as root. Run as root (CI, containers), the cluster belongs to the
//! `postgres` user that Debian's package creates: the folder is given to it and initdb and the
//! server run under its uid and gid.
//!
//! ```ignore
//! let Some(pg) = Postgres::start("outbox_commit") else { return };
//! let client = pg.client().await;
//! client.batch_execute("CREATE TABLE t (id int)").await.unwrap();
//! ```

use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long the server may take to start or to stop.
const STARTUP: Duration = Duration::from_secs(30);

/// A running (or stopped, between [`Postgres::stop`] and [`Postgres::start_again`]) server.
pub struct Postgres {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
    /// The uid and gid the server runs as, when this process is root.
    run_as: Option<(u32, u32)>,
    server: Option<Child>,
}

impl Postgres {
    /// A new cluster, started; `None` (after saying why) when PostgreSQL is not installed and
    /// `DUPLEX_REQUIRE_POSTGRES` is not `1`. `name` labels the messages.
    pub fn start(name: &str) -> Option<Postgres> {
        let Some(bin) = binaries() else {
            let message = "PostgreSQL's initdb and postgres were not found (looked in \
                $DUPLEX_POSTGRES_BIN, /usr/lib/postgresql/*/bin and PATH); install the \
                `postgresql` package (tests/lib/setup-postgres.sh does)";
            if std::env::var("DUPLEX_REQUIRE_POSTGRES").as_deref() == Ok("1") {
                panic!("{name}: {message}");
            }
            eprintln!("SKIPPED {name}: {message}");
            return None;
        };
        let run_as = if is_root() {
            Some(postgres_user().expect(
                "running as root, and there is no `postgres` user to run PostgreSQL as \
                 (the postgresql package creates it)",
            ))
        } else {
            None
        };
        // As root, in /tmp: TMPDIR could be somewhere the postgres user cannot reach.
        let dir = if run_as.is_some() {
            tempfile::Builder::new()
                .prefix("duplex-pg-")
                .tempdir_in("/tmp")
        } else {
            tempfile::Builder::new().prefix("duplex-pg-").tempdir()
        }
        .expect("temporary folder");
        if let Some((uid, gid)) = run_as {
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid)).expect("chown");
        }
        let mut postgres = Postgres {
            dir,
            bin,
            port: free_port(),
            run_as,
            server: None,
        };
        postgres.initdb();
        postgres.start_again();
        Some(postgres)
    }

    /// The connection string for the hub and for the test: user `postgres`, no password.
    pub fn dsn(&self) -> String {
        format!(
            "host=127.0.0.1 port={} user=postgres dbname=postgres",
            self.port
        )
    }

    /// The TCP port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A connection whose driver runs on its own task.
    pub async fn client(&self) -> tokio_postgres::Client {
        let (client, connection) = tokio_postgres::connect(&self.dsn(), tokio_postgres::NoTls)
            .await
            .expect("connect to the test PostgreSQL");
        tokio::spawn(connection);
        client
    }

    /// Stops the server (fast shutdown: sessions are cut, nothing is lost) and waits for it
    /// to exit.
    pub fn stop(&mut self) {
        let Some(mut server) = self.server.take() else {
            return;
        };
        signal(server.id(), "INT");
        let deadline = Instant::now() + STARTUP;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = server.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = server.kill();
        let _ = server.wait();
    }

    /// Starts the server (again, after [`Postgres::stop`]) on the same port and data, and
    /// waits until it accepts connections.
    pub fn start_again(&mut self) {
        assert!(self.server.is_none(), "already running");
        let data = self.data();
        let _ = std::fs::remove_file(data.join("postmaster.pid"));
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("server.log"))
            .expect("log file");
        let mut command = self.command("postgres");
        command
            .arg("-D")
            .arg(&data)
            .arg("-p")
            .arg(self.port.to_string())
            .arg("-k")
            .arg(self.dir.path())
            .args(["-c", "listen_addresses=127.0.0.1"])
            .args(["-c", "fsync=off", "-c", "full_page_writes=off"])
            .args(["-c", "shared_buffers=16MB", "-c", "max_connections=60"])
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log file"))
            .stderr(log);
        let server = command.spawn().expect("start postgres");
        self.server = Some(server);
        let deadline = Instant::now() + STARTUP;
        // Line 8 of postmaster.pid is the server's status; "ready" once it accepts connections.
        while Instant::now() < deadline {
            let status = std::fs::read_to_string(data.join("postmaster.pid")).unwrap_or_default();
            if status
                .lines()
                .nth(7)
                .is_some_and(|line| line.trim() == "ready")
            {
                return;
            }
            if let Some(Ok(Some(exit))) = self.server.as_mut().map(Child::try_wait) {
                panic!("postgres exited ({exit}):\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        panic!("postgres did not become ready:\n{}", self.log());
    }

    /// The server's log so far, for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn initdb(&self) {
        let output = self
            .command("initdb")
            .arg("-D")
            .arg(self.data())
            .args([
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C",
                "-N",
            ])
            .output()
            .expect("run initdb");
        assert!(
            output.status.success(),
            "initdb failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// One of the binaries, as the postgres user when this process is root.
    fn command(&self, program: &str) -> Command {
        let mut command = Command::new(self.bin.join(program));
        command.current_dir(self.dir.path());
        if let Some((uid, gid)) = self.run_as {
            command.uid(uid).gid(gid);
        }
        command
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The folder with initdb and postgres.
fn binaries() -> Option<PathBuf> {
    let has_both = |dir: &Path| dir.join("initdb").is_file() && dir.join("postgres").is_file();
    if let Some(dir) = std::env::var_os("DUPLEX_POSTGRES_BIN").map(PathBuf::from) {
        return has_both(&dir).then_some(dir);
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse().ok()?;
            Some((version, entry.path().join("bin")))
        })
        .filter(|(_, dir)| has_both(dir))
        .collect();
    versions.sort();
    if let Some((_, dir)) = versions.pop() {
        return Some(dir);
    }
    std::env::split_paths(&std::env::var_os("PATH")?).find(|dir| has_both(dir))
}

fn is_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|meta| meta.uid() == 0)
}

/// The uid and gid of the `postgres` user, from /etc/passwd.
fn postgres_user() -> Option<(u32, u32)> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        (fields.first() == Some(&"postgres") && fields.len() > 3)
            .then(|| Some((fields[2].parse().ok()?, fields[3].parse().ok()?)))
            .flatten()
    })
}

/// A free port on 127.0.0.1 outside the kernel's ephemeral range, where an outgoing connection
/// could take it before the server binds it (as tests/lib/harness.py explains).
pub fn free_port() -> u16 {
    let (low, high) = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|text| {
            let mut numbers = text.split_whitespace().map(|n| n.parse::<u16>().ok());
            Some((numbers.next()??, numbers.next()??))
        })
        .unwrap_or((32768, 60999));
    for _ in 0..500 {
        let port = rand::random_range(10000..=65535u16);
        if (low..=high).contains(&port) {
            continue;
        }
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port outside the ephemeral range {low}-{high}");
}

/// Sends a signal to one process by its PID.
fn signal(pid: u32, name: &str) {
    let _ = Command::new("kill")
        .arg(format!("-{name}"))
        .arg(pid.to_string())
        .status();
}
