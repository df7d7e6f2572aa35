//! Mercure 1.0's active subscriptions (draft-dunglas-mercure-08, "Active Subscriptions"), as
//! the Go hub writes them: what a subscription is, its topic, its JSON document, the event the
//! hub publishes when it starts and ends, the collection the subscription API answers with,
//! and the API's paths. Pure: the registry of a process and its leases across processes and
//! machines are `sse_server::presence`.
//!
//! - topic: `/.well-known/mercure/subscriptions/{match_type}/{match}/{subscriber}`, each variable
//!   percent-encoded once as Go's `url.QueryEscape` does, then `+` written `%20` ([`escape`]);
//! - document: `{"id": <topic>, "type": "subscription", "subscriber", "match", "match_type",
//!   "active", "payload"?}`;
//! - event: a private update of SSE type `mercure` on the topic, whose data is the document
//!   ([`Subscription::update`], framed by [`frame`]: the hub's own events are in the reserved
//!   namespace and of the reserved type, which `rules` refuses to any publisher);
//! - collection: `{"id": <path>, "type": "subscriptions", "subscriptions": [...]}`;
//! - API paths: `/.well-known/mercure/subscriptions[/{match_type}/{match}[/{subscriber}]]`
//!   ([`parse_path`]), an unknown match type being a 400.
//!
//! A subscriber id is `urn:uuid:` and a random (version 4) UUID, one per connection, shared by
//! the connection's subscriptions ([`new_subscriber_id`]).

use super::matchers::{self, Kind};
use super::update::{Update, PRIVATE, TOPIC_PREFIX};
use crate::error::{Error, Result};
use crate::Event;
use serde::{Deserialize, Serialize};
/// The JSON of payloads (a token's claims hold them as `serde_json::Value` too).
pub use serde_json;

/// The path of the subscription API, and the prefix of every subscription topic.
pub const PREFIX: &str = "/.well-known/mercure/subscriptions";

/// The SSE type of the hub's own events.
pub const EVENT_TYPE: &str = "mercure";

/// Longest API path read, in bytes: a match of the longest a matcher may be, escaped (three
/// bytes for each), a subscriber id of the same length, and the rest.
pub const MAX_PATH: usize = PREFIX.len() + 2 * 3 * matchers::MAX_LEN + 64;

/// Longest lease body read back from a broker (see [`decode_list`]): 64 MiB, about 200,000
/// subscriptions of ordinary size.
pub const MAX_LIST_BYTES: usize = 64 << 20;

/// How a subscription matches topics: `match` / `match_exact`, or `match_urlpattern`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MatchType {
    #[serde(rename = "exact")]
    Exact,
    #[serde(rename = "urlpattern")]
    UrlPattern,
}

impl MatchType {
    pub fn as_str(self) -> &'static str {
        match self {
            MatchType::Exact => "exact",
            MatchType::UrlPattern => "urlpattern",
        }
    }

    /// The match type a path or a document names; None for any other (a 400 in the API).
    pub fn parse(name: &str) -> Option<MatchType> {
        match name {
            "exact" => Some(MatchType::Exact),
            "urlpattern" => Some(MatchType::UrlPattern),
            _ => None,
        }
    }
}

impl From<Kind> for MatchType {
    fn from(kind: Kind) -> MatchType {
        match kind {
            Kind::Exact => MatchType::Exact,
            Kind::UrlPattern => MatchType::UrlPattern,
        }
    }
}

/// One active subscription: one matcher of one connection.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscription {
    /// `urn:uuid:…`, the connection's.
    pub subscriber: String,
    /// The matcher's value (a topic, or a URL pattern), as the subscriber sent it.
    #[serde(rename = "match")]
    pub matched: String,
    pub match_type: MatchType,
    /// The `payload` of the subscriber's token grant, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<serde_json::Value>,
}

