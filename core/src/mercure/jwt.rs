//! Verifying the JSON Web Tokens of publishers and subscribers.
//!
//! `jsonwebtoken` (Keats/jsonwebtoken) does the cryptography and the time checks: it is the
//! most used JWT crate for Rust, maintained, and it refuses what a hub must refuse by
//! construction: `alg: none` is not an algorithm it knows (the header does not even parse),
//! and a token whose `alg` is not the one configured fails before any key is used, so an RSA
//! public key can never be used as an HMAC secret. It is built with its pure-Rust backend
//! (`rust_crypto`: no C toolchain for aws-lc). Its RSA dependency's known timing weakness
//! (RUSTSEC-2023-0071) concerns private-key operations; a hub only verifies with public keys.
//!
//! Every failure is a refusal with a reason (the hub answers 401), never a panic: the crate's
//! own code runs under `catch_unwind` as well, so that a bug there cannot reach PHP.
//!
//! Two sets of rules, chosen by the token's header: a Mercure 1.0 access token (RFC 9068,
//! `typ: at+jwt`) must name the hub's trusted issuer (`iss`) and its resource identifier
//! (`aud`) and must expire (`exp`), and grants by `authorization_details`; any other token is
//! judged as draft-07 judged it (no audience, `exp` optional, the `mercure` claim). A token
//! that carries `authorization_details` is judged by 1.0's rules too, and so refused without
//! its `typ`. What is read before verification (`typ`, whether the payload has grants) only
//! selects the stricter rules for a token that asks for them: a token cannot escape them by
//! claiming to be something else, since draft-07's rules give 1.0 grants no meaning.

use super::claims::Claims;
use crate::error::{Error, Result};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use url::Url;

/// What a Mercure 1.0 access token must say to this hub.
#[derive(Clone, Copy, Debug)]
pub struct Expected<'a> {
    /// The issuer the hub's keys are trusted for (`issuer`); None: no access token is trusted.
    pub issuer: Option<&'a str>,
    /// The hub's resource identifier, which `aud` must contain.
    pub audience: &'a str,
    /// The hub's URL, against which the grants' URL patterns resolve.
    pub base: &'a Url,
}

/// Whether a token is to be judged as a Mercure 1.0 access token: its header's `typ` says so
/// ([`has_access_token_type`]), or its payload has `authorization_details`, which only 1.0
/// tokens carry. Such a token without the right `typ` is then refused by 1.0's rules, as the
/// reference hub's compatibility mode refuses it, instead of being read as a draft-07 token
/// that grants nothing. Unverified: it only chooses the stricter rules (and the answers).
pub fn is_access_token(token: &str) -> bool {
    has_access_token_type(token) || segment(token, 1, MAX_PEEKED_PAYLOAD).is_some_and(|payload| payload.contains_key("authorization_details"))
}

/// Whether the token's header says it is an RFC 9068 access token: `typ` `at+jwt`, in any
/// case, with or without the `application/` prefix; also for a header whose `alg` no verifier
/// accepts (`none`), so that such a token is answered as 1.0 answers.
pub fn has_access_token_type(token: &str) -> bool {
    segment(token, 0, 4096).and_then(|header| header.get("typ").and_then(serde_json::Value::as_str).map(access_token_type)).unwrap_or(false)
}

/// The most of a payload read before verification (a token's grants are a few KiB).
const MAX_PEEKED_PAYLOAD: usize = 256 * 1024;

/// The JSON object of a token's `index`th segment, unverified, when it is at most `limit` bytes.
fn segment(token: &str, index: usize, limit: usize) -> Option<serde_json::Map<String, serde_json::Value>> {
    use base64::Engine;
    let text = token.trim().split('.').nth(index)?;
    if text.len() > limit {
        return None;
    }
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')).ok()?;
    match serde_json::from_slice(&bytes) {
        Ok(serde_json::Value::Object(object)) => Some(object),
        _ => None,
    }
}

fn access_token_type(typ: &str) -> bool {
    let lower = typ.to_ascii_lowercase();
    lower.strip_prefix("application/").unwrap_or(&lower) == "at+jwt"
}

/// The algorithms a hub may be configured with: HMAC with a shared secret, RSA (PKCS#1 v1.5
/// and PSS) and ECDSA with a PEM public key.
pub const ALGORITHMS: [&str; 11] = ["HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384"];

