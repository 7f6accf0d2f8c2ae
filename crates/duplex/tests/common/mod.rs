//! Helpers shared by the integration tests (a test file says `#[macro_use] mod common;`):
//! a server over either driver (`server.rs`), a client made of raw bytes (`raw.rs`), bounded
//! waits for a condition, and [`for_each_driver!`], which runs one test body per driver.
//!
//! Nothing here decides a test by how long something took: a wait polls its condition and
//! gives up only at [`HANG_GUARD`], which a passing test never comes near.

#![allow(dead_code)] // each test file uses its own part of this

pub mod raw;
pub mod server;

use std::time::Duration;

use duplex::ServerBuilder;
use tokio::net::TcpListener;

#[allow(unused_imports)] // each test file uses its own part of this
#[cfg(feature = "event-loop")]
pub use server::serve_loop;
#[allow(unused_imports)] // each test file uses some of them
pub use server::{serve, App, Driver, End, Reports, TestServer};

/// How long a wait may last before the test fails as hung. Generous on purpose: it only turns
/// a hang into a failure, it never decides a test that makes progress.
pub const HANG_GUARD: Duration = Duration::from_secs(30);

/// Polls `done` until it holds; panics with `what` after [`HANG_GUARD`].
pub async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + HANG_GUARD;
    while !done() {
        assert!(tokio::time::Instant::now() < deadline, "never {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Awaits `future`, failing the test as hung after [`HANG_GUARD`].
pub async fn bounded<T>(what: &str, future: impl std::future::Future<Output = T>) -> T {
    match tokio::time::timeout(HANG_GUARD, future).await {
        Ok(value) => value,
        Err(_) => panic!("never {what}"),
    }
}

/// Client options without keepalive or idle timeout, for clients whose silence is the test.
pub fn quiet_client() -> duplex::Options {
    duplex::Options::default()
        .ping_interval(None)
        .idle_timeout(None)
}

/// Starts a duplex echo server for any number of connections, each accepted with `builder`,
/// until the test ends; returns its `ws://` URL.
pub async fn echo_server(builder: ServerBuilder) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let builder = builder.clone();
            tokio::spawn(async move {
                let Ok(mut ws) = builder.accept(stream).await else {
                    return;
                };
                while let Ok(Some(message)) = ws.recv().await {
                    if ws.feed(message).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    url
}

/// Runs a test body `async fn NAME(driver: Driver)` once per driver, as a module `NAME` with
/// the tests `NAME::tasks` and `NAME::event_loop`. Each driver's test attributes may be given
/// (a paused tokio clock for the tasks, an `#[ignore]` for one driver, a multi-threaded
/// runtime); plain `#[tokio::test]` otherwise.
///
/// ```ignore
/// for_each_driver!(a_silent_peer_is_dropped,
///     tasks: #[tokio::test(start_paused = true)],
///     event_loop: #[tokio::test]);
/// ```
#[macro_export]
macro_rules! for_each_driver {
    ($name:ident) => {
        for_each_driver!($name, tasks: #[tokio::test], event_loop: #[tokio::test]);
    };
    ($name:ident, tasks: $(#[$tasks:meta])+, event_loop: $(#[$event_loop:meta])+) => {
        mod $name {
            $(#[$tasks])+
            async fn tasks() {
                super::$name(super::common::Driver::Tasks).await;
            }

            #[cfg(feature = "event-loop")]
            $(#[$event_loop])+
            async fn event_loop() {
                super::$name(super::common::Driver::EventLoop).await;
            }
        }
    };
}
