//! One published event as a broker stores it: framed once at publish, without its id, which
//! each delivery inserts (the id names the log's epoch, which only the reader knows for sure).
//!
//! On disk (the embedded broker) an event is one record, little-endian:
//!
//! ```text
//! magic "SSE1" | length u32 | seq u64 | time_ms u64 | id_slot u32 | topic count u16
//! | (topic length u16, topic bytes)* | frame length u32 | frame bytes | crc32 u32
//! ```
//!
//! `length` counts every byte after itself; the CRC covers everything before it. A record that
//! is short or whose checksum fails is not an event: it is the torn tail a publisher killed in
//! the middle of a write leaves behind, which readers ignore and the next publisher cuts off.

use super::event_id::{Epoch, Position};
use std::sync::Arc;

/// Largest frame a broker stores (1 MiB): a log is for events, not files.
pub const MAX_FRAME: usize = 1 << 20;

/// The `id_slot` of a frame that carries its own `id:` line, first (an id its publisher chose,
/// as Mercure lets publishers do): delivered as it is, without the broker's id.
pub const OWN_ID: usize = u32::MAX as usize;

const MAGIC: &[u8; 4] = b"SSE1";
const HEADER: usize = 8; // magic + length

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredEvent {
    pub position: Position,
    /// When it was published, in milliseconds since the Unix epoch.
    pub time_ms: u64,
    pub topics: Arc<[String]>,
    /// The frame without an `id:` line, and where that line goes.
    pub frame: Arc<[u8]>,
    pub id_slot: usize,
}

impl StoredEvent {
    /// Whether the event was published to one of `topics`.
    pub fn is_for(&self, topics: &[String]) -> bool {
        self.topics.iter().any(|t| topics.contains(t))
    }

    /// The id its publisher chose, when the frame carries one (see [`OWN_ID`]).
    pub fn own_id(&self) -> Option<&[u8]> {
        if self.id_slot != OWN_ID {
            return None;
        }
        let line = self.frame.strip_prefix(b"id: ")?;
        line.iter().position(|&b| b == b'\n').map(|end| &line[..end])
    }

    /// Appends the frame as the client sees it, with `id: <epoch>:<position>` in its place
    /// (or with the id its publisher chose, already in it).
    pub fn write_frame(&self, epoch: &Epoch, out: &mut Vec<u8>) {
        if self.id_slot == OWN_ID {
            out.extend_from_slice(&self.frame);
            return;
        }
        let slot = self.id_slot.min(self.frame.len());
        out.extend_from_slice(&self.frame[..slot]);
        out.extend_from_slice(b"id: ");
        out.extend_from_slice(epoch.as_str().as_bytes());
        out.push(b':');
        out.extend_from_slice(self.position.to_string().as_bytes());
        out.push(b'\n');
        out.extend_from_slice(&self.frame[slot..]);
    }

    /// The on-disk record of this event (its position's major part is the sequence number).
    pub fn encode_record(&self) -> Vec<u8> {
        let topics_len: usize = self.topics.iter().map(|t| 2 + t.len()).sum();
        let mut out = Vec::with_capacity(HEADER + 8 + 8 + 4 + 2 + topics_len + 4 + self.frame.len() + 4);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&[0; 4]); // length, filled in below
        out.extend_from_slice(&self.position.major.to_le_bytes());
        out.extend_from_slice(&self.time_ms.to_le_bytes());
        out.extend_from_slice(&(self.id_slot as u32).to_le_bytes());
        out.extend_from_slice(&(self.topics.len() as u16).to_le_bytes());
        for topic in self.topics.iter() {
            out.extend_from_slice(&(topic.len() as u16).to_le_bytes());
            out.extend_from_slice(topic.as_bytes());
        }
        out.extend_from_slice(&(self.frame.len() as u32).to_le_bytes());
        out.extend_from_slice(&self.frame);
        let length = (out.len() - HEADER + 4) as u32;
        out[4..8].copy_from_slice(&length.to_le_bytes());
        let crc = crc32fast::hash(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        out
    }
}

/// What is at the start of a buffer.
#[derive(Debug, PartialEq, Eq)]
pub enum Record {
    /// A whole, intact record of this many bytes.
    Event(StoredEvent, usize),
    /// Nothing, or the beginning of a record still being written.
    Incomplete,
    /// Bytes that are not a record: a torn write that a later one overwrote in part.
    Corrupt,
}

/// The length of the record that starts `buf`, as its header claims, once the header is
/// there and the claim is possible: how much a reader must have to decode it.
pub fn claimed_len(buf: &[u8]) -> Option<usize> {
    if buf.len() < HEADER || &buf[..4] != MAGIC {
        return None;
    }
    let length = u32_at(buf, 4) as usize;
    (length <= MAX_RECORD_BODY).then_some(HEADER + length)
}

