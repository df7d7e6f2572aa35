//! What a waiting PHP thread sleeps on: rung by the runtime when its client hangs up and by the
//! hub when an event for its stream arrives.
//!
//! Why not wait on the two channels themselves: crossbeam's `Select` over two receivers spins
//! and calls `sched_yield` a few times before it sleeps, and on a busy machine each yield hands
//! the CPU to another process. A doorbell sleeps at once on one futex, and whoever rings it
//! wakes it once, however many events came meanwhile.

use parking_lot::{Condvar, Mutex};
use std::time::Duration;

#[derive(Default)]
pub struct Doorbell {
    rung: Mutex<bool>,
    wake: Condvar,
}

impl Doorbell {
    /// Wakes the thread in [`wait`](Self::wait), or makes its next wait return at once.
    pub fn ring(&self) {
        let mut rung = self.rung.lock();
        if !*rung {
            *rung = true;
            self.wake.notify_one();
        }
    }

    /// Returns once the bell was rung (since the last wait) or after `timeout`. The caller then
    /// looks at what the bell is for: a ring is a hint, never a message.
    pub fn wait(&self, timeout: Duration) {
        let mut rung = self.rung.lock();
        if !*rung {
            self.wake.wait_for(&mut rung, timeout);
        }
        *rung = false;
    }
}
