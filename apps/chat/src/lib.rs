//! `tidings-chat`: the classic Socket.IO chat room, served by Tidings.
//!
//! A page at `/` loads the browser client from `/socket.io/socket.io.js` and connects.
//! Every `talk` goes to everyone as `response` and back to its sender as `tail`; on top
//! of that the room has nicknames, an online count, join and leave notices, a typing
//! indicator and the recent history for newcomers. `apps/chat/README.md` is the contract.
//!
//! - [`chat`]: the Socket.IO events, mounted on a [`Server`] with [`chat::mount`].
//! - [`ChatService`]: the HTTP routes (the page, its assets, a 404 page) in front of the
//!   Socket.IO service.
//!
//! The core of it, without the extras (no nicknames, history or ack refusals):
//! ```no_run
//! use serde_json::json;
//! use tidings::Server;
//!
//! # async fn run() -> std::io::Result<()> {
//! let io = Server::default();
//! io.ns("/", |socket| async move {
//!     socket.on("talk", |socket, event| async move {
//!         let text = event.args().get::<String>(0).unwrap_or_default();
//!         let text = text.trim();
//!         if text.is_empty() || text.chars().count() > 500 {
//!             return;
//!         }
//!         let msg = json!({ "id": socket.id().as_str(), "text": text });
//!         let _ = socket.namespace().emit("response", &msg);
//!         let _ = socket.emit("tail", &msg);
//!     });
//! });
//! io.serve("127.0.0.1:3000").await
//! # }
//! ```
//!
//! The whole room, as the binary serves it:
//! ```no_run
//! # async fn run() -> std::io::Result<()> {
//! let io = tidings::Server::default();
//! let app = tidings_chat::app(&io);
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//! tidings_engine::serve(listener, app, std::future::pending()).await
//! # }
//! ```

pub mod chat;
mod web;

pub use web::ChatService;

use tidings::Server;

/// Mounts the chat on `io`'s main namespace and returns the service that answers every
/// HTTP request: the page and its assets, and Socket.IO under `io`'s path.
pub fn app(io: &Server) -> ChatService {
    chat::mount(io);
    ChatService::new(io)
}
