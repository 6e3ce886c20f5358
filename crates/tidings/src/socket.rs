//! A socket: one client in one namespace.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use serde_json::Value;
use tidings_eio::{CloseReason, Sid, Transport};
use tidings_sio::Packet;
use tokio::sync::oneshot;

use crate::adapter::{AckCollector, BroadcastOptions, EncodedPacket, Room};
use crate::args::Args;
use crate::broadcast::BroadcastOperator;
use crate::client::Client;
use crate::error::{AckError, EmitError};
use crate::event::Event;
use crate::handler::{
    self, AnyListener, DisconnectHandler, ErrorListener, EventHandler, PacketMiddleware,
};
use crate::handshake::Handshake;
use crate::namespace::Namespace;
use crate::reason::DisconnectReason;
use crate::recovery::MissedPackets;
use crate::sync::{lock, read, write};

pub(crate) fn check_event_name(event: &str) -> Result<(), EmitError> {
    if tidings_sio::RESERVED_EVENTS.contains(&event) {
        Err(EmitError::ReservedEvent(event.to_owned()))
    } else {
        Ok(())
    }
}

/// Builds the `[event, ...args]` array of an EVENT packet.
pub(crate) fn event_data(event: &str, args: &Args) -> (Value, Vec<bytes::Bytes>) {
    let mut values = Vec::with_capacity(args.len() + 1);
    values.push(Value::from(event));
    values.extend(args.values().iter().cloned());
    (Value::Array(values), args.attachments().to_vec())
}

/// A client connected to one namespace. Cheap to clone.
///
/// Its events are handled one after another, in the order they arrived: a handler for
/// the next event starts when the previous one finished.
#[derive(Clone)]
pub struct Socket {
    pub(crate) inner: Arc<SocketInner>,
}

// What a delivery reads comes first: see `Session`'s layout in tidings-eio.
#[repr(C)]
pub(crate) struct SocketInner {
    /// A [`State`] as a byte: read on every delivery, so no lock.
    state: AtomicU8,
    /// Whether any outgoing catch-all listener is set, read on every delivery.
    has_outgoing_listeners: AtomicBool,
    recovered: bool,
    /// Whether broadcasts reach this socket through its connection's log (see
    /// `Namespace::insert_socket`).
    reads_log: AtomicBool,
    pub(crate) client: Arc<Client>,
    id: Sid,
    pid: Option<Sid>,
    namespace: Namespace,
    handshake: Handshake,
    /// Boxed: most sockets never set it.
    data: Mutex<Option<Box<Value>>>,
    handlers: RwLock<Handlers>,
    acks: Mutex<HashMap<u64, AckSink>>,
    inbox: Mutex<Inbox>,
}

#[derive(Default)]
struct Handlers {
    /// Looked up by every incoming event; the names are the application's own, so a
    /// fast seeded hash does instead of SipHash.
    events: foldhash::HashMap<Box<str>, EventHandler>,
    /// Listeners most sockets never set, kept out of line so that they cost one pointer.
    extras: Option<Box<Extras>>,
}

#[derive(Default)]
struct Extras {
    any: Vec<AnyListener>,
    any_outgoing: Vec<AnyListener>,
    middlewares: Vec<PacketMiddleware>,
    errors: Vec<ErrorListener>,
    disconnecting: Vec<DisconnectHandler>,
    disconnect: Vec<DisconnectHandler>,
}

impl Handlers {
    fn extras(&mut self) -> &mut Extras {
        self.extras.get_or_insert_with(Box::default)
    }

    /// A copy of one list of extra listeners (empty when none was ever set).
    fn list<T: Clone>(&self, pick: impl Fn(&Extras) -> &Vec<T>) -> Vec<T> {
        self.extras
            .as_deref()
            .map(pick)
            .cloned()
            .unwrap_or_default()
    }
}

