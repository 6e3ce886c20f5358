//! The WebSocket wire format (RFC 6455) for the server side, sans-IO: decoding the
//! client's masked frames into messages, and encoding the server's unmasked frame headers.
//!
//! Only what a Socket.IO server needs: no extensions (permessage-deflate is off, as in the
//! reference), no subprotocols. Every limit is checked before anything is buffered for it.
//!
//! The engine's WebSocket transport is built on it. It is public so that other servers can
//! speak WebSocket exactly as the engine does (the benchmark's raw WebSocket floor does);
//! the HTTP handshake itself is left to the caller, apart from [`accept_key`].

use bytes::{Buf, Bytes, BytesMut};

/// Frame opcodes.
const CONTINUATION: u8 = 0x0;
const TEXT: u8 = 0x1;
const BINARY: u8 = 0x2;
const CLOSE: u8 = 0x8;
const PING: u8 = 0x9;
const PONG: u8 = 0xA;

/// The largest control frame payload (RFC 6455 §5.5).
const MAX_CONTROL: usize = 125;

/// A complete message from the client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Incoming {
    /// A text message, valid UTF-8.
    Text(Bytes),
    /// A binary message.
    Binary(Bytes),
    /// A ping; the answer is a pong with the same payload.
    Ping(Bytes),
    /// A pong; its payload is not kept.
    Pong,
    /// A close frame: the status code, if any (the reason is checked, then dropped).
    Close(Option<u16>),
}

/// Why the connection must be failed, with the close code to send (RFC 6455 §7.4.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WsError {
    /// A framing rule was broken: 1002.
    Protocol,
    /// A text message or close reason is not UTF-8: 1007.
    InvalidUtf8,
    /// A message is larger than the limit: 1009.
    TooBig,
}

impl WsError {
    /// The close code that reports this error.
    pub fn close_code(self) -> u16 {
        match self {
            Self::Protocol => 1002,
            Self::InvalidUtf8 => 1007,
            Self::TooBig => 1009,
        }
    }
}

/// Decodes the client's byte stream into messages.
///
/// Feed bytes with [`Reader::extend`], then call [`Reader::decode`] until it returns
/// `Ok(None)`. Partial frames wait in the buffer; an idle reader holds no allocation.
#[derive(Debug)]
pub struct Reader {
    buffer: BytesMut,
    /// The opcode and the data gathered so far of a fragmented message (boxed: rare).
    fragments: Option<Box<(u8, BytesMut)>>,
    max_message: usize,
}

/// A parsed frame header.
struct Header {
    fin: bool,
    opcode: u8,
    mask: [u8; 4],
    header_len: usize,
    payload_len: usize,
}

impl Reader {
    /// A reader that refuses messages over `max_message` bytes.
    pub fn new(max_message: usize) -> Self {
        Self {
            buffer: BytesMut::new(),
            fragments: None,
            max_message,
        }
    }

    /// Appends bytes read from the socket.
    pub fn extend(&mut self, bytes: &[u8]) {
        self.buffer.extend_from_slice(bytes);
    }

    /// Whether no partial frame or message is waiting.
    pub fn is_idle(&self) -> bool {
        self.buffer.is_empty() && self.fragments.is_none()
    }

    /// The next complete message, `Ok(None)` when more bytes are needed.
    ///
    /// # Errors
    /// Any [`WsError`]: the connection must be failed with its close code.
    pub fn decode(&mut self) -> Result<Option<Incoming>, WsError> {
        loop {
            let Some(header) = self.header()? else {
                return Ok(None);
            };
            let is_control = header.opcode >= CLOSE;
            let gathered = self
                .fragments
                .as_ref()
                .map_or(0, |fragments| fragments.1.len());
            // Saturating: a 64-bit length can come close to `usize::MAX` on 32-bit targets.
            if !is_control && gathered.saturating_add(header.payload_len) > self.max_message {
                return Err(WsError::TooBig);
            }
            if self.buffer.len() < header.header_len + header.payload_len {
                // Reserve once for the whole frame, now that its size is known to be allowed.
                self.buffer
                    .reserve(header.header_len + header.payload_len - self.buffer.len());
                return Ok(None);
            }
            self.buffer.advance(header.header_len);
            let mut payload = self.buffer.split_to(header.payload_len);
            unmask(&mut payload, header.mask);
            if self.buffer.is_empty() {
                // Give the allocation back: idle connections keep no buffer.
                self.buffer = BytesMut::new();
            }
            if let Some(message) = self.frame(&header, payload)? {
                return Ok(Some(message));
            }
        }
    }

