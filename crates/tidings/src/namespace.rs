//! Namespaces: their sockets, middlewares, connection handlers and adapter.

use std::collections::HashSet;
use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::Duration;

use serde_json::Value;
use tidings_eio::Sid;
use tidings_engine::FrameLog;
use tidings_sio::Packet;

use crate::adapter::{AckCollector, Adapter, BroadcastOptions, EncodedPacket, LocalAdapter, Room};
use crate::args::Args;
use crate::broadcast::BroadcastOperator;
use crate::config::ServerConfig;
use crate::error::{AdapterError, BroadcastAckError, ConnectError, EmitError};
use crate::handler::{self, ConnectionHandler, Middleware};
use crate::parser::Parser;
use crate::recovery::{RecoveredSession, RecoveryStore};
use crate::socket::{IntoRooms, Socket, check_event_name, event_data};
use crate::sync::{lock, read, write};

/// A namespace (`io.of(name)`). Cheap to clone.
#[derive(Clone)]
pub struct Namespace {
    pub(crate) inner: Arc<NamespaceInner>,
}

pub(crate) struct NamespaceInner {
    name: String,
    sockets: RwLock<SocketMap>,
    /// Broadcasts to everyone (but `except`), read by the sockets whose connection
    /// subscribed to it: one append per broadcast, not one queue push per recipient.
    log: Arc<FrameLog>,
    /// The connected sockets that do not read the log (polling, a second namespace on
    /// the connection, outgoing listeners): broadcasts reach them one by one. Its lock
    /// also orders a broadcast against sockets moving between the two ways.
    direct: Mutex<SocketMap>,
    adapter: Arc<dyn Adapter>,
    /// Middlewares and connection handlers, shared with the children of a dynamic parent.
    handlers: Arc<Handlers>,
    ack_ids: AtomicU64,
    recovery: Option<RecoveryStore>,
    parser: Parser,
    ack_timeout: Duration,
    /// The namespaces a dynamic parent created (empty for others).
    children: RwLock<Vec<Namespace>>,
    /// For a dynamic child: called when its last socket leaves, if cleanup is on.
    on_empty: RwLock<Option<Box<EmptyListener>>>,
}

/// Sockets by id. Ids are the server's own random strings, so the faster hasher is
/// safe here: SipHash was 2% of the instructions of a connection setup.
type SocketMap = foldhash::HashMap<Sid, Socket>;

/// Runs when a namespace's last socket leaves.
type EmptyListener = dyn Fn(&Namespace) + Send + Sync;

#[derive(Default)]
pub(crate) struct Handlers {
    middlewares: RwLock<Vec<Middleware>>,
    connection: RwLock<Vec<ConnectionHandler>>,
}

/// A weak handle on a namespace, for adapters (which the namespace owns).
#[derive(Clone, Debug)]
pub struct NamespaceRef(Weak<NamespaceInner>);

impl NamespaceRef {
    /// The namespace, while it exists.
    pub fn upgrade(&self) -> Option<Namespace> {
        self.0.upgrade().map(|inner| Namespace { inner })
    }
}

impl fmt::Debug for NamespaceInner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Namespace")
            .field("name", &self.name)
            .finish()
    }
}

impl fmt::Debug for Namespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}

impl Namespace {
    pub(crate) fn new(name: &str, handlers: Arc<Handlers>, config: &ServerConfig) -> Self {
        let inner = Arc::new_cyclic(|weak: &Weak<NamespaceInner>| NamespaceInner {
            name: name.to_owned(),
            sockets: RwLock::new(SocketMap::default()),
            log: FrameLog::with_capacity(config.engine.session().max_queued_frames),
            direct: Mutex::new(SocketMap::default()),
            adapter: Arc::new(LocalAdapter::new(NamespaceRef(weak.clone()))),
            handlers,
            ack_ids: AtomicU64::new(0),
            recovery: config.recovery.clone().map(RecoveryStore::new),
            parser: config.parser,
            ack_timeout: config.ack_timeout,
            children: RwLock::new(Vec::new()),
            on_empty: RwLock::new(None),
        });
        Self { inner }
    }

    pub(crate) fn handlers(&self) -> Arc<Handlers> {
        self.inner.handlers.clone()
    }

    pub(crate) fn add_child(&self, child: Self) {
        write(&self.inner.children).push(child);
    }