/// Where an acknowledgement goes.
enum AckSink {
    One(oneshot::Sender<Args>),
    /// One answer of a broadcast with acknowledgements.
    Broadcast(AckCollector),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
enum State {
    /// Middlewares are running; nothing was sent yet.
    Connecting,
    Connected,
    /// Leaving: its disconnect is queued behind the events already received.
    Disconnecting,
    Disconnected,
}

/// Work for the socket's handlers, run in order by one task at a time.
pub(crate) enum Job {
    Connect(Option<MissedPackets>),
    /// A received event and the bytes it took on the wire, which it holds against the
    /// inbox's byte limit while it waits.
    Event {
        event: Event,
        wire_len: usize,
    },
    Disconnect(DisconnectReason),
}

/// The jobs waiting for a socket's handlers; `push`, `pop` and `clear` keep the byte
/// count of the queued events in step with the queue.
#[derive(Default)]
struct Inbox {
    jobs: VecDeque<Job>,
    /// The wire bytes of the events in `jobs`.
    queued_bytes: usize,
    /// Whether a task is draining the jobs: it exits when they run out, so an idle
    /// socket costs no task.
    running: bool,
}

impl Inbox {
    fn push(&mut self, job: Job) {
        if let Job::Event { wire_len, .. } = &job {
            self.queued_bytes += wire_len;
        }
        self.jobs.push_back(job);
    }

    fn pop(&mut self) -> Option<Job> {
        let job = self.jobs.pop_front();
        if let Some(Job::Event { wire_len, .. }) = &job {
            self.queued_bytes -= wire_len;
        }
        job
    }

    fn clear(&mut self) {
        self.jobs.clear();
        self.queued_bytes = 0;
    }
}

impl fmt::Debug for Socket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Socket")
            .field("id", &self.inner.id)
            .field("namespace", &self.inner.namespace.name())
            .finish()
    }
}

impl PartialEq for Socket {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }
}

impl Socket {
    pub(crate) fn new(
        id: Sid,
        pid: Option<Sid>,
        namespace: Namespace,
        client: Arc<Client>,
        handshake: Handshake,
        data: Value,
        recovered: bool,
    ) -> Self {
        Self {
            inner: Arc::new(SocketInner {
                id,
                pid,
                namespace,
                client,
                handshake,
                data: Mutex::new((!data.is_null()).then(|| Box::new(data))),
                handlers: RwLock::new(Handlers::default()),
                has_outgoing_listeners: AtomicBool::new(false),
                reads_log: AtomicBool::new(false),
                acks: Mutex::new(HashMap::new()),
                state: AtomicU8::new(State::Connecting as u8),
                inbox: Mutex::new(Inbox::default()),
                recovered,
            }),
        }
    }

    /// The socket's public id (not the Engine.IO session id).
    pub fn id(&self) -> Sid {
        self.inner.id
    }

    /// The private session id used by connection state recovery, when it is on.
    pub fn pid(&self) -> Option<Sid> {
        self.inner.pid
    }

    /// The namespace the socket is in.
    pub fn namespace(&self) -> &Namespace {
        &self.inner.namespace
    }

    /// The handshake: the connection's first request and the namespace auth payload.
    pub fn handshake(&self) -> &Handshake {
        &self.inner.handshake
    }

    /// The free-form data attached to the socket (`socket.data`), `null` at first.
    pub fn data(&self) -> Value {
        lock(&self.inner.data)
            .as_deref()
            .cloned()
            .unwrap_or(Value::Null)
    }

    /// Replaces the socket's data.
    pub fn set_data(&self, data: Value) {
        *lock(&self.inner.data) = (!data.is_null()).then(|| Box::new(data));
    }

    /// Whether the socket is connected.
    pub fn connected(&self) -> bool {
        self.state() == State::Connected
    }

    /// Whether this socket resumed an earlier session (connection state recovery).
    pub fn recovered(&self) -> bool {
        self.inner.recovered
    }

    /// The Engine.IO connection under the socket (`socket.conn`): its transport, its
    /// request, and `close` to drop it abruptly (the client sees "transport close").
    pub fn conn(&self) -> &tidings_engine::Connection {
        &self.inner.client.connection
    }

    /// The transport the connection uses now.
    pub fn transport(&self) -> Transport {
        self.inner.client.connection.transport()
    }

