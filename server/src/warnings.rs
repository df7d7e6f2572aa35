//! Warnings found away from the PHP thread (a damaged log file read by the runtime), kept for
//! the PHP thread to write to PHP's log: nothing here may call into PHP.

use parking_lot::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

/// At most this many wait; more are dropped (each already names its file once).
const LIMIT: usize = 256;

static PENDING: Mutex<Vec<String>> = Mutex::new(Vec::new());
/// Whether any wait: `take` runs in a stream's wait loop, which should not take a lock for
/// nothing.
static ANY: AtomicBool = AtomicBool::new(false);

/// Keeps a warning for the PHP thread.
pub fn push(message: String) {
    let mut pending = PENDING.lock();
    if pending.len() < LIMIT {
        pending.push(message);
        ANY.store(true, Ordering::Release);
    }
}

/// The warnings kept since the last call, oldest first.
pub fn take() -> Vec<String> {
    if !ANY.swap(false, Ordering::AcqRel) {
        return Vec::new();
    }
    std::mem::take(&mut *PENDING.lock())
}
