//! The Mercure protocol, as the stable Go hub (v0.24) implements it: draft-dunglas-mercure-07.
//! Pure logic only: what a request says and whether it is allowed; the extension's hub
//! (`src/mercure/`) reads the request, publishes through a broker and streams.
//! - [`selector`], [`template`]: topic selectors (`*`, exact topics, RFC 6570 URI templates);
//! - [`matchers`], [`url_pattern`]: Mercure 1.0's subscribe matchers (`match`, `match_exact`,
//!   `match_urlpattern`), served beside draft-07's `topic=` by the same hub;
//! - [`topic`]: what a published topic may be, and how many an update may have;
//! - [`form`]: the publish body and the subscribe query, with their size limits;
//! - [`update`]: an update as the broker stores it (topics and privacy as broker topics);
//! - [`claims`], [`jwt`]: the tokens of publishers and subscribers;
//! - [`auth`]: where a token comes from, and the origin check of cookie publishes.

pub mod auth;
pub mod claims;
pub mod form;
pub mod jwt;
pub mod matchers;
pub mod selector;
pub mod template;
pub mod topic;
pub mod update;
pub mod url_pattern;

pub use claims::Claims;
pub use selector::{Selector, Selectors};
pub use update::Update;
