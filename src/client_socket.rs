//! Finding the socket to the client, so that a hang-up is noticed without writing.
//!
//! No SAPI exposes its socket (`sapi_module.get_fd` is unimplemented everywhere), so:
//! - php-fpm and php-cgi keep the web server's socket in the FastCGI request, and `php -S`
//!   keeps the browser's socket in its client record: the C shim reads them there and checks
//!   that what it found is a connected stream socket;
//! - elsewhere (Apache's mod_php), the process's open sockets are searched for the one whose
//!   peer is the request's `REMOTE_ADDR`:`REMOTE_PORT`.
//!
//! When neither finds a socket, disconnects are noticed at the next write (a heartbeat).

use crate::ffi;
use std::net::{IpAddr, SocketAddr};

pub fn find() -> Option<i32> {
    let peer = request_peer();
    match ffi::client_socket() {
        // php -S: the socket is the browser's own, so it must have the request's peer.
        Some(fd) if ffi::sapi_name() == "cli-server" => (peer.is_some() && peer == socket_peer(fd)).then_some(fd),
        // FastCGI: the socket is the web server's; its peer says nothing about the request.
        Some(fd) => Some(fd),
        None => peer.and_then(search_by_peer),
    }
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
