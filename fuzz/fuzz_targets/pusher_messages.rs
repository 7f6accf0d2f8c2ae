#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| duplex_fuzz::pusher_messages::run(data));
