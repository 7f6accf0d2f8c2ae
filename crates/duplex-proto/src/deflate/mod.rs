//! permessage-deflate (RFC 7692): negotiation in [`negotiation`], the codec here.
//!
//! A message is compressed whole with a sync flush and the trailing `00 00 ff ff` removed; a
//! received one is inflated whole, once its last frame has arrived, with that tail restored.
//! Working on whole messages lets a direction without context takeover borrow a per-thread
//! compressor or inflater instead of owning one, so such connections hold no deflate memory
//! at all between messages; with context takeover each connection owns its state, created on
//! first use. Inflating stops as soon as the output passes the message limit, so a small frame
//! that would inflate to gigabytes costs no more than the limit.

pub mod negotiation;

use std::cell::RefCell;

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

pub use negotiation::{DeflateConfig, DeflateParams};

/// The four bytes a sync flush ends with, removed before sending and restored before inflating.
const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// Why inflating a message failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum InflateError {
    /// The data is not valid deflate.
    Corrupt,
    /// The inflated message exceeds the limit.
    TooBig,
}

/// One connection's compression state, after negotiation.
#[derive(Debug)]
pub(crate) struct Deflate {
    /// Window bits of our compressor, or `None` when we must not compress (window 8, which
    /// zlib cannot produce for raw deflate; sending uncompressed is always allowed).
    send_window_bits: Option<u8>,
    /// Window bits the peer compresses with (at least 9: a larger window inflates anything a
    /// smaller one produced).
    receive_window_bits: u8,
    /// Reset our compressor after every message (and so share one per thread).
    send_no_context_takeover: bool,
    /// The peer resets its compressor after every message (and so we share an inflater).
    receive_no_context_takeover: bool,
    level: u32,
    threshold: usize,
    compressor: Option<Box<Compress>>,
    inflater: Option<Box<Decompress>>,
    /// Reused buffer for compressing outgoing messages. Here rather than in the connection:
    /// only connections with deflate need it, and every open connection would carry the
    /// 24 bytes of an empty one.
    pub(crate) scratch: Vec<u8>,
}

impl Deflate {
    /// The state for `params` as seen from our side (`is_server` picks which direction is ours).
    pub(crate) fn new(params: &DeflateParams, config: &DeflateConfig, is_server: bool) -> Self {
        let (send_bits, receive_bits, send_reset, receive_reset) = if is_server {
            (
                params.server_max_window_bits,
                params.client_max_window_bits,
                params.server_no_context_takeover,
                params.client_no_context_takeover,
            )
        } else {
            (
                params.client_max_window_bits,
                params.server_max_window_bits,
                params.client_no_context_takeover,
                params.server_no_context_takeover,
            )
        };
        Deflate {
            send_window_bits: (send_bits >= 9)
                .then_some(send_bits.min(config.max_window_bits.max(9))),
            receive_window_bits: receive_bits.max(9),
            send_no_context_takeover: send_reset || config.no_context_takeover,
            receive_no_context_takeover: receive_reset,
            level: config.level,
            threshold: config.threshold,
            compressor: None,
            inflater: None,
            scratch: Vec::new(),
        }
    }

    /// True if a message of `len` bytes should be compressed.
    pub(crate) fn should_compress(&self, len: usize) -> bool {
        self.send_window_bits.is_some() && len >= self.threshold
    }

    /// Compresses a whole message into `out` (cleared first), without the sync-flush tail.
    pub(crate) fn compress(&mut self, input: &[u8], out: &mut Vec<u8>) {
        let bits = self.send_window_bits.unwrap_or(15);
        if self.send_no_context_takeover {
            with_shared(
                &SHARED_COMPRESSORS,
                (self.level.min(9), bits),
                new_compressor,
                |c| {
                    compress_into(c, input, out);
                    c.reset();
                },
            );
        } else {
            let (level, compressor) = (self.level, &mut self.compressor);
            let c = compressor.get_or_insert_with(|| Box::new(new_compressor((level, bits))));
            compress_into(c, input, out);
        }
    }

    /// Inflates a whole message (its frames' payloads joined) into `out`, failing once the
    /// output exceeds `limit` bytes.
    pub(crate) fn decompress(
        &mut self,
        input: &[u8],
        out: &mut Vec<u8>,
        limit: usize,
    ) -> Result<(), InflateError> {
        let bits = self.receive_window_bits;
        if self.receive_no_context_takeover {
            with_shared(&SHARED_INFLATERS, (0, bits), new_inflater, |d| {
                let result = inflate_into(d, input, out, limit);
                d.reset(false);
                result
            })
        } else {
            let d = self
                .inflater
                .get_or_insert_with(|| Box::new(new_inflater((0, bits))));
            let result = inflate_into(d, input, out, limit);
            if result.is_err() {
                // The shared history is now unusable; the connection is failing anyway.
                d.reset(false);
            }
            result
        }
    }
}

type Key = (u32, u8);

