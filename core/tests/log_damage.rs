//! The embedded broker's log when its storage is damaged or was not written by the broker:
//! deleted, truncated and corrupt segments, a `head` that names what is not there, absurd
//! sequence numbers, links and directories where files belong. Every read must make progress
//! or return; what can be read is read, and what is lost shows as a gap.

use sse_core::broker::local_log::{LocalLog, Reader, MAX_SEQ};
use sse_core::broker::{Batch, History, Position};
use sse_core::Event;
use std::path::{Path, PathBuf};
use std::time::Duration;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sse-core-damage-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn open(dir: &Path) -> LocalLog {
    LocalLog::open(dir).unwrap_or_else(|e| panic!("open failed: {e}"))
}

fn publish(log: &LocalLog, data: &str, history: &History) -> u64 {
    let mut event = Event::new();
    assert!(event.set_data(data.as_bytes()).is_ok());
    let (frame, slot) = event.encode_without_id();
    log.append(&["t".to_owned()], &frame, slot, history).unwrap_or_else(|e| panic!("publish failed: {e}")).major
}

/// 1,000 events kept, so a segment holds 125 of them.
fn history() -> History {
    History { max_events: 1000, max_age: Duration::from_secs(3600) }
}

fn segment(dir: &Path, start: u64) -> PathBuf {
    dir.join("segments").join(format!("{start:020}.log"))
}

/// Reads until nothing more comes: the sequence numbers read, whether a gap was seen, and the
/// damage reported. Fails if the reader does not settle (a loop without progress).
fn drain(reader: &mut Reader, history: &History) -> (Vec<u64>, bool, Vec<String>) {
    let (mut seqs, mut gap, mut damage) = (Vec::new(), false, Vec::new());
    for _ in 0..1000 {
        let batch: Batch = reader.read(100, history).unwrap_or_else(|e| panic!("read failed: {e}"));
        if batch.gap {
            // Events a batch carries with a gap come after it.
            gap = true;
            seqs.push(0);
        }
        damage.extend(batch.damage);
        if batch.events.is_empty() && !batch.gap {
            return (seqs, gap, damage);
        }
        seqs.extend(batch.events.iter().map(|e| e.position.major));
    }
    panic!("the reader never settled after 1,000 reads");
}

fn range(from: u64, to: u64) -> Vec<u64> {
    (from..=to).collect()
}

