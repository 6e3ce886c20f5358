//! Server settings: the engine's plus Socket.IO's own.

use std::time::Duration;

use tidings_engine::{Cors, EngineConfig, Transport};

use crate::parser::Parser;

/// Connection state recovery settings (`connectionStateRecovery`, protocol §2.10).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecoveryConfig {
    /// How long a disconnected socket's session and missed packets are kept (2 min).
    pub max_disconnection_duration: Duration,
    /// Whether a recovered socket skips the namespace middlewares (true).
    pub skip_middlewares: bool,
    /// The most packets kept per namespace for replay (10,000); older ones are dropped.
    pub max_packets: usize,
    /// The most disconnected sessions kept per namespace (10,000); older ones are dropped.
    pub max_sessions: usize,
}

impl Default for RecoveryConfig {
    fn default() -> Self {
        Self {
            max_disconnection_duration: Duration::from_secs(120),
            skip_middlewares: true,
            max_packets: 10_000,
            max_sessions: 10_000,
        }
    }
}

impl RecoveryConfig {
    /// Sets how long a disconnected session is kept.
    #[must_use]
    pub fn max_disconnection_duration(mut self, duration: Duration) -> Self {
        self.max_disconnection_duration = duration;
        self
    }

    /// Sets whether recovered sockets skip the middlewares.
    #[must_use]
    pub fn skip_middlewares(mut self, skip: bool) -> Self {
        self.skip_middlewares = skip;
        self
    }
}

/// The settings of a [`Server`](crate::Server). [`Default`] holds the reference defaults,
/// with the Socket.IO path `/socket.io/`.
///
/// ```
/// use std::time::Duration;
/// use tidings::ServerConfig;
///
/// let config = ServerConfig::default()
///     .ping_interval(Duration::from_secs(10))
///     .connect_timeout(Duration::from_secs(5));
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ServerConfig {
    pub(crate) engine: EngineConfig,
    pub(crate) connect_timeout: Duration,
    pub(crate) ack_timeout: Duration,
    pub(crate) max_pending_acks: usize,
    pub(crate) max_queued_events: usize,
    pub(crate) max_queued_event_bytes: usize,
    pub(crate) max_namespaces_per_connection: usize,
    pub(crate) max_attachments: usize,
    pub(crate) recovery: Option<RecoveryConfig>,
    pub(crate) parser: Parser,
    pub(crate) serve_client: bool,
    pub(crate) cleanup_empty_child_namespaces: bool,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            engine: EngineConfig::default().path("/socket.io/"),
            connect_timeout: Duration::from_secs(45),
            ack_timeout: Duration::from_secs(30),
            max_pending_acks: 1024,
            max_queued_events: 1024,
            max_queued_event_bytes: 4 << 20,
            max_namespaces_per_connection: 100,
            max_attachments: 10,
            recovery: None,
            parser: Parser::default(),
            serve_client: true,
            cleanup_empty_child_namespaces: false,
        }
    }
}

impl ServerConfig {
    /// The mount path (`path`, default `/socket.io/`).
    #[must_use]
    pub fn path(mut self, path: &str) -> Self {
        self.engine = self.engine.path(path);
        self
    }

    /// Server ping period (`pingInterval`, 25 s).
    #[must_use]
    pub fn ping_interval(mut self, interval: Duration) -> Self {
        self.engine = self.engine.ping_interval(interval);
        self
    }

    /// How long to wait for a pong (`pingTimeout`, 20 s).
    #[must_use]
    pub fn ping_timeout(mut self, timeout: Duration) -> Self {
        self.engine = self.engine.ping_timeout(timeout);
        self
    }

    /// How long an upgrade may take (`upgradeTimeout`, 10 s).
    #[must_use]
    pub fn upgrade_timeout(mut self, timeout: Duration) -> Self {
        self.engine = self.engine.upgrade_timeout(timeout);
        self
    }

    /// The largest HTTP body or WebSocket message (`maxHttpBufferSize`, 1 MB).
    #[must_use]
    pub fn max_payload(mut self, bytes: u64) -> Self {
        self.engine = self.engine.max_payload(bytes);
        self
    }

    /// The enabled transports (`transports`, both by default).
    #[must_use]
    pub fn transports(mut self, transports: &[Transport]) -> Self {
        self.engine = self.engine.transports(transports);
        self
    }

    /// Whether polling may upgrade to WebSocket (`allowUpgrades`, true).
    #[must_use]
    pub fn allow_upgrades(mut self, allow: bool) -> Self {
        self.engine = self.engine.allow_upgrades(allow);
        self
    }

