//! php-fpm's request record as the extension reads it from PHP's memory, checked against the
//! kernel before any of it is used: arbitrary ints never panic, and the check passes exactly
//! when they name a listening socket and a connection accepted from it, with a request id and
//! flags in range. The fuzzer's process holds one such pair (and the connecting side, which
//! must not pass as accepted); the input chooses between those descriptors and any other int.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sse_core::fastcgi_record::RequestRecord;
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::OnceLock;

struct Sockets {
    listener: TcpListener,
    accepted: TcpStream,
    connecting: TcpStream,
}

fn sockets() -> Option<&'static Sockets> {
    static SOCKETS: OnceLock<Option<Sockets>> = OnceLock::new();
    SOCKETS
        .get_or_init(|| {
            let listener = TcpListener::bind("127.0.0.1:0").ok()?;
            let connecting = TcpStream::connect(listener.local_addr().ok()?).ok()?;
            let (accepted, _) = listener.accept().ok()?;
            Some(Sockets { listener, accepted, connecting })
        })
        .as_ref()
}

fuzz_target!(|input: ([i32; 5], u8)| {
    let Some(sockets) = sockets() else { return };
    let (mut ints, choice) = input;
    let (listen, accepted, connecting) = (sockets.listener.as_raw_fd(), sockets.accepted.as_raw_fd(), sockets.connecting.as_raw_fd());
    match choice % 4 {
        0 => (ints[0], ints[2]) = (listen, accepted),
        1 => (ints[0], ints[2]) = (listen, connecting),
        2 => ints[0] = listen,
        _ => {}
    }
    let [listen_socket, tcp, fd, id, keep] = ints;
    let expected = listen_socket == listen && fd == accepted && (0..=1).contains(&tcp) && (1..=65535).contains(&id) && (0..=1).contains(&keep);
    let checked = RequestRecord::from_ints(ints).check();
    assert_eq!(checked.is_ok(), expected, "{ints:?}: {checked:?}");
});
