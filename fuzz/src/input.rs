//! Reading control bytes from the front of a fuzz input, and splitting the rest into reads.
//!
//! Control bytes are read with [`Input::byte`], which yields 0 once the input runs out, so
//! every input is valid and a short one simply means "defaults". [`Chunks`] turns one control
//! byte into a deterministic sequence of read sizes, so a frame header, a mask offset or a
//! code point can be cut anywhere while the fuzzer keeps control over where.

/// A cursor over the fuzz input.
pub struct Input<'a> {
    data: &'a [u8],
}

impl<'a> Input<'a> {
    /// Wraps the whole input.
    pub fn new(data: &'a [u8]) -> Self {
        Input { data }
    }

    /// The next control byte, or 0 once the input is used up.
    pub fn byte(&mut self) -> u8 {
        match self.data.split_first() {
            Some((&b, rest)) => {
                self.data = rest;
                b
            }
            None => 0,
        }
    }

    /// Everything not read yet.
    pub fn rest(self) -> &'a [u8] {
        self.data
    }
}

/// Splits a byte slice into pieces whose sizes a control byte chooses.
///
/// Control byte `c`: 0 gives the whole slice at once; otherwise sizes are drawn from a small
/// xorshift generator seeded with `c`, between 1 and `(1 + (c & 0x3f))`, times 64 when bit 6
/// is set. So `c = 1` feeds one or two bytes at a time and `c = 0x7f` up to 4 KiB.
pub struct Chunks<'a> {
    data: &'a [u8],
    state: u32,
    max: usize,
}

impl<'a> Chunks<'a> {
    /// Pieces of `data` as control byte `control` says.
    pub fn new(data: &'a [u8], control: u8) -> Self {
        let max = match control {
            0 => usize::MAX,
            c => (1 + (c & 0x3f) as usize) * if c & 0x40 != 0 { 64 } else { 1 },
        };
        Chunks {
            data,
            state: (control as u32).wrapping_mul(0x9e37_79b9) | 1,
            max,
        }
    }

    fn next_size(&mut self) -> usize {
        if self.max == usize::MAX {
            return usize::MAX;
        }
        // xorshift32: cheap, deterministic, good enough to vary the cut points.
        self.state ^= self.state << 13;
        self.state ^= self.state >> 17;
        self.state ^= self.state << 5;
        1 + (self.state as usize % self.max)
    }
}

impl<'a> Iterator for Chunks<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if self.data.is_empty() {
            return None;
        }
        let n = self.next_size().min(self.data.len());
        let (piece, rest) = self.data.split_at(n);
        self.data = rest;
        Some(piece)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_cover_the_input_exactly() {
        let data: Vec<u8> = (0..=255).collect();
        for control in 0..=255u8 {
            let pieces: Vec<&[u8]> = Chunks::new(&data, control).collect();
            assert!(pieces.iter().all(|p| !p.is_empty()));
            assert_eq!(pieces.concat(), data);
        }
        assert_eq!(Chunks::new(&data, 0).count(), 1);
        assert!(Chunks::new(&data, 1).count() >= 128);
    }

    #[test]
    fn bytes_past_the_end_are_zero() {
        let mut input = Input::new(&[7]);
        assert_eq!((input.byte(), input.byte()), (7, 0));
        assert!(input.rest().is_empty());
    }
}
