//! The `match` namespace of a Mercure 1.0 subscribe request: `match` and `match_exact` (an
//! exact topic), `match_urlpattern` (a URL pattern). Every other name whose first five letters
//! are `match` in any case (`Match`, `matchURLPattern`, `match_regexp`, `matches`) is refused
//! rather than ignored, so that a client asking for a matcher this hub does not have learns it
//! at once instead of receiving nothing. A value is a protocol string: UTF-8 without control
//! (C0, DEL, C1) or format (Cf) characters, which could hide what a subscriber asked for.

use crate::error::{Error, Result};

/// Longest matcher value, in bytes (as the Go hub).
pub const MAX_LEN: usize = 4096;

/// What a parameter of the namespace asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    Exact,
    UrlPattern,
}

impl Kind {
    /// The `match_type` of an active subscription (Mercure 1.0).
    pub fn match_type(self) -> &'static str {
        match self {
            Kind::Exact => "exact",
            Kind::UrlPattern => "urlpattern",
        }
    }
}

/// Whether `name` is in the `match` namespace (ASCII case-insensitive prefix).
pub fn in_namespace(name: &str) -> bool {
    name.len() >= 5 && name.as_bytes()[..5].eq_ignore_ascii_case(b"match")
}

/// The kind of a parameter of the namespace; an unknown name is an error naming it.
pub fn kind(name: &str) -> Result<Kind> {
    match name {
        "match" | "match_exact" => Ok(Kind::Exact),
        "match_urlpattern" => Ok(Kind::UrlPattern),
        other => Err(Error::invalid_argument(
            shown(other),
            format!("unknown matcher parameter \"{}\": the matchers are match, match_exact and match_urlpattern (names are case-sensitive)", shown(other)),
        )),
    }
}

/// Checks one matcher value given as the parameter `name`.
pub fn check_value(name: &str, value: &str) -> Result<()> {
    if value.is_empty() {
        return Err(Error::invalid_argument(name, format!("the \"{name}\" parameter is empty")));
    }
    if value.len() > MAX_LEN {
        return Err(Error::invalid_argument(name, format!("a \"{name}\" value is {} bytes long; the limit is {MAX_LEN}", value.len())));
    }
    if let Some((at, c)) = value.char_indices().find(|&(_, c)| c.is_control() || is_format(c)) {
        let what = if c.is_control() { "control" } else { "format" };
        return Err(Error::invalid_argument(name, format!("a \"{name}\" value contains the {what} character U+{:04X} at byte {at}", c as u32)));
    }
    Ok(())
}

/// Whether `c` is of the Unicode general category Cf (format: invisible characters such as
/// bidirectional marks and zero-width joiners), as of Unicode 16.
pub fn is_format(c: char) -> bool {
    matches!(
        c as u32,
        0xAD | 0x600..=0x605
            | 0x61C
            | 0x6DD
            | 0x70F
            | 0x890..=0x891
            | 0x8E2
            | 0x180E
            | 0x200B..=0x200F
            | 0x202A..=0x202E
            | 0x2060..=0x2064
            | 0x2066..=0x206F
            | 0xFEFF
            | 0xFFF9..=0xFFFB
            | 0x110BD
            | 0x110CD
            | 0x13430..=0x1343F
            | 0x1BCA0..=0x1BCA3
            | 0x1D173..=0x1D17A
            | 0xE0001
            | 0xE0020..=0xE007F
    )
}

/// A parameter name as a message shows it (shortened, escaped).
fn shown(name: &str) -> String {
    name.chars().take(40).collect::<String>().escape_debug().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_namespace_is_a_case_insensitive_prefix() {
        for name in ["match", "match_exact", "match_urlpattern", "Match", "MATCH_EXACT", "matchURLPattern", "match_regexp", "matches"] {
            assert!(in_namespace(name), "{name}");
        }
        for name in ["topic", "matc", "last_event_id", "mátch", "xmatch"] {
            assert!(!in_namespace(name), "{name}");
        }
    }

    #[test]
    fn only_three_names_are_matchers() {
        assert_eq!(kind("match").ok(), Some(Kind::Exact));
        assert_eq!(kind("match_exact").ok(), Some(Kind::Exact));
        assert_eq!(kind("match_urlpattern").ok(), Some(Kind::UrlPattern));
        for name in ["Match", "matchURLPattern", "match_regexp", "matches", "match_URLPattern", "match_exact "] {
            let message = kind(name).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(message.contains(&format!("unknown matcher parameter \"{}\"", name.escape_debug())), "{name}: {message}");
        }
    }

    #[test]
    fn values_are_protocol_strings() {
        assert!(check_value("match", "https://example.com/books/1").is_ok());
        assert!(check_value("match", "ünïcode topic").is_ok());
        for (value, expected) in [
            ("a\0b", "control character U+0000"),
            ("a\u{7f}", "control character U+007F"),
            ("a\u{85}", "control character U+0085"),
            ("a\u{200E}b", "format character U+200E"),
            ("\u{FEFF}a", "format character U+FEFF"),
            ("a\u{E0041}", "format character U+E0041"),
            ("", "is empty"),
        ] {
            let message = check_value("match", value).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(message.contains(expected) && message.contains("match"), "{value:?}: {message}");
        }
        assert!(check_value("match_urlpattern", &"a".repeat(MAX_LEN)).is_ok());
        let long = check_value("match_urlpattern", &"a".repeat(MAX_LEN + 1)).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(long.contains("4097 bytes long; the limit is 4096"), "{long}");
    }
}