/// The document of a subscription, in the order the Go hub writes its fields.
#[derive(Serialize)]
struct Document<'a> {
    id: String,
    #[serde(rename = "type")]
    kind: &'static str,
    subscriber: &'a str,
    #[serde(rename = "match")]
    matched: &'a str,
    match_type: MatchType,
    active: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    payload: Option<&'a serde_json::Value>,
}

#[derive(Serialize)]
struct Collection<'a> {
    id: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    subscriptions: Vec<Document<'a>>,
}

impl Subscription {
    /// `/.well-known/mercure/subscriptions/{match_type}/{match}/{subscriber}`.
    pub fn topic(&self) -> String {
        topic_of(self.match_type, &self.matched, &self.subscriber)
    }

    fn document_value(&self, active: bool) -> Document<'_> {
        Document {
            id: self.topic(),
            kind: "subscription",
            subscriber: &self.subscriber,
            matched: &self.matched,
            match_type: self.match_type,
            active,
            payload: self.payload.as_ref(),
        }
    }

    /// The JSON document: what the API lists (`active: true`) and what an event carries.
    pub fn document(&self, active: bool) -> String {
        serde_json::to_string(&self.document_value(active)).unwrap_or_default()
    }

    /// The update announcing that the subscription started (`active`) or ended: private, of
    /// type `mercure`, on the subscription's topic. Frame it with [`frame`] (not
    /// `Update::frame`, which refuses the hub's reserved namespace and type to publishers).
    pub fn update(&self, active: bool) -> Update {
        Update { topics: vec![self.topic()], data: self.document(active), private: true, event_type: Some(EVENT_TYPE.to_owned()), retry: None, id: None }
    }
}

/// The topic of a subscription from its parts.
pub fn topic_of(match_type: MatchType, matched: &str, subscriber: &str) -> String {
    format!("{PREFIX}/{}/{}/{}", match_type.as_str(), escape(matched), escape(subscriber))
}

/// Frames one of the hub's own updates (a subscription event): the frame without id, where
/// the id goes, and the broker topics. Its topics must be valid topics (length, no control
/// character): a subscription whose topic is longer than a broker topic may be has no event
/// (the error says so), though the API lists it.
pub fn frame(update: &Update) -> Result<(Vec<u8>, usize, Vec<String>)> {
    for topic in &update.topics {
        super::topic::check(topic)?;
    }
    let mut event = Event::new();
    if let Some(event_type) = &update.event_type {
        event.set_event(event_type.as_bytes())?;
    }
    event.set_data_string(update.data.clone());
    let (frame, slot) = event.encode_without_id();
    let mut topics = vec![if update.private { PRIVATE } else { super::update::PUBLIC }.to_owned()];
    topics.extend(update.topics.iter().map(|t| format!("{TOPIC_PREFIX}{t}")));
    Ok((frame, slot, topics))
}

/// The collection document the API answers with, for the request's path.
pub fn collection(path: &str, subscriptions: &[Subscription]) -> String {
    let documents = subscriptions.iter().map(|s| s.document_value(true)).collect();
    serde_json::to_string(&Collection { id: path, kind: "subscriptions", subscriptions: documents }).unwrap_or_default()
}

/// The body of the API's answer for `path` (the request's path, as the `id`) and what it
/// asks for, from the subscriptions it selects: the collection, or for one subscriber its
/// document; None for a subscriber that has none (a 404).
pub fn answer(path: &str, asked: &ApiPath, selected: &[Subscription]) -> Option<String> {
    match asked {
        ApiPath::One { .. } => selected.first().map(|s| s.document(true)),
        _ => Some(collection(path, selected)),
    }
}

/// What an API path asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ApiPath {
    /// `/.well-known/mercure/subscriptions`: every subscription.
    All,
    /// `…/{match_type}/{match}`: the subscriptions of one matcher.
    Match { match_type: MatchType, matched: String },
    /// `…/{match_type}/{match}/{subscriber}`: one subscription (404 when there is none).
    One { match_type: MatchType, matched: String, subscriber: String },
}

