//! One Redis reader per machine: the relay.
//!
//! Without it, every process with a subscribed stream runs its own `XREAD` on the log, so
//! Redis sends each event once per such process: 32 php-fpm workers on 20 machines make 640
//! copies of every event. With it, the processes of a machine that share a relay directory
//! (`sse.relay_dir`, in shared memory by default) elect one of them, by an exclusive lock on
//! `relay.lock`, to read Redis and append what it reads to a log of the embedded kind in that
//! directory (see `sse_core::broker::relayed` for its records); every process follows that
//! log with inotify, as it follows the embedded broker's. Redis then sends each event once per
//! machine.
//!
//! Nothing is lost or repeated when the relaying process dies, even by SIGKILL: the kernel
//! drops its lock, another process that follows the log takes it (each tries every
//! [`TAKE_OVER_EVERY`]) and reads Redis on from the position of the log's last record. When
//! Redis no longer has what followed it (trimmed meanwhile), the relay says so with a gap
//! record and every stream of the machine catches up from Redis itself, which tells each one
//! exactly what it missed (`sse-reset`, `history-lost`, only where something was).
//!
//! Why a subscriber cannot miss an event between its catch-up and the relay: its inbox is
//! registered first; then either a relay already holds the lock (it reads Redis from a
//! position no later than now, so whatever is published from now on reaches the log), or this
//! process takes the lock and fixes the position it reads from before `subscribe` returns. An
//! event already in the log when this process starts following it was in Redis before the
//! stream's catch-up read Redis, so the catch-up has it.
//!
//! The lock is an open file description lock (see `locks.rs`): the kernel releases it when the
//! relaying process dies.

use super::live::{self, Live};
use super::locks::{self, RelayLock};
use super::log::{entries, text};
use super::relay_interest::RelayInterest;
use super::{covers, Shared, BLOCK_MS};
use crate::broker::local::{watch, LIVE};
use crate::error::{Error, Result};
use crate::runtime;
use futures_util::StreamExt;
use inotify::Inotify;
use sse_core::broker::local_log::{create_shared_dir, LocalLog};
use sse_core::broker::partition::PARTITIONS;
use sse_core::broker::relayed::{self, Relayed};
use sse_core::broker::{History, Position, StoredEvent};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How often a process that follows the relay log tries to take over the relaying.
pub const TAKE_OVER_EVERY: Duration = Duration::from_millis(250);

/// What the relay log keeps: enough for a follower that was busy for a while, little memory.
const LOG_HISTORY: History = History { max_events: 16_384, max_age: Duration::from_secs(600) };

/// How often the relay reads again which partitions the machine wants, when no process's
/// interest grew meanwhile (it learns of growth at once; this drops what nobody reads any more).
const RECOUNT_EVERY: Duration = Duration::from_secs(5);

/// Records read from the relay log at once.
const BATCH: usize = 256;

pub struct Relay {
    log: LocalLog,
    lock_path: PathBuf,
    /// What the machine's processes read (see `relay_interest.rs`).
    interest: RelayInterest,
    /// Whether this process relays (its relaying task holds the lock).
    relaying: AtomicBool,
}

impl Relay {
    /// The relay of the Redis log `name` (the URL, password hidden) under `root`: a directory
    /// of its own, named after the URL, so that two Redis logs never share one.
    pub fn open(root: &Path, name: &str) -> Result<Relay> {
        let fail = |what: &str, e: &dyn std::fmt::Display| Error::unavailable(name, format!("{what}: {e}"));
        // The root too is shared: the pools of a machine may run as different users of one group.
        create_shared_dir(root).map_err(|e| fail(&format!("cannot create the relay directory {}", root.display()), &e))?;
        let dir = root.join(dir_name(name));
        let log = LocalLog::open(&dir).map_err(|e| fail("cannot open its relay directory", &e))?;
        let interest = RelayInterest::open(&dir).map_err(|e| fail("cannot open its relay directory's interest/", &e))?;
        Ok(Relay { log, lock_path: dir.join("relay.lock"), interest, relaying: AtomicBool::new(false) })
    }

    pub fn dir(&self) -> PathBuf {
        self.lock_path.parent().map(Path::to_path_buf).unwrap_or_default()
    }

