//! Turns PHP values into a validated [`Event`]: the `ServerSentEvents` fields array, Laravel's
//! `StreamedEvent`, or the value given for one field. Used by `ServerSentEvents`, which also
//! says which values are events (`server_sent_events::with_event`).

use crate::error::{Error, Result};
use crate::ffi;
use ext_php_rs::flags::DataType;
use ext_php_rs::types::{ZendCallable, ZendHashTable, ZendObject, Zval};
use ext_php_rs::zend::{try_catch, ExecutorGlobals};
use sse_core::{Event, Field};
use std::borrow::Cow;

/// The event class of Laravel's `response()->eventStream()`: public `event` (a string) and
/// `data` (any value).
const LARAVEL_EVENT: &str = "Illuminate\\Http\\StreamedEvent";

/// Whether the object is a `StreamedEvent` or extends it. Compared by name along its parents,
/// so that no class is looked up (or autoloaded) for the objects that are not one.
pub fn is_laravel_event(object: &ZendObject) -> bool {
    let mut class = Some(object.get_class_entry());
    while let Some(ce) = class {
        if ce.name().is_some_and(|name| name.eq_ignore_ascii_case(LARAVEL_EVENT)) {
            return true;
        }
        class = ce.parent();
    }
    false
}

/// The event a `StreamedEvent` stands for, written as eventStream() writes it: its name as the
/// type, strings and numbers as the data as they are, any other value (arrays, objects, bools,
/// null) as Laravel's `Js::encode()` gives it. Unlike eventStream(), line breaks in the data
/// become one `data:` line each, and a name with one is refused, instead of breaking the frame.
pub fn from_laravel_event(object: &ZendObject) -> Result<Event> {
    // The properties table, not ext-php-rs's get_property(): that reads for writing (BP_VAR_W),
    // which a readonly property refuses with an Error.
    let properties = object.get_properties().map_err(|_| Error::invalid_event(Field::Data, "the StreamedEvent's properties cannot be read"))?;
    // A slot of the table points at the object's own property, which may hold a PHP reference.
    let property = |field: Field, name: &str| {
        properties
            .get(name)
            .map(|value| value.dereference().dereference())
            .filter(|value| value.get_type() != DataType::Undef)
            .ok_or_else(|| Error::invalid_event(field, format!("the StreamedEvent's ${name} is not set")))
    };
    let mut event = Event::new();
    event.set_event(&text(Field::Event, property(Field::Event, "event")?)?)?;
    let data = property(Field::Data, "data")?;
    match data.get_type() {
        DataType::String | DataType::Long | DataType::Double => set_data(&mut event, data)?,
        _ => set_laravel_json(&mut event, data)?,
    }
    Ok(event)
}

/// `Illuminate\Support\Js::encode($data)`, Laravel's own encoder (JSON with `<`, `>`, `&`, `'`
/// and `"` escaped, a `Jsonable`'s toJson(), an `Arrayable`'s toArray()), as eventStream() uses
/// it; PHP's json_encode() where Laravel's Support package is missing.
fn set_laravel_json(event: &mut Event, data: &Zval) -> Result<()> {
    let Ok(encode) = ZendCallable::try_from_name("Illuminate\\Support\\Js::encode") else {
        return set_data(event, data);
    };
    let json = match try_catch(|| encode.try_call(vec![data])) {
        Ok(Ok(json)) if !ffi::exception_pending() => json,
        Ok(_) if ExecutorGlobals::pending_exception_class().as_deref() == Some("JsonException") => {
            // JSON_THROW_ON_ERROR: the reason is the JsonException's code; the exception is
            // replaced by an InvalidEventException naming the field.
            let code =
                ExecutorGlobals::take_exception().and_then(|e| e.try_call_method("getCode", vec![]).ok()).and_then(|code| code.long()).unwrap_or_default();
            return Err(json_error(i32::try_from(code).unwrap_or_default()));
        }
        Ok(_) => return Err(Error::Thrown.into()),
        Err(_) => return Err(Error::Fatal.into()),
    };
    match json.zend_str() {
        Some(text) => Ok(event.set_data(text.as_bytes())?),
        None => {
            Err(Error::invalid_event(Field::Data, format!("Illuminate\\Support\\Js::encode() returned a {}, not a string", type_name(json.get_type()))).into())
        }
    }
}

