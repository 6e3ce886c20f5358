//! A small HTTP/1.1 server for users without a framework: accept, serve, drain.

use std::convert::Infallible;
use std::error::Error as StdError;
use std::future::{Future, poll_fn};
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Waker, ready};
use std::time::Duration;

use std::net::SocketAddr;

use bytes::{Bytes, BytesMut};
use http::{Request, Response};
use http_body::Body;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio::sync::futures::Notified;
use tokio_util::task::TaskTracker;
use tower_service::Service;

use crate::connection::RemoteAddr;
use crate::http1::{self as own, Framing, Parsed};

/// How long in-flight HTTP requests may take to finish after shutdown begins.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a connection may take to send a request's head, counted from the end of the
/// previous answer. A client that opens connections and never finishes a request would
/// otherwise hold them forever; an idle keep-alive connection closes after it too
/// (Node's `keepAliveTimeout` closes one after 5 s).
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// The largest request head accepted (start line and headers); a larger one is answered
/// 431. Engine.IO request heads are small; without this, hyper buffers up to ~400 KB of a
/// head that never ends.
const MAX_HEAD_SIZE: usize = 64 * 1024;

/// Serves `service` on `listener` until `shutdown` completes, then stops accepting and
/// waits (up to 10 s) for in-flight requests. Each request that can open a session (a GET
/// whose query names no `sid`) carries its peer address as a [`RemoteAddr`] extension.
/// Connection errors are logged at debug level and never stop the accept loop. A
/// connection that takes more than 30 s to send a request's head is closed, and a head
/// over 64 KB is answered 431.
///
/// Plain GETs and POSTs with a body of known length (up to 64 KB) are read by a lean
/// HTTP/1.1 path of its own, and reach the service with their whole body; the first
/// request that is anything else hands the connection to hyper, whose bodies stream.
/// Either way the service sees a [`RequestBody`].
///
/// Close the engine (for example with [`Engine::close`](crate::Engine::close)) before
/// `shutdown` completes, so that pending long-polls are answered.
///
/// # Errors
/// Never for connection problems; accept errors are retried after a short pause.
///
/// # Cancel safety
/// Dropping the future stops accepting at once without draining.
pub async fn serve<S, B>(
    listener: TcpListener,
    service: S,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()>
where
    S: Service<Request<RequestBody>, Response = Response<B>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn StdError + Send + Sync>>,
{
    let nodelay_inherited = set_nodelay_for_all(&listener);
    let mut hyper = http1::Builder::new();
    hyper
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .max_header_size(MAX_HEAD_SIZE);
    let shared = Arc::new(Shared {
        hyper,
        drain: DrainSignal::default(),
    });
    let connections = TaskTracker::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Usually the open-files limit: back off instead of spinning.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        if !nodelay_inherited {
            let _ = stream.set_nodelay(true);
        }
        let mut connection = Served {
            service: service.clone(),
            peer,
            shared: shared.clone(),
        };
        connections.spawn(async move {
            let error = match connection.own_path(stream).await {
                Ok(None) => return,
                Ok(Some((stream, replay))) => match connection.by_hyper(stream, replay).await {
                    Ok(()) => return,
                    Err(error) => error.to_string(),
                },
                Err(error) => error.to_string(),
            };
            tracing::debug!(%peer, %error, "http connection ended with an error");
        });
    }
    drop(listener);
    shared.drain.start();
    connections.close();
    let _ = tokio::time::timeout(DRAIN_TIMEOUT, connections.wait()).await;
    Ok(())
}

/// What every connection of one `serve` shares.
struct Shared {
    /// The HTTP/1.1 settings of connections handed to hyper.
    hyper: http1::Builder,
    drain: DrainSignal,
}

/// One accepted connection and what serving it needs.
struct Served<S> {
    service: S,
    peer: SocketAddr,
    shared: Arc<Shared>,
}

/// Why the own path stopped waiting for bytes.
enum Wait {
    Read,
    /// The peer closed, the head took too long, or the drain began with nothing read.
    Stop,
}