#[test]
fn a_deleted_middle_segment_ends_the_read_with_a_gap_and_the_log_goes_on() {
    let dir = scratch("deleted");
    let log = open(&dir);
    let history = history();
    for i in 0..400 {
        publish(&log, &format!("e{i}"), &history);
    }
    assert!(std::fs::remove_file(segment(&dir, 126)).is_ok());
    let mut reader = log.follow(Position::ZERO);
    let (seqs, gap, damage) = drain(&mut reader, &history);
    // The first segment whole, then the gap (0), then from the segment after the hole.
    let mut expected = range(1, 125);
    expected.push(0);
    expected.extend(range(251, 400));
    assert_eq!(seqs, expected);
    assert!(gap && damage.iter().any(|d| d.contains("126 to 250")), "{damage:?}");
    // A resume from before the hole: the events it can, then the gap.
    let batch = log.read_after(Position::seq(100), 500, &history).unwrap_or_else(|e| panic!("{e}"));
    assert!(!batch.gap);
    assert_eq!(batch.events.iter().map(|e| e.position.major).collect::<Vec<_>>(), range(101, 125));
    let batch = log.read_after(Position::seq(125), 500, &history).unwrap_or_else(|e| panic!("{e}"));
    assert!(batch.gap && batch.events.first().map(|e| e.position.major) == Some(251));
    // New events are published and read as usual.
    publish(&log, "after", &history);
    assert_eq!(drain(&mut reader, &history).0, vec![401]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_flipped_byte_in_a_finished_segment_loses_only_what_follows_it_there() {
    let dir = scratch("flipped");
    let log = open(&dir);
    let history = history();
    for i in 0..300 {
        publish(&log, &format!("e{i}"), &history);
    }
    let path = segment(&dir, 1);
    let mut bytes = std::fs::read(&path).unwrap_or_default();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x20;
    assert!(std::fs::write(&path, &bytes).is_ok());
    let (seqs, gap, damage) = drain(&mut log.follow(Position::ZERO), &history);
    let before: Vec<u64> = seqs.iter().copied().take_while(|&s| s != 0).collect();
    assert!(gap && !before.is_empty() && before.len() < 125, "{seqs:?}");
    assert_eq!(before, range(1, before.len() as u64));
    assert_eq!(seqs[before.len() + 1..], range(126, 300)[..]);
    assert!(damage.iter().any(|d| d.contains("00000000000000000001.log")), "{damage:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_corrupt_newest_segment_is_skipped_to_the_end_head_names() {
    let dir = scratch("corrupt-newest");
    let log = open(&dir);
    let history = history();
    for i in 0..50 {
        publish(&log, &format!("e{i}"), &history);
    }
    let mut reader = log.follow(Position::ZERO);
    let path = segment(&dir, 1);
    let mut bytes = std::fs::read(&path).unwrap_or_default();
    bytes[10] ^= 0x01;
    assert!(std::fs::write(&path, &bytes).is_ok());
    let (seqs, gap, _) = drain(&mut reader, &history);
    assert!(gap && seqs == vec![0], "{seqs:?}");
    publish(&log, "after", &history);
    assert_eq!(drain(&mut reader, &history).0, vec![51]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_truncated_newest_segment_makes_the_next_publish_start_a_new_one() {
    let dir = scratch("truncated");
    let log = open(&dir);
    let history = history();
    for i in 0..50 {
        publish(&log, &format!("e{i}"), &history);
    }
    let mut reader = log.follow(Position::seq(10));
    let path = segment(&dir, 1);
    let len = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    assert!(std::fs::OpenOptions::new().write(true).open(&path).and_then(|f| f.set_len(len / 2)).is_ok());
    // What is left is read; the cut is a gap up to what head says.
    let (seqs, gap, _) = drain(&mut reader, &history);
    assert!(gap && seqs.first() == Some(&11) && seqs.last() == Some(&0), "{seqs:?}");
    // A publisher sees the segment is shorter than head says and starts a new one.
    assert_eq!(publish(&log, "after", &history), 51);
    assert!(segment(&dir, 51).exists());
    assert!(log.take_damage().iter().any(|d| d.contains("00000000000000000001.log")));
    assert_eq!(drain(&mut reader, &history).0, vec![51]);
    // A deleted newest segment likewise.
    assert!(std::fs::remove_file(segment(&dir, 51)).is_ok());
    assert_eq!(publish(&open(&dir), "again", &history), 52);
    let (seqs, _, _) = drain(&mut log.follow(Position::seq(50)), &history);
    assert_eq!(seqs, vec![0, 52]);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A head with the given fields and a valid checksum (see `Head::encode`).
fn forge_head(dir: &Path, next_seq: u64, segment: u64, end: u64) {
    let mut bytes = Vec::new();
    bytes.extend_from_slice(&next_seq.to_le_bytes());
    bytes.extend_from_slice(&segment.to_le_bytes());
    bytes.extend_from_slice(&end.to_le_bytes());
    let crc = crc32fast::hash(&bytes);
    bytes.extend_from_slice(&crc.to_le_bytes());
    assert!(std::fs::write(dir.join("head"), bytes).is_ok());
}

#[test]
fn a_head_naming_a_later_segment_than_the_files_hold_does_not_hang_a_reader() {
    let dir = scratch("head-later");
    let log = open(&dir);
    let history = history();
    for i in 0..200 {
        publish(&log, &format!("e{i}"), &history);
    }
    forge_head(&dir, 900_000, 800_000, 0);
    let mut reader = log.follow(Position::ZERO);
    let (seqs, _, _) = drain(&mut reader, &history);
    assert_eq!(seqs, range(1, 200));
    assert_eq!(publish(&log, "after", &history), 900_000);
    let (seqs, gap, _) = drain(&mut reader, &history);
    assert!(gap && seqs == vec![0, 900_000], "{seqs:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_huge_end_in_head_sizes_no_allocation() {
    let dir = scratch("head-huge");
    let log = open(&dir);
    let history = history();
    for i in 0..20 {
        publish(&log, &format!("e{i}"), &history);
    }
    // 2^47 bytes claimed written in the newest segment: read in chunks, never allocated.
    forge_head(&dir, 21, 1, 1 << 47);
    let (seqs, gap, damage) = drain(&mut log.follow(Position::ZERO), &history);
    assert_eq!(seqs, range(1, 20));
    // Head's next number is 21: nothing was lost, but the file is not what head says.
    assert!(!gap && !damage.is_empty());
    // Beyond the bound a head is not believed at all, and the log's own records count.
    forge_head(&dir, 21, 1, u64::MAX);
    assert_eq!(publish(&log, "after", &history), 21);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn catching_up_reads_what_it_returns_not_the_rest_of_the_segment() {
    let dir = scratch("memory");
    let log = open(&dir);
    let history = History { max_events: 10_000, max_age: Duration::from_secs(3600) };
    let big = "x".repeat(100 * 1024);
    for _ in 0..200 {
        publish(&log, &big, &history);
    }
    // 20 MB in one segment: one event read costs about one event. The peak is what counts
    // (a large buffer is given back to the kernel when freed): Linux resets the process's
    // peak resident size on "5" written to clear_refs.
    let peak = || {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let kb = status.lines().find_map(|l| l.strip_prefix("VmHWM:")).and_then(|v| v.trim().trim_end_matches(" kB").trim().parse::<u64>().ok());
        kb.unwrap_or(0) * 1024
    };
    let resident = || std::fs::read_to_string("/proc/self/statm").ok().and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok()).unwrap_or(0) * 4096;
    assert!(std::fs::write("/proc/self/clear_refs", "5").is_ok());
    let before = resident();
    for _ in 0..5 {
        let batch = log.read_after(Position::ZERO, 1, &history).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(batch.events.len(), 1);
    }
    let grown = peak().saturating_sub(before);
    assert!(grown < 8 << 20, "reading one event took the process's peak {grown} bytes higher");
    // A read asked for everything stops at its byte budget and says so.
    let batch = log.read_after(Position::ZERO, 10_000, &history).unwrap_or_else(|e| panic!("{e}"));
    assert!(batch.truncated && batch.events.len() < 200 && !batch.events.is_empty());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_full_sequence_space_refuses_publishes_instead_of_wrapping() {
    let dir = scratch("full");
    let log = open(&dir);
    let history = history();
    publish(&log, "first", &history);
    assert!(std::fs::File::create(segment(&dir, MAX_SEQ - 1)).is_ok());
    forge_head(&dir, MAX_SEQ - 1, MAX_SEQ - 1, 0);
    let error = log.append(&["t".to_owned()], b"data: x\n\n", 0, &history).err().map(|e| e.to_string()).unwrap_or_default();
    assert!(error.contains("used up"), "{error}");
    assert_eq!(log.last_position().ok(), Some(Position::seq(MAX_SEQ - 2)));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn files_the_broker_did_not_write_are_refused_with_their_path() {
    type Plant = fn(&Path);
    let cases: [(&str, Plant); 6] = [
        ("epoch-dangling", |dir| assert!(std::os::unix::fs::symlink(dir.join("nowhere"), dir.join("epoch")).is_ok())),
        ("epoch-directory", |dir| assert!(std::fs::create_dir(dir.join("epoch")).is_ok())),
        ("head-link", |dir| assert!(std::os::unix::fs::symlink("/etc/passwd", dir.join("head")).is_ok())),
        ("segment-link", |dir| {
            assert!(std::fs::create_dir_all(dir.join("segments")).is_ok());
            assert!(std::os::unix::fs::symlink("/etc/passwd", segment(dir, 1)).is_ok());
        }),
        ("segment-directory", |dir| assert!(std::fs::create_dir_all(segment(dir, 7)).is_ok())),
        ("segment-name", |dir| {
            assert!(std::fs::create_dir_all(dir.join("segments")).is_ok());
            assert!(std::fs::write(dir.join("segments").join("18446744073709551615.log"), b"").is_ok());
        }),
    ];
    for (name, plant) in cases {
        let dir = scratch(name);
        assert!(std::fs::create_dir_all(&dir).is_ok());
        plant(&dir);
        let error = LocalLog::open(&dir).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(error.contains(&dir.display().to_string()) && error.contains("not a file the broker wrote"), "{name}: {error}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[test]
fn an_epoch_that_stays_wrong_and_cannot_be_replaced_is_an_error() {
    let dir = scratch("epoch-stuck");
    assert!(std::fs::create_dir_all(&dir).is_ok());
    assert!(std::fs::write(dir.join("epoch"), b"not an epoch").is_ok());
    // Replaced when it can be.
    let log = open(&dir);
    assert_eq!(log.epoch().as_str().len(), 12);
    let _ = std::fs::remove_dir_all(&dir);
}
