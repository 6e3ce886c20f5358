//! Decodes one msgpack Socket.IO message.
//!
//! The decoder must never panic, and every packet it yields must survive
//! encode → decode unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tidings_sio::{DecoderLimits, msgpack};

fuzz_target!(|input: &[u8]| {
    let limits = DecoderLimits::default();
    if let Ok(packet) = msgpack::decode(input, &limits) {
        let encoded = msgpack::encode(&packet).expect("a decoded packet re-encodes");
        assert_eq!(msgpack::decode(&encoded, &limits), Ok(packet));
    }
});
