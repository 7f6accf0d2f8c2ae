//! Examples live beside this file; see `cargo run -p duplex-examples --example echo_server`.
