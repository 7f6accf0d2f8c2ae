//! Graceful shutdown: every open connection closes with 1001 "server shutting down", new
//! ones are refused, and the server ends once the last one has closed. Every test runs on
//! both drivers.

use duplex::{CloseCode, ServerBuilder, WebSocket};

#[macro_use]
mod common;
use common::{bounded, serve, App, Driver, TestServer};

type Client = WebSocket<duplex::MaybeTlsStream<tokio::net::TcpStream>>;

/// `n` clients, each seen open by the server (it echoed a message).
async fn clients(server: &TestServer, n: usize) -> Vec<Client> {
    let mut clients = Vec::new();
    for _ in 0..n {
        let (mut ws, _) = duplex::connect(&server.url).await.unwrap();
        ws.send("hi").await.unwrap();
        ws.recv().await.unwrap();
        clients.push(ws);
    }
    clients
}

/// Each client gets the shutdown's close frame, then the end of the connection.
async fn closed_by_the_shutdown(clients: &mut [Client]) {
    for ws in clients {
        let end = bounded("the shutdown's close", ws.recv()).await;
        assert_eq!(end.unwrap(), None);
        let frame = ws.close_frame().unwrap();
        assert_eq!(
            (frame.code, frame.reason.as_str()),
            (CloseCode::GOING_AWAY, "server shutting down")
        );
    }
}

async fn graceful_shutdown_closes_every_connection_with_1001_and_refuses_new_ones(driver: Driver) {
    let server = serve(driver, ServerBuilder::new(), App::Echo);
    let mut clients = clients(&server, 5).await;
    assert_eq!(server.open_connections(), 5);
    server.shutdown();
    closed_by_the_shutdown(&mut clients).await;
    // New connections are refused. The task driver's accept loop is the application's, and
    // it still accepts here: the builder answers 503. The event loop owns its listener and
    // closes it: TCP refuses.
    match driver {
        Driver::Tasks => {
            let refused = duplex::connect(&server.url).await.unwrap_err();
            assert!(refused.to_string().contains("503"), "{refused}");
        }
        Driver::EventLoop => {
            let refused = tokio::net::TcpStream::connect(server.addr)
                .await
                .unwrap_err();
            assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused);
        }
    }
    server.finished().await;
}
for_each_driver!(graceful_shutdown_closes_every_connection_with_1001_and_refuses_new_ones);

async fn shutdown_reaches_connections_that_replaced_closed_ones_across_threads(driver: Driver) {
    let server = serve(driver, ServerBuilder::new(), App::Echo);
    // Connections that come and go before the shutdown leave their places to later ones.
    let mut clients = clients(&server, 20).await;
    for mut ws in clients.drain(10..) {
        ws.close(CloseCode::NORMAL, "").await.unwrap();
        while ws.recv().await.unwrap().is_some() {}
    }
    clients.extend(self::clients(&server, 15).await);
    server.wait_for_open(25).await;
    server.shutdown();
    closed_by_the_shutdown(&mut clients).await;
    server.finished().await;
}
for_each_driver!(shutdown_reaches_connections_that_replaced_closed_ones_across_threads,
    tasks: #[tokio::test(flavor = "multi_thread", worker_threads = 2)],
    event_loop: #[tokio::test(flavor = "multi_thread", worker_threads = 2)]);

async fn the_builders_shutdown_handle_shuts_down_either_driver(driver: Driver) {
    let builder = ServerBuilder::new();
    let shutdown = builder.shutdown_handle();
    let server = serve(driver, builder, App::Echo);
    let mut clients = clients(&server, 3).await;
    shutdown.begin();
    closed_by_the_shutdown(&mut clients).await;
    server.finished().await;
}
for_each_driver!(the_builders_shutdown_handle_shuts_down_either_driver,
    tasks: #[tokio::test],
    event_loop: #[tokio::test]);

async fn a_handshake_in_progress_when_the_shutdown_begins_gets_503(driver: Driver) {
    let server = serve(driver, ServerBuilder::new(), App::Echo);
    let mut slow = common::raw::connect(server.addr, b"GET / HTTP/1.1\r\nHost: loc").await;
    // Accepted in order: once a later client is served, the slow one is in its handshake.
    let mut clients = clients(&server, 1).await;
    server.shutdown();
    let answer = common::raw::read_to_end(&mut slow, false).await;
    assert_eq!(
        common::raw::status_line(&answer),
        "HTTP/1.1 503 Service Unavailable"
    );
    closed_by_the_shutdown(&mut clients).await;
    server.finished().await;
}
for_each_driver!(a_handshake_in_progress_when_the_shutdown_begins_gets_503,
    tasks: #[tokio::test],
    event_loop: #[tokio::test]);
