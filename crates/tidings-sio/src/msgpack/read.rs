//! A bounded msgpack reader that turns values into JSON, and `bin` values into attachments.

use bytes::Bytes;
use serde_json::{Map, Number, Value};

use crate::{DecodeError, binary};

/// Deepest nesting of arrays and maps accepted, the same as serde_json's
/// default recursion limit for the text parser.
const MAX_DEPTH: usize = 128;

/// JavaScript numbers are exact integers up to here; notepack writes such
/// numbers as msgpack integers, so integral floats below it become integers.
const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

/// Most elements reserved ahead for one array or map. Each level of a nested
/// message could otherwise reserve room for the whole rest of the message, and
/// 128 levels of `0xdd ffffffff` would ask for 128 times its length in values.
/// Past this, a collection grows as its elements are actually read.
const MAX_RESERVED: usize = 64;

/// Reads msgpack values from one message.
///
/// A length in the input sizes an allocation only up to [`MAX_RESERVED`]
/// elements and the bytes that remain (each element needs at least one), so
/// what a peer makes the reader allocate follows what it really sent.
#[derive(Debug)]
pub(super) struct Reader<'a> {
    src: &'a [u8],
    pos: usize,
    /// Binary values met so far, in order; each became a placeholder.
    pub(super) attachments: Vec<Bytes>,
    max_attachments: usize,
}

type Result<T> = std::result::Result<T, DecodeError>;

impl<'a> Reader<'a> {
    pub(super) fn new(src: &'a [u8], max_attachments: usize) -> Self {
        Self {
            src,
            pos: 0,
            attachments: Vec::new(),
            max_attachments,
        }
    }

    fn remaining(&self) -> usize {
        self.src.len() - self.pos
    }

