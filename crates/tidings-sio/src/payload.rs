//! The payload rule of each packet type (spec §2.1), shared by both parsers.

use serde_json::Value;

use crate::{DecodeError, PacketType};

/// Event names that user code may not emit: they mean something to the
/// client, the server or Node's `EventEmitter`.
/// Event names a peer may not use: they mean something to the client and server libraries.
pub const RESERVED_EVENTS: [&str; 6] = [
    "connect",
    "connect_error",
    "disconnect",
    "disconnecting",
    "newListener",
    "removeListener",
];

/// Checks a payload that is present on the wire against its packet type.
///
/// Whether a payload may be absent differs between the parsers (the text
/// reference accepts `2` or `31` without one), so that is the caller's check.
pub(crate) fn check(kind: PacketType, data: &Value) -> Result<(), DecodeError> {
    let valid = match kind {
        PacketType::Connect => data.is_object(),
        PacketType::Disconnect => false,
        PacketType::ConnectError => data.is_object() || data.is_string(),
        PacketType::Ack | PacketType::BinaryAck => data.is_array(),
        PacketType::Event | PacketType::BinaryEvent => {
            return match data.as_array().and_then(|items| items.first()) {
                Some(Value::Number(_)) => Ok(()),
                Some(Value::String(name)) if RESERVED_EVENTS.contains(&name.as_str()) => {
                    Err(DecodeError::ReservedEventName)
                }
                Some(Value::String(_)) => Ok(()),
                _ => Err(DecodeError::InvalidPayload),
            };
        }
    };
    if valid {
        Ok(())
    } else {
        Err(DecodeError::InvalidPayload)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn every_reserved_event_name_is_rejected() {
        for name in RESERVED_EVENTS {
            assert_eq!(
                check(PacketType::Event, &json!([name])),
                Err(DecodeError::ReservedEventName)
            );
            assert_eq!(
                check(PacketType::BinaryEvent, &json!([name, 1])),
                Err(DecodeError::ReservedEventName)
            );
        }
    }

    #[test]
    fn event_needs_a_string_or_number_first() {
        assert_eq!(check(PacketType::Event, &json!(["x"])), Ok(()));
        assert_eq!(check(PacketType::Event, &json!([1.5, 2])), Ok(()));
        for bad in [
            json!([]),
            json!([null]),
            json!([["x"]]),
            json!({}),
            json!("x"),
        ] {
            assert_eq!(
                check(PacketType::Event, &bad),
                Err(DecodeError::InvalidPayload)
            );
        }
    }

    #[test]
    fn other_types_follow_the_table() {
        assert_eq!(check(PacketType::Connect, &json!({})), Ok(()));
        assert!(check(PacketType::Connect, &json!([1])).is_err());
        assert!(check(PacketType::Connect, &Value::Null).is_err());
        assert!(check(PacketType::Disconnect, &json!({})).is_err());
        assert_eq!(check(PacketType::Ack, &json!([])), Ok(()));
        assert!(check(PacketType::BinaryAck, &json!({})).is_err());
        assert_eq!(check(PacketType::ConnectError, &json!("legacy")), Ok(()));
        assert_eq!(
            check(PacketType::ConnectError, &json!({"message": "x"})),
            Ok(())
        );
        assert!(check(PacketType::ConnectError, &json!(1)).is_err());
    }
}
