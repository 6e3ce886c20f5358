//! Polling payloads: packets joined by the record separator `\x1e` (protocol §1.4).

use bytes::{BufMut, Bytes, BytesMut};

use crate::error::DecodeError;
use crate::packet::{Frame, Packet};

/// The record separator between packets of a polling payload.
pub const SEPARATOR: u8 = 0x1e;

/// Decodes a POST body into its packets, in order.
///
/// The caller has already checked the body against `maxPayload`, which bounds the number
/// of packets too.
///
/// # Errors
/// [`DecodeError::InvalidUtf8`] when the body is not UTF-8, or the first error of any
/// packet ([`Packet::decode_text`]); an empty body is [`DecodeError::Empty`]. The session
/// closes with reason "parse error" on any of them.
pub fn decode(body: &[u8]) -> Result<Vec<Packet>, DecodeError> {
    let text = std::str::from_utf8(body).map_err(|_| DecodeError::InvalidUtf8)?;
    text.split(char::from(SEPARATOR))
        .map(Packet::decode_text)
        .collect()
}

/// Encodes frames as one payload, the body of a GET response.
pub fn encode<'a>(frames: impl IntoIterator<Item = &'a Frame>, dst: &mut BytesMut) {
    for (index, frame) in frames.into_iter().enumerate() {
        if index > 0 {
            dst.put_u8(SEPARATOR);
        }
        frame.encode_for_polling(dst);
    }
}

/// Encodes frames as one payload in a buffer of its own. A lone text frame is its own
/// payload: its bytes are shared, not copied, which is the usual answer to a long-poll.
pub fn encode_to_bytes<'a, I>(frames: I) -> Bytes
where
    I: IntoIterator<Item = &'a Frame>,
    I::IntoIter: ExactSizeIterator + Clone,
{
    let frames = frames.into_iter();
    if frames.len() == 1
        && let Some(Frame::Text(text)) = frames.clone().next()
    {
        return text.clone();
    }
    let size = frames.clone().fold(0usize, |size, frame| {
        size.saturating_add(frame.payload_len() + 1)
    });
    let mut body = BytesMut::with_capacity(size);
    encode(frames, &mut body);
    body.freeze()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::packet::PacketType;

    #[test]
    fn decodes_mixed_payload_in_order() {
        let packets = decode(b"4hello\x1e2\x1e4world\x1ebAQIDBA==").unwrap();
        assert_eq!(
            packets,
            vec![
                Packet::Message("hello".into()),
                Packet::Ping(String::new()),
                Packet::Message("world".into()),
                Packet::Binary(Bytes::from_static(&[1, 2, 3, 4])),
            ]
        );
    }

    #[test]
    fn rejects_empty_invalid_and_non_utf8_bodies() {
        assert_eq!(decode(b""), Err(DecodeError::Empty));
        assert_eq!(decode(b"abc"), Err(DecodeError::UnknownType));
        assert_eq!(decode(b"4a\x1e\x1e4b"), Err(DecodeError::Empty));
        assert_eq!(decode(b"4a\x1e"), Err(DecodeError::Empty));
        assert_eq!(decode(b"4\xff"), Err(DecodeError::InvalidUtf8));
    }

    #[test]
    fn encodes_batch_with_separators_and_no_trailing_one() {
        let frames = [
            Frame::message("test1"),
            Frame::message("test2"),
            Frame::Binary(Bytes::from_static(&[1, 2, 3])),
            Frame::bare(PacketType::Noop),
        ];
        let mut dst = BytesMut::new();
        encode(&frames, &mut dst);
        assert_eq!(&dst[..], b"4test1\x1e4test2\x1ebAQID\x1e6");
    }

    #[test]
    fn a_lone_text_frame_is_its_own_payload_and_is_not_copied() {
        let frame = Frame::message("hello");
        let Frame::Text(text) = &frame else {
            unreachable!("a message is text")
        };
        let body = encode_to_bytes([&frame]);
        assert_eq!(&body[..], b"4hello");
        assert_eq!(body.as_ptr(), text.as_ptr());
        // A lone binary frame still needs its `b` and base64.
        let binary = Frame::Binary(Bytes::from_static(&[1, 2, 3]));
        assert_eq!(&encode_to_bytes([&binary])[..], b"bAQID");
    }

    fn arbitrary_frame() -> impl Strategy<Value = Frame> {
        prop_oneof![
            "[^\u{1e}]*".prop_map(|text| Frame::message(&text)),
            proptest::collection::vec(any::<u8>(), 0..64)
                .prop_map(|data| Frame::Binary(Bytes::from(data))),
        ]
    }

    fn as_packet(frame: &Frame) -> Packet {
        match frame {
            Frame::Text(text) => Packet::decode_text(std::str::from_utf8(text).unwrap()).unwrap(),
            Frame::Binary(data) => Packet::Binary(data.clone()),
        }
    }

    proptest! {
        #[test]
        fn payload_round_trips(frames in proptest::collection::vec(arbitrary_frame(), 1..8)) {
            let mut dst = BytesMut::new();
            encode(&frames, &mut dst);
            let decoded = decode(&dst).unwrap();
            let expected: Vec<Packet> = frames.iter().map(as_packet).collect();
            prop_assert_eq!(decoded, expected);
        }

        #[test]
        fn encode_to_bytes_matches_encode(frames in proptest::collection::vec(arbitrary_frame(), 0..8)) {
            let mut dst = BytesMut::new();
            encode(&frames, &mut dst);
            prop_assert_eq!(encode_to_bytes(&frames), dst.freeze());
        }

        #[test]
        fn decode_never_panics(body in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = decode(&body);
        }
    }
}
