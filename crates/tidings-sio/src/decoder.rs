//! The stateful text decoder: one Engine.IO message in, at most one packet out (spec §2.2, §2.3).

use bytes::Bytes;
use serde_json::Value;

use crate::{DecodeError, Packet, PacketType, binary, payload};

/// Longest accepted run of ack id digits: `u64::MAX` has 20.
const MAX_ID_DIGITS: usize = 20;

/// Limits the decoders enforce before they allocate.
///
/// `Default` holds the reference's defaults. Change a field directly or with
/// the chainable setter:
///
/// ```
/// let limits = tidings_sio::DecoderLimits::default().max_attachments(4);
/// assert_eq!(limits.max_attachments, 4);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct DecoderLimits {
    /// The most binary attachments one packet may carry. A text header that
    /// announces more, or a msgpack packet with more `bin` values, is
    /// rejected. Defaults to 10, the reference's `maxAttachments`
    /// (socket.io-parser ≥ 4.2.6, CVE-2026-33151).
    pub max_attachments: usize,
}

impl DecoderLimits {
    /// The reference's default for [`max_attachments`](Self::max_attachments).
    pub const DEFAULT_MAX_ATTACHMENTS: usize = 10;

    /// Sets [`max_attachments`](Self::max_attachments).
    #[must_use]
    pub const fn max_attachments(mut self, max: usize) -> Self {
        self.max_attachments = max;
        self
    }
}

impl Default for DecoderLimits {
    fn default() -> Self {
        Self {
            max_attachments: Self::DEFAULT_MAX_ATTACHMENTS,
        }
    }
}

/// Decodes the text parser's packets from a sequence of Engine.IO messages.
///
/// It is stateful because a binary packet spans several messages: a text
/// header, then one binary message per attachment.
///
/// # Call contract
///
/// Feed every Engine.IO `message` of one connection in arrival order: text
/// messages to [`handle_text`](Self::handle_text), binary ones to
/// [`handle_binary`](Self::handle_binary).
///
/// - `handle_text` returns `Ok(Some(packet))` for a complete packet, or
///   `Ok(None)` after the header of a BINARY_EVENT/BINARY_ACK: the decoder
///   now expects [`pending_attachments`](Self::pending_attachments) binary
///   messages and rejects text until they have arrived.
/// - `handle_binary` returns `Ok(None)` while more attachments are expected,
///   and the finished binary packet with the last one.
/// - On `Err`, the decoder drops any half-built packet and is idle again; the
///   server closes the Engine.IO connection anyway (spec §2.7).
///
/// # Differences from socket.io-parser 4.2.7
///
/// The rules are the reference decoder's (spec §2.2), including its leniency:
/// a packet without payload is accepted for every type (`2`, `31`), so an
/// EVENT may arrive with `data: None`. Where the reference relies on
/// JavaScript coercion, this decoder is stricter, and no official client is
/// affected:
///
/// - an empty message is refused (the reference reads it as CONNECT);
/// - counts and ack ids are ASCII digits only, and an ack id must fit a
///   `u64` (at most 20 digits);
/// - a placeholder in a packet without attachments is refused instead of
///   passed through as plain data, and every placeholder is rewritten into
///   the canonical form of [`placeholder`](crate::placeholder).
///
/// # Examples
///
/// ```
/// use bytes::Bytes;
/// use tidings_sio::{Decoder, DecoderLimits, PacketType, placeholder};
///
/// let mut decoder = Decoder::new(DecoderLimits::default());
/// let header = r#"51-["baz",{"_placeholder":true,"num":0}]"#;
/// assert_eq!(decoder.handle_text(header)?, None);
/// let packet = decoder
///     .handle_binary(Bytes::from_static(&[1, 2, 3, 4]))?
///     .expect("the only attachment completes the packet");
/// assert_eq!(packet.kind, PacketType::BinaryEvent);
/// assert_eq!(packet.data, Some(serde_json::json!(["baz", placeholder(0)])));
/// assert_eq!(packet.attachments, [Bytes::from_static(&[1, 2, 3, 4])]);
/// # Ok::<(), tidings_sio::DecodeError>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct Decoder {
    limits: DecoderLimits,
    state: State,
}

/// What the decoder waits for.
#[derive(Debug, Clone, Default)]
enum State {
    /// Any message may come; only text is valid.
    #[default]
    Idle,
    /// A binary packet's header arrived; `expected` attachments complete it. Boxed, so
    /// that an idle decoder is small.
    Collecting {
        packet: Box<Packet>,
        expected: usize,
    },
}

