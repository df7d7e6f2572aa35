//! The Mercure hub: what it does with a request, and `mercure_publish()`'s path into a broker.
//!
//! The protocol itself (selectors, the publish form, tokens) is pure and lives in
//! `sse_core::mercure`; this side connects it to a request and to the brokers, and answers with
//! a value ([`Reply`]) that the PHP extension writes: a short answer, or an event stream.
//! - [`publish`]: an update into a broker, the one path `mercure_publish()` and `POST` share;
//! - [`hub`]: one hub (broker, settings, options) and the dispatch of a request by method;
//! - [`options`]: the hub's options, with their defaults;
//! - [`request`]: what a request says (method, headers, query, body);
//! - [`answer`]: the short answers (200 with an id, 4xx with a reason, CORS preflights);
//! - [`token`]: who a request is (its token, verified by the draft it speaks) or its refusal;
//! - [`subscribe`]: a `GET` or `QUERY`, as a subscribed event stream;
//! - [`subscriptions`]: active subscriptions (subscription events and the subscription API);
//! - [`cursor`]: where a subscription resumes (the broker's id or a publisher's), and what its
//!   Mercure 1.0 response header says.
//!
//! Updates are broker events: every machine that shares the broker (embedded on one machine,
//! Redis on many) delivers every update to its own subscribers, each exactly once and in
//! publish order, and a reconnecting subscriber resumes by the update's id.

pub mod answer;
pub mod cursor;
pub mod hub;
pub mod options;
pub mod publish;
pub mod request;
pub mod subscribe;
pub mod subscriptions;
pub mod token;

use crate::stream::Settings;
use crate::subscription::Subscription;

/// What the hub answers a request with.
pub enum Reply {
    /// A complete answer: a status, headers and a short body.
    Short(answer::ShortAnswer),
    /// An event stream of a subscription, with these settings and extra headers (CORS, the
    /// resume header); the extension starts it and detaches it like `SseEmitter::detach()`.
    Stream(StreamPlan),
}

pub struct StreamPlan {
    pub settings: Settings,
    pub headers: Vec<(String, String)>,
    pub subscription: Subscription,
}