impl<S, B> Served<S>
where
    S: Service<Request<RequestBody>, Response = Response<B>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn StdError + Send + Sync>>,
{
    /// Serves the plain requests of long-polling itself (see [`http1`](crate::http1)):
    /// hyper was about half the user-space work of a long-polling round trip. Returns the
    /// stream and the bytes read so far when a request is for hyper, `None` when the
    /// connection is done.
    async fn own_path(&mut self, mut stream: TcpStream) -> io::Result<Option<(TcpStream, Bytes)>> {
        let mut buf = BytesMut::new();
        let drain = &self.shared.drain;
        let mut drain_signal = std::pin::pin!(drain.notify.notified());
        let mut drain_waker: Option<Waker> = None;
        let mut timer = std::pin::pin!(tokio::time::sleep(HEADER_READ_TIMEOUT));
        loop {
            // A whole head, and the body that follows it, within the header timeout,
            // counted from the first read that has to wait (no clock read otherwise).
            let mut armed = false;
            let mut known: Option<own::Head> = None;
            // How much of `buf` has been looked at for the end of the head.
            let mut scanned = 0;
            let head = loop {
                if known.is_none() && (scanned == 0 || own::head_may_end(&buf, scanned)) {
                    match own::parse(&buf) {
                        Parsed::Request(head) => known = Some(head),
                        Parsed::Partial => {}
                        Parsed::Handoff => return Ok(Some((stream, buf.freeze()))),
                    }
                }
                // The body may still be coming: bounded, as the head limits its length.
                if let Some(head) = known.take_if(|head| buf.len() >= head.len + head.body_len) {
                    break head;
                }
                if known.is_none() && buf.len() >= MAX_HEAD_SIZE {
                    // hyper answers a head over the limit with its 431.
                    return Ok(Some((stream, buf.freeze())));
                }
                scanned = buf.len();
                let idle = buf.is_empty();
                let wait = poll_fn(|cx| {
                    match poll_read_some(&mut stream, &mut buf, cx) {
                        Poll::Ready(Ok(0)) | Poll::Ready(Err(_)) => return Poll::Ready(Wait::Stop),
                        Poll::Ready(Ok(_)) => return Poll::Ready(Wait::Read),
                        Poll::Pending => {}
                    }
                    if idle && drain.poll_started(drain_signal.as_mut(), &mut drain_waker, cx) {
                        return Poll::Ready(Wait::Stop);
                    }
                    if !armed {
                        timer
                            .as_mut()
                            .reset(tokio::time::Instant::now() + HEADER_READ_TIMEOUT);
                        armed = true;
                    }
                    timer.as_mut().poll(cx).map(|()| Wait::Stop)
                })
                .await;
                if let Wait::Stop = wait {
                    return Ok(None);
                }
            };
            let head_bytes = buf.split_to(head.len).freeze();
            let body = buf.split_to(head.body_len).freeze();
            if buf.is_empty() {
                // Give the read buffer back while the connection waits: an idle
                // keep-alive connection holds no allocation.
                buf = BytesMut::new();
            }
            let Some(request) = own::request(&head, &head_bytes, ()) else {
                // A head `http` cannot hold: hyper, which parses the same way, answers it.
                let mut replay = BytesMut::from(&head_bytes[..]);
                replay.extend_from_slice(&body);
                replay.extend_from_slice(&buf);
                return Ok(Some((stream, replay.freeze())));
            };
            drop(head_bytes);
            let request = with_peer(request.map(|()| RequestBody::full(body)), self.peer);
            let mut service = self.service.clone();
            if let Err(never) = poll_fn(|cx| service.poll_ready(cx)).await {
                match never {}
            }
            let answer = service.call(request);
            let Some(response) = answer_or_hangup(answer, &mut stream, &mut buf).await else {
                return Ok(None);
            };
            let close = head.close || drain.is_started();
            if write_response(&mut stream, response, close).await? {
                let _ = stream.shutdown().await;
                return Ok(None);
            }
        }
    }

    /// Serves the rest of the connection with hyper, `replay` first.
    async fn by_hyper(&mut self, stream: TcpStream, replay: Bytes) -> Result<(), hyper::Error> {
        let stream = ServedStream::new(stream, replay);
        let hold = HoldUpgradeResponse(stream.hold.clone());
        let peer = self.peer;
        let service = self.service.clone();
        let handler = hyper::service::service_fn(move |request: Request<Incoming>| {
            let mut request = with_peer(request.map(RequestBody::streaming), peer);
            // Only an upgrade can be held back; other requests skip the extension.
            if request.headers().contains_key(http::header::UPGRADE) {
                request.extensions_mut().insert(hold.clone());
            }
            let mut service = service.clone();
            // Call the service now if it is ready, as hyper calls this closure: the
            // request's head shares hyper's read buffer, and hyper reads again before it
            // polls this future. A head still alive then made hyper allocate a new 8 KB
            // buffer for every request.
            let call = match service.poll_ready(&mut Context::from_waker(Waker::noop())) {
                Poll::Ready(Ok(())) => Call::Now(service.call(request)),
                Poll::Ready(Err(never)) => match never {},
                Poll::Pending => Call::WhenReady(request),
            };
            async move {
                let answer = match call {
                    Call::Now(answer) => answer,
                    Call::WhenReady(request) => {
                        poll_fn(|cx| service.poll_ready(cx)).await?;
                        service.call(request)
                    }
                };
                answer.await
            }
        });
        let connection = self
            .shared
            .hyper
            .serve_connection(TokioIo::new(stream), handler)
            .with_upgrades();
        let connection = std::pin::pin!(connection);
        self.shared
            .drain
            .run(connection, |connection| connection.graceful_shutdown())
            .await
    }
}

