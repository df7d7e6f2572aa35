//! Finding the socket to the client, so that a hang-up is noticed without writing.
//!
//! No SAPI exposes its socket (`sapi_module.get_fd` is unimplemented everywhere), so:
//! - php-fpm and php-cgi keep the web server's socket in the FastCGI request record, read by
//!   layout: [`fastcgi_request`] checks the record against the kernel first
//!   (`sse_core::fastcgi_record`) and, when it does not hold together, uses none of it and says
//!   so once in the log. The stream then works as on any other SAPI: frames through PHP's
//!   output, hang-ups seen at a heartbeat, `detach()` serving the stream in the worker;
//! - `php -S` keeps the browser's socket in its client record: the C shim reads it there and
//!   checks that it is a connected stream socket;
//! - elsewhere (Apache's mod_php), the process's open sockets are searched for the one whose
//!   peer is the request's `REMOTE_ADDR`:`REMOTE_PORT`.
//!
//! When neither finds a socket, disconnects are noticed at the next write (a heartbeat).

use crate::ffi;
use sse_core::fastcgi_record::{Checked, Mismatch, RequestRecord};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

pub fn find() -> Option<i32> {
    if is_fastcgi() {
        // The socket is the web server's; its peer says nothing about the request.
        return fastcgi_request().map(|request| request.fd);
    }
    let peer = request_peer();
    match ffi::cli_server_socket() {
        // php -S: the socket is the browser's own, so it must have the request's peer.
        Some(fd) => (peer.is_some() && peer == socket_peer(fd)).then_some(fd),
        None => peer.and_then(search_by_peer),
    }
}

/// The socket the SAPI keeps (FastCGI, `php -S`), without the search by peer: a quick look
/// for a hang-up before the stream starts.
pub fn sapi_socket() -> Option<i32> {
    if is_fastcgi() {
        return fastcgi_request().map(|request| request.fd);
    }
    ffi::cli_server_socket()
}

fn is_fastcgi() -> bool {
    matches!(ffi::sapi_name(), "fpm-fcgi" | "cgi-fcgi")
}

/// The current FastCGI request's socket, id and keep flag, from a request record that passed
/// its check; None under other SAPIs and when the check failed (logged once per process).
pub fn fastcgi_request() -> Option<Checked> {
    let ints = ffi::fastcgi_record_ints(record_skip())?;
    match RequestRecord::from_ints(ints).check() {
        Ok(checked) => Some(checked),
        // php-fpm closes a worker's listening socket when it is told to stop (a graceful stop
        // or a reload): the record is as expected, the request is just the worker's last.
        Err(Mismatch::ListenSocket(fd)) if is_closed(fd) => None,
        Err(mismatch) => {
            static LOGGED: AtomicBool = AtomicBool::new(false);
            if !LOGGED.swap(true, Ordering::Relaxed) {
                ffi::log_warning(&format!(
                    "ext-sse: the FastCGI request record of PHP {} does not look as expected ({mismatch}); this process uses none of it: frames go through PHP's output, hang-ups are noticed at a heartbeat, and detach() serves streams in the worker",
                    ffi::php_version()
                ));
            }
            None
        }
    }
}

/// Whether `fd` is no open descriptor of this process.
fn is_closed(fd: i32) -> bool {
    // SAFETY: F_GETFD only reads the descriptor's flags; an unused number gives EBADF.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFD) };
    flags < 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EBADF)
}

/// How many ints off the record is read: 0, except when a test sets
/// `SSE_TEST_FASTCGI_RECORD_SKIP` (php-fpm's `env[...]`) to see the check refuse a layout
/// that moved.
fn record_skip() -> i32 {
    static SKIP: OnceLock<i32> = OnceLock::new();
    *SKIP.get_or_init(|| std::env::var("SSE_TEST_FASTCGI_RECORD_SKIP").ok().and_then(|v| v.parse().ok()).unwrap_or(0))
}

/// `REMOTE_ADDR`:`REMOTE_PORT` of the request.
fn request_peer() -> Option<SocketAddr> {
    let addr = ffi::superglobal_string(c"_SERVER", c"REMOTE_ADDR")?;
    let port = ffi::superglobal_string(c"_SERVER", c"REMOTE_PORT")?;
    let ip: IpAddr = std::str::from_utf8(&addr).ok()?.parse().ok()?;
    let port: u16 = std::str::from_utf8(&port).ok()?.parse().ok()?;
    Some(SocketAddr::new(ip, port))
}

fn search_by_peer(peer: SocketAddr) -> Option<i32> {
    let entries = std::fs::read_dir("/proc/self/fd").ok()?;
    let mut found = None;
    for entry in entries.flatten() {
        let Some(fd) = entry.file_name().to_str().and_then(|n| n.parse::<i32>().ok()) else { continue };
        if socket_peer(fd) == Some(peer) {
            if found.is_some() {
                // Two sockets with the same peer: we cannot tell which is ours.
                return None;
            }
            found = Some(fd);
        }
    }
    found
}

/// The peer of a connected TCP socket (IPv4-mapped IPv6 addresses read as IPv4).
fn socket_peer(fd: i32) -> Option<SocketAddr> {
    // SAFETY: sockaddr_storage is plain data large enough for any address; getpeername writes
    // at most `len` bytes into it and fails harmlessly on descriptors that are not sockets.
    let (storage, len) = unsafe {
        let mut storage: libc::sockaddr_storage = std::mem::zeroed();
        let mut len = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
        if libc::getpeername(fd, (&mut storage as *mut libc::sockaddr_storage).cast(), &mut len) != 0 {
            return None;
        }
        (storage, len)
    };
    match i32::from(storage.ss_family) {
        libc::AF_INET if len as usize >= std::mem::size_of::<libc::sockaddr_in>() => {
            // SAFETY: the family says the storage holds a sockaddr_in.
            let sin = unsafe { *(&storage as *const libc::sockaddr_storage).cast::<libc::sockaddr_in>() };
            let ip = std::net::Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr));
            Some(SocketAddr::new(IpAddr::V4(ip), u16::from_be(sin.sin_port)))
        }
        libc::AF_INET6 if len as usize >= std::mem::size_of::<libc::sockaddr_in6>() => {
            // SAFETY: the family says the storage holds a sockaddr_in6.
            let sin6 = unsafe { *(&storage as *const libc::sockaddr_storage).cast::<libc::sockaddr_in6>() };
            let ip = std::net::Ipv6Addr::from(sin6.sin6_addr.s6_addr);
            let ip = ip.to_ipv4_mapped().map_or(IpAddr::V6(ip), IpAddr::V4);
            Some(SocketAddr::new(ip, u16::from_be(sin6.sin6_port)))
        }
        _ => None,
    }
}
