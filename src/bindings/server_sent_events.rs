//! `Sse\ServerSentEvents`: one event, drop-in for Workerman's class of the same name.

use crate::error::Result;
use crate::event_fields;
use crate::ffi;
use ext_php_rs::binary_slice::BinarySlice;
use ext_php_rs::flags::ClassFlags;
use ext_php_rs::prelude::*;
use ext_php_rs::boxed::ZBox;
use ext_php_rs::convert::IntoZval;
use ext_php_rs::flags::DataType;
use ext_php_rs::types::{ZendHashTable, ZendStr, Zval};
use std::cell::RefCell;
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

    pub fn __to_string(&self) -> PhpString {
        PhpString::frame_of(&self.event)
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

/// A frame returned to PHP as a string, built without an intermediate allocation: frames are
/// encoded into one reused buffer, then copied once into the PHP string.
pub struct PhpString(ZBox<ZendStr>);

thread_local! {
    static FRAME_BUFFER: RefCell<Vec<u8>> = RefCell::new(Vec::with_capacity(512));
}

/// Buffers that grew beyond this for a large event are not kept between calls.
const KEPT_BUFFER: usize = 64 * 1024;

impl PhpString {
    pub fn frame_of(event: &Event) -> Self {
        FRAME_BUFFER.with(|buffer| match buffer.try_borrow_mut() {
            Ok(mut buffer) => {
                buffer.clear();
                event.encode_into(&mut buffer);
                let string = PhpString(ZendStr::new(buffer.as_slice(), false));
                if buffer.capacity() > KEPT_BUFFER {
                    *buffer = Vec::with_capacity(512);
                }
                string
            }
            Err(_) => PhpString(ZendStr::new(event.encode(), false)),
        })
    }
}

impl IntoZval for PhpString {
    const TYPE: DataType = DataType::String;
    const NULLABLE: bool = false;

    fn set_zval(self, zval: &mut Zval, _persistent: bool) -> ext_php_rs::error::Result<()> {
        zval.set_zend_string(self.0);
        Ok(())
    }
}
