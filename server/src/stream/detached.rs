//! Detached streams: event streams served by the runtime alone, after their php-fpm worker went
//! on to its next request.
//!
//! Threading model. `Stream::detach()` runs on the PHP thread: its driver wrote what the stream
//! owes (headers, catch-up), the stream's output takes the FastCGI socket away from php-fpm
//! and hands it, with the stream's subscription and settings, to the runtime thread as one
//! [`Detached`] value; from then on no PHP code and no Zend state is
//! involved. On the runtime, each detached stream is one task ([`serve`]) that waits for the
//! first of: live events (its inbox's `Notify`), its heartbeat, its maximum duration, the web
//! server closing the connection (the client left), the socket taking more bytes, or a process
//! shutdown. It never blocks: the socket is non-blocking, and what the socket does not take
//! waits in the stream's own queue, bounded by [`QUEUE_LIMIT`]; a stream whose queue overflows
//! or that makes no progress for [`STALL_TIMEOUT`] is closed, and its browser resumes from the
//! last id it got. One slow client therefore costs its own queue and nothing else. A stream
//! whose inbox overflowed (the runtime was busy) catches up from the broker's log as an attached
//! stream does (`Subscription::take_frames`), on tokio's blocking pool, since a log read may
//! wait for Redis.
//!
//! Why in the worker's own runtime, not in a separate per-machine process: the socket already
//! lives in the worker, nothing has to be passed between processes, and the runtime that
//! serves timers and brokers is there anyway. The cost is that the streams live as long as the
//! worker: when php-fpm recycles it (`pm.max_requests`), stops it as idle (`pm = dynamic` or
//! `ondemand`), reloads or stops, module shutdown ends every detached stream properly (a
//! `retry:` field when one was set, then the end of the response), and the browsers reconnect
//! through other workers, resuming by Last-Event-ID. Pools that detach should use
//! `pm = static` and `pm.max_requests = 0` so that this happens only at reloads.

use super::frames::{retry_frame, HEARTBEAT};
use crate::fastcgi::send;
use crate::subscription::Subscription;
use sse_core::fastcgi::{push_end, push_records};
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;
use tokio::sync::Notify;

/// Bytes a detached stream may have waiting for a slow client before it is closed (1 MiB).
pub const QUEUE_LIMIT: usize = 1024 * 1024;
/// How long a detached stream may make no progress with bytes waiting before it is closed.
pub const STALL_TIMEOUT: Duration = Duration::from_secs(30);

/// Everything the runtime needs to serve a stream alone.
pub struct Detached {
    pub socket: OwnedFd,
    pub request_id: u16,
    pub subscription: Option<Subscription>,
    pub heartbeat: Option<Duration>,
    pub ends_at: Option<Instant>,
    pub retry: Option<u64>,
}

/// This process's detached streams, for `SseEmitter::detachedStats()` and `phpinfo()`.
#[derive(Default)]
pub struct Stats {
    pub open: AtomicU64,
    pub events: AtomicU64,
    pub bytes_queued: AtomicU64,
    pub slow_closes: AtomicU64,
    pub hang_ups: AtomicU64,
}

pub static STATS: Stats =
    Stats { open: AtomicU64::new(0), events: AtomicU64::new(0), bytes_queued: AtomicU64::new(0), slow_closes: AtomicU64::new(0), hang_ups: AtomicU64::new(0) };

/// Told to every detached stream when the process shuts down.
static SHUTDOWN: Notify = Notify::const_new();

/// Starts serving a detached stream on the runtime.
pub fn spawn(stream: Detached) -> std::io::Result<()> {
    set_nonblocking(&stream.socket)?;
    let open = STATS.open.fetch_add(1, Ordering::Relaxed) + 1;
    PEAK.fetch_max(open, Ordering::Relaxed);
    crate::runtime::spawn(async move {
        serve(stream).await;
        if STATS.open.fetch_sub(1, Ordering::Relaxed) == 1 {
            give_memory_back();
        }
    })
}