    /// Fails unless every byte was consumed, as notepack does.
    pub(super) fn finish(&self) -> Result<()> {
        if self.remaining() == 0 {
            Ok(())
        } else {
            Err(DecodeError::InvalidMsgpack)
        }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&end| end <= self.src.len())
            .ok_or(DecodeError::InvalidMsgpack)?;
        let bytes = &self.src[self.pos..end];
        self.pos = end;
        Ok(bytes)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        self.take(N)?
            .try_into()
            .map_err(|_| DecodeError::InvalidMsgpack)
    }

    fn u8(&mut self) -> Result<u8> {
        Ok(self.array::<1>()?[0])
    }

    fn u16(&mut self) -> Result<usize> {
        Ok(usize::from(u16::from_be_bytes(self.array()?)))
    }

    fn u32(&mut self) -> Result<usize> {
        usize::try_from(u32::from_be_bytes(self.array()?)).map_err(|_| DecodeError::InvalidMsgpack)
    }

    /// Reads the header of the top-level map and returns its entry count.
    pub(super) fn map_header(&mut self) -> Result<usize> {
        match self.u8()? {
            marker @ 0x80..=0x8f => Ok(usize::from(marker & 0x0f)),
            0xde => self.u16(),
            0xdf => self.u32(),
            _ => Err(DecodeError::InvalidMsgpack),
        }
    }

    /// Reads a map key, which must be a string: the reference clients only
    /// write JavaScript object keys, which are strings.
    pub(super) fn key(&mut self) -> Result<&'a str> {
        let len = match self.u8()? {
            marker @ 0xa0..=0xbf => usize::from(marker & 0x1f),
            0xd9 => usize::from(self.u8()?),
            0xda => self.u16()?,
            0xdb => self.u32()?,
            _ => return Err(DecodeError::InvalidMsgpack),
        };
        self.str(len)
    }

    fn str(&mut self, len: usize) -> Result<&'a str> {
        std::str::from_utf8(self.take(len)?).map_err(|_| DecodeError::InvalidMsgpack)
    }

    /// Reads one value. `None` is JavaScript's `undefined` (notepack 2.2
    /// writes it as the extension `d4 00 00`), which JSON cannot hold: the
    /// caller drops it from maps and turns it into `null` in arrays, as
    /// `JSON.stringify` does.
    pub(super) fn value(&mut self, depth: usize) -> Result<Option<Value>> {
        let marker = self.u8()?;
        let value = match marker {
            0x00..=0x7f => Value::from(marker),
            0x80..=0x8f => self.map(usize::from(marker & 0x0f), depth)?,
            0x90..=0x9f => self.seq(usize::from(marker & 0x0f), depth)?,
            0xa0..=0xbf => Value::from(self.str(usize::from(marker & 0x1f))?),
            0xc0 => Value::Null,
            0xc2 => Value::Bool(false),
            0xc3 => Value::Bool(true),
            0xc4 => {
                let len = usize::from(self.u8()?);
                self.bin(len)?
            }
            0xc5 => {
                let len = self.u16()?;
                self.bin(len)?
            }
            0xc6 => {
                let len = self.u32()?;
                self.bin(len)?
            }
            0xc7 => {
                let len = usize::from(self.u8()?);
                return self.ext(marker, len);
            }
            0xc8 => {
                let len = self.u16()?;
                return self.ext(marker, len);
            }
            0xc9 => {
                let len = self.u32()?;
                return self.ext(marker, len);
            }
            0xca => float(f64::from(f32::from_be_bytes(self.array()?))),
            0xcb => float(f64::from_be_bytes(self.array()?)),
            0xcc => Value::from(self.u8()?),
            0xcd => Value::from(u16::from_be_bytes(self.array()?)),
            0xce => Value::from(u32::from_be_bytes(self.array()?)),
            0xcf => Value::from(u64::from_be_bytes(self.array()?)),
            0xd0 => Value::from(i8::from_be_bytes(self.array()?)),
            0xd1 => Value::from(i16::from_be_bytes(self.array()?)),
            0xd2 => Value::from(i32::from_be_bytes(self.array()?)),
            0xd3 => Value::from(i64::from_be_bytes(self.array()?)),
            0xd4 => return self.ext(marker, 1),
            0xd5 => return self.ext(marker, 2),
            0xd6 => return self.ext(marker, 4),
            0xd7 => return self.ext(marker, 8),
            0xd8 => return self.ext(marker, 16),
            0xd9 => {
                let len = usize::from(self.u8()?);
                Value::from(self.str(len)?)
            }
            0xda => {
                let len = self.u16()?;
                Value::from(self.str(len)?)
            }
            0xdb => {
                let len = self.u32()?;
                Value::from(self.str(len)?)
            }
            0xdc => {
                let len = self.u16()?;
                self.seq(len, depth)?
            }
            0xdd => {
                let len = self.u32()?;
                self.seq(len, depth)?
            }
            0xde => {
                let len = self.u16()?;
                self.map(len, depth)?
            }
            0xdf => {
                let len = self.u32()?;
                self.map(len, depth)?
            }
            0xe0..=0xff => Value::from(i8::from_be_bytes([marker])),
            // 0xc1 is reserved ("never used") by the msgpack spec.
            0xc1 => return Err(DecodeError::InvalidMsgpack),
        };
        Ok(Some(value))
    }

    fn seq(&mut self, len: usize, depth: usize) -> Result<Value> {
        if depth >= MAX_DEPTH {
            return Err(DecodeError::TooDeep);
        }
        let mut items = Vec::with_capacity(len.min(self.remaining()).min(MAX_RESERVED));
        for _ in 0..len {
            items.push(self.value(depth + 1)?.unwrap_or(Value::Null));
        }
        Ok(Value::Array(items))
    }

    fn map(&mut self, len: usize, depth: usize) -> Result<Value> {
        if depth >= MAX_DEPTH {
            return Err(DecodeError::TooDeep);
        }
        let mut map = Map::with_capacity(len.min(self.remaining() / 2).min(MAX_RESERVED));
        for _ in 0..len {
            let key = self.key()?;
            // JavaScript objects cannot hold a key twice, so no real client
            // sends one; refusing it keeps every attachment referenced once.
            if map.contains_key(key) {
                return Err(DecodeError::InvalidMsgpack);
            }
            if let Some(value) = self.value(depth + 1)? {
                map.insert(key.to_owned(), value);
            }
        }
        // In msgpack a binary value is a `bin`, never a placeholder object; a
        // map that looks like one would alias an attachment in the layer above.
        if binary::is_marked(&map) {
            return Err(DecodeError::InvalidPlaceholder);
        }
        Ok(Value::Object(map))
    }

    /// Keeps `len` bytes as the next attachment and returns its placeholder.
    fn bin(&mut self, len: usize) -> Result<Value> {
        let num = self.attachments.len();
        if num >= self.max_attachments {
            return Err(DecodeError::TooManyAttachments);
        }
        let bytes = Bytes::copy_from_slice(self.take(len)?);
        self.attachments.push(bytes);
        Ok(binary::placeholder(num))
    }

    /// Reads an extension value: what notepack 2.2 (the parser's encoder)
    /// writes for `undefined`, `ArrayBuffer` and `Date`, plus the standard
    /// timestamp extension. Anything else is refused.
    fn ext(&mut self, marker: u8, len: usize) -> Result<Option<Value>> {
        let kind = i8::from_be_bytes(self.array()?);
        match (kind, marker) {
            // `undefined`: `d4 00 00`.
            (0, 0xd4) => {
                self.take(len)?;
                Ok(None)
            }
            // An `ArrayBuffer` or typed array (browser clients): binary data.
            (0, 0xc7..=0xc9) => self.bin(len).map(Some),
            // notepack's own `Date`: milliseconds as a signed 64-bit integer.
            (0, 0xd7) => Ok(Some(date(i128::from(i64::from_be_bytes(self.array()?))))),
            (-1, _) => {
                let millis = self.timestamp(len)?;
                Ok(Some(date(millis)))
            }
            _ => Err(DecodeError::InvalidMsgpack),
        }
    }

    /// Reads the standard msgpack timestamp (extension -1) as milliseconds.
    fn timestamp(&mut self, len: usize) -> Result<i128> {
        let (secs, nanos) = match len {
            4 => (i128::from(u32::from_be_bytes(self.array()?)), 0),
            8 => {
                let raw = u64::from_be_bytes(self.array()?);
                (i128::from(raw & 0x3_ffff_ffff), i128::from(raw >> 34))
            }
            12 => {
                let nanos = i128::from(u32::from_be_bytes(self.array()?));
                (i128::from(i64::from_be_bytes(self.array()?)), nanos)
            }
            _ => return Err(DecodeError::InvalidMsgpack),
        };
        // Truncation toward zero, like `new Date(fractional ms)`.
        Ok((secs * 1_000_000_000 + nanos) / 1_000_000)
    }
}

