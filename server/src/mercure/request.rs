//! What a request to the hub says: its method, headers, query and body. The PHP extension
//! fills it from `$_SERVER` and `php://input` (`src/mercure/request.rs`); the hub reads the raw
//! query and body itself, since PHP's `$_GET` and `$_POST` keep only the last of repeated
//! `topic` fields.

use crate::error::{Error, Result};

/// Where the request's body is read from, once, at most `limit` bytes (a little more is
/// allowed: the caller checks).
pub trait BodySource {
    fn read(&self, limit: usize) -> Result<Vec<u8>>;
}

/// A body already in memory (tests, and requests whose body was read elsewhere).
impl BodySource for Vec<u8> {
    fn read(&self, limit: usize) -> Result<Vec<u8>> {
        Ok(self[..self.len().min(limit.saturating_add(1))].to_vec())
    }
}

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
    pub body_source: Box<dyn BodySource>,
}

impl Request {
    /// A request with this method and path and nothing else (fill in the rest).
    pub fn new(method: &str, path: &str) -> Request {
        Request {
            method: method.to_owned(),
            query: Vec::new(),
            authorization: None,
            cookies: None,
            origin: None,
            referer: None,
            last_event_id: None,
            content_type: None,
            content_length: None,
            scheme: "http".to_owned(),
            host: String::new(),
            path: path.to_owned(),
            body_source: Box::new(Vec::new()),
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
            return Err(too_long(length.to_string()));
        }
        let bytes = self.body_source.read(limit)?;
        if bytes.len() > limit {
            return Err(too_long(format!("more than {limit}")));
        }
        Ok(bytes)
    }
}
