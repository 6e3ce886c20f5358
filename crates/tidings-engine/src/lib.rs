//! The Engine.IO v4 server: HTTP long-polling, WebSocket and the upgrade between them, on
//! hyper and tokio.
//!
//! The protocol rules live in the sans-IO [`tidings_eio::Session`]; this crate is the IO
//! around it: it routes HTTP requests, holds the pending GETs, runs one small driver task
//! per session (timers, and the WebSocket once there is one) and reports every session to
//! a [`Handler`]. It never names a Socket.IO concept: that is the `tidings` crate's job.
//!
//! # Layout
//! - [`Engine`]: the registry and the `tower` service that routes requests.
//! - [`EngineConfig`], [`Cors`]: settings.
//! - [`Handler`], [`Connection`]: the boundary toward the layer above.
//! - `polling`, `websocket`: the two transports and the per-session driver.
//! - [`serve`]: a minimal HTTP/1.1 server with graceful shutdown; `http1` is the sans-IO
//!   half of its own path for long-polling's plain requests (the rest goes to hyper).
//! - [`ws_codec`]: the sans-IO WebSocket frame codec under the WebSocket transport.
//!
//! # Example
//! ```no_run
//! use bytes::Bytes;
//! use tidings_engine::{CloseReason, Connection, Engine, EngineConfig, Handler};
//!
//! struct Echo;
//!
//! impl Handler for Echo {
//!     fn on_connect(&self, _: &Connection) {}
//!     fn on_message(&self, connection: &Connection, text: String) {
//!         let _ = connection.send_text(&text);
//!     }
//!     fn on_binary(&self, connection: &Connection, data: Bytes) {
//!         let _ = connection.send_binary(data);
//!     }
//!     fn on_close(&self, _: &Connection, _: CloseReason) {}
//! }
//!
//! # async fn run() -> std::io::Result<()> {
//! let engine = Engine::new(EngineConfig::default(), Echo);
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//! tidings_engine::serve(listener, engine, std::future::pending()).await
//! # }
//! ```

mod clock;
mod config;
mod connection;
mod engine;
#[cfg(any(test, feature = "fuzzing"))]
#[doc(hidden)]
pub mod fuzz_support;
mod handler;
mod http1;
mod log;
mod polling;
mod response;
mod serve;
mod websocket;
pub mod ws_codec;

pub use config::{
    AllowRequest, ConnectionErrorHook, Cors, EngineConfig, EngineMiddleware, GenerateId,
    HeadersHook,
};
pub use connection::{Connection, RemoteAddr, RequestInfo, SendError};
pub use engine::{CLOSE_GRACE, ConnectionError, Engine};
pub use handler::Handler;
pub use log::{FrameLog, LOG_CAPACITY};
pub use response::{ResponseBody, ResponseFuture, accepts_gzip};
pub use serve::{RequestBody, serve};
pub use tidings_eio::{CloseReason, ErrorCode, Frame, Sid, Transport};
