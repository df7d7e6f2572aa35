//! Where a request's token comes from, and whether a cookie-authenticated publish may come from
//! its page. Draft-dunglas-mercure-07 ("Authorization"): the `Authorization` header first, then
//! the `authorization` query parameter, then the `mercureAuthorization` cookie; a later source
//! is ignored when an earlier one is present. A cookie is sent by the browser to any page that
//! makes a request to the hub, so a publish authenticated by it must come from an allowed
//! `Origin` (or, without one, `Referer`): that keeps other sites from publishing as the user.

/// The cookie a browser sends its token in.
pub const COOKIE: &str = "mercureAuthorization";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    Header,
    Query,
    Cookie,
}

/// The token of a request, from the first source that has one; an `Authorization` header that
/// is not `Bearer <token>` is an error (401), not a request without a token.
pub fn token<'a>(header: Option<&'a str>, query: Option<&'a str>, cookies: Option<&'a str>) -> Result<Option<(&'a str, Source)>, String> {
    if let Some(header) = header {
        let (scheme, rest) = header.trim().split_once(' ').unwrap_or((header.trim(), ""));
        let token = rest.trim();
        if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
            return Err("the Authorization header is not \"Bearer <token>\"".to_owned());
        }
        return Ok(Some((token, Source::Header)));
    }
    if let Some(token) = query.filter(|t| !t.is_empty()) {
        return Ok(Some((token, Source::Query)));
    }
    Ok(cookies.and_then(|c| cookie(c, COOKIE)).filter(|t| !t.is_empty()).map(|t| (t, Source::Cookie)))
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

    #[test]
    fn header_then_query_then_cookie() {
        let cookies = Some("a=1; mercureAuthorization=from-cookie; b=2");
        assert_eq!(token(Some("Bearer h"), Some("q"), cookies), Ok(Some(("h", Source::Header))));
        assert_eq!(token(None, Some("q"), cookies), Ok(Some(("q", Source::Query))));
        assert_eq!(token(None, None, cookies), Ok(Some(("from-cookie", Source::Cookie))));
        assert_eq!(token(None, None, Some("other=1")), Ok(None));
        assert_eq!(token(None, None, None), Ok(None));
        assert!(token(Some("Basic dXNlcjpwYXNz"), None, cookies).is_err());
        assert!(token(Some("Bearer "), None, None).is_err());
        assert_eq!(token(Some("bearer  t "), None, None), Ok(Some(("t", Source::Header))));
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
