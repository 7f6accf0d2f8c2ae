//! Negotiating permessage-deflate (RFC 7692 5, 7.1): offers, answers, and what was agreed.
//!
//! The client offers what it wants; the server takes the first offer it can honour and answers
//! with exactly what both sides will do. Offers with unknown, repeated or malformed parameters
//! are declined (the server moves on to the next one), as RFC 7692 asks; an answer like that
//! fails the client's handshake. A window of 8 bits is accepted where we only have to read it,
//! but our own compressor never uses it: zlib cannot produce raw deflate with a 256-byte window,
//! so with such an agreement we simply send messages uncompressed, which is always allowed.

/// How an endpoint wants permessage-deflate: what a client offers, what a server accepts.
///
/// The default keeps context takeover both ways, like browsers: the best ratio for small,
/// repetitive messages, at the cost of about 300 KiB per connection once it has compressed a
/// message. [`DeflateConfig::lean`] turns it off both ways, so idle connections hold no
/// deflate memory at all (each thread shares one compressor and one inflater).
///
/// ```
/// use duplex_proto::DeflateConfig;
/// let config = DeflateConfig::default().level(1).threshold(256);
/// assert_eq!(config.client_offer(), "permessage-deflate; client_max_window_bits");
/// assert_eq!(DeflateConfig::lean().client_offer(),
///     "permessage-deflate; client_max_window_bits; server_no_context_takeover; client_no_context_takeover");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeflateConfig {
    /// Largest window our compressor uses, 9 to 15 bits. Default 15.
    pub max_window_bits: u8,
    /// Largest window we let the peer compress with (our inflater's memory), 9 to 15 bits.
    /// A server can only ask this of a client that offered `client_max_window_bits`. Default 15.
    pub peer_max_window_bits: u8,
    /// Reset our compressor after every message. Default off.
    pub no_context_takeover: bool,
    /// Ask the peer to reset its compressor after every message. Default off.
    pub peer_no_context_takeover: bool,
    /// zlib compression level, 0 (store) to 9 (best). Default 6.
    pub level: u32,
    /// Messages shorter than this many bytes are sent uncompressed. Default 64.
    pub threshold: usize,
}

impl Default for DeflateConfig {
    fn default() -> Self {
        DeflateConfig {
            max_window_bits: 15,
            peer_max_window_bits: 15,
            no_context_takeover: false,
            peer_no_context_takeover: false,
            level: 6,
            threshold: 64,
        }
    }
}

/// What both sides agreed to, in RFC 7692's terms (client and server, not "us" and "peer").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeflateParams {
    /// The server resets its compressor after each message.
    pub server_no_context_takeover: bool,
    /// The client resets its compressor after each message.
    pub client_no_context_takeover: bool,
    /// The server compresses with at most this many window bits.
    pub server_max_window_bits: u8,
    /// The client compresses with at most this many window bits.
    pub client_max_window_bits: u8,
}

impl Default for DeflateParams {
    fn default() -> Self {
        DeflateParams {
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            server_max_window_bits: 15,
            client_max_window_bits: 15,
        }
    }
}

/// One parsed `permessage-deflate` offer or answer. `Some(None)` for a window parameter sent
/// without a value (only `client_max_window_bits` may be).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Parameters {
    server_no_context_takeover: bool,
    client_no_context_takeover: bool,
    server_max_window_bits: Option<Option<u8>>,
    client_max_window_bits: Option<Option<u8>>,
}

const NAME: &str = "permessage-deflate";

impl DeflateConfig {
    /// No context takeover either way: no deflate memory held by idle connections.
    pub fn lean() -> Self {
        DeflateConfig {
            no_context_takeover: true,
            peer_no_context_takeover: true,
            ..DeflateConfig::default()
        }
    }

    /// Sets the compression level (0-9).
    pub fn level(mut self, level: u32) -> Self {
        self.level = level.min(9);
        self
    }

    /// Sets the size below which messages go uncompressed.
    pub fn threshold(mut self, bytes: usize) -> Self {
        self.threshold = bytes;
        self
    }

