//! The one place a short HTTP answer is written: `SseEmitter::reject()`, the 204 that ends a
//! finished stream's reconnect, and every answer of the Mercure hub. Under a web SAPI the answer
//! is complete once written: it goes past PHP's output buffers with its headers, and later
//! output is dropped, so that neither what the script echoed before nor a framework's own
//! response after it can change its status or add to its body. Under the CLI it goes through
//! the buffers, where tests capture it.

use crate::ffi;
use crate::output::is_command_line;

/// A body and its type.
pub struct Body<'a> {
    pub content_type: &'a str,
    pub bytes: &'a [u8],
}

/// Answers with `status`, `headers` and `body` (none: an answer without a body or a type).
pub fn send(status: u16, headers: &[(String, String)], body: Option<Body>) {
    if ffi::headers_sent_at().is_none() {
        match &body {
            Some(body) => {
                ffi::set_header(&format!("Content-Type: {}", body.content_type), true);
                ffi::set_header("Cache-Control: no-store", true);
            }
            // Without this PHP would add Content-Type: text/html to an answer with no body.
            None => {
                ffi::set_ini("default_mimetype", "");
            }
        }
        for (name, value) in headers {
            ffi::set_header(&format!("{name}: {value}"), true);
        }
        // After the headers: PHP makes any answer with WWW-Authenticate a 401, and a 400 or
        // 403 challenge carries one.
        ffi::set_status(i32::from(status));
    }
    let bytes = body.map_or(&b""[..], |body| body.bytes);
    if is_command_line() {
        ffi::write_buffered(bytes);
        return;
    }
    ffi::discard_output_buffers();
    ffi::write_direct(bytes);
    ffi::disable_output();
}
