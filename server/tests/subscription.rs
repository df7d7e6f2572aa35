//! `Subscription`: the join of catch-up and live events, overflow, resets.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::watched::Watched;
use common::{data_of, parse, publish, publish_with};
use sse_core::broker::{EventId, History};
use sse_server::broker::hub::INBOX_CAPACITY;
use sse_server::broker::memory::MemoryEngine;
use sse_server::broker::{Engine, Settings};
use sse_server::subscription::Subscription;
use std::sync::Arc;
use std::time::Duration;

fn memory() -> Arc<dyn Engine> {
    Arc::new(MemoryEngine::new().unwrap())
}

fn start(engine: &Arc<dyn Engine>, topics: &[&str], last_event_id: Option<&str>) -> Subscription {
    Subscription::start(Arc::clone(engine), common::topics(topics), History::default(), last_event_id).unwrap()
}

/// Everything the subscription has for now, `max` events per call.
fn take_all(subscription: &mut Subscription, max: usize) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let before = out.len();
        let count = subscription.take_frames(&mut out, max).unwrap();
        if count < max && !subscription.needs_log() {
            return out;
        }
        assert!(count > 0 || out.len() > before || subscription.needs_log(), "no progress");
    }
}

fn numbered(range: std::ops::Range<usize>) -> Vec<String> {
    range.map(|i| format!("e{i}")).collect()
}

#[test]
fn resuming_replays_what_followed_the_id_then_goes_on_live() {
    let engine = memory();
    let ids: Vec<EventId> = (0..10).map(|i| publish(engine.as_ref(), &["t"], &format!("e{i}"))).collect();
    let mut subscription = start(&engine, &["t"], Some(&ids[3].to_string()));
    assert!(subscription.needs_log());
    let out = take_all(&mut subscription, 100);
    assert_eq!(data_of(&out), numbered(4..10));
    let events = parse(&out);
    assert_eq!(events[0].id, ids[4].to_string(), "each event carries its broker id");
    assert!(!subscription.needs_log());
    publish(engine.as_ref(), &["t"], "live");
    assert_eq!(data_of(&take_all(&mut subscription, 100)), vec!["live"]);
    assert_eq!(subscription.last_id().to_string(), engine.last_position().map(|p| format!("{}:{p}", ids[0].epoch.as_str())).unwrap());
}

#[test]
fn without_an_id_a_subscription_starts_at_the_newest_event() {
    let engine = memory();
    publish(engine.as_ref(), &["t"], "old");
    let mut subscription = start(&engine, &["t"], None);
    assert!(take_all(&mut subscription, 100).is_empty());
    publish(engine.as_ref(), &["t"], "new");
    assert_eq!(data_of(&take_all(&mut subscription, 100)), vec!["new"]);
}

#[test]
fn events_published_during_catch_up_are_written_once_in_order() {
    let engine = memory();
    let first = publish(engine.as_ref(), &["t"], "e0");
    for i in 1..2000 {
        publish(engine.as_ref(), &["t"], &format!("e{i}"));
    }
    let mut subscription = start(&engine, &["t"], Some(&first.to_string()));
    // Small steps, with more published between each: they reach both the log and the inbox.
    let mut out = Vec::new();
    let mut next = 2000;
    for _ in 0..100 {
        subscription.take_frames(&mut out, 50).unwrap();
        for _ in 0..7 {
            publish(engine.as_ref(), &["t"], &format!("e{next}"));
            next += 1;
        }
    }
    out.extend(take_all(&mut subscription, 50));
    assert_eq!(data_of(&out), numbered(1..next), "every event once, in publish order");
}

#[test]
fn a_publisher_thread_racing_the_catch_up_loses_and_repeats_nothing() {
    let engine = memory();
    let first = publish(engine.as_ref(), &["t"], "e0");
    for i in 1..700 {
        publish(engine.as_ref(), &["t"], &format!("e{i}"));
    }
    let mut subscription = start(&engine, &["t"], Some(&first.to_string()));
    let publisher = {
        let engine = Arc::clone(&engine);
        std::thread::spawn(move || {
            for i in 700..3000 {
                publish(engine.as_ref(), &["t"], &format!("e{i}"));
            }
        })
    };
    let mut out = Vec::new();
    while !publisher.is_finished() {
        subscription.take_frames(&mut out, 64).unwrap();
    }
    publisher.join().unwrap();
    out.extend(take_all(&mut subscription, 64));
    let data = data_of(&out);
    assert_eq!(data.len(), 2999, "no loss, no repeat");
    assert_eq!(data, numbered(1..3000));
}

