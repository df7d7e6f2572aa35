//! ext-sse: Server-Sent Events for PHP in native code.
//!
//! - `sse-core` (the `core/` crate): framing, parsing and scheduling, with no PHP types;
//! - [`bindings`]: the PHP classes, one file each, thin layers over the core;
//! - [`event_fields`]: PHP values into validated events;
//! - [`ffi`]: the C shim for what only C can reach (Zend macros, `zend_try`);
//! - `sse-server` (the `server/` crate): the PHP-free middle: streams and their phases, the
//!   runtime, the brokers, subscriptions, detached streams;
//! - [`attached`]: a stream attached to this PHP request, with its PHP callbacks;
//! - [`options`], [`output`]: the emitter's configuration and its side of the response;
//! - [`mercure`]: a Mercure hub (`Sse\MercureHub`, `mercure_publish()`) over the brokers;
//! - [`error`]: the one place where errors become PHP exceptions.

#![cfg_attr(windows, feature(abi_vectorcall))]

pub mod attached;
pub mod bindings;
pub mod client_socket;
pub mod error;
pub mod event_fields;
pub mod ffi;
pub mod mercure;
pub mod option_values;
pub mod options;
pub mod output;
pub mod short_answer;

use ext_php_rs::flags::IniEntryPermission;
use ext_php_rs::prelude::*;
use ext_php_rs::zend::ModuleEntry;
use ext_php_rs::zend::{IniEntryDef, IniEntryDefs};
use ext_php_rs::{info_table_end, info_table_row, info_table_start};

unsafe extern "C" {
    /// PHP's `DISPLAY_INI_ENTRIES()`: the Directive / Local Value / Master Value table of a
    /// module's ini entries, which PHP prints itself only for modules without an info function.
    fn display_ini_entries(module: *mut ModuleEntry);
}

extern "C" fn module_info(module: *mut ModuleEntry) {
    info_table_start!();
    info_table_row!("Server-Sent Events support", "enabled");
    info_table_row!("version", env!("CARGO_PKG_VERSION"));
    // A Redis URL may hold a password: shown redacted, as Sse\Broker::url() shows it.
    info_table_row!("broker (sse.broker)", sse_core::broker::url::redact(&ffi::ini_string(c"sse.broker").unwrap_or_default()));
    let stats = &sse_server::stream::detached::STATS;
    let count = |n: &std::sync::atomic::AtomicU64| n.load(std::sync::atomic::Ordering::Relaxed).to_string();
    info_table_row!("detached streams open in this process", count(&stats.open));
    info_table_row!("events written by detached streams", count(&stats.events));
    info_table_row!("bytes queued for slow clients", count(&stats.bytes_queued));
    info_table_row!("detached streams closed as too slow", count(&stats.slow_closes));
    info_table_row!("detached streams ended by hang-ups", count(&stats.hang_ups));
    for engine in sse_server::broker::engines() {
        let hub = engine.hub();
        let delivered = hub.delivered.load(std::sync::atomic::Ordering::Relaxed);
        let reading = engine.reading().map(|how| format!("; {how}")).unwrap_or_default();
        info_table_row!("broker", format!("{} ({} events delivered to this process's streams{reading})", engine.name(), delivered));
    }
    info_table_end!();
    // SAFETY: `module` is the entry PHP is printing; sse.broker's cells go through
    // `display_broker`, so no password is printed.
    unsafe { display_ini_entries(module) };
}

/// `sse.broker`: the broker of `new Sse\Broker()` and `subscribe()` without one. phpinfo()
/// shows its Local and Master Values through [`display_broker`], which hides a password.
///
/// `sse.relay_dir`: where the php-fpm workers (and other processes) of a machine share one
/// Redis reader; empty: each process reads Redis itself. A machine's setting: php.ini or a
/// pool's `php_admin_value`.
static INI: IniEntryDefs<3> = IniEntryDefs::new([
    IniEntryDef { displayer: Some(display_broker), ..IniEntryDef::new(c"sse.broker", c"local", IniEntryPermission::All) },
    IniEntryDef::new(c"sse.relay_dir", c"/dev/shm/ext-sse-relay", IniEntryPermission::System),
    IniEntryDef::end(),
]);

