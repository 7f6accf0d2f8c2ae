#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| duplex_fuzz::close_payload::run(data));
