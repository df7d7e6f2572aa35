//! Redis Streams, for an application on several machines: every machine publishes to and reads
//! from one Redis.
//!
//! The log is spread over 64 partitions, each a stream, a topic's events in its partition's
//! stream (see `log.rs` for the layout and why ids stay one per event, in one order): each
//! partition has its own history window, so a busy topic trims its own partition and not a quiet
//! topic's, and a reader reads only the partitions of its streams' topics.
//!
//! Connections, per process: publishing and catching up use one plain blocking connection
//! (the PHP thread waits for the reply anyway, with the publish time-out on connect, read and
//! write). The live path reads with `XREAD BLOCK` on a connection of its own in the runtime (no
//! response time-out there: blocking is its job): one reader per machine, the relay
//! (`relay.rs`), or with `sse.relay_dir` empty, one per process (`follow` below). A reader
//! reconnects with back-off (0.1 s doubling to 5 s) and reads on from the last id it handed
//! out, so nothing published once Redis is back is lost. redis-rs was chosen because it is the
//! maintained Rust client with tokio support, both blocking and async connections, and a
//! cluster client.

mod connection;
mod history;
mod leases;
mod live;
pub mod locks;
mod log;
pub mod relay;
mod relay_interest;

use super::hub::{Hub, Inbox};
use super::interest::Mask;
use super::{Engine, Settings};
use crate::error::{Error, Result};
use crate::runtime;
use connection::{Blocking, Keys, Target};
use log::{entries, PUBLISH, READ};
use parking_lot::Mutex;
use redis::Value;
use sse_core::broker::leases::Lease;
use sse_core::broker::partition::{self, PARTITIONS};
use sse_core::broker::stored::now_ms;
use sse_core::broker::url::redact;
use sse_core::broker::{Batch, Epoch, EventId, History, Position};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// How long one `XREAD` blocks before it asks again (a dead connection shows by then).
const BLOCK_MS: u64 = 5_000;

pub struct RedisEngine {
    shared: Arc<Shared>,
}

struct Shared {
    name: String,
    target: Target,
    keys: Keys,
    /// Each partition's stream and newest-id keys.
    partitions: Vec<(String, String)>,
    /// The blocking connection of publishes and catch-ups, opened on demand.
    connection: Mutex<Option<Kept>>,
    /// The epoch this process proposes if `sse:epoch` is missing: made once and kept until
    /// Redis takes it, so a publish costs no trip to the kernel's random source, and an epoch
    /// is never proposed twice (a flushed Redis must get a new one).
    candidate: Mutex<Option<Epoch>>,
    hub: Hub,
    /// Whether this process's reader task runs (the relay log's follower, with a relay).
    following: Mutex<bool>,
    publish: redis::Script,
    /// This process's publishes: its pid, a random name and a count (see `publish_token`).
    publishes: Mutex<Option<(u32, Epoch, u64)>>,
    read: redis::Script,
    /// Where the machine's relay lives (see `relay.rs`); None: this process reads Redis itself.
    relay_root: Option<std::path::PathBuf>,
    /// The relay, opened by the first subscription (a process that only publishes leaves no
    /// relay directory behind).
    relay: std::sync::OnceLock<relay::Relay>,
}

