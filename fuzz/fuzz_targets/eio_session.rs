//! Drives an Engine.IO session with arbitrary sequences of requests, frames and timers.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| tidings_eio::fuzz_support::session(input));
