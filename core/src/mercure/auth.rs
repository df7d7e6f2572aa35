//! Where a request's token comes from, and whether a cookie-authenticated publish may come from
//! its page.
//!
//! Mercure 1.0: the `Authorization: Bearer` header (scheme in any case), else the cookie named
//! by the hub's `cookieName` (`__Secure-mercure_access_token`); with the header present the
//! cookie is ignored. A header that is not one `Bearer <token>` with a token long enough to be a
//! JWT is a malformed request. Tokens never come from the URL (RFC 9700: URLs end up in logs).
//! Draft-07 also read the `authorization` query parameter (after the header) and the
//! `mercureAuthorization` cookie: both are still read for draft-07 clients, but a 1.0 access
//! token found there is ignored, as if absent.
//!
//! A cookie is sent by the browser to any page that makes a request to the hub, so a publish
//! authenticated by it must come from an allowed `Origin` (or, without one, `Referer`): that
//! keeps other sites from publishing as the user.

use super::jwt::is_access_token;

/// The cookie a draft-07 browser sends its token in.
pub const COOKIE: &str = "mercureAuthorization";

/// Mercure 1.0's default cookie (the hub's `cookieName`).
pub const DEFAULT_COOKIE: &str = "__Secure-mercure_access_token";

/// A bearer token shorter than this cannot be a signed JWT: a malformed request, not a token.
pub const MIN_TOKEN_LEN: usize = 41;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    Header,
    Query,
    Cookie,
}

/// The token of a request and where it came from, None without one, or why its presentation is
/// malformed (`invalid_request`). `cookie_name` is the hub's 1.0 cookie.
pub fn token<'a>(
    header: Option<&'a str>,
    query: Option<&'a str>,
    cookies: Option<&'a str>,
    cookie_name: &str,
) -> Result<Option<(&'a str, Source)>, &'static str> {
    if let Some(header) = header {
        // Servers join repeated headers with commas, which a JWT never holds.
        if header.contains(',') {
            return Err("more than one Authorization header");
        }
        let (scheme, rest) = header.trim().split_once(' ').unwrap_or((header.trim(), ""));
        let token = rest.trim();
        if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
            return Err("the Authorization header is not \"Bearer <token>\"");
        }
        if token.len() < MIN_TOKEN_LEN {
            return Err("the bearer token is too short to be a JWT");
        }
        return Ok(Some((token, Source::Header)));
    }
    let legacy = |token: &&str| !token.is_empty() && !is_access_token(token);
    if let Some(token) = query.filter(legacy) {
        return Ok(Some((token, Source::Query)));
    }
    let cookies = cookies.unwrap_or_default();
    if let Some(token) = cookie(cookies, cookie_name).filter(|t| !t.is_empty()) {
        return Ok(Some((token, Source::Cookie)));
    }
    Ok(cookie(cookies, COOKIE).filter(legacy).map(|t| (t, Source::Cookie)))
}

/// The value of cookie `name` in a `Cookie` header (`a=1; b=2`).
pub fn cookie<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header.split(';').filter_map(|pair| pair.trim().split_once('=')).find(|(n, _)| *n == name).map(|(_, v)| v.trim().trim_matches('"'))
}

/// The origin (`scheme://host[:port]`) of a URL such as a `Referer`.
pub fn origin_of(url: &str) -> Option<&str> {
    let scheme_end = url.find("://")?;
    let rest = &url[scheme_end + 3..];
    let host_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    (host_end > 0).then(|| &url[..scheme_end + 3 + host_end])
}

/// Whether `origin` is in `allowed` (`*` allows every origin).
pub fn origin_allowed(origin: &str, allowed: &[String]) -> bool {
    allowed.iter().any(|a| a == "*" || a.trim_end_matches('/').eq_ignore_ascii_case(origin))
}

/// What a CORS answer grants the page of an origin (`corsOrigins`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CorsGrant<'a> {
    /// A listed origin: named in `Access-Control-Allow-Origin`, with credentials (cookies).
    Credentials(&'a str),
    /// An origin allowed only by `*`: `Access-Control-Allow-Origin: *`, never credentials.
    ///
    /// `*` as the Go hub answers it (gorilla/handlers sends `*` for a `*` configuration rather
    /// than echo arbitrary origins), and as the Fetch standard makes safe: a browser never
    /// lets a page read a credentialed response whose allowed origin is `*`, so no site can
    /// read a stream opened with the user's cookie. Echoing the origin instead would be one
    /// header away from the fault this replaces (any site reading private updates with the
    /// user's cookie). A page that needs cookies has its origin listed.
    Anyone,
}

/// The grant of `origin` under `allowed`: an exact listed origin (case-insensitive, as hosts
/// are) wins over `*`; None when the origin is neither listed nor covered by `*`.
pub fn cors_grant<'a>(origin: &'a str, allowed: &[String]) -> Option<CorsGrant<'a>> {
    if allowed.iter().any(|a| a != "*" && a.trim_end_matches('/').eq_ignore_ascii_case(origin)) {
        return Some(CorsGrant::Credentials(origin));
    }
    allowed.iter().any(|a| a == "*").then_some(CorsGrant::Anyone)
}

