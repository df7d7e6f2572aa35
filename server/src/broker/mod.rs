//! Brokers: publish an event once, deliver it to every subscribed stream of every process.
//!
//! Three engines behind one small trait, [`Engine`]:
//! - [`local`]: the embedded broker, a directory the processes of one machine share;
//! - [`redis`]: Redis Streams, for several machines;
//! - [`memory`]: one process's memory, for unit tests.
//!
//! Each engine stores events in a log (see `sse_core::broker`) and feeds a [`Hub`], which hands
//! new events to the streams of this process that subscribed to their topics. A stream first
//! catches up from the log (`read_after`), then takes live events from its inbox; see
//! `subscription.rs` for how the two are joined without loss or repetition.
//!
//! Engines are per process and per URL ([`engine`]): every `Sse\Broker` with the same URL in a
//! process shares one engine, so one Redis reader connection and one inotify watch serve all of
//! the process's streams. A forked child builds its own (threads and connections do not
//! survive a fork).

pub mod hub;
pub mod interest;
pub mod local;
pub mod memory;
pub mod redis;

use crate::error::{Error, Result};
use hub::{Hub, Inbox};
use parking_lot::Mutex;
use sse_core::broker::url::BrokerUrl;
use sse_core::broker::{Batch, Epoch, EventId, History, Position};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// What a publish needs besides the event: how much history to keep and how long to wait.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Settings {
    pub history: History,
    /// The longest a publish may take before it fails (connecting included).
    pub publish_timeout: Duration,
}

impl Settings {
    /// Two seconds.
    pub const DEFAULT_PUBLISH_TIMEOUT: Duration = Duration::from_secs(2);
}

impl Default for Settings {
    fn default() -> Self {
        Settings { history: History::default(), publish_timeout: Self::DEFAULT_PUBLISH_TIMEOUT }
    }
}

/// The most a search for a publisher's id reads of the history: 64 MiB of frames (all of the
/// default 10,000 events of up to 6.5 KB each).
pub const FIND_OWN_ID_BUDGET: usize = 64 << 20;

/// One broker, as every engine provides it.
pub trait Engine: Send + Sync {
    /// The URL as messages show it (a Redis password hidden).
    fn name(&self) -> &str;

    /// The epoch of the log as last seen.
    fn epoch(&self) -> Result<Epoch>;

    /// Stores one framed event (without id) for `topics`; the whole event or nothing.
    fn publish(&self, topics: &[String], frame: &[u8], id_slot: usize, settings: &Settings) -> Result<EventId>;

    /// The position of the newest event.
    fn last_position(&self) -> Result<Position>;

    /// Up to `max` events after `after`, and whether some were lost to the history limits.
    /// `topics` are the reader's: an engine may return only events of those (Redis reads only
    /// their partitions), or all.
    fn read_after(&self, after: Position, max: usize, history: &History, topics: &[String]) -> Result<Batch>;

    /// The position of the oldest event kept for `topics` whose frame carries the id `id` its
    /// publisher chose (the earliest occurrence, when an id was published twice). Reads the history
    /// kept, oldest first, a batch at a time: the cost of a resume from a publisher's id. The
    /// read stops after [`FIND_OWN_ID_BUDGET`] bytes of frames (a client may send any id: an
    /// unknown one must not cost more than that), and an id beyond it is not found.
    fn find_own_id(&self, id: &[u8], history: &History, topics: &[String]) -> Result<Option<Position>> {
        let mut cursor = Position::ZERO;
        let mut read = 0;
        loop {
            if read > FIND_OWN_ID_BUDGET {
                return Ok(None);
            }
            let batch = self.read_after(cursor, 512, history, topics)?;
            read += batch.bytes();
            // Of these topics only: a partition (Redis) holds other topics' events too.
            if let Some(found) = batch.events.iter().find(|event| event.is_for(topics) && event.own_id() == Some(id)) {
                return Ok(Some(found.position));
            }
            let Some(last) = batch.events.last() else { return Ok(None) };
            cursor = last.position;
        }
    }

    /// Registers a stream's inbox for live events, starting the engine's reader if needed.
    fn subscribe(&self, topics: Vec<String>) -> Result<Arc<Inbox>>;

