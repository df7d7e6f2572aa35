//! Topic selectors (draft-dunglas-mercure-07): what a subscriber asks for with `topic=`, and what
//! a token's `mercure.publish` and `mercure.subscribe` claims allow. A selector is `*` (every
//! topic), a URI template (when it contains `{` or `}`), or an exact topic; a topic matches a
//! template when it is the template's own text or one of its expansions.
//!
//! The selectors of one request (or one claim) share one budget: [`MAX_COUNT`] selectors,
//! [`MAX_TOTAL_LEN`] bytes, and [`MAX_COMPILED_SIZE`] bytes of compiled expression for all
//! their templates together. Their templates are compiled as one `RegexSet` under that size
//! limit, so the compiler itself stops a request that asks for more (100 selectors such as
//! `{+v:755}` once compiled 100 expressions of nearly 1 MiB each). [`Selectors::prepare`] does
//! everything but compiling, so that the hub refuses a malformed query at once and verifies
//! the token before spending anything on compiling.

use super::template::{self, Template};
use super::url_pattern::{self, Refused, UrlPatterns};
use super::{matchers, topic};
use crate::error::{Error, Result};
use std::sync::Arc;
use url::Url;

#[derive(Clone, Debug)]
pub enum Selector {
    /// `*`: every topic.
    Any,
    Exact(String),
    Template(Template),
}

/// What a selector's text is, once checked.
enum Kind {
    Any,
    Exact,
    Template,
}

impl Selector {
    /// Parses one selector; a malformed template is an error naming it.
    pub fn parse(text: &str) -> Result<Selector> {
        Ok(match Selector::kind(text)? {
            Kind::Any => Selector::Any,
            Kind::Exact => Selector::Exact(text.to_owned()),
            Kind::Template => Selector::Template(Template::parse(text)?),
        })
    }

    fn kind(text: &str) -> Result<Kind> {
        topic::check_text("topic selector", text, MAX_LEN)?;
        if text == "*" {
            return Ok(Kind::Any);
        }
        if text.contains(['{', '}']) {
            return Ok(Kind::Template);
        }
        Ok(Kind::Exact)
    }

    pub fn matches(&self, topic: &str) -> bool {
        match self {
            Selector::Any => true,
            Selector::Exact(exact) => exact == topic,
            Selector::Template(template) => template.as_str() == topic || template.matches(topic),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Selector::Any => "*",
            Selector::Exact(exact) => exact,
            Selector::Template(template) => template.as_str(),
        }
    }
}

/// Longest selector, in bytes (a template may be longer than the topics it matches).
pub const MAX_LEN: usize = 1024;

/// Most selectors of one subscription or one claim.
pub const MAX_COUNT: usize = 100;

/// Most bytes of all the selectors of one subscription or one claim together.
pub const MAX_TOTAL_LEN: usize = 32 * 1024;

/// The compile-cost budget of one subscription's or one claim's templates together: the
/// compiled size limit of their one `RegexSet`, in bytes. It is what one template alone was
/// allowed before; a template such as `https://example.com/books/{id}` takes about 4 KiB of
/// it, a prefix about 2 KiB per counted character.
pub const MAX_COMPILED_SIZE: usize = super::template::MAX_COMPILED_SIZE;

/// A list of selectors, checked and translated but not compiled.
#[derive(Clone, Debug, Default)]
pub struct Prepared {
    any: bool,
    exact: Vec<String>,
    /// Each template's text and its anchored pattern.
    templates: Vec<(String, String)>,
    /// `match_urlpattern` texts (Mercure 1.0).
    url_patterns: Vec<String>,
    /// What the list is, for messages (`topic`, `mercure.subscribe`).
    what: String,
}

impl Prepared {
    /// Compiles the templates, all within [`MAX_COMPILED_SIZE`]; beyond it, an error naming
    /// the budget. URL patterns are resolved against [`url_pattern::DEFAULT_BASE`].
    pub fn compile(self) -> Result<Selectors> {
        self.compile_at(None)
    }

