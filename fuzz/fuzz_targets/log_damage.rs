//! The embedded broker's log under appends, reads and damage chosen by the fuzzer: flipped
//! bytes, deleted and truncated segments, a `head` of arbitrary bytes or forged with a valid
//! checksum, a publisher reopening the directory. Every read returns (libFuzzer's -timeout
//! catches a loop without progress), allocates within -malloc_limit_mb, and a reader never
//! goes back: the positions it returns only increase.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use sse_core::broker::local_log::LocalLog;
use sse_core::broker::{History, Position};
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Arbitrary, Debug)]
enum Step {
    Append { size: u16 },
    Read { max: u8 },
    Resume { after: u16, max: u8 },
    Flip { segment: u8, offset: u32, bit: u8 },
    Truncate { segment: u8, len: u32 },
    Delete { segment: u8 },
    Head([u8; 28]),
    ForgeHead { next_seq: u64, segment: u64, end: u64 },
    Reopen,
}

fn segments(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join("segments")).map(|d| d.flatten().map(|e| e.path()).collect()).unwrap_or_default();
    files.sort();
    files
}

fuzz_target!(|steps: Vec<Step>| {
    let dir = std::env::temp_dir().join(format!("sse-fuzz-log-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let Ok(mut log) = LocalLog::open(&dir) else { return };
    // 16 events a segment, so that a few dozen appends make several.
    let history = History { max_events: 64, max_age: Duration::from_secs(3600) };
    let mut reader = log.follow(Position::ZERO);
    let mut last_read = 0u64;
    for step in steps.into_iter().take(200) {
        match step {
            Step::Append { size } => {
                let frame = vec![b'x'; usize::from(size % 4096)];
                let _ = log.append(&["t".to_owned()], &frame, 0, &history);
            }
            Step::Read { max } => {
                if let Ok(batch) = reader.read(usize::from(max).max(1), &history) {
                    for event in &batch.events {
                        assert!(event.position.major > last_read, "a reader went back: {} after {last_read}", event.position.major);
                        last_read = event.position.major;
                    }
                }
            }
            Step::Resume { after, max } => {
                if let Ok(batch) = log.read_after(Position::seq(u64::from(after)), usize::from(max).max(1), &history) {
                    let mut previous = u64::from(after);
                    for event in &batch.events {
                        assert!(event.position.major > previous);
                        previous = event.position.major;
                    }
                }
            }
            Step::Flip { segment, offset, bit } => {
                let files = segments(&dir);
                if let Some(path) = files.get(usize::from(segment) % files.len().max(1)) {
                    if let Ok(mut bytes) = std::fs::read(path) {
                        if !bytes.is_empty() {
                            let at = offset as usize % bytes.len();
                            bytes[at] ^= 1 << (bit % 8);
                            let _ = std::fs::write(path, bytes);
                        }
                    }
                }
            }
            Step::Truncate { segment, len } => {
                let files = segments(&dir);
                if let Some(path) = files.get(usize::from(segment) % files.len().max(1)) {
                    let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
                    if let Ok(file) = std::fs::OpenOptions::new().write(true).open(path) {
                        let _ = file.set_len(u64::from(len) % (size + 1));
                    }
                }
            }
            Step::Delete { segment } => {
                let files = segments(&dir);
                if let Some(path) = files.get(usize::from(segment) % files.len().max(1)) {
                    let _ = std::fs::remove_file(path);
                }
            }
            Step::Head(bytes) => {
                let _ = std::fs::write(dir.join("head"), bytes);
            }
            Step::ForgeHead { next_seq, segment, end } => {
                let mut bytes = Vec::with_capacity(28);
                bytes.extend_from_slice(&next_seq.to_le_bytes());
                bytes.extend_from_slice(&segment.to_le_bytes());
                bytes.extend_from_slice(&end.to_le_bytes());
                let crc = crc32fast::hash(&bytes);
                bytes.extend_from_slice(&crc.to_le_bytes());
                let _ = std::fs::write(dir.join("head"), bytes);
            }
            Step::Reopen => {
                if let Ok(again) = LocalLog::open(&dir) {
                    log = again;
                }
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
});
