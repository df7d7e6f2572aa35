//! Presence leases: what each process says it holds (its active Mercure subscriptions), kept
//! where every process of the broker can read it, valid until a time. The embedded broker keeps
//! them in files ([`LeaseDir`]), the memory broker in its process ([`MemoryLeases`]); the Redis
//! engine has its own keys (`sse-server`'s `broker/redis`). The body is opaque here.
//!
//! ```text
//! <dir>/presence/<identity>.lease          "sse-lease 1\n<expires, ms since the epoch>\n<body>"
//! <dir>/presence/.<identity>.tmp           being written, then renamed over the lease
//! <dir>/presence/<identity>.claimed.<by>   taken by the process `by`, which announces its end
//! ```
//!
//! A lease is written whole to a temporary name and renamed into place, so a reader never sees
//! half of one. An expired lease is claimed by renaming it: rename succeeds for exactly one of
//! several processes racing for it, and that one announces its subscriptions' end. A claimer
//! that finds it took a lease renewed in the meantime puts it back. Names are checked (an
//! identity is 1 to 96 of `A-Z a-z 0-9 _ -`), files are never opened through a symbolic link,
//! and a lease is read up to [`MAX_LEASE`] bytes; at most [`MAX_LEASES`] are read.

use super::local_log::{DIR_MODE, FILE_MODE};
use crate::error::{Error, Result};
use std::collections::HashMap;
use std::fs::{self, OpenOptions};
use std::io::{ErrorKind, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Largest lease read, in bytes (its body: a process's subscriptions as JSON).
pub const MAX_LEASE: usize = 64 << 20;
/// Most leases read by one listing or one reaping round.
pub const MAX_LEASES: usize = 4096;
/// Longest identity.
pub const MAX_IDENTITY: usize = 96;
/// A claimed lease left behind by a claimer that died before removing it is removed after this
/// long (its subscriptions' end is then never announced).
const STALE_CLAIM: std::time::Duration = std::time::Duration::from_secs(600);

const MAGIC: &str = "sse-lease 1\n";

/// A lease as read: whose, and its body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lease {
    pub identity: String,
    pub body: Vec<u8>,
}

/// Whether `identity` may name a lease.
pub fn valid_identity(identity: &str) -> bool {
    (1..=MAX_IDENTITY).contains(&identity.len()) && identity.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn check_identity(identity: &str) -> Result<()> {
    if valid_identity(identity) {
        return Ok(());
    }
    Err(Error::invalid_argument("identity", format!("a lease identity is 1 to {MAX_IDENTITY} of A-Z a-z 0-9 _ -")))
}

/// The leases of an embedded broker: `presence/` in its directory.
pub struct LeaseDir {
    dir: PathBuf,
}

impl LeaseDir {
    /// The leases of the broker in `broker_dir` (the folder is made on the first write).
    pub fn new(broker_dir: &Path) -> LeaseDir {
        LeaseDir { dir: broker_dir.join("presence") }
    }

    fn fail(&self, what: &str, e: std::io::Error) -> Error {
        Error::unavailable(format!("local://{}", self.dir.parent().unwrap_or(&self.dir).display()), format!("presence: {what}: {e}"))
    }

    fn lease_path(&self, identity: &str) -> PathBuf {
        self.dir.join(format!("{identity}.lease"))
    }

    /// The folder, made if missing; a symbolic link or a file in its place is refused.
    fn ensure_dir(&self) -> Result<()> {
        match fs::symlink_metadata(&self.dir) {
            Ok(m) if m.file_type().is_dir() => return Ok(()),
            Ok(_) => return Err(self.fail("refused", std::io::Error::other(format!("{} is not a directory the broker made", self.dir.display())))),
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => return Err(self.fail("cannot read the folder", e)),
        }
        match fs::DirBuilder::new().mode(DIR_MODE).create(&self.dir) {
            Ok(()) => {
                let _ = fs::set_permissions(&self.dir, fs::Permissions::from_mode(DIR_MODE));
                Ok(())
            }
            Err(e) if e.kind() == ErrorKind::AlreadyExists => Ok(()),
            Err(e) => Err(self.fail("cannot create the folder", e)),
        }
    }

    /// Writes `identity`'s lease, valid until `expires_ms`; true when none was there (the first
    /// write, or the lease had been claimed as expired by another process).
    pub fn write(&self, identity: &str, expires_ms: u64, body: &[u8]) -> Result<bool> {
        check_identity(identity)?;
        self.ensure_dir()?;
        let path = self.lease_path(identity);
        let temporary = self.dir.join(format!(".{identity}.tmp"));
        let _ = fs::remove_file(&temporary);
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(FILE_MODE)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&temporary)
            .map_err(|e| self.fail("cannot create a lease", e))?;
        let _ = file.set_permissions(fs::Permissions::from_mode(FILE_MODE));
        let mut content = Vec::with_capacity(body.len() + 40);
        content.extend_from_slice(MAGIC.as_bytes());
        content.extend_from_slice(format!("{expires_ms}\n").as_bytes());
        content.extend_from_slice(body);
        file.write_all(&content).map_err(|e| self.fail("cannot write a lease", e))?;
        drop(file);
        let existed = fs::symlink_metadata(&path).is_ok();
        fs::rename(&temporary, &path).map_err(|e| self.fail("cannot rename a lease into place", e))?;
        Ok(!existed)
    }

    /// Removes `identity`'s lease (its process ended its subscriptions itself).
    pub fn remove(&self, identity: &str) -> Result<()> {
        check_identity(identity)?;
        match fs::remove_file(self.lease_path(identity)) {
            Err(e) if e.kind() != ErrorKind::NotFound => Err(self.fail("cannot remove a lease", e)),
            _ => Ok(()),
        }
    }

    /// The names of the leases in the folder (checked), at most [`MAX_LEASES`].
    fn identities(&self) -> Result<Vec<String>> {
        let entries = match fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(self.fail("cannot list the folder", e)),
        };
        let mut identities = Vec::new();
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(identity) = name.to_str().and_then(|n| n.strip_suffix(".lease")).filter(|i| valid_identity(i)) else { continue };
            identities.push(identity.to_owned());
            if identities.len() == MAX_LEASES {
                break;
            }
        }
        identities.sort_unstable();
        Ok(identities)
    }

    /// Every lease valid at `now_ms`.
    pub fn live(&self, now_ms: u64) -> Result<Vec<Lease>> {
        let mut leases = Vec::new();
        for identity in self.identities()? {
            if let Some((expires, body)) = read_lease(&self.lease_path(&identity)) {
                if expires > now_ms {
                    leases.push(Lease { identity, body });
                }
            }
        }
        Ok(leases)
    }

    /// Claims every lease expired at `now_ms` for `claimer`: each is returned to exactly one
    /// claimer, whichever process asks. Damaged leases (unreadable) are claimed with an empty
    /// body.
    pub fn claim_expired(&self, now_ms: u64, claimer: &str) -> Result<Vec<Lease>> {
        check_identity(claimer)?;
        let mut claimed = Vec::new();
        for identity in self.identities()? {
            let path = self.lease_path(&identity);
            match read_lease(&path) {
                Some((expires, _)) if expires > now_ms => continue,
                _ => {}
            }
            let taken = self.dir.join(format!("{identity}.claimed.{claimer}"));
            if fs::rename(&path, &taken).is_err() {
                // Another process claimed it first, or its owner removed it.
                continue;
            }
            let read = read_lease(&taken);
            if let Some((expires, _)) = &read {
                if *expires > now_ms {
                    // Renewed between the read and the rename: put it back, unless its owner
                    // wrote a newer one meanwhile.
                    let _ = fs::hard_link(&taken, &path);
                    let _ = fs::remove_file(&taken);
                    continue;
                }
            }
            let _ = fs::remove_file(&taken);
            claimed.push(Lease { identity, body: read.map(|(_, body)| body).unwrap_or_default() });
        }
        self.remove_stale_claims();
        Ok(claimed)
    }

    fn remove_stale_claims(&self) {
        let Ok(entries) = fs::read_dir(&self.dir) else { return };
        for entry in entries.flatten().take(MAX_LEASES) {
            let name = entry.file_name();
            let Some(name) = name.to_str().filter(|n| n.contains(".claimed.") || (n.starts_with('.') && n.ends_with(".tmp"))) else { continue };
            let old = entry.metadata().ok().and_then(|m| m.modified().ok()).and_then(|t| t.elapsed().ok()).is_some_and(|age| age > STALE_CLAIM);
            if old {
                let _ = fs::remove_file(self.dir.join(name));
            }
        }
    }
}

