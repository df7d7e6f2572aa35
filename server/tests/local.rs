//! The embedded broker in a temporary directory: the log shared by two engines (as two
//! processes would share it), live delivery through the follower, and its start/stop race.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::peer::PATIENCE;
use common::{data, data_of, parse, publish, publish_with, TempDir};
use sse_core::broker::{History, Position};
use sse_server::broker::local::LocalEngine;
use sse_server::broker::{Engine, Settings};
use sse_server::subscription::Subscription;
use std::sync::Arc;
use std::time::Duration;

#[test]
fn two_engines_on_one_directory_share_one_log() {
    let dir = TempDir::new("shared");
    let a = LocalEngine::open(dir.path()).unwrap();
    let b = LocalEngine::open(dir.path()).unwrap();
    assert_eq!(a.epoch().unwrap(), b.epoch().unwrap());
    let mut ids = Vec::new();
    for i in 0..10 {
        let engine = if i % 2 == 0 { &a } else { &b };
        ids.push(publish(engine, &["t"], &format!("e{i}")));
    }
    assert!(ids.windows(2).all(|w| w[0].position < w[1].position), "one order across publishers: {ids:?}");
    assert!(ids.iter().all(|id| id.epoch == ids[0].epoch));
    assert_eq!(a.last_position().unwrap(), ids[9].position);
    assert_eq!(b.last_position().unwrap(), ids[9].position);
    for engine in [&a, &b] {
        let batch = engine.read_after(Position::ZERO, 100, &History::default(), &[]).unwrap();
        assert!(!batch.gap);
        assert_eq!(batch.events.iter().map(data).collect::<Vec<_>>(), (0..10).map(|i| format!("e{i}")).collect::<Vec<_>>());
        assert_eq!(batch.events.iter().map(|e| e.position).collect::<Vec<_>>(), ids.iter().map(|id| id.position).collect::<Vec<_>>());
    }
}

#[test]
fn read_after_gives_at_most_max_events_after_the_position() {
    let dir = TempDir::new("read-after");
    let engine = LocalEngine::open(dir.path()).unwrap();
    let ids: Vec<_> = (0..20).map(|i| publish(&engine, &["t"], &format!("e{i}"))).collect();
    let batch = engine.read_after(ids[4].position, 5, &History::default(), &[]).unwrap();
    assert_eq!(batch.events.iter().map(data).collect::<Vec<_>>(), (5..10).map(|i| format!("e{i}")).collect::<Vec<_>>());
    let rest = engine.read_after(ids[19].position, 5, &History::default(), &[]).unwrap();
    assert!(rest.events.is_empty() && !rest.gap);
}

#[test]
fn a_reopened_directory_keeps_its_epoch_and_events() {
    let dir = TempDir::new("reopen");
    let first = publish(&LocalEngine::open(dir.path()).unwrap(), &["t"], "kept");
    let again = LocalEngine::open(dir.path()).unwrap();
    assert_eq!(again.epoch().unwrap(), first.epoch);
    assert_eq!(again.last_position().unwrap(), first.position);
    let next = publish(&again, &["t"], "next");
    assert!(next.position > first.position);
    let other = TempDir::new("reopen-other");
    assert_ne!(LocalEngine::open(other.path()).unwrap().epoch().unwrap(), first.epoch, "another directory is another log");
}

#[test]
fn an_engine_gets_live_events_the_other_publishes() {
    let dir = TempDir::new("live");
    let publisher = LocalEngine::open(dir.path()).unwrap();
    let reader = LocalEngine::open(dir.path()).unwrap();
    let inbox = reader.subscribe(vec!["t".into()]).unwrap();
    let other = reader.subscribe(vec!["u".into()]).unwrap();
    for i in 0..300 {
        publish(&publisher, &["t"], &format!("e{i}"));
    }
    publish(&publisher, &["u"], "for u");
    let mut got = Vec::new();
    while got.len() < 300 {
        let event = inbox.receiver.recv_timeout(PATIENCE).expect("a live event");
        got.push(data(&event));
    }
    assert_eq!(got, (0..300).map(|i| format!("e{i}")).collect::<Vec<_>>());
    assert_eq!(data(&other.receiver.recv_timeout(PATIENCE).unwrap()), "for u");
    assert!(inbox.receiver.try_recv().is_err(), "nothing else for t");
}

