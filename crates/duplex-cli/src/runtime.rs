//! The tokio runtime every long-running subcommand (servers and load generators) runs on, and
//! the listening socket the servers share.
//!
//! One thread by default, so that `taskset -c N duplex ...` puts the whole process on one core
//! and a benchmark measures what it means to; `--threads` asks for more.

/// A current-thread runtime for `threads <= 1`, else a multi-thread one with that many workers.
pub fn build(threads: usize) -> std::io::Result<tokio::runtime::Runtime> {
    if threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()
    }
}

/// A listener whose accepted sockets start with `TCP_NODELAY` set.
///
/// Linux copies the option from the listening socket to every socket it accepts, so setting
/// it once here saves a `setsockopt` per connection (handshake + close: 51.8 -> 49.5 µs of
/// server CPU, medians of 7 alternating noisy pairs). Servers still want no Nagle delay: a
/// small message written while an earlier one is unacknowledged would otherwise wait for the
/// peer's delayed ACK. Call it inside the runtime: the listener registers with its reactor.
pub fn listen_nodelay(addr: std::net::SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.set_nodelay(true)?;
    socket.bind(addr)?;
    socket.listen(1024)
}

/// Runs a server on [`duplex::event_loop`] until Ctrl-C, then closes its connections with
/// 1001 and returns once they are closed: the group's first loop on this thread, each other on
/// a thread of its own (`handler(i)` makes loop `i`'s handler). Ctrl-C is watched from one more,
/// sleeping thread (tokio's signal handling, on a runtime of its own) and stops every loop; a
/// second Ctrl-C quits at once.
///
/// `doing` completes the line announcing the address ("listening on"), which is logged only
/// once Ctrl-C is handled, so a client that saw it can interrupt the server cleanly.
pub fn run_event_loops<H, F>(
    group: duplex::event_loop::Group,
    doing: &str,
    handler: F,
) -> anyhow::Result<()>
where
    H: duplex::event_loop::Handler,
    F: Fn(usize) -> H + Sync,
{
    let writes = if group.uses_io_uring() {
        "io_uring"
    } else {
        "sendmsg"
    };
    tracing::debug!("event loop: batched writes through {writes}");
    let handle = group.shutdown_handle();
    let signals = build(1)?;
    // The handler is installed here, before the address is announced; `ctrl_c()` would
    // install it only when first polled on the other thread, and a SIGINT sent before that
    // would kill the process.
    let mut interrupt = {
        let _runtime = signals.enter();
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?
    };
    let addr = group.local_addr()?;
    match group.loops() {
        1 => tracing::info!("event loop: {doing} ws://{addr}"),
        n => tracing::info!("{n} event loops: {doing} ws://{addr}"),
    }
    std::thread::Builder::new()
        .name("ctrl-c".into())
        .spawn(move || {
            signals.block_on(async {
                if interrupt.recv().await.is_some() {
                    tracing::info!(
                        "interrupted: closing connections with 1001 (Ctrl-C again to quit now)"
                    );
                    handle.begin();
                    if interrupt.recv().await.is_some() {
                        std::process::exit(130);
                    }
                }
            })
        })?;
    group.run(handler)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted_sockets_inherit_nodelay_from_the_listener() {
        build(1)
            .unwrap()
            .block_on(async {
                let listener = listen_nodelay("127.0.0.1:0".parse().unwrap())?;
                let client = tokio::net::TcpStream::connect(listener.local_addr()?).await?;
                let (accepted, _) = listener.accept().await?;
                assert!(accepted.nodelay()?, "the accepted socket has Nagle on");
                assert!(!client.nodelay()?, "a control: connect() does not set it");
                std::io::Result::Ok(())
            })
            .unwrap();
    }
}
