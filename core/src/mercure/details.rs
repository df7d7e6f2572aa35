//! The grants of a Mercure 1.0 access token: RFC 9396 `authorization_details` entries of type
//! `https://mercure.rocks/authorization-detail` (draft-dunglas-mercure-08, "Authorization").
//!
//! An entry grants `actions` (`publish`, `subscribe`; other strings are ignored, as later
//! drafts may add some) on `topics`, each `{"match": "...", "match_type": "exact" |
//! "urlpattern"}` (exact by default), and may carry a `payload` for the subscriber's presence.
//! Entries of other types belong to other resources and are ignored whatever their shape; one
//! malformed Mercure entry makes the whole token invalid, as the reference hub does: a token
//! that does not say clearly what it grants grants nothing.

use super::grant_pattern::GrantPattern;
use serde_json::{Map, Value};
use url::Url;

/// The `type` of Mercure's entries (compared byte for byte).
pub const DETAIL_TYPE: &str = "https://mercure.rocks/authorization-detail";

/// At most this many Mercure entries in one token, as the reference hub.
pub const MAX_ENTRIES: usize = 100;
/// At most this many topic objects over all of a token's Mercure entries.
pub const MAX_TOPICS: usize = 100;
/// At most this many bytes in one `match`.
pub const MAX_MATCH_LEN: usize = 4096;

/// What one topic object of a grant matches.
#[derive(Clone, Debug)]
pub enum TopicMatcher {
    /// `{"match": "*"}`: every topic, whatever the `match_type`.
    All,
    Exact(String),
    UrlPattern(GrantPattern),
}

impl TopicMatcher {
    /// Whether `topic` matches; `base` is the hub's URL, against which URL patterns and
    /// relative topics resolve.
    pub fn matches(&self, topic: &str, base: &Url) -> bool {
        match self {
            TopicMatcher::All => true,
            TopicMatcher::Exact(exact) => exact == topic,
            TopicMatcher::UrlPattern(pattern) => pattern.matches(topic, base),
        }
    }
}

/// One Mercure entry.
#[derive(Clone, Debug, Default)]
pub struct Grant {
    pub publish: bool,
    pub subscribe: bool,
    pub topics: Vec<TopicMatcher>,
    /// Kept for the subscription events and API (presence), which do not read it yet.
    pub payload: Option<Value>,
}

/// The Mercure entries of a token's `authorization_details` claim (absent: none, and the token
/// grants nothing), or why the token is invalid. `base` is the hub's URL.
pub fn parse(claim: Option<&Value>, base: &Url) -> Result<Vec<Grant>, &'static str> {
    let entries = match claim {
        None => return Ok(Vec::new()),
        Some(Value::Array(entries)) => entries,
        Some(_) => return Err("authorization_details is not an array"),
    };
    let mut grants = Vec::new();
    let mut topics = 0usize;
    for entry in entries {
        // A non-object has no type, so is no Mercure entry: ignored like any other type.
        let Some(entry) = entry.as_object().filter(|e| e.get("type").and_then(Value::as_str) == Some(DETAIL_TYPE)) else {
            continue;
        };
        if grants.len() == MAX_ENTRIES {
            return Err("too many Mercure authorization details");
        }
        let grant = parse_entry(entry, base)?;
        topics += grant.topics.len();
        if topics > MAX_TOPICS {
            return Err("too many topics in Mercure authorization details");
        }
        grants.push(grant);
    }
    Ok(grants)
}

fn parse_entry(entry: &Map<String, Value>, base: &Url) -> Result<Grant, &'static str> {
    let mut grant = Grant { payload: entry.get("payload").cloned(), ..Grant::default() };
    let actions = match entry.get("actions") {
        Some(Value::Array(actions)) if !actions.is_empty() => actions,
        _ => return Err("actions is not a non-empty array"),
    };
    for action in actions {
        match action.as_str() {
            Some("publish") => grant.publish = true,
            Some("subscribe") => grant.subscribe = true,
            Some(_) => {}
            None => return Err("an action is not a string"),
        }
    }
    let topics = match entry.get("topics") {
        Some(Value::Array(topics)) if !topics.is_empty() => topics,
        _ => return Err("topics is not a non-empty array"),
    };
    // Checked before the loop compiles anything: a token of thousands of patterns costs nothing.
    if topics.len() > MAX_TOPICS {
        return Err("too many topics in Mercure authorization details");
    }
    for topic in topics {
        grant.topics.push(parse_topic(topic, base)?);
    }
    Ok(grant)
}

