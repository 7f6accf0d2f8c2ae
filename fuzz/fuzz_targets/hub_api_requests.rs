#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| duplex_fuzz::hub_api_requests::run(data));
