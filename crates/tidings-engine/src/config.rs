//! Engine settings: protocol timers and limits, transports, CORS, cookie and hooks.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use tidings_eio::{SessionConfig, Transport};

/// Decides whether a handshake request may open a session (`allowRequest` in the
/// reference): `Err(Some(message))` refuses with that message, `Err(None)` with
/// "Forbidden". Either way the client gets HTTP 403 with code 4.
pub type AllowRequest =
    Arc<dyn Fn(&http::request::Parts) -> Result<(), Option<String>> + Send + Sync>;

/// An engine HTTP middleware (`engine.use`): runs first on every Engine.IO request; an
/// `Err` answers HTTP 400 with code 3 ("Bad request").
pub type EngineMiddleware = Arc<dyn Fn(&http::request::Parts) -> Result<(), String> + Send + Sync>;

/// Adds response headers (`initial_headers` when `handshake` is true, `headers` always):
/// `(request headers, response headers, handshake)`.
pub type HeadersHook = Arc<dyn Fn(&http::HeaderMap, &mut http::HeaderMap, bool) + Send + Sync>;

/// Told of every rejected request (`connection_error`).
pub type ConnectionErrorHook = Arc<dyn Fn(&crate::ConnectionError) + Send + Sync>;

/// Makes session ids (`generateId`); the default is 15 random bytes.
pub type GenerateId = Arc<dyn Fn(&http::request::Parts) -> tidings_eio::Sid + Send + Sync>;

/// The settings of an [`Engine`](crate::Engine). [`Default`] holds the reference defaults.
///
/// ```
/// use std::time::Duration;
/// use tidings_engine::EngineConfig;
///
/// let config = EngineConfig::default()
///     .path("/socket.io/")
///     .ping_interval(Duration::from_secs(10))
///     .max_payload(100_000);
/// assert_eq!(config.path_prefix(), "/socket.io/");
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub struct EngineConfig {
    path: String,
    pub(crate) session: SessionConfig,
    pub(crate) polling: bool,
    pub(crate) websocket: bool,
    pub(crate) cors: Option<Cors>,
    pub(crate) cookie: bool,
    pub(crate) allow_request: Option<AllowRequest>,
    pub(crate) max_sessions: usize,
    pub(crate) http_compression: Option<usize>,
    pub(crate) middlewares: Vec<EngineMiddleware>,
    pub(crate) headers: Option<HeadersHook>,
    pub(crate) connection_error: Option<ConnectionErrorHook>,
    pub(crate) generate_id: Option<GenerateId>,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            path: "/engine.io/".to_owned(),
            session: SessionConfig::default(),
            polling: true,
            websocket: true,
            cors: None,
            cookie: false,
            allow_request: None,
            max_sessions: 100_000,
            http_compression: Some(1024),
            middlewares: Vec::new(),
            headers: None,
            connection_error: None,
            generate_id: None,
        }
    }
}

impl fmt::Debug for EngineConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EngineConfig")
            .field("path", &self.path)
            .field("session", &self.session)
            .field("polling", &self.polling)
            .field("websocket", &self.websocket)
            .field("cors", &self.cors)
            .field("cookie", &self.cookie)
            .field("allow_request", &self.allow_request.is_some())
            .field("max_sessions", &self.max_sessions)
            .field("http_compression", &self.http_compression)
            .field("middlewares", &self.middlewares.len())
            .finish_non_exhaustive()
    }
}

impl EngineConfig {
    /// The mount path (default `/engine.io/`). A trailing slash is added as the reference
    /// does, and requests match by prefix: `/engine.io/anything` is ours too, but
    /// `/engine.io` without the slash is not.
    #[must_use]
    pub fn path(mut self, path: &str) -> Self {
        let mut path = path.to_owned();
        if !path.starts_with('/') {
            path.insert(0, '/');
        }
        if !path.ends_with('/') {
            path.push('/');
        }
        self.path = path;
        self
    }

    /// The normalized mount path.
    pub fn path_prefix(&self) -> &str {
        &self.path
    }

    /// Server ping period (`pingInterval`, default 25 s).
    #[must_use]
    pub fn ping_interval(mut self, interval: Duration) -> Self {
        self.session.ping_interval = interval;
        self
    }

