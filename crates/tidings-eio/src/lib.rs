//! Engine.IO protocol revision 4, sans-IO.
//!
//! This crate knows the Engine.IO wire format and the rules of a server-side session, and
//! nothing else: no sockets, no clock, no tasks. Bytes come in through `handle_*` calls,
//! the current time is an argument, and what must be written comes out of `poll_*` calls.
//! That keeps every rule unit-testable with literal wire strings and fuzzable without a
//! runtime. The IO lives in `tidings-engine`.
//!
//! It is deliberately not a client, not Engine.IO v3, and not WebTransport.
//!
//! # Layout
//! - [`packet`]: packet types, decoding one packet, outgoing [`Frame`]s.
//! - [`payload`]: polling payloads joined by `\x1e`.
//! - [`handshake`]: the open packet JSON.
//! - [`sid`]: 20-character session ids.
//! - [`session`]: the [`Session`] state machine and its configuration.
//! - [`error`]: decode and session errors, and the HTTP error codes of §1.9.

pub mod error;
pub mod handshake;
pub mod packet;
pub mod payload;
pub mod session;
pub mod sid;

#[cfg(test)]
mod tests;

#[cfg(any(test, feature = "fuzzing"))]
#[doc(hidden)]
pub mod fuzz_support;

pub use error::{DecodeError, ErrorCode, SessionError};
pub use handshake::OpenPacket;
pub use packet::{Frame, Packet, PacketType};
pub use session::{CloseReason, Event, Session, SessionConfig, Transport, WsOutput};
pub use sid::Sid;

/// The protocol revision this crate speaks (`EIO=4`).
pub const PROTOCOL_VERSION: u8 = 4;
