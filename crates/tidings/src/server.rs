//! The server: namespaces, the connections' clients, mounting and serving.

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, Response};
use http_body::Body;
use serde_json::Value;
use tidings_eio::CloseReason;
use tidings_engine::{Engine, ResponseBody, ResponseFuture};
use tokio::sync::Notify;

use crate::args::Args;
use crate::broadcast::BroadcastOperator;
use crate::client::{Bridge, Client};
use crate::config::ServerConfig;
use crate::error::{AdapterError, BroadcastAckError, EmitError};
use crate::namespace::{Handlers, Namespace};
use crate::reason::DisconnectReason;
use crate::socket::{IntoRooms, Socket};
use crate::sync::{lock, read, write};

/// A Socket.IO server. Cheap to clone; every clone is the same server.
///
/// ```no_run
/// use tidings::{Args, Server};
///
/// # async fn run() -> std::io::Result<()> {
/// let io = Server::default();
/// io.ns("/", |socket| async move {
///     socket.on("talk", |socket, event| async move {
///         let _ = socket.namespace().emit("response", event.args().clone());
///         let _ = socket.emit("tail", event.into_args());
///     });
/// });
/// io.serve("127.0.0.1:3000").await
/// # }
/// ```
#[derive(Clone)]
pub struct Server {
    inner: Arc<ServerInner>,
}

struct ServerInner {
    state: Arc<ServerState>,
    engine: Engine,
    /// Signalled by [`Server::close`] to stop [`Server::serve`].
    stopped: Notify,
    closed: AtomicBool,
}

/// What the engine bridge and the handles share.
pub(crate) struct ServerState {
    pub(crate) config: Arc<ServerConfig>,
    namespaces: RwLock<foldhash::HashMap<String, Namespace>>,
    dynamic: RwLock<Vec<DynamicParent>>,
    /// Clients still without a namespace, with their deadlines, oldest first.
    connect_deadlines: Mutex<VecDeque<(Instant, Weak<Client>)>>,
    watching: AtomicBool,
    /// Listeners of `new_namespace`.
    new_namespace: RwLock<Vec<NamespaceListener>>,
}

/// Told of every namespace created after start-up, dynamic children included.
type NamespaceListener = Arc<dyn Fn(&Namespace) + Send + Sync>;

/// Decides whether a CONNECT to `(name, auth)` creates a dynamic namespace.
type NamespaceMatcher = dyn Fn(&str, &Value) -> bool + Send + Sync;

/// A matcher for dynamic namespaces, with the parent namespace its children share
/// handlers with.
struct DynamicParent {
    matches: Box<NamespaceMatcher>,
    parent: Namespace,
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server")
            .field("path", &self.inner.state.config.engine().path_prefix())
            .finish()
    }
}

impl Default for Server {
    fn default() -> Self {
        Self::new(ServerConfig::default())
    }
}

impl Server {
    /// A server with `config`; the main namespace `/` exists from the start.
    pub fn new(config: ServerConfig) -> Self {
        let config = Arc::new(config);
        let state = Arc::new(ServerState {
            config: config.clone(),
            namespaces: RwLock::new(HashMap::default()),
            dynamic: RwLock::new(Vec::new()),
            connect_deadlines: Mutex::new(VecDeque::new()),
            watching: AtomicBool::new(false),
            new_namespace: RwLock::new(Vec::new()),
        });
        let engine = Engine::new(
            config.engine().clone(),
            Bridge {
                state: state.clone(),
            },
        );
        let server = Self {
            inner: Arc::new(ServerInner {
                state,
                engine,
                stopped: Notify::new(),
                closed: AtomicBool::new(false),
            }),
        };
        server.of("/");
        server
    }

    /// The configuration.
    pub fn config(&self) -> &ServerConfig {
        &self.inner.state.config
    }