    /// Sets our compressor's window (clamped to 9-15 bits).
    pub fn max_window_bits(mut self, bits: u8) -> Self {
        self.max_window_bits = bits.clamp(9, 15);
        self
    }

    /// Sets the window we let the peer use (clamped to 9-15 bits).
    pub fn peer_max_window_bits(mut self, bits: u8) -> Self {
        self.peer_max_window_bits = bits.clamp(9, 15);
        self
    }

    /// Turns our own context takeover off (`true`) or on.
    pub fn no_context_takeover(mut self, on: bool) -> Self {
        self.no_context_takeover = on;
        self
    }

    /// Asks the peer to turn its context takeover off (`true`) or lets it keep it.
    pub fn peer_no_context_takeover(mut self, on: bool) -> Self {
        self.peer_no_context_takeover = on;
        self
    }

    /// The `Sec-WebSocket-Extensions` offer a client sends.
    pub fn client_offer(&self) -> String {
        let mut offer = String::from(NAME);
        if self.max_window_bits < 15 {
            offer.push_str(&format!(
                "; client_max_window_bits={}",
                self.max_window_bits
            ));
        } else {
            offer.push_str("; client_max_window_bits");
        }
        if self.peer_max_window_bits < 15 {
            offer.push_str(&format!(
                "; server_max_window_bits={}",
                self.peer_max_window_bits
            ));
        }
        if self.peer_no_context_takeover {
            offer.push_str("; server_no_context_takeover");
        }
        if self.no_context_takeover {
            offer.push_str("; client_no_context_takeover");
        }
        offer
    }

    /// A server's choice among the client's extension offers (in order): the first valid
    /// permessage-deflate offer it can honour, as the agreed parameters and the answer to send.
    ///
    /// ```
    /// use duplex_proto::DeflateConfig;
    /// let offers = ["permessage-deflate; server_max_window_bits=8".to_owned(), // zlib can't
    ///               "permessage-deflate; client_max_window_bits".to_owned()];
    /// let (params, answer) = DeflateConfig::default().accept_offers(&offers).unwrap();
    /// assert_eq!(answer, "permessage-deflate");
    /// assert_eq!(params.client_max_window_bits, 15);
    /// ```
    pub fn accept_offers(&self, offers: &[String]) -> Option<(DeflateParams, String)> {
        offers
            .iter()
            .filter_map(|offer| parse(offer).ok().flatten())
            .find_map(|offer| self.accept(&offer))
    }

    fn accept(&self, offer: &Parameters) -> Option<(DeflateParams, String)> {
        let mut params = DeflateParams::default();
        let mut answer = String::from(NAME);
        // Our own compressor's window: the client may cap it.
        let mut server_bits = self.max_window_bits.clamp(9, 15);
        if let Some(requested) = offer.server_max_window_bits {
            let requested = requested?; // a value is required; parse() checked it
            if requested < 9 {
                return None;
            }
            server_bits = server_bits.min(requested);
            answer.push_str(&format!("; server_max_window_bits={server_bits}"));
        }
        params.server_max_window_bits = server_bits;
        if offer.server_no_context_takeover || self.no_context_takeover {
            params.server_no_context_takeover = true;
            answer.push_str("; server_no_context_takeover");
        }
        if offer.client_no_context_takeover || self.peer_no_context_takeover {
            params.client_no_context_takeover = true;
            answer.push_str("; client_no_context_takeover");
        }
        // The client's window: only limitable if it said it supports the parameter.
        params.client_max_window_bits = match offer.client_max_window_bits {
            None => 15,
            Some(offered) => {
                let bits = offered
                    .unwrap_or(15)
                    .min(self.peer_max_window_bits.clamp(9, 15));
                if bits < offered.unwrap_or(15) || offered.is_some() {
                    answer.push_str(&format!("; client_max_window_bits={bits}"));
                }
                bits
            }
        };
        Some((params, answer))
    }

