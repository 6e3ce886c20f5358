//! Parses arbitrary bytes as the head of a request on serve's own HTTP/1.1 path.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| tidings_engine::fuzz_support::http_head(input));
