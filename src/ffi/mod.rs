//! The one Rust file that declares the C shim (`shim.c` beside it), with thin safe wrappers.
//!
//! The shim exists because Zend's globals (SG, PG, EG, OG, JSON_G) are macros and because a
//! `zend_try` can only be written in C. Everything it does runs on the PHP thread.

use ext_php_rs::ffi::{zend_class_entry, zend_string};
use ext_php_rs::types::{ZendStr, Zval};
use std::ffi::{c_char, c_int, CStr, CString};

extern "C" {
    fn sse_register_exception_classes();
    fn sse_sse_exception_ce() -> *mut zend_class_entry;
    fn sse_invalid_event_exception_ce() -> *mut zend_class_entry;
    fn sse_invalid_argument_exception_ce() -> *mut zend_class_entry;
    fn sse_json_serializable_ce() -> *mut zend_class_entry;
    fn sse_use_destruct_method(ce: *mut zend_class_entry);

    fn sse_json_encode(value: *mut Zval, error_code: *mut c_int) -> *mut zend_string;
    fn sse_to_php_string(value: *mut Zval) -> *mut zend_string;
    fn sse_string_bytes(s: *mut zend_string, len: *mut usize) -> *const c_char;
    fn sse_string_release(s: *mut zend_string);

    fn sse_sapi_name() -> *const c_char;
    fn sse_superglobal_entry(superglobal: *const c_char, key: *const c_char) -> *mut Zval;

    fn sse_headers_sent(file: *mut *const c_char, line: *mut c_int) -> bool;
    fn sse_set_header(line: *const c_char, len: usize, replace: bool) -> bool;
    fn sse_set_status(code: c_int);
    fn sse_content_type() -> *const c_char;
    fn sse_remove_header(name: *const c_char, len: usize);
    fn sse_object_zval(object: *mut ext_php_rs::ffi::zend_object, out: *mut Zval);
    fn sse_exception_take() -> *mut ext_php_rs::ffi::zend_object;
    fn sse_exception_put_back(exception: *mut ext_php_rs::ffi::zend_object);
    fn sse_buffered_bytes() -> usize;
    fn sse_discard_output_buffers();
    fn sse_disable_output();
    fn sse_set_ini(name: *const c_char, value: *const c_char) -> bool;
    fn sse_ini_string(name: *const c_char) -> *const c_char;
    fn sse_write_direct(buf: *const c_char, len: usize) -> bool;
    fn sse_write_buffered(buf: *const c_char, len: usize) -> bool;
    fn sse_connection_aborted() -> bool;
    fn sse_cli_server_socket() -> c_int;
    fn sse_fastcgi_record_ints(out: *mut c_int, skip: c_int) -> bool;
    fn sse_fastcgi_forget_socket(fd: c_int) -> bool;
    fn sse_log_warning(message: *const c_char);
    fn sse_php_version() -> *const c_char;

    fn sse_interrupt_pending() -> bool;
    fn sse_handle_interrupt() -> bool;
    fn sse_exception_pending() -> bool;
    fn sse_exit_pending() -> bool;
}

/// Registers `Sse\SseException` and `Sse\InvalidEventException`. Module startup only.
pub fn register_exception_classes() {
    // SAFETY: called once from module startup, on the PHP thread, after SPL registered its classes.
    unsafe { sse_register_exception_classes() }
}

/// The exception classes errors are thrown as.
pub enum ExceptionClass {
    Sse,
    InvalidEvent,
    InvalidArgument,
}

pub fn exception_class(which: ExceptionClass) -> Option<&'static zend_class_entry> {
    // SAFETY: the class entries live from module startup to module shutdown; null before.
    unsafe {
        match which {
            ExceptionClass::Sse => sse_sse_exception_ce().as_ref(),
            ExceptionClass::InvalidEvent => sse_invalid_event_exception_ce().as_ref(),
            ExceptionClass::InvalidArgument => sse_invalid_argument_exception_ce().as_ref(),
        }
    }
}

/// Makes the class's `__destruct` method its engine destructor. Idempotent.
pub fn use_destruct_method(ce: &'static zend_class_entry) {
    // SAFETY: the class entry is registered and lives until module shutdown; only the PHP
    // thread writes it, before any object of the class is destroyed.
    unsafe { sse_use_destruct_method((ce as *const zend_class_entry).cast_mut()) }
}

