//! A relay on both drivers: what one connection sends reaches every other connection once,
//! in order, and never its sender. (What a broadcast does to a receiver that does not read is
//! in `backpressure.rs`.)

use duplex::ServerBuilder;

#[macro_use]
mod common;
use common::{bounded, serve, App, Driver};

async fn a_broadcast_reaches_every_other_connection_once_and_in_order(driver: Driver) {
    let server = serve(driver, ServerBuilder::new(), App::Relay);
    let mut receivers = Vec::new();
    for _ in 0..5 {
        receivers.push(duplex::connect(&server.url).await.unwrap().0);
    }
    let (mut sender, _) = duplex::connect(&server.url).await.unwrap();
    // Every connection is open on the server before the first message.
    server.wait_for_open(6).await;
    for i in 0..500 {
        sender.feed(format!("{i}")).await.unwrap();
    }
    sender.flush().await.unwrap();
    for ws in &mut receivers {
        for i in 0..500 {
            let m = bounded("a broadcast", ws.recv()).await.unwrap().unwrap();
            assert_eq!(m.as_text(), Some(format!("{i}").as_str()));
        }
    }
    // Every broadcast has been queued by now, so anything of its own for the sender would be
    // ahead of a message relayed now: the first thing it gets must be that one.
    receivers[0].send("last").await.unwrap();
    let first = bounded("the last broadcast", sender.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        first.as_text(),
        Some("last"),
        "the sender got its own message"
    );
    let reports = server.reports();
    assert_eq!(
        (reports.queued, reports.dropped, reports.closed),
        (500 * 5 + 5, 0, 0)
    );
}
for_each_driver!(a_broadcast_reaches_every_other_connection_once_and_in_order);
