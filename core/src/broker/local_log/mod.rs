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

mod files;
mod reader;

use super::history::History;
use super::stored::{now_ms, StoredEvent};
use super::{Batch, Epoch, Position};
use crate::error::{Error, Result};
pub use files::create_dir as create_shared_dir;
use files::{check_not_foreign, create_dir, create_segment, list_segments, open_file, open_regular, read_or_create_epoch, scan, segment_name};
pub use reader::Reader;
use std::fs::{self, File};
use std::io::ErrorKind;
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileExt;
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
            return Err(self.fail(
                "cannot publish",
                std::io::Error::other(format!("the log's sequence numbers are used up (next {}); move the directory away to start a new log", head.next_seq)),
            ));
        }
        let segment_len = (history.max_events / 8).max(16);
        if head.next_seq - head.segment >= segment_len {
            head = Head { next_seq: head.next_seq, segment: head.next_seq, end: 0 };
            let file = create_segment(&self.segment_path(head.segment)).map_err(|e| self.fail("cannot create a segment", e))?;
            files.segment = Some((head.segment, file));
            self.reclaim(head, history);
        }
        let event = StoredEvent { position: Position::seq(head.next_seq), time_ms: now_ms(), topics: topics.to_vec().into(), frame: frame.into(), id_slot };
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
            let too_old = oldest_allowed.zip(fs::metadata(&path).and_then(|m| m.modified()).ok()).is_some_and(|(oldest, written)| written < oldest);
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

    /// A reader that follows the log from `after` on, for a live subscriber (see `Reader`).
    pub fn follow(&self, after: Position) -> Reader {
        Reader::following(self, after)
    }
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
