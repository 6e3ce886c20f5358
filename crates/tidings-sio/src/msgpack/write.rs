//! A msgpack writer that picks the same encodings as notepack, so output is byte-identical.

use bytes::{BufMut, Bytes, BytesMut};
use serde_json::{Map, Number, Value};

use crate::{EncodeError, binary};

/// JavaScript numbers are exact integers up to here; notepack writes them as
/// msgpack integers, so integral floats within it are written that way too.
const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

type Result<T> = std::result::Result<T, EncodeError>;

/// Writes JSON values, turning placeholders back into `bin` values.
#[derive(Debug)]
pub(super) struct Writer<'a> {
    pub(super) dst: &'a mut BytesMut,
    pub(super) attachments: &'a [Bytes],
}

/// The header forms of one msgpack family.
#[derive(Debug, Clone, Copy)]
struct Header {
    /// The "fix" marker and the length it stops at, when the family has one.
    fix: Option<(u8, usize)>,
    /// The 8-bit length marker, when the family has one.
    len8: Option<u8>,
    len16: u8,
    len32: u8,
}

const MAP: Header = Header {
    fix: Some((0x80, 16)),
    len8: None,
    len16: 0xde,
    len32: 0xdf,
};
const ARRAY: Header = Header {
    fix: Some((0x90, 16)),
    len8: None,
    len16: 0xdc,
    len32: 0xdd,
};
const STR: Header = Header {
    fix: Some((0xa0, 32)),
    len8: Some(0xd9),
    len16: 0xda,
    len32: 0xdb,
};
const BIN: Header = Header {
    fix: None,
    len8: Some(0xc4),
    len16: 0xc5,
    len32: 0xc6,
};

impl Writer<'_> {
    /// Writes the smallest header of `form` that holds `len`, which is also
    /// notepack's choice.
    fn header(&mut self, len: usize, form: Header) -> Result<()> {
        if let Some((marker, limit)) = form.fix
            && len < limit
        {
            // `len < limit <= 32`, so it fits the marker's low bits.
            self.dst.put_u8(marker | len as u8);
        } else if let (Some(marker), Ok(len)) = (form.len8, u8::try_from(len)) {
            self.dst.put_u8(marker);
            self.dst.put_u8(len);
        } else if let Ok(len) = u16::try_from(len) {
            self.dst.put_u8(form.len16);
            self.dst.put_u16(len);
        } else {
            let len = u32::try_from(len).map_err(|_| EncodeError::TooLarge)?;
            self.dst.put_u8(form.len32);
            self.dst.put_u32(len);
        }
        Ok(())
    }

    pub(super) fn map_header(&mut self, len: usize) -> Result<()> {
        self.header(len, MAP)
    }

    pub(super) fn str(&mut self, s: &str) -> Result<()> {
        self.header(s.len(), STR)?;
        self.dst.put_slice(s.as_bytes());
        Ok(())
    }

    fn bin(&mut self, bytes: &[u8]) -> Result<()> {
        self.header(bytes.len(), BIN)?;
        self.dst.put_slice(bytes);
        Ok(())
    }

    pub(super) fn uint(&mut self, n: u64) {
        if n < 0x80 {
            self.dst.put_u8(n as u8);
        } else if let Ok(n) = u8::try_from(n) {
            self.dst.put_u8(0xcc);
            self.dst.put_u8(n);
        } else if let Ok(n) = u16::try_from(n) {
            self.dst.put_u8(0xcd);
            self.dst.put_u16(n);
        } else if let Ok(n) = u32::try_from(n) {
            self.dst.put_u8(0xce);
            self.dst.put_u32(n);
        } else {
            self.dst.put_u8(0xcf);
            self.dst.put_u64(n);
        }
    }

    fn int(&mut self, n: i64) {
        if let Ok(n) = u64::try_from(n) {
            self.uint(n);
        } else if n >= -32 {
            // Negative fixint: the byte is the two's complement value.
            self.dst.put_i8(n as i8);
        } else if let Ok(n) = i8::try_from(n) {
            self.dst.put_u8(0xd0);
            self.dst.put_i8(n);
        } else if let Ok(n) = i16::try_from(n) {
            self.dst.put_u8(0xd1);
            self.dst.put_i16(n);
        } else if let Ok(n) = i32::try_from(n) {
            self.dst.put_u8(0xd2);
            self.dst.put_i32(n);
        } else {
            self.dst.put_u8(0xd3);
            self.dst.put_i64(n);
        }
    }

    fn number(&mut self, n: &Number) {
        if let Some(n) = n.as_u64() {
            self.uint(n);
        } else if let Some(n) = n.as_i64() {
            self.int(n);
        } else if let Some(f) = n.as_f64() {
            // JavaScript cannot tell 5.0 from 5, and notepack writes it as 5.
            if f.fract() == 0.0 && f.abs() <= MAX_SAFE_INTEGER {
                if f >= 0.0 {
                    self.uint(f as u64);
                } else {
                    self.int(f as i64);
                }
            } else {
                self.dst.put_u8(0xcb);
                self.dst.put_f64(f);
            }
        }
    }

    /// Writes `value`; recursion follows the value's own nesting, like
    /// serde_json's serializer does.
    pub(super) fn value(&mut self, value: &Value) -> Result<()> {
        match value {
            Value::Null => self.dst.put_u8(0xc0),
            Value::Bool(b) => self.dst.put_u8(if *b { 0xc3 } else { 0xc2 }),
            Value::Number(n) => self.number(n),
            Value::String(s) => self.str(s)?,
            Value::Array(items) => {
                self.header(items.len(), ARRAY)?;
                for item in items {
                    self.value(item)?;
                }
            }
            Value::Object(map) => self.object(map)?,
        }
        Ok(())
    }

    fn object(&mut self, map: &Map<String, Value>) -> Result<()> {
        // A marked object is always a placeholder: one without a usable `num`
        // is the caller's bug, not data to send as a map.
        if binary::is_marked(map) {
            let bytes = binary::map_index(map)
                .and_then(|num| self.attachments.get(num))
                .ok_or(EncodeError::MissingAttachment)?;
            return self.bin(bytes);
        }
        self.map_header(map.len())?;
        for (key, value) in map {
            self.str(key)?;
            self.value(value)?;
        }
        Ok(())
    }
}
