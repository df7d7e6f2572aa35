//! One event stream, from its first byte to its end: the phases every stream goes through,
//! whoever drives it.
//!
//! ```text
//!   New ──start──▶ Starting ──opened──▶ Open ──close / hang-up / maxDuration──▶ Closed
//!                                        │
//!                                        └──detach──▶ Closed here, served by the runtime
//!                                                     (`detached`) until it ends
//! ```
//!
//! Three drivers use it: `Sse\SseEmitter` (a PHP script's stream, with PHP timers and onClose
//! callbacks), the Mercure hub's subscriptions, and, once a stream is detached, the runtime's
//! serve loop ([`detached`]). What they share is here and only here: the heartbeat policy (a
//! comment after `heartbeat` quiet seconds, then a probe, see [`PROBE_DELAY`]), the `retry`
//! field (after the opening, and before the end at `maxDuration`), how a subscription's
//! events are delivered, and the one overflow policy: a stream whose inbox overflowed catches
//! up from the broker's log while the log still has the events, else it gets `sse-reset`
//! (`history-lost`) and goes on live (see `Subscription::take_frames`).
//!
//! The stream never runs PHP code. Steps that may (starting the response runs output
//! callbacks and session handlers; a timer is a PHP callback) are the driver's: [`Stream::next`]
//! returns what is due and the driver acts on it with no borrow of the stream held, and
//! [`Stream::begin_start`] / [`Stream::opened`] bracket the start so that a driver can start its
//! output between them. The response itself is an [`Output`]: PHP's, or a test's.

pub mod detached;
mod frames;

pub use frames::{retry_frame, END_EVENT, END_ID, HEARTBEAT, PROBE};

use crate::error::{Error, Result};
use crate::runtime::Watch;
use crate::subscription::Subscription;
use detached::Detached;
use sse_core::{Clock, Due, StreamSchedule, TimerId};
use std::os::fd::{OwnedFd, RawFd};
use std::time::{Duration, Instant};

/// The longest the PHP thread blocks at once: after each slice the driver lets pending
/// signal handlers and the execution time limit run, as the VM would.
pub const WAIT_SLICE: Duration = Duration::from_millis(100);

/// The delay of the write that follows a heartbeat (see [`Stream::next`]).
pub const PROBE_DELAY: Duration = Duration::from_millis(250);

/// Subscribed events written per batch while delivering.
const DELIVERY_BATCH: usize = 256;

/// The response a stream writes to.
pub trait Output {
    /// Writes and flushes `bytes`; false (and nothing more written, ever) once the client is gone.
    fn write(&mut self, bytes: &[u8]) -> bool;
    /// Whether the client is still there, as far as can be told without writing.
    fn is_connected(&mut self) -> bool;
    /// The runtime saw the client hang up.
    fn mark_disconnected(&mut self);
    /// The client's socket, when it is visible (hang-ups are watched on it).
    fn socket(&self) -> Option<RawFd>;
    /// Whether the bytes go to an HTTP client (not the command line's standard output).
    fn is_http(&self) -> bool;
    /// Takes the connection away from the web server's request, to be served by the runtime:
    /// the socket and its FastCGI request id, or None where that cannot be done.
    fn detach(&mut self) -> Option<(OwnedFd, u16)>;
    /// Ends the response.
    fn finish(&mut self);
}

/// How a stream behaves: the emitter's options, or the hub's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// The `retry` field (ms) written after the opening and before the end at `max_duration`.
    pub retry: Option<u64>,
    /// Quiet time after which a heartbeat comment is written; zero: never.
    pub heartbeat: Duration,
    /// The stream ends after this long; zero: never.
    pub max_duration: Duration,
    /// Time passes only when the stream waits (tests of PHP code that streams).
    pub virtual_clock: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings { retry: None, heartbeat: DEFAULT_HEARTBEAT, max_duration: Duration::ZERO, virtual_clock: false }
    }
}

/// The heartbeat of a stream whose options name none.
pub const DEFAULT_HEARTBEAT: Duration = Duration::from_secs(15);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    New,
    /// Its driver is starting the response (which may run PHP code).
    Starting,
    Open,
    Closed,
}

/// What the driver does next (see [`Stream::next`]).
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    /// This timer of the driver's is due: run its callback.
    Timer(TimerId),
    /// The stream ended (client gone, maximum duration, broker failure written as the end):
    /// call [`Stream::close`].
    Ended,
    /// The time the driver asked to serve until has come; the stream goes on.
    Reached,
    /// Nothing is due: call [`Stream::wait`].
    Wait,
}

/// What became of [`Stream::detach`].
pub enum Detach {
    /// The runtime serves the stream now; the driver's request must write nothing more.
    Handed,
    /// The stream cannot leave this request (not php-fpm, a kept-alive FastCGI connection, a
    /// virtual clock): the driver serves it here.
    Stays,
}

