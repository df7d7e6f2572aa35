//! The Mercure protocol: draft-dunglas-mercure-07, as the stable Go hub (v0.24) implements it,
//! and Mercure 1.0's tokens (RFC 9068 access tokens with RFC 9396 grants) beside it.
//! Pure logic only: what a request says and whether it is allowed; the extension's hub
//! (`src/mercure/`) reads the request, publishes through a broker and streams.
//! - [`selector`], [`template`]: topic selectors (`*`, exact topics, RFC 6570 URI templates);
//! - [`matchers`], [`url_pattern`]: Mercure 1.0's subscribe matchers (`match`, `match_exact`,
//!   `match_urlpattern`), served beside draft-07's `topic=` by the same hub;
//! - [`topic`]: what a published topic may be, and how many an update may have;
//! - [`form`]: the publish body and the subscribe query, with their size limits;
//! - [`update`]: an update as the broker stores it (topics and privacy as broker topics);
//! - [`rules`]: what no update may be (reserved topics, reserved ids and types);
//! - [`claims`], [`jwt`]: the tokens of publishers and subscribers, in either draft;
//! - [`details`], [`grant_pattern`]: a 1.0 token's `authorization_details` and their URL patterns;
//! - [`auth`]: where a token comes from, and the origin check of cookie publishes;
//! - [`bearer`]: 1.0's challenges and its RFC 9728 metadata document;
//! - [`subscriptions`]: 1.0's active subscriptions (their topic, document, events, API paths).

pub mod auth;
pub mod bearer;
pub mod claims;
pub mod details;
pub mod form;
pub mod grant_pattern;
pub mod jwt;
pub mod matchers;
pub mod rules;
pub mod selector;
pub mod subscriptions;
pub mod template;
pub mod topic;
pub mod update;
pub mod url_pattern;

pub use claims::Claims;
pub use selector::{Selector, Selectors};
pub use update::Update;
/// The URLs of the hub and its grants' patterns.
pub use url::Url;
