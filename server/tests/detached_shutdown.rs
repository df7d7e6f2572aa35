//! A process shutdown ends every detached stream properly. Its own test binary: the shutdown
//! is told to every stream of the process.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::peer::{pair, read_to_end, read_until};
use common::{data_of, ends_properly, publish, records, stdout_of, STDOUT};
use sse_core::broker::History;
use sse_server::broker::memory::MemoryEngine;
use sse_server::broker::Engine;
use sse_server::stream::detached::{serve, shut_down_streams, End};
use sse_server::subscription::Subscription;
use std::sync::Arc;
use std::time::Duration;

fn body(bytes: &[u8]) -> Vec<u8> {
    let (records, _) = records(bytes);
    records.into_iter().filter(|r| r.kind == STDOUT).flat_map(|r| r.content).collect()
}

#[tokio::test]
async fn a_shutdown_ends_every_stream_with_retry_and_the_end_of_the_response() {
    let engine: Arc<dyn Engine> = Arc::new(MemoryEngine::new().unwrap());
    let mut streams = Vec::new();
    for (n, retry) in [(1u16, Some(500)), (2, None), (3, Some(9000))] {
        let subscription = Subscription::start(Arc::clone(&engine), vec!["t".into()], History::default(), None).unwrap();
        let (detached, peer) = pair(n, Some(subscription), Some(Duration::from_secs(3600)), None, retry);
        streams.push((n, retry, tokio::spawn(serve(detached)), peer));
    }
    // Each stream is in its loop once it wrote this event.
    publish(engine.as_ref(), &["t"], "before");
    let mut received = Vec::new();
    for (_, _, _, peer) in &streams {
        let mut bytes = Vec::new();
        read_until(peer, &mut bytes, |b| !data_of(&body(b)).is_empty()).await;
        received.push(bytes);
    }
    shut_down_streams();
    for ((n, retry, served, peer), mut bytes) in streams.into_iter().zip(received) {
        read_to_end(&peer, &mut bytes).await;
        assert_eq!(served.await.unwrap(), End::Shutdown, "stream {n}");
        let stdout = stdout_of(&bytes, n);
        assert_eq!(data_of(&stdout), vec!["before"]);
        match retry {
            Some(ms) => assert!(stdout.ends_with(format!("retry: {ms}\n\n").as_bytes()), "stream {n}: {stdout:?}"),
            None => assert!(!stdout.windows(6).any(|w| w == b"retry:"), "stream {n}"),
        }
        assert!(ends_properly(&bytes, n), "stream {n}");
    }
}
