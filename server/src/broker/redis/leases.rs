//! Presence leases in Redis (see `crate::presence`).

use super::log::bytes;
use super::{Settings, Shared};
use crate::error::{Error, Result};
use redis::Value;
use sse_core::broker::leases::{valid_identity, Lease, MAX_LEASES};
use std::time::Duration;

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
            invocation.key(&self.keys.presence).key(&live).key(&body).arg(identity);
            for arg in args {
                invocation.arg(*arg);
            }
            invocation.invoke(c)
        })
    }

    /// The identities in the set (checked), at most `MAX_LEASES`.
    fn lease_identities(&self) -> Result<Vec<String>> {
        let members: Vec<Vec<u8>> = self
            .with_connection(Settings::DEFAULT_PUBLISH_TIMEOUT, "cannot list presence leases", |c| redis::cmd("SMEMBERS").arg(&self.keys.presence).query(c))?;
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

    pub(super) fn write_lease(&self, identity: &str, body: &[u8], ttl: Duration) -> Result<bool> {
        let ttl_ms = (ttl.as_millis() as u64).max(1);
        let body_ttl = ttl_ms.saturating_mul(LEASE_BODY_TTL_FACTOR).to_string();
        let ttl_ms = ttl_ms.to_string();
        let added = self.lease_script(LEASE_WRITE, identity, &[ttl_ms.as_bytes(), body, body_ttl.as_bytes()], "cannot write a presence lease")?;
        Ok(matches!(added, Value::Int(1)))
    }

    pub(super) fn remove_lease(&self, identity: &str) -> Result<()> {
        self.lease_script(LEASE_REMOVE, identity, &[], "cannot remove a presence lease").map(|_| ())
    }

    pub(super) fn live_leases(&self) -> Result<Vec<Lease>> {
        let identities = self.lease_identities()?;
        let states = self.lease_states(&identities, true)?;
        Ok(identities
            .into_iter()
            .zip(states)
            .filter_map(|(identity, (live, body))| match (live, body) {
                (true, Some(body)) => Some(Lease { identity, body }),
                _ => None,
            })
            .collect())
    }

    pub(super) fn claim_expired_leases(&self) -> Result<Vec<Lease>> {
        let identities = self.lease_identities()?;
        let states = self.lease_states(&identities, false)?;
        let mut claimed = Vec::new();
        for (identity, (live, _)) in identities.into_iter().zip(states) {
            if live {
                continue;
            }
            if let Some(body) = bytes(&self.lease_script(LEASE_CLAIM, &identity, &[], "cannot claim a presence lease")?) {
                claimed.push(Lease { identity, body });
            }
        }
        Ok(claimed)
    }
}
