//! The browser client, embedded at build time and served under the Socket.IO path
//! (`serveClient`): `socket.io.js` (a classic script that defines `io`) and
//! `socket.io.esm.js` (the same client as an ES module).

use std::hash::{Hash, Hasher};
use std::io::Write as _;
use std::sync::OnceLock;

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderValue};
use http::{Method, Response, StatusCode};
use tidings_engine::ResponseBody;

/// One embedded file, with its validator and its gzip form, computed once.
struct Asset {
    name: &'static str,
    body: &'static [u8],
    prepared: OnceLock<Prepared>,
}

struct Prepared {
    etag: HeaderValue,
    gzip: Option<Bytes>,
}

static ASSETS: [Asset; 2] = [
    Asset {
        name: "socket.io.js",
        body: include_bytes!("../../../clients/js/socket.io.js"),
        prepared: OnceLock::new(),
    },
    Asset {
        name: "socket.io.esm.js",
        body: include_bytes!("../../../clients/js/socket.io.esm.js"),
        prepared: OnceLock::new(),
    },
];

impl Asset {
    fn prepared(&self) -> &Prepared {
        self.prepared.get_or_init(|| {
            // The hasher has fixed keys, so the tag only changes with the content.
            let mut hasher = std::hash::DefaultHasher::new();
            self.body.hash(&mut hasher);
            let etag = format!("\"{}-{:016x}\"", env!("CARGO_PKG_VERSION"), hasher.finish());
            let mut encoder =
                flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
            let gzip = encoder
                .write_all(self.body)
                .and_then(|()| encoder.finish())
                .ok()
                .map(Bytes::from);
            Prepared {
                etag: HeaderValue::from_str(&etag)
                    .unwrap_or_else(|_| HeaderValue::from_static("\"tidings\"")),
                gzip,
            }
        })
    }
}

/// The answer for a client file under `prefix` (the Socket.IO path), if `path` names
/// one; `None` lets the request go on to Engine.IO.
pub(crate) fn respond(
    prefix: &str,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
) -> Option<Response<ResponseBody>> {
    let name = path.strip_prefix(prefix)?;
    let asset = ASSETS.iter().find(|asset| asset.name == name)?;
    if method != Method::GET && method != Method::HEAD {
        return None;
    }
    let prepared = asset.prepared();
    let mut response = Response::new(ResponseBody::new(Bytes::new()));
    let out = response.headers_mut();
    out.insert(header::ETAG, prepared.etag.clone());
    out.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=0"),
    );
    out.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    let fresh = headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|tag| tag.trim() == prepared.etag || tag.trim() == "*");
    if fresh {
        *response.status_mut() = StatusCode::NOT_MODIFIED;
        return Some(response);
    }
    out.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/javascript; charset=utf-8"),
    );
    let body = match (&prepared.gzip, tidings_engine::accepts_gzip(headers)) {
        (Some(gzip), true) => {
            out.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            gzip.clone()
        }
        _ => Bytes::from_static(asset.body),
    };
    if method == Method::GET {
        *response.body_mut() = ResponseBody::new(body);
    } else if let Ok(length) = HeaderValue::from_str(&body.len().to_string()) {
        out.insert(header::CONTENT_LENGTH, length);
    }
    Some(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn serves_the_client_with_validator_and_type() {
        let response = respond(
            "/socket.io/",
            &Method::GET,
            "/socket.io/socket.io.js",
            &HeaderMap::new(),
        )
        .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let out = response.headers();
        assert_eq!(
            out[header::CONTENT_TYPE],
            "application/javascript; charset=utf-8"
        );
        assert_eq!(out[header::CACHE_CONTROL], "public, max-age=0");
        assert!(out[header::ETAG].to_str().unwrap().starts_with('"'));
        assert!(out.get(header::CONTENT_ENCODING).is_none());
    }

    #[test]
    fn matching_etag_gets_304() {
        let first = respond(
            "/socket.io/",
            &Method::GET,
            "/socket.io/socket.io.js",
            &HeaderMap::new(),
        )
        .unwrap();
        let etag = first.headers()[header::ETAG].to_str().unwrap().to_owned();
        let again = respond(
            "/socket.io/",
            &Method::GET,
            "/socket.io/socket.io.js",
            &headers(&[("if-none-match", &etag)]),
        )
        .unwrap();
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    }

    #[test]
    fn gzip_only_when_accepted() {
        let accepts = |value| tidings_engine::accepts_gzip(&headers(&[("accept-encoding", value)]));
        assert!(accepts("gzip, deflate, br"));
        assert!(!accepts("gzip;q=0, br"));
        assert!(!accepts("br"));
        let zipped = respond(
            "/socket.io/",
            &Method::GET,
            "/socket.io/socket.io.esm.js",
            &headers(&[("accept-encoding", "gzip")]),
        )
        .unwrap();
        assert_eq!(zipped.headers()[header::CONTENT_ENCODING], "gzip");
    }

    #[test]
    fn other_paths_go_to_the_engine() {
        assert!(
            respond(
                "/socket.io/",
                &Method::GET,
                "/socket.io/",
                &HeaderMap::new()
            )
            .is_none()
        );
        assert!(
            respond(
                "/socket.io/",
                &Method::POST,
                "/socket.io/socket.io.js",
                &HeaderMap::new()
            )
            .is_none()
        );
    }
}
