//! WHATWG URL patterns from arbitrary text, compiled within a small budget and matched against
//! arbitrary topics: never a panic, never more than the budget; a pattern compiled alone and in
//! a list matches the same topics.
#![no_main]

use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;
use sse_core::mercure::url_pattern::{compile, hub_url};

#[derive(Arbitrary, Debug)]
struct Input {
    patterns: Vec<String>,
    topics: Vec<String>,
}

const BUDGET: usize = 256 * 1024;

fuzz_target!(|input: Input| {
    let Some(base) = hub_url("https", "hub.example", "/.well-known/mercure") else { return };
    let patterns: Vec<String> = input.patterns.into_iter().take(8).collect();
    let Ok((all, left)) = compile(&patterns, &base, BUDGET) else { return };
    assert!(left <= BUDGET);
    for (index, pattern) in patterns.iter().enumerate() {
        let Ok((one, _)) = compile(std::slice::from_ref(pattern), &base, BUDGET) else {
            panic!("pattern {index} compiled in a list but not alone: {pattern:?}");
        };
        for topic in input.topics.iter().take(8) {
            if one.matches(topic) {
                assert!(all.matches(topic), "{pattern:?} matches {topic:?} alone only");
            }
        }
    }
});
