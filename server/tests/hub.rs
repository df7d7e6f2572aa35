//! The hub: which inboxes get an event, overflow, and what is left when streams go.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use sse_core::broker::{Position, StoredEvent};
use sse_server::broker::hub::{Hub, INBOX_CAPACITY};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

fn event(seq: u64, topics: &[&str]) -> Arc<StoredEvent> {
    let frame = format!("data: {seq}\n\n");
    Arc::new(StoredEvent {
        position: Position::seq(seq),
        time_ms: 0,
        topics: topics.iter().map(|t| (*t).to_owned()).collect::<Vec<_>>().into(),
        frame: frame.as_bytes().into(),
        id_slot: 0,
    })
}

fn names(topics: &[&str]) -> Vec<String> {
    topics.iter().map(|t| (*t).to_owned()).collect()
}

fn drain(inbox: &sse_server::broker::hub::Inbox) -> Vec<u64> {
    inbox.receiver.try_iter().map(|e| e.position.major).collect()
}

#[test]
fn events_reach_only_the_inboxes_of_their_topics() {
    let hub = Hub::default();
    let a = hub.register(names(&["a"]));
    let b = hub.register(names(&["b"]));
    let ab = hub.register(names(&["a", "b"]));
    let none = hub.register(names(&["z"]));
    hub.dispatch(&[event(1, &["a"]), event(2, &["b"]), event(3, &["a", "b"]), event(4, &["c"])]);
    assert_eq!(drain(&a), vec![1, 3]);
    assert_eq!(drain(&b), vec![2, 3]);
    assert_eq!(drain(&ab), vec![1, 2, 3], "an event for two of its topics comes once");
    assert_eq!(drain(&none), Vec::<u64>::new());
    assert_eq!(hub.delivered.load(Ordering::Relaxed), 7);
}

#[test]
fn an_inbox_gets_only_what_was_dispatched_after_it_registered() {
    let hub = Hub::default();
    hub.dispatch(&[event(1, &["a"])]);
    let inbox = hub.register(names(&["a"]));
    hub.dispatch(&[event(2, &["a"])]);
    assert_eq!(drain(&inbox), vec![2]);
}

#[tokio::test(start_paused = true)]
async fn a_dispatch_wakes_its_inbox_and_rings_its_bell() {
    let hub = Hub::default();
    let woken = hub.register(names(&["a"]));
    let quiet = hub.register(names(&["b"]));
    hub.dispatch(&[event(1, &["a"]), event(2, &["a"])]);
    // The wake-up is kept for the next wait: none is lost between a check and a wait.
    assert!(tokio::time::timeout(Duration::from_secs(60), woken.notify.notified()).await.is_ok());
    assert!(tokio::time::timeout(Duration::from_secs(60), quiet.notify.notified()).await.is_err(), "nothing was dispatched to it");
    // The bell was rung: a wait returns at once (a wait of an hour would hang the test).
    woken.bell.wait(Duration::from_secs(3600));
}

#[test]
fn a_full_inbox_overflows_and_keeps_what_it_holds() {
    let hub = Hub::default();
    let slow = hub.register(names(&["a"]));
    let fast = hub.register(names(&["a"]));
    let total = INBOX_CAPACITY as u64 + 10;
    for seq in 1..=total {
        hub.dispatch(&[event(seq, &["a"])]);
        fast.receiver.try_iter().for_each(drop);
    }
    assert!(slow.is_overflowed());
    assert!(!fast.is_overflowed(), "an inbox that keeps up never overflows");
    assert_eq!(slow.receiver.len(), INBOX_CAPACITY);
    assert_eq!(drain(&slow), (1..=INBOX_CAPACITY as u64).collect::<Vec<_>>(), "the oldest are kept, in order");
    assert!(slow.take_overflow());
    assert!(!slow.take_overflow(), "told once");
    assert!(!slow.is_overflowed());
}

#[test]
fn an_overflow_in_one_batch_is_noticed() {
    let hub = Hub::default();
    let inbox = hub.register(names(&["a"]));
    let batch: Vec<_> = (1..=INBOX_CAPACITY as u64 + 1).map(|seq| event(seq, &["a"])).collect();
    hub.dispatch(&batch);
    assert!(inbox.take_overflow());
    assert_eq!(inbox.receiver.len(), INBOX_CAPACITY);
}

#[test]
fn overflow_all_tells_every_live_inbox() {
    let hub = Hub::default();
    let one = hub.register(names(&["a"]));
    let two = hub.register(names(&["b"]));
    hub.overflow_all();
    assert!(one.take_overflow());
    assert!(two.take_overflow());
}

#[test]
fn dropped_inboxes_are_forgotten() {
    let hub = Hub::default();
    assert!(!hub.has_subscribers());
    let kept = hub.register(names(&["a"]));
    let dropped = hub.register(names(&["a"]));
    assert!(hub.has_subscribers());
    drop(dropped);
    hub.dispatch(&[event(1, &["a"])]);
    assert_eq!(hub.delivered.load(Ordering::Relaxed), 1, "nothing is handed to a dropped inbox");
    assert_eq!(drain(&kept), vec![1]);
    drop(kept);
    assert!(!hub.has_subscribers());
    hub.dispatch(&[event(2, &["a"])]);
    assert_eq!(hub.delivered.load(Ordering::Relaxed), 1);
}