/// The default, as in the Go hub and symfony/mercure.
pub const DEFAULT_ALGORITHM: &str = "HS256";

pub struct Verifier {
    key: DecodingKey,
    validation: Validation,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The key is a secret: never shown.
        write!(f, "Verifier({:?})", self.validation.algorithms)
    }
}

impl Verifier {
    /// A verifier of tokens signed with `algorithm` and `key` (an HMAC secret, or a PEM public
    /// key). `option` names the key's option in messages.
    pub fn new(algorithm: &str, key: &[u8], option: &str) -> Result<Verifier> {
        let Some(alg) = parse_algorithm(algorithm) else {
            return Err(Error::invalid_option(
                "jwtAlgorithm",
                format!("\"{}\" is not supported; use one of {}", algorithm.escape_debug(), ALGORITHMS.join(", ")),
            ));
        };
        let key = match alg {
            Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => {
                if key.is_empty() {
                    return Err(Error::invalid_option(option, "an empty HMAC secret would let anyone sign tokens"));
                }
                DecodingKey::from_secret(key)
            }
            Algorithm::ES256 | Algorithm::ES384 => DecodingKey::from_ec_pem(key),
            _ => DecodingKey::from_rsa_pem(key),
        }
        .map_err(|e| Error::invalid_option(option, format!("is not a key for {algorithm}: {e} (RSA and ECDSA keys are PEM public keys)")))?;
        let mut validation = Validation::new(alg);
        // Mercure tokens need not expire (long-lived publisher tokens are common); when they
        // carry `exp` or `nbf`, both are checked to the second, without leeway.
        validation.required_spec_claims.clear();
        validation.leeway = 0;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        // The draft-07 hub has no audience of its own.
        validation.validate_aud = false;
        Ok(Verifier { key, validation })
    }

    /// The token's claims, or why it is refused.
    pub fn verify(&self, token: &str) -> std::result::Result<Claims, String> {
        let decoded =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| jsonwebtoken::decode::<serde_json::Value>(token.trim(), &self.key, &self.validation)));
        match decoded {
            Ok(Ok(data)) => Claims::from_json(&data.claims),
            Ok(Err(error)) => Err(reason(&error)),
            Err(_) => Err("the token could not be verified".to_owned()),
        }
    }

    /// A Mercure 1.0 access token's claims, or why it is refused: its `typ` is `at+jwt`, its
    /// signature is this verifier's, `iss` is the trusted issuer, `aud` contains the hub's
    /// resource identifier, `exp` is present and to come, `nbf` (if any) past, and its
    /// Mercure authorization details are well formed.
    pub fn verify_access_token(&self, token: &str, expected: &Expected<'_>) -> std::result::Result<Claims, String> {
        if !has_access_token_type(token) {
            return Err("the token is not an access token (typ at+jwt)".to_owned());
        }
        let Some(issuer) = expected.issuer else {
            return Err("this hub trusts no issuer of access tokens (it has no issuer option)".to_owned());
        };
        let mut validation = self.validation.clone();
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[expected.audience]);
        validation.validate_aud = true;
        let decoded =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| jsonwebtoken::decode::<serde_json::Value>(token.trim(), &self.key, &validation)));
        match decoded {
            Ok(Ok(data)) => Claims::from_access_token(&data.claims, expected.base),
            Ok(Err(error)) => Err(reason(&error)),
            Err(_) => Err("the token could not be verified".to_owned()),
        }
    }
}

/// Whether `algorithm` is one of [`ALGORITHMS`].
pub fn supported(algorithm: &str) -> bool {
    parse_algorithm(algorithm).is_some()
}

fn parse_algorithm(name: &str) -> Option<Algorithm> {
    Some(match name {
        "HS256" => Algorithm::HS256,
        "HS384" => Algorithm::HS384,
        "HS512" => Algorithm::HS512,
        "RS256" => Algorithm::RS256,
        "RS384" => Algorithm::RS384,
        "RS512" => Algorithm::RS512,
        "PS256" => Algorithm::PS256,
        "PS384" => Algorithm::PS384,
        "PS512" => Algorithm::PS512,
        "ES256" => Algorithm::ES256,
        "ES384" => Algorithm::ES384,
        _ => return None,
    })
}