    /// Parses the header at the front of the buffer, checking every framing rule.
    fn header(&self) -> Result<Option<Header>, WsError> {
        let bytes = &self.buffer[..];
        let (Some(&first), Some(&second)) = (bytes.first(), bytes.get(1)) else {
            return Ok(None);
        };
        let fin = first & 0x80 != 0;
        let opcode = first & 0x0F;
        // No extension is negotiated, so the reserved bits must be clear.
        if first & 0x70 != 0
            || !matches!(opcode, CONTINUATION | TEXT | BINARY | CLOSE | PING | PONG)
        {
            return Err(WsError::Protocol);
        }
        // Client frames must be masked (RFC 6455 §5.1).
        if second & 0x80 == 0 {
            return Err(WsError::Protocol);
        }
        let (payload_len, length_bytes) = match second & 0x7F {
            126 => match bytes.get(2..4) {
                Some(raw) => (usize::from(u16::from_be_bytes([raw[0], raw[1]])), 2),
                None => return Ok(None),
            },
            127 => match bytes.get(2..10) {
                Some(raw) => {
                    let mut array = [0u8; 8];
                    array.copy_from_slice(raw);
                    let length = u64::from_be_bytes(array);
                    // The most significant bit must be 0; anything past usize is too big.
                    if length >> 63 != 0 {
                        return Err(WsError::Protocol);
                    }
                    (usize::try_from(length).map_err(|_| WsError::TooBig)?, 8)
                }
                None => return Ok(None),
            },
            short => (usize::from(short), 0),
        };
        if opcode >= CLOSE && (!fin || payload_len > MAX_CONTROL) {
            return Err(WsError::Protocol);
        }
        let mask_at = 2 + length_bytes;
        let Some(mask) = bytes.get(mask_at..mask_at + 4) else {
            return Ok(None);
        };
        Ok(Some(Header {
            fin,
            opcode,
            mask: [mask[0], mask[1], mask[2], mask[3]],
            header_len: mask_at + 4,
            payload_len,
        }))
    }

    /// Handles one unmasked frame; `Some` when it completes a message.
    fn frame(&mut self, header: &Header, payload: BytesMut) -> Result<Option<Incoming>, WsError> {
        match header.opcode {
            PING => Ok(Some(Incoming::Ping(payload.freeze()))),
            PONG => Ok(Some(Incoming::Pong)),
            CLOSE => close_frame(&payload).map(Some),
            CONTINUATION => {
                let Some(fragments) = self.fragments.take() else {
                    return Err(WsError::Protocol);
                };
                let (opcode, mut data) = *fragments;
                data.extend_from_slice(&payload);
                if header.fin {
                    complete(opcode, data).map(Some)
                } else {
                    self.fragments = Some(Box::new((opcode, data)));
                    Ok(None)
                }
            }
            opcode => {
                if self.fragments.is_some() {
                    // A new message may not start inside a fragmented one.
                    return Err(WsError::Protocol);
                }
                if header.fin {
                    complete(opcode, payload).map(Some)
                } else {
                    self.fragments = Some(Box::new((opcode, payload)));
                    Ok(None)
                }
            }
        }
    }
}

fn complete(opcode: u8, data: BytesMut) -> Result<Incoming, WsError> {
    let data = data.freeze();
    if opcode == TEXT {
        std::str::from_utf8(&data).map_err(|_| WsError::InvalidUtf8)?;
        Ok(Incoming::Text(data))
    } else {
        Ok(Incoming::Binary(data))
    }
}

/// Checks a close frame's status code and reason (RFC 6455 §5.5.1, §7.4).
fn close_frame(payload: &[u8]) -> Result<Incoming, WsError> {
    match payload {
        [] => Ok(Incoming::Close(None)),
        [_] => Err(WsError::Protocol),
        [high, low, reason @ ..] => {
            let code = u16::from_be_bytes([*high, *low]);
            let valid = matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999);
            if !valid {
                return Err(WsError::Protocol);
            }
            std::str::from_utf8(reason).map_err(|_| WsError::InvalidUtf8)?;
            Ok(Incoming::Close(Some(code)))
        }
    }
}

/// XORs the payload with the masking key (RFC 6455 §5.3), eight bytes at a time: a byte
/// loop was most of the cost of decoding a small frame.
fn unmask(payload: &mut [u8], mask: [u8; 4]) {
    let [a, b, c, d] = mask;
    let wide = u64::from_ne_bytes([a, b, c, d, a, b, c, d]);
    let mut words = payload.chunks_exact_mut(8);
    for word in &mut words {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(word);
        word.copy_from_slice(&(u64::from_ne_bytes(bytes) ^ wide).to_ne_bytes());
    }
    // The words covered a multiple of four bytes, so the key starts over here.
    for (index, byte) in words.into_remainder().iter_mut().enumerate() {
        *byte ^= mask[index % 4];
    }
}