/// `ZEND_INI_DISPLAY_ORIG`: the Master Value column (the other one, 2, is the Local Value).
const INI_DISPLAY_ORIG: std::ffi::c_int = 1;

/// A flag of PHP's `zend_ini_entry` (Zend/zend_ini.h): `modified` is a `uint8_t` up to PHP 8.5
/// and a `bool` from PHP 8.6.
fn is_set<T: Into<u8>>(flag: T) -> bool {
    flag.into() != 0
}

/// The displayer of `sse.broker` in phpinfo()'s directive table: PHP's own displayer (the
/// value, or "no value"; HTML-escaped unless phpinfo() writes text) with the URL redacted.
unsafe extern "C" fn display_broker(entry: *mut ext_php_rs::ffi::zend_ini_entry, kind: std::ffi::c_int) {
    // No panic may cross into PHP; the worst a failure does is leave the cell empty.
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        // SAFETY: PHP passes its live entry (`zend_ini_entry`, Zend/zend_ini.h, the same fields
        // from PHP 8.2 to 8.6), and its value strings, for the call's duration.
        let Some(entry) = (unsafe { entry.as_ref() }) else { return };
        let value = if kind == INI_DISPLAY_ORIG && is_set(entry.modified) { entry.orig_value } else { entry.value };
        // SAFETY: as above; a null value is none.
        let text = unsafe { value.as_ref() }.map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned()).filter(|t| !t.is_empty());
        // SAFETY: sapi_module is set before any request and only read here, on the PHP thread.
        let as_text = unsafe { (*std::ptr::addr_of!(ext_php_rs::ffi::sapi_module)).phpinfo_as_text } != 0;
        let shown = match text {
            Some(url) if as_text => sse_core::broker::url::redact(&url),
            Some(url) => html_escaped(&sse_core::broker::url::redact(&url)),
            None if as_text => "no value".to_owned(),
            None => "<i>no value</i>".to_owned(),
        };
        ffi::write_buffered(shown.as_bytes());
    }));
}

fn html_escaped(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#039;"),
            c => escaped.push(c),
        }
    }
    escaped
}

fn startup(_kind: i32, module_number: i32) -> i32 {
    ffi::register_exception_classes();
    IniEntryDef::register(INI.as_slice(), module_number);
    0
}

extern "C" fn request_startup(_kind: i32, _module_number: i32) -> i32 {
    // Classes are registered after the module's own startup function has run, so this is the
    // first moment their entries can be completed.
    ffi::use_destruct_method(<bindings::sse_emitter::SseEmitter as ext_php_rs::class::RegisteredClass>::get_metadata().ce());
    0
}

extern "C" fn module_shutdown(_kind: i32, _module_number: i32) -> i32 {
    // Detached streams end properly (retry, end of response) while the runtime still runs.
    sse_server::stream::detached::end_all(std::time::Duration::from_secs(2));
    // Active subscriptions: the ends still queued are published and this process's lease goes.
    sse_server::presence::shut_down_all();
    sse_server::runtime::shutdown();
    0
}

#[php_module]
#[php(startup = startup)]
pub fn get_module(module: ModuleBuilder) -> ModuleBuilder {
    bindings::mercure_publish::register(module)
        .name("sse")
        .version(env!("CARGO_PKG_VERSION"))
        .class::<bindings::server_sent_events::ServerSentEvents>()
        .class::<bindings::event_stream_parser::EventStreamParser>()
        .class::<bindings::sse_emitter::SseEmitter>()
        .class::<bindings::broker::Broker>()
        .class::<bindings::mercure_hub::MercureHub>()
        .request_startup_function(request_startup)
        .shutdown_function(module_shutdown)
        .info_function(module_info)
}
