//! One event and its wire frame.
//!
//! An [`Event`] can only hold values that frame safely: every setter validates, so encoding
//! cannot fail and a frame is never half-written. The byte layout is Workerman's, so frames are
//! interchangeable with its `ServerSentEvents`: comment, event, id, retry, then data, each line
//! as `field: value` with one space, then one empty line. Unlike Workerman, multi-line data and
//! comments are split on every line break the spec knows (CRLF, CR, LF) so that no value can
//! start a field or an event of its own.

use crate::error::{Error, Field, Result};
use memchr::{memchr2, memchr3};

/// The fields of one event, validated. `None` means the field is left out of the frame.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Event {
    comment: Option<String>,
    event: Option<String>,
    id: Option<String>,
    retry: Option<u64>,
    data: Option<String>,
}

impl Event {
    pub fn new() -> Self {
        Self::default()
    }

    /// The event type (`event:` line). It must be one line.
    pub fn set_event(&mut self, value: &[u8]) -> Result<()> {
        let text = utf8(Field::Event, value)?;
        reject_line_break(Field::Event, value)?;
        self.event = Some(text.to_owned());
        Ok(())
    }

    /// The event id (`id:` line). One line, no NUL (clients ignore an id containing NUL).
    /// An empty id is kept: it resets the client's last event id.
    pub fn set_id(&mut self, value: &[u8]) -> Result<()> {
        let text = utf8(Field::Id, value)?;
        reject_line_break(Field::Id, value)?;
        if let Some(at) = memchr::memchr(0, value) {
            return Err(Error::invalid_event(
                Field::Id,
                format!("contains a NUL byte at byte {at}; clients ignore such an id"),
            ));
        }
        self.id = Some(text.to_owned());
        Ok(())
    }

    /// The reconnection time in milliseconds.
    pub fn set_retry(&mut self, milliseconds: u64) {
        self.retry = Some(milliseconds);
    }

    /// The reconnection time given as text: ASCII digits only, as the spec reads it.
    pub fn set_retry_text(&mut self, value: &[u8]) -> Result<()> {
        let milliseconds = parse_digits(value).ok_or_else(|| {
            Error::invalid_event(
                Field::Retry,
                format!("must be a non-negative integer of milliseconds, got {}", quote(value)),
            )
        })?;
        self.set_retry(milliseconds);
        Ok(())
    }

    /// The data; one `data:` line is written per line of the value.
    pub fn set_data(&mut self, value: &[u8]) -> Result<()> {
        self.data = Some(utf8(Field::Data, value)?.to_owned());
        Ok(())
    }

    /// Data that is already known to be UTF-8 (e.g. JSON from PHP's encoder).
    pub fn set_data_string(&mut self, value: String) {
        self.data = Some(value);
    }

    /// A comment; every line of it is written as its own `: ` line.
    pub fn set_comment(&mut self, value: &[u8]) -> Result<()> {
        self.comment = Some(utf8(Field::Comment, value)?.to_owned());
        Ok(())
    }