impl RedisEngine {
    /// One Redis server (`redis://`), or a cluster (`redis-cluster://`, its seed nodes). With
    /// `relay_root`, the processes of the machine that share it read Redis through one of them
    /// (see `relay.rs`).
    pub fn open(url: &str, relay_root: Option<&Path>) -> Result<RedisEngine> {
        let name = redact(url);
        let (client_url, log) = sse_core::broker::url::redis_log(url)?;
        let target = match url.starts_with("redis-cluster://") {
            true => Target::cluster(sse_core::broker::url::cluster_nodes(url)?, Duration::from_millis(BLOCK_MS)),
            false => Target::server(&client_url),
        };
        let target = target.map_err(|e| Error::invalid_argument("url", format!("\"{name}\" is not a valid Redis URL: {e}")))?;
        let keys = Keys::of(target.is_cluster(), log.as_deref());
        let partitions = (0..PARTITIONS).map(|k| (format!("{}:{k}", keys.partitions), format!("{}:{k}:last", keys.partitions))).collect();
        let shared = Shared {
            name,
            target,
            keys,
            partitions,
            connection: Mutex::new(None),
            candidate: Mutex::new(None),
            hub: Hub::default(),
            following: Mutex::new(false),
            publish: redis::Script::new(PUBLISH),
            publishes: Mutex::new(None),
            read: redis::Script::new(READ),
            relay_root: relay_root.map(Path::to_path_buf),
            relay: std::sync::OnceLock::new(),
        };
        Ok(RedisEngine { shared: Arc::new(shared) })
    }
}

impl Shared {
    fn fail(&self, what: &str, e: redis::RedisError) -> Error {
        let reason = if e.is_timeout() { format!("{what}: timed out ({e})") } else { format!("{what}: {e}") };
        Error::unavailable(&self.name, reason)
    }

    /// Runs `body` on the blocking connection, connecting first if needed. A failed connection
    /// is dropped, so the next call connects afresh. A kept connection that turns out to be
    /// dead (Redis restarted since) is replaced once: a command on a socket the server already
    /// closed was never run, so running it again on a new connection cannot run it twice.
    fn with_connection<T>(&self, timeout: Duration, what: &str, body: impl Fn(&mut dyn redis::ConnectionLike) -> redis::RedisResult<T>) -> Result<T> {
        let mut slot = self.connection.lock();
        let reused = slot.is_some();
        let result = match self.run_on(&mut slot, timeout, &body) {
            Err(Attempt::Command(e)) if reused && !e.is_timeout() && (e.is_connection_dropped() || e.is_io_error()) => self.run_on(&mut slot, timeout, &body),
            result => result,
        };
        result.map_err(|attempt| match attempt {
            Attempt::Connect(e) => self.fail("cannot connect", e),
            Attempt::Command(e) => self.fail(what, e),
        })
    }

    fn run_on<T>(
        &self,
        slot: &mut Option<Kept>,
        timeout: Duration,
        body: &impl Fn(&mut dyn redis::ConnectionLike) -> redis::RedisResult<T>,
    ) -> std::result::Result<T, Attempt> {
        let kept = match slot {
            Some(kept) => kept,
            None => slot.insert(Kept { connection: self.target.connect(timeout).map_err(Attempt::Connect)?, timeout: None }),
        };
        let result = kept.set_timeout(timeout).and_then(|()| body(kept.connection.as_dyn()));
        if result.is_err() {
            *slot = None;
        }
        result.map_err(Attempt::Command)
    }

    /// A name no other publish has: this process's random name (made once, and again after a
    /// fork) and a count.
    fn publish_token(&self) -> Result<String> {
        let mut slot = self.publishes.lock();
        let pid = std::process::id();
        if slot.as_ref().is_none_or(|(owner, _, _)| *owner != pid) {
            let name = Epoch::generate().map_err(|e| Error::unavailable(&self.name, format!("no random name: {e}")))?;
            *slot = Some((pid, name, 0));
        }
        let Some((_, name, count)) = slot.as_mut() else { return Err(Error::misuse("no publish name")) };
        *count += 1;
        Ok(format!("{}-{:x}", name.as_str(), *count))
    }

    /// The relay, opened on first use; None when this process reads Redis itself.
    fn open_relay(&self) -> Result<Option<&relay::Relay>> {
        let Some(root) = self.relay_root.as_deref() else { return Ok(None) };
        if self.relay.get().is_none() {
            // Only the PHP thread opens it; a lost race would leave the first one in place.
            let _ = self.relay.set(relay::Relay::open(root, &self.name)?);
        }
        Ok(self.relay.get())
    }

