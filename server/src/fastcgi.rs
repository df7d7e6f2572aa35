//! Frames written straight to php-fpm's FastCGI socket, with bursts coalesced.
//!
//! Through the SAPI every frame costs a write(2) of its own (`fcgi_flush`). Here the stream
//! wraps its frames in FastCGI STDOUT records itself and writes them to the socket: a frame
//! that follows a quiet moment (at least [`QUIET`] since the last write) is written at once by
//! the PHP thread, so an isolated event leaves immediately; frames that follow it closely are
//! queued and written together by the runtime thread about a millisecond later. Only the socket
//! and the queue are shared with the runtime (no Zend state); one lock orders both threads'
//! writes. The SAPI's own buffer is flushed before the stream switches to this path, and the
//! queue is written out before the stream hands the socket back to PHP.

use crate::runtime::Deferred;
use parking_lot::Mutex;
use sse_core::fastcgi::push_records;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A write within this time of the previous one waits for the runtime's next write.
const QUIET: Duration = Duration::from_micros(200);
/// How long the runtime waits before writing what was queued (its timers tick in 1 ms).
const DEFERRED_DELAY: Duration = Duration::from_micros(500);
/// A queue this large is written at once by the PHP thread (the client is slower than the
/// script: the script waits, as it would for any write).
const MAX_QUEUED: usize = 256 * 1024;

struct Queue {
    bytes: Vec<u8>,
    last_write: Option<Instant>,
    deferred: bool,
    failed: bool,
}

struct Socket {
    fd: i32,
    request_id: u16,
    queue: Mutex<Queue>,
}

pub struct FastCgiStream {
    socket: Arc<Socket>,
    writer: Option<Deferred>,
}

impl FastCgiStream {
    /// The stream's socket writer, once the SAPI's own buffer has been flushed.
    pub fn start(fd: i32, request_id: u16) -> Option<FastCgiStream> {
        let socket =
            Arc::new(Socket { fd, request_id, queue: Mutex::new(Queue { bytes: Vec::with_capacity(4096), last_write: None, deferred: false, failed: false }) });
        Some(FastCgiStream { socket, writer: None })
    }

    /// The runtime's side, started with the first burst: a stream that never sends two events
    /// in a row quickly never needs it.
    fn writer(&mut self) -> Option<&Deferred> {
        if self.writer.is_none() {
            let runtime_side = Arc::clone(&self.socket);
            self.writer = Deferred::start(DEFERRED_DELAY, move || runtime_side.write_queued()).ok();
        }
        self.writer.as_ref()
    }

    /// Queues a frame and writes it now or shortly; false once the socket failed.
    pub fn write(&mut self, frame: &[u8]) -> bool {
        let mut queue = self.socket.queue.lock();
        if queue.failed {
            return false;
        }
        push_records(&mut queue.bytes, self.socket.request_id, frame);
        let now = Instant::now();
        let quiet = queue.last_write.is_none_or(|last| now.duration_since(last) >= QUIET);
        if (quiet && !queue.deferred) || queue.bytes.len() >= MAX_QUEUED {
            self.socket.write_all(&mut queue, now);
            return !queue.failed;
        }
        if queue.deferred {
            return true;
        }
        queue.deferred = true;
        drop(queue);
        if let Some(writer) = self.writer() {
            writer.poke();
            return true;
        }
        // No runtime: nobody would write the queue later, so write it now.
        let mut queue = self.socket.queue.lock();
        queue.deferred = false;
        self.socket.write_all(&mut queue, now);
        !queue.failed
    }

    pub fn failed(&self) -> bool {
        self.socket.queue.lock().failed
    }

    /// Stops the runtime's writes and writes what is left: the socket is PHP's again.
    pub fn finish(&mut self) {
        drop(self.writer.take());
        let mut queue = self.socket.queue.lock();
        self.socket.write_all(&mut queue, Instant::now());
    }
}

impl Drop for FastCgiStream {
    fn drop(&mut self) {
        self.finish();
    }
}

impl Socket {
    /// Writes the whole queue, blocking (the PHP thread).
    fn write_all(&self, queue: &mut Queue, now: Instant) {
        let mut written = 0;
        while written < queue.bytes.len() && !queue.failed {
            match send(self.fd, &queue.bytes[written..], 0) {
                Ok(n) => written += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => queue.failed = true,
            }
        }
        queue.bytes.clear();
        queue.last_write = Some(now);
    }

    /// Writes what the socket takes without blocking (the runtime thread); true when done.
    fn write_queued(&self) -> bool {
        let mut queue = self.queue.lock();
        while !queue.bytes.is_empty() && !queue.failed {
            match send(self.fd, &queue.bytes, libc::MSG_DONTWAIT) {
                Ok(n) => {
                    queue.bytes.drain(..n);
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                // The web server is not reading yet: try again after the delay.
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return false,
                Err(_) => {
                    queue.failed = true;
                    queue.bytes.clear();
                }
            }
        }
        queue.last_write = Some(Instant::now());
        queue.deferred = false;
        true
    }
}

/// send(2) on a FastCGI socket, never raising SIGPIPE.
pub fn send(fd: i32, bytes: &[u8], flags: i32) -> std::io::Result<usize> {
    // SAFETY: a valid buffer and length; MSG_NOSIGNAL turns a write to a closed peer into an
    // EPIPE error instead of a process-killing SIGPIPE.
    let n = unsafe { libc::send(fd, bytes.as_ptr().cast(), bytes.len(), flags | libc::MSG_NOSIGNAL) };
    if n < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}