/// Whether a cookie-authenticated publish may proceed: its `Origin` (or the origin of its
/// `Referer`) is allowed. Neither header: refused.
pub fn cookie_publish_allowed(origin: Option<&str>, referer: Option<&str>, allowed: &[String]) -> bool {
    let origin = origin.filter(|o| !o.is_empty() && *o != "null").or_else(|| referer.and_then(origin_of));
    origin.is_some_and(|o| origin_allowed(o, allowed))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(typ: &str) -> String {
        // Only the header matters here: the signature is the verifier's business.
        let header = match typ {
            "at+jwt" => "eyJhbGciOiJIUzI1NiIsInR5cCI6ImF0K2p3dCJ9",
            _ => "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9",
        };
        format!("{header}.eyJleHAiOjF9.c2lnbmF0dXJlLW9mLXRoaXJ0eS10d28tYnl0ZXM")
    }

    #[test]
    fn header_then_query_then_cookies() {
        let (legacy, modern) = (jwt("JWT"), jwt("at+jwt"));
        let cookies = format!("a=1; mercureAuthorization={legacy}; __Secure-mercure_access_token={modern}; b=2");
        let token = |h: Option<&str>, q: Option<&str>, c: Option<&str>| token(h, q, c, DEFAULT_COOKIE).map(|t| t.map(|(t, s)| (t.to_owned(), s)));
        let bearer = format!("Bearer {legacy}");
        assert_eq!(token(Some(&bearer), Some(&modern), Some(&cookies)), Ok(Some((legacy.clone(), Source::Header))));
        assert_eq!(token(None, Some(&legacy), Some(&cookies)), Ok(Some((legacy.clone(), Source::Query))));
        assert_eq!(token(None, None, Some(&cookies)), Ok(Some((modern.clone(), Source::Cookie))));
        let old = format!("mercureAuthorization={legacy}");
        assert_eq!(token(None, None, Some(&old)), Ok(Some((legacy.clone(), Source::Cookie))));
        assert_eq!(token(None, None, Some("other=1")), Ok(None));
        assert_eq!(token(None, None, None), Ok(None));
        // Checklist 24: the scheme in any case; malformed presentations.
        assert_eq!(token(Some(&format!("bearer  {modern} ")), None, None), Ok(Some((modern.clone(), Source::Header))));
        assert!(token(Some("Basic dXNlcjpwYXNz"), None, Some(&cookies)).is_err());
        assert!(token(Some("Bearer "), None, None).is_err());
        assert!(token(Some("Bearer short"), None, None).is_err());
        assert!(token(Some(&format!("Bearer {modern}, Bearer {modern}")), None, None).is_err());
        // Checklist 25: an access token in the URL, or in draft-07's cookie, is no token.
        assert_eq!(token(None, Some(&modern), None), Ok(None));
        assert_eq!(token(None, None, Some(&format!("mercureAuthorization={modern}"))), Ok(None));
        // Checklist 26: the cookie name is the hub's.
        assert_eq!(super::token(None, None, Some(&format!("mine={modern}")), "mine").map(|t| t.map(|(_, s)| s)), Ok(Some(Source::Cookie)));
    }

    #[test]
    fn cookie_publishes_need_an_allowed_origin() {
        let allowed = vec!["https://app.example.com".to_owned()];
        assert!(cookie_publish_allowed(Some("https://app.example.com"), None, &allowed));
        assert!(!cookie_publish_allowed(Some("https://evil.example"), None, &allowed));
        assert!(cookie_publish_allowed(None, Some("https://app.example.com/page?x=1"), &allowed));
        assert!(!cookie_publish_allowed(None, Some("https://app.example.com.evil.example/"), &allowed));
        assert!(!cookie_publish_allowed(None, None, &allowed));
        assert!(!cookie_publish_allowed(Some("null"), None, &allowed));
        assert!(cookie_publish_allowed(Some("https://x"), None, &["*".to_owned()]));
        assert_eq!(origin_of("http://127.0.0.1:8080/a"), Some("http://127.0.0.1:8080"));
        assert_eq!(origin_of("nonsense"), None);
    }

    #[test]
    fn credentials_go_only_to_listed_origins() {
        let listed = vec!["https://app.example.com/".to_owned()];
        assert_eq!(cors_grant("https://app.example.com", &listed), Some(CorsGrant::Credentials("https://app.example.com")));
        assert_eq!(cors_grant("https://APP.example.com", &listed), Some(CorsGrant::Credentials("https://APP.example.com")));
        assert_eq!(cors_grant("https://evil.example", &listed), None);
        assert_eq!(cors_grant("null", &listed), None);
        let any = vec!["*".to_owned()];
        assert_eq!(cors_grant("https://evil.example", &any), Some(CorsGrant::Anyone));
        assert_eq!(cors_grant("null", &any), Some(CorsGrant::Anyone));
        let both = vec!["*".to_owned(), "https://app.example.com".to_owned()];
        assert_eq!(cors_grant("https://app.example.com", &both), Some(CorsGrant::Credentials("https://app.example.com")));
        assert_eq!(cors_grant("https://evil.example", &both), Some(CorsGrant::Anyone));
        assert_eq!(cors_grant("https://app.example.com", &[]), None);
    }
}
