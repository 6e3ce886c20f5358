//! Tidings: a Socket.IO v5 server.
//!
//! The official clients (`socket.io-client` 4.x, `python-socketio` 5.x, …) connect to it
//! unchanged, over WebSocket or HTTP long-polling. A Node.js developer who knows
//! Socket.IO 4.8 finds the same concepts here: namespaces, rooms, broadcasts,
//! acknowledgements, binary data, middlewares and connection state recovery.
//!
//! This crate is the facade users depend on. It is not a client, and it does not speak
//! Engine.IO v3 (Socket.IO 2.x clients).
//!
//! # Example
//! The classic chat room: every `talk` goes to everyone as `response`, and back to the
//! sender as `tail`.
//! ```no_run
//! use tidings::Server;
//!
//! #[tokio::main]
//! async fn main() -> std::io::Result<()> {
//!     let io = Server::default();
//!     io.ns("/", |socket| async move {
//!         socket.on("talk", |socket, event| async move {
//!             let _ = socket.namespace().emit("response", event.args().clone());
//!             let _ = socket.emit("tail", event.into_args());
//!         });
//!     });
//!     io.serve("127.0.0.1:3000").await
//! }
//! ```
//!
//! # Handles
//! [`Server`], [`Namespace`] and [`Socket`] are cheap `Clone` handles without type
//! parameters; the adapter sits behind `Arc<dyn Adapter>`. Emits are synchronous (they
//! queue); calls that wait for answers are `async`.
//!
//! # Order
//! The events of one socket are handled one after another, in arrival order. Handlers of
//! different sockets run concurrently.
//!
//! # Back-pressure
//! Each connection has a bounded outgoing queue (`max_queued_packets`, 4,096 packets).
//! A volatile packet is dropped when the transport cannot take it at once (over polling:
//! no GET is waiting; over WebSocket: packets are still queued). When a non-volatile
//! packet finds the queue full, the client is not reading: the connection is closed and
//! its sockets disconnect with "transport error", so one slow client cannot grow server
//! memory without bound. Broadcasts to a whole namespace reach WebSocket connections
//! through a shared log instead of their queues; a connection that falls more than
//! `max_queued_packets` broadcasts behind it is closed the same way. Received events wait
//! for their handlers in a bounded queue too (`max_queued_events`, 1,024 events, and
//! `max_queued_event_bytes`, 4 MiB as received); a client that floods past either is
//! disconnected the same way. Pending acknowledgements are bounded per socket
//! (`max_pending_acks`, 1,024), and so are the namespaces one connection joins at once
//! (`max_namespaces_per_connection`, 100).
//!
//! # Layout
//! - [`Server`], [`ServerConfig`]: construction, mounting ([`Server::service`]) and
//!   [`Server::serve`].
//! - [`Namespace`], [`Socket`], [`Event`], [`Args`]: the programming model.
//! - [`BroadcastOperator`]: `to`/`except`/flags, then `emit` and friends.
//! - [`adapter`]: the [`Adapter`] trait and the single-node [`LocalAdapter`].
//! - [`Handshake`], [`DisconnectReason`], errors.

pub mod adapter;
mod args;
mod assets;
mod broadcast;
mod client;
mod config;
mod error;
mod event;
mod handler;
mod handshake;
mod namespace;
mod parser;
mod reason;
mod recovery;
mod server;
mod socket;
mod sync;

pub use adapter::{Adapter, LocalAdapter};
pub use args::Args;
pub use broadcast::BroadcastOperator;
pub use config::{RecoveryConfig, ServerConfig};
pub use error::{AckError, AdapterError, BroadcastAckError, ConnectError, EmitError};
pub use event::Event;
pub use handshake::Handshake;
pub use namespace::{Namespace, NamespaceRef};
pub use parser::Parser;
pub use reason::DisconnectReason;
pub use server::{Server, SocketIoLayer, SocketIoMiddleware, SocketIoService};
pub use socket::{IntoRooms, Socket, SocketEmitter};
pub use tidings_eio::{CloseReason, Sid, Transport};
pub use tidings_engine::{Connection, Cors, ResponseFuture};
