//! The response side of a stream: headers, output buffers, writes and the client's presence.
//!
//! Under an HTTP SAPI (cli-server, fpm-fcgi, apache2handler, cgi-fcgi) a started stream owns
//! the response: buffers are discarded, compression is off, and each frame goes past every
//! buffer to the SAPI and is flushed (under php-fpm and php-cgi, straight to the FastCGI
//! socket: see `fastcgi.rs`). Under the CLI (PHPUnit) nothing is sent but the frames, and they
//! go through PHP's output layer so that `ob_start()` captures them.

use crate::client_socket;
use crate::error::{Error, Result};
use crate::ffi;
use crate::options::Options;
use ext_php_rs::flags::ErrorType;
use ext_php_rs::types::ZendCallable;
use sse_server::fastcgi::FastCgiStream;
use std::os::fd::OwnedFd;

/// What an HTTP stream starts with: a comment, ignored by clients.
const OPENING: &[u8] = b": \n\n";

/// SAPIs where the process is a command-line tool, not the server of an HTTP response.
const COMMAND_LINE_SAPIS: [&str; 3] = ["cli", "phpdbg", "embed"];

/// The response headers of an event stream, the caller's last so they win.
pub fn response_headers(options: &Options) -> Vec<(String, String)> {
    let mut headers: Vec<(String, String)> = vec![
        ("Content-Type".into(), "text/event-stream; charset=utf-8".into()),
        // no-transform: proxies must not compress or rewrite the stream.
        ("Cache-Control".into(), "no-cache, no-store, no-transform".into()),
        // nginx buffers FastCGI and proxied responses unless told not to.
        ("X-Accel-Buffering".into(), "no".into()),
    ];
    if let Some(origin) = &options.cors {
        headers.push(("Access-Control-Allow-Origin".into(), origin.clone()));
    }
    for (name, value) in &options.headers {
        headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        headers.push((name.clone(), value.clone()));
    }
    headers
}

pub fn is_command_line() -> bool {
    COMMAND_LINE_SAPIS.contains(&ffi::sapi_name())
}

/// A started stream's way to the client.
pub struct Response {
    direct: bool,
    socket: Option<i32>,
    connected: bool,
    /// Under php-fpm: frames go to the socket without the SAPI (see `fastcgi.rs`).
    fastcgi: Option<FastCgiStream>,
}

impl Response {
    /// Switches the request to streaming.
    pub fn start(options: &Options, headers: &[(String, String)]) -> Result<Response> {
        if is_command_line() {
            return Ok(Response { direct: false, socket: None, connected: true, fastcgi: None });
        }
        if let Some((file, line)) = ffi::headers_sent_at() {
            // Someone already answered with an event stream (header() + flush()): carry on.
            if ffi::content_type().to_ascii_lowercase().starts_with("text/event-stream") {
                ffi::set_ini("ignore_user_abort", "1");
                log_errors_only();
                return Ok(Response { direct: true, socket: client_socket::find(), connected: true, fastcgi: None });
            }
            return Err(Error::misuse(format!("Cannot start the event stream: headers were already sent (output started at {file}:{line})")).into());
        }
        ffi::set_status(options.status);
        // A framework may have queued headers that would break the stream.
        for name in ["Content-Length", "Content-Encoding", "Connection", "Keep-Alive", "Transfer-Encoding"] {
            ffi::remove_header(name);
        }
        for (name, value) in headers {
            ffi::set_header(&format!("{name}: {value}"), true);
        }
        let held = ffi::buffered_bytes();
        if held > 0 {
            // Said before the discard: with display_errors on, the notice lands in the buffer
            // that is thrown away instead of in the stream.
            notice(&format!("discarded {held} bytes of output written before the event stream started"));
        }
        ffi::discard_output_buffers();
        // Compression would hold frames back until its buffer fills.
        ffi::set_ini("zlib.output_compression", "0");
        if ffi::sapi_name() == "apache2handler" {
            call_if_defined("apache_setenv", &[&"no-gzip", &"1"]);
        }
        // Writes to a gone client must not bail out through Rust frames: with this on, PHP
        // only records the abort, which the output checks after every write.
        ffi::set_ini("ignore_user_abort", "1");
        log_errors_only();
        if !options.keep_time_limit {
            ffi::set_ini("max_execution_time", "0");
        }
        let mut output = Response { direct: true, socket: client_socket::find(), connected: true, fastcgi: None };
        // A first frame now, not just the headers: nginx holds back a response head without
        // body (postpone_output), and EventSource only fires `open` when the head arrives.
        output.write(OPENING);
        // The opening frame flushed the SAPI's buffer: from here the stream may write the
        // socket itself.
        if let (Some(_), Some(request)) = (output.socket, client_socket::fastcgi_request()) {
            output.fastcgi = FastCgiStream::start(request.fd, request.id);
        }
        Ok(output)
    }

