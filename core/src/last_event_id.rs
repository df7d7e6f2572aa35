//! The `Last-Event-ID` a reconnecting client sends is untrusted input: it comes from the
//! request, so anyone can put anything in it. It is accepted only if it could have been an id
//! this library framed (UTF-8, one line, no NUL) and is not absurdly long.

/// Longest id accepted from a client, in bytes.
pub const MAX_LEN: usize = 1024;

/// The id when it is acceptable, otherwise `None`.
pub fn accept(raw: &[u8]) -> Option<&str> {
    if raw.is_empty() || raw.len() > MAX_LEN || crate::frame::has_line_break_or_nul(raw) {
        return None;
    }
    std::str::from_utf8(raw).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_plain_ids_and_refuses_the_rest() {
        assert_eq!(accept(b"42"), Some("42"));
        assert_eq!(accept("é-1".as_bytes()), Some("é-1"));
        assert_eq!(accept(b""), None);
        assert_eq!(accept(b"1\n2"), None);
        assert_eq!(accept(b"1\r"), None);
        assert_eq!(accept(b"1\0"), None);
        assert_eq!(accept(b"\xff"), None);
        assert_eq!(accept(&[b'a'; MAX_LEN]), Some("a".repeat(MAX_LEN).as_str()));
        assert_eq!(accept(&[b'a'; MAX_LEN + 1]), None);
    }
}
