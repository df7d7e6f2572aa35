//! The PHP classes: one file per class, each a thin layer over the core.

pub mod broker;
pub mod event_stream_parser;
pub mod mercure_hub;
pub mod mercure_publish;
pub mod server_sent_events;
pub mod sse_emitter;
