//! `Sse\SseEmitter`: the event stream of the current request.
//!
//! State lives in `RefCell`s and every method takes `&self`: callbacks run PHP code that may
//! call back into the same emitter (a timer that sends), so no borrow is ever held while PHP
//! code runs. Waiting happens on the background runtime's channel (see `runtime.rs`); the PHP
//! thread runs the callbacks and does every write.

use crate::bindings::broker::{topics_of, Broker};
use crate::detach::{self, Detached};
use crate::error::{finish, Error, Result};
use crate::event_fields;
use crate::ffi;
use crate::options::{self, ClockKind, Options};
use crate::output::{self, Output};
use crate::runtime::Watch;
use crate::subscription::Subscription;
use ext_php_rs::binary_slice::BinarySlice;
use ext_php_rs::flags::ClassFlags;
use ext_php_rs::prelude::*;
use ext_php_rs::types::{ZendClassObject, ZendHashTable, Zval};
use ext_php_rs::zend::try_catch;
use sse_core::frame::comment_frame;
use sse_core::{last_event_id, Clock, Due, Event, StreamSchedule, TimerId};
use std::cell::RefCell;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// The longest the PHP thread blocks at once: after each slice it lets pending
/// `pcntl_async_signals` handlers and the execution time limit run, as the VM would.
const WAIT_SLICE: Duration = Duration::from_millis(100);

/// Timer intervals below this are refused: nothing useful streams faster.
const MIN_INTERVAL: f64 = 0.001;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    New,
    Open,
    Closed,
}

struct Stream {
    options: Options,
    headers: Vec<(String, String)>,
    phase: Phase,
    output: Option<Output>,
    clock: Clock,
    schedule: StreamSchedule,
    watch: Option<Watch>,
    /// The internal timer of the write that follows a heartbeat (see [`PROBE_DELAY`]).
    probe: Option<TimerId>,
    /// The request is the reconnect of a finished stream, answered 204: the script did nothing
    /// wrong, so its sends return false (as to a gone client) instead of throwing.
    answered_finished: bool,
    /// The broker's events this stream writes (see `subscribe()`).
    subscription: Option<Subscription>,
}

#[derive(Default)]
struct Callbacks {
    timers: HashMap<TimerId, Zval>,
    on_close: Vec<Zval>,
}

#[php_class]
#[php(name = "Sse\\SseEmitter")]
#[php(flags = ClassFlags::Final)]
pub struct SseEmitter {
    stream: RefCell<Stream>,
    callbacks: RefCell<Callbacks>,
}

#[php_impl]
impl SseEmitter {
    pub fn __construct(options: Option<&ZendHashTable>) -> Result<Self> {
        let options = match options {
            Some(array) => Options::from_array(array)?,
            None => Options::default(),
        };
        Ok(Self::with_options(options))
    }

    /// Sends the headers and switches the request to streaming. Idempotent.
    pub fn start(self_: &mut ZendClassObject<SseEmitter>) -> Result<&mut ZendClassObject<SseEmitter>> {
        match self_.obj.as_ref() {
            Some(this) => finish(this.ensure_started())?,
            None => return Err(Error::misuse("SseEmitter is not constructed").into()),
        }
        Ok(self_)
    }

    /// Writes one event and flushes it; false once the client is gone.
    pub fn send(self_: &ZendClassObject<SseEmitter>, event: &Zval) -> Result<bool> {
        finish(with_this(self_, |this, me| {
            this.refuse_if_closed("send")?;
            let frame = frame_of(event)?;
            this.ensure_started()?;
            this.write_or_end(me, &frame)
        }))
    }

    /// Writes a comment frame; false once the client is gone.
    #[php(optional = text)]
    pub fn comment(self_: &ZendClassObject<SseEmitter>, text: Option<BinarySlice<u8>>) -> Result<bool> {
        finish(with_this(self_, |this, me| {
            this.refuse_if_closed("comment")?;
            let frame = comment_frame(text.as_deref().copied().unwrap_or_default())?;
            this.ensure_started()?;
            this.write_or_end(me, &frame)
        }))
    }

