//! The broadcast operator: `to`, `except`, flags, then `emit` and friends.

use std::time::Duration;

use crate::adapter::{BroadcastOptions, Room};
use crate::args::Args;
use crate::error::{AdapterError, BroadcastAckError, EmitError};
use crate::namespace::Namespace;
use crate::socket::{IntoRooms, Socket};

/// Targets sockets of a namespace. Every method returns a new operator, so a partly
/// built one can be reused.
///
/// Rooms are united (a socket in two targeted rooms gets the event once), and `except`
/// removes every socket of the listed rooms.
#[derive(Clone, Debug)]
#[must_use]
pub struct BroadcastOperator {
    namespace: Namespace,
    options: BroadcastOptions,
    timeout: Option<Duration>,
}

impl BroadcastOperator {
    pub(crate) fn new(namespace: Namespace) -> Self {
        Self {
            namespace,
            options: BroadcastOptions::default(),
            timeout: None,
        }
    }

    /// Adds rooms to target (`to`).
    pub fn to(mut self, rooms: impl IntoRooms) -> Self {
        add_unique(&mut self.options.rooms, rooms.into_rooms());
        self
    }

    /// Same as [`BroadcastOperator::to`] (`in`).
    pub fn within(self, rooms: impl IntoRooms) -> Self {
        self.to(rooms)
    }

    /// Leaves out the sockets of rooms (`except`).
    pub fn except(mut self, rooms: impl IntoRooms) -> Self {
        add_unique(&mut self.options.except, rooms.into_rooms());
        self
    }

    /// Drops the event for sockets whose transport cannot take it now (`volatile`).
    pub fn volatile(mut self) -> Self {
        self.options.flags.volatile = true;
        self
    }

    /// Only this node's sockets (`local`).
    pub fn local(mut self) -> Self {
        self.options.flags.local = true;
        self
    }

    /// The compression flag (`compress`), carried to other nodes; not applied yet.
    pub fn compress(mut self, compress: bool) -> Self {
        self.options.flags.compress = compress;
        self
    }

    /// The deadline for acknowledgements (`timeout`).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// The targeting options.
    pub fn options(&self) -> &BroadcastOptions {
        &self.options
    }

    /// Sends an event to every targeted socket. The packet is encoded once and the same
    /// bytes go to every recipient.
    ///
    /// # Errors
    /// [`EmitError::ReservedEvent`] or [`EmitError::Serialize`]; delivery problems of single
    /// recipients are not errors (they follow the back-pressure policy).
    pub fn emit(&self, event: &str, args: impl Into<Args>) -> Result<(), EmitError> {
        self.namespace
            .broadcast_event(&self.options, event, args.into())
            .map(|_| ())
    }

    /// Sends an event and gathers one acknowledgement per targeted socket, waiting at most
    /// the operator's timeout (the server's `ack_timeout` by default). With no socket
    /// targeted, it answers at once with no response.
    ///
    /// # Errors
    /// [`BroadcastAckError`] with the responses that did arrive when some were missing.
    ///
    /// # Cancel safety
    /// Dropping the future forgets the pending acknowledgements.
    pub async fn emit_with_ack(
        &self,
        event: &str,
        args: impl Into<Args>,
    ) -> Result<Vec<Args>, BroadcastAckError> {
        let timeout = self.timeout.unwrap_or(self.namespace.ack_timeout());
        self.namespace
            .broadcast_with_ack(&self.options, event, args.into(), timeout)
            .await
    }

    /// The targeted sockets (`fetchSockets`).
    ///
    /// # Errors
    /// [`AdapterError`] when other nodes did not answer.
    pub async fn fetch_sockets(&self) -> Result<Vec<Socket>, AdapterError> {
        self.namespace.adapter().fetch_sockets(&self.options).await
    }

    /// Makes the targeted sockets join rooms (`socketsJoin`).
    pub fn sockets_join(&self, rooms: impl IntoRooms) {
        self.namespace
            .adapter()
            .add_sockets(&self.options, &rooms.into_rooms());
    }

    /// Makes the targeted sockets leave rooms (`socketsLeave`).
    pub fn sockets_leave(&self, rooms: impl IntoRooms) {
        self.namespace
            .adapter()
            .del_sockets(&self.options, &rooms.into_rooms());
    }

    /// Disconnects the targeted sockets; `close` closes their connections too
    /// (`disconnectSockets`).
    pub fn disconnect_sockets(&self, close: bool) {
        self.namespace
            .adapter()
            .disconnect_sockets(&self.options, close);
    }
}

fn add_unique(list: &mut Vec<Room>, rooms: Vec<Room>) {
    for room in rooms {
        if !list.contains(&room) {
            list.push(room);
        }
    }
}
