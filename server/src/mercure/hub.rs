//! One hub: a broker, its settings and the hub's options, and what it does with a request.

use super::answer;
use super::options::HubOptions;
use super::request::Request;
use super::{publish, subscribe, subscriptions, Reply};
use crate::broker::{Engine, Settings};
use crate::error::Result;
use sse_core::mercure::bearer;
use std::sync::Arc;

pub struct Hub {
    pub engine: Arc<dyn Engine>,
    pub settings: Settings,
    pub options: HubOptions,
}

impl Hub {
    /// What the hub answers `request` with (an error: the extension's own failure, such as a
    /// stream that could not start, not the request's).
    pub fn serve(&self, request: &Request) -> Result<Reply> {
        // RFC 9728 puts the hub's metadata at a path of its own, which the app routes to the
        // hub's script as it routes the hub's path.
        if request.path == bearer::METADATA_PATH {
            return Ok(self.metadata(request));
        }
        if subscriptions::is_api(request) {
            return subscriptions::api(self, request);
        }
        match request.method.as_str() {
            // Not HEAD: a subscription is a stream, which a HEAD would hold open with no body.
            // QUERY (Mercure 1.0) is a GET whose parameters may also come in a form body.
            "GET" | "QUERY" => subscribe::handle(self, request),
            "POST" => Ok(publish::handle(self, request)),
            "OPTIONS" => Ok(self.preflight(request)),
            _ => Ok(answer::refuse(
                405,
                "the hub answers GET and QUERY (subscribe), POST (publish) and OPTIONS",
                &[("Allow".into(), "GET, QUERY, POST, OPTIONS".into())],
            )),
        }
    }

    /// The CORS headers for this request's origin, when it is one of `corsOrigins`.
    pub fn cors(&self, request: &Request) -> Vec<(String, String)> {
        answer::cors_headers(request.origin.as_deref(), &self.options.cors_origins)
    }

    /// The RFC 9728 document (Mercure 1.0's discovery of how to get a token), for a hub that
    /// verifies tokens: its resource identifier, the header as the way to present a token, the
    /// authorization details it reads and its cookie.
    fn metadata(&self, request: &Request) -> Reply {
        let cors = self.cors(request);
        if !matches!(request.method.as_str(), "GET" | "HEAD") {
            return answer::refuse(405, "the metadata is read with GET", &[("Allow".into(), "GET, HEAD".into())]);
        }
        if self.options.publisher.is_none() && self.options.subscriber.is_none() {
            return answer::refuse(404, "this hub verifies no tokens", &cors);
        }
        let derived = request.origin().map(|origin| format!("{origin}{}", bearer::HUB_PATH));
        let Some(resource) = self.options.resource_identifier.clone().or(derived) else {
            return answer::refuse(400, "the request's Host is not a host", &cors);
        };
        answer::json(200, &bearer::metadata_document(&resource, &self.options.cookie_name, self.options.subscriptions), &cors)
    }

    /// A CORS preflight: what a page of an allowed origin may send (nothing for another one,
    /// which the browser then refuses).
    fn preflight(&self, request: &Request) -> Reply {
        let mut headers = self.cors(request);
        if !headers.is_empty() {
            headers.push(("Access-Control-Allow-Methods".into(), "GET, QUERY, POST, OPTIONS".into()));
            headers.push(("Access-Control-Allow-Headers".into(), "Authorization, Content-Type, Last-Event-ID, Cache-Control".into()));
            headers.push(("Access-Control-Max-Age".into(), "600".into()));
        }
        answer::text(204, "", &headers)
    }
}
