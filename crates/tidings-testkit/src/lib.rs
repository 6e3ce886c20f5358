//! Test helpers for Tidings' integration tests: a server on a loopback port, raw HTTP
//! requests, and a scripted WebSocket peer, so that tests read as wire transcripts.
//!
//! Not published; used only as a dev-dependency. Helpers panic with a clear message
//! instead of returning errors: a failed expectation is a failed test.
//!
//! # Layout
//! - [`TestServer`]: serves a service on `127.0.0.1:0` until dropped.
//! - [`http()`], [`HttpReply`]: one request on its own connection.
//! - [`WsPeer`]: a WebSocket client that sends and expects literal frames.

#![allow(clippy::unwrap_used)]

use std::convert::Infallible;
use std::error::Error as StdError;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http::{HeaderMap, Request, Response};
use http_body::Body;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use tidings_engine::RequestBody;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{self, Message};
use tower_service::Service;

/// How long any expectation waits before the test fails.
pub const WAIT: Duration = Duration::from_secs(5);

/// A server on a free loopback port, stopped when dropped.
#[derive(Debug)]
pub struct TestServer {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
}

impl TestServer {
    /// Starts serving `service` with [`tidings_engine::serve`].
    pub async fn start<S, B>(service: S) -> Self
    where
        S: Service<Request<RequestBody>, Response = Response<B>, Error = Infallible>
            + Clone
            + Send
            + 'static,
        S::Future: Send + 'static,
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: Into<Box<dyn StdError + Send + Sync>>,
    {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(tidings_engine::serve(listener, service, async move {
            let _ = stopped.await;
        }));
        Self {
            addr,
            stop: Some(stop),
        }
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A complete HTTP response.
#[derive(Debug)]
pub struct HttpReply {
    /// The status code.
    pub status: u16,
    /// The response headers.
    pub headers: HeaderMap,
    /// The whole body.
    pub body: Bytes,
}

impl HttpReply {
    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8(self.body.to_vec()).unwrap()
    }

    /// A header's value as text, if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|value| value.to_str().unwrap())
    }
}

/// Sends one request on a fresh connection and reads the whole response.
pub async fn http(
    addr: SocketAddr,
    method: &str,
    path_and_query: &str,
    headers: &[(&str, &str)],
    body: impl Into<Bytes>,
) -> HttpReply {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(connection);
    let mut request = Request::builder()
        .method(method)
        .uri(path_and_query)
        .header("host", addr.to_string());
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request.body(Full::new(body.into())).unwrap();
    let response = tokio::time::timeout(WAIT, sender.send_request(request))
        .await
        .expect("response in time")
        .unwrap();
    let (parts, body) = response.into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    HttpReply {
        status: parts.status.as_u16(),
        headers: parts.headers,
        body,
    }
}

/// Starts a GET and drops the connection without reading the answer (a client that
/// went away mid-poll).
pub async fn abandoned_get(addr: SocketAddr, path_and_query: &str) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path_and_query} HTTP/1.1\r\nhost: {addr}\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    // Let the server start waiting on the poll before the client disappears.
    tokio::time::sleep(Duration::from_millis(50)).await;
    drop(stream);
}

/// What a [`WsPeer`] received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WsFrame {
    /// A text frame.
    Text(String),
    /// A binary frame.
    Binary(Bytes),
    /// A close frame with its code (`None` when it had no payload), or the end of the
    /// stream (`None` as well).
    Close(Option<u16>),
}

/// A scripted WebSocket client.
#[derive(Debug)]
pub struct WsPeer {
    stream: WebSocketStream<TcpStream>,
}

impl WsPeer {
    /// Opens a WebSocket to `path_and_query`; `Err` holds the status when the server
    /// refused the upgrade.
    pub async fn connect(addr: SocketAddr, path_and_query: &str) -> Result<Self, u16> {
        let request = format!("ws://{addr}{path_and_query}")
            .into_client_request()
            .unwrap();
        let tcp = TcpStream::connect(addr).await.unwrap();
        match tokio_tungstenite::client_async(request, tcp).await {
            Ok((stream, _)) => Ok(Self { stream }),
            Err(tungstenite::Error::Http(response)) => Err(response.status().as_u16()),
            Err(error) => panic!("websocket connect failed: {error}"),
        }
    }

    /// Sends a text frame.
    pub async fn send_text(&mut self, text: &str) {
        self.stream.send(Message::text(text)).await.unwrap();
    }

    /// Sends a binary frame.
    pub async fn send_binary(&mut self, data: &[u8]) {
        self.stream
            .send(Message::binary(data.to_vec()))
            .await
            .unwrap();
    }

    /// Waits for the next data or close frame (pings are skipped).
    pub async fn recv(&mut self) -> WsFrame {
        loop {
            let next = tokio::time::timeout(WAIT, self.stream.next())
                .await
                .expect("a websocket frame in time");
            return match next {
                Some(Ok(Message::Text(text))) => WsFrame::Text(text.to_string()),
                Some(Ok(Message::Binary(data))) => WsFrame::Binary(data),
                Some(Ok(Message::Close(frame))) => {
                    WsFrame::Close(frame.map(|frame: CloseFrame| u16::from(frame.code)))
                }
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => WsFrame::Close(None),
            };
        }
    }

    /// Waits for a text frame and returns it.
    pub async fn recv_text(&mut self) -> String {
        match self.recv().await {
            WsFrame::Text(text) => text,
            other => panic!("expected a text frame, got {other:?}"),
        }
    }

    /// Whether nothing arrives within `quiet`.
    pub async fn is_silent_for(&mut self, quiet: Duration) -> bool {
        tokio::time::timeout(quiet, self.stream.next())
            .await
            .is_err()
    }

    /// Closes the connection with a close frame.
    pub async fn close(mut self) {
        let _ = self.stream.close(None).await;
    }
}

/// The `sid` field of an open packet such as `0{"sid":"…",…}`.
pub fn sid_of(open_packet: &str) -> String {
    let start = open_packet.find("\"sid\":\"").expect("an open packet") + 7;
    let end = open_packet[start..].find('"').unwrap() + start;
    open_packet[start..end].to_owned()
}
