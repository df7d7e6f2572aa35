//! What the current request says, read from `$_SERVER` and `php://input`. The hub reads the
//! raw query and body itself: PHP's `$_GET` and `$_POST` keep only the last of repeated
//! `topic` fields.

use crate::error::{Error, Result};
use crate::ffi;
use ext_php_rs::types::ZendCallable;
use std::ffi::CStr;

pub struct Request {
    pub method: String,
    pub query: Vec<u8>,
    pub authorization: Option<String>,
    pub cookies: Option<String>,
    pub origin: Option<String>,
    pub referer: Option<String>,
    pub last_event_id: Option<Vec<u8>>,
    pub content_type: Option<String>,
    pub content_length: Option<u64>,
    /// The request came over TLS, as the server says (`HTTPS`, `REQUEST_SCHEME`).
    pub https: bool,
    /// `Host`, or the server's name: the origin of the hub's own URLs.
    pub host: Option<String>,
    /// The request's path, without the query.
    pub path: String,
}

fn server(key: &CStr) -> Option<Vec<u8>> {
    ffi::superglobal_string(c"_SERVER", key)
}

fn server_text(key: &CStr) -> Option<String> {
    server(key).and_then(|bytes| String::from_utf8(bytes).ok())
}

impl Request {
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
            https: server_text(c"HTTPS").is_some_and(|v| !v.is_empty() && !v.eq_ignore_ascii_case("off"))
                || server_text(c"REQUEST_SCHEME").is_some_and(|v| v.eq_ignore_ascii_case("https")),
            host: server_text(c"HTTP_HOST").or_else(|| server_text(c"SERVER_NAME")),
            path: server_text(c"REQUEST_URI").map(|uri| uri.split(['?', '#']).next().unwrap_or_default().to_owned()).unwrap_or_default(),
        }
    }

    /// The request's origin (`scheme://host`), when its host is one.
    pub fn origin(&self) -> Option<String> {
        self.host.as_deref().and_then(|host| sse_core::mercure::bearer::origin(self.https, host))
    }

    /// The body, at most `limit` bytes; a longer one is an error saying so (nothing more is
    /// read than one byte past the limit).
    pub fn body(&self, limit: usize) -> Result<Vec<u8>> {
        let too_long = |length: String| Error::invalid_argument("body", format!("the request body is {length} bytes; the limit is {limit}"));
        if let Some(length) = self.content_length.filter(|&n| n > limit as u64) {
            return Err(too_long(length.to_string()).into());
        }
        let read = ZendCallable::try_from_name("file_get_contents")
            .map_err(|_| Error::misuse("file_get_contents() is not available"))?;
        let max = i64::try_from(limit + 1).unwrap_or(i64::MAX);
        let body = read
            .try_call(vec![&"php://input", &false, &(), &0i64, &max])
            .map_err(|_| Error::misuse("the request body could not be read"))?;
        let bytes = body.zend_str().map(|s| s.as_bytes().to_vec()).unwrap_or_default();
        if bytes.len() > limit {
            return Err(too_long(format!("more than {limit}")).into());
        }
        Ok(bytes)
    }
}
