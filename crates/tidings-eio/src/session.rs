//! The Engine.IO session state machine: handshake, heartbeat, polling rules, upgrade and
//! close (protocol §1.3–§1.8, §1.12).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::error::SessionError;
use crate::handshake::OpenPacket;
use crate::packet::{Frame, Packet, PacketType};
use crate::payload;
use crate::sid::Sid;

/// Settings of one session; [`Default`] holds the reference server's defaults.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SessionConfig {
    /// Server ping period (`pingInterval`, 25 s).
    pub ping_interval: Duration,
    /// How long to wait for the pong (`pingTimeout`, 20 s).
    pub ping_timeout: Duration,
    /// How long an upgrade may take from the WebSocket request to `5` (`upgradeTimeout`, 10 s).
    pub upgrade_timeout: Duration,
    /// The largest POST body or WebSocket message (`maxHttpBufferSize`, 1 MB).
    pub max_payload: u64,
    /// Whether polling sessions may upgrade to WebSocket (`allowUpgrades`, true).
    pub allow_upgrades: bool,
    /// How many frames may wait for the transport; [`Session::send`] refuses more.
    pub max_queued_frames: usize,
    /// How long a closing polling session waits for a GET to carry its close packet (30 s).
    pub close_timeout: Duration,
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            ping_interval: Duration::from_millis(25_000),
            ping_timeout: Duration::from_millis(20_000),
            upgrade_timeout: Duration::from_millis(10_000),
            max_payload: 1_000_000,
            allow_upgrades: true,
            max_queued_frames: 4096,
            close_timeout: Duration::from_millis(30_000),
        }
    }
}

/// The settings a session keeps, compact: idle sessions are many, so each byte counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Limits {
    ping_interval_ms: u32,
    ping_timeout_ms: u32,
    upgrade_timeout_ms: u32,
    close_timeout_ms: u32,
    max_queued_frames: u32,
    allow_upgrades: bool,
}

impl Limits {
    fn new(config: &SessionConfig) -> Self {
        let millis = |duration: Duration| u32::try_from(duration.as_millis()).unwrap_or(u32::MAX);
        Self {
            ping_interval_ms: millis(config.ping_interval),
            ping_timeout_ms: millis(config.ping_timeout),
            upgrade_timeout_ms: millis(config.upgrade_timeout),
            close_timeout_ms: millis(config.close_timeout),
            max_queued_frames: u32::try_from(config.max_queued_frames).unwrap_or(u32::MAX),
            allow_upgrades: config.allow_upgrades,
        }
    }

    fn ping_interval(self) -> Duration {
        Duration::from_millis(self.ping_interval_ms.into())
    }

    fn ping_timeout(self) -> Duration {
        Duration::from_millis(self.ping_timeout_ms.into())
    }

    fn max_queued_frames(self) -> usize {
        usize::try_from(self.max_queued_frames).unwrap_or(usize::MAX)
    }
}

/// The two transports of Engine.IO v4.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Transport {
    /// HTTP long-polling.
    Polling,
    /// WebSocket.
    WebSocket,
}

impl Transport {
    /// The name used in the `transport` query parameter.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Polling => "polling",
            Self::WebSocket => "websocket",
        }
    }

    /// Parses the `transport` query parameter (exact, case-sensitive).
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "polling" => Some(Self::Polling),
            "websocket" => Some(Self::WebSocket),
            _ => None,
        }
    }
}

/// Why a session closed, with the reference server's reason strings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CloseReason {
    /// The client closed the transport or sent a `1` packet.
    TransportClose,
    /// The transport failed, or the client broke a transport rule.
    TransportError,
    /// No pong arrived within `pingTimeout`.
    PingTimeout,
    /// The client sent a packet that could not be decoded.
    ParseError,
    /// The server closed the session.
    ServerClose,
    /// The application closed the session (Socket.IO's `disconnect(true)`).
    ForcedClose,
}

