//! The Mercure hub's PHP side: the current request read from PHP ([`request`]), the hub's
//! options read from a PHP array ([`options`]), and the hub's answers written to the response
//! ([`reply`]). What the hub does with a request is PHP-free: `sse_server::mercure`.

pub mod options;
pub mod reply;
pub mod request;
