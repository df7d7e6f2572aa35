//! The few frames a stream writes of its own accord.

use sse_core::Event;

/// What is written when nothing was written for `heartbeat` seconds: a comment, ignored by
/// clients, that keeps proxies from timing out and shows whether the client is still there.
pub const HEARTBEAT: &[u8] = b": \n\n";

/// The write that follows a heartbeat: an empty line, which a client reads as the end of an
/// event with no data, i.e. nothing.
pub const PROBE: &[u8] = b"\n";

/// The event type and id of the last event of a finished stream (`SseEmitter::finish()`). A
/// client that reconnects anyway sends `Last-Event-ID: sse-end` and is answered 204.
pub const END_EVENT: &str = "end";
pub const END_ID: &str = "sse-end";

/// `retry: <ms>`: how long the client waits before it reconnects.
pub fn retry_frame(ms: u64) -> Vec<u8> {
    let mut event = Event::new();
    event.set_retry(ms);
    event.encode()
}
