//! `duplex bench idle`: open many connections, hold them, and see what they cost the server.
//!
//! Each connection gets a task that only reads (answering the server's pings), so the server
//! sees live but idle clients. With `--source-ips`, client sockets bind to several loopback
//! addresses round robin with IP_BIND_ADDRESS_NO_PORT, which lifts the ~28k connections one
//! source address allows. Memory is the server's VmRSS before opening and at the end of the
//! hold, divided by the connections still open; "before" is read after one connection has
//! opened and closed, so the server's one-time first-connection cost is not spread over them.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use duplex::handshake::Target;
use duplex::{ClientBuilder, Event};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::report::{self, Errors, Report};
use super::sys;
use crate::args::IdleBenchArgs;

/// How long closing all connections may take at the end.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(10);

/// Connection counts shared with the tasks.
#[derive(Default)]
struct Counts {
    opened: AtomicU64,
    failed: AtomicU64,
    dropped: AtomicU64,
}

/// Opens one connection, closes it, and gives the server a moment to tear it down. Failures
/// are left to the measured connections to report.
async fn warm_up(builder: &ClientBuilder, url: &str) {
    let attempt = async {
        let (mut ws, _) = builder.connect(url).await.ok()?;
        ws.close(duplex::CloseCode::NORMAL, "warm-up").await.ok()
    };
    let _ = tokio::time::timeout(Duration::from_secs(5), attempt).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
}

/// Runs the benchmark and prints its report.
pub async fn run(args: IdleBenchArgs) -> anyhow::Result<()> {
    let target = Target::parse(&args.common.url)?;
    let sources = match &args.source_ips {
        Some(text) => parse_sources(text)?,
        None => Vec::new(),
    };
    if target.secure && !sources.is_empty() {
        anyhow::bail!("--source-ips works with ws:// URLs only");
    }
    let (before, limit) = sys::raise_nofile_limit().context("cannot raise the open-file limit")?;
    if limit > before {
        eprintln!("duplex: raised the open-file limit from {before} to {limit}");
    }
    if args.conns as u64 + 64 > limit {
        eprintln!(
            "duplex: warning: {} connections need more file descriptors than the limit of \
             {limit}; expect failures (raise the hard limit: ulimit -Hn, or LimitNOFILE)",
            args.conns
        );
    }
    let server = tokio::net::lookup_host((target.host.as_str(), target.port))
        .await
        .with_context(|| format!("could not resolve {}", target.host))?
        .next()
        .with_context(|| format!("{} has no address", target.host))?;
    let builder = crate::client::builder(&args.common.client)?;
    // One connection opened and closed first: the server's first connection pages in code
    // and data it never gives back (0.4 MiB for duplex's event loop: 283 B per connection over
    // 10,000 without this, 246 B with it), a one-time cost that is not any connection's.
    if args.server_pid.is_some() {
        warm_up(&builder, &args.common.url).await;
    }
    let rss_before = args.server_pid.map(sys::rss_bytes).transpose()?;

    let counts = Arc::new(Counts::default());
    let errors = Arc::new(Errors::default());
    let (stop, stopped) = watch::channel(false);
    let permits = Arc::new(Semaphore::new(args.open_concurrency.max(1)));
    let bar = super::counter(args.conns as u64, "connections open");
    let started = Instant::now();
    let mut tasks = JoinSet::new();
    for i in 0..args.conns {
        let source = (!sources.is_empty()).then(|| sources[i % sources.len()]);
        let how = How {
            builder: builder.clone(),
            url: args.common.url.clone(),
            target: target.clone(),
            server,
            source,
            timeout: args.common.client.connect_timeout,
        };
        let (counts, errors, permits) = (counts.clone(), errors.clone(), permits.clone());
        let message = args.message;
        let mut stopped = stopped.clone();
        let bar = bar.clone();
        tasks.spawn(async move {
            let opened = match permits.acquire_owned().await {
                Ok(_permit) => how.open().await,
                Err(e) => Err(e.into()),
            };
            let mut ws = match opened {
                Ok(ws) => ws,
                Err(e) => {
                    counts.failed.fetch_add(1, Ordering::Relaxed);
                    errors.add(format!("{e:#}"));
                    return;
                }
            };
            if let Some(size) = message {
                let text = json_like(size);
                let echoed = async {
                    ws.send(text.clone()).await?;
                    ws.recv().await
                };
                match echoed.await {
                    Ok(Some(m)) if m.as_text() == Some(text.as_str()) => {}
                    other => {
                        counts.failed.fetch_add(1, Ordering::Relaxed);
                        errors.add(format!("first message not echoed: {other:?}"));
                        return;
                    }
                }
            }
            counts.opened.fetch_add(1, Ordering::Relaxed);
            bar.inc(1);
            loop {
                tokio::select! {
                    _ = stopped.wait_for(|stop| *stop) => break,
                    event = ws.next_event() => match event {
                        Ok(Event::Ping(_) | Event::Pong(_) | Event::Message(_)) => {}
                        Ok(Event::Close(_)) | Err(_) => {
                            counts.dropped.fetch_add(1, Ordering::Relaxed);
                            return;
                        }
                    },
                }
            }
            let _ = ws.close(duplex::CloseCode::NORMAL, "").await;
        });
    }
    // Wait until every connection is open or failed.
    while counts.opened.load(Ordering::Relaxed) + counts.failed.load(Ordering::Relaxed)
        < args.conns as u64
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let open_time = started.elapsed();
    bar.finish_and_clear();
    let opened = counts.opened.load(Ordering::Relaxed);
    let hold = super::progress(args.hold, Arc::default(), "");
    hold.set_message(format!("holding {} connections", report::count(opened)));
    tokio::time::sleep(args.hold).await;
    hold.finish_and_clear();
    let rss_after = args.server_pid.map(sys::rss_bytes).transpose()?;
    let dropped = counts.dropped.load(Ordering::Relaxed);
    let _ = stop.send(true);
    let _ = tokio::time::timeout(CLOSE_TIMEOUT, async {
        while tasks.join_next().await.is_some() {}
    })
    .await;

    let mut report = Report::new(
        "idle",
        format!(
            "duplex bench idle {}: {} connections held {:.1} s",
            args.common.url,
            args.conns,
            args.hold.as_secs_f64()
        ),
    );
    report.field("url", args.common.url.as_str());
    report.field("conns", args.conns);
    report.field("opened", opened);
    report.field("dropped", dropped);
    report.field("hold_s", args.hold.as_secs_f64());
    report.field("open_s", report::round(open_time.as_secs_f64(), 3));
    report.field("nofile_limit", limit);
    report.field("source_ips", sources.len());
    report.row(
        "opened",
        format!(
            "{} in {:.2} s ({}/s){}",
            report::count(opened),
            open_time.as_secs_f64(),
            report::count((opened as f64 / open_time.as_secs_f64().max(1e-9)) as u64),
            match sources.len() {
                0 => String::new(),
                n => format!(", from {n} source addresses"),
            }
        ),
    );
    report.row("dropped", format!("{dropped} during the hold"));
    if let (Some(before), Some(after)) = (rss_before, rss_after) {
        let still_open = opened.saturating_sub(dropped).max(1);
        let per_conn = (after as f64 - before as f64) / still_open as f64;
        report.row(
            "server RSS",
            format!(
                "{} before, {} with the connections",
                report::bytes(before as f64),
                report::bytes(after as f64)
            ),
        );
        report.row("per connection", format!("{per_conn:.0} bytes"));
        report.field("server_rss_before", before);
        report.field("server_rss_after", after);
        report.field("bytes_per_conn", report::round(per_conn, 1));
    }
    errors.report(&mut report);
    report.print(args.common.json);
    Ok(())
}

