//! Gathering the acknowledgements of a broadcast, from this node and from others.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;

use crate::args::Args;
use crate::error::BroadcastAckError;
use crate::sync::lock;

/// Collects the answers to one broadcast with acknowledgements.
///
/// Every node that took part (this one included) reports how many clients it sent the
/// packet to with [`AckCollector::expect`]; every client answer goes to
/// [`AckCollector::answer`]. The broadcast completes when every node reported and every
/// expected answer arrived, as the reference's cluster adapters count them.
#[derive(Clone, Debug)]
pub struct AckCollector {
    state: Arc<Mutex<Tally>>,
    changed: Arc<Notify>,
}

#[derive(Debug)]
struct Tally {
    /// Nodes that have not reported their client count yet.
    nodes_pending: usize,
    expected: usize,
    responses: Vec<Args>,
}

impl AckCollector {
    /// A collector waiting for `nodes` client counts.
    pub fn new(nodes: usize) -> Self {
        Self {
            state: Arc::new(Mutex::new(Tally {
                nodes_pending: nodes,
                expected: 0,
                responses: Vec::new(),
            })),
            changed: Arc::new(Notify::new()),
        }
    }

    /// One node sent the packet to `clients` clients.
    pub fn expect(&self, clients: usize) {
        let mut tally = lock(&self.state);
        tally.nodes_pending = tally.nodes_pending.saturating_sub(1);
        tally.expected += clients;
        drop(tally);
        self.changed.notify_one();
    }

    /// One client answered.
    pub fn answer(&self, args: Args) {
        lock(&self.state).responses.push(args);
        self.changed.notify_one();
    }

    /// Waits until the broadcast is complete or `timeout` passes.
    pub(crate) async fn wait(&self, timeout: Duration) -> Result<Vec<Args>, BroadcastAckError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let changed = self.changed.notified();
            {
                let mut tally = lock(&self.state);
                if tally.nodes_pending == 0 && tally.responses.len() >= tally.expected {
                    return Ok(std::mem::take(&mut tally.responses));
                }
            }
            if tokio::time::timeout_at(deadline, changed).await.is_err() {
                let mut tally = lock(&self.state);
                return Err(BroadcastAckError {
                    responses: std::mem::take(&mut tally.responses),
                    expected: tally.expected,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn completes_when_every_node_reported_and_answered() {
        let collector = AckCollector::new(2);
        collector.expect(1);
        collector.answer(Args::new().arg(&"local"));
        let waiting = tokio::spawn({
            let collector = collector.clone();
            async move { collector.wait(Duration::from_secs(5)).await }
        });
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished(), "a node has not reported yet");
        collector.expect(1);
        collector.answer(Args::new().arg(&"remote"));
        assert_eq!(waiting.await.unwrap().unwrap().len(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn times_out_with_the_answers_that_came() {
        let collector = AckCollector::new(1);
        collector.expect(3);
        collector.answer(Args::new());
        let error = collector
            .wait(Duration::from_millis(100))
            .await
            .unwrap_err();
        assert_eq!((error.responses.len(), error.expected), (1, 3));
    }

    #[tokio::test(start_paused = true)]
    async fn nobody_to_ask_completes_at_once() {
        let collector = AckCollector::new(1);
        collector.expect(0);
        assert!(
            collector
                .wait(Duration::from_secs(60))
                .await
                .unwrap()
                .is_empty()
        );
    }
}
