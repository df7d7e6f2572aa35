//! The detached serve loop on a socket pair: heartbeat, maximum duration, events, slow
//! client, stall and hang-up.
//!
//! `serve` reads its time from tokio's clock: the stall limit (30 s) runs on a paused clock;
//! the other tests use short durations of real time and assert what is written and why the
//! stream ended, never how long anything took.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::peer::{pair, read_to_end, read_until, PATIENCE};
use common::{data_of, ends_properly, parse, publish, records, stdout_of, END_REQUEST, STDOUT};
use sse_core::broker::History;
use sse_server::broker::memory::MemoryEngine;
use sse_server::broker::Engine;
use sse_server::stream::detached::{serve, End, QUEUE_LIMIT, STALL_TIMEOUT};
use sse_server::stream::HEARTBEAT;
use sse_server::subscription::Subscription;
use std::sync::Arc;
use std::time::{Duration, Instant};

const ID: u16 = 0x0102;

fn subscribed(topics: &[&str]) -> (Arc<dyn Engine>, Subscription) {
    let engine: Arc<dyn Engine> = Arc::new(MemoryEngine::new().unwrap());
    let subscription = Subscription::start(Arc::clone(&engine), common::topics(topics), History::default(), None).unwrap();
    (engine, subscription)
}

/// The STDOUT body so far, for a `read_until` condition (a record cut short is left out).
fn body(bytes: &[u8]) -> Vec<u8> {
    let (records, _) = records(bytes);
    records.into_iter().filter(|r| r.kind == STDOUT).flat_map(|r| r.content).collect()
}

#[tokio::test]
async fn a_quiet_stream_gets_heartbeats_as_stdout_records() {
    let (detached, peer) = pair(ID, None, Some(Duration::from_millis(5)), None, Some(3000));
    let served = tokio::spawn(serve(detached));
    let mut bytes = Vec::new();
    read_until(&peer, &mut bytes, |b| body(b).len() >= 3 * HEARTBEAT.len()).await;
    let (records, _) = records(&bytes);
    assert!(records.iter().all(|r| r.kind == STDOUT && r.request_id == ID), "{records:?}");
    assert!(body(&bytes).chunks(HEARTBEAT.len()).all(|c| c == HEARTBEAT || HEARTBEAT.starts_with(c)), "only heartbeats: {:?}", body(&bytes));
    drop(peer);
    assert_eq!(served.await.unwrap(), End::HungUp);
}

#[tokio::test]
async fn the_maximum_duration_ends_with_retry_then_end_request() {
    let (detached, peer) = pair(ID, None, None, Some(Instant::now() + Duration::from_millis(20)), Some(1500));
    let served = tokio::spawn(serve(detached));
    let mut bytes = Vec::new();
    read_to_end(&peer, &mut bytes).await;
    assert_eq!(served.await.unwrap(), End::MaxDuration);
    assert_eq!(stdout_of(&bytes, ID), b"retry: 1500\n\n");
    assert!(ends_properly(&bytes, ID), "{:?}", records(&bytes).0);
}

#[tokio::test]
async fn the_maximum_duration_without_retry_only_ends_the_response() {
    let (detached, peer) = pair(ID, None, None, Some(Instant::now()), None);
    let served = tokio::spawn(serve(detached));
    let mut bytes = Vec::new();
    read_to_end(&peer, &mut bytes).await;
    assert_eq!(served.await.unwrap(), End::MaxDuration);
    let (records, used) = records(&bytes);
    assert_eq!(used, bytes.len());
    assert_eq!(records.len(), 2, "{records:?}");
    assert_eq!((records[0].kind, records[0].content.len()), (STDOUT, 0));
    assert_eq!(records[1].kind, END_REQUEST);
    assert!(ends_properly(&bytes, ID));
}

#[tokio::test]
async fn heartbeats_go_on_until_the_maximum_duration() {
    // A long maximum duration, ended only once heartbeats were seen: the order is the point.
    let (detached, peer) = pair(ID, None, Some(Duration::from_millis(2)), Some(Instant::now() + Duration::from_millis(200)), Some(7));
    let served = tokio::spawn(serve(detached));
    let mut bytes = Vec::new();
    read_to_end(&peer, &mut bytes).await;
    assert_eq!(served.await.unwrap(), End::MaxDuration);
    let stdout = stdout_of(&bytes, ID);
    assert!(stdout.ends_with(b"retry: 7\n\n"));
    let before = &stdout[..stdout.len() - b"retry: 7\n\n".len()];
    assert!(before.chunks(HEARTBEAT.len()).all(|c| c == HEARTBEAT), "only whole heartbeats before the end: {before:?}");
    assert!(ends_properly(&bytes, ID));
}

#[tokio::test]
async fn events_are_written_in_order_as_they_are_published() {
    let (engine, subscription) = subscribed(&["news"]);
    for i in 0..300 {
        publish(engine.as_ref(), &["news"], &format!("e{i}"));
    }
    let (detached, peer) = pair(ID, Some(subscription), Some(Duration::from_secs(3600)), None, None);
    let served = tokio::spawn(serve(detached));
    let mut bytes = Vec::new();
    read_until(&peer, &mut bytes, |b| data_of(&body(b)).len() >= 300).await;
    // Live now: published while the stream waits.
    for i in 300..600 {
        publish(engine.as_ref(), &["news"], &format!("e{i}"));
        publish(engine.as_ref(), &["sport"], &format!("s{i}"));
    }
    read_until(&peer, &mut bytes, |b| data_of(&body(b)).len() >= 600).await;
    drop(peer);
    assert_eq!(served.await.unwrap(), End::HungUp);
    let events = parse(&body(&bytes));
    let data: Vec<_> = events.iter().map(|e| e.data.clone()).collect();
    assert_eq!(data, (0..600).map(|i| format!("e{i}")).collect::<Vec<_>>());
    let epoch = engine.epoch().unwrap();
    assert!(events.iter().all(|e| e.id.starts_with(epoch.as_str())));
}