/// A memory engine whose log reads are counted.
fn watched() -> (Arc<Watched<MemoryEngine>>, Arc<dyn Engine>) {
    let watched = Arc::new(Watched::new(MemoryEngine::new().unwrap()));
    let engine: Arc<dyn Engine> = watched.clone();
    (watched, engine)
}

#[test]
fn an_overflowed_inbox_is_caught_up_exactly_from_the_hubs_recent_events() {
    let (watched, engine) = watched();
    let mut subscription = start(&engine, &["t"], None);
    assert!(take_all(&mut subscription, 100).is_empty());
    assert_eq!(watched.read_afters(), 1, "the first catch-up reads the log");
    // Every other event is of another topic (the hub keeps those too; they are not written).
    let count = 2 * (INBOX_CAPACITY + 500);
    for i in 0..count {
        publish(engine.as_ref(), &["t", "u"][i % 2..=i % 2], &format!("e{i}"));
    }
    assert!(subscription.inbox().is_overflowed());
    assert!(subscription.needs_log());
    assert_eq!(subscription.inbox().receiver.len(), INBOX_CAPACITY, "the inbox holds what it can and no more");
    let out = take_all(&mut subscription, 300);
    assert_eq!(data_of(&out), numbered(0..count).into_iter().step_by(2).collect::<Vec<_>>());
    assert!(!subscription.needs_log());
    assert_eq!(watched.read_afters(), 1, "the overflow was caught up from memory");
    publish(engine.as_ref(), &["t"], "after");
    assert_eq!(data_of(&take_all(&mut subscription, 300)), vec!["after"], "the stale inbox events are not written again");
}

#[test]
fn an_overflow_beyond_the_hubs_recent_events_is_caught_up_from_the_log_exactly() {
    use sse_server::broker::hub::RECENT_CAPACITY;
    let (watched, engine) = watched();
    let mut subscription = start(&engine, &["t"], None);
    assert!(take_all(&mut subscription, 100).is_empty());
    let count = RECENT_CAPACITY + 500;
    for i in 0..count {
        publish(engine.as_ref(), &["t"], &format!("e{i}"));
    }
    let out = take_all(&mut subscription, 300);
    assert_eq!(data_of(&out), numbered(0..count));
    assert!(watched.read_afters() > 1, "read from the log");
}

#[test]
fn a_publisher_thread_racing_overflows_loses_and_repeats_nothing() {
    let (watched, engine) = watched();
    // A history that keeps everything: what this counts is the overflows' catch-ups, not
    // what a slow stream misses once the history moved past it (that is `sse-reset`).
    let everything = History { max_events: 1_000_000, ..History::default() };
    let mut subscription = Subscription::start(Arc::clone(&engine), common::topics(&["t"]), everything, None).unwrap();
    assert!(take_all(&mut subscription, 100).is_empty());
    let total = 6 * RECENT;
    let publisher = {
        let engine = Arc::clone(&engine);
        std::thread::spawn(move || {
            let settings = Settings { history: everything, ..Settings::default() };
            for i in 0..total {
                publish_with(engine.as_ref(), &["t"], &format!("e{i}"), &settings);
            }
        })
    };
    let mut out = Vec::new();
    let mut overflows = 0;
    while !publisher.is_finished() {
        overflows += usize::from(subscription.inbox().is_overflowed());
        subscription.take_frames(&mut out, 64).unwrap();
        // A slow stream: its inbox fills up now and then.
        std::thread::sleep(Duration::from_micros(200));
    }
    publisher.join().unwrap();
    out.extend(take_all(&mut subscription, 64));
    assert!(parse(&out).iter().all(|e| e.event != "sse-reset"));
    let data = data_of(&out);
    let missing: Vec<usize> = (0..total).filter(|i| !data.contains(&format!("e{i}"))).take(5).collect();
    assert_eq!(data.len(), total, "no loss, no repeat ({overflows} overflows, {} log reads; missing {missing:?})", watched.read_afters());
    assert_eq!(data, numbered(0..total));
}
const RECENT: usize = sse_server::broker::hub::RECENT_CAPACITY;

