//! The streams of one process that wait for a broker's events, and how new events reach them.
//!
//! An engine's reader (a runtime task, or the publisher itself for `memory`) calls
//! [`Hub::dispatch`] with each new event; every inbox subscribed to one of its topics gets it.
//! Inboxes are bounded ([`INBOX_CAPACITY`]) and dispatch never blocks: an inbox that is full
//! (its stream is busy in a long callback) is marked as overflowed and its stream reads what it
//! missed back from the log, so a slow stream costs memory nowhere and loses nothing.

use crossbeam_channel::{Receiver, Sender, TrySendError};
use parking_lot::Mutex;
use sse_core::broker::StoredEvent;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};

/// Events an inbox holds before its stream must catch up from the log instead.
pub const INBOX_CAPACITY: usize = 1024;

#[derive(Default)]
pub struct Hub {
    inboxes: Mutex<Vec<Weak<Inbox>>>,
    /// Events handed to inboxes since the process started.
    pub delivered: AtomicU64,
}

/// One subscribed stream's queue of live events.
pub struct Inbox {
    topics: Vec<String>,
    sender: Sender<Arc<StoredEvent>>,
    pub receiver: Receiver<Arc<StoredEvent>>,
    overflowed: AtomicBool,
}

impl Inbox {
    /// True once since events were dropped because the inbox was full.
    pub fn take_overflow(&self) -> bool {
        self.overflowed.swap(false, Ordering::AcqRel)
    }
}

impl Hub {
    /// A new inbox for `topics`. It receives every event dispatched after this returns.
    pub fn register(&self, topics: Vec<String>) -> Arc<Inbox> {
        let (sender, receiver) = crossbeam_channel::bounded(INBOX_CAPACITY);
        let inbox = Arc::new(Inbox { topics, sender, receiver, overflowed: AtomicBool::new(false) });
        self.inboxes.lock().push(Arc::downgrade(&inbox));
        inbox
    }

    /// Whether any stream of this process is subscribed.
    pub fn has_subscribers(&self) -> bool {
        self.inboxes.lock().iter().any(|w| w.strong_count() > 0)
    }

    /// Tells every stream to catch up from the log (the reader fell behind it).
    pub fn overflow_all(&self) {
        for inbox in self.inboxes.lock().iter().filter_map(Weak::upgrade) {
            inbox.overflowed.store(true, Ordering::Release);
        }
    }

    /// Hands events (in log order) to the inboxes of their topics; forgets dropped inboxes.
    pub fn dispatch(&self, events: &[Arc<StoredEvent>]) {
        let mut inboxes = self.inboxes.lock();
        inboxes.retain(|weak| {
            let Some(inbox) = weak.upgrade() else { return false };
            for event in events.iter().filter(|e| e.is_for(&inbox.topics)) {
                match inbox.sender.try_send(Arc::clone(event)) {
                    Ok(()) => {
                        self.delivered.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(TrySendError::Full(_)) => inbox.overflowed.store(true, Ordering::Release),
                    Err(TrySendError::Disconnected(_)) => return false,
                }
            }
            true
        });
    }
}