impl ApiPath {
    /// Whether `subscription` is one the path asks for.
    pub fn selects(&self, subscription: &Subscription) -> bool {
        match self {
            ApiPath::All => true,
            ApiPath::Match { match_type, matched } => subscription.match_type == *match_type && subscription.matched == *matched,
            ApiPath::One { match_type, matched, subscriber } => {
                subscription.match_type == *match_type && subscription.matched == *matched && subscription.subscriber == *subscriber
            }
        }
    }

    /// The subscriptions of `all` the path asks for, in the order given.
    pub fn select(&self, all: Vec<Subscription>) -> Vec<Subscription> {
        all.into_iter().filter(|s| self.selects(s)).collect()
    }
}

/// Parses the (still percent-encoded) path of a request to the subscription API. `Ok(None)`:
/// not a path of the API (a 404); an error: a path of the API that is wrong (an unknown match
/// type, a bad escape, too long: a 400, the message names the reason).
pub fn parse_path(path: &str) -> Result<Option<ApiPath>> {
    if path.len() > MAX_PATH {
        return Err(Error::invalid_argument("path", format!("the path is {} bytes long; the limit is {MAX_PATH}", path.len())));
    }
    let Some(rest) = path.strip_prefix(PREFIX) else { return Ok(None) };
    if rest.is_empty() {
        return Ok(Some(ApiPath::All));
    }
    let Some(rest) = rest.strip_prefix('/') else { return Ok(None) };
    let parts: Vec<&str> = rest.splitn(4, '/').collect();
    if parts.len() < 2 || parts.len() > 3 || parts.iter().any(|p| p.is_empty()) {
        return Ok(None);
    }
    let Some(match_type) = MatchType::parse(parts[0]) else {
        let shown: String = parts[0].chars().take(40).collect::<String>().escape_debug().to_string();
        return Err(Error::invalid_argument("match_type", format!("unknown match type \"{shown}\": the match types are exact and urlpattern")));
    };
    let matched = unescape(parts[1])?;
    match parts.get(2) {
        None => Ok(Some(ApiPath::Match { match_type, matched })),
        Some(subscriber) => Ok(Some(ApiPath::One { match_type, matched, subscriber: unescape(subscriber)? })),
    }
}

/// Go's `url.QueryEscape`, then `+` as `%20`: letters, digits and `-_.~` stay, every other
/// byte is `%XX` (upper-case hex).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 3);
    for &byte in text.as_bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push('%');
            out.push(char::from(b"0123456789ABCDEF"[usize::from(byte >> 4)]));
            out.push(char::from(b"0123456789ABCDEF"[usize::from(byte & 15)]));
        }
    }
    out
}

/// Go's `url.QueryUnescape` (what the Go hub applies to the API's path variables): `%XX` is a
/// byte, `+` a space; a bad escape, or bytes that are not UTF-8, are an error.
pub fn unescape(text: &str) -> Result<String> {
    let bad = || Error::invalid_argument("path", "a path variable holds a malformed percent-escape or is not UTF-8");
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        match bytes[at] {
            b'%' => {
                let hex = bytes.get(at + 1..at + 3).ok_or_else(bad)?;
                let hex = std::str::from_utf8(hex).map_err(|_| bad())?;
                if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(bad());
                }
                out.push(u8::from_str_radix(hex, 16).map_err(|_| bad())?);
                at += 3;
            }
            b'+' => {
                out.push(b' ');
                at += 1;
            }
            byte => {
                out.push(byte);
                at += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| bad())
}

/// A new subscriber id: `urn:uuid:` and a random version 4 UUID (RFC 9562), from the
/// operating system's random source.
pub fn new_subscriber_id() -> Result<String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| Error::unavailable("random source", e.to_string()))?;
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    Ok(format!("urn:uuid:{}-{}-{}-{}-{}", &hex[0..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..32]))
}

/// A list of subscriptions as a broker keeps it (a process's lease): JSON.
pub fn encode_list(subscriptions: &[Subscription]) -> Vec<u8> {
    serde_json::to_vec(subscriptions).unwrap_or_default()
}