/// Why a token was refused, in words for the client (nothing about the key).
fn reason(error: &jsonwebtoken::errors::Error) -> String {
    use jsonwebtoken::errors::ErrorKind;
    match error.kind() {
        ErrorKind::InvalidSignature => "the token's signature is not valid".to_owned(),
        ErrorKind::ExpiredSignature => "the token has expired".to_owned(),
        ErrorKind::ImmatureSignature => "the token is not valid yet (nbf)".to_owned(),
        ErrorKind::InvalidAlgorithm => "the token is signed with another algorithm than the hub's".to_owned(),
        ErrorKind::InvalidClaimFormat(claim) => format!("the token's {claim} claim has a wrong type"),
        ErrorKind::MissingRequiredClaim(claim) => format!("the token has no {claim} claim"),
        ErrorKind::InvalidIssuer => "the token's issuer (iss) is not trusted".to_owned(),
        ErrorKind::InvalidAudience => "the token's audience (aud) is not this hub".to_owned(),
        _ => "the token is malformed (not a signed JWT, or an unknown algorithm such as \"none\")".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{encode, EncodingKey, Header};
    use serde_json::{json, Value};

    const SECRET: &[u8] = b"!ChangeThisMercureHubJWTSecretKey!";

    fn now() -> u64 {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
    }

    fn hmac(alg: Algorithm, claims: &Value, secret: &[u8]) -> String {
        encode(&Header::new(alg), claims, &EncodingKey::from_secret(secret).unwrap_or_else(|e| panic!("{e}"))).unwrap_or_default()
    }

    fn verifier(alg: &str, key: &[u8]) -> Verifier {
        match Verifier::new(alg, key, "publisherJwtKey") {
            Ok(v) => v,
            Err(e) => panic!("{e}"),
        }
    }

    fn b64(bytes: &[u8]) -> String {
        use std::fmt::Write;
        // base64url without padding, enough for the hand-made tokens below.
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let n = chunk.iter().enumerate().fold(0u32, |n, (i, &b)| n | (b as u32) << (16 - 8 * i));
            for i in 0..=chunk.len() {
                let _ = out.write_char(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            }
        }
        out
    }

    #[test]
    fn hmac_tokens_verify_for_every_size() {
        let claims = json!({"mercure": {"publish": ["*"]}, "exp": now() + 600});
        for (name, alg) in [("HS256", Algorithm::HS256), ("HS384", Algorithm::HS384), ("HS512", Algorithm::HS512)] {
            let token = hmac(alg, &claims, SECRET);
            let verified = verifier(name, SECRET).verify(&token);
            assert!(verified.as_ref().is_ok_and(|c| c.may_publish(&["x".into()]).is_ok()), "{name}: {verified:?}");
        }
    }

    #[test]
    fn rsa_tokens_verify_with_the_public_key() {
        let token = encode(
            &Header::new(Algorithm::RS256),
            &json!({"mercure": {"subscribe": ["a"]}}),
            &EncodingKey::from_rsa_pem(TEST_RSA_PRIVATE.as_bytes()).unwrap_or_else(|e| panic!("{e}")),
        )
        .unwrap_or_default();
        let v = verifier("RS256", TEST_RSA_PUBLIC.as_bytes());
        assert!(v.verify(&token).is_ok_and(|c| c.receives_private()));
        // The same public key as an HMAC secret (the classic confusion attack) gets nowhere.
        let forged = hmac(Algorithm::HS256, &json!({"mercure": {"subscribe": ["*"]}}), TEST_RSA_PUBLIC.as_bytes());
        assert_eq!(v.verify(&forged).err().as_deref(), Some("the token is signed with another algorithm than the hub's"));
    }

    #[test]
    fn refuses_forged_expired_none_and_malformed_tokens() {
        let v = verifier("HS256", SECRET);
        let claims = json!({"mercure": {"publish": ["*"]}});
        let refused = |token: &str| v.verify(token).err().unwrap_or_default();
        assert_eq!(refused(&hmac(Algorithm::HS256, &claims, b"another secret")), "the token's signature is not valid");
        assert_eq!(refused(&hmac(Algorithm::HS256, &json!({"exp": now() - 1}), SECRET)), "the token has expired");
        assert!(refused(&hmac(Algorithm::HS256, &json!({"nbf": now() + 600}), SECRET)).contains("not valid yet"));
        assert_eq!(refused(&hmac(Algorithm::HS512, &claims, SECRET)), "the token is signed with another algorithm than the hub's");
        let none = format!("{}.{}.", b64(br#"{"alg":"none","typ":"JWT"}"#), b64(br#"{"mercure":{"publish":["*"]}}"#));
        assert!(refused(&none).contains("malformed"), "{}", refused(&none));
        for garbage in ["", ".", "..", "a.b.c", "a.b", "\u{0}\u{0}", &"x".repeat(10_000), "eyJhbGciOiJIUzI1NiJ9.%%%.zz"] {
            assert!(!refused(garbage).is_empty(), "{garbage:?} was accepted");
        }
        // A valid signature over claims of the wrong shape is refused too.
        assert!(refused(&hmac(Algorithm::HS256, &json!({"mercure": {"publish": "*"}}), SECRET)).contains("not an array"));
        assert!(refused(&hmac(Algorithm::HS256, &json!({"exp": "soon"}), SECRET)).contains("exp"));
    }

    #[test]
    fn bad_configuration_names_the_option() {
        let message = |alg: &str, key: &[u8]| Verifier::new(alg, key, "subscriberJwtKey").err().map(|e| e.to_string()).unwrap_or_default();
        assert!(message("none", SECRET).contains("\"jwtAlgorithm\""));
        assert!(message("HS256", b"").contains("\"subscriberJwtKey\""));
        assert!(message("RS256", b"not a pem").contains("\"subscriberJwtKey\""));
    }

    const RESOURCE: &str = "https://localhost/.well-known/mercure";
    const ISSUER: &str = "https://localhost";

    fn hub_url() -> Url {
        Url::parse(RESOURCE).unwrap_or_else(|e| panic!("{e}"))
    }

    fn access_token(typ: Option<&str>, claims: &Value) -> String {
        let mut header = Header::new(Algorithm::HS256);
        header.typ = typ.map(str::to_owned);
        encode(&header, claims, &EncodingKey::from_secret(SECRET).unwrap_or_else(|e| panic!("{e}"))).unwrap_or_default()
    }

    fn grant(actions: Value, topics: Value) -> Value {
        json!({"type": "https://mercure.rocks/authorization-detail", "actions": actions, "topics": topics})
    }

    fn access_claims(details: Value) -> Value {
        json!({"iss": ISSUER, "aud": RESOURCE, "exp": now() + 600, "authorization_details": details})
    }

    fn verify_access(token: &str) -> std::result::Result<Claims, String> {
        let base = hub_url();
        verifier("HS256", SECRET).verify_access_token(token, &Expected { issuer: Some(ISSUER), audience: RESOURCE, base: &base })
    }

    fn publisher_details() -> Value {
        json!([grant(json!(["publish"]), json!([{"match": "*"}]))])
    }

    #[test]
    fn access_tokens_verify_with_issuer_audience_and_expiry() {
        let claims = access_claims(publisher_details());
        let verified = verify_access(&access_token(Some("at+jwt"), &claims));
        assert!(verified.as_ref().is_ok_and(|c| c.access_token && c.may_publish(&["x".into()]).is_ok()), "{verified:?}");
        // Checklist 17: any case, the application/ prefix, aud as an array.
        assert!(verify_access(&access_token(Some("application/AT+JWT"), &claims)).is_ok());
        let mut array = claims.clone();
        array["aud"] = json!(["https://other.example", RESOURCE]);
        assert!(verify_access(&access_token(Some("at+jwt"), &array)).is_ok());
        assert!(has_access_token_type(&access_token(Some("At+Jwt"), &claims)));
        assert!(!has_access_token_type(&access_token(Some("JWT"), &claims)));
        // Grants without the typ: judged (and refused) as an access token.
        assert!(is_access_token(&access_token(Some("JWT"), &claims)));
        assert!(!is_access_token(&access_token(Some("JWT"), &json!({"mercure": {"publish": ["*"]}}))));
        assert!(!is_access_token("not a token"));
        // An unsigned header that claims at+jwt is judged (and refused) by 1.0's rules.
        assert!(is_access_token(&format!("{}.e30.", b64(br#"{"alg":"none","typ":"at+jwt"}"#))));
    }

    #[test]
    fn access_tokens_refuse_every_bad_variant() {
        // Checklist 16: without typ, typ JWT, alg none, exp removed or past, another audience,
        // another issuer; and without aud or iss, or nbf to come.
        let claims = access_claims(publisher_details());
        let with = |key: &str, value: Value| {
            let mut c = claims.clone();
            c[key] = value;
            access_token(Some("at+jwt"), &c)
        };
        let without = |key: &str| {
            let mut c = claims.clone();
            c.as_object_mut().map(|o| o.remove(key));
            access_token(Some("at+jwt"), &c)
        };
        let none = format!("{}.{}.", b64(br#"{"alg":"none","typ":"at+jwt"}"#), b64(claims.to_string().as_bytes()));
        for (what, token) in [
            ("no typ", access_token(None, &claims)),
            ("typ JWT", access_token(Some("JWT"), &claims)),
            ("alg none", none),
            ("no exp", without("exp")),
            ("exp past", with("exp", json!(now() - 1))),
            ("other aud", with("aud", json!("https://other/.well-known/mercure"))),
            ("aud array without it", with("aud", json!(["https://other/.well-known/mercure"]))),
            ("no aud", without("aud")),
            ("other iss", with("iss", json!("https://evil"))),
            ("no iss", without("iss")),
            ("nbf to come", with("nbf", json!(now() + 600))),
            ("forged", access_token(Some("at+jwt"), &claims).replace('.', ".x")),
        ] {
            assert!(verify_access(&token).is_err(), "{what} was accepted");
        }
        // A hub without an issuer trusts no access token at all.
        let base = hub_url();
        let untrusted =
            verifier("HS256", SECRET).verify_access_token(&access_token(Some("at+jwt"), &claims), &Expected { issuer: None, audience: RESOURCE, base: &base });
        assert!(untrusted.is_err());
    }

    #[test]
    fn access_token_grants_are_all_or_nothing() {
        // Checklist 18: each malformed Mercure entry rejects the token.
        for bad in [
            json!([grant(json!([1]), json!([{"match": "a"}]))]),
            json!([grant(json!(["publish"]), json!([]))]),
            json!([grant(json!(["publish"]), json!(["*"]))]),
            json!([grant(json!(["publish"]), json!([{"match": ""}]))]),
            json!([grant(json!(["publish"]), json!([{"match": "a", "match_type": "URLPattern"}]))]),
            Value::Array(vec![grant(json!(["publish"]), json!([{"match": "a"}])); 101]),
        ] {
            assert!(verify_access(&access_token(Some("at+jwt"), &access_claims(bad.clone()))).is_err(), "{bad} was accepted");
        }
        // Checklist 19: other types are ignored, unknown actions too.
        let details = json!([{"type": "other", "topics": "x"}, grant(json!(["publish", "frobnicate"]), json!([{"match": "a"}]))]);
        let c = verify_access(&access_token(Some("at+jwt"), &access_claims(details))).unwrap_or_else(|e| panic!("{e}"));
        assert!(c.may_publish(&["a".into()]).is_ok());
        // Checklist 20: every topic must be granted.
        assert!(c.may_publish(&["a".into(), "b".into()]).is_err());
        assert!(!c.receives_private());
        // Checklist 21: no Mercure detail: valid, and grants nothing.
        let bare = verify_access(&access_token(Some("at+jwt"), &access_claims(json!([])))).unwrap_or_else(|e| panic!("{e}"));
        assert!(bare.may_publish(&["a".into()]).is_err() && !bare.receives_private());
    }

    #[test]
    fn access_tokens_never_get_draft_07_leniency() {
        // The mercure claim of an at+jwt token grants nothing.
        let mut claims = access_claims(json!([]));
        claims["mercure"] = json!({"publish": ["*"], "subscribe": ["*"]});
        let c = verify_access(&access_token(Some("at+jwt"), &claims)).unwrap_or_else(|e| panic!("{e}"));
        assert!(c.may_publish(&["a".into()]).is_err() && !c.receives_private());
        // Subscribe grants with URL patterns, resolved against the hub.
        let details = json!([grant(json!(["subscribe"]), json!([{"match": "/users/:id", "match_type": "urlpattern"}]))]);
        let c = verify_access(&access_token(Some("at+jwt"), &access_claims(details))).unwrap_or_else(|e| panic!("{e}"));
        assert!(c.may_receive_private(["https://localhost/users/7"]));
        assert!(!c.may_receive_private(["https://localhost/users/7/x", "https://example.com/users/7"]));
    }

    // A key pair for these tests only (2048-bit RSA, made with `openssl genrsa`).
    const TEST_RSA_PRIVATE: &str = include_str!("testdata/rsa-private.pem");
    const TEST_RSA_PUBLIC: &str = include_str!("testdata/rsa-public.pem");
}
