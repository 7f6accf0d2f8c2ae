//! `hub_config`: duplex-hub's configuration readers on arbitrary text — Centrifugo's JSON,
//! the TOML form, one option set from text (flags and `DUPLEX_*` variables), and a channel
//! name resolved against what was read.
//!
//! Configuration is not network input, but people paste it from anywhere (old Centrifugo
//! files, blog posts), and a panic there is a crash at start with no message worth reading.
//!
//! Input layout: byte 0 picks the mode (low two bits), the rest is text (lossy UTF-8).
//! - 0: `from_centrifugo_json(text)`; 1: `from_toml(text)`. Both end in `validate()`, so
//!   whatever they return must validate again. The text's last line, besides, is resolved
//!   as a channel name (`channel_options`) and a user (`personal_channel`).
//! - 2: `set(key, value)` on the defaults, the key being the known key numbered by byte 1
//!   and the value the rest; 3: the same with the key and value both from the text (split at
//!   the first `=`). Then `validate()`, and on success the same resolving as above.
//!
//! Invariant beyond "never panics": an accepted file gives a configuration that validates,
//! and that resolves channel names without panicking.

use duplex_hub::config::{known_keys, HubConfig};

thread_local! {
    static KEYS: Vec<String> = known_keys();
}

/// The target.
pub fn run(data: &[u8]) {
    let Some((&control, rest)) = data.split_first() else {
        return;
    };
    match control & 3 {
        0 | 1 => {
            let text = String::from_utf8_lossy(rest);
            let loaded = if control & 3 == 0 {
                HubConfig::from_centrifugo_json(&text)
            } else {
                HubConfig::from_toml(&text)
            };
            if let Ok(loaded) = loaded {
                assert!(
                    loaded.config.validate().is_ok(),
                    "an accepted file does not validate again"
                );
                resolve(&loaded.config, text.lines().last().unwrap_or(""));
            }
        }
        2 => {
            let Some((&index, value)) = rest.split_first() else {
                return;
            };
            let key = KEYS.with(|keys| keys[usize::from(index) % keys.len()].clone());
            set(&key, &String::from_utf8_lossy(value));
        }
        _ => {
            let text = String::from_utf8_lossy(rest);
            let (key, value) = text.split_once('=').unwrap_or((&text, ""));
            set(key, value);
        }
    }
}

fn set(key: &str, value: &str) {
    let mut config = HubConfig::default();
    if config.set(key, value).is_ok() && config.validate().is_ok() {
        resolve(&config, value);
    }
}

/// Name resolution on a configuration that validated: the session does this for every
/// channel a client names.
fn resolve(config: &HubConfig, name: &str) {
    if let Ok((_, channel)) = config.channel_options(name) {
        let _ = channel.allows_user(name);
    }
    if let Some(personal) = config.personal_channel(name) {
        let _ = config.channel_options(&personal);
    }
}
