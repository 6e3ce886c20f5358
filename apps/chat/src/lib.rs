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
