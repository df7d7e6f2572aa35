//! `Sse\MercureHub`: a Mercure hub (draft-dunglas-mercure-07) served by the current request.
//! The logic is in `sse_server::mercure` and `sse_core::mercure`; this is the PHP surface.

use crate::bindings::broker::Broker;
use crate::error::{finish, Error, Result};
use crate::ffi;
use crate::mercure::{options, reply, request};
use ext_php_rs::flags::ClassFlags;
use ext_php_rs::prelude::*;
use ext_php_rs::types::ZendHashTable;
use sse_server::mercure::hub::Hub;

#[php_class]
#[php(name = "Sse\\MercureHub")]
#[php(flags = ClassFlags::Final)]
pub struct MercureHub {
    hub: Hub,
}

#[php_impl]
impl MercureHub {
    /// `$broker` null: the `sse.broker` ini setting's. Options: see the stubs and the README.
    pub fn __construct(broker: Option<&Broker>, options: Option<&ZendHashTable>) -> Result<Self> {
        let options = options::from_array(options)?;
        let (engine, settings) = Broker::given_or_ini(broker)?;
        Ok(MercureHub { hub: Hub { engine, settings, options } })
    }

    /// Handles the current request as the hub endpoint: GET subscribes, POST publishes,
    /// OPTIONS answers CORS preflights.
    pub fn serve(&self) -> Result<()> {
        let answered = self.hub.serve(&request::current());
        ffi::log_pending_warnings();
        finish(answered.map_err(Into::into).and_then(reply::send))
    }

    /// Adds the discovery header `Link: <$url>; rel="mercure"` to the response (when headers
    /// can still be sent) and returns its value.
    #[php(defaults(url = "\"/.well-known/mercure\""))]
    pub fn discover(url: String) -> Result<String> {
        if url.is_empty() || url.contains(|c: char| c.is_control() || matches!(c, '<' | '>' | ' ' | '"')) {
            return Err(Error::invalid_argument("url", "must be a URL without spaces, quotes, angle brackets or control characters").into());
        }
        let value = format!("<{url}>; rel=\"mercure\"");
        if ffi::headers_sent_at().is_none() {
            ffi::set_header(&format!("Link: {value}"), false);
        }
        Ok(value)
    }
}
