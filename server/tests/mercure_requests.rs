//! The Mercure hub's request handling, with no PHP: a request in, a reply out (a short answer
//! or an event stream's plan), on the memory broker.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use jsonwebtoken::{encode, EncodingKey, Header};
use sse_core::mercure::jwt::Verifier;
use sse_server::broker::memory::MemoryEngine;
use sse_server::broker::{Engine, Settings};
use sse_server::mercure::answer::ShortAnswer;
use sse_server::mercure::hub::Hub;
use sse_server::mercure::options::HubOptions;
use sse_server::mercure::request::Request;
use sse_server::mercure::Reply;
use std::sync::Arc;

const SECRET: &[u8] = b"!ChangeThisMercureHubJWTSecretKey!";

fn hub(options: HubOptions) -> Hub {
    let engine: Arc<dyn Engine> = Arc::new(MemoryEngine::new().unwrap());
    Hub { engine, settings: Settings::default(), options }
}

fn keyed() -> HubOptions {
    let verifier = |option| Some(Verifier::new("HS256", SECRET, option).unwrap());
    HubOptions { publisher: verifier("publisherJwtKey"), subscriber: verifier("subscriberJwtKey"), ..HubOptions::default() }
}

fn token(claims: serde_json::Value) -> String {
    encode(&Header::default(), &claims, &EncodingKey::from_secret(SECRET).unwrap()).unwrap()
}

fn request(method: &str, query: &str) -> Request {
    let mut request = Request::new(method, "/.well-known/mercure");
    request.query = query.as_bytes().to_vec();
    request.host = "example.com".into();
    request
}

fn short(reply: Reply) -> ShortAnswer {
    match reply {
        Reply::Short(answer) => answer,
        Reply::Stream(_) => panic!("a stream, not a short answer"),
    }
}

fn header<'a>(answer: &'a [(String, String)], name: &str) -> Option<&'a str> {
    answer.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
}

fn publish(hub: &Hub, body: &str, bearer: Option<&str>) -> ShortAnswer {
    let mut post = request("POST", "");
    post.content_type = Some("application/x-www-form-urlencoded".into());
    post.authorization = bearer.map(|t| format!("Bearer {t}"));
    post.body_source = Box::new(body.as_bytes().to_vec());
    short(hub.serve(&post).unwrap())
}

#[test]
fn a_publish_without_a_token_is_refused_and_stores_nothing() {
    let hub = hub(keyed());
    let answer = publish(&hub, "topic=a&data=x", None);
    assert_eq!(answer.status, 401);
    assert!(header(&answer.headers, "WWW-Authenticate").is_some());
    assert_eq!(hub.engine.last_position().unwrap(), sse_core::broker::Position::ZERO);
}

#[test]
fn a_publish_with_a_token_that_grants_the_topic_is_stored_with_the_publishers_id() {
    let hub = hub(keyed());
    let jwt = token(serde_json::json!({"mercure": {"publish": ["*"]}}));
    let answer = publish(&hub, "topic=https://example.com/books/1&data=x&id=urn:uuid:1", Some(&jwt));
    assert_eq!((answer.status, answer.body.as_str()), (200, "urn:uuid:1"));
    assert_ne!(hub.engine.last_position().unwrap(), sse_core::broker::Position::ZERO);
}

#[test]
fn a_publish_outside_the_tokens_topics_is_forbidden_and_stores_nothing() {
    let hub = hub(keyed());
    let jwt = token(serde_json::json!({"mercure": {"publish": ["https://example.com/other"]}}));
    let answer = publish(&hub, "topic=https://example.com/books/1&data=x", Some(&jwt));
    assert_eq!(answer.status, 403);
    assert_eq!(hub.engine.last_position().unwrap(), sse_core::broker::Position::ZERO);
}

#[test]
fn a_publish_body_over_the_limit_is_refused() {
    let hub = hub(keyed());
    let jwt = token(serde_json::json!({"mercure": {"publish": ["*"]}}));
    let mut post = request("POST", "");
    post.authorization = Some(format!("Bearer {jwt}"));
    post.content_length = Some(u64::MAX);
    assert_eq!(short(hub.serve(&post).unwrap()).status, 413);
}

