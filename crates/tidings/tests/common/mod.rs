//! Shared setup of the facade's integration tests: a server on a loopback port and a
//! raw Socket.IO peer that speaks literal wire strings over WebSocket.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tidings::{Server, ServerConfig};
use tidings_testkit::{WsFrame, WsPeer, sid_of};

/// A server serving on a free loopback port until dropped.
pub struct Running {
    pub io: Server,
    pub addr: SocketAddr,
}

impl Drop for Running {
    fn drop(&mut self) {
        let io = self.io.clone();
        tokio::spawn(async move { io.close().await });
    }
}

pub async fn serve(io: Server) -> Running {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = io.clone();
    tokio::spawn(async move { server.serve_listener(listener).await });
    Running { io, addr }
}

pub fn fast() -> ServerConfig {
    ServerConfig::default()
        .ping_interval(Duration::from_millis(300))
        .ping_timeout(Duration::from_millis(200))
}

/// A raw Engine.IO/Socket.IO client over WebSocket.
pub struct Peer {
    pub ws: WsPeer,
    pub sid: String,
}

impl Peer {
    /// Opens a WebSocket-only session and reads the open packet.
    pub async fn open(addr: SocketAddr) -> Self {
        Self::open_query(addr, "").await
    }

    pub async fn open_query(addr: SocketAddr, extra_query: &str) -> Self {
        let mut ws = WsPeer::connect(
            addr,
            &format!("/socket.io/?EIO=4&transport=websocket{extra_query}"),
        )
        .await
        .unwrap();
        let open = ws.recv_text().await;
        assert!(open.starts_with("0{"), "{open}");
        Self {
            sid: sid_of(&open),
            ws,
        }
    }

    /// Opens a session and connects to `/`, returning the socket id.
    pub async fn connected(addr: SocketAddr) -> (Self, String) {
        let mut peer = Self::open(addr).await;
        peer.send("40").await;
        let reply = peer.recv().await;
        let id = socket_id(&reply);
        (peer, id)
    }

    pub async fn send(&mut self, text: &str) {
        self.ws.send_text(text).await;
    }

    pub async fn send_binary(&mut self, data: &[u8]) {
        self.ws.send_binary(data).await;
    }

    /// The next frame, answering heartbeat pings on the way.
    pub async fn frame(&mut self) -> WsFrame {
        loop {
            match self.ws.recv().await {
                WsFrame::Text(text) if text == "2" => self.ws.send_text("3").await,
                other => return other,
            }
        }
    }

    /// The next text frame (pings answered and skipped).
    pub async fn recv(&mut self) -> String {
        match self.frame().await {
            WsFrame::Text(text) => text,
            other => panic!("expected text, got {other:?}"),
        }
    }

    /// The next frame without answering pings (to see the ping itself).
    pub async fn raw(&mut self) -> WsFrame {
        self.ws.recv().await
    }

    /// Whether nothing but pings arrives within `quiet`.
    pub async fn stays_quiet(&mut self, quiet: Duration) -> bool {
        tokio::time::timeout(quiet, self.recv()).await.is_err()
    }
}

/// The socket id in a CONNECT reply such as `40{"sid":"…"}` or `40/ns,{"sid":"…"}`.
pub fn socket_id(reply: &str) -> String {
    assert!(reply.starts_with("40"), "not a connect reply: {reply}");
    sid_of(reply)
}

/// Records strings from handlers, for assertions.
#[derive(Clone, Default)]
pub struct Log(pub Arc<Mutex<Vec<String>>>);

impl Log {
    pub fn push(&self, entry: impl Into<String>) {
        self.0.lock().unwrap().push(entry.into());
    }

    pub fn entries(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }

    /// Waits (bounded) until `count` entries were recorded.
    pub async fn wait_for(&self, count: usize) -> Vec<String> {
        for _ in 0..250 {
            if self.0.lock().unwrap().len() >= count {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.entries()
    }
}

/// Opens a polling session (the handshake GET): its sid and the query of its requests.
pub async fn polling_session(addr: SocketAddr) -> (String, String) {
    let open =
        tidings_testkit::http(addr, "GET", "/socket.io/?EIO=4&transport=polling", &[], "").await;
    let sid = sid_of(&open.text());
    let query = format!("/socket.io/?EIO=4&transport=polling&sid={sid}");
    (sid, query)
}
