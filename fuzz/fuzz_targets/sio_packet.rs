//! Drives the text `Decoder` with a sequence of Engine.IO messages.
//!
//! Input format (shared with `crates/tidings-sio/tests/corpus.rs`): messages
//! separated by the byte 0x1E; a message starting with `b` is binary (the
//! bytes after the `b`), any other is text (lossily UTF-8). The decoder must
//! never panic, and every packet it yields must survive encode → decode.
#![no_main]

use bytes::{Bytes, BytesMut};
use libfuzzer_sys::fuzz_target;
use tidings_sio::{Decoder, DecoderLimits, Packet};

fuzz_target!(|input: &[u8]| {
    let mut decoder = Decoder::new(DecoderLimits::default());
    for message in input.split(|&b| b == 0x1e) {
        let decoded = match message.split_first() {
            Some((b'b', bytes)) => decoder.handle_binary(Bytes::copy_from_slice(bytes)),
            _ => decoder.handle_text(&String::from_utf8_lossy(message)),
        };
        if let Ok(Some(packet)) = decoded {
            check_round_trip(&packet);
        }
    }
});

fn check_round_trip(packet: &Packet) {
    let mut text = BytesMut::new();
    packet.encode(&mut text);
    let text = std::str::from_utf8(&text).expect("the encoder writes UTF-8");
    let mut decoder = Decoder::new(DecoderLimits::default());
    let mut again = decoder.handle_text(text).expect("a decoded packet re-encodes validly");
    for attachment in &packet.attachments {
        again = decoder
            .handle_binary(attachment.clone())
            .expect("the header announced this attachment");
    }
    assert_eq!(again.as_ref(), Some(packet));
}