    pub fn is_connected(self_: &ZendClassObject<SseEmitter>) -> Result<bool> {
        finish(with_this(self_, |this, me| {
            let connected = {
                let mut stream = this.stream.borrow_mut();
                match stream.phase {
                    Phase::Closed => return Ok(false),
                    Phase::New => return Ok(crate::client_socket::sapi_socket().is_none_or(|fd| !output::socket_hung_up(fd))),
                    Phase::Open => stream.output.as_mut().is_some_and(Output::is_connected),
                }
            };
            if !connected {
                this.end(me)?;
            }
            Ok(connected)
        }))
    }

    pub fn is_started(&self) -> bool {
        self.stream.borrow().phase != Phase::New
    }

    pub fn is_closed(&self) -> bool {
        self.stream.borrow().phase == Phase::Closed
    }

    /// Ends the stream and runs the onClose callbacks. Later sends throw.
    pub fn close(self_: &ZendClassObject<SseEmitter>) -> Result<()> {
        finish(with_this(self_, |this, me| this.end(me)))
    }

    /// A started stream that is dropped without close() (the script ends, or the last
    /// reference goes) still ends properly: its onClose callbacks run.
    pub fn __destruct(self_: &ZendClassObject<SseEmitter>) {
        let result = with_this(self_, |this, me| {
            let open = this.stream.try_borrow().is_ok_and(|s| s.phase == Phase::Open);
            if open {
                this.end(me)?;
            }
            // Callbacks often capture the emitter itself; PHP's cycle collector cannot see
            // them inside a native object, so the cycle is broken here.
            if let Ok(mut callbacks) = this.callbacks.try_borrow_mut() {
                let released = std::mem::take(&mut *callbacks);
                drop(callbacks);
                drop(released);
            }
            Ok(())
        });
        // PHP forbids a return type on destructors, so an error is thrown here rather than
        // returned (an exception from onClose is already on its way and stays as it is).
        if let Err(failure) = finish(result) {
            ext_php_rs::exception::PhpException::from(failure).throw();
        }
    }

    /// The Last-Event-ID header, else the lastEventId query parameter, when acceptable.
    pub fn last_event_id(&self) -> Option<String> {
        let raw = ffi::superglobal_string(c"_SERVER", c"HTTP_LAST_EVENT_ID").or_else(|| ffi::superglobal_string(c"_GET", c"lastEventId"))?;
        last_event_id::accept(&raw).map(str::to_owned)
    }

    /// Ends a stream that is complete (the last token, the job done): sends a final event of
    /// type `end` with id `sse-end` and `$data` (empty by default), then closes. The client
    /// closes its EventSource on `end`; one that reconnects anyway sends `Last-Event-ID:
    /// sse-end` and is answered 204 at start (see `ensure_started`), which makes it stop.
    /// False when the client was already gone.
    #[php(optional = data)]
    pub fn finish(self_: &ZendClassObject<SseEmitter>, data: Option<&Zval>) -> Result<bool> {
        finish(with_this(self_, |this, me| {
            this.refuse_if_closed("finish")?;
            let frame = end_frame(data)?;
            this.ensure_started()?;
            let sent = this.write(&frame);
            this.end(me)?;
            Ok(sent)
        }))
    }

    /// Answers an EventSource so that it stops reconnecting: 204 (or another status) and no body.
    #[php(defaults(status = 204))]
    pub fn reject(status: i64, headers: Option<&Zval>) -> Result<()> {
        if !(100..=599).contains(&status) || status == 200 {
            return Err(Error::invalid_argument("status", "must be an HTTP status other than 200 (EventSource reconnects after a 200)").into());
        }
        let extra = match headers {
            Some(value) if !value.is_null() => options::headers(value)?,
            _ => Vec::new(),
        };
        if output::is_command_line() {
            return Ok(());
        }
        if let Some((file, line)) = ffi::headers_sent_at() {
            return Err(Error::misuse(too_late_to_reject(&file, line)).into());
        }
        answer_without_body(status as i32, &extra);
        Ok(())
    }

