//! The embedded broker's log, on a real directory, with real processes: several publishers at
//! once, publishers killed in the middle of a write, history limits, hostile directories.
//!
//! Publisher processes are this test binary run again with `SSE_TEST_PUBLISHER` set (see
//! `publisher_process`), so what they run is exactly the library under test.

use sse_core::broker::local_log::{LocalLog, Reader};
use sse_core::broker::{History, Position};
use sse_core::Event;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sse-core-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn frame(data: &str) -> (Vec<u8>, usize) {
    let mut event = Event::new();
    assert!(event.set_event(b"update").is_ok());
    assert!(event.set_data(data.as_bytes()).is_ok());
    event.encode_without_id()
}

fn publish(log: &LocalLog, topic: &str, data: &str, history: &History) -> Position {
    let (bytes, slot) = frame(data);
    match log.append(&[topic.to_owned()], &bytes, slot, history) {
        Ok(position) => position,
        Err(e) => panic!("publish failed: {e}"),
    }
}

fn open(dir: &Path) -> LocalLog {
    match LocalLog::open(dir) {
        Ok(log) => log,
        Err(e) => panic!("open failed: {e}"),
    }
}

/// Every event in the log, oldest first, with its data line.
fn everything(log: &LocalLog, history: &History) -> Vec<(u64, String)> {
    let mut out = Vec::new();
    let mut reader = log.follow(Position::ZERO);
    loop {
        let batch = match reader.read(1000, history) {
            Ok(batch) => batch,
            Err(e) => panic!("read failed: {e}"),
        };
        if batch.events.is_empty() {
            return out;
        }
        for event in batch.events {
            let text = String::from_utf8_lossy(&event.frame).to_string();
            let data = text.lines().find_map(|l| l.strip_prefix("data: ")).unwrap_or_default().to_owned();
            out.push((event.position.major, data));
        }
    }
}

