//! `match_urlpattern` selectors (Mercure 1.0): WHATWG URL Patterns in their constructor-string
//! form, resolved against the hub's URL (`/books/:id` means this host's `/books/:id`), with
//! `ignoreCase` off. Parsing and canonicalizing follow the standard through the `urlpattern`
//! crate; a component the string does not mention matches anything, except the port, which is
//! the default one once a host is given.
//!
//! A pattern may hold regular expressions (`:id(\d+)`), so its expressions are compiled by
//! `regex-automata`, which matches in linear time whatever the expression. Compiling is what
//! costs: every expression is built under the size still left in the request's budget, and its
//! measured memory beyond that of an empty expression is taken from that budget, so a
//! request's patterns together cost at most the budget ([`compile`]) plus a fixed part per
//! expression (about 1 KiB; a pattern has at most 17 expressions, a request 100 patterns).
//! A topic that is not a URL reference never matches a pattern.

use regex_automata::meta;
use std::cell::Cell;
use std::sync::OnceLock;
pub use url::Url;
use urlpattern::regexp::RegExp;
use urlpattern::{RegexSyntax, UrlPattern, UrlPatternInit, UrlPatternMatchInput, UrlPatternOptions};

/// The base of patterns and topics when the hub's own URL is not known: the name the Go hub
/// uses in that case. Relative patterns then still match relative topics.
pub const DEFAULT_BASE: &str = "http://mercure.invalid/.well-known/mercure";

/// The hub's URL from what the request says of it (`https`, `hub.example:8443`,
/// `/.well-known/mercure`), or None when that is no URL (a made-up `Host`, say).
pub fn hub_url(scheme: &str, host: &str, path: &str) -> Option<Url> {
    if host.is_empty() || !path.starts_with('/') || host.contains(['/', '?', '#', '@', '\\']) {
        return None;
    }
    let url = Url::parse(&format!("{scheme}://{host}{path}")).ok()?;
    // Only what was meant as scheme, host and path: nothing a crafted path slipped in.
    (url.query().is_none() && url.fragment().is_none() && url.has_host()).then_some(url)
}

/// Why a request's URL patterns were refused (the message is the caller's: a compiler's
/// error is never shown, it may describe memory).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refused {
    /// The pattern at this index (among the request's URL patterns) is not a URL pattern.
    Invalid(usize),
    /// The patterns need more than the budget.
    Budget,
}

/// A request's URL patterns, compiled, with the base that topics are resolved against.
#[derive(Debug)]
pub struct UrlPatterns {
    base: Url,
    patterns: Vec<UrlPattern<Bounded>>,
}

impl UrlPatterns {
    /// Whether one of the patterns matches `topic`, resolved against the base.
    pub fn matches(&self, topic: &str) -> bool {
        let Ok(url) = self.base.join(topic) else { return false };
        self.patterns.iter().any(|pattern| pattern.test(UrlPatternMatchInput::Url(url.clone())).unwrap_or(false))
    }

    pub fn len(&self) -> usize {
        self.patterns.len()
    }

    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }
}

/// Compiles `texts` against `base` within `budget` bytes of compiled expressions; returns the
/// patterns and what is left of the budget.
pub fn compile(texts: &[String], base: &Url, budget: usize) -> Result<(UrlPatterns, usize), Refused> {
    let previous = BUDGET.replace(Some(budget));
    let mut patterns = Vec::with_capacity(texts.len());
    let mut outcome = Ok(());
    for (index, text) in texts.iter().enumerate() {
        FAILED.set(false);
        EXCEEDED.set(false);
        let parsed = UrlPatternInit::parse_constructor_string::<Bounded>(text, Some(base.clone()))
            .and_then(|init| UrlPattern::<Bounded>::parse(init, UrlPatternOptions::default()));
        match parsed {
            // The crate keeps a matcher whose expression failed to build as one that never
            // matches, without an error: any failure refuses the pattern.
            Ok(pattern) if !FAILED.get() => patterns.push(pattern),
            _ if EXCEEDED.get() => {
                outcome = Err(Refused::Budget);
                break;
            }
            _ => {
                outcome = Err(Refused::Invalid(index));
                break;
            }
        }
    }
    let left = BUDGET.replace(previous).unwrap_or(0);
    outcome.map(|()| (UrlPatterns { base: base.clone(), patterns }, left))
}

