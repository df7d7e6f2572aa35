//! The embedded broker's log: a directory that the processes of one machine share (php-fpm
//! workers, Apache children, CLI publishers). No server runs; the kernel does the work.
//!
//! ```text
//! <dir>/epoch                     the log's random name (see `event_id`)
//! <dir>/lock                      publishers take an exclusive flock(2) on it
//! <dir>/head                      next sequence number, current segment, its end (checksummed)
//! <dir>/segments/<start>.log      records (see `stored`), `start` = seq of the first one
//! ```
//!
//! Publishing appends one record to the newest segment and then rewrites `head`, both under
//! the lock; only publishers take it, so a publish never waits for a reader. A publisher
//! killed in the middle leaves at most a torn record after the end `head` names: readers never
//! accept it (its length or checksum is wrong) and the next publisher cuts it off before
//! appending; a record written whole but not yet in `head` is adopted instead. A reader needs
//! no lock: it reads `head` (one `pread` of a file it keeps open), then the records of its
//! segment up to the end `head` names, and moves on to the next segment once `head` names a
//! later one. So a read costs no `stat` and no lookup of a file that does not exist yet (on a
//! disk file system each such lookup would leave a negative dentry behind, one per event).
//! When `head` cannot be decoded (read while being rewritten), the segment's size and the
//! existence of a file named after the next sequence number say the same. Readers learn of
//! new records by watching `head` with inotify (the writes are plain `pwrite`s, which inotify
//! reports).
//!
//! History is bounded without a cron: a new segment starts every `max_events / 8` events, and
//! the publisher that starts it deletes the oldest segments that hold only events beyond the
//! count, or that were last written more than `max_age` ago. Events past `max_age` that still
//! sit in a kept segment are skipped by readers as if deleted.
//!
//! Permissions: the directory is created `02770` (setgid, so files keep its group) and every
//! file `0660`, whatever the umask: the web server's user and CLI publishers share it through
//! their group.

use super::history::History;
use super::stored::{claimed_len, decode_record, now_ms, Record, StoredEvent};
use super::{Batch, Epoch, Position};
use crate::error::{Error, Result};
use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{DirBuilderExt, FileExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

pub const DIR_MODE: u32 = 0o2770;
pub const FILE_MODE: u32 = 0o660;

const HEAD_LEN: usize = 28;
/// The most a reader keeps of its read buffer between reads.
const KEPT_BUFFER: usize = 256 * 1024;
/// What a reader reads of a segment at once (more only for a record that is larger).
const READ_CHUNK: usize = 64 * 1024;
/// A read returns once its events' frames add up to this much, however many were asked for.
const BATCH_BYTES: usize = 8 << 20;
/// Sequence numbers stay below this (2^62: at a million events a second, 146,000 years): a
/// number read from a file above it is damage, and a log that reaches it refuses publishes
/// instead of wrapping around.
pub const MAX_SEQ: u64 = 1 << 62;
/// No segment holds more than this many bytes (a number in `head` above it is damage).
const MAX_SEGMENT_END: u64 = 1 << 48;

pub struct LocalLog {
    dir: PathBuf,
    epoch: Epoch,
    /// The publisher's open files, kept between publishes of this process.
    appender: Mutex<Option<Appender>>,
    /// Damage publishing found (see `take_damage`).
    damage: Mutex<Vec<String>>,
}

struct Appender {
    lock: File,
    files: Files,
}

/// The files a publisher writes while it holds the lock.
struct Files {
    head: File,
    segment: Option<(u64, File)>,
}

/// What `head` says: the next sequence number and where the next record goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Head {
    next_seq: u64,
    segment: u64,
    end: u64,
}

impl LocalLog {
    /// Opens the log in `dir`, creating the directory and its files when missing.
    pub fn open(dir: &Path) -> Result<LocalLog> {
        let fail = |what: &str, e: std::io::Error| Error::unavailable(format!("local://{}", dir.display()), format!("{what}: {e}"));
        if !dir.is_absolute() {
            return Err(Error::invalid_argument("url", format!("the directory of a local broker must be absolute, got \"{}\"", dir.display())));
        }
        create_dir(dir).map_err(|e| fail("cannot create the directory", e))?;
        check_not_foreign(dir)?;
        create_dir(&dir.join("segments")).map_err(|e| fail("cannot create segments/", e))?;
        let epoch = read_or_create_epoch(dir).map_err(|e| fail("cannot read or create the epoch file", e))?;
        // Subscribers watch `head` before anything was published.
        open_file(&dir.join("head")).map_err(|e| fail("cannot create head", e))?;
        Ok(LocalLog { dir: dir.to_owned(), epoch, appender: Mutex::new(None), damage: Mutex::new(Vec::new()) })
    }

