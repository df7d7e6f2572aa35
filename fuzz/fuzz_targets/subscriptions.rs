//! Mercure's active subscriptions: the API's paths (from a request) and the leases read back
//! from a broker never panic; a path that parses as one subscription names it again the way its
//! topic does, and a subscription's topic parses back to it.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use sse_core::broker::leases::parse_lease;
use sse_core::mercure::subscriptions::{decode_list, escape, parse_path, topic_of, unescape, ApiPath, MatchType};

#[derive(Arbitrary, Debug)]
struct Input {
    path: String,
    matched: String,
    subscriber: String,
    urlpattern: bool,
    stored: Vec<u8>,
}

fuzz_target!(|input: Input| {
    if let Ok(Some(ApiPath::One { match_type, matched, subscriber })) = parse_path(&input.path) {
        let again = topic_of(match_type, &matched, &subscriber);
        // Escaped again, a `+` (a space) grows to `%20`: beyond the budget, refused.
        if again.len() <= sse_core::mercure::subscriptions::MAX_PATH {
            assert_eq!(parse_path(&again).ok().flatten(), Some(ApiPath::One { match_type, matched, subscriber }));
        }
    }
    assert_eq!(unescape(&escape(&input.matched)).ok().as_deref(), Some(input.matched.as_str()));
    if !input.matched.is_empty() && !input.subscriber.is_empty() {
        let match_type = if input.urlpattern { MatchType::UrlPattern } else { MatchType::Exact };
        let topic = topic_of(match_type, &input.matched, &input.subscriber);
        let parsed = parse_path(&topic);
        if topic.len() <= sse_core::mercure::subscriptions::MAX_PATH {
            assert_eq!(parsed.ok().flatten(), Some(ApiPath::One { match_type, matched: input.matched, subscriber: input.subscriber }));
        }
    }
    let _ = decode_list(&input.stored);
    let _ = parse_lease(&input.stored);
});
