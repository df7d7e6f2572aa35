//! php-fpm's request record, checked against what the process can see before it is trusted.
//!
//! Noticing a hang-up without writing, writing frames to the FastCGI socket and `detach()` all
//! need three ints of php-fpm's request record (php-src 8.2-8.6 `main/fastcgi.c`,
//! `struct _fcgi_request`: `listen_socket`, `tcp`, `fd`, `id`, `keep` are its first five
//! ints). Nothing in PHP exports that struct, so a future PHP that changes it would otherwise go
//! unnoticed until memory is misread or a socket is taken that is not the request's. Before any
//! of it is used, [`RequestRecord::check`] asks the kernel whether the values make sense
//! together: the listen socket is a listening stream socket, the request's socket is a
//! connected stream socket accepted from it (same family and local address), the request id is
//! a FastCGI request id and both flags are flags. Anything else is a [`Mismatch`], and the
//! caller uses none of the record.

use std::fmt;
use std::mem::{size_of, MaybeUninit};

/// The first five ints of php-fpm's request record, as read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestRecord {
    pub listen_socket: i32,
    pub tcp: i32,
    pub fd: i32,
    pub id: i32,
    pub keep: i32,
}

/// A record that passed [`RequestRecord::check`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Checked {
    /// The connection to the web server.
    pub fd: i32,
    /// The FastCGI request id the web server sent (the id of every record written back).
    pub id: u16,
    /// FCGI_KEEP_CONN: the web server sends its next request on the same connection.
    pub keep: bool,
}

/// What did not hold, naming the field and what was found in it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mismatch {
    ListenSocket(i32),
    TcpFlag(i32),
    Socket(i32),
    NotAccepted { fd: i32, listen_socket: i32 },
    RequestId(i32),
    KeepFlag(i32),
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Mismatch::ListenSocket(fd) => write!(f, "listen_socket ({fd}) is not a listening stream socket"),
            Mismatch::TcpFlag(v) => write!(f, "tcp is {v}, not 0 or 1"),
            Mismatch::Socket(fd) => write!(f, "fd ({fd}) is not a connected stream socket"),
            Mismatch::NotAccepted { fd, listen_socket } => {
                write!(f, "fd ({fd}) was not accepted from listen_socket ({listen_socket}): their local addresses differ")
            }
            Mismatch::RequestId(v) => write!(f, "id is {v}, not a FastCGI request id (1-65535)"),
            Mismatch::KeepFlag(v) => write!(f, "keep is {v}, not 0 or 1"),
        }
    }
}

impl RequestRecord {
    pub fn from_ints(ints: [i32; 5]) -> RequestRecord {
        let [listen_socket, tcp, fd, id, keep] = ints;
        RequestRecord { listen_socket, tcp, fd, id, keep }
    }

    /// Checks the record against the kernel's view of its two sockets (a few system calls,
    /// nothing written or read on either).
    pub fn check(&self) -> Result<Checked, Mismatch> {
        let listening = stream_socket(self.listen_socket).filter(|_| sockopt(self.listen_socket, libc::SO_ACCEPTCONN) == Some(1));
        let Some(listen_addr) = listening.and_then(|_| local_address(self.listen_socket)) else {
            return Err(Mismatch::ListenSocket(self.listen_socket));
        };
        if !matches!(self.tcp, 0 | 1) {
            return Err(Mismatch::TcpFlag(self.tcp));
        }
        let connected = stream_socket(self.fd).filter(|_| sockopt(self.fd, libc::SO_ACCEPTCONN) == Some(0) && has_peer(self.fd));
        let Some(addr) = connected.and_then(|_| local_address(self.fd)) else {
            return Err(Mismatch::Socket(self.fd));
        };
        if !listen_addr.accepts(&addr) {
            return Err(Mismatch::NotAccepted { fd: self.fd, listen_socket: self.listen_socket });
        }
        let id = u16::try_from(self.id).ok().filter(|id| *id != 0).ok_or(Mismatch::RequestId(self.id))?;
        let keep = match self.keep {
            0 => false,
            1 => true,
            other => return Err(Mismatch::KeepFlag(other)),
        };
        Ok(Checked { fd: self.fd, id, keep })
    }
}