    pub fn epoch(&self) -> &Epoch {
        &self.epoch
    }

    /// The file that changes on every publish: watch it to learn of new events.
    pub fn head_path(&self) -> PathBuf {
        self.dir.join("head")
    }

    fn fail(&self, what: &str, e: std::io::Error) -> Error {
        Error::unavailable(format!("local://{}", self.dir.display()), format!("{what}: {e}"))
    }

    /// Appends one event and returns its position. Either the whole event is in the log when
    /// this returns, or (on an error) nothing of it is visible to readers.
    pub fn append(&self, topics: &[String], frame: &[u8], id_slot: usize, history: &History) -> Result<Position> {
        let mut slot = self.appender.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if slot.is_none() {
            *slot = Some(self.open_appender()?);
        }
        let Some(appender) = slot.as_mut() else { return Err(self.fail("cannot open the log", std::io::Error::other("no appender"))) };
        let result = self.append_locked(appender, topics, frame, id_slot, history);
        if result.is_err() {
            // Reopen everything next time: a file may have been removed under us.
            *slot = None;
        }
        result
    }

    fn open_appender(&self) -> Result<Appender> {
        let lock = open_file(&self.dir.join("lock")).map_err(|e| self.fail("cannot open lock", e))?;
        let head = open_file(&self.head_path()).map_err(|e| self.fail("cannot open head", e))?;
        Ok(Appender { lock, files: Files { head, segment: None } })
    }

    fn append_locked(&self, appender: &mut Appender, topics: &[String], frame: &[u8], id_slot: usize, history: &History) -> Result<Position> {
        let _locked = FileLock::take(&appender.lock).map_err(|e| self.fail("cannot lock", e))?;
        let files = &mut appender.files;
        let mut head = self.current_head(files)?;
        if head.next_seq >= MAX_SEQ - 1 {
            return Err(self.fail("cannot publish", std::io::Error::other(format!("the log's sequence numbers are used up (next {}); move the directory away to start a new log", head.next_seq))));
        }
        let segment_len = (history.max_events / 8).max(16);
        if head.next_seq - head.segment >= segment_len {
            head = Head { next_seq: head.next_seq, segment: head.next_seq, end: 0 };
            let file = create_segment(&self.segment_path(head.segment)).map_err(|e| self.fail("cannot create a segment", e))?;
            files.segment = Some((head.segment, file));
            self.reclaim(head, history);
        }
        let event = StoredEvent {
            position: Position::seq(head.next_seq),
            time_ms: now_ms(),
            topics: topics.to_vec().into(),
            frame: frame.into(),
            id_slot,
        };
        let record = event.encode_record();
        let file = self.segment_file(files, head.segment)?;
        file.write_all_at(&record, head.end).map_err(|e| self.fail("cannot write", e))?;
        let written = Head { next_seq: head.next_seq + 1, segment: head.segment, end: head.end + record.len() as u64 };
        files.head.write_all_at(&written.encode(), 0).map_err(|e| self.fail("cannot write head", e))?;
        Ok(event.position)
    }

    /// The head, repaired if the last publisher died between its record and its head write,
    /// or in the middle of its record.
    fn current_head(&self, files: &mut Files) -> Result<Head> {
        let mut bytes = [0u8; HEAD_LEN];
        let read = files.head.read_at(&mut bytes, 0).map_err(|e| self.fail("cannot read head", e))?;
        let head = match Head::decode(&bytes[..read]) {
            Some(head) => head,
            None => self.recover_head()?,
        };
        let file = self.segment_file(files, head.segment)?;
        let size = file.metadata().map_err(|e| self.fail("cannot stat a segment", e))?.len();
        if size == head.end {
            return Ok(head);
        }
        if size < head.end {
            // Shorter than what head says was written whole: deleted and recreated, truncated,
            // or head names the wrong file. Whatever was there is lost; the log goes on in a
            // new segment from head's next number, and readers see the gap.
            self.damage(format!("{}: holds {size} bytes, head says {}; the log goes on in a new segment", self.segment_path(head.segment).display(), head.end));
            let segment = head.next_seq;
            let file = create_segment(&self.segment_path(segment)).map_err(|e| self.fail("cannot create a segment", e))?;
            let end = file.metadata().map_err(|e| self.fail("cannot stat a segment", e))?.len();
            files.segment = Some((segment, file));
            let head = Head { next_seq: segment, segment, end: 0 };
            if end > 0 {
                // A segment of that name holds something already (left by a publisher killed
                // right after creating it): adopt its whole records, cut off the rest.
                return self.current_head_of(files, head);
            }
            return Ok(head);
        }
        self.current_head_of(files, head)
    }

