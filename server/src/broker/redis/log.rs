//! The log's layout in Redis, the scripts that write and read it, and how reads of several
//! partitions become one ordered list of events.
//!
//! ```text
//! sse:p:<k>         stream of partition k (0 to 63, see `sse_core::broker::partition`); entry
//!                   fields: `t` the topics joined by newlines, `f` the frame without id, `s`
//!                   where the id goes, `p` the id of the entry before it in this partition
//! sse:p:<k>:last    the newest id of partition k
//! sse:last          the newest id of all; every new id comes after it (see `PUBLISH`)
//! sse:epoch         the log's random name (see `sse_core::broker::event_id`)
//! sse:since         the newest id when the partitioned layout started (`0-0` on a new Redis):
//!                   what came before is in `sse:events`, the one stream of the layout before
//! ```
//!
//! In a cluster every key carries the hash tag `{sse}` instead of the `sse` prefix (`{sse}:p:7`)
//! so that one publish (one script over the keys of its partitions) stays in one slot: one
//! master holds the log, which is what gives every event one id in one order. A URL's
//! `?log=<name>` makes the prefix `sse.<name>` (`{sse.<name>}` in a cluster): a log of its own,
//! in a slot of its own, which is how several logs spread over a cluster's masters.
//!
//! Why ids stay exact across partitions: a publish is one script, so publishes happen one after
//! the other, and each gives its event an id after `sse:last`. An id therefore says how far a
//! reader got in every partition at once: everything at or before it, in any partition, was
//! published before anything after it. A reader keeps one position and reads every partition
//! it wants from there.
//!
//! Why `p`: trimming deletes a partition's oldest entries, and a client may resume from an id
//! that is gone; the first entry after the client's id in each partition says whether the
//! client missed something there: its predecessor is later than the client's id. (Redis's own
//! `max-deleted-entry-id` stays `0-0` after `MAXLEN` trimming on Redis 7.0.) A partition's
//! first entry has `sse:since` as its predecessor.

use redis::Value;
use sse_core::broker::{Position, StoredEvent};

/// One publish, atomic: the epoch (created if missing), an id after the newest of all (the
/// time now when that is later, as Redis's own ids), the entry in each partition with its
/// predecessor there, the trims (by count per partition, by age also in the stream of the
/// layout before), and the newest ids.
///
/// Once only: the publish's own key (`sse:published:<token>`, a token the publisher made for
/// this one publish) keeps its id for a while, and a publish that finds it answers that id
/// without publishing again. A client may send a script again when its reply did not come back
/// in time or its connection broke after the script ran (redis-rs's cluster client does so by
/// itself); the event must still be stored once.
/// KEYS: epoch, last, since, the stream of the layout before, the publish's own key, then the
/// stream and the newest id of each partition written. ARGV: candidate epoch, max events,
/// oldest time kept (ms), topics, frame, id slot, how long the publish's own key is kept (ms).
pub const PUBLISH: &str = r#"
redis.call('SET', KEYS[1], ARGV[1], 'NX')
local epoch = redis.call('GET', KEYS[1])
local done = redis.call('GET', KEYS[5])
if done then
  return {epoch, done}
end
local last = redis.call('GET', KEYS[2])
if not last then
  local newest = redis.call('XREVRANGE', KEYS[4], '+', '-', 'COUNT', 1)
  last = newest[1] and newest[1][1] or '0-0'
end
local since = redis.call('GET', KEYS[3])
if not since then
  since = last
  redis.call('SET', KEYS[3], since)
end
local ms, seq = string.match(last, '^(%d+)-?(%d*)$')
ms, seq = tonumber(ms) or 0, tonumber(seq) or 0
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local id
if now_ms > ms then
  id = string.format('%.0f-0', now_ms)
else
  id = string.format('%.0f-%.0f', ms, seq + 1)
end
for i = 6, #KEYS, 2 do
  local previous = redis.call('GET', KEYS[i + 1]) or since
  redis.call('XADD', KEYS[i], 'MAXLEN', '~', ARGV[2], id, 't', ARGV[4], 'f', ARGV[5], 's', ARGV[6], 'p', previous)
  redis.call('XTRIM', KEYS[i], 'MINID', '~', ARGV[3])
  redis.call('SET', KEYS[i + 1], id)
end
redis.call('XTRIM', KEYS[4], 'MINID', '~', ARGV[3])
redis.call('SET', KEYS[2], id)
redis.call('SET', KEYS[5], id, 'PX', ARGV[7])
return {epoch, id}
"#;

