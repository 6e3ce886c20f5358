//! Reading a broadcast `tick` without parsing its JSON.

/// The server timestamp (µs since the Unix epoch) of a `tick` event message
/// (`42["tick",{…"t":<µs>…}]`), or `None` for any other message.
///
/// Every peer writes `t` as an integer; the key may come before or after the others
/// (serde_json without `preserve_order` sorts keys), and `p` holds only `x`, so the
/// first `"t":` is the timestamp.
pub(crate) fn tick_time(message: &[u8]) -> Option<u64> {
    let rest = message.strip_prefix(b"42[\"tick\",")?;
    let at = rest.windows(4).position(|window| window == b"\"t\":")?;
    let digits = &rest[at + 4..];
    let mut value: u64 = 0;
    let mut seen = false;
    for &byte in digits {
        if !byte.is_ascii_digit() {
            break;
        }
        value = value.checked_mul(10)?.checked_add(u64::from(byte - b'0'))?;
        seen = true;
    }
    seen.then_some(value)
}

#[cfg(test)]
mod tests {
    use super::tick_time;

    #[test]
    fn reads_the_timestamp_in_any_key_order() {
        assert_eq!(
            tick_time(br#"42["tick",{"i":7,"t":1732600000123456,"p":"xxxx"}]"#),
            Some(1_732_600_000_123_456)
        );
        assert_eq!(
            tick_time(br#"42["tick",{"i":7,"p":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx","t":99}]"#),
            Some(99)
        );
    }

    #[test]
    fn ignores_other_messages() {
        assert_eq!(tick_time(b"2"), None);
        assert_eq!(tick_time(br#"40{"sid":"x"}"#), None);
        assert_eq!(tick_time(br#"42["other",{"t":5}]"#), None);
        assert_eq!(tick_time(br#"42["tick",{"i":1}]"#), None);
        assert_eq!(tick_time(br#"42["tick",{"t":"5"}]"#), None);
        assert_eq!(
            tick_time(br#"42["tick",{"t":99999999999999999999999}]"#),
            None
        );
    }
}
