//! The tokio runtime every long-running subcommand (servers and load generators) runs on.
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
