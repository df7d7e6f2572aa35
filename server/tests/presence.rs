//! Presence (Mercure's active subscriptions) on the memory and embedded brokers: the events of a
//! subscription's start and end, counted from the broker's log; two processes (two engines on
//! one directory, each with an identity of its own) seeing each other's subscriptions; a
//! process that stops renewing (as if killed) reaped exactly once. Leases are dated by a
//! clock the test moves, so nothing depends on the machine's speed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::peer::PATIENCE;
use common::watched::Watched;
use common::TempDir;
use sse_core::broker::{Epoch, History, Position};
use sse_core::mercure::subscriptions::{serde_json, MatchType, Subscription};
use sse_server::broker::local::LocalEngine;
use sse_server::broker::memory::MemoryEngine;
use sse_server::broker::{Engine, Settings};
use sse_server::presence::{Clock, Config, Presence, TTL};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A subscription event as a subscriber reads it.
#[derive(Debug, PartialEq, Eq, Clone)]
struct Seen {
    subscriber: String,
    matched: String,
    active: bool,
}

/// Every subscription event in the broker's log, in order; each is checked to be private,
/// of type `mercure`, on its subscription's topic.
fn events(engine: &dyn Engine) -> Vec<Seen> {
    let batch = engine.read_after(Position::ZERO, 100_000, &History::default(), &common::topics(&["mercure.private"])).unwrap();
    let mut seen = Vec::new();
    for event in batch.events {
        let mut frame = Vec::new();
        event.write_frame(&Epoch::parse("000000000000").unwrap(), &mut frame);
        for parsed in common::parse(&frame) {
            assert_eq!(parsed.event, "mercure");
            let document: serde_json::Value = serde_json::from_str(&parsed.data).unwrap();
            assert_eq!(document["type"], "subscription");
            let topic = document["id"].as_str().unwrap();
            assert!(topic.starts_with("/.well-known/mercure/subscriptions/"), "{topic}");
            assert_eq!(&event.topics[..], ["mercure.private".to_owned(), format!("mercure:{topic}")]);
            seen.push(Seen {
                subscriber: document["subscriber"].as_str().unwrap().to_owned(),
                matched: document["match"].as_str().unwrap().to_owned(),
                active: document["active"].as_bool().unwrap(),
            });
        }
    }
    seen
}

fn count(engine: &dyn Engine, active: bool) -> usize {
    events(engine).iter().filter(|e| e.active == active).count()
}

fn subscription(subscriber: &str, matched: &str) -> Subscription {
    Subscription {
        subscriber: subscriber.into(),
        matched: matched.into(),
        match_type: MatchType::Exact,
        payload: Some(serde_json::json!({"user": subscriber})),
    }
}

/// A clock the test moves (milliseconds since the Unix epoch).
fn clock(start: u64) -> (Arc<AtomicU64>, Clock) {
    let now = Arc::new(AtomicU64::new(start));
    let read = Arc::clone(&now);
    (now, Arc::new(move || read.load(Ordering::SeqCst)))
}

fn presence(engine: &Arc<dyn Engine>, identity: &str, clock: &Clock) -> Presence {
    let config = Config { identity: Some(identity.into()), clock: Some(Arc::clone(clock)), background: false, ..Config::default() };
    Presence::new(Arc::clone(engine), Settings::default(), config).unwrap()
}

fn matched_of(list: &[Subscription]) -> Vec<String> {
    let mut matched: Vec<String> = list.iter().map(|s| s.matched.clone()).collect();
    matched.sort();
    matched
}

