//! The HTTP responses of the engine, with the reference server's headers.

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderValue};
use http::{Response, StatusCode};
use http_body_util::Full;
use tidings_eio::ErrorCode;

use crate::config::Cors;

/// The body type of every engine response.
pub type ResponseBody = Full<Bytes>;

/// The future of an engine response (the engine's `tower` service future).
///
/// Most requests are answered while the service is called, and then the future only
/// holds the answer. Only a long-poll that must wait and a POST whose body is still to
/// come keep a boxed future: a polling request allocates nothing else for its answer.
#[must_use = "futures do nothing unless polled"]
pub struct ResponseFuture(Answer);

enum Answer {
    /// The answer, until the future hands it out.
    Ready(Option<Response<ResponseBody>>),
    Waiting(Pin<Box<dyn Future<Output = Response<ResponseBody>> + Send>>),
}

impl ResponseFuture {
    pub(crate) fn waiting(
        future: impl Future<Output = Response<ResponseBody>> + Send + 'static,
    ) -> Self {
        Self(Answer::Waiting(Box::pin(future)))
    }
}

impl From<Response<ResponseBody>> for ResponseFuture {
    /// A future that is ready with `response`.
    fn from(response: Response<ResponseBody>) -> Self {
        Self(Answer::Ready(Some(response)))
    }
}

impl fmt::Debug for ResponseFuture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.0 {
            Answer::Ready(Some(_)) => "ready",
            Answer::Ready(None) => "done",
            Answer::Waiting(_) => "waiting",
        };
        f.debug_tuple("ResponseFuture").field(&state).finish()
    }
}

impl Future for ResponseFuture {
    type Output = Result<Response<ResponseBody>, Infallible>;

    /// Polling again after completion never completes, as allowed for futures.
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match &mut self.0 {
            Answer::Ready(answer) => answer
                .take()
                .map_or(Poll::Pending, |answer| Poll::Ready(Ok(answer))),
            Answer::Waiting(future) => future.as_mut().poll(cx).map(Ok),
        }
    }
}

fn build(status: StatusCode, content_type: &'static str, body: Bytes) -> Response<ResponseBody> {
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    if !content_type.is_empty() {
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    }
    response
}

/// A response with a plain-text body, or none.
pub(crate) fn plain(status: StatusCode, body: &'static str) -> Response<ResponseBody> {
    let content_type = if body.is_empty() {
        ""
    } else {
        "text/plain; charset=UTF-8"
    };
    build(status, content_type, Bytes::from_static(body.as_bytes()))
}

/// The JSON error of §1.9: `{"code":N,"message":"..."}`.
pub(crate) fn error(code: ErrorCode, message: Option<&str>) -> Response<ResponseBody> {
    let status = StatusCode::from_u16(code.http_status()).unwrap_or(StatusCode::BAD_REQUEST);
    build(
        status,
        "application/json",
        Bytes::from(code.json_body(message)),
    )
}

/// A refused WebSocket request: raw 400, `Connection: close`, the message as HTML text.
pub(crate) fn websocket_error(message: &'static str) -> Response<ResponseBody> {
    let mut response = build(
        StatusCode::BAD_REQUEST,
        "text/html",
        Bytes::from_static(message.as_bytes()),
    );
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// 503 when the engine holds `max_sessions` already.
pub(crate) fn too_many_sessions() -> Response<ResponseBody> {
    build(
        StatusCode::SERVICE_UNAVAILABLE,
        "application/json",
        Bytes::from(ErrorCode::BadRequest.json_body(Some("Too many sessions"))),
    )
}

/// A polling GET answer: the payload as UTF-8 text, never cached.
pub(crate) fn payload(body: Bytes) -> Response<ResponseBody> {
    let mut response = build(StatusCode::OK, "text/plain; charset=UTF-8", body);
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// A polling POST answer: `ok` as `text/html`, as the reference sends it.
pub(crate) fn post_ok() -> Response<ResponseBody> {
    let mut response = build(StatusCode::OK, "text/html", Bytes::from_static(b"ok"));
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The answer to a CORS preflight: 204, empty, methods and headers allowed.
pub(crate) fn preflight(request: &HeaderMap) -> Response<ResponseBody> {
    let mut response = build(StatusCode::NO_CONTENT, "", Bytes::new());
    let headers = response.headers_mut();
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET,HEAD,PUT,PATCH,POST,DELETE"),
    );
    // Without a configured list, the requested headers are allowed (the `cors` package's
    // default reflects them).
    if let Some(requested) = request.get(header::ACCESS_CONTROL_REQUEST_HEADERS) {
        headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, requested.clone());
    }
    response
}

/// Adds the CORS headers of `cors` for the request's `origin` to a response.
pub(crate) fn apply_cors(cors: &Cors, origin: Option<&HeaderValue>, headers: &mut HeaderMap) {
    let origin = origin.and_then(|value| value.to_str().ok());
    let Some(allowed) = cors.allowed_origin(origin) else {
        return;
    };
    let Ok(value) = HeaderValue::from_str(allowed) else {
        return;
    };
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
    if allowed != "*" {
        headers.append(header::VARY, HeaderValue::from_static("Origin"));
    }
    if cors.credentials {
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
    }
    if !cors.allowed_headers.is_empty()
        && let Ok(value) = HeaderValue::from_str(&cors.allowed_headers.join(","))
    {
        headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, value);
    }
    if let Some(age) = cors.max_age
        && let Ok(value) = HeaderValue::from_str(&age.as_secs().to_string())
    {
        headers.insert(header::ACCESS_CONTROL_MAX_AGE, value);
    }
}

/// A polling GET answer compressed with gzip; `None` if compression failed.
pub(crate) fn gzip_payload(body: &[u8]) -> Option<Response<ResponseBody>> {
    use std::io::Write as _;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(body).ok()?;
    let zipped = encoder.finish().ok()?;
    let mut response = payload(Bytes::from(zipped));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    headers.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    Some(response)
}

/// Whether a request's `Accept-Encoding` allows gzip (any `q` but 0).
pub fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|coding| {
            let mut parts = coding.split(';');
            let name = parts.next().unwrap_or("").trim();
            let refused = parts.any(|param| {
                param
                    .trim()
                    .strip_prefix("q=")
                    .is_some_and(|q| q.trim().parse::<f32>() == Ok(0.0))
            });
            (name.eq_ignore_ascii_case("gzip") || name == "*") && !refused
        })
}
