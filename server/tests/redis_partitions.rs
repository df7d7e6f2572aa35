//! The Redis log's partitions (`broker/redis/log.rs`) against a real `redis-server`: history
//! kept per partition, ids exact across partitions, readers that ask Redis only for the
//! partitions their streams read (counted in Redis's own output bytes), a stream whose new
//! partition comes while its reader blocks, and ids of the layout before. Every event is
//! counted. Without `/usr/bin/redis-server` the tests say so and pass.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::peer::PATIENCE;
use common::redis_server::Server;
use common::{data, data_of, parse, publish, publish_with, topics, TempDir};
use sse_core::broker::{partition, EventId, History, Position};
use sse_server::broker::{Engine, Settings};
use sse_server::subscription::Subscription;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Two topics in different partitions.
const QUIET: &str = "quiet";
fn busy() -> &'static str {
    ["busy", "busy-1", "busy-2", "busy-3"].into_iter().find(|t| partition::of(t) != partition::of(QUIET)).unwrap()
}

fn numbered(prefix: &str, range: std::ops::Range<usize>) -> Vec<String> {
    range.map(|i| format!("{prefix}{i}")).collect()
}

/// Redis's `total_net_output_bytes` now.
fn output_bytes(server: &Server) -> u64 {
    use std::io::{Read, Write};
    let mut connection = std::net::TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    connection.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
    connection.write_all(b"INFO stats\r\n").unwrap();
    let mut text = String::new();
    let mut buffer = [0u8; 16384];
    while !text.contains("total_net_output_bytes:") || !text[text.find("total_net_output_bytes:").unwrap()..].contains('\n') {
        let n = connection.read(&mut buffer).unwrap();
        assert!(n > 0);
        text.push_str(&String::from_utf8_lossy(&buffer[..n]));
    }
    let at = text.find("total_net_output_bytes:").unwrap() + "total_net_output_bytes:".len();
    text[at..].lines().next().unwrap().trim().parse().unwrap()
}

#[test]
fn a_busy_topic_trims_its_own_partition_not_a_quiet_ones() {
    let Some(server) = Server::start("the partitions' tests") else { return };
    let engine = server.engine();
    let small = History { max_events: 20, max_age: Duration::from_secs(3600) };
    let settings = Settings { history: small, ..Settings::default() };
    let before = engine.last_position().unwrap();
    publish_with(engine.as_ref(), &[QUIET], "q0", &settings);
    for i in 0..500 {
        publish_with(engine.as_ref(), &[busy()], &format!("b{i}"), &settings);
    }
    // The quiet topic's one event is still there for a client that saw nothing since.
    let quiet = engine.read_after(before, 100, &small, &topics(&[QUIET])).unwrap();
    assert!(!quiet.gap);
    assert_eq!(quiet.events.iter().map(data).collect::<Vec<_>>(), ["q0"]);
    // The busy one kept about its limit, and says what it lost.
    let busy_read = engine.read_after(before, 1000, &small, &topics(&[busy()])).unwrap();
    assert!(busy_read.gap);
    assert!(busy_read.events.len() >= 20 && busy_read.events.len() < 100, "{}", busy_read.events.len());
    // A stream of both: told it lost events (the busy ones), once.
    let mut subscription = Subscription::start(
        Arc::clone(&engine),
        topics(&[QUIET, busy()]),
        small,
        Some(&EventId { epoch: engine.epoch().unwrap(), position: before }.to_string()),
    )
    .unwrap();
    let mut out = Vec::new();
    subscription.take_frames(&mut out, 1000).unwrap();
    assert_eq!(parse(&out).iter().map(|e| e.event.as_str()).collect::<Vec<_>>(), ["sse-reset"]);
}

#[test]
fn a_stream_of_several_partitions_resumes_exactly() {
    let Some(server) = Server::start("the partitions' tests") else { return };
    let engine = server.engine();
    let mut ids = Vec::new();
    for i in 0..300 {
        let to = if i % 3 == 0 { QUIET } else { busy() };
        ids.push(publish(engine.as_ref(), &[to], &format!("e{i}")));
        if i % 7 == 0 {
            // An event of both partitions is one event, with one id.
            ids.push(publish(engine.as_ref(), &[QUIET, busy()], &format!("both{i}")));
        }
    }
    assert!(ids.windows(2).all(|w| w[0].position < w[1].position), "ids ordered across partitions");
    // From every tenth id: exactly what followed it, each once, in order (catch-up reads of 512
    // and of fewer, across both partitions).
    let all: Vec<String> = engine.read_after(Position::ZERO, 10_000, &History::default(), &topics(&[QUIET, busy()])).unwrap().events.iter().map(data).collect();
    assert_eq!(all.len(), ids.len());
    for (n, id) in ids.iter().enumerate().step_by(10) {
        let mut subscription = Subscription::start(Arc::clone(&engine), topics(&[QUIET, busy()]), History::default(), Some(&id.to_string())).unwrap();
        let mut out = Vec::new();
        while subscription.take_frames(&mut out, 37).unwrap() == 37 {}
        assert_eq!(data_of(&out), all[n + 1..], "resuming after {id}");
    }
    // A stream of one partition sees only its own.
    let quiet: Vec<String> = engine.read_after(Position::ZERO, 10_000, &History::default(), &topics(&[QUIET])).unwrap().events.iter().map(data).collect();
    assert!(quiet.iter().all(|d| d.starts_with("both") || d[1..].parse::<usize>().unwrap() % 3 == 0), "{quiet:?}");
}