/// A lease file's expiry and body; None when it is missing, not a regular file, too large or
/// not a lease.
fn read_lease(path: &Path) -> Option<(u64, Vec<u8>)> {
    let file = OpenOptions::new().read(true).custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC | libc::O_NONBLOCK).open(path).ok()?;
    if !file.metadata().ok()?.is_file() {
        return None;
    }
    let mut content = Vec::new();
    Read::take(&file, (MAX_LEASE + 64) as u64).read_to_end(&mut content).ok()?;
    parse_lease(&content)
}

/// The expiry and body of a lease file's content.
pub fn parse_lease(content: &[u8]) -> Option<(u64, Vec<u8>)> {
    let rest = content.strip_prefix(MAGIC.as_bytes())?;
    let line_end = rest.iter().take(21).position(|&b| b == b'\n')?;
    let expires = std::str::from_utf8(&rest[..line_end]).ok()?.parse().ok()?;
    let body = &rest[line_end + 1..];
    (body.len() <= MAX_LEASE).then(|| (expires, body.to_vec()))
}

/// The leases of the memory broker: one process's, in its memory.
#[derive(Default)]
pub struct MemoryLeases {
    leases: Mutex<HashMap<String, (u64, Vec<u8>)>>,
}

impl MemoryLeases {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<String, (u64, Vec<u8>)>> {
        self.leases.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn write(&self, identity: &str, expires_ms: u64, body: &[u8]) -> Result<bool> {
        check_identity(identity)?;
        Ok(self.map().insert(identity.to_owned(), (expires_ms, body.to_vec())).is_none())
    }

