//! The echo server over wss://: terminate TLS with a PEM certificate and key, then accept the
//! WebSocket handshake on the encrypted stream.
//!
//! ```text
//! cargo run -p duplex-examples --example wss_echo_server -- cert.pem key.pem 127.0.0.1:9443
//! cargo run -p duplex-examples --example client -- wss://127.0.0.1:9443 ca.pem
//! ```

#[tokio::main]
async fn main() -> Result<(), duplex::Error> {
    let mut args = std::env::args().skip(1);
    let (Some(cert), Some(key)) = (args.next(), args.next()) else {
        eprintln!("usage: wss_echo_server CERT.pem KEY.pem [ADDR]");
        std::process::exit(2);
    };
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:9443".into());
    // Fails here, with the file at fault, if a file is missing or the key is not the cert's.
    let acceptor = duplex::tls::acceptor_from_pem_files(&cert, &key)?;
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("echoing on wss://{addr}");
    loop {
        let (stream, peer) = listener.accept().await?;
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            let tls = match acceptor.accept(stream).await {
                Ok(tls) => tls,
                Err(e) => return eprintln!("{peer}: TLS handshake failed: {e}"),
            };
            let mut ws = match duplex::accept(tls).await {
                Ok(ws) => ws,
                Err(e) => return eprintln!("{peer}: handshake failed: {e}"),
            };
            while let Ok(Some(message)) = ws.recv().await {
                if ws.feed(message).await.is_err() {
                    break;
                }
            }
            println!("{peer}: closed {:?}", ws.close_frame());
        });
    }
}
