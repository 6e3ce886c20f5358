//! One Engine.IO connection seen from Socket.IO: it decodes packets and routes them to
//! the connection's sockets, one per namespace.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use serde_json::{Map, Value};
use tidings_eio::{CloseReason, Sid};
use tidings_engine::{Connection, Frame, Handler, SendError};
use tidings_sio::{Packet, PacketType};

use crate::args::Args;
use crate::config::ServerConfig;
use crate::error::EmitError;
use crate::event::Event;
use crate::handshake::Handshake;
use crate::parser::{Decoded, PacketDecoder};
use crate::reason::DisconnectReason;
use crate::server::ServerState;
use crate::socket::{Job, Socket, close_for_violation};
use crate::sync::lock;

/// The Socket.IO side of one Engine.IO connection.
// The connection first: a delivery reads only it (see `Session`'s layout in tidings-eio).
#[repr(C)]
pub(crate) struct Client {
    pub(crate) connection: Connection,
    /// Whether any namespace connected yet (the connect timeout stops then).
    connected: AtomicBool,
    config: Arc<ServerConfig>,
    decoder: Mutex<PacketDecoder>,
    /// The connection's sockets, one per namespace. A list, not a map: a connection uses
    /// one or a few namespaces, and an empty list costs no allocation.
    sockets: Mutex<Sockets>,
}

impl Client {
    pub(crate) fn config(&self) -> &ServerConfig {
        &self.config
    }

    pub(crate) fn mark_connected(&self) {
        self.connected.store(true, Ordering::Release);
    }

    pub(crate) fn is_connected(&self) -> bool {
        self.connected.load(Ordering::Acquire)
    }

    /// Queues frames for the client, applying the back-pressure policy: a volatile packet
    /// the transport cannot take now is dropped; a packet that finds the queue full
    /// closes the connection ("transport error"), since dropping it would break delivery.
    pub(crate) fn send(&self, frames: &[Frame], volatile: bool) -> Result<(), EmitError> {
        if volatile && !self.connection.is_writable() {
            return Ok(());
        }
        match self.connection.send_frames(frames) {
            Ok(()) => Ok(()),
            Err(SendError::QueueFull) if volatile => Ok(()),
            Err(SendError::QueueFull) => {
                tracing::debug!(sid = %self.connection.sid(), "outgoing queue full, closing");
                self.connection.abort(CloseReason::TransportError);
                Err(EmitError::Disconnected)
            }
            Err(_) => Err(EmitError::Disconnected),
        }
    }

    /// Forgets `socket` if it is still this client's socket for its namespace.
    pub(crate) fn remove_socket(&self, socket: &Socket) {
        lock(&self.sockets).0.retain(|current| current != socket);
    }

    /// Disconnects every socket of the connection, then closes it (`disconnect(true)`).
    pub(crate) fn disconnect_all(&self) {
        let sockets = lock(&self.sockets).0.clone();
        for socket in sockets {
            socket.leave_namespace();
        }
        self.connection.close(CloseReason::ForcedClose);
    }

    /// Sends a packet that belongs to no socket (CONNECT_ERROR for an unknown namespace).
    fn send_packet(&self, packet: &Packet) {
        if let Ok(frames) = self.config.parser.encode(packet) {
            let _ = self.send(&frames, false);
        }
    }

    fn handle_packet(self: &Arc<Self>, state: &Arc<ServerState>, decoded: Decoded) {
        let Decoded {
            packet:
                Packet {
                    kind,
                    nsp,
                    id,
                    data,
                    attachments,
                },
            wire_len,
        } = decoded;
        match kind {
            PacketType::Connect => self.handle_connect(state, nsp, data),
            PacketType::Disconnect => {
                let socket = lock(&self.sockets).remove(&nsp);
                match socket {
                    Some(socket) => {
                        socket.schedule_disconnect(DisconnectReason::ClientNamespaceDisconnect);
                    }
                    None => close_for_violation(self, "disconnect from an unknown namespace"),
                }
            }
            PacketType::Event | PacketType::BinaryEvent => {
                let Some(socket) = lock(&self.sockets).get(&nsp).cloned() else {
                    return close_for_violation(self, "event for a namespace not connected");
                };
                let Some(Value::Array(mut values)) = data else {
                    return close_for_violation(self, "event without arguments");
                };
                if values.is_empty() {
                    return close_for_violation(self, "event without a name");
                }
                let name = match values.remove(0) {
                    Value::String(name) => name,
                    other => other.to_string(),
                };
                let ack = id.map(|id| (socket.clone(), id));
                let event = Event::new(name, Args::from_parts(values, attachments), ack);
                if !socket.schedule(Job::Event { event, wire_len }) {
                    tracing::debug!(sid = %self.connection.sid(), "too many queued events, closing");
                    self.connection.abort(CloseReason::TransportError);
                }
            }
            PacketType::Ack | PacketType::BinaryAck => {
                let Some(socket) = lock(&self.sockets).get(&nsp).cloned() else {
                    return close_for_violation(self, "ack for a namespace not connected");
                };
                let (Some(id), Some(Value::Array(values))) = (id, data) else {
                    return close_for_violation(self, "ack without id or arguments");
                };
                socket.handle_ack(id, Args::from_parts(values, attachments));
            }
            PacketType::ConnectError => close_for_violation(self, "connect_error from a client"),
        }
    }

