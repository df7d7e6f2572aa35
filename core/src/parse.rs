//! The client side: the WHATWG HTML "interpreting an event stream" algorithm.
//!
//! [`Parser::feed`] is incremental: a chunk may end anywhere, inside a multi-byte character,
//! between CR and LF, or in the middle of a field. Line breaks are ASCII, so the parser splits
//! bytes into lines first and decodes each complete line (with U+FFFD for invalid UTF-8, as a
//! browser does); a character cut by a chunk boundary is therefore always decoded whole.

use memchr::memchr2;

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// One dispatched event, as `EventSource` would deliver it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParsedEvent {
    /// The event type, `message` when the stream named none.
    pub event: String,
    pub data: String,
    /// The last event id in force when the event was dispatched.
    pub id: String,
}

#[derive(Debug, Default)]
pub struct Parser {
    /// Bytes of the line that has not ended yet.
    partial: Vec<u8>,
    /// The previous chunk ended with CR: an LF starting the next one belongs to that CR.
    after_cr: bool,
    /// Until three bytes have been seen, a BOM may still be arriving.
    bom_checked: bool,
    data: String,
    event_type: String,
    id_buffer: String,
    last_event_id: String,
    retry: Option<u64>,
}

impl Parser {
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses a whole stream at once.
    pub fn parse(stream: &[u8]) -> Vec<ParsedEvent> {
        let mut parser = Parser::new();
        let mut events = Vec::new();
        parser.feed(stream, &mut events);
        events
    }

    /// The last valid `retry` the stream gave, in milliseconds.
    pub fn retry(&self) -> Option<u64> {
        self.retry
    }

    /// The last event id string, as `EventSource.lastEventId` / the `Last-Event-ID` header.
    pub fn last_event_id(&self) -> &str {
        &self.last_event_id
    }

    /// Feeds a chunk and appends the events it completed to `events`.
    pub fn feed(&mut self, chunk: &[u8], events: &mut Vec<ParsedEvent>) {
        let mut input = chunk;
        if !self.bom_checked {
            // Hold the first bytes back until we know whether they are a BOM.
            self.partial.extend_from_slice(input);
            if self.partial.len() < BOM.len() && BOM.starts_with(&self.partial) {
                return;
            }
            self.bom_checked = true;
            let held = std::mem::take(&mut self.partial);
            let start = if held.starts_with(BOM) { BOM.len() } else { 0 };
            self.feed_lines(&held[start..], events);
            return;
        }
        if input.is_empty() {
            return;
        }
        if self.after_cr && input[0] == b'\n' {
            input = &input[1..];
        }
        self.after_cr = false;
        self.feed_lines(input, events);
    }

    fn feed_lines(&mut self, mut input: &[u8], events: &mut Vec<ParsedEvent>) {
        while let Some(at) = memchr2(b'\r', b'\n', input) {
            let line_end = at;
            let mut next = at + 1;
            if input[at] == b'\r' {
                match input.get(next) {
                    Some(b'\n') => next += 1,
                    None => self.after_cr = true,
                    Some(_) => {}
                }
            }
            if self.partial.is_empty() {
                self.process_line(&input[..line_end], events);
            } else {
                self.partial.extend_from_slice(&input[..line_end]);
                let line = std::mem::take(&mut self.partial);
                self.process_line(&line, events);
            }
            input = &input[next..];
        }
        self.partial.extend_from_slice(input);
    }

