//! `--event-loop --threads N`: several loops on one port. The echo answers every connection
//! whichever loop took it and Ctrl-C closes all of them with 1001 before a clean exit. (That
//! the relay delivers every message to every receiver across loops, in order, is one of the
//! broadcast cases in `bench.rs`.)

mod common;

use common::Echo;

const CONNECTIONS: usize = 32;

#[test]
fn two_event_loops_echo_every_connection_and_stop_on_ctrl_c() {
    let mut echo = Echo::start(&["--event-loop", "--threads", "2"]);
    let url = echo.url.clone();
    common::block_on(async {
        let mut clients = Vec::with_capacity(CONNECTIONS);
        for _ in 0..CONNECTIONS {
            clients.push(duplex::connect(&url).await.unwrap().0);
        }
        for (i, ws) in clients.iter_mut().enumerate() {
            ws.send(format!("hello {i}")).await.unwrap();
            let echoed = ws.recv().await.unwrap().unwrap();
            assert_eq!(echoed.as_text(), Some(format!("hello {i}").as_str()));
        }
        // Named as it starts, so looked for once the echoes are in: 32 connections over two
        // loops leave the second without one with odds of 2^-32.
        #[cfg(target_os = "linux")]
        {
            let names = thread_names(echo.pid());
            assert!(
                names.iter().any(|n| n == "duplex-loop-1"),
                "a second loop's thread: {names:?}"
            );
        }
        echo.interrupt();
        common::expect_going_away(&mut clients).await;
    });
    echo.expect_clean_exit();
}

/// The names of a process's threads.
#[cfg(target_os = "linux")]
fn thread_names(pid: u32) -> Vec<String> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).expect("the server's threads");
    tasks
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
        .map(|name| name.trim().to_owned())
        .collect()
}