#[tokio::test(start_paused = true)]
async fn subscriber_left_resolves_once_an_inbox_is_dropped() {
    let hub = Hub::default();
    let inbox = hub.register(names(&["a"]));
    assert!(tokio::time::timeout(Duration::from_secs(60), hub.subscriber_left()).await.is_err(), "nobody left yet");
    drop(inbox);
    // The news is kept for a later call.
    assert!(tokio::time::timeout(Duration::from_secs(60), hub.subscriber_left()).await.is_ok());
    assert!(tokio::time::timeout(Duration::from_secs(60), hub.subscriber_left()).await.is_err(), "one departure, one news");
}

#[test]
fn a_reader_that_fell_behind_wakes_every_stream_to_catch_up() {
    let hub = Hub::default();
    let inbox = hub.register(names(&["a"]));
    hub.overflow_all();
    assert!(inbox.is_overflowed());
    // The stream is woken (a detached one through `notify`, an attached one through its
    // doorbell), not left waiting for its next event to learn what it missed.
    let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
    let woken = runtime.block_on(async { tokio::time::timeout(Duration::from_secs(5), inbox.notify.notified()).await.is_ok() });
    assert!(woken);
    let started = std::time::Instant::now();
    inbox.bell.wait(Duration::from_secs(5));
    assert!(started.elapsed() < Duration::from_secs(4), "the doorbell was rung");
}

#[test]
fn the_interest_counts_each_partition_while_a_stream_reads_it() {
    use sse_core::broker::partition;
    use sse_server::broker::interest::partitions;
    let hub = Hub::default();
    let a = hub.register(names(&["a"]));
    let ab = hub.register(names(&["a", "b"]));
    let mut both = vec![partition::of("a"), partition::of("b")];
    both.sort_unstable();
    both.dedup();
    assert_eq!(partitions(hub.interest.mask()), both);
    drop(ab);
    assert_eq!(partitions(hub.interest.mask()), vec![partition::of("a")]);
    drop(a);
    assert_eq!(hub.interest.mask(), 0);
}

#[test]
fn the_hub_keeps_its_recent_events_while_it_can_vouch_for_them() {
    use sse_server::broker::hub::RECENT_CAPACITY;
    let hub = Hub::default();
    assert!(hub.recent_after(Position::ZERO, Position::ZERO, 10).is_none(), "nothing dispatched: nothing vouched for");
    hub.dispatch(&(1..=10).map(|i| event(i, &["a"])).collect::<Vec<_>>());
    let positions =
        |taken: Option<(Vec<Arc<StoredEvent>>, bool)>| taken.map(|(events, all)| (events.iter().map(|e| e.position.major).collect::<Vec<_>>(), all));
    // Whole after the first event dispatched (what came before it is unknown here).
    assert_eq!(positions(hub.recent_after(Position::seq(3), Position::seq(3), 100)), Some(((4..=10).collect(), true)));
    assert_eq!(positions(hub.recent_after(Position::seq(3), Position::seq(3), 2)), Some((vec![4, 5], false)));
    assert_eq!(positions(hub.recent_after(Position::seq(0), Position::seq(1), 100)), Some(((1..=10).collect(), true)));
    assert_eq!(hub.recent_after(Position::seq(0), Position::seq(0), 100).map(|_| ()), None);
    // Beyond its capacity it vouches only for what it still holds.
    let many = RECENT_CAPACITY as u64 + 20;
    hub.dispatch(&(11..=many).map(|i| event(i, &["b"])).collect::<Vec<_>>());
    assert!(hub.recent_after(Position::seq(10), Position::seq(10), 1).is_none());
    assert_eq!(positions(hub.recent_after(Position::seq(many - 1), Position::seq(many - 1), 10)), Some((vec![many], true)));
    // A reader that fell behind, or one that starts again: nothing is vouched for until the next.
    hub.overflow_all();
    assert!(hub.recent_after(Position::seq(many), Position::seq(many), 10).is_none());
    hub.dispatch(&[event(many + 5, &["a"])]);
    assert!(hub.recent_after(Position::seq(many), Position::seq(many), 10).is_none());
    assert_eq!(positions(hub.recent_after(Position::seq(many + 5), Position::seq(many + 5), 10)), Some((vec![], true)));
    hub.reader_starts(None);
    assert!(hub.recent_after(Position::seq(many + 5), Position::seq(many + 5), 10).is_none());
    // Large events: fewer are kept.
    let large = |seq: u64| {
        let mut event = (*event(seq, &["a"])).clone();
        event.frame = vec![b'x'; sse_server::broker::hub::RECENT_MAX_BYTES / 4].into();
        Arc::new(event)
    };
    hub.reader_starts(Some(Position::seq(1000)));
    hub.dispatch(&(1001..=1010).map(large).collect::<Vec<_>>());
    assert!(hub.recent_after(Position::seq(1005), Position::seq(1005), 10).is_none());
    assert_eq!(positions(hub.recent_after(Position::seq(1006), Position::seq(1006), 10)), Some(((1007..=1010).collect(), true)));
    // A reader that says where it starts is vouched for from there.
    hub.reader_starts(Some(Position::seq(many + 10)));
    assert_eq!(positions(hub.recent_after(Position::seq(many + 10), Position::seq(many + 10), 10)), Some((vec![], true)));
    hub.dispatch(&[event(many + 11, &["a"])]);
    assert_eq!(positions(hub.recent_after(Position::seq(many + 10), Position::seq(many + 10), 10)), Some((vec![many + 11], true)));
    // Events out of order (publishers racing): nothing up to the newest is vouched for.
    hub.dispatch(&[event(many + 9, &["a"])]);
    assert!(hub.recent_after(Position::seq(many + 10), Position::seq(many + 10), 10).is_none());
    assert_eq!(positions(hub.recent_after(Position::seq(many + 11), Position::seq(many + 11), 10)), Some((vec![], true)));
}