impl CloseReason {
    /// The reason string the reference server reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TransportClose => "transport close",
            Self::TransportError => "transport error",
            Self::PingTimeout => "ping timeout",
            Self::ParseError => "parse error",
            Self::ServerClose => "server close",
            Self::ForcedClose => "forced close",
        }
    }
}

/// What the session reports to the layer above, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A text message from the client.
    Message(String),
    /// A binary message from the client.
    Binary(Bytes),
    /// The session moved from polling to WebSocket.
    Upgraded,
    /// The session is closed; it is the last event.
    Closed(CloseReason),
}

/// What the session wants written on its WebSocket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WsOutput {
    /// Send this frame.
    Frame(Frame),
    /// Send a close frame and drop the connection.
    Close,
}

/// Which transport carries the session's packets (state is an enum: the rules are arms).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Carrier {
    /// Polling only.
    Polling,
    /// Polling carries packets while a WebSocket is being probed.
    Upgrading { probed: bool, deadline: Instant },
    /// WebSocket carries packets; polling requests are refused.
    WebSocket,
}

/// What a probing WebSocket is owed, in order: at most the probe answer, then a close.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ProbeOutput {
    Nothing,
    Pong,
    Close,
    PongThenClose,
}

/// The heartbeat: the server pings, the client must pong (v4, protocol §1.7).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Heartbeat {
    /// The next ping is due at this time.
    Idle { next_ping: Instant },
    /// A ping was queued; a pong must arrive before `deadline`. `extended` records the one
    /// extension that other traffic may grant (engine.io ≥ 6.6.11).
    AwaitingPong { deadline: Instant, extended: bool },
}

/// The session's life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Lifecycle {
    Open,
    /// A server close that flushes first: polling waits for a GET (until `deadline`) to
    /// carry the queued frames and a close packet; WebSocket sends them then a close frame.
    Closing {
        reason: CloseReason,
        deadline: Instant,
    },
    /// Closed; `answer` is the body still owed to a pending GET, if one is pending.
    Closed {
        reason: CloseReason,
        answer: PacketType,
    },
}

/// Whether a polling request of each kind is open.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Slot {
    Free,
    Busy,
}

/// Frames a queue makes room for when it starts from empty.
const OUTBOX_FIRST_CAPACITY: usize = 8;

/// One Engine.IO session, without IO and without a clock.
///
/// # Call contract
/// One owner drives a session with `&mut self` and passes a monotonic `now` into every
/// call that may start or check a timer.
///
/// - **Inputs** (`handle_*`): [`Session::handle_poll_request`] when a GET arrives (and
///   [`Session::handle_poll_aborted`] if its client goes away before it is answered);
///   [`Session::handle_post_start`] then [`Session::handle_post`] for a POST;
///   [`Session::handle_upgrade_request`] when a WebSocket arrives with this sid, then
///   [`Session::handle_websocket_packet`] for each of its frames and
///   [`Session::handle_websocket_closed`] when it ends; [`Session::handle_timeout`] when
///   the deadline of [`Session::poll_timeout`] passes.
/// - **Mutators:** [`Session::send`] queues a frame; [`Session::close`] starts a server close.
/// - **Outputs** (`poll_*`), drained after every input or mutator:
///   [`Session::poll_polling_response`] (the body for the pending GET, when it is due),
///   [`Session::poll_websocket`] (frames for the WebSocket), [`Session::poll_event`]
///   (messages and lifecycle for the layer above), then [`Session::poll_timeout`].
#[derive(Debug)]
// In this order: what queueing a frame reads and writes comes first, so that a broadcast
// touches as few cache lines of each of its thousands of sessions as possible.
#[repr(C)]
pub struct Session {
    get: Slot,
    post: Slot,
    /// What a WebSocket that is still being probed is owed (`3probe`, then maybe a close).
    probe_output: ProbeOutput,
    /// Whether the close frame owed to the carrying WebSocket was handed out.
    websocket_close_sent: bool,
    limits: Limits,
    /// Frames waiting for the carrier.
    outbox: VecDeque<Frame>,
    lifecycle: Lifecycle,
    carrier: Carrier,
    heartbeat: Heartbeat,
    events: VecDeque<Event>,
    sid: Sid,
}

