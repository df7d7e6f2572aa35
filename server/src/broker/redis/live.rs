//! The live path's read, shared by a process that reads Redis itself and by a machine's relay:
//! one `XREAD BLOCK` over the partitions wanted, all from one position (see `log.rs` for why
//! one position is exact for every partition).

use super::connection::Async;
use super::log::{self, merge, xread_streams, PartitionRead};
use super::{Shared, BLOCK_MS};
use crate::broker::interest::{self, Mask};
use sse_core::broker::{Position, StoredEvent};
use std::time::Duration;

/// Entries read per partition at most.
const COUNT: usize = 512;

/// What one read brought.
pub struct Live {
    /// New events, in id order, each once.
    pub events: Vec<StoredEvent>,
    /// A partition lost entries after the position (trimmed before they were read): the
    /// streams must catch up from the log, which tells each what it missed.
    pub gap: bool,
    /// Where the next read starts.
    pub cursor: Position,
}

/// A reading connection named after its `job` (see `Shared::name_connection`), or None after
/// waiting out `backoff`, which then doubles up to 5 s: the caller tries again.
pub async fn connect(shared: &Shared, job: &str, backoff: &mut Duration) -> Option<Async> {
    let Ok(mut connection) = shared.target.connect_async(Duration::from_millis(BLOCK_MS)).await else {
        tokio::time::sleep(*backoff).await;
        *backoff = (*backoff * 2).min(Duration::from_secs(5));
        return None;
    };
    shared.name_connection(&mut connection, job).await;
    Some(connection)
}

/// Waits up to `BLOCK_MS` for events after `cursor` in the partitions of `wanted`.
pub async fn read(connection: &mut Async, shared: &Shared, wanted: Mask, cursor: Position) -> redis::RedisResult<Live> {
    let partitions = interest::partitions(wanted);
    if partitions.is_empty() {
        // Nobody reads anything (yet): wait as a read would, for the caller to look again.
        tokio::time::sleep(Duration::from_millis(BLOCK_MS)).await;
        return Ok(Live { events: Vec::new(), gap: false, cursor });
    }
    let mut command = redis::cmd("XREAD");
    command.arg("COUNT").arg(COUNT).arg("BLOCK").arg(BLOCK_MS).arg("STREAMS");
    for &k in &partitions {
        command.arg(shared.partition_keys(k).0);
    }
    let from = log::id(cursor);
    for _ in &partitions {
        command.arg(&from);
    }
    let reply = connection.query(&command).await?;
    let reads = xread_streams(reply).into_iter().map(|(_, entries)| PartitionRead { last: None, full: entries.len() >= COUNT, entries }).collect();
    let merged = merge(cursor, reads);
    Ok(Live { events: merged.events, gap: merged.gap, cursor: merged.cursor })
}
