//! RFC 6570 URI templates as Mercure topic selectors (draft-dunglas-mercure-07, section
//! "Topic Selectors"): a topic matches a template when some expansion of the template could
//! produce it. The template is translated once into an anchored regular expression (the
//! `regex` crate matches in linear time, so a hostile template cannot make matching slow),
//! following the operators of levels 1 to 4: `{var}`, `{+var}`, `{#var}`, `{.var}`, `{/var}`,
//! `{;var}`, `{?var}`, `{&var}`, variable lists, `:prefix` and `*` (explode).
//!
//! What an expansion may contain is what RFC 6570 lets a value expand to (unreserved
//! characters and percent-encoded triplets, plus reserved characters for `+` and `#`), and also
//! non-ASCII characters, because Mercure topics are IRIs. So `https://example.com/books/{id}`
//! matches `https://example.com/books/1` and never `https://example.com/books/1/secret`: a
//! plain `{id}` cannot expand to a `/`. The order of the variables of one expression is not
//! enforced (`{x,y}` matches what `{y,x}` would give): they only widen what the expression
//! matches within its own delimiters.
//!
//! A prefix (`{var:3}`) counts characters of the value before it is encoded (RFC 6570, 2.4.1):
//! `{var:1}` expands "é" to `%C3%A9`, so one counted character is an unreserved character, a
//! non-ASCII character, or the percent-encoded UTF-8 bytes of one character.
//!
//! Translating is cheap and linear; compiling the expression is what costs (a large prefix
//! repeats a character class thousands of times). [`pattern`] only translates, so that a
//! request's templates are checked before its token is verified and compiled after, within
//! one budget for the whole request (see `selector::Selectors`).

use crate::error::{Error, Result};
use regex::Regex;

/// One parsed template: the text it was given as and the expression it matches with.
#[derive(Clone, Debug)]
pub struct Template {
    text: String,
    regex: Regex,
}

