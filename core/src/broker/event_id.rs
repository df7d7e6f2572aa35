//! Positions in a broker's log and the ids clients see.
//!
//! An id is `<epoch>:<position>`, e.g. `3f2a9c01b7e4:42`. The position orders events within
//! one log: a sequence number in the embedded and memory brokers, a Redis stream id
//! (`1764500000000-3`) in Redis. The epoch is a random name a log gets when it is created; a
//! wiped directory or a flushed Redis starts a new epoch, so an id from before can be told apart
//! from an id of the new log (whose positions start again) and the client gets an `sse-reset`
//! instead of silently skipped or repeated events.

use std::fmt;
use std::io::Read;

/// A position in one log. Ordered; `Position::ZERO` is before every event.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position {
    pub major: u64,
    pub minor: u64,
}

impl Position {
    pub const ZERO: Position = Position { major: 0, minor: 0 };

    pub fn seq(seq: u64) -> Position {
        Position { major: seq, minor: 0 }
    }

    /// `42` or `1764500000000-3`.
    pub fn parse(text: &str) -> Option<Position> {
        let number = |s: &str| if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) { s.parse().ok() } else { None };
        match text.split_once('-') {
            None => Some(Position { major: number(text)?, minor: 0 }),
            Some((major, minor)) => Some(Position { major: number(major)?, minor: number(minor)? }),
        }
    }
}

impl fmt::Display for Position {
    /// The short form: `42` when the minor part is 0. Redis reads `1764500000000` as
    /// `1764500000000-0`, so the short form is exact for every engine.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.minor == 0 {
            write!(f, "{}", self.major)
        } else {
            write!(f, "{}-{}", self.major, self.minor)
        }
    }
}

/// The random name of one log (12 lowercase hex digits).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Epoch(String);

impl Epoch {
    pub const LEN: usize = 12;

    /// A new random epoch.
    pub fn generate() -> std::io::Result<Epoch> {
        let mut bytes = [0u8; Self::LEN / 2];
        std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
        Ok(Epoch(bytes.iter().map(|b| format!("{b:02x}")).collect()))
    }

    pub fn parse(text: &str) -> Option<Epoch> {
        let text = text.trim();
        let valid = text.len() == Self::LEN && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        valid.then(|| Epoch(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The id of one published event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventId {
    pub epoch: Epoch,
    pub position: Position,
}

impl EventId {
    pub fn parse(text: &str) -> Option<EventId> {
        let (epoch, position) = text.split_once(':')?;
        Some(EventId { epoch: Epoch::parse(epoch)?, position: Position::parse(position)? })
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.epoch.as_str(), self.position)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip() {
        let epoch = Epoch::generate().ok().and_then(|e| Epoch::parse(e.as_str()));
        assert!(epoch.is_some());
        for text in ["0123456789ab:42", "0123456789ab:1764500000000-3", "0123456789ab:0"] {
            assert_eq!(EventId::parse(text).map(|id| id.to_string()).as_deref(), Some(text));
        }
    }

    #[test]
    fn refuses_anything_else() {
        for text in [
            "",
            "42",
            "0123456789ab",
            "0123456789AB:1",
            "0123456789ab:",
            "0123456789ab:-1",
            "0123456789ab:1-",
            "0123456789ab:1-2-3",
            "0123456789ab:+1",
            "0123456789ab:99999999999999999999",
            "0123456789abc:1",
        ] {
            assert_eq!(EventId::parse(text), None, "{text}");
        }
    }

    #[test]
    fn positions_order_as_logs_do() {
        assert!(Position::seq(9) < Position::seq(10));
        assert!(Position::parse("1-9") < Position::parse("2-0"));
        assert_eq!(Position::parse("7"), Position::parse("7-0"));
    }
}
