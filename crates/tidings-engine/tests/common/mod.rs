//! Shared setup of the engine's integration tests: an echo handler on a loopback server.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use tidings_engine::{CloseReason, Connection, Engine, EngineConfig, Handler};
use tidings_testkit::{HttpReply, TestServer, http, sid_of};

/// Echoes every message and records each session's close reason.
#[derive(Clone, Default)]
pub struct Echo {
    pub closed: Arc<Mutex<Vec<CloseReason>>>,
}

impl Handler for Echo {
    fn on_connect(&self, _: &Connection) {}

    fn on_message(&self, connection: &Connection, text: String) {
        let _ = connection.send_text(&text);
    }

    fn on_binary(&self, connection: &Connection, data: Bytes) {
        let _ = connection.send_binary(data);
    }

    fn on_close(&self, _: &Connection, reason: CloseReason) {
        self.closed.lock().unwrap().push(reason);
    }
}

/// Fast heartbeat settings, as the protocol test suites use.
pub fn fast() -> EngineConfig {
    EngineConfig::default()
        .ping_interval(Duration::from_millis(300))
        .ping_timeout(Duration::from_millis(200))
}

pub struct Setup {
    pub server: TestServer,
    pub engine: Engine,
    pub echo: Echo,
}

pub async fn start(config: EngineConfig) -> Setup {
    let echo = Echo::default();
    let engine = Engine::new(config, echo.clone());
    let server = TestServer::start(engine.clone()).await;
    Setup {
        server,
        engine,
        echo,
    }
}

impl Setup {
    pub async fn get(&self, query: &str) -> HttpReply {
        http(
            self.server.addr(),
            "GET",
            &format!("/engine.io/?{query}"),
            &[],
            Bytes::new(),
        )
        .await
    }

    pub async fn post(&self, query: &str, body: &str) -> HttpReply {
        http(
            self.server.addr(),
            "POST",
            &format!("/engine.io/?{query}"),
            &[("content-type", "text/plain;charset=UTF-8")],
            body.to_owned(),
        )
        .await
    }

    /// Opens a polling session and returns its sid.
    pub async fn handshake(&self) -> String {
        let reply = self.get("EIO=4&transport=polling").await;
        assert_eq!(reply.status, 200);
        sid_of(&reply.text())
    }

    /// Starts a GET for `sid` that the server holds open, and gives it time to arrive.
    pub async fn pending_get(&self, sid: &str) -> tokio::task::JoinHandle<HttpReply> {
        let addr = self.server.addr();
        let path = format!("/engine.io/?{}", Self::poll_query(sid));
        let pending =
            tokio::spawn(async move { http(addr, "GET", &path, &[], Bytes::new()).await });
        tokio::time::sleep(Duration::from_millis(50)).await;
        pending
    }

    pub fn poll_query(sid: &str) -> String {
        format!("EIO=4&transport=polling&sid={sid}")
    }

    /// Polls the session until a request with its sid is refused as unknown.
    pub async fn wait_until_gone(&self, sid: &str) {
        for _ in 0..100 {
            if self
                .engine
                .connection(tidings_engine::Sid::parse(sid).unwrap())
                .is_none()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("session {sid} is still open");
    }
}