    /// The hub of this process (for counters).
    fn hub(&self) -> &Hub;

    /// How this process reads the broker, for `phpinfo()` (None: nothing to add to its name).
    fn reading(&self) -> Option<String> {
        None
    }

    /// Presence (see `crate::presence`): writes the lease of the process `identity`, holding
    /// `body`, valid for `ttl` from `now_ms` (milliseconds since the Unix epoch; the Redis
    /// engine counts the time-to-live on Redis's clock instead). True when no lease of that
    /// identity was there: its first write, or it had been claimed as expired.
    fn write_lease(&self, identity: &str, body: &[u8], now_ms: u64, ttl: Duration) -> Result<bool> {
        let _ = (identity, body, now_ms, ttl);
        Err(no_leases(self.name()))
    }

    /// Removes the lease of `identity` (its process ended its subscriptions itself).
    fn remove_lease(&self, identity: &str) -> Result<()> {
        let _ = identity;
        Err(no_leases(self.name()))
    }

    /// Every lease valid at `now_ms`, at most `sse_core::broker::leases::MAX_LEASES`.
    fn live_leases(&self, now_ms: u64) -> Result<Vec<Lease>> {
        let _ = now_ms;
        Err(no_leases(self.name()))
    }

    /// Claims the leases expired at `now_ms` for the process `claimer`: each expired lease is
    /// returned to exactly one claimer of all the processes that ask, which announces the end
    /// of its subscriptions.
    fn claim_expired_leases(&self, now_ms: u64, claimer: &str) -> Result<Vec<Lease>> {
        let _ = (now_ms, claimer);
        Err(no_leases(self.name()))
    }
}

pub use sse_core::broker::leases::Lease;

fn no_leases(name: &str) -> Error {
    Error::misuse(format!("the broker {name} keeps no presence leases"))
}

/// Where the machine's Redis relays live (`sse.relay_dir`; see `redis/relay.rs`), or None:
/// each process reads Redis itself. Read when a Redis engine is opened.
static RELAY_ROOT: Mutex<Option<std::path::PathBuf>> = Mutex::new(None);

/// Sets where Redis engines opened from now on keep their relay (None: no relay).
pub fn set_relay_root(root: Option<std::path::PathBuf>) {
    *RELAY_ROOT.lock() = root;
}

struct Registry {
    pid: u32,
    engines: HashMap<BrokerUrl, Arc<dyn Engine>>,
}

static ENGINES: Mutex<Option<Registry>> = Mutex::new(None);

/// The engine of this process for `url`, opened on first use.
pub fn engine(url: &BrokerUrl) -> Result<Arc<dyn Engine>> {
    let mut slot = ENGINES.lock();
    let pid = std::process::id();
    if slot.as_ref().is_none_or(|r| r.pid != pid) {
        if let Some(inherited) = slot.take() {
            // From the parent, through fork: its reader tasks and connections live there.
            std::mem::forget(inherited);
            redis::locks::close_inherited_locks();
        }
        *slot = Some(Registry { pid, engines: HashMap::new() });
    }
    let Some(registry) = slot.as_mut() else { return Err(Error::misuse("broker registry unavailable")) };
    if let Some(engine) = registry.engines.get(url) {
        return Ok(Arc::clone(engine));
    }
    let engine: Arc<dyn Engine> = match url {
        BrokerUrl::Local(dir) => Arc::new(local::LocalEngine::open(dir)?),
        BrokerUrl::Memory => Arc::new(memory::MemoryEngine::new()?),
        BrokerUrl::Redis(text) | BrokerUrl::RedisCluster(text) => Arc::new(redis::RedisEngine::open(text, RELAY_ROOT.lock().as_deref())?),
    };
    registry.engines.insert(url.clone(), Arc::clone(&engine));
    Ok(engine)
}

/// The engines this process opened, for `phpinfo()` and the status counters.
pub fn engines() -> Vec<Arc<dyn Engine>> {
    let slot = ENGINES.lock();
    match slot.as_ref() {
        Some(registry) if registry.pid == std::process::id() => registry.engines.values().cloned().collect(),
        _ => Vec::new(),
    }
}
