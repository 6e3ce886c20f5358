//! The WebSocket transport and the per-session driver task (protocol §1.5, §1.6).
//!
//! The WebSocket library stays inside this module, so it can change without touching
//! anything above it.

use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures_util::{SinkExt, StreamExt};
use http::header::{self, HeaderMap, HeaderValue};
use http::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tidings_eio::{ErrorCode, Frame, Packet, SessionError, Transport, WsOutput};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{self, Message, Utf8Bytes};

use crate::connection::Connection;
use crate::engine::{EngineInner, Query};
use crate::response::{self, ResponseBody};

/// An accepted WebSocket.
pub(crate) type WebSocket = WebSocketStream<TokioIo<hyper::upgrade::Upgraded>>;

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
    let config = WebSocketConfig::default()
        .read_buffer_size(engine.config.websocket_read_buffer)
        .write_buffer_size(0)
        .max_message_size(usize::try_from(engine.config.session().max_payload).ok())
        .max_frame_size(usize::try_from(engine.config.session().max_payload).ok());
    engine.tasks.spawn(async move {
        match on_upgrade.await {
            Ok(upgraded) => {
                let socket = WebSocketStream::from_raw_socket(
                    TokioIo::new(upgraded),
                    Role::Server,
                    Some(config),
                )
                .await;
                *connection
                    .shared
                    .pending_websocket
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(Box::new(socket));
                connection.shared.wake_driver.notify_one();
            }
            Err(error) => {
                tracing::debug!(sid = %connection.sid(), %error, "websocket upgrade failed");
                connection.update(|session, _| session.handle_websocket_closed(true));
            }
        }
    });
    let mut answer = Response::new(ResponseBody::new(Bytes::new()));
    *answer.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let accept = tungstenite::handshake::derive_accept_key(key.as_bytes());
    let headers = answer.headers_mut();
    headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    headers.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    if let Ok(accept) = HeaderValue::from_str(&accept) {
        headers.insert(header::SEC_WEBSOCKET_ACCEPT, accept);
    }
    answer
}

/// The session's driver: runs its timers and, once it has one, its WebSocket. One task per
/// session, from the handshake until the session is closed and its socket is gone.
pub(crate) async fn drive(connection: Connection) {
    // The socket and the timer live on the heap so that the task of an idle session
    // stays small; the timer is reset rather than rebuilt on every turn.
    let mut socket: Option<Box<WebSocket>> = None;
    let mut timer = Box::pin(tokio::time::sleep(Duration::ZERO));
    loop {
        let handed_over = connection
            .shared
            .pending_websocket
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take();
        if handed_over.is_some() {
            socket = handed_over;
        }
        if let Some(open) = socket.as_mut()
            && !flush(&connection, open).await
        {
            socket = None;
        }
        let (deadline, closed) = {
            let slot = connection.lock();
            (slot.session.poll_timeout(), slot.session.is_closed())
        };
        if closed && socket.is_none() {
            break;
        }
        if let Some(deadline) = deadline {
            timer.as_mut().reset(deadline.into());
        }
        let notified = connection.shared.wake_driver.notified();
        tokio::select! {
            () = notified => {}
            () = timer.as_mut(), if deadline.is_some() => {
                connection.update(|session, now| session.handle_timeout(now));
            }
            message = async { match socket.as_mut() { Some(open) => open.next().await, None => None } },
                if socket.is_some() =>
            {
                match receive(&connection, message) {
                    Received::Continue => {}
                    Received::Finished => socket = None,
                    Received::TooBig => {
                        if let Some(mut open) = socket.take() {
                            let frame = CloseFrame { code: CloseCode::Size, reason: Utf8Bytes::default() };
                            let _ = tokio::time::timeout(Duration::from_secs(1), WebSocketStream::close(&mut open, Some(frame))).await;
                        }
                    }
                }
            }
        }
    }
}

/// What the driver does with its socket after a message.
enum Received {
    Continue,
    /// The socket is closed or broken: drop it.
    Finished,
    /// The message was over `maxPayload`: close with 1009, as the reference's `ws` does.
    TooBig,
}

/// Hands one WebSocket message to the session.
fn receive(
    connection: &Connection,
    message: Option<Result<Message, tungstenite::Error>>,
) -> Received {
    let packet = match message {
        Some(Ok(Message::Text(text))) => Packet::decode_text(text.as_str()),
        Some(Ok(Message::Binary(data))) => Ok(Packet::Binary(data)),
        // Control frames are answered by the library; the pong goes out on the next flush.
        Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => {
            connection.shared.wake_driver.notify_one();
            return Received::Continue;
        }
        Some(Ok(Message::Close(_))) | None => {
            connection.update(|session, _| session.handle_websocket_closed(false));
            return Received::Finished;
        }
        Some(Err(error)) => {
            tracing::debug!(sid = %connection.sid(), %error, "websocket failed");
            connection.update(|session, _| session.handle_websocket_closed(true));
            return match error {
                tungstenite::Error::Capacity(_) => Received::TooBig,
                _ => Received::Finished,
            };
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
    Received::Continue
}

/// Writes everything the session owes its WebSocket; `false` when the socket is finished.
/// A client that stops reading cannot stall the driver for longer than one heartbeat.
async fn flush(connection: &Connection, socket: &mut WebSocket) -> bool {
    let limit = {
        let slot = connection.lock();
        let config = slot.session.config();
        config.ping_interval + config.ping_timeout
    };
    match tokio::time::timeout(
        limit.max(Duration::from_secs(1)),
        write_owed(connection, socket),
    )
    .await
    {
        Ok(Ok(open)) => open,
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

async fn write_owed(
    connection: &Connection,
    socket: &mut WebSocket,
) -> Result<bool, tungstenite::Error> {
    loop {
        let output = connection.lock().session.poll_websocket();
        match output {
            Some(WsOutput::Frame(frame)) => {
                if let Some(message) = to_message(frame, connection.shared.b64) {
                    socket.feed(message).await?;
                }
            }
            Some(WsOutput::Close) => {
                // Handing out the close may have closed the session: report it first.
                connection.deliver_events();
                let _ = socket.close(None).await;
                return Ok(false);
            }
            None => break,
        }
    }
    socket.flush().await?;
    Ok(true)
}

/// The WebSocket message for a frame; binary becomes `b` + base64 text for `b64` clients.
fn to_message(frame: Frame, b64: bool) -> Option<Message> {
    match frame {
        Frame::Text(text) => match Utf8Bytes::try_from(text) {
            Ok(text) => Some(Message::Text(text)),
            Err(_) => {
                tracing::error!("dropped a text frame that is not utf-8");
                None
            }
        },
        Frame::Binary(data) if b64 => {
            let mut text = BytesMut::new();
            Frame::Binary(data).encode_for_polling(&mut text);
            Utf8Bytes::try_from(text.freeze()).ok().map(Message::Text)
        }
        Frame::Binary(data) => Some(Message::Binary(data)),
    }
}