    fn handle_connect(
        self: &Arc<Self>,
        state: &Arc<ServerState>,
        nsp: String,
        auth: Option<Value>,
    ) {
        let (joined, full) = {
            let sockets = lock(&self.sockets);
            let full = sockets.len() >= self.config.max_namespaces_per_connection;
            (sockets.get(&nsp).is_some(), full)
        };
        if joined {
            return close_for_violation(self, "second connect to a namespace");
        }
        // Checked before the namespace is looked up, so that a refused connect creates no
        // dynamic namespace either.
        if full {
            tracing::debug!(sid = %self.connection.sid(), nsp, "too many namespaces");
            return self.send_packet(&Packet::connect_error(nsp, "Too many namespaces", None));
        }
        let auth = auth.unwrap_or_else(|| Value::Object(Map::new()));
        let Some(namespace) = state.namespace_for(&nsp, &auth) else {
            tracing::debug!(sid = %self.connection.sid(), nsp, "connect to an invalid namespace");
            return self.send_packet(&Packet::connect_error(nsp, "Invalid namespace", None));
        };
        let recovery = namespace.recover(&auth);
        let handshake = Handshake::new(self.connection.clone(), auth);
        let (id, pid, data, rooms, missed) = match recovery {
            Some(session) => (
                session.sid,
                Some(session.pid),
                session.data,
                session.rooms,
                Some(session.missed),
            ),
            None => {
                let pid = namespace
                    .recovery_enabled()
                    .then(|| Sid::from_random(rand::random()));
                (
                    Sid::from_random(rand::random()),
                    pid,
                    Value::Null,
                    Vec::new(),
                    None,
                )
            }
        };
        let recovered = missed.is_some();
        let socket = Socket::new(id, pid, namespace, self.clone(), handshake, data, recovered);
        if !rooms.is_empty() {
            socket.join(rooms);
        }
        lock(&self.sockets).0.push(socket.clone());
        socket.schedule(Job::Connect(missed));
    }

    fn handle_close(&self, reason: DisconnectReason) {
        let sockets = std::mem::take(&mut lock(&self.sockets).0);
        for socket in sockets {
            socket.schedule_disconnect(reason);
        }
    }
}

/// A connection's sockets, found by namespace name.
#[derive(Default)]
struct Sockets(Vec<Socket>);

impl Sockets {
    fn len(&self) -> usize {
        self.0.len()
    }

    fn get(&self, nsp: &str) -> Option<&Socket> {
        self.0
            .iter()
            .find(|socket| socket.namespace().name() == nsp)
    }

    fn remove(&mut self, nsp: &str) -> Option<Socket> {
        let index = self
            .0
            .iter()
            .position(|socket| socket.namespace().name() == nsp)?;
        Some(self.0.swap_remove(index))
    }
}

/// The engine's [`Handler`]: creates a [`Client`] per connection and feeds it.
pub(crate) struct Bridge {
    pub(crate) state: Arc<ServerState>,
}

impl Bridge {
    fn client(connection: &Connection) -> Option<Arc<Client>> {
        connection.attachment::<Client>()
    }

    fn decoded(
        &self,
        connection: &Connection,
        result: Result<Option<Decoded>, tidings_sio::DecodeError>,
    ) {
        let Some(client) = Self::client(connection) else {
            return;
        };
        match result {
            Ok(Some(decoded)) => client.handle_packet(&self.state, decoded),
            Ok(None) => {}
            Err(error) => {
                tracing::debug!(sid = %connection.sid(), %error, "undecodable packet");
                connection.close(CloseReason::ParseError);
            }
        }
    }
}

impl Handler for Bridge {
    fn on_connect(&self, connection: &Connection) {
        let client = Arc::new(Client {
            connection: connection.clone(),
            config: self.state.config.clone(),
            decoder: Mutex::new(PacketDecoder::new(
                self.state.config.parser,
                self.state.config.max_attachments,
            )),
            sockets: Mutex::new(Sockets(Vec::new())),
            connected: AtomicBool::new(false),
        });
        connection.attach(client.clone());
        self.state.watch_connect_timeout(&client);
    }

    fn on_message(&self, connection: &Connection, text: String) {
        let result = match Self::client(connection) {
            Some(client) => lock(&client.decoder).text(&text),
            None => return,
        };
        self.decoded(connection, result);
    }

    fn on_binary(&self, connection: &Connection, data: Bytes) {
        let result = match Self::client(connection) {
            Some(client) => lock(&client.decoder).binary(data),
            None => return,
        };
        self.decoded(connection, result);
    }

    fn on_upgrade(&self, connection: &Connection) {
        // Over WebSocket the sockets can read their namespace's broadcast log.
        if let Some(client) = Self::client(connection) {
            let sockets = lock(&client.sockets).0.clone();
            for socket in sockets {
                socket.namespace().try_read_log(&socket);
            }
        }
    }

    fn on_close(&self, connection: &Connection, reason: CloseReason) {
        if let Some(client) = Self::client(connection) {
            client.handle_close(DisconnectReason::from_close(reason));
        }
    }
}
