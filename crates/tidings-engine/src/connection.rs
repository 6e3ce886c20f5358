//! A live session as the layer above sees it, and the in-order delivery of its events.

use std::any::Any;
use std::fmt;
use std::net::SocketAddr;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};
use std::time::SystemTime;

use bytes::Bytes;
use tidings_eio::{CloseReason, Event, Frame, Session, SessionError, Sid, Transport};
use tokio::sync::Notify;

use crate::engine::EngineInner;
use crate::log::{FrameLog, Lagged};

/// Why a frame could not be queued.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SendError {
    /// The session is closing or closed.
    #[error("session is closed")]
    Closed,
    /// The session's outgoing queue is full: the client does not read fast enough.
    #[error("outgoing queue is full")]
    QueueFull,
}

/// What the engine keeps of the request that opened a session.
///
/// The headers are kept as one compact block of bytes and turned into a `HeaderMap` the
/// first time they are asked for, so that idle sessions of applications that never look
/// at them stay small.
#[derive(Debug)]
pub struct RequestInfo {
    /// The path and query, as received.
    target: Box<str>,
    /// `name: value\r\n` lines.
    raw_headers: Box<[u8]>,
    headers: OnceLock<Box<http::HeaderMap>>,
    remote_addr: Option<SocketAddr>,
    issued: SystemTime,
}

impl RequestInfo {
    pub(crate) fn new(
        uri: &http::Uri,
        headers: &http::HeaderMap,
        remote_addr: Option<SocketAddr>,
        issued: SystemTime,
    ) -> Self {
        let mut raw = Vec::with_capacity(
            headers
                .iter()
                .map(|(name, value)| name.as_str().len() + value.len() + 4)
                .sum(),
        );
        for (name, value) in headers {
            raw.extend_from_slice(name.as_str().as_bytes());
            raw.extend_from_slice(b": ");
            raw.extend_from_slice(value.as_bytes());
            raw.extend_from_slice(b"\r\n");
        }
        let target = uri
            .path_and_query()
            .map_or_else(|| uri.path(), |pq| pq.as_str());
        Self {
            target: target.into(),
            raw_headers: raw.into_boxed_slice(),
            headers: OnceLock::new(),
            remote_addr,
            issued,
        }
    }

    /// The handshake request's path and query (`/socket.io/?EIO=4&transport=…`).
    pub fn target(&self) -> &str {
        &self.target
    }

    /// The handshake request's query string, without the `?`.
    pub fn query(&self) -> &str {
        self.target.split_once('?').map_or("", |(_, query)| query)
    }

    /// The handshake request's headers.
    pub fn headers(&self) -> &http::HeaderMap {
        self.headers.get_or_init(|| {
            let mut map = Box::new(http::HeaderMap::new());
            for line in self.raw_headers.split(|&byte| byte == b'\n') {
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                let Some(colon) = line.iter().position(|&byte| byte == b':') else {
                    continue;
                };
                let (name, value) = (&line[..colon], line.get(colon + 2..).unwrap_or_default());
                if let (Ok(name), Ok(value)) = (
                    http::HeaderName::from_bytes(name),
                    http::HeaderValue::from_bytes(value),
                ) {
                    map.append(name, value);
                }
            }
            map
        })
    }

    /// The peer's address, when the server provided it (see [`RemoteAddr`]).
    pub fn remote_addr(&self) -> Option<SocketAddr> {
        self.remote_addr
    }

    /// When the session was opened.
    pub fn issued(&self) -> SystemTime {
        self.issued
    }
}

/// The peer address of a request, inserted as a request extension by [`serve`] (or by
/// any server that wants handshakes to know it).
///
/// [`serve`]: crate::serve
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RemoteAddr(pub SocketAddr);

