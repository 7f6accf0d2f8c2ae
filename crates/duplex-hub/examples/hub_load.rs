//! `hub_load`: load for a running hub (`duplex serve`), to measure what the issue's goal 10
//! asks — memory per idle connection with subscriptions, and the cost of a fan-out.
//!
//! It speaks the JSON client protocol by hand, as an SDK puts it on the wire (connect, then the
//! subscribes in one frame, answering the server's `{}` pings), so what the server holds is
//! what a real client costs it, with nothing of the loader's in the server's process. Figures
//! come from the server's `/proc/PID` (VmRSS, utime + stime), the way `duplex bench idle` reads
//! them; see docs/performance.md, "The hub (issue 16)", for the commands and the results.
//!
//! ```sh
//! hub_load config > /tmp/hub.json         # the configuration the other commands expect
//! hub_load idle --addr 127.0.0.1:8000 --conns 10000 --subs 5 --channels shared:100 --server-pid P
//! hub_load fanout --addr 127.0.0.1:8000 --subs 1000 --seconds 5 --server-pid P
//! ```
//!
//! One thread (pin it with `taskset`); one JSON line of results on stdout, a summary on stderr.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use duplex::proto::{Event, Message};
use duplex::{ClientBuilder, MaybeTlsStream, Options, WebSocket};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;

type Error = Box<dyn std::error::Error + Send + Sync>;
type Socket = WebSocket<MaybeTlsStream<TcpStream>>;

const USAGE: &str = "\
usage: hub_load config [--secret S] [--api-key K]
       hub_load idle   --addr HOST:PORT [--conns 10000] [--subs 5] [--channels shared:100|distinct]
                       [--namespace chat] [--hold 3] [--concurrency 100] [--server-pid PID]
       hub_load fanout --addr HOST:PORT [--subs 1000] [--seconds 5] [--size 100] [--in-flight 1]
                       [--channel fan:0] [--server-pid PID]
common: --secret S (default hub-load-secret), --api-key K (default hub-load-key)";

/// Generous bound on any single step (a connect, a subscribe, catching up after a fan-out).
const PATIENCE: Duration = Duration::from_secs(20);

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("hub_load: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), Error> {
    let mut args = std::env::args().skip(1);
    let command = args.next().unwrap_or_default();
    let flags = Flags::parse(args)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    match command.as_str() {
        "config" => {
            println!("{:#}", config(&flags));
            Ok(())
        }
        "idle" => runtime.block_on(idle(&flags)),
        "fanout" => runtime.block_on(fanout(&flags)),
        _ => Err(USAGE.into()),
    }
}

/// `--name value` pairs.
struct Flags(HashMap<String, String>);

impl Flags {
    fn parse(mut args: impl Iterator<Item = String>) -> Result<Flags, Error> {
        let mut flags = HashMap::new();
        while let Some(name) = args.next() {
            let Some(name) = name.strip_prefix("--") else {
                return Err(format!("unexpected {name:?}\n{USAGE}").into());
            };
            let value = args.next().ok_or(format!("--{name} needs a value"))?;
            flags.insert(name.to_owned(), value);
        }
        Ok(Flags(flags))
    }

    fn text(&self, name: &str, default: &str) -> String {
        self.0
            .get(name)
            .cloned()
            .unwrap_or_else(|| default.to_owned())
    }

    fn number<T: std::str::FromStr>(&self, name: &str, default: T) -> Result<T, Error> {
        match self.0.get(name) {
            None => Ok(default),
            Some(text) => text
                .parse()
                .map_err(|_| format!("--{name}: {text:?} is not a number").into()),
        }
    }

    fn addr(&self) -> Result<SocketAddr, Error> {
        let text = self.0.get("addr").ok_or("--addr HOST:PORT is required")?;
        Ok(text.parse()?)
    }

    fn pid(&self) -> Result<Option<u32>, Error> {
        self.0
            .get("server-pid")
            .map(|p| p.parse().map_err(|_| format!("--server-pid {p:?}").into()))
            .transpose()
    }
}

/// A configuration with the namespaces the scenarios use: `chat` (subscriptions only), `room`
/// (presence and history, as a chat room would have) and `fan` (history, so publications carry
/// offsets the subscribers can check).
fn config(flags: &Flags) -> Value {
    json!({
        "http_server": {"address": "127.0.0.1", "port": 8000},
        "client": {"token": {"hmac_secret_key": flags.text("secret", "hub-load-secret")}},
        "http_api": {"key": flags.text("api-key", "hub-load-key")},
        "channel": {"namespaces": [
            {"name": "chat", "allow_subscribe_for_client": true},
            {"name": "room", "allow_subscribe_for_client": true, "presence": true,
             "join_leave": true, "history_size": 100, "history_ttl": "300s"},
            {"name": "fan", "allow_subscribe_for_client": true, "history_size": 1000,
             "history_ttl": "300s"}
        ]}
    })
}

