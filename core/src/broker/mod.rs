//! The broker's storage and ids, shared by every engine and free of PHP and of any runtime.
//!
//! A broker keeps one ordered log of published events. Each event is stored once, already
//! framed, with the topics it was published to; each subscribed stream reads the log from its
//! own position and writes the events of its topics. The pieces:
//! - [`topic`]: what a topic name may be (untrusted-input-safe);
//! - [`event_id`]: positions in a log and the `id:` a client sees (`<epoch>:<position>`);
//! - [`history`]: how much of the log is kept (count and age);
//! - [`stored`]: one published event, and its record format on disk (checksummed);
//! - [`local_log`]: the embedded broker's log, a directory shared by the processes of a machine;
//! - [`memory_log`]: the same log in one process's memory, for unit tests.
//! - [`partition`]: how the Redis broker spreads topics over its streams;
//! - [`relayed`]: a Redis event as a machine's relay log keeps it;
//! - [`leases`]: presence leases (a process's active subscriptions) of the embedded and memory brokers;
//! - [`url`]: which broker a URL names.

pub mod event_id;
pub mod history;
pub mod leases;
pub mod local_log;
pub mod memory_log;
pub mod partition;
pub mod relayed;
pub mod stored;
pub mod topic;
pub mod url;

pub use event_id::{Epoch, EventId, Position};
pub use history::History;
pub use stored::StoredEvent;

/// What a reader gets when it asks for the events after a position.
#[derive(Debug, Default)]
pub struct Batch {
    /// The next events in publish order (at most the number asked for).
    pub events: Vec<StoredEvent>,
    /// Events after the position were dropped from the history (by count or age), or lost to
    /// damaged storage, before they were read: the reader missed something and cannot get it
    /// back. A read that finds a gap after some events returns those events without it, and
    /// the next read reports the gap: `events` of a batch with `gap` all come after the gap.
    pub gap: bool,
    /// The read stopped before `max` events although more follow at once: at its memory
    /// budget, or at a gap after the events it has. Read again now.
    pub truncated: bool,
    /// What was found damaged in the storage on the way (each names the file and the reason),
    /// for the log: the gap it caused is in `gap`.
    pub damage: Vec<String>,
}

impl Batch {
    /// The bytes of the frames read.
    pub fn bytes(&self) -> usize {
        self.events.iter().map(|event| event.frame.len()).sum()
    }
}

/// Why a stream could not resume where its client left off (the `sse-reset` event says it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResetReason {
    /// The Last-Event-ID is older than the history the broker keeps.
    HistoryLost,
    /// The Last-Event-ID was not issued by this broker: another broker, a broker whose storage
    /// was wiped (a new epoch), or an id the client made up.
    UnknownId,
}

impl ResetReason {
    pub fn as_str(self) -> &'static str {
        match self {
            ResetReason::HistoryLost => "history-lost",
            ResetReason::UnknownId => "unknown-id",
        }
    }
}
