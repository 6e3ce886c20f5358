//! What the server knows of a client's first request (`socket.handshake`).

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value};
use tidings_engine::RequestInfo;

/// The handshake of a socket: the first HTTP request of its connection, plus the auth
/// payload of its namespace CONNECT.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Handshake {
    /// The request headers (names in lower case).
    pub headers: http::HeaderMap,
    /// When the connection was opened, as the reference formats it
    /// (`Thu Nov 26 2026 04:31:14 GMT+0000 (Coordinated Universal Time)`).
    pub time: String,
    /// The peer's IP address, when known.
    pub address: Option<IpAddr>,
    /// Whether the request came from another origin (it had an `Origin` header).
    pub xdomain: bool,
    /// Whether the request came over TLS (never, for the built-in server).
    pub secure: bool,
    /// When the connection was opened, in milliseconds since the Unix epoch.
    pub issued: u64,
    /// The request path and query.
    pub url: String,
    /// The decoded query parameters (the last value wins for repeated names).
    pub query: BTreeMap<String, String>,
    /// The CONNECT payload (`{}` when the client sent none).
    pub auth: Value,
}

impl Handshake {
    pub(crate) fn from_request(request: &RequestInfo) -> Self {
        let issued = request
            .issued
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| {
                u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
            });
        let url = request.uri.path_and_query().map_or_else(
            || request.uri.path().to_owned(),
            |pq| pq.as_str().to_owned(),
        );
        Self {
            headers: request.headers.clone(),
            time: js_date(request.issued),
            address: request.remote_addr.map(|addr| addr.ip()),
            xdomain: request.headers.contains_key(http::header::ORIGIN),
            secure: false,
            issued,
            query: parse_query(request.uri.query().unwrap_or("")),
            url,
            auth: Value::Object(Map::new()),
        }
    }

    /// The handshake as the reference serializes it (for `fetch_sockets` across nodes).
    pub fn to_json(&self) -> Value {
        let headers: Map<String, Value> = self
            .headers
            .iter()
            .map(|(name, value)| {
                (
                    name.as_str().to_owned(),
                    Value::from(String::from_utf8_lossy(value.as_bytes())),
                )
            })
            .collect();
        let query: Map<String, Value> = self
            .query
            .iter()
            .map(|(key, value)| (key.clone(), Value::from(value.as_str())))
            .collect();
        let mut map = Map::new();
        map.insert("headers".into(), Value::Object(headers));
        map.insert("time".into(), Value::from(self.time.as_str()));
        map.insert(
            "address".into(),
            Value::from(self.address.map(|ip| ip.to_string()).unwrap_or_default()),
        );
        map.insert("xdomain".into(), Value::from(self.xdomain));
        map.insert("secure".into(), Value::from(self.secure));
        map.insert("issued".into(), Value::from(self.issued));
        map.insert("url".into(), Value::from(self.url.as_str()));
        map.insert("query".into(), Value::Object(query));
        map.insert("auth".into(), self.auth.clone());
        Value::Object(map)
    }
}

/// Decodes an `application/x-www-form-urlencoded` query into a map.
pub(crate) fn parse_query(query: &str) -> BTreeMap<String, String> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(key), percent_decode(value))
        })
        .collect()
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while let Some(&byte) = bytes.get(index) {
        let decoded = match byte {
            b'+' => Some((b' ', 1)),
            b'%' => bytes
                .get(index + 1..index + 3)
                .and_then(|hex| std::str::from_utf8(hex).ok())
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
                .map(|value| (value, 3)),
            _ => None,
        };
        let (value, width) = decoded.unwrap_or((byte, 1));
        out.push(value);
        index += width;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Formats a time the way JavaScript's `Date.prototype.toString` does, in UTC.
fn js_date(time: SystemTime) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let secs = time
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs());
    let days = secs / 86_400;
    let (year, month, day) = civil_from_days(days);
    let weekday = DAYS.get((days % 7) as usize).copied().unwrap_or("Thu");
    let month_name = MONTHS
        .get(month.saturating_sub(1) as usize)
        .copied()
        .unwrap_or("Jan");
    let rest = secs % 86_400;
    format!(
        "{weekday} {month_name} {day:02} {year} {:02}:{:02}:{:02} GMT+0000 (Coordinated Universal Time)",
        rest / 3600,
        rest / 60 % 60,
        rest % 60
    )
}

/// Converts days since 1970-01-01 into (year, month, day) in the proleptic Gregorian
/// calendar (Howard Hinnant's civil-from-days algorithm).
fn civil_from_days(days: u64) -> (i64, u32, u32) {
    let z = i64::try_from(days).unwrap_or(0) + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = u32::try_from(day_of_year - (153 * mp + 2) / 5 + 1).unwrap_or(1);
    let month = u32::try_from(if mp < 10 { mp + 3 } else { mp - 9 }).unwrap_or(1);
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn dates_read_like_javascript() {
        let time = UNIX_EPOCH + Duration::from_secs(1_795_667_474);
        assert_eq!(
            js_date(time),
            "Thu Nov 26 2026 04:31:14 GMT+0000 (Coordinated Universal Time)"
        );
        assert_eq!(
            js_date(UNIX_EPOCH),
            "Thu Jan 01 1970 00:00:00 GMT+0000 (Coordinated Universal Time)"
        );
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400);
        assert_eq!(
            js_date(leap),
            "Tue Feb 29 2000 00:00:00 GMT+0000 (Coordinated Universal Time)"
        );
    }

    #[test]
    fn query_is_percent_decoded() {
        let query = parse_query("EIO=4&name=J%C3%BCrgen+M&flag&x=%zz");
        assert_eq!(query.get("name").map(String::as_str), Some("Jürgen M"));
        assert_eq!(query.get("flag").map(String::as_str), Some(""));
        assert_eq!(query.get("x").map(String::as_str), Some("%zz"));
    }
}
