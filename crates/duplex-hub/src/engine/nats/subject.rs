//! NATS subjects for hub channels: `<prefix>.client.<channel>`, with the channel encoded into one
//! subject token.
//!
//! A hub channel may hold anything a client sends (dots, spaces, `*`, `>`, even nothing), while a
//! NATS subject is dot-separated tokens where `*` and `>` are wildcards and whitespace or an empty
//! token is refused. Publishing raw names would let `chat.*` receive `chat.a` and `chat.b`, or a
//! name with a space break the protocol line, so the channel becomes a single token by
//! percent-style escaping: ASCII letters, digits and `-_:#,=@+!~` stay as they are (namespaced
//! names such as `chat:lobby` or `personal:#42` read unchanged in NATS tools); every other byte
//! becomes `%XX` (upper-case hex), `%` included. The empty channel is the lone token `%`, which
//! no escaped name can produce. The mapping is one-to-one, so two channels never share a
//! subject. (Centrifugo puts the channel into the subject raw; duplex nodes do not share a NATS
//! subject space with Centrifugo nodes, whose envelope differs anyway.)

/// The subject token for `channel`, as described in the module documentation.
pub(crate) fn encode_channel(channel: &str) -> String {
    if channel.is_empty() {
        return "%".to_owned();
    }
    let mut token = String::with_capacity(channel.len());
    for &byte in channel.as_bytes() {
        if byte.is_ascii_alphanumeric() || b"-_:#,=@+!~".contains(&byte) {
            token.push(char::from(byte));
        } else {
            token.push('%');
            token.push(char::from(HEX[usize::from(byte >> 4)]));
            token.push(char::from(HEX[usize::from(byte & 0xf)]));
        }
    }
    token
}

const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// The channel a token encodes, or `None` for a token [`encode_channel`] cannot have produced
/// (a stray message on our subjects from some other NATS client).
#[cfg(test)]
pub(crate) fn decode_channel(token: &str) -> Option<String> {
    if token == "%" {
        return Some(String::new());
    }
    let bytes = token.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'%' => {
                let hex = bytes.get(index + 1..index + 3)?;
                let hex = std::str::from_utf8(hex).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                index += 3;
            }
            byte => {
                out.push(byte);
                index += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// The subject a channel's events travel on.
pub(crate) fn channel_subject(prefix: &str, channel: &str) -> String {
    format!("{prefix}.client.{}", encode_channel(channel))
}

/// Checks a subject prefix: one or more dot-separated tokens, none empty, without whitespace or
/// wildcards — what NATS accepts as the start of a literal subject.
pub fn validate_prefix(prefix: &str) -> Result<(), String> {
    if prefix.is_empty() {
        return Err("the NATS subject prefix is empty".to_owned());
    }
    for token in prefix.split('.') {
        if token.is_empty() {
            return Err(format!(
                "the NATS subject prefix {prefix:?} has an empty token"
            ));
        }
        if token
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '*' || c == '>')
        {
            return Err(format!(
                "the NATS subject prefix {prefix:?} holds whitespace or a wildcard (* or >)"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channels_become_one_literal_token() {
        for channel in [
            "chat:lobby",
            "a.b",
            "a b",
            "*",
            ">",
            "x.*.>",
            "",
            "%",
            "ünï",
            "\t\r\n",
        ] {
            let token = encode_channel(channel);
            assert!(!token.is_empty());
            assert!(
                !token.contains(['.', '*', '>', ' ', '\t', '\r', '\n']),
                "{channel:?} -> {token:?}"
            );
            assert_eq!(decode_channel(&token).as_deref(), Some(channel));
        }
        assert_eq!(encode_channel("personal:#42"), "personal:#42");
        assert_eq!(
            channel_subject("centrifugo", "a.b c"),
            "centrifugo.client.a%2Eb%20c"
        );
    }

    #[test]
    fn distinct_channels_get_distinct_tokens() {
        let names = ["%", "%25", "", "a.b", "a%2Eb", "a_b"];
        let tokens: std::collections::HashSet<_> =
            names.iter().map(|n| encode_channel(n)).collect();
        assert_eq!(tokens.len(), names.len());
    }

    #[test]
    fn tokens_no_encoder_makes_are_refused() {
        for token in ["%G0", "%2", "a%", "%FF"] {
            assert_eq!(decode_channel(token), None, "{token:?}");
        }
    }

    #[test]
    fn prefixes_are_literal_subjects() {
        assert!(validate_prefix("centrifugo").is_ok());
        assert!(validate_prefix("app.prod").is_ok());
        for bad in ["", "a..b", ".a", "a.", "a b", "a.*", "a.>"] {
            assert!(validate_prefix(bad).is_err(), "{bad:?}");
        }
    }
}
