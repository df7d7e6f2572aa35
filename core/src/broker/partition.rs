//! How the Redis broker spreads topics over its streams: [`PARTITIONS`] streams, a topic's
//! events in the stream of its partition (a hash of its name).
//!
//! Partitions give each group of topics its own history window (a busy topic trims its own
//! partition, not a quiet topic's) and let a reader read only the partitions its streams
//! subscribe to. Ids stay one per event and ordered across partitions: every partition lives
//! in one slot and one publish script gives the event an id after the newest of all, so a
//! single position says how far a reader got in every partition at once.

/// How many partitions; part of the layout in Redis (changing it moves topics).
pub const PARTITIONS: usize = 64;

/// FNV-1a, 64 bits: stable across processes, releases and machines.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |hash, &byte| (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3))
}

/// The partition of one topic.
pub fn of(topic: &str) -> usize {
    (fnv1a(topic.as_bytes()) % PARTITIONS as u64) as usize
}

/// The partitions a subscriber to `topics` reads, ascending, each once.
pub fn to_read(topics: &[String]) -> Vec<usize> {
    let mut partitions: Vec<usize> = topics.iter().map(|t| of(t)).collect();
    partitions.sort_unstable();
    partitions.dedup();
    partitions
}

/// The partitions an event published to `topics` is stored in, ascending, each once: those of
/// its topics (a Mercure update's hub topic and each `mercure:<topic>`, so that a subscription
/// of exact topics reads only their partitions: see `crate::mercure::update`).
pub fn to_write(topics: &[String]) -> Vec<usize> {
    to_read(topics)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|t| (*t).to_owned()).collect()
    }

    #[test]
    fn a_topic_always_has_the_same_partition() {
        // Fixed values: the partition of a topic is part of what Redis holds.
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(of("orders"), (fnv1a(b"orders") % 64) as usize);
        assert!((0..1000).all(|i| of(&format!("t{i}")) < PARTITIONS));
        let spread: std::collections::HashSet<usize> = (0..1000).map(|i| of(&format!("t{i}"))).collect();
        assert_eq!(spread.len(), PARTITIONS, "a thousand topics use every partition");
    }

    #[test]
    fn an_event_is_stored_once_per_partition_of_its_topics() {
        let topics = names(&["a", "b", "a"]);
        let mut expected = vec![of("a"), of("b")];
        expected.sort_unstable();
        expected.dedup();
        assert_eq!(to_write(&topics), expected);
        assert_eq!(to_read(&topics), expected);
    }

    #[test]
    fn a_mercure_update_is_stored_in_its_hub_topics_partition_and_each_of_its_topics() {
        let topics = names(&["mercure", "mercure:https://example.com/a", "mercure:b"]);
        let mut expected = vec![of("mercure"), of("mercure:https://example.com/a"), of("mercure:b")];
        expected.sort_unstable();
        expected.dedup();
        assert_eq!(to_write(&topics), expected);
    }
}