    /// A client's check of the server's answer (the `Sec-WebSocket-Extensions` items): the
    /// agreed parameters, `None` if the server declined, or why the answer is invalid.
    pub fn check_answer(&self, answer: &[String]) -> Result<Option<DeflateParams>, String> {
        let mut agreed = None;
        for item in answer {
            let Some(parsed) = parse(item)? else { continue };
            if agreed.is_some() {
                return Err("permessage-deflate accepted twice".into());
            }
            let mut params = DeflateParams {
                server_no_context_takeover: parsed.server_no_context_takeover,
                client_no_context_takeover: parsed.client_no_context_takeover
                    || self.no_context_takeover,
                ..DeflateParams::default()
            };
            if self.peer_no_context_takeover && !parsed.server_no_context_takeover {
                return Err("server ignored server_no_context_takeover".into());
            }
            match parsed.server_max_window_bits {
                Some(Some(bits)) if bits > self.peer_max_window_bits => {
                    return Err(format!(
                        "server_max_window_bits={bits} exceeds the {} offered",
                        self.peer_max_window_bits
                    ))
                }
                Some(Some(bits)) => params.server_max_window_bits = bits,
                Some(None) => return Err("server_max_window_bits needs a value".into()),
                None if self.peer_max_window_bits < 15 => {
                    return Err("server ignored server_max_window_bits".into())
                }
                None => {}
            }
            params.client_max_window_bits = match parsed.client_max_window_bits {
                Some(Some(bits)) => bits.min(self.max_window_bits),
                Some(None) => {
                    return Err("client_max_window_bits needs a value in an answer".into())
                }
                None => self.max_window_bits,
            };
            agreed = Some(params);
        }
        Ok(agreed)
    }
}

