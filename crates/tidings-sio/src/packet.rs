//! The packet model (spec §2.1), its constructors and the text encoder (spec §2.2).

use bytes::{BufMut, Bytes, BytesMut};
use serde_json::{Map, Value};

/// The type of a Socket.IO packet, with its wire digit as discriminant.
///
/// The set is fixed by protocol revision 5, so the enum is exhaustive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum PacketType {
    /// Client: join a namespace (optional auth object). Server: the join
    /// succeeded (`{"sid":...}`).
    Connect = 0,
    /// Leave a namespace. Never carries a payload.
    Disconnect = 1,
    /// An event: `[name, ...args]`, with an ack id when a reply is wanted.
    Event = 2,
    /// The reply to an event that carried an ack id: `[...args]`.
    Ack = 3,
    /// Server: the namespace join was refused (`{"message":...,"data"?:...}`).
    ConnectError = 4,
    /// An [`Event`](Self::Event) whose data contains binary attachments.
    BinaryEvent = 5,
    /// An [`Ack`](Self::Ack) whose data contains binary attachments.
    BinaryAck = 6,
}

impl PacketType {
    /// Returns the type whose wire number is `n`, if there is one.
    #[must_use]
    pub const fn from_u8(n: u8) -> Option<Self> {
        Some(match n {
            0 => Self::Connect,
            1 => Self::Disconnect,
            2 => Self::Event,
            3 => Self::Ack,
            4 => Self::ConnectError,
            5 => Self::BinaryEvent,
            6 => Self::BinaryAck,
            _ => return None,
        })
    }

    /// Returns the wire number of this type.
    #[must_use]
    pub const fn as_u8(self) -> u8 {
        self as u8
    }

    /// True for [`BinaryEvent`](Self::BinaryEvent) and
    /// [`BinaryAck`](Self::BinaryAck), the types that carry attachments.
    #[must_use]
    pub const fn is_binary(self) -> bool {
        matches!(self, Self::BinaryEvent | Self::BinaryAck)
    }
}

/// One Socket.IO packet, as both parsers decode it and both encoders take it.
///
/// Binary values inside `data` are placeholder objects (see
/// [`placeholder`](crate::placeholder)); the bytes they stand for are in
/// `attachments`, indexed by the placeholder's `num`. Decoded packets always
/// hold placeholders in canonical form with `num < attachments.len()`.
///
/// Build packets with the constructors, which keep `kind` and `attachments`
/// consistent; the fields are public so the layer above can take them apart
/// without copies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    /// The packet type.
    pub kind: PacketType,
    /// The namespace, `/` when the wire omits it. Always starts with `/`
    /// when decoded from text.
    pub nsp: String,
    /// The ack id: on an event, the id the reply must carry; on an ack, the
    /// id of the event it answers.
    pub id: Option<u64>,
    /// The JSON payload. `None` when the wire carries none; a JSON `null` is
    /// treated as absent when encoding, as the reference encoder does.
    pub data: Option<Value>,
    /// Binary attachments in placeholder `num` order. Non-empty only for
    /// [`PacketType::BinaryEvent`] and [`PacketType::BinaryAck`].
    pub attachments: Vec<Bytes>,
}

impl Packet {
    /// A CONNECT request for `nsp`, with the client's optional auth object.
    #[must_use]
    pub fn connect(nsp: impl Into<String>, auth: Option<Value>) -> Self {
        Self::new(PacketType::Connect, nsp.into(), None, auth, Vec::new())
    }

    /// The server's CONNECT reply: `{"sid":sid}`, or `{"sid":sid,"pid":pid}`
    /// when connection state recovery is on (spec §2.4, §2.10).
    ///
    /// The keys are exactly these, in this order: the test suite checks the
    /// bytes.
    #[must_use]
    pub fn connect_reply(nsp: impl Into<String>, sid: &str, pid: Option<&str>) -> Self {
        let mut map = Map::with_capacity(2);
        map.insert("sid".to_owned(), Value::from(sid));
        if let Some(pid) = pid {
            map.insert("pid".to_owned(), Value::from(pid));
        }
        Self::new(
            PacketType::Connect,
            nsp.into(),
            None,
            Some(Value::Object(map)),
            Vec::new(),
        )
    }

