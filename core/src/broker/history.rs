//! How much of a log a broker keeps, so that a reconnecting client can catch up.

use std::time::Duration;

/// Events are kept while both limits allow: the newest `max_events`, none older than `max_age`.
/// A client that reconnects after more than that gets an `sse-reset` event instead.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct History {
    pub max_events: u64,
    pub max_age: Duration,
}

impl History {
    /// 10,000 events: a browser tab asleep for an hour on a busy topic still catches up.
    pub const DEFAULT_MAX_EVENTS: u64 = 10_000;
    /// One hour.
    pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(3600);
}

impl Default for History {
    fn default() -> Self {
        History { max_events: Self::DEFAULT_MAX_EVENTS, max_age: Self::DEFAULT_MAX_AGE }
    }
}
