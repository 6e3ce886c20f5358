//! Socket.IO protocol revision 5 packet codec, sans-IO.
//!
//! This crate turns Socket.IO packets into the payloads of Engine.IO messages
//! and back, byte-compatible with the reference Node.js parsers
//! (`socket.io-parser` 4.2.7 and, behind the `msgpack` feature,
//! `socket.io-msgpack-parser` 3.0.2). Both parsers produce the same in-memory
//! [`Packet`]: JSON data in which every binary value is a
//! `{"_placeholder":true,"num":N}` object, plus the binary attachments in
//! `num` order. The layer above therefore never needs to know which parser a
//! connection uses.
//!
//! It is deliberately not a socket layer: it does no IO, reads no clock, keeps
//! no shared state and knows nothing of Engine.IO framing. The caller feeds it
//! whole Engine.IO message payloads and sends what it encodes. Namespaces,
//! acknowledgement bookkeeping and the reaction to a [`DecodeError`] (closing
//! the Engine.IO connection with reason `parse error`) belong to the server.
//!
//! # Layout
//!
//! - [`packet`]: [`PacketType`], [`Packet`], its constructors and the text
//!   encoder ([`Packet::encode`]).
//! - [`decoder`]: the stateful text [`Decoder`] that pairs a binary packet's
//!   header with its attachments, and its [`DecoderLimits`].
//! - [`binary`]: the placeholder objects that stand for binary values.
//! - `payload` (private): the payload rules shared by both parsers.
//! - [`error`]: [`DecodeError`] (and, with `msgpack`, `EncodeError`).
//! - `msgpack` (feature `msgpack`): the one-message-per-packet msgpack parser.
//!
//! # Examples
//!
//! ```
//! use bytes::BytesMut;
//! use tidings_sio::{Decoder, DecoderLimits, Packet};
//!
//! let mut decoder = Decoder::new(DecoderLimits::default());
//! let packet = decoder
//!     .handle_text(r#"2/admin,12["foo"]"#)?
//!     .expect("a text-only packet is complete at once");
//! assert_eq!(packet.nsp, "/admin");
//! assert_eq!(packet.id, Some(12));
//!
//! let reply = Packet::ack(&packet.nsp, 12, serde_json::json!(["bar"]), Vec::new());
//! let mut out = BytesMut::new();
//! reply.encode(&mut out);
//! assert_eq!(&out[..], br#"3/admin,12["bar"]"#);
//! # Ok::<(), tidings_sio::DecodeError>(())
//! ```

pub mod binary;
pub mod decoder;
pub mod error;
#[cfg(feature = "msgpack")]
pub mod msgpack;
pub mod packet;
mod payload;

pub use binary::{placeholder, placeholder_index};
pub use decoder::{Decoder, DecoderLimits};
pub use error::DecodeError;
#[cfg(feature = "msgpack")]
pub use error::EncodeError;
pub use packet::{Packet, PacketType, encode_connect_reply, is_valid_namespace};
pub use payload::RESERVED_EVENTS;
