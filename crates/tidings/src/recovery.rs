//! Connection state recovery in memory (protocol §2.10): numbered broadcasts kept for
//! replay, and the sessions of sockets that left for a recoverable reason.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde_json::Value;
use tidings_eio::Sid;
use tidings_engine::Frame;

use crate::adapter::{BroadcastOptions, Room};
use crate::config::RecoveryConfig;
use crate::sync::lock;

/// The store of one namespace.
#[derive(Debug)]
pub(crate) struct RecoveryStore {
    config: RecoveryConfig,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    next_offset: u64,
    /// Stored packets, oldest first, in offset order.
    packets: VecDeque<StoredPacket>,
    /// Saved sessions by private id.
    sessions: foldhash::HashMap<Sid, SavedSession>,
    /// Session ids in the order they were saved, to expire the oldest first.
    saved_order: VecDeque<(Instant, Sid)>,
}

#[derive(Debug)]
struct StoredPacket {
    offset: u64,
    stored: Instant,
    frames: Arc<[Frame]>,
    rooms: Vec<Room>,
    except: Vec<Room>,
}

#[derive(Debug)]
struct SavedSession {
    sid: Sid,
    rooms: Vec<Room>,
    data: Value,
    saved: Instant,
}

/// The packets a recovered socket missed, to send before its CONNECT reply.
#[derive(Debug)]
pub(crate) struct MissedPackets {
    pub(crate) frames: Vec<Arc<[Frame]>>,
}

/// A session found again.
#[derive(Debug)]
pub(crate) struct RecoveredSession {
    pub(crate) sid: Sid,
    pub(crate) pid: Sid,
    /// Rooms to join again (the socket's own id room included).
    pub(crate) rooms: Vec<Room>,
    pub(crate) data: Value,
    pub(crate) missed: MissedPackets,
}

impl RecoveryStore {
    pub(crate) fn new(config: RecoveryConfig) -> Self {
        Self {
            config,
            inner: Mutex::new(Inner::default()),
        }
    }

    /// Numbers a broadcast and stores what `encode` makes of it, under one lock so that
    /// the stored order is the offset order.
    pub(crate) fn record<T, E>(
        &self,
        options: &BroadcastOptions,
        encode: impl FnOnce(&str) -> Result<(T, Arc<[Frame]>), E>,
    ) -> Result<(T, Arc<[Frame]>), E> {
        let now = tokio::time::Instant::now().into_std();
        let mut inner = lock(&self.inner);
        let offset = inner.next_offset;
        let (value, frames) = encode(&offset.to_string())?;
        inner.next_offset += 1;
        inner.packets.push_back(StoredPacket {
            offset,
            stored: now,
            frames: frames.clone(),
            rooms: options.rooms.clone(),
            except: options.except.clone(),
        });
        self.prune(&mut inner, now);
        Ok((value, frames))
    }

    /// Saves a session that left for a recoverable reason.
    pub(crate) fn save(&self, sid: Sid, pid: Sid, rooms: Vec<Room>, data: Value) {
        let now = tokio::time::Instant::now().into_std();
        let mut inner = lock(&self.inner);
        inner.sessions.insert(
            pid,
            SavedSession {
                sid,
                rooms,
                data,
                saved: now,
            },
        );
        inner.saved_order.push_back((now, pid));
        self.prune(&mut inner, now);
    }

    /// Takes a saved session back, with the packets it missed after `offset`; `None` when
    /// the session or the offset is unknown or expired.
    pub(crate) fn restore(&self, pid: Sid, offset: &str) -> Option<RecoveredSession> {
        let now = tokio::time::Instant::now().into_std();
        let offset: u64 = offset.parse().ok()?;
        let mut inner = lock(&self.inner);
        self.prune(&mut inner, now);
        let position = inner
            .packets
            .iter()
            .position(|packet| packet.offset == offset)?;
        let session = inner.sessions.remove(&pid)?;
        let frames = inner
            .packets
            .iter()
            .skip(position + 1)
            .filter(|packet| {
                let targeted = packet.rooms.is_empty()
                    || packet.rooms.iter().any(|room| session.rooms.contains(room));
                let excluded = packet
                    .except
                    .iter()
                    .any(|room| session.rooms.contains(room));
                targeted && !excluded
            })
            .map(|packet| packet.frames.clone())
            .collect();
        Some(RecoveredSession {
            sid: session.sid,
            pid,
            rooms: session.rooms,
            data: session.data,
            missed: MissedPackets { frames },
        })
    }

