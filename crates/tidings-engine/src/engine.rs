//! The engine: the session registry and the HTTP entry point that routes each request
//! (protocol §1.9 order of checks).

use std::convert::Infallible;
use std::fmt;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::SystemTime;

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use http_body::Body;
use tidings_eio::{CloseReason, ErrorCode, Session, Sid, Transport};
use tokio::sync::Notify;
use tokio_util::task::TaskTracker;

use crate::config::EngineConfig;
use crate::connection::{Connection, RemoteAddr, RequestInfo, SessionSlot, Shared};
use crate::handler::Handler;
use crate::polling::{self, Polling};
use crate::response::{self, ResponseBody, ResponseFuture};
use crate::websocket;

/// How long [`Engine::close`] lets sessions flush before it drops them.
pub const CLOSE_GRACE: std::time::Duration = std::time::Duration::from_secs(2);

/// A request the engine refused (the reference's `connection_error` event).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ConnectionError {
    /// The protocol error code.
    pub code: ErrorCode,
    /// Its message.
    pub message: &'static str,
    /// Why, in the reference's words (`UNKNOWN_SID`, `TRANSPORT_MISMATCH`, …).
    pub context: &'static str,
    /// The request's URI.
    pub uri: http::Uri,
}

/// An Engine.IO v4 server, as a `tower` service. Cheap to clone.
///
/// Requests under the configured path are Engine.IO requests; anything else gets 404.
/// Serve it with [`serve`](crate::serve), with hyper directly (enable upgrades), or mount
/// it in a router that passes hyper's upgrade extension through (axum does).
#[derive(Clone)]
pub struct Engine {
    inner: Arc<EngineInner>,
}

pub(crate) type Sessions = foldhash::HashMap<Sid, Connection>;

pub(crate) struct EngineInner {
    pub(crate) config: EngineConfig,
    pub(crate) handler: Box<dyn Handler>,
    /// Every request looks its session up here; ids are random and made by the server,
    /// so a fast seeded hash does instead of SipHash (~200 instructions a lookup less).
    sessions: Mutex<Sessions>,
    pub(crate) tasks: TaskTracker,
    /// Signalled when the last session leaves the registry (for [`Engine::close`]).
    emptied: Notify,
}

impl fmt::Debug for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Engine")
            .field("path", &self.inner.config.path_prefix())
            .field("sessions", &self.clients_count())
            .finish()
    }
}

