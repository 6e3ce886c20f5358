//! A minimal WebSocket client codec (RFC 6455), pure: the upgrade request, the check of
//! the server's answer, parsing of server frames and encoding of masked client frames.
//!
//! It is just enough for a load generator: servers send unmasked, unfragmented frames
//! to it, and it sends text frames, pongs and closes. Owning the codec lets a reader
//! take every frame out of one large `read()` without a copy per message.

use anyhow::bail;

/// The opcodes a client acts on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Opcode {
    /// `0x1`.
    Text,
    /// `0x2`.
    Binary,
    /// `0x8`.
    Close,
    /// `0x9`.
    Ping,
    /// `0xA`.
    Pong,
}

impl Opcode {
    fn from_bits(bits: u8) -> Option<Self> {
        Some(match bits {
            0x1 => Self::Text,
            0x2 => Self::Binary,
            0x8 => Self::Close,
            0x9 => Self::Ping,
            0xA => Self::Pong,
            _ => return None,
        })
    }

    fn bits(self) -> u8 {
        match self {
            Self::Text => 0x1,
            Self::Binary => 0x2,
            Self::Close => 0x8,
            Self::Ping => 0x9,
            Self::Pong => 0xA,
        }
    }
}

/// Where one complete frame sits in a buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FrameRef {
    /// The frame's opcode.
    pub(crate) opcode: Opcode,
    /// Offset of the payload from the start of the frame.
    pub(crate) payload_start: usize,
    /// Length of the whole frame, header included.
    pub(crate) len: usize,
}

impl FrameRef {
    /// The payload inside `buf`, the buffer the frame was parsed from.
    #[cfg(test)]
    pub(crate) fn payload<'a>(&self, buf: &'a [u8]) -> &'a [u8] {
        &buf[self.payload_start..self.len]
    }
}

/// Parses the server frame at the start of `buf`: `Ok(None)` until it is complete.
///
/// # Errors
/// A fragmented or masked frame, a reserved bit or an unknown opcode: servers do not
/// send these to this client, so they mean a broken peer.
pub(crate) fn parse_frame(buf: &[u8]) -> anyhow::Result<Option<FrameRef>> {
    let [first, second, ..] = *buf else {
        return Ok(None);
    };
    if first & 0x80 == 0 {
        bail!("fragmented websocket frame");
    }
    if first & 0x70 != 0 {
        bail!("websocket frame with reserved bits set");
    }
    let Some(opcode) = Opcode::from_bits(first & 0x0f) else {
        bail!("websocket opcode {:#x}", first & 0x0f);
    };
    if second & 0x80 != 0 {
        bail!("masked websocket frame from the server");
    }
    let (header, len) = match second & 0x7f {
        126 => {
            let Some(bytes) = buf.get(2..4) else {
                return Ok(None);
            };
            (4, u64::from(u16::from_be_bytes([bytes[0], bytes[1]])))
        }
        127 => {
            let Some(bytes) = buf.get(2..10) else {
                return Ok(None);
            };
            let mut array = [0u8; 8];
            array.copy_from_slice(bytes);
            (10, u64::from_be_bytes(array))
        }
        short => (2, u64::from(short)),
    };
    let Ok(len) = usize::try_from(len) else {
        bail!("websocket frame too large");
    };
    if len > 64 << 20 {
        bail!("websocket frame of {len} bytes");
    }
    let total = header + len;
    if buf.len() < total {
        return Ok(None);
    }
    Ok(Some(FrameRef {
        opcode,
        payload_start: header,
        len: total,
    }))
}

/// Appends one masked client frame.
pub(crate) fn encode_frame(opcode: Opcode, payload: &[u8], mask: [u8; 4], dst: &mut Vec<u8>) {
    dst.push(0x80 | opcode.bits());
    match payload.len() {
        len @ 0..=125 => dst.push(0x80 | len as u8),
        len @ 126..=0xffff => {
            dst.push(0x80 | 126);
            dst.extend_from_slice(&(len as u16).to_be_bytes());
        }
        len => {
            dst.push(0x80 | 127);
            dst.extend_from_slice(&(len as u64).to_be_bytes());
        }
    }
    dst.extend_from_slice(&mask);
    dst.extend(
        payload
            .iter()
            .enumerate()
            .map(|(index, byte)| byte ^ mask[index % 4]),
    );
}

/// The upgrade request for `path` on `host`.
pub(crate) fn handshake_request(host: &str, path: &str) -> String {
    // The key is a fixed nonce: servers only hash it, and the answer is not checked.
    format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
}

/// Checks the server's answer to the upgrade: `Ok(None)` until the head is complete,
/// then the length of the head (frames may follow it in the same read).
///
/// # Errors
/// Any status other than 101.
pub(crate) fn handshake_response(buf: &[u8]) -> anyhow::Result<Option<usize>> {
    let Some(end) = buf.windows(4).position(|window| window == b"\r\n\r\n") else {
        if buf.len() > 8192 {
            bail!("upgrade response head too long");
        }
        return Ok(None);
    };
    let head = &buf[..end];
    let status_line = head.split(|&byte| byte == b'\r').next().unwrap_or_default();
    if !status_line.starts_with(b"HTTP/1.1 101") {
        bail!(
            "upgrade refused: {}",
            String::from_utf8_lossy(status_line).trim()
        );
    }
    Ok(Some(end + 4))
}

