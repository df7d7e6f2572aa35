//! What one stream has to do next, and when: user timers, the heartbeat and the maximum
//! duration, on an abstract clock.
//!
//! Time is a [`Duration`] since the stream started, so the same schedule runs on the real
//! clock or on the virtual one of the tests (which jumps straight to [`StreamSchedule::next_wakeup`]),
//! and gives the same sequence of [`Due`] items either way.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::time::Duration;

pub type TimerId = u64;

/// Something that is due now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Due {
    Timer(TimerId),
    Heartbeat,
    MaxDuration,
}

#[derive(Debug)]
struct Timer {
    deadline: Duration,
    /// `Some` for `every()`, `None` for `after()`.
    interval: Option<Duration>,
}

#[derive(Debug, Default)]
pub struct StreamSchedule {
    timers: HashMap<TimerId, Timer>,
    /// Deadlines in order; ties keep the order the timers were armed in. Entries of cancelled
    /// or re-armed timers are skipped lazily when they reach the top.
    queue: BinaryHeap<Reverse<(Duration, u64, TimerId)>>,
    next_id: TimerId,
    sequence: u64,
    heartbeat: Option<Duration>,
    max_duration: Option<Duration>,
    last_write: Duration,
}

impl StreamSchedule {
    /// `heartbeat` and `max_duration` of zero mean none.
    pub fn new(heartbeat: Duration, max_duration: Duration) -> Self {
        Self { heartbeat: (!heartbeat.is_zero()).then_some(heartbeat), max_duration: (!max_duration.is_zero()).then_some(max_duration), ..Self::default() }
    }

    /// Arms a timer that fires once `delay` after `now`, or every `delay` when `repeat`.
    pub fn add(&mut self, now: Duration, delay: Duration, repeat: bool) -> TimerId {
        self.next_id += 1;
        let id = self.next_id;
        let deadline = now + delay;
        self.timers.insert(id, Timer { deadline, interval: repeat.then_some(delay) });
        self.push(deadline, id);
        id
    }

    /// Cancels a timer; false when it does not exist (any more).
    pub fn cancel(&mut self, id: TimerId) -> bool {
        self.timers.remove(&id).is_some()
    }

    /// Whether the timer is still armed (a one-shot timer is gone once it fired).
    pub fn has(&self, id: TimerId) -> bool {
        self.timers.contains_key(&id)
    }

    pub fn timer_count(&self) -> usize {
        self.timers.len()
    }

    /// Something was written at `now`: the heartbeat counts from here.
    pub fn wrote(&mut self, now: Duration) {
        self.last_write = now;
    }

    /// When the next thing is due, if anything ever is.
    pub fn next_wakeup(&mut self) -> Option<Duration> {
        self.drop_stale();
        let timer = self.queue.peek().map(|Reverse((deadline, _, _))| *deadline);
        let heartbeat = self.heartbeat.map(|h| self.last_write + h);
        [timer, heartbeat, self.max_duration].into_iter().flatten().min()
    }

    /// The earliest item due at `now`, if any. Timers due at or before the maximum duration
    /// still fire (a tick every 15 s for 600 s ticks 40 times), then the maximum duration ends
    /// the stream; a heartbeat comes last (a timer that writes makes it unnecessary). A repeating timer is re-armed at its next
    /// deadline; when the stream fell behind by more than one interval, missed ticks are
    /// skipped rather than fired in a burst.
    pub fn pop_due(&mut self, now: Duration) -> Option<Due> {
        let limit = self.max_duration.map_or(now, |max| max.min(now));
        self.drop_stale();
        if let Some(&Reverse((deadline, _, id))) = self.queue.peek() {
            if deadline <= limit {
                self.queue.pop();
                let rearm = match self.timers.get_mut(&id) {
                    Some(Timer { interval: Some(interval), deadline: d }) => {
                        let mut next = *d + *interval;
                        if next <= now {
                            next = now + *interval;
                        }
                        *d = next;
                        Some(next)
                    }
                    _ => None,
                };
                match rearm {
                    Some(next) => self.push(next, id),
                    None => {
                        self.timers.remove(&id);
                    }
                }
                return Some(Due::Timer(id));
            }
        }
        if self.max_duration.is_some_and(|max| max <= now) {
            return Some(Due::MaxDuration);
        }
        if self.heartbeat.is_some_and(|h| self.last_write + h <= now) {
            return Some(Due::Heartbeat);
        }
        None
    }

