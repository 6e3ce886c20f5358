//! The single-node adapter and the room index that every adapter builds on.

use std::collections::HashSet;
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use tidings_eio::Sid;

use super::{AckCollector, Adapter, BoxFuture, BroadcastOptions, EncodedPacket, Room};
use crate::error::AdapterError;
use crate::namespace::NamespaceRef;
use crate::socket::Socket;

/// Rooms of one namespace on this node: room → sockets and socket → rooms.
///
/// The room named after each socket's own id is implicit: it is not stored (saving a set
/// per socket), and a room name that is the id of a local socket targets that socket.
#[derive(Debug, Default)]
pub struct RoomIndex {
    maps: RwLock<Maps>,
}

#[derive(Debug, Default)]
struct Maps {
    rooms: foldhash::HashMap<Room, HashSet<Sid>>,
    sids: foldhash::HashMap<Sid, HashSet<Room>>,
}

impl RoomIndex {
    fn read(&self) -> RwLockReadGuard<'_, Maps> {
        crate::sync::read(&self.maps)
    }

    fn write(&self) -> RwLockWriteGuard<'_, Maps> {
        crate::sync::write(&self.maps)
    }

    /// Adds `sid` to `rooms` (its own id room is implicit and skipped).
    pub fn add_all(&self, sid: Sid, rooms: &[Room]) {
        let mut maps = self.write();
        for room in rooms.iter().filter(|room| room.as_str() != sid.as_str()) {
            maps.rooms.entry(room.clone()).or_default().insert(sid);
            maps.sids.entry(sid).or_default().insert(room.clone());
        }
    }

    /// Removes `sid` from `room`; an emptied room is forgotten.
    pub fn del(&self, sid: Sid, room: &str) {
        let mut maps = self.write();
        if let Some(members) = maps.rooms.get_mut(room) {
            members.remove(&sid);
            if members.is_empty() {
                maps.rooms.remove(room);
            }
        }
        if let Some(rooms) = maps.sids.get_mut(&sid) {
            rooms.remove(room);
            if rooms.is_empty() {
                maps.sids.remove(&sid);
            }
        }
    }

    /// Removes `sid` from every room.
    pub fn del_all(&self, sid: Sid) {
        let mut maps = self.write();
        let Some(rooms) = maps.sids.remove(&sid) else {
            return;
        };
        for room in rooms {
            if let Some(members) = maps.rooms.get_mut(&room) {
                members.remove(&sid);
                if members.is_empty() {
                    maps.rooms.remove(&room);
                }
            }
        }
    }

    /// The rooms `sid` joined (its own id room excluded).
    pub fn socket_rooms(&self, sid: Sid) -> Vec<Room> {
        self.read()
            .sids
            .get(&sid)
            .map(|rooms| rooms.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Every room with at least one member.
    pub fn rooms(&self) -> Vec<Room> {
        self.read().rooms.keys().cloned().collect()
    }

    /// Whether a room has members here (own id rooms count when `is_local` says so).
    pub fn has_room(&self, room: &str, is_local: impl Fn(Sid) -> bool) -> bool {
        self.read().rooms.contains_key(room) || Sid::parse(room).is_some_and(is_local)
    }

    /// The sockets that `options` targets among `all` (the namespace's local sockets):
    /// the union of the rooms without duplicates, minus every `except` room.
    pub fn targets(&self, options: &BroadcastOptions, all: &HashSet<Sid>) -> HashSet<Sid> {
        let maps = self.read();
        let mut targets: HashSet<Sid> = if options.rooms.is_empty() {
            all.clone()
        } else {
            let mut targets = HashSet::new();
            for room in &options.rooms {
                if let Some(members) = maps.rooms.get(room) {
                    targets.extend(members.iter().copied());
                }
                if let Some(sid) = Sid::parse(room).filter(|sid| all.contains(sid)) {
                    targets.insert(sid);
                }
            }
            targets
        };
        drop(maps);
        for sid in self.excluded(options) {
            targets.remove(&sid);
        }
        targets
    }

    /// The sockets that `options.except` leaves out: the members of every listed room,
    /// and the sockets whose id room is listed.
    pub fn excluded(&self, options: &BroadcastOptions) -> HashSet<Sid> {
        let maps = self.read();
        let mut excluded = HashSet::new();
        for room in &options.except {
            if let Some(members) = maps.rooms.get(room) {
                excluded.extend(members.iter().copied());
            }
            excluded.extend(Sid::parse(room));
        }
        excluded
    }
}

/// The adapter of a single node (the reference's in-memory adapter).
#[derive(Debug)]
pub struct LocalAdapter {
    index: RoomIndex,
    namespace: NamespaceRef,
}

impl LocalAdapter {
    /// An adapter for the namespace behind `namespace`.
    pub fn new(namespace: NamespaceRef) -> Self {
        Self {
            index: RoomIndex::default(),
            namespace,
        }
    }

    /// The room index.
    pub fn index(&self) -> &RoomIndex {
        &self.index
    }

    fn local_targets(&self, options: &BroadcastOptions) -> Vec<Socket> {
        let Some(namespace) = self.namespace.upgrade() else {
            return Vec::new();
        };
        if options.rooms.is_empty() {
            // Everyone but the excluded: walk the sockets once, no set of all ids.
            let excluded = self.index.excluded(options);
            let mut sockets = namespace.sockets();
            if !excluded.is_empty() {
                sockets.retain(|socket| !excluded.contains(&socket.id()));
            }
            return sockets;
        }
        let all = namespace.socket_ids();
        let targets = self.index.targets(options, &all);
        targets
            .into_iter()
            .filter_map(|sid| namespace.socket(sid))
            .collect()
    }
}

/// Recipients warmed together before a broadcast delivers to them.
const WARM_GROUP: usize = 16;

impl Adapter for LocalAdapter {
    fn add_all(&self, sid: Sid, rooms: &[Room]) {
        self.index.add_all(sid, rooms);
    }

    fn del(&self, sid: Sid, room: &str) {
        self.index.del(sid, room);
    }

    fn del_all(&self, sid: Sid) {
        self.index.del_all(sid);
    }

    fn socket_rooms(&self, sid: Sid) -> Vec<Room> {
        self.index.socket_rooms(sid)
    }

    fn sockets(&self, options: &BroadcastOptions) -> HashSet<Sid> {
        let all = self
            .namespace
            .upgrade()
            .map(|ns| ns.socket_ids())
            .unwrap_or_default();
        self.index.targets(options, &all)
    }

    fn rooms(&self) -> Vec<Room> {
        self.index.rooms()
    }

    fn broadcast(&self, packet: &EncodedPacket, options: &BroadcastOptions) -> usize {
        let (logged, targets) = match self.namespace.upgrade() {
            // Everyone (but `except`): once into the namespace's log, then one by one to
            // the sockets that do not read it.
            Some(namespace) if options.rooms.is_empty() => {
                namespace.broadcast_to_all(&packet.frames, &self.index.excluded(options))
            }
            _ => (0, self.local_targets(options)),
        };
        // Thousands of recipients do not fit in the cache, and each delivery's lock
        // instructions wait for every load before them: warm a group of recipients step
        // by step first (see `Socket::warm`), so that their cache misses overlap.
        for group in targets.chunks(WARM_GROUP) {
            for step in 0..3 {
                for socket in group {
                    socket.warm(step);
                }
            }
            for socket in group {
                socket.deliver(packet, options.flags.volatile);
            }
        }
        logged + targets.len()
    }

    fn broadcast_with_ack(
        &self,
        packet: &EncodedPacket,
        options: &BroadcastOptions,
        id: u64,
        collector: &AckCollector,
    ) {
        let mut sent = 0;
        for socket in self.local_targets(options) {
            if socket.connected() && socket.expect_broadcast_ack(id, collector.clone()) {
                socket.deliver(packet, options.flags.volatile);
                sent += 1;
            }
        }
        collector.expect(sent);
    }

    fn fetch_sockets(
        &self,
        options: &BroadcastOptions,
    ) -> BoxFuture<'static, Result<Vec<Socket>, AdapterError>> {
        let sockets = self.local_targets(options);
        Box::pin(async move { Ok(sockets) })
    }

    fn add_sockets(&self, options: &BroadcastOptions, rooms: &[Room]) {
        for socket in self.local_targets(options) {
            socket.join(rooms.to_vec());
        }
    }

    fn del_sockets(&self, options: &BroadcastOptions, rooms: &[Room]) {
        for socket in self.local_targets(options) {
            for room in rooms {
                socket.leave(room);
            }
        }
    }

    fn disconnect_sockets(&self, options: &BroadcastOptions, close: bool) {
        for socket in self.local_targets(options) {
            socket.disconnect(close);
        }
    }

    fn server_count(&self) -> BoxFuture<'static, usize> {
        Box::pin(async { 1 })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sid(n: u8) -> Sid {
        Sid::from_random([n; 15])
    }

    fn options(rooms: &[&str], except: &[&str]) -> BroadcastOptions {
        BroadcastOptions {
            rooms: rooms.iter().map(|room| (*room).to_owned()).collect(),
            except: except.iter().map(|room| (*room).to_owned()).collect(),
            ..BroadcastOptions::default()
        }
    }

    #[test]
    fn broadcast_to_two_rooms_delivers_once() {
        let index = RoomIndex::default();
        let all: HashSet<Sid> = [sid(1), sid(2), sid(3)].into();
        index.add_all(sid(1), &["a".into(), "b".into()]);
        index.add_all(sid(2), &["b".into()]);
        let targets = index.targets(&options(&["a", "b"], &[]), &all);
        assert_eq!(targets, [sid(1), sid(2)].into());
    }

    #[test]
    fn except_removes_members_of_any_listed_room() {
        let index = RoomIndex::default();
        let all: HashSet<Sid> = [sid(1), sid(2), sid(3)].into();
        index.add_all(sid(1), &["a".into()]);
        index.add_all(sid(2), &["b".into()]);
        assert_eq!(
            index.targets(&options(&[], &["a", "b"]), &all),
            [sid(3)].into()
        );
        let own_room = sid(3).to_string();
        assert_eq!(
            index.targets(&options(&[], &[own_room.as_str()]), &all),
            [sid(1), sid(2)].into()
        );
    }

    #[test]
    fn own_id_room_targets_that_socket_only_if_local() {
        let index = RoomIndex::default();
        let all: HashSet<Sid> = [sid(1)].into();
        let own = sid(1).to_string();
        let stranger = sid(9).to_string();
        assert_eq!(
            index.targets(&options(&[own.as_str()], &[]), &all),
            [sid(1)].into()
        );
        assert!(
            index
                .targets(&options(&[stranger.as_str()], &[]), &all)
                .is_empty()
        );
        assert!(index.has_room(&own, |s| all.contains(&s)));
    }

    #[test]
    fn emptied_rooms_are_forgotten() {
        let index = RoomIndex::default();
        index.add_all(sid(1), &["a".into(), "b".into()]);
        index.del(sid(1), "a");
        assert_eq!(index.rooms(), ["b".to_owned()]);
        index.del_all(sid(1));
        assert!(index.rooms().is_empty());
        assert!(index.socket_rooms(sid(1)).is_empty());
    }
}
