//! A `GET` (or Mercure 1.0's `QUERY`, whose form body adds to the query): a subscription to
//! the hub's updates, answered with an event stream's plan ([`StreamPlan`]: settings, headers
//! and the subscription) that the extension starts and detaches like `SseEmitter::detach()`. Draft-07 (`topic=`) and 1.0 (`match*`) requests
//! differ in their parameters and in the resume header they get (see [`resume_header`]).
//!
//! The stream subscribes to the broker topics of its exact topics, or else to the hub's
//! (`mercure`, and `mercure.private` when the token may receive private updates), and filters
//! with the request's selectors and the token's `mercure.subscribe` claim; see
//! `sse_core::mercure::update` for how an update's topics travel. A token's `exp` is the stream's maximum duration.

use super::answer;
use super::cursor::{self, Resume};
use super::hub::Hub;
use super::request::Request;
use super::{Reply, StreamPlan};
use crate::error::Result;
use crate::stream::Settings;
use crate::subscription::{Filter, Subscription};
use sse_core::broker::{EventId, Position};
use sse_core::last_event_id;
use sse_core::mercure::form::Draft;
use sse_core::mercure::{form, update};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub fn handle(hub: &Hub, request: &Request) -> Result<Reply> {
    let cors = hub.cors(request);
    let refuse = |status: u16, reason: &str| Ok(answer::refuse(status, reason, &cors));
    // A QUERY's form body, read before anything else (it holds the parameters).
    let body = if request.method == "QUERY" {
        if let Some(kind) = request.content_type.as_deref() {
            if !kind.trim().to_ascii_lowercase().starts_with("application/x-www-form-urlencoded") {
                return refuse(415, "a QUERY subscription's body is application/x-www-form-urlencoded");
            }
        }
        match request.body(form::MAX_BODY) {
            Ok(body) => Some(body),
            Err(failure) => return refuse(413, &failure.to_string()),
        }
    } else {
        None
    };
    // Read and checked, not compiled: compiling the selectors is the costly part of a
    // subscription, so it waits until the token has been verified.
    let query = match form::read_subscribe_form(&request.query, body.as_deref()) {
        Ok(query) => query,
        Err(error) => return refuse(400, &error.to_string()),
    };
    let claims = match super::token::authenticate(hub, request, super::token::Role::Subscriber, query.authorization.as_deref()) {
        Ok(claims) => claims.unwrap_or_default(),
        Err(refusal) => return Ok(refusal.reply(request, &cors)),
    };
    // Within the request's budget (count, size, compile cost), else a 400 naming it.
    // Relative URL patterns resolve against the hub's URL: the configured resource identifier
    // when there is one (as the Go hub does), else the URL the request reached.
    let base = hub.options.resource_identifier.as_deref().and_then(|url| sse_core::mercure::Url::parse(url).ok()).or_else(|| request.hub_url());
    let query = match query.compile_at(base.as_ref()) {
        Ok(query) => query,
        Err(error) => return refuse(400, &error.to_string()),
    };
    // The header wins over the query parameter (both drafts).
    let resume = request
        .last_event_id
        .as_deref()
        .and_then(last_event_id::accept)
        .map(str::to_owned)
        .or_else(|| query.last_event_id.as_deref().and_then(|id| last_event_id::accept(id.as_bytes())).map(str::to_owned));
    let topics = update::subscribed_topics(&query.selectors, claims.receives_private());
    // 1.0: the cursor as sent (even empty), resolved once: it decides where the stream starts
    // and what Mercure-Last-Event-ID says.
    let resolved = match (query.draft, cursor_of(request, query.last_event_id.as_deref())) {
        (Draft::Mercure10, Some(raw)) => match cursor::resolve(&*hub.engine, &hub.settings.history, &topics, &raw) {
            Ok(resolved) => Some(resolved),
            Err(failure) => return refuse(503, &failure.to_string()),
        },
        _ => None,
    };
    let selectors = query.selectors;
    let matchers = query.matchers;
    let private = claims.subscribe.clone();
    let filter: Filter = Arc::new(move |event| {
        selectors.matches_any(update::topics_of(event))
            && (!update::is_private(event) || private.as_ref().is_some_and(|p| p.matches_any(update::topics_of(event))))
    });
    // Draft-07: a publisher's id resumes from the earliest update that has it, as in 1.0 (see
    // `cursor`), and the broker's own ids as they are.
    let resume = match (&resolved, resume) {
        (None, Some(raw)) if raw != "earliest" => match cursor::own_id(&*hub.engine, &hub.settings.history, &topics, &raw) {
            Ok(found) => Some(found.map_or(raw, |id| id.to_string())),
            Err(failure) => return refuse(503, &failure.to_string()),
        },
        (_, other) => other,
    };
    let started = match (&resolved, resume.as_deref()) {
        (Some(Resume::Earliest), _) | (None, Some("earliest")) => {
            Subscription::start(hub.engine.clone(), topics, hub.settings.history, None).map(Subscription::from_earliest)
        }
        (Some(Resume::After(id, _)), _) => Subscription::start(hub.engine.clone(), topics, hub.settings.history, Some(&id.to_string())),
        // An unknown 1.0 cursor starts live as draft-07's does (with `sse-reset` when asked).
        (Some(Resume::Unknown), other) | (None, other) => Subscription::start(hub.engine.clone(), topics, hub.settings.history, other),
    };
    let mut subscription = match started {
        Ok(subscription) => subscription.with_filter(filter),
        Err(failure) => return refuse(503, &failure.to_string()),
    };
    if !hub.options.reset_events {
        subscription = subscription.without_reset_events();
    }
    if hub.options.subscriptions {
        // Registered once the subscription stands: `active: true` now, `active: false` when the
        // stream ends (attached or detached), from whichever thread drops the subscription.
        match super::subscriptions::register(hub, &matchers, &claims) {
            Ok(registered) => subscription = subscription.keep(Box::new(registered)),
            Err(failure) => return refuse(503, &failure.to_string()),
        }
    }
    let resume_header = match resume_header(hub, query.draft, resolved.as_ref(), &subscription) {
        Ok(header) => header,
        Err(failure) => return refuse(503, &failure.to_string()),
    };
    let mut settings = Settings { heartbeat: hub.options.heartbeat, ..Settings::default() };
    if let Some(expires_at) = claims.expires_at {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        settings.max_duration = Duration::from_secs(expires_at).saturating_sub(now).max(Duration::from_millis(1));
    }
    let mut headers = cors;
    headers.extend(resume_header);
    Ok(Reply::Stream(StreamPlan { settings, headers, subscription }))
}