    pub(crate) fn remove_child(&self, child: &Self) {
        write(&self.inner.children).retain(|known| !Arc::ptr_eq(&known.inner, &child.inner));
    }

    pub(crate) fn set_on_empty(&self, on_empty: impl Fn(&Self) + Send + Sync + 'static) {
        *write(&self.inner.on_empty) = Some(Box::new(on_empty));
    }

    /// The namespace name, such as `/` or `/admin`.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The adapter that holds the rooms.
    pub fn adapter(&self) -> &Arc<dyn Adapter> {
        &self.inner.adapter
    }

    /// The sockets connected here, on this node.
    pub fn sockets(&self) -> Vec<Socket> {
        read(&self.inner.sockets).values().cloned().collect()
    }

    /// The local socket with this id.
    pub fn socket(&self, id: Sid) -> Option<Socket> {
        read(&self.inner.sockets).get(&id).cloned()
    }

    pub(crate) fn socket_ids(&self) -> HashSet<Sid> {
        read(&self.inner.sockets).keys().copied().collect()
    }

    /// Runs `handler` for every socket that connects (`nsp.on("connection")`).
    pub fn on_connection<F, Fut>(&self, handler: F)
    where
        F: Fn(Socket) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        write(&self.inner.handlers.connection).push(handler::connection_handler(handler));
    }

    /// Adds a connection middleware (`nsp.use`): middlewares run in order before a socket
    /// connects; an `Err` refuses it with CONNECT_ERROR `{message, data}`.
    pub fn use_middleware<F, Fut>(&self, middleware: F)
    where
        F: Fn(Socket) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), ConnectError>> + Send + 'static,
    {
        write(&self.inner.handlers.middlewares).push(handler::middleware(middleware));
    }

    pub(crate) fn middlewares(&self) -> Vec<Middleware> {
        read(&self.inner.handlers.middlewares).clone()
    }

    pub(crate) fn connection_handlers(&self) -> Vec<ConnectionHandler> {
        read(&self.inner.handlers.connection).clone()
    }

    pub(crate) fn insert_socket(&self, socket: Socket) {
        {
            let mut direct = lock(&self.inner.direct);
            if !socket.start_reading_log(&self.inner.log) {
                direct.insert(socket.id(), socket.clone());
            }
        }
        write(&self.inner.sockets).insert(socket.id(), socket);
    }

    /// Moves a socket that gets broadcasts one by one to the log, if its connection can
    /// read it now (after the upgrade to WebSocket).
    pub(crate) fn try_read_log(&self, socket: &Socket) {
        let mut direct = lock(&self.inner.direct);
        if direct.contains_key(&socket.id()) && socket.start_reading_log(&self.inner.log) {
            direct.remove(&socket.id());
        }
    }

    /// Moves a socket that reads the log to one-by-one delivery (it has outgoing
    /// listeners now); what the log held for it is queued first.
    pub(crate) fn stop_reading_log(&self, socket: &Socket) {
        let stopped = {
            let mut direct = lock(&self.inner.direct);
            let stopped = socket.stop_reading_log(true);
            if stopped == Ok(true) && socket.connected() {
                direct.insert(socket.id(), socket.clone());
            }
            stopped
        };
        if stopped.is_err() {
            // Its queue is full: the policy of a full queue, once the lock is released.
            socket
                .client_connection()
                .abort(tidings_engine::CloseReason::TransportError);
        }
    }

    /// Broadcasts stop reaching a socket that leaves (what the log still held for it is
    /// dropped: it goes after the socket's last packet).
    pub(crate) fn stop_broadcasts_to(&self, socket: &Socket) {
        let mut direct = lock(&self.inner.direct);
        direct.remove(&socket.id());
        // Dropping cannot fail.
        let _ = socket.stop_reading_log(false);
    }

    /// A broadcast to every socket but those of `except`: appended once to the log for
    /// the sockets that read it; returns how many of those get it and the sockets that
    /// must get it one by one.
    pub(crate) fn broadcast_to_all(
        &self,
        frames: &Arc<[tidings_engine::Frame]>,
        except: &HashSet<Sid>,
    ) -> (usize, Vec<Socket>) {
        // Under the lock that orders sockets moving between the log and one-by-one
        // delivery, so that the excluded readers are exactly the current ones.
        let direct = lock(&self.inner.direct);
        let except_sessions: Box<[tidings_engine::Sid]> = if except.is_empty() {
            Box::new([])
        } else {
            let sockets = read(&self.inner.sockets);
            except
                .iter()
                .filter_map(|id| sockets.get(id))
                .filter(|socket| socket.reads_log())
                .map(|socket| socket.client_connection().sid())
                .collect()
        };
        let excluded_readers = except_sessions.len();
        let readers = self.inner.log.append(frames.clone(), except_sessions);
        let targets = direct
            .values()
            .filter(|socket| !except.contains(&socket.id()))
            .cloned()
            .collect();
        drop(direct);
        (readers.saturating_sub(excluded_readers), targets)
    }

    pub(crate) fn remove_socket(&self, id: Sid) {
        lock(&self.inner.direct).remove(&id);
        let emptied = {
            let mut sockets = write(&self.inner.sockets);
            sockets.remove(&id).is_some() && sockets.is_empty()
        };
        if emptied && let Some(on_empty) = read(&self.inner.on_empty).as_ref() {
            on_empty(self);
        }
    }

    /// The ids of the targeted local sockets (`allSockets`, deprecated upstream).
    pub fn all_sockets(&self) -> HashSet<Sid> {
        self.inner.adapter.sockets(&BroadcastOptions::default())
    }

    pub(crate) fn next_ack_id(&self) -> u64 {
        self.inner.ack_ids.fetch_add(1, Ordering::Relaxed)
    }

    pub(crate) fn ack_timeout(&self) -> Duration {
        self.inner.ack_timeout
    }

    // ----- Broadcasting, delegated to a fresh operator -----

    /// Targets rooms (`nsp.to`).
    pub fn to(&self, rooms: impl IntoRooms) -> BroadcastOperator {
        BroadcastOperator::new(self.clone()).to(rooms)
    }

    /// Same as [`Namespace::to`] (`nsp.in`).
    pub fn within(&self, rooms: impl IntoRooms) -> BroadcastOperator {
        self.to(rooms)
    }

    /// Leaves out the sockets of rooms (`nsp.except`).
    pub fn except(&self, rooms: impl IntoRooms) -> BroadcastOperator {
        BroadcastOperator::new(self.clone()).except(rooms)
    }

    /// Drops the event for sockets that cannot take it now (`nsp.volatile`).
    pub fn volatile(&self) -> BroadcastOperator {
        BroadcastOperator::new(self.clone()).volatile()
    }

    /// Only this node's sockets (`nsp.local`).
    pub fn local(&self) -> BroadcastOperator {
        BroadcastOperator::new(self.clone()).local()
    }

    /// The compression flag (`nsp.compress`).
    pub fn compress(&self, compress: bool) -> BroadcastOperator {
        BroadcastOperator::new(self.clone()).compress(compress)
    }

    /// The deadline for acknowledgements (`nsp.timeout`).
    pub fn timeout(&self, timeout: Duration) -> BroadcastOperator {
        BroadcastOperator::new(self.clone()).timeout(timeout)
    }

    /// Sends an event to every socket of the namespace (and of its children, for a
    /// dynamic parent).
    ///
    /// # Errors
    /// As [`BroadcastOperator::emit`].
    pub fn emit(&self, event: &str, args: impl Into<Args>) -> Result<(), EmitError> {
        BroadcastOperator::new(self.clone()).emit(event, args)
    }

    /// Sends `message` events (`nsp.send`).
    ///
    /// # Errors
    /// As [`BroadcastOperator::emit`].
    pub fn send(&self, args: impl Into<Args>) -> Result<(), EmitError> {
        self.emit("message", args)
    }

    /// Sends an event to every socket and collects their acknowledgements.
    ///
    /// # Errors
    /// As [`BroadcastOperator::emit_with_ack`].
    pub async fn emit_with_ack(
        &self,
        event: &str,
        args: impl Into<Args>,
    ) -> Result<Vec<Args>, BroadcastAckError> {
        BroadcastOperator::new(self.clone())
            .emit_with_ack(event, args)
            .await
    }

    /// The sockets of the namespace, on every node.
    ///
    /// # Errors
    /// As [`BroadcastOperator::fetch_sockets`].
    pub async fn fetch_sockets(&self) -> Result<Vec<Socket>, AdapterError> {
        BroadcastOperator::new(self.clone()).fetch_sockets().await
    }

    /// Makes every socket join rooms.
    pub fn sockets_join(&self, rooms: impl IntoRooms) {
        BroadcastOperator::new(self.clone()).sockets_join(rooms);
    }

    /// Makes every socket leave rooms.
    pub fn sockets_leave(&self, rooms: impl IntoRooms) {
        BroadcastOperator::new(self.clone()).sockets_leave(rooms);
    }

    /// Disconnects every socket (`close` closes their connections too).
    pub fn disconnect_sockets(&self, close: bool) {
        BroadcastOperator::new(self.clone()).disconnect_sockets(close);
    }

    /// Encodes an event once and hands it to the adapter; with recovery on, the packet is
    /// numbered and stored first. Returns how many local sockets got it.
    pub(crate) fn broadcast_event(
        &self,
        options: &BroadcastOptions,
        event: &str,
        args: Args,
    ) -> Result<usize, EmitError> {
        check_event_name(event)?;
        args.check()?;
        let children = read(&self.inner.children).clone();
        if !children.is_empty() {
            // A dynamic parent has no sockets of its own: each child encodes with its name.
            let mut delivered = 0;
            for child in children {
                delivered += child.broadcast_event(options, event, args.clone())?;
            }
            return Ok(delivered);
        }
        let (mut args, frames) = match (&self.inner.recovery, options.flags.volatile) {
            (Some(store), false) => store.record(options, |offset| {
                // The offset travels as the last argument (protocol §2.10).
                let (mut values, attachments) = args.into_parts();
                values.push(Value::from(offset));
                let args = Args::from_parts(values, attachments);
                let frames = self.encode_event(event, &args, None)?;
                Ok((args, frames))
            })?,
            _ => {
                let frames = self.encode_event(event, &args, None)?;
                (args, frames)
            }
        };
        let encoded = EncodedPacket {
            frames,
            event: Arc::from(event),
            args: Arc::new(std::mem::take(&mut args)),
        };
        Ok(self.inner.adapter.broadcast(&encoded, options))
    }

    fn encode_event(
        &self,
        event: &str,
        args: &Args,
        id: Option<u64>,
    ) -> Result<Arc<[tidings_engine::Frame]>, EmitError> {
        let (data, attachments) = event_data(event, args);
        let packet = Packet::event(self.name(), data, attachments, id);
        Ok(Arc::from(self.inner.parser.encode(&packet)?.as_slice()))
    }

    /// Sends an event with one ack id to every targeted socket and gathers the answers.
    pub(crate) async fn broadcast_with_ack(
        &self,
        options: &BroadcastOptions,
        event: &str,
        args: Args,
        timeout: Duration,
    ) -> Result<Vec<Args>, BroadcastAckError> {
        let failed = || BroadcastAckError {
            responses: Vec::new(),
            expected: 0,
        };
        check_event_name(event).map_err(|_| failed())?;
        args.check().map_err(|_| failed())?;
        let id = self.next_ack_id();
        let frames = self
            .encode_event(event, &args, Some(id))
            .map_err(|_| failed())?;
        let encoded = EncodedPacket {
            frames,
            event: Arc::from(event),
            args: Arc::new(args),
        };
        let nodes = if options.flags.local {
            1
        } else {
            self.inner.adapter.server_count().await
        };
        let collector = AckCollector::new(nodes.max(1));
        self.inner
            .adapter
            .broadcast_with_ack(&encoded, options, id, &collector);
        let result = collector.wait(timeout).await;
        // Sockets that never answered must not keep the id.
        for socket in self.sockets() {
            socket.forget_ack(id);
        }
        result
    }

    // ----- Connection state recovery -----

    pub(crate) fn recovery_enabled(&self) -> bool {
        self.inner.recovery.is_some()
    }

    /// Restores the session named by a CONNECT auth's `pid` and `offset`, if it can be.
    pub(crate) fn recover(&self, auth: &Value) -> Option<RecoveredSession> {
        let store = self.inner.recovery.as_ref()?;
        let pid = auth.get("pid")?.as_str().and_then(Sid::parse)?;
        let offset = auth.get("offset")?.as_str()?;
        store.restore(pid, offset)
    }

    pub(crate) fn save_session(&self, sid: Sid, pid: Sid, rooms: Vec<Room>, data: Value) {
        if let Some(store) = &self.inner.recovery {
            store.save(sid, pid, rooms, data);
        }
    }
}