impl Engine {
    /// An engine with `config` that reports every session to `handler`.
    pub fn new(config: EngineConfig, handler: impl Handler) -> Self {
        Self {
            inner: Arc::new(EngineInner {
                config,
                handler: Box::new(handler),
                sessions: Mutex::new(Sessions::default()),
                tasks: TaskTracker::new(),
                emptied: Notify::new(),
            }),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &EngineConfig {
        &self.inner.config
    }

    /// How many sessions are open (`clientsCount`).
    pub fn clients_count(&self) -> usize {
        self.inner.sessions().len()
    }

    /// The open session with this id.
    pub fn connection(&self, sid: Sid) -> Option<Connection> {
        self.inner.sessions().get(&sid).cloned()
    }

    /// Closes every session with reason [`CloseReason::ServerClose`] and waits until they
    /// are gone and their tasks have ended. Queued frames are flushed first; a polling
    /// client that does not come back for its close packet within [`CLOSE_GRACE`] is
    /// dropped without it, so a shutdown never waits for the 30-second close timeout.
    ///
    /// # Cancel safety
    /// Cancelling the wait leaves the sessions closing on their own.
    pub async fn close(&self) {
        let connections: Vec<Connection> = self.inner.sessions().values().cloned().collect();
        for connection in &connections {
            connection.close(CloseReason::ServerClose);
        }
        if tokio::time::timeout(CLOSE_GRACE, self.wait_until_empty())
            .await
            .is_err()
        {
            let stragglers: Vec<Connection> = self.inner.sessions().values().cloned().collect();
            for connection in stragglers {
                connection.abort(CloseReason::ServerClose);
            }
            self.wait_until_empty().await;
        }
        self.inner.tasks.close();
        self.inner.tasks.wait().await;
        self.inner.tasks.reopen();
    }

    async fn wait_until_empty(&self) {
        loop {
            let emptied = self.inner.emptied.notified();
            if self.clients_count() == 0 {
                return;
            }
            emptied.await;
        }
    }

    /// Handles one HTTP request: answered at once, or by a future for the polling
    /// requests that must wait.
    fn handle<B>(inner: &Arc<EngineInner>, request: Request<B>) -> ResponseFuture
    where
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: fmt::Display,
    {
        if !request.uri().path().starts_with(inner.config.path_prefix()) {
            return response::plain(StatusCode::NOT_FOUND, "").into();
        }
        // An owned copy (cheap: the URI shares its bytes) so the query can outlive `request`.
        let uri = request.uri().clone();
        let query = Query::parse(uri.query().unwrap_or(""));
        let finish = Finish {
            origin: inner
                .config
                .cors
                .as_ref()
                .and_then(|_| request.headers().get(header::ORIGIN).cloned()),
            request_headers: inner
                .config
                .headers
                .as_ref()
                .map(|_| request.headers().clone()),
            handshake: query.sid.is_none(),
        };
        match route(inner, request, &uri, &query) {
            Polling::Answered(response) => finish.apply(inner, response).into(),
            pending => {
                let inner = inner.clone();
                ResponseFuture::waiting(async move {
                    let response = pending.answer(&inner).await;
                    finish.apply(&inner, response)
                })
            }
        }
    }
}

/// What every answer gets once it is known: the CORS headers and the user's headers hook.
struct Finish {
    /// The request's `Origin`, kept only when CORS is configured.
    origin: Option<HeaderValue>,
    /// A copy of the request's headers, kept only for the headers hook.
    request_headers: Option<http::HeaderMap>,
    /// The request names no session: its success is a handshake.
    handshake: bool,
}

impl Finish {
    fn apply(
        self,
        inner: &EngineInner,
        mut response: Response<ResponseBody>,
    ) -> Response<ResponseBody> {
        if let Some(cors) = &inner.config.cors {
            response::apply_cors(cors, self.origin.as_ref(), response.headers_mut());
        }
        if let (Some(hook), Some(request_headers)) = (&inner.config.headers, self.request_headers) {
            let initial = self.handshake && response.status().is_success()
                || response.status() == StatusCode::SWITCHING_PROTOCOLS;
            hook(&request_headers, response.headers_mut(), initial);
        }
        response
    }
}

impl<B> tower_service::Service<Request<B>> for Engine
where
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: fmt::Display,
{
    type Response = Response<ResponseBody>;
    type Error = Infallible;
    type Future = ResponseFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        Self::handle(&self.inner, request)
    }
}

/// The query parameters Engine.IO reads; values are compared raw, as the reference does.
#[derive(Debug, Default)]
pub(crate) struct Query<'a> {
    pub(crate) eio: Option<&'a str>,
    pub(crate) transport: Option<&'a str>,
    pub(crate) sid: Option<&'a str>,
    pub(crate) b64: bool,
}

impl<'a> Query<'a> {
    pub(crate) fn parse(query: &'a str) -> Self {
        let mut parsed = Self::default();
        for (key, value) in pairs(query) {
            let slot = match key {
                b"EIO" => &mut parsed.eio,
                b"transport" => &mut parsed.transport,
                b"sid" => &mut parsed.sid,
                b"b64" => {
                    parsed.b64 = !value.is_empty() && value != "0" && value != "false";
                    continue;
                }
                _ => continue,
            };
            // The first occurrence wins.
            slot.get_or_insert(value);
        }
        parsed
    }
}

/// The `key=value` pairs of a query, found in one pass over its bytes: every request
/// is routed by its query, so this is kept cheaper than `str::split` (`memchr` scans
/// several bytes at a time; a byte loop was 2–3% of a long-polling echo).
fn pairs(query: &str) -> impl Iterator<Item = (&[u8], &str)> {
    let bytes = query.as_bytes();
    let mut start = 0;
    std::iter::from_fn(move || {
        let rest = bytes.get(start..).filter(|rest| !rest.is_empty())?;
        let pair_start = start;
        let end = start + memchr::memchr(b'&', rest).unwrap_or(rest.len());
        start = end + 1;
        let pair = bytes.get(pair_start..end)?;
        // `&` and `=` are ASCII, so the value's bounds fall on character boundaries.
        Some(match memchr::memchr(b'=', pair) {
            Some(at) => (pair.get(..at)?, query.get(pair_start + at + 1..end)?),
            None => (pair, ""),
        })
    })
}

