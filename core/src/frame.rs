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
use std::mem::MaybeUninit;
use wide::u8x16;

/// The fields of one event, validated. `None` means the field is left out of the frame.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Event {
    comment: Option<MultiLine>,
    event: Option<String>,
    id: Option<String>,
    retry: Option<u64>,
    data: Option<MultiLine>,
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
            return Err(Error::invalid_event(Field::Id, format!("contains a NUL byte at byte {at}; clients ignore such an id")));
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
        let milliseconds = parse_digits(value)
            .ok_or_else(|| Error::invalid_event(Field::Retry, format!("must be a non-negative integer of milliseconds, got {}", quote(value))))?;
        self.set_retry(milliseconds);
        Ok(())
    }

    /// The data; one `data:` line is written per line of the value.
    pub fn set_data(&mut self, value: &[u8]) -> Result<()> {
        self.set_data_str(utf8(Field::Data, value)?);
        Ok(())
    }

    /// Data already known to be UTF-8 (e.g. a PHP string PHP has marked as valid UTF-8).
    pub fn set_data_str(&mut self, value: &str) {
        self.data = Some(MultiLine::copy_of(value));
    }

    /// Data that is already known to be UTF-8 (e.g. JSON from PHP's encoder).
    pub fn set_data_string(&mut self, value: String) {
        self.data = Some(MultiLine::new(value));
    }

    /// A comment; every line of it is written as its own `: ` line.
    pub fn set_comment(&mut self, value: &[u8]) -> Result<()> {
        self.comment = Some(MultiLine::new(utf8(Field::Comment, value)?.to_owned()));
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
        self.data.as_ref().map(|d| d.text.as_str())
    }
    pub fn comment(&self) -> Option<&str> {
        self.comment.as_ref().map(|c| c.text.as_str())
    }

    /// The exact length of the wire frame, known without encoding it (the line counts of
    /// data and comment are taken when they are set).
    pub fn encoded_len(&self) -> usize {
        let line = |prefix: &[u8], v: &Option<String>| v.as_ref().map_or(0, |v| prefix.len() + v.len() + 1);
        self.comment.as_ref().map_or(0, |c| c.framed_len(COMMENT))
            + line(EVENT, &self.event)
            + line(ID, &self.id)
            + self.retry.map_or(0, |r| RETRY.len() + Digits::new(r).as_bytes().len() + 1)
            + self.data.as_ref().map_or(0, |d| d.framed_len(DATA))
            + 1
    }

    /// Appends the wire frame to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        out.reserve(self.encoded_len());
        self.write_head(out);
        if let Some(id) = &self.id {
            write_line(out, ID, id.as_bytes());
        }
        self.write_tail(out);
    }

    /// Writes the wire frame into `out`, which should be [`encoded_len`](Self::encoded_len)
    /// bytes long (e.g. a string PHP allocated and has not filled yet), in one pass. Returns the
    /// length written, after which `out[..len]` is initialised, or `None` when the frame does
    /// not fit (then `out` holds a partial frame that must not be used).
    pub fn encode_to_slice(&self, out: &mut [MaybeUninit<u8>]) -> Option<usize> {
        let mut sink = SliceSink { out, at: 0, overflow: false };
        self.write_head(&mut sink);
        if let Some(id) = &self.id {
            write_line(&mut sink, ID, id.as_bytes());
        }
        self.write_tail(&mut sink);
        (!sink.overflow).then_some(sink.at)
    }

    /// The wire frame of an event that has no id yet, and the offset where its `id:` line goes
    /// (after the comment and event lines). A broker stores this once and inserts each
    /// subscriber's copy of the id at delivery, in the place `encode` would have put it.
    pub fn encode_without_id(&self) -> (Vec<u8>, usize) {
        let mut out = Vec::with_capacity(self.encoded_len());
        self.write_head(&mut out);
        let slot = out.len();
        self.write_tail(&mut out);
        (out, slot)
    }

    /// The wire frame.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode_into(&mut out);
        out
    }

    /// The lines before the id: comment, then event type.
    fn write_head(&self, out: &mut impl Sink) {
        if let Some(comment) = &self.comment {
            comment.write(out, COMMENT);
        }
        if let Some(event) = &self.event {
            write_line(out, EVENT, event.as_bytes());
        }
    }

    /// The lines after the id, and the empty line that ends the event.
    fn write_tail(&self, out: &mut impl Sink) {
        if let Some(retry) = self.retry {
            write_line(out, RETRY, Digits::new(retry).as_bytes());
        }
        if let Some(data) = &self.data {
            data.write(out, DATA);
        }
        out.put(b"\n");
    }
}

