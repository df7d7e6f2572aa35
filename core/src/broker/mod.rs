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
//! - [`url`]: which broker a URL names.

pub mod event_id;
pub mod history;
pub mod local_log;
pub mod memory_log;
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
    /// Events after the position were dropped from the history (by count or age) before they
    /// were read: the reader missed something and cannot get it back.
    pub gap: bool,
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