/// Most contexts one thread keeps per pool. Every connection on the thread shares them and
/// they live as long as the thread, so without a cap their number would be that of the
/// distinct (level, window bits) keys ever seen, and the window bits are the peer's choice
/// (9 to 15 in the offer): a compressor at window 15 holds about 256 KiB. One configuration
/// whose peers all negotiate alike (browsers always do) needs one context; 8 leaves room for a
/// few configurations and peers that differ, while capping a thread at about 2 MiB of
/// compressors. Past it the least recently used context is dropped, and a key that returns is
/// created again: slower for that message, never wrong.
const POOL_CAP: usize = 8;

thread_local! {
    /// Compressors for directions without context takeover, one per (level, window bits),
    /// most recently used first.
    static SHARED_COMPRESSORS: RefCell<Vec<(Key, Compress)>> = const { RefCell::new(Vec::new()) };
    /// Inflaters for directions without context takeover, one per window bits, most recently
    /// used first.
    static SHARED_INFLATERS: RefCell<Vec<(Key, Decompress)>> = const { RefCell::new(Vec::new()) };
}

/// Runs `work` on the thread's context for `key` from `pool`, creating it (and dropping the
/// least recently used one past [`POOL_CAP`]) if there is none.
fn with_shared<T, R>(
    pool: &'static std::thread::LocalKey<RefCell<Vec<(Key, T)>>>,
    key: Key,
    create: fn(Key) -> T,
    work: impl FnOnce(&mut T) -> R,
) -> R {
    pool.with(|cell| {
        let mut pool = cell.borrow_mut();
        match pool.iter().position(|(k, _)| *k == key) {
            // Nearly always the first: one key per thread is the common case.
            Some(i) => pool[..=i].rotate_right(1),
            None => {
                pool.truncate(POOL_CAP - 1);
                pool.insert(0, (key, create(key)));
            }
        }
        work(&mut pool[0].1)
    })
}

/// How many contexts the thread's two pools hold (compressors, inflaters).
#[cfg(test)]
fn pooled() -> (usize, usize) {
    (
        SHARED_COMPRESSORS.with(|cell| cell.borrow().len()),
        SHARED_INFLATERS.with(|cell| cell.borrow().len()),
    )
}

fn new_compressor((level, bits): Key) -> Compress {
    Compress::new_with_window_bits(Compression::new(level.min(9)), false, bits)
}

fn new_inflater((_, bits): Key) -> Decompress {
    Decompress::new_with_window_bits(false, bits)
}

fn compress_into(c: &mut Compress, input: &[u8], out: &mut Vec<u8>) {
    out.clear();
    out.reserve(input.len() / 2 + 64);
    let start_in = c.total_in();
    loop {
        let consumed = (c.total_in() - start_in) as usize;
        // A sync flush with output space left over has written everything.
        let status = c.compress_vec(&input[consumed..], out, FlushCompress::Sync);
        let done = (c.total_in() - start_in) as usize == input.len() && out.len() < out.capacity();
        if done || matches!(status, Ok(Status::StreamEnd) | Err(_)) {
            break;
        }
        out.reserve(out.capacity().max(64));
    }
    if out.ends_with(&TAIL) {
        out.truncate(out.len() - TAIL.len());
    }
    // With context takeover, a sync flush with no new input writes nothing at all; an empty
    // message is then sent as the single byte 0x00 (RFC 7692 7.2.3.6), an empty stored block
    // that leaves the peer's inflater where it was.
    if out.is_empty() {
        out.push(0x00);
    }
}

