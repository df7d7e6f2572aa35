//! The `memory` broker: a log in this process's memory, delivered as it is published. For
//! unit tests (PHPUnit with `Sse\Testing\EventStreamRecorder`): nothing leaves the process,
//! and everything is gone when it ends.

use super::hub::{Hub, Inbox};
use super::{Engine, Settings};
use crate::error::{Error, Result};
use sse_core::broker::leases::{Lease, MemoryLeases};
use sse_core::broker::memory_log::MemoryLog;
use sse_core::broker::{Batch, Epoch, EventId, History, Position};
use std::sync::Arc;
use std::time::Duration;

pub struct MemoryEngine {
    log: MemoryLog,
    hub: Hub,
    leases: MemoryLeases,
}

impl MemoryEngine {
    pub fn new() -> Result<MemoryEngine> {
        let epoch = Epoch::generate().map_err(|e| Error::unavailable("memory", format!("no random epoch: {e}")))?;
        let hub = Hub::default();
        // Every publish is dispatched here, from the first.
        hub.reader_starts(Some(Position::ZERO));
        Ok(MemoryEngine { log: MemoryLog::new(epoch), hub, leases: MemoryLeases::default() })
    }
}

impl Engine for MemoryEngine {
    fn name(&self) -> &str {
        "memory"
    }

    fn epoch(&self) -> Result<Epoch> {
        Ok(self.log.epoch().clone())
    }

    fn publish(&self, topics: &[String], frame: &[u8], id_slot: usize, settings: &Settings) -> Result<EventId> {
        let event = self.log.append(topics, frame, id_slot, &settings.history);
        let id = EventId { epoch: self.log.epoch().clone(), position: event.position };
        // No reader task: the publisher is in the same process, so it delivers at once (a
        // stream on a virtual clock sees the event before its clock moves on).
        self.hub.dispatch(&[Arc::new(event)]);
        Ok(id)
    }

    fn last_position(&self) -> Result<Position> {
        Ok(self.log.last_position())
    }

    fn read_after(&self, after: Position, max: usize, history: &History, _topics: &[String]) -> Result<Batch> {
        Ok(self.log.read_after(after, max, history))
    }

    fn subscribe(&self, topics: Vec<String>) -> Result<Arc<Inbox>> {
        Ok(self.hub.register(topics))
    }

    fn hub(&self) -> &Hub {
        &self.hub
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

    fn claim_expired_leases(&self, now_ms: u64, _claimer: &str) -> Result<Vec<Lease>> {
        self.leases.claim_expired(now_ms)
    }
}
