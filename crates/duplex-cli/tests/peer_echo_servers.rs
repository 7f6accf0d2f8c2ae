//! `duplex connect` and `duplex bench echo` against echo servers nobody here wrote: Python
//! `websockets` (which negotiates permessage-deflate) and Node `ws`, from tests/interop.
//!
//! They need `bash tests/interop/setup.sh` first (scripts/test runs it). Without it these
//! tests print why and pass, unless DUPLEX_REQUIRE_INTEROP is set, as in scripts/test.

mod common;

use std::io::{BufRead as _, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{run, QUICK};

/// A peer echo server from tests/interop, stopped on drop.
struct Peer {
    child: Child,
    url: String,
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn interop_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/interop")
}

/// Starts `program script PORT` and waits for its `ready` line; `None` if not set up.
fn start(program: PathBuf, script: &str, installed: PathBuf) -> Option<Peer> {
    if !installed.exists() {
        let note = format!(
            "{} is missing: run bash tests/interop/setup.sh",
            installed.display()
        );
        assert!(
            std::env::var_os("DUPLEX_REQUIRE_INTEROP").is_none(),
            "{note}"
        );
        eprintln!("skipped: {note}");
        return None;
    }
    // Port 0: the peer binds whatever the kernel gives it and names it in its "ready" line, so
    // no other test's connection can take the port between a choice and the peer's bind.
    let mut child = Command::new(program)
        .arg(interop_dir().join(script))
        .arg("0")
        .stdout(Stdio::piped())
        .stdin(Stdio::null())
        .spawn()
        .expect("start the peer echo server");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let port: u16 = loop {
        match lines.next() {
            Some(Ok(line)) if line.starts_with("ready ") => {
                break line["ready ".len()..].trim().parse().expect("ready PORT");
            }
            Some(Ok(_)) => {}
            _ => panic!("{script} exited before it was ready"),
        }
    };
    std::thread::spawn(move || lines.for_each(drop));
    Some(Peer {
        child,
        url: format!("ws://127.0.0.1:{port}/"),
    })
}

fn python() -> Option<Peer> {
    let venv = interop_dir().join(".venv/bin/python");
    start(venv.clone(), "python_echo_server.py", venv)
}

fn node() -> Option<Peer> {
    let installed = interop_dir().join("node_modules/ws");
    start("node".into(), "node_echo_server.mjs", installed)
}

/// Text, binary, a subprotocol and a normal close through `duplex connect`.
fn converse(peer: &Peer, extra: &[&str]) {
    let mut args = vec!["connect", "--json", "--protocol", "chat"];
    args.extend_from_slice(extra);
    args.push(&peer.url);
    let out = run(&args, "héllo\nsecond line\n", QUICK);
    assert_eq!(out.code(), 0, "{out:?}");
    let events = out.json_lines();
    assert_eq!(events[0]["protocol"], "chat");
    let data: Vec<_> = events
        .iter()
        .filter(|e| e["event"] == "message")
        .map(|e| &e["data"])
        .collect();
    assert_eq!(data, ["héllo", "second line"]);
    assert_eq!(events.last().unwrap()["code"], 1000);

    let binary = run(&["connect", "--binary", &peer.url], "\u{1}\u{2}\n", QUICK);
    assert_eq!((binary.code(), binary.stdout.as_str()), (0, "0102\n"));
}

/// A short `duplex bench echo`; every echo must match.
fn bench(peer: &Peer, extra: &[&str]) {
    let mut args = vec![
        "bench",
        "echo",
        "--url",
        &peer.url,
        "--conns",
        "2",
        "--pipeline",
        "8",
        "--duration",
        "1",
        "--warmup",
        "0.2",
        "--json",
    ];
    args.extend_from_slice(extra);
    let out = run(&args, "", Duration::from_secs(60));
    assert_eq!(out.code(), 0, "{out:?}");
    let report: serde_json::Value =
        serde_json::from_str(out.stdout.lines().last().unwrap()).unwrap();
    assert_eq!(report["errors"], 0, "{report}");
    assert!(report["messages"].as_u64().unwrap() > 0, "{report}");
}

#[test]
fn python_websockets_with_and_without_deflate() {
    let Some(peer) = python() else { return };
    converse(&peer, &[]);
    converse(&peer, &["--deflate"]);
    bench(&peer, &[]);
    bench(&peer, &["--deflate", "--size", "2000"]);
}

#[test]
fn node_ws() {
    let Some(peer) = node() else { return };
    converse(&peer, &[]);
    bench(&peer, &["--binary", "--size", "1000"]);
}