    /// The response headers of this stream.
    pub fn headers(&self) -> ext_php_rs::error::Result<ext_php_rs::boxed::ZBox<ZendHashTable>> {
        let mut array = ZendHashTable::new();
        for (name, value) in &self.stream.borrow().headers {
            array.insert(name.as_str(), value.as_str())?;
        }
        Ok(array)
    }

    pub fn every(&self, seconds: f64, callback: &Zval) -> Result<i64> {
        self.add_timer(seconds, callback, true)
    }

    pub fn after(&self, seconds: f64, callback: &Zval) -> Result<i64> {
        self.add_timer(seconds, callback, false)
    }

    pub fn cancel(&self, id: i64) {
        let Ok(id) = TimerId::try_from(id) else { return };
        self.stream.borrow_mut().schedule.cancel(id);
        // Dropped outside the borrow: releasing a closure may run PHP destructors.
        let callback = self.callbacks.borrow_mut().timers.remove(&id);
        drop(callback);
    }

    pub fn on_close<'a>(self_: &'a mut ZendClassObject<SseEmitter>, callback: &Zval) -> Result<&'a mut ZendClassObject<SseEmitter>> {
        if !callback.is_callable() {
            return Err(Error::invalid_argument("callback", "must be callable").into());
        }
        if let Some(this) = self_.obj.as_ref() {
            this.callbacks.borrow_mut().on_close.push(callback.shallow_clone());
        }
        Ok(self_)
    }

    /// From now on, `run()` and `sleep()` write every event published to `$topics`, in
    /// publish order, each with its broker id. A client resuming with a Last-Event-ID from
    /// this broker first gets exactly the events it missed; one the broker cannot resume from
    /// gets an `sse-reset` event first.
    pub fn subscribe<'a>(self_: &'a mut ZendClassObject<SseEmitter>, topics: &Zval, broker: Option<&Broker>) -> Result<&'a mut ZendClassObject<SseEmitter>> {
        let Some(this) = self_.obj.as_ref() else {
            return Err(Error::misuse("SseEmitter is not constructed").into());
        };
        this.refuse_if_closed("subscribe")?;
        if this.stream.borrow().subscription.is_some() {
            return Err(Error::misuse("Cannot subscribe twice: pass every topic to one subscribe() call").into());
        }
        let topics = topics_of(topics)?;
        let default;
        let broker = match broker {
            Some(broker) => broker,
            None => {
                default = Broker::from_ini()?;
                &default
            }
        };
        let last_event_id = this.last_event_id();
        let subscription = Subscription::start(broker.engine.clone(), topics, broker.settings.history, last_event_id.as_deref())?;
        this.stream.borrow_mut().subscription = Some(subscription);
        Ok(self_)
    }

    /// Whether subscribe() was called (and the stream is not detached).
    pub fn is_subscribed(&self) -> bool {
        self.stream.borrow().subscription.is_some()
    }

    /// Hands the stream to the native runtime and frees the worker: under php-fpm the
    /// runtime serves it from now on (live events of its subscription, heartbeats,
    /// maxDuration, hang-ups) and this returns true; the script should end. Elsewhere (php -S,
    /// Apache mod_php, the CLI) the stream is served here as run() would, and this returns
    /// false when it has ended.
    pub fn detach(self_: &ZendClassObject<SseEmitter>) -> Result<bool> {
        finish(with_this(self_, |this, me| {
            this.refuse_if_closed("detach")?;
            this.refuse_php_callbacks()?;
            this.ensure_started()?;
            // What the stream owes first (a catch-up after Last-Event-ID), as run() would.
            if !this.deliver_published()? {
                this.end(me)?;
                return Ok(false);
            }
            let handed = {
                let mut stream = this.stream.borrow_mut();
                if stream.clock.is_virtual() {
                    None
                } else {
                    // The hang-up watch lets go of the socket before it changes hands.
                    stream.watch = None;
                    stream.output.as_mut().and_then(Output::detach)
                }
            };
            let Some((socket, request_id)) = handed else {
                // Not php-fpm, or a kept-alive FastCGI connection: serve it here.
                this.serve(me, None)?;
                return Ok(false);
            };
            let detached = {
                let mut stream = this.stream.borrow_mut();
                stream.phase = Phase::Closed;
                let options = &stream.options;
                let heartbeat = (!options.heartbeat.is_zero()).then_some(options.heartbeat);
                let left = options.max_duration.checked_sub(stream.clock.now());
                let ends_at = match (options.max_duration.is_zero(), left) {
                    (true, _) => None,
                    (false, Some(left)) => Some(Instant::now() + left),
                    (false, None) => Some(Instant::now()),
                };
                let retry = options.retry;
                let live = stream.subscription.take().map(Subscription::into_live);
                Detached { socket, request_id, live, heartbeat, ends_at, retry }
            };
            // Nothing the script writes from here on may reach the web server.
            ffi::disable_output();
            detach::spawn(detached).map_err(|e| Error::misuse(format!("Cannot detach: the runtime could not take the stream ({e})")))?;
            Ok(true)
        }))
    }

    /// This process's detached streams: how many are open, events written, bytes waiting for
    /// slow clients, streams closed because their client was too slow, and hang-ups.
    pub fn detached_stats() -> ext_php_rs::error::Result<ext_php_rs::boxed::ZBox<ZendHashTable>> {
        use std::sync::atomic::Ordering::Relaxed;
        let stats = &detach::STATS;
        let mut array = ZendHashTable::new();
        for (key, value) in [
            ("streams", &stats.open),
            ("events", &stats.events),
            ("bytesQueued", &stats.bytes_queued),
            ("slowClientCloses", &stats.slow_closes),
            ("hangUps", &stats.hang_ups),
        ] {
            array.insert(key, i64::try_from(value.load(Relaxed)).unwrap_or(i64::MAX))?;
        }
        Ok(array)
    }

    /// Serves the stream until it ends.
    pub fn run(self_: &ZendClassObject<SseEmitter>) -> Result<()> {
        finish(with_this(self_, |this, me| {
            this.ensure_started()?;
            this.serve(me, None).map(|_| ())
        }))
    }

    /// Waits while serving timers and heartbeats; false as soon as the stream ended.
    pub fn sleep(self_: &ZendClassObject<SseEmitter>, seconds: f64) -> Result<bool> {
        finish(with_this(self_, |this, me| {
            if !seconds.is_finite() || seconds < 0.0 {
                return Err(Error::invalid_argument("seconds", "must be a finite, non-negative number").into());
            }
            if this.stream.borrow().phase == Phase::Closed {
                return Ok(false);
            }
            this.ensure_started()?;
            let until = this.stream.borrow().clock.now() + Duration::from_secs_f64(seconds);
            this.serve(me, Some(until))
        }))
    }

    /// Seconds since the emitter was created, on its clock.
    pub fn elapsed(&self) -> f64 {
        self.stream.borrow().clock.now().as_secs_f64()
    }
}

