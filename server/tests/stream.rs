//! `Stream`: its phases, heartbeat, probe, maximum duration and timers, on a virtual clock,
//! writing to a recording `Output`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{data_of, publish};
use sse_core::broker::History;
use sse_server::broker::memory::MemoryEngine;
use sse_server::broker::Engine;
use sse_server::stream::{retry_frame, Detach, Output, Phase, Settings, Step, Stream, HEARTBEAT, PROBE, PROBE_DELAY};
use sse_server::subscription::Subscription;
use std::cell::RefCell;
use std::os::fd::{OwnedFd, RawFd};
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

#[derive(Default)]
struct Recorded {
    writes: Vec<Vec<u8>>,
    gone: bool,
    http: bool,
    finished: bool,
}

/// An output that records what is written; a test keeps a clone to look at it and to make
/// the client leave.
#[derive(Clone, Default)]
struct Recorder(Rc<RefCell<Recorded>>);

impl Recorder {
    fn http() -> Recorder {
        let recorder = Recorder::default();
        recorder.0.borrow_mut().http = true;
        recorder
    }

    fn writes(&self) -> Vec<Vec<u8>> {
        self.0.borrow().writes.clone()
    }

    fn bytes(&self) -> Vec<u8> {
        self.0.borrow().writes.concat()
    }

    fn leave(&self) {
        self.0.borrow_mut().gone = true;
    }
}

impl Output for Recorder {
    fn write(&mut self, bytes: &[u8]) -> bool {
        let mut recorded = self.0.borrow_mut();
        if recorded.gone {
            return false;
        }
        recorded.writes.push(bytes.to_vec());
        true
    }

    fn is_connected(&mut self) -> bool {
        !self.0.borrow().gone
    }

    fn mark_disconnected(&mut self) {
        self.0.borrow_mut().gone = true;
    }

    fn socket(&self) -> Option<RawFd> {
        None
    }

    fn is_http(&self) -> bool {
        self.0.borrow().http
    }

    fn detach(&mut self) -> Option<(OwnedFd, u16)> {
        None
    }

    fn finish(&mut self) {
        self.0.borrow_mut().finished = true;
    }
}

fn settings(retry: Option<u64>, heartbeat: u64, max_duration: u64) -> Settings {
    Settings { retry, heartbeat: Duration::from_secs(heartbeat), max_duration: Duration::from_secs(max_duration), virtual_clock: true }
}

fn open(settings: Settings, output: &Recorder) -> Stream<Recorder> {
    let mut stream = Stream::new(settings);
    assert!(stream.begin_start().unwrap());
    stream.opened(output.clone());
    stream
}

/// Runs the stream (no timers of its own) until it ends or `limit` of stream time has
/// passed; returns the stream time each write count changed at.
fn run(stream: &mut Stream<Recorder>, output: &Recorder, limit: Duration) -> (Step, Vec<(Duration, Vec<u8>)>) {
    let mut seen = output.writes().len();
    let mut log = Vec::new();
    loop {
        let step = stream.next(Some(limit)).unwrap();
        let writes = output.writes();
        for write in &writes[seen..] {
            log.push((stream.elapsed(), write.clone()));
        }
        seen = writes.len();
        match step {
            Step::Wait => assert!(stream.wait(Some(limit)), "the stream has nothing left to wait for"),
            Step::Timer(id) => panic!("no timer was added, yet timer {id} fired"),
            end => return (end, log),
        }
    }
}

const fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

const fn millis(ms: u64) -> Duration {
    Duration::from_millis(ms)
}

#[test]
fn opening_writes_the_retry_field_first() {
    let output = Recorder::default();
    let mut stream = open(settings(Some(2500), 15, 0), &output);
    assert_eq!(stream.phase(), Phase::Open);
    assert!(stream.write(b"data: one\n\n"));
    assert_eq!(output.writes(), vec![b"retry: 2500\n\n".to_vec(), b"data: one\n\n".to_vec()]);
    assert_eq!(retry_frame(2500), b"retry: 2500\n\n");
}