/// How one connection is opened.
pub(super) struct How {
    pub(super) builder: ClientBuilder,
    pub(super) url: String,
    pub(super) target: Target,
    pub(super) server: SocketAddr,
    pub(super) source: Option<IpAddr>,
    pub(super) timeout: Duration,
}

impl How {
    pub(super) async fn open(&self) -> anyhow::Result<super::connect::Connection> {
        if self.target.secure {
            return Ok(self.builder.connect(&self.url).await?.0);
        }
        let work = async {
            let tcp = self.tcp().await?;
            let (ws, _) = self
                .builder
                .handshake(duplex::MaybeTlsStream::Plain(tcp), &self.target)
                .await?;
            anyhow::Ok(ws)
        };
        tokio::time::timeout(self.timeout, work)
            .await
            .map_err(|_| anyhow::anyhow!("timed out connecting"))?
    }

    pub(super) async fn tcp(&self) -> anyhow::Result<TcpStream> {
        self.tcp_from(self.source).await
    }

    /// A TCP connection to the server from `source` (if given) rather than `self.source`.
    pub(super) async fn tcp_from(&self, source: Option<IpAddr>) -> anyhow::Result<TcpStream> {
        let socket = match self.server {
            SocketAddr::V4(_) => TcpSocket::new_v4()?,
            SocketAddr::V6(_) => TcpSocket::new_v6()?,
        };
        if let Some(source) = source {
            sys::bind_address_no_port(&socket)?;
            socket
                .bind(SocketAddr::new(source, 0))
                .with_context(|| format!("cannot bind to {source}"))?;
        }
        let stream = socket
            .connect(self.server)
            .await
            .with_context(|| format!("could not connect to {}", self.server))?;
        stream.set_nodelay(true)?;
        Ok(stream)
    }
}

/// `127.0.0.1-127.0.0.20` or `127.0.0.1,127.0.0.2,::1`.
pub(super) fn parse_sources(text: &str) -> anyhow::Result<Vec<IpAddr>> {
    if let Some((first, last)) = text.split_once('-') {
        let first: Ipv4Addr = first.trim().parse().context("--source-ips range start")?;
        let last: Ipv4Addr = last.trim().parse().context("--source-ips range end")?;
        let (first, last) = (u32::from(first), u32::from(last));
        anyhow::ensure!(first <= last, "--source-ips: the range is empty");
        anyhow::ensure!(
            last - first < 65536,
            "--source-ips: more than 65536 addresses"
        );
        return Ok((first..=last).map(|ip| Ipv4Addr::from(ip).into()).collect());
    }
    text.split(',')
        .map(|ip| {
            ip.trim()
                .parse()
                .with_context(|| format!("--source-ips: {ip:?} is not an IP address"))
        })
        .collect()
}

/// Text like a dashboard update, `size` bytes long: compressible, not a single repeated byte.
fn json_like(size: usize) -> String {
    let mut text = String::with_capacity(size + 64);
    let mut i = 0u64;
    while text.len() < size {
        text.push_str(&format!(
            "{{\"id\":{i},\"value\":{},\"unit\":\"ms\"}},",
            (i * 7919) % 1000
        ));
        i += 1;
    }
    text.truncate(size);
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources() {
        let ips = parse_sources("127.0.0.1-127.0.0.3").unwrap();
        assert_eq!(ips.len(), 3);
        assert_eq!(ips[2], IpAddr::from([127, 0, 0, 3]));
        assert_eq!(parse_sources("127.0.0.1, ::1").unwrap().len(), 2);
        assert!(parse_sources("127.0.0.3-127.0.0.1").is_err());
        assert!(parse_sources("nope").is_err());
    }
}