    /// The Engine.IO server underneath (`io.engine`).
    pub fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    /// The namespace `name`, created if it does not exist (`io.of`).
    pub fn of(&self, name: &str) -> Namespace {
        let name = normalize(name);
        if let Some(namespace) = read(&self.inner.state.namespaces).get(&name) {
            return namespace.clone();
        }
        let (namespace, created) = {
            let mut namespaces = write(&self.inner.state.namespaces);
            let created = !namespaces.contains_key(&name);
            let namespace = namespaces
                .entry(name.clone())
                .or_insert_with(|| {
                    let handlers = Arc::new(Handlers::default());
                    Namespace::new(&name, handlers, &self.inner.state.config)
                })
                .clone();
            (namespace, created)
        };
        if created {
            self.inner.state.announce(&namespace);
        }
        namespace
    }

    /// The names of the namespaces that exist now.
    pub fn namespace_names(&self) -> Vec<String> {
        read(&self.inner.state.namespaces).keys().cloned().collect()
    }

    /// Runs `listener` for every namespace created from now on (`io.on("new_namespace")`),
    /// dynamic children included.
    pub fn on_new_namespace(&self, listener: impl Fn(&Namespace) + Send + Sync + 'static) {
        write(&self.inner.state.new_namespace).push(Arc::new(listener));
    }

