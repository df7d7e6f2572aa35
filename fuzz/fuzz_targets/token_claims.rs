//! Token claims of both Mercure drafts: draft-07's `mercure` claim and 1.0's
//! `authorization_details` (RFC 9396), from arbitrary JSON and from shaped entries (actions,
//! topics with match and match_type, payloads), also signed and verified as a whole access
//! token, and arbitrary tokens presented in a header, a query or a cookie. No panic; what is
//! accepted keeps the caps (100 Mercure entries, 100 topic objects), answers every question
//! about a topic, and grants nothing when the claims say nothing.
#![no_main]

use arbitrary::Arbitrary;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use libfuzzer_sys::fuzz_target;
use serde_json::{json, Value};
use sse_core::mercure::details::{self, MAX_ENTRIES, MAX_TOPICS};
use sse_core::mercure::jwt::{self, Expected, Verifier};
use sse_core::mercure::{auth, Claims, Url};

const KEY: &[u8] = b"!ChangeThisMercureHubJWTSecretKey!";
const RESOURCE: &str = "https://localhost/.well-known/mercure";

#[derive(Arbitrary, Debug)]
enum Text<'a> {
    Publish,
    Subscribe,
    Star,
    Exact,
    UrlPattern,
    Any(&'a str),
}

impl Text<'_> {
    fn value(&self) -> Value {
        json!(match self {
            Text::Publish => "publish",
            Text::Subscribe => "subscribe",
            Text::Star => "*",
            Text::Exact => "exact",
            Text::UrlPattern => "urlpattern",
            Text::Any(text) => text,
        })
    }
}

#[derive(Arbitrary, Debug)]
struct Topic<'a> {
    r#match: Option<Text<'a>>,
    match_type: Option<Text<'a>>,
    number: Option<i64>,
}

#[derive(Arbitrary, Debug)]
struct Entry<'a> {
    mercure: bool,
    actions: Option<Vec<Text<'a>>>,
    number_action: bool,
    topics: Option<Vec<Topic<'a>>>,
    bare_topic: Option<&'a str>,
    payload: Option<&'a str>,
    repeat: u8,
}

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    raw: &'a str,
    entries: Vec<Entry<'a>>,
    typ: Option<&'a str>,
    exp_offset: Option<i32>,
    aud_array: bool,
    token: &'a str,
    topics: Vec<&'a str>,
}

fn entry(e: &Entry<'_>) -> Value {
    let mut object = serde_json::Map::new();
    object.insert("type".into(), json!(if e.mercure { details::DETAIL_TYPE } else { "other" }));
    if let Some(actions) = &e.actions {
        let mut list: Vec<Value> = actions.iter().map(Text::value).collect();
        if e.number_action {
            list.push(json!(1));
        }
        object.insert("actions".into(), Value::Array(list));
    }
    if let Some(topics) = &e.topics {
        let mut list: Vec<Value> = topics
            .iter()
            .map(|t| {
                let mut topic = serde_json::Map::new();
                if let Some(m) = &t.r#match {
                    topic.insert("match".into(), m.value());
                }
                if let Some(kind) = &t.match_type {
                    topic.insert("match_type".into(), kind.value());
                }
                if let Some(n) = t.number {
                    topic.insert("match".into(), json!(n));
                }
                Value::Object(topic)
            })
            .collect();
        if let Some(bare) = e.bare_topic {
            list.push(json!(bare));
        }
        object.insert("topics".into(), Value::Array(list));
    }
    if let Some(payload) = e.payload {
        object.insert("payload".into(), serde_json::from_str(payload).unwrap_or(json!(payload)));
    }
    Value::Object(object)
}

/// Whatever was accepted: the caps hold and every question gets an answer.
fn check(claims: &Claims, topics: &[String]) {
    assert!(claims.grants.len() <= MAX_ENTRIES);
    assert!(claims.grants.iter().map(|g| g.topics.len()).sum::<usize>() <= MAX_TOPICS);
    let _ = claims.may_publish(topics);
    let _ = claims.may_receive_private(topics.iter().map(String::as_str));
    if claims.grants.iter().all(|g| !g.publish) && claims.access_token {
        assert!(claims.may_publish(&["x".to_owned()]).is_err(), "publish without a publish grant");
    }
}

fuzz_target!(|input: Input| {
    let Ok(base) = Url::parse(RESOURCE) else { return };
    let topics: Vec<String> = input.topics.iter().take(8).map(|t| t.to_string()).collect();
    let verifier = match Verifier::new("HS256", KEY, "jwtKey") {
        Ok(v) => v,
        Err(_) => return,
    };

    // Arbitrary JSON, as either draft's claims.
    if let Ok(value) = serde_json::from_str::<Value>(input.raw) {
        if let Ok(claims) = Claims::from_json(&value) {
            check(&claims, &topics);
        }
        if let Ok(claims) = Claims::from_access_token(&value, &base) {
            check(&claims, &topics);
        }
        let _ = details::parse(value.get("authorization_details"), &base);
    }

    // Shaped entries (repeated to reach the caps), alone and in a signed access token.
    let list: Vec<Value> = input.entries.iter().take(8).flat_map(|e| std::iter::repeat_n(entry(e), 1 + usize::from(e.repeat % 64))).collect();
    let grants = Value::Array(list);
    let parsed = details::parse(Some(&grants), &base);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
    let claims = json!({
        "iss": "https://localhost",
        "aud": if input.aud_array { json!(["https://other", RESOURCE]) } else { json!(RESOURCE) },
        "exp": now + i64::from(input.exp_offset.unwrap_or(600)),
        "authorization_details": grants,
    });
    let mut header = Header::new(Algorithm::HS256);
    header.typ = Some(input.typ.unwrap_or("at+jwt").to_owned());
    if let Ok(key) = EncodingKey::from_secret(KEY) {
        if let Ok(token) = encode(&header, &claims, &key) {
            let expected = Expected { issuer: Some("https://localhost"), audience: RESOURCE, base: &base };
            let verified = verifier.verify_access_token(&token, &expected);
            if let Ok(claims) = &verified {
                check(claims, &topics);
                assert!(parsed.is_ok(), "a token whose grants do not parse was accepted");
            }
            // Malformed grants never make a valid token, whatever else is right.
            if parsed.is_err() {
                assert!(verified.is_err());
            }
        }
    }

    // Arbitrary tokens, presented every way.
    let token = input.token;
    let _ = jwt::is_access_token(token);
    let header = format!("Bearer {token}");
    let cookies = format!("{}={token}; {}={token}", auth::DEFAULT_COOKIE, auth::COOKIE);
    if let Ok(Some((found, _))) = auth::token(Some(&header), Some(token), Some(&cookies), auth::DEFAULT_COOKIE) {
        let _ = verifier.verify(found);
        let expected = Expected { issuer: Some("https://localhost"), audience: RESOURCE, base: &base };
        let _ = verifier.verify_access_token(found, &expected);
    }
    let _ = auth::token(None, Some(token), Some(&cookies), auth::DEFAULT_COOKIE);
});
