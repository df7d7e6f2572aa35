//! The current PHP request as the hub sees it (`sse_server::mercure::request::Request`), read
//! from `$_SERVER`, with its body read from `php://input` when the hub asks for it.

use crate::error::Error;
use crate::ffi;
use ext_php_rs::types::ZendCallable;
use sse_server::error::Result;
use sse_server::mercure::request::{BodySource, Request};
use std::ffi::CStr;

fn server(key: &CStr) -> Option<Vec<u8>> {
    ffi::superglobal_string(c"_SERVER", key)
}

fn server_text(key: &CStr) -> Option<String> {
    server(key).and_then(|bytes| String::from_utf8(bytes).ok())
}

/// The request's scheme: `$_SERVER['HTTPS']` set (and not `off`) or `REQUEST_SCHEME`.
fn scheme() -> String {
    let https = server_text(c"HTTPS").is_some_and(|v| !v.is_empty() && !v.eq_ignore_ascii_case("off"));
    if https || server_text(c"REQUEST_SCHEME").is_some_and(|s| s.eq_ignore_ascii_case("https")) {
        "https".to_owned()
    } else {
        "http".to_owned()
    }
}

/// The current request.
pub fn current() -> Request {
    Request {
        method: server_text(c"REQUEST_METHOD").unwrap_or_else(|| "GET".to_owned()).to_ascii_uppercase(),
        query: server(c"QUERY_STRING").unwrap_or_default(),
        // Apache without CGIPassAuth hides the header; some set REDIRECT_HTTP_AUTHORIZATION.
        authorization: server_text(c"HTTP_AUTHORIZATION").or_else(|| server_text(c"REDIRECT_HTTP_AUTHORIZATION")),
        cookies: server_text(c"HTTP_COOKIE"),
        origin: server_text(c"HTTP_ORIGIN"),
        referer: server_text(c"HTTP_REFERER"),
        last_event_id: server(c"HTTP_LAST_EVENT_ID"),
        content_type: server_text(c"CONTENT_TYPE").or_else(|| server_text(c"HTTP_CONTENT_TYPE")),
        content_length: server_text(c"CONTENT_LENGTH").and_then(|n| n.trim().parse().ok()),
        scheme: scheme(),
        host: server_text(c"HTTP_HOST").unwrap_or_else(|| {
            let name = server_text(c"SERVER_NAME").unwrap_or_default();
            match server_text(c"SERVER_PORT") {
                Some(port) if !name.is_empty() && port != "80" && port != "443" => format!("{name}:{port}"),
                _ => name,
            }
        }),
        path: server_text(c"REQUEST_URI").map(|uri| uri.split(['?', '#']).next().unwrap_or_default().to_owned()).unwrap_or_default(),
        body_source: Box::new(PhpInput),
    }
}

/// `php://input`, read when the hub asks for the body.
struct PhpInput;

impl BodySource for PhpInput {
    fn read(&self, limit: usize) -> Result<Vec<u8>> {
        let read = ZendCallable::try_from_name("file_get_contents").map_err(|_| Error::misuse("file_get_contents() is not available"))?;
        let max = i64::try_from(limit + 1).unwrap_or(i64::MAX);
        let body = read.try_call(vec![&"php://input", &false, &(), &0i64, &max]).map_err(|_| Error::misuse("the request body could not be read"))?;
        Ok(body.zend_str().map(|s| s.as_bytes().to_vec()).unwrap_or_default())
    }
}