fn inflate_into(
    d: &mut Decompress,
    input: &[u8],
    out: &mut Vec<u8>,
    limit: usize,
) -> Result<(), InflateError> {
    out.clear();
    // An empty compressed payload is an empty message. Feeding the inflater the tail alone
    // would leave it inside a stored block's header and break the next message.
    if input.is_empty() {
        return Ok(());
    }
    for part in [input, &TAIL[..]] {
        let start_in = d.total_in();
        loop {
            let consumed = (d.total_in() - start_in) as usize;
            if out.len() == out.capacity() {
                if out.len() > limit {
                    return Err(InflateError::TooBig);
                }
                // Grow with the output, never past one byte beyond the limit.
                let room = (out.capacity().max(4096)).min(limit + 1 - out.len());
                out.reserve_exact(room.max(1));
            }
            let status = d
                .decompress_vec(&part[consumed..], out, FlushDecompress::Sync)
                .map_err(|_| InflateError::Corrupt)?;
            if out.len() > limit {
                return Err(InflateError::TooBig);
            }
            let all_in = (d.total_in() - start_in) as usize == part.len();
            if matches!(status, Status::StreamEnd) || (all_in && out.len() < out.capacity()) {
                break;
            }
            if matches!(status, Status::BufError) && all_in {
                break;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(config: &DeflateConfig) -> (Deflate, Deflate) {
        let params = DeflateParams::default();
        (
            Deflate::new(&params, config, false),
            Deflate::new(&params, config, true),
        )
    }

    #[test]
    fn round_trips_with_and_without_context_takeover() {
        for config in [
            DeflateConfig::default(),
            DeflateConfig::default().no_context_takeover(true),
        ] {
            let (mut client, mut server) = pair(&config);
            let mut wire = Vec::new();
            let mut back = Vec::new();
            for message in [
                "",
                "a",
                &"{\"price\": 101.5, \"symbol\": \"ACME\"}".repeat(50),
                "tail",
            ] {
                client.compress(message.as_bytes(), &mut wire);
                assert!(!wire.ends_with(&TAIL) || message.is_empty());
                server.decompress(&wire, &mut back, 1 << 20).unwrap();
                assert_eq!(back, message.as_bytes());
            }
        }
    }

    #[test]
    fn context_takeover_makes_repeats_cheaper() {
        let (mut client, _) = pair(&DeflateConfig::default());
        let message = "{\"user\": \"alice\", \"text\": \"hello there, how are you today?\"}";
        let mut first = Vec::new();
        let mut second = Vec::new();
        client.compress(message.as_bytes(), &mut first);
        client.compress(message.as_bytes(), &mut second);
        assert!(
            second.len() < first.len() / 2,
            "{} then {}",
            first.len(),
            second.len()
        );
    }

    #[test]
    fn a_bomb_stops_at_the_limit() {
        let (mut client, mut server) = pair(&DeflateConfig::default());
        let huge = vec![0u8; 8 << 20];
        let mut wire = Vec::new();
        client.compress(&huge, &mut wire);
        assert!(
            wire.len() < 16 * 1024,
            "8 MiB of zeros compress to {} bytes",
            wire.len()
        );
        let mut out = Vec::new();
        assert_eq!(
            server.decompress(&wire, &mut out, 1 << 20),
            Err(InflateError::TooBig)
        );
        assert!(
            out.capacity() <= (1 << 20) + 4096 + 1,
            "allocated {}",
            out.capacity()
        );
    }

    #[test]
    fn empty_messages_between_others_keep_both_sides_in_step() {
        // Found by the frame_server fuzz target: with context takeover, an empty message
        // compressed to nothing and the peer's inflater was left mid-header.
        for config in [
            DeflateConfig::default().threshold(0),
            DeflateConfig::lean().threshold(0),
        ] {
            let (mut client, mut server) = pair(&config);
            let mut wire = Vec::new();
            let mut back = Vec::new();
            for message in [&b"\x08\x00"[..], b"", b"", b"d\r", b"", b"tail"] {
                client.compress(message, &mut wire);
                assert!(!wire.is_empty());
                server.decompress(&wire, &mut back, 1 << 20).unwrap();
                assert_eq!(back, message);
            }
            // A peer that does send an empty compressed payload is understood too.
            server.decompress(&[], &mut back, 1 << 20).unwrap();
            assert!(back.is_empty());
            client.compress(b"after", &mut wire);
            server.decompress(&wire, &mut back, 1 << 20).unwrap();
            assert_eq!(back, b"after");
        }
    }

    /// Connections without context takeover come and go with every level and window size:
    /// each thread keeps at most `POOL_CAP` contexts per pool, and every message still
    /// round-trips, whether its context was pooled, evicted or created again.
    #[test]
    fn the_shared_pools_stay_bounded_as_connections_come_and_go() {
        std::thread::spawn(|| {
            let mut wire = Vec::new();
            let mut back = Vec::new();
            let message = "{\"price\": 101.5, \"symbol\": \"ACME\"}".repeat(20);
            for round in 0..3 {
                for level in 0..=9 {
                    for bits in 9..=15u8 {
                        let params = DeflateParams {
                            server_no_context_takeover: true,
                            client_no_context_takeover: true,
                            server_max_window_bits: bits,
                            client_max_window_bits: bits,
                        };
                        let config = DeflateConfig::lean().level(level).threshold(0);
                        let mut client = Deflate::new(&params, &config, false);
                        let mut server = Deflate::new(&params, &config, true);
                        client.compress(message.as_bytes(), &mut wire);
                        server.decompress(&wire, &mut back, 1 << 20).unwrap();
                        assert_eq!(back, message.as_bytes(), "round {round} {level} {bits}");
                        let (compressors, inflaters) = pooled();
                        assert!(compressors <= POOL_CAP && inflaters <= POOL_CAP);
                    }
                }
            }
            // 70 keys of compressors and 7 of inflaters went through: the first pool is full
            // and no larger, the second holds one per window size.
            assert_eq!(pooled(), (POOL_CAP, 7));
        })
        .join()
        .unwrap();
    }

    #[test]
    fn garbage_is_corrupt() {
        let (_, mut server) = pair(&DeflateConfig::default());
        let mut out = Vec::new();
        assert_eq!(
            server.decompress(&[0xff, 0xff, 0xff], &mut out, 1000),
            Err(InflateError::Corrupt)
        );
    }
}
