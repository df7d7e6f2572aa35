//! The embedded broker: a directory shared by the processes of one machine (see
//! `sse_core::broker::local_log` for the files and why a publisher killed mid-write is
//! harmless). This side adds the live path: one runtime task per process watches the log's
//! `head` file with inotify, reads what was appended and hands it to the [`Hub`]. Waking is
//! the kernel's job; nothing polls, and a publisher never knows or waits for its readers.

use super::hub::{Hub, Inbox};
use super::{Engine, Settings};
use crate::error::{Error, Result};
use crate::runtime;
use futures_util::StreamExt;
use inotify::{Inotify, WatchMask};
use parking_lot::Mutex;
use sse_core::broker::leases::{Lease, LeaseDir};
use sse_core::broker::local_log::LocalLog;
use sse_core::broker::{Batch, Epoch, EventId, History, Position};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

pub struct LocalEngine {
    name: String,
    shared: Arc<Shared>,
    /// Presence leases, in `presence/` (see `sse_core::broker::leases`).
    leases: LeaseDir,
}

struct Shared {
    log: LocalLog,
    hub: Hub,
    /// Whether this process's follower task runs.
    following: Mutex<bool>,
    /// Damage found in the log, to be written to PHP's log by the PHP thread (the follower,
    /// on the runtime thread, must not touch PHP): once per file and process.
    damage: Mutex<Damage>,
}

#[derive(Default)]
struct Damage {
    pending: Vec<String>,
    /// The files already named in the log.
    named: std::collections::HashSet<String>,
}

impl Shared {
    fn note_damage(&self, found: Vec<String>) {
        if found.is_empty() {
            return;
        }
        let mut damage = self.damage.lock();
        for message in found {
            // The file is what comes before the first ": ".
            let file = message.split(": ").next().unwrap_or_default().to_owned();
            if damage.named.len() < 1024 && damage.named.insert(file) {
                damage.pending.push(message);
            }
        }
    }

    /// Hands what damage was found to the PHP thread, which logs it (see `crate::warnings`).
    fn log_damage(&self) {
        let pending = std::mem::take(&mut self.damage.lock().pending);
        for message in pending {
            crate::warnings::push(format!("ext-sse: broker storage damaged: {message}; readers resume after it with sse-reset (history-lost)"));
        }
    }
}

/// The live reader delivers whatever is in the log; history limits apply to catching up only
/// (also the Redis relay log's followers').
pub(super) const LIVE: History = History { max_events: u64::MAX, max_age: Duration::from_secs(100 * 365 * 24 * 3600) };

impl LocalEngine {
    pub fn open(dir: &Path) -> Result<LocalEngine> {
        let log = LocalLog::open(dir)?;
        Ok(LocalEngine {
            name: format!("local://{}", dir.display()),
            shared: Arc::new(Shared { log, hub: Hub::default(), following: Mutex::new(false), damage: Mutex::default() }),
            leases: LeaseDir::new(dir),
        })
    }

    /// Starts the task that follows the log, unless it runs. Called after the caller's inbox
    /// is registered (see `follow` for why that order matters).
    fn follow(&self) -> Result<()> {
        let mut following = self.shared.following.lock();
        if *following {
            return Ok(());
        }
        // Set up here, on the PHP thread, so that a failure is the caller's exception.
        let inotify = watch(&self.shared.log.head_path())
            .map_err(|e| Error::unavailable(&self.name, format!("cannot watch {}: {e}", self.shared.log.head_path().display())))?;
        let start = self.shared.log.last_position()?;
        let shared = Arc::clone(&self.shared);
        runtime::spawn(follow(shared, inotify, start)).map_err(|e| Error::unavailable(&self.name, format!("cannot start the runtime: {e}")))?;
        *following = true;
        Ok(())
    }
}

/// An inotify watch on a file that is rewritten on every change (a log's `head`).
pub(super) fn watch(file: &Path) -> std::io::Result<Inotify> {
    let inotify = Inotify::init()?;
    inotify.watches().add(file, WatchMask::MODIFY)?;
    Ok(inotify)
}

