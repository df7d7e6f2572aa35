//! An event of another log (Redis) as one machine's relay log keeps it.
//!
//! With the Redis broker, one process of a machine reads Redis and appends what it reads to a
//! log of the embedded kind (`local_log`) that the machine's other processes follow, so that
//! Redis serves each machine once rather than each of its processes. That log's records are
//! ordinary records whose frame starts with an envelope saying what the record stands for:
//!
//! ```text
//! "RLY1" | kind u8 | major u64 | minor u64      (little-endian), then the event's frame
//! ```
//!
//! `kind` 1 is an event of the origin log at position `major-minor`, with the record's topics
//! and the rest of its frame (the record's id slot counts the envelope); `kind` 2 says that some
//! events after that position could not be relayed (trimmed from Redis before the relay read
//! them): readers then catch up from Redis itself, which tells each stream what it missed. A
//! relay that takes over reads Redis on from the position of the last record, of either kind.

use super::event_id::Position;
use super::stored::{StoredEvent, OWN_ID};

const MAGIC: &[u8; 4] = b"RLY1";
const EVENT: u8 = 1;
const GAP: u8 = 2;
/// The envelope's length.
pub const ENVELOPE: usize = 4 + 1 + 8 + 8;

/// What one record of a relay log stands for.
#[derive(Debug, PartialEq, Eq)]
pub enum Relayed {
    /// An event of the origin log, with its position there.
    Event(StoredEvent),
    /// Some events after this position of the origin log were lost before they were relayed.
    Gap(Position),
}

/// The frame and id slot a relay log stores for `event` (whose position is its origin's).
pub fn encode_event(event: &StoredEvent) -> (Vec<u8>, usize) {
    let mut frame = envelope(EVENT, event.position);
    frame.extend_from_slice(&event.frame);
    let slot = if event.id_slot == OWN_ID { OWN_ID } else { event.id_slot.min(event.frame.len()) + ENVELOPE };
    (frame, slot)
}

/// The frame a relay log stores to say that events up to `position` were lost.
pub fn encode_gap(position: Position) -> Vec<u8> {
    envelope(GAP, position)
}

fn envelope(kind: u8, position: Position) -> Vec<u8> {
    let mut out = Vec::with_capacity(ENVELOPE + 256);
    out.extend_from_slice(MAGIC);
    out.push(kind);
    out.extend_from_slice(&position.major.to_le_bytes());
    out.extend_from_slice(&position.minor.to_le_bytes());
    out
}

/// What a record of a relay log stands for; None for a record that is not an envelope (a
/// relay log holds nothing else: such a record is skipped).
pub fn decode(record: &StoredEvent) -> Option<Relayed> {
    let frame = &record.frame[..];
    if frame.len() < ENVELOPE || &frame[..4] != MAGIC {
        return None;
    }
    let u64_at = |at: usize| frame.get(at..at + 8).and_then(|b| b.try_into().ok()).map(u64::from_le_bytes);
    let position = Position { major: u64_at(5)?, minor: u64_at(13)? };
    match frame[4] {
        GAP if frame.len() == ENVELOPE => Some(Relayed::Gap(position)),
        EVENT => {
            let id_slot = match record.id_slot {
                OWN_ID => OWN_ID,
                slot if slot >= ENVELOPE && slot <= frame.len() => slot - ENVELOPE,
                _ => return None,
            };
            let event = StoredEvent { position, time_ms: position.major, topics: record.topics.clone(), frame: frame[ENVELOPE..].into(), id_slot };
            Some(Relayed::Event(event))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(frame: Vec<u8>, id_slot: usize) -> StoredEvent {
        StoredEvent { position: Position::seq(7), time_ms: 1, topics: vec!["a".to_owned()].into(), frame: frame.into(), id_slot }
    }

    #[test]
    fn an_event_comes_back_as_it_was_relayed() {
        let origin = StoredEvent {
            position: Position { major: 1764500000000, minor: 3 },
            time_ms: 1764500000000,
            topics: vec!["a".to_owned(), "b".to_owned()].into(),
            frame: b"data: x\n\n".to_vec().into(),
            id_slot: 0,
        };
        let (frame, slot) = encode_event(&origin);
        let mut stored = record(frame, slot);
        stored.topics = origin.topics.clone();
        assert_eq!(decode(&stored), Some(Relayed::Event(origin.clone())));
        let own = StoredEvent { frame: b"id: mine\ndata: x\n\n".to_vec().into(), id_slot: OWN_ID, ..origin };
        let (frame, slot) = encode_event(&own);
        let Some(Relayed::Event(back)) = decode(&StoredEvent { topics: own.topics.clone(), ..record(frame, slot) }) else { panic!("not an event") };
        assert_eq!(back.own_id(), Some(&b"mine"[..]));
    }

    #[test]
    fn a_gap_names_its_position() {
        let at = Position { major: 5, minor: 1 };
        assert_eq!(decode(&record(encode_gap(at), 0)), Some(Relayed::Gap(at)));
    }

    #[test]
    fn what_is_not_an_envelope_is_refused() {
        assert_eq!(decode(&record(b"data: x\n\n".to_vec(), 0)), None);
        let (frame, _) = encode_event(&StoredEvent { position: Position::seq(1), ..record(b"data: x\n\n".to_vec(), 0) });
        // An id slot inside the envelope, or past the frame.
        assert_eq!(decode(&record(frame.clone(), 3)), None);
        assert_eq!(decode(&record(frame.clone(), frame.len() + 1)), None);
        let mut unknown = frame;
        unknown[4] = 9;
        assert_eq!(decode(&record(unknown, ENVELOPE)), None);
        assert_eq!(decode(&record(b"RLY1\x02".to_vec(), 0)), None);
    }
}