#[tokio::test]
async fn a_backlog_of_live_events_is_written_batch_after_batch() {
    let (engine, mut subscription) = subscribed(&["t"]);
    // Caught up: what follows waits in the inbox, more than one delivery batch of it.
    let mut nothing = Vec::new();
    assert_eq!(subscription.take_frames(&mut nothing, 1000).unwrap(), 0);
    for i in 0..1000 {
        publish(engine.as_ref(), &["t"], &format!("e{i}"));
    }
    assert!(!subscription.needs_log(), "the inbox holds them all");
    let (detached, peer) = pair(ID, Some(subscription), None, None, None);
    let served = tokio::spawn(serve(detached));
    let mut bytes = Vec::new();
    // No event comes after these: the stream must not wait for one to write the rest.
    read_until(&peer, &mut bytes, |b| data_of(&body(b)).len() >= 1000).await;
    drop(peer);
    assert_eq!(served.await.unwrap(), End::HungUp);
    assert_eq!(data_of(&body(&bytes)), (0..1000).map(|i| format!("e{i}")).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_client_that_does_not_read_is_closed_at_the_queue_limit() {
    let (engine, subscription) = subscribed(&["big"]);
    let data = "x".repeat(8 * 1024);
    let count = 2 * QUEUE_LIMIT / data.len() + 64;
    for _ in 0..count {
        publish(engine.as_ref(), &["big"], &data);
    }
    // The peer is kept open and never read.
    let (detached, peer) = pair(ID, Some(subscription), None, None, Some(2000));
    let end = tokio::time::timeout(PATIENCE, serve(detached)).await.expect("a slow client is closed without waiting");
    assert_eq!(end, End::SlowClient);
    // What the socket took is whole records of this request, in order.
    let mut bytes = Vec::new();
    read_to_end(&peer, &mut bytes).await;
    let (records, _) = records(&bytes);
    assert!(!records.is_empty());
    assert!(records.iter().all(|r| r.request_id == ID));
    let written = data_of(&body(&bytes));
    assert!(written.len() < count, "it was not all written: {} of {count}", written.len());
    assert!(written.iter().all(|d| *d == data));
}

#[tokio::test]
async fn a_hang_up_ends_the_stream() {
    let (detached, peer) = pair(ID, None, Some(Duration::from_secs(3600)), None, Some(1000));
    drop(peer);
    let end = tokio::time::timeout(PATIENCE, serve(detached)).await.unwrap();
    assert_eq!(end, End::HungUp);
}

#[tokio::test]
async fn a_hang_up_after_the_web_server_sent_something_ends_the_stream() {
    let (engine, subscription) = subscribed(&["t"]);
    let (detached, peer) = pair(ID, Some(subscription), None, None, None);
    let served = tokio::spawn(serve(detached));
    publish(engine.as_ref(), &["t"], "one");
    let mut bytes = Vec::new();
    read_until(&peer, &mut bytes, |b| !data_of(&body(b)).is_empty()).await;
    // An abort request, say: read and dropped, then the connection closes.
    peer.writable().await.unwrap();
    peer.try_write(&[1, 2, 0, 1, 0, 0, 0, 0]).unwrap();
    let std_peer = peer.into_std().unwrap();
    std_peer.shutdown(std::net::Shutdown::Both).unwrap();
    assert_eq!(tokio::time::timeout(PATIENCE, served).await.unwrap().unwrap(), End::HungUp);
    assert_eq!(data_of(&body(&bytes)), vec!["one"]);
}

#[tokio::test]
async fn events_after_the_stream_ended_are_not_written() {
    let (engine, subscription) = subscribed(&["t"]);
    let inbox = subscription.inbox();
    let (detached, peer) = pair(ID, Some(subscription), None, Some(Instant::now() + Duration::from_millis(10)), None);
    let served = tokio::spawn(serve(detached));
    let mut bytes = Vec::new();
    read_to_end(&peer, &mut bytes).await;
    assert_eq!(served.await.unwrap(), End::MaxDuration);
    drop(inbox);
    publish(engine.as_ref(), &["t"], "late");
    assert!(!engine.hub().has_subscribers(), "the ended stream's inbox is gone");
    assert!(data_of(&body(&bytes)).is_empty());
    assert!(ends_properly(&bytes, ID));
}

/// The stall limit (30 s) on tokio's paused clock: the serve loop reads its time there.
#[tokio::test(start_paused = true)]
async fn a_client_that_stops_reading_is_closed_after_the_stall_limit() {
    let (engine, subscription) = subscribed(&["big"]);
    // Less than the queue limit, more than the socket holds: bytes wait, the limit is not hit.
    let data = "y".repeat(4 * 1024);
    for _ in 0..(QUEUE_LIMIT / 2 / data.len()) {
        publish(engine.as_ref(), &["big"], &data);
    }
    let (detached, _peer) = pair(ID, Some(subscription), Some(Duration::from_millis(5)), None, None);
    let started = tokio::time::Instant::now();
    let end = tokio::time::timeout(STALL_TIMEOUT + PATIENCE, serve(detached)).await.expect("the stall limit closes it");
    assert_eq!(end, End::SlowClient);
    assert!(started.elapsed() >= STALL_TIMEOUT);
}