/// `JsonSerializable`, for `#[php(implements(...))]`.
pub fn json_serializable_ce() -> &'static zend_class_entry {
    // SAFETY: ext/json is part of every PHP 8 build and registers JsonSerializable at its own
    // startup, before any shared extension starts; the entry lives until engine shutdown.
    unsafe { &*sse_json_serializable_ce() }
}

/// Takes a `zend_string` returned by the shim: copies its bytes and releases it.
fn take_string(s: *mut zend_string) -> Option<Vec<u8>> {
    if s.is_null() {
        return None;
    }
    let mut len = 0usize;
    // SAFETY: `s` is a live zend_string owned by us (the shim returned a new reference).
    let bytes = unsafe {
        let ptr = sse_string_bytes(s, &mut len);
        std::slice::from_raw_parts(ptr.cast::<u8>(), len).to_vec()
    };
    // SAFETY: releases the reference the shim gave us; `bytes` is an owned copy.
    unsafe { sse_string_release(s) };
    Some(bytes)
}

/// PHP's own `json_encode($value, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE)`.
/// `Err(code)` carries the JSON_ERROR_* code (0 when jsonSerialize() threw).
pub fn json_encode(value: &Zval) -> Result<Vec<u8>, i32> {
    let mut code: c_int = 0;
    // The encoder takes a mutable pointer but only reads the value (it may call
    // jsonSerialize(), which works on its own copy).
    let ptr = (value as *const Zval).cast_mut();
    // SAFETY: `ptr` is a live zval for the duration of the call; PHP thread.
    let result = unsafe { sse_json_encode(ptr, &mut code) };
    take_string(result).ok_or(code)
}

/// The string's text when PHP already knows it is valid UTF-8, without checking it again: the
/// `IS_STR_VALID_UTF8` flag (php-src 8.2 to 8.6, `zend_refcounted_h` flags of `zend_string`)
/// that PCRE's `/u` check and [`mark_valid_utf8`] set, and that PHP clears whenever the bytes
/// can change (`zend_string_forget_hash_val()`, Zend/zend_string.h).
pub fn known_valid_utf8(s: &ZendStr) -> Option<&str> {
    // SAFETY: reads the GC flags of a live zend_string; PHP thread.
    let known = unsafe { ext_php_rs::ffi::ext_php_rs_is_known_valid_utf8(s.as_ptr().cast()) };
    // SAFETY: the flag is set only on strings that were checked, and cleared on any change.
    known.then(|| unsafe { std::str::from_utf8_unchecked(s.as_bytes()) })
}

/// Flags a string the caller has just checked as valid UTF-8, as PCRE does, so that the same
/// string framed again (the same payload sent to several emitters, or sent again) is not
/// checked again. Interned strings are left alone (they are shared and immutable).
pub fn mark_valid_utf8(s: &ZendStr) {
    // SAFETY: sets a GC flag bit of a live, non-interned zend_string (the C helper checks
    // ZSTR_IS_INTERNED); the bytes are untouched; PHP thread.
    unsafe { ext_php_rs::ffi::ext_php_rs_set_known_valid_utf8(s.as_ptr().cast_mut().cast()) }
}

/// `(string) $value` as PHP itself converts a scalar (precision-aware for floats).
pub fn php_string(value: &Zval) -> Vec<u8> {
    let ptr = (value as *const Zval).cast_mut();
    // SAFETY: zval_get_string only reads the zval and returns a new string reference.
    take_string(unsafe { sse_to_php_string(ptr) }).unwrap_or_default()
}

pub fn sapi_name() -> &'static str {
    // SAFETY: sapi_module.name is a static C string set by the SAPI before any request.
    unsafe {
        let name = sse_sapi_name();
        if name.is_null() {
            return "";
        }
        CStr::from_ptr(name).to_str().unwrap_or("")
    }
}

/// The bytes of `$GLOBALS[superglobal][key]` when it is a string.
pub fn superglobal_string(superglobal: &CStr, key: &CStr) -> Option<Vec<u8>> {
    // SAFETY: both are NUL-terminated; the returned zval belongs to the symbol table and is
    // only read before anything else runs.
    let entry = unsafe { sse_superglobal_entry(superglobal.as_ptr(), key.as_ptr()).as_ref()? };
    entry.zend_str().map(|s| s.as_bytes().to_vec())
}

