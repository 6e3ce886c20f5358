//! The engine's clock: tokio's, so that `tokio::time::pause()` drives every timer in tests.

use std::time::Instant;

/// The current time, as the session state machines take it.
pub(crate) fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}