/// A cheap mask generator (xorshift): masks need not be secret for a load generator.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Masks(u32);

impl Masks {
    /// A generator seeded from `seed` (any value).
    pub(crate) fn new(seed: u32) -> Self {
        Self(seed | 1)
    }

    /// The next mask.
    pub(crate) fn next_mask(&mut self) -> [u8; 4] {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.0 = x;
        x.to_le_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_short_text_frame_and_needs_more_before() {
        let frame = b"\x81\x05hello\x81";
        assert_eq!(parse_frame(&frame[..1]).unwrap(), None);
        assert_eq!(parse_frame(&frame[..4]).unwrap(), None);
        let parsed = parse_frame(frame).unwrap().unwrap();
        assert_eq!(parsed.opcode, Opcode::Text);
        assert_eq!(parsed.len, 7);
        assert_eq!(parsed.payload(frame), b"hello");
    }

    #[test]
    fn parses_16_and_64_bit_lengths() {
        let mut frame = vec![0x82, 126, 0x01, 0x00];
        frame.extend(std::iter::repeat_n(7u8, 256));
        let parsed = parse_frame(&frame).unwrap().unwrap();
        assert_eq!(
            (parsed.opcode, parsed.payload_start, parsed.len),
            (Opcode::Binary, 4, 260)
        );
        assert_eq!(parse_frame(&frame[..259]).unwrap(), None);

        let mut frame = vec![0x81, 127, 0, 0, 0, 0, 0, 1, 0, 0];
        assert_eq!(parse_frame(&frame).unwrap(), None);
        frame.extend(std::iter::repeat_n(b'a', 65_536));
        let parsed = parse_frame(&frame).unwrap().unwrap();
        assert_eq!((parsed.payload_start, parsed.len), (10, 65_546));
    }

    #[test]
    fn rejects_what_servers_never_send() {
        assert!(parse_frame(b"\x01\x00").is_err(), "fragment");
        assert!(parse_frame(b"\xc1\x00").is_err(), "rsv1");
        assert!(parse_frame(b"\x83\x00").is_err(), "opcode");
        assert!(parse_frame(b"\x81\x80abcd").is_err(), "masked");
        assert!(
            parse_frame(b"\x81\x7f\xff\xff\xff\xff\xff\xff\xff\xff").is_err(),
            "huge"
        );
    }

    #[test]
    fn control_frames_parse() {
        assert_eq!(
            parse_frame(b"\x89\x00").unwrap().unwrap().opcode,
            Opcode::Ping
        );
        assert_eq!(
            parse_frame(b"\x8a\x00").unwrap().unwrap().opcode,
            Opcode::Pong
        );
        assert_eq!(
            parse_frame(b"\x88\x02\x03\xe8").unwrap().unwrap().opcode,
            Opcode::Close
        );
    }

    #[test]
    fn encodes_masked_frames() {
        let mut out = Vec::new();
        encode_frame(Opcode::Text, b"40", [1, 2, 3, 4], &mut out);
        assert_eq!(out, [0x81, 0x82, 1, 2, 3, 4, b'4' ^ 1, b'0' ^ 2]);

        let mut out = Vec::new();
        let payload = vec![b'x'; 300];
        encode_frame(Opcode::Text, &payload, [0; 4], &mut out);
        assert_eq!(&out[..4], &[0x81, 0x80 | 126, 0x01, 0x2c]);
        assert_eq!(out.len(), 4 + 4 + 300);
        assert!(out[8..].iter().all(|&byte| byte == b'x'));
    }

    #[test]
    fn masking_round_trips() {
        let mut masks = Masks::new(7);
        let mask = masks.next_mask();
        assert_ne!(mask, masks.next_mask());
        let mut out = Vec::new();
        encode_frame(Opcode::Text, b"2probe", mask, &mut out);
        let unmasked: Vec<u8> = out[6..]
            .iter()
            .enumerate()
            .map(|(index, byte)| byte ^ mask[index % 4])
            .collect();
        assert_eq!(unmasked, b"2probe");
    }

    #[test]
    fn handshake_answer() {
        let request = handshake_request("127.0.0.1:3000", "/socket.io/?EIO=4&transport=websocket");
        assert!(request.starts_with("GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n"));
        assert!(request.ends_with("\r\n\r\n"));
        let answer = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x010";
        assert_eq!(handshake_response(&answer[..20]).unwrap(), None);
        assert_eq!(handshake_response(answer).unwrap(), Some(answer.len() - 3));
        assert!(handshake_response(b"HTTP/1.1 400 Bad Request\r\n\r\n").is_err());
    }
}
