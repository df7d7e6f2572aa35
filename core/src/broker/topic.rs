//! Topic names. Only server-side code chooses topics, but names are often built from request
//! data (`"order.$id"`), so they are checked like untrusted input: UTF-8, no control
//! characters (which would let a name smuggle line breaks into logs and keys), not empty, and
//! at most [`MAX_LEN`] bytes.

use crate::error::{Error, Result};

/// Longest topic name, in bytes.
pub const MAX_LEN: usize = 200;

/// Most topics one event may be published to, or one stream may subscribe to.
pub const MAX_TOPICS: usize = 100;

/// The name when it is a valid topic.
pub fn check(raw: &[u8]) -> Result<&str> {
    let refuse = |reason: String| Err(Error::invalid_argument("topics", reason));
    let shown = String::from_utf8_lossy(&raw[..raw.len().min(40)]).escape_debug().to_string();
    if raw.is_empty() {
        return refuse("a topic name is empty".into());
    }
    if raw.len() > MAX_LEN {
        return refuse(format!("topic \"{shown}…\" is {} bytes long; the limit is {MAX_LEN}", raw.len()));
    }
    let Ok(name) = std::str::from_utf8(raw) else {
        return refuse(format!("topic \"{shown}\" is not valid UTF-8"));
    };
    if let Some((at, c)) = name.char_indices().find(|(_, c)| c.is_control()) {
        return refuse(format!("topic \"{shown}\" contains the control character U+{:04X} at byte {at}", c as u32));
    }
    Ok(name)
}

/// Checks a list of names, refusing an empty or too long list; duplicates are dropped.
pub fn check_all<'a>(names: impl IntoIterator<Item = &'a [u8]>) -> Result<Vec<String>> {
    let mut topics: Vec<String> = Vec::new();
    for raw in names {
        let name = check(raw)?;
        if !topics.iter().any(|t| t == name) {
            topics.push(name.to_owned());
        }
        if topics.len() > MAX_TOPICS {
            return Err(Error::invalid_argument("topics", format!("more than {MAX_TOPICS} topics")));
        }
    }
    if topics.is_empty() {
        return Err(Error::invalid_argument("topics", "no topic given"));
    }
    Ok(topics)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_names() {
        assert_eq!(check(b"orders").ok(), Some("orders"));
        assert_eq!(check("chat.room-7/é 🙂".as_bytes()).ok(), Some("chat.room-7/é 🙂"));
        assert!(check(&[b'a'; MAX_LEN]).is_ok());
    }

    #[test]
    fn refuses_hostile_names_with_a_reason() {
        let message = |raw: &[u8]| check(raw).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(message(b"").contains("empty"));
        assert!(message(&[b'a'; MAX_LEN + 1]).contains("201 bytes long"));
        assert!(message(b"a\xff").contains("not valid UTF-8"));
        assert!(message(b"a\nb").contains("U+000A at byte 1"));
        assert!(message(b"a\0").contains("U+0000"));
        assert!(message("a\u{85}".as_bytes()).contains("U+0085"));
        assert!(message(b"x").is_empty());
    }

    #[test]
    fn lists_drop_duplicates_and_refuse_empty_or_huge_lists() {
        let names: Vec<&[u8]> = vec![b"a", b"b", b"a"];
        assert_eq!(check_all(names).ok(), Some(vec!["a".to_owned(), "b".to_owned()]));
        assert!(check_all(Vec::<&[u8]>::new()).is_err());
        let many: Vec<String> = (0..=MAX_TOPICS).map(|i| format!("t{i}")).collect();
        assert!(check_all(many.iter().map(|s| s.as_bytes())).is_err());
    }
}
