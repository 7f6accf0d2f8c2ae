#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| duplex_fuzz::fossil_apply::run(data));
