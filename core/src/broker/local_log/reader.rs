//! Reading the log forward (see the module's documentation for the files and `head`).

use super::files::{list_segments, open_regular, read_at_most, segment_name, segment_path};
use super::{Head, LocalLog, BATCH_BYTES, HEAD_LEN, KEPT_BUFFER, MAX_SEQ, READ_CHUNK};
use crate::broker::stored::{claimed_len, decode_record, now_ms, Record};
use crate::broker::Position;
use crate::broker::{Batch, History};
use crate::error::{Error, Result};
use std::fs::File;
use std::io::ErrorKind;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;

/// Reads a log forward from a sequence number, keeping its place between calls.
///
/// Every call makes progress or returns: each step either consumes records, moves to a later
/// segment, or stops until something is published. Damage (a missing, short, corrupt or
/// out-of-order segment, a `head` that names what is not there) ends the read of what it
/// touched with a gap, and the reader goes on with what follows. Memory is bounded by one
/// read's events and one chunk (or one record), never by a length read from a file.
pub struct Reader {
    log_dir: PathBuf,
    segments: PathBuf,
    next_seq: u64,
    /// The segment being read.
    open: Option<OpenSegment>,
    /// The first sequence number of the newest segment read to its end and left (0: none):
    /// it and every older one are never opened again, so damage cannot send a reader back.
    left: u64,
    buffer: Vec<u8>,
    /// `head`, kept open once read (None until then, or while it cannot be opened).
    head: Option<File>,
}

struct OpenSegment {
    file: File,
    /// The offset read up to: the start of the next record.
    offset: u64,
    /// Its first sequence number (its name).
    start: u64,
}

/// What reading one segment came to.
enum Step {
    /// `max` events, or the byte budget: return them.
    Full,
    /// At the end of what is written so far: wait for a publish.
    Waiting,
    /// Finished and read to its end (or to damage that ends it): go to the next segment.
    Ended,
}

impl Reader {
    /// A reader that follows the log from `after` on, for a live subscriber. From the newest
    /// event (the usual case) it starts where `head` says the next record goes, instead of
    /// reading the current segment from its start (up to `max_events / 8` events) to get there.
    pub(super) fn following(log: &LocalLog, after: Position) -> Reader {
        let mut reader = Reader::new(log, after.major.saturating_add(1));
        if let Some(head) = reader.read_head().filter(|head| head.next_seq == after.major.saturating_add(1)) {
            if let Ok(file) = open_regular(&reader.segment_path(head.segment)) {
                reader.open = Some(OpenSegment { file, offset: head.end, start: head.segment });
            }
        }
        reader
    }

    pub(super) fn new(log: &LocalLog, next_seq: u64) -> Reader {
        Reader { log_dir: log.dir.clone(), segments: log.dir.join("segments"), next_seq, open: None, left: 0, buffer: Vec::new(), head: None }
    }

    fn fail(&self, what: &str, e: std::io::Error) -> Error {
        Error::unavailable(format!("local://{}", self.log_dir.display()), format!("{what}: {e}"))
    }

    /// Up to `max` events from the reader's place; the place moves past them.
    pub fn read(&mut self, max: usize, history: &History) -> Result<Batch> {
        let mut batch = Batch::default();
        let expired_before = now_ms().saturating_sub(history.max_age.as_millis() as u64);
        // Read first: records up to the end it names are whole, whatever is appended meanwhile.
        let head = self.read_head();
        while batch.events.len() < max && !batch.truncated {
            if self.open.is_none() && !self.open_next(&mut batch)? {
                break;
            }
            match self.read_segment(head, max, expired_before, &mut batch)? {
                Step::Full | Step::Waiting => break,
                Step::Ended => {
                    if let Some(segment) = self.open.take() {
                        self.left = self.left.max(segment.start);
                    }
                }
            }
        }
        if self.buffer.capacity() > KEPT_BUFFER {
            // A long catch-up read much at once: a reader that follows for hours keeps little.
            self.buffer = Vec::new();
        }
        Ok(batch)
    }

