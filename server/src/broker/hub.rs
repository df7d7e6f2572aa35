//! The streams of one process that wait for a broker's events, and how new events reach them.
//!
//! An engine's reader (a runtime task, or the publisher itself for `memory`) calls
//! [`Hub::dispatch`] with each new event; every inbox subscribed to one of its topics gets it.
//! Inboxes are bounded ([`INBOX_CAPACITY`]) and dispatch never blocks: an inbox that is full
//! (its stream is busy in a long callback) is marked as overflowed and its stream reads what it
//! missed back from the log, so a slow stream costs memory nowhere and loses nothing. An inbox
//! takes memory only for what it holds (an empty one is a few dozen bytes), which matters for
//! thousands of detached streams. A detached stream is woken through its inbox's [`Notify`], a
//! stream whose PHP thread waits through its [`Doorbell`].
//!
//! The hub also keeps the last [`RECENT_CAPACITY`] events it dispatched, at most
//! [`RECENT_MAX_BYTES`] of frames ([`Hub::recent_after`]):
//! a stream whose inbox overflowed catches up from them instead of reading the broker's log,
//! when they reach back far enough. Under a load heavier than the machine can deliver, many
//! streams overflow together; each reading Redis for itself (on one connection per process)
//! would make some wait for seconds, and Redis send the same events again and again.

use super::interest::{self, Interest, Mask};
use crate::doorbell::Doorbell;
use crossbeam_channel::{Receiver, Sender};
use parking_lot::Mutex;
use sse_core::broker::{Position, StoredEvent};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use tokio::sync::Notify;

/// Events an inbox holds before its stream must catch up from the log instead.
pub const INBOX_CAPACITY: usize = 1024;

/// Events the hub keeps after dispatching them, for streams that overflowed (about a
/// megabyte at 250-byte events; the events are shared with the inboxes that hold them).
pub const RECENT_CAPACITY: usize = 4096;
/// Most bytes of frames the hub keeps so (large events: fewer of them).
pub const RECENT_MAX_BYTES: usize = 4 << 20;

/// The events dispatched lately, in log order.
#[derive(Default)]
struct Recent {
    events: VecDeque<Arc<StoredEvent>>,
    /// The frames' bytes in `events`.
    bytes: usize,
    /// Every event dispatched after this position is in `events`; None until the first
    /// dispatch after the hub started or lost track (a reader that fell behind, or started
    /// again from elsewhere).
    whole_after: Option<Position>,
}

impl Recent {
    fn forget(&mut self) {
        self.events.clear();
        self.bytes = 0;
        self.whole_after = None;
    }

    fn keep(&mut self, event: &Arc<StoredEvent>) {
        if let Some(newest) = self.events.back().map(|last| last.position).filter(|&newest| newest >= event.position) {
            // Not in log order (publishers racing in one process): nothing up to the newest
            // event kept can be vouched for any more.
            self.forget();
            self.whole_after = Some(newest);
            return;
        }
        if self.whole_after.is_none() {
            // What came before this event is unknown here.
            self.whole_after = Some(event.position);
        }
        self.events.push_back(Arc::clone(event));
        self.bytes += event.frame.len();
        while self.events.len() > RECENT_CAPACITY || self.bytes > RECENT_MAX_BYTES {
            let Some(dropped) = self.events.pop_front() else { break };
            self.bytes -= dropped.frame.len();
            self.whole_after = Some(dropped.position);
        }
    }
}

#[derive(Default)]
pub struct Hub {
    inboxes: Mutex<Vec<Weak<Inbox>>>,
    /// Events handed to inboxes since the process started.
    pub delivered: AtomicU64,
    /// Told each time an inbox is dropped (its stream ended): the reader then checks whether
    /// anyone is left to read for.
    left: Arc<Notify>,
    /// The partitions the inboxes read (for the Redis engine).
    pub interest: Arc<Interest>,
    recent: Mutex<Recent>,
}

/// One subscribed stream's queue of live events.
pub struct Inbox {
    topics: Vec<String>,
    sender: Sender<Arc<StoredEvent>>,
    pub receiver: Receiver<Arc<StoredEvent>>,
    overflowed: AtomicBool,
    /// Woken after each dispatch that gave this inbox something (what a detached stream awaits).
    pub notify: Notify,
    /// Rung likewise (what the PHP thread of an attached stream waits on).
    pub bell: Arc<Doorbell>,
    left: Arc<Notify>,
    interest: Arc<Interest>,
    partitions: Mask,
}

