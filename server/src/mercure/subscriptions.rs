//! Mercure 1.0's active subscriptions, on when the hub's `subscriptions` option is: each
//! subscription registers its matchers while its stream lives (see [`register`]), which
//! publishes `active: true` and, when it ends, `active: false` subscription events (private
//! updates of type `mercure`); and the subscription API ([`api`]) lists what every process of
//! every machine on the broker has registered (`sse_server::presence`).

use super::answer;
use super::hub::Hub;
use super::request::Request;
use super::token::{self, Role};
use super::Reply;
use crate::error::Result;
use crate::presence::{self, Registration};
use sse_core::broker::{EventId, Position};
use sse_core::mercure::matchers::Kind;
use sse_core::mercure::subscriptions::{self as documents, serde_json, Subscription};
use sse_core::mercure::{claims::Access, Claims};

/// Registers a connection's matchers under a new subscriber id, each with the `payload` of the
/// token grant that lets the subscriber receive its subscription events (1.0), else the
/// token's `mercure.payload` (draft-07). Keep what it returns for as long as the stream lives.
pub fn register(hub: &Hub, matchers: &[(Kind, String)], claims: &Claims) -> Result<Vec<Registration>> {
    let presence = presence::shared(&hub.engine, &hub.settings)?;
    let subscriber = documents::new_subscriber_id()?;
    let mut kept = Vec::with_capacity(matchers.len());
    for (kind, matched) in matchers {
        let mut subscription = Subscription { subscriber: subscriber.clone(), matched: matched.clone(), match_type: (*kind).into(), payload: None };
        subscription.payload = payload_for(claims, &subscription.topic());
        let (registration, published) = presence.register(subscription);
        if let Err(failure) = published {
            // Listed all the same; its event could not be stored (a topic too long for the
            // broker, or the broker unreachable).
            crate::warnings::push(format!("ext-sse: Mercure hub: a subscription event was not published: {failure}"));
        }
        kept.push(registration);
    }
    Ok(kept)
}

/// The payload of the first subscribe grant that covers `topic`, else the draft-07 claim's.
fn payload_for(claims: &Claims, topic: &str) -> Option<serde_json::Value> {
    let base = match &claims.subscribe {
        Some(Access::Grants { base, .. }) => Some(base),
        _ => None,
    };
    let granted = base.and_then(|base| {
        claims.grants.iter().filter(|grant| grant.subscribe && grant.payload.is_some()).find(|grant| grant.topics.iter().any(|m| m.matches(topic, base)))
    });
    granted.and_then(|grant| grant.payload.clone()).or_else(|| claims.payload.clone())
}

/// `GET /.well-known/mercure/subscriptions[/{match_type}/{match}[/{subscriber}]]`: the active
/// subscriptions as JSON, with the cursor to subscribe from in a `Link` header. A hub with
/// subscriber keys wants a token granting `subscribe` on the request's path (as it is sent,
/// escaped); a hub without leaves the API open, as the Go hub does.
pub fn api(hub: &Hub, request: &Request) -> Result<Reply> {
    let cors = hub.cors(request);
    if !hub.options.subscriptions {
        return Ok(answer::refuse(404, "this hub has no subscription API (the subscriptions option is off)", &cors));
    }
    if request.path.len() > documents::MAX_PATH {
        return Ok(answer::refuse(400, &format!("the path is {} bytes long; the limit is {}", request.path.len(), documents::MAX_PATH), &cors));
    }
    // The token before anything else is read of the request (its path is matched against the
    // token's grants, within the length above).
    if hub.options.subscriber.is_some() {
        let query_token = sse_core::mercure::form::query_param(&request.query, "authorization");
        let claims = match token::authenticate(hub, request, Role::Subscriber, query_token.as_deref()) {
            Ok(Some(claims)) => claims,
            Ok(None) => return Ok(answer::refuse(401, "the subscription API wants a subscriber token", &cors)),
            Err(refusal) => return Ok(refusal.reply(request, &cors)),
        };
        if !claims.subscribe.as_ref().is_some_and(|access| access.matches(&request.path)) {
            return Ok(answer::refuse(403, "the token does not grant subscribe on this path of the subscription API", &cors));
        }
    }
    let asked = match documents::parse_path(&request.path) {
        Ok(Some(asked)) => asked,
        Ok(None) => return Ok(answer::refuse(404, "not a path of the subscription API", &cors)),
        Err(error) => return Ok(answer::refuse(400, &error.to_string(), &cors)),
    };
    // The cursor first: a client that subscribes from it misses no change after the listing.
    let cursor = match hub.engine.last_position() {
        Ok(Position::ZERO) => "earliest".to_owned(),
        Ok(position) => match hub.engine.epoch() {
            Ok(epoch) => EventId { epoch, position }.to_string(),
            Err(failure) => return Ok(answer::refuse(503, &failure.to_string(), &cors)),
        },
        Err(failure) => return Ok(answer::refuse(503, &failure.to_string(), &cors)),
    };
    let found = match presence::shared(&hub.engine, &hub.settings).and_then(|presence| presence.query(&asked)) {
        Ok(found) => found,
        Err(failure) => return Ok(answer::refuse(503, &failure.to_string(), &cors)),
    };
    let Some(body) = documents::answer(&request.path, &asked, &found) else {
        return Ok(answer::refuse(404, "no such subscriber", &cors));
    };
    let mut headers = cors;
    headers.push((
        "Link".into(),
        format!(
            "<{}>; rel=\"mercure\"; last-event-id=\"{}\"; type=\"mercure\"; content-type=\"application/json\"",
            sse_core::mercure::bearer::HUB_PATH,
            cursor
        ),
    ));
    headers.push(("Cache-Control".into(), "no-store".into()));
    Ok(answer::json(200, &body, &headers))
}

/// Whether a request is one for the subscription API.
pub fn is_api(request: &Request) -> bool {
    request.path.starts_with(documents::PREFIX) && matches!(request.method.as_str(), "GET" | "HEAD")
}
