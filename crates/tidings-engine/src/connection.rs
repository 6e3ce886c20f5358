//! A live session as the layer above sees it, and the in-order delivery of its events.

use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::SystemTime;

use bytes::Bytes;
use tidings_eio::{CloseReason, Event, Frame, Session, SessionError, Sid, Transport};
use tokio::sync::Notify;

use crate::engine::EngineInner;

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
#[derive(Debug)]
#[non_exhaustive]
pub struct RequestInfo {
    /// The handshake request's URI, query included.
    pub uri: http::Uri,
    /// The handshake request's headers.
    pub headers: http::HeaderMap,
    /// The peer's address, when the server provided it (see [`RemoteAddr`]).
    pub remote_addr: Option<SocketAddr>,
    /// When the session was opened.
    pub issued: SystemTime,
}

/// The peer address of a request, inserted as a request extension by [`serve`] (or by
/// any server that wants handshakes to know it).
///
/// [`serve`]: crate::serve
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RemoteAddr(pub SocketAddr);

/// State shared by everything that touches one session: the HTTP requests, the driver
/// task and the layer above.
pub(crate) struct Shared {
    pub(crate) sid: Sid,
    pub(crate) session: Mutex<SessionSlot>,
    /// Wakes the driver task: a frame was queued for the WebSocket, or a timer changed.
    pub(crate) wake_driver: Notify,
    /// Wakes the pending GET: its answer may be due.
    pub(crate) wake_poll: Notify,
    pub(crate) request: RequestInfo,
    pub(crate) engine: Weak<EngineInner>,
    /// A WebSocket that was just accepted for this session, waiting for the driver.
    pub(crate) pending_websocket: Mutex<Option<Box<crate::websocket::WebSocket>>>,
    /// The client asked for binary as base64 text (`b64=1`).
    pub(crate) b64: bool,
}

/// The session plus the state of event delivery, under one lock.
pub(crate) struct SessionSlot {
    pub(crate) session: Session,
    /// Whether some caller is delivering events right now: events are handed to the
    /// handler by one caller at a time, so they arrive in order.
    delivering: bool,
    /// Whether the handler was told of the connection yet.
    connected: bool,
}

impl SessionSlot {
    pub(crate) fn new(session: Session) -> Self {
        Self {
            session,
            delivering: false,
            connected: false,
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
        slot.session.send_all(frames).map_err(|error| match error {
            SessionError::QueueFull => SendError::QueueFull,
            _ => SendError::Closed,
        })?;
        let transport = slot.session.transport();
        let poll_pending = slot.session.has_pending_poll();
        drop(slot);
        self.wake_for(transport, poll_pending);
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
        // A handler that panicked must not wedge the session for everybody else.
        self.shared
            .session
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Applies `change` under the lock, then wakes whoever may have work and delivers
    /// the events it produced.
    pub(crate) fn update<T>(
        &self,
        change: impl FnOnce(&mut Session, std::time::Instant) -> T,
    ) -> T {
        let now = crate::clock::now();
        let result = change(&mut self.lock().session, now);
        self.wake();
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
                    engine.remove(self.shared.sid);
                    engine.handler.on_close(self, reason);
                }
                _ => {}
            }
            slot = self.lock();
        }
        slot.delivering = false;
    }
}
