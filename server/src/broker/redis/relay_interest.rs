//! What the processes of a machine want from Redis, for its relay: each process says which
//! partitions its streams read in a file of its own, and the relay reads the partitions of all.
//!
//! ```text
//! <relay dir>/interest/<pid>-<n> the partitions a process reads: 16 hex digits, a bit each
//!                                (`n` counts the engines of a process: one per URL, more in tests)
//! <relay dir>/interest/changed   rewritten after any process's file grew
//! ```
//!
//! A process holds a shared lock (`F_OFD_SETLK`, read) on its file while it lives: a file
//! nobody locks is a dead process's, and the relay removes it.
//!
//! Why a new stream cannot miss an event: its process writes its file, then `changed`, before
//! the stream's catch-up reads Redis. The relay reads `changed` after each `XREAD` comes back
//! and before it relays what it read; when `changed` moved and the partitions wanted grew, the
//! read is given up and made again with them, from the same position. So whatever the relay
//! hands out after the stream registered covers its partitions from a position its catch-up
//! reaches.

use super::locks::{forget_descriptor, is_locked, open_file, open_shared};
use crate::broker::interest::Mask;
use parking_lot::Mutex;
use std::fs::{File, OpenOptions};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

pub struct RelayInterest {
    dir: PathBuf,
    /// `changed`, kept open: read after every `XREAD` of the relay.
    changed: File,
    /// This process's file, once written, and what it says.
    mine: Mutex<Option<(File, Mask)>>,
}

/// What `changed` held when last read: the relay compares it with what it holds now.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Version([u8; 16]);

impl RelayInterest {
    pub fn open(relay_dir: &Path) -> std::io::Result<RelayInterest> {
        let dir = relay_dir.join("interest");
        sse_core::broker::local_log::create_shared_dir(&dir)?;
        // Watched by the relay before any process has written it.
        let changed = open_file(&dir.join("changed"))?;
        Ok(RelayInterest { dir, changed, mine: Mutex::new(None) })
    }

    /// The file the relay watches (inotify) to learn soon of a change.
    pub fn changed_path(&self) -> PathBuf {
        self.dir.join("changed")
    }

    /// Says that this process reads the partitions of `mask` (a grown mask also moves
    /// `changed`). On the PHP thread before a stream's catch-up, or on the runtime's.
    pub fn advertise(&self, mask: Mask) -> std::io::Result<()> {
        let mut mine = self.mine.lock();
        let (grew, file) = match mine.as_mut() {
            Some((_, written)) if *written == mask => return Ok(()),
            Some((file, written)) => (mask & !*written != 0, &*file),
            None => {
                static ENGINES: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
                let n = ENGINES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let file = open_shared(&self.dir.join(format!("{}-{n}", std::process::id())))?;
                (mask != 0, &mine.insert((file, 0)).0)
            }
        };
        file.write_all_at(format!("{mask:016x}\n").as_bytes(), 0)?;
        if grew {
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
            let mut stamp = [0u8; 16];
            stamp[..8].copy_from_slice(&u64::from(std::process::id()).to_le_bytes());
            stamp[8..].copy_from_slice(&now.to_le_bytes());
            self.changed.write_all_at(&stamp, 0)?;
        }
        if let Some((_, written)) = mine.as_mut() {
            *written = mask;
        }
        Ok(())
    }

    /// What `changed` holds now.
    pub fn version(&self) -> Version {
        let mut stamp = [0u8; 16];
        let _ = self.changed.read_at(&mut stamp, 0);
        Version(stamp)
    }

    /// The partitions the machine's processes read: those of every live process's file. Files
    /// of processes that are gone are removed.
    pub fn machine(&self) -> Mask {
        self.read_files(None)
    }

    /// The partitions the machine's other processes read.
    pub fn others(&self) -> Mask {
        let mine = self.mine.lock().as_ref().map(|(file, _)| file.as_raw_fd());
        self.read_files(mine)
    }

    fn read_files(&self, skip: Option<std::os::fd::RawFd>) -> Mask {
        let skip = skip.and_then(|fd| std::fs::read_link(format!("/proc/self/fd/{fd}")).ok());
        let Ok(entries) = std::fs::read_dir(&self.dir) else { return 0 };
        let mut mask = 0;
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(name) = name.to_str().filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit() || b == b'-')) else { continue };
            let path = self.dir.join(name);
            if skip.as_deref() == Some(path.as_path()) {
                continue;
            }
            let Ok(file) = OpenOptions::new().read(true).custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC).open(&path) else { continue };
            if !is_locked(&file) {
                let _ = std::fs::remove_file(&path);
                continue;
            }
            let mut text = [0u8; 16];
            if file.read_at(&mut text, 0).is_ok_and(|n| n == 16) {
                if let Some(found) = std::str::from_utf8(&text).ok().and_then(|t| Mask::from_str_radix(t, 16).ok()) {
                    mask |= found;
                }
            }
        }
        mask
    }
}

impl Drop for RelayInterest {
    fn drop(&mut self) {
        if let Some((file, _)) = self.mine.get_mut() {
            forget_descriptor(file.as_raw_fd());
        }
    }
}
