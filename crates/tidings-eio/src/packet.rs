//! Engine.IO packets: the type byte, decoding of one packet, and outgoing frames.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::{BufMut, Bytes, BytesMut};

use crate::error::DecodeError;

/// The seven Engine.IO packet types (protocol §1.2), by their wire character.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PacketType {
    /// `0`: the handshake, server to client.
    Open,
    /// `1`: close the session.
    Close,
    /// `2`: heartbeat ping (server to client in v4, except the upgrade probe).
    Ping,
    /// `3`: heartbeat pong.
    Pong,
    /// `4`: application data.
    Message,
    /// `5`: switch to the probed transport, client to server.
    Upgrade,
    /// `6`: no operation, used to end a pending poll.
    Noop,
}

impl PacketType {
    /// The type for a wire character, or `None` for anything else.
    pub fn from_char(c: u8) -> Option<Self> {
        Some(match c {
            b'0' => Self::Open,
            b'1' => Self::Close,
            b'2' => Self::Ping,
            b'3' => Self::Pong,
            b'4' => Self::Message,
            b'5' => Self::Upgrade,
            b'6' => Self::Noop,
            _ => return None,
        })
    }

    /// The wire character of this type.
    pub fn as_char(self) -> u8 {
        match self {
            Self::Open => b'0',
            Self::Close => b'1',
            Self::Ping => b'2',
            Self::Pong => b'3',
            Self::Message => b'4',
            Self::Upgrade => b'5',
            Self::Noop => b'6',
        }
    }
}

/// One decoded Engine.IO packet as a client sends it.
///
/// Data that a type never carries (`1abc`, `5x`) is ignored, as the reference parser's
/// consumers do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Packet {
    /// `0…`: only servers send it; a session ignores it from a client.
    Open,
    /// `1`: the client closes the session.
    Close,
    /// `2<data>`: `2probe` starts an upgrade; any other ping from a v4 client is an error.
    Ping(String),
    /// `3<data>`: heartbeat answer (`3probe` only travels server to client).
    Pong(String),
    /// `4<text>`: a text message.
    Message(String),
    /// A binary message: a binary WebSocket frame, or `b<base64>` in text.
    Binary(Bytes),
    /// `5`: complete the upgrade.
    Upgrade,
    /// `6`: no operation.
    Noop,
}

impl Packet {
    /// Decodes one text packet: `<type><data>`, or `b<base64>` for binary.
    ///
    /// # Errors
    /// [`DecodeError::Empty`] for an empty string, [`DecodeError::UnknownType`] for a first
    /// character outside `0`–`6` and `b`, [`DecodeError::InvalidBase64`] for a bad `b` packet.
    pub fn decode_text(text: &str) -> Result<Self, DecodeError> {
        let Some(&first) = text.as_bytes().first() else {
            return Err(DecodeError::Empty);
        };
        // A non-ASCII first byte is not a type; after an ASCII one, index 1 is a char
        // boundary, so `get` only fails for the former.
        let Some(data) = text.get(1..) else {
            return Err(DecodeError::UnknownType);
        };
        if first == b'b' {
            return decode_base64(data).map(Self::Binary);
        }
        let kind = PacketType::from_char(first).ok_or(DecodeError::UnknownType)?;
        Ok(match kind {
            PacketType::Open => Self::Open,
            PacketType::Close => Self::Close,
            PacketType::Ping => Self::Ping(data.to_owned()),
            PacketType::Pong => Self::Pong(data.to_owned()),
            PacketType::Message => Self::Message(data.to_owned()),
            PacketType::Upgrade => Self::Upgrade,
            PacketType::Noop => Self::Noop,
        })
    }

    /// The packet's type; binary messages are [`PacketType::Message`].
    pub fn kind(&self) -> PacketType {
        match self {
            Self::Open => PacketType::Open,
            Self::Close => PacketType::Close,
            Self::Ping(_) => PacketType::Ping,
            Self::Pong(_) => PacketType::Pong,
            Self::Message(_) | Self::Binary(_) => PacketType::Message,
            Self::Upgrade => PacketType::Upgrade,
            Self::Noop => PacketType::Noop,
        }
    }
}

fn decode_base64(data: &str) -> Result<Bytes, DecodeError> {
    // The decoded size is at most 3/4 of the text, which the caller already bounded.
    BASE64
        .decode(data)
        .map(Bytes::from)
        .map_err(|_| DecodeError::InvalidBase64)
}

/// One outgoing Engine.IO packet, already encoded.
///
/// A frame is built once and can be queued to many sessions: cloning shares the bytes.
/// WebSocket sends each frame as one WebSocket message; polling joins frames into a payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Frame {
    /// A complete text packet, type character included (`4hello`, `2`). Always UTF-8.
    Text(Bytes),
    /// The raw bytes of a binary message (no type byte).
    Binary(Bytes),
}

