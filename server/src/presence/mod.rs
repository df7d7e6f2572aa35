//! Mercure 1.0's active subscriptions across the processes and machines of one broker: which
//! subscriptions exist anywhere (the subscription API) and the events that say one started or
//! ended (see `sse_core::mercure::subscriptions` for their topic and documents).
//!
//! - **Registry**: each process keeps its own subscriptions in memory ([`Presence`]).
//!   [`Presence::register`] adds one and publishes its `active: true` event at once, on the
//!   caller's thread (the PHP thread, like any publish); the [`Registration`] it returns
//!   removes it when dropped, wherever that happens (a detached stream ends on the runtime
//!   thread). The drop never blocks: it queues the `active: false` event, which the renewal
//!   task publishes on tokio's blocking pool within moments (a publish to Redis may wait for
//!   the network; the runtime thread serves every stream of the process and must not).
//!   [`Presence::flush`] publishes what is queued at once, from any thread.
//! - **Leases**: while a process has subscriptions, its renewal task writes a lease listing
//!   them to the broker's shared store every [`Config::renew_every`] (5 s), valid for
//!   [`Config::ttl`] (15 s), and at once (at most every [`MIN_WRITE_GAP`]) after a change. The
//!   embedded broker keeps one file per process in `presence/` (`sse_core::broker::leases`),
//!   Redis two keys and one set member per process (`broker/redis`), the memory broker its
//!   process's memory. [`Presence::list`] is this process's subscriptions and those of every
//!   other live lease: what the API answers.
//! - **Reaping**: each renewal also claims the leases that expired (a worker killed by
//!   SIGKILL, a machine gone): each is claimed by exactly one process, which publishes
//!   `active: false` for every subscription it held. A process that finds its own lease was
//!   claimed (it stalled longer than the time-to-live) announces its subscriptions again.
//!
//! Bound: a dead process's subscriptions leave the API when its lease expires, at most
//! [`Config::ttl`] after its last renewal (15 s), and their `active: false` events are
//! published by the next renewal of any process with subscriptions after that: within
//! [`LINGER_BOUND`] (20 s, plus one publish's time-out) of the death. Someone watching presence
//! holds a subscription, so a process that reaps exists whenever an event has a reader.
//!
//! Cost: nothing runs and nothing is stored while a process has no subscription registered
//! (presence is off unless the hub's `subscriptions` option is on); a publish never looks at
//! presence. A lease is rewritten whole every renewal (its subscriptions as JSON, about 250
//! bytes each).

use crate::broker::{Engine, Settings};
use crate::error::{Error, Result};
use crate::runtime;
use parking_lot::Mutex;
use sse_core::broker::stored::MAX_FRAME;
use sse_core::broker::EventId;
use sse_core::mercure::matchers::Kind;
use sse_core::mercure::subscriptions::{self, serde_json, ApiPath, Subscription};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

/// How long a lease is valid after it is written.
pub const TTL: Duration = Duration::from_secs(15);
/// How often a process with subscriptions renews its lease and reaps expired ones.
pub const RENEW_EVERY: Duration = Duration::from_secs(5);
/// The longest a dead process's subscriptions linger (in the API and without their
/// `active: false` events): the time-to-live, then one renewal period of another process.
pub const LINGER_BOUND: Duration = Duration::from_secs(TTL.as_secs() + RENEW_EVERY.as_secs());
/// A lease changed by a registration or an end is written again after at most this long (a
/// burst of subscriptions costs one write).
pub const MIN_WRITE_GAP: Duration = Duration::from_millis(250);
/// Most `active: false` events waiting to be published; older ones are dropped beyond it (the
/// broker was unreachable for long) with a warning.
pub const MAX_QUEUED: usize = 100_000;
/// Most bytes of other processes' leases one listing reads; a listing beyond it is cut short
/// with a warning.
pub const MAX_LISTED_BYTES: usize = 256 << 20;

/// A clock: milliseconds since the Unix epoch.
pub type Clock = Arc<dyn Fn() -> u64 + Send + Sync>;

