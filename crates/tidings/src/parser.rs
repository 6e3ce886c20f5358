//! The packet parsers: the default text parser, and msgpack behind a feature.

use bytes::{BufMut, BytesMut};
use smallvec::SmallVec;
use tidings_engine::Frame;
use tidings_sio::{DecodeError, Decoder, DecoderLimits, Packet};

use crate::error::EmitError;

/// The frames of one encoded packet: the packet, then its binary attachments.
pub(crate) type Frames = SmallVec<[Frame; 1]>;

/// How Socket.IO packets are written on the Engine.IO connection. Every server and client
/// of one deployment must use the same parser.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Parser {
    /// The default parser: JSON text, binary as separate attachments.
    #[default]
    Default,
    /// msgpack, one binary message per packet (npm `socket.io-msgpack-parser`).
    #[cfg(feature = "msgpack")]
    MsgPack,
}

impl Parser {
    /// Encodes a packet into the Engine.IO frames that carry it, in order. Most packets
    /// are one frame, kept inline: no allocation besides the frame's bytes.
    pub(crate) fn encode(self, packet: &Packet) -> Result<Frames, EmitError> {
        match self {
            Self::Default => {
                let text = message_text(|text| packet.encode(text));
                let mut frames = Frames::with_capacity(1 + packet.attachments.len());
                frames.push(Frame::Text(text));
                frames.extend(packet.attachments.iter().cloned().map(Frame::Binary));
                Ok(frames)
            }
            #[cfg(feature = "msgpack")]
            Self::MsgPack => tidings_sio::msgpack::encode(packet)
                .map(|data| smallvec::smallvec![Frame::Binary(data)])
                .map_err(|_| EmitError::Encode),
        }
    }

    /// Encodes a namespace's CONNECT reply (`{"sid":…,"pid":…}`); the text parser writes
    /// it without building a packet.
    pub(crate) fn encode_connect_reply(
        self,
        nsp: &str,
        sid: &str,
        pid: Option<&str>,
    ) -> Result<Frames, EmitError> {
        match self {
            Self::Default => Ok(smallvec::smallvec![Frame::Text(message_text(|text| {
                tidings_sio::encode_connect_reply(nsp, sid, pid, text);
            }))]),
            #[cfg(feature = "msgpack")]
            Self::MsgPack => self.encode(&Packet::connect_reply(nsp, sid, pid)),
        }
    }
}

/// An Engine.IO message packet (`4`) whose text `write` appends.
fn message_text(write: impl FnOnce(&mut BytesMut)) -> bytes::Bytes {
    let mut text = BytesMut::with_capacity(64);
    text.put_u8(b'4');
    write(&mut text);
    text.freeze()
}

/// A packet and the bytes its messages took on the wire.
#[derive(Debug)]
pub(crate) struct Decoded {
    pub(crate) packet: Packet,
    pub(crate) wire_len: usize,
}

/// The decoding side of a parser, for one connection.
#[derive(Debug)]
pub(crate) struct PacketDecoder {
    parser: Parser,
    text: Decoder,
    /// The bytes of the messages read so far for the packet in progress.
    wire_len: usize,
    #[cfg_attr(not(feature = "msgpack"), allow(dead_code))]
    limits: DecoderLimits,
}

impl PacketDecoder {
    pub(crate) fn new(parser: Parser, max_attachments: usize) -> Self {
        let limits = DecoderLimits::default().max_attachments(max_attachments);
        Self {
            parser,
            text: Decoder::new(limits),
            limits,
            wire_len: 0,
        }
    }

    /// Counts a message's bytes toward its packet, and hands over the count with the
    /// packet once it is complete.
    fn counted(
        &mut self,
        len: usize,
        result: Result<Option<Packet>, DecodeError>,
    ) -> Result<Option<Decoded>, DecodeError> {
        self.wire_len = self.wire_len.saturating_add(len);
        Ok(result?.map(|packet| Decoded {
            packet,
            wire_len: std::mem::take(&mut self.wire_len),
        }))
    }

    /// A text message from the client.
    pub(crate) fn text(&mut self, text: &str) -> Result<Option<Decoded>, DecodeError> {
        let result = match self.parser {
            Parser::Default => self.text.handle_text(text),
            // msgpack clients never send text messages.
            #[cfg(feature = "msgpack")]
            Parser::MsgPack => Err(DecodeError::UnexpectedText),
        };
        self.counted(text.len(), result)
    }

    /// A binary message from the client.
    pub(crate) fn binary(&mut self, data: bytes::Bytes) -> Result<Option<Decoded>, DecodeError> {
        let len = data.len();
        let result = match self.parser {
            Parser::Default => self.text.handle_binary(data),
            #[cfg(feature = "msgpack")]
            Parser::MsgPack => tidings_sio::msgpack::decode(&data, &self.limits).map(Some),
        };
        self.counted(len, result)
    }
}
