//! Helpers shared by the integration tests of `sse-server`: publishing, reading frames back,
//! FastCGI records, temporary directories.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod peer;
pub mod redis_server;
pub mod watched;

use sse_core::broker::EventId;
use sse_core::{Event, ParsedEvent, Parser};
use sse_server::broker::{Engine, Settings};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

pub fn topics(names: &[&str]) -> Vec<String> {
    names.iter().map(|name| (*name).to_owned()).collect()
}

/// Publishes an event whose data is `data` to `to`, with the default settings.
pub fn publish(engine: &dyn Engine, to: &[&str], data: &str) -> EventId {
    publish_with(engine, to, data, &Settings::default())
}

pub fn publish_with(engine: &dyn Engine, to: &[&str], data: &str, settings: &Settings) -> EventId {
    let mut event = Event::new();
    event.set_data_str(data);
    let (frame, slot) = event.encode_without_id();
    engine.publish(&topics(to), &frame, slot, settings).expect("publish")
}

/// The events a client would see in `bytes`.
pub fn parse(bytes: &[u8]) -> Vec<ParsedEvent> {
    Parser::parse(bytes)
}

/// The data of each event of type `message` in `bytes`.
pub fn data_of(bytes: &[u8]) -> Vec<String> {
    parse(bytes).into_iter().filter(|e| e.event == "message").map(|e| e.data).collect()
}

/// The data of a stored event, as a stream would write it.
pub fn data(event: &sse_core::broker::StoredEvent) -> String {
    let mut out = Vec::new();
    event.write_frame(&sse_core::broker::Epoch::parse("000000000000").unwrap(), &mut out);
    data_of(&out).concat()
}

/// One FastCGI record as the web server reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub kind: u8,
    pub request_id: u16,
    pub content: Vec<u8>,
}

pub const STDOUT: u8 = 6;
pub const END_REQUEST: u8 = 3;

/// Parses the complete records at the start of `bytes`; the rest (a record cut short) is left.
pub fn records(bytes: &[u8]) -> (Vec<Record>, usize) {
    let mut out = Vec::new();
    let mut at = 0;
    while bytes.len() >= at + 8 {
        let header = &bytes[at..at + 8];
        assert_eq!(header[0], 1, "FastCGI version at byte {at}");
        let length = u16::from_be_bytes([header[4], header[5]]) as usize;
        let padding = header[6] as usize;
        let end = at + 8 + length + padding;
        if bytes.len() < end {
            break;
        }
        out.push(Record { kind: header[1], request_id: u16::from_be_bytes([header[2], header[3]]), content: bytes[at + 8..at + 8 + length].to_vec() });
        at = end;
    }
    (out, at)
}

/// The body the STDOUT records of `bytes` carry, every record checked to be of `request_id`.
pub fn stdout_of(bytes: &[u8], request_id: u16) -> Vec<u8> {
    let (records, used) = records(bytes);
    assert_eq!(used, bytes.len(), "a record is cut short");
    let mut body = Vec::new();
    for record in records.iter().filter(|r| r.kind == STDOUT) {
        assert_eq!(record.request_id, request_id);
        body.extend_from_slice(&record.content);
    }
    body
}

/// Whether `bytes` end with the end of a response: an empty STDOUT record, then END_REQUEST
/// (request complete) of `request_id`.
pub fn ends_properly(bytes: &[u8], request_id: u16) -> bool {
    let (records, used) = records(bytes);
    let n = records.len();
    used == bytes.len()
        && n >= 2
        && records[n - 2] == Record { kind: STDOUT, request_id, content: Vec::new() }
        && records[n - 1].kind == END_REQUEST
        && records[n - 1].request_id == request_id
        && records[n - 1].content == [0, 0, 0, 0, 0, 0, 0, 0]
}

/// A directory removed when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(label: &str) -> TempDir {
        static COUNT: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        let path = std::env::temp_dir().join(format!("sse-server-{label}-{}-{}-{nanos}", std::process::id(), COUNT.fetch_add(1, Ordering::Relaxed)));
        std::fs::create_dir_all(&path).expect("create a temporary directory");
        TempDir(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