/// Parses one extension item. `Ok(None)` if it is another extension; `Err` if it is a
/// malformed permessage-deflate item.
fn parse(item: &str) -> Result<Option<Parameters>, String> {
    let mut parts = item.split(';').map(str::trim);
    if !parts
        .next()
        .is_some_and(|name| name.eq_ignore_ascii_case(NAME))
    {
        return Ok(None);
    }
    let mut p = Parameters::default();
    for part in parts {
        let (name, value) = match part.split_once('=') {
            Some((n, v)) => (n.trim(), Some(v.trim().trim_matches('"'))),
            None => (part, None),
        };
        let bits = || -> Result<u8, String> {
            value
                .filter(|v| !v.is_empty() && v.len() <= 2 && v.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|v| v.parse().ok())
                .filter(|b| (8..=15).contains(b))
                .ok_or_else(|| format!("invalid {name} value {value:?}"))
        };
        let duplicate = || format!("duplicate {name}");
        match name.to_ascii_lowercase().as_str() {
            "server_no_context_takeover" | "client_no_context_takeover" if value.is_some() => {
                return Err(format!("{name} takes no value"))
            }
            "server_no_context_takeover" if p.server_no_context_takeover => return Err(duplicate()),
            "server_no_context_takeover" => p.server_no_context_takeover = true,
            "client_no_context_takeover" if p.client_no_context_takeover => return Err(duplicate()),
            "client_no_context_takeover" => p.client_no_context_takeover = true,
            "server_max_window_bits" if p.server_max_window_bits.is_some() => {
                return Err(duplicate())
            }
            "server_max_window_bits" => p.server_max_window_bits = Some(Some(bits()?)),
            "client_max_window_bits" if p.client_max_window_bits.is_some() => {
                return Err(duplicate())
            }
            "client_max_window_bits" if value.is_none() => p.client_max_window_bits = Some(None),
            "client_max_window_bits" => p.client_max_window_bits = Some(Some(bits()?)),
            _ => return Err(format!("unknown parameter {name:?}")),
        }
    }
    Ok(Some(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(config: DeflateConfig, offers: &[&str]) -> Option<(DeflateParams, String)> {
        let offers: Vec<String> = offers.iter().map(|s| s.to_string()).collect();
        config.accept_offers(&offers)
    }

    #[test]
    fn chromium_offer_is_accepted_plainly() {
        let (params, answer) = accept(
            DeflateConfig::default(),
            &["permessage-deflate; client_max_window_bits"],
        )
        .unwrap();
        assert_eq!(answer, "permessage-deflate");
        assert_eq!(params, DeflateParams::default());
        let (params, answer) = accept(
            DeflateConfig::lean(),
            &["permessage-deflate; client_max_window_bits"],
        )
        .unwrap();
        assert_eq!(
            answer,
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover"
        );
        assert!(params.server_no_context_takeover && params.client_no_context_takeover);
    }

    #[test]
    fn the_server_honours_what_the_client_asks() {
        let (params, answer) = accept(
            DeflateConfig::default(),
            &["permessage-deflate; server_no_context_takeover; server_max_window_bits=10"],
        )
        .unwrap();
        assert_eq!(
            answer,
            "permessage-deflate; server_max_window_bits=10; server_no_context_takeover"
        );
        assert_eq!(
            (
                params.server_max_window_bits,
                params.server_no_context_takeover
            ),
            (10, true)
        );
        let (params, answer) = accept(
            DeflateConfig::default().peer_max_window_bits(12),
            &["permessage-deflate; client_max_window_bits"],
        )
        .unwrap();
        assert_eq!(answer, "permessage-deflate; client_max_window_bits=12");
        assert_eq!(params.client_max_window_bits, 12);
    }

    #[test]
    fn invalid_offers_are_declined_and_the_next_one_taken() {
        for bad in [
            "permessage-deflate; server_max_window_bits",
            "permessage-deflate; server_max_window_bits=16",
            "permessage-deflate; server_max_window_bits=7",
            "permessage-deflate; server_max_window_bits=0x0f",
            "permessage-deflate; client_max_window_bits=1a",
            "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
            "permessage-deflate; client_max_window_bits; client_max_window_bits=10",
            "permessage-deflate; server_no_context_takeover=1",
            "permessage-deflate; foo",
            "permessage-deflate; server_max_window_bits=8",
        ] {
            assert_eq!(accept(DeflateConfig::default(), &[bad]), None, "{bad}");
            let (_, answer) =
                accept(DeflateConfig::default(), &[bad, "permessage-deflate"]).unwrap();
            assert_eq!(answer, "permessage-deflate", "{bad}");
        }
        assert_eq!(
            accept(DeflateConfig::default(), &["x-webkit-deflate-frame"]),
            None
        );
        // Quoted values are allowed by RFC 7692's grammar.
        assert!(accept(
            DeflateConfig::default(),
            &["permessage-deflate; server_max_window_bits=\"10\""]
        )
        .is_some());
    }

    #[test]
    fn the_client_checks_the_answer() {
        let config = DeflateConfig::default();
        let ok = |s: &str| config.check_answer(&[s.to_owned()]);
        assert_eq!(ok("permessage-deflate"), Ok(Some(DeflateParams::default())));
        assert_eq!(
            ok("permessage-deflate; client_max_window_bits=10")
                .unwrap()
                .unwrap()
                .client_max_window_bits,
            10
        );
        assert_eq!(
            ok("permessage-deflate; client_max_window_bits=8")
                .unwrap()
                .unwrap()
                .client_max_window_bits,
            8
        );
        assert!(ok("permessage-deflate; client_max_window_bits").is_err());
        assert!(ok("permessage-deflate; bogus").is_err());
        assert!(config
            .check_answer(&["permessage-deflate".into(), "permessage-deflate".into()])
            .is_err());
        let strict = DeflateConfig::default()
            .peer_no_context_takeover(true)
            .peer_max_window_bits(10);
        assert!(strict
            .check_answer(&["permessage-deflate; server_no_context_takeover".into()])
            .is_err());
        assert!(strict
            .check_answer(&[
                "permessage-deflate; server_no_context_takeover; server_max_window_bits=11".into()
            ])
            .is_err());
        assert_eq!(config.check_answer(&[]), Ok(None));
    }
}
