//! Incremental parsing: arbitrary bytes cut at arbitrary points give the same events, retry
//! and last event id as the whole stream parsed at once, and never panic.
#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use sse_core::Parser;

fuzz_target!(|bytes: &[u8]| {
    let mut u = Unstructured::new(bytes);
    // The first bytes choose the cut points (as offsets), the rest is the stream.
    let cuts: Vec<u8> = Vec::arbitrary(&mut u).unwrap_or_default();
    let stream = u.take_rest();

    let mut whole = Parser::new();
    let mut expected = Vec::new();
    whole.feed(stream, &mut expected);
    assert_eq!(expected, Parser::parse(stream));

    let mut parser = Parser::new();
    let mut got = Vec::new();
    let mut rest = stream;
    for cut in cuts {
        let at = usize::from(cut).min(rest.len());
        let (chunk, tail) = rest.split_at(at);
        parser.feed(chunk, &mut got);
        rest = tail;
    }
    parser.feed(rest, &mut got);
    assert_eq!(got, expected, "chunks of {stream:?}");
    assert_eq!(parser.retry(), whole.retry());
    assert_eq!(parser.last_event_id(), whole.last_event_id());

    // One byte at a time is the hardest split of all.
    let mut bytewise = Parser::new();
    let mut one_by_one = Vec::new();
    for b in stream {
        bytewise.feed(std::slice::from_ref(b), &mut one_by_one);
    }
    assert_eq!(one_by_one, expected, "byte by byte {stream:?}");
    assert_eq!(bytewise.last_event_id(), whole.last_event_id());
});
