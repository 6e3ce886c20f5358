//! Tests of the msgpack parser against bytes produced by the npm package.

use serde_json::json;

use super::*;
use crate::placeholder;

/// Test vectors written by npm `socket.io-msgpack-parser` 3.0.2; see
/// `tests/fixtures/gen-msgpack.js` for how they were produced.
const VECTORS: &str = include_str!("../../tests/fixtures/msgpack-vectors.txt");

fn vector(name: &str) -> Vec<u8> {
    let line = VECTORS
        .lines()
        .find(|line| line.split(' ').next() == Some(name))
        .unwrap_or_else(|| panic!("no vector {name}"));
    let hex = line.split(' ').nth(1).expect("a hex column");
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
        .collect()
}

fn decode_vector(name: &str) -> Packet {
    decode(&vector(name), &DecoderLimits::default()).unwrap_or_else(|err| panic!("{name}: {err}"))
}

fn bytes(b: &'static [u8]) -> Bytes {
    Bytes::from_static(b)
}

/// A msgpack fixstr.
fn s(text: &str) -> Vec<u8> {
    let mut out = vec![0xa0 | u8::try_from(text.len()).unwrap()];
    out.extend_from_slice(text.as_bytes());
    out
}

/// Concatenates msgpack fragments.
fn mp(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

fn decode_default(src: &[u8]) -> Result<Packet, DecodeError> {
    decode(src, &DecoderLimits::default())
}

#[test]
fn every_vector_the_npm_parser_accepts_decodes() {
    for line in VECTORS.lines().filter(|line| !line.starts_with('#')) {
        let name = line.split(' ').next().unwrap();
        assert!(line.ends_with(" ok"), "{name} was not accepted by npm");
        decode_vector(name);
    }
}

#[test]
fn vectors_decode_to_the_text_parser_shape() {
    assert_eq!(
        decode_vector("client_connect_auth"),
        Packet::connect("/", Some(json!({"token": "123"})))
    );
    assert_eq!(
        decode_vector("client_connect_admin"),
        Packet::connect("/admin", None)
    );
    assert_eq!(
        decode_vector("server_connect_reply"),
        Packet::connect_reply("/", "b4aNDTXEUNd5LBdpAAAA", None)
    );
    assert_eq!(
        decode_vector("server_event_with_id"),
        Packet::event("/", json!(["q", 7]), vec![], Some(0))
    );
    assert_eq!(
        decode_vector("client_event"),
        Packet::event("/", json!(["foo"]), vec![], None)
    );
    assert_eq!(
        decode_vector("client_ack"),
        Packet::ack("/", 0, json!(["answer"]), vec![])
    );
    assert_eq!(
        decode_vector("server_ack"),
        Packet::ack("/", 456, json!([1, "2", {"3": [false]}]), vec![])
    );
    assert_eq!(
        decode_vector("server_connect_error"),
        Packet::connect_error("/admin", "not authorized", Some(json!({"reason": "token"})))
    );
    assert_eq!(
        decode_vector("server_disconnect_admin"),
        Packet::disconnect("/admin")
    );
}

#[test]
fn bin_values_become_placeholders_and_attachments() {
    assert_eq!(
        decode_vector("server_binary_event"),
        Packet::event(
            "/",
            json!(["bin", placeholder(0), {"x": placeholder(1)}]),
            vec![bytes(&[1, 2, 3, 4]), bytes(&[5])],
            None,
        )
    );
    assert_eq!(
        decode_vector("client_binary_event_with_id"),
        Packet::event(
            "/",
            json!(["bin-ack", placeholder(0)]),
            vec![bytes(&[9, 8])],
            Some(1)
        )
    );
    let ack = decode_vector("server_binary_ack");
    assert_eq!(ack.kind, PacketType::BinaryAck);
    assert_eq!(ack.attachments, [bytes(&[1, 2, 3])]);
}

#[test]
fn browser_array_buffer_extension_is_binary() {
    assert_eq!(
        decode_vector("browser_arraybuffer"),
        Packet::event(
            "/",
            json!(["up", placeholder(0)]),
            vec![bytes(&[1, 2, 3])],
            None
        )
    );
}

#[test]
fn undefined_and_date_read_as_json_stringify_would_write_them() {
    assert_eq!(
        decode_vector("undefined_and_date").data,
        Some(json!(["when", "2024-01-02T03:04:05.678Z", null, null]))
    );
}

#[test]
fn numbers_and_sizes_decode_exactly() {
    assert_eq!(
        decode_vector("numbers").data,
        Some(json!([
            "n",
            -1,
            -33,
            -200,
            -40000,
            -3_000_000_000_i64,
            200,
            70000,
            5_000_000_000_u64,
            0.5,
            -2.25
        ]))
    );
    let sizes = decode_vector("sizes").data.unwrap();
    assert_eq!(sizes[1], json!("x".repeat(40)));
    assert_eq!(sizes[2], json!("y".repeat(300)));
    assert_eq!(sizes[3], json!(vec![1; 20]));
    assert_eq!(sizes[4].as_object().unwrap().len(), 17);
    assert_eq!(sizes[4]["k16"], json!(16));
}

#[test]
fn encoding_is_byte_identical_to_the_reference_server() {
    for name in [
        "client_connect_auth",
        "client_connect_admin",
        "server_connect_reply_pid",
        "server_event",
        "server_event_with_id",
        "server_binary_event",
        "server_ack",
        "server_binary_ack",
        "server_connect_error",
        "server_disconnect",
        "server_disconnect_admin",
        "numbers",
        "sizes",
    ] {
        let packet = decode_vector(name);
        assert_eq!(encode(&packet).unwrap(), vector(name), "{name}");
    }
}

#[test]
fn constructors_encode_to_the_reference_bytes() {
    let event = Packet::event(
        "/",
        json!(["bin", placeholder(0), {"x": placeholder(1)}]),
        vec![bytes(&[1, 2, 3, 4]), bytes(&[5])],
        None,
    );
    assert_eq!(encode(&event).unwrap(), vector("server_binary_event"));
    let reply = Packet::connect_reply("/", "G1VO03ataRUtSSDBAAAE", Some("rtn-IjAyJMnwug_jAAAF"));
    assert_eq!(encode(&reply).unwrap(), vector("server_connect_reply_pid"));
    let ack = Packet::ack("/", 456, json!([1, "2", {"3": [false]}]), vec![]);
    assert_eq!(encode(&ack).unwrap(), vector("server_ack"));
}

#[test]
fn text_only_types_and_unknown_types_are_rejected() {
    for ty in [5u8, 6, 7, 0xff] {
        let src = mp(&[
            &[0x83],
            &s("type"),
            &[ty],
            &s("data"),
            &[0x91],
            &s("a"),
            &s("nsp"),
            &s("/"),
        ]);
        assert_eq!(
            decode_default(&src),
            Err(DecodeError::UnknownPacketType),
            "{ty}"
        );
    }
    let src = mp(&[&[0x82], &s("type"), &s("2"), &s("nsp"), &s("/")]);
    assert_eq!(decode_default(&src), Err(DecodeError::UnknownPacketType));
    let src = mp(&[&[0x81], &s("nsp"), &s("/")]);
    assert_eq!(decode_default(&src), Err(DecodeError::UnknownPacketType));
}

#[test]
fn integral_float_type_is_accepted_like_number_is_integer() {
    let src = mp(&[
        &[0x82, 0xa4],
        b"type",
        &[0xcb],
        &1.0f64.to_be_bytes(),
        &s("nsp"),
        &s("/"),
    ]);
    assert_eq!(decode_default(&src), Ok(Packet::disconnect("/")));
}

#[test]
fn namespace_must_be_a_string() {
    let src = mp(&[&[0x81], &s("type"), &[1]]);
    assert_eq!(decode_default(&src), Err(DecodeError::InvalidNamespace));
    let src = mp(&[&[0x82], &s("type"), &[1], &s("nsp"), &[0x01]]);
    assert_eq!(decode_default(&src), Err(DecodeError::InvalidNamespace));
}

#[test]
fn payload_rules_match_the_text_parser() {
    let packet = |ty: u8, data: &[u8]| {
        decode_default(&mp(&[
            &[0x83],
            &s("type"),
            &[ty],
            &s("data"),
            data,
            &s("nsp"),
            &s("/"),
        ]))
    };
    assert_eq!(packet(2, &[0x80]), Err(DecodeError::InvalidPayload));
    assert_eq!(packet(2, &[0x90]), Err(DecodeError::InvalidPayload));
    assert_eq!(
        packet(2, &mp(&[&[0x91], &s("disconnect")])),
        Err(DecodeError::ReservedEventName)
    );
    assert_eq!(
        packet(2, &[0x92, 0x01, 0x02]).map(|p| p.data),
        Ok(Some(json!([1, 2])))
    );
    assert_eq!(packet(0, &[0x91, 0x01]), Err(DecodeError::InvalidPayload));
    assert_eq!(packet(0, &[0xc0]), Err(DecodeError::InvalidPayload));
    assert_eq!(packet(1, &[0x80]), Err(DecodeError::InvalidPayload));
    assert_eq!(packet(3, &[0x80]), Err(DecodeError::InvalidPayload));
    assert_eq!(
        packet(4, &s("legacy")).map(|p| p.data),
        Ok(Some(json!("legacy")))
    );
    // `undefined` counts as absent: fine for DISCONNECT, not for EVENT.
    assert_eq!(packet(1, &[0xd4, 0x00, 0x00]), Ok(Packet::disconnect("/")));
    assert_eq!(
        packet(2, &[0xd4, 0x00, 0x00]),
        Err(DecodeError::InvalidPayload)
    );
    let no_data = |ty: u8| decode_default(&mp(&[&[0x82], &s("type"), &[ty], &s("nsp"), &s("/")]));
    assert_eq!(no_data(2), Err(DecodeError::InvalidPayload));
    assert_eq!(no_data(3), Err(DecodeError::InvalidPayload));
    assert_eq!(no_data(4), Err(DecodeError::InvalidPayload));
}

#[test]
fn ack_id_must_be_a_non_negative_integer() {
    let with_id = |id: &[u8]| {
        decode_default(&mp(&[
            &[0x84],
            &s("type"),
            &[3],
            &s("data"),
            &[0x90],
            &s("id"),
            id,
            &s("nsp"),
            &s("/"),
        ]))
    };
    assert_eq!(with_id(&[0xff]), Err(DecodeError::InvalidAckId));
    assert_eq!(with_id(&[0xc0]), Err(DecodeError::InvalidAckId));
    assert_eq!(with_id(&s("1")), Err(DecodeError::InvalidAckId));
    assert_eq!(
        with_id(&[0xcb, 0x3f, 0xe0, 0, 0, 0, 0, 0, 0]),
        Err(DecodeError::InvalidAckId)
    );
    assert_eq!(
        with_id(&[0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]).map(|p| p.id),
        Ok(Some(u64::MAX))
    );
    assert_eq!(with_id(&[0xd4, 0x00, 0x00]).map(|p| p.id), Ok(None));
}

#[test]
fn malformed_msgpack_is_rejected() {
    let good = vector("server_event");
    assert_eq!(decode_default(&[]), Err(DecodeError::InvalidMsgpack));
    assert_eq!(
        decode_default(&good[..good.len() - 1]),
        Err(DecodeError::InvalidMsgpack)
    );
    assert_eq!(
        decode_default(&[&good[..], &[0xc0]].concat()),
        Err(DecodeError::InvalidMsgpack)
    );
    assert_eq!(
        decode_default(&[0x91, 0x01]),
        Err(DecodeError::InvalidMsgpack)
    );
    assert_eq!(
        decode_default(&mp(&[&[0x81, 0x01, 0x01]])),
        Err(DecodeError::InvalidMsgpack)
    );
    let with_data = |data: &[u8]| {
        decode_default(&mp(&[
            &[0x83],
            &s("type"),
            &[2],
            &s("data"),
            data,
            &s("nsp"),
            &s("/"),
        ]))
    };
    assert_eq!(
        with_data(&[0x92, 0xa1, b'a', 0xc1]),
        Err(DecodeError::InvalidMsgpack)
    );
    assert_eq!(
        with_data(&[0x91, 0xa2, 0xff, 0xfe]),
        Err(DecodeError::InvalidMsgpack)
    );
    assert_eq!(
        with_data(&[0x92, 0xa1, b'a', 0x81, 0x01, 0x02]),
        Err(DecodeError::InvalidMsgpack)
    );
    // An extension type notepack never writes.
    assert_eq!(
        with_data(&[0x92, 0xa1, b'a', 0xd4, 0x05, 0x00]),
        Err(DecodeError::InvalidMsgpack)
    );
}

#[test]
fn standard_timestamps_read_as_iso_strings() {
    let with_arg = |arg: &[u8]| {
        decode_default(&mp(&[
            &[0x83],
            &s("type"),
            &[2],
            &s("data"),
            &[0x92, 0xa1, b'a'],
            arg,
            &s("nsp"),
            &s("/"),
        ]))
        .map(|p| p.data.unwrap()[1].clone())
    };
    assert_eq!(
        with_arg(&[0xd6, 0xff, 0, 0, 0, 1]),
        Ok(json!("1970-01-01T00:00:01.000Z"))
    );
    let ts64 = (2_000_000u64 << 34) | 1;
    assert_eq!(
        with_arg(&[&[0xd7, 0xff][..], &ts64.to_be_bytes()].concat()),
        Ok(json!("1970-01-01T00:00:01.002Z"))
    );
    let ts96 = [
        &[0xc7, 12, 0xff][..],
        &0u32.to_be_bytes(),
        &(-1i64).to_be_bytes(),
    ]
    .concat();
    assert_eq!(with_arg(&ts96), Ok(json!("1969-12-31T23:59:59.000Z")));
}

#[test]
fn binary_outside_event_or_ack_is_rejected() {
    let src = mp(&[
        &[0x83],
        &s("type"),
        &[0],
        &s("data"),
        &[0x81],
        &s("k"),
        &[0xc4, 1, 7],
        &s("nsp"),
        &s("/"),
    ]);
    assert_eq!(decode_default(&src), Err(DecodeError::UnexpectedBinary));
}

#[test]
fn bins_outside_data_are_dropped_with_their_key() {
    let src = mp(&[
        &[0x84],
        &s("type"),
        &[2],
        &s("data"),
        &[0x92, 0xa1, b'a', 0xc4, 1, 7],
        &s("options"),
        &[0xc4, 1, 8],
        &s("nsp"),
        &s("/"),
    ]);
    assert_eq!(
        decode_default(&src),
        Ok(Packet::event(
            "/",
            json!(["a", placeholder(0)]),
            vec![bytes(&[7])],
            None
        ))
    );
}

#[test]
fn attachment_count_is_bounded_as_bins_are_met() {
    // `["a", <n empty bins>]`, n < 15 so the array stays a fixarray.
    let with_bins = |n: u8| {
        let mut data = vec![0x90 | (n + 1), 0xa1, b'a'];
        for _ in 0..n {
            data.extend_from_slice(&[0xc4, 0]);
        }
        mp(&[
            &[0x83],
            &s("type"),
            &[2],
            &s("data"),
            &data,
            &s("nsp"),
            &s("/"),
        ])
    };
    assert_eq!(
        decode_default(&with_bins(11)),
        Err(DecodeError::TooManyAttachments)
    );
    assert_eq!(
        decode_default(&with_bins(10)).map(|p| p.attachments.len()),
        Ok(10)
    );
    let strict = DecoderLimits::default().max_attachments(9);
    assert_eq!(
        decode(&with_bins(10), &strict),
        Err(DecodeError::TooManyAttachments)
    );
}

#[test]
fn forged_placeholder_map_is_rejected() {
    let forged = mp(&[&[0x82], &s("_placeholder"), &[0xc3], &s("num"), &[0]]);
    let src = mp(&[
        &[0x83],
        &s("type"),
        &[2],
        &s("data"),
        &[0x93, 0xa1, b'a', 0xc4, 1, 7],
        &forged,
        &s("nsp"),
        &s("/"),
    ]);
    assert_eq!(decode_default(&src), Err(DecodeError::InvalidPlaceholder));
}

#[test]
fn repeated_keys_are_rejected() {
    let src = mp(&[
        &[0x84],
        &s("type"),
        &[2],
        &s("data"),
        &[0x92, 0xa1, b'a', 0xc4, 1, 7],
        &s("data"),
        &[0x91, 0xa1, b'b'],
        &s("nsp"),
        &s("/"),
    ]);
    assert_eq!(decode_default(&src), Err(DecodeError::InvalidMsgpack));
    let data = mp(&[
        &[0x92, 0xa1, b'a', 0x82],
        &s("k"),
        &[0xc4, 1, 7],
        &s("k"),
        &[1],
    ]);
    let src = mp(&[
        &[0x83],
        &s("type"),
        &[2],
        &s("data"),
        &data,
        &s("nsp"),
        &s("/"),
    ]);
    assert_eq!(decode_default(&src), Err(DecodeError::InvalidMsgpack));
}

#[test]
fn binary_in_type_nsp_or_id_is_rejected() {
    let src = mp(&[&[0x82], &s("type"), &[1], &s("nsp"), &[0xc4, 1, b'/']]);
    assert_eq!(decode_default(&src), Err(DecodeError::UnexpectedBinary));
}

#[test]
fn placeholder_without_attachment_fails_to_encode() {
    let packet = Packet::event("/", json!(["a", placeholder(1)]), vec![bytes(&[1])], None);
    assert_eq!(encode(&packet), Err(EncodeError::MissingAttachment));
    let packet = Packet::event("/", json!(["a", {"_placeholder": true}]), vec![], None);
    assert_eq!(encode(&packet), Err(EncodeError::MissingAttachment));
}

#[test]
fn large_containers_use_wide_headers_and_read_back() {
    let long = "z".repeat(70_000);
    let items: Vec<Value> = (0..70_000).map(Value::from).collect();
    let packet = Packet::event(
        "/",
        json!(["big", long, items]),
        vec![bytes(&[0; 300])],
        None,
    );
    let mut packet = packet;
    packet
        .data
        .as_mut()
        .unwrap()
        .as_array_mut()
        .unwrap()
        .push(placeholder(0));
    let encoded = encode(&packet).unwrap();
    assert_eq!(decode(&encoded, &DecoderLimits::default()), Ok(packet));
}