/// Reads a list written by [`encode_list`] back from a broker: at most [`MAX_LIST_BYTES`].
pub fn decode_list(bytes: &[u8]) -> Result<Vec<Subscription>> {
    if bytes.len() > MAX_LIST_BYTES {
        return Err(Error::invalid_argument("lease", format!("a lease of {} bytes; the limit is {MAX_LIST_BYTES}", bytes.len())));
    }
    serde_json::from_slice(bytes).map_err(|e| Error::invalid_argument("lease", format!("not a list of subscriptions: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn foo() -> Subscription {
        Subscription { subscriber: "urn:uuid:6b7c2bfa-9b1e-4b8e-9a3c-2a2f3b1d0e11".into(), matched: "foo".into(), match_type: MatchType::Exact, payload: None }
    }

    #[test]
    fn the_topic_escapes_each_variable_once_as_the_go_hub() {
        let subscription = Subscription { matched: "https://example.com/books/{id} a+b".into(), match_type: MatchType::UrlPattern, ..foo() };
        assert_eq!(
            subscription.topic(),
            "/.well-known/mercure/subscriptions/urlpattern/https%3A%2F%2Fexample.com%2Fbooks%2F%7Bid%7D%20a%2Bb/urn%3Auuid%3A6b7c2bfa-9b1e-4b8e-9a3c-2a2f3b1d0e11"
        );
        assert_eq!(escape("é~-_."), "%C3%A9~-_.");
    }

    #[test]
    fn the_document_and_the_event() {
        let mut subscription = foo();
        assert_eq!(
            subscription.document(true),
            r#"{"id":"/.well-known/mercure/subscriptions/exact/foo/urn%3Auuid%3A6b7c2bfa-9b1e-4b8e-9a3c-2a2f3b1d0e11","type":"subscription","subscriber":"urn:uuid:6b7c2bfa-9b1e-4b8e-9a3c-2a2f3b1d0e11","match":"foo","match_type":"exact","active":true}"#
        );
        subscription.payload = Some(serde_json::json!({"user": "kévin"}));
        assert!(subscription.document(false).ends_with(r#""active":false,"payload":{"user":"kévin"}}"#));
        let update = subscription.update(false);
        assert!(update.private);
        // Publishers may not publish it; the hub frames it itself.
        assert!(update.frame().is_err());
        let (frame, _, topics) = frame(&update).unwrap_or_default();
        assert_eq!(topics, ["mercure.private".to_owned(), format!("mercure:{}", subscription.topic())]);
        let text = String::from_utf8_lossy(&frame).into_owned();
        assert!(text.starts_with("event: mercure\ndata: {\"id\":\"/.well-known/mercure/subscriptions/exact/foo/"), "{text}");
        // Too long for a broker topic: no event, said so.
        let long = Subscription { matched: "x".repeat(200), ..foo() };
        assert!(super::frame(&long.update(true)).is_err());
    }

    #[test]
    fn the_collection() {
        let text = collection(PREFIX, &[foo()]);
        assert!(text.starts_with(r#"{"id":"/.well-known/mercure/subscriptions","type":"subscriptions","subscriptions":[{"id":"/.well-known"#), "{text}");
        assert_eq!(collection("/p", &[]), r#"{"id":"/p","type":"subscriptions","subscriptions":[]}"#);
    }

    #[test]
    fn api_paths() {
        assert_eq!(parse_path(PREFIX).ok(), Some(Some(ApiPath::All)));
        assert_eq!(
            parse_path("/.well-known/mercure/subscriptions/exact/a%2Fb").ok(),
            Some(Some(ApiPath::Match { match_type: MatchType::Exact, matched: "a/b".into() }))
        );
        let one = parse_path("/.well-known/mercure/subscriptions/urlpattern/a+b/urn%3Auuid%3Ax").ok().flatten();
        assert_eq!(one, Some(ApiPath::One { match_type: MatchType::UrlPattern, matched: "a b".into(), subscriber: "urn:uuid:x".into() }));
        let unknown = parse_path("/.well-known/mercure/subscriptions/regexp/x").err().map(|e| e.to_string()).unwrap_or_default();
        assert!(unknown.contains("unknown match type \"regexp\""), "{unknown}");
        for not_api in
            ["/.well-known/mercure", "/.well-known/mercure/subscriptionsx", "/.well-known/mercure/subscriptions/", "/.well-known/mercure/subscriptions/exact"]
        {
            assert_eq!(parse_path(not_api).ok(), Some(None), "{not_api}");
        }
        for not_api in ["/.well-known/mercure/subscriptions/exact/a/b/c", "/.well-known/mercure/subscriptions/exact//s"] {
            assert_eq!(parse_path(not_api).ok(), Some(None), "{not_api}");
        }
        for bad in
            ["/.well-known/mercure/subscriptions/exact/%zz", "/.well-known/mercure/subscriptions/exact/%c3", "/.well-known/mercure/subscriptions/exact/%4"]
        {
            assert!(parse_path(bad).is_err(), "{bad}");
        }
        assert!(parse_path(&format!("{PREFIX}/exact/{}", "a".repeat(MAX_PATH))).is_err());
        let all = vec![foo(), Subscription { matched: "bar".into(), ..foo() }];
        let bar = ApiPath::Match { match_type: MatchType::Exact, matched: "bar".into() };
        assert_eq!(bar.select(all.clone()), [all[1].clone()]);
        let one = ApiPath::One { match_type: MatchType::Exact, matched: "bar".into(), subscriber: all[1].subscriber.clone() };
        assert_eq!(answer("/p", &one, &one.select(all.clone())), Some(all[1].document(true)));
        let none = ApiPath::One { match_type: MatchType::Exact, matched: "baz".into(), subscriber: all[1].subscriber.clone() };
        assert_eq!(answer("/p", &none, &none.select(all.clone())), None);
        assert!(answer("/p", &bar, &[]).is_some_and(|body| body.ends_with("\"subscriptions\":[]}")));
    }

    #[test]
    fn subscriber_ids_are_random_v4_uuids() {
        let (a, b) = (new_subscriber_id().unwrap_or_default(), new_subscriber_id().unwrap_or_default());
        assert_ne!(a, b);
        let uuid = a.strip_prefix("urn:uuid:").unwrap_or_default();
        assert_eq!(uuid.len(), 36);
        assert_eq!(&uuid[14..15], "4");
        assert!(matches!(&uuid[19..20], "8" | "9" | "a" | "b"), "{uuid}");
    }

    #[test]
    fn lists_round_trip_and_are_bounded() {
        let list = vec![foo(), Subscription { payload: Some(serde_json::json!([1, "two"])), ..foo() }];
        assert_eq!(decode_list(&encode_list(&list)).ok(), Some(list));
        assert!(decode_list(b"{").is_err());
        assert!(decode_list(&vec![b' '; MAX_LIST_BYTES + 1]).is_err());
    }

    proptest! {
        #[test]
        fn escape_then_unescape_is_the_identity(text in "\\PC*") {
            prop_assert_eq!(unescape(&escape(&text)).ok(), Some(text));
        }

        #[test]
        fn a_topic_parses_back_as_its_api_path(matched in "\\PC{1,60}", subscriber in "\\PC{1,60}", urlpattern: bool) {
            let match_type = if urlpattern { MatchType::UrlPattern } else { MatchType::Exact };
            let subscription = Subscription { subscriber: subscriber.clone(), matched: matched.clone(), match_type, payload: None };
            let parsed = parse_path(&subscription.topic()).ok().flatten();
            prop_assert_eq!(parsed, Some(ApiPath::One { match_type, matched, subscriber }));
        }

        #[test]
        fn parse_path_never_panics(path in "/\\.well-known/mercure/subscriptions[/%+a-zA-Z0-9]{0,40}") {
            let _ = parse_path(&path);
        }
    }
}