/// Publishes numbered events to `topic` until stopped.
fn keep_publishing(server: &Server, topic: &'static str, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<usize> {
    let publisher = server.engine();
    std::thread::spawn(move || {
        let mut n = 0;
        while !stop.load(Ordering::Relaxed) {
            publish(publisher.as_ref(), &[topic], &format!("n{n}"));
            n += 1;
        }
        n
    })
}

/// A stream that starts while its topic's partition is new to a reader blocked on another one
/// (events published all along): it gets every event after its start, once, in order.
fn a_new_partition_loses_nothing(engine: Arc<dyn Engine>, server: &Server) {
    let _held = engine.subscribe(topics(&[QUIET])).unwrap();
    std::thread::sleep(Duration::from_millis(100));
    let stop = Arc::new(AtomicBool::new(false));
    let publishing = keep_publishing(server, "fresh", Arc::clone(&stop));
    std::thread::sleep(Duration::from_millis(50));
    let mut subscription = Subscription::start(Arc::clone(&engine), topics(&["fresh"]), History::default(), None).unwrap();
    let mut out = Vec::new();
    let give_up = Instant::now() + PATIENCE;
    while data_of(&out).len() < 300 && Instant::now() < give_up {
        subscription.take_frames(&mut out, 100).unwrap();
        subscription.doorbell().wait(Duration::from_millis(20));
    }
    stop.store(true, Ordering::Relaxed);
    let published = publishing.join().unwrap();
    let got = data_of(&out);
    assert!(got.len() >= 300, "only {} live events of {published}", got.len());
    let first: usize = got[0][1..].parse().unwrap();
    assert_eq!(got, numbered("n", first..first + got.len()), "every event after the start, once, in order");
}

#[test]
fn a_process_reading_redis_itself_adds_a_new_partition_without_a_loss() {
    let Some(server) = Server::start("the partitions' tests") else { return };
    a_new_partition_loses_nothing(server.engine(), &server);
}

#[test]
fn a_relay_adds_a_partition_another_process_wants_without_a_loss() {
    let Some(server) = Server::start("the partitions' tests") else { return };
    let machine = TempDir::new("partitions-relay");
    // One engine relays (for QUIET); the stream of a second one needs a new partition.
    let relaying = server.relayed_engine(machine.path());
    let _relayed = relaying.subscribe(topics(&[QUIET])).unwrap();
    a_new_partition_loses_nothing(server.relayed_engine(machine.path()), &server);
}

#[test]
fn readers_ask_redis_only_for_the_partitions_their_streams_read() {
    let Some(server) = Server::start("the partitions' tests") else { return };
    let machine = TempDir::new("partitions-egress");
    let (direct, relayed) = (server.engine(), server.relayed_engine(machine.path()));
    let inboxes = [direct.subscribe(topics(&[QUIET])).unwrap(), relayed.subscribe(topics(&[QUIET])).unwrap()];
    let publisher = server.engine();
    let big = "x".repeat(10_000);
    std::thread::sleep(Duration::from_millis(200));
    let before = output_bytes(&server);
    for _ in 0..100 {
        publish(publisher.as_ref(), &[busy()], &big);
    }
    publish(publisher.as_ref(), &[QUIET], "q");
    for inbox in &inboxes {
        assert_eq!(data(&inbox.receiver.recv_timeout(PATIENCE).unwrap()), "q");
    }
    // 100 events of 10 KB that nobody here reads: Redis sent the publisher its ids, and the
    // readers one small event each, not a megabyte apiece.
    let sent = output_bytes(&server) - before;
    assert!(sent < 100_000, "Redis sent {sent} bytes");
}

