//! Topic selectors (draft-dunglas-mercure-07): what a subscriber asks for with `topic=`, and what
//! a token's `mercure.publish` and `mercure.subscribe` claims allow. A selector is `*` (every
//! topic), a URI template (when it contains `{` or `}`), or an exact topic; a topic matches a
//! template when it is the template's own text or one of its expansions.

use super::template::Template;
use super::topic;
use crate::error::{Error, Result};

#[derive(Clone, Debug)]
pub enum Selector {
    /// `*`: every topic.
    Any,
    Exact(String),
    Template(Template),
}

impl Selector {
    /// Parses one selector; a malformed template is an error naming it.
    pub fn parse(text: &str) -> Result<Selector> {
        topic::check_text("topic selector", text, MAX_LEN)?;
        if text == "*" {
            return Ok(Selector::Any);
        }
        if text.contains(['{', '}']) {
            return Ok(Selector::Template(Template::parse(text)?));
        }
        Ok(Selector::Exact(text.to_owned()))
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

/// A list of selectors: a subscription's, or a claim's.
#[derive(Clone, Debug, Default)]
pub struct Selectors(Vec<Selector>);

impl Selectors {
    /// Parses every selector; duplicates are dropped; more than [`MAX_COUNT`] is an error.
    pub fn parse<'a>(texts: impl IntoIterator<Item = &'a str>, what: &str) -> Result<Selectors> {
        let mut selectors: Vec<Selector> = Vec::new();
        for text in texts {
            if selectors.iter().any(|s| s.as_str() == text) {
                continue;
            }
            if selectors.len() == MAX_COUNT {
                return Err(Error::invalid_argument(what, format!("more than {MAX_COUNT} topic selectors")));
            }
            selectors.push(Selector::parse(text)?);
        }
        Ok(Selectors(selectors))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether one of the selectors matches `topic`.
    pub fn matches(&self, topic: &str) -> bool {
        self.0.iter().any(|s| s.matches(topic))
    }

    /// Whether one of the selectors matches one of `topics`.
    pub fn matches_any<'a>(&self, topics: impl IntoIterator<Item = &'a str>) -> bool {
        topics.into_iter().any(|t| self.matches(t))
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
