//! A log of frames written once for many connections (a namespace-wide broadcast).
//!
//! Queueing a broadcast into each recipient's session touches every session once per
//! broadcast; thousands of sessions do not fit in the cache, so that is what a broadcast
//! costs. A connection subscribed to a log instead reads the log's new entries itself
//! when its driver writes, from its own cursor: a burst of broadcasts costs each
//! connection one wake-up and one read, and a broadcast costs the log one append.
//!
//! Order with the frames sent to one connection directly is kept: a direct send first
//! moves the log entries the connection has not read yet into its session's queue.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

use tidings_eio::{Frame, Sid};

use crate::connection::{Shared, lock};

/// How many entries a log keeps for its slowest reader by default (as many as a
/// session's queue holds); a reader further behind has lost frames, and its session is
/// aborted (the policy of a full queue).
pub const LOG_CAPACITY: usize = 4096;

/// Frames shared by the connections subscribed to this log. Cheap to share (`Arc`).
pub struct FrameLog {
    inner: Mutex<LogInner>,
    /// The sequence number the next entry gets, readable without the lock: a reader
    /// that is caught up (every write of an idle namespace) skips the lock.
    head: AtomicU64,
    capacity: usize,
}

impl Default for FrameLog {
    fn default() -> Self {
        Self {
            inner: Mutex::default(),
            head: AtomicU64::new(0),
            capacity: LOG_CAPACITY,
        }
    }
}

impl std::fmt::Debug for FrameLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let inner = lock(&self.inner);
        f.debug_struct("FrameLog")
            .field("entries", &inner.entries.len())
            .field("subscribers", &inner.subscribers())
            .finish()
    }
}

#[derive(Default)]
struct LogInner {
    /// The sequence number of `entries.front()`.
    first: u64,
    entries: VecDeque<Entry>,
    /// The subscribers' cursors, as a multiset (cursor → how many): the entries before
    /// the smallest are read by everyone and dropped.
    cursors: BTreeMap<u64, usize>,
    /// How many subscribers there are (the multiset's size, kept: every append asks).
    readers: usize,
    /// Subscribers that read everything and wait for the next entry.
    waiting: Vec<Weak<Shared>>,
}

struct Entry {
    frames: Arc<[Frame]>,
    /// Sessions that must not get this entry.
    except: Box<[Sid]>,
}

impl LogInner {
    fn head(&self) -> u64 {
        self.first + self.entries.len() as u64
    }

    fn subscribers(&self) -> usize {
        self.readers
    }

    fn add_cursor(&mut self, cursor: u64) {
        *self.cursors.entry(cursor).or_default() += 1;
        self.readers += 1;
    }

    fn move_cursor(&mut self, from: u64, to: u64) {
        self.remove_cursor(from);
        self.add_cursor(to);
    }

    fn remove_cursor(&mut self, cursor: u64) {
        if let Some(count) = self.cursors.get_mut(&cursor) {
            *count -= 1;
            self.readers -= 1;
            if *count == 0 {
                self.cursors.remove(&cursor);
            }
        }
        self.trim();
    }

    /// Drops the entries every subscriber has read.
    fn trim(&mut self) {
        let oldest = self
            .cursors
            .first_key_value()
            .map_or_else(|| self.head(), |(&cursor, _)| cursor);
        while self.first < oldest && self.entries.pop_front().is_some() {
            self.first += 1;
        }
    }
}

impl FrameLog {
    /// An empty log that keeps [`LOG_CAPACITY`] entries for its slowest reader.
    pub fn new() -> Arc<Self> {
        Self::with_capacity(LOG_CAPACITY)
    }

    /// An empty log that keeps `capacity` entries (at least one) for its slowest reader:
    /// give it a session's queue bound, so that a reader may be as far behind as a queue.
    pub fn with_capacity(capacity: usize) -> Arc<Self> {
        Arc::new(Self {
            inner: Mutex::default(),
            head: AtomicU64::new(0),
            capacity: capacity.max(1),
        })
    }

    /// How many connections read this log.
    pub fn subscribers(&self) -> usize {
        lock(&self.inner).subscribers()
    }

    /// Appends frames for every subscriber but the sessions in `except`, and wakes the
    /// subscribers that wait. Returns how many subscribers will read it (those in
    /// `except` included). Does nothing without subscribers.
    pub fn append(&self, frames: Arc<[Frame]>, except: Box<[Sid]>) -> usize {
        let (readers, waiting) = {
            let mut inner = lock(&self.inner);
            let readers = inner.subscribers();
            if readers == 0 {
                return 0;
            }
            if inner.entries.len() >= self.capacity {
                // The slowest readers lose this entry: they find out when they read.
                inner.entries.pop_front();
                inner.first += 1;
            }
            inner.entries.push_back(Entry { frames, except });
            self.head.store(inner.head(), Ordering::Release);
            (readers, std::mem::take(&mut inner.waiting))
        };
        for shared in waiting.iter().filter_map(Weak::upgrade) {
            shared.log_waiting.store(false, Ordering::Release);
            shared.wake_driver.notify_one();
        }
        readers
    }