const COMMENT: &[u8; 2] = b": ";
const EVENT: &[u8; 7] = b"event: ";
const ID: &[u8; 4] = b"id: ";
const RETRY: &[u8; 7] = b"retry: ";
const DATA: &[u8; 6] = b"data: ";

/// A value written as one prefixed line per line of it (data and comments). What its frame
/// takes is counted once, when it is set, so that a frame's length is known before it is
/// written: the lines, the bytes of their breaks, and whether any break has a CR.
#[derive(Clone, Debug, PartialEq, Eq)]
struct MultiLine {
    text: String,
    lines: usize,
    break_bytes: usize,
    has_cr: bool,
}

impl MultiLine {
    fn new(text: String) -> Self {
        let (lf, has_cr) = count_line_feeds(text.as_bytes());
        Self::counted(text, lf, has_cr)
    }

    /// A copy of `text`, its lines counted in the same pass as the copy (a large value is read
    /// once, not once to copy and once to count).
    fn copy_of(text: &str) -> Self {
        let mut copy = Vec::with_capacity(text.len());
        let counted = copy.spare_capacity_mut().get_mut(..text.len()).and_then(|to| copy_counting_line_feeds(text.as_bytes(), to));
        let Some((lf, has_cr)) = counted else {
            return Self::new(text.to_owned());
        };
        // SAFETY: copy_counting_line_feeds wrote all of the first text.len() bytes of the
        // capacity with the bytes of `text`.
        unsafe { copy.set_len(text.len()) };
        // SAFETY: the bytes are those of a str, whole, so valid UTF-8.
        Self::counted(unsafe { String::from_utf8_unchecked(copy) }, lf, has_cr)
    }

    fn counted(text: String, lf: usize, has_cr: bool) -> Self {
        let bytes = text.as_bytes();
        if !has_cr {
            return Self { lines: lf + 1, break_bytes: lf, has_cr, text };
        }
        // CRs are rare: they and the CRLF pairs are counted only when there is one at all.
        let cr = memchr::memchr_iter(b'\r', bytes).count();
        let crlf = memchr::memmem::find_iter(bytes, b"\r\n").count();
        Self { lines: lf + cr - crlf + 1, break_bytes: lf + cr, has_cr, text }
    }

    /// Its bytes in a frame: every line as `prefix`, the line and a line feed.
    fn framed_len(&self, prefix: &[u8]) -> usize {
        self.lines * (prefix.len() + 1) + self.text.len() - self.break_bytes
    }

    /// The prefix is an array so that its copy is a few inlined moves, not a call.
    fn write<const N: usize, S: Sink>(&self, out: &mut S, prefix: &[u8; N]) {
        let text = self.text.as_bytes();
        if self.has_cr {
            for line in Lines::new(text) {
                write_line(out, prefix, line);
            }
            return;
        }
        // Line feeds only (the common case): each line is copied with its own line feed, in
        // one copy, after its prefix. The line feeds are found 64 bytes at a time, as a bit
        // mask: with lines of tens of bytes, a memchr call per line costs more than the copy.
        let mut start = 0;
        let mut line = |out: &mut S, at: usize| {
            out.put(prefix);
            out.put_from(text, start, at + 1);
            start = at + 1;
        };
        let mut blocks = text.chunks_exact(64);
        for (n, block) in (&mut blocks).enumerate() {
            let mut mask = block.first_chunk::<64>().map_or(0, line_feeds);
            while mask != 0 {
                line(out, n * 64 + mask.trailing_zeros() as usize);
                mask &= mask - 1;
            }
        }
        let tail = text.len() - blocks.remainder().len();
        for at in memchr::memchr_iter(b'\n', blocks.remainder()) {
            line(out, tail + at);
        }
        write_line(out, prefix, text.get(start..).unwrap_or_default());
    }
}

/// The line feeds in `bytes`, and whether there is any CR, in one pass of 16-byte compares.
fn count_line_feeds(bytes: &[u8]) -> (usize, bool) {
    let mut tally = Tally::default();
    let (blocks, rest) = bytes.as_chunks::<64>();
    for block in blocks {
        tally.block(block);
    }
    tally.finish(rest)
}

