//! Property tests: every packet the constructors can build survives encode → decode,
//! and no input makes a decoder panic.

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use serde_json::{Map, Value};
use tidings_sio::{Decoder, DecoderLimits, Packet, placeholder};

const RESERVED: [&str; 6] = [
    "connect",
    "connect_error",
    "disconnect",
    "disconnecting",
    "newListener",
    "removeListener",
];

/// Any JSON value a peer could send, except integral floats: JavaScript (and
/// so the msgpack encoding) cannot tell `5.0` from `5`.
fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite, non-integral", |f| f.is_finite()
                && f.fract() != 0.0)
            .prop_map(Value::from),
        ".{0,12}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec(("[a-z0-9_ ]{0,6}", inner), 0..4)
                .prop_map(|entries| Value::Object(entries.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

fn object() -> impl Strategy<Value = Value> {
    prop::collection::vec(("[a-zA-Z]{0,6}", json()), 0..4)
        .prop_map(|entries| Value::Object(entries.into_iter().collect::<Map<_, _>>()))
}

fn nsp() -> impl Strategy<Value = String> {
    prop_oneof![Just("/".to_owned()), "/[a-zA-Z0-9_é-]{1,8}"]
}

fn event_name() -> impl Strategy<Value = Value> {
    prop_oneof![
        ".{1,10}"
            .prop_filter("not reserved", |name| !RESERVED.contains(&name.as_str()))
            .prop_map(Value::from),
        any::<u32>().prop_map(Value::from),
    ]
}

/// Arguments with `attachments` placeholders mixed in, some nested in objects.
fn args_with_binary() -> impl Strategy<Value = (Vec<Value>, Vec<Bytes>)> {
    (
        prop::collection::vec(json(), 0..4),
        prop::collection::vec(
            (prop::collection::vec(any::<u8>(), 0..16), any::<bool>()),
            0..4,
        ),
    )
        .prop_map(|(mut args, bins)| {
            let mut attachments = Vec::new();
            for (num, (bytes, nested)) in bins.into_iter().enumerate() {
                let slot = if nested {
                    let mut map = Map::new();
                    map.insert("file".to_owned(), placeholder(num));
                    Value::Object(map)
                } else {
                    placeholder(num)
                };
                // Spread the placeholders between the plain arguments.
                let at = (num * 7) % (args.len() + 1);
                args.insert(at, slot);
                attachments.push(Bytes::from(bytes));
            }
            // Encoders number placeholders in traversal order; do the same.
            let mut order = Vec::new();
            for arg in &mut args {
                renumber(arg, &mut order);
            }
            let attachments = order
                .into_iter()
                .map(|num| attachments[num].clone())
                .collect();
            (args, attachments)
        })
}

/// Renumbers the placeholders in `value` in traversal order, recording the
/// old number of each.
fn renumber(value: &mut Value, order: &mut Vec<usize>) {
    if let Some(num) = tidings_sio::placeholder_index(value) {
        *value = placeholder(order.len());
        order.push(num);
        return;
    }
    match value {
        Value::Array(items) => items.iter_mut().for_each(|item| renumber(item, order)),
        Value::Object(map) => map.values_mut().for_each(|item| renumber(item, order)),
        _ => {}
    }
}

fn packet() -> impl Strategy<Value = Packet> {
    prop_oneof![
        (nsp(), prop::option::of(object())).prop_map(|(nsp, auth)| Packet::connect(nsp, auth)),
        (
            nsp(),
            "[a-zA-Z0-9_-]{20}",
            prop::option::of("[a-zA-Z0-9_-]{20}")
        )
            .prop_map(|(nsp, sid, pid)| Packet::connect_reply(nsp, &sid, pid.as_deref())),
        (nsp(), ".{0,20}", prop::option::of(json()))
            .prop_map(|(nsp, message, data)| Packet::connect_error(nsp, &message, data)),
        nsp().prop_map(Packet::disconnect),
        (
            nsp(),
            event_name(),
            args_with_binary(),
            prop::option::of(any::<u64>())
        )
            .prop_map(|(nsp, name, (mut args, attachments), id)| {
                args.insert(0, name);
                Packet::event(nsp, Value::Array(args), attachments, id)
            }),
        (nsp(), any::<u64>(), args_with_binary()).prop_map(|(nsp, id, (args, attachments))| {
            Packet::ack(nsp, id, Value::Array(args), attachments)
        }),
    ]
}

/// Feeds a packet's text form and attachments through a fresh decoder.
fn text_round_trip(packet: &Packet) -> Packet {
    let mut dst = BytesMut::new();
    packet.encode(&mut dst);
    let text = std::str::from_utf8(&dst).expect("the encoder writes UTF-8");
    let mut decoder = Decoder::new(DecoderLimits::default());
    let mut decoded = decoder.handle_text(text).expect("own encoding decodes");
    for attachment in &packet.attachments {
        assert!(decoded.is_none(), "complete before its last attachment");
        decoded = decoder
            .handle_binary(attachment.clone())
            .expect("announced attachment");
    }
    decoded.expect("complete after the last attachment")
}

proptest! {
    #[test]
    fn text_encoding_round_trips(packet in packet()) {
        prop_assert_eq!(text_round_trip(&packet), packet);
    }

    #[test]
    fn text_decoder_never_panics_on_any_message_sequence(
        messages in prop::collection::vec(
            prop_oneof![
                ".{0,40}".prop_map(Ok),
                "[0-6][0-9-]{0,3}(/[a-z]{0,3},)?[0-9]{0,3}[\\[\\]{}\",:a-z0-9_]{0,30}".prop_map(Ok),
                prop::collection::vec(any::<u8>(), 0..8).prop_map(Err),
            ],
            0..8,
        )
    ) {
        let mut decoder = Decoder::new(DecoderLimits::default());
        for message in messages {
            let _ = match message {
                Ok(text) => decoder.handle_text(&text),
                Err(bytes) => decoder.handle_binary(Bytes::from(bytes)),
            };
        }
    }

    #[test]
    fn decoded_text_packets_re_encode_to_an_equal_packet(text in "[0-6][0-9-]{0,3}(/[a-z]{0,3},)?[0-9]{0,3}[\\[\\]{}\",:a-z0-9_]{0,30}") {
        let mut decoder = Decoder::new(DecoderLimits::default());
        if let Ok(Some(packet)) = decoder.handle_text(&text) {
            prop_assert_eq!(text_round_trip(&packet), packet);
        }
    }
}

#[cfg(feature = "msgpack")]
mod msgpack {
    use super::*;
    use tidings_sio::msgpack;

    proptest! {
        #[test]
        fn msgpack_encoding_round_trips(packet in packet()) {
            let encoded = msgpack::encode(&packet).expect("placeholders match attachments");
            prop_assert_eq!(msgpack::decode(&encoded, &DecoderLimits::default()), Ok(packet));
        }

        #[test]
        fn msgpack_and_text_decode_to_the_same_packet(packet in packet()) {
            let encoded = msgpack::encode(&packet).expect("placeholders match attachments");
            let via_msgpack = msgpack::decode(&encoded, &DecoderLimits::default());
            prop_assert_eq!(via_msgpack, Ok(text_round_trip(&packet)));
        }

        #[test]
        fn msgpack_decoder_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
            let _ = msgpack::decode(&bytes, &DecoderLimits::default());
        }

        #[test]
        fn msgpack_decoder_never_panics_on_mutated_packets(
            packet in packet(),
            flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        ) {
            let mut bytes = msgpack::encode(&packet).expect("placeholders match attachments").to_vec();
            for (at, byte) in flips {
                let at = at.index(bytes.len());
                bytes[at] = byte;
            }
            if let Ok(decoded) = msgpack::decode(&bytes, &DecoderLimits::default()) {
                let again = msgpack::encode(&decoded).expect("decoded packets re-encode");
                prop_assert_eq!(msgpack::decode(&again, &DecoderLimits::default()), Ok(decoded));
            }
        }
    }
}