impl SseEmitter {
    /// An emitter with these options: the constructor's, for streams the extension itself
    /// opens (the Mercure hub's).
    pub(crate) fn with_options(options: Options) -> SseEmitter {
        let clock = match options.clock {
            ClockKind::Real => Clock::real(),
            ClockKind::Virtual => Clock::virtual_time(),
        };
        let schedule = StreamSchedule::new(options.heartbeat, options.max_duration);
        let headers = output::response_headers(&options);
        Self {
            stream: RefCell::new(Stream {
                options,
                headers,
                phase: Phase::New,
                output: None,
                clock,
                schedule,
                watch: None,
                probe: None,
                answered_finished: false,
                subscription: None,
            }),
            callbacks: RefCell::new(Callbacks::default()),
        }
    }

    /// Writes the events of a subscription made elsewhere (the Mercure hub's, with its own
    /// resume and filter), as `subscribe()` would.
    pub(crate) fn adopt_subscription(&self, subscription: Subscription) -> Result<()> {
        self.refuse_if_closed("subscribe")?;
        self.stream.borrow_mut().subscription = Some(subscription);
        Ok(())
    }
}

/// Runs `body` with the emitter and a zval of `$this` for callbacks.
fn with_this<T>(object: &ZendClassObject<SseEmitter>, body: impl FnOnce(&SseEmitter, &Zval) -> Result<T>) -> Result<T> {
    let Some(this) = object.obj.as_ref() else {
        return Err(Error::misuse("SseEmitter is not constructed").into());
    };
    let me = ffi::object_zval(&object.std);
    body(this, &me)
}