    /// Appends one record, logging nothing: a failure is the caller's to retry.
    fn append(&self, topics: &[String], frame: &[u8], id_slot: usize) -> Result<()> {
        self.log.append(topics, frame, id_slot, &LOG_HISTORY).map(|_| ())
    }

    fn append_event(&self, event: &StoredEvent) -> Result<()> {
        let (frame, slot) = relayed::encode_event(event);
        self.append(&event.topics, &frame, slot)
    }

    fn append_gap(&self, position: Position) -> Result<()> {
        self.append(&[], &relayed::encode_gap(position), 0)
    }

    /// For `phpinfo()`: where the relay is and who relays.
    pub fn describe(&self, partitions: u32) -> String {
        // The pid in the file counts only while its process holds the lock (a killed relay
        // leaves its pid behind).
        let holder = locks::open_file(&self.lock_path)
            .ok()
            .filter(locks::is_locked)
            .and_then(|_| std::fs::read_to_string(&self.lock_path).ok())
            .map(|pid| pid.trim().to_owned())
            .filter(|pid| !pid.is_empty());
        let who = match (self.relaying.load(Ordering::Acquire), holder) {
            (true, _) => "this process relays".to_owned(),
            (false, Some(pid)) => format!("relayed by process {pid}"),
            (false, None) => "nobody relays now".to_owned(),
        };
        format!("through the relay in {} ({who}; this process's streams read {partitions} of {PARTITIONS} partitions)", self.dir().display())
    }

    /// The position in Redis that the log's last record stands for: where a relay taking
    /// over reads on from. None when the log is empty or its last record unreadable.
    fn relayed_up_to(&self) -> Option<Position> {
        let last = self.log.last_position().ok()?;
        if last == Position::ZERO {
            return None;
        }
        let batch = self.log.read_after(Position::seq(last.major - 1), 1, &LIVE).ok()?;
        match relayed::decode(batch.events.first()?)? {
            Relayed::Event(event) => Some(event.position),
            Relayed::Gap(position) => Some(position),
        }
    }
}

/// `relay-` and 16 hex digits of the URL (FNV-1a): stable across processes and releases.
fn dir_name(name: &str) -> String {
    format!("relay-{:016x}", sse_core::broker::partition::fnv1a(name.as_bytes()))
}

/// Makes sure that this process's streams get Redis's events through the relay log: that
/// someone relays (this process, if the lock is free) and that this process follows the log.
/// On the PHP thread, after the subscriber's inbox is registered.
pub(super) fn subscribe(shared: &Arc<Shared>, relay: &Relay) -> Result<()> {
    // Before the stream's catch-up: the relay reads these partitions from now on.
    relay
        .interest
        .advertise(shared.hub.interest.mask())
        .map_err(|e| Error::unavailable(&shared.name, format!("cannot write to {}: {e}", relay.dir().join("interest").display())))?;
    if !relay.relaying.load(Ordering::Acquire) {
        if let Some(lock) =
            RelayLock::try_take(&relay.lock_path).map_err(|e| Error::unavailable(&shared.name, format!("cannot open {}: {e}", relay.lock_path.display())))?
        {
            // Where to read from is fixed now, before the subscriber's catch-up reads Redis: on
            // from the last event relayed while streams of this machine follow the log (they
            // must miss nothing), else from the newest event (after an idle hour, nobody wants
            // the hour replayed).
            let followed = *shared.following.lock() || relay.interest.others() != 0;
            let from = match relay.relayed_up_to().filter(|_| followed) {
                Some(position) => position,
                None => {
                    let newest = shared.newest_position()?;
                    relay.append_gap(newest)?;
                    newest
                }
            };
            start_relaying(shared, lock, Some(from))?;
        }
    }
    let mut following = shared.following.lock();
    if !*following {
        let head = relay.log.head_path();
        let inotify = watch(&head).map_err(|e| Error::unavailable(&shared.name, format!("cannot watch {}: {e}", head.display())))?;
        let start = relay.log.last_position()?;
        let task = Arc::clone(shared);
        runtime::spawn(follow(task, inotify, start)).map_err(|e| Error::unavailable(&shared.name, format!("cannot start the runtime: {e}")))?;
        *following = true;
    }
    Ok(())
}

