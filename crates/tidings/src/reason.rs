//! Why a socket disconnected, with the reference server's reason strings.

use tidings_eio::CloseReason;

/// Why a socket left its namespace (`disconnect` and `disconnecting` get it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DisconnectReason {
    /// The connection failed.
    TransportError,
    /// The client closed the connection.
    TransportClose,
    /// The connection was closed by the server on purpose.
    ForcedClose,
    /// The client stopped answering pings.
    PingTimeout,
    /// The client sent a packet that could not be decoded, or broke the protocol.
    ParseError,
    /// The server is closing ([`Server::close`](crate::Server::close)).
    ServerShuttingDown,
    /// The connection was closed by the server while this socket was on it.
    ForcedServerClose,
    /// The client left the namespace.
    ClientNamespaceDisconnect,
    /// The server removed the socket ([`Socket::disconnect`](crate::Socket::disconnect)).
    ServerNamespaceDisconnect,
}

impl DisconnectReason {
    /// The reason string the reference server reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TransportError => "transport error",
            Self::TransportClose => "transport close",
            Self::ForcedClose => "forced close",
            Self::PingTimeout => "ping timeout",
            Self::ParseError => "parse error",
            Self::ServerShuttingDown => "server shutting down",
            Self::ForcedServerClose => "forced server close",
            Self::ClientNamespaceDisconnect => "client namespace disconnect",
            Self::ServerNamespaceDisconnect => "server namespace disconnect",
        }
    }

    /// Whether connection state recovery may restore a socket that left for this reason
    /// (protocol §2.10): explicit disconnects and protocol violations are final.
    pub fn is_recoverable(self) -> bool {
        !matches!(
            self,
            Self::ClientNamespaceDisconnect | Self::ServerNamespaceDisconnect | Self::ParseError
        )
    }

    pub(crate) fn from_close(reason: CloseReason) -> Self {
        match reason {
            CloseReason::TransportClose => Self::TransportClose,
            CloseReason::PingTimeout => Self::PingTimeout,
            CloseReason::ParseError => Self::ParseError,
            CloseReason::ServerClose => Self::ServerShuttingDown,
            CloseReason::ForcedClose => Self::ForcedClose,
            _ => Self::TransportError,
        }
    }
}

impl std::fmt::Display for DisconnectReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