/// The event type and id of the last event of a finished stream (`finish()`).
const END_EVENT: &str = "end";
const END_ID: &str = "sse-end";

fn end_frame(data: Option<&Zval>) -> Result<Vec<u8>> {
    let mut event = Event::new();
    event.set_event(END_EVENT.as_bytes())?;
    event.set_id(END_ID.as_bytes())?;
    match data {
        Some(value) if !value.is_null() => event_fields::set_data(&mut event, value)?,
        _ => event.set_data(b"")?,
    }
    Ok(event.encode())
}

/// Sends the response head now, with this status and no body. The answer is complete: what
/// the script echoes afterwards (an error page, a framework's own response) is dropped, so it
/// cannot turn into a body. Headers must not have been sent yet.
fn answer_without_body(status: i32, headers: &[(String, String)]) {
    crate::short_answer::send(u16::try_from(status).unwrap_or(500), headers, None);
}

/// Why reject() comes too late, in words that point at the cause.
fn too_late_to_reject(file: &str, line: i32) -> String {
    if ffi::content_type().to_ascii_lowercase().starts_with("text/event-stream") {
        return "Cannot reject the request: the event stream has already started (its headers are sent); call reject() before the first send(), start() or run()".to_owned();
    }
    if line == 0 {
        return "Cannot reject the request: headers were already sent".to_owned();
    }
    format!("Cannot reject the request: headers were already sent (output started at {file}:{line})")
}

/// The frame of what `send()` was given: an event, its fields, or data only.
fn frame_of(value: &Zval) -> Result<Vec<u8>> {
    event_fields::with_event(value, |event| event_fields::check_dispatchable(event).map(|()| event.encode()))?
}

impl SseEmitter {
    /// A detached stream runs no PHP code: PHP timers and onClose callbacks cannot come along.
    fn refuse_php_callbacks(&self) -> Result<()> {
        let callbacks = self.callbacks.borrow();
        let what = if !callbacks.timers.is_empty() {
            "PHP timers (every(), after())"
        } else if !callbacks.on_close.is_empty() {
            "onClose callbacks"
        } else {
            return Ok(());
        };
        Err(Error::misuse(format!(
            "Cannot detach: the stream has {what}, and a detached stream runs no PHP code; use run() for it, or publish from elsewhere to a topic it subscribes to"
        ))
        .into())
    }

    fn refuse_if_closed(&self, what: &str) -> Result<()> {
        let stream = self.stream.borrow();
        if stream.phase == Phase::Closed && !stream.answered_finished {
            return Err(Error::misuse(format!("Cannot {what}: the stream is closed")).into());
        }
        Ok(())
    }