impl Session {
    /// Opens a session on `transport` and queues the open packet as its first frame.
    pub fn new(sid: Sid, config: &SessionConfig, transport: Transport, now: Instant) -> Self {
        let open = OpenPacket {
            sid,
            upgrade_to_websocket: transport == Transport::Polling && config.allow_upgrades,
            ping_interval: config.ping_interval,
            ping_timeout: config.ping_timeout,
            max_payload: config.max_payload,
        };
        let mut outbox = VecDeque::new();
        outbox.push_back(Frame::Text(Bytes::from(open.encode())));
        Self {
            sid,
            carrier: match transport {
                Transport::Polling => Carrier::Polling,
                Transport::WebSocket => Carrier::WebSocket,
            },
            // The ping timer starts at the handshake, not at the first flush (protocol §1.7).
            heartbeat: Heartbeat::Idle {
                next_ping: now + config.ping_interval,
            },
            lifecycle: Lifecycle::Open,
            get: Slot::Free,
            post: Slot::Free,
            outbox,
            probe_output: ProbeOutput::Nothing,
            websocket_close_sent: false,
            events: VecDeque::new(),
            limits: Limits::new(config),
        }
    }

    /// The session id.
    pub fn sid(&self) -> Sid {
        self.sid
    }

    /// The longest a client may go silent without being closed: one ping interval plus
    /// the ping timeout.
    pub fn heartbeat_window(&self) -> Duration {
        self.limits.ping_interval() + self.limits.ping_timeout()
    }

    /// The transport that carries packets now (polling until an upgrade completes).
    pub fn transport(&self) -> Transport {
        match self.carrier {
            Carrier::Polling | Carrier::Upgrading { .. } => Transport::Polling,
            Carrier::WebSocket => Transport::WebSocket,
        }
    }

    /// Whether the session is closed: it takes no input and only owes final outputs.
    pub fn is_closed(&self) -> bool {
        matches!(self.lifecycle, Lifecycle::Closed { .. })
    }

    /// Whether the session is open (not closing and not closed).
    pub fn is_open(&self) -> bool {
        self.lifecycle == Lifecycle::Open
    }

    /// Whether a frame sent now goes out at once: a GET is pending (polling) or nothing
    /// waits in the queue (WebSocket). Socket.IO drops volatile packets otherwise.
    pub fn is_writable(&self) -> bool {
        self.is_open()
            && match self.carrier {
                Carrier::Polling | Carrier::Upgrading { .. } => self.get == Slot::Busy,
                Carrier::WebSocket => self.outbox.is_empty(),
            }
    }

    /// Whether a GET is waiting for its answer.
    pub fn has_pending_poll(&self) -> bool {
        self.get == Slot::Busy
    }

    /// How many frames wait for the transport.
    pub fn queued_frames(&self) -> usize {
        self.outbox.len()
    }

    /// Queues a frame for the client.
    ///
    /// # Errors
    /// [`SessionError::Closed`] once the session is closing or closed;
    /// [`SessionError::QueueFull`] when `max_queued_frames` frames already wait (the frame
    /// is dropped and the session stays open: the layer above decides what follows).
    pub fn send(&mut self, frame: Frame) -> Result<(), SessionError> {
        if !self.is_open() {
            return Err(SessionError::Closed);
        }
        if self.outbox.len() >= self.limits.max_queued_frames() {
            return Err(SessionError::QueueFull);
        }
        self.outbox.push_back(frame);
        Ok(())
    }

    /// Queues several frames that must stay together (a packet and its attachments):
    /// either all are queued, in order, or none is.
    ///
    /// # Errors
    /// As [`Session::send`], checked for the whole group.
    pub fn send_all(&mut self, frames: &[Frame]) -> Result<(), SessionError> {
        if !self.is_open() {
            return Err(SessionError::Closed);
        }
        if self.outbox.len() + frames.len() > self.limits.max_queued_frames() {
            return Err(SessionError::QueueFull);
        }
        if self.outbox.capacity() == 0 {
            // A drained queue keeps no allocation; room for a small burst at once saves
            // the first regrowths.
            self.outbox.reserve(frames.len().max(OUTBOX_FIRST_CAPACITY));
        }
        self.outbox.extend(frames.iter().cloned());
        Ok(())
    }

