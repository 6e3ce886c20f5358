//! The shapes of user callbacks, boxed once behind generic registration methods.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::args::Args;
use crate::error::ConnectError;
use crate::event::Event;
use crate::reason::DisconnectReason;
use crate::socket::Socket;

/// A boxed handler future.
pub(crate) type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// Runs for each received event of one name.
pub(crate) type EventHandler = Arc<dyn Fn(Socket, Event) -> BoxFuture<()> + Send + Sync>;

/// Runs when a socket connects to a namespace (`connection`).
pub(crate) type ConnectionHandler = Arc<dyn Fn(Socket) -> BoxFuture<()> + Send + Sync>;

/// Runs before a socket connects, in order; an error refuses the connection.
pub(crate) type Middleware =
    Arc<dyn Fn(Socket) -> BoxFuture<Result<(), ConnectError>> + Send + Sync>;

/// Runs when a socket leaves (`disconnecting` and `disconnect`).
pub(crate) type DisconnectHandler =
    Arc<dyn Fn(Socket, DisconnectReason) -> BoxFuture<()> + Send + Sync>;

/// A synchronous catch-all listener: `(socket, event name, arguments)`.
pub(crate) type AnyListener = Arc<dyn Fn(&Socket, &str, &Args) + Send + Sync>;

/// A synchronous per-packet middleware; an error drops the event and goes to the
/// socket's error listeners.
pub(crate) type PacketMiddleware =
    Arc<dyn Fn(&Socket, &mut Event) -> Result<(), String> + Send + Sync>;

/// A listener for a socket's `error` (a packet middleware refused an event).
pub(crate) type ErrorListener = Arc<dyn Fn(&Socket, &str) + Send + Sync>;

pub(crate) fn event_handler<F, Fut>(handler: F) -> EventHandler
where
    F: Fn(Socket, Event) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    Arc::new(move |socket, event| Box::pin(handler(socket, event)))
}

pub(crate) fn connection_handler<F, Fut>(handler: F) -> ConnectionHandler
where
    F: Fn(Socket) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    Arc::new(move |socket| Box::pin(handler(socket)))
}

pub(crate) fn middleware<F, Fut>(middleware: F) -> Middleware
where
    F: Fn(Socket) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), ConnectError>> + Send + 'static,
{
    Arc::new(move |socket| Box::pin(middleware(socket)))
}

pub(crate) fn disconnect_handler<F, Fut>(handler: F) -> DisconnectHandler
where
    F: Fn(Socket, DisconnectReason) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    Arc::new(move |socket, reason| Box::pin(handler(socket, reason)))
}
