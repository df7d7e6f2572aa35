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
use super::stored::{decode_record, now_ms, Record, StoredEvent};
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

pub struct LocalLog {
    dir: PathBuf,
    epoch: Epoch,
    /// The publisher's open files, kept between publishes of this process.
    appender: Mutex<Option<Appender>>,
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
        create_dir(&dir.join("segments")).map_err(|e| fail("cannot create segments/", e))?;
        let epoch = read_or_create_epoch(dir).map_err(|e| fail("cannot read or create the epoch file", e))?;
        // Subscribers watch `head` before anything was published.
        open_file(&dir.join("head")).map_err(|e| fail("cannot create head", e))?;
        Ok(LocalLog { dir: dir.to_owned(), epoch, appender: Mutex::new(None) })
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
        // Records after the end: adopt whole ones, cut off a torn one.
        let (adopted, end) = scan(file, head.end).map_err(|e| self.fail("cannot read a segment", e))?;
        if end < size {
            file.set_len(end).map_err(|e| self.fail("cannot cut off a torn record", e))?;
        }
        let next_seq = adopted.map_or(head.next_seq, |last| last.major + 1);
        Ok(Head { next_seq, segment: head.segment, end })
    }

    /// Rebuilds the head of a new log, or of one whose head is unreadable, from its segments.
    fn recover_head(&self) -> Result<Head> {
        let starts = self.segment_starts()?;
        let Some(&segment) = starts.last() else {
            create_segment(&self.segment_path(1)).map_err(|e| self.fail("cannot create a segment", e))?;
            return Ok(Head { next_seq: 1, segment: 1, end: 0 });
        };
        let file = File::open(self.segment_path(segment)).map_err(|e| self.fail("cannot open a segment", e))?;
        let (last, end) = scan(&file, 0).map_err(|e| self.fail("cannot read a segment", e))?;
        Ok(Head { next_seq: last.map_or(segment, |p| p.major + 1), segment, end })
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
            let beyond_count = head.next_seq - next >= history.max_events;
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
        self.dir.join("segments").join(format!("{start:020}.log"))
    }

    /// The first sequence numbers of the segments present, ascending.
    fn segment_starts(&self) -> Result<Vec<u64>> {
        let entries = fs::read_dir(self.dir.join("segments")).map_err(|e| self.fail("cannot list segments/", e))?;
        let mut starts: Vec<u64> = entries
            .filter_map(|entry| entry.ok()?.file_name().to_str()?.strip_suffix(".log")?.parse().ok())
            .collect();
        starts.sort_unstable();
        Ok(starts)
    }

    /// The position of the newest event (`Position::ZERO` for an empty log).
    pub fn last_position(&self) -> Result<Position> {
        let bytes = match fs::read(self.head_path()) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Position::ZERO),
            Err(e) => return Err(self.fail("cannot read head", e)),
        };
        match Head::decode(&bytes) {
            Some(head) => Ok(Position::seq(head.next_seq - 1)),
            None => Ok(Position::ZERO),
        }
    }

    /// Up to `max` events after `after`, oldest first. `gap` is set when events after it are
    /// gone (beyond the history's count or age).
    pub fn read_after(&self, after: Position, max: usize, history: &History) -> Result<Batch> {
        let mut reader = Reader::new(self, after.major + 1);
        reader.read(max, history)
    }

    /// A reader that follows the log from `after` on, for a live subscriber. From the newest
    /// event (the usual case) it starts where `head` says the next record goes, instead of
    /// reading the current segment from its start (up to `max_events / 8` events) to get there.
    pub fn follow(&self, after: Position) -> Reader {
        let mut reader = Reader::new(self, after.major + 1);
        if let Some(head) = reader.read_head().filter(|head| head.next_seq == after.major + 1) {
            if let Ok(file) = File::open(self.segment_path(head.segment)) {
                reader.open = Some((file, head.end, head.segment));
            }
        }
        reader
    }
}

/// Reads a log forward from a sequence number, keeping its place between calls.
pub struct Reader {
    log_dir: PathBuf,
    segments: PathBuf,
    next_seq: u64,
    /// The segment being read: its file, the offset read up to, its first sequence number.
    open: Option<(File, u64, u64)>,
    buffer: Vec<u8>,
    /// `head`, kept open once read (None until then, or while it cannot be opened).
    head: Option<File>,
}