    fn ensure_started(&self) -> Result<()> {
        let retry = {
            let mut stream = self.stream.borrow_mut();
            match stream.phase {
                Phase::Open => return Ok(()),
                Phase::Closed if stream.answered_finished => return Ok(()),
                Phase::Closed => return Err(Error::misuse("Cannot start: the stream is closed").into()),
                Phase::New => {}
            }
            if self.last_event_id().as_deref() == Some(END_ID) {
                // The reconnect of a client that got finish()'s last event: 204 makes an
                // EventSource stop for good. The stream ends before it starts (sends are false).
                stream.phase = Phase::Closed;
                stream.answered_finished = true;
                if !output::is_command_line() && ffi::headers_sent_at().is_none() {
                    answer_without_body(204, &[]);
                }
                return Ok(());
            }
            let output = Output::start(&stream.options, &stream.headers)?;
            stream.output = Some(output);
            stream.phase = Phase::Open;
            let now = stream.clock.now();
            stream.schedule.wrote(now);
            stream.options.retry
        };
        output::release_session();
        if let Some(ms) = retry {
            self.write(&retry_frame(ms));
        }
        Ok(())
    }

    /// Writes a frame; false (and nothing written) once the client is gone.
    fn write(&self, frame: &[u8]) -> bool {
        let mut stream = self.stream.borrow_mut();
        let now = stream.clock.now();
        let Some(output) = stream.output.as_mut() else { return false };
        let written = output.write(frame);
        if written {
            stream.schedule.wrote(now);
            // Any write after a heartbeat does the probe's work.
            if let Some(probe) = stream.probe.take() {
                stream.schedule.cancel(probe);
            }
        }
        written
    }

    fn write_or_end(&self, me: &Zval, frame: &[u8]) -> Result<bool> {
        if self.write(frame) {
            return Ok(true);
        }
        self.end(me)?;
        Ok(false)
    }

    fn add_timer(&self, seconds: f64, callback: &Zval, repeat: bool) -> Result<i64> {
        if !seconds.is_finite() || seconds < MIN_INTERVAL {
            return Err(Error::invalid_argument("seconds", "must be a finite number of at least 0.001 (1 ms)").into());
        }
        if !callback.is_callable() {
            return Err(Error::invalid_argument("callback", "must be callable").into());
        }
        let id = {
            let mut stream = self.stream.borrow_mut();
            let now = stream.clock.now();
            stream.schedule.add(now, Duration::from_secs_f64(seconds), repeat)
        };
        self.callbacks.borrow_mut().timers.insert(id, callback.shallow_clone());
        Ok(i64::try_from(id).unwrap_or(i64::MAX))
    }

    /// After a heartbeat to a client that may have left, a second small write: the first write
    /// to a closed connection is accepted (the peer answers it with a reset), only the next one
    /// fails. Where the client's socket is not visible (a proxy in front of php-fpm that keeps
    /// its connection open, Apache), this makes a hang-up show within one heartbeat instead of
    /// two. Not under the CLI, where nothing is sent to a client.
    fn arm_probe(&self) {
        let mut stream = self.stream.borrow_mut();
        let http = stream.output.as_ref().is_some_and(Output::is_http);
        if http && stream.probe.is_none() {
            let now = stream.clock.now();
            stream.probe = Some(stream.schedule.add(now, PROBE_DELAY, false));
        }
    }

    /// Whether a due timer is the probe (then it is disarmed).
    fn take_probe(&self, id: TimerId) -> bool {
        let mut stream = self.stream.borrow_mut();
        if stream.probe == Some(id) {
            stream.probe = None;
            return true;
        }
        false
    }