/// An HS256 connection token for `user`.
fn token(secret: &str, user: &str) -> Result<String, Error> {
    Ok(jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &json!({"sub": user}),
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )?)
}

/// One client of the hub, connected and subscribed.
struct Client {
    ws: Socket,
}

impl Client {
    /// Opens a WebSocket, connects as `user` and subscribes to `channels` (in one frame, as an
    /// SDK batches them); fails on any error reply.
    async fn open(addr: SocketAddr, token: &str, channels: &[String]) -> Result<Client, Error> {
        // SDKs send no WebSocket pings (the hub's `{}` pings are the heartbeat), so neither do
        // these clients: the server sees only what a browser would send.
        let options = Options::default().ping_interval(None).idle_timeout(None);
        let url = format!("ws://{addr}/connection/websocket");
        let (ws, _) = ClientBuilder::new().options(options).connect(&url).await?;
        let mut client = Client { ws };
        client
            .send(&json!({"id": 1, "connect": {"token": token, "name": "hub_load"}}).to_string())
            .await?;
        client.replies(1..=1).await?;
        if !channels.is_empty() {
            let frame: Vec<String> = (0u32..)
                .zip(channels)
                .map(|(i, c)| json!({"id": 2 + i, "subscribe": {"channel": c}}).to_string())
                .collect();
            client.send(&frame.join("\n")).await?;
            client.replies(2..=1 + channels.len() as u32).await?;
        }
        Ok(client)
    }

    async fn send(&mut self, text: &str) -> Result<(), Error> {
        Ok(self.ws.send(Message::text(text.to_owned())).await?)
    }

    /// Waits for the replies with these ids; an error reply is an error.
    async fn replies(&mut self, mut ids: std::ops::RangeInclusive<u32>) -> Result<(), Error> {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        let mut waiting: Vec<u32> = ids.by_ref().collect();
        while !waiting.is_empty() {
            let lines = tokio::time::timeout_at(deadline, self.lines())
                .await
                .map_err(|_| "timed out waiting for a reply")??;
            for line in lines {
                let reply: Value = serde_json::from_str(&line)?;
                if let Some(error) = reply.get("error") {
                    return Err(format!("hub refused: {error}").into());
                }
                let id = reply.get("id").and_then(Value::as_u64).unwrap_or(0) as u32;
                waiting.retain(|w| *w != id);
            }
        }
        Ok(())
    }

    /// The next message's lines, answering pings; an error once the connection is gone.
    async fn lines(&mut self) -> Result<Vec<String>, Error> {
        loop {
            match self.ws.next_event().await? {
                Event::Message(message) => {
                    let text = message.as_text().ok_or("a binary frame from a JSON hub")?;
                    let mut lines = Vec::new();
                    for line in text.split('\n').filter(|l| !l.is_empty()) {
                        if line == "{}" {
                            self.send("{}").await?;
                        } else {
                            lines.push(line.to_owned());
                        }
                    }
                    if !lines.is_empty() {
                        return Ok(lines);
                    }
                }
                Event::Close(frame) => return Err(format!("closed by the hub: {frame:?}").into()),
                _ => {}
            }
        }
    }
}

/// The server's resident memory, from /proc/PID/status.
fn rss_bytes(pid: u32) -> Result<u64, Error> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .ok_or("no VmRSS")?;
    let kib: u64 = line.split_whitespace().nth(1).ok_or("bad VmRSS")?.parse()?;
    Ok(kib * 1024)
}

/// A process's CPU time (utime + stime) in seconds, from /proc/PID/stat. Linux reports it in
/// USER_HZ ticks, which is 100 on every architecture it exposes to user space this way.
fn cpu_seconds(pid: &str) -> Result<f64, Error> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // The command name may hold spaces; the fields after its closing parenthesis do not.
    let rest = stat.rsplit_once(')').ok_or("bad stat")?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields.get(11).ok_or("bad stat")?.parse::<u64>()?
        + fields.get(12).ok_or("bad stat")?.parse::<u64>()?;
    Ok(ticks as f64 / 100.0)
}

