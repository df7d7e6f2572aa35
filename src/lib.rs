//! ext-sse: Server-Sent Events for PHP in native code.
//!
//! - `sse-core` (the `core/` crate): framing, parsing and scheduling, with no PHP types;
//! - [`bindings`]: the PHP classes, one file each, thin layers over the core;
//! - [`event_fields`]: PHP values into validated events;
//! - [`ffi`]: the C shim for what only C can reach (Zend macros, `zend_try`);
//! - [`options`], [`output`]: the emitter's configuration and its side of the response;
//! - [`runtime`], [`doorbell`]: the background thread that wakes waiting streams, and what they
//!   wait on;
//! - [`broker`], [`subscription`]: publish once, deliver to every subscribed stream;
//! - [`detach`]: streams served by the runtime alone, their worker free for other requests;
//! - [`mercure`]: a Mercure hub (`Sse\MercureHub`, `mercure_publish()`) over the brokers;
//! - [`error`]: the one place where errors become PHP exceptions.

#![cfg_attr(windows, feature(abi_vectorcall))]

pub mod bindings;
pub mod broker;
pub mod client_socket;
pub mod detach;
pub mod doorbell;
pub mod error;
pub mod event_fields;
pub mod fastcgi;
pub mod ffi;
pub mod mercure;
pub mod options;
pub mod output;
pub mod runtime;
pub mod subscription;

use ext_php_rs::prelude::*;
use ext_php_rs::flags::IniEntryPermission;
use ext_php_rs::zend::{IniEntryDef, IniEntryDefs};
use ext_php_rs::zend::ModuleEntry;
use ext_php_rs::{info_table_end, info_table_row, info_table_start};

extern "C" fn module_info(_module: *mut ModuleEntry) {
    info_table_start!();
    info_table_row!("Server-Sent Events support", "enabled");
    info_table_row!("version", env!("CARGO_PKG_VERSION"));
    info_table_row!("broker (sse.broker)", ffi::ini_string(c"sse.broker").unwrap_or_default());
    let stats = &detach::STATS;
    let count = |n: &std::sync::atomic::AtomicU64| n.load(std::sync::atomic::Ordering::Relaxed).to_string();
    info_table_row!("detached streams open in this process", count(&stats.open));
    info_table_row!("events written by detached streams", count(&stats.events));
    info_table_row!("bytes queued for slow clients", count(&stats.bytes_queued));
    info_table_row!("detached streams closed as too slow", count(&stats.slow_closes));
    info_table_row!("detached streams ended by hang-ups", count(&stats.hang_ups));
    for engine in broker::engines() {
        let hub = engine.hub();
        let delivered = hub.delivered.load(std::sync::atomic::Ordering::Relaxed);
        info_table_row!("broker", format!("{} ({} events delivered to this process's streams)", engine.name(), delivered));
    }
    info_table_end!();
}

/// `sse.broker`: the broker of `new Sse\Broker()` and `subscribe()` without one.
static INI: IniEntryDefs<2> = IniEntryDefs::new([
    IniEntryDef::new(c"sse.broker", c"local", IniEntryPermission::All),
    IniEntryDef::end(),
]);

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
    runtime::shutdown();
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