/// Routes a request to its transport; anything refused is answered at once.
fn route<B>(
    inner: &Arc<EngineInner>,
    request: Request<B>,
    uri: &http::Uri,
    query: &Query<'_>,
) -> Polling<B>
where
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: fmt::Display,
{
    let wants_websocket = websocket::is_upgrade_request(request.headers());
    let reject = |code: ErrorCode, context: &'static str| {
        tracing::debug!(code = code.code(), context, %uri, "request rejected");
        if let Some(hook) = &inner.config.connection_error {
            hook(&ConnectionError {
                code,
                message: code.message(),
                context,
                uri: uri.clone(),
            });
        }
        let answer = if wants_websocket {
            response::websocket_error(code.message())
        } else {
            response::error(code, None)
        };
        Polling::Answered(answer)
    };
    let request = if inner.config.middlewares.is_empty() {
        request
    } else {
        let (parts, body) = request.into_parts();
        for middleware in &inner.config.middlewares {
            if let Err(error) = middleware(&parts) {
                tracing::debug!(%error, "engine middleware refused a request");
                return reject(ErrorCode::BadRequest, "MIDDLEWARE_FAILURE");
            }
        }
        Request::from_parts(parts, body)
    };
    if request.method() == Method::OPTIONS && inner.config.cors.is_some() {
        return response::preflight(request.headers()).into();
    }
    let Some(transport) = query
        .transport
        .and_then(Transport::parse)
        .filter(|&transport| inner.config.transport_enabled(transport))
    else {
        return reject(ErrorCode::UnknownTransport, "UNKNOWN_TRANSPORT");
    };
    // A WebSocket upgrade must name the websocket transport; the reference accepts and
    // then closes such a socket, refusing it up front is cleaner (§1.5).
    if wants_websocket && transport == Transport::Polling {
        return reject(ErrorCode::BadRequest, "TRANSPORT_MISMATCH");
    }
    if let Some(origin) = request.headers().get(header::ORIGIN)
        && origin.to_str().is_err()
    {
        return reject(ErrorCode::BadRequest, "INVALID_ORIGIN");
    }
    if let Some(sid) = query.sid {
        let Some(connection) = Sid::parse(sid).and_then(|sid| inner.sessions().get(&sid).cloned())
        else {
            return reject(ErrorCode::UnknownSid, "UNKNOWN_SID");
        };
        // Every session here speaks v4, so another EIO value is a protocol mismatch.
        if query.eio != Some("4") {
            return reject(ErrorCode::BadRequest, "PROTOCOL_MISMATCH");
        }
        return match (transport, request.method()) {
            (Transport::Polling, &Method::GET) => {
                polling::get(inner, connection, may_gzip(inner, request.headers()), None)
            }
            (Transport::Polling, &Method::POST) => polling::post(inner, connection, request),
            (Transport::Polling, _) => {
                response::plain(StatusCode::INTERNAL_SERVER_ERROR, "").into()
            }
            (Transport::WebSocket, _) => {
                websocket::upgrade(inner, Some(connection), request, query).into()
            }
        };
    }
    if request.method() != Method::GET {
        return reject(ErrorCode::BadHandshakeMethod, "BAD_HANDSHAKE_METHOD");
    }
    if transport == Transport::WebSocket && !wants_websocket {
        return reject(ErrorCode::BadRequest, "TRANSPORT_HANDSHAKE_ERROR");
    }
    let (parts, body) = request.into_parts();
    if let Some(allow) = &inner.config.allow_request
        && let Err(message) = allow(&parts)
    {
        tracing::debug!(uri = %parts.uri, "handshake refused by allow_request");
        if let Some(hook) = &inner.config.connection_error {
            let code = ErrorCode::Forbidden;
            hook(&ConnectionError {
                code,
                message: code.message(),
                context: "FORBIDDEN",
                uri: parts.uri.clone(),
            });
        }
        let answer = if wants_websocket {
            response::websocket_error(ErrorCode::Forbidden.message())
        } else {
            response::error(ErrorCode::Forbidden, message.as_deref())
        };
        return answer.into();
    }
    if query.eio != Some("4") {
        return reject(
            ErrorCode::UnsupportedProtocolVersion,
            "UNSUPPORTED_PROTOCOL_VERSION",
        );
    }
    match transport {
        Transport::Polling => {
            let connection = match inner.open_session(Transport::Polling, &parts, query.b64) {
                Ok(connection) => connection,
                Err(error) => return error.response(false).into(),
            };
            let cookie = inner
                .config
                .cookie
                .then(|| {
                    let cookie = format!("io={}; Path=/; HttpOnly; SameSite=Lax", connection.sid());
                    HeaderValue::from_str(&cookie).ok()
                })
                .flatten();
            polling::get(inner, connection, may_gzip(inner, &parts.headers), cookie)
        }
        Transport::WebSocket => {
            let request = Request::from_parts(parts, body);
            websocket::upgrade(inner, None, request, query).into()
        }
    }
}