    /// A CONNECT_ERROR: `{"message":message,"data":data}`, without `data`
    /// when it is `None` (spec §2.4).
    ///
    /// For an unknown namespace the reference sends the message
    /// `Invalid namespace`.
    #[must_use]
    pub fn connect_error(nsp: impl Into<String>, message: &str, data: Option<Value>) -> Self {
        let mut map = Map::with_capacity(2);
        map.insert("message".to_owned(), Value::from(message));
        if let Some(data) = data {
            map.insert("data".to_owned(), data);
        }
        Self::new(
            PacketType::ConnectError,
            nsp.into(),
            None,
            Some(Value::Object(map)),
            Vec::new(),
        )
    }

    /// A DISCONNECT for `nsp`.
    #[must_use]
    pub fn disconnect(nsp: impl Into<String>) -> Self {
        Self::new(PacketType::Disconnect, nsp.into(), None, None, Vec::new())
    }

    /// An EVENT, or a BINARY_EVENT when `attachments` is non-empty.
    ///
    /// `data` is `[name, ...args]`, with a [`placeholder`](crate::placeholder)
    /// for each attachment. `id` asks the peer for an ack with that id.
    #[must_use]
    pub fn event(
        nsp: impl Into<String>,
        data: Value,
        attachments: Vec<Bytes>,
        id: Option<u64>,
    ) -> Self {
        let kind = if attachments.is_empty() {
            PacketType::Event
        } else {
            PacketType::BinaryEvent
        };
        Self::new(kind, nsp.into(), id, Some(data), attachments)
    }

    /// An ACK answering event `id`, or a BINARY_ACK when `attachments` is
    /// non-empty.
    ///
    /// `data` is the array of reply arguments (`[]` for none), with a
    /// [`placeholder`](crate::placeholder) for each attachment.
    #[must_use]
    pub fn ack(nsp: impl Into<String>, id: u64, data: Value, attachments: Vec<Bytes>) -> Self {
        let kind = if attachments.is_empty() {
            PacketType::Ack
        } else {
            PacketType::BinaryAck
        };
        Self::new(kind, nsp.into(), Some(id), Some(data), attachments)
    }

    fn new(
        kind: PacketType,
        nsp: String,
        id: Option<u64>,
        data: Option<Value>,
        attachments: Vec<Bytes>,
    ) -> Self {
        Self {
            kind,
            nsp,
            id,
            data,
            attachments,
        }
    }

    /// Writes the text form of the packet into `dst`, without the Engine.IO
    /// `4` prefix: for example `2/admin,12["foo"]` or
    /// `51-["baz",{"_placeholder":true,"num":0}]`.
    ///
    /// The attachments are not written: send each element of
    /// [`attachments`](Self::attachments) as its own binary Engine.IO message
    /// after this one. The namespace is omitted when it is `/` (or empty), the
    /// payload when it is `None` or `null`, and the JSON is compact with keys
    /// in insertion order, like `JSON.stringify`. A binary type writes
    /// `attachments.len()` as its count.
    ///
    /// The namespace is written as is: one that does not start with `/` or
    /// contains `,` cannot be decoded back (see [`is_valid_namespace`]).
    pub fn encode(&self, dst: &mut BytesMut) {
        dst.put_u8(b'0' + self.kind.as_u8());
        if self.kind.is_binary() {
            put_decimal(dst, self.attachments.len() as u64);
            dst.put_u8(b'-');
        }
        if has_namespace_prefix(&self.nsp) {
            dst.put_slice(self.nsp.as_bytes());
            dst.put_u8(b',');
        }
        if let Some(id) = self.id {
            put_decimal(dst, id);
        }
        if let Some(data) = self.data.as_ref().filter(|data| !data.is_null()) {
            serde_json::to_writer(dst.writer(), data)
                .expect("a JSON value always serializes and BytesMut grows as needed");
        }
    }
}