/// [`count_line_feeds`], writing every byte to `to` in the same pass; `None` (nothing
/// written) unless `to` is exactly as long as `bytes`.
fn copy_counting_line_feeds(bytes: &[u8], to: &mut [MaybeUninit<u8>]) -> Option<(usize, bool)> {
    if to.len() != bytes.len() {
        return None;
    }
    let mut tally = Tally::default();
    let (blocks, rest) = bytes.as_chunks::<64>();
    let (to_blocks, to_rest) = to.as_chunks_mut::<64>();
    for (block, to) in blocks.iter().zip(to_blocks) {
        to.write_copy_of_slice(block);
        tally.block(block);
    }
    to_rest.write_copy_of_slice(rest);
    Some(tally.finish(rest))
}

/// Line feeds and CRs counted 64 bytes at a time: each lane of `lf` counts down by one per line
/// feed (a match is all ones, -1), at most 4 a block, and is added up before it can wrap, every
/// 63 blocks.
#[derive(Default)]
struct Tally {
    count: usize,
    blocks: u32,
    lf: u8x16,
    cr: u8x16,
}

impl Tally {
    #[inline]
    fn block(&mut self, block: &[u8; 64]) {
        for part in block.as_chunks::<16>().0 {
            let v = u8x16::new(*part);
            self.lf += v.cmp_eq(u8x16::splat(b'\n'));
            self.cr |= v.cmp_eq(u8x16::splat(b'\r'));
        }
        self.blocks += 1;
        if self.blocks == 63 {
            self.add_up();
        }
    }

    fn add_up(&mut self) {
        self.count += self.lf.to_array().iter().map(|&n| usize::from(n.wrapping_neg())).sum::<usize>();
        self.lf = u8x16::splat(0);
        self.blocks = 0;
    }

    fn finish(mut self, rest: &[u8]) -> (usize, bool) {
        self.add_up();
        let count = self.count + rest.iter().filter(|&&b| b == b'\n').count();
        (count, self.cr.any() || rest.contains(&b'\r'))
    }
}

/// Bit i set where `block[i]` is a line feed: four 16-byte compares and byte masks (SSE2 on
/// x86-64, NEON on arm64, plain code elsewhere, through `wide`).
#[inline]
fn line_feeds(block: &[u8; 64]) -> u64 {
    let lf = u8x16::splat(b'\n');
    let mut mask = 0;
    for (n, part) in block.chunks_exact(16).enumerate() {
        if let Some(part) = part.first_chunk::<16>() {
            // move_mask gives one bit per byte in its low 16 bits.
            let bits = u64::from(u8x16::new(*part).cmp_eq(lf).move_mask() as u16);
            mask |= bits << (16 * n);
        }
    }
    mask
}

/// Where a frame is written: a growing `Vec`, or a slice sized by [`Event::encoded_len`].
trait Sink {
    fn put(&mut self, bytes: &[u8]);

    /// `text[start..end]`, for a line of a data or comment value.
    #[inline]
    fn put_from(&mut self, text: &[u8], start: usize, end: usize) {
        self.put(text.get(start..end).unwrap_or_default());
    }
}

impl Sink for Vec<u8> {
    fn put(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
}

/// A slice filled from the front. A write past its end is dropped and remembered: a wrong
/// length shows as a refused frame, never as a panic.
struct SliceSink<'a> {
    out: &'a mut [MaybeUninit<u8>],
    at: usize,
    overflow: bool,
}

impl SliceSink<'_> {
    /// `N` bytes of `text` from `start` at the end of the frame, without moving the end;
    /// false when either side has fewer than `N` bytes there.
    #[inline(always)]
    fn put_block<const N: usize>(&mut self, text: &[u8], start: usize) -> bool {
        let from = text.get(start..).and_then(|t| t.first_chunk::<N>());
        let to = self.out.get_mut(self.at..).and_then(|o| o.first_chunk_mut::<N>());
        match (from, to) {
            (Some(from), Some(to)) => {
                to.write_copy_of_slice(from);
                true
            }
            _ => false,
        }
    }
}