    /// Serves due timers, heartbeats and the maximum duration until the stream ends (false)
    /// or `until` passes (true).
    fn serve(&self, me: &Zval, until: Option<Duration>) -> Result<bool> {
        loop {
            let (now, due, connected) = {
                let mut stream = self.stream.borrow_mut();
                if stream.phase != Phase::Open {
                    return Ok(false);
                }
                let connected = stream.output.as_mut().is_some_and(Output::is_connected);
                let now = stream.clock.now();
                let due = if connected { stream.schedule.pop_due(now) } else { None };
                (now, due, connected)
            };
            if !connected {
                self.end(me)?;
                return Ok(false);
            }
            if !self.deliver_published()? {
                self.end(me)?;
                return Ok(false);
            }
            match due {
                Some(Due::Timer(id)) if self.take_probe(id) => {
                    // Nothing else was written since the heartbeat (any write disarms it). Not a
                    // write that resets the heartbeat: the next one stays on time.
                    if let Some(output) = self.stream.borrow_mut().output.as_mut() {
                        output.write(PROBE);
                    }
                    continue;
                }
                Some(Due::Timer(id)) => {
                    let callback = self.callbacks.borrow().timers.get(&id).map(Zval::shallow_clone);
                    if let Some(callback) = callback {
                        self.call(me, &callback)?;
                        // A one-shot timer is gone from the schedule; release its callback.
                        if !self.stream.borrow().schedule.has(id) {
                            let released = self.callbacks.borrow_mut().timers.remove(&id);
                            drop(released);
                        }
                    }
                    continue;
                }
                Some(Due::Heartbeat) => {
                    // A failed write is noticed at the top of the loop.
                    if self.write(HEARTBEAT) {
                        self.arm_probe();
                    }
                    continue;
                }
                Some(Due::MaxDuration) => {
                    let retry = self.stream.borrow().options.retry;
                    if let Some(ms) = retry {
                        self.write(&retry_frame(ms));
                    }
                    self.end(me)?;
                    return Ok(false);
                }
                None => {}
            }
            if until.is_some_and(|until| now >= until) {
                return Ok(true);
            }
            self.wait(me, until)?;
        }
    }

    /// Writes the subscribed events that are waiting, in batches; false if the client is gone.
    fn deliver_published(&self) -> Result<bool> {
        const BATCH: usize = 256;
        loop {
            let mut frames = Vec::new();
            let count = match self.stream.borrow_mut().subscription.as_mut() {
                Some(subscription) => subscription.take_frames(&mut frames, BATCH)?,
                None => return Ok(true),
            };
            if !frames.is_empty() && !self.write(&frames) {
                return Ok(false);
            }
            if count < BATCH {
                return Ok(true);
            }
        }
    }

    /// Waits until the next deadline (or `until`), a hang-up, or one slice, whichever is first.
    fn wait(&self, me: &Zval, until: Option<Duration>) -> Result<()> {
        let (target, is_virtual) = {
            let mut stream = self.stream.borrow_mut();
            let target = match (stream.schedule.next_wakeup(), until) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            (target, stream.clock.is_virtual())
        };
        if is_virtual {
            match target {
                Some(at) => self.stream.borrow_mut().clock.advance_to(at),
                // Nothing will ever happen on a virtual clock: the stream is over.
                None => self.end(me)?,
            }
            return Ok(());
        }
        let hung_up = {
            let mut stream = self.stream.borrow_mut();
            let deadline = target.and_then(|at| stream.clock.instant_at(at));
            // A subscribed stream sleeps on its inbox's bell, which the hang-up rings too.
            let bell = stream.subscription.as_ref().map(Subscription::doorbell).cloned();
            let current = stream.watch.as_ref().is_some_and(|w| w.belongs_to_this_process() && bell.as_ref().is_none_or(|bell| w.rings(bell)));
            if !current {
                let socket = stream.output.as_ref().and_then(Output::socket);
                if let Some(old) = stream.watch.take() {
                    if !old.belongs_to_this_process() {
                        // From the parent, through fork: its task lives in the parent's runtime.
                        std::mem::forget(old);
                    }
                }
                stream.watch = Watch::start(socket, bell.unwrap_or_default()).ok();
            }
            // The wait ends at the deadline by itself (the runtime only reports hang-ups); the
            // slice caps it so that signals and the time limit are handled meanwhile.
            let timeout = deadline.map_or(WAIT_SLICE, |d| d.saturating_duration_since(Instant::now()).min(WAIT_SLICE));
            match stream.watch.as_ref() {
                Some(watch) => watch.wait(timeout),
                None => {
                    // No runtime thread could be started: wait here, the socket is still
                    // checked at the top of the loop.
                    std::thread::sleep(timeout);
                    false
                }
            }
        };
        if hung_up {
            if let Some(output) = self.stream.borrow_mut().output.as_mut() {
                output.mark_disconnected();
            }
        }
        self.handle_interrupts(me)
    }