    /// A partition's stream and newest-id keys.
    fn partition_keys(&self, k: usize) -> (&str, &str) {
        let (events, last) = &self.partitions[k % PARTITIONS];
        (events, last)
    }

    /// The newest id published (`sse:last`), even when trimming left every stream empty; from
    /// the stream of the layout before for a Redis of the layout before `sse:last`.
    fn newest_position(&self) -> Result<Position> {
        let last: Option<String> =
            self.with_connection(Settings::DEFAULT_PUBLISH_TIMEOUT, "cannot read the last id", |c| redis::cmd("GET").arg(&self.keys.last).query(c))?;
        if let Some(last) = last.as_deref().and_then(Position::parse) {
            return Ok(last);
        }
        let reply: Value = self.with_connection(Settings::DEFAULT_PUBLISH_TIMEOUT, "cannot read the last id", |c| {
            redis::cmd("XREVRANGE").arg(&self.keys.events).arg("+").arg("-").arg("COUNT").arg(1).query(c)
        })?;
        Ok(entries(reply).last().map_or(Position::ZERO, |entry| entry.event.position))
    }

    /// Names a reading connection after its job and this process (`ext-sse-relay-<pid>`,
    /// `ext-sse-follow-<pid>`), so that `CLIENT LIST` shows who reads (in a cluster, on the
    /// master of the log's slot when the connection was made). Best effort.
    async fn name_connection(&self, connection: &mut connection::Async, job: &str) {
        let _ = connection.set_name(&format!("ext-sse-{job}-{}", std::process::id()), &self.keys.last).await;
    }

    /// The log's epoch, created by whoever comes first (a flushed Redis gets a new one).
    fn current_epoch(&self, timeout: Duration) -> Result<Epoch> {
        let candidate = self.candidate()?;
        let epoch = &self.keys.epoch;
        let (text,): (String,) = self.with_connection(timeout, "cannot read the epoch", |c| {
            // Two commands, not a pipeline: a cluster connection runs one command at a time.
            redis::cmd("SET").arg(epoch).arg(candidate.as_str()).arg("NX").query::<Value>(c)?;
            redis::cmd("GET").arg(epoch).query::<String>(c).map(|text| (text,))
        })?;
        self.epoch_in_redis(&text, &candidate)
    }

    /// The epoch to propose with `SET NX`.
    fn candidate(&self) -> Result<Epoch> {
        let mut slot = self.candidate.lock();
        if let Some(candidate) = slot.as_ref() {
            return Ok(candidate.clone());
        }
        let fresh = Epoch::generate().map_err(|e| Error::unavailable(&self.name, format!("no random epoch: {e}")))?;
        Ok(slot.insert(fresh).clone())
    }

    /// Parses the epoch Redis holds; when it is the one proposed, that one is used up.
    fn epoch_in_redis(&self, text: &str, proposed: &Epoch) -> Result<Epoch> {
        let epoch = Epoch::parse(text).ok_or_else(|| Error::unavailable(&self.name, format!("{} holds \"{text}\", not an epoch", self.keys.epoch)))?;
        if &epoch == proposed {
            *self.candidate.lock() = None;
        }
        Ok(epoch)
    }
}

/// The blocking connection with the time-out last set on its socket (set again only when it
/// changes: two system calls saved on every publish).
struct Kept {
    connection: Blocking,
    timeout: Option<Duration>,
}

impl Kept {
    fn set_timeout(&mut self, timeout: Duration) -> redis::RedisResult<()> {
        if self.timeout != Some(timeout) {
            self.connection.set_timeout(timeout)?;
            self.timeout = Some(timeout);
        }
        Ok(())
    }
}

