//! `Sse\SseEmitter`: the event stream of the current request, a PHP surface over an
//! [`AttachedStream`] (see `attached.rs` for the stream's state and why no borrow is held
//! while PHP code runs, and `sse_server::stream` for its phases).

use crate::attached::{request_last_event_id, AttachedStream};
use crate::bindings::broker::{topics_of, Broker};
use crate::error::{finish, Error, Result};
use crate::event_fields;
use crate::ffi;
use crate::options::{self, Options};
use crate::output;
use ext_php_rs::binary_slice::BinarySlice;
use ext_php_rs::flags::ClassFlags;
use ext_php_rs::prelude::*;
use ext_php_rs::types::{ZendClassObject, ZendHashTable, Zval};
use sse_core::frame::comment_frame;
use sse_core::{Event, TimerId};
use sse_server::stream::{END_EVENT, END_ID};
use sse_server::subscription::Subscription;
use std::time::Duration;

/// Timer intervals below this are refused: nothing useful streams faster.
const MIN_INTERVAL: f64 = 0.001;

#[php_class]
#[php(name = "Sse\\SseEmitter")]
#[php(flags = ClassFlags::Final)]
pub struct SseEmitter {
    stream: AttachedStream,
}

#[php_impl]
impl SseEmitter {
    pub fn __construct(options: Option<&ZendHashTable>) -> Result<Self> {
        let options = match options {
            Some(array) => Options::from_array(array)?,
            None => Options::default(),
        };
        Ok(Self { stream: AttachedStream::new(options) })
    }

    /// Sends the headers and switches the request to streaming. Idempotent.
    pub fn start(self_: &mut ZendClassObject<SseEmitter>) -> Result<&mut ZendClassObject<SseEmitter>> {
        match self_.obj.as_ref() {
            Some(this) => finish(this.stream.ensure_started())?,
            None => return Err(not_constructed()),
        }
        Ok(self_)
    }

    /// Writes one event and flushes it; false once the client is gone.
    pub fn send(self_: &ZendClassObject<SseEmitter>, event: &Zval) -> Result<bool> {
        finish(with_this(self_, |stream, me| {
            stream.refuse_if_closed("send")?;
            let frame = frame_of(event)?;
            stream.ensure_started()?;
            stream.write_or_end(me, &frame)
        }))
    }

    /// Writes a comment frame; false once the client is gone.
    #[php(optional = text)]
    pub fn comment(self_: &ZendClassObject<SseEmitter>, text: Option<BinarySlice<u8>>) -> Result<bool> {
        finish(with_this(self_, |stream, me| {
            stream.refuse_if_closed("comment")?;
            let frame = comment_frame(text.as_deref().copied().unwrap_or_default())?;
            stream.ensure_started()?;
            stream.write_or_end(me, &frame)
        }))
    }

    pub fn is_connected(self_: &ZendClassObject<SseEmitter>) -> Result<bool> {
        finish(with_this(self_, |stream, me| stream.is_connected(me)))
    }

    pub fn is_started(&self) -> bool {
        self.stream.is_started()
    }

    pub fn is_closed(&self) -> bool {
        self.stream.is_closed()
    }

    /// Ends the stream and runs the onClose callbacks. Later sends throw.
    pub fn close(self_: &ZendClassObject<SseEmitter>) -> Result<()> {
        finish(with_this(self_, |stream, me| stream.end(me)))
    }

    /// A started stream that is dropped without close() (the script ends, or the last
    /// reference goes) still ends properly: its onClose callbacks run.
    pub fn __destruct(self_: &ZendClassObject<SseEmitter>) {
        let result = with_this(self_, |stream, me| stream.drop_stream(me));
        // PHP forbids a return type on destructors, so an error is thrown here rather than
        // returned (an exception from onClose is already on its way and stays as it is).
        if let Err(failure) = finish(result) {
            ext_php_rs::exception::PhpException::from(failure).throw();
        }
    }

    /// The Last-Event-ID header, else the lastEventId query parameter, when acceptable.
    pub fn last_event_id(&self) -> Option<String> {
        request_last_event_id()
    }

