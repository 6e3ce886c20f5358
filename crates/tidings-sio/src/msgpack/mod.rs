//! The msgpack parser: one binary message per packet, wire-compatible with npm `socket.io-msgpack-parser`.
//!
//! Each packet is one msgpack map with the keys `type` (0–4: binary values
//! travel inline, so types 5 and 6 do not exist here), `nsp`, `data` and
//! `id`; unknown keys (the JS client sends `options`) are ignored. Binary
//! values are msgpack `bin` (Node's `Buffer`) or extension 0 (a browser's
//! `ArrayBuffer`).
//!
//! Decoding gives the same in-memory [`Packet`] as the text parser: each
//! binary value becomes a [`placeholder`](crate::placeholder) in `data` and
//! an entry of `attachments`, and an EVENT or ACK that has any becomes a
//! BINARY_EVENT or BINARY_ACK. Encoding reverses that, so the layer above
//! never needs to know which parser a connection uses.
//!
//! Validation is the text parser's (spec §2.1), plus the npm parser's own
//! rules: `nsp` must be a string, an EVENT or ACK must carry an array, and
//! there may be no trailing bytes. Three differences are deliberate: a
//! negative ack id is refused (the npm parser accepts any integer), `bin`
//! values outside an EVENT or ACK are refused (the text parser cannot carry
//! them there either), and so is a map key given twice (no JavaScript object
//! encodes that way, and it would leave an attachment without placeholder).

mod read;
mod write;

use bytes::{Bytes, BytesMut};
use serde_json::Value;

use crate::{DecodeError, DecoderLimits, EncodeError, Packet, PacketType, payload};
use read::Reader;
use write::Writer;

/// Encodes `packet` as one msgpack message, to be sent as one binary
/// Engine.IO message.
///
/// Placeholders in `data` become `bin` values taken from `attachments`. The
/// map's keys come in the order socket.io 4.8.4 writes them (`type`, `data`,
/// `id`, `nsp`; an ACK starts with `id`), so the bytes equal the reference
/// server's. A `None` or `null` payload is omitted, as in the text encoder.
///
/// # Errors
///
/// [`EncodeError::MissingAttachment`] when a placeholder's `num` has no
/// attachment, [`EncodeError::TooLarge`] when a value exceeds msgpack's 2³²
/// size limit.
///
/// # Examples
///
/// ```
/// use tidings_sio::{Packet, msgpack};
///
/// let bytes = msgpack::encode(&Packet::disconnect("/"))?;
/// assert_eq!(&bytes[..], b"\x82\xa4type\x01\xa3nsp\xa1/");
/// # Ok::<(), tidings_sio::EncodeError>(())
/// ```
pub fn encode(packet: &Packet) -> Result<Bytes, EncodeError> {
    let mut dst = BytesMut::new();
    encode_into(packet, &mut dst)?;
    Ok(dst.freeze())
}

/// [`encode`] into the caller's buffer. On error, `dst` may hold part of the
/// packet: truncate it to its previous length before reuse.
///
/// # Errors
///
/// As for [`encode`].
pub fn encode_into(packet: &Packet, dst: &mut BytesMut) -> Result<(), EncodeError> {
    let data = packet.data.as_ref().filter(|data| !data.is_null());
    let is_ack = matches!(packet.kind, PacketType::Ack | PacketType::BinaryAck);
    // Binary values travel inline, so the binary types fold into their base.
    let wire_type = match packet.kind {
        PacketType::BinaryEvent => PacketType::Event,
        PacketType::BinaryAck => PacketType::Ack,
        kind => kind,
    };
    let mut writer = Writer {
        dst,
        attachments: &packet.attachments,
    };
    writer.map_header(2 + usize::from(data.is_some()) + usize::from(packet.id.is_some()))?;
    // socket.io builds an ack reply as `{ id, type, data }`, and every other
    // packet as `{ type, data, id }`; `nsp` is added last.
    let id = packet.id;
    if let Some(id) = id.filter(|_| is_ack) {
        writer.str("id")?;
        writer.uint(id);
    }
    writer.str("type")?;
    writer.uint(u64::from(wire_type.as_u8()));
    if let Some(data) = data {
        writer.str("data")?;
        writer.value(data)?;
    }
    if let Some(id) = id.filter(|_| !is_ack) {
        writer.str("id")?;
        writer.uint(id);
    }
    writer.str("nsp")?;
    writer.str(&packet.nsp)?;
    Ok(())
}

