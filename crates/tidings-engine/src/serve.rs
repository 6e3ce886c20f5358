//! A small HTTP/1.1 server for users without a framework: accept, serve, drain.

use std::convert::Infallible;
use std::error::Error as StdError;
use std::future::{Future, poll_fn};
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use http_body::Body;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio_util::task::TaskTracker;
use tower_service::Service;

use crate::connection::RemoteAddr;

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
    S: Service<Request<Incoming>, Response = Response<B>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn StdError + Send + Sync>>,
{
    let nodelay_inherited = set_nodelay_for_all(&listener);
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .max_header_size(MAX_HEAD_SIZE);
    let drain = Arc::new(DrainSignal::default());
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
        let stream = ServedStream::new(stream);
        let hold = HoldUpgradeResponse(stream.hold.clone());
        let service = service.clone();
        let handler = hyper::service::service_fn(move |mut request: Request<Incoming>| {
            // Only a GET without a session id can open a session, the one reader of the
            // address; the others skip the extension (three allocations a request).
            if may_open_session(&request) {
                request.extensions_mut().insert(RemoteAddr(peer));
            }
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
        let connection = http
            .serve_connection(TokioIo::new(stream), handler)
            .with_upgrades();
        let drain = drain.clone();
        connections.spawn(async move {
            let connection = std::pin::pin!(connection);
            let result = drain
                .run(connection, |connection| connection.graceful_shutdown())
                .await;
            if let Err(error) = result {
                tracing::debug!(%peer, %error, "http connection ended with an error");
            }
        });
    }
    drop(listener);
    drain.start();
    connections.close();
    let _ = tokio::time::timeout(DRAIN_TIMEOUT, connections.wait()).await;
    Ok(())
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
            if !registered
                .as_ref()
                .is_some_and(|waker| waker.will_wake(cx.waker()))
            {
                // Registers this waker; a signal given before completes it at once.
                if signal.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(None);
                }
                registered = Some(cx.waker().clone());
            }
            if self.started.load(Ordering::Acquire) {
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
    hold: Arc<AtomicBool>,
    held: Vec<u8>,
}

impl ServedStream {
    fn new(stream: TcpStream) -> Self {
        Self {
            stream,
            hold: Arc::new(AtomicBool::new(false)),
            held: Vec::new(),
        }
    }

    /// The stream, and the bytes held back that must be written before anything else.
    pub(crate) fn into_parts(self) -> (TcpStream, Vec<u8>) {
        (self.stream, self.held)
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

    impl Service<Request<Incoming>> for Gated {
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

        fn call(&mut self, _request: Request<Incoming>) -> Self::Future {
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
        let mut served = ServedStream::new(server);
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
        let (mut stream, held) = served.into_parts();
        assert_eq!(held, b"HTTP/1.1 101 Switching Protocols");

        // Nothing reached the client until the driver writes the held bytes itself.
        stream.write_all(b"!").await.unwrap();
        let read = client.read(&mut buffer).await.unwrap();
        assert_eq!(&buffer[..read], b"!");
    }
}
