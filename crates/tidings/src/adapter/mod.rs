//! Adapters: who is in which room, and how broadcasts reach sockets, here and on other
//! nodes.
//!
//! A namespace holds one `Arc<dyn Adapter>`. The [`LocalAdapter`] keeps the room index of
//! this node and delivers to local sockets; a cluster adapter (Redis, for example) wraps
//! the same [`RoomIndex`] and also publishes each operation to the other nodes, following
//! the wire format of Node's adapters.

mod ack;
mod local;

use std::collections::HashSet;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

pub use ack::AckCollector;
pub use local::{LocalAdapter, RoomIndex};
use tidings_eio::Sid;
use tidings_engine::Frame;

use crate::error::AdapterError;
use crate::socket::Socket;

/// A room name. Every socket is also in the room named after its own id.
pub type Room = String;

/// A boxed future, as adapters return for requests that may cross nodes.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The flags of a broadcast that travel with it (protocol names in brackets).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BroadcastFlags {
    /// Dropped for recipients whose transport cannot take it at once (`volatile`).
    pub volatile: bool,
    /// Ask for per-message compression (`compress`); Tidings does not compress yet.
    pub compress: bool,
    /// Only this node's sockets (`local`): never published to other nodes.
    pub local: bool,
}

/// Which sockets a broadcast or a bulk operation targets.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BroadcastOptions {
    /// Target these rooms (union, each socket once); empty means every socket.
    pub rooms: Vec<Room>,
    /// Leave out the sockets in any of these rooms.
    pub except: Vec<Room>,
    /// Delivery flags.
    pub flags: BroadcastFlags,
}

/// A packet encoded once for a whole broadcast: every recipient gets the same bytes.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct EncodedPacket {
    /// The Engine.IO frames of the packet (a text frame, then one per attachment).
    pub frames: Arc<[Frame]>,
    /// The event name, for the recipients' outgoing catch-all listeners.
    pub event: Arc<str>,
    /// The event arguments, for the same listeners.
    pub args: Arc<crate::Args>,
}

/// The room index and delivery of one namespace, possibly across nodes.
///
/// Hot calls are synchronous (local work now, remote work queued); requests that wait for
/// other nodes return boxed futures.
pub trait Adapter: Send + Sync + 'static {
    /// Adds a socket to rooms.
    fn add_all(&self, sid: Sid, rooms: &[Room]);

    /// Removes a socket from a room.
    fn del(&self, sid: Sid, room: &str);

    /// Removes a socket from every room (it disconnected).
    fn del_all(&self, sid: Sid);

    /// The rooms a local socket is in, its own id room excluded.
    fn socket_rooms(&self, sid: Sid) -> Vec<Room>;

    /// The ids of the local sockets that `options` targets.
    fn sockets(&self, options: &BroadcastOptions) -> HashSet<Sid>;

    /// Every room name known here (`allRooms`), socket id rooms excluded.
    fn rooms(&self) -> Vec<Room>;

    /// Delivers a packet to the targeted local sockets and, unless `local`, to the other
    /// nodes. Returns how many local sockets it was handed to.
    fn broadcast(&self, packet: &EncodedPacket, options: &BroadcastOptions) -> usize;

    /// Delivers a packet that asks for acknowledgements (its ack `id` is the same for
    /// every recipient) and reports to `collector`: this node's client count at once, the
    /// other nodes' counts and answers as they come.
    fn broadcast_with_ack(
        &self,
        packet: &EncodedPacket,
        options: &BroadcastOptions,
        id: u64,
        collector: &AckCollector,
    );

    /// The targeted sockets of every node, as local handles where they are local.
    fn fetch_sockets(
        &self,
        options: &BroadcastOptions,
    ) -> BoxFuture<'static, Result<Vec<Socket>, AdapterError>>;

    /// Makes the targeted sockets of every node join `rooms`.
    fn add_sockets(&self, options: &BroadcastOptions, rooms: &[Room]);

    /// Makes the targeted sockets of every node leave `rooms`.
    fn del_sockets(&self, options: &BroadcastOptions, rooms: &[Room]);

    /// Disconnects the targeted sockets of every node.
    fn disconnect_sockets(&self, options: &BroadcastOptions, close: bool);

    /// How many nodes share this namespace (1 for a single node).
    fn server_count(&self) -> BoxFuture<'static, usize>;
}

impl fmt::Debug for dyn Adapter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Adapter")
    }
}
