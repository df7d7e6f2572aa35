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
    /// Resume right after this update, which the history still has (or which is the newest).
    After(EventId),
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
            Resume::After(id) => id.to_string(),
            Resume::Earliest | Resume::Unknown => "earliest".to_owned(),
        }
    }
}

/// Resolves the raw cursor of a request against `engine`'s history.
pub fn resolve(engine: &dyn Engine, history: &History, raw: &str) -> Result<Resume> {
    if raw == "earliest" {
        return Ok(Resume::Earliest);
    }
    let Some(id) = last_event_id::accept(raw.as_bytes()).and_then(EventId::parse) else { return Ok(Resume::Unknown) };
    if id.epoch != engine.epoch()? || id.position > engine.last_position()? {
        return Ok(Resume::Unknown);
    }
    // The id is this broker's: it resumes exactly unless the history no longer reaches back
    // to it (a gap right after it).
    if engine.read_after(id.position, 1, history)?.gap {
        return Ok(Resume::Unknown);
    }
    Ok(Resume::After(id))
}