    /// Starts a server-side close. Queued frames are still delivered, then a close packet:
    /// over polling, a pending GET with nothing queued is answered `1` at once; otherwise
    /// the queue drains and the next GET gets `6\x1e1` (waiting at most `close_timeout`).
    /// Over WebSocket the queue drains, then a close frame. Does nothing if the session is
    /// already closing or closed.
    pub fn close(&mut self, reason: CloseReason, now: Instant) {
        if self.is_open() {
            if let Carrier::Upgrading { .. } = self.carrier {
                self.abort_upgrade();
            }
            if self.carrier != Carrier::WebSocket
                && self.get == Slot::Busy
                && self.outbox.is_empty()
            {
                self.close_now(reason, PacketType::Close);
                return;
            }
            self.lifecycle = Lifecycle::Closing {
                reason,
                deadline: now + Duration::from_millis(self.limits.close_timeout_ms.into()),
            };
        }
    }

    /// Closes at once, without flushing: queued frames are dropped, a pending GET is
    /// answered with a close packet, and a WebSocket gets a close frame. For clients that
    /// must not cost anything more (a full queue, a flood).
    pub fn abort(&mut self, reason: CloseReason) {
        self.close_now(reason, PacketType::Close);
    }

    /// A GET arrived for this session.
    ///
    /// # Errors
    /// [`SessionError::Closed`] if the session is closed; [`SessionError::TransportMismatch`]
    /// once it runs on WebSocket; [`SessionError::PollOverlap`] if a GET is already
    /// pending, which closes the session (the pending GET is answered with a close packet).
    pub fn handle_poll_request(&mut self, _now: Instant) -> Result<(), SessionError> {
        match self.lifecycle {
            Lifecycle::Closed { .. } => return Err(SessionError::Closed),
            Lifecycle::Open | Lifecycle::Closing { .. } => {}
        }
        if self.carrier == Carrier::WebSocket {
            return Err(SessionError::TransportMismatch);
        }
        if self.get == Slot::Busy {
            self.close_now(CloseReason::TransportError, PacketType::Close);
            return Err(SessionError::PollOverlap);
        }
        self.get = Slot::Busy;
        Ok(())
    }

    /// The client of the pending GET went away before it was answered: the session closes
    /// ("poll connection closed prematurely" in the reference).
    pub fn handle_poll_aborted(&mut self) {
        if self.get == Slot::Busy {
            self.get = Slot::Free;
            self.close_now(CloseReason::TransportError, PacketType::Close);
        }
    }

    /// A POST arrived; its body is still to be read.
    ///
    /// # Errors
    /// [`SessionError::Closed`] unless the session is open;
    /// [`SessionError::TransportMismatch`] once it runs on WebSocket;
    /// [`SessionError::PostOverlap`] if another POST is in flight, which closes the session.
    pub fn handle_post_start(&mut self) -> Result<(), SessionError> {
        if !self.is_open() {
            return Err(SessionError::Closed);
        }
        if self.carrier == Carrier::WebSocket {
            return Err(SessionError::TransportMismatch);
        }
        if self.post == Slot::Busy {
            self.close_now(CloseReason::TransportError, PacketType::Close);
            return Err(SessionError::PostOverlap);
        }
        self.post = Slot::Busy;
        Ok(())
    }

    /// The body of the POST in flight; its packets are handled in order.
    ///
    /// # Errors
    /// [`SessionError::Decode`] when the body is not a valid payload: the session closes
    /// with [`CloseReason::ParseError`].
    pub fn handle_post(&mut self, body: &[u8], now: Instant) -> Result<(), SessionError> {
        self.post = Slot::Free;
        if !self.is_open() {
            return Err(SessionError::Closed);
        }
        let packets = match payload::decode(body) {
            Ok(packets) => packets,
            Err(error) => {
                self.close_now(CloseReason::ParseError, PacketType::Close);
                return Err(error.into());
            }
        };
        for packet in packets {
            if !self.is_open() {
                break;
            }
            self.handle_carrier_packet(packet, now);
        }
        Ok(())
    }