/// Waits for `answer`, watching the socket: a client that goes away while its long-poll
/// waits drops the request (`None`), as hyper does. Bytes that come meanwhile (a
/// pipelined request) are kept in `buf`, up to the most one request may take.
async fn answer_or_hangup<F, R>(answer: F, stream: &mut TcpStream, buf: &mut BytesMut) -> Option<R>
where
    F: Future<Output = Result<R, Infallible>>,
{
    let mut answer = std::pin::pin!(answer);
    poll_fn(|cx| {
        if let Poll::Ready(Ok(response)) = answer.as_mut().poll(cx) {
            return Poll::Ready(Some(response));
        }
        while buf.len() < MAX_HEAD_SIZE + own::MAX_BODY {
            match poll_read_some(stream, buf, cx) {
                Poll::Ready(Ok(0)) | Poll::Ready(Err(_)) => return Poll::Ready(None),
                Poll::Ready(Ok(_)) => {}
                Poll::Pending => break,
            }
        }
        Poll::Pending
    })
    .await
}

/// How many bytes one read of the own path takes from the socket.
const READ_SIZE: usize = 4096;

/// Reads what the socket has and appends it to `buf`. The read goes to the stack and
/// `buf` grows only by what came: most requests are a few hundred bytes, and a 4 KB
/// buffer for each would cost more to allocate than the copy.
fn poll_read_some(
    stream: &mut TcpStream,
    buf: &mut BytesMut,
    cx: &mut Context<'_>,
) -> Poll<io::Result<usize>> {
    let mut chunk = [std::mem::MaybeUninit::<u8>::uninit(); READ_SIZE];
    let mut read = ReadBuf::uninit(&mut chunk);
    ready!(Pin::new(stream).poll_read(cx, &mut read))?;
    buf.extend_from_slice(read.filled());
    Poll::Ready(Ok(read.filled().len()))
}

/// Writes `response`; `true` when the connection must close after it (asked by either
/// side, or a body that broke its framing).
async fn write_response<B>(
    stream: &mut TcpStream,
    response: Response<B>,
    close: bool,
) -> io::Result<bool>
where
    B: Body<Data = Bytes>,
    B::Error: Into<Box<dyn StdError + Send + Sync>>,
{
    let (parts, body) = response.into_parts();
    let framing = Framing::of(parts.status, body.size_hint().exact());
    let close = close
        || parts.status.is_informational()
        || parts
            .headers
            .get(http::header::CONNECTION)
            .is_some_and(|value| own::has_token(value.as_bytes(), b"close"));
    let mut out = BytesMut::new();
    own::date_now(|date| {
        own::write_head(&mut out, parts.status, &parts.headers, framing, close, date)
    });
    let mut body = std::pin::pin!(body);
    let mut sent: u64 = 0;
    // A body that fails or breaks its framing ends the connection after what it sent.
    let broken = loop {
        // Take the frames that are ready; write what is gathered before waiting for more.
        let ready = poll_fn(|cx| Poll::Ready(body.as_mut().poll_frame(cx)))
            .await
            .map(|frame| frame.map(data_of));
        let next = match ready {
            Poll::Ready(next) => next,
            Poll::Pending => {
                stream.write_all(&out).await?;
                out.clear();
                poll_fn(|cx| body.as_mut().poll_frame(cx))
                    .await
                    .map(data_of)
            }
        };
        let data = match next {
            None => break false,
            Some(Ok(Some(data))) => data,
            Some(Ok(None)) => continue,
            Some(Err(error)) => {
                tracing::debug!(%error, "response body failed");
                break true;
            }
        };
        sent += data.len() as u64;
        match framing {
            Framing::Empty => {}
            Framing::Length(len) if sent > len => {
                tracing::debug!(len, "response body longer than its length");
                break true;
            }
            Framing::Length(_) => out.extend_from_slice(&data),
            Framing::Chunked => own::write_chunk(&mut out, &data),
        }
    };
    let broken = broken
        || match framing {
            Framing::Chunked => {
                out.extend_from_slice(own::LAST_CHUNK);
                false
            }
            Framing::Length(len) if sent != len => {
                tracing::debug!(len, sent, "response body shorter than its length");
                true
            }
            Framing::Length(_) | Framing::Empty => false,
        };
    stream.write_all(&out).await?;
    Ok(close || broken)
}

/// The data of a body frame (`None` for trailers), or the body's error.
fn data_of<E: Into<Box<dyn StdError + Send + Sync>>>(
    frame: Result<http_body::Frame<Bytes>, E>,
) -> Result<Option<Bytes>, Box<dyn StdError + Send + Sync>> {
    frame
        .map(|frame| frame.into_data().ok())
        .map_err(Into::into)
}

/// The body of a request [`serve`] hands to its service: read whole by its own HTTP/1.1
/// path, or streamed by hyper.
#[derive(Debug)]
pub struct RequestBody(BodyKind);

#[derive(Debug)]
enum BodyKind {
    /// The whole body; `None` once handed out.
    Full(Option<Bytes>),
    Streaming(Incoming),
}

impl RequestBody {
    fn full(body: Bytes) -> Self {
        Self(BodyKind::Full((!body.is_empty()).then_some(body)))
    }

    fn streaming(body: Incoming) -> Self {
        Self(BodyKind::Streaming(body))
    }
}