    /// Compiles the URL patterns (resolved against `base`, the hub's URL) and the templates,
    /// all within [`MAX_COMPILED_SIZE`] together; beyond it, an error naming the budget.
    pub fn compile_at(self, base: Option<&Url>) -> Result<Selectors> {
        let mut budget = MAX_COMPILED_SIZE;
        let urls = if self.url_patterns.is_empty() {
            None
        } else {
            let fallback = Url::parse(url_pattern::DEFAULT_BASE).map_err(|e| Error::misuse(format!("the default base URL: {e}")))?;
            match url_pattern::compile(&self.url_patterns, base.unwrap_or(&fallback), budget) {
                Ok((patterns, left)) => {
                    budget = left;
                    Some(Arc::new(patterns))
                }
                // The compiler's own message is not shown: it is of no use to a client and
                // may describe the hub's memory.
                Err(Refused::Invalid(index)) => {
                    let text = self.url_patterns.get(index).map(|t| template::shown(t)).unwrap_or_default();
                    return Err(Error::invalid_argument("match_urlpattern", format!("\"{text}\" is not a valid URL pattern")));
                }
                Err(Refused::Budget) => {
                    return Err(Error::invalid_argument(
                        "match_urlpattern",
                        format!(
                            "the {} URL patterns exceed together the compile budget of one request ({} KiB); use fewer or simpler patterns",
                            self.url_patterns.len(),
                            MAX_COMPILED_SIZE / 1024
                        ),
                    ));
                }
            }
        };
        let set = if self.templates.is_empty() {
            None
        } else {
            let built = regex::RegexSetBuilder::new(self.templates.iter().map(|(_, pattern)| pattern)).size_limit(budget).build();
            match built {
                Ok(set) => Some(set),
                Err(_) => {
                    let message = match self.templates.as_slice() {
                        [(text, _)] => format!("the URI template \"{}\" is too complex to match: it exceeds the compile budget of one request ({} KiB)", template::shown(text), MAX_COMPILED_SIZE / 1024),
                        templates => format!(
                            "the {} URI templates of the {} selectors exceed together the compile budget of one request ({} KiB); use fewer templates or shorter prefixes ({{var:N}})",
                            templates.len(),
                            self.what,
                            MAX_COMPILED_SIZE / 1024
                        ),
                    };
                    return Err(Error::invalid_argument(self.what, message));
                }
            }
        };
        let templates = self.templates.into_iter().map(|(text, _)| text).collect();
        Ok(Selectors { any: self.any, exact: self.exact, templates, set, urls })
    }

    /// How many distinct selectors the list has.
    pub fn len(&self) -> usize {
        usize::from(self.any) + self.exact.len() + self.templates.len() + self.url_patterns.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A list of selectors: a subscription's, or a claim's.
#[derive(Clone, Debug, Default)]
pub struct Selectors {
    any: bool,
    exact: Vec<String>,
    /// The templates' texts (a topic equal to a template's text matches it).
    templates: Vec<String>,
    /// Every template, compiled together; None without templates.
    set: Option<regex::RegexSet>,
    /// The URL patterns (Mercure 1.0); None without any.
    urls: Option<Arc<UrlPatterns>>,
}

impl Selectors {
    /// Parses and compiles every selector; duplicates are dropped; beyond the budget (count,
    /// total size, compile cost) is an error naming it.
    pub fn parse<'a>(texts: impl IntoIterator<Item = &'a str>, what: &str) -> Result<Selectors> {
        Selectors::prepare(texts, what)?.compile()
    }

    /// Checks and translates every selector without compiling: duplicates are dropped; more
    /// than [`MAX_COUNT`] selectors, more than [`MAX_TOTAL_LEN`] bytes or a malformed one is
    /// an error.
    pub fn prepare<'a>(texts: impl IntoIterator<Item = &'a str>, what: &str) -> Result<Prepared> {
        let mut prepared = Prepared { what: what.to_owned(), ..Prepared::default() };
        let mut total = 0usize;
        for text in texts {
            let seen = (prepared.any && text == "*") || prepared.exact.iter().any(|e| e == text) || prepared.templates.iter().any(|(t, _)| t == text);
            if seen {
                continue;
            }
            if prepared.len() == MAX_COUNT {
                return Err(Error::invalid_argument(what, format!("more than {MAX_COUNT} topic selectors")));
            }
            total += text.len();
            if total > MAX_TOTAL_LEN {
                return Err(Error::invalid_argument(
                    what,
                    format!("the {what} selectors exceed the size budget of one request ({MAX_TOTAL_LEN} bytes in total)"),
                ));
            }
            match Selector::kind(text)? {
                Kind::Any => prepared.any = true,
                Kind::Exact => prepared.exact.push(text.to_owned()),
                Kind::Template => prepared.templates.push((text.to_owned(), template::pattern(text)?)),
            }
        }
        Ok(prepared)
    }

