//! Catching up: the events after a position in the partitions of a reader's topics, and
//! whether some were trimmed (see `log.rs` for the layout). A position from before the
//! partitioned layout (an id a client kept across the upgrade) is read from the stream of the
//! layout before, `sse:events`, up to `sse:since`, then from the partitions.

use super::log::{self, entries, field, merge, number, text, Entry, PartitionRead};
use super::{Settings, Shared};
use crate::error::Result;
use redis::Value;
use sse_core::broker::stored::now_ms;
use sse_core::broker::{partition, Batch, History, Position};

impl Shared {
    /// Up to `max` events after `after` for `topics`; see `Engine::read_after`.
    pub(super) fn read_after(&self, after: Position, max: usize, history: &History, topics: &[String]) -> Result<Batch> {
        let partitions = partition::to_read(topics);
        let (since, reads) = self.read_partitions(after, max, &partitions)?;
        let mut batch = match since {
            // Nothing published in the partitioned layout yet: all there is is the stream before.
            None => self.read_legacy(after, max, None)?,
            Some(since) if after < since => {
                let legacy = self.read_legacy(after, max, Some(since))?;
                if legacy.gap || !legacy.events.is_empty() {
                    // Read again (on from here, then in the partitions) before the catch-up ends.
                    return Ok(Batch { truncated: !legacy.gap, ..legacy });
                }
                // Nothing of the stream before comes after `after`: every partition's first
                // entry has `since` as its predecessor.
                self.partition_batch(since, max, reads)
            }
            Some(_) => self.partition_batch(after, max, reads),
        };
        let expired_before = now_ms().saturating_sub(history.max_age.as_millis() as u64);
        // A stream id starts with the time it was added (ms), which dates the event.
        let before = batch.events.len();
        batch.events.retain(|event| event.position.major >= expired_before);
        batch.gap |= batch.events.len() < before;
        Ok(batch)
    }

    /// `sse:since` and, for each partition, its newest id and up to `max` entries after `after`,
    /// in one script (one moment).
    fn read_partitions(&self, after: Position, max: usize, partitions: &[usize]) -> Result<(Option<Position>, Vec<PartitionRead>)> {
        let reply: Vec<Value> = self.with_connection(Settings::DEFAULT_PUBLISH_TIMEOUT, "cannot read history", |c| {
            let mut invocation = self.read.prepare_invoke();
            invocation.key(&self.keys.since);
            for &k in partitions {
                let (events, last) = self.partition_keys(k);
                invocation.key(events).key(last);
            }
            invocation.arg(format!("({}", log::id(after))).arg(max).invoke(c)
        })?;
        let mut values = reply.into_iter();
        let since = values.next().as_ref().and_then(text).as_deref().and_then(Position::parse);
        let mut reads = Vec::with_capacity(partitions.len());
        while let (Some(last), Some(range)) = (values.next(), values.next()) {
            let entries = entries(range);
            let full = entries.len() >= max;
            reads.push(PartitionRead { last: text(&last).as_deref().and_then(Position::parse), entries, full });
        }
        Ok((since, reads))
    }

    /// The merged reads as a batch. A partition that lost entries after `after` makes it a gap
    /// (where the lost entries were among the others' is not known, so the events read cannot
    /// go out before it, as the embedded broker's do).
    fn partition_batch(&self, after: Position, max: usize, reads: Vec<PartitionRead>) -> Batch {
        let merged = merge(after, reads);
        let mut events = merged.events;
        let mut truncated = merged.truncated;
        if events.len() > max {
            events.truncate(max);
            truncated = true;
        }
        Batch { events, gap: merged.gap, truncated, ..Batch::default() }
    }

    /// The events of the stream of the layout before (`sse:events`) after `after`, up to
    /// `until` (`sse:since`; None: the layout before is the only one yet).
    fn read_legacy(&self, after: Position, max: usize, until: Option<Position>) -> Result<Batch> {
        let events_key = &self.keys.events;
        let last_key = &self.keys.last;
        // The newest id first, then the entries: a publish in between can only make the
        // entries newer than `last`, never make a complete read look like a gap.
        let (range, last): (Value, Option<String>) = self.with_connection(Settings::DEFAULT_PUBLISH_TIMEOUT, "cannot read history", |c| {
            let last = redis::cmd("GET").arg(last_key).query(c)?;
            let end = until.map_or("+".to_owned(), log::id);
            let range = redis::cmd("XRANGE").arg(events_key).arg(format!("({}", log::id(after))).arg(end).arg("COUNT").arg(max).query(c)?;
            Ok((range, last))
        })?;
        let entries = entries(range);
        let newest = until.or_else(|| last.as_deref().and_then(Position::parse));
        let gap = self.gap_before(after, entries.first(), newest)?;
        Ok(Batch { gap, events: entries.into_iter().map(|entry| entry.event).collect(), ..Batch::default() })
    }

    /// Whether events after `after` were trimmed from the stream of the layout before: `first`
    /// is the first entry after it still there, `last` the newest id that stream had.
    fn gap_before(&self, after: Position, first: Option<&Entry>, last: Option<Position>) -> Result<bool> {
        match (first, last) {
            // Its predecessor, when known, says exactly whether anything is missing between.
            (Some(Entry { previous: Some(previous), .. }), _) => Ok(*previous > after),
            // Nothing after `after` is left: missed if anything was published after it.
            (None, Some(last)) => Ok(last > after),
            // Entries of the layout before `p` (or no `sse:last`): ask the stream.
            (first, _) => self.legacy_gap_before(after, first.map(|entry| entry.event.position)),
        }
    }

    /// The same question for entries without `p`: a gap when `after` itself is gone and the
    /// stream's first entry is later (whether `after` was the newest entry trimmed cannot be
    /// told: the answer errs towards a reset, never towards a silent loss), or when Redis
    /// reports a deletion after it.
    fn legacy_gap_before(&self, after: Position, first_after: Option<Position>) -> Result<bool> {
        let at = log::id(after);
        let events = &self.keys.events;
        let (present, oldest, info): (Value, Value, Value) = self.with_connection(Settings::DEFAULT_PUBLISH_TIMEOUT, "cannot read history", |c| {
            let present = redis::cmd("XRANGE").arg(events).arg(&at).arg(&at).arg("COUNT").arg(1).query(c)?;
            let oldest = redis::cmd("XRANGE").arg(events).arg("-").arg("+").arg("COUNT").arg(1).query(c)?;
            // No stream at all is an error reply here: nothing to judge from.
            let info = redis::cmd("XINFO").arg("STREAM").arg(events).query(c).or_else(|e| {
                if matches!(e.kind(), redis::ErrorKind::Server(_)) {
                    Ok(Value::Nil)
                } else {
                    Err(e)
                }
            })?;
            Ok((present, oldest, info))
        })?;
        let deleted = field(&info, "max-deleted-entry-id").and_then(text).and_then(|t| Position::parse(&t)).unwrap_or(Position::ZERO);
        if deleted > after {
            return Ok(true);
        }
        if !entries(present).is_empty() {
            return Ok(false);
        }
        let newest = field(&info, "last-generated-id").and_then(text).and_then(|t| Position::parse(&t)).unwrap_or(Position::ZERO);
        let first = entries(oldest).first().map(|entry| entry.event.position);
        let added = field(&info, "entries-added").and_then(number).unwrap_or(0);
        let length = field(&info, "length").and_then(number).unwrap_or(0);
        Ok(match first.or(first_after) {
            // `after` is gone, and so may be what followed it.
            Some(first) => first > after && (after > Position::ZERO || added > length),
            None => newest > after,
        })
    }
}
