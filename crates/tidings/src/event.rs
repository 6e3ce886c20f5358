//! A received event and its acknowledgement.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::args::Args;
use crate::error::EmitError;
use crate::socket::Socket;

/// An event a client sent: its name, its arguments and, when the client asked for one,
/// the means to acknowledge it.
pub struct Event {
    name: String,
    args: Args,
    ack: Option<AckHandle>,
}

/// The acknowledgement owed for one event: sent at most once.
struct AckHandle {
    socket: Socket,
    id: u64,
    sent: AtomicBool,
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Event")
            .field("name", &self.name)
            .field("args", &self.args)
            .field("ack_id", &self.ack.as_ref().map(|ack| ack.id))
            .finish()
    }
}

impl Event {
    pub(crate) fn new(name: String, args: Args, ack: Option<(Socket, u64)>) -> Self {
        Self {
            name,
            args,
            ack: ack.map(|(socket, id)| AckHandle {
                socket,
                id,
                sent: AtomicBool::new(false),
            }),
        }
    }

    /// The event name (a numeric name arrives as its decimal text).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The arguments.
    pub fn args(&self) -> &Args {
        &self.args
    }

    /// The arguments, to change them (in a packet middleware).
    pub fn args_mut(&mut self) -> &mut Args {
        &mut self.args
    }

    /// Takes the arguments out.
    pub fn into_args(self) -> Args {
        self.args
    }

    /// Whether the client waits for an acknowledgement.
    pub fn wants_ack(&self) -> bool {
        self.ack.is_some()
    }

    /// Acknowledges the event with `args` (an ACK packet with the event's id). Only the
    /// first call sends; later ones, and calls on events that asked for no ack, do nothing.
    ///
    /// # Errors
    /// When the arguments cannot be serialized or the socket is gone.
    pub fn ack(&self, args: impl Into<Args>) -> Result<(), EmitError> {
        let Some(ack) = &self.ack else {
            return Ok(());
        };
        if ack.sent.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        ack.socket.send_ack(ack.id, args.into())
    }
}