/// How a [`Presence`] runs; [`Config::default`] is what the hub uses.
#[derive(Clone)]
pub struct Config {
    pub ttl: Duration,
    pub renew_every: Duration,
    /// The process's name in the broker's store (1 to 96 of `A-Z a-z 0-9 _ -`); by default the
    /// host name, the pid and a random part.
    pub identity: Option<String>,
    /// The clock leases are dated with (the Redis engine uses Redis's own); by default the
    /// system's.
    pub clock: Option<Clock>,
    /// Whether a runtime task renews, reaps and publishes the queued events (true); tests
    /// drive [`Presence::renew`] themselves instead.
    pub background: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config { ttl: TTL, renew_every: RENEW_EVERY, identity: None, clock: None, background: true }
    }
}

/// The active subscriptions of this process on one broker, and its view of everyone's.
#[derive(Clone)]
pub struct Presence {
    inner: Arc<Inner>,
}

struct Inner {
    engine: Arc<dyn Engine>,
    settings: Settings,
    identity: String,
    ttl: Duration,
    renew_every: Duration,
    clock: Clock,
    background: bool,
    state: Mutex<State>,
    /// One round at a time (the task, a flush, a test).
    round: Mutex<Round>,
    wake: tokio::sync::Notify,
}

#[derive(Default)]
struct State {
    entries: BTreeMap<u64, Subscription>,
    next_key: u64,
    /// The entries changed since the lease was last written.
    changed: bool,
    /// Subscriptions whose end is to be announced.
    ended: VecDeque<Subscription>,
    task_running: bool,
}

#[derive(Default)]
struct Round {
    /// Whether this process's lease is in the store (as far as it knows).
    lease_written: bool,
    last_write_ms: Option<u64>,
    next_reap_ms: u64,
    /// The last failure reported, so that one that repeats is reported once.
    last_failure: Option<String>,
}

/// Keeps a subscription registered; dropping it ends the subscription (its `active: false`
/// event is queued, never published on the dropping thread).
pub struct Registration {
    inner: Arc<Inner>,
    key: u64,
}

impl Drop for Registration {
    fn drop(&mut self) {
        let mut state = self.inner.state.lock();
        let Some(subscription) = state.entries.remove(&self.key) else { return };
        state.changed = true;
        if state.ended.len() == MAX_QUEUED {
            state.ended.pop_front();
            crate::warnings::push(format!("ext-sse: presence: more than {MAX_QUEUED} subscription ends wait to be published; the oldest was dropped"));
        }
        state.ended.push_back(subscription);
        drop(state);
        self.inner.wake.notify_one();
    }
}

/// The registrations of one connection's matchers (see [`Presence::register_connection`]);
/// dropping it ends them all.
pub struct Registrations(pub Vec<Registration>);

impl Registration {
    /// The subscription kept.
    pub fn subscription(&self) -> Option<Subscription> {
        self.inner.state.lock().entries.get(&self.key).cloned()
    }
}

/// Publishes the event saying `subscription` started (`active`) or ended: a private update of
/// type `mercure` on its topic (see `sse_core::mercure::subscriptions`). Blocks as a publish
/// does. A subscription whose topic is longer than a broker topic may be has no event (an
/// error says so).
pub fn publish_event(engine: &dyn Engine, settings: &Settings, subscription: &Subscription, active: bool) -> Result<EventId> {
    let (frame, slot, topics) = subscriptions::frame(&subscription.update(active))?;
    if frame.len() > MAX_FRAME {
        return Err(Error::invalid_argument("payload", format!("a subscription event is {} bytes framed; a broker stores at most {MAX_FRAME}", frame.len())));
    }
    engine.publish(&topics, &frame, slot, settings)
}

