//! The one reader of option arrays' values, for every class that takes options
//! (`Sse\SseEmitter`, `Sse\Broker`, `Sse\MercureHub`): the same value is read the same way
//! everywhere, and every refusal has one shape (`Invalid option "name": ...`).
//!
//! Numbers are ints, floats, or numeric strings as `env()` and `getenv()` return them ("40",
//! " 0.5 ", "1e3", with the whitespace PHP allows around a number); booleans are `true` or
//! `false` only (a string "false" would otherwise read as true).

use crate::error::{Error, Failure, Result};
use ext_php_rs::types::{ArrayKey, Zval};
use std::ops::RangeInclusive;
use std::time::Duration;

/// An option's name as the array spells its key.
pub fn name_of(key: ArrayKey) -> String {
    match key {
        ArrayKey::Long(n) => n.to_string(),
        other => other.to_string(),
    }
}

/// The refusal of a name that is no option: it lists the ones there are.
pub fn unknown(name: String, known: &str) -> Failure {
    Error::invalid_option(name, format!("unknown option; the options are {known}")).into()
}

/// An int or float, or a string holding one.
pub fn number(value: &Zval) -> Option<f64> {
    let from_text = || {
        let text = numeric_text(value)?;
        text.parse::<i64>().map(|n| n as f64).ok().or_else(|| text.parse().ok())
    };
    value.long().map(|n| n as f64).or_else(|| value.double()).or_else(from_text).filter(|n| n.is_finite())
}

/// An int, or a string holding one.
pub fn integer(value: &Zval) -> Option<i64> {
    value.long().or_else(|| numeric_text(value)?.parse().ok())
}

/// The text of a numeric string, without the whitespace PHP allows around it. Only digits,
/// signs, a point and an exponent: Rust's parser would also take "inf" and "NaN", PHP does not.
fn numeric_text(value: &Zval) -> Option<&str> {
    let text = value.str()?.trim_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let numeric = text.bytes().any(|b| b.is_ascii_digit()) && text.bytes().all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b));
    numeric.then_some(text)
}

/// A number of seconds within `range`; `meaning` completes "must be ...".
pub fn seconds(name: &str, value: &Zval, range: RangeInclusive<f64>, meaning: &str) -> Result<Duration> {
    match number(value) {
        Some(s) if range.contains(&s) => Ok(Duration::from_secs_f64(s)),
        _ => Err(Error::invalid_option(name, format!("must be {meaning}")).into()),
    }
}

/// A whole number within `range`; `meaning` completes "must be ...".
pub fn whole(name: &str, value: &Zval, range: RangeInclusive<u64>, meaning: &str) -> Result<u64> {
    match number(value) {
        Some(n) if n.fract() == 0.0 && n >= 0.0 && range.contains(&(n as u64)) => Ok(n as u64),
        _ => Err(Error::invalid_option(name, format!("must be {meaning}")).into()),
    }
}

/// `true` or `false`.
pub fn boolean(name: &str, value: &Zval) -> Result<bool> {
    value.bool().filter(|_| value.is_bool()).ok_or_else(|| Error::invalid_option(name, "must be a bool (true or false)").into())
}

/// A string, or null for none.
pub fn optional_string(name: &str, value: &Zval) -> Result<Option<String>> {
    if value.is_null() {
        return Ok(None);
    }
    value.str().map(|s| Some(s.to_owned())).ok_or_else(|| Error::invalid_option(name, "must be a string").into())
}