/// The cursor of a 1.0 request as sent: the `Last-Event-ID` header when it has a value, else
/// the `last_event_id` parameter, else an empty header; None when it sent none.
fn cursor_of(request: &Request, param: Option<&str>) -> Option<String> {
    let header = request.last_event_id.as_deref().map(|raw| String::from_utf8_lossy(raw).into_owned());
    match (header, param) {
        (Some(header), _) if !header.is_empty() => Some(header),
        (header, Some(param)) => Some(param.to_owned()).or(header),
        (header, None) => header,
    }
}

/// The resume header of the response. Draft-07: `Last-Event-ID`, the id of the newest update
/// when the subscription began, or `earliest`. 1.0: `Mercure-Last-Event-ID` only when the
/// request sent a cursor, naming the id the stream resumes after, or `earliest`.
fn resume_header(hub: &Hub, draft: Draft, resolved: Option<&Resume>, subscription: &Subscription) -> Result<Option<(String, String)>> {
    Ok(match draft {
        Draft::Mercure10 => resolved.map(|resume| ("Mercure-Last-Event-ID".to_owned(), resume.header())),
        Draft::Draft07 => {
            let newest = match hub.engine.last_position()? {
                Position::ZERO => "earliest".to_owned(),
                position => EventId { epoch: subscription.last_id().epoch, position }.to_string(),
            };
            Some(("Last-Event-ID".to_owned(), newest))
        }
    })
}