impl Body for RequestBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, hyper::Error>>> {
        match &mut self.get_mut().0 {
            BodyKind::Full(body) => {
                Poll::Ready(body.take().map(|data| Ok(http_body::Frame::data(data))))
            }
            BodyKind::Streaming(body) => Pin::new(body).poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.0 {
            BodyKind::Full(body) => body.is_none(),
            BodyKind::Streaming(body) => body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> http_body::SizeHint {
        match &self.0 {
            BodyKind::Full(body) => {
                http_body::SizeHint::with_exact(body.as_ref().map_or(0, |body| body.len() as u64))
            }
            BodyKind::Streaming(body) => body.size_hint(),
        }
    }
}

/// A request given to the service at once, or kept until the service is ready.
enum Call<F, R> {
    Now(F),
    WhenReady(R),
}

/// Tells every connection to finish its request in flight and close. A connection checks
/// one flag when it wakes, and registers for the signal again only when its waker
/// changes: a `CancellationToken` polled beside each connection took two locks on every
/// wake-up of every connection.
#[derive(Default)]
struct DrainSignal {
    started: AtomicBool,
    notify: Notify,
}

impl DrainSignal {
    fn start(&self) {
        self.started.store(true, Ordering::Release);
        self.notify.notify_waiters();
    }

    fn is_started(&self) -> bool {
        self.started.load(Ordering::Acquire)
    }

    /// Whether the drain has started; if not, `cx` is woken when it does. `signal` is
    /// this task's `notified()`, registered again only when the task's waker changes
    /// (`registered` remembers the last one).
    fn poll_started(
        &self,
        signal: Pin<&mut Notified<'_>>,
        registered: &mut Option<Waker>,
        cx: &mut Context<'_>,
    ) -> bool {
        if !registered
            .as_ref()
            .is_some_and(|waker| waker.will_wake(cx.waker()))
        {
            // Registers this waker; a signal given before completes it at once.
            if signal.poll(cx).is_ready() {
                return true;
            }
            *registered = Some(cx.waker().clone());
        }
        self.is_started()
    }

    /// Runs `connection` to its end, calling `shut_down` on it once the drain starts.
    async fn run<C: Future>(
        &self,
        mut connection: Pin<&mut C>,
        shut_down: impl FnOnce(Pin<&mut C>),
    ) -> C::Output {
        let mut signal = std::pin::pin!(self.notify.notified());
        let mut registered: Option<Waker> = None;
        let ended = poll_fn(|cx| {
            if let Poll::Ready(output) = connection.as_mut().poll(cx) {
                return Poll::Ready(Some(output));
            }
            if self.poll_started(signal.as_mut(), &mut registered, cx) {
                Poll::Ready(None)
            } else {
                Poll::Pending
            }
        })
        .await;
        match ended {
            Some(output) => output,
            None => {
                shut_down(connection.as_mut());
                connection.await
            }
        }
    }
}

/// Gives `request` its peer's address when it can open a session, the one reader of it;
/// the others skip the extension (three allocations a request).
fn with_peer(mut request: Request<RequestBody>, peer: SocketAddr) -> Request<RequestBody> {
    if may_open_session(&request) {
        request.extensions_mut().insert(RemoteAddr(peer));
    }
    request
}

/// Whether `request` can open an Engine.IO session: a GET that names no session id.
fn may_open_session<B>(request: &Request<B>) -> bool {
    request.method() == http::Method::GET
        && crate::engine::Query::parse(request.uri().query().unwrap_or(""))
            .sid
            .is_none()
}

/// Turns Nagle's algorithm off for every connection `listener` accepts, once: accepted
/// sockets inherit `TCP_NODELAY` from their listener on Linux, which saves a system call
/// per connection. `false` where that does not hold: each connection then sets it.
fn set_nodelay_for_all(listener: &TcpListener) -> bool {
    cfg!(target_os = "linux")
        && socket2::SockRef::from(listener)
            .set_tcp_nodelay(true)
            .is_ok()
}

/// Request extension by which the engine asks [`serve`]'s stream to hold back the `101`
/// it is about to send, so that the session's driver writes it together with the open
/// packet: one write and one wake-up of the client instead of two per connection.
#[derive(Clone)]
pub(crate) struct HoldUpgradeResponse(Arc<AtomicBool>);

impl HoldUpgradeResponse {
    /// From now on the connection's writes are held until the driver takes the stream.
    pub(crate) fn hold(&self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// A TCP stream served to hyper that keeps what hyper writes once holding was asked
/// for (see [`HoldUpgradeResponse`]).
pub(crate) struct ServedStream {
    stream: TcpStream,
    /// Bytes the own HTTP/1.1 path read before handing the connection to hyper, read
    /// again first.
    replay: Bytes,
    hold: Arc<AtomicBool>,
    held: Vec<u8>,
}

impl ServedStream {
    fn new(stream: TcpStream, replay: Bytes) -> Self {
        Self {
            stream,
            replay,
            hold: Arc::new(AtomicBool::new(false)),
            held: Vec::new(),
        }
    }

    /// The stream, the bytes held back that must be written before anything else, and
    /// the replayed bytes hyper did not read (they come before the stream's).
    pub(crate) fn into_parts(self) -> (TcpStream, Vec<u8>, Bytes) {
        (self.stream, self.held, self.replay)
    }

    fn holding(&self) -> bool {
        self.hold.load(Ordering::Relaxed)
    }
}

impl AsyncRead for ServedStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if !self.replay.is_empty() {
            let len = self.replay.len().min(buf.remaining());
            buf.put_slice(&self.replay[..len]);
            bytes::Buf::advance(&mut self.replay, len);
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for ServedStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.holding() {
            self.held.extend_from_slice(buf);
            return Poll::Ready(Ok(buf.len()));
        }
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        if self.holding() {
            let mut written = 0;
            for buf in bufs {
                self.held.extend_from_slice(buf);
                written += buf.len();
            }
            return Poll::Ready(Ok(written));
        }
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.holding() {
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    async fn connected_pair() -> (TcpStream, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, _) = listener.accept().await.unwrap();
        (server, client)
    }

    /// A connection that runs until it is told to shut down.
    #[derive(Default)]
    struct FakeConnection {
        shut_down: bool,
    }

    impl Future for FakeConnection {
        type Output = &'static str;

        fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<&'static str> {
            if self.shut_down {
                Poll::Ready("shut down")
            } else {
                Poll::Pending
            }
        }
    }

    fn shut_down(connection: Pin<&mut FakeConnection>) {
        connection.get_mut().shut_down = true;
    }

    #[tokio::test]
    async fn drain_shuts_down_a_running_connection() {
        let drain = Arc::new(DrainSignal::default());
        let running = tokio::spawn({
            let drain = drain.clone();
            async move {
                let connection = std::pin::pin!(FakeConnection::default());
                drain.run(connection, shut_down).await
            }
        });
        for _ in 0..3 {
            tokio::task::yield_now().await;
        }
        assert!(!running.is_finished(), "no drain yet");
        drain.start();
        let ended = tokio::time::timeout(Duration::from_secs(5), running).await;
        assert_eq!(ended.expect("woken by the drain").unwrap(), "shut down");
    }

    #[tokio::test]
    async fn drain_started_before_a_connection_shuts_it_down_at_once() {
        let drain = DrainSignal::default();
        drain.start();
        let connection = std::pin::pin!(FakeConnection::default());
        assert_eq!(drain.run(connection, shut_down).await, "shut down");
    }

    #[tokio::test]
    async fn a_connection_that_ends_on_its_own_is_not_shut_down() {
        let drain = DrainSignal::default();
        let connection = std::pin::pin!(std::future::ready("ended"));
        let output = drain.run(connection, |_| panic!("not shut down")).await;
        assert_eq!(output, "ended");
    }

    #[test]
    fn only_gets_without_a_session_id_get_the_peer_address() {
        let request =
            |method: &str, uri: &str| Request::builder().method(method).uri(uri).body(()).unwrap();
        let may_open = |method, uri| may_open_session(&request(method, uri));
        assert!(may_open("GET", "/socket.io/?EIO=4&transport=polling&t=1"));
        assert!(may_open("GET", "/socket.io/?EIO=4&transport=websocket"));
        assert!(may_open(
            "GET",
            "/socket.io/?EIO=4&transport=polling&xsid=1"
        ));
        assert!(may_open("GET", "/socket.io/"));
        assert!(!may_open(
            "GET",
            "/socket.io/?EIO=4&transport=polling&sid=abc"
        ));
        assert!(!may_open("GET", "/socket.io/?sid=&EIO=4"));
        assert!(!may_open("POST", "/socket.io/?EIO=4&transport=polling"));
    }

    #[tokio::test]
    async fn accepted_connections_have_nagle_off() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let inherited = set_nodelay_for_all(&listener);
        assert_eq!(inherited, cfg!(target_os = "linux"));
        let _client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, _) = listener.accept().await.unwrap();
        assert_eq!(server.nodelay().unwrap(), inherited);
    }

    /// A service that is ready only once its gate opens, and counts its calls.
    #[derive(Clone, Default)]
    struct Gated {
        open: Arc<AtomicBool>,
        waiting: Arc<std::sync::Mutex<Option<Waker>>>,
        calls: Arc<std::sync::atomic::AtomicUsize>,
    }

    impl Gated {
        /// A service that is ready from the start.
        fn opened() -> Self {
            let service = Self::default();
            service.open();
            service
        }

        fn open(&self) {
            self.open.store(true, Ordering::SeqCst);
            if let Some(waker) = self.waiting.lock().unwrap().take() {
                waker.wake();
            }
        }

        fn calls(&self) -> usize {
            self.calls.load(Ordering::SeqCst)
        }
    }

    impl Service<Request<RequestBody>> for Gated {
        type Response = Response<http_body_util::Full<Bytes>>;
        type Error = Infallible;
        type Future = std::future::Ready<Result<Self::Response, Infallible>>;

        fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
            *self.waiting.lock().unwrap() = Some(cx.waker().clone());
            if self.open.load(Ordering::SeqCst) {
                Poll::Ready(Ok(()))
            } else {
                Poll::Pending
            }
        }

        fn call(&mut self, _request: Request<RequestBody>) -> Self::Future {
            self.calls.fetch_add(1, Ordering::SeqCst);
            std::future::ready(Ok(Response::new(http_body_util::Full::new(
                Bytes::from_static(b"called"),
            ))))
        }
    }

