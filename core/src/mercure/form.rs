//! The two request encodings of the hub, both `application/x-www-form-urlencoded`:
//! - the publish body (`topic` repeated, `data`, `private`, `id`, `type`, `retry`);
//! - the subscribe query (`topic` repeated, `lastEventID`, `authorization`).
//!
//! PHP's `$_POST` and `$_GET` keep only the last of repeated `topic` fields (without `[]`), so
//! both are parsed here from the raw bytes. Every name and value must decode to UTF-8: the
//! `form_urlencoded` crate replaces bad bytes with U+FFFD, which would silently change a topic
//! or a payload, so each pair is checked before it is decoded.

use super::selector::{Prepared, Selectors};
use super::update::Update;
use crate::error::{Error, Result};

/// Largest publish body, in bytes (1 MiB; a broker stores frames up to 1 MiB).
pub const MAX_BODY: usize = 1 << 20;

/// Longest subscribe query, in bytes.
pub const MAX_QUERY: usize = 64 * 1024;

/// A publish request's fields, checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Publish {
    pub update: Update,
    /// The id the publisher asked for. The hub assigns its own (the draft allows it), so that
    /// every id a subscriber sees is one it can resume from; this one is only checked.
    pub requested_id: Option<String>,
}

/// Parses a publish body.
pub fn parse_publish(body: &[u8]) -> Result<Publish> {
    if body.len() > MAX_BODY {
        return Err(Error::invalid_argument("body", format!("the request body is {} bytes; the limit is {MAX_BODY}", body.len())));
    }
    let mut topics = Vec::new();
    let mut data = None;
    let mut private = None;
    let mut id = None;
    let mut event_type = None;
    let mut retry = None;
    for (name, value) in pairs(body)? {
        let once = |slot: &mut Option<String>, value: String| {
            if slot.is_some() {
                return Err(Error::invalid_argument(name.clone(), format!("the field \"{name}\" is given more than once")));
            }
            *slot = Some(value);
            Ok(())
        };
        match name.as_str() {
            "topic" => {
                // Refused before the whole list is built: a thousand topics cost nothing.
                if topics.len() > super::topic::MAX_COUNT * 4 {
                    return Err(Error::invalid_argument("topic", format!("more than {} topics in one update", super::topic::MAX_COUNT)));
                }
                topics.push(value);
            }
            "data" => once(&mut data, value)?,
            "private" => once(&mut private, value)?,
            "id" => once(&mut id, value)?,
            "type" => once(&mut event_type, value)?,
            "retry" => once(&mut retry, value)?,
            // Fields of other drafts or extensions (`target`, ...) are ignored, as the Go hub does.
            _ => {}
        }
    }
    if topics.is_empty() {
        return Err(Error::invalid_argument("topic", "missing \"topic\" field: an update needs at least one topic"));
    }
    let retry = match retry {
        None => None,
        Some(text) => match text.parse::<u64>() {
            Ok(ms) if text.bytes().all(|b| b.is_ascii_digit()) => Some(ms),
            _ => return Err(Error::invalid_argument("retry", format!("the field \"retry\" must be a number of milliseconds, not \"{}\"", text.escape_debug()))),
        },
    };
    let mut update = Update::new(topics, data.unwrap_or_default())?;
    update.id = id.clone();
    // Present means private, whatever the value ("on" from HTML forms and symfony/mercure):
    // reading "false" as public would publish to everyone what was meant to be private.
    update.private = private.is_some();
    update.event_type = event_type;
    update.retry = retry;
    // The rules (reserved topics, ids and types) are checked when the frame is built; check
    // now, before publishing.
    update.frame()?;
    Ok(Publish { update, requested_id: id })
}

/// A subscribe request's query, checked and compiled.
#[derive(Clone, Debug, Default)]
pub struct Subscribe {
    pub selectors: Selectors,
    /// `lastEventID` (draft-07), or `Last-Event-ID` (older drafts; Twig's `mercure()` sends both).
    pub last_event_id: Option<String>,
    /// `authorization`: a token for clients that can set neither a header nor a cookie.
    pub authorization: Option<String>,
}

/// A subscribe request's query, checked but with its selectors not compiled yet: the hub
/// reads it, verifies the token, and only then compiles ([`SubscribeQuery::compile`]), so that
/// a request without a valid token costs no compiling.
#[derive(Clone, Debug, Default)]
pub struct SubscribeQuery {
    pub selectors: Prepared,
    pub last_event_id: Option<String>,
    pub authorization: Option<String>,
}

