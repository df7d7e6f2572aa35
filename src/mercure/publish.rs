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
        return Err(Error::invalid_event(Field::Data, format!("the update is {} bytes framed; a broker stores at most {MAX_FRAME}", frame.len())).into());
    }
    let assigned = engine.publish(&update.broker_topics(), &frame, id_slot, settings)?.to_string();
    Ok(update.id.clone().unwrap_or(assigned))
}

/// A `POST`: checks the token and the form, publishes, answers `200 text/plain` with the id;
/// every refusal is a 4xx with its reason, and nothing is published.
pub fn handle(hub: &super::hub::Hub, request: &super::request::Request) {
    use super::answer;
    use sse_core::mercure::{auth, form};
    let cors = hub.cors(request);
    let refuse = |status: u16, reason: &str| answer::refuse(status, reason, &cors);
    let Some(verifier) = hub.options.publisher.as_ref() else {
        return refuse(401, "this hub takes no publishes over HTTP (it has no publisherJwtKey)");
    };
    let query_token = form::query_param(&request.query, "authorization");
    let token = match auth::token(request.authorization.as_deref(), query_token.as_deref(), request.cookies.as_deref()) {
        Ok(Some(token)) => token,
        Ok(None) => return refuse(401, "a publisher token is required (Authorization: Bearer, the authorization parameter or the mercureAuthorization cookie)"),
        Err(reason) => return refuse(401, &reason),
    };
    if token.1 == auth::Source::Cookie && !auth::cookie_publish_allowed(request.origin.as_deref(), request.referer.as_deref(), &hub.options.publish_origins) {
        return refuse(403, "a publish authenticated by cookie must come from an Origin listed in publishOrigins");
    }
    let claims = match verifier.verify(token.0) {
        Ok(claims) => claims,
        Err(reason) => return refuse(401, &reason),
    };
    if let Some(kind) = request.content_type.as_deref() {
        if !kind.trim().to_ascii_lowercase().starts_with("application/x-www-form-urlencoded") {
            return refuse(415, "a publish is application/x-www-form-urlencoded");
        }
    }
    let body = match request.body(form::MAX_BODY) {
        Ok(body) => body,
        Err(failure) => return refuse(413, &failure.0.to_string()),
    };
    let parsed = match form::parse_publish(&body) {
        Ok(parsed) => parsed,
        Err(error) => return refuse(400, &error.to_string()),
    };
    if let Err(reason) = claims.may_publish(&parsed.update.topics) {
        return refuse(403, &reason);
    }
    match publish(&hub.engine, &hub.settings, &parsed.update) {
        Ok(id) => answer::text(200, &id, &cors),
        Err(failure) => match failure.0 {
            Error::InvalidEvent { .. } => refuse(413, &failure.0.to_string()),
            Error::Unavailable { .. } => refuse(503, &failure.0.to_string()),
            other => refuse(400, &other.to_string()),
        },
    }
}