    /// The namespace `name` with a `connection` handler (`io.of(name).on("connection")`).
    pub fn ns<F, Fut>(&self, name: &str, handler: F) -> Namespace
    where
        F: Fn(Socket) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let namespace = self.of(name);
        namespace.on_connection(handler);
        namespace
    }

    /// Dynamic namespaces (`io.of(regex or function)`): a CONNECT to an unknown name for
    /// which `matches(name, auth)` holds creates that namespace. Every such child shares
    /// the middlewares and connection handlers set on the returned parent, and the
    /// parent's broadcasts reach all its children.
    pub fn dynamic_ns(
        &self,
        matches: impl Fn(&str, &Value) -> bool + Send + Sync + 'static,
    ) -> Namespace {
        let index = read(&self.inner.state.dynamic).len();
        let parent = Namespace::new(
            &format!("dynamic#{index}"),
            Arc::new(Handlers::default()),
            &self.inner.state.config,
        );
        write(&self.inner.state.dynamic).push(DynamicParent {
            matches: Box::new(matches),
            parent: parent.clone(),
        });
        parent
    }

    /// The main namespace `/` (`io.sockets`).
    pub fn sockets(&self) -> Namespace {
        self.of("/")
    }

    /// Targets rooms of `/` (`io.to`).
    pub fn to(&self, rooms: impl IntoRooms) -> BroadcastOperator {
        self.sockets().to(rooms)
    }

    /// Same as [`Server::to`] (`io.in`).
    pub fn within(&self, rooms: impl IntoRooms) -> BroadcastOperator {
        self.sockets().within(rooms)
    }

    /// Leaves out rooms of `/` (`io.except`).
    pub fn except(&self, rooms: impl IntoRooms) -> BroadcastOperator {
        self.sockets().except(rooms)
    }

    /// Volatile broadcast on `/`.
    pub fn volatile(&self) -> BroadcastOperator {
        self.sockets().volatile()
    }

    /// Local-only broadcast on `/`.
    pub fn local(&self) -> BroadcastOperator {
        self.sockets().local()
    }

    /// Broadcast with the compression flag on `/`.
    pub fn compress(&self, compress: bool) -> BroadcastOperator {
        self.sockets().compress(compress)
    }

    /// Broadcast with an acknowledgement deadline on `/`.
    pub fn timeout(&self, timeout: Duration) -> BroadcastOperator {
        self.sockets().timeout(timeout)
    }

    /// Sends an event to every socket of `/` (`io.emit`).
    ///
    /// # Errors
    /// As [`BroadcastOperator::emit`].
    pub fn emit(&self, event: &str, args: impl Into<Args>) -> Result<(), EmitError> {
        self.sockets().emit(event, args)
    }

    /// Sends `message` to every socket of `/` (`io.send`).
    ///
    /// # Errors
    /// As [`BroadcastOperator::emit`].
    pub fn send(&self, args: impl Into<Args>) -> Result<(), EmitError> {
        self.sockets().send(args)
    }

    /// Sends an event to every socket of `/` and gathers the acknowledgements.
    ///
    /// # Errors
    /// As [`BroadcastOperator::emit_with_ack`].
    pub async fn emit_with_ack(
        &self,
        event: &str,
        args: impl Into<Args>,
    ) -> Result<Vec<Args>, BroadcastAckError> {
        self.sockets().emit_with_ack(event, args).await
    }

    /// The sockets of `/` (`io.fetchSockets`).
    ///
    /// # Errors
    /// As [`BroadcastOperator::fetch_sockets`].
    pub async fn fetch_sockets(&self) -> Result<Vec<Socket>, AdapterError> {
        self.sockets().fetch_sockets().await
    }

    /// Makes every socket of `/` join rooms.
    pub fn sockets_join(&self, rooms: impl IntoRooms) {
        self.sockets().sockets_join(rooms);
    }

    /// Makes every socket of `/` leave rooms.
    pub fn sockets_leave(&self, rooms: impl IntoRooms) {
        self.sockets().sockets_leave(rooms);
    }

    /// Disconnects every socket of `/`.
    pub fn disconnect_sockets(&self, close: bool) {
        self.sockets().disconnect_sockets(close);
    }

    /// The `tower` service that answers requests under the path (and 404 elsewhere).
    pub fn service(&self) -> SocketIoService {
        SocketIoService {
            server: self.clone(),
        }
    }

    /// A `tower` layer that answers requests under the path and passes every other
    /// request to the service it wraps, for mounting in front of an application.
    pub fn layer(&self) -> SocketIoLayer {
        SocketIoLayer {
            server: self.clone(),
        }
    }

    /// Serves on `addr` until [`Server::close`] is called. Each connection's peer
    /// address becomes `handshake.address`.
    ///
    /// # Errors
    /// When `addr` cannot be bound.
    ///
    /// # Cancel safety
    /// Dropping the future stops accepting at once; call [`Server::close`] to drain.
    pub async fn serve(&self, addr: impl tokio::net::ToSocketAddrs) -> std::io::Result<()> {
        let listener = listen(addr).await?;
        self.serve_listener(listener).await
    }

    /// Serves on a bound listener until [`Server::close`] is called.
    ///
    /// # Errors
    /// Never for connection problems; see [`tidings_engine::serve`].
    pub async fn serve_listener(&self, listener: tokio::net::TcpListener) -> std::io::Result<()> {
        let inner = self.inner.clone();
        let stopped = async move {
            let notified = inner.stopped.notified();
            if !inner.closed.load(Ordering::Acquire) {
                notified.await;
            }
        };
        // The accept loop runs as a task of the runtime, not in the caller's future: under
        // `block_on` or `#[tokio::main]` that future is polled on the main thread, and every
        // accepted connection would then cost a cross-thread wake-up of a worker.
        let mut accepting = AbortOnDrop(tokio::spawn(tidings_engine::serve(
            listener,
            self.service(),
            stopped,
        )));
        match (&mut accepting.0).await {
            Ok(served) => served,
            Err(error) => Err(std::io::Error::other(error)),
        }
    }

    /// Serves on a bound listener until `signal` completes (Ctrl-C, for example), then
    /// closes the server as [`Server::close`] does and returns.
    ///
    /// # Errors
    /// Never for connection problems; see [`tidings_engine::serve`].
    pub async fn serve_until(
        &self,
        listener: tokio::net::TcpListener,
        signal: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let server = self.clone();
        tokio::spawn(async move {
            signal.await;
            server.close().await;
        });
        self.serve_listener(listener).await
    }

    /// Closes the server: every socket disconnects with "server shutting down", every
    /// connection closes after flushing, and [`Server::serve`] returns.
    ///
    /// # Cancel safety
    /// Dropping the future leaves the connections closing on their own.
    pub async fn close(&self) {
        self.inner.closed.store(true, Ordering::Release);
        let namespaces: Vec<Namespace> = read(&self.inner.state.namespaces)
            .values()
            .cloned()
            .collect();
        for namespace in namespaces {
            for socket in namespace.sockets() {
                socket.schedule_disconnect(DisconnectReason::ServerShuttingDown);
            }
        }
        self.inner.engine.close().await;
        self.inner.stopped.notify_waiters();
    }
}

