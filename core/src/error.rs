//! The one error type of the project. The extension turns each variant into exactly one PHP
//! exception class (see `src/error.rs` there); messages are written for the PHP developer who
//! will read them: they name the field or option and say what is wrong and where.

use std::fmt;

/// A field of an event, as named in the wire format and in `Sse\ServerSentEvents`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    Event,
    Data,
    Id,
    Retry,
    Comment,
}

impl Field {
    pub const ALL: [Field; 5] = [Field::Event, Field::Data, Field::Id, Field::Retry, Field::Comment];

    /// The key of the field in a `ServerSentEvents` array and in the wire format.
    pub fn name(self) -> &'static str {
        match self {
            Field::Event => "event",
            Field::Data => "data",
            Field::Id => "id",
            Field::Retry => "retry",
            Field::Comment => "comment",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// An event field that cannot be framed safely (becomes `Sse\InvalidEventException`).
    InvalidEvent { field: Field, reason: String },
    /// A key that is not an event field (typos must not vanish; becomes `Sse\InvalidEventException`).
    UnknownField { key: String },
    /// A bad key or value in an options array (becomes `\InvalidArgumentException`).
    InvalidOption { option: String, reason: String },
    /// A bad argument to a method, e.g. a timer interval (becomes `\InvalidArgumentException`).
    InvalidArgument { name: String, reason: String },
    /// A call that is not allowed in the current state (becomes `Sse\SseException`).
    Misuse(String),
    /// A broker's storage or server cannot be used: an unwritable directory, an unreachable
    /// Redis (becomes `Sse\SseException`). `resource` names the path or URL.
    Unavailable { resource: String, reason: String },
    /// User code called from the stream (a callback, `jsonSerialize()`) threw: its exception is
    /// already on its way and is passed on unchanged.
    Thrown,
    /// The engine is bailing out (a fatal error such as the memory limit or the time limit
    /// struck inside user code). The extension drops its state and continues the bailout.
    Fatal,
}

impl Error {
    pub fn invalid_event(field: Field, reason: impl Into<String>) -> Self {
        Error::InvalidEvent { field, reason: reason.into() }
    }

    pub fn invalid_option(option: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::InvalidOption { option: option.into(), reason: reason.into() }
    }

    pub fn invalid_argument(name: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::InvalidArgument { name: name.into(), reason: reason.into() }
    }

    pub fn misuse(message: impl Into<String>) -> Self {
        Error::Misuse(message.into())
    }

    pub fn unavailable(resource: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::Unavailable { resource: resource.into(), reason: reason.into() }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidEvent { field, reason } => write!(f, "Invalid event field \"{}\": {}", field.name(), reason),
            Error::InvalidOption { option, reason } => write!(f, "Invalid option \"{option}\": {reason}"),
            Error::UnknownField { key } => {
                write!(f, "Unknown event field \"{key}\"; the fields are event, data, id, retry and comment ('' is another name for comment)")
            }
            Error::InvalidArgument { name, reason } => write!(f, "Invalid argument ${name}: {reason}"),
            Error::Misuse(message) => f.write_str(message),
            Error::Unavailable { resource, reason } => write!(f, "Broker {resource}: {reason}"),
            Error::Thrown => f.write_str("user code threw an exception"),
            Error::Fatal => f.write_str("a fatal error ended the request"),
        }
    }
}

impl std::error::Error for Error {}

pub type Result<T> = std::result::Result<T, Error>;
