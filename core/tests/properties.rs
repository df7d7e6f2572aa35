//! Properties of the framing and the parser, over generated input.

use proptest::prelude::*;
use sse_core::{Event, ParsedEvent, Parser};

/// Text for single-line fields: any Unicode but CR, LF (and NUL, for ids).
fn one_line() -> impl Strategy<Value = String> {
    proptest::collection::vec(any::<char>().prop_filter("no line breaks or NUL", |c| !matches!(c, '\r' | '\n' | '\0')), 0..20)
        .prop_map(|chars| chars.into_iter().collect())
}

/// Data: any Unicode, with every kind of line break mixed in.
fn data() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            4 => any::<char>().prop_map(String::from),
            1 => Just("\n".to_owned()),
            1 => Just("\r".to_owned()),
            1 => Just("\r\n".to_owned()),
        ],
        0..40,
    )
    .prop_map(|parts| parts.concat())
}

/// What a client must see for data: each line break becomes LF.
fn normalized(data: &str) -> String {
    data.replace("\r\n", "\n").replace('\r', "\n")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn parse_of_encode_gives_the_event_back(
        event_type in proptest::option::of(one_line()),
        id in one_line(),
        retry in proptest::option::of(0u64..10_000_000),
        comment in proptest::option::of(data()),
        payload in data(),
    ) {
        let mut event = Event::new();
        if let Some(t) = &event_type { event.set_event(t.as_bytes()).expect("one-line type"); }
        event.set_id(id.as_bytes()).expect("one-line id");
        if let Some(ms) = retry { event.set_retry(ms); }
        if let Some(c) = &comment { event.set_comment(c.as_bytes()).expect("utf-8 comment"); }
        event.set_data(payload.as_bytes()).expect("utf-8 data");

        let mut parser = Parser::new();
        let mut parsed = Vec::new();
        parser.feed(&event.encode(), &mut parsed);
        // A parser drops one leading BOM at the start of a stream; an event never starts with
        // one because the comment, type, id or data prefix comes first.
        let expected_type = match event_type.as_deref() { Some("") | None => "message".to_owned(), Some(t) => t.to_owned() };
        prop_assert_eq!(parsed, vec![ParsedEvent { event: expected_type, data: normalized(&payload), id }]);
        prop_assert_eq!(parser.retry(), retry);
    }

    #[test]
    fn encoder_returns_a_frame_or_an_error_for_any_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        let mut event = Event::new();
        let results = [event.set_event(&bytes), event.set_id(&bytes), event.set_data(&bytes), event.set_comment(&bytes), event.set_retry_text(&bytes)];
        let frame = event.encode();
        prop_assert!(frame.ends_with(b"\n"));
        // Whatever was accepted frames into one event at most: no field can start another.
        let parsed = Parser::parse(&frame);
        prop_assert!(parsed.len() <= 1, "{:?} -> {:?} ({:?})", bytes, parsed, results);
    }

    #[test]
    fn parser_gives_the_same_events_however_the_stream_is_split(
        stream in proptest::collection::vec(prop_oneof![any::<u8>(), Just(b'\n'), Just(b'\r'), Just(b':')], 0..200),
        cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..8),
    ) {
        let whole = Parser::parse(&stream);
        let mut points: Vec<usize> = cuts.iter().map(|i| i.index(stream.len() + 1)).collect();
        points.sort_unstable();
        let mut parser = Parser::new();
        let mut pieces = Vec::new();
        let mut from = 0;
        for to in points.into_iter().chain([stream.len()]) {
            parser.feed(&stream[from..to], &mut pieces);
            from = to;
        }
        prop_assert_eq!(whole, pieces);
    }
}