/// The kind of a frame the server sends: frames are never masked and never fragmented.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outgoing {
    /// A text message; the payload must be UTF-8.
    Text,
    /// A binary message.
    Binary,
    /// The answer to a ping, carrying the ping's payload.
    Pong,
    /// A close frame: empty, or a status code followed by an optional UTF-8 reason.
    Close,
}

/// The longest server frame header.
pub const MAX_HEADER: usize = 10;

/// Writes the header of a server frame carrying `len` bytes; returns its length.
pub fn encode_header(kind: Outgoing, len: usize, dst: &mut [u8; MAX_HEADER]) -> usize {
    dst[0] = 0x80
        | match kind {
            Outgoing::Text => TEXT,
            Outgoing::Binary => BINARY,
            Outgoing::Pong => PONG,
            Outgoing::Close => CLOSE,
        };
    match len {
        0..=125 => {
            dst[1] = len as u8;
            2
        }
        126..=0xFFFF => {
            dst[1] = 126;
            dst[2..4].copy_from_slice(&(len as u16).to_be_bytes());
            4
        }
        _ => {
            dst[1] = 127;
            dst[2..10].copy_from_slice(&(len as u64).to_be_bytes());
            10
        }
    }
}

/// Appends a complete server frame (header then payload) to `dst`.
pub fn encode(kind: Outgoing, payload: &[u8], dst: &mut BytesMut) {
    let mut header = [0u8; MAX_HEADER];
    let header_len = encode_header(kind, payload.len(), &mut header);
    dst.reserve(header_len + payload.len());
    dst.extend_from_slice(&header[..header_len]);
    dst.extend_from_slice(payload);
}