    /// Reads records of the open segment from its offset, a chunk at a time.
    fn read_segment(&mut self, head: Option<Head>, max: usize, expired_before: u64, batch: &mut Batch) -> Result<Step> {
        let Some(segment) = self.open.as_mut() else { return Ok(Step::Ended) };
        let start = segment.start;
        // What head says of this segment: the newest one, written up to `end`; or finished
        // (head names a later one). Unknown when head is unreadable or names an older segment
        // (the log was replaced under this reader).
        let told = head.filter(|head| head.segment >= start);
        let written_end = told.filter(|head| head.segment == start).map(|head| head.end);
        let mut want = READ_CHUNK;
        // The frames' bytes in the batch, kept as events are added (not summed per record).
        let mut bytes = batch.bytes();
        loop {
            let offset = segment.offset;
            let len = match written_end {
                Some(end) => end.saturating_sub(offset).min(want as u64) as usize,
                None => want,
            };
            self.buffer.clear();
            let got = read_at_most(&segment.file, offset, len, &mut self.buffer)
                .map_err(|e| Error::unavailable(format!("local://{}", self.log_dir.display()), format!("cannot read {}: {e}", segment_name(start))))?;
            let short = got < len;
            let mut at = 0;
            let mut stop = None;
            while batch.events.len() < max && bytes < BATCH_BYTES {
                let record = match decode_record(&self.buffer[at..]) {
                    Record::Event(event, record_len) => Some((event, record_len)),
                    Record::Incomplete => None,
                    Record::Corrupt => {
                        stop = Some(Stop::Corrupt);
                        break;
                    }
                };
                let Some((event, record_len)) = record else {
                    // A record cut by the chunk: read again from it, with room for all of it.
                    match claimed_len(&self.buffer[at..]) {
                        Some(needed) if !short && at == 0 && needed > want => {
                            want = needed;
                            stop = Some(Stop::Again);
                        }
                        _ if !short && at > 0 => stop = Some(Stop::Again),
                        _ => stop = Some(Stop::End),
                    }
                    break;
                };
                let seq = event.position.major;
                if seq >= MAX_SEQ {
                    stop = Some(Stop::Corrupt);
                    break;
                }
                if seq < self.next_seq {
                    at += record_len;
                    continue; // before the place this reader was asked to start from
                }
                let lost = seq > self.next_seq;
                let expired = event.time_ms < expired_before;
                if (lost || expired) && !batch.events.is_empty() {
                    // Events came before the gap: they go out first, the gap next time.
                    batch.truncated = true;
                    stop = Some(Stop::Full);
                    break;
                }
                at += record_len;
                if lost {
                    // Records of one segment follow each other: a jump is damage.
                    batch.gap = true;
                    batch.damage.push(format!("{}: events {} to {} are missing", segment_path(&self.segments, start).display(), self.next_seq, seq - 1));
                }
                self.next_seq = seq + 1;
                if expired {
                    batch.gap = true;
                } else {
                    bytes += event.frame.len();
                    batch.events.push(event);
                }
            }
            segment.offset += at as u64;
            match stop {
                Some(Stop::Again) => continue,
                None | Some(Stop::Full) => {
                    if bytes >= BATCH_BYTES && batch.events.len() < max {
                        batch.truncated = true;
                    }
                    return Ok(Step::Full);
                }
                Some(Stop::End) | Some(Stop::Corrupt) => {}
            }
            let corrupt = matches!(stop, Some(Stop::Corrupt));
            let offset = segment.offset;
            return Ok(match (written_end, told) {
                // The newest segment. Everything up to `end` is whole records: anything else
                // there is damage, skipped to `end` (what head says comes next) with a gap.
                (Some(end), Some(told)) => {
                    if offset >= end {
                        Step::Waiting
                    } else if !batch.events.is_empty() {
                        // The events before the damage go out first; it is met again next time.
                        batch.truncated = true;
                        Step::Full
                    } else {
                        let reason = if corrupt { "holds bytes that are not a record" } else { "does not hold whole records up to the end head names" };
                        batch.damage.push(format!(
                            "{}: {reason} at offset {offset}; the events up to {} are lost",
                            self.segment_path(start).display(),
                            told.next_seq.saturating_sub(1)
                        ));
                        if let Some(segment) = self.open.as_mut() {
                            segment.offset = end;
                        }
                        if told.next_seq > self.next_seq {
                            batch.gap = true;
                            self.next_seq = told.next_seq;
                        }
                        Step::Waiting
                    }
                }
                // Finished: a later segment follows. What is left here cannot be read.
                (None, Some(_)) => {
                    self.note_unread_tail(start, corrupt, short && got > 0, batch);
                    Step::Ended
                }
                // Head unreadable (being rewritten, or damaged until the next publish repairs
                // it): finished only if a later segment exists; else a torn tail being
                // replaced, or the end of what is written.
                (_, None) => {
                    if self.later_segment_exists(start)? {
                        self.note_unread_tail(start, corrupt, short && got > 0, batch);
                        Step::Ended
                    } else {
                        Step::Waiting
                    }
                }
            });
        }
    }