thread_local! {
    /// What is left of the budget of the patterns being compiled on this thread (None: no
    /// compile under way; an expression is then refused).
    static BUDGET: Cell<Option<usize>> = const { Cell::new(None) };
    /// Whether an expression of the pattern being compiled failed to build.
    static FAILED: Cell<bool> = const { Cell::new(false) };
    /// Whether one failed for the budget.
    static EXCEEDED: Cell<bool> = const { Cell::new(false) };
}

/// One expression of a pattern: a linear-time regex whose memory was charged to the budget.
#[derive(Debug)]
pub struct Bounded {
    regex: meta::Regex,
    text: String,
}

impl RegExp for Bounded {
    fn syntax() -> RegexSyntax {
        RegexSyntax::Rust
    }

    fn parse(pattern: &str, _flags: &str, _force_eval: bool) -> Result<Self, ()> {
        let Some(left) = BUDGET.get() else { return Err(()) };
        let built = meta::Builder::new().configure(config().nfa_size_limit(Some(left))).build(pattern);
        let regex = match built {
            Ok(regex) => regex,
            Err(error) => {
                FAILED.set(true);
                EXCEEDED.set(EXCEEDED.get() || error.size_limit().is_some());
                return Err(());
            }
        };
        let used = regex.memory_usage().saturating_sub(baseline());
        if used > left {
            FAILED.set(true);
            EXCEEDED.set(true);
            return Err(());
        }
        BUDGET.set(Some(left - used));
        Ok(Bounded { regex, text: pattern.to_owned() })
    }

    fn matches<'a>(&self, text: &'a str) -> Option<Vec<Option<&'a str>>> {
        let mut captures = self.regex.create_captures();
        self.regex.captures(text, &mut captures);
        if !captures.is_match() {
            return None;
        }
        Some((1..captures.group_len()).map(|group| captures.get_group(group).map(|span| &text[span.range()])).collect())
    }

    fn pattern_string(&self) -> &str {
        &self.text
    }
}

/// The engines of an expression: only those built now and bounded by the size limit. No lazy
/// DFA, whose cache would grow at match time outside the budget, and no one-pass DFA, which
/// takes ten times the memory of the rest for a `\d`. Topics are short: the bounded
/// backtracker and the PikeVM match them quickly.
fn config() -> meta::Config {
    meta::Config::new().hybrid(false).dfa(false).onepass(false)
}