    fn process_line(&mut self, line: &[u8], events: &mut Vec<ParsedEvent>) {
        if line.is_empty() {
            self.dispatch(events);
            return;
        }
        if line[0] == b':' {
            return;
        }
        let (name, value) = match memchr::memchr(b':', line) {
            Some(colon) => {
                let value = &line[colon + 1..];
                (&line[..colon], value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (line, &b""[..]),
        };
        match name {
            b"event" => self.event_type = String::from_utf8_lossy(value).into_owned(),
            b"data" => {
                self.data.push_str(&String::from_utf8_lossy(value));
                self.data.push('\n');
            }
            // An id containing NUL is ignored, as the spec says.
            b"id" if !value.contains(&0) => self.id_buffer = String::from_utf8_lossy(value).into_owned(),
            b"retry" if !value.is_empty() && value.iter().all(u8::is_ascii_digit) => {
                // Digits beyond u64 are not a time anyone means; keep the previous value.
                if let Some(ms) = std::str::from_utf8(value).ok().and_then(|v| v.parse().ok()) {
                    self.retry = Some(ms);
                }
            }
            _ => {}
        }
    }

    fn dispatch(&mut self, events: &mut Vec<ParsedEvent>) {
        self.last_event_id.clone_from(&self.id_buffer);
        if self.data.is_empty() {
            self.event_type.clear();
            return;
        }
        let mut data = std::mem::take(&mut self.data);
        data.pop(); // the LF added after the last data line
        let event = std::mem::take(&mut self.event_type);
        events.push(ParsedEvent { event: if event.is_empty() { "message".to_owned() } else { event }, data, id: self.last_event_id.clone() });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(event: &str, data: &str, id: &str) -> ParsedEvent {
        ParsedEvent { event: event.into(), data: data.into(), id: id.into() }
    }

    #[test]
    fn whatwg_examples() {
        // The examples of the "Interpreting an event stream" section.
        assert_eq!(Parser::parse(b"data: YHOO\ndata: +2\ndata: 10\n\n"), vec![ev("message", "YHOO\n+2\n10", "")]);
        assert_eq!(
            Parser::parse(b": test stream\n\ndata: first event\nid: 1\n\ndata:second event\nid\n\ndata:  third event\n\n"),
            vec![ev("message", "first event", "1"), ev("message", "second event", ""), ev("message", " third event", "")]
        );
        assert_eq!(Parser::parse(b"data\n\ndata\ndata\n\ndata:"), vec![ev("message", "", ""), ev("message", "\n", "")]);
        assert_eq!(Parser::parse(b"data:test\n\ndata: test\n\n"), vec![ev("message", "test", ""), ev("message", "test", "")]);
    }

    #[test]
    fn bom_split_across_chunks_is_dropped_once() {
        let mut p = Parser::new();
        let mut out = Vec::new();
        for chunk in [&b"\xEF"[..], b"\xBB", b"\xBFdata: a\n\n\xEF\xBB\xBFdata: b\n\n"] {
            p.feed(chunk, &mut out);
        }
        assert_eq!(out, vec![ev("message", "a", "")]);
    }

    #[test]
    fn crlf_split_between_chunks_is_one_line_break() {
        let mut p = Parser::new();
        let mut out = Vec::new();
        for chunk in [&b"data: a\r"[..], b"\ndata: b\r", b"\n\r", b"\n"] {
            p.feed(chunk, &mut out);
        }
        assert_eq!(out, vec![ev("message", "a\nb", "")]);
    }

    #[test]
    fn multibyte_character_split_between_chunks() {
        let bytes = "data: é€😀\n\n".as_bytes();
        let mut p = Parser::new();
        let mut out = Vec::new();
        for b in bytes {
            p.feed(std::slice::from_ref(b), &mut out);
        }
        assert_eq!(out, vec![ev("message", "é€😀", "")]);
    }

    #[test]
    fn id_with_nul_and_bad_retry_are_ignored() {
        let mut p = Parser::new();
        let mut out = Vec::new();
        p.feed(b"retry: 1500\nid: 7\ndata: a\n\nid: x\0y\nretry: 1.5\nretry: soon\ndata: b\n\n", &mut out);
        assert_eq!(out, vec![ev("message", "a", "7"), ev("message", "b", "7")]);
        assert_eq!(p.retry(), Some(1500));
        assert_eq!(p.last_event_id(), "7");
    }

    #[test]
    fn unterminated_final_event_is_not_dispatched_and_unknown_fields_ignored() {
        assert_eq!(Parser::parse(b"foo: bar\nnocolon\nevent: x\ndata: a\n\ndata: b\n"), vec![ev("x", "a", "")]);
    }

    #[test]
    fn empty_id_resets_and_type_resets_after_dispatch() {
        assert_eq!(Parser::parse(b"id: 1\nevent: a\ndata: x\n\nid\ndata: y\n\n"), vec![ev("a", "x", "1"), ev("message", "y", "")]);
    }

    #[test]
    fn invalid_utf8_becomes_replacement_character() {
        assert_eq!(Parser::parse(b"data: a\xffb\n\n"), vec![ev("message", "a\u{fffd}b", "")]);
    }
}