    fn note_unread_tail(&self, start: u64, corrupt: bool, partial: bool, batch: &mut Batch) {
        if corrupt || partial {
            let offset = self.open.as_ref().map_or(0, |segment| segment.offset);
            let reason = if corrupt { "holds bytes that are not a record" } else { "ends inside a record" };
            batch.damage.push(format!("{}: {reason} at offset {offset}; what follows there is lost", self.segment_path(start).display()));
        }
    }

    fn segment_path(&self, start: u64) -> PathBuf {
        segment_path(&self.segments, start)
    }

    /// What `head` says now; None when it cannot be read or decoded (being rewritten).
    fn read_head(&mut self) -> Option<Head> {
        if self.head.is_none() {
            self.head = open_regular(&self.log_dir.join("head")).ok();
        }
        let mut bytes = [0u8; HEAD_LEN];
        let read = self.head.as_ref()?.read_at(&mut bytes, 0).ok()?;
        Head::decode(&bytes[..read])
    }

    /// Opens the segment to read next: the one holding `next_seq`, or when that is gone (a
    /// newer publisher's roll deleted it, or damage) the next one there is, with a gap. False
    /// when there is nothing to read yet, or when a gap lies ahead of the events already in
    /// `batch` (they go out first).
    fn open_next(&mut self, batch: &mut Batch) -> Result<bool> {
        let starts = list_segments(&self.segments).map_err(|e| self.fail("cannot list segments/", e))?;
        // Never one already left behind.
        let candidates: Vec<u64> = starts.into_iter().filter(|&start| start > self.left).collect();
        let start = match candidates.iter().rev().find(|&&start| start <= self.next_seq) {
            Some(&start) => start,
            None => {
                let Some(&next) = candidates.first() else { return Ok(false) };
                if !batch.events.is_empty() {
                    // The events before the gap go out first; it is met again next time.
                    batch.truncated = true;
                    return Ok(false);
                }
                // The events from `next_seq` up to that segment are gone: deleted by the
                // history limits, or lost with a damaged segment.
                batch.gap = true;
                if self.left > 0 {
                    // Named after where those events would start: the file a clean-up deleted.
                    batch.damage.push(format!("{}: missing; events {} to {} are lost", self.segment_path(self.next_seq).display(), self.next_seq, next - 1));
                }
                self.next_seq = next;
                next
            }
        };
        match open_regular(&self.segment_path(start)) {
            Ok(file) => {
                self.open = Some(OpenSegment { file, offset: 0, start });
                Ok(true)
            }
            // Deleted between the listing and the open: list again next time.
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
            // Not a file the broker wrote (a directory, a link): left behind, with a gap.
            Err(e) => {
                batch.damage.push(format!("{}: cannot be read as a segment ({e}); skipped", self.segment_path(start).display()));
                self.left = self.left.max(start);
                if !batch.events.is_empty() {
                    batch.truncated = true;
                    return Ok(false);
                }
                self.open_next(batch)
            }
        }
    }

    fn later_segment_exists(&self, start: u64) -> Result<bool> {
        let starts = list_segments(&self.segments).map_err(|e| self.fail("cannot list segments/", e))?;
        Ok(starts.iter().any(|&s| s > start))
    }
}

/// Why the records of a chunk stopped.
enum Stop {
    /// Enough events.
    Full,
    /// The chunk ended inside a record: read again from it.
    Again,
    /// Nothing more that is whole.
    End,
    /// Bytes that are not a record.
    Corrupt,
}
