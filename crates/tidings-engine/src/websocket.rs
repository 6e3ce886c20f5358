//! The WebSocket transport and the per-session driver task (protocol §1.5, §1.6).
//!
//! The wire format is `ws_codec`'s; this module is the IO around it. A connection holds no
//! buffer while idle: reads go through a stack buffer and only a partial frame is kept,
//! and the frames owed to the client are written in one `write` per wake-up.

use std::cell::RefCell;
use std::future::poll_fn;
use std::io;
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::header::{self, HeaderMap, HeaderValue};
use http::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tidings_eio::{ErrorCode, Frame, Packet, SessionError, Transport, WsOutput};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};

use crate::ws_codec::{self, Incoming, Outgoing, Reader, WsError};

use crate::connection::{Connection, lock};
use crate::engine::{EngineInner, Query};
use crate::response::{self, ResponseBody};
use crate::serve::{HoldUpgradeResponse, ServedStream};

/// Whether a request asks for a WebSocket upgrade.
pub(crate) fn is_upgrade_request(headers: &HeaderMap) -> bool {
    let has_token = |name: header::HeaderName, token: &str| {
        headers.get_all(name).iter().any(|value| {
            value.to_str().is_ok_and(|value| {
                value
                    .split(',')
                    .any(|part| part.trim().eq_ignore_ascii_case(token))
            })
        })
    };
    has_token(header::UPGRADE, "websocket") && has_token(header::CONNECTION, "upgrade")
}

/// Answers a WebSocket request with 101 and hands the socket to the session's driver once
/// the upgrade completes; `existing` is the polling session it upgrades, if any.
pub(crate) fn upgrade<B>(
    engine: &Arc<EngineInner>,
    existing: Option<Connection>,
    mut request: Request<B>,
    query: &Query<'_>,
) -> Response<ResponseBody> {
    let headers = request.headers();
    let key = headers.get(header::SEC_WEBSOCKET_KEY).cloned();
    let version_ok = headers
        .get(header::SEC_WEBSOCKET_VERSION)
        .is_some_and(|version| version == "13");
    let (Some(key), true, true) = (key, version_ok, is_upgrade_request(headers)) else {
        return response::websocket_error(ErrorCode::BadRequest.message());
    };
    let on_upgrade = hyper::upgrade::on(&mut request);
    let request_hold = request.extensions().get::<HoldUpgradeResponse>().cloned();
    let connection = match existing {
        Some(connection) => {
            if let Err(error) =
                connection.update(|session, now| session.handle_upgrade_request(now))
            {
                tracing::debug!(sid = %connection.sid(), %error, "upgrade refused");
                let code = match error {
                    SessionError::Closed => ErrorCode::UnknownSid,
                    _ => ErrorCode::BadRequest,
                };
                return response::websocket_error(code.message());
            }
            connection
        }
        None => {
            let (parts, _) = request.into_parts();
            match engine.open_session(Transport::WebSocket, &parts, query.b64) {
                Ok(connection) => connection,
                Err(error) => return error.response(true),
            }
        }
    };
    let max_message = usize::try_from(engine.config.session().max_payload).unwrap_or(usize::MAX);
    // The session's driver waits for the upgrade itself: no task of its own for it.
    *lock(&connection.shared.pending_websocket) = Some(PendingWebSocket::Upgrading(
        Box::pin(on_upgrade),
        max_message,
    ));
    connection.shared.wake_driver.notify_one();
    if let Some(hold) = request_hold {
        hold.hold();
    }
    let mut answer = Response::new(ResponseBody::new(Bytes::new()));
    *answer.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let accept = ws_codec::accept_key(key.as_bytes());
    let headers = answer.headers_mut();
    headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    headers.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    if let Ok(accept) = HeaderValue::from_str(&accept) {
        headers.insert(header::SEC_WEBSOCKET_ACCEPT, accept);
    }
    answer
}

/// A WebSocket on its way to the session's driver.
pub(crate) enum PendingWebSocket {
    /// The 101 went out; the connection is handed over once hyper completes the upgrade.
    Upgrading(Pin<Box<hyper::upgrade::OnUpgrade>>, usize),
}

/// An accepted WebSocket: the upgraded connection and the decoder of its frames.
pub(crate) struct WebSocket {
    io: WsIo,
    reader: Reader,
    /// Bytes waiting to be written (a held `101`, a pong, leftovers of a write the socket
    /// did not take); empty, with no allocation, between writes.
    out: BytesMut,
}

