//! The Mercure publish body (a request faces it whole): never a panic; what is accepted has
//! valid topics, passes the publish rules and frames into a frame that parses back to the
//! update's data.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sse_core::mercure::{form, rules, topic};
use sse_core::Parser;

fuzz_target!(|body: &[u8]| {
    let Ok(publish) = form::parse_publish(body) else { return };
    let update = publish.update;
    assert!(update.topics.iter().all(|t| topic::check(t).is_ok()));
    assert!(rules::check(&update.topics, update.id.as_deref(), update.event_type.as_deref()).is_ok());
    let Ok((frame, _)) = update.frame() else { panic!("an accepted update does not frame") };
    let events = Parser::parse(&frame);
    assert_eq!(events.len(), 1, "one update, one event: {frame:?}");
    // CR and CRLF in data are line breaks on the wire, read back as LF.
    assert_eq!(events[0].data, update.data.replace("\r\n", "\n").replace('\r', "\n"));
    assert_eq!(events[0].id, update.id.clone().unwrap_or_default());
});
