//! How a Mercure 1.0 hub describes itself to OAuth clients and answers them when a token is
//! missing or wrong: RFC 9728 protected-resource metadata and RFC 6750 `Bearer` challenges
//! that point to it. Draft-07 clients get the hub's older answers; [`uses_match_parameters`]
//! tells a 1.0 subscription by its query, before any token is read.

/// The metadata document's path: RFC 9728's well-known prefix before the hub's own path.
pub const METADATA_PATH: &str = "/.well-known/oauth-protected-resource/.well-known/mercure";

/// The hub's path, which its default resource identifier ends with.
pub const HUB_PATH: &str = "/.well-known/mercure";

/// The `type` of Mercure's authorization details, advertised in the metadata.
pub const DETAIL_TYPE: &str = super::details::DETAIL_TYPE;

/// The error of a challenge (RFC 6750 section 3.1); None: a token is needed and none was sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BearerError {
    InvalidRequest,
    InvalidToken,
    InsufficientScope,
}

impl BearerError {
    pub fn status(self) -> u16 {
        match self {
            BearerError::InvalidRequest => 400,
            BearerError::InvalidToken => 401,
            BearerError::InsufficientScope => 403,
        }
    }

    fn code(self) -> &'static str {
        match self {
            BearerError::InvalidRequest => "invalid_request",
            BearerError::InvalidToken => "invalid_token",
            BearerError::InsufficientScope => "insufficient_scope",
        }
    }
}

/// The `WWW-Authenticate` value of a challenge. `origin` is the request's own
/// (`scheme://host`), checked by [`origin`]; without one (a `Host` that is no host) the
/// challenge names no metadata rather than a URL built from what the client sent.
pub fn challenge(error: Option<BearerError>, origin: Option<&str>) -> String {
    let mut parts = Vec::new();
    if let Some(error) = error {
        parts.push(format!("error=\"{}\"", error.code()));
    }
    if let Some(origin) = origin {
        parts.push(format!("resource_metadata=\"{origin}{METADATA_PATH}\""));
    }
    match parts.is_empty() {
        true => "Bearer".to_owned(),
        false => format!("Bearer {}", parts.join(", ")),
    }
}

/// The challenge of a request without a token that may come from a client of either draft:
/// draft-07's `realm` and 1.0's `resource_metadata` together (RFC 6750 allows both).
pub fn challenge_with_realm(origin: Option<&str>) -> String {
    match origin {
        Some(origin) => format!("Bearer realm=\"mercure\", resource_metadata=\"{origin}{METADATA_PATH}\""),
        None => "Bearer realm=\"mercure\"".to_owned(),
    }
}

/// Whether `text` may be a resource identifier: an absolute `http`/`https` URL without a
/// fragment (RFC 9728 section 1.2), with nothing a header or JSON string would need escaped.
pub fn valid_resource(text: &str) -> bool {
    let parsed = url::Url::parse(text);
    parsed.is_ok_and(|url| matches!(url.scheme(), "http" | "https") && url.fragment().is_none() && url.has_host())
        && !text.contains(['"', '\\', ' '])
        && !text.chars().any(char::is_control)
}

/// The request's origin from its scheme and `Host`, or None when the host holds anything but
/// what a host and port may (it goes into a response header and a JSON document).
pub fn origin(https: bool, host: &str) -> Option<String> {
    let valid = !host.is_empty() && host.len() <= 255 && host.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._:[]".contains(&b));
    valid.then(|| format!("{}://{}", if https { "https" } else { "http" }, host.to_ascii_lowercase()))
}

/// The RFC 9728 document: the hub's resource identifier, how tokens are presented, the
/// authorization details it reads and the name of its cookie.
pub fn metadata_document(resource: &str, cookie_name: &str, subscriptions: bool) -> String {
    // A struct, so that the fields keep the order RFC 9728 lists them in.
    #[derive(serde::Serialize)]
    struct Metadata<'a> {
        resource: &'a str,
        bearer_methods_supported: [&'a str; 1],
        authorization_details_types_supported: [&'a str; 1],
        mercure_cookie: &'a str,
        /// The hub offers active subscriptions (events and the API); left out when it does not.
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        mercure_subscriptions: bool,
    }
    let document = Metadata {
        resource,
        bearer_methods_supported: ["header"],
        authorization_details_types_supported: [DETAIL_TYPE],
        mercure_cookie: cookie_name,
        mercure_subscriptions: subscriptions,
    };
    serde_json::to_string(&document).unwrap_or_default()
}

/// Whether a subscription's query uses Mercure 1.0's matcher parameters: a name that starts
/// with `match` in any case (`match`, `match_exact`, `match_urlpattern`, or one 1.0 refuses).
pub fn uses_match_parameters(query: &[u8]) -> bool {
    form_urlencoded::parse(query).any(|(name, _)| name.get(..5).is_some_and(|p| p.eq_ignore_ascii_case("match")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn challenges_point_to_the_metadata() {
        let origin = origin(true, "Hub.Example:8443").unwrap_or_default();
        assert_eq!(challenge(None, None), "Bearer");
        assert_eq!(
            challenge_with_realm(Some("http://h")),
            "Bearer realm=\"mercure\", resource_metadata=\"http://h/.well-known/oauth-protected-resource/.well-known/mercure\""
        );
        assert_eq!(challenge(Some(BearerError::InvalidRequest), None), "Bearer error=\"invalid_request\"");
        assert!(valid_resource("https://localhost/.well-known/mercure"));
        for bad in ["localhost", "ftp://h/x", "https://h/x#f", "https://h/\"x", "/.well-known/mercure"] {
            assert!(!valid_resource(bad), "{bad}");
        }
        assert_eq!(
            challenge(None, Some(&origin)),
            "Bearer resource_metadata=\"https://hub.example:8443/.well-known/oauth-protected-resource/.well-known/mercure\""
        );
        assert_eq!(
            challenge(Some(BearerError::InvalidToken), Some("http://h")),
            "Bearer error=\"invalid_token\", resource_metadata=\"http://h/.well-known/oauth-protected-resource/.well-known/mercure\""
        );
        assert_eq!(BearerError::InsufficientScope.status(), 403);
        assert_eq!(BearerError::InvalidRequest.status(), 400);
        for host in ["", "a\"b", "a b", "a\r\nb", "x/y"] {
            assert_eq!(super::origin(false, host), None, "{host:?}");
        }
        assert_eq!(super::origin(false, "[::1]:80").as_deref(), Some("http://[::1]:80"));
    }

    #[test]
    fn the_metadata_names_resource_methods_types_and_cookie() {
        let doc: serde_json::Value = serde_json::from_str(&metadata_document("https://h/.well-known/mercure", "c", false)).unwrap_or_default();
        assert_eq!(doc["resource"], "https://h/.well-known/mercure");
        assert_eq!(doc["bearer_methods_supported"], json!(["header"]));
        assert_eq!(doc["authorization_details_types_supported"], json!(["https://mercure.rocks/authorization-detail"]));
        assert_eq!(doc["mercure_cookie"], "c");
    }

    #[test]
    fn match_parameters_mark_a_1_0_subscription() {
        assert!(uses_match_parameters(b"match=a"));
        assert!(uses_match_parameters(b"topic=a&MATCH_urlpattern=x"));
        assert!(uses_match_parameters(b"matches=1"));
        assert!(!uses_match_parameters(b"topic=match"));
        assert!(!uses_match_parameters(b"mat=1&%FF=2"));
    }
}