/// Where output started, when the headers are already sent.
pub fn headers_sent_at() -> Option<(String, i32)> {
    let mut file: *const c_char = std::ptr::null();
    let mut line: c_int = 0;
    // SAFETY: out-pointers to locals; the file name is owned by the engine for the request.
    let sent = unsafe { sse_headers_sent(&mut file, &mut line) };
    if !sent {
        return None;
    }
    let file = if file.is_null() {
        "unknown".to_owned()
    } else {
        // SAFETY: non-null, NUL-terminated engine string.
        unsafe { CStr::from_ptr(file) }.to_string_lossy().into_owned()
    };
    Some((file, line))
}

/// Queues a response header (`Name: value`), replacing one of the same name or adding to it.
pub fn set_header(line: &str, replace: bool) -> bool {
    // SAFETY: sapi_header_op copies the line; the pointer is valid for the call.
    unsafe { sse_set_header(line.as_ptr().cast(), line.len(), replace) }
}

/// The Content-Type the response has (or had when its headers were sent).
pub fn content_type() -> String {
    // SAFETY: a NUL-terminated string owned by the engine for the request (or a literal).
    unsafe { CStr::from_ptr(sse_content_type()) }.to_string_lossy().into_owned()
}

/// `header_remove($name)`.
pub fn remove_header(name: &str) {
    // SAFETY: sapi_header_op copies what it keeps; the pointer is valid for the call.
    unsafe { sse_remove_header(name.as_ptr().cast(), name.len()) }
}

/// A zval referencing `object` (a new reference, released when the zval drops).
pub fn object_zval(object: &ext_php_rs::types::ZendObject) -> Zval {
    let mut zval = Zval::new();
    let ptr = (object as *const ext_php_rs::types::ZendObject).cast_mut();
    // SAFETY: the object is alive (we hold a reference to it); ZVAL_OBJ_COPY only adds a
    // reference count, which Zend objects keep in their own header.
    unsafe { sse_object_zval(ptr, &mut zval) };
    zval
}

/// Runs `cleanup` with any pending exception taken out of the engine, then throws it again
/// (as the previous exception of one the cleanup threw, if any).
pub fn with_exception_aside<R>(cleanup: impl FnOnce() -> R) -> R {
    // SAFETY: PHP thread; the taken object keeps the engine's reference until put back.
    let taken = unsafe { sse_exception_take() };
    let result = cleanup();
    if !taken.is_null() {
        // SAFETY: hands the reference taken above back to the engine, exactly once.
        unsafe { sse_exception_put_back(taken) };
    }
    result
}

pub fn set_status(code: i32) {
    // SAFETY: plain store into SG(sapi_headers) on the PHP thread.
    unsafe { sse_set_status(code) }
}

/// How many bytes the output buffers hold.
pub fn buffered_bytes() -> usize {
    // SAFETY: reads OG(handlers) on the PHP thread.
    unsafe { sse_buffered_bytes() }
}

/// Discards every output buffer.
pub fn discard_output_buffers() {
    // SAFETY: PHP thread, inside a request.
    unsafe { sse_discard_output_buffers() }
}

/// Drops every later output of the request (echo, buffers flushed at the end, error messages).
pub fn disable_output() {
    // SAFETY: sets a flag of OG(flags) on the PHP thread, inside a request.
    unsafe { sse_disable_output() }
}

/// `ini_set($name, $value)`, undone by PHP at the end of the request.
pub fn set_ini(name: &str, value: &str) -> bool {
    let (Ok(name), Ok(value)) = (CString::new(name), CString::new(value)) else {
        return false;
    };
    // SAFETY: NUL-terminated strings valid for the call; PHP thread.
    unsafe { sse_set_ini(name.as_ptr(), value.as_ptr()) }
}

/// The current value of an ini setting, when it is registered.
pub fn ini_string(name: &CStr) -> Option<String> {
    // SAFETY: NUL-terminated name; PHP returns its own NUL-terminated copy of the value, valid
    // until the setting changes, and it is copied at once. PHP thread.
    let value = unsafe { sse_ini_string(name.as_ptr()) };
    // SAFETY: non-null values are NUL-terminated C strings owned by the ini entry.
    (!value.is_null()).then(|| unsafe { CStr::from_ptr(value) }.to_string_lossy().into_owned())
}