/// CPU time of the whole machine, busy (not idle or iowait) seconds, from /proc/stat: what
/// other processes take shows as this minus the server and the loader.
fn machine_busy_seconds() -> Result<f64, Error> {
    let stat = std::fs::read_to_string("/proc/stat")?;
    let line = stat.lines().next().ok_or("empty /proc/stat")?;
    let ticks: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(str::parse)
        .collect::<Result<_, _>>()?;
    let idle = ticks.get(3).copied().unwrap_or(0) + ticks.get(4).copied().unwrap_or(0);
    // Guest time is already counted in user time.
    let total: u64 = ticks.iter().take(8).sum();
    Ok((total - idle) as f64 / 100.0)
}

/// The channels connection `index` subscribes to.
fn channels_of(index: usize, subs: usize, layout: &str, namespace: &str) -> Vec<String> {
    (0..subs)
        .map(|j| match layout.strip_prefix("shared:") {
            Some(count) => {
                let count: usize = count.parse().unwrap_or(100).max(1);
                format!("{namespace}:{}", (index * subs + j) % count)
            }
            None => format!("{namespace}:c{index}-{j}"),
        })
        .collect()
}

/// Idle connections, each subscribed to `--subs` channels: the server's RSS per connection.
async fn idle(flags: &Flags) -> Result<(), Error> {
    let addr = flags.addr()?;
    let conns: usize = flags.number("conns", 10_000)?;
    let subs: usize = flags.number("subs", 5)?;
    let layout = flags.text("channels", "shared:100");
    let namespace = flags.text("namespace", "chat");
    let hold = Duration::from_secs_f64(flags.number("hold", 3.0)?);
    let concurrency: usize = flags.number("concurrency", 100)?;
    let secret = flags.text("secret", "hub-load-secret");
    let pid = flags.pid()?;

    // One connection like the others, opened and closed first: the server's first connection
    // pages in code and data it keeps whatever the count, as `duplex bench idle` does.
    let warm = channels_of(conns, subs, &layout, &namespace);
    let mut first = Client::open(addr, &token(&secret, "warm-up")?, &warm).await?;
    first.ws.close(duplex::CloseCode::NORMAL, "").await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = pid.map(rss_bytes).transpose()?;

    let opened = Arc::new(AtomicU64::new(0));
    let dropped = Arc::new(AtomicU64::new(0));
    let failures = Arc::new(Mutex::new(Vec::<String>::new()));
    let permits = Arc::new(Semaphore::new(concurrency.max(1)));
    let (stop, stopped) = watch::channel(false);
    let started = Instant::now();
    let mut tasks = JoinSet::new();
    for index in 0..conns {
        let token = token(&secret, &format!("u{index}"))?;
        let channels = channels_of(index, subs, &layout, &namespace);
        let (opened, failures, permits) = (opened.clone(), failures.clone(), permits.clone());
        let dropped = dropped.clone();
        let mut stopped = stopped.clone();
        tasks.spawn(async move {
            let client = match permits.acquire_owned().await {
                Ok(_permit) => Client::open(addr, &token, &channels).await,
                Err(e) => Err(e.into()),
            };
            let mut client = match client {
                Ok(client) => client,
                Err(e) => {
                    lock(&failures).push(e.to_string());
                    return;
                }
            };
            opened.fetch_add(1, Ordering::Relaxed);
            loop {
                tokio::select! {
                    _ = stopped.wait_for(|stop| *stop) => break,
                    lines = client.lines() => if lines.is_err() {
                        dropped.fetch_add(1, Ordering::Relaxed);
                        return;
                    },
                }
            }
            let _ = client.ws.close(duplex::CloseCode::NORMAL, "").await;
        });
    }
    while opened.load(Ordering::Relaxed) + (lock(&failures).len() as u64) < conns as u64 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let open_s = started.elapsed().as_secs_f64();
    tokio::time::sleep(hold).await;
    let after = pid.map(rss_bytes).transpose()?;
    let failed = lock(&failures).clone();
    let dropped = dropped.load(Ordering::Relaxed);
    let _ = stop.send(true);
    let _ = tokio::time::timeout(PATIENCE, async {
        while tasks.join_next().await.is_some() {}
    })
    .await;

    let live = (conns as u64 - failed.len() as u64 - dropped).max(1) as f64;
    let per_conn = before.zip(after).map(|(b, a)| (a as f64 - b as f64) / live);
    let report = json!({
        "scenario": "idle", "conns": conns, "subs": subs, "channels": layout,
        "namespace": namespace, "failed": failed.len(), "dropped": dropped, "open_s": round(open_s),
        "server_rss_before": before, "server_rss_after": after,
        "bytes_per_conn": per_conn.map(|b| b.round()),
    });
    eprintln!(
        "idle: {} connections x {subs} subscriptions ({layout}, {namespace}) opened in {open_s:.1} s, \
         {} failed{}, {dropped} dropped; server RSS {} -> {}: {} B per connection",
        conns - failed.len(),
        failed.len(),
        failed.first().map(|e| format!(" (first: {e})")).unwrap_or_default(),
        mib(before),
        mib(after),
        per_conn.map_or("?".into(), |b| format!("{b:.0}")),
    );
    println!("{report}");
    Ok(())
}

