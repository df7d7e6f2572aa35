//! The one overflow policy, on the detached path: a stream whose inbox overflowed while it was
//! served by the runtime alone catches up from the log and writes every event once, in order,
//! on the same connection (it used to be closed). The attached path is counted by PHPUnit
//! (tests/php/Broadcast/InboxOverflowTest.php).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use sse_core::broker::History;
use sse_core::Event;
use sse_server::broker::hub::INBOX_CAPACITY;
use sse_server::broker::memory::MemoryEngine;
use sse_server::broker::{Engine, Settings};
use sse_server::stream::detached::{serve, Detached, End};
use sse_server::subscription::Subscription;
use std::io::Read;
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::sync::Arc;

fn publish(engine: &dyn Engine, topic: &str, data: &str) {
    let mut event = Event::new();
    event.set_data(data.as_bytes()).unwrap();
    let (frame, slot) = event.encode_without_id();
    engine.publish(&[topic.to_owned()], &frame, slot, &Settings::default()).unwrap();
}

/// Reads FastCGI STDOUT records from `peer` until `want` events arrived; their data, in order.
/// Tells `progress` once `first` events arrived. Closes the connection when done (a hang-up).
fn read_events(mut peer: UnixStream, first: usize, progress: tokio::sync::oneshot::Sender<()>, want: usize) -> Vec<String> {
    let (mut raw, mut stdout, mut data) = (Vec::new(), Vec::new(), Vec::new());
    let mut progress = Some(progress);
    let mut buffer = [0u8; 65536];
    while data.len() < want {
        let n = peer.read(&mut buffer).unwrap();
        assert!(n > 0, "the stream ended after {} events", data.len());
        raw.extend_from_slice(&buffer[..n]);
        // header: version, type, request id (2), content length (2), padding, reserved
        while raw.len() >= 8 {
            let length = usize::from(u16::from_be_bytes([raw[4], raw[5]]));
            let total = 8 + length + usize::from(raw[6]);
            if raw.len() < total {
                break;
            }
            assert_eq!(raw[1], 6, "only STDOUT records before the end");
            stdout.extend_from_slice(&raw[8..8 + length]);
            raw.drain(..total);
        }
        while let Some(end) = stdout.windows(2).position(|w| w == b"\n\n") {
            let frame = String::from_utf8(stdout.drain(..end + 2).collect()).unwrap();
            if let Some(line) = frame.lines().find(|l| l.starts_with("data: ")) {
                data.push(line["data: ".len()..].to_owned());
            }
        }
        if data.len() >= first {
            if let Some(tell) = progress.take() {
                let _ = tell.send(());
            }
        }
    }
    data
}

#[tokio::test(flavor = "current_thread")]
async fn a_detached_stream_whose_inbox_overflowed_catches_up_from_the_log() {
    let engine: Arc<dyn Engine> = Arc::new(MemoryEngine::new().unwrap());
    let topic = "overflow";
    let subscription = Subscription::start(Arc::clone(&engine), vec![topic.to_owned()], History::default(), None).unwrap();
    let (ours, peer) = UnixStream::pair().unwrap();
    let before = 100;
    let burst = INBOX_CAPACITY * 3;
    for i in 0..before {
        publish(&*engine, topic, &i.to_string());
    }
    let (told, progressed) = tokio::sync::oneshot::channel();
    let reader = std::thread::spawn(move || read_events(peer, before, told, before + burst));
    let stream = Detached { socket: OwnedFd::from(ours), request_id: 1, subscription: Some(subscription), heartbeat: None, ends_at: None, retry: None };
    let served = tokio::spawn(serve(stream));
    progressed.await.unwrap();
    // Published with no await in between: the stream's task cannot run (one thread), so its
    // inbox takes INBOX_CAPACITY events and overflows.
    for i in before..before + burst {
        publish(&*engine, topic, &i.to_string());
    }
    let got = tokio::task::spawn_blocking(move || reader.join().unwrap()).await.unwrap();
    let expected: Vec<String> = (0..before + burst).map(|i| i.to_string()).collect();
    assert_eq!(got.len(), expected.len());
    assert!(got == expected, "every event once, in order");
    assert_eq!(served.await.unwrap(), End::HungUp, "the stream went on until the client left");
}
