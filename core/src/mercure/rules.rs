//! What draft-dunglas-mercure-08 forbids an update to be, whatever the draft the publisher
//! speaks (the rules protect subscribers, and draft-07 publishers never needed any of it):
//! - a topic in the hub's reserved namespace: its path, as a WHATWG URL parser resolves the
//!   topic against the hub's URL (dot segments removed, percent-encoded unreserved characters
//!   decoded), is `/.well-known/mercure` or below it, on any host; and the topic `*`, which
//!   selects every topic and so cannot be one;
//! - an `id` that starts with `#`, is `earliest` (both mean something to a subscriber's
//!   cursor), or holds a control or format character;
//! - a `type` that is `mercure` (the hub's own events) or holds a control or format character;
//! - a topic holding a format character (control characters are refused by `topic`).
//!
//! Format characters (Unicode category Cf: bidirectional overrides, zero-width joiners) are
//! refused because they make two different strings look alike to the person who reads them.

use crate::error::{Error, Result};
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};
use url::Url;

/// The path a topic must not resolve into.
const RESERVED: &str = "/.well-known/mercure";

/// Checks an update's topics, id and type; the error names the field.
pub fn check(topics: &[String], id: Option<&str>, event_type: Option<&str>) -> Result<()> {
    for topic in topics {
        if topic == "*" {
            return Err(Error::invalid_argument("topic", "the topic \"*\" selects every topic; an update cannot be published to it"));
        }
        if let Some(at) = format_character(topic) {
            return Err(Error::invalid_argument("topic", format!("the topic \"{}\" contains a format character at byte {at}", shown(topic))));
        }
        if is_reserved(topic) {
            return Err(Error::invalid_argument("topic", format!("the topic \"{}\" is in the hub's reserved namespace ({RESERVED})", shown(topic))));
        }
    }
    if let Some(id) = id {
        if id.is_empty() || id.starts_with('#') || id == "earliest" {
            return Err(Error::invalid_argument(
                "id",
                format!("the id \"{}\" is not allowed: an id must not be empty, start with '#' or be \"earliest\"", shown(id)),
            ));
        }
        if let Some(at) = control_or_format_character(id) {
            return Err(Error::invalid_argument("id", format!("the id \"{}\" contains a control or format character at byte {at}", shown(id))));
        }
    }
    if let Some(event_type) = event_type {
        if event_type == "mercure" {
            return Err(Error::invalid_argument("type", "the type \"mercure\" is the hub's own (subscription events)"));
        }
        if let Some(at) = control_or_format_character(event_type) {
            return Err(Error::invalid_argument("type", format!("the type \"{}\" contains a control or format character at byte {at}", shown(event_type))));
        }
    }
    Ok(())
}

/// Whether a topic resolves into the reserved namespace. A topic that does not parse as a URL
/// reference is not a path at all, so it is not reserved.
pub fn is_reserved(topic: &str) -> bool {
    // Any base with the hub's path: a relative topic resolves against the hub's URL, and the
    // host never matters.
    let Ok(base) = Url::parse("https://mercure.invalid/.well-known/mercure") else { return false };
    let Ok(resolved) = base.join(topic) else { return false };
    let path = decode_unreserved(resolved.path());
    path == RESERVED || path.starts_with(&format!("{RESERVED}/"))
}

/// Decodes `%XX` escapes of unreserved characters (RFC 3986: letters, digits, `-._~`), which
/// name the same resource encoded or not; every other escape stays.
fn decode_unreserved(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut out = String::with_capacity(path.len());
    let mut at = 0;
    while at < bytes.len() {
        if bytes[at] == b'%' && at + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[at + 1..at + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok());
            if let Some(byte) = hex.filter(|b| b.is_ascii_alphanumeric() || b"-._~".contains(b)) {
                out.push(byte as char);
                at += 3;
                continue;
            }
        }
        // Safe to step a byte at a time: `path` came from a URL, which is ASCII.
        out.push(bytes[at] as char);
        at += 1;
    }
    // Dot segments that were escaped (`%2E%2E`) are real once decoded: resolve them again.
    match Url::parse("https://mercure.invalid/").and_then(|base| base.join(&out)) {
        Ok(url) if out.contains("/.") => url.path().to_owned(),
        _ => out,
    }
}

fn format_character(text: &str) -> Option<usize> {
    text.char_indices().find(|(_, c)| c.general_category() == GeneralCategory::Format).map(|(at, _)| at)
}

fn control_or_format_character(text: &str) -> Option<usize> {
    text.char_indices().find(|(_, c)| c.is_control() || c.general_category() == GeneralCategory::Format).map(|(at, _)| at)
}

fn shown(text: &str) -> String {
    text.chars().take(40).collect::<String>().escape_debug().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reserved_namespace_is_tested_on_the_resolved_path() {
        for topic in [
            "/.well-known/mercure",
            "/.well-known/mercure/subscriptions/x",
            "https://any.host/.well-known/%6Dercure/x",
            "/a/../.well-known/mercure",
            "https://h/a/%2E%2E/.well-known/mercure/x",
            "subscriptions/../mercure",
            "http://h:8080/.well-known/mercure?x",
        ] {
            assert!(is_reserved(topic), "{topic}");
        }
        for topic in ["/.well-known/mercurex", "https://h/books/1", "urn:isbn:1", "books", "/.well-known/mercur", "https://h/.well-known/%2Fmercure"] {
            assert!(!is_reserved(topic), "{topic}");
        }
    }

    #[test]
    fn each_refusal_names_its_field() {
        let topics = |t: &[&str]| t.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let refused = |t: &[&str], id: Option<&str>, ty: Option<&str>| check(&topics(t), id, ty).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(refused(&["*"], None, None).contains("$topic"));
        assert!(refused(&["a", "/.well-known/mercure/x"], None, None).contains("reserved namespace"));
        assert!(refused(&["a\u{200e}b"], None, None).contains("format character"));
        for id in ["#1", "earliest", "", "a\rb", "a\u{202e}b"] {
            assert!(refused(&["a"], Some(id), None).contains("$id"), "{id:?}");
        }
        assert!(refused(&["a"], None, Some("mercure")).contains("$type"));
        assert!(refused(&["a"], None, Some("a\u{feff}")).contains("$type"));
        assert!(check(&topics(&["https://example.com/books/1"]), Some("urn:uuid:1"), Some("book")).is_ok());
        assert!(check(&topics(&["a"]), Some("earliest-1"), Some("Mercure")).is_ok());
    }
}
