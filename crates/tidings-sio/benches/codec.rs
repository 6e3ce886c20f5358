//! Codec cost per packet: text and msgpack, encode and decode, for a chat
//! message and for an event with one 4 KiB attachment.
//!
//! Run with `cargo bench -p tidings-sio --all-features --bench codec`.

use bytes::{Bytes, BytesMut};
use divan::{Bencher, black_box};
use serde_json::json;
use tidings_sio::{Decoder, DecoderLimits, Packet, placeholder};

fn main() {
    divan::main();
}

fn chat_event() -> Packet {
    Packet::event(
        "/",
        json!(["message", {"user": "ada", "text": "hello there, how are you?", "ts": 1_700_000_000_000_u64}]),
        Vec::new(),
        None,
    )
}

fn binary_event() -> Packet {
    Packet::event(
        "/uploads",
        json!(["upload", {"name": "a.png", "data": placeholder(0)}]),
        vec![Bytes::from(vec![7u8; 4096])],
        Some(3),
    )
}

fn text(packet: &Packet) -> String {
    let mut dst = BytesMut::new();
    packet.encode(&mut dst);
    String::from_utf8(dst.to_vec()).expect("the encoder writes UTF-8")
}

#[divan::bench]
fn encode_text_chat_event(bencher: Bencher<'_, '_>) {
    let packet = chat_event();
    let mut dst = BytesMut::with_capacity(256);
    bencher.bench_local(|| {
        dst.clear();
        black_box(&packet).encode(&mut dst);
    });
}

#[divan::bench]
fn decode_text_chat_event(bencher: Bencher<'_, '_>) {
    let text = text(&chat_event());
    bencher.bench_local(|| Decoder::new(DecoderLimits::default()).handle_text(black_box(&text)));
}

#[divan::bench]
fn decode_text_binary_event(bencher: Bencher<'_, '_>) {
    let packet = binary_event();
    let header = text(&packet);
    let attachment = packet.attachments[0].clone();
    bencher.bench_local(|| {
        let mut decoder = Decoder::new(DecoderLimits::default());
        let none = decoder.handle_text(black_box(&header));
        (none, decoder.handle_binary(attachment.clone()))
    });
}

#[cfg(feature = "msgpack")]
mod msgpack {
    use super::*;
    use tidings_sio::msgpack;

    #[divan::bench]
    fn encode_msgpack_chat_event(bencher: Bencher<'_, '_>) {
        let packet = chat_event();
        bencher.bench_local(|| msgpack::encode(black_box(&packet)));
    }

    #[divan::bench]
    fn decode_msgpack_chat_event(bencher: Bencher<'_, '_>) {
        let bytes = msgpack::encode(&chat_event()).expect("no placeholders");
        let limits = DecoderLimits::default();
        bencher.bench_local(|| msgpack::decode(black_box(&bytes), &limits));
    }

    #[divan::bench]
    fn decode_msgpack_binary_event(bencher: Bencher<'_, '_>) {
        let bytes = msgpack::encode(&binary_event()).expect("one attachment");
        let limits = DecoderLimits::default();
        bencher.bench_local(|| msgpack::decode(black_box(&bytes), &limits));
    }
}
