//! One Mercure update as the broker stores it. An update's topics, and whether it is private,
//! travel as broker topics, so that every engine (embedded, Redis) carries them unchanged and
//! every machine can decide who receives it:
//! - `mercure` or `mercure.private`: the hub's own topic, which a subscription with a `*`, a
//!   template or a URL pattern listens to (`mercure.private` only one whose token may receive
//!   private updates, so that the others are not even woken for them);
//! - `mercure:<topic>` for each of the update's topics, the canonical one first, which a
//!   subscription of exact topics only listens to instead (see [`subscribed_topics`]): on Redis
//!   an update is stored in the partition of each of these broker topics, so a machine whose
//!   subscribers name their topics reads only their partitions, not every update.
//!
//! The frame is built here once: `event:` from `type`, `retry:`, `data:` lines. The id is the
//! publisher's when it chose one (first in the frame, delivered as it is: subscribers resume
//! from it), else the one the broker assigns.

use super::selector::Selectors;
use super::topic;
use crate::broker::topic as broker_topic;
use crate::broker::StoredEvent;
use crate::error::Result;
use crate::Event;

/// The broker topic of every public update.
pub const PUBLIC: &str = "mercure";
/// The broker topic of every private update.
pub const PRIVATE: &str = "mercure.private";
pub use super::topic::TOPIC_PREFIX;

/// An update to publish, checked: its topics are valid Mercure topics.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Update {
    pub topics: Vec<String>,
    pub data: String,
    pub private: bool,
    /// The SSE event type.
    pub event_type: Option<String>,
    pub retry: Option<u64>,
    /// The id its publisher chose (see `rules` for what it may be).
    pub id: Option<String>,
}

impl Update {
    /// An update with these topics (checked, duplicates dropped) and this data.
    pub fn new(topics: Vec<String>, data: String) -> Result<Update> {
        Ok(Update { topics: topic::check_all(topics)?, data, ..Update::default() })
    }

    /// The broker topics the update is published to.
    pub fn broker_topics(&self) -> Vec<String> {
        let hub = if self.private { PRIVATE } else { PUBLIC };
        std::iter::once(hub.to_owned()).chain(self.topics.iter().map(|t| format!("{TOPIC_PREFIX}{t}"))).collect()
    }

    /// The frame without its id, and where the id goes; with the publisher's id, the frame with
    /// that id first and `OWN_ID` as the place. A type or id with a line break is an error.
    pub fn frame(&self) -> Result<(Vec<u8>, usize)> {
        super::rules::check(&self.topics, self.id.as_deref(), self.event_type.as_deref())?;
        let mut event = Event::new();
        if let Some(event_type) = &self.event_type {
            event.set_event(event_type.as_bytes())?;
        }
        if let Some(retry) = self.retry {
            event.set_retry(retry);
        }
        event.set_data_string(self.data.clone());
        let (frame, slot) = event.encode_without_id();
        let Some(id) = &self.id else { return Ok((frame, slot)) };
        let mut own = Vec::with_capacity(frame.len() + id.len() + 5);
        own.extend_from_slice(b"id: ");
        own.extend_from_slice(id.as_bytes());
        own.push(b'\n');
        own.extend_from_slice(&frame);
        Ok((own, crate::broker::stored::OWN_ID))
    }
}

/// The broker topics a subscription with these selectors listens to: `mercure:<topic>` for each
/// when every selector is an exact topic that an update may have, else the hub's own topic
/// (and its private one when the token may receive private updates). Either way the
/// subscription filters with its selectors and its token: these only decide what wakes it.
pub fn subscribed_topics(selectors: &Selectors, receives_private: bool) -> Vec<String> {
    if let Some(exact) = selectors.exact_only().filter(|exact| exact.len() <= broker_topic::MAX_TOPICS && exact.iter().all(|t| topic::check(t).is_ok())) {
        return exact.iter().map(|t| format!("{TOPIC_PREFIX}{t}")).collect();
    }
    let mut topics = vec![PUBLIC.to_owned()];
    if receives_private {
        topics.push(PRIVATE.to_owned());
    }
    topics
}

/// Whether a stored event is a private Mercure update.
pub fn is_private(event: &StoredEvent) -> bool {
    event.topics.iter().any(|t| t == PRIVATE)
}

/// The Mercure topics of a stored event.
pub fn topics_of(event: &StoredEvent) -> impl Iterator<Item = &str> {
    event.topics.iter().filter_map(|t| t.strip_prefix(TOPIC_PREFIX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::broker::Position;

    #[test]
    fn a_subscription_of_exact_topics_listens_to_them_and_any_other_to_the_hub() {
        let selectors = |texts: &[&str]| Selectors::parse(texts.iter().copied(), "topic").unwrap_or_default();
        assert_eq!(subscribed_topics(&selectors(&["a", "https://example.com/b"]), true), ["mercure:a", "mercure:https://example.com/b"]);
        assert_eq!(subscribed_topics(&selectors(&["a", "*"]), false), ["mercure"]);
        assert_eq!(subscribed_topics(&selectors(&["a", "/books/{id}"]), true), ["mercure", "mercure.private"]);
        // Longer than an update's topic may be: it matches nothing, and the hub topic is safe.
        assert_eq!(subscribed_topics(&selectors(&["a", &"b".repeat(topic::MAX_LEN + 1)]), false), ["mercure"]);
        let mut update = Update::new(vec!["a".into(), "c".into()], "x".into()).unwrap_or_default();
        update.private = true;
        let wanted = subscribed_topics(&selectors(&["a"]), false);
        assert!(update.broker_topics().iter().any(|t| wanted.contains(t)));
    }

    #[test]
    fn topics_and_privacy_travel_as_broker_topics() {
        let mut update = Update::new(vec!["https://example.com/a".into(), "b".into()], "x".into()).unwrap_or_default();
        assert_eq!(update.broker_topics(), ["mercure", "mercure:https://example.com/a", "mercure:b"]);
        update.private = true;
        let topics = update.broker_topics();
        assert_eq!(topics[0], "mercure.private");
        let (frame, id_slot) = update.frame().unwrap_or_default();
        let stored = StoredEvent { position: Position::seq(1), time_ms: 0, topics: topics.into(), frame: frame.into(), id_slot };
        assert!(is_private(&stored));
        assert_eq!(topics_of(&stored).collect::<Vec<_>>(), ["https://example.com/a", "b"]);
    }

    #[test]
    fn the_frame_has_type_retry_and_every_data_line() {
        let update = Update { topics: vec!["t".into()], data: "a\nb".into(), private: false, event_type: Some("book".into()), retry: Some(500), id: None };
        let (frame, _) = update.frame().unwrap_or_default();
        assert_eq!(String::from_utf8_lossy(&frame), "event: book\nretry: 500\ndata: a\ndata: b\n\n");
        let bad = Update { event_type: Some("a\nevent: x".into()), ..update.clone() };
        assert!(bad.frame().is_err());
        // The publisher's id goes first, and the stored event says so.
        let own = Update { id: Some("urn:uuid:1".into()), ..update };
        let (frame, slot) = own.frame().unwrap_or_default();
        assert_eq!(String::from_utf8_lossy(&frame), "id: urn:uuid:1\nevent: book\nretry: 500\ndata: a\ndata: b\n\n");
        let stored = StoredEvent { position: Position::seq(1), time_ms: 0, topics: own.broker_topics().into(), frame: frame.into(), id_slot: slot };
        assert_eq!(stored.own_id(), Some(&b"urn:uuid:1"[..]));
    }
}
