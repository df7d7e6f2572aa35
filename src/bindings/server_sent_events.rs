//! `Sse\ServerSentEvents`: one event, drop-in for Workerman's class of the same name.

use crate::error::Result;
use crate::event_fields;
use crate::ffi;
use ext_php_rs::binary::Binary;
use ext_php_rs::binary_slice::BinarySlice;
use ext_php_rs::flags::ClassFlags;
use ext_php_rs::prelude::*;
use ext_php_rs::types::{ZendHashTable, Zval};
use sse_core::{Event, Field};

#[php_class]
#[php(name = "Sse\\ServerSentEvents")]
#[php(flags = ClassFlags::Final)]
#[php(implements(ce = ffi::json_serializable_ce, stub = "\\JsonSerializable"))]
pub struct ServerSentEvents {
    pub(crate) event: Event,
}

#[php_impl]
impl ServerSentEvents {
    pub fn __construct(fields: &ZendHashTable) -> Result<Self> {
        Ok(Self { event: event_fields::from_array(fields)? })
    }

    /// A data event, optionally named and with an id.
    #[php(optional = event)]
    pub fn message(data: &Zval, event: Option<BinarySlice<u8>>, id: Option<&Zval>) -> Result<Self> {
        let mut frame = Event::new();
        event_fields::set_data(&mut frame, data)?;
        if let Some(name) = event {
            frame.set_event(&name)?;
        }
        if let Some(id) = id.filter(|id| !id.is_null()) {
            event_fields::set(&mut frame, Field::Id, id)?;
        }
        Ok(Self { event: frame })
    }

    /// A comment-only frame.
    #[php(optional = text)]
    pub fn comment(text: Option<BinarySlice<u8>>) -> Result<Self> {
        let mut frame = Event::new();
        frame.set_comment(text.as_deref().copied().unwrap_or_default())?;
        Ok(Self { event: frame })
    }

    pub fn get_event(&self) -> Option<String> {
        self.event.event().map(str::to_owned)
    }

    pub fn get_data(&self) -> Option<String> {
        self.event.data().map(str::to_owned)
    }

    pub fn get_id(&self) -> Option<String> {
        self.event.id().map(str::to_owned)
    }

    pub fn get_retry(&self) -> Option<i64> {
        self.event.retry().map(|r| i64::try_from(r).unwrap_or(i64::MAX))
    }

    pub fn get_comment(&self) -> Option<String> {
        self.event.comment().map(str::to_owned)
    }

    pub fn to_array(&self) -> ext_php_rs::error::Result<ZendHashTable_> {
        fields_array(&self.event)
    }

    pub fn json_serialize(&self) -> ext_php_rs::error::Result<ZendHashTable_> {
        fields_array(&self.event)
    }

    pub fn __to_string(&self) -> Binary<u8> {
        Binary::from(self.event.encode())
    }
}

type ZendHashTable_ = ext_php_rs::boxed::ZBox<ZendHashTable>;

/// The present fields in wire order.
fn fields_array(event: &Event) -> ext_php_rs::error::Result<ZendHashTable_> {
    let mut array = ZendHashTable::new();
    if let Some(v) = event.comment() {
        array.insert("comment", v)?;
    }
    if let Some(v) = event.event() {
        array.insert("event", v)?;
    }
    if let Some(v) = event.id() {
        array.insert("id", v)?;
    }
    if let Some(v) = event.retry() {
        array.insert("retry", i64::try_from(v).unwrap_or(i64::MAX))?;
    }
    if let Some(v) = event.data() {
        array.insert("data", v)?;
    }
    Ok(array)
}