impl Template {
    /// Parses `text`; a malformed template is an error naming it and saying where and why.
    pub fn parse(text: &str) -> Result<Template> {
        let pattern = pattern(text)?;
        // Big prefixes (`{x:9999}`) can exceed the compiled-size limit: refused, not slow.
        let regex = regex::RegexBuilder::new(&pattern)
            .size_limit(MAX_COMPILED_SIZE)
            .build()
            .map_err(|_| Error::invalid_argument("topic", format!("the URI template \"{}\" is too complex to match", shown(text))))?;
        Ok(Template { text: text.to_owned(), regex })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether some expansion of the template is `topic`.
    pub fn matches(&self, topic: &str) -> bool {
        self.regex.is_match(topic)
    }
}

/// The compiled-size limit of one template on its own, in bytes.
pub const MAX_COMPILED_SIZE: usize = 1 << 20;

/// The anchored regular expression of a template, not compiled; a malformed template is an
/// error naming it and saying where and why.
pub fn pattern(text: &str) -> Result<String> {
    translate(text).map_err(|reason| Error::invalid_argument("topic", format!("the URI template \"{}\" is malformed: {reason}", shown(text))))
}

/// The template as an error message shows it (shortened, escaped).
pub fn shown(text: &str) -> String {
    let short: String = text.chars().take(80).collect();
    let more = if short.len() < text.len() { "…" } else { "" };
    format!("{}{more}", short.escape_debug())
}

/// An unreserved character, a percent-encoded triplet, or a non-ASCII character.
const VALUE: &str = r"(?:[A-Za-z0-9\-._~]|%[0-9A-Fa-f]{2}|[^\x00-\x7F])";
/// The same and the reserved characters (what `+` and `#` expansions may contain).
const VALUE_RESERVED: &str = r"(?:[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2}|[^\x00-\x7F])";

/// One character of a value as a prefix counts it: an unreserved character, a non-ASCII
/// character, or one character's percent-encoded UTF-8: a triplet and up to 3 continuation
/// triplets (`%80` to `%BF`). The lead byte is not checked against the number of
/// continuations: that would cost half as much again per counted character, and only a topic
/// that is not valid percent-encoded UTF-8 is matched differently (more leniently).
const CHAR: &str = r"(?:[A-Za-z0-9\-._~]|[^\x00-\x7F]|%[0-9A-Fa-f]{2}(?:%[89ABab][0-9A-Fa-f]){0,3})";
/// The same and the reserved characters.
const CHAR_RESERVED: &str = r"(?:[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=]|[^\x00-\x7F]|%[0-9A-Fa-f]{2}(?:%[89ABab][0-9A-Fa-f]){0,3})";

struct Operator {
    first: &'static str,
    separator: &'static str,
    named: bool,
    reserved: bool,
    /// `;` writes `name` for an empty value, `?` and `&` write `name=`.
    empty_is_bare_name: bool,
}

fn operator(c: char) -> Option<Operator> {
    let op = |first, separator, named, reserved, empty_is_bare_name| Some(Operator { first, separator, named, reserved, empty_is_bare_name });
    match c {
        '+' => op("", ",", false, true, false),
        '#' => op("#", ",", false, true, false),
        '.' => op(".", ".", false, false, false),
        '/' => op("/", "/", false, false, false),
        ';' => op(";", ";", true, false, true),
        '?' => op("?", "&", true, false, false),
        '&' => op("&", "&", true, false, false),
        _ => None,
    }
}

const SIMPLE: Operator = Operator { first: "", separator: ",", named: false, reserved: false, empty_is_bare_name: false };

/// The anchored pattern of a template, or why it is malformed.
fn translate(text: &str) -> std::result::Result<String, String> {
    let mut pattern = String::from("^");
    let mut rest = text;
    let mut at = 0;
    while !rest.is_empty() {
        match rest.find(['{', '}']) {
            Some(i) if rest.as_bytes()[i] == b'}' => return Err(format!("a '}}' without its '{{' at byte {}", at + i)),
            Some(i) => {
                literal(&rest[..i], at, &mut pattern)?;
                let Some(end) = rest[i..].find('}') else {
                    return Err(format!("the expression at byte {} is not closed with '}}'", at + i));
                };
                expression(&rest[i + 1..i + end], at + i, &mut pattern)?;
                at += i + end + 1;
                rest = &rest[i + end + 1..];
            }
            None => {
                literal(rest, at, &mut pattern)?;
                break;
            }
        }
    }
    pattern.push('$');
    Ok(pattern)
}

/// Literal text between expressions: what RFC 6570 allows there, matched as itself.
fn literal(text: &str, at: usize, pattern: &mut String) -> std::result::Result<(), String> {
    let bytes = text.as_bytes();
    for (i, c) in text.char_indices() {
        let refused = c.is_control() || matches!(c, ' ' | '"' | '\'' | '<' | '>' | '\\' | '^' | '`' | '|');
        if refused {
            return Err(format!("the character {:?} at byte {} is not allowed in a URI template", c, at + i));
        }
        if c == '%' && !(bytes.len() > i + 2 && bytes[i + 1].is_ascii_hexdigit() && bytes[i + 2].is_ascii_hexdigit()) {
            return Err(format!("'%' at byte {} does not start a percent-encoded byte", at + i));
        }
    }
    pattern.push_str(&regex::escape(text));
    Ok(())
}

/// One `{...}` expression (without its braces), starting at byte `at` of the template.
fn expression(body: &str, at: usize, pattern: &mut String) -> std::result::Result<(), String> {
    let Some(first) = body.chars().next() else {
        return Err(format!("the expression at byte {at} is empty"));
    };
    if matches!(first, '=' | ',' | '!' | '@' | '|') {
        return Err(format!("the operator '{first}' at byte {} is reserved for future extensions", at + 1));
    }
    let (op, list) = match operator(first) {
        Some(op) => (op, &body[first.len_utf8()..]),
        None => (SIMPLE, body),
    };
    let (value, character) = if op.reserved { (VALUE_RESERVED, CHAR_RESERVED) } else { (VALUE, CHAR) };
    let mut items = Vec::new();
    let mut any_explode = false;
    for varspec in list.split(',') {
        let (name, prefix, explode) = varspec_parts(varspec).map_err(|reason| format!("{reason} in the expression at byte {at}"))?;
        any_explode |= explode;
        let one = match prefix {
            Some(n) => format!("{character}{{0,{n}}}"),
            None => format!("{value}*"),
        };
        // A list without explode is joined by commas whatever the operator.
        let joined = if prefix.is_some() { one.clone() } else { format!("{one}(?:,{one})*") };
        let name = regex::escape(name);
        let item = match (op.named, explode) {
            (false, false) => joined,
            // Exploded: each member is one item (`k=v` for an associative array).
            (false, true) => format!("{one}(?:={one})?"),
            (true, false) if op.empty_is_bare_name => format!("{name}(?:={joined})?"),
            (true, false) => format!("{name}={joined}"),
            (true, true) => format!("(?:{one}=)?{one}|{name}"),
        };
        items.push(format!("(?:{item})"));
    }
    let item = items.join("|");
    let first = regex::escape(op.first);
    let separator = regex::escape(op.separator);
    // Without explode, at most one item per variable: `{/seg}` is one segment, not several.
    let more = if any_explode { "*".to_owned() } else { format!("{{0,{}}}", items.len() - 1) };
    // Every variable may be undefined, which leaves the whole expression out.
    pattern.push_str(&format!("(?:{first}(?:{item})(?:{separator}(?:{item})){more})?"));
    Ok(())
}

/// `name`, `name:3` or `name*`: the name, the prefix length, whether it explodes.
fn varspec_parts(varspec: &str) -> std::result::Result<(&str, Option<u32>, bool), String> {
    let (name, prefix, explode) = if let Some(name) = varspec.strip_suffix('*') {
        (name, None, true)
    } else if let Some((name, length)) = varspec.split_once(':') {
        let valid = !length.is_empty() && length.len() <= 4 && length.bytes().all(|b| b.is_ascii_digit()) && !length.starts_with('0');
        if !valid {
            return Err(format!("the prefix length {length:?} of {name:?} is not a number from 1 to 9999"));
        }
        (name, length.parse().ok(), false)
    } else {
        (varspec, None, false)
    };
    if name.is_empty() {
        return Err("an empty variable name".to_owned());
    }
    let bytes = name.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'%' && bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit) && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit) {
            i += 3;
            continue;
        }
        let dot_inside = b == b'.' && i > 0 && i + 1 < bytes.len() && bytes[i - 1] != b'.';
        if !(b.is_ascii_alphanumeric() || b == b'_' || dot_inside) {
            return Err(format!("the variable name {name:?} has a character a name may not have at byte {i}"));
        }
        i += 1;
    }
    Ok((name, prefix, explode))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(template: &str, topic: &str) -> bool {
        match Template::parse(template) {
            Ok(t) => t.matches(topic),
            Err(e) => panic!("{template}: {e}"),
        }
    }

    #[test]
    fn simple_expressions_stay_within_a_segment() {
        assert!(matches("https://example.com/books/{id}", "https://example.com/books/1"));
        assert!(matches("https://example.com/books/{id}", "https://example.com/books/"));
        assert!(matches("https://example.com/books/{id}", "https://example.com/books/caf%C3%A9"));
        assert!(matches("https://example.com/books/{id}", "https://example.com/books/café"));
        assert!(!matches("https://example.com/books/{id}", "https://example.com/books/1/secret"));
        assert!(!matches("https://example.com/books/{id}", "https://example.com/books/1?x=2"));
        assert!(!matches("https://example.com/books/{id}", "https://example.com/authors/1"));
        assert!(!matches("https://example.com/books/{id}", "prefix https://example.com/books/1"));
        assert!(matches("/users/{id}/orders/{order}", "/users/7/orders/12"));
        assert!(matches("{a,b}", "x,y"));
    }

    #[test]
    fn operators_follow_rfc_6570() {
        assert!(matches("https://example.com{+path}", "https://example.com/a/b/c"));
        assert!(matches("https://example.com/x{#frag}", "https://example.com/x#a/b"));
        assert!(matches("https://example.com/x{#frag}", "https://example.com/x"));
        assert!(matches("file{.ext}", "file.tar"));
        assert!(matches("file{.ext*}", "file.tar.gz"));
        assert!(matches("/root{/seg}", "/root/a"));
        assert!(!matches("/root{/seg}", "/root/a/b"));
        assert!(matches("/root{/seg*}", "/root/a/b"));
        assert!(matches("/m{;x,y}", "/m;x=1;y"));
        assert!(matches("/s{?q,page}", "/s?q=cat&page=2"));
        assert!(matches("/s{?q,page}", "/s"));
        assert!(!matches("/s{?q}", "/s?other=1"));
        assert!(matches("/s?a=1{&b}", "/s?a=1&b=2"));
        assert!(matches("/p/{id:3}", "/p/abc"));
        assert!(!matches("/p/{id:3}", "/p/abcd"));
        assert!(matches("/s{?list*}", "/s?list=a&list=b"));
    }

    #[test]
    fn malformed_templates_are_errors_naming_them() {
        for (template, reason) in [
            ("/books/{id", "not closed"),
            ("/books/id}", "without its '{'"),
            ("/books/{}", "is empty"),
            ("/books/{=id}", "reserved"),
            ("/books/{i d}", "variable name"),
            ("/books/{id:0}", "prefix length"),
            ("/books/{id:99999}", "prefix length"),
            ("/books/{id,}", "empty variable name"),
            ("/books/{.}", "empty variable name"),
            ("/books {id}", "not allowed"),
            ("/books/%zz{id}", "percent-encoded"),
            ("/books/{a..b}", "variable name"),
        ] {
            match Template::parse(template) {
                Ok(_) => panic!("{template} was accepted"),
                Err(e) => {
                    let message = e.to_string();
                    assert!(message.contains(&template.escape_debug().to_string()), "{message}");
                    assert!(message.contains(reason), "{template}: {message}");
                }
            }
        }
    }

    #[test]
    fn a_prefix_counts_characters_before_percent_encoding() {
        // RFC 6570 2.4.1: {var:1} of "é" is "%C3%A9", of "日" is "%E6%97%A5", of "😀" is
        // "%F0%9F%98%80"; IRIs carry them unencoded.
        for topic in ["/p/%C3%A9", "/p/%c3%a9", "/p/%E6%97%A5", "/p/%F0%9F%98%80", "/p/é", "/p/日", "/p/a", "/p/%20", "/p/"] {
            assert!(matches("/p/{id:1}", topic), "{topic}");
        }
        for topic in ["/p/%C3%A9%C3%A9", "/p/ab", "/p/%C3%A9a", "/p/éé"] {
            assert!(!matches("/p/{id:1}", topic), "{topic}");
        }
        assert!(matches("/p/{id:3}", "/p/caf"));
        assert!(matches("/p/{id:4}", "/p/caf%C3%A9"));
        assert!(!matches("/p/{id:3}", "/p/caf%C3%A9"));
        assert!(matches("/p{/id:2}", "/p/%E2%82%AC%E2%82%AC"));
        assert!(matches("/p/{+path:2}", "/p/%C3%A9/"));
        assert!(!matches("/p/{+path:2}", "/p/%C3%A9/x"));
        assert!(matches("/s{?q:2}", "/s?q=%C3%A9t"));
        // Still within one segment, and the unbounded form is unchanged.
        assert!(!matches("/p/{id:3}", "/p/a/b"));
        assert!(matches("/p/{id}", "/p/%C3%A9%C3%A9%C3%A9%C3%A9"));
    }

    #[test]
    fn huge_prefixes_are_refused_not_slow() {
        let template = format!("/{}", (0..50).map(|i| format!("{{v{i}:9999}}")).collect::<String>());
        assert!(Template::parse(&template).is_err());
    }
}