impl SubscribeQuery {
    /// Compiles the selectors within the request's budget.
    pub fn compile(self) -> Result<Subscribe> {
        Ok(Subscribe { selectors: self.selectors.compile()?, last_event_id: self.last_event_id, authorization: self.authorization })
    }
}

/// Parses a subscribe query string, selectors compiled.
pub fn parse_subscribe(query: &[u8]) -> Result<Subscribe> {
    read_subscribe(query)?.compile()
}

/// Reads a subscribe query string: every check but the compiling of the selectors (their
/// count, sizes and syntax included).
pub fn read_subscribe(query: &[u8]) -> Result<SubscribeQuery> {
    if query.len() > MAX_QUERY {
        return Err(Error::invalid_argument("query", format!("the query string is {} bytes; the limit is {MAX_QUERY}", query.len())));
    }
    let mut topics = Vec::new();
    let mut request = SubscribeQuery::default();
    let mut old_spelling = None;
    for (name, value) in pairs(query)? {
        match name.as_str() {
            "topic" => {
                if topics.len() > super::selector::MAX_COUNT * 4 {
                    return Err(Error::invalid_argument("topic", format!("more than {} topic selectors", super::selector::MAX_COUNT)));
                }
                topics.push(value);
            }
            "lastEventID" => request.last_event_id = Some(value),
            "Last-Event-ID" => old_spelling = Some(value),
            "authorization" => request.authorization = Some(value),
            _ => {}
        }
    }
    if topics.is_empty() {
        return Err(Error::invalid_argument("topic", "missing \"topic\" parameter: subscribe to at least one topic selector"));
    }
    request.selectors = Selectors::prepare(topics.iter().map(String::as_str), "topic")?;
    request.last_event_id = request.last_event_id.or(old_spelling);
    Ok(request)
}

/// The value of the first field `name` of a query, if it decodes.
pub fn query_param(query: &[u8], name: &str) -> Option<String> {
    pairs(query).ok()?.into_iter().find(|(n, _)| n == name).map(|(_, v)| v)
}

/// The decoded pairs of a form, or an error naming the first one that is not UTF-8.
fn pairs(form: &[u8]) -> Result<Vec<(String, String)>> {
    for (index, pair) in form.split(|&b| b == b'&').enumerate() {
        if std::str::from_utf8(&percent_decoded(pair)).is_err() {
            return Err(Error::invalid_argument("body", format!("field {} of the form is not valid UTF-8 once decoded", index + 1)));
        }
    }
    Ok(form_urlencoded::parse(form).map(|(name, value)| (name.into_owned(), value.into_owned())).collect())
}