/// The connection under a WebSocket: the TCP stream itself when [`serve`] accepted it,
/// else whatever hyper upgraded.
///
/// [`serve`]: crate::serve
enum WsIo {
    Direct(tokio::net::TcpStream),
    Upgraded(TokioIo<hyper::upgrade::Upgraded>),
}

impl AsyncRead for WsIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Direct(stream) => Pin::new(stream).poll_read(cx, buf),
            Self::Upgraded(io) => Pin::new(io).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for WsIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Self::Direct(stream) => Pin::new(stream).poll_write(cx, buf),
            Self::Upgraded(io) => Pin::new(io).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Direct(stream) => Pin::new(stream).poll_flush(cx),
            Self::Upgraded(io) => Pin::new(io).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Direct(stream) => Pin::new(stream).poll_shutdown(cx),
            Self::Upgraded(io) => Pin::new(io).poll_shutdown(cx),
        }
    }
}

/// How many bytes one read takes from the socket, into a buffer on the stack.
const READ_CHUNK: usize = 4096;

impl WebSocket {
    fn new(upgraded: hyper::upgrade::Upgraded, max_message: usize) -> Self {
        let mut reader = Reader::new(max_message);
        // A stream of ours comes back whole: drop hyper's wrapper, and send the `101` it
        // held with the first frames.
        let (io, out) = match upgraded.downcast::<TokioIo<ServedStream>>() {
            Ok(parts) => {
                let (stream, held, replay) = parts.io.into_inner().into_parts();
                reader.extend(&parts.read_buf);
                reader.extend(&replay);
                (WsIo::Direct(stream), BytesMut::from(&held[..]))
            }
            Err(upgraded) => (WsIo::Upgraded(TokioIo::new(upgraded)), BytesMut::new()),
        };
        Self { io, reader, out }
    }

    /// Reads what the socket has into the decoder; `Ok(0)` is the end of the stream.
    /// Cancel safe: bytes are either taken in whole or not read at all.
    fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        // Left uninitialised: only the bytes a read fills are looked at, and zeroing 4 KB
        // on every wake-up (most reads take a few bytes, or none) is wasted work.
        let mut chunk = [MaybeUninit::<u8>::uninit(); READ_CHUNK];
        let mut buf = ReadBuf::uninit(&mut chunk);
        ready!(Pin::new(&mut self.io).poll_read(cx, &mut buf))?;
        self.reader.extend(buf.filled());
        Poll::Ready(Ok(buf.filled().len()))
    }

    /// Writes what the socket takes right now; `true` when `out` is fully written. The
    /// common case, with no timer involved.
    fn try_write_now(&mut self) -> io::Result<bool> {
        if self.out.is_empty() {
            return Ok(true);
        }
        let out = std::mem::take(&mut self.out);
        let written = self.write_now(&out)?;
        if written < out.len() {
            self.out = out;
            let _ = self.out.split_to(written);
            return Ok(false);
        }
        Ok(true)
    }

    /// Writes as much of `bytes` as the socket takes right now; returns how much.
    fn write_now(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let waker = std::task::Waker::noop();
        let mut cx = Context::from_waker(waker);
        let mut written = 0;
        while written < bytes.len() {
            match Pin::new(&mut self.io).poll_write(&mut cx, &bytes[written..]) {
                Poll::Ready(Ok(0)) => return Err(io::ErrorKind::WriteZero.into()),
                Poll::Ready(Ok(count)) => written += count,
                Poll::Ready(Err(error)) => return Err(error),
                Poll::Pending => break,
            }
        }
        Ok(written)
    }

    /// Writes everything in `out` with as few system calls as the socket allows.
    async fn write_out(&mut self) -> io::Result<()> {
        if !self.out.is_empty() {
            self.io.write_all(&self.out).await?;
            self.io.flush().await?;
        }
        // Idle connections keep no write buffer.
        self.out = BytesMut::new();
        Ok(())
    }

    /// Sends a close frame (with `code`, if any), best effort, and shuts the socket down.
    async fn close(&mut self, code: Option<u16>) {
        let payload = code.map(u16::to_be_bytes);
        ws_codec::encode(
            Outgoing::Close,
            payload.as_ref().map_or(&[][..], |code| &code[..]),
            &mut self.out,
        );
        let _ = tokio::time::timeout(Duration::from_secs(1), async {
            self.write_out().await?;
            self.io.shutdown().await
        })
        .await;
    }
}