    pub fn event(&self) -> Option<&str> {
        self.event.as_deref()
    }
    pub fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }
    pub fn retry(&self) -> Option<u64> {
        self.retry
    }
    pub fn data(&self) -> Option<&str> {
        self.data.as_deref()
    }
    pub fn comment(&self) -> Option<&str> {
        self.comment.as_deref()
    }

    /// Appends the wire frame to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        out.reserve(self.encoded_len_hint());
        if let Some(comment) = &self.comment {
            for line in Lines::new(comment.as_bytes()) {
                push_line(out, b": ", line);
            }
        }
        if let Some(event) = &self.event {
            push_line(out, b"event: ", event.as_bytes());
        }
        if let Some(id) = &self.id {
            push_line(out, b"id: ", id.as_bytes());
        }
        if let Some(retry) = self.retry {
            out.extend_from_slice(b"retry: ");
            out.extend_from_slice(retry.to_string().as_bytes());
            out.push(b'\n');
        }
        if let Some(data) = &self.data {
            for line in Lines::new(data.as_bytes()) {
                push_line(out, b"data: ", line);
            }
        }
        out.push(b'\n');
    }

    /// The wire frame of an event that has no id yet, and the offset where its `id:` line goes
    /// (after the comment and event lines). A broker stores this once and inserts each
    /// subscriber's copy of the id at delivery, in the place `encode` would have put it.
    pub fn encode_without_id(&self) -> (Vec<u8>, usize) {
        let mut head = Event { comment: self.comment.clone(), event: self.event.clone(), ..Event::default() };
        let mut out = Vec::new();
        head.encode_into(&mut out);
        out.pop(); // the empty line that ends an event
        let slot = out.len();
        head = Event { retry: self.retry, data: self.data.clone(), ..Event::default() };
        head.encode_into(&mut out);
        (out, slot)
    }

    /// The wire frame.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode_into(&mut out);
        out
    }

    /// Enough for a single-line event; multi-line values grow the buffer once more at most.
    fn encoded_len_hint(&self) -> usize {
        let len = |v: &Option<String>| v.as_ref().map_or(0, |s| s.len() + 8);
        len(&self.comment) + len(&self.event) + len(&self.id) + len(&self.data) + 32
    }
}

/// A comment-only frame, as used for heartbeats: `: text` lines and the closing empty line.
pub fn comment_frame(text: &[u8]) -> Result<Vec<u8>> {
    let mut event = Event::new();
    event.set_comment(text)?;
    Ok(event.encode())
}

fn push_line(out: &mut Vec<u8>, prefix: &[u8], line: &[u8]) {
    out.extend_from_slice(prefix);
    out.extend_from_slice(line);
    out.push(b'\n');
}

fn utf8(field: Field, value: &[u8]) -> Result<&str> {
    std::str::from_utf8(value).map_err(|e| {
        Error::invalid_event(
            field,
            format!("is not valid UTF-8 (bad byte at {}); the event stream format is UTF-8 only", e.valid_up_to()),
        )
    })
}

fn reject_line_break(field: Field, value: &[u8]) -> Result<()> {
    match memchr2(b'\r', b'\n', value) {
        None => Ok(()),
        Some(at) => {
            let which = if value[at] == b'\n' { "a line feed (\\n)" } else { "a carriage return (\\r)" };
            Err(Error::invalid_event(field, format!("contains {which} at byte {at}; this field must be a single line")))
        }
    }
}

fn parse_digits(value: &[u8]) -> Option<u64> {
    if value.is_empty() || !value.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(value).ok()?.parse().ok()
}

/// A short, printable rendering of user input for error messages.
pub(crate) fn quote(value: &[u8]) -> String {
    const MAX: usize = 40;
    let shown = &value[..value.len().min(MAX)];
    let mut text = format!("{:?}", String::from_utf8_lossy(shown));
    if value.len() > MAX {
        text.push_str("...");
    }
    text
}

/// The lines of a value, split on CRLF, CR and LF only (not on U+2028, NEL, VT or FF, which
/// the spec does not treat as line breaks). A value always has at least one line, possibly
/// empty, and a trailing line break yields a trailing empty line.
pub struct Lines<'a> {
    rest: Option<&'a [u8]>,
}

impl<'a> Lines<'a> {
    pub fn new(value: &'a [u8]) -> Self {
        Self { rest: Some(value) }
    }
}

impl<'a> Iterator for Lines<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let rest = self.rest?;
        match memchr2(b'\r', b'\n', rest) {
            None => {
                self.rest = None;
                Some(rest)
            }
            Some(at) => {
                let skip = if rest[at] == b'\r' && rest.get(at + 1) == Some(&b'\n') { 2 } else { 1 };
                self.rest = Some(&rest[at + skip..]);
                Some(&rest[..at])
            }
        }
    }
}