/// Writes past all output buffers to the SAPI and flushes. False if the write bailed out.
pub fn write_direct(bytes: &[u8]) -> bool {
    // SAFETY: the shim wraps the write in zend_try, so no longjmp reaches this frame.
    unsafe { sse_write_direct(bytes.as_ptr().cast(), bytes.len()) }
}

/// Writes through PHP's output layer (captured by ob_start()). False if it bailed out.
pub fn write_buffered(bytes: &[u8]) -> bool {
    // SAFETY: as above, zend_try in the shim.
    unsafe { sse_write_buffered(bytes.as_ptr().cast(), bytes.len()) }
}

pub fn connection_aborted() -> bool {
    // SAFETY: reads PG(connection_status).
    unsafe { sse_connection_aborted() }
}

/// The browser's socket under `php -S`, verified to be a connected stream socket.
pub fn cli_server_socket() -> Option<i32> {
    // SAFETY: reads an int of cli-server's client record, only under cli-server; the shim
    // checks the fd is a connected stream socket before returning it.
    let fd = unsafe { sse_cli_server_socket() };
    (fd >= 0).then_some(fd)
}

/// The first five ints of the FastCGI request record, read `skip` ints off (0 but in a test),
/// unchecked: see `client_socket::fastcgi_request()`, the only caller.
pub fn fastcgi_record_ints(skip: i32) -> Option<[i32; 5]> {
    let mut ints = [0 as c_int; 5];
    // SAFETY: PHP thread, inside a request; the shim copies five ints from the request record
    // of a FastCGI SAPI only, into a buffer of five.
    unsafe { sse_fastcgi_record_ints(ints.as_mut_ptr(), skip) }.then_some(ints)
}

/// Writes a line to PHP's error log (not a PHP warning: an error handler that turns warnings
/// into exceptions must not end a working stream).
pub fn log_warning(message: &str) {
    let Ok(message) = CString::new(message.replace('\0', " ")) else { return };
    // SAFETY: a NUL-terminated string; PHP copies it into its log.
    unsafe { sse_log_warning(message.as_ptr()) }
}

/// Writes the warnings the PHP-free middle kept for the PHP thread (`sse_server::warnings`).
pub fn log_pending_warnings() {
    for message in sse_server::warnings::take() {
        log_warning(&message);
    }
}

/// PHP_VERSION of the running PHP, e.g. "8.5.7".
pub fn php_version() -> &'static str {
    // SAFETY: the shim returns the static PHP_VERSION string.
    unsafe { CStr::from_ptr(sse_php_version()) }.to_str().unwrap_or("")
}

pub fn interrupt_pending() -> bool {
    // SAFETY: atomic load of EG(vm_interrupt).
    unsafe { sse_interrupt_pending() }
}

/// Runs pending signal handlers or the time limit. True when that bailed out: the caller
/// must drop its state, then continue the bailout with `ext_php_rs::zend::bailout()`.
pub fn handle_interrupt() -> bool {
    // SAFETY: the shim runs the interrupt inside zend_try.
    unsafe { sse_handle_interrupt() }
}

pub fn exception_pending() -> bool {
    // SAFETY: reads EG(exception).
    unsafe { sse_exception_pending() }
}

pub fn exit_pending() -> bool {
    // SAFETY: reads EG(exception) and its class.
    unsafe { sse_exit_pending() }
}

/// Takes the php-fpm request's socket `fd` (from a checked request record) away from
/// php-fpm (see `sse_fastcgi_forget_socket` in the shim): the caller owns it and must end the
/// response and close it. None when the record no longer holds it, or under another SAPI.
pub fn take_fastcgi_socket(fd: i32) -> Option<std::os::fd::OwnedFd> {
    // SAFETY: PHP thread, inside a request; the shim checks the SAPI and that the record's fd
    // is this one before it overwrites it.
    let taken = unsafe { sse_fastcgi_forget_socket(fd) };
    // SAFETY: php-fpm no longer knows this descriptor (its record says -1): it is ours alone.
    taken.then(|| unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) })
}