/// A socket's local address, as far as telling a listener's connections apart needs.
#[derive(Debug, PartialEq, Eq)]
enum LocalAddress {
    Inet { ip: Vec<u8>, port: u16 },
    Unix(Vec<u8>),
}

impl LocalAddress {
    /// Whether a connection with local address `conn` can have been accepted by a listener
    /// bound here (a listener on the wildcard address accepts on every address of its port).
    fn accepts(&self, conn: &LocalAddress) -> bool {
        match (self, conn) {
            (LocalAddress::Inet { ip, port }, LocalAddress::Inet { ip: conn_ip, port: conn_port }) => {
                port == conn_port && (ip == conn_ip || ip.iter().all(|b| *b == 0))
            }
            (LocalAddress::Unix(path), LocalAddress::Unix(conn_path)) => path == conn_path,
            _ => false,
        }
    }
}

/// Some(()) when `fd` is an open socket of type SOCK_STREAM.
fn stream_socket(fd: i32) -> Option<()> {
    (fd >= 0 && sockopt(fd, libc::SO_TYPE) == Some(libc::SOCK_STREAM)).then_some(())
}

fn sockopt(fd: i32, option: i32) -> Option<i32> {
    let mut value: i32 = 0;
    let mut len = size_of::<i32>() as libc::socklen_t;
    // SAFETY: an int-sized out buffer and its length; a bad fd only makes the call fail.
    let rc = unsafe { libc::getsockopt(fd, libc::SOL_SOCKET, option, (&mut value as *mut i32).cast(), &mut len) };
    (rc == 0).then_some(value)
}

fn has_peer(fd: i32) -> bool {
    let mut storage = MaybeUninit::<libc::sockaddr_storage>::zeroed();
    let mut len = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    // SAFETY: a sockaddr_storage-sized out buffer and its length.
    unsafe { libc::getpeername(fd, storage.as_mut_ptr().cast(), &mut len) == 0 }
}