fn system_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// This process's default identity: host name, pid, and a random part (a pid is reused).
fn default_identity() -> Result<String> {
    let mut name = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname writes at most that many bytes.
    let host = if unsafe { libc::gethostname(name.as_mut_ptr().cast(), name.len()) } == 0 {
        let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
        name[..end].iter().take(48).map(|&b| if b.is_ascii_alphanumeric() || b == b'-' { b as char } else { '_' }).collect()
    } else {
        String::from("host")
    };
    let random = sse_core::broker::Epoch::generate().map_err(|e| Error::unavailable("random source", e.to_string()))?;
    Ok(format!("{}-{}-{}", if host.is_empty() { "host" } else { &host }, std::process::id(), random.as_str()))
}

impl Presence {
    /// The presence of this process on `engine`; events are published with `settings`.
    pub fn new(engine: Arc<dyn Engine>, settings: Settings, config: Config) -> Result<Presence> {
        let identity = match config.identity {
            Some(identity) => identity,
            None => default_identity()?,
        };
        if !sse_core::broker::leases::valid_identity(&identity) {
            return Err(Error::invalid_argument("identity", "a presence identity is 1 to 96 of A-Z a-z 0-9 _ -"));
        }
        let inner = Inner {
            engine,
            settings,
            identity,
            ttl: config.ttl,
            renew_every: config.renew_every,
            clock: config.clock.unwrap_or_else(|| Arc::new(system_ms)),
            background: config.background,
            state: Mutex::new(State::default()),
            round: Mutex::new(Round::default()),
            wake: tokio::sync::Notify::new(),
        };
        Ok(Presence { inner: Arc::new(inner) })
    }

    /// This process's name in the broker's store.
    pub fn identity(&self) -> &str {
        &self.inner.identity
    }

    /// Registers a subscription that started, and publishes its `active: true` event now (on
    /// this thread; a failure to publish it is the error, and the subscription is registered
    /// all the same: the registration is returned with it). Keep the registration for as long
    /// as the subscription lasts.
    pub fn register(&self, subscription: Subscription) -> (Registration, Result<EventId>) {
        let key = {
            let mut state = self.inner.state.lock();
            let key = state.next_key;
            state.next_key += 1;
            state.entries.insert(key, subscription.clone());
            state.changed = true;
            if self.inner.background && !state.task_running {
                let task = run(Arc::clone(&self.inner));
                match runtime::spawn(task) {
                    Ok(()) => state.task_running = true,
                    Err(e) => crate::warnings::push(format!("ext-sse: presence: cannot start the runtime ({e}); ends are published by flush()")),
                }
            }
            key
        };
        self.inner.wake.notify_one();
        // The lease first, on this thread: whoever sees the `active: true` event finds the
        // subscription in the API. A failure is the renewal task's to retry.
        if let Err(e) = self.inner.write_lease_now(&subscription) {
            crate::warnings::push(format!("ext-sse: presence: {e}"));
        }
        let published = publish_event(&*self.inner.engine, &self.inner.settings, &subscription, true);
        (Registration { inner: Arc::clone(&self.inner), key }, published)
    }

    /// Registers each matcher of one connection (its subscriber id shared, the token grant's
    /// `payload` with each) and publishes their `active: true` events; what failed to publish
    /// is in the errors. Keep the registrations for as long as the connection lasts.
    pub fn register_connection(&self, subscriber: &str, matchers: &[(Kind, String)], payload: Option<&serde_json::Value>) -> (Registrations, Vec<Error>) {
        let mut kept = Vec::with_capacity(matchers.len());
        let mut errors = Vec::new();
        for (kind, matched) in matchers {
            let subscription =
                Subscription { subscriber: subscriber.to_owned(), matched: matched.clone(), match_type: (*kind).into(), payload: payload.cloned() };
            let (registration, published) = self.register(subscription);
            kept.push(registration);
            if let Err(e) = published {
                errors.push(e);
            }
        }
        (Registrations(kept), errors)
    }

    /// The active subscriptions an API path asks for (see [`Presence::list`]).
    pub fn query(&self, asked: &ApiPath) -> Result<Vec<Subscription>> {
        Ok(asked.select(self.list()?))
    }

