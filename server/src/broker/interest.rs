//! Which partitions of the Redis log (see `sse_core::broker::partition`) the streams of this
//! process read: a count of inboxes per partition, kept as inboxes come and go, so that the
//! reader asks Redis for those partitions only and notices at once when a stream needs one
//! more.

use sse_core::broker::partition::{self, PARTITIONS};
use std::sync::atomic::{AtomicU32, Ordering};
use tokio::sync::Notify;

/// A set of partitions, bit `k` for partition `k`.
pub type Mask = u64;

const _: () = assert!(PARTITIONS <= Mask::BITS as usize);

pub struct Interest {
    counts: [AtomicU32; PARTITIONS],
    /// Told when a partition gets its first inbox (the reader must add it).
    grew: Notify,
    /// Told when a partition loses its last inbox.
    shrank: Notify,
}

impl Default for Interest {
    fn default() -> Self {
        Interest { counts: std::array::from_fn(|_| AtomicU32::new(0)), grew: Notify::new(), shrank: Notify::new() }
    }
}

/// The partitions of a mask, ascending.
pub fn partitions(mask: Mask) -> Vec<usize> {
    (0..PARTITIONS).filter(|k| mask & (1 << k) != 0).collect()
}

/// The mask of the partitions `topics` are read from.
pub fn mask_of(topics: &[String]) -> Mask {
    partition::to_read(topics).into_iter().fold(0, |mask, k| mask | (1 << k))
}

impl Interest {
    /// The partitions read now.
    pub fn mask(&self) -> Mask {
        self.counts.iter().enumerate().filter(|(_, count)| count.load(Ordering::Acquire) > 0).fold(0, |mask, (k, _)| mask | (1 << k))
    }

    pub(super) fn add(&self, mask: Mask) {
        let mut grew = false;
        for k in partitions(mask) {
            grew |= self.counts[k].fetch_add(1, Ordering::AcqRel) == 0;
        }
        if grew {
            self.grew.notify_one();
        }
    }

    pub(super) fn remove(&self, mask: Mask) {
        let mut shrank = false;
        for k in partitions(mask) {
            shrank |= self.counts[k].fetch_sub(1, Ordering::AcqRel) == 1;
        }
        if shrank {
            self.shrank.notify_one();
        }
    }

    /// Resolves after a partition got its first inbox (maybe before this was called: one such
    /// news is kept for the next call).
    pub async fn grew(&self) {
        self.grew.notified().await;
    }

    /// Resolves after a partition lost its last inbox (kept likewise).
    pub async fn shrank(&self) {
        self.shrank.notified().await;
    }
}