#[test]
fn each_start_and_each_end_is_one_event() {
    let engine: Arc<dyn Engine> = Arc::new(MemoryEngine::new().unwrap());
    let (now, clock) = clock(1_000_000);
    let presence = presence(&engine, "a", &clock);
    let (one, published) = presence.register(subscription("urn:uuid:1", "foo"));
    published.unwrap();
    let (two, _) = presence.register(subscription("urn:uuid:1", "bar"));
    let (three, _) = presence.register(subscription("urn:uuid:2", "foo"));
    assert_eq!((count(&*engine, true), count(&*engine, false)), (3, 0));
    presence.renew().unwrap();
    assert_eq!(
        matched_of(
            &engine.live_leases(1_000_000).unwrap().iter().flat_map(|l| sse_core::mercure::subscriptions::decode_list(&l.body).unwrap()).collect::<Vec<_>>()
        ),
        ["bar", "foo", "foo"]
    );

    // The end is queued by the drop, and published by the next round that may write the
    // lease (at least MIN_WRITE_GAP after the last write), once the lease no longer lists it.
    drop(two);
    assert_eq!(count(&*engine, false), 0);
    presence.renew().unwrap();
    assert_eq!(count(&*engine, false), 0, "published while the lease still lists it");
    now.fetch_add(sse_server::presence::MIN_WRITE_GAP.as_millis() as u64, Ordering::SeqCst);
    presence.renew().unwrap();
    assert_eq!(events(&*engine).last().unwrap(), &Seen { subscriber: "urn:uuid:1".into(), matched: "bar".into(), active: false });
    assert_eq!(matched_of(&presence.list().unwrap()), ["foo", "foo"]);
    drop(one);
    drop(three);
    presence.flush().unwrap();
    assert_eq!((count(&*engine, true), count(&*engine, false)), (3, 3));
    // Nothing left: the lease goes, and more rounds publish nothing.
    presence.renew().unwrap();
    presence.renew().unwrap();
    assert!(engine.live_leases(0).unwrap().is_empty());
    assert_eq!(events(&*engine).len(), 6);
    assert!(presence.list().unwrap().is_empty());
}

