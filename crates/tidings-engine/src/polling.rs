//! The long-polling transport: the pending GET and the POST (protocol §1.4).

use std::fmt;
use std::task::Poll;

use bytes::{Bytes, BytesMut};
use http::header::{self, HeaderValue};
use http::{Request, Response, StatusCode};
use http_body::Body;
use http_body_util::BodyExt;
use tidings_eio::{ErrorCode, SessionError};

use crate::connection::Connection;
use crate::engine::EngineInner;
use crate::response::{self, ResponseBody};

/// A polling request, answered at once or after a wait.
pub(crate) enum Polling<B> {
    /// The answer is known now: no future to keep.
    Answered(Response<ResponseBody>),
    /// A GET with nothing to answer yet.
    Waiting(PendingGet),
    /// A POST whose body is still to be read.
    Reading(PendingPost<B>),
}

impl<B> Polling<B>
where
    B: Body<Data = Bytes>,
    B::Error: fmt::Display,
{
    /// The answer, once it is known.
    ///
    /// # Cancel safety
    /// Dropping the future drops the request: see [`PendingGet`] and [`PendingPost`].
    pub(crate) async fn answer(self, engine: &EngineInner) -> Response<ResponseBody> {
        match self {
            Self::Answered(answer) => answer,
            Self::Waiting(get) => get.answer(engine).await,
            Self::Reading(post) => post.answer().await,
        }
    }
}

impl<B> From<Response<ResponseBody>> for Polling<B> {
    fn from(answer: Response<ResponseBody>) -> Self {
        Self::Answered(answer)
    }
}

/// Starts a GET: answered at once when the session has something for it (queued packets,
/// a noop during an upgrade, the close packet), else a [`PendingGet`]. `gzip`: the client
/// accepts a compressed answer.
pub(crate) fn get<B>(
    engine: &EngineInner,
    connection: Connection,
    gzip: bool,
    cookie: Option<HeaderValue>,
) -> Polling<B> {
    if let Err(error) = connection.update(|session, now| session.handle_poll_request(now)) {
        tracing::debug!(sid = %connection.sid(), %error, "poll refused");
        return Polling::Answered(refusal(error));
    }
    let mut pending = PendingGet {
        request: PendingRequest {
            connection,
            on_drop: Unfinished::Poll,
        },
        gzip,
        cookie,
    };
    match pending.answer_now(engine) {
        Some(answer) => Polling::Answered(answer),
        None => Polling::Waiting(pending),
    }
}

/// A GET waiting for its answer. Dropping it before it is answered means the client went
/// away: the session closes, as the reference does for a poll closed prematurely.
pub(crate) struct PendingGet {
    request: PendingRequest,
    gzip: bool,
    /// The session cookie of a handshake's answer.
    cookie: Option<HeaderValue>,
}

impl PendingGet {
    /// Waits until the session has something for the GET, and answers it.
    async fn answer(mut self, engine: &EngineInner) -> Response<ResponseBody> {
        // Its own handle on the session, so that waiting does not borrow `self`.
        let connection = self.request.connection.clone();
        loop {
            let notified = connection.shared.wake_poll.notified();
            if let Some(answer) = self.answer_now(engine) {
                return answer;
            }
            notified.await;
        }
    }

    fn answer_now(&mut self, engine: &EngineInner) -> Option<Response<ResponseBody>> {
        let connection = &self.request.connection;
        let body = connection.lock().session.poll_polling_response()?;
        self.request.on_drop = Unfinished::Nothing;
        // Answering may finish a close: let the driver and the handler know.
        connection.wake();
        connection.deliver_events();
        let mut answer = match engine.config.http_compression {
            Some(threshold) if self.gzip && body.len() >= threshold => {
                response::gzip_payload(&body).unwrap_or_else(|| response::payload(body))
            }
            _ => response::payload(body),
        };
        if let Some(cookie) = self.cookie.take() {
            answer.headers_mut().insert(header::SET_COOKIE, cookie);
        }
        Some(answer)
    }
}

/// Starts a POST: refused at once, or a [`PendingPost`] that reads its body.
pub(crate) fn post<B>(
    engine: &EngineInner,
    connection: Connection,
    request: Request<B>,
) -> Polling<B> {
    // v4 payloads are text; the reference refuses binary POSTs and closes (engine.io 6.6.7).
    if request
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|value| value.as_bytes().starts_with(b"application/octet-stream"))
    {
        tracing::debug!(sid = %connection.sid(), "binary post refused");
        connection.update(|session, _| session.handle_parse_error(tidings_eio::Transport::Polling));
        return Polling::Answered(response::plain(StatusCode::BAD_REQUEST, ""));
    }
    if let Err(error) = connection.update(|session, _| session.handle_post_start()) {
        tracing::debug!(sid = %connection.sid(), %error, "post refused");
        return Polling::Answered(refusal(error));
    }
    Polling::Reading(PendingPost {
        request: PendingRequest {
            connection,
            on_drop: Unfinished::Post,
        },
        body: request.into_body(),
        limit: engine.config.session().max_payload,
    })
}

