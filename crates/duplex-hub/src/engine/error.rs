//! The one error type of the engine traits.
//!
//! It separates the caller's position problem (the client must be told it cannot recover) from
//! the engine being unreachable (worth a retry, Centrifugo's "internal" to the client) and from a
//! bug or corrupt state. It is `Clone` so a result can be shared by several waiters.

/// Why an engine call failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    /// The position given as `since` cannot be continued from: another epoch, publications
    /// after it no longer kept (a gap), or an offset beyond the stream's top. The client must be
    /// told it did not recover; the engine never skips a gap silently.
    #[error("unrecoverable stream position")]
    UnrecoverablePosition,
    /// The engine cannot serve now (not started, unreachable backend, a capacity limit).
    #[error("engine unavailable: {0}")]
    Unavailable(String),
    /// The engine failed in a way that is not the caller's doing.
    #[error("engine internal error: {0}")]
    Internal(String),
}
