//! The one place where the project's error type becomes a PHP exception.

use crate::ffi::{exception_class, ExceptionClass};
use ext_php_rs::exception::PhpException;
pub use sse_core::Error;

/// What every method of the extension returns on failure. A newtype because both the error
/// and `PhpException` are foreign to this crate.
#[derive(Debug)]
pub struct Failure(pub Error);

pub type Result<T> = std::result::Result<T, Failure>;

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        Failure(error)
    }
}

impl From<Failure> for PhpException {
    fn from(Failure(error): Failure) -> Self {
        let class = match &error {
            Error::InvalidEvent { .. } | Error::UnknownField { .. } => ExceptionClass::InvalidEvent,
            Error::InvalidOption { .. } | Error::InvalidArgument { .. } => ExceptionClass::InvalidArgument,
            // `Thrown`: PHP ignores a new exception while one is pending, so the user's own
            // exception propagates with its class, message and trace.
            Error::Misuse(_) | Error::Unavailable { .. } | Error::Thrown | Error::Fatal => ExceptionClass::Sse,
        };
        let message = error.to_string();
        match exception_class(class) {
            Some(ce) => PhpException::new(message, 0, ce),
            None => PhpException::from_message(message),
        }
    }
}

/// Passes a result on to PHP, or, for [`Error::Fatal`], continues the engine's bailout. Call it
/// as the last expression of a method, once every value the method owned has been dropped, so
/// that the jump leaves no Rust frame with work to do.
pub fn finish<T>(result: Result<T>) -> Result<T> {
    if let Err(Failure(Error::Fatal)) = result {
        // SAFETY: nothing of ours is alive below this frame; ext-php-rs's handler catches the
        // jump in its own zend_try and hands it on to the engine.
        unsafe { ext_php_rs::zend::bailout() }
    }
    result
}
