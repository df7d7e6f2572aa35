//! One stream's subscription: what it writes of a broker's events, in order, each once.
//!
//! Joining the catch-up (events already in the log) and the live events without a hole or a
//! repeat works like this: the stream's inbox is registered with the hub *first*, so every
//! event published from then on reaches it; then the log is read from the client's position
//! up to its end, which covers everything published before. Events that arrive both ways are
//! told apart by position: nothing at or before the last position written is written again.
//! The same catch-up runs again whenever the inbox overflowed, on attached and detached streams
//! alike: this is the one overflow policy (the log still has the events: they are written;
//! it has not: `sse-reset`, `history-lost`, and the stream goes on live). Once an event found
//! the inbox full, no later event is taken from the inbox before the catch-up: it would move
//! the cursor past the missing one.
//!
//! An overflow's catch-up reads the events the hub dispatched lately instead of the log when
//! the hub still holds every event after the later of the stream's cursor and the position it
//! subscribed at (`Hub::recent_after`). Why the later one is enough: the hub gets every event
//! of the stream's topics published after it subscribed (that is what the inbox relies on),
//! and the first catch-up read the log to its end after that, so the stream's topics have no
//! event between its cursor and its start that it has not written.

use crate::broker::hub::Inbox;
use crate::broker::Engine;
use crate::doorbell::Doorbell;
use crate::error::Result;
use sse_core::broker::{Epoch, EventId, History, Position, ResetReason, StoredEvent};
use std::sync::Arc;

/// Which of its topics' events a stream writes, when not all (a Mercure subscriber's selectors
/// and authorization). Called on the PHP thread and on the runtime's.
pub type Filter = Arc<dyn Fn(&StoredEvent) -> bool + Send + Sync>;

/// Events read from the log per catch-up step.
const CATCH_UP_BATCH: usize = 512;

pub struct Subscription {
    engine: Arc<dyn Engine>,
    history: History,
    topics: Vec<String>,
    inbox: Arc<Inbox>,
    epoch: Epoch,
    /// The last position written (or skipped as not for these topics).
    cursor: Position,
    /// The newest position when the inbox was registered: every later event of these topics
    /// reached the inbox, or the hub's recent events.
    subscribed_at: Position,
    catching_up: bool,
    /// Whether a catch-up from the log has ended (the first one, from the client's position).
    caught_up: bool,
    reset: Option<ResetReason>,
    filter: Option<Filter>,
    /// Whether `sse-reset` events are written (see [`Subscription::without_reset_events`]).
    reset_events: bool,
    /// The first catch-up replays everything kept: a gap before it is expected, not news.
    from_earliest: bool,
    /// Kept as long as the subscription lives, wherever its stream is served (attached or
    /// detached), and dropped when it ends: what must end with it (a Mercure active
    /// subscription's registration).
    kept: Vec<Box<dyn std::any::Any + Send>>,
}

impl Subscription {
    /// Subscribes to `topics`, resuming after `last_event_id` when it is this broker's.
    pub fn start(engine: Arc<dyn Engine>, topics: Vec<String>, history: History, last_event_id: Option<&str>) -> Result<Subscription> {
        let inbox = engine.subscribe(topics.clone())?;
        let epoch = engine.epoch()?;
        let last = engine.last_position()?;
        let (cursor, reset) = match last_event_id.map(|raw| (raw, EventId::parse(raw))) {
            None => (last, None),
            Some((_, Some(id))) if id.epoch == epoch && id.position <= last => (id.position, None),
            // Another broker's id, one from before the storage was wiped, or made up.
            Some(_) => (last, Some(ResetReason::UnknownId)),
        };
        Ok(Subscription {
            engine,
            history,
            topics,
            inbox,
            epoch,
            cursor,
            subscribed_at: last,
            catching_up: true,
            caught_up: false,
            reset,
            filter: None,
            reset_events: true,
            from_earliest: false,
            kept: Vec::new(),
        })
    }

    /// Writes only the events `filter` accepts.
    pub fn with_filter(mut self, filter: Filter) -> Subscription {
        self.filter = Some(filter);
        self
    }

    /// Starts with every event the history still keeps, instead of what `start` resumed from.
    pub fn from_earliest(mut self) -> Subscription {
        self.cursor = Position::ZERO;
        self.reset = None;
        self.from_earliest = true;
        self
    }

    /// Keeps `value` until the subscription ends (its stream closed or its client gone).
    pub fn keep(mut self, value: Box<dyn std::any::Any + Send>) -> Subscription {
        self.kept.push(value);
        self
    }

    /// Leaves out the `sse-reset` events (a protocol without them: the stream just goes on).
    pub fn without_reset_events(mut self) -> Subscription {
        self.reset_events = false;
        self
    }

