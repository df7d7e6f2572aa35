//! Topic selectors (exact topics, `*`, RFC 6570 URI templates) from a subscribe query, and
//! matching them against topics: never a panic, and one request's selectors stay within their
//! budget (count, size and compile cost), refused with an error otherwise.
#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use sse_core::mercure::form;

fuzz_target!(|bytes: &[u8]| {
    let mut u = Unstructured::new(bytes);
    let topics: Vec<String> = Vec::arbitrary(&mut u).unwrap_or_default();
    let query = u.take_rest();
    let Ok(subscribe) = form::parse_subscribe(query) else { return };
    assert!(subscribe.selectors.len() <= 100);
    for topic in topics.iter().take(16) {
        let _ = subscribe.selectors.matches(topic);
    }
});
