//! The HTTP routes: the page and its assets, a friendly 404 page, and Socket.IO (with
//! the browser client at `/socket.io/socket.io.js`) under the Socket.IO path.

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use http_body_util::Full;
use tidings::{Server, SocketIoService};
use tower_service::Service;

/// A static file and its type. The files are embedded byte for byte.
struct Asset {
    body: &'static [u8],
    content_type: &'static str,
}

const HTML: &str = "text/html; charset=utf-8";

const PAGE: Asset = Asset {
    body: include_bytes!("../static/index.html"),
    content_type: HTML,
};
const SCRIPT: Asset = Asset {
    body: include_bytes!("../static/chat.js"),
    content_type: "text/javascript; charset=utf-8",
};
const STYLE: Asset = Asset {
    body: include_bytes!("../static/chat.css"),
    content_type: "text/css; charset=utf-8",
};
const NOT_FOUND: Asset = Asset {
    body: include_bytes!("../static/404.html"),
    content_type: HTML,
};

/// The page runs scripts from 'self' only: nothing inline, no `eval`.
const CSP: &str = "default-src 'self'; img-src 'self' data:; base-uri 'none'; \
                   form-action 'self'; frame-ancestors 'none'";

/// The asset at `path` (the spelling of `/sercetTalk` is the original tutorial's).
fn asset(path: &str) -> Option<&'static Asset> {
    match path {
        "/" => Some(&PAGE),
        "/sercetTalk" | "/static/chat.js" => Some(&SCRIPT),
        "/static/chat.css" => Some(&STYLE),
        _ => None,
    }
}

/// The response body of every route.
type Body = Full<Bytes>;
type BoxFuture = Pin<Box<dyn Future<Output = Result<Response<Body>, Infallible>> + Send>>;

/// The chat's HTTP service: the page at `/`, its script at `/sercetTalk` and
/// `/static/chat.js`, its style at `/static/chat.css`, a 404 page elsewhere, and
/// everything under the Socket.IO path handed to the [`Server`]'s service.
///
/// `HEAD` works like `GET` without a body; other methods on a page or asset get 405
/// with `Allow: GET, HEAD`. Routing looks at the path only, not the query.
#[derive(Clone)]
pub struct ChatService {
    socket_io: SocketIoService,
    /// The Socket.IO path, such as `/socket.io/`.
    prefix: String,
}

impl fmt::Debug for ChatService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChatService")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl ChatService {
    /// The routes in front of `io`'s service.
    pub fn new(io: &Server) -> Self {
        Self {
            socket_io: io.service(),
            prefix: io.config().engine().path_prefix().to_owned(),
        }
    }
}

impl<B> Service<Request<B>> for ChatService
where
    SocketIoService: Service<
            Request<B>,
            Response = Response<Body>,
            Error = Infallible,
            Future = tidings::ResponseFuture,
        >,
{
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> BoxFuture {
        let path = request.uri().path();
        let readable = matches!(*request.method(), Method::GET | Method::HEAD);
        match path.strip_prefix(self.prefix.as_str()) {
            // Tidings serves its browser client (ETag, 304, gzip); other methods would
            // reach Engine.IO, so they are refused here as on the other files.
            Some("socket.io.js") if readable => {
                let answer = self.socket_io.call(request);
                Box::pin(async move {
                    let mut response = answer.await?;
                    nosniff(&mut response);
                    Ok(response)
                })
            }
            Some("socket.io.js") => ready(method_not_allowed()),
            Some(_) => Box::pin(self.socket_io.call(request)),
            None => ready(match asset(path) {
                Some(asset) if readable => file(StatusCode::OK, asset, request.method()),
                Some(_) => method_not_allowed(),
                None => file(StatusCode::NOT_FOUND, &NOT_FOUND, request.method()),
            }),
        }
    }
}

fn ready(response: Response<Body>) -> BoxFuture {
    Box::pin(std::future::ready(Ok(response)))
}

/// An asset with its type and the security headers; no body for `HEAD`.
fn file(status: StatusCode, asset: &Asset, method: &Method) -> Response<Body> {
    let body = if method == Method::HEAD {
        Bytes::new()
    } else {
        Bytes::from_static(asset.body)
    };
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.content_type),
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(asset.body.len()));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if asset.content_type == HTML {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        );
    }
    nosniff(&mut response);
    response
}

fn method_not_allowed() -> Response<Body> {
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
    response
}

/// With `nosniff`, browsers run a script only if its type says JavaScript.
fn nosniff<B>(response: &mut Response<B>) {
    response.headers_mut().insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
}