/// The session's driver: runs its timers and, once it has one, its WebSocket. One task per
/// session, from the handshake until the session is closed and its socket is gone.
pub(crate) async fn drive(connection: Connection) {
    // The socket and the timer live on the heap so that the task of an idle session
    // stays small; the timer is reset rather than rebuilt on every turn.
    let mut socket: Option<Box<WebSocket>> = None;
    let mut upgrading: Option<(Pin<Box<hyper::upgrade::OnUpgrade>>, usize)> = None;
    let mut timer = Box::pin(tokio::time::sleep(Duration::ZERO));
    let mut armed = None;
    loop {
        // A WebSocket can only be handed over while the driver has none: a session refuses
        // a second one, so the hot path skips this lock.
        if socket.is_none() && upgrading.is_none() {
            let handed_over = lock(&connection.shared.pending_websocket).take();
            if let Some(PendingWebSocket::Upgrading(on_upgrade, max_message)) = handed_over {
                upgrading = Some((on_upgrade, max_message));
            }
        }
        // Flushing is synchronous when the socket takes everything (the common case); the
        // waiting path and receiving are boxed, so they cost memory only while they run.
        let mut timers = None;
        if let Some(open) = socket.as_mut() {
            match flush_now(&connection, open) {
                (Flushed::Done, state) => timers = Some(state),
                (flushed, _) => {
                    if !Box::pin(finish_flush(&connection, open, flushed)).await {
                        socket = None;
                    }
                }
            }
        }
        let (deadline, closed) = timers.unwrap_or_else(|| {
            let slot = connection.lock();
            (slot.session.poll_timeout(), slot.session.is_closed())
        });
        if closed && socket.is_none() && upgrading.is_none() {
            break;
        }
        // Re-arm the timer only when the deadline moved: resets cost a timer-wheel update.
        if let Some(deadline) = deadline
            && armed != Some(deadline)
        {
            timer.as_mut().reset(deadline.into());
            armed = Some(deadline);
        }
        let notified = connection.shared.wake_driver.notified();
        tokio::select! {
            () = notified => {}
            () = timer.as_mut(), if deadline.is_some() => {
                armed = None;
                connection.update(|session, now| session.handle_timeout(now));
            }
            upgraded = async {
                match upgrading.as_mut() {
                    Some((on_upgrade, _)) => on_upgrade.as_mut().await,
                    None => std::future::pending().await,
                }
            }, if upgrading.is_some() => {
                let max_message = upgrading.take().map_or(0, |(_, max)| max);
                match upgraded {
                    Ok(upgraded) => {
                        let mut open = Box::new(WebSocket::new(upgraded, max_message));
                        // Frames a client sent right behind its request were read by hyper.
                        let received = if open.reader.is_idle() {
                            Received::Open
                        } else {
                            decode_buffered(&connection, &mut open)
                        };
                        socket = after_read(&connection, open, received).await;
                    }
                    Err(error) => {
                        tracing::debug!(sid = %connection.sid(), %error, "websocket upgrade failed");
                        connection.update(|session, _| session.handle_websocket_closed(true));
                    }
                }
            }
            filled = poll_fn(|cx| match socket.as_mut() {
                Some(open) => open.poll_fill(cx),
                None => Poll::Pending,
            }), if socket.is_some() => {
                if let Some(mut open) = socket.take() {
                    let received = receive(&connection, &mut open, filled);
                    socket = after_read(&connection, open, received).await;
                }
            }
        }
    }
}

/// What the driver does with its socket after a read.
enum Received {
    /// Keep reading.
    Open,
    /// The socket is gone; the session was told.
    Finished,
    /// Send a close frame with this code, shut the socket down, then tell the session.
    Close(SocketClose),
}

/// A close the socket must send before the session hears of it.
struct SocketClose {
    code: Option<u16>,
    /// The client broke the protocol (else it asked to close).
    failed: bool,
    /// A text frame was not UTF-8: a parse error for the session too.
    parse_error: bool,
}

