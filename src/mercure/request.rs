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
    /// `https` or `http`, as the server says the request came.
    pub scheme: String,
    /// The `Host` the client asked for (with its port), else the server's name and port.
    pub host: String,
    /// The path the request was made to, without its query.
    pub path: String,
}

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
            scheme: scheme(),
            host: server_text(c"HTTP_HOST").unwrap_or_else(|| {
                let name = server_text(c"SERVER_NAME").unwrap_or_default();
                match server_text(c"SERVER_PORT") {
                    Some(port) if !name.is_empty() && port != "80" && port != "443" => format!("{name}:{port}"),
                    _ => name,
                }
            }),
            path: server_text(c"REQUEST_URI").map(|uri| uri.split(['?', '#']).next().unwrap_or_default().to_owned()).unwrap_or_default(),
        }
    }

    /// The hub's own URL as this request reached it: the base of relative URL patterns and
    /// topics (None when the request does not make one).
    pub fn hub_url(&self) -> Option<sse_core::mercure::url_pattern::Url> {
        sse_core::mercure::url_pattern::hub_url(&self.scheme, &self.host, &self.path)
    }

    /// The request's origin (`scheme://host`), when its host is one.
    pub fn origin(&self) -> Option<String> {
        Some(self.host.as_str()).filter(|host| !host.is_empty()).and_then(|host| sse_core::mercure::bearer::origin(self.scheme == "https", host))
    }

    /// The body, at most `limit` bytes; a longer one is an error saying so (nothing more is
    /// read than one byte past the limit).
    pub fn body(&self, limit: usize) -> Result<Vec<u8>> {
        let too_long = |length: String| Error::invalid_argument("body", format!("the request body is {length} bytes; the limit is {limit}"));
        if let Some(length) = self.content_length.filter(|&n| n > limit as u64) {
            return Err(too_long(length.to_string()).into());
        }
        let read = ZendCallable::try_from_name("file_get_contents").map_err(|_| Error::misuse("file_get_contents() is not available"))?;
        let max = i64::try_from(limit + 1).unwrap_or(i64::MAX);
        let body = read.try_call(vec![&"php://input", &false, &(), &0i64, &max]).map_err(|_| Error::misuse("the request body could not be read"))?;
        let bytes = body.zend_str().map(|s| s.as_bytes().to_vec()).unwrap_or_default();
        if bytes.len() > limit {
            return Err(too_long(format!("more than {limit}")).into());
        }
        Ok(bytes)
    }
}