#[test]
fn publishes_in_order_and_reads_after_any_position() {
    let dir = scratch("order");
    let log = open(&dir);
    let history = History::default();
    let positions: Vec<u64> = (0..50).map(|i| publish(&log, "t", &format!("e{i}"), &history).major).collect();
    assert_eq!(positions, (1..=50).collect::<Vec<_>>());
    assert_eq!(log.last_position().ok(), Some(Position::seq(50)));
    let batch = log.read_after(Position::seq(47), 10, &history);
    let seqs: Vec<u64> = batch.iter().flat_map(|b| b.events.iter().map(|e| e.position.major)).collect();
    assert_eq!(seqs, vec![48, 49, 50]);
    assert!(batch.is_ok_and(|b| !b.gap));
    // A second handle (another process would do the same) sees the same log and epoch.
    let again = open(&dir);
    assert_eq!(again.epoch(), log.epoch());
    assert_eq!(publish(&again, "t", "e50", &history).major, 51);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn history_is_bounded_by_count_and_readers_behind_it_see_a_gap() {
    let dir = scratch("count");
    let log = open(&dir);
    let history = History { max_events: 64, max_age: Duration::from_secs(3600) };
    for i in 0..1000 {
        publish(&log, "t", &format!("e{i}"), &history);
    }
    let kept = everything(&log, &history);
    assert!(kept.len() >= 64 && kept.len() <= 64 + 64 / 8 + 16, "kept {}", kept.len());
    assert_eq!(kept.last().map(|e| e.0), Some(1000));
    let segments = std::fs::read_dir(dir.join("segments")).map(|d| d.count()).unwrap_or(0);
    assert!(segments <= 64 / 16 + 2, "{segments} segments left");
    let old = log.read_after(Position::seq(10), 10, &history);
    assert!(old.as_ref().is_ok_and(|b| b.gap), "a reader far behind is told it missed events");
    let recent = log.read_after(Position::seq(990), 100, &history);
    assert!(recent.as_ref().is_ok_and(|b| !b.gap && b.events.len() == 10));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn events_older_than_the_age_limit_are_not_replayed() {
    let dir = scratch("age");
    let log = open(&dir);
    let keep = History::default();
    publish(&log, "t", "old", &keep);
    std::thread::sleep(Duration::from_millis(30));
    let short = History { max_events: 100, max_age: Duration::from_millis(20) };
    publish(&log, "t", "new", &short);
    let batch = log.read_after(Position::ZERO, 10, &short);
    assert!(batch.as_ref().is_ok_and(|b| b.gap && b.events.len() == 1 && b.events[0].position.major == 2));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_torn_record_is_never_read_and_is_cut_off_by_the_next_publish() {
    let dir = scratch("torn");
    let log = open(&dir);
    let history = History::default();
    publish(&log, "t", "whole", &history);
    // What a publisher killed mid-write leaves: the first half of a record past the end.
    let segment = dir.join("segments").join(format!("{:020}.log", 1));
    let (bytes, slot) = frame("torn");
    let record =
        sse_core::broker::StoredEvent { position: Position::seq(2), time_ms: 1, topics: vec!["t".to_owned()].into(), frame: bytes.into(), id_slot: slot }
            .encode_record();
    let mut file = match std::fs::OpenOptions::new().append(true).open(&segment) {
        Ok(file) => file,
        Err(e) => panic!("{e}"),
    };
    assert!(std::io::Write::write_all(&mut file, &record[..record.len() / 2]).is_ok());
    assert_eq!(everything(&log, &history), vec![(1, "whole".to_owned())]);
    // A fresh handle, as a new process would have.
    let next = open(&dir);
    assert_eq!(publish(&next, "t", "after", &history).major, 2);
    assert_eq!(everything(&log, &history), vec![(1, "whole".to_owned()), (2, "after".to_owned())]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_record_written_whole_but_missing_from_head_is_kept() {
    let dir = scratch("adopt");
    let log = open(&dir);
    let history = History::default();
    publish(&log, "t", "one", &history);
    let head = std::fs::read(dir.join("head")).unwrap_or_default();
    publish(&log, "t", "two", &history);
    // The publisher of "two" died after its record, before its head write.
    assert!(std::fs::write(dir.join("head"), &head).is_ok());
    let next = open(&dir);
    assert_eq!(publish(&next, "t", "three", &history).major, 3);
    let data: Vec<String> = everything(&log, &history).into_iter().map(|e| e.1).collect();
    assert_eq!(data, vec!["one", "two", "three"]);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Not a test of its own: the body of a publisher process (see the module comment). Publishes
/// `SSE_TEST_COUNT` events and prints each position once `append` has returned.
#[test]
fn publisher_process() {
    let Ok(dir) = std::env::var("SSE_TEST_PUBLISHER") else { return };
    let count: usize = std::env::var("SSE_TEST_COUNT").ok().and_then(|c| c.parse().ok()).unwrap_or(100);
    let name = std::env::var("SSE_TEST_NAME").unwrap_or_default();
    let max_events = std::env::var("SSE_TEST_HISTORY").ok().and_then(|c| c.parse().ok()).unwrap_or(200);
    let history = History { max_events, max_age: Duration::from_secs(3600) };
    let log = open(Path::new(&dir));
    for i in 0..count {
        let position = publish(&log, "t", &format!("{name}-{i}"), &history);
        println!("published {name}-{i} {}", position.major);
    }
}

fn spawn_publisher(dir: &Path, name: &str, count: usize, history: u64) -> Child {
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(e) => panic!("{e}"),
    };
    match Command::new(exe)
        .args(["publisher_process", "--exact", "--nocapture", "--test-threads=1", "--quiet"])
        .env("SSE_TEST_PUBLISHER", dir)
        .env("SSE_TEST_COUNT", count.to_string())
        .env("SSE_TEST_NAME", name)
        .env("SSE_TEST_HISTORY", history.to_string())
        .stdout(Stdio::piped())
        .spawn()
    {
        Ok(child) => child,
        Err(e) => panic!("{e}"),
    }
}

fn acknowledged(child: Child) -> Vec<String> {
    let output = match child.wait_with_output() {
        Ok(output) => output,
        Err(e) => panic!("{e}"),
    };
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|l| l.strip_prefix("published "))
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .collect()
}

#[test]
fn concurrent_publishers_in_several_processes_lose_and_repeat_nothing() {
    let dir = scratch("concurrent");
    let log = open(&dir);
    let history = History { max_events: 200, max_age: Duration::from_secs(3600) };
    let children: Vec<Child> = (0..4).map(|p| spawn_publisher(&dir, &format!("p{p}"), 150, 200)).collect();
    let mut sent = HashSet::new();
    for child in children {
        sent.extend(acknowledged(child));
    }
    assert_eq!(sent.len(), 600);
    assert_eq!(log.last_position().ok(), Some(Position::seq(600)));
    // History keeps the newest ~200: every kept event is one that was sent, each once, and the
    // sequence has no hole.
    let kept = everything(&log, &history);
    assert!(kept.len() >= 200);
    let seqs: Vec<u64> = kept.iter().map(|e| e.0).collect();
    let first = seqs[0];
    assert_eq!(seqs, (first..=600).collect::<Vec<_>>());
    let unique: HashSet<&String> = kept.iter().map(|e| &e.1).collect();
    assert_eq!(unique.len(), kept.len());
    assert!(kept.iter().all(|e| sent.contains(&e.1)));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn publishers_killed_mid_write_never_corrupt_the_log() {
    let dir = scratch("killed");
    let log = open(&dir);
    let history = History { max_events: 100_000, max_age: Duration::from_secs(3600) };
    let mut acknowledged_events = HashSet::new();
    for round in 0..12u64 {
        let child = spawn_publisher(&dir, &format!("k{round}"), 1_000_000, 100_000);
        // Kill at a different moment each round, while it is appending flat out.
        std::thread::sleep(Duration::from_millis(15 + round * 7));
        // SAFETY: kill(2) on a child process this test started and has not yet reaped.
        unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
        acknowledged_events.extend(acknowledged(child));
    }
    // A publisher after the carnage, then the whole log read back.
    let survivor = spawn_publisher(&dir, "survivor", 10, 100_000);
    acknowledged_events.extend(acknowledged(survivor));
    let kept = everything(&log, &history);
    let seqs: Vec<u64> = kept.iter().map(|e| e.0).collect();
    assert_eq!(seqs, (1..=kept.len() as u64).collect::<Vec<_>>(), "sequence numbers without holes");
    let data: HashSet<&String> = kept.iter().map(|e| &e.1).collect();
    assert_eq!(data.len(), kept.len(), "no event twice");
    for event in &acknowledged_events {
        assert!(data.contains(event), "{event} was acknowledged but is not in the log");
    }
    assert!(kept.iter().any(|e| e.1 == "survivor-9"));
    // At most one unacknowledged event per killed publisher (written whole, killed before it
    // could print).
    assert!(kept.len() <= acknowledged_events.len() + 12);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn unusable_directories_are_refused_with_the_path_and_the_reason() {
    let relative = LocalLog::open(Path::new("relative/dir")).err().map(|e| e.to_string()).unwrap_or_default();
    assert!(relative.contains("must be absolute"), "{relative}");
    let file = scratch("file");
    assert!(std::fs::write(&file, b"x").is_ok());
    let below_file = file.join("broker");
    let message = LocalLog::open(&below_file).err().map(|e| e.to_string()).unwrap_or_default();
    assert!(message.contains(&below_file.display().to_string()) && message.contains("cannot create the directory"), "{message}");
    let _ = std::fs::remove_file(&file);
}

#[test]
fn files_get_the_documented_modes_whatever_the_umask() {
    use std::os::unix::fs::PermissionsExt;
    let dir = scratch("modes");
    // SAFETY: umask only changes this process's file-creation mask.
    let previous = unsafe { libc::umask(0o077) };
    let log = open(&dir);
    publish(&log, "t", "x", &History::default());
    // SAFETY: as above, restoring it.
    unsafe { libc::umask(previous) };
    let mode = |p: PathBuf| std::fs::metadata(p).map(|m| m.permissions().mode() & 0o7777).unwrap_or(0);
    assert_eq!(mode(dir.clone()), 0o2770);
    assert_eq!(mode(dir.join("head")), 0o660);
    assert_eq!(mode(dir.join("epoch")), 0o660);
    assert_eq!(mode(dir.join("segments").join(format!("{:020}.log", 1))), 0o660);
    let _ = std::fs::remove_dir_all(&dir);
}

/// What one read of a following reader returns: the sequence numbers, in order.
fn next_positions(reader: &mut Reader, history: &History) -> Vec<u64> {
    match reader.read(1000, history) {
        Ok(batch) => batch.events.iter().map(|e| e.position.major).collect(),
        Err(e) => panic!("read failed: {e}"),
    }
}

#[test]
fn a_reader_following_from_the_newest_event_starts_at_the_end_of_the_log() {
    let dir = scratch("follow-end");
    let log = open(&dir);
    let history = History::default();
    for i in 0..20 {
        publish(&log, "t", &format!("old{i}"), &history);
    }
    let newest = log.last_position().unwrap_or(Position::ZERO);
    let mut from_end = log.follow(newest);
    let mut from_older = log.follow(Position::seq(18));
    // The records before the end are not read again: spoil them, and only the end is read.
    let segment = dir.join("segments").join(format!("{:020}.log", 1));
    let mut bytes = std::fs::read(&segment).unwrap_or_default();
    let spoiled = bytes.len() / 2;
    bytes[..spoiled].fill(0);
    std::fs::write(&segment, &bytes).unwrap_or_else(|e| panic!("cannot write the segment: {e}"));
    publish(&log, "t", "new", &history);
    assert_eq!(next_positions(&mut from_end, &history), vec![21]);
    assert_eq!(next_positions(&mut from_end, &history), Vec::<u64>::new());
    // From an older event the reader scans its segment from the start, and stops at the
    // spoiled records: the check that the reader from the end did not read them.
    assert_eq!(next_positions(&mut from_older, &history), Vec::<u64>::new());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_follower_reads_up_to_the_end_head_names_across_segments() {
    let dir = scratch("follow-head");
    let log = open(&dir);
    // 16 events a segment: 100 publishes roll it six times.
    let history = History { max_events: 128, max_age: Duration::from_secs(3600) };
    let mut reader = log.follow(Position::ZERO);
    let read = |reader: &mut Reader| next_positions(reader, &history);
    let mut got = Vec::new();
    for i in 1..=100u64 {
        publish(&log, "t", &format!("e{i}"), &history);
        // Sometimes after each publish, sometimes after a few (across a roll).
        if i % 3 != 0 {
            got.extend(read(&mut reader));
        }
    }
    got.extend(read(&mut reader));
    assert_eq!(got, (1..=100).collect::<Vec<_>>());
    // A whole record that head does not name yet (its publisher died before the head write)
    // is read once the next publisher adopts it, in its place.
    let head = std::fs::read(dir.join("head")).unwrap_or_default();
    publish(&log, "t", "unnamed", &history);
    assert!(std::fs::write(dir.join("head"), &head).is_ok());
    assert_eq!(read(&mut reader), Vec::<u64>::new());
    publish(&open(&dir), "t", "adopter", &history);
    assert_eq!(read(&mut reader), vec![101, 102]);
    // An unreadable head (caught mid-rewrite): the segment's own size bounds the read.
    publish(&log, "t", "before a torn head", &history);
    assert!(std::fs::write(dir.join("head"), b"torn").is_ok());
    assert_eq!(read(&mut reader), vec![103]);
    let _ = std::fs::remove_dir_all(&dir);
}
