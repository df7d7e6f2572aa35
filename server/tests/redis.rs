//! The Redis engine against a real `redis-server`, started on a free loopback port for each
//! test and stopped after it. Without `/usr/bin/redis-server` the tests say so and pass.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::redis_server::Server;

use common::peer::PATIENCE;
use common::{data, data_of, parse, publish, publish_with, topics};
use sse_core::broker::{EventId, History, Position};
use sse_server::broker::redis::RedisEngine;
use sse_server::broker::{Engine, Settings};
use sse_server::subscription::Subscription;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[test]
fn publishes_get_ordered_ids_that_read_after_gives_back() {
    let Some(server) = Server::start("the Redis engine's tests") else { return };
    let engine = server.engine();
    let ids: Vec<EventId> = (0..30).map(|i| publish(engine.as_ref(), &["t", "u"], &format!("e{i}"))).collect();
    assert!(ids.windows(2).all(|w| w[0].position < w[1].position), "{ids:?}");
    assert!(ids.iter().all(|id| id.epoch == ids[0].epoch));
    assert_eq!(engine.epoch().unwrap(), ids[0].epoch);
    assert_eq!(engine.last_position().unwrap(), ids[29].position);
    let all = engine.read_after(Position::ZERO, 100, &History::default(), &topics(&["t"])).unwrap();
    assert!(!all.gap);
    assert_eq!(all.events.iter().map(data).collect::<Vec<_>>(), (0..30).map(|i| format!("e{i}")).collect::<Vec<_>>());
    assert_eq!(all.events[0].topics.to_vec(), vec!["t".to_owned(), "u".to_owned()]);
    let some = engine.read_after(ids[9].position, 5, &History::default(), &topics(&["u"])).unwrap();
    assert!(!some.gap);
    assert_eq!(some.events.iter().map(|e| e.position).collect::<Vec<_>>(), ids[10..15].iter().map(|id| id.position).collect::<Vec<_>>());
    // Another engine (another process) on the same Redis sees the same log.
    let other = server.engine();
    assert_eq!(other.epoch().unwrap(), ids[0].epoch);
    assert_eq!(other.last_position().unwrap(), ids[29].position);
}

#[test]
fn subscribers_get_live_events_in_order() {
    let Some(server) = Server::start("the Redis engine's tests") else { return };
    let reader = server.engine();
    let publisher = server.engine();
    let inbox = reader.subscribe(vec!["t".into()]).unwrap();
    for i in 0..200 {
        publish(publisher.as_ref(), &["t"], &format!("e{i}"));
        publish(publisher.as_ref(), &["other"], "x");
    }
    let mut got = Vec::new();
    while got.len() < 200 {
        got.push(data(&inbox.receiver.recv_timeout(PATIENCE).expect("a live event")));
    }
    assert_eq!(got, (0..200).map(|i| format!("e{i}")).collect::<Vec<_>>());
    assert!(inbox.receiver.try_recv().is_err());
}