/// Converts a msgpack float into JSON as `JSON.stringify` would see it.
fn float(f: f64) -> Value {
    if !f.is_finite() {
        // `JSON.stringify(NaN)` is `null`.
        return Value::Null;
    }
    if f.fract() == 0.0 && f.abs() <= MAX_SAFE_INTEGER {
        // Exact: an integer within 2^53. Integral floats become integers so
        // that a re-encoded packet decodes to the same value (notepack writes
        // integral numbers as msgpack integers).
        return if f >= 0.0 {
            Value::from(f as u64)
        } else {
            Value::from(f as i64)
        };
    }
    Number::from_f64(f).map_or(Value::Null, Value::Number)
}

/// The JSON form of a JavaScript `Date`: `Date.prototype.toJSON`'s ISO 8601
/// string, or `null` outside the range a `Date` can hold.
fn date(millis: i128) -> Value {
    // ECMAScript's time value range: ±100,000,000 days around the epoch.
    const LIMIT: i128 = 8_640_000_000_000_000;
    if !(-LIMIT..=LIMIT).contains(&millis) {
        return Value::Null;
    }
    let days = millis.div_euclid(86_400_000);
    let in_day = millis.rem_euclid(86_400_000);
    let (year, month, day) = civil_from_days(days);
    let (h, m, s, ms) = (
        in_day / 3_600_000,
        in_day / 60_000 % 60,
        in_day / 1000 % 60,
        in_day % 1000,
    );
    // Years outside 0..=9999 use the six-digit signed form, as in JavaScript.
    let year = if (0..=9999).contains(&year) {
        format!("{year:04}")
    } else if year < 0 {
        format!("-{:06}", -year)
    } else {
        format!("+{year:06}")
    };
    Value::String(format!(
        "{year}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}.{ms:03}Z"
    ))
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (the
/// well-known era-based conversion: 400-year eras of 146,097 days).
fn civil_from_days(days: i128) -> (i128, i128, i128) {
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    // Months counted from March, so the leap day ends the year.
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = year_of_era + era * 400 + i128::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_render_like_javascript_to_json() {
        assert_eq!(date(0), Value::from("1970-01-01T00:00:00.000Z"));
        assert_eq!(
            date(1_704_164_645_678),
            Value::from("2024-01-02T03:04:05.678Z")
        );
        assert_eq!(date(-1), Value::from("1969-12-31T23:59:59.999Z"));
        assert_eq!(
            date(951_782_400_000),
            Value::from("2000-02-29T00:00:00.000Z")
        );
        assert_eq!(
            date(-62_198_755_200_000),
            Value::from("-000001-01-01T00:00:00.000Z")
        );
        assert_eq!(
            date(8_640_000_000_000_000),
            Value::from("+275760-09-13T00:00:00.000Z")
        );
        assert_eq!(date(8_640_000_000_000_001), Value::Null);
    }

    #[test]
    fn floats_become_integers_when_javascript_cannot_tell() {
        assert_eq!(float(5.0), Value::from(5u64));
        assert_eq!(float(-0.0), Value::from(0u64));
        assert_eq!(float(-3.0), Value::from(-3i64));
        assert_eq!(float(0.5), Value::from(0.5));
        assert_eq!(float(f64::NAN), Value::Null);
        assert_eq!(float(1e300), Value::from(1e300));
    }

    #[test]
    fn declared_lengths_beyond_the_input_fail_without_allocating() {
        // An array32 claiming 4 billion elements, then nothing.
        let mut reader = Reader::new(&[0xdd, 0xff, 0xff, 0xff, 0xff], 10);
        assert_eq!(reader.value(0), Err(DecodeError::InvalidMsgpack));
        // A bin32 claiming 4 GiB.
        let mut reader = Reader::new(&[0xc6, 0xff, 0xff, 0xff, 0xff, 0], 10);
        assert_eq!(reader.value(0), Err(DecodeError::InvalidMsgpack));
    }

    #[test]
    fn nesting_is_bounded() {
        let deep = vec![0x91; 200];
        assert_eq!(Reader::new(&deep, 10).value(0), Err(DecodeError::TooDeep));
        let deep = [[0x81, 0xa1, b'a'].repeat(200), vec![0xc0]].concat();
        assert_eq!(Reader::new(&deep, 10).value(0), Err(DecodeError::TooDeep));
    }
}
