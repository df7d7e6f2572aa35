//! The two request encodings of the hub, both `application/x-www-form-urlencoded`:
//! - the publish body (`topic` repeated, `data`, `private`, `id`, `type`, `retry`);
//! - the subscribe query: draft-07's (`topic` repeated, `lastEventID`, `authorization`) or
//!   Mercure 1.0's (`match`, `match_exact`, `match_urlpattern`, `last_event_id`), also as the
//!   form body of a `QUERY` request.
//!
//! PHP's `$_POST` and `$_GET` keep only the last of repeated `topic` fields (without `[]`), so
//! both are parsed here from the raw bytes. Every name and value must decode to UTF-8: the
//! `form_urlencoded` crate replaces bad bytes with U+FFFD, which would silently change a topic
//! or a payload, so each pair is checked before it is decoded.

use super::matchers;
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
            _ => {
                return Err(Error::invalid_argument("retry", format!("the field \"retry\" must be a number of milliseconds, not \"{}\"", text.escape_debug())))
            }
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

/// Which protocol a subscribe request speaks: one hub serves both.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Draft {
    /// draft-dunglas-mercure-07: `topic=` (exact, `*` or URI template), `lastEventID`.
    #[default]
    Draft07,
    /// Mercure 1.0 (draft-dunglas-mercure-08): `match`, `match_exact`, `match_urlpattern`,
    /// `last_event_id`, the `QUERY` method.
    Mercure10,
}

/// A subscribe request's query, checked and compiled.
#[derive(Clone, Debug, Default)]
pub struct Subscribe {
    pub draft: Draft,
    pub selectors: Selectors,
    /// The cursor the query gives, as given (even empty): 1.0's `last_event_id`, then
    /// draft-07's `lastEventID` (Symfony's Twig `mercure()` still sends it), then
    /// `Last-Event-ID` (older drafts).
    pub last_event_id: Option<String>,
    /// `authorization`: a token for clients that can set neither a header nor a cookie.
    pub authorization: Option<String>,
    /// The matchers as given, each once, in order (draft-07's topic selectors as exact ones):
    /// what the hub's active subscriptions list.
    pub matchers: Vec<(matchers::Kind, String)>,
}

/// A subscribe request's query, checked but with its selectors not compiled yet: the hub
/// reads it, verifies the token, and only then compiles ([`SubscribeQuery::compile`]), so that
/// a request without a valid token costs no compiling.
#[derive(Clone, Debug, Default)]
pub struct SubscribeQuery {
    pub draft: Draft,
    pub selectors: Prepared,
    pub last_event_id: Option<String>,
    pub authorization: Option<String>,
    pub matchers: Vec<(matchers::Kind, String)>,
}

impl SubscribeQuery {
    /// Compiles the selectors within the request's budget, URL patterns resolved against the
    /// default base.
    pub fn compile(self) -> Result<Subscribe> {
        self.compile_at(None)
    }

    /// Compiles the selectors within the request's budget, URL patterns resolved against
    /// `base` (the hub's URL).
    pub fn compile_at(self, base: Option<&url::Url>) -> Result<Subscribe> {
        Ok(Subscribe {
            draft: self.draft,
            selectors: self.selectors.compile_at(base)?,
            last_event_id: self.last_event_id,
            authorization: self.authorization,
            matchers: self.matchers,
        })
    }
}

/// Parses a subscribe query string, selectors compiled.
pub fn parse_subscribe(query: &[u8]) -> Result<Subscribe> {
    read_subscribe(query)?.compile()
}

/// Reads a subscribe query string: every check but the compiling of the selectors (their
/// count, sizes and syntax included).
pub fn read_subscribe(query: &[u8]) -> Result<SubscribeQuery> {
    read_subscribe_form(query, None)
}

