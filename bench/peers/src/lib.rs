//! What the peer echo servers share: the `--listen ADDR` flag, and the `ready` line that
//! bench/run.py waits for.

use std::net::SocketAddr;

/// Parses `--listen ADDR` (default `127.0.0.1:9001`); exits with status 2 on anything else.
pub fn listen_addr(name: &str) -> SocketAddr {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let addr = match args.as_slice() {
        [] => "127.0.0.1:9001".to_owned(),
        [flag, addr] if flag == "--listen" => addr.clone(),
        _ => {
            eprintln!("usage: {name} [--listen ADDR]");
            std::process::exit(2);
        }
    };
    match addr.parse() {
        Ok(addr) => addr,
        Err(err) => {
            eprintln!("{name}: bad --listen {addr:?}: {err}");
            std::process::exit(2);
        }
    }
}

/// Prints `ready ADDR` once listening, for the benchmark runner.
pub fn announce(name: &str, listener: &tokio::net::TcpListener) {
    match listener.local_addr() {
        Ok(addr) => println!("{name} ready ws://{addr}"),
        Err(err) => eprintln!("{name}: local_addr: {err}"),
    }
}
