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

use super::interest::{self, Interest, Mask};
use crate::doorbell::Doorbell;
use crossbeam_channel::{Receiver, Sender};
use parking_lot::Mutex;
use sse_core::broker::StoredEvent;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use tokio::sync::Notify;

/// Events an inbox holds before its stream must catch up from the log instead.
pub const INBOX_CAPACITY: usize = 1024;

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

    /// Tells every stream to catch up from the log (the reader fell behind it), waking each:
    /// a stream that waits for its next event learns now what it missed.
    pub fn overflow_all(&self) {
        for inbox in self.inboxes.lock().iter().filter_map(Weak::upgrade) {
            inbox.overflowed.store(true, Ordering::Release);
            inbox.notify.notify_one();
            inbox.bell.ring();
        }
    }

    /// Hands events (in log order) to the inboxes of their topics; forgets dropped inboxes.
    pub fn dispatch(&self, events: &[Arc<StoredEvent>]) {
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