/// What one subscriber saw of the fan-out channel.
#[derive(Default, Clone, Copy)]
struct Seen {
    count: u64,
    last_offset: u64,
    /// Publications whose offset was not the one after the previous.
    out_of_order: u64,
}

/// The offset of a publication push line (no JSON parse: the loader must keep up with the
/// server, and the pad of our own data never holds this key).
fn offset_of(line: &str) -> Option<u64> {
    let at = line.rfind("\"offset\":")? + "\"offset\":".len();
    let digits: String = line[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// One channel, `--subs` subscribers, publications through the server API for `--seconds`:
/// deliveries per second and the server's CPU per 1,000 deliveries.
async fn fanout(flags: &Flags) -> Result<(), Error> {
    let addr = flags.addr()?;
    let subs: usize = flags.number("subs", 1000)?;
    let seconds: f64 = flags.number("seconds", 5.0)?;
    let size: usize = flags.number("size", 100)?;
    let in_flight: usize = flags.number("in-flight", 1)?;
    let channel = flags.text("channel", "fan:0");
    let secret = flags.text("secret", "hub-load-secret");
    let api_key = flags.text("api-key", "hub-load-key");
    let pid = flags.pid()?;

    let delivered = Arc::new(AtomicU64::new(0));
    let (stop, stopped) = watch::channel(false);
    let mut subscribers = JoinSet::new();
    for index in 0..subs {
        let client = Client::open(
            addr,
            &token(&secret, &format!("s{index}"))?,
            std::slice::from_ref(&channel),
        )
        .await?;
        let (delivered, mut stopped) = (delivered.clone(), stopped.clone());
        subscribers.spawn(async move {
            let mut client = client;
            let mut seen = Seen::default();
            loop {
                let lines = tokio::select! {
                    _ = stopped.wait_for(|stop| *stop) => break,
                    lines = client.lines() => lines,
                };
                let Ok(lines) = lines else { break };
                for offset in lines.iter().filter_map(|l| offset_of(l)) {
                    if seen.count > 0 && offset != seen.last_offset + 1 {
                        seen.out_of_order += 1;
                    }
                    seen.count += 1;
                    seen.last_offset = offset;
                    delivered.fetch_add(1, Ordering::Relaxed);
                }
            }
            let _ = client.ws.close(duplex::CloseCode::NORMAL, "").await;
            seen
        });
    }

    let http = reqwest::Client::new();
    let url = format!("http://{addr}/api/publish");
    let published = Arc::new(AtomicU64::new(0));
    let last_offset = Arc::new(AtomicU64::new(0));
    let server_cpu = |pid: Option<u32>| pid.map(|p| cpu_seconds(&p.to_string())).transpose();
    let (cpu_before, loader_before) = (server_cpu(pid)?, cpu_seconds("self")?);
    let busy_before = machine_busy_seconds()?;
    let started = Instant::now();
    let until = started + Duration::from_secs_f64(seconds);
    let mut publishers = JoinSet::new();
    for worker in 0..in_flight.max(1) {
        let (http, url, api_key, channel) =
            (http.clone(), url.clone(), api_key.clone(), channel.clone());
        let (published, last_offset) = (published.clone(), last_offset.clone());
        publishers.spawn(async move {
            let mut seq = worker as u64;
            while Instant::now() < until {
                // `{"seq":N,"pad":"xx..."}`, padded to `size` bytes of data.
                let head = format!("{{\"seq\":{seq},\"pad\":\"");
                let pad = "x".repeat(size.saturating_sub(head.len() + 2));
                let data = format!("{head}{pad}\"}}");
                let body = format!("{{\"channel\":\"{channel}\",\"data\":{data}}}");
                let reply: Value = http
                    .post(&url)
                    .header("X-API-Key", &api_key)
                    .header("Content-Type", "application/json")
                    .body(body)
                    .send()
                    .await?
                    .json()
                    .await?;
                let offset = reply["result"]["offset"]
                    .as_u64()
                    .ok_or_else(|| format!("publish failed: {reply}"))?;
                last_offset.fetch_max(offset, Ordering::Relaxed);
                published.fetch_add(1, Ordering::Relaxed);
                seq += in_flight as u64;
            }
            Ok::<(), Error>(())
        });
    }
    while let Some(done) = publishers.join_next().await {
        done??;
    }
    let publish_s = started.elapsed().as_secs_f64();
    let published = published.load(Ordering::Relaxed);
    let expected = published * subs as u64;
    // Wait for the subscribers to catch up; the window ends with the last delivery.
    let deadline = Instant::now() + PATIENCE;
    while delivered.load(Ordering::Relaxed) < expected && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let window_s = started.elapsed().as_secs_f64();
    let (cpu_after, loader_after) = (server_cpu(pid)?, cpu_seconds("self")?);
    let busy = machine_busy_seconds()? - busy_before;
    let _ = stop.send(true);
    let mut seen = Vec::new();
    while let Some(result) = subscribers.join_next().await {
        seen.push(result?);
    }

    let last = last_offset.load(Ordering::Relaxed);
    let complete = seen
        .iter()
        .filter(|s| s.count == published && s.last_offset == last && s.out_of_order == 0)
        .count();
    let deliveries = seen.iter().map(|s| s.count).sum::<u64>();
    let rate = deliveries as f64 / window_s;
    let server_cpu_s = cpu_before.zip(cpu_after).map(|(b, a)| a - b);
    let per_1000 = server_cpu_s.map(|cpu| cpu * 1000.0 / deliveries.max(1) as f64);
    let loader_share = (loader_after - loader_before) / window_s;
    // Other engineers' builds on a shared machine show up here, and slow the run down.
    let other_share =
        (busy - (loader_after - loader_before) - server_cpu_s.unwrap_or(0.0)).max(0.0) / window_s;
    let report = json!({
        "scenario": "fanout", "subs": subs, "size": size, "in_flight": in_flight,
        "published": published, "publish_rate": round(published as f64 / publish_s),
        "deliveries": deliveries, "expected": expected, "window_s": round(window_s),
        "deliveries_per_s": rate.round(), "complete_subscribers": complete,
        "out_of_order": seen.iter().map(|s| s.out_of_order).sum::<u64>(),
        "server_cpu_s": server_cpu_s.map(round),
        "server_cpu_ms_per_1000": per_1000.map(|s| round(s * 1000.0)),
        "loader_cpu_share": round(loader_share), "other_cpu_share": round(other_share),
    });
    eprintln!(
        "fanout: {published} publications ({:.0}/s, {in_flight} in flight) to {subs} subscribers: \
         {deliveries}/{expected} delivered in {window_s:.2} s = {rate:.0}/s; {complete}/{subs} \
         subscribers got every publication in order up to offset {last}; server CPU {} ms per \
         1,000 deliveries; loader {:.0}%, other processes {:.0}% of a core",
        published as f64 / publish_s,
        per_1000.map_or("?".into(), |s| format!("{:.1}", s * 1000.0)),
        loader_share * 100.0,
        other_share * 100.0,
    );
    println!("{report}");
    Ok(())
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn round(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

fn mib(bytes: Option<u64>) -> String {
    bytes.map_or("?".into(), |b| format!("{:.1} MiB", b as f64 / 1048576.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_channels_spread_a_connection_over_distinct_channels() {
        assert_eq!(
            channels_of(21, 5, "shared:100", "chat"),
            ["chat:5", "chat:6", "chat:7", "chat:8", "chat:9"]
        );
        assert_eq!(
            channels_of(3, 2, "distinct", "room"),
            ["room:c3-0", "room:c3-1"]
        );
    }

    #[test]
    fn the_offset_is_read_from_a_publication_push() {
        let line =
            r#"{"push":{"channel":"fan:0","pub":{"data":{"seq":4,"pad":"xx"},"offset":42}}}"#;
        assert_eq!(offset_of(line), Some(42));
        assert_eq!(offset_of(r#"{"id":2,"subscribe":{}}"#), None);
    }

    #[test]
    fn flags_are_name_value_pairs() {
        let flags = Flags::parse(
            ["--conns", "7", "--addr", "127.0.0.1:1"]
                .map(String::from)
                .into_iter(),
        );
        let flags = flags.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(flags.number("conns", 0usize).ok(), Some(7));
        assert_eq!(flags.number("subs", 5usize).ok(), Some(5));
        assert!(flags.addr().is_ok());
        assert!(Flags::parse(["conns"].map(String::from).into_iter()).is_err());
        assert!(Flags::parse(["--conns"].map(String::from).into_iter()).is_err());
    }
}
