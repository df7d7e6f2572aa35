//! The embedded broker's record format read from arbitrary bytes (a stored record faces
//! whatever is on disk): never a panic, never an allocation sized by a length field, and what
//! is accepted is exactly what encoding gives back. An accepted record is also read as a relay
//! log's (`relayed::decode`): never a panic, and an event it finds encodes back to the record.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sse_core::broker::relayed::{self, Relayed};
use sse_core::broker::stored::{claimed_len, decode_record, Record, MAX_FRAME};

fuzz_target!(|bytes: &[u8]| {
    let claimed = claimed_len(bytes);
    if let Some(len) = claimed {
        assert!(len <= MAX_FRAME + 64 * 1024 + 64 + 8, "a claimed length above the bound: {len}");
    }
    match decode_record(bytes) {
        Record::Event(event, len) => {
            assert_eq!(Some(len), claimed);
            assert!(len <= bytes.len());
            assert_eq!(event.encode_record(), bytes[..len], "a record that does not encode back to itself");
            match relayed::decode(&event) {
                Some(Relayed::Event(origin)) => {
                    let (frame, slot) = relayed::encode_event(&origin);
                    assert_eq!((&frame[..], slot), (&event.frame[..], event.id_slot), "a relayed event that does not encode back");
                    assert_eq!(origin.topics, event.topics);
                }
                Some(Relayed::Gap(position)) => assert_eq!(relayed::encode_gap(position), &event.frame[..]),
                None => {}
            }
        }
        Record::Incomplete => assert!(claimed.is_none_or(|len| len > bytes.len())),
        Record::Corrupt => {}
    }
});