    /// Starts `serve` with `service`; returns a client connected to it.
    async fn client_of(service: Gated) -> TcpStream {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(serve(listener, service, std::future::pending()));
        TcpStream::connect(address).await.unwrap()
    }

    /// Starts `serve` with `service` and sends it one request; returns the client.
    async fn request_to(service: Gated) -> TcpStream {
        let mut client = client_of(service).await;
        client
            .write_all(b"GET /x HTTP/1.1\r\nHost: t\r\n\r\n")
            .await
            .unwrap();
        client
    }

    async fn response_body(client: &mut TcpStream) -> String {
        let mut answer = Vec::new();
        let mut buffer = [0u8; 512];
        while !answer.ends_with(b"called") {
            let read = tokio::time::timeout(Duration::from_secs(5), client.read(&mut buffer))
                .await
                .expect("an answer")
                .unwrap();
            assert_ne!(read, 0, "closed before the answer");
            answer.extend_from_slice(&buffer[..read]);
        }
        String::from_utf8(answer).unwrap()
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_head_that_stops_coming_is_closed_after_the_header_timeout() {
        let service = Gated::opened();
        let mut client = client_of(service.clone()).await;
        let started = tokio::time::Instant::now();
        // The head's last empty line never comes.
        client
            .write_all(b"GET /x HTTP/1.1\r\nHost: t\r\n")
            .await
            .unwrap();
        let mut buffer = [0u8; 64];
        let read = client.read(&mut buffer).await.unwrap();
        assert_eq!(read, 0, "closed without an answer");
        assert!(started.elapsed() >= HEADER_READ_TIMEOUT);
        assert_eq!(service.calls(), 0);
    }

    #[tokio::test]
    async fn a_request_head_over_the_size_limit_gets_431() {
        let service = Gated::opened();
        let mut client = client_of(service.clone()).await;
        let mut head = b"GET /x HTTP/1.1\r\nHost: t\r\nCookie: ".to_vec();
        // Exactly the limit and still no end of head: all of it is read, so closing
        // after the answer resets nothing.
        head.resize(MAX_HEAD_SIZE, b'c');
        client.write_all(&head).await.unwrap();
        let mut answer = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(5), client.read_to_end(&mut answer)).await;
        let answer = String::from_utf8_lossy(&answer);
        assert!(
            answer.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"),
            "{answer}"
        );
        assert_eq!(service.calls(), 0);
    }

