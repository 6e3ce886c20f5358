//! The errors of the codec: one `DecodeError` for peer input, and the msgpack encoder's error.

/// Why a peer's Socket.IO message was rejected.
///
/// Every variant is a protocol violation (spec §2.7): the server reacts by
/// closing the Engine.IO connection with the disconnect reason
/// `parse error`, which disconnects every namespace on it. The variants only
/// say which rule broke, for logs and tests; none of them asks for a
/// different reaction. The [`Decoder`](crate::Decoder) is back in its idle
/// state after any error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The message is empty, or its type is not one of 0–6 (text) or 0–4
    /// (msgpack). Reaction: close the Engine.IO connection (`parse error`).
    #[error("unknown packet type")]
    UnknownPacketType,
    /// A binary packet's attachment count is missing, not decimal digits,
    /// not followed by `-`, or zero. Reaction: close the Engine.IO connection
    /// (`parse error`).
    #[error("illegal attachments")]
    IllegalAttachments,
    /// A binary packet announces, or a msgpack packet carries, more
    /// attachments than [`DecoderLimits::max_attachments`](crate::DecoderLimits::max_attachments).
    /// Reaction: close the Engine.IO connection (`parse error`).
    #[error("too many attachments")]
    TooManyAttachments,
    /// The ack id overflows `u64`, has more than 20 digits, or (msgpack) is
    /// not a non-negative integer. Reaction: close the Engine.IO connection
    /// (`parse error`).
    #[error("invalid ack id")]
    InvalidAckId,
    /// The payload is not valid JSON, or nests deeper than 128 levels.
    /// Reaction: close the Engine.IO connection (`parse error`).
    #[error("invalid json payload")]
    InvalidJson,
    /// The payload breaks the rule of its packet type (spec §2.1): a CONNECT
    /// payload that is not an object, any DISCONNECT payload, an EVENT that is
    /// not a non-empty array starting with a string or a number, an ACK that
    /// is not an array, a CONNECT_ERROR that is neither object nor string.
    /// Reaction: close the Engine.IO connection (`parse error`).
    #[error("invalid payload")]
    InvalidPayload,
    /// An EVENT is named `connect`, `connect_error`, `disconnect`,
    /// `disconnecting`, `newListener` or `removeListener`. Reaction: close the
    /// Engine.IO connection (`parse error`).
    #[error("reserved event name")]
    ReservedEventName,
    /// A `{"_placeholder":true,...}` object whose `num` is not an integer in
    /// `[0, attachments)`, or (msgpack) a map that forges a placeholder.
    /// Reaction: close the Engine.IO connection (`parse error`).
    #[error("illegal attachment placeholder")]
    InvalidPlaceholder,
    /// A text message arrived while a binary packet still expected
    /// attachments. Reaction: close the Engine.IO connection (`parse error`).
    #[error("text message while attachments are pending")]
    UnexpectedText,
    /// A binary message arrived when no attachment was expected, or (msgpack)
    /// a binary value sits in a packet other than EVENT or ACK. Reaction:
    /// close the Engine.IO connection (`parse error`).
    #[error("unexpected binary data")]
    UnexpectedBinary,
    /// (msgpack) The packet map has no `nsp` string. Reaction: close the
    /// Engine.IO connection (`parse error`).
    #[error("invalid namespace")]
    InvalidNamespace,
    /// (msgpack) The message is not one well-formed msgpack map: truncated,
    /// trailing bytes, a reserved marker, a string that is not UTF-8, a
    /// non-string or repeated map key, or an extension type the reference
    /// does not produce. Reaction: close the Engine.IO connection (`parse error`).
    #[error("malformed msgpack")]
    InvalidMsgpack,
    /// (msgpack) Arrays and maps nest deeper than 128 levels. Reaction: close
    /// the Engine.IO connection (`parse error`).
    #[error("msgpack nesting too deep")]
    TooDeep,
}

/// Why [`msgpack::encode`](crate::msgpack::encode) could not encode a packet.
///
/// These are bugs in the caller's packet, not peer behaviour: the packet is
/// not sent.
#[cfg(feature = "msgpack")]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// A placeholder's `num` has no matching entry in
    /// [`Packet::attachments`](crate::Packet::attachments).
    #[error("placeholder refers to a missing attachment")]
    MissingAttachment,
    /// A string, binary, array or map has 2³² or more elements or bytes,
    /// which msgpack cannot express.
    #[error("value too large for msgpack")]
    TooLarge,
}