/// Writes the text encoding of [`Packet::connect_reply`] straight to `dst`, without
/// building the packet: the reply goes to every connecting socket, and its JSON map
/// cost five allocations there.
pub fn encode_connect_reply(nsp: &str, sid: &str, pid: Option<&str>, dst: &mut BytesMut) {
    dst.put_u8(b'0' + PacketType::Connect.as_u8());
    if has_namespace_prefix(nsp) {
        dst.put_slice(nsp.as_bytes());
        dst.put_u8(b',');
    }
    dst.put_slice(br#"{"sid":"#);
    put_json_string(dst, sid);
    if let Some(pid) = pid {
        dst.put_slice(br#","pid":"#);
        put_json_string(dst, pid);
    }
    dst.put_u8(b'}');
}

/// Whether `nsp` is written before the payload: every namespace but the main one.
fn has_namespace_prefix(nsp: &str) -> bool {
    !nsp.is_empty() && nsp != "/"
}

/// Writes `text` as a JSON string, quoted and escaped.
fn put_json_string(dst: &mut BytesMut, text: &str) {
    let plain = text
        .bytes()
        .all(|byte| byte >= 0x20 && byte != b'"' && byte != b'\\');
    if plain {
        // Ids, the usual case: nothing to escape, so no serializer.
        dst.put_u8(b'"');
        dst.put_slice(text.as_bytes());
        dst.put_u8(b'"');
    } else {
        serde_json::to_writer(dst.writer(), text)
            .expect("a string always serializes and BytesMut grows as needed");
    }
}

/// True when `nsp` survives a text round trip: it starts with `/` and holds
/// no `,` (the comma ends the namespace on the wire).
///
/// The reference encoder refuses a namespace with a comma; the layer above
/// should refuse such names when they are registered.
#[must_use]
pub fn is_valid_namespace(nsp: &str) -> bool {
    nsp.starts_with('/') && !nsp.contains(',')
}

/// Writes `n` in decimal without allocating.
fn put_decimal(dst: &mut BytesMut, mut n: u64) {
    // u64::MAX has 20 decimal digits.
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    dst.put_slice(&digits[start..]);
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::placeholder;

    fn text(packet: &Packet) -> String {
        let mut dst = BytesMut::new();
        packet.encode(&mut dst);
        String::from_utf8(dst.to_vec()).unwrap()
    }

    #[test]
    fn connect_encodes_like_the_spec_table() {
        assert_eq!(text(&Packet::connect("/", None)), "0");
        assert_eq!(
            text(&Packet::connect("/admin", Some(json!({"token": "123"})))),
            r#"0/admin,{"token":"123"}"#
        );
    }

    #[test]
    fn connect_reply_has_sid_then_pid() {
        assert_eq!(
            text(&Packet::connect_reply("/", "wZX3oN0bSVIhsaknAAAI", None)),
            r#"0{"sid":"wZX3oN0bSVIhsaknAAAI"}"#
        );
        assert_eq!(
            text(&Packet::connect_reply(
                "/admin",
                "oSO0OpakMV_3jnilAAAA",
                None
            )),
            r#"0/admin,{"sid":"oSO0OpakMV_3jnilAAAA"}"#
        );
        assert_eq!(
            text(&Packet::connect_reply(
                "/",
                "G1VO03ataRUtSSDBAAAE",
                Some("rtn-IjAyJMnwug_jAAAF")
            )),
            r#"0{"sid":"G1VO03ataRUtSSDBAAAE","pid":"rtn-IjAyJMnwug_jAAAF"}"#
        );
    }

    #[test]
    fn the_direct_connect_reply_is_the_packet_encoded() {
        let cases = [
            ("/", "wZX3oN0bSVIhsaknAAAI", None),
            ("", "wZX3oN0bSVIhsaknAAAI", None),
            (
                "/admin",
                "oSO0OpakMV_3jnilAAAA",
                Some("rtn-IjAyJMnwug_jAAAF"),
            ),
            ("/", "needs \"escaping\"\n", Some("\u{1}")),
            ("/", "back\\slash", Some("\u{7f}é")),
        ];
        for (nsp, sid, pid) in cases {
            let mut direct = BytesMut::new();
            encode_connect_reply(nsp, sid, pid, &mut direct);
            assert_eq!(
                String::from_utf8(direct.to_vec()).unwrap(),
                text(&Packet::connect_reply(nsp, sid, pid)),
                "{nsp} {sid} {pid:?}"
            );
        }
        let mut direct = BytesMut::new();
        encode_connect_reply("/admin", "a", Some("b"), &mut direct);
        assert_eq!(&direct[..], br#"0/admin,{"sid":"a","pid":"b"}"#);
    }

    #[test]
    fn connect_error_omits_absent_data() {
        assert_eq!(
            text(&Packet::connect_error("/", "Not authorized", None)),
            r#"4{"message":"Not authorized"}"#
        );
        assert_eq!(
            text(&Packet::connect_error("/random", "Invalid namespace", None)),
            r#"4/random,{"message":"Invalid namespace"}"#
        );
        assert_eq!(
            text(&Packet::connect_error(
                "/secure",
                "not authorized",
                Some(json!({"reason": "token"}))
            )),
            r#"4/secure,{"message":"not authorized","data":{"reason":"token"}}"#
        );
    }

    #[test]
    fn event_and_ack_encode_like_the_spec_table() {
        assert_eq!(
            text(&Packet::event("/", json!(["foo"]), vec![], None)),
            r#"2["foo"]"#
        );
        assert_eq!(
            text(&Packet::event("/admin", json!(["bar"]), vec![], None)),
            r#"2/admin,["bar"]"#
        );
        assert_eq!(
            text(&Packet::event("/", json!(["foo"]), vec![], Some(12))),
            r#"212["foo"]"#
        );
        assert_eq!(
            text(&Packet::event("/admin", json!(["foo"]), vec![], Some(12))),
            r#"2/admin,12["foo"]"#
        );
        assert_eq!(text(&Packet::ack("/", 12, json!([]), vec![])), "312[]");
        assert_eq!(
            text(&Packet::ack("/admin", 13, json!(["bar"]), vec![])),
            r#"3/admin,13["bar"]"#
        );
        assert_eq!(
            text(&Packet::event("/", json!(["q", 7]), vec![], Some(0))),
            r#"20["q",7]"#
        );
    }

    #[test]
    fn attachments_switch_to_binary_types() {
        let one = vec![Bytes::from_static(&[1, 2, 3, 4])];
        let event = Packet::event("/", json!(["baz", placeholder(0)]), one.clone(), None);
        assert_eq!(event.kind, PacketType::BinaryEvent);
        assert_eq!(text(&event), r#"51-["baz",{"_placeholder":true,"num":0}]"#);

        let two = vec![Bytes::from_static(&[1]), Bytes::from_static(&[2])];
        let event = Packet::event(
            "/admin",
            json!(["baz", placeholder(0), placeholder(1)]),
            two,
            None,
        );
        assert_eq!(
            text(&event),
            r#"52-/admin,["baz",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#
        );

        let ack = Packet::ack("/", 15, json!(["bar", placeholder(0)]), one);
        assert_eq!(ack.kind, PacketType::BinaryAck);
        assert_eq!(text(&ack), r#"61-15["bar",{"_placeholder":true,"num":0}]"#);
    }

    #[test]
    fn disconnect_encodes_without_payload() {
        assert_eq!(text(&Packet::disconnect("/")), "1");
        assert_eq!(text(&Packet::disconnect("/admin")), "1/admin,");
    }

    #[test]
    fn json_stays_compact_in_insertion_order_and_null_is_omitted() {
        let data: Value = serde_json::from_str(r#"{ "z": 1, "a": [ 1.5, -2, "é\n" ] }"#).unwrap();
        assert_eq!(
            text(&Packet::connect("/", Some(data))),
            r#"0{"z":1,"a":[1.5,-2,"é\n"]}"#
        );
        assert_eq!(text(&Packet::connect("/", Some(Value::Null))), "0");
    }

    #[test]
    fn largest_ack_id_encodes_all_digits() {
        assert_eq!(
            text(&Packet::ack("/", u64::MAX, json!([]), vec![])),
            "318446744073709551615[]"
        );
    }

    #[test]
    fn packet_type_numbers_round_trip() {
        for n in 0..=6 {
            assert_eq!(PacketType::from_u8(n).map(PacketType::as_u8), Some(n));
        }
        assert_eq!(PacketType::from_u8(7), None);
    }

    #[test]
    fn namespace_validity_matches_the_wire_grammar() {
        assert!(is_valid_namespace("/"));
        assert!(is_valid_namespace("/admin"));
        assert!(!is_valid_namespace("admin"));
        assert!(!is_valid_namespace("/a,b"));
    }
}