/// Follows the relay log for as long as a stream of this process is subscribed, handing its
/// events to the hub; and, while another process relays, tries to take over every
/// [`TAKE_OVER_EVERY`] (the try fails at once while the relaying process lives).
async fn follow(shared: Arc<Shared>, inotify: Inotify, start: Position) {
    // What the hub kept from a reader before this one is not known to join on to what this
    // reads, and a position in the relay log is not one in Redis.
    shared.hub.reader_starts(None);
    let Some(relay) = shared.relay.get() else { return };
    let mut reader = relay.log.follow(start);
    let Ok(mut changes) = inotify.into_event_stream([0u8; 1024]) else {
        *shared.following.lock() = false;
        return;
    };
    loop {
        loop {
            let Ok(batch) = reader.read(BATCH, &LIVE) else {
                // The directory is being replaced or is unreadable for now: try again soon.
                tokio::time::sleep(Duration::from_millis(200)).await;
                break;
            };
            let full = batch.events.len() == BATCH || batch.truncated;
            // Lost relay records (damage): this process's streams catch up from Redis. Told
            // before the events that follow are handed out, as at a gap record: a stream that
            // took those events first would move past the hole and never learn of it.
            if batch.gap {
                shared.hub.overflow_all();
            }
            let mut events = Vec::with_capacity(batch.events.len());
            for record in &batch.events {
                match relayed::decode(record) {
                    Some(Relayed::Event(event)) => events.push(Arc::new(event)),
                    Some(Relayed::Gap(_)) => {
                        shared.hub.dispatch(&std::mem::take(&mut events));
                        shared.hub.overflow_all();
                    }
                    None => {}
                }
            }
            shared.hub.dispatch(&events);
            if !full {
                break;
            }
        }
        {
            // Decided under the lock `subscribe` takes: either a new subscriber is seen here,
            // or it sees that no follower runs and starts one.
            let mut following = shared.following.lock();
            if !shared.hub.has_subscribers() {
                *following = false;
                return;
            }
        }
        if !relay.relaying.load(Ordering::Acquire) {
            if let Ok(Some(lock)) = RelayLock::try_take(&relay.lock_path) {
                let _ = start_relaying(&shared, lock, relay.relayed_up_to());
            }
        }
        let relaying = relay.relaying.load(Ordering::Acquire);
        tokio::select! {
            change = changes.next() => {
                if change.is_none() {
                    *shared.following.lock() = false;
                    return;
                }
            }
            () = shared.hub.subscriber_left() => {}
            () = tokio::time::sleep(TAKE_OVER_EVERY), if !relaying => {}
            // The relay may read fewer partitions (it learns of more from `subscribe`).
            () = shared.hub.interest.shrank() => {
                let _ = relay.interest.advertise(shared.hub.interest.mask());
            }
        }
    }
}

/// Takes over from where the log says the last relay got to, or (when it says nothing) from
/// what Redis has now, after a gap record that makes every stream catch up.
fn start_relaying(shared: &Arc<Shared>, lock: RelayLock, from: Option<Position>) -> Result<()> {
    let Some(relay) = shared.relay.get() else { return Ok(()) };
    relay.relaying.store(true, Ordering::Release);
    let task = Arc::clone(shared);
    let spawned = match from {
        Some(from) => runtime::spawn(relay_redis(task, lock, from)),
        None => runtime::spawn(async move {
            let Some(from) = newest_async(&task).await else {
                if let Some(relay) = task.relay.get() {
                    relay.relaying.store(false, Ordering::Release);
                }
                return;
            };
            if task.relay.get().is_some_and(|relay| relay.append_gap(from).is_ok()) {
                relay_redis(task, lock, from).await;
            } else if let Some(relay) = task.relay.get() {
                relay.relaying.store(false, Ordering::Release);
            }
        }),
    };
    spawned.map_err(|e| {
        relay.relaying.store(false, Ordering::Release);
        Error::unavailable(&shared.name, format!("cannot start the runtime: {e}"))
    })
}