#[test]
fn a_mercure_subscription_of_exact_topics_reads_only_their_partitions() {
    use sse_core::mercure::selector::Selectors;
    use sse_core::mercure::update::{subscribed_topics, Update};
    let Some(server) = Server::start("the partitions' tests") else { return };
    let machine = TempDir::new("partitions-mercure");
    let hub = partition::of("mercure");
    let room = "https://example.com/rooms/1";
    let busy = (2..)
        .map(|i| format!("https://example.com/rooms/{i}"))
        .find(|t| ![hub, partition::of(&format!("mercure:{room}"))].contains(&partition::of(&format!("mercure:{t}"))))
        .unwrap();
    let exact = subscribed_topics(&Selectors::parse([room], "topic").unwrap(), false);
    let everything = subscribed_topics(&Selectors::parse(["*"], "topic").unwrap(), false);
    let (reader, watcher) = (server.relayed_engine(machine.path()), server.engine());
    let inbox = reader.subscribe(exact.clone()).unwrap();
    let all = watcher.subscribe(everything).unwrap();
    let publisher = server.engine();
    let update = |topic: &str, data: String| Update::new(vec![topic.to_owned()], data).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let before = output_bytes(&server);
    for i in 0..100 {
        let busy = update(&busy, format!("{i}{}", "x".repeat(10_000)));
        let (frame, slot) = busy.frame().unwrap();
        publisher.publish(&busy.broker_topics(), &frame, slot, &Settings::default()).unwrap();
    }
    let mine = update(room, "mine".into());
    let (frame, slot) = mine.frame().unwrap();
    let id = publisher.publish(&mine.broker_topics(), &frame, slot, &Settings::default()).unwrap();
    assert_eq!(data(&inbox.receiver.recv_timeout(PATIENCE).unwrap()), "mine");
    assert!(inbox.receiver.try_recv().is_err(), "an update of another topic woke the exact subscription");
    // The hub-wide subscription gets every update, in order.
    let seen: Vec<_> = (0..101).map(|_| all.receiver.recv_timeout(PATIENCE).unwrap().position).collect();
    assert!(seen.windows(2).all(|w| w[0] < w[1]) && seen[100] == id.position);
    // 100 updates of 10 KB that the exact subscription does not read: Redis sent its machine
    // one small update, and the hub-wide reader the megabyte.
    let sent = output_bytes(&server) - before;
    assert!(sent < 1_300_000, "Redis sent {sent} bytes (one reader of everything is about 1,000,000)");
    // Resuming: the exact subscription's history is its partitions.
    let batch = reader.read_after(Position::ZERO, 1000, &History::default(), &exact).unwrap();
    assert_eq!(batch.events.iter().filter(|e| e.is_for(&exact)).map(|e| e.position).collect::<Vec<_>>(), [id.position]);
}

#[test]
fn an_id_of_the_layout_before_partitions_still_resumes() {
    let Some(server) = Server::start("the partitions' tests") else { return };
    // A Redis as the layout before left it: one stream, `p` on each entry, `sse:last`.
    assert_eq!(server.command("SET sse:epoch 0123456789ab"), "+OK\r\n");
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() - 1000;
    let mut previous = "0-0".to_owned();
    let mut old_ids = Vec::new();
    for i in 0..5 {
        let id = format!("{now}-{i}");
        assert!(server.command(&format!("XADD sse:events {id} t t f \"data: old{i}\\n\\n\" s 0 p {previous}")).starts_with('$'));
        previous = id.clone();
        old_ids.push(id);
    }
    assert_eq!(server.command(&format!("SET sse:last {previous}")), "+OK\r\n");
    let engine = server.engine();
    let resumed = format!("0123456789ab:{}", old_ids[1]);
    publish(engine.as_ref(), &["t"], "new0");
    publish(engine.as_ref(), &["t"], "new1");
    let mut subscription = Subscription::start(Arc::clone(&engine), topics(&["t"]), History::default(), Some(&resumed)).unwrap();
    let mut out = Vec::new();
    while subscription.take_frames(&mut out, 100).unwrap() > 0 {}
    assert_eq!(data_of(&out), ["old2", "old3", "old4", "new0", "new1"]);
    assert!(parse(&out).iter().all(|e| e.event == "message"));
    // An old id whose successors were trimmed gets sse-reset.
    assert_eq!(server.command(&format!("XDEL sse:events {}", old_ids[3])).trim_end(), ":1");
    let mut subscription = Subscription::start(Arc::clone(&engine), topics(&["t"]), History::default(), Some(&format!("0123456789ab:{}", old_ids[2]))).unwrap();
    let mut out = Vec::new();
    subscription.take_frames(&mut out, 100).unwrap();
    assert_eq!(parse(&out)[0].event, "sse-reset");
}

#[test]
fn a_publish_sent_again_is_stored_once() {
    let Some(server) = Server::start("the partitions' tests") else { return };
    let engine = sse_server::broker::redis::RedisEngine::open(&server.url(), None).unwrap();
    let mut event = sse_core::Event::new();
    event.set_data_str("once");
    let (frame, slot) = event.encode_without_id();
    let to = topics(&["t", QUIET]);
    // As a client does when the reply of a publish that ran did not reach it.
    let first = engine.publish_once("token-1", &to, &frame, slot, &Settings::default()).unwrap();
    let again = engine.publish_once("token-1", &to, &frame, slot, &Settings::default()).unwrap();
    assert_eq!(first, again);
    let other = engine.publish_once("token-2", &to, &frame, slot, &Settings::default()).unwrap();
    assert!(other.position > first.position);
    let stored = engine.read_after(Position::ZERO, 100, &History::default(), &to).unwrap();
    assert_eq!(stored.events.iter().map(|e| e.position).collect::<Vec<_>>(), [first.position, other.position]);
}
