//! Errors of user operations: one small enum per operation.

use crate::args::Args;

/// Why an emit did not go out.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EmitError {
    /// The event name is reserved (`connect`, `connect_error`, `disconnect`,
    /// `disconnecting`, `newListener`, `removeListener`).
    #[error("\"{0}\" is a reserved event name")]
    ReservedEvent(String),
    /// An argument could not be turned into JSON.
    #[error("argument is not serializable")]
    Serialize(#[source] serde_json::Error),
    /// The packet could not be encoded by the configured parser.
    #[error("packet could not be encoded")]
    Encode,
    /// The socket is disconnected.
    #[error("socket is disconnected")]
    Disconnected,
    /// The socket has too many acknowledgements pending.
    #[error("too many pending acknowledgements")]
    TooManyPendingAcks,
}

/// Why an acknowledgement did not arrive.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AckError {
    /// The emit itself failed.
    #[error("emit failed")]
    Emit(#[from] EmitError),
    /// No acknowledgement arrived in time ("operation has timed out").
    #[error("operation has timed out")]
    Timeout,
    /// The socket disconnected before it answered.
    #[error("socket disconnected before acknowledging")]
    Disconnected,
}

/// A broadcast with acknowledgements that did not get every answer in time. It keeps the
/// answers that did arrive, as the reference's `err.responses` does.
#[derive(Debug, thiserror::Error)]
#[error("operation has timed out ({} of {expected} responses)", responses.len())]
#[non_exhaustive]
pub struct BroadcastAckError {
    /// The answers that arrived, in arrival order.
    pub responses: Vec<Args>,
    /// How many answers were expected.
    pub expected: usize,
}

/// A refusal from a namespace middleware. The client gets CONNECT_ERROR
/// `{"message":…,"data":…}` and its `connect_error` handler sees both.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{message}")]
#[non_exhaustive]
pub struct ConnectError {
    /// The message shown to the client (`err.message`).
    pub message: String,
    /// Optional details (`err.data`), omitted from the packet when `None`.
    pub data: Option<serde_json::Value>,
}

impl ConnectError {
    /// A refusal with a message only.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            data: None,
        }
    }

    /// Adds details for the client.
    #[must_use]
    pub fn with_data(mut self, data: serde_json::Value) -> Self {
        self.data = Some(data);
        self
    }
}

/// Why a cross-node request failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AdapterError {
    /// Not every node answered in time.
    #[error("timeout reached while waiting for responses")]
    Timeout,
    /// The operation is not available on a namespace that only groups dynamic children.
    #[error("not supported on a parent namespace")]
    ParentNamespace,
}