impl Decoder {
    /// A decoder enforcing `limits`.
    #[must_use]
    pub fn new(limits: DecoderLimits) -> Self {
        Self {
            limits,
            state: State::Idle,
        }
    }

    /// The limits this decoder enforces.
    #[must_use]
    pub fn limits(&self) -> &DecoderLimits {
        &self.limits
    }

    /// How many binary messages the current binary packet still needs; 0
    /// when the decoder is idle.
    #[must_use]
    pub fn pending_attachments(&self) -> usize {
        match &self.state {
            State::Idle => 0,
            State::Collecting { packet, expected } => expected - packet.attachments.len(),
        }
    }

    /// Handles one text Engine.IO message (without its `4` prefix).
    ///
    /// # Errors
    ///
    /// [`DecodeError::UnexpectedText`] while attachments are pending, and the
    /// error of any broken decoding rule (spec §2.2): unknown type, illegal
    /// or too many attachments, an ack id that overflows, invalid JSON, a
    /// payload against its type's rule, a reserved event name, or a
    /// placeholder whose `num` is not below the attachment count.
    pub fn handle_text(&mut self, text: &str) -> Result<Option<Packet>, DecodeError> {
        if let State::Collecting { .. } = self.state {
            self.state = State::Idle;
            return Err(DecodeError::UnexpectedText);
        }
        let (packet, expected) = decode_text(text, &self.limits)?;
        if expected == 0 {
            return Ok(Some(packet));
        }
        self.state = State::Collecting {
            packet: Box::new(packet),
            expected,
        };
        Ok(None)
    }

    /// Handles one binary Engine.IO message: the next attachment of the
    /// pending binary packet.
    ///
    /// # Errors
    ///
    /// [`DecodeError::UnexpectedBinary`] when no attachment is expected.
    pub fn handle_binary(&mut self, data: Bytes) -> Result<Option<Packet>, DecodeError> {
        match std::mem::take(&mut self.state) {
            State::Idle => Err(DecodeError::UnexpectedBinary),
            State::Collecting {
                mut packet,
                expected,
            } => {
                packet.attachments.push(data);
                if packet.attachments.len() < expected {
                    self.state = State::Collecting { packet, expected };
                    return Ok(None);
                }
                Ok(Some(*packet))
            }
        }
    }
}

/// Decodes one text message into a packet and the number of attachments it
/// still needs (0 for a non-binary type).
///
/// The grammar is `<type>[<count>-][<nsp>,][<id>][<json>]`; each step mirrors
/// the reference decoder's, except where noted.
fn decode_text(text: &str, limits: &DecoderLimits) -> Result<(Packet, usize), DecodeError> {
    let bytes = text.as_bytes();
    // The reference reads an empty message as CONNECT (`Number("")` is 0);
    // no client sends one, so it is refused here.
    let kind = match bytes.first() {
        Some(&digit @ b'0'..=b'6') => PacketType::from_u8(digit - b'0'),
        _ => None,
    }
    .ok_or(DecodeError::UnknownPacketType)?;
    let mut pos = 1;

    let mut expected = 0;
    if kind.is_binary() {
        let rest = &bytes[pos..];
        let dash = rest
            .iter()
            .position(|&b| b == b'-')
            .ok_or(DecodeError::IllegalAttachments)?;
        expected = attachment_count(&rest[..dash], limits)?;
        pos += dash + 1;
    }

    // The namespace runs to the first comma, or to the end: `0/custom` is
    // valid and the test suite sends it.
    let mut nsp = "/";
    if bytes.get(pos) == Some(&b'/') {
        let end = bytes[pos..]
            .iter()
            .position(|&b| b == b',')
            .map_or(bytes.len(), |i| pos + i);
        // Both ends sit on ASCII bytes or the end, so they are char boundaries.
        nsp = text.get(pos..end).ok_or(DecodeError::InvalidPayload)?;
        pos = (end + 1).min(bytes.len());
    }

    let digits = bytes[pos..]
        .iter()
        .take(MAX_ID_DIGITS + 1)
        .take_while(|b| b.is_ascii_digit())
        .count();
    let mut id = None;
    if digits > 0 {
        id = Some(ack_id(&bytes[pos..pos + digits])?);
        pos += digits;
    }

    let mut data = None;
    if pos < bytes.len() {
        let json = text.get(pos..).ok_or(DecodeError::InvalidJson)?;
        // serde_json's recursion limit (128) stays on: it bounds the nesting
        // of peer JSON, and with it every recursive walk below.
        let mut value: Value = serde_json::from_str(json).map_err(|_| DecodeError::InvalidJson)?;
        payload::check(kind, &value)?;
        binary::normalize(&mut value, expected)?;
        data = Some(value);
    }

    let packet = Packet {
        kind,
        nsp: nsp.to_owned(),
        id,
        data,
        // The count was checked against the limit, so this is bounded.
        attachments: Vec::with_capacity(expected),
    };
    Ok((packet, expected))
}