    /// The POST in flight ended without a usable body (too large, or its client went
    /// away); the session stays open, as in the reference.
    pub fn handle_post_failed(&mut self) {
        self.post = Slot::Free;
    }

    /// A WebSocket request carries this sid: it starts an upgrade.
    ///
    /// # Errors
    /// [`SessionError::Closed`] unless the session is open; [`SessionError::UpgradeRefused`]
    /// when upgrades are off; [`SessionError::TransportMismatch`] when the session already
    /// upgrades or runs on WebSocket (a second WebSocket is refused). None closes the session.
    pub fn handle_upgrade_request(&mut self, now: Instant) -> Result<(), SessionError> {
        if !self.is_open() {
            return Err(SessionError::Closed);
        }
        if !self.limits.allow_upgrades {
            return Err(SessionError::UpgradeRefused);
        }
        if self.carrier != Carrier::Polling {
            return Err(SessionError::TransportMismatch);
        }
        self.carrier = Carrier::Upgrading {
            probed: false,
            deadline: now + Duration::from_millis(self.limits.upgrade_timeout_ms.into()),
        };
        self.probe_output = ProbeOutput::Nothing;
        self.websocket_close_sent = false;
        Ok(())
    }

    /// A packet arrived on the session's WebSocket (probing or carrying).
    pub fn handle_websocket_packet(&mut self, packet: Packet, now: Instant) {
        match self.carrier {
            Carrier::Upgrading { deadline, .. } => match packet {
                Packet::Ping(data) if data == "probe" => {
                    self.probe_output = ProbeOutput::Pong;
                    self.carrier = Carrier::Upgrading {
                        probed: true,
                        deadline,
                    };
                }
                // The reference completes the upgrade on `5` whether or not it was probed.
                Packet::Upgrade if self.is_open() => {
                    self.carrier = Carrier::WebSocket;
                    self.events.push_back(Event::Upgraded);
                }
                // Anything else on the probing transport aborts the upgrade (§1.6).
                _ => self.abort_upgrade(),
            },
            Carrier::WebSocket => self.handle_carrier_packet(packet, now),
            Carrier::Polling => {}
        }
    }

    /// The session's WebSocket ended (`error`: it failed rather than closed cleanly).
    /// A probing WebSocket only aborts the upgrade; a carrying one closes the session.
    pub fn handle_websocket_closed(&mut self, error: bool) {
        match self.carrier {
            Carrier::Upgrading { .. } => {
                self.carrier = Carrier::Polling;
                self.probe_output = ProbeOutput::Nothing;
            }
            Carrier::WebSocket => {
                let reason = if error {
                    CloseReason::TransportError
                } else {
                    CloseReason::TransportClose
                };
                self.websocket_close_sent = true;
                self.close_now(reason, PacketType::Close);
            }
            Carrier::Polling => {}
        }
    }

    /// The transport delivered something that is not a packet: a WebSocket text frame
    /// that does not decode, or a binary POST. On the carrying transport the session
    /// closes with [`CloseReason::ParseError`]; on a probing WebSocket the upgrade aborts.
    pub fn handle_parse_error(&mut self, transport: Transport) {
        match (transport, self.carrier) {
            (Transport::WebSocket, Carrier::Upgrading { .. }) => self.abort_upgrade(),
            (Transport::WebSocket, Carrier::Polling) => {}
            _ => self.close_now(CloseReason::ParseError, PacketType::Close),
        }
    }