    /// The rooms the socket is in, its own id room first.
    pub fn rooms(&self) -> Vec<Room> {
        let mut rooms = vec![self.inner.id.to_string()];
        rooms.extend(self.inner.namespace.adapter().socket_rooms(self.inner.id));
        rooms
    }

    /// Handles the event `event`, replacing any earlier handler for that name.
    pub fn on<F, Fut>(&self, event: &str, handler: F)
    where
        F: Fn(Self, Event) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        write(&self.inner.handlers)
            .events
            .insert(event.into(), handler::event_handler(handler));
    }

    /// Removes the handler of `event`.
    pub fn off(&self, event: &str) {
        write(&self.inner.handlers).events.remove(event);
    }

    /// Adds a listener called for every received event, before its handler (`onAny`).
    pub fn on_any(&self, listener: impl Fn(&Self, &str, &Args) + Send + Sync + 'static) {
        write(&self.inner.handlers)
            .extras()
            .any
            .push(Arc::new(listener));
    }

    /// Removes every `on_any` listener (`offAny`).
    pub fn off_any(&self) {
        write(&self.inner.handlers).extras().any.clear();
    }

    /// Adds a listener called for every event sent to this socket, broadcasts included
    /// (`onAnyOutgoing`).
    pub fn on_any_outgoing(&self, listener: impl Fn(&Self, &str, &Args) + Send + Sync + 'static) {
        write(&self.inner.handlers)
            .extras()
            .any_outgoing
            .push(Arc::new(listener));
        self.inner
            .has_outgoing_listeners
            .store(true, Ordering::Release);
        // The listeners see every packet: broadcasts must come one by one now.
        self.inner.namespace.stop_reading_log(self);
    }

    /// Removes every `on_any_outgoing` listener (`offAnyOutgoing`).
    pub fn off_any_outgoing(&self) {
        write(&self.inner.handlers).extras().any_outgoing.clear();
        self.inner
            .has_outgoing_listeners
            .store(false, Ordering::Release);
        self.inner.namespace.try_read_log(self);
    }

    /// Adds a per-packet middleware (`socket.use`), run in order before the event's
    /// handler. It may change the arguments; an `Err` drops the event and is reported to
    /// the [`Socket::on_error`] listeners.
    pub fn use_middleware(
        &self,
        middleware: impl Fn(&Self, &mut Event) -> Result<(), String> + Send + Sync + 'static,
    ) {
        write(&self.inner.handlers)
            .extras()
            .middlewares
            .push(Arc::new(middleware));
    }

    /// Listens for errors raised by packet middlewares (`socket.on("error")`).
    pub fn on_error(&self, listener: impl Fn(&Self, &str) + Send + Sync + 'static) {
        write(&self.inner.handlers)
            .extras()
            .errors
            .push(Arc::new(listener));
    }

    /// Runs when the socket starts leaving, while it is still in its rooms (`disconnecting`).
    pub fn on_disconnecting<F, Fut>(&self, handler: F)
    where
        F: Fn(Self, DisconnectReason) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        write(&self.inner.handlers)
            .extras()
            .disconnecting
            .push(handler::disconnect_handler(handler));
    }

    /// Runs when the socket has left (`disconnect`).
    pub fn on_disconnect<F, Fut>(&self, handler: F)
    where
        F: Fn(Self, DisconnectReason) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        write(&self.inner.handlers)
            .extras()
            .disconnect
            .push(handler::disconnect_handler(handler));
    }

    /// Sends an event to this client.
    ///
    /// `args` is one serializable value (`&value`), `()` for none, or [`Args`] for several
    /// arguments and binary data.
    ///
    /// # Errors
    /// [`EmitError::ReservedEvent`] for reserved names, [`EmitError::Serialize`] when an
    /// argument does not serialize, [`EmitError::Disconnected`] once the socket left.
    pub fn emit(&self, event: &str, args: impl Into<Args>) -> Result<(), EmitError> {
        self.emitter().emit(event, args)
    }

    /// Sends `message` events (`socket.send`).
    ///
    /// # Errors
    /// As [`Socket::emit`].
    pub fn send(&self, args: impl Into<Args>) -> Result<(), EmitError> {
        self.emit("message", args)
    }

    /// Sends an event and waits for the client's acknowledgement, at most the server's
    /// `ack_timeout` (use [`Socket::timeout`] to choose).
    ///
    /// # Errors
    /// [`AckError::Timeout`] when no answer came in time, [`AckError::Disconnected`] when
    /// the socket left first, [`AckError::Emit`] when the event could not be sent.
    ///
    /// # Cancel safety
    /// Dropping the future forgets the pending acknowledgement.
    pub async fn emit_with_ack(
        &self,
        event: &str,
        args: impl Into<Args>,
    ) -> Result<Args, AckError> {
        self.emitter().emit_with_ack(event, args).await
    }

    /// Emits with a deadline for acknowledgements (`socket.timeout(ms)`).
    pub fn timeout(&self, timeout: Duration) -> SocketEmitter {
        SocketEmitter {
            timeout: Some(timeout),
            ..self.emitter()
        }
    }

    /// Emits without queueing: dropped if the transport cannot take it now.
    pub fn volatile(&self) -> SocketEmitter {
        SocketEmitter {
            volatile: true,
            ..self.emitter()
        }
    }

    /// Emits with the compression flag (accepted for compatibility; not applied yet).
    pub fn compress(&self, compress: bool) -> SocketEmitter {
        let _ = compress;
        self.emitter()
    }

    fn emitter(&self) -> SocketEmitter {
        SocketEmitter {
            socket: self.clone(),
            timeout: None,
            volatile: false,
        }
    }

    /// Joins rooms.
    pub fn join(&self, rooms: impl IntoRooms) {
        if self.state() == State::Disconnected {
            return;
        }
        self.inner
            .namespace
            .adapter()
            .add_all(self.inner.id, &rooms.into_rooms());
    }

    /// Leaves a room.
    pub fn leave(&self, room: &str) {
        self.inner.namespace.adapter().del(self.inner.id, room);
    }

    /// Broadcasts to `rooms`, leaving this socket out (`socket.to`).
    pub fn to(&self, rooms: impl IntoRooms) -> BroadcastOperator {
        self.broadcast().to(rooms)
    }

    /// Same as [`Socket::to`] (`socket.in`).
    pub fn within(&self, rooms: impl IntoRooms) -> BroadcastOperator {
        self.to(rooms)
    }

    /// Broadcasts to every socket of the namespace but those in `rooms` and this one.
    pub fn except(&self, rooms: impl IntoRooms) -> BroadcastOperator {
        self.broadcast().except(rooms)
    }

    /// Broadcasts to every other socket of the namespace (`socket.broadcast`).
    pub fn broadcast(&self) -> BroadcastOperator {
        BroadcastOperator::new(self.inner.namespace.clone()).except(self.inner.id.to_string())
    }

    /// Leaves the namespace: the client gets a DISCONNECT packet and the socket's
    /// `disconnect` handlers run with "server namespace disconnect". With `close`, the
    /// whole connection closes (every namespace of this client).
    pub fn disconnect(&self, close: bool) {
        if close {
            self.inner.client.disconnect_all();
        } else {
            self.leave_namespace();
        }
    }

    /// Sends DISCONNECT for this namespace and removes the socket from its client.
    pub(crate) fn leave_namespace(&self) {
        if self.connected() {
            let packet = Packet::disconnect(self.inner.namespace.name());
            let _ = self.send_packet(&packet, false);
        }
        self.inner.client.remove_socket(self);
        self.schedule_disconnect(DisconnectReason::ServerNamespaceDisconnect);
    }

    // ----- Internals: jobs and delivery -----

    fn state(&self) -> State {
        match self.inner.state.load(Ordering::Acquire) {
            0 => State::Connecting,
            1 => State::Connected,
            2 => State::Disconnecting,
            _ => State::Disconnected,
        }
    }

    fn set_state(&self, state: State) {
        self.inner.state.store(state as u8, Ordering::Release);
    }

    /// Queues a job for the socket's handlers; `false` if the inbox is full.
    pub(crate) fn schedule(&self, job: Job) -> bool {
        let mut inbox = lock(&self.inner.inbox);
        let config = self.inner.client.config();
        let full = match &job {
            Job::Disconnect(_) => false,
            Job::Connect(_) => inbox.jobs.len() >= config.max_queued_events,
            // An event larger than the byte limit may still wait alone: one packet is
            // already bounded by the payload limit.
            Job::Event { wire_len, .. } => {
                inbox.jobs.len() >= config.max_queued_events
                    || (!inbox.jobs.is_empty()
                        && inbox.queued_bytes.saturating_add(*wire_len)
                            > config.max_queued_event_bytes)
            }
        };
        if full {
            return false;
        }
        if inbox.running {
            inbox.push(job);
        } else {
            inbox.running = true;
            drop(inbox);
            self.run_jobs_here(job);
        }
        true
    }

    /// Runs jobs on the caller's stack until they run out or one has to wait, which then
    /// goes on in a task. Most event handlers finish without waiting on anything, and
    /// then no future is boxed but the handler's own. The first job is handed over
    /// directly, so an idle socket's queue stays unallocated.
    fn run_jobs_here(&self, first: Job) {
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        let mut next = Some(first);
        while let Some(job) = next.take().or_else(|| self.next_job()) {
            let Job::Event { event, .. } = job else {
                // Connects and disconnects are once per socket: the general path.
                let mut draining = Box::pin(drain(self.clone(), Some(job)));
                if draining.as_mut().poll(&mut cx).is_pending() {
                    tokio::spawn(draining);
                }
                return;
            };
            if !self.connected() {
                continue;
            }
            let Some(mut handler) = self.start_event(event) else {
                continue;
            };
            if handler.as_mut().poll(&mut cx).is_pending() {
                let socket = self.clone();
                tokio::spawn(async move {
                    handler.await;
                    drain(socket, None).await;
                });
                return;
            }
        }
    }

    /// The next queued job; with none left, the socket stops running jobs.
    fn next_job(&self) -> Option<Job> {
        let mut inbox = lock(&self.inner.inbox);
        let job = inbox.pop();
        if job.is_none() {
            inbox.running = false;
            // An idle socket keeps no queue allocation.
            inbox.jobs = VecDeque::new();
        }
        job
    }

    /// Starts leaving: from now on the socket sends nothing, and its disconnect runs
    /// after the events already queued.
    pub(crate) fn schedule_disconnect(&self, reason: DisconnectReason) {
        {
            // Only one caller moves a live socket to Disconnecting.
            let moved =
                self.inner
                    .state
                    .fetch_update(Ordering::AcqRel, Ordering::Acquire, |state| {
                        (state == State::Connecting as u8 || state == State::Connected as u8)
                            .then_some(State::Disconnecting as u8)
                    });
            if moved.is_err() {
                return;
            }
        }
        self.inner.namespace.stop_broadcasts_to(self);
        self.schedule(Job::Disconnect(reason));
    }

    /// Subscribes the socket's connection to its namespace's broadcast log, if it can:
    /// connected, no outgoing listeners, and a connection that reads no other log.
    pub(crate) fn start_reading_log(&self, log: &Arc<tidings_engine::FrameLog>) -> bool {
        let can = self.connected()
            && !self.inner.has_outgoing_listeners.load(Ordering::Acquire)
            && self.inner.client.connection.subscribe(log);
        if can {
            self.inner.reads_log.store(true, Ordering::Release);
        }
        can
    }

    /// Ends the subscription, if this socket has it; `keep` queues what the log still
    /// held for the connection. Returns whether it had it.
    ///
    /// # Errors
    /// When what the log held does not fit in the connection's queue (the caller aborts
    /// the connection, outside its locks).
    pub(crate) fn stop_reading_log(&self, keep: bool) -> Result<bool, tidings_engine::SendError> {
        if !self.inner.reads_log.swap(false, Ordering::AcqRel) {
            return Ok(false);
        }
        let connection = &self.inner.client.connection;
        if keep {
            connection.unsubscribe()?;
        } else {
            connection.drop_subscription();
        }
        Ok(true)
    }

    /// Whether broadcasts reach this socket through the log.
    pub(crate) fn reads_log(&self) -> bool {
        self.inner.reads_log.load(Ordering::Acquire)
    }

    /// The Engine.IO connection under this socket.
    pub(crate) fn client_connection(&self) -> &tidings_engine::Connection {
        &self.inner.client.connection
    }

    /// Reads one step of what [`Socket::deliver`] will read, so that it is in the cache by
    /// then: step 0 the socket, 1 its client, 2 its session. A broadcast warms a group of
    /// recipients one step at a time: each load only follows a pointer warmed in the step
    /// before, so the loads of one step overlap instead of waiting on each other.
    pub(crate) fn warm(&self, step: u8) {
        match step {
            0 => {
                std::hint::black_box(self.inner.state.load(Ordering::Relaxed));
            }
            1 => {
                std::hint::black_box(self.inner.client.is_connected());
            }
            _ => self.inner.client.connection.warm(),
        }
    }

    /// Delivers an already encoded broadcast packet.
    pub(crate) fn deliver(&self, packet: &EncodedPacket, volatile: bool) {
        if !self.connected() {
            return;
        }
        if self.inner.has_outgoing_listeners.load(Ordering::Acquire) {
            self.call_outgoing_listeners(&packet.event, &packet.args);
        }
        let _ = self.inner.client.send(&packet.frames, volatile);
    }

    fn call_outgoing_listeners(&self, event: &str, args: &Args) {
        let listeners = read(&self.inner.handlers).list(|extras| &extras.any_outgoing);
        for listener in listeners {
            listener(self, event, args);
        }
    }

    pub(crate) fn send_packet(&self, packet: &Packet, volatile: bool) -> Result<(), EmitError> {
        let frames = self.inner.client.config().parser.encode(packet)?;
        self.inner.client.send(&frames, volatile)
    }

    pub(crate) fn send_ack(&self, id: u64, args: Args) -> Result<(), EmitError> {
        args.check()?;
        let (values, attachments) = args.into_parts();
        let packet = Packet::ack(
            self.inner.namespace.name(),
            id,
            Value::Array(values),
            attachments,
        );
        self.send_packet(&packet, false)
    }

    /// An ACK from the client; unknown ids are ignored.
    pub(crate) fn handle_ack(&self, id: u64, args: Args) {
        let sink = lock(&self.inner.acks).remove(&id);
        match sink {
            Some(AckSink::One(sender)) => {
                let _ = sender.send(args);
            }
            Some(AckSink::Broadcast(collector)) => collector.answer(args),
            None => tracing::debug!(socket = %self.inner.id, id, "ack with unknown id ignored"),
        }
    }

    /// Registers a broadcast acknowledgement under `id`; `false` if too many are pending.
    pub(crate) fn expect_broadcast_ack(&self, id: u64, collector: AckCollector) -> bool {
        let mut acks = lock(&self.inner.acks);
        if acks.len() >= self.inner.client.config().max_pending_acks {
            return false;
        }
        acks.insert(id, AckSink::Broadcast(collector));
        true
    }

    pub(crate) fn forget_ack(&self, id: u64) {
        lock(&self.inner.acks).remove(&id);
    }

    /// Runs the connection: middlewares, then the CONNECT reply, then the `connection`
    /// handlers.
    async fn run_connect(&self, missed: Option<MissedPackets>) {
        let namespace = self.inner.namespace.clone();
        let skip_middlewares = self.inner.recovered
            && self
                .inner
                .client
                .config()
                .recovery
                .as_ref()
                .is_some_and(|r| r.skip_middlewares);
        if !skip_middlewares {
            for middleware in namespace.middlewares() {
                if let Err(error) = middleware(self.clone()).await {
                    tracing::debug!(socket = %self.inner.id, %error, "connection refused by middleware");
                    let packet =
                        Packet::connect_error(namespace.name(), &error.message, error.data.clone());
                    let _ = self.send_packet(&packet, false);
                    self.inner.client.remove_socket(self);
                    namespace.adapter().del_all(self.inner.id);
                    self.set_state(State::Disconnected);
                    lock(&self.inner.inbox).clear();
                    return;
                }
            }
        }
        {
            let connected = self.inner.state.compare_exchange(
                State::Connecting as u8,
                State::Connected as u8,
                Ordering::AcqRel,
                Ordering::Acquire,
            );
            if connected.is_err() {
                // The connection closed while the middlewares ran.
                return;
            }
        }
        if let Some(missed) = missed {
            for frames in missed.frames {
                let _ = self.inner.client.send(&frames, false);
            }
        }
        let pid = self.inner.pid.map(|pid| pid.to_string());
        let parser = self.inner.client.config().parser;
        if let Ok(reply) =
            parser.encode_connect_reply(namespace.name(), self.inner.id.as_str(), pid.as_deref())
        {
            let _ = self.inner.client.send(&reply, false);
        }
        // Broadcasts reach the socket from here on: none may go before its CONNECT reply.
        namespace.insert_socket(self.clone());
        self.inner.client.mark_connected();
        for handler in namespace.connection_handlers() {
            handler(self.clone()).await;
        }
    }

    /// Runs an event's listeners and packet middlewares, and returns its handler's
    /// future, if the event has a handler and no middleware refused it.
    fn start_event(&self, mut event: Event) -> Option<handler::BoxFuture<()>> {
        let (any, middlewares, errors) = {
            let handlers = read(&self.inner.handlers);
            (
                handlers.list(|extras| &extras.any),
                handlers.list(|extras| &extras.middlewares),
                handlers.list(|extras| &extras.errors),
            )
        };
        for listener in &any {
            listener(self, event.name(), event.args());
        }
        for middleware in &middlewares {
            if let Err(error) = middleware(self, &mut event) {
                for listener in &errors {
                    listener(self, &error);
                }
                return None;
            }
        }
        let handler = read(&self.inner.handlers).events.get(event.name()).cloned();
        handler.map(|handler| handler(self.clone(), event))
    }

    async fn run_disconnect(&self, reason: DisconnectReason) {
        let namespace = self.inner.namespace.clone();
        let (disconnecting, disconnect) = {
            let handlers = read(&self.inner.handlers);
            (
                handlers.list(|extras| &extras.disconnecting),
                handlers.list(|extras| &extras.disconnect),
            )
        };
        for handler in disconnecting {
            handler(self.clone(), reason).await;
        }
        if let (Some(pid), true) = (self.inner.pid, reason.is_recoverable()) {
            namespace.save_session(self.inner.id, pid, self.rooms(), self.data());
        }
        namespace.adapter().del_all(self.inner.id);
        namespace.remove_socket(self.inner.id);
        // Pending single acks fail with "disconnected" as their senders drop.
        lock(&self.inner.acks).clear();
        self.set_state(State::Disconnected);
        tracing::debug!(socket = %self.inner.id, ns = namespace.name(), %reason, "socket disconnected");
        for handler in disconnect {
            handler(self.clone(), reason).await;
        }
    }
}

