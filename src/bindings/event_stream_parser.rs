//! `Sse\EventStreamParser`: the client side of an event stream, for tests and tools.

use ext_php_rs::binary_slice::BinarySlice;
use ext_php_rs::boxed::ZBox;
use ext_php_rs::flags::ClassFlags;
use ext_php_rs::prelude::*;
use ext_php_rs::types::ZendHashTable;
use sse_core::{ParsedEvent, Parser};

#[php_class]
#[php(name = "Sse\\EventStreamParser")]
#[php(flags = ClassFlags::Final)]
pub struct EventStreamParser {
    parser: Parser,
}

#[php_impl]
impl EventStreamParser {
    pub fn __construct() -> Self {
        Self { parser: Parser::new() }
    }

    /// Feeds a chunk and returns the events it completed.
    pub fn feed(&mut self, chunk: BinarySlice<u8>) -> ext_php_rs::error::Result<ZBox<ZendHashTable>> {
        let mut events = Vec::new();
        self.parser.feed(&chunk, &mut events);
        events_array(events)
    }

    /// Parses a whole stream.
    pub fn parse(stream: BinarySlice<u8>) -> ext_php_rs::error::Result<ZBox<ZendHashTable>> {
        events_array(Parser::parse(&stream))
    }

    pub fn retry(&self) -> Option<i64> {
        self.parser.retry().map(|r| i64::try_from(r).unwrap_or(i64::MAX))
    }

    pub fn last_event_id(&self) -> String {
        self.parser.last_event_id().to_owned()
    }
}

pub(crate) fn events_array(events: Vec<ParsedEvent>) -> ext_php_rs::error::Result<ZBox<ZendHashTable>> {
    let mut list = ZendHashTable::with_capacity(u32::try_from(events.len()).unwrap_or(u32::MAX));
    for e in events {
        let mut item = ZendHashTable::with_capacity(3);
        item.insert("event", e.event)?;
        item.insert("data", e.data)?;
        item.insert("id", e.id)?;
        list.push(item)?;
    }
    Ok(list)
}
