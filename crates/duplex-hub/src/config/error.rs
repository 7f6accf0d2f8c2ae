//! Why a configuration could not be loaded. Every error about a value names the option's key
//! path (`client.ping_interval`, `channel.namespaces[chat].history_ttl`) so the operator can
//! find it in the file, in a `DUPLEX_*` variable or on the command line.

use std::path::PathBuf;

use thiserror::Error;

/// A configuration that cannot be used.
#[derive(Debug, Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// The file name ends neither in `.json` nor in `.toml`.
    #[error("cannot tell the format of {0}: name it *.json (Centrifugo) or *.toml")]
    UnknownFormat(PathBuf),
    /// The JSON text does not parse.
    #[error("invalid JSON configuration: {0}")]
    Json(#[from] serde_json::Error),
    /// The TOML text does not parse.
    #[error("invalid TOML configuration: {0}")]
    Toml(#[from] toml::de::Error),
    /// An option has a value it cannot take, or options contradict each other.
    #[error("{key}: {reason}")]
    Invalid {
        /// The key path of the option at fault.
        key: String,
        /// What is wrong, in a short phrase.
        reason: String,
    },
    /// [`HubConfig::set`](super::HubConfig::set) was given a key the hub does not know.
    #[error("unknown configuration key {0:?}")]
    UnknownKey(String),
}

impl ConfigError {
    /// An invalid value or combination at `key`.
    pub(crate) fn invalid(key: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Invalid {
            key: key.into(),
            reason: reason.into(),
        }
    }

    /// The key path this error is about, if it is about one option.
    pub fn key(&self) -> Option<&str> {
        match self {
            Self::Invalid { key, .. } => Some(key),
            Self::UnknownKey(key) => Some(key),
            _ => None,
        }
    }
}
