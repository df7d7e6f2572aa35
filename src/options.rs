//! The options array of `new Sse\SseEmitter([...])`, validated once, with its defaults.

use crate::error::{Error, Result};
use crate::option_values as values;
use ext_php_rs::types::{ArrayKey, ZendHashTable, Zval};
use sse_core::frame::has_line_break_or_nul;
use std::time::Duration;

pub use sse_server::stream::DEFAULT_HEARTBEAT;

/// Headers that belong to one connection, not to the response: HTTP/2 forbids them and some
/// clients drop the stream when they appear. Content-Length would end the stream early.
const FORBIDDEN_HEADERS: [&str; 7] = ["connection", "keep-alive", "transfer-encoding", "upgrade", "proxy-connection", "te", "content-length"];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClockKind {
    Real,
    Virtual,
}

#[derive(Clone, Debug)]
pub struct Options {
    pub retry: Option<u64>,
    pub heartbeat: Duration,
    pub max_duration: Duration,
    pub headers: Vec<(String, String)>,
    pub cors: Option<String>,
    pub status: i32,
    pub clock: ClockKind,
    pub keep_time_limit: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            retry: None,
            heartbeat: DEFAULT_HEARTBEAT,
            max_duration: Duration::ZERO,
            headers: Vec::new(),
            cors: None,
            status: 200,
            clock: ClockKind::Real,
            keep_time_limit: false,
        }
    }
}

impl Options {
    /// What the stream itself does with these options (the rest is the response's).
    pub fn stream_settings(&self) -> sse_server::stream::Settings {
        sse_server::stream::Settings {
            retry: self.retry,
            heartbeat: self.heartbeat,
            max_duration: self.max_duration,
            virtual_clock: self.clock == ClockKind::Virtual,
        }
    }

    pub fn from_array(array: &ZendHashTable) -> Result<Self> {
        let mut options = Options::default();
        for (key, value) in array {
            let value = value.dereference();
            let name = values::name_of(key);
            match name.as_str() {
                "retry" => options.retry = nullable(value, |v| non_negative_int("retry", v))?,
                "heartbeat" => options.heartbeat = seconds("heartbeat", value)?,
                "maxDuration" => options.max_duration = seconds("maxDuration", value)?,
                "headers" => options.headers = headers(value)?,
                "cors" => options.cors = nullable(value, |v| header_value("cors", v))?,
                "status" => options.status = status(value)?,
                "clock" => options.clock = clock(value)?,
                "keepTimeLimit" => options.keep_time_limit = values::boolean("keepTimeLimit", value)?,
                _ => return Err(values::unknown(name, "retry, heartbeat, maxDuration, headers, cors, status, clock and keepTimeLimit")),
            }
        }
        Ok(options)
    }
}

fn nullable<T>(value: &Zval, parse: impl FnOnce(&Zval) -> Result<T>) -> Result<Option<T>> {
    if value.is_null() {
        Ok(None)
    } else {
        parse(value).map(Some)
    }
}

fn non_negative_int(name: &str, value: &Zval) -> Result<u64> {
    values::whole(name, value, 0..=u64::MAX, "a non-negative integer of milliseconds")
}

/// Seconds as int or float; zero disables.
fn seconds(name: &str, value: &Zval) -> Result<Duration> {
    values::seconds(name, value, 0.0..=1e9, "a finite, non-negative number of seconds (0 disables it)")
}

fn status(value: &Zval) -> Result<i32> {
    match values::integer(value) {
        Some(n) if (100..=599).contains(&n) => Ok(n as i32),
        _ => Err(Error::invalid_option("status", "must be an HTTP status code between 100 and 599").into()),
    }
}

fn clock(value: &Zval) -> Result<ClockKind> {
    match value.str() {
        Some("real") => Ok(ClockKind::Real),
        Some("virtual") => Ok(ClockKind::Virtual),
        _ => Err(Error::invalid_option("clock", "must be 'real' or 'virtual'").into()),
    }
}

fn header_value(name: &str, value: &Zval) -> Result<String> {
    let text = value.zend_str().map(|s| s.as_bytes()).ok_or_else(|| Error::invalid_option(name, "must be a string"))?;
    if has_line_break_or_nul(text) {
        return Err(Error::invalid_option(name, "contains CR, LF or NUL, which would split the header").into());
    }
    String::from_utf8(text.to_vec()).map_err(|_| Error::invalid_option(name, "is not valid UTF-8").into())
}

/// `['Name' => 'value', ...]`: names must be HTTP tokens, values one line.
pub fn headers(value: &Zval) -> Result<Vec<(String, String)>> {
    let array = value.array().ok_or_else(|| Error::invalid_option("headers", "must be an array of name => value"))?;
    let mut headers = Vec::new();
    for (key, value) in array {
        let name = match key {
            ArrayKey::Long(_) => return Err(Error::invalid_option("headers", "must be keyed by header name").into()),
            other => other.to_string(),
        };
        let valid_token = !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
        if !valid_token {
            return Err(
                Error::invalid_option("headers", format!("header name {name:?} is not a valid HTTP header name (no spaces, colons, CR, LF or NUL)")).into()
            );
        }
        if FORBIDDEN_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
            return Err(Error::invalid_option("headers", format!("{name} is a hop-by-hop or length header; it breaks event streams (and HTTP/2)")).into());
        }
        let value = value.dereference();
        let text = if value.is_long() || value.is_double() {
            String::from_utf8_lossy(&crate::ffi::php_string(value)).into_owned()
        } else {
            header_value("headers", value).map_err(|_| Error::invalid_option("headers", format!("value of {name} must be a one-line string")))?
        };
        headers.push((name, text));
    }
    Ok(headers)
}