impl RedisEngine {
    /// Publishes as `Engine::publish` does, once for `token`: a publish with a token already
    /// stored (in the last `10 x publish_timeout`, at least ten seconds) stores nothing and
    /// answers the id that one got. What a publish sent again after a lost reply relies on.
    pub fn publish_once(&self, token: &str, topics: &[String], frame: &[u8], id_slot: usize, settings: &Settings) -> Result<EventId> {
        let shared = &self.shared;
        let candidate = shared.candidate()?;
        let oldest_kept = now_ms().saturating_sub(settings.history.max_age.as_millis() as u64);
        let partitions = partition::to_write(topics);
        // This publish's own key: sent again (a retry), the script answers the id it gave.
        let published = format!("{}:{token}", shared.keys.published);
        let kept_ms = (settings.publish_timeout.as_millis() as u64).saturating_mul(10).max(10_000);
        // One script: the epoch the id belongs to is read with the id itself, and the trims by
        // count and by age happen with the append (see `PUBLISH`).
        let (epoch, id): (String, String) = shared.with_connection(settings.publish_timeout, "cannot publish", |c| {
            let mut invocation = shared.publish.prepare_invoke();
            invocation.key(&shared.keys.epoch).key(&shared.keys.last).key(&shared.keys.since).key(&shared.keys.events).key(&published);
            for &k in &partitions {
                let (events, last) = shared.partition_keys(k);
                invocation.key(events).key(last);
            }
            invocation
                .arg(candidate.as_str())
                .arg(settings.history.max_events)
                .arg(oldest_kept)
                .arg(topics.join("\n"))
                .arg(frame)
                .arg(id_slot)
                .arg(kept_ms)
                .invoke(c)
        })?;
        let epoch = shared.epoch_in_redis(&epoch, &candidate)?;
        let position =
            Position::parse(&id).ok_or_else(|| Error::unavailable(&shared.name, format!("the publish script answered \"{id}\", not a stream id")))?;
        Ok(EventId { epoch, position })
    }
}

impl Engine for RedisEngine {
    fn name(&self) -> &str {
        &self.shared.name
    }

    /// Asked of Redis every time: a stream that starts must know if Redis was flushed.
    fn epoch(&self) -> Result<Epoch> {
        self.shared.current_epoch(Settings::DEFAULT_PUBLISH_TIMEOUT)
    }

    fn publish(&self, topics: &[String], frame: &[u8], id_slot: usize, settings: &Settings) -> Result<EventId> {
        let token = self.shared.publish_token()?;
        self.publish_once(&token, topics, frame, id_slot, settings)
    }

    fn last_position(&self) -> Result<Position> {
        self.shared.newest_position()
    }

    fn read_after(&self, after: Position, max: usize, history: &History, topics: &[String]) -> Result<Batch> {
        self.shared.read_after(after, max, history, topics)
    }

    fn subscribe(&self, topics: Vec<String>) -> Result<Arc<Inbox>> {
        let inbox = self.shared.hub.register(topics);
        if let Some(relay) = self.shared.open_relay()? {
            relay::subscribe(&self.shared, relay)?;
            return Ok(inbox);
        }
        if *self.shared.following.lock() {
            // The reader sees the new partitions (see `follow`).
            return Ok(inbox);
        }
        // The reader starts after the newest event now in Redis; anything older is the
        // subscriber's catch-up. Asked here, outside the lock the reader takes (it runs on the
        // runtime thread, which must never wait for the network), and so that an unreachable
        // Redis is the caller's exception.
        let start = self.last_position()?;
        self.epoch()?;
        // After the registration, under the lock the reader takes to stop (see
        // `still_followed`): either it sees this inbox, or it has stopped and a new one starts.
        let mut following = self.shared.following.lock();
        if !*following {
            let shared = Arc::clone(&self.shared);
            runtime::spawn(follow(shared, start)).map_err(|e| Error::unavailable(&self.shared.name, format!("cannot start the runtime: {e}")))?;
            *following = true;
        }
        Ok(inbox)
    }

    fn hub(&self) -> &Hub {
        &self.shared.hub
    }