/// One read of several partitions, atomic (so that the partitions are read at one moment):
/// `sse:since`, then for each partition its newest id and up to COUNT entries after a position.
/// KEYS: since, then the stream and the newest id of each partition. ARGV: exclusive start
/// (`(ms-seq`), count.
pub const READ: &str = r#"
local out = {redis.call('GET', KEYS[1]) or false}
for i = 2, #KEYS, 2 do
  out[#out + 1] = redis.call('GET', KEYS[i + 1]) or false
  out[#out + 1] = redis.call('XRANGE', KEYS[i], ARGV[1], '+', 'COUNT', ARGV[2])
end
return out
"#;

/// One entry of a stream: the event, and the id of the entry before it (`p`; absent in entries
/// of the single stream before `p` existed).
pub struct Entry {
    pub event: StoredEvent,
    pub previous: Option<Position>,
}

/// What one read found in one partition.
pub struct PartitionRead {
    /// The partition's newest id (`sse:p:<k>:last`), when it was ever written.
    pub last: Option<Position>,
    pub entries: Vec<Entry>,
    /// Whether the read got as many entries as it asked for (more may follow).
    pub full: bool,
}

/// Reads of several partitions after one position, as one list.
#[derive(Default)]
pub struct Merged {
    /// The events after the position, in id order, each once (an event of several partitions
    /// is in each of their streams), up to where every partition was read.
    pub events: Vec<StoredEvent>,
    /// A partition lost entries after the position (trimmed).
    pub gap: bool,
    /// A partition had more entries than were read: read again from `cursor`.
    pub truncated: bool,
    /// Where the next read starts: every partition was read up to here.
    pub cursor: Position,
}

/// Merges reads of several partitions, all made at one moment after `after`.
pub fn merge(after: Position, reads: Vec<PartitionRead>) -> Merged {
    let mut gap = false;
    // A full read stops somewhere: beyond its last entry, other partitions' entries cannot be
    // given yet (the full one may have more before them).
    let mut read_up_to: Option<Position> = None;
    let mut events = Vec::new();
    for read in reads {
        gap |= match read.entries.first() {
            // Its predecessor in the partition was trimmed.
            Some(first) => first.previous.is_some_and(|previous| previous > after),
            // All it had after the position was trimmed.
            None => read.last.is_some_and(|last| last > after),
        };
        if read.full {
            if let Some(last) = read.entries.last() {
                read_up_to = Some(read_up_to.map_or(last.event.position, |known| known.min(last.event.position)));
            }
        }
        events.extend(read.entries.into_iter().map(|entry| entry.event));
    }
    if let Some(limit) = read_up_to {
        events.retain(|event| event.position <= limit);
    }
    events.sort_by_key(|event| event.position);
    events.dedup_by_key(|event| event.position);
    let cursor = read_up_to.or_else(|| events.last().map(|event| event.position)).unwrap_or(after).max(after);
    Merged { events, gap, truncated: read_up_to.is_some(), cursor }
}

/// The entries of an `XREAD` reply, by stream name.
pub fn xread_streams(reply: Value) -> Vec<(String, Vec<Entry>)> {
    let pairs: Vec<(Value, Value)> = match reply {
        Value::Array(streams) => streams
            .into_iter()
            .filter_map(|stream| match stream {
                Value::Array(mut pair) if pair.len() == 2 => {
                    let entries = pair.pop()?;
                    Some((pair.pop()?, entries))
                }
                _ => None,
            })
            .collect(),
        Value::Map(pairs) => pairs,
        _ => Vec::new(),
    };
    pairs.into_iter().filter_map(|(name, list)| Some((text(&name)?, entries(list)))).collect()
}

/// The entries of an `XRANGE`-shaped reply: `[[id, [field, value, ...]], ...]`. Entries
/// another writer put in the stream with other fields are skipped.
pub fn entries(reply: Value) -> Vec<Entry> {
    let Value::Array(items) = reply else { return Vec::new() };
    items.into_iter().filter_map(entry).collect()
}

fn entry(item: Value) -> Option<Entry> {
    let Value::Array(mut pair) = item else { return None };
    let fields = pair.pop()?;
    let position = Position::parse(&text(&pair.pop()?)?)?;
    let (mut topics, mut frame, mut slot, mut previous) = (None, None, None, None);
    let list: Vec<Value> = match fields {
        Value::Array(list) => list,
        Value::Map(pairs) => pairs.into_iter().flat_map(|(k, v)| [k, v]).collect(),
        _ => return None,
    };
    for chunk in list.chunks(2) {
        let [name, value] = chunk else { continue };
        match text(name)?.as_str() {
            "t" => topics = Some(text(value)?.split('\n').map(str::to_owned).collect::<Vec<_>>()),
            "f" => frame = Some(bytes(value)?),
            "s" => slot = text(value)?.parse::<usize>().ok(),
            "p" => previous = Position::parse(&text(value)?),
            _ => {}
        }
    }
    let frame = frame?;
    let id_slot = slot.filter(|&s| s <= frame.len() || s == sse_core::broker::stored::OWN_ID)?;
    let event = StoredEvent { position, time_ms: position.major, topics: topics?.into(), frame: frame.into(), id_slot };
    Some(Entry { event, previous })
}

/// A field of an `XINFO STREAM` reply (a flat list of names and values, or a map).
pub fn field<'a>(info: &'a Value, name: &str) -> Option<&'a Value> {
    match info {
        Value::Array(list) => list.chunks(2).find(|c| c.len() == 2 && text(&c[0]).as_deref() == Some(name)).map(|c| &c[1]),
        Value::Map(pairs) => pairs.iter().find(|(k, _)| text(k).as_deref() == Some(name)).map(|(_, v)| v),
        _ => None,
    }
}