    /// A new reader's cursor: it gets what is appended from now on, and `reader`'s driver
    /// is woken by the next append.
    pub(crate) fn subscribe(&self, reader: Option<&Arc<Shared>>) -> u64 {
        let mut inner = lock(&self.inner);
        // Readers that closed while waiting stay listed until the next append: bound them.
        if inner.waiting.len() > 2 * inner.subscribers() + 64 {
            inner.waiting.retain(|shared| shared.strong_count() > 0);
        }
        let head = inner.head();
        inner.add_cursor(head);
        if let Some(reader) = reader
            && !reader.log_waiting.swap(true, Ordering::AcqRel)
        {
            inner.waiting.push(Arc::downgrade(reader));
        }
        head
    }

    pub(crate) fn unsubscribe(&self, cursor: u64) {
        lock(&self.inner).remove_cursor(cursor);
    }

    /// Hands `each` the frames from `cursor` on that are not for `sid`'s exclusion,
    /// moves the cursor to the end and, if `wait` is given, registers it to be woken by
    /// the next append.
    ///
    /// # Errors
    /// [`Lagged`] when entries this reader had not read were dropped.
    pub(crate) fn read(
        &self,
        cursor: &mut u64,
        sid: Sid,
        wait: Option<&Arc<Shared>>,
        mut each: impl FnMut(&[Frame]),
    ) -> Result<(), Lagged> {
        // Caught up, and listed for the next append if it must be: nothing to do. An
        // append after this check wakes the listed reader, which then reads it.
        if *cursor == self.head.load(Ordering::Acquire)
            && wait.is_none_or(|shared| shared.log_waiting.load(Ordering::Acquire))
        {
            return Ok(());
        }
        let mut inner = lock(&self.inner);
        if *cursor < inner.first {
            return Err(Lagged);
        }
        let head = inner.head();
        if *cursor < head {
            let start = usize::try_from(*cursor - inner.first).unwrap_or(usize::MAX);
            for entry in inner.entries.range(start..) {
                if !entry.except.contains(&sid) {
                    each(&entry.frames);
                }
            }
            inner.move_cursor(*cursor, head);
            *cursor = head;
        }
        if let Some(shared) = wait
            && !shared.log_waiting.swap(true, Ordering::AcqRel)
        {
            inner.waiting.push(Arc::downgrade(shared));
        }
        Ok(())
    }
}

/// A reader fell further behind than the log's capacity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Lagged;

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(text: &str) -> Arc<[Frame]> {
        vec![Frame::message(text)].into()
    }

    fn read_all(log: &FrameLog, cursor: &mut u64, sid: Sid) -> Result<Vec<Frame>, Lagged> {
        let mut read = Vec::new();
        log.read(cursor, sid, None, |frames| read.extend_from_slice(frames))?;
        Ok(read)
    }

    #[test]
    fn entries_read_by_everyone_are_dropped() {
        let log = FrameLog::default();
        let sid = Sid::from_random([1; 15]);
        assert_eq!(
            log.append(entry("nobody"), Box::new([])),
            0,
            "no reader, no entry"
        );
        let (mut first, mut second) = (log.subscribe(None), log.subscribe(None));
        log.append(entry("a"), Box::new([]));
        log.append(entry("b"), Box::new([]));
        assert_eq!(
            read_all(&log, &mut first, sid).unwrap(),
            [Frame::message("a"), Frame::message("b")]
        );
        assert_eq!(
            lock(&log.inner).entries.len(),
            2,
            "the second reader has not read"
        );
        assert_eq!(read_all(&log, &mut second, sid).unwrap().len(), 2);
        assert_eq!(lock(&log.inner).entries.len(), 0);
        assert!(read_all(&log, &mut second, sid).unwrap().is_empty());
        log.unsubscribe(first);
        log.unsubscribe(second);
        assert_eq!(log.subscribers(), 0);
    }

    #[test]
    fn a_reader_beyond_the_capacity_has_lagged() {
        let log = FrameLog::default();
        let sid = Sid::from_random([1; 15]);
        let mut cursor = log.subscribe(None);
        for i in 0..=LOG_CAPACITY {
            log.append(entry(&i.to_string()), Box::new([]));
        }
        assert_eq!(lock(&log.inner).entries.len(), LOG_CAPACITY);
        assert_eq!(read_all(&log, &mut cursor, sid), Err(Lagged));
    }

    #[test]
    fn an_excluded_session_skips_the_entry() {
        let log = FrameLog::default();
        let (me, other) = (Sid::from_random([1; 15]), Sid::from_random([2; 15]));
        let mut cursor = log.subscribe(None);
        log.append(entry("not me"), Box::new([me]));
        log.append(entry("other"), Box::new([other]));
        assert_eq!(
            read_all(&log, &mut cursor, me).unwrap(),
            [Frame::message("other")]
        );
    }
}