/// Parses the attachment count of a binary header, checking it against the
/// limit before anything is allocated for it.
fn attachment_count(digits: &[u8], limits: &DecoderLimits) -> Result<usize, DecodeError> {
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Err(DecodeError::IllegalAttachments);
    }
    // Saturating: any count past the limit is "too many", however long.
    let count = digits.iter().fold(0usize, |acc, &d| {
        acc.saturating_mul(10).saturating_add(usize::from(d - b'0'))
    });
    match count {
        0 => Err(DecodeError::IllegalAttachments),
        n if n > limits.max_attachments => Err(DecodeError::TooManyAttachments),
        n => Ok(n),
    }
}

/// Parses a run of at most `MAX_ID_DIGITS + 1` ASCII digits as a `u64`.
fn ack_id(digits: &[u8]) -> Result<u64, DecodeError> {
    if digits.len() > MAX_ID_DIGITS {
        return Err(DecodeError::InvalidAckId);
    }
    digits.iter().try_fold(0u64, |acc, &d| {
        acc.checked_mul(10)
            .and_then(|acc| acc.checked_add(u64::from(d - b'0')))
            .ok_or(DecodeError::InvalidAckId)
    })
}

#[cfg(test)]
mod tests {
    use bytes::BytesMut;
    use serde_json::json;

    use super::*;
    use crate::placeholder;

    fn decode(text: &str) -> Result<Option<Packet>, DecodeError> {
        Decoder::default().handle_text(text)
    }

    fn decode_ok(text: &str) -> Packet {
        decode(text).unwrap().expect("a complete packet")
    }

    fn encode(packet: &Packet) -> String {
        let mut dst = BytesMut::new();
        packet.encode(&mut dst);
        String::from_utf8(dst.to_vec()).unwrap()
    }