fn local_address(fd: i32) -> Option<LocalAddress> {
    let mut storage = MaybeUninit::<libc::sockaddr_storage>::zeroed();
    let mut len = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    // SAFETY: a sockaddr_storage-sized out buffer and its length.
    if unsafe { libc::getsockname(fd, storage.as_mut_ptr().cast(), &mut len) } != 0 {
        return None;
    }
    // SAFETY: zero-initialised, and getsockname wrote at most `len` bytes of an address into it.
    let storage = unsafe { storage.assume_init() };
    match i32::from(storage.ss_family) {
        libc::AF_INET => {
            // SAFETY: the family says this is a sockaddr_in, which fits in sockaddr_storage.
            let sin = unsafe { *(&storage as *const libc::sockaddr_storage).cast::<libc::sockaddr_in>() };
            Some(LocalAddress::Inet { ip: sin.sin_addr.s_addr.to_ne_bytes().to_vec(), port: u16::from_be(sin.sin_port) })
        }
        libc::AF_INET6 => {
            // SAFETY: the family says this is a sockaddr_in6, which fits in sockaddr_storage.
            let sin6 = unsafe { *(&storage as *const libc::sockaddr_storage).cast::<libc::sockaddr_in6>() };
            Some(LocalAddress::Inet { ip: sin6.sin6_addr.s6_addr.to_vec(), port: u16::from_be(sin6.sin6_port) })
        }
        libc::AF_UNIX => {
            // SAFETY: the family says this is a sockaddr_un, which fits in sockaddr_storage.
            let sun = unsafe { *(&storage as *const libc::sockaddr_storage).cast::<libc::sockaddr_un>() };
            let offset = size_of::<libc::sa_family_t>();
            let path_len = (len as usize).saturating_sub(offset).min(sun.sun_path.len());
            Some(LocalAddress::Unix(sun.sun_path[..path_len].iter().map(|c| *c as u8).collect()))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::{Checked, Mismatch, RequestRecord};
    use std::net::{TcpListener, TcpStream};
    use std::os::fd::AsRawFd;
    use std::os::unix::net::{UnixListener, UnixStream};

    fn record(listen_socket: i32, fd: i32, id: i32, keep: i32) -> RequestRecord {
        RequestRecord::from_ints([listen_socket, 0, fd, id, keep])
    }

    #[test]
    fn a_connection_accepted_from_a_tcp_listener_on_the_wildcard_address_passes() {
        let listener = TcpListener::bind("0.0.0.0:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let _client = TcpStream::connect(("127.0.0.1", port)).unwrap();
        let (conn, _) = listener.accept().unwrap();
        let checked = record(listener.as_raw_fd(), conn.as_raw_fd(), 1, 0).check();
        assert_eq!(checked, Ok(Checked { fd: conn.as_raw_fd(), id: 1, keep: false }));
    }

    #[test]
    fn a_connection_accepted_from_a_unix_listener_passes_and_keep_is_read() {
        let dir = std::env::temp_dir().join(format!("sse-core-record-{}", std::process::id()));
        let _ = std::fs::remove_file(&dir);
        let listener = UnixListener::bind(&dir).unwrap();
        let _client = UnixStream::connect(&dir).unwrap();
        let (conn, _) = listener.accept().unwrap();
        let checked = record(listener.as_raw_fd(), conn.as_raw_fd(), 65535, 1).check();
        let _ = std::fs::remove_file(&dir);
        assert_eq!(checked, Ok(Checked { fd: conn.as_raw_fd(), id: 65535, keep: true }));
    }

    #[test]
    fn a_record_read_one_int_off_is_refused() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let _client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (conn, _) = listener.accept().unwrap();
        let ints = [listener.as_raw_fd(), 0, conn.as_raw_fd(), 1, 0, 0];
        // As if the struct had gained an int in front: every field is read from its neighbour.
        let shifted = RequestRecord::from_ints([ints[1], ints[2], ints[3], ints[4], ints[5]]);
        assert!(shifted.check().is_err(), "{shifted:?}");
        let back = RequestRecord::from_ints([0, ints[0], ints[1], ints[2], ints[3]]);
        assert!(back.check().is_err(), "{back:?}");
    }

    #[test]
    fn each_field_is_checked() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let other = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (conn, _) = listener.accept().unwrap();
        let (l, c) = (listener.as_raw_fd(), conn.as_raw_fd());
        assert_eq!(record(c, c, 1, 0).check(), Err(Mismatch::ListenSocket(c)));
        assert_eq!(record(-1, c, 1, 0).check(), Err(Mismatch::ListenSocket(-1)));
        assert_eq!(RequestRecord::from_ints([l, 7, c, 1, 0]).check(), Err(Mismatch::TcpFlag(7)));
        assert_eq!(record(l, l, 1, 0).check(), Err(Mismatch::Socket(l)));
        assert_eq!(record(l, 0x7fff_0000, 1, 0).check(), Err(Mismatch::Socket(0x7fff_0000)));
        assert_eq!(record(other.as_raw_fd(), c, 1, 0).check(), Err(Mismatch::NotAccepted { fd: c, listen_socket: other.as_raw_fd() }));
        // The client's end is connected too, but not to an address the listener is bound to.
        assert!(record(l, client.as_raw_fd(), 1, 0).check().is_err());
        assert_eq!(record(l, c, 0, 0).check(), Err(Mismatch::RequestId(0)));
        assert_eq!(record(l, c, 65536, 0).check(), Err(Mismatch::RequestId(65536)));
        assert_eq!(record(l, c, 1, 2).check(), Err(Mismatch::KeepFlag(2)));
    }

    #[test]
    fn mismatches_name_the_field_and_what_was_found() {
        assert_eq!(Mismatch::TcpFlag(5).to_string(), "tcp is 5, not 0 or 1");
        assert_eq!(Mismatch::RequestId(0).to_string(), "id is 0, not a FastCGI request id (1-65535)");
    }
}
