//! The time of one stream: real (monotonic) or virtual.
//!
//! A virtual clock stands still until the stream would wait, then jumps straight to the end of
//! the wait. A test of "a tick every 15 s for 10 minutes" thus runs in milliseconds and sees
//! exactly the sequence of events real time would give.

use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug)]
pub enum Clock {
    Real { started: Instant },
    Virtual { now: Duration },
}

impl Clock {
    pub fn real() -> Self {
        Clock::Real { started: Instant::now() }
    }

    pub fn virtual_time() -> Self {
        Clock::Virtual { now: Duration::ZERO }
    }

    pub fn is_virtual(&self) -> bool {
        matches!(self, Clock::Virtual { .. })
    }

    /// Time since the clock started.
    pub fn now(&self) -> Duration {
        match self {
            Clock::Real { started } => started.elapsed(),
            Clock::Virtual { now } => *now,
        }
    }

    /// The instant a stream time corresponds to (real clocks only).
    pub fn instant_at(&self, at: Duration) -> Option<Instant> {
        match self {
            Clock::Real { started } => Some(*started + at),
            Clock::Virtual { .. } => None,
        }
    }

    /// Moves a virtual clock forward to `at` (never backwards); no effect on a real one.
    pub fn advance_to(&mut self, at: Duration) {
        if let Clock::Virtual { now } = self {
            *now = (*now).max(at);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn virtual_clock_only_moves_forward() {
        let mut clock = Clock::virtual_time();
        clock.advance_to(Duration::from_secs(15));
        clock.advance_to(Duration::from_secs(3));
        assert_eq!(clock.now(), Duration::from_secs(15));
        assert!(clock.instant_at(Duration::ZERO).is_none());
    }

    #[test]
    fn real_clock_follows_time() {
        let mut clock = Clock::real();
        clock.advance_to(Duration::from_secs(3600));
        assert!(clock.now() < Duration::from_secs(60));
        assert!(clock.instant_at(Duration::from_secs(1)).is_some());
    }
}
