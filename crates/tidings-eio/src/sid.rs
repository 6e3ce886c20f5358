//! Session ids: 20 URL-safe characters made from 15 bytes (protocol §1.15).

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The number of characters of an id.
pub const SID_LEN: usize = 20;

/// Which bytes belong to the URL-safe base64 alphabet: one lookup per character, as every
/// polling request parses the id of its query.
const IN_ALPHABET: [bool; 256] = {
    let mut table = [false; 256];
    let mut byte = 0;
    while byte < 256 {
        let b = byte as u8;
        table[byte] = b.is_ascii_alphanumeric() || b == b'-' || b == b'_';
        byte += 1;
    }
    table
};

/// A session id: 20 characters of the URL-safe base64 alphabet.
///
/// The same format serves the Engine.IO sid, the Socket.IO socket id and the recovery
/// `pid`. It is `Copy` and stored inline, so maps keyed by it allocate no strings.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sid([u8; SID_LEN]);

impl Sid {
    /// Builds an id from 15 bytes, which the caller takes from a secure random source
    /// (this crate has none, by design).
    pub fn from_random(bytes: [u8; 15]) -> Self {
        let mut out = [0u8; SID_LEN];
        // 15 bytes are exactly 20 base64 characters, so this cannot fail.
        let written = URL_SAFE_NO_PAD.encode_slice(bytes, &mut out).unwrap_or(0);
        debug_assert_eq!(written, SID_LEN);
        Self(out)
    }

    /// Parses an id from a query or payload; `None` unless it has the exact shape.
    pub fn parse(text: &str) -> Option<Self> {
        let bytes: [u8; SID_LEN] = text.as_bytes().try_into().ok()?;
        bytes
            .iter()
            .all(|&b| IN_ALPHABET[usize::from(b)])
            .then_some(Self(bytes))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        // Every constructor checks the alphabet, which is ASCII.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl fmt::Display for Sid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Sid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sid({})", self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifteen_bytes_make_twenty_url_safe_chars() {
        let sid = Sid::from_random([0xfb; 15]);
        assert_eq!(sid.as_str(), "-_v7-_v7-_v7-_v7-_v7");
        assert_eq!(Sid::parse(sid.as_str()), Some(sid));
    }

    #[test]
    fn parse_rejects_wrong_length_and_alphabet() {
        assert_eq!(Sid::parse("short"), None);
        assert_eq!(Sid::parse("lv_VI97HAXpY6yYWAAA+"), None);
        assert_eq!(Sid::parse("lv_VI97HAXpY6yYWAAAC!"), None);
        assert!(Sid::parse("lv_VI97HAXpY6yYWAAAC").is_some());
    }

    #[test]
    fn the_alphabet_is_exactly_url_safe_base64() {
        let accepted: String = (0..=255u8)
            .filter(|&b| IN_ALPHABET[usize::from(b)])
            .map(char::from)
            .collect();
        assert_eq!(
            accepted,
            "-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"
        );
        assert_eq!(Sid::parse("lv_VI97HAXpY6yYWAA\u{e9}"), None);
    }
}
