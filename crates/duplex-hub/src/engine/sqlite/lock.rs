//! One hub per data folder: an exclusive lock on `<folder>/hub.lock`, held while the writer runs.
//!
//! Two hubs writing one database would each believe they own its streams: both would assign
//! offsets, deliver only to their own clients and trim each other's rows. SQLite's locks
//! serialize the writes but cannot tell two owners apart, so the engine takes an advisory lock
//! (`flock`) when it opens the folder and lets go when it closes. The kernel drops the lock when
//! the process dies, SIGKILL included, so a crash never leaves a stale lock to clean up by hand.

use std::fs::{File, OpenOptions};
use std::path::Path;

use crate::engine::EngineError;

/// The name of the lock file inside the data folder.
pub const LOCK_FILE: &str = "hub.lock";

/// The held lock; dropping it releases the folder.
#[derive(Debug)]
pub(super) struct FolderLock {
    _file: File,
}

impl FolderLock {
    /// Locks `folder` (which exists) for this engine, or says which folder is in use.
    pub(super) fn acquire(folder: &Path) -> Result<FolderLock, EngineError> {
        let path = folder.join(LOCK_FILE);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| {
                EngineError::Unavailable(format!(
                    "sqlite engine cannot use {}: {e}",
                    path.display()
                ))
            })?;
        match try_lock_exclusive(&file) {
            Ok(true) => Ok(FolderLock { _file: file }),
            Ok(false) => Err(EngineError::Unavailable(format!(
                "sqlite engine cannot use {}: another hub is using this data folder \
                 (one hub per folder; give each its own --data-dir or engine.sqlite.path)",
                folder.display()
            ))),
            Err(e) => Err(EngineError::Unavailable(format!(
                "sqlite engine cannot lock {}: {e}",
                path.display()
            ))),
        }
    }
}

#[cfg(unix)]
fn try_lock_exclusive(file: &File) -> std::io::Result<bool> {
    use std::os::unix::io::AsRawFd;
    // SAFETY: flock only reads the descriptor, which `file` owns and keeps open.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if rc == 0 {
        return Ok(true);
    }
    let error = std::io::Error::last_os_error();
    if error.kind() == std::io::ErrorKind::WouldBlock {
        Ok(false)
    } else {
        Err(error)
    }
}

/// Elsewhere the folder is not locked: the hub runs its tests and deployments on Unix.
#[cfg(not(unix))]
fn try_lock_exclusive(_file: &File) -> std::io::Result<bool> {
    Ok(true)
}