/// The most detached streams open at once since the last of them went.
static PEAK: AtomicU64 = AtomicU64::new(0);
/// How many streams at once make the memory they leave worth giving back.
const GIVE_BACK_AFTER: u64 = 256;

/// Called when the last detached stream of this process has gone. What the streams took (their
/// tasks, queues and socket registrations) is free by then but kept by glibc's malloc arenas
/// for reuse, which would leave a worker that once held 10,000 streams tens of MB larger for
/// the rest of its life. After a crowd (at least [`GIVE_BACK_AFTER`] at once), the free memory
/// of every arena goes back to the system; after a stream or two it is not worth the walk.
/// The walk runs on the runtime thread and holds up its other work (broker readers, waiting
/// streams' hang-up watches) while it lasts, once per crowd; no detached stream is left to wait.
fn give_memory_back() {
    if PEAK.swap(0, Ordering::Relaxed) < GIVE_BACK_AFTER {
        return;
    }
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free pages of glibc's arenas to the kernel; it is
    // thread-safe (it takes each arena's lock) and touches no live allocation.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Ends every detached stream of this process properly and waits (at most `limit`) until
/// they are gone. Module shutdown, before the runtime stops.
pub fn end_all(limit: Duration) {
    if STATS.open.load(Ordering::Relaxed) == 0 {
        return;
    }
    shut_down_streams();
    let give_up = Instant::now() + limit;
    while STATS.open.load(Ordering::Relaxed) > 0 && Instant::now() < give_up {
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Tells every detached stream of this process to end properly now (what [`end_all`] does
/// first, without waiting for them): each writes its `retry:` field, if any, and the end of
/// its response.
pub fn shut_down_streams() {
    SHUTDOWN.notify_waiters();
}

/// Why a detached stream ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    MaxDuration,
    HungUp,
    SlowClient,
    BrokerFailed,
    Shutdown,
    Failed,
}

/// The socket as the runtime sees it: non-blocking, watched for both directions.
struct Socket(OwnedFd);

impl AsRawFd for Socket {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.0.as_raw_fd()
    }
}

/// Serves a detached stream until it ends, and says why. [`spawn`] runs it on the runtime.
pub async fn serve(stream: Detached) -> End {
    let Detached { socket, request_id, mut subscription, heartbeat, ends_at, retry } = stream;
    if set_nonblocking(&socket).is_err() {
        return End::Failed;
    }
    // Watched for reading only (hang-ups). With write interest as well, every read by the web
    // server, which frees room in the socket, would wake this runtime for nothing; writability
    // is watched only while bytes wait ([`Backlog`]).
    // SAFETY: the registration owns the socket (an `OwnedFd` in `Socket`), so the descriptor
    // stays this open socket until the registration is dropped.
    let Ok(socket) = (unsafe { AsyncFd::register_with_interest(Socket(socket), Interest::READABLE) }) else { return End::Failed };
    let mut queue: Vec<u8> = Vec::new();
    let mut backlog: Option<Backlog> = None;
    let mut last_write = now();
    let mut last_progress = now();
    let mut counted = 0;
    let inbox = subscription.as_ref().map(Subscription::inbox);
    // Events wait in the inbox (or the log): delivered while the queue has room.
    let mut pending = subscription.is_some();
    let shutdown = SHUTDOWN.notified();
    tokio::pin!(shutdown);
    // One timer for the heartbeat, the maximum duration and the stall limit, only ever moved to
    // an earlier time: a write that postpones the heartbeat costs no timer work (the timer then
    // fires early once and is set again).
    let timer = tokio::time::sleep_until(never().into());
    tokio::pin!(timer);
    let end = loop {
        let now = now();
        let stall_at = (!queue.is_empty()).then(|| last_progress + STALL_TIMEOUT);
        if ends_at.is_some_and(|at| at <= now) {
            break End::MaxDuration;
        }
        if stall_at.is_some_and(|at| at <= now) {
            break End::SlowClient;
        }
        if pending && queue.len() < QUEUE_LIMIT {
            match deliver(&mut subscription, request_id, &mut queue).await {
                Ok(more) => pending = more,
                Err(end) => break end,
            }
        }
        // A heartbeat only for a quiet stream: bytes still waiting for a slow client say as
        // much, and the stall limit governs that client.
        if queue.is_empty() && heartbeat.is_some_and(|every| last_write + every <= now) {
            push_records(&mut queue, request_id, HEARTBEAT);
        }
        if !queue.is_empty() {
            match write_some(&socket, &mut queue) {
                Ok(0) => {}
                Ok(_) => {
                    last_write = self::now();
                    last_progress = last_write;
                }
                Err(()) => break End::Failed,
            }
            count_queued(&mut counted, queue.len());
            // More events wait, and the client has not taken the last megabyte: too slow.
            if pending && queue.len() > QUEUE_LIMIT {
                break End::SlowClient;
            }
        }
        if queue.is_empty() {
            backlog = None;
        } else if backlog.is_none() {
            // The client is slow: from now on, also wait for the socket to take more.
            match Backlog::watch(&socket) {
                Ok(watching) => backlog = Some(watching),
                Err(_) => break End::Failed,
            }
        }
        if pending && queue.is_empty() {
            // More events wait and the client took everything: deliver the next batch now.
            continue;
        }
        let next_heartbeat = heartbeat.filter(|_| queue.is_empty()).map(|every| last_write + every);
        let stall_at = (!queue.is_empty()).then(|| last_progress + STALL_TIMEOUT);
        if let Some(next) = [next_heartbeat, ends_at, stall_at].into_iter().flatten().min() {
            if next < timer.deadline().into_std() {
                timer.as_mut().reset(next.into());
            }
        }
        let events = async {
            match &inbox {
                Some(inbox) => inbox.notify.notified().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = events => pending = true,
            () = &mut timer => timer.as_mut().reset(never().into()),
            () = &mut shutdown => break End::Shutdown,
            closed = hung_up(&socket) => break if closed { End::HungUp } else { End::Failed },
            () = room(backlog.as_ref()) => {}
        }
    };
    drop(backlog);
    count_queued(&mut counted, 0);
    match end {
        End::HungUp => {
            STATS.hang_ups.fetch_add(1, Ordering::Relaxed);
            return end;
        }
        End::SlowClient | End::BrokerFailed => {
            STATS.slow_closes.fetch_add(1, Ordering::Relaxed);
        }
        End::Failed => return end,
        End::MaxDuration | End::Shutdown => {}
    }
    // A proper end: the browser reconnects after `retry` and resumes by Last-Event-ID. A slow
    // client gets it too, after what it has not taken yet, if the socket takes it now.
    if let Some(ms) = retry {
        push_records(&mut queue, request_id, &retry_frame(ms));
    }
    push_end(&mut queue, request_id);
    let _ = write_some(&socket, &mut queue);
    end
}

/// Keeps `STATS.bytes_queued` at the sum of all queues: this one was `counted`, is `now`.
fn count_queued(counted: &mut usize, now: usize) {
    if now > *counted {
        STATS.bytes_queued.fetch_add((now - *counted) as u64, Ordering::Relaxed);
    } else {
        STATS.bytes_queued.fetch_sub((*counted - now) as u64, Ordering::Relaxed);
    }
    *counted = now;
}

/// Events delivered per step.
const BATCH: usize = 256;

/// Moves the subscription's waiting events into the queue as FastCGI records, one batch;
/// whether more wait. A subscription that must read the log (its inbox overflowed, or it owes
/// an `sse-reset`) does so on the blocking pool: the runtime thread never waits for a broker.
async fn deliver(subscription: &mut Option<Subscription>, request_id: u16, queue: &mut Vec<u8>) -> Result<bool, End> {
    let Some(mut taken) = subscription.take() else { return Ok(false) };
    let (taken, frames, result) = if taken.needs_log() {
        let job = tokio::task::spawn_blocking(move || {
            let mut frames = Vec::new();
            let result = taken.take_frames(&mut frames, BATCH);
            (taken, frames, result)
        });
        job.await.map_err(|_| End::BrokerFailed)?
    } else {
        let mut frames = Vec::new();
        let result = taken.take_frames(&mut frames, BATCH);
        (taken, frames, result)
    };
    *subscription = Some(taken);
    // A broker that fails mid-stream ends it properly: the browser resumes where it stopped.
    let count = result.map_err(|_| End::BrokerFailed)?;
    if !frames.is_empty() {
        push_records(queue, request_id, &frames);
    }
    STATS.events.fetch_add(count as u64, Ordering::Relaxed);
    Ok(count >= BATCH)
}

/// Writes what the socket takes now; the number of bytes, or Err when the socket failed.
fn write_some(socket: &AsyncFd<Socket>, queue: &mut Vec<u8>) -> Result<usize, ()> {
    let mut written = 0;
    while written < queue.len() {
        match send(socket.as_raw_fd(), &queue[written..], libc::MSG_DONTWAIT) {
            Ok(n) => written += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
            Err(_) => return Err(()),
        }
    }
    queue.drain(..written);
    if queue.is_empty() && queue.capacity() > 4096 {
        // An idle stream keeps no large buffer.
        *queue = Vec::new();
    }
    Ok(written)
}

/// Resolves when the web server closes the connection (true) or the socket fails (false).
/// Anything it sends (it has nothing more to say for this request) is read and dropped.
async fn hung_up(socket: &AsyncFd<Socket>) -> bool {
    loop {
        let Ok(mut guard) = socket.readable().await else { return false };
        let mut buffer = [0u8; 512];
        // SAFETY: reads into a stack buffer from a socket this task owns.
        let n = unsafe { libc::recv(socket.as_raw_fd(), buffer.as_mut_ptr().cast(), buffer.len(), libc::MSG_DONTWAIT) };
        if n == 0 {
            return true;
        }
        if n < 0 {
            match std::io::Error::last_os_error().kind() {
                std::io::ErrorKind::WouldBlock => guard.clear_ready(),
                std::io::ErrorKind::Interrupted => {}
                std::io::ErrorKind::ConnectionReset => return true,
                _ => return false,
            }
        }
    }
}

/// A slow client's socket watched for room to write: a second descriptor of the same socket,
/// registered for writability only while bytes wait (see `serve`), dropped when they are gone.
struct Backlog(AsyncFd<OwnedFd>);

impl Backlog {
    fn watch(socket: &AsyncFd<Socket>) -> std::io::Result<Backlog> {
        let second = socket.get_ref().0.try_clone()?;
        // SAFETY: the registration owns this second descriptor (an `OwnedFd`), so it stays the
        // same open socket until the registration is dropped.
        let watched = unsafe { AsyncFd::register_with_interest(second, Interest::WRITABLE) };
        watched.map(Backlog).map_err(|e| e.into_parts().1)
    }
}

/// Resolves when the socket may take more bytes; never without a backlog.
async fn room(backlog: Option<&Backlog>) {
    let Some(Backlog(socket)) = backlog else { return std::future::pending().await };
    if let Ok(mut guard) = socket.writable().await {
        guard.clear_ready();
    }
}

/// The time on tokio's clock (the real time, but for tests that pause it): the serve loop's
/// deadlines and its timer then agree.
fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

/// A time no stream reaches: the timer's rest position.
fn never() -> Instant {
    now() + Duration::from_secs(365 * 24 * 3600)
}

fn set_nonblocking(socket: &OwnedFd) -> std::io::Result<()> {
    let fd = socket.as_raw_fd();
    // SAFETY: fcntl on a descriptor we own; only the O_NONBLOCK flag is added.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    // SAFETY: as above.
    if flags < 0 || unsafe { libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}