    /// This process's subscriptions, in the order they were registered.
    pub fn local(&self) -> Vec<Subscription> {
        self.inner.state.lock().entries.values().cloned().collect()
    }

    /// Every active subscription: this process's, then those of every other process's live
    /// lease (in the order of their identities). A damaged lease is skipped with a warning.
    pub fn list(&self) -> Result<Vec<Subscription>> {
        let mut all = self.local();
        let leases = self.inner.engine.live_leases((self.inner.clock)())?;
        let mut read = 0;
        for lease in leases.into_iter().filter(|lease| lease.identity != self.inner.identity) {
            read += lease.body.len();
            if read > MAX_LISTED_BYTES {
                crate::warnings::push(format!("ext-sse: presence: the leases hold more than {MAX_LISTED_BYTES} bytes; the listing is cut short"));
                break;
            }
            match subscriptions::decode_list(&lease.body) {
                Ok(list) => all.extend(list),
                Err(e) => crate::warnings::push(format!("ext-sse: presence: the lease of {} is damaged ({e}); skipped", lease.identity)),
            }
        }
        Ok(all)
    }

    /// One round of the renewal, on this thread (it blocks as publishes do): publishes the
    /// queued ends, writes this process's lease when it is due or changed (removes it once
    /// the process has no subscription left), and claims the expired leases of others,
    /// announcing the end of their subscriptions. The first failure is returned; what failed
    /// is tried again next round.
    pub fn renew(&self) -> Result<()> {
        self.inner.round().map(|_| ())
    }

    /// Publishes the queued ends now, on this thread (the PHP thread when no runtime runs),
    /// after writing the lease without them (at once, not waiting for [`MIN_WRITE_GAP`]).
    pub fn flush(&self) -> Result<()> {
        let mut round = self.inner.round.lock();
        let now = (self.inner.clock)();
        let entries = {
            let mut state = self.inner.state.lock();
            if !state.changed {
                None
            } else {
                state.changed = false;
                Some(state.entries.values().cloned().collect::<Vec<_>>())
            }
        };
        match entries {
            Some(list) if list.is_empty() => {
                self.inner.engine.remove_lease(&self.inner.identity).inspect_err(|_| self.inner.state.lock().changed = true)?;
                round.lease_written = false;
                round.last_write_ms = None;
            }
            Some(list) => {
                self.inner
                    .engine
                    .write_lease(&self.inner.identity, &subscriptions::encode_list(&list), now, self.inner.ttl)
                    .inspect_err(|_| self.inner.state.lock().changed = true)?;
                round.lease_written = true;
                round.last_write_ms = Some(now);
            }
            None => {}
        }
        self.inner.publish_ended(Unlisted::Only)
    }

    /// Module shutdown: removes this process's lease, so that nothing waits for it to expire,
    /// then publishes the queued ends (whoever sees one finds the API agree).
    pub fn shut_down(&self) -> Result<()> {
        let mut round = self.inner.round.lock();
        round.lease_written = false;
        let removed = self.inner.engine.remove_lease(&self.inner.identity);
        let published = self.inner.publish_ended(Unlisted::Any);
        removed.and(published)
    }
}

/// Which queued ends [`Inner::publish_ended`] publishes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Unlisted {
    /// Only while the lease written last lists none of them (no registration ended since).
    Only,
    /// All (the lease is gone).
    Any,
}

impl Inner {
    /// Writes this process's lease now with every registered subscription (a registration
    /// that must be listed before its event goes out).
    fn write_lease_now(&self, registering: &Subscription) -> Result<()> {
        let mut round = self.round.lock();
        let now = (self.clock)();
        let list: Vec<Subscription> = {
            let mut state = self.state.lock();
            state.changed = false;
            state.entries.values().cloned().collect()
        };
        if list.is_empty() {
            return Ok(());
        }
        match self.engine.write_lease(&self.identity, &subscriptions::encode_list(&list), now, self.ttl) {
            Ok(created) => {
                if created && round.lease_written {
                    // Claimed as expired meanwhile (this process stalled), and its ends
                    // announced: the others are active still (the caller announces its own).
                    for subscription in list.iter().filter(|s| *s != registering) {
                        if let Err(e) = publish_event(&*self.engine, &self.settings, subscription, true) {
                            crate::warnings::push(format!("ext-sse: presence: {e}"));
                        }
                    }
                }
                round.lease_written = true;
                round.last_write_ms = Some(now);
                Ok(())
            }
            Err(e) => {
                self.state.lock().changed = true;
                Err(e)
            }
        }
    }

