//! The PHP-free middle of ext-sse: everything between the pure core (`sse-core`) and the PHP
//! bindings (the `ext-sse` cdylib). Nothing here links PHP or touches Zend; the bindings drive
//! it from the PHP thread, and the runtime thread runs its tasks.
//!
//! - [`stream`]: one event stream's phases (start, write, heartbeat, catch-up, end), attached to
//!   a PHP request or detached and served by the runtime alone;
//! - [`subscription`]: what a stream writes of a broker's events, in order, each once;
//! - [`broker`]: the engines (embedded log, Redis, memory) and the per-process [`broker::hub`];
//! - [`runtime`], [`doorbell`]: the background thread and what the PHP thread waits on;
//! - [`fastcgi`]: frames written straight to php-fpm's socket;
//! - [`presence`]: Mercure's active subscriptions across processes and machines (leases);
//! - [`warnings`]: what the middle found wrong, for the PHP thread to log.

pub mod broker;
pub mod doorbell;
pub mod fastcgi;
pub mod mercure;
pub mod presence;
pub mod runtime;
pub mod stream;
pub mod subscription;
pub mod warnings;

/// The project's one error type (`sse_core::Error`), and results of it.
pub mod error {
    pub use sse_core::Error;
    pub type Result<T> = std::result::Result<T, Error>;
}
