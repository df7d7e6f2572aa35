//! The claims of a hub token, in either draft:
//! - draft-dunglas-mercure-07 ("Authorization"): a `mercure` object with `publish` (topic
//!   selectors the bearer may publish to), `subscribe` (selectors of the private updates it may
//!   receive) and `payload` (anything, for the app);
//! - Mercure 1.0 (RFC 9068 access tokens): the grants of its `authorization_details` (see
//!   [`super::details`]); the `mercure` claim means nothing there.
//!
//! and `exp`, when the token expires (a subscription ends then). Both shapes end up as the same
//! [`Access`] per action, so that publishing and subscribing ask one question whatever the draft.

use super::details::{self, Grant, TopicMatcher};
use super::selector::Selectors;
use serde_json::Value;
use std::sync::Arc;
use url::Url;

/// The topics a token allows for one action.
#[derive(Clone, Debug)]
pub enum Access {
    /// draft-07: the selectors of `mercure.publish` or `mercure.subscribe`.
    Selectors(Selectors),
    /// 1.0: the topic matchers of every grant of the action, with the hub's URL that URL
    /// patterns and relative topics resolve against.
    Grants { matchers: Arc<[TopicMatcher]>, base: Arc<Url> },
}

impl Access {
    pub fn is_empty(&self) -> bool {
        match self {
            Access::Selectors(selectors) => selectors.is_empty(),
            Access::Grants { matchers, .. } => matchers.is_empty(),
        }
    }

    pub fn matches(&self, topic: &str) -> bool {
        match self {
            Access::Selectors(selectors) => selectors.matches(topic),
            Access::Grants { matchers, base } => matchers.iter().any(|m| m.matches(topic, base)),
        }
    }

    /// Whether one of `topics` is allowed.
    pub fn matches_any<'a>(&self, topics: impl IntoIterator<Item = &'a str>) -> bool {
        topics.into_iter().any(|topic| self.matches(topic))
    }

    /// The first of `topics` that is not allowed.
    pub fn first_uncovered<'a>(&self, topics: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
        topics.into_iter().find(|topic| !self.matches(topic))
    }
}

#[derive(Clone, Debug, Default)]
pub struct Claims {
    /// What the token allows publishing to; None when it says nothing about it.
    pub publish: Option<Access>,
    /// Which private updates the token may receive; None when it says nothing about it.
    pub subscribe: Option<Access>,
    /// `mercure.payload` (draft-07), as JSON.
    pub payload: Option<Value>,
    /// `exp`, seconds since the Unix epoch.
    pub expires_at: Option<u64>,
    /// The Mercure grants of a 1.0 token (none for draft-07), payloads included.
    pub grants: Vec<Grant>,
    /// A 1.0 access token (`typ: at+jwt`), judged by 1.0's rules and answered as 1.0 asks.
    pub access_token: bool,
}

impl Claims {
    /// The claims of a draft-07 token's decoded payload, or why they cannot be used.
    pub fn from_json(payload: &Value) -> Result<Claims, String> {
        let Some(object) = payload.as_object() else {
            return Err("the token's payload is not a JSON object".to_owned());
        };
        let expires_at = expires_at(object.get("exp"))?;
        let mut claims = Claims { expires_at, ..Claims::default() };
        let Some(mercure) = object.get("mercure") else { return Ok(claims) };
        let Some(mercure) = mercure.as_object() else {
            return Err("the token's mercure claim is not an object".to_owned());
        };
        claims.publish = selectors(mercure.get("publish"), "mercure.publish")?.map(Access::Selectors);
        claims.subscribe = selectors(mercure.get("subscribe"), "mercure.subscribe")?.map(Access::Selectors);
        claims.payload = mercure.get("payload").cloned();
        Ok(claims)
    }

    /// The claims of a verified 1.0 access token's payload (`typ`, `iss`, `aud` and the times
    /// are the verifier's), or why the token is invalid. `base` is the hub's URL.
    pub fn from_access_token(payload: &Value, base: &Url) -> Result<Claims, String> {
        let Some(object) = payload.as_object() else {
            return Err("the token's payload is not a JSON object".to_owned());
        };
        let Some(expires_at) = expires_at(object.get("exp"))? else {
            return Err("an access token must expire (exp)".to_owned());
        };
        let grants = details::parse(object.get("authorization_details"), base).map_err(|reason| format!("the token's {reason}"))?;
        let base = Arc::new(base.clone());
        let access = |action: fn(&Grant) -> bool| -> Access {
            let matchers: Vec<TopicMatcher> = grants.iter().filter(|g| action(g)).flat_map(|g| g.topics.iter().cloned()).collect();
            Access::Grants { matchers: matchers.into(), base: base.clone() }
        };
        Ok(Claims {
            publish: Some(access(|g| g.publish)),
            subscribe: Some(access(|g| g.subscribe)),
            payload: None,
            expires_at: Some(expires_at),
            grants,
            access_token: true,
        })
    }

    /// Whether the bearer may publish an update to all of `topics`; else why not (403).
    pub fn may_publish(&self, topics: &[String]) -> Result<(), String> {
        let claim = if self.access_token { "publish grants" } else { "mercure.publish selectors" };
        let access = match &self.publish {
            Some(access) if !access.is_empty() => access,
            _ if self.access_token => return Err("the token grants no publish".to_owned()),
            _ => return Err("the token's mercure.publish claim allows no topic".to_owned()),
        };
        match access.first_uncovered(topics.iter().map(String::as_str)) {
            None => Ok(()),
            Some(topic) => Err(format!("the topic \"{}\" is not covered by the token's {claim}; nothing was published", topic.escape_debug())),
        }
    }

