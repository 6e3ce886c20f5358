//! Decodes arbitrary polling bodies; decoded packets must round-trip.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| tidings_eio::fuzz_support::payload(input));