/// Reads a subscribe request's fields: the query string and, for a `QUERY` request, its form
/// body (at most [`MAX_BODY`] bytes). The fields of both are taken together; a single-valued
/// field given in both is the query's, as the first one given is kept.
pub fn read_subscribe_form(query: &[u8], body: Option<&[u8]>) -> Result<SubscribeQuery> {
    if query.len() > MAX_QUERY {
        return Err(Error::invalid_argument("query", format!("the query string is {} bytes; the limit is {MAX_QUERY}", query.len())));
    }
    let mut fields = pairs(query)?;
    if let Some(body) = body {
        if body.len() > MAX_BODY {
            return Err(Error::invalid_argument("body", format!("the request body is {} bytes; the limit is {MAX_BODY}", body.len())));
        }
        fields.extend(pairs(body)?);
    }
    let first = |name: &str| fields.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
    let has_topic = fields.iter().any(|(n, _)| n == "topic");
    let matcher_name = fields.iter().map(|(n, _)| n).find(|n| super::matchers::in_namespace(n));
    // A QUERY request, or one with 1.0's names, is 1.0; anything else keeps draft-07's rules.
    let modern = body.is_some() || matcher_name.is_some() || first("last_event_id").is_some();
    let draft = match (has_topic, matcher_name) {
        (true, Some(name)) => {
            return Err(Error::invalid_argument(
                "topic",
                format!(
                    "\"topic\" (draft-07) and \"{}\" (Mercure 1.0) cannot be mixed in one subscription: use one protocol",
                    name.chars().take(40).collect::<String>().escape_debug()
                ),
            ));
        }
        (true, None) => Draft::Draft07,
        (false, _) if modern => Draft::Mercure10,
        (false, _) => Draft::Draft07,
    };
    let mut request = SubscribeQuery { draft, authorization: first("authorization"), ..SubscribeQuery::default() };
    match draft {
        Draft::Draft07 => {
            let mut topics = Vec::new();
            for (name, value) in &fields {
                if name == "topic" {
                    if topics.len() > super::selector::MAX_COUNT * 4 {
                        return Err(Error::invalid_argument("topic", format!("more than {} topic selectors", super::selector::MAX_COUNT)));
                    }
                    topics.push(value.as_str());
                }
            }
            if topics.is_empty() {
                return Err(Error::invalid_argument("topic", "missing \"topic\" parameter: subscribe to at least one topic selector"));
            }
            request.selectors = Selectors::prepare(topics.iter().copied(), "topic")?;
            request.matchers = distinct(topics.into_iter().map(|topic| (matchers::Kind::Exact, topic)));
            // The last one given, as before (draft-07 names one).
            let last = |name: &str| fields.iter().rev().find(|(n, _)| n == name).map(|(_, v)| v.clone());
            request.last_event_id = last("lastEventID").or_else(|| last("Last-Event-ID"));
        }
        Draft::Mercure10 => {
            let mut given = Vec::new();
            for (name, value) in &fields {
                if !super::matchers::in_namespace(name) {
                    continue;
                }
                let kind = super::matchers::kind(name)?;
                // Refused before the whole list is built: a thousand matchers cost nothing.
                if given.len() > super::selector::MAX_COUNT * 4 {
                    return Err(Error::invalid_argument(name.as_str(), format!("more than {} matchers", super::selector::MAX_COUNT)));
                }
                given.push((name.as_str(), kind, value.as_str()));
            }
            if given.is_empty() {
                return Err(Error::invalid_argument(
                    "match",
                    "missing \"match\" subscription parameter: subscribe with match, match_exact or match_urlpattern",
                ));
            }
            request.matchers = distinct(given.iter().map(|(_, kind, value)| (*kind, *value)));
            request.selectors = Selectors::prepare_matchers(given)?;
            request.last_event_id = first("last_event_id").or_else(|| first("lastEventID")).or_else(|| first("Last-Event-ID"));
        }
    }
    Ok(request)
}

/// Each (kind, value) once, in the order first given.
fn distinct<'a>(given: impl Iterator<Item = (matchers::Kind, &'a str)>) -> Vec<(matchers::Kind, String)> {
    let mut seen = std::collections::HashSet::new();
    given.filter(|pair| seen.insert(*pair)).map(|(kind, value)| (kind, value.to_owned())).collect()
}

/// The value of the first field `name` of a query, if it decodes.
pub fn query_param(query: &[u8], name: &str) -> Option<String> {
    pairs(query).ok()?.into_iter().find(|(n, _)| n == name).map(|(_, v)| v)
}