    /// Publishes the queued ends, oldest first; one that fails stays queued with the rest.
    /// With [`Unlisted::Only`] it stops at once when a registration ended after the lease was
    /// last written: checked under the same lock as each end is taken (a drop marks the change
    /// and queues its end together), so no end goes out while the lease still lists it.
    fn publish_ended(&self, which: Unlisted) -> Result<()> {
        loop {
            let next = {
                let mut state = self.state.lock();
                if which == Unlisted::Only && state.changed {
                    return Ok(());
                }
                state.ended.pop_front()
            };
            let Some(subscription) = next else { return Ok(()) };
            match publish_event(&*self.engine, &self.settings, &subscription, false) {
                Ok(_) => {}
                Err(e @ Error::Unavailable { .. }) => {
                    self.state.lock().ended.push_front(subscription);
                    return Err(e);
                }
                // Never publishable (a topic too long for the broker): dropped.
                Err(e) => crate::warnings::push(format!("ext-sse: presence: the end of {} is not published: {e}", subscription.topic())),
            }
        }
    }

    /// One round (see `Presence::renew`); how long until the next one is due.
    fn round(&self) -> Result<Duration> {
        let mut round = self.round.lock();
        let mut first_error = None;
        let now = (self.clock)();
        let snapshot = {
            let mut state = self.state.lock();
            let due = round.last_write_ms.is_none_or(|at| now >= at.saturating_add(self.renew_every.as_millis() as u64));
            let may_write = round.last_write_ms.is_none_or(|at| now >= at.saturating_add(MIN_WRITE_GAP.as_millis() as u64));
            if state.entries.is_empty() {
                state.changed = false;
                Some(None)
            } else if due || (state.changed && may_write) {
                state.changed = false;
                Some(Some(state.entries.values().cloned().collect::<Vec<_>>()))
            } else {
                None
            }
        };
        match snapshot {
            Some(Some(list)) => match self.engine.write_lease(&self.identity, &subscriptions::encode_list(&list), now, self.ttl) {
                Ok(created) => {
                    if created && round.lease_written {
                        // Claimed as expired by another process, which announced these ends:
                        // they are active still.
                        for subscription in &list {
                            if let Err(e) = publish_event(&*self.engine, &self.settings, subscription, true) {
                                first_error.get_or_insert(e);
                            }
                        }
                    }
                    round.lease_written = true;
                    round.last_write_ms = Some(now);
                }
                Err(e) => {
                    self.state.lock().changed = true;
                    first_error.get_or_insert(e);
                }
            },
            Some(None) if round.lease_written => match self.engine.remove_lease(&self.identity) {
                Ok(()) => {
                    round.lease_written = false;
                    round.last_write_ms = None;
                }
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            },
            _ => {}
        }
        // The ends once the lease no longer lists them (it may wait for the next round): whoever
        // sees an `active: false` event finds the API agree.
        if let Err(e) = self.publish_ended(Unlisted::Only) {
            first_error.get_or_insert(e);
        }
        if now >= round.next_reap_ms && round.lease_written {
            round.next_reap_ms = now.saturating_add(self.renew_every.as_millis() as u64);
            if let Err(e) = self.reap(now) {
                first_error.get_or_insert(e);
            }
        }
        let wait = match (self.state.lock().changed, round.last_write_ms) {
            (true, Some(at)) => Duration::from_millis(at.saturating_add(MIN_WRITE_GAP.as_millis() as u64).saturating_sub(now)),
            (true, None) => Duration::ZERO,
            _ => self.renew_every,
        };
        match first_error {
            Some(e) => {
                let message = e.to_string();
                if round.last_failure.as_deref() != Some(&message) {
                    crate::warnings::push(format!("ext-sse: presence: {message}"));
                    round.last_failure = Some(message);
                }
                Err(e)
            }
            None => {
                round.last_failure = None;
                Ok(wait)
            }
        }
    }

