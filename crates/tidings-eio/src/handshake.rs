//! The open packet and its JSON (protocol §1.3).

use std::fmt::Write as _;
use std::time::Duration;

use crate::error::write_json_string;
use crate::sid::Sid;

/// The handshake the server sends first: `0{"sid":…,"upgrades":[…],"pingInterval":…,
/// "pingTimeout":…,"maxPayload":…}`, with exactly these keys in this order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenPacket {
    /// The new session's id.
    pub sid: Sid,
    /// Whether the client may upgrade to WebSocket (a polling session with upgrades on).
    pub upgrade_to_websocket: bool,
    /// Server ping period.
    pub ping_interval: Duration,
    /// How long the server waits for a pong.
    pub ping_timeout: Duration,
    /// The largest payload the server accepts, in bytes.
    pub max_payload: u64,
}

impl OpenPacket {
    /// Encodes the whole packet, type character included.
    pub fn encode(&self) -> String {
        let mut out = String::with_capacity(128);
        out.push_str("0{\"sid\":");
        write_json_string(&mut out, self.sid.as_str());
        out.push_str(if self.upgrade_to_websocket {
            ",\"upgrades\":[\"websocket\"]"
        } else {
            ",\"upgrades\":[]"
        });
        // Writing into a String cannot fail.
        let _ = write!(
            out,
            ",\"pingInterval\":{},\"pingTimeout\":{},\"maxPayload\":{}}}",
            millis(self.ping_interval),
            millis(self.ping_timeout),
            self.max_payload
        );
        out
    }
}

/// Milliseconds as a `u64`: formatting a `u128` takes a slow path.
fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_packet_has_the_reference_keys_in_order() {
        let open = OpenPacket {
            sid: Sid::parse("3XTUlqBJr_SzeNOxAAAA").unwrap(),
            upgrade_to_websocket: true,
            ping_interval: Duration::from_millis(25000),
            ping_timeout: Duration::from_millis(20000),
            max_payload: 1_000_000,
        };
        assert_eq!(
            open.encode(),
            r#"0{"sid":"3XTUlqBJr_SzeNOxAAAA","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#
        );
        let websocket_only = OpenPacket {
            upgrade_to_websocket: false,
            ..open
        };
        assert!(websocket_only.encode().contains(r#","upgrades":[],"#));
    }
}