/// Decodes one binary Engine.IO message as a msgpack packet.
///
/// The parser is stateless: attachments are inside the message, and their
/// number is bounded by `limits.max_attachments` as each one is met.
/// Placeholders are numbered in traversal order, as the reference encoders
/// number them.
///
/// # Errors
///
/// [`DecodeError::InvalidMsgpack`] or [`DecodeError::TooDeep`] for malformed
/// input, and the text parser's errors for the packet rules: unknown type,
/// missing namespace, bad ack id, payload against its type's rule, reserved
/// event name, too many attachments, or a `bin` outside an EVENT or ACK.
///
/// # Examples
///
/// ```
/// use tidings_sio::{DecoderLimits, PacketType, msgpack};
///
/// let packet = msgpack::decode(b"\x82\xa4type\x01\xa3nsp\xa1/", &DecoderLimits::default())?;
/// assert_eq!(packet.kind, PacketType::Disconnect);
/// # Ok::<(), tidings_sio::DecodeError>(())
/// ```
pub fn decode(src: &[u8], limits: &DecoderLimits) -> Result<Packet, DecodeError> {
    let mut reader = Reader::new(src, limits.max_attachments);
    let entries = reader.map_header()?;
    let mut kind = None;
    let mut nsp = None;
    let mut id = None;
    let mut data = None;
    for _ in 0..entries {
        let key = reader.key()?;
        let slot = match key {
            "type" => &mut kind,
            "nsp" => &mut nsp,
            "id" => &mut id,
            "data" => &mut data,
            _ => {
                // Unknown keys (the JS client's `options`) are skipped, and
                // so are any binary values inside them.
                let kept = reader.attachments.len();
                reader.value(1)?;
                reader.attachments.truncate(kept);
                continue;
            }
        };
        // A JavaScript object cannot hold a key twice.
        if slot.is_some() {
            return Err(DecodeError::InvalidMsgpack);
        }
        let kept = reader.attachments.len();
        *slot = Some(reader.value(1)?);
        // Only `data` may carry binary values.
        if key != "data" && reader.attachments.len() > kept {
            return Err(DecodeError::UnexpectedBinary);
        }
    }
    reader.finish()?;
    // The inner `None` is `undefined`, which counts as absent.
    let (kind, nsp, id, data) = (kind.flatten(), nsp.flatten(), id.flatten(), data.flatten());

    let kind = kind
        .as_ref()
        .and_then(Value::as_u64)
        .and_then(|n| u8::try_from(n).ok())
        .and_then(PacketType::from_u8)
        .filter(|kind| !kind.is_binary())
        .ok_or(DecodeError::UnknownPacketType)?;
    let Some(Value::String(nsp)) = nsp else {
        return Err(DecodeError::InvalidNamespace);
    };
    // Integral floats were already read as integers, so this accepts what
    // JavaScript's `Number.isInteger` does, minus negative ids.
    let id = id
        .map(|id| id.as_u64().ok_or(DecodeError::InvalidAckId))
        .transpose()?;
    match (&data, kind) {
        (Some(data), _) => payload::check(kind, data)?,
        // Only CONNECT and DISCONNECT may come without a payload here.
        (None, PacketType::Connect | PacketType::Disconnect) => {}
        (None, _) => return Err(DecodeError::InvalidPayload),
    }

    let attachments = reader.attachments;
    let kind = match kind {
        _ if attachments.is_empty() => kind,
        PacketType::Event => PacketType::BinaryEvent,
        PacketType::Ack => PacketType::BinaryAck,
        _ => return Err(DecodeError::UnexpectedBinary),
    };
    Ok(Packet {
        kind,
        nsp,
        id,
        data,
        attachments,
    })
}

#[cfg(test)]
mod tests;