impl ServerState {
    /// The namespace a CONNECT names: a registered one, or a dynamic child created now.
    pub(crate) fn namespace_for(self: &Arc<Self>, name: &str, auth: &Value) -> Option<Namespace> {
        if let Some(namespace) = read(&self.namespaces).get(name) {
            return Some(namespace.clone());
        }
        let parent = {
            let dynamic = read(&self.dynamic);
            dynamic
                .iter()
                .find(|dynamic| (dynamic.matches)(name, auth))?
                .parent
                .clone()
        };
        let (child, created) = {
            let mut namespaces = write(&self.namespaces);
            if let Some(existing) = namespaces.get(name) {
                (existing.clone(), false)
            } else {
                let child = Namespace::new(name, parent.handlers(), &self.config);
                namespaces.insert(name.to_owned(), child.clone());
                parent.add_child(child.clone());
                (child, true)
            }
        };
        if created {
            if self.config.cleanup_empty_child_namespaces {
                let state = Arc::downgrade(self);
                child.set_on_empty(move |child| {
                    if let Some(state) = state.upgrade() {
                        write(&state.namespaces).remove(child.name());
                        parent.remove_child(child);
                    }
                });
            }
            self.announce(&child);
        }
        Some(child)
    }

    fn announce(&self, namespace: &Namespace) {
        let listeners = read(&self.new_namespace).clone();
        for listener in listeners {
            listener(namespace);
        }
    }

    /// Closes `client` if no namespace connects within the connect timeout. One task
    /// watches every client, so a connection costs no timer of its own.
    pub(crate) fn watch_connect_timeout(self: &Arc<Self>, client: &Arc<Client>) {
        let deadline = tokio::time::Instant::now().into_std() + self.config.connect_timeout;
        lock(&self.connect_deadlines).push_back((deadline, Arc::downgrade(client)));
        if !self.watching.swap(true, Ordering::AcqRel) {
            tokio::spawn(watch_connect_deadlines(Arc::downgrade(self)));
        }
    }
}

/// Closes connections that stayed without a namespace past their deadline. Deadlines
/// arrive in order (one fixed timeout), so only the front of the queue is ever due, and a
/// client added while the task sleeps is due no earlier than its wake-up.
async fn watch_connect_deadlines(state: Weak<ServerState>) {
    loop {
        // Holding the state only while awake lets the task end with the server.
        let Some(state) = state.upgrade() else {
            return;
        };
        let wake = loop {
            let mut deadlines = lock(&state.connect_deadlines);
            let Some(&(deadline, ref client)) = deadlines.front() else {
                break tokio::time::Instant::now().into_std() + state.config.connect_timeout;
            };
            let client = client.upgrade();
            if client.as_ref().is_none_or(|client| client.is_connected()) {
                deadlines.pop_front();
                continue;
            }
            if deadline > tokio::time::Instant::now().into_std() {
                break deadline;
            }
            deadlines.pop_front();
            drop(deadlines);
            if let Some(client) = client {
                tracing::debug!(sid = %client.connection.sid(), "connect timeout");
                client.connection.close(CloseReason::ForcedClose);
            }
        };
        drop(state);
        tokio::time::sleep_until(wake.into()).await;
    }
}

/// The `tower` service of a [`Server`]: the browser client files and Engine.IO requests
/// under the path, 404 elsewhere.
#[derive(Clone, Debug)]
pub struct SocketIoService {
    server: Server,
}

