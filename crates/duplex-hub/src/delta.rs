//! Fossil deltas: how a channel with `delta: "fossil"` sends a publication as the difference
//! from the previous one, which centrifuge-js (and other SDKs) apply on their side.
//!
//! The format (from the Fossil SCM) is text-framed, with numbers written in a base-64 digit
//! alphabet, most significant digit first:
//!
//! ```text
//! <target length>\n
//! <count>@<offset>,        copy count bytes of the source from offset
//! <count>:<bytes>          insert the next count bytes of the delta
//! <checksum>;              end: a 32-bit checksum of the target
//! ```
//!
//! The encoder indexes the source in 16-byte blocks by a rolling hash, slides the same hash
//! over the target, and turns each verified match (grown in both directions) into a copy
//! when the copy is shorter than the bytes it replaces. Any valid delta is acceptable to the
//! applier, so the encoder is free to trade ratio for speed; it is linear in practice, with a
//! bounded number of candidates per position so that repetitive input stays cheap.
//!
//! ```
//! use duplex_hub::delta::{apply_fossil_delta, fossil_delta};
//!
//! let old = br#"{"price":101.5,"symbol":"ACME","volume":1200,"venue":"XNAS"}"#;
//! let new = br#"{"price":101.7,"symbol":"ACME","volume":1300,"venue":"XNAS"}"#;
//! let delta = fossil_delta(old, new);
//! assert!(delta.len() < new.len());
//! assert_eq!(apply_fossil_delta(old, &delta).unwrap(), new);
//! ```

/// Block size of the source index and width of the rolling hash: matches shorter than this
/// are not looked for.
const WINDOW: usize = 16;

/// Most candidate blocks tried per target position (all-zero input puts every block in one
/// chain).
const MAX_CANDIDATES: usize = 64;

/// The digits of the format's numbers: value `i` is `DIGITS[i]`.
const DIGITS: &[u8; 64] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz~";

/// Why a delta could not be applied. The applier checks everything: a delta from the network
/// gives an error, never a panic or a wrong result.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeltaError {
    /// The delta ends in the middle of a command or has no end command.
    #[error("delta is truncated")]
    Truncated,
    /// A number is missing, not in the digit alphabet, or too large.
    #[error("bad number in delta at byte {0}")]
    BadNumber(usize),
    /// Something other than the expected separator or command letter.
    #[error("unexpected byte {byte:#04x} in delta at byte {at}")]
    Unexpected {
        /// The byte found.
        byte: u8,
        /// Its position in the delta.
        at: usize,
    },
    /// A copy reaches past the end of the source.
    #[error("copy reaches past the end of the source")]
    CopyOutOfRange,
    /// The commands produce more bytes than the header announced.
    #[error("delta output exceeds its announced size")]
    TooLong,
    /// The commands produce fewer bytes than the header announced.
    #[error("delta output is shorter than its announced size")]
    TooShort,
    /// The output's checksum differs from the delta's: wrong source, or a corrupted delta.
    #[error("delta checksum mismatch")]
    Checksum,
}

/// The delta that turns `source` into `target`.
pub fn fossil_delta(source: &[u8], target: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(target.len() / 4 + 32);
    put_number(&mut out, target.len() as u64);
    out.push(b'\n');
    let mut pending = 0; // start of the target bytes not yet in the delta
    if source.len() >= WINDOW && target.len() >= WINDOW {
        let index = SourceIndex::new(source);
        let mut pos = 0;
        let mut hash = RollingHash::new(&target[..WINDOW]);
        loop {
            if let Some(found) = index.best_match(source, target, pos, pending, hash.value()) {
                put_insert(&mut out, &target[pending..found.target_start]);
                put_copy(&mut out, found.len, found.source_start);
                pending = found.target_start + found.len;
                pos = pending;
                if pos + WINDOW > target.len() {
                    break;
                }
                hash = RollingHash::new(&target[pos..pos + WINDOW]);
            } else {
                if pos + WINDOW >= target.len() {
                    break;
                }
                hash.roll(target[pos], target[pos + WINDOW]);
                pos += 1;
            }
        }
    }
    put_insert(&mut out, &target[pending..]);
    put_number(&mut out, u64::from(checksum(target)));
    out.push(b';');
    out
}

