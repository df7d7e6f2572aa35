//! A `GET`: a subscription to the hub's updates, served as an event stream that detaches under
//! php-fpm (and is served in the worker elsewhere, as `detach()` does).
//!
//! The stream subscribes to the hub's broker topic (`mercure`, and `mercure.private` when the
//! token may receive private updates) and filters with the request's selectors and the
//! token's `mercure.subscribe` claim; see `sse_core::mercure::update` for how an update's
//! topics travel. A token's `exp` is the stream's maximum duration.

use super::answer;
use super::hub::Hub;
use super::request::Request;
use crate::bindings::sse_emitter::SseEmitter;
use crate::error::{Error, Result};
use crate::options::Options;
use crate::subscription::{Filter, Subscription};
use ext_php_rs::types::ZendClassObject;
use sse_core::broker::{EventId, Position};
use sse_core::last_event_id;
use sse_core::mercure::{form, update};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub fn handle(hub: &Hub, request: &Request) -> Result<()> {
    let cors = hub.cors(request);
    let refuse = |status: u16, reason: &str| {
        answer::refuse(status, reason, &cors);
        Ok(())
    };
    // Read and checked, not compiled: compiling the selectors is the costly part of a
    // subscription, so it waits until the token has been verified.
    let query = match form::read_subscribe(&request.query) {
        Ok(query) => query,
        Err(error) => return refuse(400, &error.to_string()),
    };
    let claims = match super::token::authenticate(hub, request, super::token::Role::Subscriber, query.authorization.as_deref()) {
        Ok(claims) => claims.unwrap_or_default(),
        Err(refusal) => {
            refusal.send(request, &cors);
            return Ok(());
        }
    };
    // Within the request's budget (count, size, compile cost), else a 400 naming it.
    let query = match query.compile() {
        Ok(query) => query,
        Err(error) => return refuse(400, &error.to_string()),
    };
    // The header wins over the query parameter (draft-07).
    let resume = request.last_event_id.as_deref().and_then(last_event_id::accept).map(str::to_owned).or_else(|| {
        query.last_event_id.as_deref().and_then(|id| last_event_id::accept(id.as_bytes())).map(str::to_owned)
    });
    let mut topics = vec![update::PUBLIC.to_owned()];
    if claims.receives_private() {
        topics.push(update::PRIVATE.to_owned());
    }
    let selectors = query.selectors;
    let private = claims.subscribe.clone();
    let filter: Filter = Arc::new(move |event| {
        selectors.matches_any(update::topics_of(event))
            && (!update::is_private(event) || private.as_ref().is_some_and(|p| p.matches_any(update::topics_of(event))))
    });
    // A publisher's id resumes from the earliest update that has it.
    let resume = match resume {
        Some(raw) if raw != "earliest" => match own_id_cursor(hub, &raw) {
            Ok(cursor) => Some(cursor.unwrap_or(raw)),
            Err(failure) => return refuse(503, &failure.0.to_string()),
        },
        other => other,
    };
    let started = match resume.as_deref() {
        Some("earliest") => Subscription::start(hub.engine.clone(), topics, hub.settings.history, None).map(Subscription::from_earliest),
        other => Subscription::start(hub.engine.clone(), topics, hub.settings.history, other),
    };
    let mut subscription = match started {
        Ok(subscription) => subscription.with_filter(filter),
        Err(failure) => return refuse(503, &failure.0.to_string()),
    };
    if !hub.options.reset_events {
        subscription = subscription.without_reset_events();
    }
    // The id of the newest update when the subscription began, or `earliest` (draft-07).
    let newest = match hub.engine.last_position() {
        Ok(Position::ZERO) => "earliest".to_owned(),
        Ok(position) => EventId { epoch: subscription.last_id().epoch, position }.to_string(),
        Err(failure) => return refuse(503, &failure.0.to_string()),
    };
    let mut options = Options { heartbeat: hub.options.heartbeat, ..Options::default() };
    if let Some(expires_at) = claims.expires_at {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        options.max_duration = Duration::from_secs(expires_at).saturating_sub(now).max(Duration::from_millis(1));
    }
    options.headers = cors;
    options.headers.push(("Last-Event-ID".into(), newest));
    let emitter = SseEmitter::with_options(options);
    emitter.adopt_subscription(subscription)?;
    let object = ZendClassObject::new(emitter);
    SseEmitter::detach(&object).map(drop).map_err(|failure| match failure.0 {
        Error::Misuse(reason) => Error::misuse(format!("Mercure hub: {reason}")).into(),
        other => other.into(),
    })
}

/// The broker's id of the update whose publisher chose the id `raw`, when `raw` is not one of
/// the broker's own ids (those resume as they are) and the history still has it.
fn own_id_cursor(hub: &Hub, raw: &str) -> Result<Option<String>> {
    let epoch = hub.engine.epoch()?;
    if EventId::parse(raw).is_some_and(|id| id.epoch == epoch) {
        return Ok(None);
    }
    let found = hub.engine.find_own_id(raw.as_bytes(), &hub.settings.history)?;
    Ok(found.map(|position| EventId { epoch, position }.to_string()))
}
