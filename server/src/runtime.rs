//! The background runtime: tells a waiting stream when its client hangs up, finishes the writes
//! a stream left for later ([`Deferred`]), and runs the broker readers and detached streams.
//!
//! Threading model. Each PHP process has at most one runtime: a tokio `current_thread` runtime
//! on one dedicated thread named `sse-runtime`, started on first use (never at module startup,
//! because php-fpm forks its workers after that and threads do not survive a fork). The runtime
//! never touches PHP: it owns no zval and calls no Zend function. For every waiting stream it
//! runs one small task that watches the client's socket; a hang-up becomes a plain message on a
//! crossbeam channel, and the stream's [`Doorbell`] rings. The PHP thread sleeps on that
//! doorbell (which the broker's hub rings too when the stream subscribed) with a timeout at the
//! stream's next deadline, so its timers cost the runtime nothing; then it runs every callback
//! itself. What the runtime does on its own: a
//! [`Deferred`] job, writing bytes a stream queued on its socket (see `fastcgi.rs`) under a lock
//! the PHP thread takes for its own writes; a broker's reader (`broker/`); and the detached
//! streams (`stream/detached.rs`), which no PHP thread waits for any more.
//!
//! Why this shape: one thread and one current-thread scheduler cost about 300 KB and nothing
//! while idle; a multi-thread pool would buy nothing for a handful of sockets.
//! A process that forked (its pid changed) builds its own runtime; the parent's is forgotten in
//! the child, where its thread does not exist. Module shutdown stops and joins the thread.

use crate::doorbell::Doorbell;
use crossbeam_channel::{Receiver, Sender};
use parking_lot::Mutex;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;
use tokio::sync::oneshot;
use tokio::sync::Notify;

struct Runtime {
    pid: u32,
    handle: tokio::runtime::Handle,
    stop: oneshot::Sender<()>,
    thread: std::thread::JoinHandle<()>,
}

static RUNTIME: Mutex<Option<Runtime>> = Mutex::new(None);

fn handle() -> std::io::Result<tokio::runtime::Handle> {
    let mut slot = RUNTIME.lock();
    let pid = std::process::id();
    if let Some(runtime) = slot.as_ref() {
        if runtime.pid == pid {
            return Ok(runtime.handle.clone());
        }
    }
    if let Some(inherited) = slot.take() {
        // Forked: that thread lives only in the parent. Joining or dropping the runtime here
        // would wait for it forever, so the child lets it go.
        std::mem::forget(inherited);
    }
    let runtime = tokio::runtime::Builder::new_current_thread().enable_time().enable_io().build()?;
    let handle = runtime.handle().clone();
    let (stop, stopped) = oneshot::channel::<()>();
    // The thread is born with every signal blocked (a new thread inherits the mask of its
    // creator), so that signals sent to the process (SIGTERM, SIGALRM, SIGPROF for the time
    // limit, pcntl handlers) are always delivered to the PHP thread, which handles them.
    let previous = block_all_signals();
    let spawned = std::thread::Builder::new().name("sse-runtime".into()).spawn(move || {
        runtime.block_on(async {
            let _ = stopped.await;
        });
    });
    restore_signals(&previous);
    let thread = spawned?;
    *slot = Some(Runtime { pid, handle: handle.clone(), stop, thread });
    Ok(handle)
}

fn block_all_signals() -> libc::sigset_t {
    // SAFETY: sigset_t is plain data; sigfillset initialises it and pthread_sigmask only
    // changes the calling thread's mask, returning the previous one into `previous`.
    unsafe {
        let mut all: libc::sigset_t = std::mem::zeroed();
        let mut previous: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut all);
        libc::pthread_sigmask(libc::SIG_BLOCK, &all, &mut previous);
        previous
    }
}

fn restore_signals(previous: &libc::sigset_t) {
    // SAFETY: restores the mask returned by `block_all_signals` on the same thread.
    unsafe {
        libc::pthread_sigmask(libc::SIG_SETMASK, previous, std::ptr::null_mut());
    }
}

/// Runs a task on this process's runtime until the process ends (a broker's reader).
pub fn spawn(task: impl std::future::Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
    handle()?.spawn(task);
    Ok(())
}

/// Stops the runtime of this process, if it started one. Module shutdown.
pub fn shutdown() {
    let Some(runtime) = RUNTIME.lock().take() else { return };
    if runtime.pid != std::process::id() {
        std::mem::forget(runtime);
        return;
    }
    let _ = runtime.stop.send(());
    let _ = runtime.thread.join();
}

/// One stream's line to the runtime: it watches the client's socket and says when the client
/// hung up. Dropping it stops the stream's task.
pub struct Watch {
    pid: u32,
    hung_up: Receiver<()>,
    bell: Arc<Doorbell>,
    task: tokio::task::AbortHandle,
}

