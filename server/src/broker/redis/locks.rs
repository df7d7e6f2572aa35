//! The locks on the relay's files: `relay.lock`, held exclusively by the relaying process, and
//! each process's `interest/<pid>-<n>`, held shared while the process lives. Both are open file
//! description locks (`F_OFD_SETLK`): released when the process dies, and two engines of one
//! process (tests) exclude each other as two processes do. A process forked from one holding
//! them shares their descriptions; it closes its copies (see [`close_inherited_locks`]), so that
//! a lock still goes when its holder dies.

use parking_lot::Mutex;
use std::fs::{File, OpenOptions};
use std::io::ErrorKind;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::fs::{FileExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// The exclusive lock on `relay.lock`, held by the relaying process; released when dropped
/// or when the process dies. The file says which process holds it (for people and tests).
pub struct RelayLock {
    file: File,
}

/// The lock descriptors (`relay.lock`, `interest/<pid>`) this process opened, with its pid
/// then: a forked child closes those of its parent (see [`close_inherited_locks`]).
static OPENED: Mutex<Vec<(u32, RawFd)>> = Mutex::new(Vec::new());

impl RelayLock {
    /// The lock if no other process (or engine) holds it.
    pub fn try_take(path: &Path) -> std::io::Result<Option<RelayLock>> {
        let file = open_file(path)?;
        // SAFETY: `flock` is plain data; all-zero is a valid value before the fields are set.
        let mut whole: libc::flock = unsafe { std::mem::zeroed() };
        whole.l_type = libc::F_WRLCK as libc::c_short;
        whole.l_whence = libc::SEEK_SET as libc::c_short;
        // SAFETY: an open descriptor this `File` owns and a valid `flock` for the call.
        if unsafe { libc::fcntl(file.as_raw_fd(), libc::F_OFD_SETLK, &whole) } != 0 {
            let error = std::io::Error::last_os_error();
            return match error.raw_os_error() {
                Some(libc::EAGAIN) | Some(libc::EACCES) => Ok(None),
                _ => Err(error),
            };
        }
        let pid = std::process::id();
        let _ = file.set_len(0).and_then(|()| file.write_all_at(format!("{pid}\n").as_bytes(), 0));
        remember_descriptor(file.as_raw_fd());
        Ok(Some(RelayLock { file }))
    }
}

impl Drop for RelayLock {
    fn drop(&mut self) {
        // No pid while nobody relays; the file is closed after this, which releases the lock.
        let _ = self.file.set_len(0);
        forget_descriptor(self.file.as_raw_fd());
    }
}

/// Notes a descriptor that holds a lock, for a forked child to close.
fn remember_descriptor(fd: RawFd) {
    OPENED.lock().push((std::process::id(), fd));
}

/// The descriptor is about to be closed by its owner.
pub fn forget_descriptor(fd: RawFd) {
    let pid = std::process::id();
    OPENED.lock().retain(|&(owner, opened)| !(owner == pid && opened == fd));
}

/// In a forked child: closes the copies of its parent's relay locks (the parent's relaying
/// task did not survive the fork, and a copy kept open would keep the lock after the parent
/// died). Called when the child first opens a broker.
pub fn close_inherited_locks() {
    let pid = std::process::id();
    let mut opened = OPENED.lock();
    opened.retain(|&(owner, fd)| {
        if owner == pid {
            return true;
        }
        // SAFETY: the descriptor was opened by the parent for a lock file and copied into this
        // process by fork; nothing in this process uses it (the task that owned it is gone).
        unsafe { libc::close(fd) };
        false
    });
}

/// A lock file of the relay, never through a symbolic link.
pub fn open_file(path: &Path) -> std::io::Result<File> {
    let file = OpenOptions::new().read(true).write(true).create(true).mode(0o660).custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC).open(path)?;
    // Created by this process: `0660` exactly, whatever the umask, so that pools of other users
    // in the directory's group can take the locks too.
    let metadata = file.metadata()?;
    // SAFETY: geteuid has no preconditions.
    if std::os::unix::fs::MetadataExt::uid(&metadata) == unsafe { libc::geteuid() } && metadata.permissions().mode() & 0o777 != 0o660 {
        let _ = file.set_permissions(std::fs::Permissions::from_mode(0o660));
    }
    Ok(file)
}

/// A file with a shared lock that says its process lives (forget its descriptor with
/// [`forget_descriptor`] before closing it).
pub fn open_shared(path: &Path) -> std::io::Result<File> {
    let file = open_file(path)?;
    // SAFETY: `flock` is plain data; all-zero is a valid value before the fields are set.
    let mut whole: libc::flock = unsafe { std::mem::zeroed() };
    whole.l_type = libc::F_RDLCK as libc::c_short;
    whole.l_whence = libc::SEEK_SET as libc::c_short;
    // SAFETY: an open descriptor this `File` owns and a valid `flock` for the call.
    if unsafe { libc::fcntl(file.as_raw_fd(), libc::F_OFD_SETLK, &whole) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    remember_descriptor(file.as_raw_fd());
    Ok(file)
}

/// Whether some process holds a lock on `file`.
pub fn is_locked(file: &File) -> bool {
    // SAFETY: as in `open_shared`.
    let mut probe: libc::flock = unsafe { std::mem::zeroed() };
    probe.l_type = libc::F_WRLCK as libc::c_short;
    probe.l_whence = libc::SEEK_SET as libc::c_short;
    // SAFETY: an open descriptor this `File` owns and a valid `flock` the call fills in.
    if unsafe { libc::fcntl(file.as_raw_fd(), libc::F_OFD_GETLK, &mut probe) } != 0 {
        // Cannot tell: count it as alive (reading a partition too many costs little).
        return std::io::Error::last_os_error().kind() != ErrorKind::NotFound;
    }
    probe.l_type != libc::F_UNLCK as libc::c_short
}
