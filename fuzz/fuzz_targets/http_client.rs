#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| duplex_fuzz::http_client::run(data));