/// The bytes a form pair stands for (`+` is a space, `%XX` a byte), as the crate decodes them.
fn percent_decoded(pair: &[u8]) -> Vec<u8> {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(pair.len());
    let mut i = 0;
    while i < pair.len() {
        match pair[i] {
            b'+' => out.push(b' '),
            b'%' => match (pair.get(i + 1).copied().and_then(hex), pair.get(i + 2).copied().and_then(hex)) {
                (Some(high), Some(low)) => {
                    out.push(high * 16 + low);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn publish(body: &str) -> std::result::Result<Publish, String> {
        parse_publish(body.as_bytes()).map_err(|e| e.to_string())
    }

    #[test]
    fn keeps_every_topic_in_order() {
        let parsed = publish("topic=https%3A%2F%2Fexample.com%2Fbooks%2F1&topic=news&data=%7B%22a%22%3A1%7D&private=on&type=book&retry=100&id=urn%3Ax");
        let Ok(Publish { update, requested_id }) = parsed else { panic!("{parsed:?}") };
        assert_eq!(update.topics, ["https://example.com/books/1", "news"]);
        assert_eq!(update.data, "{\"a\":1}");
        assert!(update.private);
        assert_eq!(update.event_type.as_deref(), Some("book"));
        assert_eq!(update.retry, Some(100));
        assert_eq!(requested_id.as_deref(), Some("urn:x"));
        let public = publish("topic=a&data=x+y");
        assert!(public.as_ref().is_ok_and(|p| !p.update.private && p.update.data == "x y"), "{public:?}");
    }

    #[test]
    fn refuses_bad_forms_with_the_field_named() {
        for (body, expected) in [
            ("data=x", "missing \"topic\""),
            ("topic=a&data=1&data=2", "\"data\" is given more than once"),
            ("topic=a&retry=soon", "\"retry\" must be a number"),
            ("topic=a&retry=-1", "\"retry\" must be a number"),
            ("topic=a&type=x%0Aevent%3A+evil", "control or format character"),
            ("topic=a%0Ab", "control character"),
            ("topic=a&data=%FF", "not valid UTF-8"),
            ("topic=a&id=%23frag", "start with '#'"),
            ("topic=a&id=earliest", "$id"),
            ("topic=*", "\"*\" selects every topic"),
            ("topic=%2F.well-known%2Fmercure%2Fsubscriptions%2Fx", "reserved namespace"),
            ("topic=a&type=mercure", "$type"),
            ("topic=", "empty"),
        ] {
            let message = publish(body).err().unwrap_or_default();
            assert!(message.contains(expected), "{body}: {message}");
        }
        let thousand = (0..1000).map(|i| format!("topic=t{i}")).collect::<Vec<_>>().join("&");
        assert!(publish(&thousand).err().unwrap_or_default().contains("more than 32 topics"));
        let huge = format!("topic=a&data={}", "x".repeat(MAX_BODY));
        assert!(publish(&huge).err().unwrap_or_default().contains("the limit is 1048576"));
    }

    #[test]
    fn subscribe_queries() {
        let parsed = parse_subscribe(b"topic=https%3A%2F%2Fexample.com%2Fbooks%2F%7Bid%7D&topic=*&lastEventID=abc&Last-Event-ID=old&authorization=tok");
        let Ok(request) = parsed else { panic!("{:?}", parsed.err()) };
        assert_eq!(request.selectors.len(), 2);
        assert!(request.selectors.matches("https://example.com/books/1"));
        assert_eq!(request.last_event_id.as_deref(), Some("abc"));
        assert_eq!(request.authorization.as_deref(), Some("tok"));
        let old = parse_subscribe(b"topic=a&Last-Event-ID=old").ok().and_then(|r| r.last_event_id);
        assert_eq!(old.as_deref(), Some("old"));
        let message = |q: &str| parse_subscribe(q.as_bytes()).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(message("").contains("missing \"topic\""));
        assert!(message("topic=%2Fbooks%2F%7Bid").contains("\"/books/{id\" is malformed"));
        let thousand = (0..1000).map(|i| format!("topic=t{i}")).collect::<Vec<_>>().join("&");
        assert!(message(&thousand).contains("more than 100"));
    }

    #[test]
    fn a_subscribe_query_is_read_before_its_selectors_are_compiled() {
        // 100 selectors of large prefixes: read (and the token taken from it) at no compiling
        // cost; compiling them is refused by the request's budget.
        let hostile = (0..100).map(|i| format!("topic=%7B%2Bv{i}%3A755%7D")).collect::<Vec<_>>().join("&") + "&authorization=tok";
        let read = read_subscribe(hostile.as_bytes());
        let Ok(read) = read else { panic!("{:?}", read.err()) };
        assert_eq!((read.selectors.len(), read.authorization.as_deref()), (100, Some("tok")));
        let refused = read.compile().err().map(|e| e.to_string()).unwrap_or_default();
        assert!(refused.contains("compile budget of one request"), "{refused}");
        // Malformed queries are refused while reading, before any token is looked at.
        assert!(read_subscribe(b"topic=%2Fbooks%2F%7Bid").is_err());
        assert!(read_subscribe(b"lastEventID=x").is_err());
        let compiled = read_subscribe(b"topic=%2Fbooks%2F%7Bid%7D&lastEventID=7").and_then(SubscribeQuery::compile);
        assert!(compiled.is_ok_and(|s| s.selectors.matches("/books/1") && s.last_event_id.as_deref() == Some("7")));
    }

    proptest! {
        // Whatever the body, parsing ends in a publish or an error, never a panic; and an
        // update that parses has only valid topics.
        #[test]
        fn any_body_parses_or_is_refused(body in proptest::collection::vec(any::<u8>(), 0..200)) {
            if let Ok(publish) = parse_publish(&body) {
                prop_assert!(publish.update.topics.iter().all(|t| super::super::topic::check(t).is_ok()));
            }
        }

        #[test]
        fn encoded_topics_round_trip(topics in proptest::collection::vec("[^\\p{C}]{1,30}", 1..10), data in "\\PC{0,50}") {
            // Topics a publisher may not use (the reserved namespace, `*`) are refused, below.
            prop_assume!(topics.iter().all(|t| t != "*" && !super::super::rules::is_reserved(t)));
            let mut form = form_urlencoded::Serializer::new(String::new());
            for topic in &topics {
                form.append_pair("topic", topic);
            }
            form.append_pair("data", &data);
            let parsed = parse_publish(form.finish().as_bytes());
            let mut unique: Vec<String> = Vec::new();
            for topic in topics {
                if !unique.contains(&topic) { unique.push(topic); }
            }
            prop_assert_eq!(parsed.map(|p| (p.update.topics, p.update.data)).ok(), Some((unique, data)));
        }
    }
}