/// The newest position in Redis, asked on a connection of the runtime; None if Redis cannot
/// be reached now (the next try to take over asks again).
async fn newest_async(shared: &Shared) -> Option<Position> {
    let mut connection = shared.target.connect_async(Duration::from_millis(BLOCK_MS)).await.ok()?;
    let last = connection.query(redis::cmd("GET").arg(&shared.keys.last)).await.ok()?;
    if let Some(position) = text(&last).as_deref().and_then(Position::parse) {
        return Some(position);
    }
    let newest = connection.query(redis::cmd("XREVRANGE").arg(&shared.keys.events).arg("+").arg("-").arg("COUNT").arg(1)).await.ok()?;
    Some(entries(newest).last().map_or(Position::ZERO, |entry| entry.event.position))
}

/// The relaying: `XREAD BLOCK` over the partitions the machine's processes read, from
/// `cursor`, each event appended to the relay log, for as long as a stream of this process is
/// subscribed; reconnecting with back-off (0.1 s doubling to 5 s) and reading on from the last
/// event relayed. Ends by releasing the lock, so that a process that still has streams takes
/// over. A read that comes back while the machine came to want more partitions is made again
/// with them (see `relay_interest.rs`).
async fn relay_redis(shared: Arc<Shared>, lock: RelayLock, mut cursor: Position) {
    let Some(relay) = shared.relay.get() else { return };
    let mut backoff = Duration::from_millis(100);
    let mut changes = watch(&relay.interest.changed_path()).ok().and_then(|inotify| inotify.into_event_stream([0u8; 256]).ok());
    let mut known = (relay.interest.version(), relay.interest.machine());
    let mut counted = Instant::now();
    'connect: while shared.hub.has_subscribers() {
        let Some(mut connection) = live::connect(&shared, "relay", &mut backoff).await else { continue };
        loop {
            // What the machine wants, read again when a process's interest grew, and every
            // `RECOUNT_EVERY` (to drop what no stream reads any more).
            let version = relay.interest.version();
            if version != known.0 || counted.elapsed() >= RECOUNT_EVERY {
                known = (version, relay.interest.machine());
                counted = Instant::now();
            }
            let wanted = known.1;
            let read = live::read(&mut connection, &shared, wanted, cursor);
            tokio::pin!(read);
            let read = loop {
                tokio::select! {
                    read = &mut read => break Some(read),
                    () = shared.hub.subscriber_left() => {
                        if !shared.hub.has_subscribers() {
                            break 'connect;
                        }
                    }
                    // A process wants a partition this read lacks: given up, on a new connection.
                    Some(_) = next_change(&mut changes) => {
                        known = (relay.interest.version(), relay.interest.machine());
                        counted = Instant::now();
                        if !covers(wanted, known.1) {
                            break None;
                        }
                    }
                }
            };
            let Some(read) = read else { continue 'connect };
            let Ok(live) = read else { break };
            backoff = Duration::from_millis(100);
            if relay.interest.version() != version {
                known = (relay.interest.version(), relay.interest.machine());
                counted = Instant::now();
                if !covers(wanted, known.1) {
                    // Made again with the new partitions, from the same position.
                    continue;
                }
            }
            if !append_read(relay, cursor, &live).await {
                // The log cannot be written: the relaying goes to another process.
                break 'connect;
            }
            cursor = live.cursor;
            if !shared.hub.has_subscribers() {
                break 'connect;
            }
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
    relay.relaying.store(false, Ordering::Release);
    drop(lock);
}

/// The next change of the interest files, or never when they cannot be watched.
async fn next_change(changes: &mut Option<inotify::EventStream<[u8; 256]>>) -> Option<()> {
    match changes {
        Some(stream) => stream.next().await.map(|_| ()),
        None => std::future::pending().await,
    }
}

/// Appends what one read after `from` brought: a gap record first when Redis trimmed entries
/// before they were read (at `from`: a relay that takes over from it reads the events again),
/// then the events. Retries a failed append a few times; false when the log cannot be written.
async fn append_read(relay: &Relay, from: Position, live: &Live) -> bool {
    let mut done = 0;
    let mut gap_written = !live.gap;
    for attempt in 0..5u32 {
        if !gap_written {
            gap_written = relay.append_gap(from).is_ok();
        }
        while gap_written && done < live.events.len() && relay.append_event(&live.events[done]).is_ok() {
            done += 1;
        }
        if gap_written && done == live.events.len() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50 << attempt)).await;
    }
    crate::warnings::push(format!("ext-sse: cannot write the relay log in {}; another process takes over the relaying", relay.dir().display()));
    false
}