    #[tokio::test]
    async fn a_ready_service_answers_the_request() {
        let service = Gated::opened();
        let mut client = request_to(service.clone()).await;
        let answer = response_body(&mut client).await;
        assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
        assert_eq!(service.calls(), 1);
    }

    #[tokio::test]
    async fn a_request_waits_for_its_service_to_be_ready() {
        let service = Gated::default();
        let mut client = request_to(service.clone()).await;
        let mut buffer = [0u8; 64];
        let early =
            tokio::time::timeout(Duration::from_millis(100), client.read(&mut buffer)).await;
        assert!(early.is_err(), "no answer while the service is not ready");
        assert_eq!(service.calls(), 0);
        service.open();
        let answer = response_body(&mut client).await;
        assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
        assert_eq!(service.calls(), 1);
    }

    #[tokio::test]
    async fn writes_pass_through_until_holding_is_asked_then_are_kept_for_the_driver() {
        let (server, mut client) = connected_pair().await;
        let mut served = ServedStream::new(server, Bytes::new());
        served.write_all(b"before ").await.unwrap();
        let mut buffer = [0u8; 64];
        let read = client.read(&mut buffer).await.unwrap();
        assert_eq!(&buffer[..read], b"before ");

        HoldUpgradeResponse(served.hold.clone()).hold();
        served.write_all(b"HTTP/1.1 101 ").await.unwrap();
        let slices = [
            io::IoSlice::new(b"Switching"),
            io::IoSlice::new(b" Protocols"),
        ];
        let written = served.write_vectored(&slices).await.unwrap();
        assert_eq!(written, 19);
        served.flush().await.unwrap();
        let (mut stream, held, replay) = served.into_parts();
        assert_eq!(held, b"HTTP/1.1 101 Switching Protocols");
        assert!(replay.is_empty());

        // Nothing reached the client until the driver writes the held bytes itself.
        stream.write_all(b"!").await.unwrap();
        let read = client.read(&mut buffer).await.unwrap();
        assert_eq!(&buffer[..read], b"!");
    }