/// Runs the socket's jobs in order until none is left, starting with `first` if given.
async fn drain(socket: Socket, first: Option<Job>) {
    let mut next = first;
    while let Some(job) = next.take().or_else(|| socket.next_job()) {
        match job {
            Job::Connect(missed) => socket.run_connect(missed).await,
            Job::Event { event, .. } if socket.connected() => {
                if let Some(handler) = socket.start_event(event) {
                    handler.await;
                }
            }
            Job::Event { .. } => {}
            Job::Disconnect(reason) => socket.run_disconnect(reason).await,
        }
    }
}

/// Emits to one socket with flags (`socket.timeout(…)`, `socket.volatile`).
#[derive(Debug)]
#[must_use]
pub struct SocketEmitter {
    socket: Socket,
    timeout: Option<Duration>,
    volatile: bool,
}

impl SocketEmitter {
    /// Sets the acknowledgement deadline.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Drops the event if the transport cannot take it now.
    pub fn volatile(mut self) -> Self {
        self.volatile = true;
        self
    }

    /// Sends the event.
    ///
    /// # Errors
    /// As [`Socket::emit`].
    pub fn emit(self, event: &str, args: impl Into<Args>) -> Result<(), EmitError> {
        check_event_name(event)?;
        let args = args.into();
        args.check()?;
        let socket = &self.socket;
        if !socket.connected() {
            return Err(EmitError::Disconnected);
        }
        let namespace = socket.namespace();
        if namespace.recovery_enabled() && !self.volatile {
            // With recovery on, a socket's own events are stored and numbered like
            // broadcasts to its id room, so that they can be replayed (protocol §2.10).
            let options = BroadcastOptions {
                rooms: vec![socket.id().to_string()],
                ..BroadcastOptions::default()
            };
            namespace.broadcast_event(&options, event, args)?;
            return Ok(());
        }
        if socket.inner.has_outgoing_listeners.load(Ordering::Acquire) {
            socket.call_outgoing_listeners(event, &args);
        }
        let (data, attachments) = event_data(event, &args);
        let packet = Packet::event(namespace.name(), data, attachments, None);
        socket.send_packet(&packet, self.volatile)
    }

