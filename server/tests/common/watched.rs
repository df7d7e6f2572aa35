//! An engine that lets a test watch and step into what a real one does: it counts log reads,
//! runs a hook before each publish (with the engine, to look at its state then), a hook once
//! in the middle of the next publish and one before a chosen log read (as another thread
//! would). Everything else is the wrapped engine's.

use parking_lot::Mutex;
use sse_core::broker::{Batch, Epoch, EventId, History, Position};
use sse_server::broker::hub::{Hub, Inbox};
use sse_server::broker::{Engine, Lease, Settings};
use sse_server::error::Result;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

pub type BeforePublish<E> = Box<dyn FnMut(&E) + Send>;
/// Something to run once, from whichever thread gets there.
pub type Once = Box<dyn FnOnce() + Send>;

pub struct Watched<E: Engine> {
    pub engine: E,
    read_afters: AtomicUsize,
    before_publish: Mutex<Option<BeforePublish<E>>>,
    during_publish: Mutex<Option<Once>>,
    /// Run before the log read of that number (counted from 1), once.
    before_read: Mutex<Option<(usize, Once)>>,
}

impl<E: Engine> Watched<E> {
    pub fn new(engine: E) -> Watched<E> {
        Watched { engine, read_afters: AtomicUsize::new(0), before_publish: Mutex::new(None), during_publish: Mutex::new(None), before_read: Mutex::new(None) }
    }

    /// How many times the log was read (`read_after`) so far.
    pub fn read_afters(&self) -> usize {
        self.read_afters.load(Ordering::SeqCst)
    }

    pub fn before_each_publish(&self, hook: impl FnMut(&E) + Send + 'static) {
        self.before_publish.lock().replace(Box::new(hook));
    }

    /// Runs `hook` just before the `nth` log read (`read_after`) from now.
    pub fn before_read(&self, nth: usize, hook: impl FnOnce() + Send + 'static) {
        self.before_read.lock().replace((self.read_afters() + nth, Box::new(hook)));
    }

    pub fn during_next_publish(&self, hook: impl FnOnce() + Send + 'static) {
        self.during_publish.lock().replace(Box::new(hook));
    }
}

impl<E: Engine> Engine for Watched<E> {
    fn name(&self) -> &str {
        self.engine.name()
    }
    fn epoch(&self) -> Result<Epoch> {
        self.engine.epoch()
    }
    fn publish(&self, topics: &[String], frame: &[u8], id_slot: usize, settings: &Settings) -> Result<EventId> {
        if let Some(hook) = self.before_publish.lock().as_mut() {
            hook(&self.engine);
        }
        let id = self.engine.publish(topics, frame, id_slot, settings);
        if let Some(hook) = self.during_publish.lock().take() {
            hook();
        }
        id
    }
    fn last_position(&self) -> Result<Position> {
        self.engine.last_position()
    }
    fn read_after(&self, after: Position, max: usize, history: &History, topics: &[String]) -> Result<Batch> {
        let count = self.read_afters.fetch_add(1, Ordering::SeqCst) + 1;
        let due = self.before_read.lock().take_if(|(at, _)| *at == count);
        if let Some((_, hook)) = due {
            hook();
        }
        self.engine.read_after(after, max, history, topics)
    }
    fn subscribe(&self, topics: Vec<String>) -> Result<Arc<Inbox>> {
        self.engine.subscribe(topics)
    }
    fn hub(&self) -> &Hub {
        self.engine.hub()
    }
    fn write_lease(&self, identity: &str, body: &[u8], now_ms: u64, ttl: Duration) -> Result<bool> {
        self.engine.write_lease(identity, body, now_ms, ttl)
    }
    fn remove_lease(&self, identity: &str) -> Result<()> {
        self.engine.remove_lease(identity)
    }
    fn live_leases(&self, now_ms: u64) -> Result<Vec<Lease>> {
        self.engine.live_leases(now_ms)
    }
    fn claim_expired_leases(&self, now_ms: u64, claimer: &str) -> Result<Vec<Lease>> {
        self.engine.claim_expired_leases(now_ms, claimer)
    }
}