/// State shared by everything that touches one session: the HTTP requests, the driver
/// task and the layer above.
// `b64` then the session's lock and state first: see `Session`'s layout and
// `Connection::warm`.
#[repr(C)]
pub(crate) struct Shared {
    /// The client asked for binary as base64 text (`b64=1`).
    pub(crate) b64: bool,
    pub(crate) session: Mutex<SessionSlot>,
    pub(crate) sid: Sid,
    /// Wakes the driver task: a frame was queued for the WebSocket, or a timer changed.
    pub(crate) wake_driver: Notify,
    /// Whether the driver is listed to be woken by its log's next append.
    pub(crate) log_waiting: AtomicBool,
    /// Wakes the pending GET: its answer may be due.
    pub(crate) wake_poll: Notify,
    pub(crate) request: RequestInfo,
    pub(crate) engine: Weak<EngineInner>,
    /// A WebSocket that was just accepted for this session, waiting for the driver.
    pub(crate) pending_websocket: Mutex<Option<crate::websocket::PendingWebSocket>>,
    /// State of the layer above (saves it a map keyed by sid); dropped when the session
    /// closes, which also breaks the reference cycle it may form with this connection.
    pub(crate) attachment: Mutex<Option<Arc<dyn Any + Send + Sync>>>,
}

/// The session plus the state of event delivery, under one lock.
#[repr(C)]
pub(crate) struct SessionSlot {
    pub(crate) session: Session,
    /// Whether some caller is delivering events right now: events are handed to the
    /// handler by one caller at a time, so they arrive in order.
    delivering: bool,
    /// Whether the handler was told of the connection yet.
    connected: bool,
    /// The log this connection reads, if any.
    pub(crate) subscription: Option<Subscription>,
}

/// A connection's place in a [`FrameLog`].
pub(crate) struct Subscription {
    pub(crate) log: Arc<FrameLog>,
    pub(crate) cursor: u64,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.log.unsubscribe(self.cursor);
    }
}

impl SessionSlot {
    pub(crate) fn new(session: Session) -> Self {
        Self {
            session,
            delivering: false,
            connected: false,
            subscription: None,
        }
    }

    /// Moves what the log holds for this connection into the session's queue, so that a
    /// frame queued now goes out after it.
    fn catch_up(&mut self, sid: Sid) -> Result<(), SendError> {
        let Self {
            session,
            subscription: Some(subscription),
            ..
        } = self
        else {
            return Ok(());
        };
        let mut result = Ok(());
        let read = subscription
            .log
            .read(&mut subscription.cursor, sid, None, |frames| {
                if result.is_ok() {
                    result = session.send_all(frames);
                }
            });
        match (read, result) {
            (Ok(()), Ok(())) => Ok(()),
            (Err(Lagged), _) | (_, Err(SessionError::QueueFull)) => Err(SendError::QueueFull),
            (_, Err(_)) => Err(SendError::Closed),
        }
    }
}

/// A handle on one Engine.IO session. Cheap to clone.
#[derive(Clone)]
pub struct Connection {
    pub(crate) shared: Arc<Shared>,
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("sid", &self.shared.sid)
            .finish()
    }
}

impl Connection {
    /// Brings the session's lock and queue into the cache ahead of a send, without
    /// taking the lock: a broadcast calls it for a recipient a few places ahead, so that
    /// the cache misses of several recipients overlap instead of queueing up behind each
    /// send's lock instructions.
    pub fn warm(&self) {
        std::hint::black_box(self.shared.b64);
    }

    /// The session id (private to this client: Socket.IO gives sockets other ids).
    pub fn sid(&self) -> Sid {
        self.shared.sid
    }

    /// The transport that carries packets now.
    pub fn transport(&self) -> Transport {
        self.lock().session.transport()
    }

    /// The request that opened the session.
    pub fn request(&self) -> &RequestInfo {
        &self.shared.request
    }

    /// Attaches the layer above's state to this connection, replacing any earlier one.
    /// The engine drops it after `on_close`.
    pub fn attach(&self, value: Arc<dyn Any + Send + Sync>) {
        *lock(&self.shared.attachment) = Some(value);
    }

    /// The attached state, if there is one of type `T`.
    pub fn attachment<T: Any + Send + Sync>(&self) -> Option<Arc<T>> {
        lock(&self.shared.attachment).clone()?.downcast().ok()
    }