impl Watch {
    /// Starts watching `socket` (none: nothing to watch, the stream waits on its timeout only);
    /// a hang-up rings `bell`, which the stream's inbox rings too when it subscribed.
    pub fn start(socket: Option<RawFd>, bell: Arc<Doorbell>) -> std::io::Result<Watch> {
        let handle = handle()?;
        let (sender, hung_up) = crossbeam_channel::bounded(1);
        let task = handle.spawn(watch_stream(socket, sender, Arc::clone(&bell))).abort_handle();
        Ok(Watch { pid: std::process::id(), hung_up, bell, task })
    }

    /// False in a child process that inherited this watch through fork.
    pub fn belongs_to_this_process(&self) -> bool {
        self.pid == std::process::id()
    }

    /// Whether a hang-up rings `bell`.
    pub fn rings(&self, bell: &Arc<Doorbell>) -> bool {
        Arc::ptr_eq(&self.bell, bell)
    }

    /// Blocks until the client hangs up (true), the bell rings for another reason (an event),
    /// or `timeout` passes. The stream's deadlines are this timeout: the PHP thread wakes
    /// itself, to the microsecond, with no message from the runtime (whose timers tick in
    /// whole milliseconds).
    pub fn wait(&self, timeout: Duration) -> bool {
        self.bell.wait(timeout);
        self.hung_up.try_recv().is_ok()
    }
}

impl Drop for Watch {
    /// Stops the task and waits until it is gone: it must stop watching the socket before the
    /// SAPI closes it (the next request may get the same descriptor number).
    fn drop(&mut self) {
        if !self.belongs_to_this_process() {
            return;
        }
        self.task.abort();
        let give_up = Instant::now() + Duration::from_secs(1);
        // The task owns the only sender: the channel disconnects when it has been dropped.
        while Instant::now() < give_up {
            match self.hung_up.recv_deadline(give_up) {
                Ok(()) => continue,
                Err(_) => break,
            }
        }
    }
}

/// A socket the runtime watches but does not own (PHP's SAPI closes it).
struct Socket(RawFd);

impl AsRawFd for Socket {
    fn as_raw_fd(&self) -> RawFd {
        self.0
    }
}

async fn watch_stream(socket: Option<RawFd>, hung_up: Sender<()>, bell: Arc<Doorbell>) {
    // SAFETY: the SAPI keeps the socket open for the whole request, and the `Watch` that owns
    // this task waits for the task to end (dropping this registration) before the request can
    // end, so the descriptor stays the same open socket for the registration's lifetime.
    let socket = socket.and_then(|fd| unsafe { AsyncFd::register_with_interest(Socket(fd), Interest::READABLE) }.ok());
    hang_up(socket.as_ref()).await;
    let _ = hung_up.send(());
    bell.ring();
    // Kept until the `Watch` is dropped (its drop waits for the channel to disconnect).
    std::future::pending::<()>().await;
}

/// Resolves when the peer closes the socket. Data arriving (a pipelined request, FastCGI
/// records) only makes it readable, which is not a hang-up.
async fn hang_up(socket: Option<&AsyncFd<Socket>>) {
    let Some(socket) = socket else { return std::future::pending().await };
    loop {
        let Ok(mut guard) = socket.readable().await else { return std::future::pending().await };
        if guard.ready().is_read_closed() {
            return;
        }
        guard.clear_ready();
    }
}

/// A job the runtime runs shortly after each poke: `job` returns true when it is done, false
/// to be run again after the same delay. Dropping the handle stops the job and waits until it
/// has stopped, so the job never runs after its owner is gone.
pub struct Deferred {
    pid: u32,
    poke: Arc<Notify>,
    task: tokio::task::AbortHandle,
    stopped: Receiver<()>,
}

impl Deferred {
    pub fn start(delay: Duration, job: impl Fn() -> bool + Send + 'static) -> std::io::Result<Deferred> {
        let handle = handle()?;
        let poke = Arc::new(Notify::new());
        let (alive, stopped) = crossbeam_channel::bounded::<()>(0);
        let poked = Arc::clone(&poke);
        let task = handle
            .spawn(async move {
                let _alive = alive;
                loop {
                    poked.notified().await;
                    loop {
                        tokio::time::sleep(delay).await;
                        if job() {
                            break;
                        }
                    }
                }
            })
            .abort_handle();
        Ok(Deferred { pid: std::process::id(), poke, task, stopped })
    }

    /// Asks for the job to run after the delay (once, however often it is poked meanwhile).
    pub fn poke(&self) {
        self.poke.notify_one();
    }
}

impl Drop for Deferred {
    fn drop(&mut self) {
        if self.pid != std::process::id() {
            return;
        }
        self.task.abort();
        // The task owns the only sender: the channel disconnects once it has been dropped.
        let _ = self.stopped.recv_timeout(Duration::from_secs(1));
    }
}