    /// Runs the timers that are due at `now`: the heartbeat, the upgrade and close deadlines.
    pub fn handle_timeout(&mut self, now: Instant) {
        if let Lifecycle::Closing { reason, deadline } = self.lifecycle {
            if now >= deadline {
                self.close_now(reason, PacketType::Close);
            }
            return;
        }
        if !self.is_open() {
            return;
        }
        if let Carrier::Upgrading { deadline, .. } = self.carrier
            && now >= deadline
        {
            self.abort_upgrade();
        }
        match self.heartbeat {
            Heartbeat::Idle { next_ping } if now >= next_ping => {
                // The ping timeout starts when the ping is queued, even if no GET is
                // pending to carry it (§1.7).
                self.outbox.push_back(Frame::bare(PacketType::Ping));
                self.heartbeat = Heartbeat::AwaitingPong {
                    deadline: now + self.limits.ping_timeout(),
                    extended: false,
                };
            }
            Heartbeat::AwaitingPong { deadline, .. } if now >= deadline => {
                self.close_now(CloseReason::PingTimeout, PacketType::Close);
            }
            Heartbeat::Idle { .. } | Heartbeat::AwaitingPong { .. } => {}
        }
    }

    /// The next time [`Session::handle_timeout`] must run, if any.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let heartbeat = match self.heartbeat {
            Heartbeat::Idle { next_ping } => next_ping,
            Heartbeat::AwaitingPong { deadline, .. } => deadline,
        };
        match self.lifecycle {
            Lifecycle::Closed { .. } => None,
            Lifecycle::Closing { deadline, .. } => Some(deadline),
            Lifecycle::Open => Some(match self.carrier {
                Carrier::Upgrading { deadline, .. } => heartbeat.min(deadline),
                Carrier::Polling | Carrier::WebSocket => heartbeat,
            }),
        }
    }

    /// Whether [`Session::poll_polling_response`] has a body for the pending GET now: the
    /// caller wakes the waiting GET only then.
    pub fn has_polling_response(&self) -> bool {
        if self.get != Slot::Busy {
            return false;
        }
        match self.lifecycle {
            Lifecycle::Closed { .. } | Lifecycle::Closing { .. } => true,
            Lifecycle::Open => match self.carrier {
                Carrier::Polling => !self.outbox.is_empty(),
                Carrier::Upgrading { probed, .. } => probed || !self.outbox.is_empty(),
                Carrier::WebSocket => true,
            },
        }
    }

    /// The body owed to the pending GET, if it is due now; `None` while it must wait.
    ///
    /// Everything queued goes out in one payload (batching, §1.4). A closing session adds
    /// its close packet (`6\x1e1` when nothing else was queued); a session being upgraded
    /// or closed answers `6` or `1` so the client's poll ends.
    pub fn poll_polling_response(&mut self) -> Option<Bytes> {
        if !self.has_polling_response() {
            return None;
        }
        let body = match self.lifecycle {
            Lifecycle::Closed { answer, .. } => Bytes::copy_from_slice(&[answer.as_char()]),
            // Queued frames drain first; the GET after that carries the close (§1.8).
            Lifecycle::Closing { .. } if !self.outbox.is_empty() => {
                let body = payload::encode_to_bytes(&self.outbox);
                self.outbox.clear();
                body
            }
            Lifecycle::Closing { reason, .. } => {
                self.close_now(reason, PacketType::Close);
                Bytes::from_static(b"6\x1e1")
            }
            Lifecycle::Open => {
                let upgrading = match self.carrier {
                    Carrier::Upgrading { probed, .. } => probed,
                    Carrier::WebSocket => true,
                    Carrier::Polling => false,
                };
                if !self.outbox.is_empty() && self.carrier != Carrier::WebSocket {
                    let body = payload::encode_to_bytes(&self.outbox);
                    self.outbox = VecDeque::new();
                    body
                } else if upgrading {
                    // Ends the poll so that the client can complete the upgrade (§1.6).
                    Bytes::from_static(b"6")
                } else {
                    // Not reached: `has_polling_response` checked the same.
                    return None;
                }
            }
        };
        self.get = Slot::Free;
        Some(body)
    }

    /// The next output for the session's WebSocket, if any.
    pub fn poll_websocket(&mut self) -> Option<WsOutput> {
        let (output, rest) = match self.probe_output {
            ProbeOutput::Nothing => (None, ProbeOutput::Nothing),
            ProbeOutput::Pong => (
                Some(WsOutput::Frame(Frame::pong_probe())),
                ProbeOutput::Nothing,
            ),
            ProbeOutput::Close => (Some(WsOutput::Close), ProbeOutput::Nothing),
            ProbeOutput::PongThenClose => (
                Some(WsOutput::Frame(Frame::pong_probe())),
                ProbeOutput::Close,
            ),
        };
        self.probe_output = rest;
        if output.is_some() {
            return output;
        }
        if self.carrier != Carrier::WebSocket {
            return None;
        }
        if let Some(frame) = self.outbox.pop_front() {
            if self.outbox.is_empty() {
                // An idle session keeps no queue allocation.
                self.outbox = VecDeque::new();
            }
            return Some(WsOutput::Frame(frame));
        }
        match self.lifecycle {
            Lifecycle::Open => None,
            Lifecycle::Closing { reason, .. } => {
                self.close_now(reason, PacketType::Close);
                self.websocket_close_sent = true;
                Some(WsOutput::Close)
            }
            Lifecycle::Closed { .. } if !self.websocket_close_sent => {
                self.websocket_close_sent = true;
                Some(WsOutput::Close)
            }
            Lifecycle::Closed { .. } => None,
        }
    }

    /// The next event for the layer above, if any.
    pub fn poll_event(&mut self) -> Option<Event> {
        let event = self.events.pop_front();
        if event.is_some() && self.events.is_empty() {
            // An idle session keeps no queue allocation.
            self.events = VecDeque::new();
        }
        event
    }

    /// Handles a packet that arrived on the carrying transport.
    fn handle_carrier_packet(&mut self, packet: Packet, now: Instant) {
        match packet {
            Packet::Close => {
                // A polling client that closes gets its pending GET answered with a noop.
                self.close_now(CloseReason::TransportClose, PacketType::Noop);
            }
            Packet::Ping(_) => {
                // v4 clients never ping (the probe only travels on a new WebSocket).
                self.close_now(CloseReason::TransportError, PacketType::Close);
            }
            Packet::Pong(_) => {
                if let Heartbeat::AwaitingPong { .. } = self.heartbeat {
                    self.heartbeat = Heartbeat::Idle {
                        next_ping: now + self.limits.ping_interval(),
                    };
                }
            }
            Packet::Message(text) => {
                self.extend_pong_deadline(now);
                self.events.push_back(Event::Message(text));
            }
            Packet::Binary(data) => {
                self.extend_pong_deadline(now);
                self.events.push_back(Event::Binary(data));
            }
            Packet::Open | Packet::Upgrade | Packet::Noop => {}
        }
    }

    /// Traffic while a pong is due pushes the deadline back once: a pong may be queued
    /// behind a large upload (engine.io ≥ 6.6.11).
    fn extend_pong_deadline(&mut self, now: Instant) {
        if let Heartbeat::AwaitingPong {
            extended: false, ..
        } = self.heartbeat
        {
            self.heartbeat = Heartbeat::AwaitingPong {
                deadline: now + self.limits.ping_timeout(),
                extended: true,
            };
        }
    }

    fn abort_upgrade(&mut self) {
        self.carrier = Carrier::Polling;
        // A pong already owed still goes first; anything else is dropped for the close.
        self.probe_output = match self.probe_output {
            ProbeOutput::Pong | ProbeOutput::PongThenClose => ProbeOutput::PongThenClose,
            ProbeOutput::Nothing | ProbeOutput::Close => ProbeOutput::Close,
        };
    }

    /// Closes at once: queued frames are dropped, and a pending GET is answered `answer`.
    fn close_now(&mut self, reason: CloseReason, answer: PacketType) {
        if self.is_closed() {
            return;
        }
        if let Carrier::Upgrading { .. } = self.carrier {
            self.abort_upgrade();
        }
        self.lifecycle = Lifecycle::Closed { reason, answer };
        self.outbox = VecDeque::new();
        self.events.push_back(Event::Closed(reason));
    }
}
