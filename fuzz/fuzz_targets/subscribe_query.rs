//! The subscribe request of either draft from arbitrary bytes (a query, and a QUERY's form
//! body after a NUL when there is one), URL patterns compiled against the hub's URL: never a
//! panic; what is accepted keeps the limits; `*` matches every topic; a compiled request
//! matches topics (taken from the input) without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sse_core::mercure::form::{read_subscribe_form, Draft};
use sse_core::mercure::selector::MAX_COUNT;
use sse_core::mercure::url_pattern::hub_url;

fuzz_target!(|bytes: &[u8]| {
    let (query, body) = match bytes.iter().position(|&b| b == 0) {
        Some(at) => (&bytes[..at], Some(&bytes[at + 1..])),
        None => (bytes, None),
    };
    let Ok(read) = read_subscribe_form(query, body) else { return };
    assert!(read.selectors.len() <= MAX_COUNT);
    if body.is_some() {
        assert!(read.draft == Draft::Mercure10 || !read.selectors.is_empty());
    }
    let base = hub_url("https", "hub.example", "/.well-known/mercure");
    let Ok(compiled) = read.compile_at(base.as_ref()) else { return };
    let text = String::from_utf8_lossy(bytes);
    let star = compiled.selectors.matches("*") && compiled.selectors.matches("\u{1}not a topic");
    for topic in text.split(['&', '=']).chain(["https://hub.example/books/1", "/a/b", "", "urn:x"]) {
        let matched = compiled.selectors.matches(topic);
        if star {
            assert!(matched, "{topic:?}");
        }
    }
});