/// Refuses an event a browser would never dispatch: a type without data. The frame
/// `event: ping` + empty line is valid, but EventSource drops an event with no data line, so it
/// would vanish without a trace. (Frames of an id or a retry alone are kept: they set the
/// client's last event id or reconnection time, and are not meant to be dispatched.)
pub fn check_dispatchable(event: &Event) -> Result<()> {
    if let (Some(kind), None) = (event.event(), event.data()) {
        return Err(Error::invalid_event(
            Field::Data,
            format!("missing; an event \"{kind}\" without data is never dispatched by EventSource (send 'data' => '' for an event that carries nothing)"),
        )
        .into());
    }
    Ok(())
}

/// Builds an event from `['event' => ..., 'data' => ..., 'id' => ..., 'retry' => ...,
/// 'comment' => ...]` (`''` is Workerman's name for comment). Null means absent.
///
/// The known keys are looked up directly (no key is copied); only when the array holds more
/// entries than were found is it walked, to name the unknown key.
pub fn from_array(fields: &ZendHashTable) -> Result<Event> {
    let mut event = Event::new();
    let mut found = 0;
    let mut lookup = |key: &str| {
        let value = fields.get(key).map(Zval::dereference);
        found += usize::from(value.is_some());
        value.filter(|v| !v.is_null())
    };
    let comment = lookup("comment");
    let workerman_comment = lookup("");
    let values = [
        (Field::Comment, comment.or(workerman_comment)),
        (Field::Event, lookup("event")),
        (Field::Id, lookup("id")),
        (Field::Retry, lookup("retry")),
        (Field::Data, lookup("data")),
    ];
    if found != fields.len() {
        return Err(unknown_key(fields));
    }
    if comment.is_some() && workerman_comment.is_some() {
        return Err(Error::invalid_event(Field::Comment, "given twice, as 'comment' and as ''").into());
    }
    for (field, value) in values {
        if let Some(value) = value {
            set(&mut event, field, value)?;
        }
    }
    Ok(event)
}

fn unknown_key(fields: &ZendHashTable) -> crate::error::Failure {
    const KNOWN: [&str; 6] = ["comment", "", "event", "id", "retry", "data"];
    let key = fields.iter().map(|(key, _)| key.to_string()).find(|key| !KNOWN.contains(&key.as_str())).unwrap_or_default();
    Error::UnknownField { key }.into()
}

/// Sets one field from a PHP value.
pub fn set(event: &mut Event, field: Field, value: &Zval) -> Result<()> {
    match field {
        Field::Data => set_data(event, value),
        Field::Retry => set_retry(event, value),
        Field::Event => Ok(event.set_event(&text(field, value)?)?),
        Field::Id => Ok(event.set_id(&text(field, value)?)?),
        Field::Comment => Ok(event.set_comment(&text(field, value)?)?),
    }
}

