//! Encoder round trip: any event the setters accept encodes to a frame that the parser reads
//! back as the same event (line breaks in data arriving as LF), with the same id and retry.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use sse_core::{Event, Parser};

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    comment: Option<&'a [u8]>,
    event: Option<&'a [u8]>,
    id: Option<&'a [u8]>,
    retry: Option<u64>,
    retry_text: Option<&'a [u8]>,
    data: Option<&'a [u8]>,
    /// Where the frame is cut for an incremental parse as well.
    split: u16,
}

/// What the spec's parser makes of data lines: CRLF, CR and LF all become LF.
fn normalized(value: &str) -> String {
    value.replace("\r\n", "\n").replace('\r', "\n")
}

fuzz_target!(|input: Input| {
    let mut event = Event::new();
    // A refused value must leave the field as it was (here: unset).
    if let Some(v) = input.comment {
        if event.set_comment(v).is_err() {
            assert!(event.comment().is_none());
        }
    }
    if let Some(v) = input.event {
        if event.set_event(v).is_err() {
            assert!(event.event().is_none());
        }
    }
    if let Some(v) = input.id {
        if event.set_id(v).is_err() {
            assert!(event.id().is_none());
        }
    }
    if let Some(ms) = input.retry {
        event.set_retry(ms);
    }
    if let Some(v) = input.retry_text {
        let before = event.retry();
        if event.set_retry_text(v).is_err() {
            assert_eq!(event.retry(), before);
        }
    }
    if let Some(v) = input.data {
        if event.set_data(v).is_err() {
            assert!(event.data().is_none());
        }
    }

    let frame = event.encode();
    assert!(frame.ends_with(b"\n"), "a frame ends with the empty line");
    let parsed = Parser::parse(&frame);

    // The same frame cut in two gives the same result.
    let cut = usize::from(input.split) % (frame.len() + 1);
    let mut parser = Parser::new();
    let mut pieces = Vec::new();
    parser.feed(&frame[..cut], &mut pieces);
    parser.feed(&frame[cut..], &mut pieces);
    assert_eq!(pieces, parsed);
    assert_eq!(parser.retry(), event.retry(), "retry");
    assert_eq!(parser.last_event_id(), event.id().unwrap_or(""), "last event id");

    match event.data() {
        None => assert!(parsed.is_empty(), "no data, no event: {parsed:?}"),
        Some(data) => {
            assert_eq!(parsed.len(), 1, "one frame, one event: {frame:?} -> {parsed:?}");
            let got = &parsed[0];
            assert_eq!(got.data, normalized(data), "data");
            let expected_type = match event.event() {
                None | Some("") => "message",
                Some(name) => name,
            };
            assert_eq!(got.event, expected_type, "event type");
            assert_eq!(got.id, event.id().unwrap_or(""), "id");
        }
    }
});