/// Applies `delta` to `source`, checking the result's size and checksum.
pub fn apply_fossil_delta(source: &[u8], delta: &[u8]) -> Result<Vec<u8>, DeltaError> {
    let mut reader = Reader { delta, at: 0 };
    let size = reader.number()?;
    reader.expect(b'\n')?;
    let size = usize::try_from(size).map_err(|_| DeltaError::TooLong)?;
    // The announced size is untrusted: allocate as the output actually grows.
    let mut out = Vec::with_capacity(size.min(source.len() + delta.len()));
    loop {
        let count = reader.number()?;
        let at = reader.at;
        match reader.byte()? {
            b'@' => {
                let offset = reader.number()?;
                reader.expect(b',')?;
                let range = usize::try_from(offset)
                    .ok()
                    .zip(usize::try_from(count).ok())
                    .and_then(|(start, len)| Some(start..start.checked_add(len)?))
                    .filter(|range| range.end <= source.len())
                    .ok_or(DeltaError::CopyOutOfRange)?;
                if out.len() + range.len() > size {
                    return Err(DeltaError::TooLong);
                }
                out.extend_from_slice(&source[range]);
            }
            b':' => {
                let len = usize::try_from(count).map_err(|_| DeltaError::Truncated)?;
                if out.len().saturating_add(len) > size {
                    return Err(DeltaError::TooLong);
                }
                out.extend_from_slice(reader.take(len)?);
            }
            b';' => {
                if out.len() != size {
                    return Err(DeltaError::TooShort);
                }
                if count != u64::from(checksum(&out)) {
                    return Err(DeltaError::Checksum);
                }
                return Ok(out);
            }
            byte => return Err(DeltaError::Unexpected { byte, at }),
        }
    }
}

/// The format's checksum: the target read as big-endian 32-bit words, summed with
/// wrap-around, a short tail counting as a word padded with zeros.
fn checksum(data: &[u8]) -> u32 {
    let mut words = data.chunks_exact(4);
    let mut sum = 0u32;
    for word in &mut words {
        sum = sum.wrapping_add(u32::from_be_bytes([word[0], word[1], word[2], word[3]]));
    }
    let mut tail = [0u8; 4];
    tail[..words.remainder().len()].copy_from_slice(words.remainder());
    sum.wrapping_add(u32::from_be_bytes(tail))
}

fn put_number(out: &mut Vec<u8>, mut value: u64) {
    let mut digits = [0u8; 11];
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = DIGITS[(value & 63) as usize];
        value >>= 6;
        if value == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[start..]);
}

fn number_len(value: usize) -> usize {
    let bits = usize::BITS - value.leading_zeros();
    (bits as usize).div_ceil(6).max(1)
}

fn put_insert(out: &mut Vec<u8>, bytes: &[u8]) {
    if !bytes.is_empty() {
        put_number(out, bytes.len() as u64);
        out.push(b':');
        out.extend_from_slice(bytes);
    }
}

fn put_copy(out: &mut Vec<u8>, len: usize, offset: usize) {
    put_number(out, len as u64);
    out.push(b'@');
    put_number(out, offset as u64);
    out.push(b',');
}

/// An Adler-style hash of a 16-byte window that slides one byte in O(1): `a` sums the
/// bytes, `b` sums them weighted by their distance from the window's end.
struct RollingHash {
    a: u32,
    b: u32,
}

impl RollingHash {
    fn new(window: &[u8]) -> RollingHash {
        let mut hash = RollingHash { a: 0, b: 0 };
        for (i, &byte) in window.iter().enumerate() {
            hash.a = hash.a.wrapping_add(u32::from(byte));
            hash.b = hash.b.wrapping_add((WINDOW - i) as u32 * u32::from(byte));
        }
        hash
    }

    fn roll(&mut self, out: u8, into: u8) {
        self.a = self
            .a
            .wrapping_sub(u32::from(out))
            .wrapping_add(u32::from(into));
        self.b = self
            .b
            .wrapping_sub(WINDOW as u32 * u32::from(out))
            .wrapping_add(self.a);
    }