fn parse_topic(topic: &Value, base: &Url) -> Result<TopicMatcher, &'static str> {
    let Some(topic) = topic.as_object() else { return Err("a topic is not an object") };
    let text = match topic.get("match") {
        Some(Value::String(text)) if !text.is_empty() => text,
        _ => return Err("a topic has no match string"),
    };
    if text.len() > MAX_MATCH_LEN || text.chars().any(|c| c.is_control()) {
        return Err("a topic's match is too long or holds control characters");
    }
    let urlpattern = match topic.get("match_type") {
        None => false,
        Some(Value::String(kind)) if kind == "exact" => false,
        Some(Value::String(kind)) if kind == "urlpattern" => true,
        Some(_) => return Err("a topic's match_type is neither exact nor urlpattern"),
    };
    if text == "*" {
        return Ok(TopicMatcher::All);
    }
    if !urlpattern {
        return Ok(TopicMatcher::Exact(text.clone()));
    }
    GrantPattern::compile(text, base).map(TopicMatcher::UrlPattern).ok_or("a topic's URL pattern does not compile")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn base() -> Url {
        Url::parse("https://hub.example/.well-known/mercure").unwrap_or_else(|e| panic!("{e}"))
    }

    fn entry(actions: Value, topics: Value) -> Value {
        json!({"type": DETAIL_TYPE, "actions": actions, "topics": topics})
    }

    #[test]
    fn reads_actions_topics_and_payload() {
        let claim = json!([
            {"type": DETAIL_TYPE, "actions": ["publish", "frobnicate"], "topics": [{"match": "a"}, {"match": "https://e.com/b/:id", "match_type": "urlpattern"}]},
            {"type": DETAIL_TYPE, "actions": ["subscribe"], "topics": [{"match": "*", "match_type": "exact"}], "payload": {"user": 7}},
            {"type": "other", "topics": "x"},
            "not an object",
        ]);
        let grants = parse(Some(&claim), &base()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(grants.len(), 2);
        assert!(grants[0].publish && !grants[0].subscribe);
        assert!(grants[0].topics[0].matches("a", &base()) && !grants[0].topics[0].matches("b", &base()));
        assert!(grants[0].topics[1].matches("https://e.com/b/1", &base()));
        assert!(!grants[0].topics[1].matches("https://e.com/b/1/x", &base()));
        assert!(grants[1].subscribe && matches!(grants[1].topics[0], TopicMatcher::All));
        assert_eq!(grants[1].payload, Some(json!({"user": 7})));
        assert!(parse(None, &base()).is_ok_and(|g| g.is_empty()));
    }

    #[test]
    fn one_malformed_mercure_entry_rejects_the_token() {
        let ok_topics = json!([{"match": "a"}]);
        for bad in [
            entry(json!([1]), ok_topics.clone()),
            entry(json!([]), ok_topics.clone()),
            entry(json!("publish"), ok_topics.clone()),
            json!({"type": DETAIL_TYPE, "topics": ok_topics.clone()}),
            entry(json!(["publish"]), json!([])),
            entry(json!(["publish"]), json!(["*"])),
            entry(json!(["publish"]), json!([null])),
            entry(json!(["publish"]), json!([{"match": ""}])),
            entry(json!(["publish"]), json!([{"match_type": "exact"}])),
            entry(json!(["publish"]), json!([{"match": 1}])),
            entry(json!(["publish"]), json!([{"match": "a", "match_type": "URLPattern"}])),
            entry(json!(["publish"]), json!([{"match": "a", "match_type": null}])),
            entry(json!(["publish"]), json!([{"match": "https://e.com/(", "match_type": "urlpattern"}])),
            entry(json!(["publish"]), json!([{"match": "a\u{0}b"}])),
            entry(json!(["publish"]), json!([{"match": "a".repeat(MAX_MATCH_LEN + 1)}])),
        ] {
            let claim = json!([entry(json!(["subscribe"]), json!([{"match": "*"}])), bad]);
            assert!(parse(Some(&claim), &base()).is_err(), "{claim} was accepted");
        }
        assert!(parse(Some(&json!({"type": DETAIL_TYPE})), &base()).is_err());
    }

    #[test]
    fn caps_entries_and_topics() {
        let one = entry(json!(["subscribe"]), json!([{"match": "a"}]));
        let hundred = Value::Array(vec![one.clone(); MAX_ENTRIES]);
        assert!(parse(Some(&hundred), &base()).is_ok());
        let too_many = Value::Array(vec![one; MAX_ENTRIES + 1]);
        assert!(parse(Some(&too_many), &base()).is_err());
        let topics = Value::Array(vec![json!({"match": "a"}); MAX_TOPICS + 1]);
        assert!(parse(Some(&json!([entry(json!(["publish"]), topics)])), &base()).is_err());
        let split = json!([
            entry(json!(["publish"]), Value::Array(vec![json!({"match": "a"}); 60])),
            entry(json!(["publish"]), Value::Array(vec![json!({"match": "a"}); 41]))
        ]);
        assert!(parse(Some(&split), &base()).is_err());
        // Other types count for nothing.
        let others = Value::Array(vec![json!({"type": "other"}); 500]);
        assert!(parse(Some(&others), &base()).is_ok_and(|g| g.is_empty()));
    }
}
