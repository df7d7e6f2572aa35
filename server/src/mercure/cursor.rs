//! Where a Mercure 1.0 subscription resumes: the cursor a client sent (`Last-Event-ID` or
//! `last_event_id`), resolved against the hub's broker. The answer decides both the stream's
//! start and the `Mercure-Last-Event-ID` response header, which must name the id just before
//! the first event sent, or `earliest` when the hub cannot resume from the cursor; so it is
//! decided once, here, before the stream starts.

use crate::broker::Engine;
use crate::error::Result;
use sse_core::broker::{EventId, History};
use sse_core::last_event_id;

/// What a cursor resolves to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Resume {
    /// Resume right after this update, which the history still has (or which is the newest);
    /// the cursor as the client sent it (the broker's id, or its publisher's).
    After(EventId, String),
    /// `earliest`: everything the history still keeps.
    Earliest,
    /// An id this broker never gave, one older than its history, or no id at all (empty,
    /// malformed): the stream starts live.
    Unknown,
}

impl Resume {
    /// The `Mercure-Last-Event-ID` value: the id the stream resumes after, else `earliest`.
    pub fn header(&self) -> String {
        match self {
            Resume::After(_, sent) => sent.clone(),
            Resume::Earliest | Resume::Unknown => "earliest".to_owned(),
        }
    }
}

/// Resolves the raw cursor of a request against `engine`'s history of the hub's `topics`.
pub fn resolve(engine: &dyn Engine, history: &History, topics: &[String], raw: &str) -> Result<Resume> {
    if raw == "earliest" {
        return Ok(Resume::Earliest);
    }
    if last_event_id::accept(raw.as_bytes()).is_none() {
        return Ok(Resume::Unknown);
    }
    if let Some(id) = own_id(engine, history, topics, raw)? {
        return Ok(Resume::After(id, raw.to_owned()));
    }
    let Some(id) = EventId::parse(raw) else { return Ok(Resume::Unknown) };
    if id.epoch != engine.epoch()? || id.position > engine.last_position()? {
        return Ok(Resume::Unknown);
    }
    // The id is this broker's: it resumes exactly unless the history no longer reaches back
    // to it (a gap right after it).
    if engine.read_after(id.position, 1, history, topics)?.gap {
        return Ok(Resume::Unknown);
    }
    Ok(Resume::After(id, raw.to_owned()))
}

/// The broker's id of the earliest update whose publisher chose the id `raw`, when `raw` is not
/// one of this broker's own ids (those resume as they are) and the history still has it. The
/// history is read oldest first: the cost of a resume from a publisher's id.
pub fn own_id(engine: &dyn Engine, history: &History, topics: &[String], raw: &str) -> Result<Option<EventId>> {
    let epoch = engine.epoch()?;
    if EventId::parse(raw).is_some_and(|id| id.epoch == epoch) {
        return Ok(None);
    }
    let found = engine.find_own_id(raw.as_bytes(), history, topics)?;
    Ok(found.map(|position| EventId { epoch, position }))
}
