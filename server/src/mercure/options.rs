//! The options of a Mercure hub, checked, with their defaults. The PHP extension reads them
//! from `new Sse\MercureHub($broker, [...])` (`src/mercure/options.rs`).

use sse_core::mercure::jwt::Verifier;
use std::time::Duration;

/// Seconds of silence before a heartbeat comment, as in the Go hub (40 s: under nginx's
/// default `fastcgi_read_timeout` of 60 s).
pub const DEFAULT_HEARTBEAT: Duration = Duration::from_secs(40);

#[derive(Debug)]
pub struct HubOptions {
    /// Verifies publishers' tokens; None: the hub takes no HTTP publishes.
    pub publisher: Option<Verifier>,
    /// Verifies subscribers' tokens; None: subscribers cannot present one.
    pub subscriber: Option<Verifier>,
    /// The issuer (`iss`) the keys above are trusted for: Mercure 1.0 access tokens must name
    /// it. None: the hub trusts no access token (draft-07 tokens only).
    pub issuer: Option<String>,
    /// What a 1.0 access token's `aud` must contain; None: the request's
    /// `scheme://host/.well-known/mercure`.
    pub resource_identifier: Option<String>,
    /// The cookie a 1.0 browser sends its token in.
    pub cookie_name: String,
    /// Subscribers without a token get public updates (default false: they are refused).
    pub anonymous: bool,
    /// Origins whose pages may subscribe and publish with credentials (CORS); `*` any.
    pub cors_origins: Vec<String>,
    /// Origins a cookie-authenticated publish may come from.
    pub publish_origins: Vec<String>,
    pub heartbeat: Duration,
    /// When a subscriber cannot resume (its id is older than the history or unknown), write
    /// ext-sse's `sse-reset` event first (default false: as the draft, the stream just goes on).
    pub reset_events: bool,
    /// Active subscriptions (Mercure 1.0): subscription events and the subscription API
    /// (default false, as the Go hub's `subscriptions` setting).
    pub subscriptions: bool,
}

impl Default for HubOptions {
    fn default() -> Self {
        HubOptions {
            publisher: None,
            subscriber: None,
            issuer: None,
            resource_identifier: None,
            cookie_name: sse_core::mercure::auth::DEFAULT_COOKIE.to_owned(),
            anonymous: false,
            cors_origins: Vec::new(),
            publish_origins: Vec::new(),
            heartbeat: DEFAULT_HEARTBEAT,
            reset_events: false,
            subscriptions: false,
        }
    }
}
