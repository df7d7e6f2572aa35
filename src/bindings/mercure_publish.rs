//! `mercure_publish()`: FrankenPHP's function, with the same signature, so that Symfony's
//! MercureBundle (which uses `FrankenPhpHub` whenever the function exists) publishes through
//! the extension's broker (`sse.broker`) without a hub URL or HTTP.

use crate::bindings::broker::Broker;
use crate::error::{Error, Result};
use ext_php_rs::prelude::*;
use ext_php_rs::types::Zval;
use sse_core::mercure::Update;
use sse_server::mercure::publish::publish;

/// Publishes an update to `$topics` (the first is the canonical topic) and returns its id:
/// `$id` when given (subscribers see it and resume from it), else the one the broker assigns.
/// `$type` is the SSE event type, `$retry` the reconnection time. What Mercure 1.0 forbids
/// (a reserved or `*` topic, an id starting with `#` or `earliest`, the type `mercure`, control
/// or format characters) is an `\InvalidArgumentException` naming the argument.
#[php_function]
#[php(defaults(data = "\"\"", private = false))]
#[allow(clippy::too_many_arguments)]
pub fn mercure_publish(topics: &Zval, data: String, private: bool, id: Option<String>, r#type: Option<String>, retry: Option<i64>) -> Result<String> {
    let topics = topic_list(topics)?;
    // The core names the field `topic` (the form's); here it is the `$topics` argument.
    let mut update = Update::new(topics, data).map_err(|error| match error {
        Error::InvalidArgument { reason, .. } => Error::invalid_argument("topics", reason),
        other => other,
    })?;
    update.private = private;
    update.event_type = r#type;
    update.id = id;
    update.retry = match retry {
        None => None,
        Some(ms) => Some(u64::try_from(ms).map_err(|_| Error::invalid_argument("retry", "must be a non-negative number of milliseconds"))?),
    };
    let broker = Broker::from_ini()?;
    let published = publish(&broker.engine, &broker.settings, &update);
    crate::ffi::log_pending_warnings();
    Ok(published?)
}

/// Adds the function to the module (its registration entry is private to this file).
pub fn register(module: ModuleBuilder) -> ModuleBuilder {
    module.function(wrap_function!(mercure_publish))
}

/// One topic or a list of them, as strings.
fn topic_list(value: &Zval) -> Result<Vec<String>> {
    let value = value.dereference();
    let refuse = || Error::invalid_argument("topics", "must be a string or an array of strings").into();
    if let Some(topic) = value.str() {
        return Ok(vec![topic.to_owned()]);
    }
    let array = value.array().ok_or_else(refuse)?;
    array.values().map(|item| item.dereference().str().map(str::to_owned).ok_or_else(refuse)).collect()
}