pub fn number(value: &Value) -> Option<u64> {
    match value {
        Value::Int(n) => u64::try_from(*n).ok(),
        other => text(other)?.parse().ok(),
    }
}

pub fn bytes(value: &Value) -> Option<Vec<u8>> {
    match value {
        Value::BulkString(b) => Some(b.clone()),
        Value::SimpleString(s) => Some(s.clone().into_bytes()),
        _ => None,
    }
}

pub fn text(value: &Value) -> Option<String> {
    bytes(value).and_then(|b| String::from_utf8(b).ok())
}

/// A position as Redis writes stream ids (`ms-seq`).
pub fn id(position: Position) -> String {
    format!("{}-{}", position.major, position.minor)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(major: u64, previous: u64) -> Entry {
        let event = StoredEvent {
            position: Position::seq(major),
            time_ms: major,
            topics: vec!["t".to_owned()].into(),
            frame: b"data: x\n\n".to_vec().into(),
            id_slot: 0,
        };
        Entry { event, previous: Some(Position::seq(previous)) }
    }

    fn read(entries: Vec<Entry>, full: bool) -> PartitionRead {
        PartitionRead { last: entries.last().map(|e| e.event.position), entries, full }
    }

    fn positions(merged: &Merged) -> Vec<u64> {
        merged.events.iter().map(|e| e.position.major).collect()
    }

    #[test]
    fn partitions_merge_in_id_order_each_event_once() {
        let merged = merge(Position::seq(1), vec![read(vec![entry(2, 1), entry(5, 2)], false), read(vec![entry(3, 1), entry(5, 3)], false)]);
        assert_eq!(positions(&merged), [2, 3, 5]);
        assert_eq!((merged.gap, merged.truncated, merged.cursor), (false, false, Position::seq(5)));
    }

    #[test]
    fn a_full_partition_holds_the_others_back_to_where_it_was_read() {
        let merged = merge(Position::seq(1), vec![read(vec![entry(2, 1), entry(4, 2)], true), read(vec![entry(3, 1), entry(9, 3)], false)]);
        assert_eq!(positions(&merged), [2, 3, 4]);
        assert!(merged.truncated);
        assert_eq!(merged.cursor, Position::seq(4));
    }

    #[test]
    fn a_trimmed_partition_says_where_its_gap_is() {
        // Partition one lost what came between 1 and its first entry left, 6.
        let merged = merge(Position::seq(1), vec![read(vec![entry(6, 4)], false), read(vec![entry(3, 1)], false)]);
        assert!(merged.gap);
        assert_eq!(positions(&merged), [3, 6]);
        // Everything after the position trimmed: the gap is right there.
        let empty = PartitionRead { last: Some(Position::seq(8)), entries: Vec::new(), full: false };
        assert!(merge(Position::seq(1), vec![empty]).gap);
        // Nothing new and nothing lost.
        let quiet = PartitionRead { last: Some(Position::seq(1)), entries: Vec::new(), full: false };
        let merged = merge(Position::seq(1), vec![quiet]);
        assert_eq!((merged.gap, merged.cursor), (false, Position::seq(1)));
    }
}
