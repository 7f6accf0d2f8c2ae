#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| duplex_fuzz::hub_tokens::run(data));