#[test]
fn opening_without_retry_writes_nothing() {
    let output = Recorder::default();
    let mut stream = open(settings(None, 15, 0), &output);
    assert!(output.writes().is_empty());
    assert_eq!(stream.next(None).unwrap(), Step::Wait);
    assert!(output.writes().is_empty(), "nothing is due at once");
}

#[test]
fn heartbeat_after_the_quiet_time_and_again_after_it() {
    let output = Recorder::default();
    let mut stream = open(settings(None, 15, 0), &output);
    let (step, log) = run(&mut stream, &output, secs(50));
    assert_eq!(step, Step::Reached);
    assert_eq!(log, vec![(secs(15), HEARTBEAT.to_vec()), (secs(30), HEARTBEAT.to_vec()), (secs(45), HEARTBEAT.to_vec())]);
    assert_eq!(stream.elapsed(), secs(50));
}

#[test]
fn a_write_postpones_the_heartbeat() {
    let output = Recorder::default();
    let mut stream = open(settings(None, 15, 0), &output);
    let timer = stream.add_timer(secs(10), false);
    assert_eq!(stream.next(None).unwrap(), Step::Wait);
    assert!(stream.wait(None));
    assert_eq!(stream.next(None).unwrap(), Step::Timer(timer));
    assert_eq!(stream.elapsed(), secs(10));
    assert!(stream.write(b"data: tick\n\n"));
    let (_, log) = run(&mut stream, &output, secs(30));
    assert_eq!(log, vec![(secs(25), HEARTBEAT.to_vec())], "the heartbeat counts from the last write (10 s), not from the start");
}

#[test]
fn an_http_stream_probes_after_its_heartbeat() {
    let output = Recorder::http();
    let mut stream = open(settings(None, 15, 0), &output);
    let (_, log) = run(&mut stream, &output, secs(31));
    assert_eq!(
        log,
        vec![
            (secs(15), HEARTBEAT.to_vec()),
            (secs(15) + PROBE_DELAY, PROBE.to_vec()),
            (secs(30), HEARTBEAT.to_vec()),
            (secs(30) + PROBE_DELAY, PROBE.to_vec())
        ],
        "the probe does not postpone the next heartbeat"
    );
}

#[test]
fn a_write_after_the_heartbeat_does_the_probes_work() {
    let output = Recorder::http();
    let mut stream = open(settings(None, 15, 0), &output);
    let (_, log) = run(&mut stream, &output, secs(15));
    assert_eq!(log, vec![(secs(15), HEARTBEAT.to_vec())]);
    assert!(stream.write(b"data: news\n\n"));
    let (_, log) = run(&mut stream, &output, secs(29));
    assert!(log.is_empty(), "no probe after a write: {log:?}");
    assert_eq!(output.writes().iter().filter(|w| w.as_slice() == PROBE).count(), 0);
}

#[test]
fn the_command_line_gets_no_probe() {
    let output = Recorder::default();
    let mut stream = open(settings(None, 15, 0), &output);
    let (_, log) = run(&mut stream, &output, secs(20));
    assert_eq!(log, vec![(secs(15), HEARTBEAT.to_vec())]);
}

#[test]
fn a_client_that_left_is_found_by_the_probe() {
    let output = Recorder::http();
    let mut stream = open(settings(None, 15, 0), &output);
    let (_, log) = run(&mut stream, &output, secs(15));
    assert_eq!(log.len(), 1);
    output.leave();
    assert_eq!(stream.next(None).unwrap(), Step::Ended);
}

#[test]
fn maximum_duration_writes_retry_and_ends() {
    let output = Recorder::default();
    let mut stream = open(settings(Some(1000), 4, 10), &output);
    let (step, log) = run(&mut stream, &output, secs(3600));
    assert_eq!(step, Step::Ended);
    assert_eq!(log, vec![(secs(4), HEARTBEAT.to_vec()), (secs(8), HEARTBEAT.to_vec()), (secs(10), b"retry: 1000\n\n".to_vec())]);
    assert_eq!(stream.elapsed(), secs(10));
    assert_eq!(output.writes()[0], b"retry: 1000\n\n", "the opening retry came first");
    // Ended: the driver closes it and gets its output back to finish.
    let mut closed = stream.close().expect("first close").expect("an output");
    closed.finish();
    assert!(output.0.borrow().finished);
    assert_eq!(stream.phase(), Phase::Closed);
    assert_eq!(stream.next(None).unwrap(), Step::Ended);
}

