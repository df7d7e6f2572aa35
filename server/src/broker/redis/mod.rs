//! Redis Streams, for an application on several machines: every machine publishes to and reads
//! from one Redis.
//!
//! Layout in the database the URL names: one stream, `sse:events`, holds the events of every
//! topic (fields `t`: the topics joined by newlines, which topic names cannot contain; `f`: the
//! frame without id; `s`: where the id goes; `p`: the id of the entry before it), `sse:epoch`
//! names the log (see `sse_core::broker::event_id`) and `sse:last` holds the newest id.
//!
//! Why `p`: trimming (by count or by age) deletes the oldest entries, and a client may resume
//! from an id that is gone. Whether it missed anything is then a question Redis does not answer
//! reliably (`max-deleted-entry-id` stays `0-0` after `MAXLEN` trimming on Redis 7.0), but the
//! first entry after the client's id does: if its predecessor is later than the client's id,
//! the entries between were trimmed. Entries written before `p` existed are judged from the
//! stream's first entry instead (see `gap_before`). One stream rather than one per topic gives every event a
//! single id and a single order across topics, and lets one `XREAD` per process serve all its
//! streams; the cost is that each process reads the events of topics it has no subscriber for.
//!
//! Connections, per process: publishing and catching up use one plain blocking connection
//! (the PHP thread waits for the reply anyway, with the publish time-out on connect, read and
//! write); the live path is one task in the runtime that loops on `XREAD BLOCK` on a connection
//! of its own (no response time-out there: blocking is its job). When Redis goes away the task
//! reconnects with back-off (0.1 s doubling to 5 s) and reads on from the last id it handed
//! out, so nothing published once Redis is back is lost. redis-rs was chosen because it is
//! the maintained Rust client with tokio support and both blocking and async connections.

mod connection;
pub mod relay;

use super::hub::{Hub, Inbox};
use super::{Engine, Settings};
use crate::error::{Error, Result};
use crate::runtime;
use connection::{Blocking, Keys, Target};
use parking_lot::Mutex;
use redis::Value;
use sse_core::broker::leases::{valid_identity, Lease, MAX_LEASES};
use sse_core::broker::stored::now_ms;
use sse_core::broker::url::redact;
use sse_core::broker::{Batch, Epoch, EventId, History, Position, StoredEvent};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// One publish, atomic: the epoch (created if missing), the append with its predecessor's id,
/// the trims, and the newest id. `sse:last` missing (a Redis of the layout before it, or one
/// flushed) is found from the stream's last entry once.
/// KEYS: events, epoch, last. ARGV: candidate epoch, max events, oldest time kept (ms),
/// topics, frame, id slot.
const PUBLISH: &str = r#"
redis.call('SET', KEYS[2], ARGV[1], 'NX')
local epoch = redis.call('GET', KEYS[2])
local previous = redis.call('GET', KEYS[3])
if not previous then
  local newest = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
  previous = newest[1] and newest[1][1] or '0-0'
end
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 't', ARGV[4], 'f', ARGV[5], 's', ARGV[6], 'p', previous)
redis.call('XTRIM', KEYS[1], 'MINID', '~', ARGV[3])
redis.call('SET', KEYS[3], id)
return {epoch, id}
"#;

/// How long one `XREAD` blocks before it asks again (a dead connection shows by then).
const BLOCK_MS: u64 = 5_000;

/// Presence leases (see `crate::presence`): a process's lease is two keys, its body
/// `sse:presence:<identity>` and `sse:presence:<identity>:live`, which expires (`PX`) when the
/// lease does, on Redis's clock; the set `sse:presence` names the processes holding one, so
/// that a listing is one `SMEMBERS` and one `MGET` a batch, on one node of a cluster (every key
/// has the hash tag there). The body outlives the live key ([`LEASE_BODY_TTL_FACTOR`] times),
/// so that the process that claims an expired lease can read what to announce as ended.
/// KEYS: set, live, body. ARGV: identity, time-to-live (ms), body, body's time-to-live (ms).
/// Returns 1 when the identity was not in the set (a first write, or claimed since).
const LEASE_WRITE: &str = r#"
redis.call('SET', KEYS[2], '1', 'PX', ARGV[2])
redis.call('SET', KEYS[3], ARGV[3], 'PX', ARGV[4])
return redis.call('SADD', KEYS[1], ARGV[1])
"#;