    /// Writes (and under HTTP flushes) bytes; false once the client is gone.
    pub fn write(&mut self, bytes: &[u8]) -> bool {
        if !self.connected {
            return false;
        }
        let written = match &mut self.fastcgi {
            Some(stream) => stream.write(bytes),
            None if self.direct => ffi::write_direct(bytes),
            None => ffi::write_buffered(bytes),
        };
        self.connected = written && !ffi::connection_aborted();
        self.connected
    }

    /// Whether the client is still there: the last write's outcome and, where the SAPI
    /// exposes the socket, a non-blocking look at it for a hang-up.
    pub fn is_connected(&mut self) -> bool {
        let failed = self.fastcgi.as_ref().is_some_and(FastCgiStream::failed);
        if self.connected && (failed || ffi::connection_aborted() || self.socket.is_some_and(socket_hung_up)) {
            self.connected = false;
        }
        self.connected
    }

    /// Ends the response where the SAPI can do so before the script ends (php-fpm): the
    /// client sees the end of the stream now, and reconnects after its retry time.
    pub fn finish(&mut self) {
        if let Some(mut stream) = self.fastcgi.take() {
            stream.finish();
        }
        if self.direct && ffi::sapi_name() == "fpm-fcgi" {
            call_if_defined("fastcgi_finish_request", &[]);
        }
        self.connected = false;
    }

    /// Hands the connection over for a detached stream (php-fpm, frames written to the socket
    /// directly): what is queued is written first, then php-fpm lets go of the socket, and
    /// this output is done. None where that cannot be done; the output is then unchanged.
    pub fn detach(&mut self) -> Option<(OwnedFd, u16)> {
        let request = client_socket::fastcgi_request()?;
        let (fd, request_id) = (request.fd, request.id);
        // A kept-alive connection carries the web server's next request: it stays php-fpm's.
        if !self.connected || request.keep || self.socket != Some(fd) {
            return None;
        }
        let mut stream = self.fastcgi.take()?;
        stream.finish();
        let failed = stream.failed();
        drop(stream);
        if failed {
            self.connected = false;
            return None;
        }
        match ffi::take_fastcgi_socket(fd) {
            Some(socket) => {
                self.connected = false;
                self.socket = None;
                Some((socket, request_id))
            }
            None => {
                self.fastcgi = FastCgiStream::start(fd, request_id);
                None
            }
        }
    }

    /// Whether frames go to an HTTP client (not captured by the CLI's output layer).
    pub fn is_http(&self) -> bool {
        self.direct
    }

    pub fn mark_disconnected(&mut self) {
        self.connected = false;
    }

    /// The socket the runtime may watch for a hang-up.
    pub fn socket(&self) -> Option<i32> {
        self.socket
    }
}

/// Once streaming, PHP's errors go to the log only: with display_errors on, a warning or a
/// fatal error would be written into the event stream as text or HTML, where no page shows it,
/// and it may tell the client paths and secrets.
fn log_errors_only() {
    ffi::set_ini("display_errors", "0");
    ffi::set_ini("log_errors", "1");
}

/// A zero-timeout poll: has the peer closed its side (or the socket failed)?
pub fn socket_hung_up(fd: i32) -> bool {
    let mut pfd = libc::pollfd { fd, events: libc::POLLRDHUP, revents: 0 };
    // SAFETY: one valid pollfd, zero timeout; the fd belongs to the SAPI and stays open for
    // the request.
    let ready = unsafe { libc::poll(&mut pfd, 1, 0) };
    ready > 0 && pfd.revents & (libc::POLLRDHUP | libc::POLLHUP | libc::POLLERR | libc::POLLNVAL) != 0
}

/// Writes a notice through PHP's error handling (logged, or shown, as the ini says).
pub fn notice(message: &str) {
    ext_php_rs::error::php_error(&ErrorType::Notice, message);
}

/// Closes a native PHP session if one is active: its lock would block the user's other
/// requests for as long as the stream lasts.
pub fn release_session() {
    let active = ZendCallable::try_from_name("session_status").ok().and_then(|f| f.try_call(vec![]).ok()).and_then(|status| status.long());
    if active == Some(2) {
        call_if_defined("session_write_close", &[]);
    }
}

fn call_if_defined(function: &str, args: &[&dyn ext_php_rs::convert::IntoZvalDyn]) {
    if let Ok(f) = ZendCallable::try_from_name(function) {
        let _ = f.try_call(args.to_vec());
    }
}

/// The stream's side of it: what `sse_server::stream::Stream` writes to.
impl sse_server::stream::Output for Response {
    fn write(&mut self, bytes: &[u8]) -> bool {
        Response::write(self, bytes)
    }
    fn is_connected(&mut self) -> bool {
        Response::is_connected(self)
    }
    fn mark_disconnected(&mut self) {
        Response::mark_disconnected(self)
    }
    fn socket(&self) -> Option<i32> {
        Response::socket(self)
    }
    fn is_http(&self) -> bool {
        Response::is_http(self)
    }
    fn detach(&mut self) -> Option<(OwnedFd, u16)> {
        Response::detach(self)
    }
    fn finish(&mut self) {
        Response::finish(self)
    }
}