    pub fn remove(&self, identity: &str) -> Result<()> {
        self.map().remove(identity);
        Ok(())
    }

    pub fn live(&self, now_ms: u64) -> Result<Vec<Lease>> {
        let mut leases: Vec<Lease> = self
            .map()
            .iter()
            .filter(|(_, (expires, _))| *expires > now_ms)
            .map(|(identity, (_, body))| Lease { identity: identity.clone(), body: body.clone() })
            .collect();
        leases.sort_unstable_by(|a, b| a.identity.cmp(&b.identity));
        Ok(leases)
    }

    pub fn claim_expired(&self, now_ms: u64) -> Result<Vec<Lease>> {
        let mut map = self.map();
        let expired: Vec<String> = map.iter().filter(|(_, (expires, _))| *expires <= now_ms).map(|(identity, _)| identity.clone()).collect();
        Ok(expired.into_iter().filter_map(|identity| map.remove(&identity).map(|(_, body)| Lease { identity, body })).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(label: &str) -> PathBuf {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        let path = std::env::temp_dir().join(format!("sse-leases-{label}-{}-{nanos}", std::process::id()));
        let _ = fs::create_dir_all(&path);
        path
    }

    #[test]
    fn write_list_expire_claim_once() {
        let dir = temp("claim");
        let leases = LeaseDir::new(&dir);
        assert!(leases.write("a", 1000, b"[1]").unwrap_or(false));
        assert!(!leases.write("a", 2000, b"[2]").unwrap_or(true));
        assert!(leases.write("b", 1500, b"[3]").unwrap_or(false));
        let live = leases.live(1200).unwrap_or_default();
        assert_eq!(live, [Lease { identity: "a".into(), body: b"[2]".to_vec() }, Lease { identity: "b".into(), body: b"[3]".to_vec() }]);
        assert_eq!(leases.live(1600).unwrap_or_default().len(), 1);
        // Claimed once: the second claimer finds nothing.
        let first = leases.claim_expired(1600, "c").unwrap_or_default();
        assert_eq!(first, [Lease { identity: "b".into(), body: b"[3]".to_vec() }]);
        assert!(leases.claim_expired(1600, "d").unwrap_or_default().is_empty());
        // Its owner writing again is told its lease was gone.
        assert!(leases.write("b", 5000, b"[3]").unwrap_or(false));
        assert!(leases.write("x y", 1, b"").is_err());
        leases.remove("a").unwrap_or_default();
        assert_eq!(leases.live(0).unwrap_or_default().len(), 1);
        let _ = fs::remove_dir_all(dir);
    }

    #[test]
    fn refuses_links_and_foreign_names() {
        let dir = temp("links");
        let leases = LeaseDir::new(&dir);
        let _ = std::os::unix::fs::symlink(std::env::temp_dir(), dir.join("presence"));
        assert!(leases.write("a", 1, b"").is_err());
        let _ = fs::remove_file(dir.join("presence"));
        assert!(leases.write("a", 9, b"[]").is_ok());
        let _ = fs::write(dir.join("presence/target"), b"sse-lease 1\n9999\n[]");
        let _ = std::os::unix::fs::symlink(dir.join("presence/target"), dir.join("presence/l.lease"));
        let _ = fs::write(dir.join("presence/bad name.lease"), b"sse-lease 1\n9999\n[]");
        assert_eq!(leases.live(0).unwrap_or_default().iter().map(|l| l.identity.as_str()).collect::<Vec<_>>(), ["a"]);
        let _ = fs::remove_dir_all(dir);
    }

    #[test]
    fn lease_contents_are_checked() {
        assert_eq!(parse_lease(b"sse-lease 1\n12\n[]"), Some((12, b"[]".to_vec())));
        assert_eq!(parse_lease(b"sse-lease 2\n12\n[]"), None);
        assert_eq!(parse_lease(b"sse-lease 1\n12"), None);
        assert_eq!(parse_lease(b"sse-lease 1\n123456789012345678901234\n"), None);
    }

    #[test]
    fn memory_leases() {
        let leases = MemoryLeases::default();
        assert!(leases.write("a", 10, b"x").unwrap_or(false));
        assert_eq!(leases.live(5).unwrap_or_default().len(), 1);
        assert_eq!(leases.claim_expired(10).unwrap_or_default().len(), 1);
        assert!(leases.claim_expired(10).unwrap_or_default().is_empty());
    }
}