    /// Claims the expired leases and announces the end of each of their subscriptions.
    fn reap(&self, now: u64) -> Result<()> {
        let claimed = self.engine.claim_expired_leases(now, &self.identity)?;
        let mut first_error = None;
        for lease in claimed {
            if lease.identity == self.identity {
                // Our own, expired while this process stalled: written again below, its
                // subscriptions announced again then.
                continue;
            }
            let list = match subscriptions::decode_list(&lease.body) {
                Ok(list) => list,
                Err(_) if lease.body.is_empty() => continue,
                Err(e) => {
                    crate::warnings::push(format!(
                        "ext-sse: presence: the expired lease of {} is damaged ({e}); its subscriptions end unannounced",
                        lease.identity
                    ));
                    continue;
                }
            };
            let mut state = self.state.lock();
            for subscription in list {
                if state.ended.len() < MAX_QUEUED {
                    state.ended.push_back(subscription);
                }
            }
        }
        if let Err(e) = self.publish_ended(Unlisted::Only) {
            first_error = Some(e);
        }
        first_error.map_or(Ok(()), Err)
    }
}

/// The renewal task: a round on the blocking pool, then a wait until the next is due or a
/// registration or an end wakes it; it ends once the process has no subscription, nothing
/// queued and no lease left (the next registration starts it again).
async fn run(inner: Arc<Inner>) {
    loop {
        let worker = Arc::clone(&inner);
        let wait = match tokio::task::spawn_blocking(move || worker.round()).await {
            Ok(Ok(wait)) => wait,
            // Failed (the broker unreachable): tried again after a pause.
            _ => Duration::from_secs(1).min(inner.renew_every),
        };
        {
            // In the order `round` takes them: the round's lock, then the state's.
            let round = inner.round.lock();
            let mut state = inner.state.lock();
            if state.entries.is_empty() && state.ended.is_empty() && !round.lease_written {
                state.task_running = false;
                return;
            }
        }
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = inner.wake.notified() => {
                // A burst of registrations and ends is handled in one round.
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

struct Shared {
    pid: u32,
    by_engine: HashMap<String, Presence>,
}

static SHARED: Mutex<Option<Shared>> = Mutex::new(None);

/// The presence of this process on `engine` (one per engine and process, made on first use
/// with the default configuration and `settings`).
pub fn shared(engine: &Arc<dyn Engine>, settings: &Settings) -> Result<Presence> {
    let mut slot = SHARED.lock();
    let pid = std::process::id();
    if slot.as_ref().is_none_or(|s| s.pid != pid) {
        if let Some(inherited) = slot.take() {
            // From the parent, through fork: its task runs there.
            std::mem::forget(inherited);
        }
        *slot = Some(Shared { pid, by_engine: HashMap::new() });
    }
    let Some(shared) = slot.as_mut() else { return Err(Error::misuse("presence registry unavailable")) };
    if let Some(presence) = shared.by_engine.get(engine.name()) {
        return Ok(presence.clone());
    }
    let presence = Presence::new(Arc::clone(engine), *settings, Config::default())?;
    shared.by_engine.insert(engine.name().to_owned(), presence.clone());
    Ok(presence)
}

/// Module shutdown: every presence of this process removes its lease and publishes its queued
/// ends (see [`Presence::shut_down`]). Call it before the runtime stops.
pub fn shut_down_all() {
    let all: Vec<Presence> = match SHARED.lock().as_ref() {
        Some(shared) if shared.pid == std::process::id() => shared.by_engine.values().cloned().collect(),
        _ => Vec::new(),
    };
    for presence in all {
        let _ = presence.shut_down();
    }
}
