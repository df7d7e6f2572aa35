//! Reads the options of `new Sse\MercureHub($broker, [...])` into the hub's `HubOptions`
//! (`sse_server::mercure::options`, with their defaults). The names follow the Go hub's
//! settings (`publisher_jwt_key` becomes `publisherJwtKey`).

use crate::error::{Error, Result};
use crate::option_values as values;
use ext_php_rs::types::{ZendHashTable, Zval};
use sse_core::mercure::jwt::{self, Verifier, DEFAULT_ALGORITHM};
use sse_server::mercure::options::HubOptions;
use std::time::Duration;

const NAMES: &str = "publisherJwtKey, subscriberJwtKey, jwtKey, jwtAlgorithm, publisherJwtAlgorithm, subscriberJwtAlgorithm, issuer, resourceIdentifier, cookieName, anonymous, corsOrigins, publishOrigins, heartbeat, resetEvents and subscriptions";

/// The hub's options from the PHP array (None: every default).
pub fn from_array(array: Option<&ZendHashTable>) -> Result<HubOptions> {
    let mut keys: [Option<Vec<u8>>; 3] = [None, None, None]; // publisher, subscriber, both
    let mut algorithms: [Option<String>; 3] = [None, None, None];
    let mut options = HubOptions::default();
    for (key, value) in array.into_iter().flatten() {
        let name = values::name_of(key);
        let value = value.dereference();
        match name.as_str() {
            "publisherJwtKey" => keys[0] = key_of(&name, value)?,
            "subscriberJwtKey" => keys[1] = key_of(&name, value)?,
            "jwtKey" => keys[2] = key_of(&name, value)?,
            "publisherJwtAlgorithm" => algorithms[0] = string_of(&name, value)?,
            "subscriberJwtAlgorithm" => algorithms[1] = string_of(&name, value)?,
            "jwtAlgorithm" => algorithms[2] = string_of(&name, value)?,
            "issuer" => options.issuer = issuer(&name, value)?,
            "resourceIdentifier" => options.resource_identifier = resource(&name, value)?,
            "cookieName" => options.cookie_name = cookie_name(&name, value)?,
            "anonymous" => options.anonymous = values::boolean(&name, value)?,
            "corsOrigins" => options.cors_origins = origins(&name, value)?,
            "publishOrigins" => options.publish_origins = origins(&name, value)?,
            "heartbeat" => options.heartbeat = seconds(&name, value)?,
            "resetEvents" => options.reset_events = values::boolean(&name, value)?,
            "subscriptions" => options.subscriptions = values::boolean(&name, value)?,
            _ => return Err(values::unknown(name, NAMES)),
        }
    }
    let [publisher_key, subscriber_key, both_key] = keys;
    // Every algorithm name is checked, also one without a key to use it with.
    for (name, alg) in ["publisherJwtAlgorithm", "subscriberJwtAlgorithm", "jwtAlgorithm"].iter().zip(&algorithms) {
        if let Some(alg) = alg.as_deref().filter(|a| !jwt::supported(a)) {
            return Err(Error::invalid_option(*name, format!("\"{}\" is not supported; use one of {}", alg.escape_debug(), jwt::ALGORITHMS.join(", "))).into());
        }
    }
    let [publisher_alg, subscriber_alg, both_alg] = algorithms;
    let default_alg = both_alg.unwrap_or_else(|| DEFAULT_ALGORITHM.to_owned());
    let verifier = |key: Option<Vec<u8>>, alg: Option<String>, option: &str| -> Result<Option<Verifier>> {
        match key {
            None => Ok(None),
            Some(key) => Ok(Some(Verifier::new(alg.as_deref().unwrap_or(&default_alg), &key, option)?)),
        }
    };
    let publisher_option = if publisher_key.is_some() { "publisherJwtKey" } else { "jwtKey" };
    let subscriber_option = if subscriber_key.is_some() { "subscriberJwtKey" } else { "jwtKey" };
    options.publisher = verifier(publisher_key.or_else(|| both_key.clone()), publisher_alg, publisher_option)?;
    options.subscriber = verifier(subscriber_key.or(both_key), subscriber_alg, subscriber_option)?;
    Ok(options)
}