#[test]
fn a_subscription_without_a_matcher_is_a_400() {
    let hub = hub(HubOptions { anonymous: true, ..HubOptions::default() });
    let answer = short(hub.serve(&request("GET", "")).unwrap());
    assert_eq!(answer.status, 400);
}

#[test]
fn an_unknown_match_parameter_is_a_400() {
    let hub = hub(HubOptions { anonymous: true, ..HubOptions::default() });
    assert_eq!(short(hub.serve(&request("GET", "matchx=a")).unwrap()).status, 400);
}

#[test]
fn an_anonymous_subscription_on_a_hub_that_wants_tokens_is_a_401() {
    let hub = hub(keyed());
    assert_eq!(short(hub.serve(&request("GET", "topic=*")).unwrap()).status, 401);
}

#[test]
fn a_draft_07_subscription_is_a_stream_with_its_resume_header_and_the_hubs_heartbeat() {
    let hub = hub(HubOptions { anonymous: true, ..HubOptions::default() });
    match hub.serve(&request("GET", "topic=*")).unwrap() {
        Reply::Stream(plan) => {
            assert_eq!(header(&plan.headers, "Last-Event-ID"), Some("earliest"));
            assert_eq!(plan.settings.heartbeat, sse_server::mercure::options::DEFAULT_HEARTBEAT);
        }
        Reply::Short(answer) => panic!("a short answer: {answer:?}"),
    }
}

#[test]
fn a_1_0_subscription_with_a_cursor_says_where_it_resumes() {
    let hub = hub(HubOptions { anonymous: true, ..HubOptions::default() });
    match hub.serve(&request("GET", "match=*&last_event_id=earliest")).unwrap() {
        Reply::Stream(plan) => assert_eq!(header(&plan.headers, "Mercure-Last-Event-ID"), Some("earliest")),
        Reply::Short(answer) => panic!("a short answer: {answer:?}"),
    }
}

#[test]
fn a_token_that_expires_bounds_the_streams_duration() {
    let hub = hub(keyed());
    let exp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() + 600;
    let jwt = token(serde_json::json!({"mercure": {"subscribe": ["*"]}, "exp": exp}));
    match hub.serve(&request("GET", &format!("topic=*&authorization={jwt}"))).unwrap() {
        Reply::Stream(plan) => {
            let left = plan.settings.max_duration.as_secs();
            assert!((590..=600).contains(&left), "{left} s");
        }
        Reply::Short(answer) => panic!("a short answer: {answer:?}"),
    }
}

#[test]
fn a_preflight_from_an_allowed_origin_gets_cors_headers_and_another_gets_none() {
    let hub = hub(HubOptions { cors_origins: vec!["https://app.example".into()], ..HubOptions::default() });
    let mut allowed = request("OPTIONS", "");
    allowed.origin = Some("https://app.example".into());
    let answer = short(hub.serve(&allowed).unwrap());
    assert_eq!(answer.status, 204);
    assert_eq!(header(&answer.headers, "Access-Control-Allow-Origin"), Some("https://app.example"));
    let mut other = request("OPTIONS", "");
    other.origin = Some("https://evil.example".into());
    assert_eq!(header(&short(hub.serve(&other).unwrap()).headers, "Access-Control-Allow-Origin"), None);
}

#[test]
fn other_methods_are_a_405_naming_the_allowed_ones() {
    let hub = hub(HubOptions::default());
    let answer = short(hub.serve(&request("DELETE", "")).unwrap());
    assert_eq!(answer.status, 405);
    assert_eq!(header(&answer.headers, "Allow"), Some("GET, QUERY, POST, OPTIONS"));
}

#[test]
fn the_metadata_is_served_only_by_a_hub_that_verifies_tokens() {
    let mut metadata = request("GET", "");
    metadata.path = sse_core::mercure::bearer::METADATA_PATH.into();
    assert_eq!(short(hub(HubOptions::default()).serve(&metadata).unwrap()).status, 404);
    let answer = short(hub(keyed()).serve(&metadata).unwrap());
    assert_eq!(answer.status, 200);
    assert_eq!(answer.content_type, "application/json");
    assert!(answer.body.contains("https://example.com") || answer.body.contains("http://example.com"), "{}", answer.body);
}