/// KEYS: set, live, body. ARGV: identity.
const LEASE_REMOVE: &str = r#"
redis.call('DEL', KEYS[2], KEYS[3])
return redis.call('SREM', KEYS[1], ARGV[1])
"#;

/// Claims an expired lease: only while its live key is gone, and only once (SREM answers 1 to
/// one caller). Returns its body ('' when that expired too), or nil when not claimed.
/// KEYS: set, live, body. ARGV: identity.
const LEASE_CLAIM: &str = r#"
if redis.call('EXISTS', KEYS[2]) == 1 then return false end
if redis.call('SREM', KEYS[1], ARGV[1]) == 0 then return false end
local body = redis.call('GET', KEYS[3])
redis.call('DEL', KEYS[3])
return body or ''
"#;

/// How much longer than the lease its body is kept.
const LEASE_BODY_TTL_FACTOR: u64 = 10;
/// Identities per `MGET`.
const LEASE_BATCH: usize = 64;

pub struct RedisEngine {
    shared: Arc<Shared>,
}

struct Shared {
    name: String,
    target: Target,
    keys: &'static Keys,
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
    /// The machine's relay (see `relay.rs`); None: this process reads Redis itself.
    relay: Option<relay::Relay>,
}

impl RedisEngine {
    /// One Redis server (`redis://`), or a cluster (`redis-cluster://`, its seed nodes). With
    /// `relay_root`, the processes of the machine that share it read Redis through one of them
    /// (see `relay.rs`).
    pub fn open(url: &str, relay_root: Option<&Path>) -> Result<RedisEngine> {
        let name = redact(url);
        let target = match url.starts_with("redis-cluster://") {
            true => Target::cluster(sse_core::broker::url::cluster_nodes(url)?, Duration::from_millis(BLOCK_MS)),
            false => Target::server(url),
        };
        let target = target.map_err(|e| Error::invalid_argument("url", format!("\"{name}\" is not a valid Redis URL: {e}")))?;
        let keys = target.keys();
        let relay = relay_root.map(|root| relay::Relay::open(root, &name)).transpose()?;
        let shared = Shared {
            name,
            target,
            keys,
            connection: Mutex::new(None),
            candidate: Mutex::new(None),
            hub: Hub::default(),
            following: Mutex::new(false),
            publish: redis::Script::new(PUBLISH),
            relay,
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

    /// The newest id published (`sse:last`), even when trimming left the stream empty; from
    /// the stream itself for a Redis of the layout before `sse:last`.
    fn newest_position(&self) -> Result<Position> {
        let last: Option<String> =
            self.with_connection(Settings::DEFAULT_PUBLISH_TIMEOUT, "cannot read the last id", |c| redis::cmd("GET").arg(self.keys.last).query(c))?;
        if let Some(last) = last.as_deref().and_then(Position::parse) {
            return Ok(last);
        }
        let reply: Value = self.with_connection(Settings::DEFAULT_PUBLISH_TIMEOUT, "cannot read the last id", |c| {
            redis::cmd("XREVRANGE").arg(self.keys.events).arg("+").arg("-").arg("COUNT").arg(1).query(c)
        })?;
        Ok(entries(reply).last().map_or(Position::ZERO, |entry| entry.event.position))
    }

    /// Names a reading connection after its job and this process (`ext-sse-relay-<pid>`,
    /// `ext-sse-follow-<pid>`), so that `CLIENT LIST` shows who reads. Best effort: a cluster
    /// connection may not pass the command on.
    async fn name_connection(&self, connection: &mut connection::Async, job: &str) {
        if let connection::Async::Server(_) = connection {
            let _ = connection.query(redis::cmd("CLIENT").arg("SETNAME").arg(format!("ext-sse-{job}-{}", std::process::id()))).await;
        }
    }

    /// The log's epoch, created by whoever comes first (a flushed Redis gets a new one).
    fn current_epoch(&self, timeout: Duration) -> Result<Epoch> {
        let candidate = self.candidate()?;
        let epoch = self.keys.epoch;
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
    /// Whether events after `after` were trimmed before this read: `first` is the first entry
    /// after it still in the stream, `last` the newest id published (`sse:last`).
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
        let at = format!("{}-{}", after.major, after.minor);
        let events = self.shared.keys.events;
        let (present, oldest, info): (Value, Value, Value) = self.shared.with_connection(Settings::DEFAULT_PUBLISH_TIMEOUT, "cannot read history", |c| {
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
        Ok(match first.or(first_after) {
            // `after` is gone, and so may be what followed it.
            Some(first) => first > after && (after > Position::ZERO || entries_added(&info) > stream_length(&info)),
            None => newest > after,
        })
    }
}

fn entries_added(info: &Value) -> u64 {
    field(info, "entries-added").and_then(number).unwrap_or(0)
}

fn stream_length(info: &Value) -> u64 {
    field(info, "length").and_then(number).unwrap_or(0)
}

fn number(value: &Value) -> Option<u64> {
    match value {
        Value::Int(n) => u64::try_from(*n).ok(),
        other => text(other)?.parse().ok(),
    }
}

impl Shared {
    fn lease_keys(&self, identity: &str) -> (String, String) {
        (format!("{}:{identity}:live", self.keys.presence), format!("{}:{identity}", self.keys.presence))
    }

    fn lease_script(&self, source: &str, identity: &str, args: &[&[u8]], what: &str) -> Result<Value> {
        if !valid_identity(identity) {
            return Err(Error::invalid_argument("identity", "a lease identity is 1 to 96 of A-Z a-z 0-9 _ -"));
        }
        let script = redis::Script::new(source);
        let (live, body) = self.lease_keys(identity);
        self.with_connection(Settings::DEFAULT_PUBLISH_TIMEOUT, what, |c| {
            let mut invocation = script.prepare_invoke();
            invocation.key(self.keys.presence).key(&live).key(&body).arg(identity);
            for arg in args {
                invocation.arg(*arg);
            }
            invocation.invoke(c)
        })
    }

    /// The identities in the set (checked), at most `MAX_LEASES`.
    fn lease_identities(&self) -> Result<Vec<String>> {
        let members: Vec<Vec<u8>> = self
            .with_connection(Settings::DEFAULT_PUBLISH_TIMEOUT, "cannot list presence leases", |c| redis::cmd("SMEMBERS").arg(self.keys.presence).query(c))?;
        let mut identities: Vec<String> =
            members.into_iter().filter_map(|m| String::from_utf8(m).ok()).filter(|i| valid_identity(i)).take(MAX_LEASES).collect();
        identities.sort_unstable();
        Ok(identities)
    }

    /// For each identity, whether its live key exists and its body.
    fn lease_states(&self, identities: &[String], with_body: bool) -> Result<Vec<(bool, Option<Vec<u8>>)>> {
        let mut states = Vec::with_capacity(identities.len());
        for batch in identities.chunks(LEASE_BATCH) {
            let mut command = redis::cmd("MGET");
            for identity in batch {
                let (live, body) = self.lease_keys(identity);
                command.arg(live);
                if with_body {
                    command.arg(body);
                }
            }
            let values: Vec<Option<Vec<u8>>> = self.with_connection(Settings::DEFAULT_PUBLISH_TIMEOUT, "cannot read presence leases", |c| command.query(c))?;
            let step = if with_body { 2 } else { 1 };
            for pair in values.chunks(step) {
                let body = if with_body { pair.get(1).cloned().flatten() } else { None };
                states.push((pair.first().is_some_and(Option::is_some), body));
            }
        }
        Ok(states)
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
        let shared = &self.shared;
        let candidate = shared.candidate()?;
        let oldest_kept = now_ms().saturating_sub(settings.history.max_age.as_millis() as u64);
        // One script: the epoch the id belongs to is read with the id itself, and the trims by
        // count and by age happen with the append (see `PUBLISH`).
        let (epoch, id): (String, String) = shared.with_connection(settings.publish_timeout, "cannot publish", |c| {
            shared
                .publish
                .key(shared.keys.events)
                .key(shared.keys.epoch)
                .key(shared.keys.last)
                .arg(candidate.as_str())
                .arg(settings.history.max_events)
                .arg(oldest_kept)
                .arg(topics.join("\n"))
                .arg(frame)
                .arg(id_slot)
                .invoke(c)
        })?;
        let epoch = shared.epoch_in_redis(&epoch, &candidate)?;
        let position = Position::parse(&id).ok_or_else(|| Error::unavailable(&shared.name, format!("XADD answered \"{id}\", not a stream id")))?;
        Ok(EventId { epoch, position })
    }

    fn last_position(&self) -> Result<Position> {
        self.shared.newest_position()
    }

    fn read_after(&self, after: Position, max: usize, history: &History) -> Result<Batch> {
        let shared = &self.shared;
        // The newest id first, then the entries: a publish in between can only make the entries
        // newer than `last`, never make a complete read look like a gap.
        let (range, last): (Value, Option<String>) = shared.with_connection(Settings::DEFAULT_PUBLISH_TIMEOUT, "cannot read history", |c| {
            let last = redis::cmd("GET").arg(shared.keys.last).query(c)?;
            let range =
                redis::cmd("XRANGE").arg(shared.keys.events).arg(format!("({}-{}", after.major, after.minor)).arg("+").arg("COUNT").arg(max).query(c)?;
            Ok((range, last))
        })?;
        let events = entries(range);
        let gap = self.gap_before(after, events.first(), last.as_deref().and_then(Position::parse))?;
        let mut batch = Batch { gap, ..Batch::default() };
        let expired_before = now_ms().saturating_sub(history.max_age.as_millis() as u64);
        for entry in events {
            // A stream id starts with the time it was added (ms), which dates the event.
            if entry.event.position.major < expired_before {
                batch.gap = true;
            } else {
                batch.events.push(entry.event);
            }
        }
        Ok(batch)
    }

    fn subscribe(&self, topics: Vec<String>) -> Result<Arc<Inbox>> {
        let inbox = self.shared.hub.register(topics);
        if let Some(relay) = self.shared.relay.as_ref() {
            relay::subscribe(&self.shared, relay)?;
            return Ok(inbox);
        }
        if *self.shared.following.lock() {
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

    /// The time-to-live counts on Redis's clock (`PX`): machines need not agree on the time.
    fn write_lease(&self, identity: &str, body: &[u8], _now_ms: u64, ttl: Duration) -> Result<bool> {
        let ttl_ms = (ttl.as_millis() as u64).max(1);
        let body_ttl = ttl_ms.saturating_mul(LEASE_BODY_TTL_FACTOR).to_string();
        let ttl_ms = ttl_ms.to_string();
        let added = self.shared.lease_script(LEASE_WRITE, identity, &[ttl_ms.as_bytes(), body, body_ttl.as_bytes()], "cannot write a presence lease")?;
        Ok(matches!(added, Value::Int(1)))
    }

    fn remove_lease(&self, identity: &str) -> Result<()> {
        self.shared.lease_script(LEASE_REMOVE, identity, &[], "cannot remove a presence lease").map(|_| ())
    }

    fn live_leases(&self, _now_ms: u64) -> Result<Vec<Lease>> {
        let identities = self.shared.lease_identities()?;
        let states = self.shared.lease_states(&identities, true)?;
        Ok(identities
            .into_iter()
            .zip(states)
            .filter_map(|(identity, (live, body))| match (live, body) {
                (true, Some(body)) => Some(Lease { identity, body }),
                _ => None,
            })
            .collect())
    }

    fn claim_expired_leases(&self, _now_ms: u64, _claimer: &str) -> Result<Vec<Lease>> {
        let identities = self.shared.lease_identities()?;
        let states = self.shared.lease_states(&identities, false)?;
        let mut claimed = Vec::new();
        for (identity, (live, _)) in identities.into_iter().zip(states) {
            if live {
                continue;
            }
            if let Some(body) = bytes(&self.shared.lease_script(LEASE_CLAIM, &identity, &[], "cannot claim a presence lease")?) {
                claimed.push(Lease { identity, body });
            }
        }
        Ok(claimed)
    }
}

/// The live path: `XREAD BLOCK` from the last id handed out, reconnecting as needed, for as
/// long as a stream of this process is subscribed (it stops as the last one ends).
async fn follow(shared: Arc<Shared>, mut cursor: Position) {
    let mut backoff = Duration::from_millis(100);
    while still_followed(&shared) {
        let mut connection = match shared.target.connect_async(Duration::from_millis(BLOCK_MS)).await {
            Ok(connection) => connection,
            Err(_) => {
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
                continue;
            }
        };
        shared.name_connection(&mut connection, "follow").await;
        loop {
            let mut command = redis::cmd("XREAD");
            command.arg("COUNT").arg(512).arg("BLOCK").arg(BLOCK_MS).arg("STREAMS").arg(shared.keys.events).arg(format!("{}-{}", cursor.major, cursor.minor));
            let xread = connection.query(&command);
            tokio::pin!(xread);
            let read = loop {
                tokio::select! {
                    read = &mut xread => break read,
                    // When the last subscriber goes, stop now rather than at the end of the
                    // block (dropping the connection ends it). Otherwise the same read goes
                    // on: a new one would queue behind it on this connection.
                    () = shared.hub.subscriber_left() => {
                        if !still_followed(&shared) {
                            return;
                        }
                    }
                }
            };
            let Ok(reply) = read else { break };
            backoff = Duration::from_millis(100);
            let events: Vec<Arc<StoredEvent>> = match reply {
                Value::Nil => Vec::new(),
                reply => xread_entries(reply).into_iter().map(|entry| Arc::new(entry.event)).collect(),
            };
            if let Some(last) = events.last() {
                cursor = last.position;
            }
            shared.hub.dispatch(&events);
            if !still_followed(&shared) {
                return;
            }
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
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

/// The entries of an `XREAD` reply for the one stream read.
fn xread_entries(reply: Value) -> Vec<Entry> {
    let streams = match reply {
        Value::Array(streams) => streams
            .into_iter()
            .filter_map(|s| match s {
                Value::Array(mut pair) if pair.len() == 2 => pair.pop(),
                _ => None,
            })
            .collect::<Vec<_>>(),
        Value::Map(pairs) => pairs.into_iter().map(|(_, entries)| entries).collect(),
        _ => Vec::new(),
    };
    streams.into_iter().flat_map(entries).collect()
}

/// One entry of `sse:events`: the event, and the id of the entry before it (`p`, absent in
/// entries of the layout before it).
struct Entry {
    event: StoredEvent,
    previous: Option<Position>,
}

/// The entries of an `XRANGE`-shaped reply: `[[id, [field, value, ...]], ...]`. Entries
/// another writer put in the stream with other fields are skipped.
fn entries(reply: Value) -> Vec<Entry> {
    let Value::Array(items) = reply else { return Vec::new() };
    items.into_iter().filter_map(entry).collect()
}

fn entry(item: Value) -> Option<Entry> {
    let Value::Array(mut pair) = item else { return None };
    let fields = pair.pop()?;
    let position = Position::parse(&text(&pair.pop()?)?)?;
    let (mut topics, mut frame, mut slot, mut previous) = (None, None, None, None);
    let list: Vec<Value> = match fields {
        Value::Array(list) => list,
        Value::Map(pairs) => pairs.into_iter().flat_map(|(k, v)| [k, v]).collect(),
        _ => return None,
    };
    for chunk in list.chunks(2) {
        let [name, value] = chunk else { continue };
        match text(name)?.as_str() {
            "t" => topics = Some(text(value)?.split('\n').map(str::to_owned).collect::<Vec<_>>()),
            "f" => frame = Some(bytes(value)?),
            "s" => slot = text(value)?.parse::<usize>().ok(),
            "p" => previous = Position::parse(&text(value)?),
            _ => {}
        }
    }
    let frame = frame?;
    let id_slot = slot.filter(|&s| s <= frame.len() || s == sse_core::broker::stored::OWN_ID)?;
    let event = StoredEvent { position, time_ms: position.major, topics: topics?.into(), frame: frame.into(), id_slot };
    Some(Entry { event, previous })
}

/// A field of an `XINFO STREAM` reply (a flat list of names and values, or a map).
fn field<'a>(info: &'a Value, name: &str) -> Option<&'a Value> {
    match info {
        Value::Array(list) => list.chunks(2).find(|c| c.len() == 2 && text(&c[0]).as_deref() == Some(name)).map(|c| &c[1]),
        Value::Map(pairs) => pairs.iter().find(|(k, _)| text(k).as_deref() == Some(name)).map(|(_, v)| v),
        _ => None,
    }
}

fn bytes(value: &Value) -> Option<Vec<u8>> {
    match value {
        Value::BulkString(b) => Some(b.clone()),
        Value::SimpleString(s) => Some(s.clone().into_bytes()),
        _ => None,
    }
}

fn text(value: &Value) -> Option<String> {
    bytes(value).and_then(|b| String::from_utf8(b).ok())
}