    /// Cross-origin requests (`cors`, off by default).
    #[must_use]
    pub fn cors(mut self, cors: Cors) -> Self {
        self.engine = self.engine.cors(cors);
        self
    }

    /// The `io` cookie for load-balancer affinity (`cookie`, off).
    #[must_use]
    pub fn cookie(mut self, enabled: bool) -> Self {
        self.engine = self.engine.cookie(enabled);
        self
    }

    /// A hook that may refuse connections (`allowRequest`).
    #[must_use]
    pub fn allow_request(
        mut self,
        hook: impl Fn(&http::request::Parts) -> Result<(), Option<String>> + Send + Sync + 'static,
    ) -> Self {
        self.engine = self.engine.allow_request(hook);
        self
    }

    /// The most connections open at once (100,000).
    #[must_use]
    pub fn max_connections(mut self, connections: usize) -> Self {
        self.engine = self.engine.max_sessions(connections);
        self
    }

    /// How many packets may wait for a slow client (4,096). See the crate docs on
    /// back-pressure for what happens past it.
    #[must_use]
    pub fn max_queued_packets(mut self, packets: usize) -> Self {
        self.engine = self.engine.max_queued_frames(packets);
        self
    }

    /// How long a new connection may stay without any namespace (`connectTimeout`, 45 s).
    #[must_use]
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How long `emit_with_ack` waits when no `timeout` was given (30 s).
    #[must_use]
    pub fn ack_timeout(mut self, timeout: Duration) -> Self {
        self.ack_timeout = timeout;
        self
    }

    /// The most acknowledgements a socket may owe at once (1,024); more emits with an
    /// ack fail with [`EmitError::TooManyPendingAcks`](crate::EmitError).
    #[must_use]
    pub fn max_pending_acks(mut self, acks: usize) -> Self {
        self.max_pending_acks = acks.max(1);
        self
    }

    /// How many received events may wait for a socket's handlers (1,024); a client that
    /// sends faster than its handlers finish is disconnected past it.
    #[must_use]
    pub fn max_queued_events(mut self, events: usize) -> Self {
        self.max_queued_events = events.max(1);
        self
    }

    /// How many bytes, as received, the events waiting for a socket's handlers may hold
    /// (4 MiB); a client that sends more while its handlers are busy is disconnected.
    /// Decoded JSON takes many times its text, so the count limit alone would let one
    /// client hold a thousand 1 MB packets. One event may always wait, whatever its size.
    #[must_use]
    pub fn max_queued_event_bytes(mut self, bytes: usize) -> Self {
        self.max_queued_event_bytes = bytes;
        self
    }

    /// How many namespaces one connection may join at once (100). A CONNECT past it is
    /// answered with a CONNECT_ERROR, "Too many namespaces", and the connection stays.
    #[must_use]
    pub fn max_namespaces_per_connection(mut self, namespaces: usize) -> Self {
        self.max_namespaces_per_connection = namespaces.max(1);
        self
    }

    /// The most binary attachments per packet (10).
    #[must_use]
    pub fn max_attachments(mut self, attachments: usize) -> Self {
        self.max_attachments = attachments;
        self
    }

    /// Turns on connection state recovery (`connectionStateRecovery`, off by default).
    #[must_use]
    pub fn connection_state_recovery(mut self, recovery: RecoveryConfig) -> Self {
        self.recovery = Some(recovery);
        self
    }

    /// The packet parser (the default text parser, or msgpack with the `msgpack` feature).
    #[must_use]
    pub fn parser(mut self, parser: Parser) -> Self {
        self.parser = parser;
        self
    }

    /// Whether the server serves its browser client under the path (`serveClient`, true).
    #[must_use]
    pub fn serve_client(mut self, serve: bool) -> Self {
        self.serve_client = serve;
        self
    }

    /// Changes engine settings that have no shortcut here: HTTP compression, engine
    /// middlewares, header hooks, `generate_id`, …
    ///
    /// ```
    /// let config = tidings::ServerConfig::default()
    ///     .with_engine(|engine| engine.http_compression(None).cookie(true));
    /// ```
    #[must_use]
    pub fn with_engine(mut self, change: impl FnOnce(EngineConfig) -> EngineConfig) -> Self {
        self.engine = change(self.engine);
        self
    }

    /// Removes a dynamic child namespace when its last socket leaves
    /// (`cleanupEmptyChildNamespaces`, off).
    #[must_use]
    pub fn cleanup_empty_child_namespaces(mut self, cleanup: bool) -> Self {
        self.cleanup_empty_child_namespaces = cleanup;
        self
    }

    /// The engine settings this configuration produces.
    pub fn engine(&self) -> &EngineConfig {
        &self.engine
    }
}
