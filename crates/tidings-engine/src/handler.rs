//! The boundary toward the layer above: four calls per session.

use bytes::Bytes;
use tidings_eio::CloseReason;

use crate::connection::Connection;

/// Receives the life of every session, in order for each one.
///
/// Calls are synchronous and made from the task that handled the input, without any lock
/// held, so a handler may send on the connection. A handler that needs to await should
/// queue the work to a task of its own instead of blocking.
pub trait Handler: Send + Sync + 'static {
    /// A session opened (its open packet is queued).
    fn on_connect(&self, connection: &Connection);

    /// A text message arrived.
    fn on_message(&self, connection: &Connection, text: String);

    /// A binary message arrived.
    fn on_binary(&self, connection: &Connection, data: Bytes);

    /// The session moved from polling to WebSocket.
    fn on_upgrade(&self, connection: &Connection) {
        let _ = connection;
    }

    /// The session closed; no other call follows for it.
    fn on_close(&self, connection: &Connection, reason: CloseReason);
}