    fn push(&mut self, deadline: Duration, id: TimerId) {
        self.sequence += 1;
        self.queue.push(Reverse((deadline, self.sequence, id)));
    }

    fn drop_stale(&mut self) {
        while let Some(&Reverse((deadline, _, id))) = self.queue.peek() {
            match self.timers.get(&id) {
                Some(timer) if timer.deadline == deadline => break,
                _ => {
                    self.queue.pop();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// Runs the schedule on a virtual clock until `end`, recording (time, item).
    fn run(s: &mut StreamSchedule, end: Duration) -> Vec<(u64, Due)> {
        let mut now = Duration::ZERO;
        let mut log = Vec::new();
        loop {
            while let Some(due) = s.pop_due(now) {
                log.push((now.as_millis() as u64, due));
                match due {
                    Due::MaxDuration => return log,
                    Due::Heartbeat => s.wrote(now),
                    Due::Timer(_) => {}
                }
            }
            match s.next_wakeup() {
                Some(next) if next <= end => now = next,
                _ => return log,
            }
        }
    }

    #[test]
    fn timers_fire_in_deadline_order_with_the_right_counts() {
        let mut s = StreamSchedule::new(Duration::ZERO, Duration::ZERO);
        let a = s.add(ms(0), ms(30), true);
        let b = s.add(ms(0), ms(20), true);
        let c = s.add(ms(0), ms(50), false);
        let log = run(&mut s, ms(100));
        let order: Vec<(u64, Due)> = log;
        assert_eq!(
            order,
            vec![
                (20, Due::Timer(b)),
                (30, Due::Timer(a)),
                (40, Due::Timer(b)),
                (50, Due::Timer(c)),
                (60, Due::Timer(a)),
                (60, Due::Timer(b)),
                (80, Due::Timer(b)),
                (90, Due::Timer(a)),
                (100, Due::Timer(b)),
            ]
        );
        assert_eq!(s.timer_count(), 2, "the one-shot timer is gone");
    }

    #[test]
    fn cancel_stops_a_timer() {
        let mut s = StreamSchedule::new(Duration::ZERO, Duration::ZERO);
        let a = s.add(ms(0), ms(10), true);
        assert_eq!(s.pop_due(ms(10)), Some(Due::Timer(a)));
        assert!(s.cancel(a));
        assert!(!s.cancel(a));
        assert_eq!(s.pop_due(ms(100)), None);
        assert_eq!(s.next_wakeup(), None);
    }

    #[test]
    fn heartbeat_only_when_idle() {
        let mut s = StreamSchedule::new(ms(15), Duration::ZERO);
        assert_eq!(s.next_wakeup(), Some(ms(15)));
        s.wrote(ms(10));
        assert_eq!(s.pop_due(ms(15)), None);
        assert_eq!(s.next_wakeup(), Some(ms(25)));
        assert_eq!(s.pop_due(ms(25)), Some(Due::Heartbeat));
    }

    #[test]
    fn a_tick_every_15s_for_10_minutes_then_max_duration() {
        let mut s = StreamSchedule::new(Duration::from_secs(20), Duration::from_secs(600));
        let tick = s.add(Duration::ZERO, Duration::from_secs(15), true);
        let log = run(&mut s, Duration::from_secs(3600));
        let ticks = log.iter().filter(|(_, d)| *d == Due::Timer(tick)).count();
        assert_eq!(ticks, 40, "15 s .. 600 s, then the maximum duration");
        // The tick does not write here, so heartbeats come every 20 s of silence.
        assert_eq!(log.iter().filter(|(_, d)| *d == Due::Heartbeat).count(), 29);
        assert_eq!(log.last(), Some(&(600_000, Due::MaxDuration)));
    }

    #[test]
    fn a_late_stream_skips_missed_ticks() {
        let mut s = StreamSchedule::new(Duration::ZERO, Duration::ZERO);
        let a = s.add(ms(0), ms(10), true);
        assert_eq!(s.pop_due(ms(55)), Some(Due::Timer(a)));
        assert_eq!(s.pop_due(ms(55)), None);
        assert_eq!(s.next_wakeup(), Some(ms(65)));
    }
}