/// A POST whose body is still to be read. Dropping it frees the POST slot; the session
/// stays open.
pub(crate) struct PendingPost<B> {
    request: PendingRequest,
    body: B,
    /// `maxPayload`.
    limit: u64,
}

impl<B> PendingPost<B>
where
    B: Body<Data = Bytes>,
    B::Error: fmt::Display,
{
    /// Reads the body (bounded by `maxPayload`) and hands its packets to the session.
    async fn answer(self) -> Response<ResponseBody> {
        let Self {
            mut request,
            body,
            limit,
        } = self;
        let sid = request.connection.sid();
        let body = match read_body(body, limit).await {
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
        request.on_drop = Unfinished::Nothing;
        match request
            .connection
            .update(|session, now| session.handle_post(&body, now))
        {
            Ok(()) => {
                // Let the tasks these packets woke run first (the handlers, then the
                // pending GET they answered): the client gets what it waits for, an ack
                // or a reply, before this `ok`.
                run_woken_tasks_first().await;
                response::post_ok()
            }
            Err(error) => {
                tracing::debug!(%sid, %error, "invalid post payload");
                refusal(error)
            }
        }
    }
}

/// Puts the current task at the back of the run queue once, behind the tasks already
/// woken. `tokio::task::yield_now` would also make the worker poll its I/O driver before
/// resuming it: one more `epoll_wait` per POST.
fn run_woken_tasks_first() -> impl Future<Output = ()> {
    let mut requeued = false;
    std::future::poll_fn(move |cx| {
        if requeued {
            return Poll::Ready(());
        }
        requeued = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    })
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
    // A body that arrives in one chunk, the usual case, is kept as it is, without a copy.
    let mut first = Bytes::new();
    let mut joined: Option<BytesMut> = None;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|error| BodyError::Failed(error.to_string()))?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        let so_far = joined.as_ref().map_or(first.len(), BytesMut::len);
        if so_far + data.len() > limit {
            return Err(BodyError::TooLarge);
        }
        match &mut joined {
            Some(joined) => joined.extend_from_slice(&data),
            None if first.is_empty() => first = data,
            None => {
                let mut both = BytesMut::with_capacity(first.len() + data.len());
                both.extend_from_slice(&first);
                both.extend_from_slice(&data);
                joined = Some(both);
            }
        }
    }
    Ok(joined.map_or(first, BytesMut::freeze))
}

/// What a polling request leaves undone if its future is dropped.
enum Unfinished {
    Nothing,
    /// A GET that was never answered: its client went away.
    Poll,
    /// A POST whose body was never handled.
    Post,
}

/// Tells the session about a polling request dropped before it was done.
struct PendingRequest {
    connection: Connection,
    on_drop: Unfinished,
}

impl Drop for PendingRequest {
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

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::convert::Infallible;
    use std::pin::Pin;
    use std::task::{Context, Poll};

    use http_body::Frame;

    use super::*;

    /// A body that yields its chunks one frame at a time.
    struct Chunks(VecDeque<&'static [u8]>);

    impl Body for Chunks {
        type Data = Bytes;
        type Error = Infallible;

        fn poll_frame(
            mut self: Pin<&mut Self>,
            _cx: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
            Poll::Ready(
                self.0
                    .pop_front()
                    .map(|chunk| Ok(Frame::data(Bytes::from_static(chunk)))),
            )
        }
    }

    async fn read(chunks: &[&'static [u8]], limit: u64) -> Result<Bytes, BodyError> {
        read_body(Chunks(chunks.iter().copied().collect()), limit).await
    }

    #[tokio::test]
    async fn a_body_in_one_chunk_is_kept_without_a_copy() {
        let chunk: &'static [u8] = b"4hello";
        let body = read(&[chunk], 100).await.ok().unwrap();
        assert_eq!(body, chunk);
        assert_eq!(body.as_ptr(), chunk.as_ptr());
    }

    #[tokio::test]
    async fn chunks_are_joined_in_order() {
        let body = read(&[b"4a", b"\x1e4b", b"", b"\x1e4c"], 100)
            .await
            .ok()
            .unwrap();
        assert_eq!(body, &b"4a\x1e4b\x1e4c"[..]);
        assert_eq!(read(&[], 100).await.ok().unwrap(), &b""[..]);
    }

    #[tokio::test]
    async fn the_limit_counts_every_chunk() {
        assert_eq!(
            read(&[b"12345", b"678"], 8).await.ok().unwrap(),
            &b"12345678"[..]
        );
        assert!(matches!(
            read(&[b"12345", b"6789"], 8).await,
            Err(BodyError::TooLarge)
        ));
        assert!(matches!(
            read(&[b"1234", b"5", b"6789"], 8).await,
            Err(BodyError::TooLarge)
        ));
        assert!(matches!(
            read(&[b"123456789"], 8).await,
            Err(BodyError::TooLarge)
        ));
    }
}
