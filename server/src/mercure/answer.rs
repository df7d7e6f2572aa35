//! The hub's short answers: a status, a few headers and a `text/plain` or JSON body. The hub
//! returns them as values ([`Reply`]); the PHP extension writes them as every short answer is
//! (complete once written, so that a framework's own response after `serve()` can neither
//! change its status nor add to its body).

use super::Reply;
use sse_core::mercure::auth::{cors_grant, CorsGrant};
use sse_core::mercure::bearer::{self, BearerError};

/// A complete answer with a body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShortAnswer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub content_type: &'static str,
    pub body: String,
}

/// Answers with `status` and `body` as `text/plain`, after `headers`.
pub fn text(status: u16, body: &str, headers: &[(String, String)]) -> Reply {
    send(status, "text/plain; charset=utf-8", body, headers)
}

/// Answers with `status` and a JSON `body`, after `headers`.
pub fn json(status: u16, body: &str, headers: &[(String, String)]) -> Reply {
    send(status, "application/json", body, headers)
}

/// A Mercure 1.0 refusal about the token (RFC 6750): the status of `error` (401 when a token
/// is needed and none came), a `WWW-Authenticate: Bearer` challenge pointing to the hub's
/// metadata (`origin` is the request's), and `body`, which never says why a token is invalid.
pub fn challenge(error: Option<BearerError>, origin: Option<&str>, body: &str, headers: &[(String, String)]) -> Reply {
    let mut headers = headers.to_vec();
    headers.push(("WWW-Authenticate".into(), bearer::challenge(error, origin)));
    text(error.map_or(401, BearerError::status), &format!("{body}\n"), &headers)
}

fn send(status: u16, content_type: &'static str, body: &str, headers: &[(String, String)]) -> Reply {
    Reply::Short(ShortAnswer { status, headers: headers.to_vec(), content_type, body: body.to_owned() })
}

/// A refusal: the status and the reason, on one line.
pub fn refuse(status: u16, reason: &str, headers: &[(String, String)]) -> Reply {
    let mut headers = headers.to_vec();
    if status == 401 {
        // RFC 6750: a Bearer token is what the hub wants.
        headers.push(("WWW-Authenticate".into(), "Bearer realm=\"mercure\"".into()));
    }
    text(status, &format!("{reason}\n"), &headers)
}

/// The CORS headers of a response to `origin`, when it is allowed: a listed origin is named
/// and may send credentials; any other origin allowed by `*` gets `*` and no credentials (see
/// `CorsGrant::Anyone` for why).
pub fn cors_headers(origin: Option<&str>, allowed: &[String]) -> Vec<(String, String)> {
    let Some(origin) = origin.filter(|o| !o.contains(['\r', '\n', '\0'])) else { return Vec::new() };
    let mut headers: Vec<(String, String)> = match cors_grant(origin, allowed) {
        None => return Vec::new(),
        // The origin itself, not `*`: browsers send cookies only to an exact origin.
        Some(CorsGrant::Credentials(origin)) => {
            vec![("Access-Control-Allow-Origin".into(), origin.to_owned()), ("Access-Control-Allow-Credentials".into(), "true".into())]
        }
        Some(CorsGrant::Anyone) => vec![("Access-Control-Allow-Origin".into(), "*".into())],
    };
    // Draft-07's resume header and 1.0's, for clients that read them with fetch().
    headers.push(("Access-Control-Expose-Headers".into(), "Last-Event-ID, Mercure-Last-Event-ID, WWW-Authenticate".into()));
    // The answer depends on the Origin (named, `*` or nothing): caches must keep them apart.
    headers.push(("Vary".into(), "Origin".into()));
    headers
}
