//! The PHP-free core of ext-sse.
//!
//! Everything here is plain Rust with no Zend types, so it is tested with a plain `cargo test`:
//! - [`broker`]: the broker's log of published events, its record format and its ids;
//! - [`frame`]: the fields of one event and their exact wire bytes (the server side);
//! - [`parse`]: the WHATWG "interpreting an event stream" algorithm (the client side);
//! - [`clock`]: real or virtual time of a stream;
//! - [`schedule`]: timers, heartbeat and maximum duration of one stream, on an abstract clock;
//! - [`fastcgi`]: FastCGI records, for streams written straight to php-fpm's socket;
//! - [`fastcgi_record`]: php-fpm's request record, checked before it is trusted;
//! - [`last_event_id`]: what a `Last-Event-ID` sent by a client must look like to be trusted;
//! - [`mercure`]: the Mercure protocol (selectors, publish form, tokens) for the hub;
//! - [`error`]: the one error type of the project.

pub mod broker;
pub mod clock;
pub mod error;
pub mod fastcgi;
pub mod fastcgi_record;
pub mod frame;
pub mod last_event_id;
pub mod mercure;
pub mod parse;
pub mod schedule;

pub use clock::Clock;
pub use error::{Error, Field};
pub use frame::Event;
pub use parse::{ParsedEvent, Parser};
pub use schedule::{Due, StreamSchedule, TimerId};
