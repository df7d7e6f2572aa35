//! The URL patterns of Mercure 1.0 token grants (`match_type: urlpattern`): a WHATWG URL
//! Pattern in its constructor-string form, resolved against the hub's URL, so that
//! `/books/:id` means the hub's own origin. Deno's `urlpattern` crate compiles it to `regex`
//! expressions, which match in linear time.
//!
//! Subscribe selectors (`match_urlpattern=`) get their own matcher beside the URI templates;
//! this one only serves the grants of a token, and the two are meant to become one.

use std::sync::Arc;
use url::Url;
use urlpattern::{UrlPattern, UrlPatternInit, UrlPatternMatchInput, UrlPatternOptions};

#[derive(Clone, Debug)]
pub struct GrantPattern {
    text: String,
    // Shared: a grant is copied into the access of each action it names.
    pattern: Arc<UrlPattern>,
}

impl GrantPattern {
    /// Compiles `text` against `base` (the hub's URL); None when it is not a URL pattern.
    /// The reason stays here: a token's refusal never says what was wrong with it.
    pub fn compile(text: &str, base: &Url) -> Option<GrantPattern> {
        // The crate's own code runs under catch_unwind: a bug there refuses the token instead
        // of reaching PHP.
        let compiled = std::panic::catch_unwind(|| {
            let init = UrlPatternInit::parse_constructor_string::<regex::Regex>(text, Some(base.clone())).ok()?;
            UrlPattern::parse(init, UrlPatternOptions::default()).ok()
        });
        compiled.ok().flatten().map(|pattern| GrantPattern { text: text.to_owned(), pattern: Arc::new(pattern) })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether `topic`, resolved against `base` as a URL, matches. A topic that is not a URL
    /// (after resolution) matches no pattern.
    pub fn matches(&self, topic: &str, base: &Url) -> bool {
        let Ok(url) = base.join(topic) else { return false };
        std::panic::catch_unwind(|| self.pattern.test(UrlPatternMatchInput::Url(url)).unwrap_or(false)).unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Url {
        Url::parse("https://hub.example/.well-known/mercure").unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn matches_one_segment_per_name_and_resolves_against_the_hub() {
        let p = GrantPattern::compile("https://e.com/b/:id", &base()).unwrap_or_else(|| panic!("compiles"));
        assert!(p.matches("https://e.com/b/1", &base()));
        assert!(p.matches("https://E.COM/b/1", &base()));
        assert!(!p.matches("https://e.com/b/1/x", &base()));
        assert!(!p.matches("https://other.com/b/1", &base()));
        let relative = GrantPattern::compile("/users/:id", &base()).unwrap_or_else(|| panic!("compiles"));
        assert!(relative.matches("https://hub.example/users/7", &base()));
        assert!(relative.matches("/users/7", &base()));
        assert!(!relative.matches("https://e.com/users/7", &base()));
    }

    #[test]
    fn refuses_what_is_not_a_pattern() {
        assert!(GrantPattern::compile("https://e.com/(", &base()).is_none());
        assert!(GrantPattern::compile("https://e.com/:id(", &base()).is_none());
    }
}