    /// Checks Mercure 1.0 matchers (`match`/`match_exact`: exact topics, `match_urlpattern`:
    /// URL patterns, `*` in either: every topic) without compiling: duplicates are dropped; the
    /// count and total size share the budget of [`Selectors::prepare`]; each value is checked
    /// by [`matchers::check_value`] under its parameter's name.
    pub fn prepare_matchers<'a>(given: impl IntoIterator<Item = (&'a str, matchers::Kind, &'a str)>) -> Result<Prepared> {
        let mut prepared = Prepared { what: "match".to_owned(), ..Prepared::default() };
        let mut total = 0usize;
        for (name, kind, text) in given {
            matchers::check_value(name, text)?;
            let seen = match kind {
                _ if text == "*" => prepared.any,
                matchers::Kind::Exact => prepared.exact.iter().any(|e| e == text),
                matchers::Kind::UrlPattern => prepared.url_patterns.iter().any(|p| p == text),
            };
            if seen {
                continue;
            }
            if prepared.len() == MAX_COUNT {
                return Err(Error::invalid_argument(name, format!("more than {MAX_COUNT} matchers (match, match_exact and match_urlpattern together)")));
            }
            total += text.len();
            if total > MAX_TOTAL_LEN {
                return Err(Error::invalid_argument(name, format!("the matchers exceed the size budget of one request ({MAX_TOTAL_LEN} bytes in total)")));
            }
            match kind {
                // `*` is every topic, whatever the matcher type (checked before the type).
                _ if text == "*" => prepared.any = true,
                matchers::Kind::Exact => prepared.exact.push(text.to_owned()),
                matchers::Kind::UrlPattern => prepared.url_patterns.push(text.to_owned()),
            }
        }
        Ok(prepared)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn len(&self) -> usize {
        usize::from(self.any) + self.exact.len() + self.templates.len() + self.urls.as_ref().map_or(0, |u| u.len())
    }

    /// Whether one of the selectors matches `topic`.
    pub fn matches(&self, topic: &str) -> bool {
        self.any
            || self.exact.iter().any(|e| e == topic)
            || self.templates.iter().any(|t| t == topic)
            || self.set.as_ref().is_some_and(|set| set.is_match(topic))
            || self.urls.as_ref().is_some_and(|urls| urls.matches(topic))
    }