    /// Ends a stream that is complete (the last token, the job done): sends a final event of
    /// type `end` with id `sse-end` and `$data` (empty by default), then closes. The client
    /// closes its EventSource on `end`; one that reconnects anyway sends `Last-Event-ID:
    /// sse-end` and is answered 204 at start, which makes it stop. False when the client was
    /// already gone.
    #[php(optional = data)]
    pub fn finish(self_: &ZendClassObject<SseEmitter>, data: Option<&Zval>) -> Result<bool> {
        finish(with_this(self_, |stream, me| {
            stream.refuse_if_closed("finish")?;
            let frame = end_frame(data)?;
            stream.ensure_started()?;
            let sent = stream.write(&frame)?;
            stream.end(me)?;
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
        // The answer is complete: what the script echoes afterwards is dropped.
        crate::short_answer::send(u16::try_from(status).unwrap_or(500), &extra, None);
        Ok(())
    }

    /// The response headers of this stream.
    pub fn headers(&self) -> ext_php_rs::error::Result<ext_php_rs::boxed::ZBox<ZendHashTable>> {
        let mut array = ZendHashTable::new();
        for (name, value) in self.stream.headers() {
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

    pub fn cancel(&self, id: i64) -> Result<()> {
        match TimerId::try_from(id) {
            Ok(id) => self.stream.cancel_timer(id),
            Err(_) => Ok(()),
        }
    }

    pub fn on_close<'a>(self_: &'a mut ZendClassObject<SseEmitter>, callback: &Zval) -> Result<&'a mut ZendClassObject<SseEmitter>> {
        if !callback.is_callable() {
            return Err(Error::invalid_argument("callback", "must be callable").into());
        }
        if let Some(this) = self_.obj.as_ref() {
            this.stream.on_close(callback);
        }
        Ok(self_)
    }

    /// From now on, `run()` and `sleep()` write every event published to `$topics`, in
    /// publish order, each with its broker id. A client resuming with a Last-Event-ID from
    /// this broker first gets exactly the events it missed; one the broker cannot resume from
    /// gets an `sse-reset` event first.
    pub fn subscribe<'a>(self_: &'a mut ZendClassObject<SseEmitter>, topics: &Zval, broker: Option<&Broker>) -> Result<&'a mut ZendClassObject<SseEmitter>> {
        let Some(this) = self_.obj.as_ref() else { return Err(not_constructed()) };
        this.stream.refuse_if_closed("subscribe")?;
        if this.stream.is_subscribed() {
            return Err(Error::misuse("Cannot subscribe twice: pass every topic to one subscribe() call").into());
        }
        let topics = topics_of(topics)?;
        let (engine, settings) = Broker::given_or_ini(broker)?;
        let last_event_id = request_last_event_id();
        let subscription = Subscription::start(engine, topics, settings.history, last_event_id.as_deref())?;
        this.stream.subscribe(subscription)?;
        Ok(self_)
    }

    /// Whether subscribe() was called (and the stream is not detached).
    pub fn is_subscribed(&self) -> bool {
        self.stream.is_subscribed()
    }

    /// Hands the stream to the native runtime and frees the worker: under php-fpm the
    /// runtime serves it from now on (live events of its subscription, heartbeats,
    /// maxDuration, hang-ups) and this returns true; the script should end. Elsewhere (php -S,
    /// Apache mod_php, the CLI) the stream is served here as run() would, and this returns
    /// false when it has ended.
    pub fn detach(self_: &ZendClassObject<SseEmitter>) -> Result<bool> {
        finish(with_this(self_, |stream, me| stream.detach(me)))
    }

    /// This process's detached streams: how many are open, events written, bytes waiting for
    /// slow clients, streams closed because their client was too slow, and hang-ups.
    pub fn detached_stats() -> ext_php_rs::error::Result<ext_php_rs::boxed::ZBox<ZendHashTable>> {
        use std::sync::atomic::Ordering::Relaxed;
        let stats = &sse_server::stream::detached::STATS;
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
        finish(with_this(self_, |stream, me| {
            stream.ensure_started()?;
            stream.serve(me, None).map(|_| ())
        }))
    }

    /// Waits while serving timers and heartbeats; false as soon as the stream ended.
    pub fn sleep(self_: &ZendClassObject<SseEmitter>, seconds: f64) -> Result<bool> {
        finish(with_this(self_, |stream, me| {
            if !seconds.is_finite() || seconds < 0.0 {
                return Err(Error::invalid_argument("seconds", "must be a finite, non-negative number").into());
            }
            stream.sleep(me, Duration::from_secs_f64(seconds))
        }))
    }

    /// Seconds since the emitter was created, on its clock.
    pub fn elapsed(&self) -> Result<f64> {
        Ok(self.stream.elapsed()?.as_secs_f64())
    }
}

impl SseEmitter {
    fn add_timer(&self, seconds: f64, callback: &Zval, repeat: bool) -> Result<i64> {
        if !seconds.is_finite() || seconds < MIN_INTERVAL {
            return Err(Error::invalid_argument("seconds", "must be a finite number of at least 0.001 (1 ms)").into());
        }
        if !callback.is_callable() {
            return Err(Error::invalid_argument("callback", "must be callable").into());
        }
        let id = self.stream.add_timer(Duration::from_secs_f64(seconds), callback, repeat)?;
        Ok(i64::try_from(id).unwrap_or(i64::MAX))
    }
}

fn not_constructed() -> crate::error::Failure {
    Error::misuse("SseEmitter is not constructed").into()
}

/// Runs `body` with the emitter's stream and a zval of `$this` for callbacks.
fn with_this<T>(object: &ZendClassObject<SseEmitter>, body: impl FnOnce(&AttachedStream, &Zval) -> Result<T>) -> Result<T> {
    let Some(this) = object.obj.as_ref() else { return Err(not_constructed()) };
    let me = ffi::object_zval(&object.std);
    body(&this.stream, &me)
}

/// The frame of what `send()` was given: an event, its fields, or data only.
fn frame_of(value: &Zval) -> Result<Vec<u8>> {
    crate::bindings::server_sent_events::with_event(value, |event| event_fields::check_dispatchable(event).map(|()| event.encode()))?
}

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