pub struct Stream<O: Output> {
    settings: Settings,
    phase: Phase,
    output: Option<O>,
    clock: Clock,
    schedule: StreamSchedule,
    watch: Option<Watch>,
    /// The internal timer of the write that follows a heartbeat.
    probe: Option<TimerId>,
    subscription: Option<Subscription>,
}

impl<O: Output> Stream<O> {
    pub fn new(settings: Settings) -> Stream<O> {
        let clock = if settings.virtual_clock { Clock::virtual_time() } else { Clock::real() };
        let schedule = StreamSchedule::new(settings.heartbeat, settings.max_duration);
        Stream { settings, phase: Phase::New, output: None, clock, schedule, watch: None, probe: None, subscription: None }
    }

    pub fn phase(&self) -> Phase {
        self.phase
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Time since the stream was made, on its clock.
    pub fn elapsed(&self) -> Duration {
        self.clock.now()
    }

    /// True when the driver must start the response now (the stream is `Starting` until
    /// [`Stream::opened`]); false when it is open already.
    pub fn begin_start(&mut self) -> Result<bool> {
        match self.phase {
            Phase::New => {
                self.phase = Phase::Starting;
                Ok(true)
            }
            Phase::Open => Ok(false),
            Phase::Starting => {
                Err(Error::misuse("Cannot write to the stream while it is starting (from an output callback, error handler or session handler)"))
            }
            Phase::Closed => Err(Error::misuse("Cannot start: the stream is closed")),
        }
    }

    /// The response started: the stream is open, and its `retry` field goes first.
    pub fn opened(&mut self, output: O) {
        self.output = Some(output);
        self.phase = Phase::Open;
        let now = self.clock.now();
        self.schedule.wrote(now);
        if let Some(ms) = self.settings.retry {
            self.write(&retry_frame(ms));
        }
    }

    /// The response could not start (headers already sent): the stream is new again.
    pub fn start_failed(&mut self) {
        if self.phase == Phase::Starting {
            self.phase = Phase::New;
        }
    }

    /// The request was answered otherwise (a 204): the stream ends unstarted.
    pub fn close_unstarted(&mut self) {
        self.phase = Phase::Closed;
    }

    /// From now on the stream writes `subscription`'s events.
    pub fn subscribe(&mut self, subscription: Subscription) -> Result<()> {
        if self.subscription.is_some() {
            return Err(Error::misuse("Cannot subscribe twice: pass every topic to one subscribe() call"));
        }
        self.subscription = Some(subscription);
        Ok(())
    }

    pub fn is_subscribed(&self) -> bool {
        self.subscription.is_some()
    }

    /// Writes a frame; false (and nothing written) once the client is gone.
    pub fn write(&mut self, frame: &[u8]) -> bool {
        let now = self.clock.now();
        let Some(output) = self.output.as_mut() else { return false };
        let written = output.write(frame);
        if written {
            self.schedule.wrote(now);
            // Any write after a heartbeat does the probe's work.
            if let Some(probe) = self.probe.take() {
                self.schedule.cancel(probe);
            }
        }
        written
    }

    /// Whether the client is there; an open stream whose client left must then be closed.
    pub fn is_connected(&mut self) -> bool {
        self.phase == Phase::Open && self.output.as_mut().is_some_and(O::is_connected)
    }

    /// A timer of the driver's, `every` from now, once or repeating.
    pub fn add_timer(&mut self, every: Duration, repeat: bool) -> TimerId {
        let now = self.clock.now();
        self.schedule.add(now, every, repeat)
    }

    pub fn cancel_timer(&mut self, id: TimerId) {
        self.schedule.cancel(id);
    }

    /// False once a one-shot timer has fired or a timer was cancelled.
    pub fn has_timer(&self, id: TimerId) -> bool {
        self.schedule.has(id)
    }

    /// Serves everything due now but the driver's timers, and says what the driver does next.
    /// `until`: the time on the stream's clock the driver serves until, if any.
    pub fn next(&mut self, until: Option<Duration>) -> Result<Step> {
        loop {
            if self.phase != Phase::Open {
                return Ok(Step::Ended);
            }
            if !self.is_connected() || !self.deliver()? {
                return Ok(Step::Ended);
            }
            let now = self.clock.now();
            match self.schedule.pop_due(now) {
                Some(Due::Timer(id)) if self.probe == Some(id) => {
                    // Nothing was written since the heartbeat (any write disarms the probe).
                    // The first write to a closed connection is accepted, only the next fails:
                    // this one shows a gone client within a heartbeat, not two. Not a write
                    // that postpones the next heartbeat.
                    self.probe = None;
                    if let Some(output) = self.output.as_mut() {
                        output.write(PROBE);
                    }
                }
                Some(Due::Timer(id)) => return Ok(Step::Timer(id)),
                Some(Due::Heartbeat) => {
                    // A failed write is noticed at the top of the loop.
                    let http = self.output.as_ref().is_some_and(O::is_http);
                    if self.write(HEARTBEAT) && http && self.probe.is_none() {
                        self.probe = Some(self.schedule.add(now, PROBE_DELAY, false));
                    }
                }
                Some(Due::MaxDuration) => {
                    if let Some(ms) = self.settings.retry {
                        self.write(&retry_frame(ms));
                    }
                    return Ok(Step::Ended);
                }
                None if until.is_some_and(|until| now >= until) => return Ok(Step::Reached),
                None => return Ok(Step::Wait),
            }
        }
    }

    /// Writes the subscribed events that are waiting, in batches; false if the client is gone.
    pub fn deliver(&mut self) -> Result<bool> {
        let mut frames = Vec::new();
        loop {
            frames.clear();
            let count = match self.subscription.as_mut() {
                Some(subscription) => subscription.take_frames(&mut frames, DELIVERY_BATCH)?,
                None => return Ok(true),
            };
            if !frames.is_empty() && !self.write(&frames) {
                return Ok(false);
            }
            if count < DELIVERY_BATCH {
                return Ok(true);
            }
        }
    }

    /// Waits until the next deadline (or `until`), a hang-up, a subscribed event, or one
    /// [`WAIT_SLICE`], whichever comes first. False when nothing can ever happen again (a
    /// virtual clock with nothing scheduled): the stream is over.
    pub fn wait(&mut self, until: Option<Duration>) -> bool {
        let target = match (self.schedule.next_wakeup(), until) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        if self.clock.is_virtual() {
            return match target {
                Some(at) => {
                    self.clock.advance_to(at);
                    true
                }
                None => false,
            };
        }
        let deadline = target.and_then(|at| self.clock.instant_at(at));
        // A subscribed stream sleeps on its inbox's bell, which the hang-up rings too.
        let bell = self.subscription.as_ref().map(Subscription::doorbell).cloned();
        let current = self.watch.as_ref().is_some_and(|w| w.belongs_to_this_process() && bell.as_ref().is_none_or(|bell| w.rings(bell)));
        if !current {
            let socket = self.output.as_ref().and_then(O::socket);
            if let Some(old) = self.watch.take() {
                if !old.belongs_to_this_process() {
                    // From the parent, through fork: its task lives in the parent's runtime.
                    std::mem::forget(old);
                }
            }
            self.watch = Watch::start(socket, bell.unwrap_or_default()).ok();
        }
        // The wait ends at the deadline by itself (the runtime only reports hang-ups); the
        // slice caps it so that signals and the time limit are handled meanwhile.
        let timeout = deadline.map_or(WAIT_SLICE, |d| d.saturating_duration_since(Instant::now()).min(WAIT_SLICE));
        let hung_up = match self.watch.as_ref() {
            Some(watch) => watch.wait(timeout),
            None => {
                // No runtime thread could be started: wait here; the socket is still checked
                // by the next step.
                std::thread::sleep(timeout);
                false
            }
        };
        if hung_up {
            if let Some(output) = self.output.as_mut() {
                output.mark_disconnected();
            }
        }
        true
    }

    /// Ends the stream: None when it had ended already; else its output, for the driver to
    /// finish (which may run PHP code) and then run its end-of-stream callbacks.
    pub fn close(&mut self) -> Option<Option<O>> {
        if self.phase == Phase::Closed {
            return None;
        }
        self.phase = Phase::Closed;
        self.watch = None;
        self.subscription = None;
        Some(self.output.take())
    }

    /// A fatal error is on its way: the stream is forgotten, nothing more is written.
    pub fn abandon(&mut self) {
        self.phase = Phase::Closed;
        self.watch = None;
    }

    /// Hands an open stream to the runtime, which serves it alone from now on: its live
    /// events, heartbeats, maximum duration and hang-up. Call it once what the stream owed was
    /// delivered ([`Stream::deliver`]); it has no timers of the driver's.
    pub fn detach(&mut self) -> Result<Detach> {
        if self.phase != Phase::Open || self.clock.is_virtual() {
            return Ok(Detach::Stays);
        }
        // The hang-up watch lets go of the socket before it changes hands.
        self.watch = None;
        let Some((socket, request_id)) = self.output.as_mut().and_then(O::detach) else { return Ok(Detach::Stays) };
        self.phase = Phase::Closed;
        let heartbeat = (!self.settings.heartbeat.is_zero()).then_some(self.settings.heartbeat);
        let ends_at = match (self.settings.max_duration.is_zero(), self.settings.max_duration.checked_sub(self.clock.now())) {
            (true, _) => None,
            (false, Some(left)) => Some(Instant::now() + left),
            (false, None) => Some(Instant::now()),
        };
        let stream = Detached { socket, request_id, subscription: self.subscription.take(), heartbeat, ends_at, retry: self.settings.retry };
        detached::spawn(stream).map_err(|e| Error::misuse(format!("Cannot detach: the runtime could not take the stream ({e})")))?;
        Ok(Detach::Handed)
    }
}
