//! The long-polling transport: the pending GET and the POST (protocol §1.4).

use std::fmt;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use http::{Request, Response, StatusCode, header};
use http_body::Body;
use http_body_util::BodyExt;
use tidings_eio::{ErrorCode, SessionError};

use crate::connection::Connection;
use crate::engine::EngineInner;
use crate::response::{self, ResponseBody};

/// Answers a GET once the session has something for it: queued packets, a noop during an
/// upgrade, or the close packet.
///
/// # Cancel safety
/// Dropping the future before it completes means the client went away: the session
/// closes, as the reference does for a poll closed prematurely.
pub(crate) async fn get(
    engine: &EngineInner,
    connection: Connection,
    request: &http::HeaderMap,
) -> Response<ResponseBody> {
    if let Err(error) = connection.update(|session, now| session.handle_poll_request(now)) {
        tracing::debug!(sid = %connection.sid(), %error, "poll refused");
        return refusal(error);
    }
    let mut pending = PendingRequest {
        connection: &connection,
        on_drop: Unfinished::Poll,
    };
    loop {
        let notified = connection.shared.wake_poll.notified();
        let body = connection.lock().session.poll_polling_response();
        if let Some(body) = body {
            pending.on_drop = Unfinished::Nothing;
            // Answering may finish a close: let the driver and the handler know.
            connection.wake();
            connection.deliver_events();
            return match engine.config.http_compression {
                Some(threshold) if body.len() >= threshold && response::accepts_gzip(request) => {
                    response::gzip_payload(&body).unwrap_or_else(|| response::payload(body))
                }
                _ => response::payload(body),
            };
        }
        notified.await;
    }
}

/// Reads a POST body (bounded by `maxPayload`) and hands its packets to the session.
///
/// # Cancel safety
/// Dropping the future frees the POST slot; the session stays open.
pub(crate) async fn post<B>(
    engine: &Arc<EngineInner>,
    connection: Connection,
    request: Request<B>,
) -> Response<ResponseBody>
where
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: fmt::Display,
{
    let sid = connection.sid();
    // v4 payloads are text; the reference refuses binary POSTs and closes (engine.io 6.6.7).
    if request
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|value| value.as_bytes().starts_with(b"application/octet-stream"))
    {
        tracing::debug!(%sid, "binary post refused");
        connection.update(|session, _| session.handle_parse_error(tidings_eio::Transport::Polling));
        return response::plain(StatusCode::BAD_REQUEST, "");
    }
    if let Err(error) = connection.update(|session, _| session.handle_post_start()) {
        tracing::debug!(%sid, %error, "post refused");
        return refusal(error);
    }
    let mut pending = PendingRequest {
        connection: &connection,
        on_drop: Unfinished::Post,
    };
    let limit = engine.config.session().max_payload;
    let body = match read_body(request.into_body(), limit).await {
        Ok(body) => body,
        Err(BodyError::TooLarge) => {
            tracing::debug!(%sid, limit, "post body too large");
            return response::plain(StatusCode::PAYLOAD_TOO_LARGE, "");
        }
        Err(BodyError::Failed(error)) => {
            tracing::debug!(%sid, %error, "post body failed");
            return response::plain(StatusCode::BAD_REQUEST, "");
        }
    };
    pending.on_drop = Unfinished::Nothing;
    match connection.update(|session, now| session.handle_post(&body, now)) {
        Ok(()) => response::post_ok(),
        Err(error) => {
            tracing::debug!(%sid, %error, "invalid post payload");
            refusal(error)
        }
    }
}

/// The HTTP answer to a refused polling request.
fn refusal(error: SessionError) -> Response<ResponseBody> {
    match error {
        SessionError::TransportMismatch | SessionError::UpgradeRefused => {
            response::error(ErrorCode::BadRequest, None)
        }
        SessionError::Closed => response::error(ErrorCode::UnknownSid, None),
        // Overlaps and bad payloads: a bare 400, as the reference answers them.
        _ => response::plain(StatusCode::BAD_REQUEST, ""),
    }
}

enum BodyError {
    TooLarge,
    Failed(String),
}

/// Collects a body, refusing it as soon as it passes `limit` bytes.
async fn read_body<B>(body: B, limit: u64) -> Result<Bytes, BodyError>
where
    B: Body<Data = Bytes>,
    B::Error: fmt::Display,
{
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    if body.size_hint().lower() > limit as u64 {
        return Err(BodyError::TooLarge);
    }
    let mut body = std::pin::pin!(body);
    let mut collected = BytesMut::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|error| BodyError::Failed(error.to_string()))?;
        if let Ok(data) = frame.into_data() {
            if collected.len() + data.len() > limit {
                return Err(BodyError::TooLarge);
            }
            collected.extend_from_slice(&data);
        }
    }
    Ok(collected.freeze())
}

/// What a polling request leaves undone if its future is dropped.
enum Unfinished {
    Nothing,
    /// A GET that was never answered: its client went away.
    Poll,
    /// A POST whose body was never handled.
    Post,
}

/// Tells the session about a polling request whose future was dropped.
struct PendingRequest<'a> {
    connection: &'a Connection,
    on_drop: Unfinished,
}

impl Drop for PendingRequest<'_> {
    fn drop(&mut self) {
        match self.on_drop {
            Unfinished::Nothing => {}
            Unfinished::Poll => {
                tracing::debug!(sid = %self.connection.sid(), "poll closed prematurely");
                self.connection
                    .update(|session, _| session.handle_poll_aborted());
            }
            Unfinished::Post => {
                self.connection
                    .update(|session, _| session.handle_post_failed());
            }
        }
    }
}