#[test]
fn maximum_duration_without_retry_writes_nothing_more() {
    let output = Recorder::default();
    let mut stream = open(settings(None, 0, 5), &output);
    let (step, log) = run(&mut stream, &output, secs(3600));
    assert_eq!(step, Step::Ended);
    assert!(log.is_empty());
    assert_eq!(stream.elapsed(), secs(5));
}

#[test]
fn timers_due_by_the_maximum_duration_still_fire() {
    let output = Recorder::default();
    let mut stream = open(settings(None, 0, 10), &output);
    let tick = stream.add_timer(secs(5), true);
    let mut fired = Vec::new();
    loop {
        match stream.next(None).unwrap() {
            Step::Timer(id) => fired.push((stream.elapsed(), id)),
            Step::Wait => assert!(stream.wait(None)),
            Step::Ended => break,
            Step::Reached => panic!("no until was given"),
        }
    }
    assert_eq!(fired, vec![(secs(5), tick), (secs(10), tick)]);
}

#[test]
fn a_write_after_the_client_left_fails_and_the_stream_ends() {
    let output = Recorder::default();
    let mut stream = open(settings(None, 15, 0), &output);
    assert!(stream.is_connected());
    output.leave();
    assert!(!stream.write(b"data: lost\n\n"));
    assert!(!stream.is_connected());
    assert_eq!(stream.next(None).unwrap(), Step::Ended);
    assert!(output.writes().is_empty());
}

#[test]
fn a_hang_up_seen_by_the_runtime_ends_the_stream() {
    let output = Recorder::default();
    let mut stream = open(settings(None, 15, 0), &output);
    let mut marked = output.clone();
    marked.mark_disconnected();
    assert_eq!(stream.next(None).unwrap(), Step::Ended);
}

#[test]
fn begin_start_twice_or_while_starting_is_refused() {
    let output = Recorder::default();
    let mut stream: Stream<Recorder> = Stream::new(settings(None, 15, 0));
    assert_eq!(stream.phase(), Phase::New);
    assert!(stream.begin_start().unwrap());
    assert_eq!(stream.phase(), Phase::Starting);
    let refused = stream.begin_start();
    assert!(refused.is_err(), "a write from an output callback while starting");
    assert!(refused.err().map(|e| e.to_string()).unwrap_or_default().contains("starting"));
    // Nothing is served while starting.
    assert_eq!(stream.next(None).unwrap(), Step::Ended);
    assert!(!stream.write(b"data: early\n\n"));
    stream.opened(output.clone());
    assert!(!stream.begin_start().unwrap(), "open already: nothing to start");
    stream.close();
    assert!(stream.begin_start().is_err(), "closed");
}

#[test]
fn a_failed_start_makes_the_stream_new_again() {
    let output = Recorder::default();
    let mut stream: Stream<Recorder> = Stream::new(settings(Some(10), 15, 0));
    assert!(stream.begin_start().unwrap());
    stream.start_failed();
    assert_eq!(stream.phase(), Phase::New);
    assert!(stream.begin_start().unwrap());
    stream.opened(output.clone());
    assert_eq!(output.writes(), vec![b"retry: 10\n\n".to_vec()]);
}

#[test]
fn close_gives_the_output_back_once() {
    let output = Recorder::default();
    let mut stream = open(settings(None, 15, 0), &output);
    assert!(matches!(stream.close(), Some(Some(_))));
    assert!(stream.close().is_none());
    assert!(!stream.write(b"data: after\n\n"));

    let mut unstarted: Stream<Recorder> = Stream::new(settings(None, 15, 0));
    assert!(matches!(unstarted.close(), Some(None)), "a stream never started has no output");
    assert!(unstarted.close().is_none());

    let mut answered: Stream<Recorder> = Stream::new(settings(None, 15, 0));
    answered.close_unstarted();
    assert!(answered.close().is_none());
    assert!(answered.begin_start().is_err());
}

