//! `Sse\Broker`: publish an event once, from any request or script, to every stream
//! subscribed to its topics (see `broker/mod.rs` for the engines).

use crate::error::{Error, Result};
use crate::event_fields;
use crate::ffi;
use crate::option_values as values;
use ext_php_rs::flags::ClassFlags;
use ext_php_rs::prelude::*;
use ext_php_rs::types::{ZendHashTable, Zval};
use sse_core::broker::stored::MAX_FRAME;
use sse_core::broker::topic;
use sse_core::broker::url::BrokerUrl;
use sse_core::broker::History;
use sse_core::Field;
use sse_server::broker::{self, Engine, Settings};
use std::sync::Arc;
use std::time::Duration;

#[php_class]
#[php(name = "Sse\\Broker")]
#[php(flags = ClassFlags::Final)]
pub struct Broker {
    url: BrokerUrl,
    pub(crate) engine: Arc<dyn Engine>,
    pub(crate) settings: Settings,
}

#[php_impl]
impl Broker {
    /// `$url` null: the `sse.broker` ini setting (default `local`).
    pub fn __construct(url: Option<String>, options: Option<&ZendHashTable>) -> Result<Self> {
        let settings = match options {
            Some(array) => settings_from(array)?,
            None => Settings::default(),
        };
        let url = match url {
            Some(url) => BrokerUrl::parse(&url)?,
            None => BrokerUrl::parse(&default_url())?,
        };
        let engine = open_engine(&url)?;
        Ok(Broker { url, engine, settings })
    }

    /// Stores the event once for `$topics` and returns the id the broker gave it.
    pub fn publish(&self, topics: &Zval, event: &Zval) -> Result<String> {
        // Encoding runs user code (jsonSerialize(), toJson()): a fatal error there goes on as
        // the bailout it is, once nothing of ours is left on the stack (as in send()).
        crate::error::finish((|| {
            let topics = topics_of(topics)?;
            let (frame, id_slot) = crate::bindings::server_sent_events::with_event(event, |event| -> Result<(Vec<u8>, usize)> {
                if event.id().is_some() {
                    return Err(Error::invalid_event(Field::Id, "a published event gets its id from the broker; leave the id out").into());
                }
                event_fields::check_dispatchable(event)?;
                Ok(event.encode_without_id())
            })??;
            if frame.len() > MAX_FRAME {
                return Err(Error::invalid_event(Field::Data, format!("the event is {} bytes framed; a broker stores at most {MAX_FRAME}", frame.len())).into());
            }
            let published = self.engine.publish(&topics, &frame, id_slot, &self.settings);
            crate::ffi::log_pending_warnings();
            Ok(published?.to_string())
        })())
    }

    /// The URL of this broker (a Redis password shown as `***`).
    pub fn url(&self) -> String {
        self.url.display()
    }

    /// The id a client that saw every event so far would send: resuming from it replays
    /// nothing. Useful to hand a page the id its first snapshot corresponds to.
    pub fn last_event_id(&self) -> Result<String> {
        let epoch = self.engine.epoch()?;
        let position = self.engine.last_position()?;
        Ok(sse_core::broker::EventId { epoch, position }.to_string())
    }
}

impl Broker {
    /// The broker of `subscribe()` without one: the ini setting's, with default options.
    pub fn from_ini() -> Result<Broker> {
        let url = BrokerUrl::parse(&default_url())?;
        let engine = open_engine(&url)?;
        Ok(Broker { url, engine, settings: Settings::default() })
    }

    /// The engine and settings of the broker a method was given, else of the `sse.broker` ini
    /// setting's.
    pub fn given_or_ini(broker: Option<&Broker>) -> Result<(Arc<dyn Engine>, Settings)> {
        match broker {
            Some(broker) => Ok((broker.engine.clone(), broker.settings)),
            None => Broker::from_ini().map(|broker| (broker.engine, broker.settings)),
        }
    }
}

/// The engine of `url` in this process; a Redis one relays as `sse.relay_dir` says.
fn open_engine(url: &BrokerUrl) -> Result<Arc<dyn Engine>> {
    if !matches!(url, BrokerUrl::Redis(_) | BrokerUrl::RedisCluster(_)) {
        return Ok(broker::engine(url)?);
    }
    let relay_dir = ffi::ini_string(c"sse.relay_dir").filter(|dir| !dir.is_empty());
    if let Some(dir) = relay_dir.as_deref().filter(|dir| !dir.starts_with('/')) {
        return Err(Error::misuse(format!("sse.relay_dir must be an absolute directory (or empty: no relay), got \"{dir}\"")).into());
    }
    broker::set_relay_root(relay_dir.map(std::path::PathBuf::from));
    Ok(broker::engine(url)?)
}

fn default_url() -> String {
    ffi::ini_string(c"sse.broker").filter(|s| !s.is_empty()).unwrap_or_else(|| "local".to_owned())
}

/// One topic name or a list of them.
pub fn topics_of(value: &Zval) -> Result<Vec<String>> {
    let value = value.dereference();
    if let Some(name) = value.zend_str() {
        return Ok(topic::check_all([name.as_bytes()])?);
    }
    let Some(array) = value.array() else {
        return Err(Error::invalid_argument("topics", "must be a string or an array of strings").into());
    };
    let mut names = Vec::with_capacity(array.len());
    for (_, item) in array {
        match item.dereference().zend_str() {
            Some(name) => names.push(name.as_bytes()),
            None => return Err(Error::invalid_argument("topics", "must be a string or an array of strings").into()),
        }
    }
    Ok(topic::check_all(names)?)
}

fn settings_from(array: &ZendHashTable) -> Result<Settings> {
    let mut settings = Settings::default();
    for (key, value) in array {
        let name = values::name_of(key);
        let value = value.dereference();
        match name.as_str() {
            "history" => {
                let meaning = format!("a whole number of events from 1 to 1000000000 (default {})", History::DEFAULT_MAX_EVENTS);
                settings.history.max_events = values::whole("history", value, 1..=1_000_000_000, &meaning)?
            }
            "historyAge" => settings.history.max_age = seconds("historyAge", value)?,
            "publishTimeout" => settings.publish_timeout = seconds("publishTimeout", value)?,
            _ => return Err(values::unknown(name, "history, historyAge and publishTimeout")),
        }
    }
    Ok(settings)
}

fn seconds(name: &str, value: &Zval) -> Result<Duration> {
    let seconds = values::seconds(name, value, 0.0..=1e9, "a positive number of seconds")?;
    if seconds.is_zero() {
        return Err(Error::invalid_option(name, "must be a positive number of seconds").into());
    }
    Ok(seconds)
}
