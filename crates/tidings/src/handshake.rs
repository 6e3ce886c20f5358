//! What the server knows of a client's first request (`socket.handshake`).

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value};
use tidings_engine::{Connection, RequestInfo};

/// The handshake of a socket (`socket.handshake`): the first HTTP request of its
/// connection, plus the auth payload of its namespace CONNECT.
///
/// It reads the request the engine keeps for the connection, so a socket holds no copy
/// of the headers; the query and the date are worked out when asked for.
#[derive(Clone, Debug)]
pub struct Handshake {
    connection: Connection,
    /// `None` for the usual empty `{}`; boxed otherwise, as most sockets never read it.
    auth: Option<Box<Value>>,
}

/// The auth of a CONNECT without payload.
static EMPTY_AUTH: std::sync::LazyLock<Value> =
    std::sync::LazyLock::new(|| Value::Object(Map::new()));

impl Handshake {
    pub(crate) fn new(connection: Connection, auth: Value) -> Self {
        let empty = auth.as_object().is_some_and(Map::is_empty);
        Self {
            connection,
            auth: (!empty).then(|| Box::new(auth)),
        }
    }

    fn request(&self) -> &RequestInfo {
        self.connection.request()
    }

    /// The request headers (names in lower case).
    pub fn headers(&self) -> &http::HeaderMap {
        self.request().headers()
    }

    /// When the connection was opened, as JavaScript's `Date.toString` writes it in UTC
    /// (`Thu Nov 26 2026 04:31:14 GMT+0000 (Coordinated Universal Time)`).
    pub fn time(&self) -> String {
        js_date(self.request().issued())
    }

    /// When the connection was opened, in milliseconds since the Unix epoch.
    pub fn issued(&self) -> u64 {
        self.request()
            .issued()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| {
                u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
            })
    }

    /// The peer's IP address, when known.
    pub fn address(&self) -> Option<IpAddr> {
        self.request().remote_addr().map(|addr| addr.ip())
    }

    /// Whether the request came from another origin (it had an `Origin` header).
    pub fn xdomain(&self) -> bool {
        self.headers().contains_key(http::header::ORIGIN)
    }

    /// Whether the request came over TLS (never, for the built-in server).
    pub fn secure(&self) -> bool {
        false
    }

    /// The request path and query.
    pub fn url(&self) -> &str {
        self.request().target()
    }

    /// The decoded query parameters (the last value wins for repeated names).
    pub fn query(&self) -> BTreeMap<String, String> {
        parse_query(self.request().query())
    }

    /// The CONNECT payload (`{}` when the client sent none).
    pub fn auth(&self) -> &Value {
        self.auth.as_deref().unwrap_or(&EMPTY_AUTH)
    }

    /// The handshake as the reference serializes it (for `fetch_sockets` across nodes).
    pub fn to_json(&self) -> Value {
        let headers: Map<String, Value> = self
            .headers()
            .iter()
            .map(|(name, value)| {
                let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
                (name.as_str().to_owned(), Value::from(value))
            })
            .collect();
        let query: Map<String, Value> = self
            .query()
            .into_iter()
            .map(|(key, value)| (key, Value::from(value)))
            .collect();
        let address = self.address().map(|ip| ip.to_string()).unwrap_or_default();
        let mut map = Map::new();
        map.insert("headers".into(), Value::Object(headers));
        map.insert("time".into(), Value::from(self.time()));
        map.insert("address".into(), Value::from(address));
        map.insert("xdomain".into(), Value::from(self.xdomain()));
        map.insert("secure".into(), Value::from(self.secure()));
        map.insert("issued".into(), Value::from(self.issued()));
        map.insert("url".into(), Value::from(self.url()));
        map.insert("query".into(), Value::Object(query));
        map.insert("auth".into(), self.auth().clone());
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
