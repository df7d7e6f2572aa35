//! A stream attached to this PHP request: `sse_server::stream::Stream` over the request's
//! [`Response`], plus what only the PHP thread may hold, the PHP callbacks (timers, onClose).
//! `Sse\SseEmitter` is a PHP surface over one; the Mercure hub's subscriptions drive one with
//! no callbacks and no PHP object.
//!
//! Borrows, by construction: the stream lives in a `RefCell` that is borrowed only for what the
//! stream itself does, which never runs PHP code. Every step that can run PHP code (starting
//! or finishing the response, a timer or onClose callback, a signal handler, logging) runs with
//! no borrow held, so a callback that re-enters (a timer that sends) finds the stream free; one
//! that re-enters where it cannot (an output callback called during a write) gets an
//! `Sse\SseException` instead of a panic.

use crate::error::{Error, Result};
use crate::ffi;
use crate::options::Options;
use crate::output::{self, Response};
use ext_php_rs::types::Zval;
use ext_php_rs::zend::try_catch;
use sse_core::{last_event_id, TimerId};
use sse_server::stream::{Detach, Phase, Step, Stream, END_ID};
use sse_server::subscription::Subscription;
use std::cell::{Cell, RefCell, RefMut};
use std::collections::HashMap;
use std::time::Duration;

#[derive(Default)]
struct Callbacks {
    timers: HashMap<TimerId, Zval>,
    on_close: Vec<Zval>,
}

pub struct AttachedStream {
    stream: RefCell<Stream<Response>>,
    options: Options,
    headers: Vec<(String, String)>,
    callbacks: RefCell<Callbacks>,
    /// The request is the reconnect of a finished stream, answered 204: the script did nothing
    /// wrong, so its sends return false (as to a gone client) instead of throwing.
    answered_finished: Cell<bool>,
}

/// The Last-Event-ID header, else the lastEventId query parameter, when acceptable.
pub fn request_last_event_id() -> Option<String> {
    let raw = ffi::superglobal_string(c"_SERVER", c"HTTP_LAST_EVENT_ID").or_else(|| ffi::superglobal_string(c"_GET", c"lastEventId"))?;
    last_event_id::accept(&raw).map(str::to_owned)
}

impl AttachedStream {
    pub fn new(options: Options) -> AttachedStream {
        let headers = output::response_headers(&options);
        AttachedStream {
            stream: RefCell::new(Stream::new(options.stream_settings())),
            options,
            headers,
            callbacks: RefCell::default(),
            answered_finished: Cell::new(false),
        }
    }