/// Whether a GET's answer may be compressed: compression is on and the client takes gzip.
fn may_gzip(inner: &EngineInner, headers: &http::HeaderMap) -> bool {
    inner.config.http_compression.is_some() && response::accepts_gzip(headers)
}

/// Why a handshake could not open a session.
#[derive(Clone, Copy, Debug)]
pub(crate) enum OpenError {
    /// The engine holds `max_sessions` already: 503.
    TooManySessions,
    /// `generate_id` only gave ids in use: 400, code 3, as the reference's id failure.
    IdInUse,
}

impl OpenError {
    pub(crate) fn response(self, websocket: bool) -> Response<ResponseBody> {
        match (self, websocket) {
            (Self::TooManySessions, _) => response::too_many_sessions(),
            (Self::IdInUse, false) => response::error(ErrorCode::BadRequest, None),
            (Self::IdInUse, true) => response::websocket_error(ErrorCode::BadRequest.message()),
        }
    }
}

impl EngineInner {
    pub(crate) fn sessions(&self) -> MutexGuard<'_, Sessions> {
        crate::connection::lock(&self.sessions)
    }

    /// Creates a session, registers it and starts its driver.
    pub(crate) fn open_session(
        self: &Arc<Self>,
        transport: Transport,
        parts: &http::request::Parts,
        b64: bool,
    ) -> Result<Connection, OpenError> {
        let now = crate::clock::now();
        let mut sessions = self.sessions();
        if sessions.len() >= self.config.max_sessions {
            tracing::warn!(max = self.config.max_sessions, "session limit reached");
            return Err(OpenError::TooManySessions);
        }
        // A custom generator gets a few tries; the random default never collides in practice.
        let mut tries = 0;
        let sid = loop {
            let sid = match &self.config.generate_id {
                Some(generate) => generate(parts),
                None => Sid::from_random(rand::random()),
            };
            if !sessions.contains_key(&sid) {
                break sid;
            }
            tries += 1;
            if tries >= 8 {
                tracing::warn!("generate_id keeps returning ids in use");
                return Err(OpenError::IdInUse);
            }
        };
        let session = Session::new(sid, &self.config.session, transport, now);
        let connection = Connection {
            shared: Arc::new(Shared {
                sid,
                session: Mutex::new(SessionSlot::new(session)),
                wake_driver: Notify::new(),
                log_waiting: AtomicBool::new(false),
                wake_poll: Notify::new(),
                request: RequestInfo::new(
                    &parts.uri,
                    &parts.headers,
                    parts.extensions.get::<RemoteAddr>().map(|addr| addr.0),
                    SystemTime::now(),
                ),
                engine: Arc::downgrade(self),
                pending_websocket: Mutex::new(None),
                b64,
                attachment: Mutex::new(None),
            }),
        };
        sessions.insert(sid, connection.clone());
        drop(sessions);
        tracing::debug!(%sid, transport = transport.as_str(), "session opened");
        self.tasks.spawn(websocket::drive(connection.clone()));
        connection.deliver_events();
        Ok(connection)
    }

    pub(crate) fn remove(&self, sid: Sid) {
        let mut sessions = self.sessions();
        sessions.remove(&sid);
        if sessions.is_empty() {
            self.emptied.notify_waiters();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_reads_first_values_raw() {
        let query = Query::parse("EIO=4&transport=polling&t=abc&sid=x&transport=websocket&b64=1");
        assert_eq!(query.eio, Some("4"));
        assert_eq!(query.transport, Some("polling"));
        assert_eq!(query.sid, Some("x"));
        assert!(query.b64);
        let odd = Query::parse("&&EIO&sid=&transport=pol=ling&x=1&b64");
        assert_eq!(odd.eio, Some(""));
        assert_eq!(odd.sid, Some(""));
        assert_eq!(odd.transport, Some("pol=ling"));
        assert!(!odd.b64);
        let text = Query::parse("t=é&sid=ü1&EIO=4");
        assert_eq!(text.sid, Some("ü1"));
        assert_eq!(text.eio, Some("4"));
        let empty = Query::parse("");
        assert_eq!(empty.eio, None);
        assert!(!empty.b64);
    }
}
