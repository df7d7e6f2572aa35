//! The claims of a hub token (draft-dunglas-mercure-07, "Authorization"): a `mercure` object
//! with `publish` (topic selectors the bearer may publish to), `subscribe` (selectors of the
//! private updates it may receive) and `payload` (anything, for the app); and `exp`, when the
//! token expires (a subscription ends then).

use super::selector::Selectors;
use serde_json::Value;

#[derive(Clone, Debug, Default)]
pub struct Claims {
    /// `mercure.publish`; None when the claim is absent.
    pub publish: Option<Selectors>,
    /// `mercure.subscribe`; None when the claim is absent.
    pub subscribe: Option<Selectors>,
    /// `mercure.payload`, as JSON.
    pub payload: Option<Value>,
    /// `exp`, seconds since the Unix epoch.
    pub expires_at: Option<u64>,
}

impl Claims {
    /// The claims of a decoded payload, or why they cannot be used.
    pub fn from_json(payload: &Value) -> Result<Claims, String> {
        let Some(object) = payload.as_object() else {
            return Err("the token's payload is not a JSON object".to_owned());
        };
        let expires_at = match object.get("exp") {
            None | Some(Value::Null) => None,
            Some(exp) => match exp.as_f64() {
                Some(seconds) if seconds.is_finite() && seconds >= 0.0 => Some(seconds as u64),
                _ => return Err("the token's exp claim is not a number of seconds".to_owned()),
            },
        };
        let mut claims = Claims { expires_at, ..Claims::default() };
        let Some(mercure) = object.get("mercure") else { return Ok(claims) };
        let Some(mercure) = mercure.as_object() else {
            return Err("the token's mercure claim is not an object".to_owned());
        };
        claims.publish = selectors(mercure.get("publish"), "mercure.publish")?;
        claims.subscribe = selectors(mercure.get("subscribe"), "mercure.subscribe")?;
        claims.payload = mercure.get("payload").cloned();
        Ok(claims)
    }

    /// Whether the bearer may publish an update to all of `topics`; else why not (403).
    pub fn may_publish(&self, topics: &[String]) -> Result<(), String> {
        let selectors = match &self.publish {
            Some(selectors) if !selectors.is_empty() => selectors,
            _ => return Err("the token's mercure.publish claim allows no topic".to_owned()),
        };
        match selectors.first_uncovered(topics.iter().map(String::as_str)) {
            None => Ok(()),
            Some(topic) => Err(format!("the topic \"{}\" is not covered by the token's mercure.publish selectors; nothing was published", topic.escape_debug())),
        }
    }

    /// Whether the bearer may receive a private update of `topics`.
    pub fn may_receive_private<'a>(&self, topics: impl IntoIterator<Item = &'a str>) -> bool {
        self.subscribe.as_ref().is_some_and(|selectors| selectors.matches_any(topics))
    }

    /// Whether the bearer may receive any private update at all.
    pub fn receives_private(&self) -> bool {
        self.subscribe.as_ref().is_some_and(|s| !s.is_empty())
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