    /// The stream, for one step that runs no PHP code.
    fn state(&self) -> Result<RefMut<'_, Stream<Response>>> {
        self.stream
            .try_borrow_mut()
            .map_err(|_| Error::misuse("Cannot use the event stream from inside its own write (an output buffer callback or error handler)").into())
    }

    pub fn headers(&self) -> &[(String, String)] {
        &self.headers
    }

    pub fn is_started(&self) -> bool {
        self.stream.try_borrow().map_or(true, |s| s.phase() != Phase::New)
    }

    pub fn is_closed(&self) -> bool {
        self.stream.try_borrow().is_ok_and(|s| s.phase() == Phase::Closed)
    }

    pub fn elapsed(&self) -> Result<Duration> {
        Ok(self.state()?.elapsed())
    }

    pub fn refuse_if_closed(&self, what: &str) -> Result<()> {
        if self.state()?.phase() == Phase::Closed && !self.answered_finished.get() {
            return Err(Error::misuse(format!("Cannot {what}: the stream is closed")).into());
        }
        Ok(())
    }

    /// Sends the headers and switches the request to streaming, once.
    pub fn ensure_started(&self) -> Result<()> {
        if self.answered_finished.get() || !self.state()?.begin_start()? {
            return Ok(());
        }
        if request_last_event_id().as_deref() == Some(END_ID) {
            // The reconnect of a client that got finish()'s last event: 204 makes an
            // EventSource stop for good. The stream ends before it starts (sends are false).
            self.state()?.close_unstarted();
            self.answered_finished.set(true);
            if !output::is_command_line() && ffi::headers_sent_at().is_none() {
                crate::short_answer::send(204, &[], None);
            }
            return Ok(());
        }
        // Starting the response may run PHP code (output callbacks, a notice's error handler).
        match Response::start(&self.options, &self.headers) {
            Ok(response) => self.state()?.opened(response),
            Err(failure) => {
                self.state()?.start_failed();
                return Err(failure);
            }
        }
        output::release_session();
        Ok(())
    }

    /// Writes a frame; false (and nothing written) once the client is gone.
    pub fn write(&self, frame: &[u8]) -> Result<bool> {
        Ok(self.state()?.write(frame))
    }

    /// Writes a frame, or ends the stream (onClose runs) when the client is gone.
    pub fn write_or_end(&self, me: &Zval, frame: &[u8]) -> Result<bool> {
        if self.write(frame)? {
            return Ok(true);
        }
        self.end(me)?;
        Ok(false)
    }

    pub fn is_connected(&self, me: &Zval) -> Result<bool> {
        let connected = {
            let mut stream = self.state()?;
            match stream.phase() {
                Phase::Closed => return Ok(false),
                Phase::New | Phase::Starting => return Ok(crate::client_socket::sapi_socket().is_none_or(|fd| !output::socket_hung_up(fd))),
                Phase::Open => stream.is_connected(),
            }
        };
        if !connected {
            self.end(me)?;
        }
        Ok(connected)
    }

    pub fn subscribe(&self, subscription: Subscription) -> Result<()> {
        self.refuse_if_closed("subscribe")?;
        Ok(self.state()?.subscribe(subscription)?)
    }

    pub fn is_subscribed(&self) -> bool {
        self.stream.try_borrow().is_ok_and(|s| s.is_subscribed())
    }

    pub fn add_timer(&self, every: Duration, callback: &Zval, repeat: bool) -> Result<TimerId> {
        let id = self.state()?.add_timer(every, repeat);
        self.callbacks.borrow_mut().timers.insert(id, callback.shallow_clone());
        Ok(id)
    }

    pub fn cancel_timer(&self, id: TimerId) -> Result<()> {
        self.state()?.cancel_timer(id);
        // Dropped outside the borrow: releasing a closure may run PHP destructors.
        let callback = self.callbacks.borrow_mut().timers.remove(&id);
        drop(callback);
        Ok(())
    }

    pub fn on_close(&self, callback: &Zval) {
        self.callbacks.borrow_mut().on_close.push(callback.shallow_clone());
    }

    /// Serves timers, heartbeats, subscribed events and the maximum duration until the stream
    /// ends (false) or `until` (on the stream's clock) passes (true).
    pub fn serve(&self, me: &Zval, until: Option<Duration>) -> Result<bool> {
        loop {
            let step = self.state()?.next(until);
            ffi::log_pending_warnings();
            match step? {
                Step::Timer(id) => self.run_timer(me, id)?,
                Step::Ended => {
                    self.end(me)?;
                    return Ok(false);
                }
                Step::Reached => return Ok(true),
                Step::Wait => {
                    if !self.state()?.wait(until) {
                        // Nothing will ever happen on a virtual clock: the stream is over.
                        self.end(me)?;
                        return Ok(false);
                    }
                    self.handle_interrupts(me)?;
                }
            }
        }
    }

    /// Serves until `seconds` from now; false as soon as the stream ended.
    pub fn sleep(&self, me: &Zval, seconds: Duration) -> Result<bool> {
        if self.state()?.phase() == Phase::Closed {
            return Ok(false);
        }
        self.ensure_started()?;
        let until = self.state()?.elapsed() + seconds;
        self.serve(me, Some(until))
    }

    /// Hands the stream to the runtime (true), or serves it here until it ends (false).
    pub fn detach(&self, me: &Zval) -> Result<bool> {
        self.refuse_if_closed("detach")?;
        self.refuse_php_callbacks()?;
        self.ensure_started()?;
        // What the stream owes first (a catch-up after Last-Event-ID), as run() would.
        let delivered = self.state()?.deliver();
        ffi::log_pending_warnings();
        if !delivered? {
            self.end(me)?;
            return Ok(false);
        }
        let detached = self.state()?.detach()?;
        match detached {
            Detach::Handed => {
                // Nothing the script writes from here on may reach the web server.
                ffi::disable_output();
                Ok(true)
            }
            Detach::Stays => self.serve(me, None).map(|_| false),
        }
    }

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

    fn run_timer(&self, me: &Zval, id: TimerId) -> Result<()> {
        let callback = self.callbacks.borrow().timers.get(&id).map(Zval::shallow_clone);
        let Some(callback) = callback else { return Ok(()) };
        self.call(me, &callback)?;
        // A one-shot timer is gone from the schedule; release its callback.
        if !self.state()?.has_timer(id) {
            let released = self.callbacks.borrow_mut().timers.remove(&id);
            drop(released);
        }
        Ok(())
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

    /// Calls a user callback with `me`. An exception ends the stream (onClose runs) and is
    /// passed on; a fatal error drops the stream's state and is passed on.
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

    /// Ends the stream once: closes it, finishes the response, stops its timers and runs the
    /// onClose callbacks (with any exception on its way moved aside while they run).
    pub fn end(&self, me: &Zval) -> Result<()> {
        let closing = self.state()?.close();
        let Some(response) = closing else { return Ok(()) };
        if let Some(mut response) = response {
            response.finish();
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

    /// Ends a started stream that was dropped without close(), and lets go of the callbacks,
    /// which often capture the emitter itself: PHP's cycle collector cannot see them inside a
    /// native object, so the cycle is broken here.
    pub fn drop_stream(&self, me: &Zval) -> Result<()> {
        let open = self.stream.try_borrow().is_ok_and(|s| s.phase() == Phase::Open);
        if open {
            self.end(me)?;
        }
        if let Ok(mut callbacks) = self.callbacks.try_borrow_mut() {
            let released = std::mem::take(&mut *callbacks);
            drop(callbacks);
            drop(released);
        }
        Ok(())
    }

    /// A fatal error is on its way: forget timers and callbacks without running PHP code.
    fn abandon(&self) {
        if let Ok(mut stream) = self.stream.try_borrow_mut() {
            stream.abandon();
        }
        if let Ok(mut callbacks) = self.callbacks.try_borrow_mut() {
            *callbacks = Callbacks::default();
        }
    }
}