    /// The head once its segment is at least as long as it says: records after its end are
    /// adopted when whole, cut off when torn.
    fn current_head_of(&self, files: &mut Files, head: Head) -> Result<Head> {
        let file = self.segment_file(files, head.segment)?;
        let size = file.metadata().map_err(|e| self.fail("cannot stat a segment", e))?.len();
        // Records after the end: adopt whole ones, cut off a torn one.
        let (adopted, end) = scan(file, head.end).map_err(|e| self.fail("cannot read a segment", e))?;
        if end < size {
            file.set_len(end).map_err(|e| self.fail("cannot cut off a torn record", e))?;
        }
        let next_seq = adopted.map_or(head.next_seq, |last| last.major + 1).max(head.next_seq);
        Ok(Head { next_seq, segment: head.segment, end })
    }

    /// Notes damage found while publishing, for the extension to log once (see `take_damage`).
    fn damage(&self, message: String) {
        let mut found = self.damage.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if found.len() < 16 {
            found.push(message);
        }
    }

    /// Damage the publishing side found and repaired or went around since the last call.
    pub fn take_damage(&self) -> Vec<String> {
        std::mem::take(&mut *self.damage.lock().unwrap_or_else(|poisoned| poisoned.into_inner()))
    }

    /// Rebuilds the head of a new log, or of one whose head is unreadable, from its segments.
    fn recover_head(&self) -> Result<Head> {
        let starts = self.segment_starts()?;
        let Some(&segment) = starts.last() else {
            create_segment(&self.segment_path(1)).map_err(|e| self.fail("cannot create a segment", e))?;
            return Ok(Head { next_seq: 1, segment: 1, end: 0 });
        };
        let file = open_regular(&self.segment_path(segment)).map_err(|e| self.fail("cannot open a segment", e))?;
        let (last, end) = scan(&file, 0).map_err(|e| self.fail("cannot read a segment", e))?;
        let next_seq = last.map_or(segment, |p| p.major + 1).max(segment);
        Ok(Head { next_seq, segment, end })
    }

