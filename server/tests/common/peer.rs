//! The web server's end of a detached stream's socket.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use sse_server::stream::detached::Detached;
use sse_server::subscription::Subscription;
use std::os::fd::OwnedFd;
use std::time::{Duration, Instant};
use tokio::net::UnixStream;

/// Long enough for anything that is coming to come on a busy machine; reached only by a
/// failing test.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// A connected pair: the stream's side as a `Detached`, the web server's side for the test.
pub fn pair(
    request_id: u16,
    subscription: Option<Subscription>,
    heartbeat: Option<Duration>,
    ends_at: Option<Instant>,
    retry: Option<u64>,
) -> (Detached, UnixStream) {
    let (ours, theirs) = std::os::unix::net::UnixStream::pair().unwrap();
    theirs.set_nonblocking(true).unwrap();
    let detached = Detached { socket: OwnedFd::from(ours), request_id, subscription, heartbeat, ends_at, retry };
    (detached, UnixStream::from_std(theirs).unwrap())
}

/// Reads into `bytes` until `done(bytes)`; panics if the connection ends first.
pub async fn read_until(peer: &UnixStream, bytes: &mut Vec<u8>, done: impl Fn(&[u8]) -> bool) {
    let reading = async {
        let mut buffer = vec![0u8; 1 << 16];
        while !done(bytes) {
            peer.readable().await.unwrap();
            match peer.try_read(&mut buffer) {
                Ok(0) => panic!("the stream ended first; it wrote {} bytes", bytes.len()),
                Ok(n) => bytes.extend_from_slice(&buffer[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) => panic!("read: {e}"),
            }
        }
    };
    tokio::time::timeout(PATIENCE, reading).await.expect("what was awaited never came");
}

/// Reads everything until the stream closes the connection.
pub async fn read_to_end(peer: &UnixStream, bytes: &mut Vec<u8>) {
    let reading = async {
        let mut buffer = vec![0u8; 1 << 16];
        loop {
            peer.readable().await.unwrap();
            match peer.try_read(&mut buffer) {
                Ok(0) => return,
                Ok(n) => bytes.extend_from_slice(&buffer[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) => panic!("read: {e}"),
            }
        }
    };
    tokio::time::timeout(PATIENCE, reading).await.expect("the stream never closed the connection");
}