    /// Drops what is older than the disconnection window or past the count limits.
    fn prune(&self, inner: &mut Inner, now: Instant) {
        let window = self.config.max_disconnection_duration;
        let expired = |stored: Instant| now.saturating_duration_since(stored) > window;
        while inner.packets.front().is_some_and(|packet| {
            expired(packet.stored) || inner.packets.len() > self.config.max_packets
        }) {
            inner.packets.pop_front();
        }
        while let Some(&(saved, pid)) = inner.saved_order.front() {
            if !expired(saved) && inner.saved_order.len() <= self.config.max_sessions {
                break;
            }
            inner.saved_order.pop_front();
            // Only drop the entry if it is this save, not a later one for the same pid.
            if inner
                .sessions
                .get(&pid)
                .is_some_and(|session| session.saved == saved)
            {
                inner.sessions.remove(&pid);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;

    fn frames(text: &'static str) -> Arc<[Frame]> {
        vec![Frame::Text(Bytes::from_static(text.as_bytes()))].into()
    }

    fn record(store: &RecoveryStore, rooms: &[&str], text: &'static str) -> String {
        let options = BroadcastOptions {
            rooms: rooms.iter().map(|room| (*room).to_owned()).collect(),
            ..BroadcastOptions::default()
        };
        store
            .record(&options, |offset| {
                Ok::<_, ()>((offset.to_owned(), frames(text)))
            })
            .unwrap()
            .0
    }

    #[test]
    fn restore_replays_what_the_session_missed_in_order() {
        let store = RecoveryStore::new(RecoveryConfig::default());
        let sid = Sid::from_random([1; 15]);
        let pid = Sid::from_random([2; 15]);
        let seen = record(&store, &[], "42[\"a\"]");
        store.save(sid, pid, vec![sid.to_string(), "room".into()], Value::Null);
        record(&store, &[], "42[\"b\"]");
        record(&store, &["other"], "42[\"not for us\"]");
        record(&store, &["room"], "42[\"c\"]");
        let session = store.restore(pid, &seen).unwrap();
        assert_eq!(session.sid, sid);
        assert_eq!(
            session.missed.frames,
            vec![frames("42[\"b\"]"), frames("42[\"c\"]")]
        );
        assert!(
            store.restore(pid, &seen).is_none(),
            "a session is restored once"
        );
    }

    #[test]
    fn unknown_offset_or_pid_is_not_restored() {
        let store = RecoveryStore::new(RecoveryConfig::default());
        let pid = Sid::from_random([2; 15]);
        let seen = record(&store, &[], "x");
        store.save(Sid::from_random([1; 15]), pid, Vec::new(), Value::Null);
        assert!(store.restore(pid, "999").is_none());
        assert!(store.restore(Sid::from_random([3; 15]), &seen).is_none());
        assert!(store.restore(pid, "not a number").is_none());
    }

    #[test]
    fn stores_are_bounded() {
        let config = RecoveryConfig {
            max_packets: 2,
            max_sessions: 1,
            ..RecoveryConfig::default()
        };
        let store = RecoveryStore::new(config);
        let first = record(&store, &[], "1");
        record(&store, &[], "2");
        record(&store, &[], "3");
        let pid_a = Sid::from_random([4; 15]);
        let pid_b = Sid::from_random([5; 15]);
        store.save(Sid::from_random([6; 15]), pid_a, Vec::new(), Value::Null);
        store.save(Sid::from_random([7; 15]), pid_b, Vec::new(), Value::Null);
        let inner = lock(&store.inner);
        assert_eq!(inner.packets.len(), 2);
        assert!(
            inner
                .packets
                .iter()
                .all(|packet| packet.offset.to_string() != first)
        );
        assert_eq!(inner.sessions.len(), 1);
        assert!(inner.sessions.contains_key(&pid_b));
    }
}