    /// Sends the event and waits for the acknowledgement.
    ///
    /// # Errors
    /// As [`Socket::emit_with_ack`].
    pub async fn emit_with_ack(self, event: &str, args: impl Into<Args>) -> Result<Args, AckError> {
        check_event_name(event)?;
        let args = args.into();
        args.check()?;
        let socket = self.socket;
        if !socket.connected() {
            return Err(AckError::Disconnected);
        }
        let namespace = socket.namespace().clone();
        let id = namespace.next_ack_id();
        let (sender, receiver) = oneshot::channel();
        {
            let mut acks = lock(&socket.inner.acks);
            if acks.len() >= socket.inner.client.config().max_pending_acks {
                return Err(EmitError::TooManyPendingAcks.into());
            }
            acks.insert(id, AckSink::One(sender));
        }
        if socket.inner.has_outgoing_listeners.load(Ordering::Acquire) {
            socket.call_outgoing_listeners(event, &args);
        }
        let (data, attachments) = event_data(event, &args);
        let packet = Packet::event(namespace.name(), data, attachments, Some(id));
        if let Err(error) = socket.send_packet(&packet, self.volatile) {
            socket.forget_ack(id);
            return Err(error.into());
        }
        let timeout = self
            .timeout
            .unwrap_or(socket.inner.client.config().ack_timeout);
        match tokio::time::timeout(timeout, receiver).await {
            Ok(Ok(args)) => Ok(args),
            Ok(Err(_)) => Err(AckError::Disconnected),
            Err(_) => {
                socket.forget_ack(id);
                Err(AckError::Timeout)
            }
        }
    }
}

