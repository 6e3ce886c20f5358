//! Errors of the Engine.IO codec and session, and the protocol's HTTP error codes.

use std::fmt::Write as _;

/// A packet or payload the peer sent could not be decoded.
///
/// Every variant closes the session with reason [`CloseReason::ParseError`]; a POST that
/// carried it is answered with HTTP 400.
///
/// [`CloseReason::ParseError`]: crate::CloseReason::ParseError
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// An empty packet, or an empty POST body.
    #[error("empty packet")]
    Empty,
    /// The first character is not a packet type.
    #[error("unknown packet type")]
    UnknownType,
    /// A `b` packet whose data is not standard base64.
    #[error("invalid base64 data")]
    InvalidBase64,
    /// A polling body that is not UTF-8.
    #[error("payload is not utf-8")]
    InvalidUtf8,
}

/// What a session refuses: each variant is answered as its docs say and, unless noted,
/// closes the session.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// The session is closed or closing; answer as for an unknown sid (HTTP 400, code 1).
    #[error("session is closed")]
    Closed,
    /// A second GET while one is pending (HTTP 400; the session closes).
    #[error("overlapping poll request")]
    PollOverlap,
    /// A second POST while one is in flight (HTTP 400; the session closes).
    #[error("overlapping post request")]
    PostOverlap,
    /// A polling request on a session that now uses WebSocket, or a WebSocket on a session
    /// that is already upgrading or upgraded (HTTP 400, code 3; the session stays open).
    #[error("transport mismatch")]
    TransportMismatch,
    /// The session is not allowed to upgrade (HTTP 400, code 3; the session stays open).
    #[error("upgrade not allowed")]
    UpgradeRefused,
    /// The POST body could not be decoded (HTTP 400; the session closes).
    #[error("invalid payload")]
    Decode(#[from] DecodeError),
    /// The outgoing queue is full; the packet was not queued and the session stays open.
    #[error("outgoing queue is full")]
    QueueFull,
}

/// The error codes of HTTP requests that Engine.IO rejects (protocol §1.9).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    /// 0: `transport` missing, unknown or disabled.
    UnknownTransport,
    /// 1: the `sid` is not a live session.
    UnknownSid,
    /// 2: a handshake whose method is not GET.
    BadHandshakeMethod,
    /// 3: any other malformed or mismatched request.
    BadRequest,
    /// 4: the application's `allow_request` hook refused (HTTP 403).
    Forbidden,
    /// 5: `EIO` is not `4`.
    UnsupportedProtocolVersion,
}

impl ErrorCode {
    /// The numeric code of the JSON body.
    pub fn code(self) -> u8 {
        match self {
            Self::UnknownTransport => 0,
            Self::UnknownSid => 1,
            Self::BadHandshakeMethod => 2,
            Self::BadRequest => 3,
            Self::Forbidden => 4,
            Self::UnsupportedProtocolVersion => 5,
        }
    }

    /// The reference server's message for this code.
    pub fn message(self) -> &'static str {
        match self {
            Self::UnknownTransport => "Transport unknown",
            Self::UnknownSid => "Session ID unknown",
            Self::BadHandshakeMethod => "Bad handshake method",
            Self::BadRequest => "Bad request",
            Self::Forbidden => "Forbidden",
            Self::UnsupportedProtocolVersion => "Unsupported protocol version",
        }
    }

    /// The HTTP status the reference answers with: 403 for [`ErrorCode::Forbidden`], else 400.
    pub fn http_status(self) -> u16 {
        match self {
            Self::Forbidden => 403,
            _ => 400,
        }
    }

    /// The JSON body `{"code":N,"message":"..."}`; `message` overrides the default text
    /// (the `allow_request` hook may give its own reason).
    pub fn json_body(self, message: Option<&str>) -> String {
        let mut body = format!("{{\"code\":{},\"message\":", self.code());
        write_json_string(&mut body, message.unwrap_or(self.message()));
        body.push('}');
        body
    }
}

/// Appends `value` as a JSON string literal.
pub(crate) fn write_json_string(dst: &mut String, value: &str) {
    dst.push('"');
    for c in value.chars() {
        match c {
            '"' => dst.push_str("\\\""),
            '\\' => dst.push_str("\\\\"),
            '\n' => dst.push_str("\\n"),
            '\r' => dst.push_str("\\r"),
            '\t' => dst.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(dst, "\\u{:04x}", u32::from(c));
            }
            c => dst.push(c),
        }
    }
    dst.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_bodies_match_the_reference() {
        assert_eq!(
            ErrorCode::UnknownTransport.json_body(None),
            r#"{"code":0,"message":"Transport unknown"}"#
        );
        assert_eq!(
            ErrorCode::UnknownSid.json_body(None),
            r#"{"code":1,"message":"Session ID unknown"}"#
        );
        assert_eq!(
            ErrorCode::BadHandshakeMethod.json_body(None),
            r#"{"code":2,"message":"Bad handshake method"}"#
        );
        assert_eq!(
            ErrorCode::BadRequest.json_body(None),
            r#"{"code":3,"message":"Bad request"}"#
        );
        assert_eq!(
            ErrorCode::UnsupportedProtocolVersion.json_body(None),
            r#"{"code":5,"message":"Unsupported protocol version"}"#
        );
        assert_eq!(
            ErrorCode::Forbidden.json_body(Some("no \"guests\"\n")),
            r#"{"code":4,"message":"no \"guests\"\n"}"#
        );
        assert_eq!(ErrorCode::Forbidden.http_status(), 403);
        assert_eq!(ErrorCode::UnknownSid.http_status(), 400);
    }
}
