//! Publishing one Mercure update through a broker.

use crate::broker::{Engine, Settings};
use crate::error::{Error, Result};
use sse_core::broker::stored::MAX_FRAME;
use sse_core::mercure::Update;
use sse_core::Field;
use std::sync::Arc;

/// Stores the update once (the whole update or nothing) and returns its id: the publisher's
/// when it chose one, else the broker's. That is the id subscribers see and resume from.
pub fn publish(engine: &Arc<dyn Engine>, settings: &Settings, update: &Update) -> Result<String> {
    let (frame, id_slot) = update.frame()?;
    if frame.len() > MAX_FRAME {
        return Err(Error::invalid_event(Field::Data, format!("the update is {} bytes framed; a broker stores at most {MAX_FRAME}", frame.len())));
    }
    let assigned = engine.publish(&update.broker_topics(), &frame, id_slot, settings)?.to_string();
    Ok(update.id.clone().unwrap_or(assigned))
}

/// A `POST`: checks the token and the form, publishes, answers `200 text/plain` with the id;
/// every refusal is a 4xx with its reason, and nothing is published.
pub fn handle(hub: &super::hub::Hub, request: &super::request::Request) -> super::Reply {
    use super::answer;
    use super::token::{self, Refusal, Role};
    use sse_core::mercure::{auth, form};
    let cors = hub.cors(request);
    let refuse = |status: u16, reason: &str| answer::refuse(status, reason, &cors);
    // The token first: nothing is read or parsed for a request without a valid one.
    let presented = match token::present(hub, request, form::query_param(&request.query, "authorization").as_deref()) {
        Ok(presented) => presented,
        Err(refusal) => return refusal.reply(request, &cors),
    };
    if presented.source() == Some(auth::Source::Cookie)
        && !auth::cookie_publish_allowed(request.origin.as_deref(), request.referer.as_deref(), &hub.options.publish_origins)
    {
        let reason = "a publish authenticated by cookie must come from an Origin listed in publishOrigins";
        return Refusal::invalid_request(&presented, 403, reason.into()).reply(request, &cors);
    }
    let claims = match token::verify(hub, request, &presented, Role::Publisher) {
        Ok(Some(claims)) => claims,
        // A publisher always has a token: verify() refuses a request without one.
        Ok(None) => return refuse(401, "a publisher token is required"),
        Err(refusal) => return refusal.reply(request, &cors),
    };
    if let Some(kind) = request.content_type.as_deref() {
        if !kind.trim().to_ascii_lowercase().starts_with("application/x-www-form-urlencoded") {
            return refuse(415, "a publish is application/x-www-form-urlencoded");
        }
    }
    let body = match request.body(form::MAX_BODY) {
        Ok(body) => body,
        Err(failure) => return refuse(413, &failure.to_string()),
    };
    let parsed = match form::parse_publish(&body) {
        Ok(parsed) => parsed,
        Err(error) => return refuse(400, &error.to_string()),
    };
    if let Err(reason) = claims.may_publish(&parsed.update.topics) {
        return Refusal::insufficient_scope(&presented, reason).reply(request, &cors);
    }
    match publish(&hub.engine, &hub.settings, &parsed.update) {
        Ok(id) => answer::text(200, &id, &cors),
        Err(failure) => match failure {
            Error::InvalidEvent { .. } => refuse(413, &failure.to_string()),
            Error::Unavailable { .. } => refuse(503, &failure.to_string()),
            other => refuse(400, &other.to_string()),
        },
    }
}