/// Room names accepted by `join`, `to`, `except` and friends.
pub trait IntoRooms {
    /// The room names.
    fn into_rooms(self) -> Vec<Room>;
}

impl IntoRooms for &str {
    fn into_rooms(self) -> Vec<Room> {
        vec![self.to_owned()]
    }
}

impl IntoRooms for String {
    fn into_rooms(self) -> Vec<Room> {
        vec![self]
    }
}

impl IntoRooms for &String {
    fn into_rooms(self) -> Vec<Room> {
        vec![self.clone()]
    }
}

impl IntoRooms for Sid {
    fn into_rooms(self) -> Vec<Room> {
        vec![self.to_string()]
    }
}

impl IntoRooms for Vec<Room> {
    fn into_rooms(self) -> Vec<Room> {
        self
    }
}

impl IntoRooms for Vec<&str> {
    fn into_rooms(self) -> Vec<Room> {
        self.into_iter().map(str::to_owned).collect()
    }
}

impl IntoRooms for &[&str] {
    fn into_rooms(self) -> Vec<Room> {
        self.iter().map(|room| (*room).to_owned()).collect()
    }
}

impl<const N: usize> IntoRooms for [&str; N] {
    fn into_rooms(self) -> Vec<Room> {
        self.iter().map(|room| (*room).to_owned()).collect()
    }
}

/// Closes a client's connection because it broke the protocol.
pub(crate) fn close_for_violation(client: &Client, why: &str) {
    tracing::debug!(sid = %client.connection.sid(), why, "protocol violation");
    client.connection.close(CloseReason::ParseError);
}