/// The value of `Sec-WebSocket-Accept` for a client's `Sec-WebSocket-Key`.
pub fn accept_key(key: &[u8]) -> String {
    use base64::Engine as _;
    use sha1::Digest as _;
    const GUID: &[u8] = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    // `sha1` uses the CPU's SHA instructions where it has them: a tenth of the
    // instructions of a portable SHA-1, which was 4% of a connection setup.
    let mut hasher = sha1::Sha1::new();
    hasher.update(key);
    hasher.update(GUID);
    base64::engine::general_purpose::STANDARD.encode(hasher.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A masked client frame.
    fn client_frame(first: u8, payload: &[u8]) -> Vec<u8> {
        let mask = [0x37, 0xfa, 0x21, 0x3d];
        let mut frame = vec![first];
        match payload.len() {
            len @ 0..=125 => frame.push(0x80 | len as u8),
            len @ 126..=0xFFFF => {
                frame.push(0x80 | 126);
                frame.extend_from_slice(&(len as u16).to_be_bytes());
            }
            len => {
                frame.push(0x80 | 127);
                frame.extend_from_slice(&(len as u64).to_be_bytes());
            }
        }
        frame.extend_from_slice(&mask);
        frame.extend(
            payload
                .iter()
                .enumerate()
                .map(|(i, byte)| byte ^ mask[i % 4]),
        );
        frame
    }

    fn decode_all(bytes: &[u8]) -> Result<Vec<Incoming>, WsError> {
        let mut reader = Reader::new(1 << 20);
        reader.extend(bytes);
        let mut messages = Vec::new();
        while let Some(message) = reader.decode()? {
            messages.push(message);
        }
        Ok(messages)
    }

    #[test]
    fn decodes_the_rfc_example_hello() {
        // RFC 6455 §5.7: a masked text frame "Hello".
        let frame = [
            0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
        ];
        assert_eq!(
            decode_all(&frame).unwrap(),
            [Incoming::Text(Bytes::from_static(b"Hello"))]
        );
    }

    #[test]
    fn waits_for_partial_frames_byte_by_byte() {
        let frame = client_frame(0x82, &[1, 2, 3, 4, 5]);
        let mut reader = Reader::new(1024);
        for (index, byte) in frame.iter().enumerate() {
            reader.extend(&[*byte]);
            let decoded = reader.decode().unwrap();
            if index + 1 < frame.len() {
                assert_eq!(decoded, None);
            } else {
                assert_eq!(
                    decoded,
                    Some(Incoming::Binary(Bytes::from_static(&[1, 2, 3, 4, 5])))
                );
            }
        }
        assert!(reader.is_idle());
    }

    #[test]
    fn decodes_16_and_64_bit_lengths() {
        let medium = vec![7u8; 300];
        let large = vec![9u8; 70_000];
        let mut bytes = client_frame(0x82, &medium);
        bytes.extend(client_frame(0x82, &large));
        assert_eq!(
            decode_all(&bytes).unwrap(),
            [
                Incoming::Binary(medium.into()),
                Incoming::Binary(large.into())
            ]
        );
    }

    #[test]
    fn joins_fragments_with_control_frames_between() {
        let mut bytes = client_frame(0x01, b"Hel");
        bytes.extend(client_frame(0x89, b"ping"));
        bytes.extend(client_frame(0x80, b"lo"));
        assert_eq!(
            decode_all(&bytes).unwrap(),
            [
                Incoming::Ping(Bytes::from_static(b"ping")),
                Incoming::Text(Bytes::from_static(b"Hello"))
            ]
        );
    }

    #[test]
    fn framing_errors_fail_with_1002() {
        let unmasked = [0x81, 0x01, b'a'];
        let reserved_bit = client_frame(0xC1, b"a");
        let bad_opcode = client_frame(0x83, b"a");
        let fragmented_ping = client_frame(0x09, b"a");
        let long_ping = client_frame(0x89, &[0; 126]);
        let stray_continuation = client_frame(0x80, b"a");
        let mut nested = client_frame(0x01, b"a");
        nested.extend(client_frame(0x81, b"b"));
        let one_byte_close = client_frame(0x88, &[3]);
        let bad_code = client_frame(0x88, &1005u16.to_be_bytes());
        for bytes in [
            &unmasked[..],
            &reserved_bit,
            &bad_opcode,
            &fragmented_ping,
            &long_ping,
            &stray_continuation,
            &nested,
            &one_byte_close,
            &bad_code,
        ] {
            assert_eq!(decode_all(bytes), Err(WsError::Protocol), "{bytes:02x?}");
        }
    }

    #[test]
    fn invalid_utf8_fails_with_1007() {
        assert_eq!(
            decode_all(&client_frame(0x81, &[0xff])),
            Err(WsError::InvalidUtf8)
        );
        let mut close = 1000u16.to_be_bytes().to_vec();
        close.push(0xff);
        assert_eq!(
            decode_all(&client_frame(0x88, &close)),
            Err(WsError::InvalidUtf8)
        );
        assert_eq!(WsError::InvalidUtf8.close_code(), 1007);
    }

    #[test]
    fn too_big_fails_with_1009_before_buffering() {
        let mut reader = Reader::new(10);
        // Only the header of an 11-byte frame has arrived: it is refused already.
        reader.extend(&client_frame(0x82, &[0; 11])[..6]);
        assert_eq!(reader.decode(), Err(WsError::TooBig));
        let mut fragments = Reader::new(10);
        fragments.extend(&client_frame(0x02, &[0; 6]));
        fragments.extend(&client_frame(0x80, &[0; 6]));
        assert_eq!(fragments.decode(), Err(WsError::TooBig));
        let mut huge = Reader::new(10);
        huge.extend(&[0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4]);
        assert_eq!(
            huge.decode(),
            Err(WsError::Protocol),
            "the top length bit must be 0"
        );
    }

    #[test]
    fn close_frames_carry_their_code() {
        assert_eq!(
            decode_all(&client_frame(0x88, &[])).unwrap(),
            [Incoming::Close(None)]
        );
        let mut payload = 1001u16.to_be_bytes().to_vec();
        payload.extend_from_slice(b"bye");
        assert_eq!(
            decode_all(&client_frame(0x88, &payload)).unwrap(),
            [Incoming::Close(Some(1001))]
        );
        assert_eq!(
            decode_all(&client_frame(0x88, &4000u16.to_be_bytes())).unwrap(),
            [Incoming::Close(Some(4000))]
        );
    }

    #[test]
    fn encodes_unmasked_headers_for_each_length() {
        let mut dst = BytesMut::new();
        encode(Outgoing::Text, b"4hello", &mut dst);
        assert_eq!(&dst[..], b"\x81\x064hello");
        dst.clear();
        encode(Outgoing::Binary, &[0; 300], &mut dst);
        assert_eq!(&dst[..4], &[0x82, 126, 0x01, 0x2c]);
        dst.clear();
        encode(Outgoing::Binary, &vec![0; 70_000], &mut dst);
        assert_eq!(&dst[..10], &[0x82, 127, 0, 0, 0, 0, 0, 0x01, 0x11, 0x70]);
        dst.clear();
        encode(Outgoing::Close, &[], &mut dst);
        assert_eq!(&dst[..], &[0x88, 0x00]);
    }

    #[test]
    fn unmasking_matches_the_byte_by_byte_rule_at_every_length() {
        let mask = [0x37, 0xfa, 0x21, 0x3d];
        for len in 0..40 {
            let original: Vec<u8> = (0..len).map(|i| (i * 7 + 3) as u8).collect();
            let mut payload = original.clone();
            unmask(&mut payload, mask);
            let expected: Vec<u8> = original
                .iter()
                .enumerate()
                .map(|(i, byte)| byte ^ mask[i % 4])
                .collect();
            assert_eq!(payload, expected, "length {len}");
        }
    }

    #[test]
    fn accept_key_matches_the_rfc_example() {
        assert_eq!(
            accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }
}
