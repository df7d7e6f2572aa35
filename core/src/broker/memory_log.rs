//! The log of a `memory` broker: one process's memory, gone when the process ends. For unit
//! tests, where a publish and a stream live in the same PHPUnit process.

use super::history::History;
use super::stored::{now_ms, StoredEvent};
use super::{Batch, Epoch, Position};
use std::collections::VecDeque;
use std::sync::Mutex;

pub struct MemoryLog {
    epoch: Epoch,
    events: Mutex<Kept>,
}

#[derive(Default)]
struct Kept {
    events: VecDeque<StoredEvent>,
    last: u64,
}

impl MemoryLog {
    pub fn new(epoch: Epoch) -> MemoryLog {
        MemoryLog { epoch, events: Mutex::new(Kept::default()) }
    }

    pub fn epoch(&self) -> &Epoch {
        &self.epoch
    }

    fn kept(&self) -> std::sync::MutexGuard<'_, Kept> {
        self.events.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn append(&self, topics: &[String], frame: &[u8], id_slot: usize, history: &History) -> StoredEvent {
        let mut kept = self.kept();
        kept.last += 1;
        let event = StoredEvent { position: Position::seq(kept.last), time_ms: now_ms(), topics: topics.to_vec().into(), frame: frame.into(), id_slot };
        kept.events.push_back(event.clone());
        let expired_before = event.time_ms.saturating_sub(history.max_age.as_millis() as u64);
        while kept.events.len() as u64 > history.max_events || kept.events.front().is_some_and(|e| e.time_ms < expired_before) {
            kept.events.pop_front();
        }
        event
    }

    pub fn last_position(&self) -> Position {
        Position::seq(self.kept().last)
    }

    pub fn read_after(&self, after: Position, max: usize, history: &History) -> Batch {
        let kept = self.kept();
        let expired_before = now_ms().saturating_sub(history.max_age.as_millis() as u64);
        let first_kept = kept.events.front().map_or(kept.last + 1, |e| e.position.major);
        let mut batch = Batch { gap: after.major.saturating_add(1) < first_kept, ..Batch::default() };
        for event in kept.events.iter().filter(|e| e.position > after) {
            if batch.events.len() >= max {
                break;
            }
            if event.time_ms < expired_before {
                batch.gap = true;
            } else {
                batch.events.push(event.clone());
            }
        }
        batch
    }
}