    fn segment_file<'a>(&self, files: &'a mut Files, start: u64) -> Result<&'a File> {
        if files.segment.as_ref().is_none_or(|(s, _)| *s != start) {
            let file = open_file(&self.segment_path(start)).map_err(|e| self.fail("cannot open a segment", e))?;
            files.segment = Some((start, file));
        }
        match files.segment.as_ref() {
            Some((_, file)) => Ok(file),
            None => Err(self.fail("cannot open a segment", ErrorKind::NotFound.into())),
        }
    }

    /// Deletes the segments that hold only events beyond the history. Best effort: a segment
    /// that cannot be deleted now is deleted at a later roll.
    fn reclaim(&self, head: Head, history: &History) {
        let Ok(starts) = self.segment_starts() else { return };
        let oldest_allowed = std::time::SystemTime::now().checked_sub(history.max_age);
        for pair in starts.windows(2) {
            let (start, next) = (pair[0], pair[1]);
            let beyond_count = head.next_seq.saturating_sub(next) >= history.max_events;
            let path = self.segment_path(start);
            let too_old = oldest_allowed
                .zip(fs::metadata(&path).and_then(|m| m.modified()).ok())
                .is_some_and(|(oldest, written)| written < oldest);
            if !(beyond_count || too_old) {
                break;
            }
            let _ = fs::remove_file(path);
        }
    }

    fn segment_path(&self, start: u64) -> PathBuf {
        self.dir.join("segments").join(segment_name(start))
    }

    /// The first sequence numbers of the segments present, ascending.
    fn segment_starts(&self) -> Result<Vec<u64>> {
        list_segments(&self.dir.join("segments")).map_err(|e| self.fail("cannot list segments/", e))
    }

    /// The position of the newest event (`Position::ZERO` for an empty log).
    pub fn last_position(&self) -> Result<Position> {
        let bytes = match fs::read(self.head_path()) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Position::ZERO),
            Err(e) => return Err(self.fail("cannot read head", e)),
        };
        match Head::decode(&bytes) {
            Some(head) => Ok(Position::seq(head.next_seq.saturating_sub(1))),
            None => Ok(Position::ZERO),
        }
    }

    /// Up to `max` events after `after`, oldest first. `gap` is set when events after it are
    /// gone (beyond the history's count or age).
    pub fn read_after(&self, after: Position, max: usize, history: &History) -> Result<Batch> {
        let mut reader = Reader::new(self, after.major.saturating_add(1));
        reader.read(max, history)
    }

    /// A reader that follows the log from `after` on, for a live subscriber. From the newest
    /// event (the usual case) it starts where `head` says the next record goes, instead of
    /// reading the current segment from its start (up to `max_events / 8` events) to get there.
    pub fn follow(&self, after: Position) -> Reader {
        let mut reader = Reader::new(self, after.major.saturating_add(1));
        if let Some(head) = reader.read_head().filter(|head| head.next_seq == after.major.saturating_add(1)) {
            if let Ok(file) = open_regular(&self.segment_path(head.segment)) {
                reader.open = Some(OpenSegment { file, offset: head.end, start: head.segment });
            }
        }
        reader
    }
}

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
    fn new(log: &LocalLog, next_seq: u64) -> Reader {
        Reader {
            log_dir: log.dir.clone(),
            segments: log.dir.join("segments"),
            next_seq,
            open: None,
            left: 0,
            buffer: Vec::new(),
            head: None,
        }
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
        loop {
            let offset = segment.offset;
            let len = match written_end {
                Some(end) => end.saturating_sub(offset).min(want as u64) as usize,
                None => want,
            };
            self.buffer.clear();
            let got = read_at_most(&segment.file, offset, len, &mut self.buffer).map_err(|e| {
                Error::unavailable(format!("local://{}", self.log_dir.display()), format!("cannot read {}: {e}", segment_name(start)))
            })?;
            let short = got < len;
            let mut at = 0;
            let mut stop = None;
            while batch.events.len() < max && batch.bytes() < BATCH_BYTES {
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
                    batch.events.push(event);
                }
            }
            segment.offset += at as u64;
            match stop {
                Some(Stop::Again) => continue,
                None | Some(Stop::Full) => {
                    if batch.bytes() >= BATCH_BYTES && batch.events.len() < max {
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
                        batch.damage.push(format!("{}: {reason} at offset {offset}; the events up to {} are lost", self.segment_path(start).display(), told.next_seq.saturating_sub(1)));
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
                    batch.damage.push(format!(
                        "{}: missing; events {} to {} are lost",
                        self.segment_path(self.next_seq).display(),
                        self.next_seq,
                        next - 1
                    ));
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

/// Reads up to `len` bytes of a file from `offset` into `out` (fewer at its end); how many.
fn read_at_most(file: &File, offset: u64, len: usize, out: &mut Vec<u8>) -> std::io::Result<usize> {
    out.resize(len, 0);
    let mut filled = 0;
    while filled < len {
        match file.read_at(&mut out[filled..], offset + filled as u64) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    out.truncate(filled);
    Ok(filled)
}

/// Walks whole records from `offset`: the position of the last one and the end of it. Reads
/// a chunk at a time, so a publisher repairing a large segment holds one record at most.
fn scan(file: &File, offset: u64) -> std::io::Result<(Option<Position>, u64)> {
    let (mut buffer, mut last, mut end, mut want) = (Vec::new(), None, offset, READ_CHUNK);
    loop {
        let got = read_at_most(file, end, want, &mut buffer)?;
        let mut at = 0;
        while let Record::Event(event, len) = decode_record(&buffer[at..]) {
            at += len;
            last = Some(event.position);
        }
        end += at as u64;
        if got < want {
            return Ok((last, end));
        }
        match claimed_len(&buffer[at..]) {
            // Cut by the chunk: read again from it, with room for all of it.
            Some(needed) if at == 0 && needed > want => want = needed,
            _ if at > 0 => {}
            _ => return Ok((last, end)),
        }
    }
}

fn segment_path(segments: &Path, start: u64) -> PathBuf {
    segments.join(segment_name(start))
}

/// `segments/` file name of the segment whose first sequence number is `start`.
fn segment_name(start: u64) -> String {
    format!("{start:020}.log")
}

/// The first sequence numbers of the segments in `dir`, ascending. Only names the broker
/// writes count (20 digits, `.log`, a number below `MAX_SEQ`): `LocalLog::open` refuses a
/// directory holding other `.log` names, and one that appears later is never read.
fn list_segments(dir: &Path) -> std::io::Result<Vec<u64>> {
    let mut starts: Vec<u64> = fs::read_dir(dir)?.filter_map(|entry| segment_start(entry.ok()?.file_name().to_str()?)).collect();
    starts.sort_unstable();
    Ok(starts)
}

fn segment_start(name: &str) -> Option<u64> {
    let digits = name.strip_suffix(".log")?;
    if digits.len() != 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok().filter(|&start| (1..MAX_SEQ).contains(&start))
}

/// Opens a file of the log for reading: a regular file, never through a symbolic link.
fn open_regular(path: &Path) -> std::io::Result<File> {
    let file = OpenOptions::new().read(true).custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC).open(path)?;
    if !file.metadata()?.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    Ok(file)
}

/// Refuses a directory holding files the broker did not write where it keeps its own: a
/// symbolic link, a directory or a device in place of `epoch`, `head`, `lock`, `segments/` or
/// a segment, or a `.log` file whose name is not a segment's. Each would otherwise make the
/// broker read what it must not, or fail in a way that names nothing.
fn check_not_foreign(dir: &Path) -> Result<()> {
    let foreign = |path: &Path, what: &str| {
        Err(Error::unavailable(
            format!("local://{}", dir.display()),
            format!("{} is {what}, not a file the broker wrote; remove it (see the README: cleaning a broker directory)", path.display()),
        ))
    };
    let kind = |path: &Path| fs::symlink_metadata(path).map(|m| m.file_type());
    for name in ["epoch", "head", "lock"] {
        let path = dir.join(name);
        match kind(&path) {
            Ok(t) if t.is_symlink() => return foreign(&path, "a symbolic link"),
            Ok(t) if !t.is_file() => return foreign(&path, "not a regular file"),
            _ => {}
        }
    }
    let segments = dir.join("segments");
    match kind(&segments) {
        Ok(t) if t.is_symlink() => return foreign(&segments, "a symbolic link"),
        Ok(t) if !t.is_dir() => return foreign(&segments, "not a directory"),
        Ok(_) => {}
        Err(_) => return Ok(()),
    }
    let entries = fs::read_dir(&segments)
        .map_err(|e| Error::unavailable(format!("local://{}", dir.display()), format!("cannot list {}: {e}", segments.display())))?;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str().filter(|n| n.ends_with(".log")) else { continue };
        let path = segments.join(name);
        if segment_start(name).is_none() {
            return foreign(&path, "a .log file whose name is not a segment's (20 digits, a number from 1 below 2^62)");
        }
        match entry.file_type() {
            Ok(t) if t.is_symlink() => return foreign(&path, "a symbolic link"),
            Ok(t) if !t.is_file() => return foreign(&path, "not a regular file"),
            _ => {}
        }
    }
    Ok(())
}

impl Head {
    fn encode(&self) -> [u8; HEAD_LEN] {
        let mut out = [0u8; HEAD_LEN];
        out[0..8].copy_from_slice(&self.next_seq.to_le_bytes());
        out[8..16].copy_from_slice(&self.segment.to_le_bytes());
        out[16..24].copy_from_slice(&self.end.to_le_bytes());
        let crc = crc32fast::hash(&out[..24]);
        out[24..28].copy_from_slice(&crc.to_le_bytes());
        out
    }

    fn decode(bytes: &[u8]) -> Option<Head> {
        if bytes.len() != HEAD_LEN || crc32fast::hash(&bytes[..24]).to_le_bytes() != bytes[24..28] {
            return None;
        }
        let u64_at = |at: usize| bytes[at..at + 8].try_into().ok().map(u64::from_le_bytes);
        let head = Head { next_seq: u64_at(0)?, segment: u64_at(8)?, end: u64_at(16)? };
        let sane = head.segment >= 1 && head.next_seq >= head.segment && head.next_seq < MAX_SEQ && head.end <= MAX_SEGMENT_END;
        sane.then_some(head)
    }
}

/// An exclusive flock(2), released when dropped (and by the kernel if the process dies).
struct FileLock<'a>(&'a File);

impl<'a> FileLock<'a> {
    fn take(file: &'a File) -> std::io::Result<FileLock<'a>> {
        loop {
            // SAFETY: flock on a descriptor this `File` owns for the lock's whole lifetime.
            if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } == 0 {
                return Ok(FileLock(file));
            }
            let error = std::io::Error::last_os_error();
            if error.kind() != ErrorKind::Interrupted {
                return Err(error);
            }
        }
    }
}

impl Drop for FileLock<'_> {
    fn drop(&mut self) {
        // SAFETY: as in `take`; unlocking a lock this process holds.
        unsafe { libc::flock(self.0.as_raw_fd(), libc::LOCK_UN) };
    }
}

fn create_dir(dir: &Path) -> std::io::Result<()> {
    fs::DirBuilder::new().recursive(true).mode(DIR_MODE).create(dir)?;
    if !dir.is_dir() {
        return Err(std::io::Error::other("not a directory"));
    }
    // Created by us: set the mode exactly (the umask cut it). Someone else's: leave it.
    let metadata = fs::metadata(dir)?;
    // SAFETY: geteuid has no preconditions.
    if std::os::unix::fs::MetadataExt::uid(&metadata) == unsafe { libc::geteuid() } && metadata.permissions().mode() & 0o7777 != DIR_MODE {
        let _ = fs::set_permissions(dir, fs::Permissions::from_mode(DIR_MODE));
    }
    // Writable? Find out now, with a clear message, rather than at the first publish.
    // SAFETY: the path is a valid C string for the duration of the call.
    let path = std::ffi::CString::new(dir.as_os_str().as_encoded_bytes()).map_err(|_| std::io::Error::from(ErrorKind::InvalidInput))?;
    if unsafe { libc::access(path.as_ptr(), libc::W_OK | libc::X_OK) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

fn open_file(path: &Path) -> std::io::Result<File> {
    // Never through a symbolic link: a link planted in the directory must not make a
    // publisher write elsewhere.
    let file = OpenOptions::new().read(true).write(true).create(true).mode(FILE_MODE).custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC).open(path)?;
    if !file.metadata()?.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    set_file_mode(&file);
    Ok(file)
}

fn create_segment(path: &Path) -> std::io::Result<File> {
    // A segment left by a publisher that died right after creating it is reused (it is empty
    // or holds only a torn record, which `current_head` cuts off).
    open_file(path)
}

fn set_file_mode(file: &File) {
    if let Ok(metadata) = file.metadata() {
        if metadata.permissions().mode() & 0o777 != FILE_MODE {
            let _ = file.set_permissions(fs::Permissions::from_mode(FILE_MODE));
        }
    }
}

fn read_or_create_epoch(dir: &Path) -> std::io::Result<Epoch> {
    let path = dir.join("epoch");
    // Bounded: a file that stays wrong and cannot be replaced is an error, not a loop.
    for _ in 0..50 {
        match read_small(&path) {
            Ok(text) => match Epoch::parse(&text) {
                Some(epoch) => return Ok(epoch),
                // Being written by another process right now (or damaged): replace it only if
                // it stays wrong.
                None => {
                    std::thread::sleep(std::time::Duration::from_millis(5));
                    if let Some(epoch) = read_small(&path).ok().and_then(|t| Epoch::parse(&t)) {
                        return Ok(epoch);
                    }
                    let _ = fs::remove_file(&path);
                }
            },
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        // Written to a temporary name and linked into place, so no reader sees half of it and
        // exactly one of several racing processes wins.
        let epoch = Epoch::generate()?;
        let temporary = dir.join(format!(".epoch.{}", std::process::id()));
        {
            let _ = fs::remove_file(&temporary);
            let mut file = OpenOptions::new().write(true).create_new(true).mode(FILE_MODE).custom_flags(libc::O_NOFOLLOW).open(&temporary)?;
            set_file_mode(&file);
            file.write_all(format!("{}\n", epoch.as_str()).as_bytes())?;
        }
        let linked = fs::hard_link(&temporary, &path);
        let _ = fs::remove_file(&temporary);
        match linked {
            Ok(()) => return Ok(epoch),
            Err(e) if e.kind() == ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::other(format!("{} holds no epoch and cannot be replaced", path.display())))
}

/// The start of a small file (an epoch is 13 bytes): a huge or endless file is not read whole.
fn read_small(path: &Path) -> std::io::Result<String> {
    use std::io::Read;
    let file = OpenOptions::new().read(true).custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK).open(path)?;
    if !file.metadata()?.is_file() {
        return Err(std::io::Error::other(format!("{} is not a regular file", path.display())));
    }
    let mut text = String::new();
    file.take(64).read_to_string(&mut text)?;
    Ok(text)
}