impl Sink for SliceSink<'_> {
    #[inline]
    fn put(&mut self, bytes: &[u8]) {
        match self.out.get_mut(self.at..self.at + bytes.len()) {
            Some(to) => {
                to.write_copy_of_slice(bytes);
                self.at += bytes.len();
            }
            None => self.overflow = true,
        }
    }

    /// A line of up to 64 bytes is copied as a block of 16, 32 or 64 bytes of constant size,
    /// which the compiler writes as a few vector moves instead of a memcpy call per line: when
    /// both the value and the frame have room, the copy runs past the line's end, and what comes
    /// next in the frame is written over those bytes. Longer lines are one memcpy each.
    #[inline]
    fn put_from(&mut self, text: &[u8], start: usize, end: usize) {
        let len = end.saturating_sub(start);
        let copied = match len {
            0..=16 => self.put_block::<16>(text, start),
            17..=32 => self.put_block::<32>(text, start),
            33..=64 => self.put_block::<64>(text, start),
            _ => false,
        };
        if copied {
            self.at += len;
        } else {
            self.put(text.get(start..end).unwrap_or_default());
        }
    }
}

#[inline]
fn write_line(out: &mut impl Sink, prefix: &[u8], line: &[u8]) {
    out.put(prefix);
    out.put(line);
    out.put(b"\n");
}

/// The decimal digits of a number, on the stack.
struct Digits {
    buf: [u8; 20],
    start: usize,
}

impl Digits {
    fn new(mut n: u64) -> Self {
        let mut digits = Digits { buf: [b'0'; 20], start: 20 };
        loop {
            digits.start -= 1;
            digits.buf[digits.start] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                return digits;
            }
        }
    }

    fn as_bytes(&self) -> &[u8] {
        &self.buf[self.start..]
    }
}

/// A comment-only frame, as used for heartbeats: `: text` lines and the closing empty line.
pub fn comment_frame(text: &[u8]) -> Result<Vec<u8>> {
    let mut event = Event::new();
    event.set_comment(text)?;
    Ok(event.encode())
}