#[test]
fn an_id_of_another_epoch_gets_an_unknown_id_reset() {
    let engine = memory();
    let id = publish(engine.as_ref(), &["t"], "e0");
    let foreign = if id.epoch.as_str() == "0123456789ab" { "ba9876543210:1" } else { "0123456789ab:1" };
    for last in [foreign, "not-an-id", "0123456789ab", &format!("{}:999", id.epoch.as_str())] {
        let newest = EventId { epoch: id.epoch.clone(), position: engine.last_position().unwrap() };
        let mut subscription = start(&engine, &["t"], Some(last));
        let out = take_all(&mut subscription, 100);
        let events = parse(&out);
        assert_eq!(events.len(), 1, "{last}: only the reset, nothing replayed: {events:?}");
        assert_eq!(events[0].event, "sse-reset");
        assert_eq!(events[0].data, r#"{"reason":"unknown-id"}"#);
        assert_eq!(events[0].id, newest.to_string(), "the reset's id resumes from the newest event");
        publish(engine.as_ref(), &["t"], "next");
        assert_eq!(data_of(&take_all(&mut subscription, 100)), vec!["next"]);
    }
}

#[test]
fn a_reset_can_be_left_out() {
    let engine = memory();
    publish(engine.as_ref(), &["t"], "e0");
    let mut subscription = start(&engine, &["t"], Some("0123456789ab:1")).without_reset_events();
    assert!(take_all(&mut subscription, 100).is_empty());
    publish(engine.as_ref(), &["t"], "next");
    assert_eq!(data_of(&take_all(&mut subscription, 100)), vec!["next"]);
}

#[test]
fn an_id_older_than_the_history_gets_history_lost_then_live_events() {
    let engine = memory();
    let small = History { max_events: 5, max_age: Duration::from_secs(3600) };
    let settings = Settings { history: small, ..Settings::default() };
    let ids: Vec<EventId> = (0..20).map(|i| publish_with(engine.as_ref(), &["t"], &format!("e{i}"), &settings)).collect();
    let mut subscription = Subscription::start(Arc::clone(&engine), vec!["t".into()], small, Some(&ids[2].to_string())).unwrap();
    let out = take_all(&mut subscription, 100);
    let events = parse(&out);
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].event, "sse-reset");
    assert_eq!(events[0].data, r#"{"reason":"history-lost"}"#);
    assert_eq!(events[0].id, ids[19].to_string(), "the stream goes on from the newest event");
    publish_with(engine.as_ref(), &["t"], "live", &settings);
    assert_eq!(data_of(&take_all(&mut subscription, 100)), vec!["live"]);
}

#[test]
fn an_id_still_in_the_history_replays_without_reset() {
    let engine = memory();
    let small = History { max_events: 5, max_age: Duration::from_secs(3600) };
    let settings = Settings { history: small, ..Settings::default() };
    let ids: Vec<EventId> = (0..20).map(|i| publish_with(engine.as_ref(), &["t"], &format!("e{i}"), &settings)).collect();
    let mut subscription = Subscription::start(Arc::clone(&engine), vec!["t".into()], small, Some(&ids[15].to_string())).unwrap();
    assert_eq!(data_of(&take_all(&mut subscription, 100)), numbered(16..20));
    assert!(parse(&take_all(&mut subscription, 100)).is_empty());
}

#[test]
fn from_earliest_replays_what_is_kept_without_a_reset() {
    let engine = memory();
    let small = History { max_events: 5, max_age: Duration::from_secs(3600) };
    let settings = Settings { history: small, ..Settings::default() };
    for i in 0..20 {
        publish_with(engine.as_ref(), &["t"], &format!("e{i}"), &settings);
    }
    let mut subscription = Subscription::start(Arc::clone(&engine), vec!["t".into()], small, None).unwrap().from_earliest();
    let out = take_all(&mut subscription, 100);
    assert_eq!(parse(&out).iter().filter(|e| e.event == "sse-reset").count(), 0);
    assert_eq!(data_of(&out), numbered(15..20));
}

#[test]
fn only_the_subscribed_topics_and_what_the_filter_accepts_are_written() {
    let engine = memory();
    let first = publish(engine.as_ref(), &["x"], "skip");
    publish(engine.as_ref(), &["a"], "a1");
    publish(engine.as_ref(), &["b"], "b1");
    publish(engine.as_ref(), &["a", "b"], "ab");
    publish(engine.as_ref(), &["c"], "c1");
    publish(engine.as_ref(), &["a"], "secret");
    let filter: sse_server::subscription::Filter = Arc::new(|event| !event.frame.windows(6).any(|w| w == b"secret"));
    let mut subscription = start(&engine, &["a", "b"], Some(&first.to_string())).with_filter(filter);
    assert_eq!(data_of(&take_all(&mut subscription, 100)), vec!["a1", "b1", "ab"]);
    assert_eq!(subscription.last_id().position, engine.last_position().unwrap(), "skipped events move the cursor too");
    publish(engine.as_ref(), &["c"], "c2");
    publish(engine.as_ref(), &["b"], "b2");
    publish(engine.as_ref(), &["a"], "secret again");
    assert_eq!(data_of(&take_all(&mut subscription, 100)), vec!["b2"]);
}