    /// Answers `<method> <path and query> <body>`; a query with `unsized` gives a body
    /// of unknown length, and `slow` one that comes after a pause.
    #[derive(Clone)]
    struct Echo;

    /// A body that does not say its length, and may make its reader wait once.
    struct Unsized {
        data: Option<Bytes>,
        pause: Option<Pin<Box<tokio::time::Sleep>>>,
    }

    impl Body for Unsized {
        type Data = Bytes;
        type Error = Infallible;

        fn poll_frame(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
        ) -> Poll<Option<Result<http_body::Frame<Bytes>, Infallible>>> {
            if let Some(pause) = &mut self.pause {
                std::task::ready!(pause.as_mut().poll(cx));
                self.pause = None;
            }
            Poll::Ready(
                self.data
                    .take()
                    .map(|data| Ok(http_body::Frame::data(data))),
            )
        }
    }

    type EchoBody = http_body_util::Either<http_body_util::Full<Bytes>, Unsized>;

    impl Service<Request<RequestBody>> for Echo {
        type Response = Response<EchoBody>;
        type Error = Infallible;
        type Future = Pin<Box<dyn Future<Output = Result<Response<EchoBody>, Infallible>> + Send>>;

        fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
            Poll::Ready(Ok(()))
        }

        fn call(&mut self, request: Request<RequestBody>) -> Self::Future {
            Box::pin(async move {
                use http_body_util::BodyExt;
                let (parts, body) = request.into_parts();
                let body = body.collect().await.map(|body| body.to_bytes());
                let text = Bytes::from(format!(
                    "{} {} {}",
                    parts.method,
                    parts.uri,
                    String::from_utf8_lossy(&body.unwrap_or_default())
                ));
                let query = parts.uri.query().unwrap_or("");
                let body = if query.contains("unsized") {
                    let pause = query
                        .contains("slow")
                        .then(|| Box::pin(tokio::time::sleep(Duration::from_millis(20))));
                    http_body_util::Either::Right(Unsized {
                        data: Some(text),
                        pause,
                    })
                } else {
                    http_body_util::Either::Left(http_body_util::Full::new(text))
                };
                Ok(Response::new(body))
            })
        }
    }

    /// Starts `serve` with [`Echo`]; returns a client connected to it.
    async fn echo_client() -> TcpStream {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(serve(listener, Echo, std::future::pending()));
        TcpStream::connect(address).await.unwrap()
    }

    /// Sends `bytes` to a fresh [`Echo`] server and reads `count` answers (see
    /// [`answers`]).
    async fn exchange(bytes: &[u8], count: usize) -> String {
        let mut client = echo_client().await;
        client.write_all(bytes).await.unwrap();
        answers(&mut client, count).await
    }

    /// Reads until `count` answers have come whole (or the stream ends); returns them
    /// with the `date` header's value replaced by `D`.
    async fn answers(client: &mut TcpStream, count: usize) -> String {
        let mut got = Vec::new();
        let mut buffer = [0u8; 1024];
        loop {
            let text = String::from_utf8_lossy(&got).into_owned();
            if whole_answers(&text) >= count {
                return without_dates(&text);
            }
            let read = tokio::time::timeout(Duration::from_secs(5), client.read(&mut buffer))
                .await
                .expect("answers in time")
                .unwrap();
            if read == 0 {
                return without_dates(&text);
            }
            got.extend_from_slice(&buffer[..read]);
        }
    }

    /// How many whole answers `text` holds (each framed by length or chunks).
    fn whole_answers(text: &str) -> usize {
        let mut rest = text;
        let mut count = 0;
        while let Some(end) = rest.find("\r\n\r\n") {
            let head = &rest[..end];
            let body = &rest[end + 4..];
            let length = head
                .lines()
                .find_map(|line| line.strip_prefix("content-length: "))
                .map(|len| len.parse::<usize>().unwrap());
            let body_len = match length {
                Some(len) if body.len() >= len => len,
                Some(_) => return count,
                None if head.contains("transfer-encoding: chunked") => {
                    match body.find("0\r\n\r\n") {
                        Some(at) => at + 5,
                        None => return count,
                    }
                }
                None => 0,
            };
            count += 1;
            rest = &body[body_len..];
        }
        count
    }

    fn without_dates(text: &str) -> String {
        text.split("\r\n")
            .map(|line| {
                if line.starts_with("date: ") {
                    "date: D"
                } else {
                    line
                }
            })
            .collect::<Vec<_>>()
            .join("\r\n")
    }

    #[tokio::test]
    async fn pipelined_requests_are_answered_in_order_on_one_connection() {
        assert_eq!(
            exchange(
                b"GET /a?x=1 HTTP/1.1\r\nHost: t\r\n\r\nPOST /b HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello",
                2
            )
            .await,
            "HTTP/1.1 200 OK\r\ndate: D\r\ncontent-length: 11\r\n\r\nGET /a?x=1 \
             HTTP/1.1 200 OK\r\ndate: D\r\ncontent-length: 13\r\n\r\nPOST /b hello"
        );
    }

    #[tokio::test]
    async fn a_body_in_pieces_is_read_whole() {
        let mut client = echo_client().await;
        client
            .write_all(b"POST /b HTTP/1.1\r\nContent-Le")
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
        client.write_all(b"ngth: 10\r\n\r\n4hel").await.unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
        client.write_all(b"lo 123").await.unwrap();
        assert_eq!(
            answers(&mut client, 1).await,
            "HTTP/1.1 200 OK\r\ndate: D\r\ncontent-length: 18\r\n\r\nPOST /b 4hello 123"
        );
    }

    #[tokio::test]
    async fn a_head_sent_a_byte_at_a_time_is_answered() {
        let mut client = echo_client().await;
        client.set_nodelay(true).unwrap();
        for byte in b"GET /slow?a=1 HTTP/1.1\r\nHost: t\r\n\r\n" {
            client.write_all(&[*byte]).await.unwrap();
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        assert_eq!(
            answers(&mut client, 1).await,
            "HTTP/1.1 200 OK\r\ndate: D\r\ncontent-length: 14\r\n\r\nGET /slow?a=1 "
        );
    }

    #[tokio::test]
    async fn connection_close_is_answered_then_the_connection_closes() {
        // `answers` reads to the end of the stream when the second never comes.
        assert_eq!(
            exchange(
                b"GET /c HTTP/1.1\r\nConnection: close\r\n\r\nGET /never HTTP/1.1\r\n\r\n",
                2
            )
            .await,
            "HTTP/1.1 200 OK\r\ndate: D\r\ncontent-length: 7\r\nconnection: close\r\n\r\nGET /c "
        );
    }

    #[tokio::test]
    async fn bodies_of_unknown_length_are_chunked() {
        assert_eq!(
            exchange(
                b"GET /u?unsized HTTP/1.1\r\n\r\nGET /u?unsized&slow HTTP/1.1\r\n\r\n",
                2
            )
            .await,
            "HTTP/1.1 200 OK\r\ndate: D\r\ntransfer-encoding: chunked\r\n\r\n\
             f\r\nGET /u?unsized \r\n0\r\n\r\n\
             HTTP/1.1 200 OK\r\ndate: D\r\ntransfer-encoding: chunked\r\n\r\n\
             14\r\nGET /u?unsized&slow \r\n0\r\n\r\n"
        );
    }

    #[tokio::test]
    async fn after_a_request_for_hyper_the_connection_stays_with_hyper() {
        // The own path answers the GET; the chunked POST, bytes already read included,
        // goes to hyper, and so does the GET after it.
        assert_eq!(
            exchange(
                b"GET /own HTTP/1.1\r\n\r\nPOST /h HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\nGET /after HTTP/1.1\r\n\r\n",
                3
            )
            .await,
            "HTTP/1.1 200 OK\r\ndate: D\r\ncontent-length: 9\r\n\r\nGET /own \
             HTTP/1.1 200 OK\r\ncontent-length: 13\r\ndate: D\r\n\r\nPOST /h hello\
             HTTP/1.1 200 OK\r\ncontent-length: 11\r\ndate: D\r\n\r\nGET /after "
        );
    }

    #[tokio::test]
    async fn malformed_heads_get_hyper_s_400_and_a_close() {
        for head in [
            &b"GET / HTTP/1.1\r\nx: a\x7fb\r\n\r\n"[..],
            b"GET /a\xffb HTTP/1.1\r\n\r\n",
            b"POST / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n",
        ] {
            assert_eq!(
                exchange(head, 2).await,
                "HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\ndate: D\r\n\r\n",
                "{}",
                head.escape_ascii()
            );
        }
    }

    #[tokio::test]
    async fn a_client_gone_before_its_answer_drops_the_request() {
        // The answer never comes; the request's future must be dropped once the client
        // closes, as a long-poll's is.
        #[derive(Clone)]
        struct Never(Arc<AtomicBool>);
        struct DropFlag(Arc<AtomicBool>);
        impl Drop for DropFlag {
            fn drop(&mut self) {
                self.0.store(true, Ordering::SeqCst);
            }
        }
        impl Service<Request<RequestBody>> for Never {
            type Response = Response<http_body_util::Full<Bytes>>;
            type Error = Infallible;
            type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;
            fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
                Poll::Ready(Ok(()))
            }
            fn call(&mut self, _request: Request<RequestBody>) -> Self::Future {
                let flag = DropFlag(self.0.clone());
                Box::pin(async move {
                    let _flag = flag;
                    std::future::pending().await
                })
            }
        }
        let dropped = Arc::new(AtomicBool::new(false));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(serve(
            listener,
            Never(dropped.clone()),
            std::future::pending(),
        ));
        let mut client = TcpStream::connect(address).await.unwrap();
        client
            .write_all(b"GET /wait HTTP/1.1\r\n\r\n")
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!dropped.load(Ordering::SeqCst), "still waiting");
        drop(client);
        for _ in 0..100 {
            if dropped.load(Ordering::SeqCst) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("the request was not dropped");
    }
}