    /// Lets signal handlers and the time limit run, as the VM would between opcodes.
    fn handle_interrupts(&self, me: &Zval) -> Result<()> {
        if !ffi::interrupt_pending() {
            return Ok(());
        }
        if ffi::handle_interrupt() {
            self.abandon();
            return Err(Error::Fatal.into());
        }
        if ffi::exception_pending() {
            self.end(me)?;
            return Err(Error::Thrown.into());
        }
        Ok(())
    }

    /// Calls a user callback with the emitter. An exception ends the stream (onClose runs)
    /// and is passed on; a fatal error drops the stream's state and is passed on.
    fn call(&self, me: &Zval, callback: &Zval) -> Result<()> {
        match try_catch(|| callback.try_call(vec![me])) {
            Ok(Ok(_)) if !ffi::exception_pending() => Ok(()),
            // exit(): PHP unwinds to the end of the script and then calls destructors, which
            // end the stream and run onClose (they cannot run while the exit is unwinding).
            Ok(_) if ffi::exit_pending() => Err(Error::Thrown.into()),
            Ok(_) => {
                self.end(me)?;
                Err(Error::Thrown.into())
            }
            Err(_) => {
                self.abandon();
                Err(Error::Fatal.into())
            }
        }
    }

    /// Ends the stream once: closes it, stops its timers and runs the onClose callbacks (with
    /// any exception on its way moved aside while they run).
    fn end(&self, me: &Zval) -> Result<()> {
        {
            let mut stream = self.stream.borrow_mut();
            if stream.phase == Phase::Closed {
                return Ok(());
            }
            stream.phase = Phase::Closed;
            stream.watch = None;
            if let Some(output) = stream.output.as_mut() {
                output.finish();
            }
        }
        let callbacks = std::mem::take(&mut *self.callbacks.borrow_mut());
        drop(callbacks.timers);
        ffi::with_exception_aside(|| {
            for callback in &callbacks.on_close {
                match try_catch(|| callback.try_call(vec![me])) {
                    Ok(_) if !ffi::exception_pending() => {}
                    Ok(_) => return Err(Error::Thrown.into()),
                    Err(_) => return Err(Error::Fatal.into()),
                }
            }
            Ok(())
        })
    }

    /// A fatal error is on its way: forget timers and callbacks without running PHP code.
    fn abandon(&self) {
        if let Ok(mut stream) = self.stream.try_borrow_mut() {
            stream.phase = Phase::Closed;
            stream.watch = None;
        }
        if let Ok(mut callbacks) = self.callbacks.try_borrow_mut() {
            *callbacks = Callbacks::default();
        }
    }
}

/// What is written when nothing was written for `heartbeat` seconds: a comment, ignored by
/// clients, that keeps proxies from timing out and shows whether the client is still there.
const HEARTBEAT: &[u8] = b": \n\n";

/// The write that follows a heartbeat ([`SseEmitter::arm_probe`]): an empty line, which a
/// client reads as the end of an event with no data, i.e. nothing.
const PROBE: &[u8] = b"\n";
const PROBE_DELAY: Duration = Duration::from_millis(250);

fn retry_frame(ms: u64) -> Vec<u8> {
    let mut event = Event::new();
    event.set_retry(ms);
    event.encode()
}