    fn reading(&self) -> Option<String> {
        let partitions = self.shared.hub.interest.mask().count_ones();
        let how = match (self.shared.relay.get(), &self.shared.relay_root) {
            (Some(relay), _) => relay.describe(partitions),
            (None, Some(root)) => format!("through a relay in {} once a stream subscribes", root.display()),
            (None, None) => format!("reads Redis itself ({partitions} of {PARTITIONS} partitions)"),
        };
        // Where the log is: its keys' prefix (in a cluster, its hash tag names its slot).
        Some(format!("keys {}:*; {how}", self.shared.keys.prefix))
    }

    /// The time-to-live counts on Redis's clock (`PX`): machines need not agree on the time.
    fn write_lease(&self, identity: &str, body: &[u8], _now_ms: u64, ttl: Duration) -> Result<bool> {
        self.shared.write_lease(identity, body, ttl)
    }

    fn remove_lease(&self, identity: &str) -> Result<()> {
        self.shared.remove_lease(identity)
    }

    fn live_leases(&self, _now_ms: u64) -> Result<Vec<Lease>> {
        self.shared.live_leases()
    }

    fn claim_expired_leases(&self, _now_ms: u64, _claimer: &str) -> Result<Vec<Lease>> {
        self.shared.claim_expired_leases()
    }
}

/// The live path of a process that reads Redis itself: `XREAD BLOCK` over the partitions its
/// streams read, from the last id handed out, reconnecting as needed, for as long as a stream
/// of this process is subscribed (it stops as the last one ends).
///
/// Why a new stream cannot miss an event: its partitions are added to the hub's interest when
/// its inbox is registered, before its catch-up reads Redis. A read that comes back is handed
/// out only if the interest did not grow while it was under way; otherwise it is read again,
/// with the new partitions, from the same position. So every read handed out after the
/// registration covered the new partitions from a position the catch-up reaches.
async fn follow(shared: Arc<Shared>, mut cursor: Position) {
    // What the hub kept from a reader before this one is not known to join on to what this reads.
    shared.hub.reader_starts(Some(cursor));
    let mut backoff = Duration::from_millis(100);
    while still_followed(&shared) {
        let Some(mut connection) = live::connect(&shared, "follow", &mut backoff).await else { continue };
        loop {
            let wanted = shared.hub.interest.mask();
            let read = live::read(&mut connection, &shared, wanted, cursor);
            tokio::pin!(read);
            let read = loop {
                tokio::select! {
                    read = &mut read => break Some(read),
                    // When the last subscriber goes, stop now rather than at the end of the
                    // block (dropping the connection ends it).
                    () = shared.hub.subscriber_left() => {
                        if !still_followed(&shared) {
                            return;
                        }
                    }
                    // A new partition is wanted: this read, which lacks it, is given up (on a
                    // new connection: a blocked read cannot be taken back on this one).
                    () = shared.hub.interest.grew() => {
                        if !covers(wanted, shared.hub.interest.mask()) {
                            break None;
                        }
                    }
                }
            };
            let Some(read) = read else { break };
            let Ok(live) = read else { break };
            backoff = Duration::from_millis(100);
            if !covers(wanted, shared.hub.interest.mask()) {
                continue;
            }
            if live.gap {
                // Trimmed before this process read it: its streams catch up from the log.
                shared.hub.overflow_all();
            }
            let events: Vec<_> = live.events.into_iter().map(Arc::new).collect();
            shared.hub.dispatch(&events);
            cursor = live.cursor;
            if !still_followed(&shared) {
                return;
            }
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}

/// Whether a read of the partitions `read` serves every partition of `wanted`.
fn covers(read: Mask, wanted: Mask) -> bool {
    wanted & !read == 0
}

/// Whether the reader should go on: a stream of this process is subscribed. When none is, the
/// reader is marked stopped under the lock `subscribe` takes, so a new subscriber either is
/// seen here or starts a reader of its own.
fn still_followed(shared: &Shared) -> bool {
    let mut following = shared.following.lock();
    if shared.hub.has_subscribers() {
        return true;
    }
    *following = false;
    false
}

/// How a try on the blocking connection failed.
enum Attempt {
    Connect(redis::RedisError),
    Command(redis::RedisError),
}
