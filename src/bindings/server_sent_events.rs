//! `Sse\ServerSentEvents`: one event, drop-in for Workerman's class of the same name.

use crate::error::{Error, Result};
use crate::event_fields;
use crate::ffi;
use ext_php_rs::binary_slice::BinarySlice;
use ext_php_rs::boxed::ZBox;
use ext_php_rs::convert::{FromZval, IntoZval};
use ext_php_rs::ffi::zend_string;
use ext_php_rs::flags::ClassFlags;
use ext_php_rs::flags::DataType;
use ext_php_rs::prelude::*;
use ext_php_rs::types::{ZendClassObject, ZendHashTable, ZendStr, Zval};
use sse_core::{Event, Field};
use std::cell::RefCell;
use std::mem::MaybeUninit;

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

/// A frame returned to PHP as a string. A small frame is encoded into one reused buffer and
/// copied once into the PHP string; a large one is written straight into a string PHP allocates
/// at its exact length (known before encoding), so that its bytes are written once, by one
/// pass that splits the lines and copies them, and nothing of its size is allocated outside
/// PHP's memory manager.
pub struct PhpString(ZBox<ZendStr>);

thread_local! {
    static FRAME_BUFFER: RefCell<Vec<u8>> = RefCell::new(Vec::with_capacity(512));
}

/// Frames from this length on are written in place. Below it, one more copy of a few KiB costs
/// less than PHP's string builder, which rounds what it allocates up to whole 4 KiB pages.
const IN_PLACE_FROM: usize = 4096;

impl PhpString {
    pub fn frame_of(event: &Event) -> Self {
        let len = event.encoded_len();
        if len >= IN_PLACE_FROM {
            if let Some(string) = frame_in_place(event, len) {
                return PhpString(string);
            }
        }
        FRAME_BUFFER.with(|buffer| match buffer.try_borrow_mut() {
            Ok(mut buffer) if len < IN_PLACE_FROM => {
                buffer.clear();
                event.encode_into(&mut buffer);
                PhpString(ZendStr::new(buffer.as_slice(), false))
            }
            _ => PhpString(ZendStr::new(event.encode(), false)),
        })
    }
}

/// PHP's `smart_str`: a string being built and the bytes allocated for it.
#[repr(C)]
struct SmartStr {
    s: *mut zend_string,
    a: usize,
}

// PHP's string builder, exported by every SAPI binary since PHP 7 (Zend/zend_smart_str.c); it
// is the one API that allocates a zend_string without filling it. ZEND_FASTCALL is empty on
// x86-64 and arm64, so the C calling convention holds.
extern "C" {
    fn smart_str_erealloc(string: *mut SmartStr, len: usize);
}

/// The frame written into a new PHP string of `len` bytes, or None if it did not fit (it
/// always does: `len` is the event's own count; the string is then freed).
fn frame_in_place(event: &Event, len: usize) -> Option<ZBox<ZendStr>> {
    let mut builder = SmartStr { s: std::ptr::null_mut(), a: 0 };
    // SAFETY: an empty builder (no string yet) asks for a new string of at least `len` bytes
    // (plus the NUL) from the request's memory manager; it bails out, as every emalloc does,
    // only when the memory limit is hit.
    unsafe { smart_str_erealloc(&raw mut builder, len) };
    if builder.s.is_null() {
        return None;
    }
    // SAFETY: the builder owns a fresh, unshared zend_string with room for `builder.a` bytes
    // and a NUL after `val`; a ZBox takes over its one reference (and releases it on drop).
    let string = unsafe { ZBox::from_raw(builder.s) };
    if builder.a < len {
        return None;
    }
    // SAFETY: `val` starts `builder.a + 1` allocated bytes (the header is followed by them),
    // not yet initialised, which nothing else refers to while this slice lives.
    let room = unsafe { std::slice::from_raw_parts_mut((*builder.s).val.as_mut_ptr().cast::<MaybeUninit<u8>>(), builder.a + 1) };
    let written = event.encode_to_slice(room.get_mut(..len)?)?;
    room.get_mut(written)?.write(0);
    // SAFETY: the string is ours alone; its first `written` bytes are the frame, then a NUL.
    unsafe { (*builder.s).len = written };
    Some(string)
}

impl IntoZval for PhpString {
    const TYPE: DataType = DataType::String;
    const NULLABLE: bool = false;

    fn set_zval(self, zval: &mut Zval, _persistent: bool) -> ext_php_rs::error::Result<()> {
        zval.set_zend_string(self.0);
        Ok(())
    }
}

/// Runs `body` on the event a method was given: a `ServerSentEvents`, an array of its fields,
/// Laravel's `StreamedEvent`, or a data string. An object's event is borrowed, not copied (this
/// is the path of every `send()`).
pub fn with_event<T>(value: &Zval, body: impl FnOnce(&Event) -> T) -> Result<T> {
    let value = value.dereference();
    match value.get_type() {
        DataType::String => {
            let mut event = Event::new();
            event_fields::set_data(&mut event, value)?;
            Ok(body(&event))
        }
        DataType::Array => match value.array() {
            Some(fields) => Ok(body(&event_fields::from_array(fields)?)),
            None => Err(not_an_event()),
        },
        DataType::Object(_) => match <&ZendClassObject<ServerSentEvents>>::from_zval(value).and_then(|o| o.obj.as_ref()) {
            Some(event) => Ok(body(&event.event)),
            None => match value.object().filter(|o| event_fields::is_laravel_event(o)) {
                Some(laravel) => Ok(body(&event_fields::from_laravel_event(laravel)?)),
                None => Err(not_an_event()),
            },
        },
        _ => Err(not_an_event()),
    }
}

fn not_an_event() -> crate::error::Failure {
    Error::invalid_event(
        Field::Data,
        "send() and publish() take a ServerSentEvents, an array of its fields, an Illuminate\\Http\\StreamedEvent, or a data string",
    )
    .into()
}