/// The memory of an empty expression: what every expression takes whatever it says.
fn baseline() -> usize {
    static BASELINE: OnceLock<usize> = OnceLock::new();
    *BASELINE.get_or_init(|| meta::Builder::new().configure(config()).build("^$").map_or(0, |r| r.memory_usage()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hub() -> Url {
        match Url::parse("https://hub.example/.well-known/mercure") {
            Ok(url) => url,
            Err(e) => panic!("{e}"),
        }
    }

    fn patterns(texts: &[&str]) -> UrlPatterns {
        let texts: Vec<String> = texts.iter().map(|t| (*t).to_owned()).collect();
        match compile(&texts, &hub(), 1 << 20) {
            Ok((patterns, _)) => patterns,
            Err(e) => panic!("{texts:?}: {e:?}"),
        }
    }

    #[test]
    fn a_named_group_is_one_path_segment() {
        let p = patterns(&["https://example.com/books/:id"]);
        assert!(p.matches("https://example.com/books/1"));
        assert!(p.matches("https://example.com/books/1?x=y#z"), "search and hash are wildcards");
        assert!(p.matches("https://EXAMPLE.com/books/1"), "the host is canonicalized");
        assert!(!p.matches("https://example.com/books/1/reviews"));
        assert!(!p.matches("https://example.com/books/"));
        assert!(!p.matches("https://example.com:8443/books/1"), "the port is the default one");
        assert!(!p.matches("http://example.com/books/1"));
        assert!(!p.matches("https://other.example/books/1"));
    }

    #[test]
    fn regex_groups_optional_groups_and_wildcards() {
        let digits = patterns(&["https://example.com/books/:id(\\d+)"]);
        assert!(digits.matches("https://example.com/books/42"));
        assert!(!digits.matches("https://example.com/books/abc"));
        let optional = patterns(&["https://example.com/books{/:id}?"]);
        assert!(optional.matches("https://example.com/books"));
        assert!(optional.matches("https://example.com/books/7"));
        assert!(!optional.matches("https://example.com/books/7/x"));
        let star = patterns(&["https://example.com/users/*"]);
        assert!(star.matches("https://example.com/users/7/a/b"));
        assert!(!star.matches("https://example.com/books/1"));
        let conformance = patterns(&["https://example.net/foo/:random"]);
        assert!(conformance.matches("https://example.net/foo/0f3a9b"));
    }

    #[test]
    fn relative_patterns_and_topics_resolve_against_the_hub() {
        let relative = patterns(&["/books/:id"]);
        assert!(relative.matches("https://hub.example/books/1"));
        assert!(relative.matches("/books/1"));
        assert!(!relative.matches("https://example.com/books/1"));
        let absolute = patterns(&["https://hub.example/books/:id"]);
        assert!(absolute.matches("/books/2"));
    }

    #[test]
    fn a_topic_that_is_no_url_never_matches() {
        let p = patterns(&["https://example.com/*"]);
        assert!(!p.matches("https://exa mple.com/x"));
        assert!(!p.matches("http://[::1/x"));
        assert!(!p.matches("https://example.com:99999/x"));
    }

    #[test]
    fn the_hub_url_is_built_from_the_request() {
        assert_eq!(hub_url("https", "hub.example", "/.well-known/mercure").map(String::from).as_deref(), Some("https://hub.example/.well-known/mercure"));
        assert_eq!(hub_url("http", "localhost:8080", "/hub").map(String::from).as_deref(), Some("http://localhost:8080/hub"));
        for (host, path) in [("", "/x"), ("evil.example/x", "/y"), ("a@b", "/x"), ("h", "x"), ("h", "/x?y"), ("h", "/x#y"), ("bad host", "/x")] {
            assert!(hub_url("https", host, path).is_none(), "{host} {path}");
        }
    }

    #[test]
    fn what_does_not_compile_is_named_by_index() {
        let texts = |list: &[&str]| list.iter().map(|t| (*t).to_owned()).collect::<Vec<_>>();
        assert_eq!(compile(&texts(&["https://e.com/a", "https://e.com/("]), &hub(), 1 << 20).err(), Some(Refused::Invalid(1)));
        assert_eq!(compile(&texts(&["https://e.com/:id([)"]), &hub(), 1 << 20).err(), Some(Refused::Invalid(0)));
        // An expression too big for what is left of the budget is the budget's refusal.
        assert_eq!(compile(&texts(&["https://e.com/:x((?:a{100}){100})"]), &hub(), 64 * 1024).err(), Some(Refused::Budget));
        // Outside `compile`, no expression is built.
        assert!(<Bounded as RegExp>::parse("a", "u", false).is_err());
    }

    #[test]
    fn a_pattern_compiled_at_any_budget_matches_or_is_refused() {
        // At every budget, a pattern either is refused or matches as it should: never kept
        // with an expression that failed to build (which would silently match nothing).
        let texts = vec!["https://e.com/b/:id(\\d+){/:more}?".to_owned()];
        let mut refused = 0;
        for budget in (0..64 * 1024).step_by(97) {
            match compile(&texts, &hub(), budget) {
                Ok((p, _)) => assert!(p.matches("https://e.com/b/1") && p.matches("https://e.com/b/1/x") && !p.matches("https://e.com/b/x"), "{budget}"),
                Err(refusal) => {
                    assert_eq!(refusal, Refused::Budget, "{budget}");
                    refused += 1;
                }
            }
        }
        assert!(refused > 0 && refused < 64 * 1024 / 97, "{refused}");
    }

    #[test]
    fn the_budget_is_shared_and_charged() {
        let one = vec!["https://example.com/books/:id(\\d+)".to_owned()];
        let Ok((_, left)) = compile(&one, &hub(), 1 << 20) else { panic!("one pattern fits") };
        let used = (1 << 20) - left;
        assert!(used > 0 && used < 64 * 1024, "{used}");
        let many: Vec<String> = (0..100).map(|i| format!("https://example.com/b{i}/:id(\\d+)/:x([a-z]+)")).collect();
        assert_eq!(compile(&many, &hub(), used * 10).err(), Some(Refused::Budget));
        // 100 ordinary patterns fit in the request's budget, with most of it left.
        let Ok((compiled, left)) = compile(&many, &hub(), 1 << 20) else { panic!("100 ordinary patterns fit") };
        assert!(compiled.len() == 100 && left > 512 * 1024, "{left}");
    }
}