    /// Whether a frame sent now goes out at once (see [`Session::is_writable`]).
    pub fn is_writable(&self) -> bool {
        self.lock().session.is_writable()
    }

    /// Whether the session is still open.
    pub fn is_open(&self) -> bool {
        self.lock().session.is_open()
    }

    /// Queues a frame for the client.
    ///
    /// # Errors
    /// [`SendError::Closed`] once the session is closing; [`SendError::QueueFull`] when
    /// the client is too slow (the frame is dropped, the session stays open).
    pub fn send(&self, frame: Frame) -> Result<(), SendError> {
        self.send_frames(&[frame])
    }

    /// Queues frames that must stay together and in order, such as a packet and its
    /// binary attachments: all are queued or none is. Cloning a frame shares its bytes, so
    /// the same frames can be sent to many connections.
    ///
    /// # Errors
    /// As [`Connection::send`], for the whole group.
    pub fn send_frames(&self, frames: &[Frame]) -> Result<(), SendError> {
        let mut slot = self.lock();
        slot.catch_up(self.shared.sid)?;
        // Frames already waiting mean their carrier was woken already (by whoever queued
        // the first of them, or by the change that gave the session its carrier): a burst
        // of broadcasts wakes each driver once.
        let was_empty = slot.session.queued_frames() == 0;
        slot.session.send_all(frames).map_err(|error| match error {
            SessionError::QueueFull => SendError::QueueFull,
            _ => SendError::Closed,
        })?;
        let transport = slot.session.transport();
        let poll_pending = slot.session.has_pending_poll();
        drop(slot);
        if was_empty {
            self.wake_for(transport, poll_pending);
        }
        Ok(())
    }

    /// Wakes whoever carries newly queued frames: the driver for a WebSocket, the
    /// pending GET for polling (without one, the next GET takes them).
    fn wake_for(&self, transport: Transport, poll_pending: bool) {
        match transport {
            Transport::WebSocket => self.shared.wake_driver.notify_one(),
            Transport::Polling if poll_pending => self.shared.wake_poll.notify_one(),
            Transport::Polling => {}
        }
    }

    /// Makes this connection read `log` from now on (see [`FrameLog`]). Only a session
    /// carried by a WebSocket can, and only one log at a time: `false` otherwise, and
    /// frames for this connection must then be sent to it directly.
    pub fn subscribe(&self, log: &Arc<FrameLog>) -> bool {
        let mut slot = self.lock();
        if slot.subscription.is_some()
            || !slot.session.is_open()
            || slot.session.transport() != Transport::WebSocket
        {
            return false;
        }
        slot.subscription = Some(Subscription {
            log: log.clone(),
            cursor: log.subscribe(Some(&self.shared)),
        });
        true
    }

    /// Stops reading the log, after moving what it still holds for this connection into
    /// the session's queue.
    ///
    /// # Errors
    /// As [`Connection::send`], when those frames do not fit.
    pub fn unsubscribe(&self) -> Result<(), SendError> {
        let mut slot = self.lock();
        let caught_up = slot.catch_up(self.shared.sid);
        slot.subscription = None;
        let queued = slot.session.queued_frames() > 0;
        drop(slot);
        if queued {
            self.shared.wake_driver.notify_one();
        }
        caught_up
    }

    /// Stops reading the log; what it still holds for this connection is not sent.
    pub fn drop_subscription(&self) {
        self.lock().subscription = None;
    }

    /// Whether this connection reads a log.
    pub fn is_subscribed(&self) -> bool {
        self.lock().subscription.is_some()
    }

    /// Queues a text message (`4` + `text`).
    ///
    /// # Errors
    /// As [`Connection::send`].
    pub fn send_text(&self, text: &str) -> Result<(), SendError> {
        self.send(Frame::message(text))
    }

    /// Queues a binary message.
    ///
    /// # Errors
    /// As [`Connection::send`].
    pub fn send_binary(&self, data: Bytes) -> Result<(), SendError> {
        self.send(Frame::Binary(data))
    }