/// The value as text, or an error naming the first bad byte. simdutf8 checks at memory speed;
/// only a value it refuses is checked again by std, which says where the bad byte is.
fn utf8(field: Field, value: &[u8]) -> Result<&str> {
    simdutf8::basic::from_utf8(value)
        .or_else(|_| std::str::from_utf8(value))
        .map_err(|e| Error::invalid_event(field, format!("is not valid UTF-8 (bad byte at {}); the event stream format is UTF-8 only", e.valid_up_to())))
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
        assert_eq!(err.to_string(), "Invalid event field \"event\": contains a line feed (\\n) at byte 2; this field must be a single line");
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

    /// The frame as the spec's grammar reads it, built the plain way (one line at a time, no
    /// precomputed lengths): what the fast paths must agree with, byte for byte.
    fn reference_frame(event: &Event) -> Vec<u8> {
        let mut out = Vec::new();
        let mut line = |prefix: &str, value: &[u8]| {
            out.extend_from_slice(prefix.as_bytes());
            out.extend_from_slice(value);
            out.push(b'\n');
        };
        for l in event.comment().map(|c| Lines::new(c.as_bytes()).collect::<Vec<_>>()).unwrap_or_default() {
            line(": ", l);
        }
        if let Some(v) = event.event() {
            line("event: ", v.as_bytes());
        }
        if let Some(v) = event.id() {
            line("id: ", v.as_bytes());
        }
        if let Some(v) = event.retry() {
            line("retry: ", v.to_string().as_bytes());
        }
        for l in event.data().map(|d| Lines::new(d.as_bytes()).collect::<Vec<_>>()).unwrap_or_default() {
            line("data: ", l);
        }
        out.push(b'\n');
        out
    }

    /// The frame `encode_to_slice` writes into a slice of `room` bytes left uninitialised.
    fn encode_to_slice(event: &Event, room: usize) -> Option<Vec<u8>> {
        let mut out = Vec::with_capacity(room);
        let len = event.encode_to_slice(&mut out.spare_capacity_mut()[..room])?;
        // SAFETY: encode_to_slice initialised the first `len` bytes it returned.
        unsafe { out.set_len(len) };
        Some(out)
    }

    fn multiline() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        proptest::collection::vec(
            prop_oneof![4 => "[a-zé😀 ]{0,70}", 1 => Just("\n".to_owned()), 1 => Just("\r".to_owned()), 1 => Just("\r\n".to_owned())],
            0..30,
        )
        .prop_map(|parts| parts.concat())
    }

    proptest::proptest! {
        #[test]
        fn every_encoder_gives_the_reference_frame(
            comment in proptest::option::of(multiline()),
            kind in proptest::option::of("[a-z]{0,8}"),
            id in proptest::option::of("[0-9]{0,8}"),
            retry in proptest::option::of(proptest::prelude::any::<u64>()),
            data in proptest::option::of(multiline()),
        ) {
            let mut event = Event::new();
            if let Some(v) = &comment { event.set_comment(v.as_bytes()).expect("utf-8"); }
            if let Some(v) = &kind { event.set_event(v.as_bytes()).expect("one line"); }
            if let Some(v) = &id { event.set_id(v.as_bytes()).expect("one line"); }
            if let Some(v) = retry { event.set_retry(v); }
            if let Some(v) = &data { event.set_data(v.as_bytes()).expect("utf-8"); }
            let expected = reference_frame(&event);
            proptest::prop_assert_eq!(&event.encode(), &expected);
            proptest::prop_assert_eq!(event.encoded_len(), expected.len());
            proptest::prop_assert_eq!(encode_to_slice(&event, expected.len()), Some(expected.clone()));
            let (mut without_id, slot) = event.encode_without_id();
            if let Some(v) = &id { without_id.splice(slot..slot, format!("id: {v}\n").into_bytes()); }
            proptest::prop_assert_eq!(&without_id, &expected);
        }
    }

    #[test]
    fn a_slice_too_short_is_refused_not_overrun() {
        let mut event = Event::new();
        event.set_data(b"one\ntwo").expect("utf-8");
        let len = event.encoded_len();
        assert_eq!(encode_to_slice(&event, len - 1), None);
        assert_eq!(encode_to_slice(&event, len + 3).as_deref(), Some(&b"data: one\ndata: two\n\n"[..]));
    }

    #[test]
    fn large_data_frames_like_small() {
        let line = "0123456789abcdef".repeat(4);
        let data = vec![line.as_str(); 16 * 1024].join("\n");
        let mut event = Event::new();
        event.set_data(data.as_bytes()).expect("utf-8");
        let frame = event.encode();
        assert_eq!(frame.len(), event.encoded_len());
        assert_eq!(frame, reference_frame(&event));
        assert_eq!(frame.len(), 16 * 1024 * (6 + 64 + 1) + 1);
        // A bad byte deep in a large value is found, and where.
        let mut bad = data.into_bytes();
        bad[700_000] = 0xff;
        let err = Event::new().set_data(&bad).unwrap_err();
        assert!(err.to_string().contains("bad byte at 700000"), "{err}");
    }

    #[test]
    fn line_feeds_are_counted_past_what_a_lane_holds() {
        for len in [0, 15, 16, 17, 63, 64, 65, 63 * 64, 63 * 64 + 1, 255 * 16, 255 * 16 + 1, 3 * 255 * 16 + 7, 100_000] {
            let all = vec![b'\n'; len];
            assert_eq!(count_line_feeds(&all), (len, false), "{len}");
            let mut with_cr = all.clone();
            if let Some(last) = with_cr.last_mut() {
                *last = b'\r';
                assert_eq!(count_line_feeds(&with_cr), (len - 1, true), "{len}");
            }
            if len > 20 {
                with_cr = all.clone();
                with_cr[3] = b'\r';
                let mut copy = vec![MaybeUninit::new(0u8); len];
                assert_eq!(copy_counting_line_feeds(&with_cr, &mut copy), Some((len - 1, true)), "{len}");
                assert_eq!(copy_counting_line_feeds(&with_cr, &mut copy[1..]), None, "{len}");
                // SAFETY: MaybeUninit<u8> initialised above has the layout of u8.
                let copy: Vec<u8> = copy.iter().map(|b| unsafe { b.assume_init() }).collect();
                assert_eq!(copy, with_cr, "the copy made in the same pass, {len}");
            }
        }
    }

    #[test]
    fn retry_digits() {
        for n in [0, 7, 10, 999, 1000, u64::MAX] {
            assert_eq!(Digits::new(n).as_bytes(), n.to_string().as_bytes());
        }
    }

    #[test]
    fn lines_iterator() {
        let lines: Vec<&[u8]> = Lines::new(b"a\r\n\r\nb\r").collect();
        assert_eq!(lines, vec![&b"a"[..], b"", b"b", b""]);
    }
}
