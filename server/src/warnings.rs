//! Warnings found away from the PHP thread (a damaged log file read by the runtime), kept for
//! the PHP thread to write to PHP's log: nothing here may call into PHP.

use parking_lot::Mutex;

/// At most this many wait; more are dropped (each already names its file once).
const LIMIT: usize = 256;

static PENDING: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Keeps a warning for the PHP thread.
pub fn push(message: String) {
    let mut pending = PENDING.lock();
    if pending.len() < LIMIT {
        pending.push(message);
    }
}

/// The warnings kept since the last call, oldest first.
pub fn take() -> Vec<String> {
    std::mem::take(&mut *PENDING.lock())
}