impl Drop for Inbox {
    fn drop(&mut self) {
        self.interest.remove(self.partitions);
        self.left.notify_one();
    }
}

impl Inbox {
    /// True once since events were dropped because the inbox was full.
    pub fn take_overflow(&self) -> bool {
        self.overflowed.swap(false, Ordering::AcqRel)
    }

    /// Whether events were dropped since the last [`Inbox::take_overflow`].
    pub fn is_overflowed(&self) -> bool {
        self.overflowed.load(Ordering::Acquire)
    }
}

impl Hub {
    /// A new inbox for `topics`. It receives every event dispatched after this returns.
    pub fn register(&self, topics: Vec<String>) -> Arc<Inbox> {
        // Unbounded in the channel's terms, bounded by `dispatch`: memory only for what waits.
        let (sender, receiver) = crossbeam_channel::unbounded();
        let partitions = interest::mask_of(&topics);
        self.interest.add(partitions);
        let inbox = Arc::new(Inbox {
            topics,
            sender,
            receiver,
            overflowed: AtomicBool::new(false),
            notify: Notify::new(),
            bell: Arc::default(),
            left: Arc::clone(&self.left),
            interest: Arc::clone(&self.interest),
            partitions,
        });
        self.inboxes.lock().push(Arc::downgrade(&inbox));
        inbox
    }

    /// Resolves after a stream of this process stopped being subscribed (maybe before this
    /// was called: one such news is kept for the next call).
    pub async fn subscriber_left(&self) {
        self.left.notified().await;
    }

    /// Whether any stream of this process is subscribed.
    pub fn has_subscribers(&self) -> bool {
        self.inboxes.lock().iter().any(|w| w.strong_count() > 0)
    }

    /// Up to `max` of the events dispatched after `after`, oldest first, and whether that is
    /// all of them; None unless the hub still holds every event dispatched after
    /// `needed_after` (the caller knows that nothing it wants lies between `after` and
    /// `needed_after`: see `Subscription`); then the caller reads the broker's log instead.
    pub fn recent_after(&self, after: Position, needed_after: Position, max: usize) -> Option<(Vec<Arc<StoredEvent>>, bool)> {
        let recent = self.recent.lock();
        if recent.whole_after? > needed_after {
            return None;
        }
        let start = recent.events.partition_point(|event| event.position <= after);
        let taken: Vec<_> = recent.events.range(start..).take(max).cloned().collect();
        let all = start + taken.len() == recent.events.len();
        Some((taken, all))
    }

    /// A reader starts (again): it dispatches every event after `after` (None: after a
    /// position of another kind, or unknown), and what was kept before is forgotten.
    pub fn reader_starts(&self, after: Option<Position>) {
        let mut recent = self.recent.lock();
        recent.forget();
        recent.whole_after = after;
    }

    /// Tells every stream to catch up from the log (the reader fell behind it), waking each:
    /// a stream that waits for its next event learns now what it missed.
    pub fn overflow_all(&self) {
        // What was dispatched before is no longer all there is: the streams read the log.
        self.recent.lock().forget();
        for inbox in self.inboxes.lock().iter().filter_map(Weak::upgrade) {
            inbox.overflowed.store(true, Ordering::Release);
            inbox.notify.notify_one();
            inbox.bell.ring();
        }
    }

    /// Hands events (in log order) to the inboxes of their topics; forgets dropped inboxes.
    pub fn dispatch(&self, events: &[Arc<StoredEvent>]) {
        {
            // Kept before any inbox gets them: a stream that overflows finds them here.
            let mut recent = self.recent.lock();
            for event in events {
                recent.keep(event);
            }
        }
        let mut inboxes = self.inboxes.lock();
        inboxes.retain(|weak| {
            let Some(inbox) = weak.upgrade() else { return false };
            let mut given = false;
            for event in events.iter().filter(|e| e.is_for(&inbox.topics)) {
                if inbox.sender.len() >= INBOX_CAPACITY {
                    inbox.overflowed.store(true, Ordering::Release);
                    given = true;
                    break;
                }
                if inbox.sender.send(Arc::clone(event)).is_err() {
                    return false;
                }
                self.delivered.fetch_add(1, Ordering::Relaxed);
                given = true;
            }
            if given {
                inbox.notify.notify_one();
                inbox.bell.ring();
            }
            true
        });
    }
}