    #[test]
    fn spec_table_examples_decode() {
        assert_eq!(decode_ok("0"), Packet::connect("/", None));
        assert_eq!(
            decode_ok(r#"0/admin,{"token":"123"}"#),
            Packet::connect("/admin", Some(json!({"token": "123"})))
        );
        assert_eq!(
            decode_ok(r#"0{"sid":"wZX3oN0bSVIhsaknAAAI"}"#),
            Packet::connect_reply("/", "wZX3oN0bSVIhsaknAAAI", None)
        );
        assert_eq!(
            decode_ok(r#"4/random,{"message":"Invalid namespace"}"#),
            Packet::connect_error("/random", "Invalid namespace", None)
        );
        assert_eq!(
            decode_ok(r#"2["foo"]"#),
            Packet::event("/", json!(["foo"]), vec![], None)
        );
        assert_eq!(
            decode_ok(r#"2/admin,12["foo"]"#),
            Packet::event("/admin", json!(["foo"]), vec![], Some(12))
        );
        assert_eq!(decode_ok("312[]"), Packet::ack("/", 12, json!([]), vec![]));
        assert_eq!(
            decode_ok(r#"3/admin,13["bar"]"#),
            Packet::ack("/admin", 13, json!(["bar"]), vec![])
        );
        assert_eq!(decode_ok("1"), Packet::disconnect("/"));
        assert_eq!(decode_ok("1/admin,"), Packet::disconnect("/admin"));
    }

    #[test]
    fn namespace_without_trailing_comma_is_valid() {
        assert_eq!(decode_ok("0/custom"), Packet::connect("/custom", None));
        assert_eq!(decode_ok("1/custom"), Packet::disconnect("/custom"));
        assert_eq!(decode_ok("0/,"), Packet::connect("/", None));
    }

    #[test]
    fn message_with_ack_is_answered_with_the_same_id() {
        // The suite sends `42456[...]`: Engine.IO `4`, then this text.
        let event = decode_ok(r#"2456["message-with-ack",1,"2",{"3":[false]}]"#);
        assert_eq!(event.kind, PacketType::Event);
        assert_eq!(event.id, Some(456));
        let Some(Value::Array(args)) = event.data else {
            panic!("an event carries an array")
        };
        let reply = Packet::ack(&event.nsp, 456, Value::Array(args[1..].to_vec()), vec![]);
        assert_eq!(encode(&reply), r#"3456[1,"2",{"3":[false]}]"#);
    }

    #[test]
    fn binary_message_with_ack_is_answered_with_binary_ack() {
        let mut decoder = Decoder::default();
        let header = r#"52-789["message-with-ack",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#;
        assert_eq!(decoder.handle_text(header), Ok(None));
        assert_eq!(decoder.pending_attachments(), 2);
        assert_eq!(decoder.handle_binary(Bytes::from_static(b"\x01")), Ok(None));
        let event = decoder
            .handle_binary(Bytes::from_static(b"\x02\x03"))
            .unwrap()
            .unwrap();
        assert_eq!(decoder.pending_attachments(), 0);
        assert_eq!(event.kind, PacketType::BinaryEvent);
        assert_eq!(event.id, Some(789));
        let Some(Value::Array(args)) = event.data else {
            panic!("an event carries an array")
        };
        let reply = Packet::ack(
            "/",
            789,
            Value::Array(args[1..].to_vec()),
            event.attachments,
        );
        assert_eq!(
            encode(&reply),
            r#"62-789[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#
        );
        assert_eq!(
            reply.attachments,
            [Bytes::from_static(b"\x01"), Bytes::from_static(b"\x02\x03")]
        );
    }

    #[test]
    fn binary_packets_of_the_spec_table_decode() {
        let mut decoder = Decoder::default();
        assert_eq!(
            decoder.handle_text(
                r#"52-/admin,["baz",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#
            ),
            Ok(None)
        );
        decoder.handle_binary(Bytes::from_static(&[1])).unwrap();
        let packet = decoder
            .handle_binary(Bytes::from_static(&[2]))
            .unwrap()
            .unwrap();
        assert_eq!(packet.nsp, "/admin");
        assert_eq!(packet.attachments.len(), 2);

        assert_eq!(
            decoder.handle_text(r#"61-15["bar",{"_placeholder":true,"num":0}]"#),
            Ok(None)
        );
        let packet = decoder
            .handle_binary(Bytes::from_static(&[1, 2, 3]))
            .unwrap()
            .unwrap();
        assert_eq!(
            packet,
            Packet::ack(
                "/",
                15,
                json!(["bar", placeholder(0)]),
                vec![Bytes::from_static(&[1, 2, 3])]
            )
        );
    }

    #[test]
    fn unknown_type_is_rejected() {
        for text in ["", "abc", "7", "9[]", "-1", " 2[\"a\"]"] {
            assert_eq!(
                decode(text),
                Err(DecodeError::UnknownPacketType),
                "{text:?}"
            );
        }
    }

    #[test]
    fn payload_rules_are_enforced() {
        assert_eq!(decode("2{}"), Err(DecodeError::InvalidPayload));
        assert_eq!(decode("2[]"), Err(DecodeError::InvalidPayload));
        assert_eq!(decode("0[1]"), Err(DecodeError::InvalidPayload));
        assert_eq!(decode("0null"), Err(DecodeError::InvalidPayload));
        assert_eq!(decode("1{}"), Err(DecodeError::InvalidPayload));
        assert_eq!(decode("3{}"), Err(DecodeError::InvalidPayload));
        assert_eq!(
            decode(r#"2["disconnect"]"#),
            Err(DecodeError::ReservedEventName)
        );
        assert_eq!(
            decode(r#"2/admin,3["newListener",1]"#),
            Err(DecodeError::ReservedEventName)
        );
    }

    #[test]
    fn invalid_json_is_rejected() {
        assert_eq!(decode("0{bad"), Err(DecodeError::InvalidJson));
        assert_eq!(decode(r#"2abc["a"]"#), Err(DecodeError::InvalidJson));
        assert_eq!(decode(r#"2["a"] x"#), Err(DecodeError::InvalidJson));
        let deep = format!("2[\"a\",{}{}]", "[".repeat(200), "]".repeat(200));
        assert_eq!(decode(&deep), Err(DecodeError::InvalidJson));
    }

    #[test]
    fn numeric_event_name_and_string_connect_error_are_accepted() {
        assert_eq!(decode_ok("2[1,2]").data, Some(json!([1, 2])));
        assert_eq!(decode_ok(r#"4"legacy""#).data, Some(json!("legacy")));
    }

    #[test]
    fn absent_payload_is_accepted_like_the_reference() {
        assert_eq!(decode_ok("2").data, None);
        assert_eq!(decode_ok("31").id, Some(1));
    }

    #[test]
    fn attachment_count_must_be_digits_then_dash() {
        for text in [
            r#"5-["a"]"#,
            r#"51["a"]"#,
            r#"5x-["a"]"#,
            r#"5+1-["a"]"#,
            "5",
            r#"6/a,-[]"#,
        ] {
            assert_eq!(
                decode(text),
                Err(DecodeError::IllegalAttachments),
                "{text:?}"
            );
        }
    }

    #[test]
    fn zero_attachments_are_illegal() {
        assert_eq!(decode(r#"50-["a"]"#), Err(DecodeError::IllegalAttachments));
        assert_eq!(decode("600-[]"), Err(DecodeError::IllegalAttachments));
    }

    #[test]
    fn attachment_count_above_the_limit_is_rejected() {
        let placeholders = (0..11).map(placeholder).collect::<Vec<_>>();
        let text = format!("511-{}", json!(["a", placeholders]));
        assert_eq!(decode(&text), Err(DecodeError::TooManyAttachments));
        assert_eq!(
            decode(&format!("5{}-[\"a\"]", "9".repeat(40))),
            Err(DecodeError::TooManyAttachments)
        );
        let mut strict = Decoder::new(DecoderLimits::default().max_attachments(1));
        assert_eq!(
            strict.handle_text(r#"52-["a"]"#),
            Err(DecodeError::TooManyAttachments)
        );
        assert_eq!(strict.handle_text(r#"51-["a"]"#), Ok(None));
    }

    #[test]
    fn ten_attachments_are_within_the_default_limit() {
        let mut decoder = Decoder::default();
        assert_eq!(decoder.handle_text(r#"510-["a"]"#), Ok(None));
        for _ in 0..9 {
            assert_eq!(decoder.handle_binary(Bytes::new()), Ok(None));
        }
        assert!(decoder.handle_binary(Bytes::new()).unwrap().is_some());
    }

    #[test]
    fn placeholder_num_must_be_below_the_count() {
        for num in ["1", "-1", "0.5", "\"0\"", "null"] {
            let text = format!(r#"51-["a",{{"_placeholder":true,"num":{num}}}]"#);
            assert_eq!(decode(&text), Err(DecodeError::InvalidPlaceholder), "{num}");
        }
        let text = r#"51-["a",{"x":[{"_placeholder":true}]}]"#;
        assert_eq!(decode(text), Err(DecodeError::InvalidPlaceholder));
    }

    #[test]
    fn placeholder_in_a_text_only_packet_is_rejected() {
        assert_eq!(
            decode(r#"2["a",{"_placeholder":true,"num":0}]"#),
            Err(DecodeError::InvalidPlaceholder)
        );
    }

    #[test]
    fn text_while_attachments_are_pending_is_rejected_and_resets() {
        let mut decoder = Decoder::default();
        assert_eq!(
            decoder.handle_text(r#"51-["a",{"_placeholder":true,"num":0}]"#),
            Ok(None)
        );
        assert_eq!(
            decoder.handle_text(r#"2["b"]"#),
            Err(DecodeError::UnexpectedText)
        );
        assert_eq!(decoder.pending_attachments(), 0);
        assert!(decoder.handle_text(r#"2["b"]"#).unwrap().is_some());
    }

    #[test]
    fn unexpected_binary_is_rejected() {
        let mut decoder = Decoder::default();
        assert_eq!(
            decoder.handle_binary(Bytes::from_static(&[1])),
            Err(DecodeError::UnexpectedBinary)
        );
        decoder.handle_text("0").unwrap();
        assert_eq!(
            decoder.handle_binary(Bytes::from_static(&[1])),
            Err(DecodeError::UnexpectedBinary)
        );
    }

    #[test]
    fn ack_id_is_bounded_to_u64() {
        assert_eq!(
            decode_ok(r#"218446744073709551615["a"]"#).id,
            Some(u64::MAX)
        );
        assert_eq!(
            decode(r#"218446744073709551616["a"]"#),
            Err(DecodeError::InvalidAckId)
        );
        assert_eq!(
            decode(&format!("2{}[\"a\"]", "1".repeat(30))),
            Err(DecodeError::InvalidAckId)
        );
        assert_eq!(
            decode(&format!("2{}", "0".repeat(21))),
            Err(DecodeError::InvalidAckId)
        );
        assert_eq!(decode_ok(r#"2007["a"]"#).id, Some(7));
    }

    #[test]
    fn non_ascii_namespace_and_payload_decode() {
        let packet = decode_ok(r#"2/café,["héllo","😀"]"#);
        assert_eq!(packet.nsp, "/café");
        assert_eq!(packet.data, Some(json!(["héllo", "😀"])));
    }

    #[test]
    fn duplicate_keys_keep_the_last_value_in_first_position() {
        let packet = decode_ok(r#"0{"x":1,"y":2,"x":3}"#);
        assert_eq!(encode(&packet), r#"0{"x":3,"y":2}"#);
    }
}