/// The most a record's body can be: the largest frame, 100 topics of 200 bytes and the fixed
/// fields, with room to spare. A length field above it is damage, never an allocation.
const MAX_RECORD_BODY: usize = MAX_FRAME + 64 * 1024 + 64;

/// Reads the record at the start of `buf`.
pub fn decode_record(buf: &[u8]) -> Record {
    if buf.len() < HEADER {
        let n = buf.len().min(MAGIC.len());
        return if buf[..n] == MAGIC[..n] { Record::Incomplete } else { Record::Corrupt };
    }
    if &buf[..4] != MAGIC {
        return Record::Corrupt;
    }
    let length = u32_at(buf, 4) as usize;
    if length > MAX_RECORD_BODY {
        return Record::Corrupt;
    }
    let total = HEADER + length;
    if buf.len() < total {
        return Record::Incomplete;
    }
    let (body, crc) = buf[..total].split_at(total - 4);
    if crc32fast::hash(body) != u32_at(crc, 0) {
        return Record::Corrupt;
    }
    match parse_body(&body[HEADER..]) {
        Some(event) => Record::Event(event, total),
        None => Record::Corrupt,
    }
}

fn parse_body(body: &[u8]) -> Option<StoredEvent> {
    let mut at = 0;
    let mut take = |n: usize| -> Option<&[u8]> {
        let slice = body.get(at..at + n)?;
        at += n;
        Some(slice)
    };
    let seq = u64::from_le_bytes(take(8)?.try_into().ok()?);
    let time_ms = u64::from_le_bytes(take(8)?.try_into().ok()?);
    let id_slot = u32::from_le_bytes(take(4)?.try_into().ok()?) as usize;
    let count = u16::from_le_bytes(take(2)?.try_into().ok()?);
    let mut topics = Vec::with_capacity(count as usize);
    for _ in 0..count {
        let len = u16::from_le_bytes(take(2)?.try_into().ok()?) as usize;
        topics.push(std::str::from_utf8(take(len)?).ok()?.to_owned());
    }
    let len = u32::from_le_bytes(take(4)?.try_into().ok()?) as usize;
    let frame = take(len)?;
    // Exactly the fields, nothing after them: a record decodes one way only.
    if (id_slot > frame.len() && id_slot != OWN_ID) || at != body.len() {
        return None;
    }
    Some(StoredEvent { position: Position::seq(seq), time_ms, topics: topics.into(), frame: frame.into(), id_slot })
}

fn u32_at(buf: &[u8], at: usize) -> u32 {
    let mut bytes = [0u8; 4];
    bytes.copy_from_slice(&buf[at..at + 4]);
    u32::from_le_bytes(bytes)
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Event;

    pub fn sample(seq: u64, topics: &[&str], data: &str) -> StoredEvent {
        let mut event = Event::new();
        let _ = event.set_event(b"update");
        let _ = event.set_data(data.as_bytes());
        let (frame, id_slot) = event.encode_without_id();
        StoredEvent {
            position: Position::seq(seq),
            time_ms: 1_764_500_000_000 + seq,
            topics: topics.iter().map(|t| t.to_string()).collect::<Vec<_>>().into(),
            frame: frame.into(),
            id_slot,
        }
    }

    #[test]
    fn the_id_goes_where_encode_puts_it() {
        let event = sample(42, &["a"], "x\ny");
        let mut out = Vec::new();
        let epoch = Epoch::parse("0123456789ab");
        assert!(epoch.is_some());
        if let Some(epoch) = epoch {
            event.write_frame(&epoch, &mut out);
        }
        assert_eq!(out, b"event: update\nid: 0123456789ab:42\ndata: x\ndata: y\n\n");
    }

    #[test]
    fn records_round_trip() {
        let event = sample(7, &["orders", "é"], "payload");
        let record = event.encode_record();
        assert_eq!(decode_record(&record), Record::Event(event, record.len()));
    }

    #[test]
    fn every_torn_prefix_is_incomplete_and_every_flipped_byte_is_refused() {
        let record = sample(7, &["orders"], "payload").encode_record();
        for cut in 0..record.len() {
            assert_eq!(decode_record(&record[..cut]), Record::Incomplete, "cut at {cut}");
        }
        for at in 0..record.len() {
            let mut bad = record.clone();
            bad[at] ^= 0x40;
            assert!(!matches!(decode_record(&bad), Record::Event(..)), "flip at {at}");
        }
    }
}