impl Frame {
    /// A text `message` packet: `4` followed by `text`.
    pub fn message(text: &str) -> Self {
        let mut dst = BytesMut::with_capacity(1 + text.len());
        dst.put_u8(PacketType::Message.as_char());
        dst.put_slice(text.as_bytes());
        Self::Text(dst.freeze())
    }

    /// A text packet of `kind` with no data, such as `2` or `6`.
    pub fn bare(kind: PacketType) -> Self {
        Self::Text(Bytes::from_static(match kind {
            PacketType::Open => b"0",
            PacketType::Close => b"1",
            PacketType::Ping => b"2",
            PacketType::Pong => b"3",
            PacketType::Message => b"4",
            PacketType::Upgrade => b"5",
            PacketType::Noop => b"6",
        }))
    }

    /// The probe answer `3probe`, sent on the new WebSocket during an upgrade.
    pub fn pong_probe() -> Self {
        Self::Text(Bytes::from_static(b"3probe"))
    }

    /// How many bytes this frame takes inside a polling payload.
    pub fn payload_len(&self) -> usize {
        match self {
            Self::Text(text) => text.len(),
            Self::Binary(data) => 1 + base64::encoded_len(data.len(), true).unwrap_or(usize::MAX),
        }
    }

    /// Appends this frame to a polling payload (protocol §1.4): text as is, binary as
    /// `b<base64>`. The caller writes the `\x1e` separators.
    pub fn encode_for_polling(&self, dst: &mut BytesMut) {
        match self {
            Self::Text(text) => dst.put_slice(text),
            Self::Binary(data) => {
                dst.put_u8(b'b');
                let start = dst.len();
                let len = base64::encoded_len(data.len(), true).unwrap_or(0);
                dst.resize(start + len, 0);
                // The buffer was sized by `encoded_len`, so encoding cannot run out of room.
                let written = BASE64.encode_slice(data, &mut dst[start..]).unwrap_or(0);
                dst.truncate(start + written);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_each_text_type() {
        assert_eq!(Packet::decode_text("1").unwrap(), Packet::Close);
        assert_eq!(
            Packet::decode_text("2probe").unwrap(),
            Packet::Ping("probe".into())
        );
        assert_eq!(
            Packet::decode_text("3").unwrap(),
            Packet::Pong(String::new())
        );
        assert_eq!(
            Packet::decode_text("4hello").unwrap(),
            Packet::Message("hello".into())
        );
        assert_eq!(
            Packet::decode_text("4").unwrap(),
            Packet::Message(String::new())
        );
        assert_eq!(Packet::decode_text("5").unwrap(), Packet::Upgrade);
        assert_eq!(Packet::decode_text("6").unwrap(), Packet::Noop);
        assert_eq!(
            Packet::decode_text("4€uro").unwrap(),
            Packet::Message("€uro".into())
        );
    }

    #[test]
    fn decodes_base64_binary() {
        assert_eq!(
            Packet::decode_text("bAQIDBA==").unwrap(),
            Packet::Binary(Bytes::from_static(&[1, 2, 3, 4]))
        );
        assert_eq!(
            Packet::decode_text("b").unwrap(),
            Packet::Binary(Bytes::new())
        );
    }

    #[test]
    fn rejects_empty_unknown_and_bad_base64() {
        assert_eq!(Packet::decode_text(""), Err(DecodeError::Empty));
        assert_eq!(Packet::decode_text("abc"), Err(DecodeError::UnknownType));
        assert_eq!(Packet::decode_text("a"), Err(DecodeError::UnknownType));
        assert_eq!(Packet::decode_text("7"), Err(DecodeError::UnknownType));
        assert_eq!(Packet::decode_text("€"), Err(DecodeError::UnknownType));
        assert_eq!(Packet::decode_text("b!!"), Err(DecodeError::InvalidBase64));
    }

    #[test]
    fn encodes_frames_for_polling() {
        let mut dst = BytesMut::new();
        Frame::message("hello").encode_for_polling(&mut dst);
        assert_eq!(&dst[..], b"4hello");
        dst.clear();
        Frame::Binary(Bytes::from_static(&[1, 2, 3, 4])).encode_for_polling(&mut dst);
        assert_eq!(&dst[..], b"bAQIDBA==");
        assert_eq!(
            Frame::Binary(Bytes::from_static(&[1, 2, 3, 4])).payload_len(),
            9
        );
    }

    #[test]
    fn bare_frames_are_their_type_char() {
        assert_eq!(
            Frame::bare(PacketType::Ping),
            Frame::Text(Bytes::from_static(b"2"))
        );
        assert_eq!(
            Frame::bare(PacketType::Noop),
            Frame::Text(Bytes::from_static(b"6"))
        );
        assert_eq!(
            Frame::pong_probe(),
            Frame::Text(Bytes::from_static(b"3probe"))
        );
    }
}