/// The decoded pairs of a form, or an error naming the first one that is not UTF-8 (by its
/// name when that much decodes, else by its place).
fn pairs(form: &[u8]) -> Result<Vec<(String, String)>> {
    for (index, pair) in form.split(|&b| b == b'&').enumerate() {
        if std::str::from_utf8(&percent_decoded(pair)).is_err() {
            let name = pair.split(|&b| b == b'=').next().map(percent_decoded).and_then(|n| String::from_utf8(n).ok());
            let (label, shown) = match name {
                Some(name) => (
                    name.chars().take(40).collect::<String>(),
                    format!("the value of \"{}\" (field {})", name.chars().take(40).collect::<String>().escape_debug(), index + 1),
                ),
                None => ("body".to_owned(), format!("the name of field {}", index + 1)),
            };
            return Err(Error::invalid_argument(label, format!("{shown} of the form is not valid UTF-8 once decoded")));
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

    fn subscribe_error(query: &str) -> String {
        parse_subscribe(query.as_bytes()).err().map(|e| e.to_string()).unwrap_or_default()
    }

    fn subscribed(query: &str) -> Subscribe {
        match parse_subscribe(query.as_bytes()) {
            Ok(s) => s,
            Err(e) => panic!("{query}: {e}"),
        }
    }

    #[test]
    fn mercure_1_0_match_and_match_exact_are_exact_topics() {
        // Checklist 1, 9: `match=` is 1.0, exact; `*` is every topic.
        let one = subscribed("match=foo");
        assert_eq!(one.draft, Draft::Mercure10);
        assert!(one.selectors.matches("foo") && !one.selectors.matches("foo/1") && !one.selectors.matches("Foo"));
        // Braces are no template in 1.0: byte-wise exact.
        let braces = subscribed("match_exact=https%3A%2F%2Fe.com%2Fb%2F%7Bid%7D");
        assert!(braces.selectors.matches("https://e.com/b/{id}") && !braces.selectors.matches("https://e.com/b/1"));
        for star in ["match=*", "match_exact=*", "match_urlpattern=*"] {
            assert!(subscribed(star).selectors.matches("anything at all"), "{star}");
        }
        // Duplicates are one matcher.
        assert_eq!(subscribed("match=a&match_exact=a&match=b").selectors.len(), 2);
    }

    #[test]
    fn mercure_1_0_url_patterns_combine_with_exact_matchers() {
        // Checklist 2 and 7.
        let both = subscribed("match_exact=foo&match_urlpattern=https%3A%2F%2Fe.com%2Fb%2F%3Aid");
        assert!(both.selectors.matches("foo"));
        assert!(both.selectors.matches("https://e.com/b/1"));
        assert!(both.selectors.matches("https://E.COM/b/1?q=1#f"));
        assert!(!both.selectors.matches("https://e.com/b/1/x"));
        assert!(!both.selectors.matches("bar"));
        // Relative patterns resolve against the hub's URL.
        let base = crate::mercure::url_pattern::hub_url("https", "hub.example", "/.well-known/mercure");
        let relative = read_subscribe(b"match_urlpattern=%2Fbooks%2F%3Aid").and_then(|q| q.compile_at(base.as_ref()));
        assert!(relative.is_ok_and(|s| s.selectors.matches("https://hub.example/books/1") && !s.selectors.matches("https://other.example/books/1")));
    }

    #[test]
    fn mercure_1_0_refuses_unknown_matchers_and_bad_values() {
        // Checklist 3.
        for (query, name) in [
            ("Match=foo", "Match"),
            ("matchURLPattern=x", "matchURLPattern"),
            ("match_regexp=x", "match_regexp"),
            ("matches=1", "matches"),
            ("match=a&MATCH_EXACT=b", "MATCH_EXACT"),
        ] {
            let message = subscribe_error(query);
            assert!(message.contains(&format!("unknown matcher parameter \"{name}\"")), "{query}: {message}");
        }
        // Checklist 5: no matcher, too many, too long, not compiling (a generic message).
        assert!(subscribe_error("last_event_id=x").contains("missing \"match\" subscription parameter"));
        assert!(subscribe_error("").contains("missing \"topic\" parameter"), "an empty query keeps draft-07's message");
        let many = (0..101).map(|i| format!("match=t{i}")).collect::<Vec<_>>().join("&");
        assert!(subscribe_error(&many).contains("more than 100 matchers"), "{}", subscribe_error(&many));
        assert!(parse_subscribe((0..100).map(|i| format!("match=t{i}")).collect::<Vec<_>>().join("&").as_bytes()).is_ok());
        let long = format!("match_urlpattern=https://e.com/{}", "a".repeat(4097 - 14));
        assert!(subscribe_error(&long).contains("4097 bytes long; the limit is 4096"), "{}", subscribe_error(&long));
        let broken = subscribe_error("match_urlpattern=https%3A%2F%2Fe.com%2F%28");
        assert!(broken.contains("$match_urlpattern") && broken.contains("is not a valid URL pattern"), "{broken}");
        assert!(!broken.to_lowercase().contains("regex") && !broken.contains("error"), "the compiler's message is not shown: {broken}");
        // The size budget of one request: 9 patterns of 4,000 bytes.
        let big = (0..9).map(|i| format!("match=t{i}{}", "x".repeat(3998))).collect::<Vec<_>>().join("&");
        assert!(subscribe_error(&big).contains("size budget of one request"), "{}", subscribe_error(&big));
        // Checklist 6: control and format characters.
        assert!(subscribe_error("match=a%00b").contains("control character U+0000"));
        assert!(subscribe_error("match=a%E2%80%8Eb").contains("format character U+200E"));
        assert!(subscribe_error("match_urlpattern=%C2%85").contains("control character U+0085"));
        assert!(subscribe_error("match=").contains("\"match\" parameter is empty"));
        assert!(
            subscribe_error("match=%FF").contains("$match: the value of \"match\" (field 1) of the form is not valid UTF-8"),
            "{}",
            subscribe_error("match=%FF")
        );
        assert!(subscribe_error("match=a&%FF=b").contains("the name of field 2 of the form is not valid UTF-8"));
    }

    #[test]
    fn both_drafts_are_read_and_never_mixed() {
        // Checklist 4: `topic=` keeps draft-07's exact and template semantics.
        let old = subscribed("topic=https%3A%2F%2Fe.com%2Fb%2F%7Bid%7D&lastEventID=7");
        assert_eq!(old.draft, Draft::Draft07);
        assert!(old.selectors.matches("https://e.com/b/1"));
        assert_eq!(old.last_event_id.as_deref(), Some("7"));
        for query in ["topic=a&match=b", "match_urlpattern=b&topic=a", "topic=a&Match=b"] {
            let message = subscribe_error(query);
            assert!(message.contains("\"topic\" (draft-07) and \"") && message.contains("cannot be mixed"), "{query}: {message}");
        }
    }

    #[test]
    fn mercure_1_0_cursors() {
        // Checklist 10-12 at the parser level: the cursor as sent, even empty.
        assert_eq!(subscribed("match=t&last_event_id=A").last_event_id.as_deref(), Some("A"));
        assert_eq!(subscribed("match=t&last_event_id=").last_event_id.as_deref(), Some(""));
        assert_eq!(subscribed("match=t&last_event_id=earliest").last_event_id.as_deref(), Some("earliest"));
        assert_eq!(subscribed("match=t").last_event_id, None);
        // Symfony's Twig helper still sends draft-07's name; 1.0's wins when both are there.
        assert_eq!(subscribed("match=t&lastEventID=B").last_event_id.as_deref(), Some("B"));
        assert_eq!(subscribed("match=t&lastEventID=B&last_event_id=A").last_event_id.as_deref(), Some("A"));
        assert_eq!(subscribed("match=t&last_event_id=A&last_event_id=C").last_event_id.as_deref(), Some("A"));
    }

    #[test]
    fn a_query_body_adds_to_the_query() {
        // Checklist 8: QUERY's form body, merged; the query's last_event_id wins.
        let read = read_subscribe_form(b"last_event_id=Q&match=a", Some(b"match=foo&last_event_id=X")).and_then(SubscribeQuery::compile);
        let Ok(read) = read else { panic!("{:?}", read.err()) };
        assert_eq!((read.draft, read.last_event_id.as_deref()), (Draft::Mercure10, Some("Q")));
        assert!(read.selectors.matches("foo") && read.selectors.matches("a"));
        let body_only = read_subscribe_form(b"", Some(b"match=foo&last_event_id=X"));
        assert!(body_only.is_ok_and(|q| q.last_event_id.as_deref() == Some("X")));
        // A QUERY without any matcher is answered as 1.0.
        let empty = read_subscribe_form(b"", Some(b"")).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(empty.contains("missing \"match\""), "{empty}");
        let huge = vec![b'a'; MAX_BODY + 1];
        assert!(read_subscribe_form(b"match=a", Some(&huge)).err().map(|e| e.to_string()).unwrap_or_default().contains("the limit is 1048576"));
        assert!(read_subscribe_form(b"", Some(b"match=a%FF")).is_err());
    }

    #[test]
    fn url_patterns_are_compiled_after_reading_within_the_budget() {
        // Read without compiling: even a pattern that does not compile passes the reading,
        // so that the token is verified before any compiling.
        assert!(read_subscribe(b"match_urlpattern=https%3A%2F%2Fe.com%2F%28").is_ok());
        // 40 patterns whose expressions are large each: refused by the request's budget.
        let hostile = (0..40).map(|i| format!("match_urlpattern=%2Fp{i}%2F%3Ax%28%28%3F%3Aa%7B50%7D%29%7B50%7D%29")).collect::<Vec<_>>().join("&");
        let read = read_subscribe(hostile.as_bytes());
        let Ok(read) = read else { panic!("{:?}", read.err()) };
        let refused = read.compile().err().map(|e| e.to_string()).unwrap_or_default();
        assert!(refused.contains("$match_urlpattern") && refused.contains("compile budget of one request (1024 KiB)"), "{refused}");
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
