//! Who a request is: its token, found (`sse_core::mercure::auth`) and verified by the draft it
//! speaks, or the hub's refusal, answered as that draft asks.
//!
//! A request speaks Mercure 1.0 when it presents an access token (`typ: at+jwt`) or subscribes
//! with 1.0's `match*` parameters: its refusals are RFC 6750 challenges that never say why a
//! token failed. Any other request is a draft-07 client's and keeps draft-07's answers (a 401
//! with the reason), so that both kinds of clients share one hub during a migration.
//!
//! The token is verified before the hub does anything else for the request (reading the
//! body, compiling selectors), so that a request without a valid one costs nothing.

use super::hub::Hub;
use super::request::Request;
use super::{answer, Reply};
use sse_core::mercure::auth::{self, Source};
use sse_core::mercure::bearer::{self, BearerError};
use sse_core::mercure::jwt::{self, Expected};
use sse_core::mercure::{Claims, Url};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Publisher,
    Subscriber,
}

/// A token as presented, not verified yet.
pub struct Presented {
    token: Option<(String, Source)>,
    /// The token is judged by 1.0's rules (read once: its payload may be a few KiB).
    access: bool,
    /// The request speaks Mercure 1.0.
    pub modern: bool,
}

impl Presented {
    pub fn source(&self) -> Option<Source> {
        self.token.as_ref().map(|(_, source)| *source)
    }
}

/// Why the hub refuses the request, in both drafts' words.
pub struct Refusal {
    status: u16,
    /// draft-07's reason, also the body of a 1.0 `invalid_request` or `insufficient_scope`.
    reason: String,
    /// The 1.0 challenge's error (None with a 401: a token is needed and none came); only
    /// used when the request speaks 1.0.
    error: Option<BearerError>,
    modern: bool,
}

impl Refusal {
    /// A valid token that does not allow what the request asks (403).
    pub fn insufficient_scope(presented: &Presented, reason: String) -> Refusal {
        Refusal { status: 403, reason, error: Some(BearerError::InsufficientScope), modern: presented.modern }
    }

    /// A malformed presentation: a 1.0 `invalid_request`; draft-07 answered `status`.
    pub fn invalid_request(presented: &Presented, status: u16, reason: String) -> Refusal {
        Refusal { status, reason, error: Some(BearerError::InvalidRequest), modern: presented.modern }
    }

    /// The answer, as the request's draft asks.
    pub fn reply(&self, request: &Request, headers: &[(String, String)]) -> Reply {
        let no_token = self.status == 401 && self.error.is_none();
        if !self.modern && no_token {
            // No token, from a client of either draft: draft-07's answer, with the pointer to
            // the metadata that a 1.0 client looks for in the same challenge.
            let mut headers = headers.to_vec();
            headers.push(("WWW-Authenticate".into(), bearer::challenge_with_realm(request.origin().as_deref())));
            return answer::text(401, &format!("{}\n", self.reason), &headers);
        }
        if !self.modern {
            return answer::refuse(self.status, &self.reason, headers);
        }
        let body = match self.error {
            None => "a token is required",
            // No reason: which check failed would help whoever forges tokens.
            Some(BearerError::InvalidToken) => "the token is not valid",
            Some(_) => &self.reason,
        };
        answer::challenge(self.error, request.origin().as_deref(), body, headers)
    }
}

/// Finds the request's token. `query_token` is draft-07's `authorization` parameter.
pub fn present(hub: &Hub, request: &Request, query_token: Option<&str>) -> Result<Presented, Refusal> {
    let matchers = bearer::uses_match_parameters(&request.query);
    match auth::token(request.authorization.as_deref(), query_token, request.cookies.as_deref(), &hub.options.cookie_name) {
        Ok(token) => {
            let access = token.is_some_and(|(token, _)| jwt::is_access_token(token));
            Ok(Presented { token: token.map(|(t, s)| (t.to_owned(), s)), access, modern: matchers || access })
        }
        // draft-07 answered a malformed header with a 401.
        Err(reason) => {
            let modern = matchers || header_presents_access_token(request.authorization.as_deref());
            Err(Refusal { status: 401, reason: reason.to_owned(), error: Some(BearerError::InvalidRequest), modern })
        }
    }
}

/// Verifies a presented token for `role`: its claims, None for a request without a token that
/// may go on without one (an anonymous subscriber).
pub fn verify(hub: &Hub, request: &Request, presented: &Presented, role: Role) -> Result<Option<Claims>, Refusal> {
    let modern = presented.modern;
    let invalid = |reason: String| Refusal { status: 401, reason, error: Some(BearerError::InvalidToken), modern };
    let verifier = match role {
        Role::Publisher => hub.options.publisher.as_ref(),
        Role::Subscriber => hub.options.subscriber.as_ref(),
    };
    let Some((token, _)) = presented.token.as_ref() else {
        return match role {
            Role::Subscriber if hub.options.anonymous => Ok(None),
            Role::Subscriber => Err(Refusal { status: 401, reason: "a subscriber token is required (this hub is not anonymous)".into(), error: None, modern }),
            Role::Publisher if verifier.is_none() => {
                Err(Refusal { status: 401, reason: "this hub takes no publishes over HTTP (it has no publisherJwtKey)".into(), error: None, modern })
            }
            Role::Publisher => Err(Refusal {
                status: 401,
                reason: "a publisher token is required (Authorization: Bearer, the authorization parameter or the mercureAuthorization cookie)".into(),
                error: None,
                modern,
            }),
        };
    };
    let Some(verifier) = verifier else {
        return Err(invalid(match role {
            Role::Publisher => "this hub takes no publishes over HTTP (it has no publisherJwtKey)".into(),
            Role::Subscriber => "this hub verifies no subscriber tokens (it has no subscriberJwtKey)".into(),
        }));
    };
    if !presented.access {
        return verifier.verify(token).map(Some).map_err(invalid);
    }
    let hub_url = request.origin().map(|origin| format!("{origin}{}", bearer::HUB_PATH));
    let audience = hub.options.resource_identifier.clone().or(hub_url);
    // Relative grant patterns resolve against the hub's URL: the configured resource
    // identifier when there is one (as the Go hub does), else the URL the request reached.
    let base = audience.clone().and_then(|url| Url::parse(&url).ok());
    let (Some(audience), Some(base)) = (audience, base) else {
        return Err(invalid("the request's Host is not a host: the hub has no resource identifier for it".into()));
    };
    let expected = Expected { issuer: hub.options.issuer.as_deref(), audience: &audience, base: &base };
    verifier.verify_access_token(token, &expected).map(Some).map_err(invalid)
}

/// Both steps, for a request that needs nothing between them.
pub fn authenticate(hub: &Hub, request: &Request, role: Role, query_token: Option<&str>) -> Result<Option<Claims>, Refusal> {
    let presented = present(hub, request, query_token)?;
    verify(hub, request, &presented, role)
}

/// Whether the `Authorization` header's (first) token is an access token: a malformed
/// presentation of one (two headers, say) is answered as 1.0 answers.
fn header_presents_access_token(header: Option<&str>) -> bool {
    let first = header.and_then(|h| h.split(',').next()).unwrap_or_default().trim();
    first.split_once(' ').is_some_and(|(_, token)| jwt::is_access_token(token))
}