/// Hands what was read to the session. Synchronous, so a read costs no allocation; the
/// rare close that must write goes back to the driver.
fn receive(connection: &Connection, socket: &mut WebSocket, filled: io::Result<usize>) -> Received {
    match filled {
        Ok(0) => {
            connection.update(|session, _| session.handle_websocket_closed(false));
            Received::Finished
        }
        Ok(_) => decode_buffered(connection, socket),
        Err(error) => {
            tracing::debug!(sid = %connection.sid(), %error, "websocket read failed");
            connection.update(|session, _| session.handle_websocket_closed(true));
            Received::Finished
        }
    }
}

/// Hands every complete frame the decoder holds to the session.
fn decode_buffered(connection: &Connection, socket: &mut WebSocket) -> Received {
    loop {
        let message = match socket.reader.decode() {
            Ok(Some(message)) => message,
            Ok(None) => return Received::Open,
            Err(error) => {
                tracing::debug!(sid = %connection.sid(), ?error, "websocket protocol error");
                return Received::Close(SocketClose {
                    code: Some(error.close_code()),
                    failed: true,
                    parse_error: error == WsError::InvalidUtf8,
                });
            }
        };
        let packet = match message {
            Incoming::Text(text) => match std::str::from_utf8(&text) {
                Ok(text) => Packet::decode_text(text),
                Err(_) => Err(tidings_eio::DecodeError::InvalidUtf8),
            },
            Incoming::Binary(data) => Ok(Packet::Binary(data)),
            Incoming::Ping(payload) => {
                // Answered with the next write; the driver writes before it sleeps.
                ws_codec::encode(Outgoing::Pong, &payload, &mut socket.out);
                connection.shared.wake_driver.notify_one();
                continue;
            }
            Incoming::Pong => continue,
            Incoming::Close(code) => {
                // Echo the close (RFC 6455 §5.5.1), then the socket is done.
                return Received::Close(SocketClose {
                    code,
                    failed: false,
                    parse_error: false,
                });
            }
        };
        match packet {
            Ok(packet) => {
                connection.update(|session, now| session.handle_websocket_packet(packet, now));
            }
            Err(error) => {
                tracing::debug!(sid = %connection.sid(), %error, "undecodable websocket frame");
                connection.update(|session, _| session.handle_parse_error(Transport::WebSocket));
            }
        }
    }
}

/// Sends the close, then tells the session the socket is gone.
async fn close_socket(connection: &Connection, socket: &mut WebSocket, close: SocketClose) {
    socket.close(close.code).await;
    connection.update(|session, _| {
        if close.parse_error {
            session.handle_parse_error(Transport::WebSocket);
        }
        session.handle_websocket_closed(close.failed);
    });
}

/// The socket the driver keeps after a read, if any.
async fn after_read(
    connection: &Connection,
    mut socket: Box<WebSocket>,
    received: Received,
) -> Option<Box<WebSocket>> {
    match received {
        Received::Open => Some(socket),
        Received::Finished => None,
        Received::Close(close) => {
            // Boxed: closing is rare, and the driver's future stays small without it.
            Box::pin(close_socket(connection, &mut socket, close)).await;
            None
        }
    }
}

/// What a flush without waiting left behind.
enum Flushed {
    /// Everything owed went out.
    Done,
    /// The socket is full; the rest waits in the socket's write buffer (then, with
    /// `close`, the socket closes).
    Pending { close: bool },
    /// The session wants the socket closed.
    Close,
    /// The write failed.
    Failed(io::Error),
}

thread_local! {
    /// Encoding space shared by the drivers of one worker thread: queued frames are encoded
    /// here and written at once, so a connection allocates only when its socket is full.
    static SCRATCH: RefCell<BytesMut> = RefCell::new(BytesMut::new());
}

/// The scratch space is given back when a burst made it larger than this.
const SCRATCH_KEEP: usize = 64 * 1024;

/// Pending bytes up to this size share a write with the frames that follow them.
const COALESCE_LIMIT: usize = 4096;