#[test]
fn a_new_subscriber_right_after_the_last_one_left_still_gets_events() {
    let dir = TempDir::new("race");
    let publisher = LocalEngine::open(dir.path()).unwrap();
    let reader = LocalEngine::open(dir.path()).unwrap();
    for round in 0..40 {
        let inbox = reader.subscribe(vec!["t".into()]).unwrap();
        publish(&publisher, &["t"], &format!("r{round}"));
        let event = inbox.receiver.recv_timeout(PATIENCE).unwrap_or_else(|_| panic!("round {round}: the new inbox got nothing"));
        assert_eq!(data(&event), format!("r{round}"));
        // The last subscriber leaves; the follower may be stopping while the next one comes.
        drop(inbox);
        if round % 4 == 3 {
            // Sometimes let the follower see it and stop first.
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

#[test]
fn a_subscription_on_the_embedded_broker_catches_up_then_goes_live() {
    let dir = TempDir::new("subscription");
    let engine: Arc<dyn Engine> = Arc::new(LocalEngine::open(dir.path()).unwrap());
    let first = publish(engine.as_ref(), &["t"], "e0");
    for i in 1..50 {
        publish(engine.as_ref(), &["t"], &format!("e{i}"));
    }
    let mut subscription = Subscription::start(Arc::clone(&engine), vec!["t".into()], History::default(), Some(&first.to_string())).unwrap();
    let mut out = Vec::new();
    subscription.take_frames(&mut out, 1000).unwrap();
    publish(engine.as_ref(), &["t"], "live");
    let bell = Arc::clone(subscription.doorbell());
    while data_of(&out).len() < 50 {
        bell.wait(Duration::from_millis(50));
        subscription.take_frames(&mut out, 1000).unwrap();
    }
    let mut expected: Vec<String> = (1..50).map(|i| format!("e{i}")).collect();
    expected.push("live".into());
    assert_eq!(data_of(&out), expected);
}

#[test]
fn an_id_trimmed_from_the_embedded_log_gets_history_lost() {
    let dir = TempDir::new("trimmed");
    let engine: Arc<dyn Engine> = Arc::new(LocalEngine::open(dir.path()).unwrap());
    let small = History { max_events: 10, max_age: Duration::from_secs(3600) };
    let settings = Settings { history: small, ..Settings::default() };
    let first = publish_with(engine.as_ref(), &["t"], "e0", &settings);
    for i in 1..200 {
        publish_with(engine.as_ref(), &["t"], &format!("e{i}"), &settings);
    }
    let batch = engine.read_after(first.position, 1000, &small, &[]).unwrap();
    assert!(batch.gap, "the events after the first were trimmed");
    let mut subscription = Subscription::start(Arc::clone(&engine), vec!["t".into()], small, Some(&first.to_string())).unwrap();
    let mut out = Vec::new();
    subscription.take_frames(&mut out, 1000).unwrap();
    let events = parse(&out);
    assert_eq!(events.first().map(|e| e.event.as_str()), Some("sse-reset"), "{events:?}");
    assert_eq!(events[0].data, r#"{"reason":"history-lost"}"#);
}

/// A stream that replays everything kept (Mercure's `earliest`) from a log whose oldest
/// segments were deleted, while an event of its topic is published before any one of the
/// replay's reads: the event is written, once.
#[test]
fn an_event_published_during_a_replay_from_the_earliest_is_written() {
    use common::watched::Watched;
    use std::sync::atomic::{AtomicBool, Ordering};
    let mut nth = 1;
    loop {
        let dir = TempDir::new("local-earliest");
        let watched = Arc::new(Watched::new(LocalEngine::open(dir.path()).unwrap()));
        let engine: Arc<dyn Engine> = watched.clone();
        publish(engine.as_ref(), &["gone"], "gone");
        for i in 0..12_500 {
            publish(engine.as_ref(), &["filler"], &i.to_string());
        }
        let mut subscription = Subscription::start(Arc::clone(&engine), common::topics(&["gone"]), History::default(), None).unwrap().from_earliest();
        let (publisher, fired) = (Arc::clone(&engine), Arc::new(AtomicBool::new(false)));
        let noted = Arc::clone(&fired);
        watched.before_read(nth, move || {
            publish(publisher.as_ref(), &["gone"], "live");
            noted.store(true, Ordering::SeqCst);
        });
        let mut out = Vec::new();
        subscription.take_frames(&mut out, 256).unwrap();
        if !fired.load(Ordering::SeqCst) {
            // The replay took fewer reads: every one was tried.
            assert!(nth > 10, "the replay read the log only {} times", nth - 1);
            break;
        }
        let deadline = std::time::Instant::now() + PATIENCE;
        while data_of(&out).is_empty() && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
            subscription.take_frames(&mut out, 256).unwrap();
        }
        assert_eq!(data_of(&out), ["live"], "published before read {nth}");
        nth += 1;
    }
}

/// A client resuming from an id whose events were deleted, while an event of its topic is
/// published before the stream's first read of the log (a busy machine): the stream gets its
/// `sse-reset` (or nothing, with reset events off) and then that event, which was published
/// after it subscribed.
#[test]
fn an_event_published_before_a_resume_finds_its_history_lost_is_written() {
    use common::watched::Watched;
    for with_resets in [true, false] {
        let dir = TempDir::new("local-lost");
        let watched = Arc::new(Watched::new(LocalEngine::open(dir.path()).unwrap()));
        let engine: Arc<dyn Engine> = watched.clone();
        let gone = publish(engine.as_ref(), &["gone"], "gone");
        for i in 0..12_500 {
            publish(engine.as_ref(), &["filler"], &i.to_string());
        }
        let mut subscription = Subscription::start(Arc::clone(&engine), common::topics(&["gone"]), History::default(), Some(&gone.to_string())).unwrap();
        if !with_resets {
            subscription = subscription.without_reset_events();
        }
        let publisher = Arc::clone(&engine);
        watched.before_read(1, move || {
            publish(publisher.as_ref(), &["gone"], "live");
        });
        let mut out = Vec::new();
        let deadline = std::time::Instant::now() + PATIENCE;
        while !data_of(&out).contains(&"live".to_owned()) && std::time::Instant::now() < deadline {
            subscription.take_frames(&mut out, 256).unwrap();
            std::thread::sleep(Duration::from_millis(5));
        }
        let events: Vec<_> = parse(&out).into_iter().map(|e| (e.event, e.data)).collect();
        let live = ("message".to_owned(), "live".to_owned());
        let expected = if with_resets { vec![("sse-reset".to_owned(), r#"{"reason":"history-lost"}"#.to_owned()), live] } else { vec![live] };
        assert_eq!(events, expected, "reset events {with_resets}");
    }
}