    /// Whether the bearer may receive a private update of `topics`.
    pub fn may_receive_private<'a>(&self, topics: impl IntoIterator<Item = &'a str>) -> bool {
        self.subscribe.as_ref().is_some_and(|access| access.matches_any(topics))
    }

    /// Whether the bearer may receive any private update at all.
    pub fn receives_private(&self) -> bool {
        self.subscribe.as_ref().is_some_and(|s| !s.is_empty())
    }
}

fn expires_at(exp: Option<&Value>) -> Result<Option<u64>, String> {
    match exp {
        None | Some(Value::Null) => Ok(None),
        Some(exp) => match exp.as_f64() {
            Some(seconds) if seconds.is_finite() && seconds >= 0.0 => Ok(Some(seconds as u64)),
            _ => Err("the token's exp claim is not a number of seconds".to_owned()),
        },
    }
}

fn selectors(value: Option<&Value>, name: &str) -> Result<Option<Selectors>, String> {
    let Some(value) = value else { return Ok(None) };
    let Some(items) = value.as_array() else {
        return Err(format!("the token's {name} claim is not an array of topic selectors"));
    };
    let mut texts = Vec::with_capacity(items.len());
    for item in items {
        match item.as_str() {
            Some(text) => texts.push(text),
            None => return Err(format!("the token's {name} claim holds something other than a string")),
        }
    }
    Selectors::parse(texts, name).map(Some).map_err(|e| format!("the token's {name} claim: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn claims(value: Value) -> Claims {
        match Claims::from_json(&value) {
            Ok(c) => c,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn publish_needs_every_topic_covered() {
        let c = claims(json!({"mercure": {"publish": ["https://example.com/books/{id}"]}}));
        assert!(c.may_publish(&["https://example.com/books/1".into()]).is_ok());
        let refused = c.may_publish(&["https://example.com/books/1".into(), "https://example.com/users/1".into()]);
        assert!(refused.as_ref().err().is_some_and(|e| e.contains("\"https://example.com/users/1\" is not covered")), "{refused:?}");
        assert!(claims(json!({"mercure": {"publish": []}})).may_publish(&["a".into()]).is_err());
        assert!(claims(json!({})).may_publish(&["a".into()]).is_err());
        assert!(claims(json!({"mercure": {"publish": ["*"]}})).may_publish(&["a".into(), "b".into()]).is_ok());
    }

    #[test]
    fn private_updates_need_a_matching_subscribe_selector() {
        let c = claims(json!({"mercure": {"subscribe": ["https://example.com/users/7/{+rest}"], "payload": {"user": 7}}, "exp": 1_900_000_000}));
        assert!(c.may_receive_private(["https://example.com/users/7/orders"]));
        assert!(!c.may_receive_private(["https://example.com/users/8/orders"]));
        assert!(c.receives_private());
        assert_eq!(c.expires_at, Some(1_900_000_000));
        assert_eq!(c.payload, Some(json!({"user": 7})));
        assert!(!claims(json!({"mercure": {}})).may_receive_private(["a"]));
    }

    #[test]
    fn access_token_grants_cover_each_topic_by_any_entry_of_the_action() {
        let base = Url::parse("https://hub.example/.well-known/mercure").unwrap_or_else(|e| panic!("{e}"));
        let detail = |actions: Value, topics: Value| json!({"type": details::DETAIL_TYPE, "actions": actions, "topics": topics});
        let payload = json!({"exp": 1_900_000_000, "authorization_details": [
            detail(json!(["publish"]), json!([{"match": "a"}])),
            detail(json!(["publish", "subscribe"]), json!([{"match": "/b/:id", "match_type": "urlpattern"}])),
            detail(json!(["subscribe"]), json!([{"match": "c"}])),
        ], "mercure": {"publish": ["*"]}});
        let c = Claims::from_access_token(&payload, &base).unwrap_or_else(|e| panic!("{e}"));
        assert!(c.access_token);
        assert!(c.may_publish(&["a".into(), "https://hub.example/b/1".into()]).is_ok());
        let refused = c.may_publish(&["a".into(), "c".into()]);
        assert!(refused.as_ref().err().is_some_and(|e| e.contains("\"c\" is not covered by the token's publish grants")), "{refused:?}");
        assert!(c.may_receive_private(["c"]) && c.may_receive_private(["/b/2"]) && !c.may_receive_private(["a"]));
        assert_eq!(c.expires_at, Some(1_900_000_000));
        assert_eq!(c.payload, None, "the mercure claim means nothing in an access token");
        // exp is required here, whatever the verifier did.
        assert!(Claims::from_access_token(&json!({"authorization_details": []}), &base).is_err());
    }

    #[test]
    fn malformed_claims_are_refused_with_their_name() {
        for (payload, expected) in [
            (json!([1]), "not a JSON object"),
            (json!({"mercure": "x"}), "mercure claim is not an object"),
            (json!({"mercure": {"publish": "*"}}), "mercure.publish claim is not an array"),
            (json!({"mercure": {"subscribe": [1]}}), "mercure.subscribe claim holds something"),
            (json!({"mercure": {"subscribe": ["/a/{b"]}}), "\"/a/{b\" is malformed"),
            (json!({"exp": "tomorrow"}), "exp claim"),
        ] {
            let message = Claims::from_json(&payload).err().unwrap_or_default();
            assert!(message.contains(expected), "{payload}: {message}");
        }
    }
}