    /// The id of the last event written or skipped: where a client resumes from now.
    pub fn last_id(&self) -> EventId {
        EventId { epoch: self.epoch.clone(), position: self.cursor }
    }

    fn wants(&self, event: &StoredEvent) -> bool {
        self.filter.as_ref().is_none_or(|filter| filter(event))
    }

    /// One event of a catch-up (the log's or the hub's recent events): the cursor moves past it,
    /// and it is written when it is for this stream; how many frames were written.
    fn catch_up_with(&mut self, event: &StoredEvent, out: &mut Vec<u8>) -> usize {
        self.cursor = event.position;
        if event.is_for(&self.topics) && self.wants(event) {
            event.write_frame(&self.epoch, out);
            return 1;
        }
        0
    }

    /// The inbox the hub fills (what a detached stream awaits).
    pub fn inbox(&self) -> Arc<Inbox> {
        Arc::clone(&self.inbox)
    }

    /// Whether the next [`Subscription::take_frames`] reads the broker's log (which may wait
    /// for Redis): a catch-up, after the start or an overflow, or an `sse-reset` to write.
    pub fn needs_log(&self) -> bool {
        self.catching_up || self.reset.is_some() || self.inbox.is_overflowed()
    }

    /// Rung when live events are waiting (what the PHP thread waits on between deliveries).
    pub fn doorbell(&self) -> &Arc<Doorbell> {
        &self.inbox.bell
    }

    /// Appends the frames due now to `out`, at most about `max` events; returns how many
    /// events it appended (fewer than `max`: nothing more is waiting).
    pub fn take_frames(&mut self, out: &mut Vec<u8>, max: usize) -> Result<usize> {
        let mut written = 0;
        if let Some(reason) = self.reset.take().filter(|_| self.reset_events) {
            reset_frame(out, reason, &self.epoch, self.cursor);
            written += 1;
        }
        loop {
            if self.inbox.take_overflow() {
                self.catching_up = true;
            }
            while self.catching_up && written < max {
                if self.caught_up {
                    let needed_after = self.cursor.max(self.subscribed_at);
                    if let Some((events, all)) = self.engine.hub().recent_after(self.cursor, needed_after, CATCH_UP_BATCH) {
                        for event in events {
                            written += self.catch_up_with(&event, out);
                        }
                        self.catching_up = !all;
                        continue;
                    }
                }
                let batch = self.engine.read_after(self.cursor, CATCH_UP_BATCH, &self.history, &self.topics)?;
                if batch.gap && !std::mem::take(&mut self.from_earliest) {
                    // The client missed events the broker no longer has: it must reload its state.
                    // The stream goes on live: on its first catch-up from where it subscribed (every
                    // later event reached its inbox, so none published while this read was under
                    // way is skipped), after an overflow from the newest event (its inbox no longer
                    // holds everything since).
                    let live_from = if self.caught_up { self.engine.last_position()? } else { self.subscribed_at };
                    self.cursor = live_from.max(self.cursor);
                    self.catching_up = false;
                    self.caught_up = true;
                    if !self.reset_events {
                        return Ok(written);
                    }
                    reset_frame(out, ResetReason::HistoryLost, &self.epoch, self.cursor);
                    return Ok(written + 1);
                }
                self.from_earliest = false;
                let complete = batch.events.len() < CATCH_UP_BATCH && !batch.truncated;
                for event in batch.events {
                    written += self.catch_up_with(&event, out);
                }
                if complete {
                    self.catching_up = false;
                    self.caught_up = true;
                }
            }
            let mut overflowed = false;
            while written < max {
                let Ok(event) = self.inbox.receiver.try_recv() else { break };
                if self.inbox.is_overflowed() {
                    // An event before this one may have found the inbox full: writing this one
                    // would move the cursor past it. The catch-up reads them all, this one too
                    // (the hub keeps an event, and the log has it, before any inbox gets it).
                    overflowed = true;
                    break;
                }
                if event.position > self.cursor {
                    self.cursor = event.position;
                    if self.wants(&event) {
                        event.write_frame(&self.epoch, out);
                        written += 1;
                    }
                }
            }
            if !overflowed || written >= max {
                return Ok(written);
            }
        }
    }
}

/// `event: sse-reset`, with an id that resumes from here and a JSON reason.
fn reset_frame(out: &mut Vec<u8>, reason: ResetReason, epoch: &Epoch, position: Position) {
    out.extend_from_slice(b"event: sse-reset\nid: ");
    out.extend_from_slice(EventId { epoch: epoch.clone(), position }.to_string().as_bytes());
    out.extend_from_slice(b"\ndata: {\"reason\":\"");
    out.extend_from_slice(reason.as_str().as_bytes());
    out.extend_from_slice(b"\"}\n\n");
}