    fn value(&self) -> u32 {
        (self.a & 0xffff) | (self.b << 16)
    }
}

/// The source's aligned blocks by hash: bucket heads and, per block, the previous block in
/// the same bucket.
struct SourceIndex {
    heads: Vec<u32>,
    next: Vec<u32>,
    mask: u32,
}

const NONE: u32 = u32::MAX;

struct Match {
    source_start: usize,
    target_start: usize,
    len: usize,
}

impl SourceIndex {
    fn new(source: &[u8]) -> SourceIndex {
        let blocks = source.len() / WINDOW;
        let buckets = blocks.next_power_of_two().max(2);
        let mut index = SourceIndex {
            heads: vec![NONE; buckets],
            next: vec![NONE; blocks],
            mask: (buckets - 1) as u32,
        };
        for block in 0..blocks {
            let start = block * WINDOW;
            let bucket =
                (RollingHash::new(&source[start..start + WINDOW]).value() & index.mask) as usize;
            index.next[block] = index.heads[bucket];
            index.heads[bucket] = block as u32;
        }
        index
    }

    /// The longest verified match for the window at `pos`, grown backwards into the pending
    /// literal (down to `pending`) and forwards as far as it goes; `None` unless a copy
    /// command would be shorter than the bytes it covers.
    fn best_match(
        &self,
        source: &[u8],
        target: &[u8],
        pos: usize,
        pending: usize,
        hash: u32,
    ) -> Option<Match> {
        let mut best: Option<Match> = None;
        let mut block = self.heads[(hash & self.mask) as usize];
        let mut tried = 0;
        while block != NONE && tried < MAX_CANDIDATES {
            tried += 1;
            let start = block as usize * WINDOW;
            block = self.next[block as usize];
            let forward = source[start..]
                .iter()
                .zip(&target[pos..])
                .take_while(|(s, t)| s == t)
                .count();
            if forward < WINDOW {
                continue;
            }
            let backward = source[..start]
                .iter()
                .rev()
                .zip(target[pending..pos].iter().rev())
                .take_while(|(s, t)| s == t)
                .count();
            let len = backward + forward;
            let found = Match {
                source_start: start - backward,
                target_start: pos - backward,
                len,
            };
            // The copy command's own size, and an insert command it may split off.
            let cost = number_len(len) + number_len(found.source_start) + 2;
            if len > cost && best.as_ref().is_none_or(|b| len > b.len) {
                best = Some(found);
            }
        }
        best
    }
}

struct Reader<'a> {
    delta: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn byte(&mut self) -> Result<u8, DeltaError> {
        let byte = *self.delta.get(self.at).ok_or(DeltaError::Truncated)?;
        self.at += 1;
        Ok(byte)
    }

    fn expect(&mut self, wanted: u8) -> Result<(), DeltaError> {
        let at = self.at;
        match self.byte()? {
            byte if byte == wanted => Ok(()),
            byte => Err(DeltaError::Unexpected { byte, at }),
        }
    }

    fn take(&mut self, len: usize) -> Result<&[u8], DeltaError> {
        let end = self.at.checked_add(len).ok_or(DeltaError::Truncated)?;
        let bytes = self.delta.get(self.at..end).ok_or(DeltaError::Truncated)?;
        self.at = end;
        Ok(bytes)
    }

    /// At least one digit; the value must fit in 64 bits.
    fn number(&mut self) -> Result<u64, DeltaError> {
        let start = self.at;
        let mut value: u64 = 0;
        while let Some(digit) = self.delta.get(self.at).and_then(|&b| digit_value(b)) {
            value = value
                .checked_mul(64)
                .map(|v| v + u64::from(digit))
                .ok_or(DeltaError::BadNumber(start))?;
            self.at += 1;
        }
        if self.at == start {
            return Err(match self.delta.get(start) {
                None => DeltaError::Truncated,
                Some(_) => DeltaError::BadNumber(start),
            });
        }
        Ok(value)
    }
}

fn digit_value(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'A'..=b'Z' => Some(byte - b'A' + 10),
        b'_' => Some(36),
        b'a'..=b'z' => Some(byte - b'a' + 37),
        b'~' => Some(63),
        _ => None,
    }
}
