//! What a Mercure topic (and a selector's text) may be: UTF-8 without control characters (C0,
//! DEL, C1: draft-dunglas-mercure-08 spells this out, and the broker refuses them too), not
//! empty, and not longer than a limit. Published topics are stored as broker topics (see
//! `update.rs`), so their limit is the broker's minus the prefix that marks them.

use crate::broker::topic as broker_topic;
use crate::error::{Error, Result};

/// What marks a broker topic as one of an update's own topics (see `update.rs`).
pub const TOPIC_PREFIX: &str = "mercure:";

/// Longest topic an update may have, in bytes: the broker's limit less the `mercure:` prefix.
pub const MAX_LEN: usize = broker_topic::MAX_LEN - TOPIC_PREFIX.len();

/// Most topics one update may have (the first is the canonical one, the others alternates).
pub const MAX_COUNT: usize = 32;

/// Checks one topic of an update.
pub fn check(text: &str) -> Result<()> {
    check_text("topic", text, MAX_LEN)
}

/// Checks the text of a topic or a selector, named `what` in the message.
pub fn check_text(what: &str, text: &str, max_len: usize) -> Result<()> {
    let shown: String = text.chars().take(40).collect::<String>().escape_debug().to_string();
    if text.is_empty() {
        return Err(Error::invalid_argument("topic", format!("a {what} is empty")));
    }
    if text.len() > max_len {
        return Err(Error::invalid_argument("topic", format!("the {what} \"{shown}…\" is {} bytes long; the limit is {max_len}", text.len())));
    }
    if let Some((at, c)) = text.char_indices().find(|(_, c)| c.is_control()) {
        return Err(Error::invalid_argument("topic", format!("the {what} \"{shown}\" contains the control character U+{:04X} at byte {at}", c as u32)));
    }
    Ok(())
}

/// Checks every topic of an update: at least one, at most [`MAX_COUNT`], duplicates dropped
/// (the first stays first: it is the canonical topic).
pub fn check_all(topics: Vec<String>) -> Result<Vec<String>> {
    let mut kept: Vec<String> = Vec::with_capacity(topics.len().min(MAX_COUNT));
    for topic in topics {
        check(&topic)?;
        if kept.contains(&topic) {
            continue;
        }
        if kept.len() == MAX_COUNT {
            return Err(Error::invalid_argument("topic", format!("more than {MAX_COUNT} topics in one update")));
        }
        kept.push(topic);
    }
    if kept.is_empty() {
        return Err(Error::invalid_argument("topic", "an update needs at least one topic"));
    }
    Ok(kept)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_what_a_topic_may_not_be() {
        let message = |t: &str| check(t).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(message("").contains("empty"));
        assert!(message(&"a".repeat(MAX_LEN + 1)).contains("the limit is 192"));
        assert!(message("a\u{7f}").contains("U+007F"));
        assert!(message("a\u{85}").contains("U+0085"));
        assert!(message("a\nb").contains("U+000A at byte 1"));
        assert!(message("https://example.com/books/1").is_empty());
        assert!(check(&"a".repeat(MAX_LEN)).is_ok());
    }

    #[test]
    fn lists_keep_the_canonical_topic_first_and_stop_at_the_limit() {
        let list = check_all(vec!["b".into(), "a".into(), "b".into()]);
        assert_eq!(list.ok(), Some(vec!["b".to_owned(), "a".to_owned()]));
        assert!(check_all(Vec::new()).is_err());
        let many: Vec<String> = (0..1000).map(|i| format!("t{i}")).collect();
        let message = check_all(many).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(message.contains("more than 32 topics"), "{message}");
    }
}