#[test]
fn the_payload_travels_with_the_event_and_the_listing() {
    let engine: Arc<dyn Engine> = Arc::new(MemoryEngine::new().unwrap());
    let (_, clock) = clock(1_000_000);
    let presence = presence(&engine, "a", &clock);
    let (_kept, _) = presence.register(subscription("urn:uuid:1", "chat"));
    let batch = engine.read_after(Position::ZERO, 10, &History::default(), &common::topics(&["mercure.private"])).unwrap();
    let mut frame = Vec::new();
    batch.events[0].write_frame(&Epoch::parse("000000000000").unwrap(), &mut frame);
    assert!(String::from_utf8_lossy(&frame).contains(r#""active":true,"payload":{"user":"urn:uuid:1"}}"#));
    assert_eq!(presence.list().unwrap()[0].payload, Some(serde_json::json!({"user": "urn:uuid:1"})));
}

#[test]
fn a_subscription_too_long_for_an_event_is_listed_without_one() {
    let engine: Arc<dyn Engine> = Arc::new(MemoryEngine::new().unwrap());
    let (_, clock) = clock(1_000_000);
    let presence = presence(&engine, "a", &clock);
    let (kept, published) = presence.register(subscription("urn:uuid:1", &"x".repeat(300)));
    assert!(published.unwrap_err().to_string().contains("the limit is"));
    assert_eq!(presence.list().unwrap().len(), 1);
    drop(kept);
    presence.renew().unwrap();
    assert!(events(&*engine).is_empty());
}

#[test]
fn two_processes_on_one_directory_see_each_other() {
    let dir = TempDir::new("presence-two");
    let (_, clock) = clock(1_000_000);
    let first: Arc<dyn Engine> = Arc::new(LocalEngine::open(dir.path()).unwrap());
    let second: Arc<dyn Engine> = Arc::new(LocalEngine::open(dir.path()).unwrap());
    let a = presence(&first, "worker-a", &clock);
    let b = presence(&second, "worker-b", &clock);
    let (_a1, _) = a.register(subscription("urn:uuid:1", "foo"));
    let (_a2, _) = a.register(subscription("urn:uuid:1", "bar"));
    let (b1, _) = b.register(subscription("urn:uuid:2", "foo"));
    a.renew().unwrap();
    b.renew().unwrap();
    for presence in [&a, &b] {
        assert_eq!(matched_of(&presence.list().unwrap()), ["bar", "foo", "foo"]);
    }
    // An end shows in the other process once the lease is written again.
    drop(b1);
    b.renew().unwrap();
    assert_eq!(matched_of(&a.list().unwrap()), ["bar", "foo"]);
    assert_eq!((count(&*first, true), count(&*first, false)), (3, 1));
    assert!(std::fs::read_dir(dir.path().join("presence")).unwrap().all(|e| e.unwrap().file_name() != "worker-b.lease"));
}

#[test]
fn a_process_that_stops_renewing_is_reaped_exactly_once() {
    let dir = TempDir::new("presence-reap");
    let (now, clock) = clock(1_000_000);
    let engines: Vec<Arc<dyn Engine>> = (0..3).map(|_| Arc::new(LocalEngine::open(dir.path()).unwrap()) as Arc<dyn Engine>).collect();
    let dead = presence(&engines[0], "dead", &clock);
    let b = presence(&engines[1], "b", &clock);
    let c = presence(&engines[2], "c", &clock);
    let (d1, _) = dead.register(subscription("urn:uuid:d", "foo"));
    let (d2, _) = dead.register(subscription("urn:uuid:d", "bar"));
    let (_b1, _) = b.register(subscription("urn:uuid:b", "foo"));
    let (_c1, _) = c.register(subscription("urn:uuid:c", "baz"));
    for presence in [&dead, &b, &c] {
        presence.renew().unwrap();
    }
    // Killed: no more renewals, no ends of its own.
    std::mem::forget(d1);
    std::mem::forget(d2);
    drop(dead);
    let ttl = TTL.as_millis() as u64;
    // Still valid just before the time-to-live runs out: listed, not reaped.
    now.fetch_add(ttl - 1, Ordering::SeqCst);
    for presence in [&b, &c] {
        presence.renew().unwrap();
    }
    assert_eq!(matched_of(&b.list().unwrap()), ["bar", "baz", "foo", "foo"]);
    assert_eq!(count(&*engines[0], false), 0);
    // Expired: gone from the listing at once, and claimed by one of the two.
    now.fetch_add(1, Ordering::SeqCst);
    assert_eq!(matched_of(&c.list().unwrap()), ["baz", "foo"]);
    for _ in 0..3 {
        for presence in [&b, &c] {
            presence.renew().unwrap();
        }
        now.fetch_add(5_000, Ordering::SeqCst);
    }
    let ended: Vec<Seen> = events(&*engines[0]).into_iter().filter(|e| !e.active).collect();
    assert_eq!(ended.len(), 2, "{ended:?}");
    assert!(ended.iter().all(|e| e.subscriber == "urn:uuid:d"));
    assert_eq!(matched_of(&b.list().unwrap()), ["baz", "foo"]);
    assert!(std::fs::read_dir(dir.path().join("presence")).unwrap().all(|e| !e.unwrap().file_name().to_string_lossy().starts_with("dead")));
}

#[test]
fn a_process_that_was_reaped_while_stalled_announces_its_subscriptions_again() {
    let engine: Arc<dyn Engine> = Arc::new(MemoryEngine::new().unwrap());
    let (stalled_now, stalled_clock) = clock(1_000_000);
    let (reaper_now, reaper_clock) = clock(1_000_000);
    let stalled = presence(&engine, "stalled", &stalled_clock);
    let reaper = presence(&engine, "reaper", &reaper_clock);
    let (_s, _) = stalled.register(subscription("urn:uuid:s", "foo"));
    let (_r, _) = reaper.register(subscription("urn:uuid:r", "bar"));
    stalled.renew().unwrap();
    reaper.renew().unwrap();
    reaper_now.fetch_add(TTL.as_millis() as u64 + 1, Ordering::SeqCst);
    reaper.renew().unwrap();
    let seen = events(&*engine);
    assert_eq!(seen.last().unwrap(), &Seen { subscriber: "urn:uuid:s".into(), matched: "foo".into(), active: false });
    // It wakes up: its next renewal finds its lease gone and says it is still there.
    stalled_now.fetch_add(TTL.as_millis() as u64 + 1, Ordering::SeqCst);
    stalled.renew().unwrap();
    assert_eq!(events(&*engine).last().unwrap(), &Seen { subscriber: "urn:uuid:s".into(), matched: "foo".into(), active: true });
    assert_eq!(matched_of(&reaper.list().unwrap()), ["bar", "foo"]);
}

#[test]
fn the_runtime_task_publishes_ends_and_stops_when_nothing_is_left() {
    let engine: Arc<dyn Engine> = Arc::new(MemoryEngine::new().unwrap());
    let config = Config { identity: Some("task".into()), ..Config::default() };
    let presence = Presence::new(Arc::clone(&engine), Settings::default(), config).unwrap();
    let (kept, _) = presence.register(subscription("urn:uuid:1", "foo"));
    let give_up = Instant::now() + PATIENCE;
    while engine.live_leases(0).unwrap().is_empty() {
        assert!(Instant::now() < give_up, "the lease was never written");
        std::thread::sleep(Duration::from_millis(5));
    }
    drop(kept);
    while count(&*engine, false) == 0 || !engine.live_leases(0).unwrap().is_empty() {
        assert!(Instant::now() < give_up, "the end was never published, or the lease stayed");
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!((count(&*engine, true), count(&*engine, false)), (1, 1));
}

#[test]
fn a_connection_registers_each_matcher_under_one_subscriber() {
    use sse_core::mercure::matchers::Kind;
    use sse_core::mercure::subscriptions::{answer, parse_path, ApiPath};
    let engine: Arc<dyn Engine> = Arc::new(MemoryEngine::new().unwrap());
    let (_, clock) = clock(1_000_000);
    let presence = presence(&engine, "a", &clock);
    let matchers = vec![(Kind::Exact, "foo".to_owned()), (Kind::UrlPattern, "/books/:id".to_owned())];
    let payload = serde_json::json!({"name": "Ann"});
    let (connection, errors) = presence.register_connection("urn:uuid:1", &matchers, Some(&payload));
    assert!(errors.is_empty());
    assert_eq!(count(&*engine, true), 2);
    // The API: every subscription, one matcher's, one subscriber's, an unknown one (404).
    let path = "/.well-known/mercure/subscriptions";
    let all = parse_path(path).unwrap().unwrap();
    assert_eq!(presence.query(&all).unwrap().len(), 2);
    let topic = presence.local()[1].topic();
    let one = parse_path(&topic).unwrap().unwrap();
    let found = presence.query(&one).unwrap();
    assert_eq!(answer(&topic, &one, &found).unwrap(), found[0].document(true));
    let unknown = ApiPath::One { match_type: MatchType::Exact, matched: "foo".into(), subscriber: "urn:uuid:2".into() };
    assert_eq!(answer(path, &unknown, &presence.query(&unknown).unwrap()), None);
    drop(connection);
    presence.renew().unwrap();
    assert_eq!(count(&*engine, false), 2);
}

/// The subscriptions the leases of `engine` list now.
fn listed(engine: &MemoryEngine) -> Vec<String> {
    let leases = engine.live_leases(1_000_000).unwrap();
    matched_of(&leases.iter().flat_map(|l| sse_core::mercure::subscriptions::decode_list(&l.body).unwrap()).collect::<Vec<_>>())
}

/// Each `active: false` event checked against what the leases listed when it was published:
/// never its own subscription.
fn assert_ends_unlisted(engine: &dyn Engine, listed_at_publish: &[Vec<String>]) {
    let seen = events(engine);
    assert_eq!(seen.len(), listed_at_publish.len());
    for (event, listed) in seen.iter().zip(listed_at_publish.iter()) {
        if !event.active {
            assert!(!listed.contains(&event.matched), "the end of {} published while the lease listed it ({listed:?})", event.matched);
        }
    }
}

#[test]
fn no_end_is_published_while_the_lease_lists_it() {
    let (now, clock) = clock(1_000_000);
    let watched = Arc::new(Watched::new(MemoryEngine::new().unwrap()));
    let listed_at_publish = Arc::new(parking_lot::Mutex::new(Vec::new()));
    let noted = Arc::clone(&listed_at_publish);
    watched.before_each_publish(move |engine| noted.lock().push(listed(engine)));
    let engine: Arc<dyn Engine> = watched.clone();
    let presence = presence(&engine, "a", &clock);
    let mut kept: Vec<_> = ["one", "two", "three", "four", "five"].iter().map(|m| presence.register(subscription("urn:uuid:1", m)).0).collect();
    presence.renew().unwrap();

    // A round publishes the end of "one"; "two" ends in the middle of that publish (on another
    // thread, as a detached stream does): its end waits for the lease that no longer lists it.
    let two = kept.remove(1);
    watched.during_next_publish(move || drop(two));
    drop(kept.remove(0));
    now.fetch_add(sse_server::presence::MIN_WRITE_GAP.as_millis() as u64, Ordering::SeqCst);
    presence.renew().unwrap();
    assert_eq!(count(&*engine, false), 1);
    now.fetch_add(sse_server::presence::MIN_WRITE_GAP.as_millis() as u64, Ordering::SeqCst);
    presence.renew().unwrap();
    assert_eq!(count(&*engine, false), 2);

    // flush() writes the lease first, at once.
    drop(kept.remove(0));
    presence.flush().unwrap();
    assert_eq!(count(&*engine, false), 3);

    // Module shutdown: the lease goes before the ends are published.
    kept.clear();
    presence.shut_down().unwrap();
    assert_eq!(count(&*engine, false), 5);
    assert!(engine.live_leases(1_000_000).unwrap().is_empty());
    assert_ends_unlisted(&*engine, &listed_at_publish.lock());
}
