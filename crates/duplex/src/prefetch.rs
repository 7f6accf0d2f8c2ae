//! Cache prefetch hints, for loops that touch many cold objects one after another: a
//! broadcast queueing a frame to every connection spends most of its time waiting for each
//! connection's state to arrive from memory, one at a time, unless it asks for the next ones
//! early.

/// Asks the processor to load every cache line of `*object` (at most the first 512 bytes) into
/// its cache. A hint only: nothing is read, no lock is taken, and a dangling pointer would do
/// no harm, because a prefetch never faults.
pub fn object<T>(object: *const T) {
    const LINE: usize = 64;
    let start = object.cast::<u8>();
    let len = std::mem::size_of::<T>().min(512);
    let mut offset = 0;
    while offset < len {
        line(start.wrapping_add(offset));
        offset += LINE;
    }
}

#[cfg(target_arch = "x86_64")]
fn line(address: *const u8) {
    use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
    // SAFETY: `prefetcht0` is part of SSE, which every x86_64 processor has; it is a hint that
    // reads nothing architecturally and never faults, whatever the address.
    unsafe { _mm_prefetch::<_MM_HINT_T0>(address.cast()) }
}

#[cfg(not(target_arch = "x86_64"))]
fn line(_address: *const u8) {}