/// True when the bytes contain CR, LF or NUL (used for header names and values).
pub fn has_line_break_or_nul(value: &[u8]) -> bool {
    memchr3(b'\r', b'\n', 0, value).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(build: impl FnOnce(&mut Event) -> Result<()>) -> String {
        let mut event = Event::new();
        build(&mut event).expect("valid event");
        String::from_utf8(event.encode()).expect("utf-8 frame")
    }

    #[test]
    fn workerman_order_and_format() {
        let out = frame(|e| {
            e.set_event(b"ping")?;
            e.set_data(b"some thing")?;
            e.set_id(b"1000")?;
            e.set_retry(5000);
            Ok(())
        });
        assert_eq!(out, "event: ping\nid: 1000\nretry: 5000\ndata: some thing\n\n");
    }

    #[test]
    fn comment_comes_first_and_every_line_is_prefixed() {
        let out = frame(|e| {
            e.set_data(b"x")?;
            e.set_comment(b"one\ntwo\r\nthree\rfour")
        });
        assert_eq!(out, ": one\n: two\n: three\n: four\ndata: x\n\n");
    }

    #[test]
    fn data_is_split_on_crlf_cr_and_lf_only() {
        let out = frame(|e| e.set_data("a\r\nb\rc\nd\u{2028}e\u{85}f\x0bg\x0ch".as_bytes()));
        assert_eq!(out, "data: a\ndata: b\ndata: c\ndata: d\u{2028}e\u{85}f\x0bg\x0ch\n\n");
    }

    #[test]
    fn empty_values_are_values() {
        assert_eq!(frame(|e| e.set_data(b"")), "data: \n\n");
        assert_eq!(frame(|e| e.set_id(b"")), "id: \n\n");
        assert_eq!(frame(|e| e.set_comment(b"")), ": \n\n");
        assert_eq!(frame(|e| e.set_data(b"0")), "data: 0\n\n");
        assert_eq!(frame(|_| Ok(())), "\n");
    }

    #[test]
    fn trailing_and_blank_lines_in_data_are_kept() {
        assert_eq!(frame(|e| e.set_data(b"a\n\nb\n")), "data: a\ndata: \ndata: b\ndata: \n\n");
    }

    #[test]
    fn injection_through_data_stays_data() {
        let out = frame(|e| e.set_data(b"ok\n\nevent: evil\ndata: x"));
        assert_eq!(out, "data: ok\ndata: \ndata: event: evil\ndata: data: x\n\n");
    }

    #[test]
    fn line_breaks_in_single_line_fields_are_refused() {
        let mut e = Event::new();
        let err = e.set_event(b"up\ndata: x").unwrap_err();
        assert_eq!(
            err.to_string(),
            "Invalid event field \"event\": contains a line feed (\\n) at byte 2; this field must be a single line"
        );
        assert!(e.set_id(b"1\r").is_err());
        assert!(e.event().is_none() && e.id().is_none(), "nothing is kept from a refused value");
    }

    #[test]
    fn nul_in_id_is_refused() {
        let err = Event::new().set_id(b"a\0b").unwrap_err();
        assert!(err.to_string().contains("NUL byte at byte 1"), "{err}");
    }

    #[test]
    fn invalid_utf8_is_refused_in_every_field() {
        let bad = b"ok\xff";
        let mut e = Event::new();
        for result in [e.set_event(bad), e.set_id(bad), e.set_data(bad), e.set_comment(bad)] {
            let err = result.unwrap_err();
            assert!(err.to_string().contains("not valid UTF-8 (bad byte at 2)"), "{err}");
        }
    }

    #[test]
    fn retry_text_must_be_digits() {
        let mut e = Event::new();
        for bad in [&b"-1"[..], b"1.5", b"soon", b"100\ndata: x", b"", b" 1", b"99999999999999999999999"] {
            assert!(e.set_retry_text(bad).is_err(), "{bad:?}");
        }
        e.set_retry_text(b"0750").expect("digits");
        assert_eq!(e.retry(), Some(750));
    }

    #[test]
    fn lines_iterator() {
        let lines: Vec<&[u8]> = Lines::new(b"a\r\n\r\nb\r").collect();
        assert_eq!(lines, vec![&b"a"[..], b"", b"b", b""]);
    }
}