impl Reader {
    fn new(log: &LocalLog, next_seq: u64) -> Reader {
        Reader { log_dir: log.dir.clone(), segments: log.dir.join("segments"), next_seq, open: None, buffer: Vec::new(), head: None }
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
        while batch.events.len() < max {
            if self.open.is_none() && !self.open_segment(&mut batch)? {
                break;
            }
            let Some((file, offset, start)) = self.open.as_mut() else { break };
            let start = *start;
            // What head says of this segment: the newest one, written up to `end`, or finished
            // (head names a later one). Unknown when head is unreadable or names an older
            // segment (the log was replaced under this reader).
            let told = head.filter(|head| head.segment >= start);
            self.buffer.clear();
            let read = match told.filter(|head| head.segment == start) {
                Some(head) => read_range(file, *offset, head.end, &mut self.buffer),
                None => read_from(file, *offset, &mut self.buffer),
            };
            if let Err(e) = read {
                return Err(self.fail("cannot read a segment", e));
            }
            let mut at = 0;
            while batch.events.len() < max {
                let Record::Event(event, len) = decode_record(&self.buffer[at..]) else { break };
                at += len;
                if event.position.major < self.next_seq {
                    continue; // before the place this reader was asked to start from
                }
                self.next_seq = event.position.major + 1;
                if event.time_ms < expired_before {
                    batch.gap = true;
                } else {
                    batch.events.push(event);
                }
            }
            if let Some((_, offset, _)) = self.open.as_mut() {
                *offset += at as u64;
            }
            if batch.events.len() >= max {
                break;
            }
            // At the end of what is written: this segment is finished once a later one exists.
            let finished = match told {
                Some(head) => head.segment > start,
                None => self.segment_exists(self.next_seq),
            };
            if finished && self.next_seq != start {
                self.open = None;
                continue;
            }
            break;
        }
        if self.buffer.capacity() > KEPT_BUFFER {
            // A long catch-up read much at once: a reader that follows for hours keeps little.
            self.buffer = Vec::new();
        }
        Ok(batch)
    }

    /// What `head` says now; None when it cannot be read or decoded (being rewritten).
    fn read_head(&mut self) -> Option<Head> {
        if self.head.is_none() {
            self.head = File::open(self.log_dir.join("head")).ok();
        }
        let mut bytes = [0u8; HEAD_LEN];
        let read = self.head.as_ref()?.read_at(&mut bytes, 0).ok()?;
        Head::decode(&bytes[..read])
    }

    /// Opens the segment holding `next_seq`; false when there is nothing to read yet.
    fn open_segment(&mut self, batch: &mut Batch) -> Result<bool> {
        let entries = match fs::read_dir(&self.segments) {
            Ok(entries) => entries,
            Err(e) => return Err(self.fail("cannot list segments/", e)),
        };
        let mut starts: Vec<u64> = entries
            .filter_map(|entry| entry.ok()?.file_name().to_str()?.strip_suffix(".log")?.parse().ok())
            .collect();
        starts.sort_unstable();
        let Some(&oldest) = starts.first() else { return Ok(false) };
        if self.next_seq < oldest {
            // Deleted by a newer publisher's roll: whatever was there is lost to this reader.
            batch.gap = true;
            self.next_seq = oldest;
        }
        let Some(&start) = starts.iter().rev().find(|&&s| s <= self.next_seq) else { return Ok(false) };
        match File::open(self.segments.join(format!("{start:020}.log"))) {
            Ok(file) => {
                self.open = Some((file, 0, start));
                Ok(true)
            }
            // Deleted between the listing and the open: list again next time.
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
            Err(e) => Err(self.fail("cannot open a segment", e)),
        }
    }

    fn segment_exists(&self, start: u64) -> bool {
        self.segments.join(format!("{start:020}.log")).exists()
    }
}

/// Reads a file from `offset` up to `end` (fewer bytes if it is shorter) into `out`.
fn read_range(file: &File, offset: u64, end: u64, out: &mut Vec<u8>) -> std::io::Result<()> {
    if end <= offset {
        return Ok(());
    }
    out.resize((end - offset) as usize, 0);
    let mut filled = 0;
    while filled < out.len() {
        let n = file.read_at(&mut out[filled..], offset + filled as u64)?;
        if n == 0 {
            break;
        }
        filled += n;
    }
    out.truncate(filled);
    Ok(())
}

/// Reads a file from `offset` to its end into `out`.
fn read_from(file: &File, offset: u64, out: &mut Vec<u8>) -> std::io::Result<()> {
    read_range(file, offset, file.metadata()?.len(), out)
}

/// Walks whole records from `offset`: the position of the last one and the end of it.
fn scan(file: &File, offset: u64) -> std::io::Result<(Option<Position>, u64)> {
    let mut buffer = Vec::new();
    read_from(file, offset, &mut buffer)?;
    let (mut at, mut last) = (0, None);
    while let Record::Event(event, len) = decode_record(&buffer[at..]) {
        at += len;
        last = Some(event.position);
    }
    Ok((last, offset + at as u64))
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
        (head.next_seq >= head.segment && head.segment >= 1).then_some(head)
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
    let file = OpenOptions::new().read(true).write(true).create(true).mode(FILE_MODE).open(path)?;
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
    loop {
        match fs::read_to_string(&path) {
            Ok(text) => match Epoch::parse(&text) {
                Some(epoch) => return Ok(epoch),
                // Being written by another process right now (or damaged): replace it only if
                // it stays wrong.
                None => {
                    std::thread::sleep(std::time::Duration::from_millis(5));
                    if let Some(epoch) = fs::read_to_string(&path).ok().and_then(|t| Epoch::parse(&t)) {
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
            let mut file = OpenOptions::new().write(true).create(true).truncate(true).mode(FILE_MODE).open(&temporary)?;
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
}