impl<B> tower_service::Service<Request<B>> for SocketIoService
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
        let config = &self.server.inner.state.config;
        if config.serve_client
            && let Some(response) = crate::assets::respond(
                config.engine().path_prefix(),
                request.method(),
                request.uri().path(),
                request.headers(),
            )
        {
            return response.into();
        }
        let mut engine = self.server.inner.engine.clone();
        tower_service::Service::call(&mut engine, request)
    }
}

/// Namespace names always start with `/`.
fn normalize(name: &str) -> String {
    if name.starts_with('/') {
        name.to_owned()
    } else {
        format!("/{name}")
    }
}

/// The `tower` layer of a [`Server`] (see [`Server::layer`]).
#[derive(Clone, Debug)]
pub struct SocketIoLayer {
    server: Server,
}

impl<S> tower_layer::Layer<S> for SocketIoLayer {
    type Service = SocketIoMiddleware<S>;

    fn layer(&self, inner: S) -> Self::Service {
        SocketIoMiddleware {
            socket_io: self.server.service(),
            inner,
        }
    }
}

/// A service with Socket.IO in front: requests under the path go to the server, the
/// others to `inner`.
#[derive(Clone, Debug)]
pub struct SocketIoMiddleware<S> {
    socket_io: SocketIoService,
    inner: S,
}

impl<S, B, InnerBody> tower_service::Service<Request<B>> for SocketIoMiddleware<S>
where
    S: tower_service::Service<Request<B>, Response = Response<InnerBody>>,
    S::Future: Send + 'static,
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: fmt::Display,
{
    type Response = Response<http_body_util::Either<ResponseBody, InnerBody>>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let prefix = self.socket_io.server.config().engine().path_prefix();
        if request.uri().path().starts_with(prefix) {
            let answer = tower_service::Service::call(&mut self.socket_io, request);
            Box::pin(async move {
                let response = match answer.await {
                    Ok(response) => response,
                    Err(never) => match never {},
                };
                Ok(response.map(http_body_util::Either::Left))
            })
        } else {
            let answer = self.inner.call(request);
            Box::pin(async move { Ok(answer.await?.map(http_body_util::Either::Right)) })
        }
    }
}

/// Aborts the task when dropped, so that dropping [`Server::serve`] stops accepting.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Connections the kernel may hold for `accept` (Linux caps it at `somaxconn`). tokio's
/// `TcpListener::bind` asks for 128: a burst of more connections than that overflowed the
/// queue, and each dropped handshake cost its client a one-second retransmission. Node
/// asks for 511.
const LISTEN_BACKLOG: u32 = 1024;

/// Binds the first address of `addr` that can be bound, with [`LISTEN_BACKLOG`].
async fn listen(addr: impl tokio::net::ToSocketAddrs) -> std::io::Result<tokio::net::TcpListener> {
    let mut last_error = None;
    for address in tokio::net::lookup_host(addr).await? {
        let socket = if address.is_ipv4() {
            tokio::net::TcpSocket::new_v4()?
        } else {
            tokio::net::TcpSocket::new_v6()?
        };
        // As `TcpListener::bind` does: a restarted server can bind while old connections
        // linger in TIME_WAIT.
        socket.set_reuseaddr(true)?;
        match socket.bind(address) {
            Ok(()) => return socket.listen(LISTEN_BACKLOG),
            Err(error) => last_error = Some(error),
        }
    }
    Err(last_error.unwrap_or_else(|| {
        std::io::Error::new(std::io::ErrorKind::InvalidInput, "no address to bind")
    }))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn the_listener_holds_more_than_128_connections_for_accept() {
        let listener = listen("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        // Nothing accepts: every handshake must wait in the kernel's queue. With tokio's
        // backlog of 128, the SYNs past it were dropped and these connects hung.
        let connects = (0..300).map(|_| {
            tokio::time::timeout(
                Duration::from_millis(500),
                tokio::net::TcpStream::connect(address),
            )
        });
        let streams = futures_util::future::join_all(connects).await;
        let connected = streams
            .iter()
            .filter(|stream| matches!(stream, Ok(Ok(_))))
            .count();
        assert_eq!(connected, 300);
    }
}