fn string_of(name: &str, value: &Zval) -> Result<Option<String>> {
    values::optional_string(name, value)
}

/// An issuer: any non-empty text (usually the authorization server's URL), compared byte for
/// byte with a token's `iss`. Null: none.
fn issuer(name: &str, value: &Zval) -> Result<Option<String>> {
    let text = string_of(name, value)?;
    if text.as_deref().is_some_and(|t| t.is_empty() || t.chars().any(char::is_control)) {
        return Err(Error::invalid_option(name, "must be the issuer's identifier (a non-empty string such as 'https://auth.example.com')").into());
    }
    Ok(text)
}

/// A resource identifier: an absolute http(s) URL (it goes into the metadata document and is
/// compared with a token's `aud`). Null: derived from each request.
fn resource(name: &str, value: &Zval) -> Result<Option<String>> {
    let text = string_of(name, value)?;
    if let Some(text) = text.as_deref().filter(|t| !sse_core::mercure::bearer::valid_resource(t)) {
        return Err(Error::invalid_option(
            name,
            format!("\"{}\" is not an absolute http(s) URL such as 'https://example.com/.well-known/mercure'", text.escape_debug()),
        )
        .into());
    }
    Ok(text)
}

/// A cookie name: an RFC 6265 token (visible ASCII but separators).
fn cookie_name(name: &str, value: &Zval) -> Result<String> {
    let text = value.str().ok_or_else(|| Error::invalid_option(name, "must be a string"))?;
    let valid = !text.is_empty() && text.bytes().all(|b| b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?={}".contains(&b));
    if !valid {
        return Err(Error::invalid_option(name, format!("\"{}\" is not a cookie name", text.escape_debug())).into());
    }
    Ok(text.to_owned())
}

/// A key as bytes (an HMAC secret may be any bytes; a PEM key is text). Null: no key.
fn key_of(name: &str, value: &Zval) -> Result<Option<Vec<u8>>> {
    if value.is_null() {
        return Ok(None);
    }
    match value.zend_str() {
        Some(text) => Ok(Some(text.as_bytes().to_vec())),
        None => Err(Error::invalid_option(name, "must be a string (an HMAC secret, or a PEM public key for RS*, PS* and ES*)").into()),
    }
}

/// A list of origins (`https://example.com`, or `*`), or one origin as a string.
fn origins(name: &str, value: &Zval) -> Result<Vec<String>> {
    let refuse = |reason: String| -> crate::error::Failure { Error::invalid_option(name, reason).into() };
    let texts: Vec<String> = match (value.str(), value.array()) {
        (Some(one), _) => one.split_whitespace().map(str::to_owned).collect(),
        (None, Some(array)) => array
            .values()
            .map(|v| v.dereference().str().map(str::to_owned).ok_or_else(|| refuse("must be an array of origins (strings)".into())))
            .collect::<Result<_>>()?,
        _ => return Err(refuse("must be an array of origins such as 'https://example.com', or '*'".into())),
    };
    for origin in &texts {
        let valid =
            origin == "*" || (sse_core::mercure::auth::origin_of(origin) == Some(origin.trim_end_matches('/')) && !origin.contains(['\r', '\n', '\0', ' ']));
        if !valid {
            return Err(refuse(format!("\"{}\" is not an origin (scheme://host[:port]) or '*'", origin.escape_debug())));
        }
    }
    Ok(texts)
}

fn seconds(name: &str, value: &Zval) -> Result<Duration> {
    values::seconds(name, value, 0.0..=86_400.0, "a number of seconds from 0 (no heartbeat) to 86400")
}