    /// How long to wait for a pong (`pingTimeout`, default 20 s).
    #[must_use]
    pub fn ping_timeout(mut self, timeout: Duration) -> Self {
        self.session.ping_timeout = timeout;
        self
    }

    /// How long an upgrade may take (`upgradeTimeout`, default 10 s).
    #[must_use]
    pub fn upgrade_timeout(mut self, timeout: Duration) -> Self {
        self.session.upgrade_timeout = timeout;
        self
    }

    /// The largest POST body and WebSocket message, in bytes (`maxHttpBufferSize`,
    /// default 1,000,000). Larger POSTs get HTTP 413; larger WebSocket messages close the
    /// socket with code 1009.
    #[must_use]
    pub fn max_payload(mut self, bytes: u64) -> Self {
        self.session.max_payload = bytes;
        self
    }

    /// The enabled transports (default both). A session can only be opened and upgraded
    /// on an enabled one.
    #[must_use]
    pub fn transports(mut self, transports: &[Transport]) -> Self {
        self.polling = transports.contains(&Transport::Polling);
        self.websocket = transports.contains(&Transport::WebSocket);
        self
    }

    /// Whether polling sessions may upgrade to WebSocket (`allowUpgrades`, default true).
    #[must_use]
    pub fn allow_upgrades(mut self, allow: bool) -> Self {
        self.session.allow_upgrades = allow;
        self
    }

    /// How many frames may wait for a slow transport (default 4096). Past it, sending
    /// to that session fails with [`SendError::QueueFull`](crate::SendError::QueueFull).
    #[must_use]
    pub fn max_queued_frames(mut self, frames: usize) -> Self {
        self.session.max_queued_frames = frames.max(1);
        self
    }

    /// Cross-origin requests (default off: no CORS headers at all).
    #[must_use]
    pub fn cors(mut self, cors: Cors) -> Self {
        self.cors = Some(cors);
        self
    }

    /// Sets the `io` cookie holding the sid on the handshake, for load-balancer affinity
    /// (default off).
    #[must_use]
    pub fn cookie(mut self, enabled: bool) -> Self {
        self.cookie = enabled;
        self
    }

    /// A hook that may refuse handshakes (see [`AllowRequest`]).
    #[must_use]
    pub fn allow_request(
        mut self,
        hook: impl Fn(&http::request::Parts) -> Result<(), Option<String>> + Send + Sync + 'static,
    ) -> Self {
        self.allow_request = Some(Arc::new(hook));
        self
    }

    /// The most sessions open at once (default 100,000); further handshakes get HTTP 503.
    #[must_use]
    pub fn max_sessions(mut self, sessions: usize) -> Self {
        self.max_sessions = sessions;
        self
    }

    /// Gzip polling responses of at least `threshold` bytes for clients that accept it
    /// (`httpCompression`, on with a 1,024-byte threshold); `None` turns it off.
    #[must_use]
    pub fn http_compression(mut self, threshold: Option<usize>) -> Self {
        self.http_compression = threshold;
        self
    }

    /// Adds an HTTP middleware run before every Engine.IO request (`engine.use`).
    #[must_use]
    pub fn middleware(
        mut self,
        middleware: impl Fn(&http::request::Parts) -> Result<(), String> + Send + Sync + 'static,
    ) -> Self {
        self.middlewares.push(Arc::new(middleware));
        self
    }

    /// Adds headers to responses (`initial_headers`/`headers` events).
    #[must_use]
    pub fn on_headers(
        mut self,
        hook: impl Fn(&http::HeaderMap, &mut http::HeaderMap, bool) + Send + Sync + 'static,
    ) -> Self {
        self.headers = Some(Arc::new(hook));
        self
    }

    /// Hears about every rejected request (`connection_error`).
    #[must_use]
    pub fn on_connection_error(
        mut self,
        hook: impl Fn(&crate::ConnectionError) + Send + Sync + 'static,
    ) -> Self {
        self.connection_error = Some(Arc::new(hook));
        self
    }

    /// Makes session ids (`generateId`). An id already in use is asked for again a few
    /// times, then the handshake fails with code 3.
    #[must_use]
    pub fn generate_id(
        mut self,
        generate: impl Fn(&http::request::Parts) -> tidings_eio::Sid + Send + Sync + 'static,
    ) -> Self {
        self.generate_id = Some(Arc::new(generate));
        self
    }