#[test]
fn subscribing_twice_is_refused() {
    let engine: Arc<dyn Engine> = Arc::new(MemoryEngine::new().unwrap());
    let mut stream: Stream<Recorder> = Stream::new(settings(None, 15, 0));
    assert!(!stream.is_subscribed());
    let first = Subscription::start(Arc::clone(&engine), vec!["a".into()], History::default(), None).unwrap();
    stream.subscribe(first).unwrap();
    assert!(stream.is_subscribed());
    let second = Subscription::start(engine, vec!["b".into()], History::default(), None).unwrap();
    let refused = stream.subscribe(second);
    assert!(refused.is_err());
    assert!(refused.err().map(|e| e.to_string()).unwrap_or_default().contains("twice"));
}

#[test]
fn timers_come_back_as_steps_in_deadline_order() {
    let output = Recorder::default();
    let mut stream = open(settings(None, 0, 0), &output);
    let third = stream.add_timer(secs(3), false);
    let first = stream.add_timer(secs(1), false);
    let second = stream.add_timer(secs(2), false);
    let tie = stream.add_timer(secs(2), false);
    let every = stream.add_timer(millis(2500), true);
    let cancelled = stream.add_timer(millis(1500), false);
    stream.cancel_timer(cancelled);
    let mut fired = Vec::new();
    loop {
        match stream.next(Some(secs(6))).unwrap() {
            Step::Timer(id) => fired.push((stream.elapsed(), id)),
            Step::Wait => assert!(stream.wait(Some(secs(6)))),
            Step::Reached => break,
            Step::Ended => panic!("ended"),
        }
    }
    assert_eq!(
        fired,
        vec![(secs(1), first), (secs(2), second), (secs(2), tie), (millis(2500), every), (secs(3), third), (secs(5), every)],
        "ties fire in the order they were added"
    );
    assert!(!stream.has_timer(first), "a one-shot timer is gone once it fired");
    assert!(stream.has_timer(every));
    assert!(!stream.has_timer(cancelled));
    assert_eq!(stream.elapsed(), secs(6));
}

#[test]
fn a_virtual_clock_with_nothing_scheduled_cannot_wait() {
    let output = Recorder::default();
    let mut stream = open(settings(None, 0, 0), &output);
    assert_eq!(stream.next(None).unwrap(), Step::Wait);
    assert!(!stream.wait(None), "nothing can ever happen: the stream is over");
    assert!(stream.wait(Some(secs(3))), "unless the driver serves until a time");
    assert_eq!(stream.elapsed(), secs(3));
}

#[test]
fn a_stream_on_a_virtual_clock_stays_attached() {
    let output = Recorder::default();
    let mut stream = open(settings(None, 15, 0), &output);
    assert!(matches!(stream.detach().unwrap(), Detach::Stays));
    assert_eq!(stream.phase(), Phase::Open);
}

#[test]
fn a_subscribed_stream_writes_its_events_in_batches_each_once() {
    let engine: Arc<dyn Engine> = Arc::new(MemoryEngine::new().unwrap());
    let output = Recorder::default();
    let mut stream = open(settings(None, 15, 0), &output);
    let subscription = Subscription::start(Arc::clone(&engine), vec!["news".into()], History::default(), None).unwrap();
    stream.subscribe(subscription).unwrap();
    for i in 0..600 {
        publish(engine.as_ref(), &["news"], &format!("n{i}"));
        publish(engine.as_ref(), &["other"], &format!("o{i}"));
    }
    assert_eq!(stream.next(None).unwrap(), Step::Wait);
    let expected: Vec<String> = (0..600).map(|i| format!("n{i}")).collect();
    assert_eq!(data_of(&output.bytes()), expected);
    assert!(output.writes().len() >= 3, "600 events are written 256 at a time");
    assert!(stream.deliver().unwrap());
    assert_eq!(data_of(&output.bytes()).len(), 600, "nothing twice");
    // The events are writes: the heartbeat counts from them.
    let (_, log) = run(&mut stream, &output, secs(15));
    assert_eq!(log, vec![(secs(15), HEARTBEAT.to_vec())]);
}