/// Writes what the session owes its WebSocket without waiting: every queued frame is
/// encoded under a single lock and goes out in one `write`; only what the socket does not
/// take is kept in the connection's own buffer.
fn flush_now(connection: &Connection, socket: &mut WebSocket) -> (Flushed, Timers) {
    // What waits in `out` (a held `101`, pongs, close answers, leftovers) goes first: in
    // the same write as the frames when it is small, else alone, and the frames stay
    // queued in the session (bounded) until the client has read it.
    if socket.out.len() > COALESCE_LIMIT {
        match socket.try_write_now() {
            Ok(true) => {}
            Ok(false) => return (Flushed::Pending { close: false }, (None, false)),
            Err(error) => return (Flushed::Failed(error), (None, false)),
        }
    }
    let b64 = connection.shared.b64;
    let mut lagged = false;
    let flushed = SCRATCH.with(|scratch| {
        let mut scratch = scratch.borrow_mut();
        scratch.clear();
        scratch.extend_from_slice(&socket.out);
        socket.out = BytesMut::new();
        let mut close = false;
        // The session's timers are read under the same lock, for the driver's sleep.
        let timers = {
            let mut slot = connection.lock();
            while let Some(output) = slot.session.poll_websocket() {
                match output {
                    WsOutput::Frame(frame) => encode_frame(&frame, b64, &mut scratch),
                    WsOutput::Close => {
                        close = true;
                        break;
                    }
                }
            }
            // Then what the log holds for this connection: after its own queue, which a
            // direct send fills with the log's older entries first.
            if let Some(subscription) = slot.subscription.as_mut().filter(|_| !close) {
                lagged = subscription
                    .log
                    .read(
                        &mut subscription.cursor,
                        connection.shared.sid,
                        Some(&connection.shared),
                        |frames| {
                            for frame in frames {
                                encode_frame(frame, b64, &mut scratch);
                            }
                        },
                    )
                    .is_err();
            }
            (slot.session.poll_timeout(), slot.session.is_closed())
        };

        let written = match socket.write_now(&scratch) {
            Ok(written) => written,
            Err(error) => return (Flushed::Failed(error), timers),
        };
        let complete = written == scratch.len();
        if !complete {
            socket.out.extend_from_slice(&scratch[written..]);
        }
        if scratch.capacity() > SCRATCH_KEEP {
            *scratch = BytesMut::new();
        }
        let flushed = match (complete, close) {
            (true, true) => Flushed::Close,
            (true, false) => Flushed::Done,
            (false, close) => Flushed::Pending { close },
        };
        (flushed, timers)
    });
    if lagged {
        tracing::debug!(sid = %connection.sid(), "fell behind its broadcast log, closing");
        connection.abort(tidings_eio::CloseReason::TransportError);
    }
    flushed
}

/// The session's next deadline and whether it is closed.
type Timers = (Option<std::time::Instant>, bool);

/// Finishes what [`flush_now`] could not; `false` when the socket is finished. A client
/// that stops reading cannot stall the driver for longer than one heartbeat.
async fn finish_flush(connection: &Connection, socket: &mut WebSocket, flushed: Flushed) -> bool {
    match flushed {
        Flushed::Done => return true,
        Flushed::Pending { close: false } => {}
        Flushed::Pending { close: true } | Flushed::Close => {
            // Handing out the close may have closed the session: report it first.
            connection.deliver_events();
            socket.close(None).await;
            return false;
        }
        Flushed::Failed(error) => {
            tracing::debug!(sid = %connection.sid(), %error, "websocket write failed");
            connection.update(|session, _| session.handle_websocket_closed(true));
            return false;
        }
    }
    // The socket is full: wait for the client, but not longer than one heartbeat.
    let limit = connection.lock().session.heartbeat_window();
    match tokio::time::timeout(limit.max(Duration::from_secs(1)), socket.write_out()).await {
        Ok(Ok(())) => true,
        Ok(Err(error)) => {
            tracing::debug!(sid = %connection.sid(), %error, "websocket write failed");
            connection.update(|session, _| session.handle_websocket_closed(true));
            false
        }
        Err(_) => {
            tracing::debug!(sid = %connection.sid(), "websocket write timed out");
            connection.update(|session, _| session.handle_websocket_closed(true));
            false
        }
    }
}

/// Appends a frame as a WebSocket message; binary becomes `b` + base64 text for `b64`
/// clients.
fn encode_frame(frame: &Frame, b64: bool, out: &mut BytesMut) {
    match frame {
        Frame::Text(text) => ws_codec::encode(Outgoing::Text, text, out),
        Frame::Binary(_) if b64 => {
            let mut text = BytesMut::new();
            frame.encode_for_polling(&mut text);
            ws_codec::encode(Outgoing::Text, &text, out);
        }
        Frame::Binary(data) => ws_codec::encode(Outgoing::Binary, data, out),
    }
}