    /// Closes the session after flushing what is queued; the handler's `on_close` gets
    /// `reason` once the close packet went out.
    pub fn close(&self, reason: CloseReason) {
        self.update(|session, now| session.close(reason, now));
    }

    /// Closes the session at once without flushing what is queued (see
    /// [`Session::abort`]); the handler's `on_close` gets `reason`.
    pub fn abort(&self, reason: CloseReason) {
        self.update(|session, _| session.abort(reason));
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, SessionSlot> {
        lock(&self.shared.session)
    }

    /// Applies `change` under the lock, then wakes whoever may have work and delivers
    /// the events it produced.
    pub(crate) fn update<T>(
        &self,
        change: impl FnOnce(&mut Session, std::time::Instant) -> T,
    ) -> T {
        let now = crate::clock::now();
        let (result, wake_driver, wake_poll) = {
            let mut slot = self.lock();
            let before = slot.session.poll_timeout();
            let result = change(&mut slot.session, now);
            // The driver writes a WebSocket's frames and keeps the timers: a session on
            // polling needs it only when a deadline came closer or the session closed,
            // which spares it a wake-up per HTTP request.
            let after = slot.session.poll_timeout();
            let closer = match (before, after) {
                (Some(before), Some(after)) => after < before,
                (None, Some(_)) => true,
                (_, None) => false,
            };
            let wake_driver = closer
                || slot.session.is_closed()
                || slot.session.transport() == Transport::WebSocket;
            // Likewise the pending GET only when its answer is due.
            (result, wake_driver, slot.session.has_polling_response())
        };
        if wake_driver {
            self.shared.wake_driver.notify_one();
        }
        if wake_poll {
            self.shared.wake_poll.notify_one();
        }
        self.deliver_events();
        result
    }

    pub(crate) fn wake(&self) {
        self.shared.wake_driver.notify_one();
        self.shared.wake_poll.notify_one();
    }

    /// Hands queued events to the handler, in order, from one caller at a time. Handlers
    /// run without the lock held, so they may send on this connection.
    pub(crate) fn deliver_events(&self) {
        let Some(engine) = self.shared.engine.upgrade() else {
            return;
        };
        let mut slot = self.lock();
        if slot.delivering {
            return;
        }
        slot.delivering = true;
        if !slot.connected {
            slot.connected = true;
            drop(slot);
            engine.handler.on_connect(self);
            slot = self.lock();
        }
        while let Some(event) = slot.session.poll_event() {
            drop(slot);
            match event {
                Event::Message(text) => engine.handler.on_message(self, text),
                Event::Binary(data) => engine.handler.on_binary(self, data),
                Event::Upgraded => {
                    tracing::debug!(sid = %self.shared.sid, "upgraded to websocket");
                    engine.handler.on_upgrade(self);
                }
                Event::Closed(reason) => {
                    tracing::debug!(sid = %self.shared.sid, reason = reason.as_str(), "session closed");
                    self.lock().subscription = None;
                    engine.remove(self.shared.sid);
                    engine.handler.on_close(self, reason);
                    lock(&self.shared.attachment).take();
                }
                _ => {}
            }
            slot = self.lock();
        }
        slot.delivering = false;
    }
}

/// Locks a mutex, taking it even if a panicking holder poisoned it: a handler that
/// panicked must not wedge the session for everybody else, and the state behind these
/// locks stays consistent between statements.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_headers_survive_the_compact_form() {
        let mut headers = http::HeaderMap::new();
        headers.insert("user-agent", "test/1.0".parse().unwrap());
        headers.append("x-many", "a".parse().unwrap());
        headers.append("x-many", "b: c".parse().unwrap());
        headers.insert("x-empty", "".parse().unwrap());
        let uri: http::Uri = "/engine.io/?EIO=4&transport=polling&token=x"
            .parse()
            .unwrap();
        let info = RequestInfo::new(&uri, &headers, None, SystemTime::UNIX_EPOCH);
        assert_eq!(info.headers(), &headers);
        assert_eq!(info.target(), "/engine.io/?EIO=4&transport=polling&token=x");
        assert_eq!(info.query(), "EIO=4&transport=polling&token=x");
    }
}
