#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| duplex_fuzz::hub_proxy_replies::run(data));