/// Data: strings as they are, other scalars as PHP writes them, arrays and objects as JSON.
pub fn set_data(event: &mut Event, value: &Zval) -> Result<()> {
    match value.get_type() {
        DataType::String => set_data_text(event, value),
        DataType::Array | DataType::Object(_) => {
            if let Some(object) = value.object() {
                // An event given as data would be framed twice; say so instead.
                let shown = match object.get_class_name().ok().as_deref() {
                    Some("Sse\\ServerSentEvents") => Some("ServerSentEvents"),
                    _ if is_laravel_event(object) => Some("StreamedEvent"),
                    _ => None,
                };
                if let Some(shown) = shown {
                    return Err(Error::invalid_event(Field::Data, format!("is a {shown} object; send it as the event itself, not as data")).into());
                }
            }
            let json = ffi::json_encode(value).map_err(json_error)?;
            // SAFETY: PHP's encoder, called without the JSON_INVALID_UTF8_* flags, fails on
            // invalid UTF-8 input and writes only ASCII or the input's own valid sequences.
            event.set_data_string(unsafe { String::from_utf8_unchecked(json) });
            Ok(())
        }
        DataType::Long | DataType::Double | DataType::True | DataType::False => {
            if value.double().is_some_and(|d| !d.is_finite()) {
                return Err(Error::invalid_event(Field::Data, "is INF or NAN, which has no text form in an event").into());
            }
            Ok(event.set_data(&ffi::php_string(value))?)
        }
        other => Err(Error::invalid_event(Field::Data, format!("cannot be a {}", type_name(other))).into()),
    }
}

/// A string's data, checked as UTF-8 once per PHP string: PHP's own flag says when it was.
fn set_data_text(event: &mut Event, value: &Zval) -> Result<()> {
    let Some(s) = value.zend_str() else {
        return Ok(event.set_data(&[])?);
    };
    match ffi::known_valid_utf8(s) {
        Some(text) => event.set_data_str(text),
        None => {
            event.set_data(s.as_bytes())?;
            ffi::mark_valid_utf8(s);
        }
    }
    Ok(())
}

fn set_retry(event: &mut Event, value: &Zval) -> Result<()> {
    if let Some(n) = value.long() {
        let ms = u64::try_from(n).map_err(|_| Error::invalid_event(Field::Retry, format!("must be a non-negative integer of milliseconds, got {n}")))?;
        event.set_retry(ms);
        return Ok(());
    }
    if value.is_string() {
        return Ok(event.set_retry_text(bytes(value))?);
    }
    let shown = match value.double() {
        Some(d) => d.to_string(),
        None => type_name(value.get_type()).to_owned(),
    };
    Err(Error::invalid_event(Field::Retry, format!("must be a non-negative integer of milliseconds, got {shown}")).into())
}

/// The text of a single-line field: a string, or a number (ids are often numbers).
fn text(field: Field, value: &Zval) -> Result<Cow<'_, [u8]>> {
    match value.get_type() {
        DataType::String => Ok(Cow::Borrowed(bytes(value))),
        DataType::Long | DataType::Double => Ok(Cow::Owned(ffi::php_string(value))),
        other => Err(Error::invalid_event(field, format!("must be a string or a number, got {}", type_name(other))).into()),
    }
}

fn bytes(value: &Zval) -> &[u8] {
    value.zend_str().map_or(&[], |s| s.as_bytes())
}

fn type_name(t: DataType) -> &'static str {
    match t {
        DataType::Null => "null",
        DataType::False | DataType::True | DataType::Bool => "bool",
        DataType::Long => "int",
        DataType::Double => "float",
        DataType::String => "string",
        DataType::Array => "array",
        DataType::Object(_) => "object",
        DataType::Resource => "resource",
        _ => "value of another type",
    }
}

fn json_error(code: i32) -> crate::error::Failure {
    if code == 0 || ffi::exception_pending() {
        return Error::Thrown.into();
    }
    // The JSON_ERROR_* codes, with the reasons json_last_error_msg() gives.
    let reason = match code {
        1 => "nests deeper than 512 levels",
        5 => "contains malformed UTF-8",
        6 => "contains a recursive reference",
        7 => "contains INF or NAN, which JSON cannot encode",
        8 => "contains a value of a type JSON cannot encode (e.g. a resource)",
        9 => "contains a property name JSON cannot encode",
        10 => "contains a malformed UTF-16 surrogate",
        11 => "contains a non-backed enum, which JSON cannot encode",
        _ => "cannot be encoded as JSON",
    };
    Error::invalid_event(Field::Data, format!("{reason} (json_encode error {code})")).into()
}
