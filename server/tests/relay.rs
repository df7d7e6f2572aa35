//! One Redis reader per machine (`broker/redis/relay.rs`) against a real `redis-server`:
//! engines that share a relay directory stand for the processes of one machine. Each test
//! counts every event. Without `/usr/bin/redis-server` the tests say so and pass.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::peer::PATIENCE;
use common::redis_server::Server;
use common::{data, data_of, parse, publish, publish_with, TempDir};
use sse_core::broker::History;
use sse_server::broker::hub::Inbox;
use sse_server::broker::Settings;
use sse_server::subscription::Subscription;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The names of the clients reading Redis (`ext-sse-relay-…`, `ext-sse-follow-…`).
fn readers(server: &Server) -> Vec<String> {
    let mut list = String::new();
    let Ok(mut connection) = std::net::TcpStream::connect(("127.0.0.1", server.port)) else { return Vec::new() };
    use std::io::{Read, Write};
    connection.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
    connection.write_all(b"CLIENT LIST\r\n").unwrap();
    let mut buffer = [0u8; 65536];
    while let Ok(n) = connection.read(&mut buffer) {
        if n == 0 {
            break;
        }
        list.push_str(&String::from_utf8_lossy(&buffer[..n]));
    }
    list.split_whitespace().filter_map(|field| field.strip_prefix("name=")).filter(|name| name.starts_with("ext-sse-")).map(str::to_owned).collect()
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let give_up = Instant::now() + PATIENCE;
    while !done() {
        assert!(Instant::now() < give_up, "{what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The data of the next `n` live events of `inbox`.
fn take(inbox: &Inbox, n: usize) -> Vec<String> {
    (0..n).map(|i| data(&inbox.receiver.recv_timeout(PATIENCE).unwrap_or_else(|_| panic!("live event {i} of {n} never came")))).collect()
}

fn numbered(prefix: &str, range: std::ops::Range<usize>) -> Vec<String> {
    range.map(|i| format!("{prefix}{i}")).collect()
}

#[test]
fn the_processes_of_a_machine_share_one_reader_and_get_every_event_once() {
    let Some(server) = Server::start("the relay's tests") else { return };
    let (one, two) = (TempDir::new("relay-one"), TempDir::new("relay-two"));
    let machine_one: Vec<_> = (0..3).map(|_| server.relayed_engine(one.path())).collect();
    let machine_two: Vec<_> = (0..2).map(|_| server.relayed_engine(two.path())).collect();
    let inboxes: Vec<_> = machine_one.iter().chain(&machine_two).map(|engine| engine.subscribe(vec!["t".into()]).unwrap()).collect();
    let publisher = server.engine();
    for i in 0..300 {
        publish(publisher.as_ref(), &["t"], &format!("e{i}"));
        publish(publisher.as_ref(), &["other"], "x");
    }
    for inbox in &inboxes {
        assert_eq!(take(inbox, 300), numbered("e", 0..300));
    }
    std::thread::sleep(Duration::from_millis(100));
    assert!(inboxes.iter().all(|inbox| inbox.receiver.is_empty()), "nothing twice");
    let names = readers(&server);
    assert_eq!(names.iter().filter(|n| n.starts_with("ext-sse-relay-")).count(), 2, "one reader per machine: {names:?}");
    assert!(!names.iter().any(|n| n.starts_with("ext-sse-follow-")), "{names:?}");
    // The directory says who relays.
    let holder = std::fs::read_dir(one.path()).unwrap().flatten().map(|dir| dir.path().join("relay.lock")).find(|lock| lock.exists()).unwrap();
    assert_eq!(std::fs::read_to_string(holder).unwrap(), format!("{}\n", std::process::id()));
}

#[test]
fn the_relaying_passes_to_another_process_without_a_loss() {
    let Some(server) = Server::start("the relay's tests") else { return };
    let machine = TempDir::new("relay-handover");
    let (first, second) = (server.relayed_engine(machine.path()), server.relayed_engine(machine.path()));
    let relaying = first.subscribe(vec!["t".into()]).unwrap();
    let staying = second.subscribe(vec!["t".into()]).unwrap();
    let publisher = server.engine();
    for i in 0..50 {
        publish(publisher.as_ref(), &["t"], &format!("e{i}"));
    }
    assert_eq!(take(&relaying, 50), numbered("e", 0..50));
    // The relaying process's last stream ends while events keep coming: the other one takes
    // over from the last event relayed.
    let publishing = std::thread::spawn(move || {
        for i in 50..400 {
            publish(publisher.as_ref(), &["t"], &format!("e{i}"));
            if i % 50 == 0 {
                std::thread::sleep(Duration::from_millis(30));
            }
        }
    });
    drop(relaying);
    publishing.join().unwrap();
    assert_eq!(take(&staying, 400), numbered("e", 0..400));
    wait_until("the second engine relays", || readers(&server).iter().filter(|n| n.starts_with("ext-sse-relay-")).count() == 1);
    std::thread::sleep(Duration::from_millis(100));
    assert!(staying.receiver.is_empty(), "nothing twice");
}

#[test]
fn a_killed_relay_connection_reconnects_without_a_loss() {
    let Some(server) = Server::start("the relay's tests") else { return };
    let machine = TempDir::new("relay-kill");
    let engine = server.relayed_engine(machine.path());
    let inbox = engine.subscribe(vec!["t".into()]).unwrap();
    let publisher = server.engine();
    publish(publisher.as_ref(), &["t"], "e0");
    assert_eq!(take(&inbox, 1), ["e0"]);
    let name = readers(&server).into_iter().find(|n| n.starts_with("ext-sse-relay-")).expect("a relay");
    assert!(server.command("CLIENT KILL USER default SKIPME yes").starts_with(':'));
    for i in 1..100 {
        publish(publisher.as_ref(), &["t"], &format!("e{i}"));
    }
    assert_eq!(take(&inbox, 99), numbered("e", 1..100));
    wait_until("the relay reconnected", || readers(&server).contains(&name));
    std::thread::sleep(Duration::from_millis(100));
    assert!(inbox.receiver.is_empty(), "nothing twice");
}

#[test]
fn a_relay_started_on_an_idle_machine_replays_nothing_and_the_stream_resets_once() {
    let Some(server) = Server::start("the relay's tests") else { return };
    let machine = TempDir::new("relay-trimmed");
    let small = History { max_events: 5, max_age: Duration::from_secs(3600) };
    let settings = Settings { history: small, ..Settings::default() };
    let publisher = server.engine();
    // A relay ran and stopped with its process's last stream, at `e0`.
    let earlier = server.relayed_engine(machine.path());
    let first = publish_with(publisher.as_ref(), &["t"], "e0", &settings);
    let inbox = earlier.subscribe(vec!["t".into()]).unwrap();
    publish_with(publisher.as_ref(), &["t"], "e1", &settings);
    assert_eq!(take(&inbox, 1), ["e1"]);
    drop(inbox);
    wait_until("the relay stopped", || readers(&server).is_empty());
    // Meanwhile the history moves on past it.
    for i in 2..60 {
        publish_with(publisher.as_ref(), &["t"], &format!("e{i}"), &settings);
    }
    // A stream resuming from `e0` on this machine, where nothing followed the relay log since:
    // the relay starts from the newest event (the idle time is not replayed), and the stream's
    // catch-up says what it lost: one sse-reset, then every event after it once. (A relay that
    // stalls while streams follow it, and is replaced, is `tests/stacks/test_redis_relay.py`'s.)
    let later = server.relayed_engine(machine.path());
    let mut subscription = Subscription::start(Arc::clone(&later), vec!["t".into()], small, Some(&first.to_string())).unwrap();
    let mut out = Vec::new();
    subscription.take_frames(&mut out, 100).unwrap();
    // (No more trimming: a stream that has caught up loses nothing more.)
    for i in 60..70 {
        publish(publisher.as_ref(), &["t"], &format!("e{i}"));
    }
    let bell = Arc::clone(subscription.doorbell());
    let give_up = Instant::now() + PATIENCE;
    while !data_of(&out).contains(&"e69".to_owned()) && Instant::now() < give_up {
        subscription.take_frames(&mut out, 100).unwrap();
        bell.wait(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(200));
    subscription.take_frames(&mut out, 100).unwrap();
    let events = parse(&out);
    let resets: Vec<_> = events.iter().filter(|e| e.event == "sse-reset").map(|e| e.data.as_str()).collect();
    assert_eq!(resets, [r#"{"reason":"history-lost"}"#], "{events:?}");
    let after_reset: Vec<String> = events.iter().filter(|e| e.event != "sse-reset").map(|e| e.data.clone()).collect();
    let kept_from: usize = after_reset.first().and_then(|d| d.strip_prefix('e')).and_then(|n| n.parse().ok()).expect("events after the reset");
    assert!(kept_from > 1, "{after_reset:?}");
    assert_eq!(after_reset, numbered("e", kept_from..70), "each once, in order");
}