    /// The session settings derived from this configuration.
    pub fn session(&self) -> &SessionConfig {
        &self.session
    }

    pub(crate) fn transport_enabled(&self, transport: Transport) -> bool {
        match transport {
            Transport::Polling => self.polling,
            Transport::WebSocket => self.websocket,
        }
    }
}

/// Cross-origin resource sharing, applied to every engine response (the preflight
/// `OPTIONS` is answered 204).
///
/// Only origins on the allowlist get `Access-Control-Allow-Origin`; with credentials the
/// request's own origin is echoed, never `*`.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct Cors {
    pub(crate) origins: CorsOrigins,
    pub(crate) credentials: bool,
    pub(crate) allowed_headers: Vec<String>,
    pub(crate) max_age: Option<Duration>,
}

/// Which origins CORS allows.
#[derive(Clone, Debug, Default)]
pub(crate) enum CorsOrigins {
    /// Only these exact origins.
    #[default]
    None,
    List(Vec<String>),
    /// Any origin.
    Any,
}

impl Cors {
    /// CORS that allows no origin yet; add some with [`Cors::allow_origin`].
    pub fn new() -> Self {
        Self::default()
    }

    /// CORS that allows every origin (`*`, or the echoed origin with credentials).
    pub fn any_origin() -> Self {
        Self {
            origins: CorsOrigins::Any,
            ..Self::default()
        }
    }

    /// Adds an exact origin such as `https://example.com` to the allowlist.
    #[must_use]
    pub fn allow_origin(mut self, origin: &str) -> Self {
        match &mut self.origins {
            CorsOrigins::List(list) => list.push(origin.to_owned()),
            CorsOrigins::None => self.origins = CorsOrigins::List(vec![origin.to_owned()]),
            CorsOrigins::Any => {}
        }
        self
    }

    /// Sends `Access-Control-Allow-Credentials: true` (cookies, `withCredentials`).
    #[must_use]
    pub fn allow_credentials(mut self, allow: bool) -> Self {
        self.credentials = allow;
        self
    }

    /// Headers the client may send (`Access-Control-Allow-Headers`).
    #[must_use]
    pub fn allow_header(mut self, header: &str) -> Self {
        self.allowed_headers.push(header.to_owned());
        self
    }

    /// How long a preflight answer may be cached (`Access-Control-Max-Age`).
    #[must_use]
    pub fn max_age(mut self, age: Duration) -> Self {
        self.max_age = Some(age);
        self
    }

    /// The `Access-Control-Allow-Origin` value for a request's origin, if it is allowed.
    pub(crate) fn allowed_origin<'a>(&self, origin: Option<&'a str>) -> Option<&'a str> {
        match (&self.origins, origin) {
            (CorsOrigins::Any, Some(origin)) if self.credentials => Some(origin),
            (CorsOrigins::Any, _) => Some("*"),
            (CorsOrigins::List(list), Some(origin)) => list
                .iter()
                .any(|allowed| allowed == origin)
                .then_some(origin),
            (CorsOrigins::List(_) | CorsOrigins::None, _) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_gets_leading_and_trailing_slash() {
        assert_eq!(
            EngineConfig::default().path("socket.io").path_prefix(),
            "/socket.io/"
        );
        assert_eq!(EngineConfig::default().path("/x/").path_prefix(), "/x/");
    }

    #[test]
    fn cors_echoes_listed_origins_only() {
        let cors = Cors::new().allow_origin("https://a.example");
        assert_eq!(
            cors.allowed_origin(Some("https://a.example")),
            Some("https://a.example")
        );
        assert_eq!(cors.allowed_origin(Some("https://b.example")), None);
        assert_eq!(cors.allowed_origin(None), None);
    }

    #[test]
    fn cors_any_origin_with_credentials_never_says_star() {
        assert_eq!(
            Cors::any_origin().allowed_origin(Some("https://a")),
            Some("*")
        );
        let with_credentials = Cors::any_origin().allow_credentials(true);
        assert_eq!(
            with_credentials.allowed_origin(Some("https://a")),
            Some("https://a")
        );
    }
}