    /// Whether one of the selectors matches one of `topics`.
    pub fn matches_any<'a>(&self, topics: impl IntoIterator<Item = &'a str>) -> bool {
        topics.into_iter().any(|t| self.matches(t))
    }

    /// The topics, when every selector is an exact topic (no `*`, template or URL pattern):
    /// what a subscription may subscribe to one by one instead of to every update.
    pub fn exact_only(&self) -> Option<&[String]> {
        (!self.any && self.templates.is_empty() && self.urls.is_none() && !self.exact.is_empty()).then_some(&self.exact[..])
    }

    /// The first of `topics` that no selector matches.
    pub fn first_uncovered<'a>(&self, topics: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
        topics.into_iter().find(|t| !self.matches(t))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn selector(text: &str) -> Selector {
        match Selector::parse(text) {
            Ok(s) => s,
            Err(e) => panic!("{text}: {e}"),
        }
    }

    #[test]
    fn star_exact_and_templates() {
        assert!(selector("*").matches("anything at all"));
        assert!(selector("https://example.com/a").matches("https://example.com/a"));
        assert!(!selector("https://example.com/a").matches("https://example.com/A"));
        assert!(!selector("https://example.com/a").matches("https://example.com/a/"));
        assert!(selector("https://example.com/books/{id}").matches("https://example.com/books/{id}"));
        assert!(selector("https://example.com/books/{id}").matches("https://example.com/books/3"));
        // An exact topic may hold what templates may not (a space).
        assert!(selector("my topic").matches("my topic"));
    }

    #[test]
    fn lists_drop_duplicates_and_stop_at_the_limit() {
        let list = Selectors::parse(["a", "b", "a"], "topic");
        assert_eq!(list.map(|l| l.len()).ok(), Some(2));
        let many: Vec<String> = (0..=MAX_COUNT).map(|i| format!("t{i}")).collect();
        let error = Selectors::parse(many.iter().map(String::as_str), "topic").err().map(|e| e.to_string()).unwrap_or_default();
        assert!(error.contains("more than 100"), "{error}");
        assert!(Selectors::parse(["ok", "/x/{bad"], "topic").is_err());
    }

    #[test]
    fn a_list_matches_as_its_selectors_do() {
        let texts = ["*", "news", "https://example.com/books/{id}", "https://example.com/users/{id}/{+rest}"];
        let list = Selectors::parse(texts[1..].iter().copied(), "topic").ok().unwrap_or_default();
        for topic in [
            "news",
            "https://example.com/books/1",
            "https://example.com/books/{id}",
            "https://example.com/users/7/a/b",
            "https://example.com/books/1/x",
            "other",
            "",
        ] {
            let one_by_one = texts[1..].iter().any(|t| selector(t).matches(topic));
            assert_eq!(list.matches(topic), one_by_one, "{topic}");
        }
        assert!(Selectors::parse(texts, "topic").is_ok_and(|l| l.len() == 4 && l.matches("anything")));
        assert!(Selectors::default().is_empty() && !Selectors::default().matches("a"));
    }

    #[test]
    fn one_request_has_one_budget() {
        let message = |texts: &[String]| Selectors::parse(texts.iter().map(String::as_str), "topic").err().map(|e| e.to_string()).unwrap_or_default();
        // 100 ordinary templates fit; 100 selectors of large prefixes do not: the compiler
        // stops at the shared limit, instead of compiling 100 expressions of up to 1 MiB.
        let ordinary: Vec<String> = (0..MAX_COUNT).map(|i| format!("https://example.com/books{i}/{{id}}/reviews/{{review}}")).collect();
        assert!(Selectors::parse(ordinary.iter().map(String::as_str), "topic").is_ok());
        let hostile: Vec<String> = (0..MAX_COUNT).map(|i| format!("{{+v{i}:755}}")).collect();
        let refused = message(&hostile);
        assert!(refused.contains("exceed together the compile budget of one request (1024 KiB)"), "{refused}");
        // A few large prefixes that each fit alone do not fit together.
        let prefixes: Vec<String> = (0..4).map(|i| format!("/p{i}/{{v:200}}")).collect();
        assert!(Selectors::parse(prefixes[..1].iter().map(String::as_str), "topic").is_ok());
        assert!(message(&prefixes).contains("compile budget"));
        assert!(message(&["/p/{v:9999}".to_owned()]).contains("\"/p/{v:9999}\" is too complex to match"));
        // The size budget: 33 selectors of 1,000 bytes.
        let long: Vec<String> = (0..33).map(|i| format!("https://example.com/{i:03}/{}", "x".repeat(976))).collect();
        assert!(message(&long).contains("size budget of one request (32768 bytes in total)"), "{}", message(&long));
        // Checked and translated without compiling: a malformed template is refused at once.
        assert!(Selectors::prepare(["ok", "/x/{bad"], "topic").is_err());
        assert!(Selectors::prepare(hostile.iter().map(String::as_str), "topic").is_ok_and(|p| p.len() == MAX_COUNT));
    }

    #[test]
    fn coverage_names_the_first_topic_left_out() {
        let claim = Selectors::parse(["https://example.com/books/{id}", "news"], "mercure.publish").ok().unwrap_or_default();
        assert_eq!(claim.first_uncovered(["news", "https://example.com/books/1"]), None);
        assert_eq!(claim.first_uncovered(["news", "https://example.com/users/1"]), Some("https://example.com/users/1"));
    }

    proptest! {
        // Every segment value a `{var}` could expand to is matched, and none with a '/'.
        #[test]
        fn a_simple_variable_matches_exactly_one_segment(value in "[A-Za-z0-9._~-]{0,20}", extra in "[A-Za-z0-9]{1,5}") {
            let s = selector("https://example.com/books/{id}");
            let one = format!("https://example.com/books/{value}");
            let two = format!("https://example.com/books/{value}/{extra}");
            prop_assert!(s.matches(&one));
            prop_assert!(!s.matches(&two));
        }

        // Matching never panics and `*` takes everything a topic may be.
        #[test]
        fn any_text_is_matched_or_not_without_panicking(template in "[a-z/{}+#.;?&:*,0-9]{0,30}", topic in "\\PC{0,40}") {
            if let Ok(s) = Selector::parse(&template) {
                let _ = s.matches(&topic);
            }
            prop_assert!(Selector::Any.matches(&topic));
        }
    }
}