#[test]
fn a_new_subscriber_right_after_the_last_one_left_still_gets_events() {
    let Some(server) = Server::start("the Redis engine's tests") else { return };
    let reader = server.engine();
    let publisher = server.engine();
    for round in 0..15 {
        let inbox = reader.subscribe(vec!["t".into()]).unwrap();
        publish(publisher.as_ref(), &["t"], &format!("r{round}"));
        let event = inbox.receiver.recv_timeout(PATIENCE).unwrap_or_else(|_| panic!("round {round}: the new inbox got nothing"));
        assert_eq!(data(&event), format!("r{round}"));
        drop(inbox);
        if round % 3 == 2 {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

#[test]
fn a_subscription_joins_catch_up_and_live_events_each_once() {
    let Some(server) = Server::start("the Redis engine's tests") else { return };
    let engine = server.engine();
    let first = publish(engine.as_ref(), &["t"], "e0");
    // More than one catch-up read (512 events): the catch-up is under way when live events come.
    for i in 1..1000 {
        publish(engine.as_ref(), &["t"], &format!("e{i}"));
    }
    let mut subscription = Subscription::start(Arc::clone(&engine), vec!["t".into()], History::default(), Some(&first.to_string())).unwrap();
    let mut out = Vec::new();
    subscription.take_frames(&mut out, 40).unwrap();
    assert!(subscription.needs_log(), "still catching up");
    for i in 1000..1050 {
        publish(engine.as_ref(), &["t"], &format!("e{i}"));
    }
    // The live copies reach the inbox while the catch-up still has them to read from the log.
    let inbox = subscription.inbox();
    let give_up = Instant::now() + PATIENCE;
    while inbox.receiver.len() < 50 {
        assert!(Instant::now() < give_up, "the live events never reached the inbox");
        std::thread::sleep(Duration::from_millis(5));
    }
    let bell = Arc::clone(subscription.doorbell());
    while data_of(&out).len() < 1049 && Instant::now() < give_up {
        subscription.take_frames(&mut out, 40).unwrap();
        bell.wait(Duration::from_millis(50));
    }
    // Whatever else was coming has come by now: nothing twice.
    subscription.take_frames(&mut out, 1000).unwrap();
    assert_eq!(data_of(&out), (1..1050).map(|i| format!("e{i}")).collect::<Vec<_>>());
}

#[test]
fn a_trimmed_id_gets_history_lost() {
    let Some(server) = Server::start("the Redis engine's tests") else { return };
    let engine = server.engine();
    let small = History { max_events: 5, max_age: Duration::from_secs(3600) };
    let settings = Settings { history: small, ..Settings::default() };
    let first = publish_with(engine.as_ref(), &["t"], "e0", &settings);
    for i in 1..60 {
        publish_with(engine.as_ref(), &["t"], &format!("e{i}"), &settings);
    }
    let batch = engine.read_after(first.position, 100, &small, &topics(&["t"])).unwrap();
    assert!(batch.gap, "the entries after the first were trimmed");
    let mut subscription = Subscription::start(Arc::clone(&engine), vec!["t".into()], small, Some(&first.to_string())).unwrap();
    let mut out = Vec::new();
    subscription.take_frames(&mut out, 100).unwrap();
    let events = parse(&out);
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].event, "sse-reset");
    assert_eq!(events[0].data, r#"{"reason":"history-lost"}"#);
    assert_eq!(events[0].id, EventId { epoch: first.epoch.clone(), position: engine.last_position().unwrap() }.to_string());
    // The newest events are still there for whoever resumes from a recent id.
    let recent = engine.read_after(engine.last_position().unwrap(), 10, &small, &topics(&["t"])).unwrap();
    assert!(!recent.gap && recent.events.is_empty());
}

#[test]
fn a_flushed_redis_is_a_new_epoch_and_old_ids_get_unknown_id() {
    let Some(server) = Server::start("the Redis engine's tests") else { return };
    let engine = server.engine();
    let before = publish(engine.as_ref(), &["t"], "before");
    assert_eq!(server.command("FLUSHALL"), "+OK\r\n");
    let after = publish(engine.as_ref(), &["t"], "after");
    assert_ne!(after.epoch, before.epoch, "a flushed Redis starts a new log");
    assert_eq!(engine.epoch().unwrap(), after.epoch);
    assert_resume_is_an_unknown_id(&engine, &before);
}

/// A stream of `t` on `engine` that resumes from `id` gets one `sse-reset` (`unknown-id`) first.
fn assert_resume_is_an_unknown_id(engine: &Arc<dyn Engine>, id: &EventId) {
    let mut subscription = Subscription::start(Arc::clone(engine), vec!["t".into()], History::default(), Some(&id.to_string())).unwrap();
    let mut out = Vec::new();
    subscription.take_frames(&mut out, 100).unwrap();
    let events = parse(&out);
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!((events[0].event.as_str(), events[0].data.as_str()), ("sse-reset", r#"{"reason":"unknown-id"}"#));
}

#[test]
fn an_unreachable_redis_is_an_error_not_a_hang() {
    let Some(server) = Server::start("the Redis engine's tests") else { return };
    let url = server.url();
    drop(server);
    let engine = RedisEngine::open(&url, None).unwrap();
    let settings = Settings { publish_timeout: Duration::from_secs(2), ..Settings::default() };
    let mut event = sse_core::Event::new();
    event.set_data_str("lost");
    let (frame, slot) = event.encode_without_id();
    let failed = engine.publish(&["t".to_owned()], &frame, slot, &settings);
    assert!(failed.is_err());
    assert!(engine.subscribe(vec!["t".into()]).is_err(), "a subscription needs the last id from Redis");
}

#[test]
fn logs_of_different_names_share_a_redis_and_nothing_else() {
    let Some(server) = Server::start("the Redis engine's tests") else { return };
    let open = |url: String| -> Arc<dyn Engine> { Arc::new(RedisEngine::open(&url, None).unwrap()) };
    let default = server.engine();
    let orders = open(format!("{}/0?log=orders", server.url()));
    let orders_again = open(format!("{}?log=orders", server.url()));
    let inbox = orders.subscribe(vec!["t".into()]).unwrap();
    let in_default = publish(default.as_ref(), &["t"], "default");
    let in_orders = publish(orders_again.as_ref(), &["t"], "orders");
    // Each log has its own keys, epoch and events.
    assert_eq!(server.command("EXISTS sse.orders:epoch sse:epoch"), ":2\r\n");
    assert_ne!(in_default.epoch, in_orders.epoch);
    assert_eq!(orders.epoch().unwrap(), in_orders.epoch);
    let read = |engine: &Arc<dyn Engine>| {
        let batch = engine.read_after(Position::ZERO, 10, &History::default(), &topics(&["t"])).unwrap();
        batch.events.iter().map(data).collect::<Vec<_>>()
    };
    assert_eq!(read(&default), ["default"]);
    assert_eq!(read(&orders), ["orders"]);
    // Live, a stream of one log gets that log's events only.
    assert_eq!(data(&inbox.receiver.recv_timeout(PATIENCE).expect("the orders event")), "orders");
    publish(default.as_ref(), &["t"], "default again");
    let last = publish(orders_again.as_ref(), &["t"], "orders again");
    assert_eq!(data(&inbox.receiver.recv_timeout(PATIENCE).expect("the second orders event")), "orders again");
    assert!(inbox.receiver.try_recv().is_err());
    // An id of one log is unknown to the other: a reset, never another log's events.
    assert_resume_is_an_unknown_id(&default, &last);
}

#[test]
fn a_bad_log_name_is_refused_naming_it() {
    let refused = RedisEngine::open("redis://:hunter2@127.0.0.1:1?log=Orders", None).err().map(|e| e.to_string()).unwrap_or_default();
    assert!(refused.contains("\"Orders\"") && refused.contains("a-z, 0-9") && !refused.contains("hunter2"), "{refused}");
}