/// Reads and dispatches everything new each time `head` changes, for as long as a stream of
/// this process is subscribed: a worker whose streams are gone stops following as the last
/// one ends (and is not woken by every publish any more) until one subscribes again.
async fn follow(shared: Arc<Shared>, inotify: Inotify, start: Position) {
    // What the hub kept from a reader before this one is not known to join on to what this reads.
    shared.hub.reader_starts(Some(start));
    let mut reader = shared.log.follow(start);
    let mut changes = match inotify.into_event_stream([0u8; 1024]) {
        Ok(changes) => changes,
        Err(_) => {
            *shared.following.lock() = false;
            return;
        }
    };
    loop {
        loop {
            match reader.read(BATCH, &LIVE) {
                Ok(mut batch) => {
                    shared.note_damage(std::mem::take(&mut batch.damage));
                    if batch.gap {
                        // This process fell behind the history: its streams catch up from
                        // the log, which tells them what is lost.
                        shared.hub.overflow_all();
                    }
                    let full = batch.events.len() == BATCH || batch.truncated;
                    let events: Vec<_> = batch.events.into_iter().map(Arc::new).collect();
                    shared.hub.dispatch(&events);
                    if !full {
                        break;
                    }
                }
                Err(_) => {
                    // The directory is being replaced or is unreadable for now: try again soon.
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    break;
                }
            }
        }
        {
            // Decided under the lock `subscribe` takes after registering its inbox: either a
            // new subscriber is seen here, or it sees that no follower runs and starts one.
            let mut following = shared.following.lock();
            if !shared.hub.has_subscribers() {
                *following = false;
                return;
            }
        }
        tokio::select! {
            change = changes.next() => {
                if change.is_none() {
                    *shared.following.lock() = false;
                    return;
                }
            }
            // The last subscriber may have gone: checked above, after reading what is there.
            () = shared.hub.subscriber_left() => {}
        }
    }
}

/// Events read from the log at once.
const BATCH: usize = 256;

impl Engine for LocalEngine {
    fn name(&self) -> &str {
        &self.name
    }

    fn epoch(&self) -> Result<Epoch> {
        Ok(self.shared.log.epoch().clone())
    }

    fn publish(&self, topics: &[String], frame: &[u8], id_slot: usize, settings: &Settings) -> Result<EventId> {
        let appended = self.shared.log.append(topics, frame, id_slot, &settings.history);
        self.shared.note_damage(self.shared.log.take_damage());
        self.shared.log_damage();
        let position = appended?;
        Ok(EventId { epoch: self.shared.log.epoch().clone(), position })
    }

    fn last_position(&self) -> Result<Position> {
        self.shared.log.last_position()
    }

    fn read_after(&self, after: Position, max: usize, history: &History, _topics: &[String]) -> Result<Batch> {
        let mut batch = self.shared.log.read_after(after, max, history)?;
        self.shared.note_damage(std::mem::take(&mut batch.damage));
        self.shared.log_damage();
        Ok(batch)
    }

    fn subscribe(&self, topics: Vec<String>) -> Result<Arc<Inbox>> {
        let inbox = self.shared.hub.register(topics);
        self.follow()?;
        Ok(inbox)
    }

    fn hub(&self) -> &Hub {
        &self.shared.hub
    }

    fn write_lease(&self, identity: &str, body: &[u8], now_ms: u64, ttl: Duration) -> Result<bool> {
        self.leases.write(identity, now_ms.saturating_add(ttl.as_millis() as u64), body)
    }

    fn remove_lease(&self, identity: &str) -> Result<()> {
        self.leases.remove(identity)
    }

    fn live_leases(&self, now_ms: u64) -> Result<Vec<Lease>> {
        self.leases.live(now_ms)
    }

    fn claim_expired_leases(&self, now_ms: u64, claimer: &str) -> Result<Vec<Lease>> {
        self.leases.claim_expired(now_ms, claimer)
    }
}
