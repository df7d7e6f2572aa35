//! Presence on the Redis engine, against a `redis-server` of this test's own on a free loopback
//! port (the helper of `redis.rs`). Several engines on one Redis stand for several machines.
//! Without `/usr/bin/redis-server` the tests say so and pass.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::redis_server::Server;

use common::peer::PATIENCE;
use sse_core::broker::{Epoch, History, Position};
use sse_core::mercure::subscriptions::{serde_json, MatchType, Subscription};
use sse_server::broker::{Engine, Settings};
use sse_server::presence::{Clock, Config, Presence, RENEW_EVERY};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// (subscriber, active) of every subscription event in the log, in order.
fn events(engine: &dyn Engine) -> Vec<(String, bool)> {
    let batch = engine.read_after(Position::ZERO, 100_000, &History::default(), &common::topics(&["mercure.private"])).unwrap();
    let mut seen = Vec::new();
    for event in batch.events {
        assert_eq!(event.topics[0], "mercure.private");
        let mut frame = Vec::new();
        event.write_frame(&Epoch::parse("000000000000").unwrap(), &mut frame);
        for parsed in common::parse(&frame) {
            assert_eq!(parsed.event, "mercure");
            let document: serde_json::Value = serde_json::from_str(&parsed.data).unwrap();
            seen.push((document["subscriber"].as_str().unwrap().to_owned(), document["active"].as_bool().unwrap()));
        }
    }
    seen
}

fn subscription(subscriber: &str, matched: &str) -> Subscription {
    Subscription { subscriber: subscriber.into(), matched: matched.into(), match_type: MatchType::UrlPattern, payload: None }
}

/// The clock of the renewal schedule (the leases' time-to-live counts on Redis's): moved by
/// the test, a renewal period at a time.
static NOW: AtomicU64 = AtomicU64::new(1_000_000);

fn presence(engine: &Arc<dyn Engine>, identity: &str, ttl: Duration) -> Presence {
    let clock: Clock = Arc::new(|| NOW.load(Ordering::SeqCst));
    let config = Config { identity: Some(identity.into()), background: false, ttl, clock: Some(clock), ..Config::default() };
    Presence::new(Arc::clone(engine), Settings::default(), config).unwrap()
}

fn subscribers(list: &[Subscription]) -> Vec<String> {
    let mut out: Vec<String> = list.iter().map(|s| s.subscriber.clone()).collect();
    out.sort();
    out
}

#[test]
fn machines_see_each_other_and_a_dead_one_is_reaped_once() {
    let Some(server) = Server::start("the Redis presence tests") else { return };
    let engines: Vec<Arc<dyn Engine>> = (0..3).map(|_| server.engine()).collect();
    let long = Duration::from_secs(60);
    let dead = presence(&engines[0], "dead", long);
    let b = presence(&engines[1], "b", long);
    let c = presence(&engines[2], "c", long);
    let (d1, _) = dead.register(subscription("urn:uuid:d1", "/books/:id"));
    let (d2, _) = dead.register(subscription("urn:uuid:d2", "/books/:id"));
    let (_b1, published) = b.register(subscription("urn:uuid:b", "/chat"));
    published.unwrap();
    let (_c1, _) = c.register(subscription("urn:uuid:c", "/chat"));
    for presence in [&dead, &b, &c] {
        presence.renew().unwrap();
    }
    for presence in [&dead, &b, &c] {
        assert_eq!(subscribers(&presence.list().unwrap()), ["urn:uuid:b", "urn:uuid:c", "urn:uuid:d1", "urn:uuid:d2"]);
    }
    // The machine goes away: no more renewals, and Redis expires its live key (done here at
    // once, as `PX` does when the time-to-live runs out).
    std::mem::forget(d1);
    std::mem::forget(d2);
    drop(dead);
    assert_eq!(server.command("DEL sse:presence:dead:live"), ":1\r\n");
    assert_eq!(subscribers(&b.list().unwrap()), ["urn:uuid:b", "urn:uuid:c"]);
    for _ in 0..3 {
        NOW.fetch_add(RENEW_EVERY.as_millis() as u64, Ordering::SeqCst);
        b.renew().unwrap();
        c.renew().unwrap();
    }
    let ended: Vec<String> = events(&*engines[1]).into_iter().filter(|(_, active)| !active).map(|(s, _)| s).collect();
    assert_eq!(subscribers(&ended.iter().map(|s| subscription(s, "x")).collect::<Vec<_>>()), ["urn:uuid:d1", "urn:uuid:d2"]);
    assert_eq!(server.command("EXISTS sse:presence:dead"), ":0\r\n");
    assert_eq!(server.command("SISMEMBER sse:presence dead"), ":0\r\n");
}

#[test]
fn a_lease_expires_on_redis_clock_and_a_clean_end_leaves_nothing() {
    let Some(server) = Server::start("the Redis presence tests") else { return };
    let engine = server.engine();
    let short = presence(&engine, "short", Duration::from_millis(50));
    let (kept, _) = short.register(subscription("urn:uuid:s", "/a"));
    short.renew().unwrap();
    // Nobody renews it: Redis lets it expire.
    let give_up = Instant::now() + PATIENCE;
    while !engine.live_leases(0).unwrap().is_empty() {
        assert!(Instant::now() < give_up, "the lease never expired");
        std::thread::sleep(Duration::from_millis(10));
    }
    // Its owner comes back, finds it claimed by nobody yet, and ends cleanly.
    drop(kept);
    short.renew().unwrap();
    assert_eq!(events(&*engine), [("urn:uuid:s".to_owned(), true), ("urn:uuid:s".to_owned(), false)]);
    assert_eq!(server.command("EXISTS sse:presence"), ":0\r\n");
    assert_eq!(server.command("EXISTS sse:presence:short"), ":0\r\n");
}
