//! The log's files: names, listing, opening them safely, and refusing what the broker did not
//! write.

use super::{DIR_MODE, FILE_MODE, MAX_SEQ, READ_CHUNK};
use crate::broker::stored::{claimed_len, decode_record, Record};
use crate::broker::{Epoch, Position};
use crate::error::{Error, Result};
use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::os::unix::fs::{DirBuilderExt, FileExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Reads up to `len` bytes of a file from `offset` into `out` (fewer at its end); how many.
pub(super) fn read_at_most(file: &File, offset: u64, len: usize, out: &mut Vec<u8>) -> std::io::Result<usize> {
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
pub(super) fn scan(file: &File, offset: u64) -> std::io::Result<(Option<Position>, u64)> {
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

pub(super) fn segment_path(segments: &Path, start: u64) -> PathBuf {
    segments.join(segment_name(start))
}

/// `segments/` file name of the segment whose first sequence number is `start`.
pub(super) fn segment_name(start: u64) -> String {
    format!("{start:020}.log")
}

/// The first sequence numbers of the segments in `dir`, ascending. Only names the broker
/// writes count (20 digits, `.log`, a number below `MAX_SEQ`): `LocalLog::open` refuses a
/// directory holding other `.log` names, and one that appears later is never read.
pub(super) fn list_segments(dir: &Path) -> std::io::Result<Vec<u64>> {
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
pub(super) fn open_regular(path: &Path) -> std::io::Result<File> {
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
pub(super) fn check_not_foreign(dir: &Path) -> Result<()> {
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
    let entries =
        fs::read_dir(&segments).map_err(|e| Error::unavailable(format!("local://{}", dir.display()), format!("cannot list {}: {e}", segments.display())))?;
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

/// Creates `dir` (and its parents) for the processes of a machine to share: `02770` when
/// this process creates it, whatever the umask; an error when it cannot be written.
pub fn create_dir(dir: &Path) -> std::io::Result<()> {
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

pub(super) fn open_file(path: &Path) -> std::io::Result<File> {
    // Never through a symbolic link: a link planted in the directory must not make a
    // publisher write elsewhere.
    let file = OpenOptions::new().read(true).write(true).create(true).mode(FILE_MODE).custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC).open(path)?;
    if !file.metadata()?.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    set_file_mode(&file);
    Ok(file)
}

pub(super) fn create_segment(path: &Path) -> std::io::Result<File> {
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

pub(super) fn read_or_create_epoch(dir: &Path) -> std::io::Result<Epoch> {
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
