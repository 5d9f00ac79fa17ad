//! Reading a body straight into the contract's typed structs, with serde and no
//! `serde_json::Value` tree in between, leniently: a field of an unexpected kind is kept
//! as what it was ([`Json`], for a precise message later), a key an object has no field
//! for is kept by name ([`Keys`]); only broken JSON or a duplicated key stops the reading.
//!
//! Each object of the contract is declared with [`json_object!`]: its fields, each with
//! its key. Nested objects and arrays are [`Shaped`]: the expected type, or what came
//! instead.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::fmt::{self, Write as _};

use serde::de::{self, Deserialize, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

/// A JSON value as found: scalars whole, arrays and objects only as their kind (their
/// contents are read through, and checked for duplicated keys, but not kept).
#[derive(Debug, Clone, PartialEq)]
pub enum Json<'de> {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    String(Cow<'de, str>),
    Array,
    Object,
}

impl Json<'_> {
    /// What kind of value it is, for messages like "must be a string, not a number".
    pub fn kind(&self) -> &'static str {
        match self {
            Json::Null => "null",
            Json::Bool(_) => "a boolean",
            Json::Number(_) => "a number",
            Json::String(_) => "a string",
            Json::Array => "an array",
            Json::Object => "an object",
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Json::Null)
    }
}

/// The value as JSON text (arrays and objects abbreviated), for messages.
impl fmt::Display for Json<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Json::Null => f.write_str("null"),
            Json::Bool(b) => write!(f, "{b}"),
            Json::Number(n) => write!(f, "{n}"),
            Json::String(s) => match serde_json::to_string(s) {
                Ok(quoted) => f.write_str(&quoted),
                Err(_) => write!(f, "{s:?}"),
            },
            Json::Array => f.write_str("[…]"),
            Json::Object => f.write_str("{…}"),
        }
    }
}

/// A value that should be a `T` (an object or an array of the contract), as found.
#[derive(Debug)]
pub enum Shaped<'de, T> {
    Expected(T),
    Other(Json<'de>),
}

impl<T> Shaped<'_, T> {
    pub fn is_null(&self) -> bool {
        matches!(self, Shaped::Other(Json::Null))
    }
}

/// How a type is read from a JSON object or array, into the slot of the field that holds
/// it. The defaults read through the value (the type is not of that shape: the slot gets
/// the value's kind), so a type implements only the shape it is.
pub trait Shape<'de>: Sized {
    fn read_map<A: MapAccess<'de>>(
        slot: &mut Option<Shaped<'de, Self>>,
        map: A,
    ) -> Result<(), A::Error> {
        skip_map(map)?;
        *slot = Some(Shaped::Other(Json::Object));
        Ok(())
    }

    fn read_seq<A: SeqAccess<'de>>(
        slot: &mut Option<Shaped<'de, Self>>,
        seq: A,
    ) -> Result<(), A::Error> {
        skip_seq(seq)?;
        *slot = Some(Shaped::Other(Json::Array));
        Ok(())
    }
}

/// An array of the contract (of events).
impl<'de, T: Deserialize<'de>> Shape<'de> for Vec<T> {
    fn read_seq<A: SeqAccess<'de>>(
        slot: &mut Option<Shaped<'de, Self>>,
        mut seq: A,
    ) -> Result<(), A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        *slot = Some(Shaped::Expected(items));
        Ok(())
    }
}

impl<'de, T: Shape<'de>> Deserialize<'de> for Shaped<'de, T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut slot = None;
        Fill(&mut slot).deserialize(d)?;
        slot.ok_or_else(unfilled)
    }
}

impl<'de> Deserialize<'de> for Json<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut slot = None;
        Fill(&mut slot).deserialize(d)?;
        slot.ok_or_else(unfilled)
    }
}

/// [`Fill`] fills its slot whenever it returns `Ok`: this error is never seen.
fn unfilled<E: de::Error>() -> E {
    E::custom("a value was read but not kept")
}

/// Where [`Fill`] puts a value: a field's `Option`, of a scalar ([`Json`]) or of a
/// shape ([`Shaped`]).
trait Slot<'de> {
    /// A scalar, or the kind of an array or object the slot has no shape for.
    fn put(&mut self, json: Json<'de>);

    fn read_map<A: MapAccess<'de>>(&mut self, map: A) -> Result<(), A::Error>;

    fn read_seq<A: SeqAccess<'de>>(&mut self, seq: A) -> Result<(), A::Error>;
}

/// A scalar field: arrays and objects are read through and kept as their kind.
impl<'de> Slot<'de> for Option<Json<'de>> {
    fn put(&mut self, json: Json<'de>) {
        *self = Some(json);
    }

    fn read_map<A: MapAccess<'de>>(&mut self, map: A) -> Result<(), A::Error> {
        skip_map(map)?;
        self.put(Json::Object);
        Ok(())
    }

    fn read_seq<A: SeqAccess<'de>>(&mut self, seq: A) -> Result<(), A::Error> {
        skip_seq(seq)?;
        self.put(Json::Array);
        Ok(())
    }
}

impl<'de, T: Shape<'de>> Slot<'de> for Option<Shaped<'de, T>> {
    fn put(&mut self, json: Json<'de>) {
        *self = Some(Shaped::Other(json));
    }

    fn read_map<A: MapAccess<'de>>(&mut self, map: A) -> Result<(), A::Error> {
        T::read_map(self, map)
    }

    fn read_seq<A: SeqAccess<'de>>(&mut self, seq: A) -> Result<(), A::Error> {
        T::read_seq(self, seq)
    }
}

/// Reads a value into a slot, where it stays: the contract's larger objects (the top
/// level is some 500 bytes) are not copied at every layer of serde they come back
/// through (the visitor, serde_json's `deserialize_any`, `next_value`), and a scalar
/// field is written once.
struct Fill<'s, S>(&'s mut S);

impl<'de, S: Slot<'de>> Fill<'_, S> {
    fn put<E>(self, json: Json<'de>) -> Result<(), E> {
        self.0.put(json);
        Ok(())
    }
}

impl<'de, S: Slot<'de>> DeserializeSeed<'de> for Fill<'_, S> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, S: Slot<'de>> Visitor<'de> for Fill<'_, S> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.put(Json::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        self.put(Json::Null)
    }

    fn visit_bool<E: de::Error>(self, b: bool) -> Result<(), E> {
        self.put(Json::Bool(b))
    }

    fn visit_i64<E: de::Error>(self, n: i64) -> Result<(), E> {
        self.put(Json::Number(n.into()))
    }

    fn visit_u64<E: de::Error>(self, n: u64) -> Result<(), E> {
        self.put(Json::Number(n.into()))
    }

    fn visit_f64<E: de::Error>(self, n: f64) -> Result<(), E> {
        // JSON has no NaN or infinity; serde_json refuses numbers beyond f64 itself.
        match serde_json::Number::from_f64(n) {
            Some(n) => self.put(Json::Number(n)),
            None => Err(E::custom("a number out of range")),
        }
    }

    fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<(), E> {
        self.put(Json::String(Cow::Borrowed(s)))
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<(), E> {
        self.put(Json::String(Cow::Owned(s.to_owned())))
    }

    fn visit_string<E: de::Error>(self, s: String) -> Result<(), E> {
        self.put(Json::String(Cow::Owned(s)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        self.0.read_seq(seq)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        self.0.read_map(map)
    }
}

fn skip_seq<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<(), A::Error> {
    while seq.next_element::<Json<'de>>()?.is_some() {}
    Ok(())
}

/// Reads through an object, refusing a duplicated key in it or anywhere inside.
fn skip_map<'de, A: MapAccess<'de>>(mut map: A) -> Result<(), A::Error> {
    let mut keys = Keys::default();
    while let Some(Key(key)) = map.next_key()? {
        keys.insert(key)?;
        map.next_value::<Json<'de>>()?;
    }
    Ok(())
}

/// An object key, borrowed from the body unless it has escapes.
struct Key<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object key")
            }
            fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(s)))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(s.to_owned())))
            }
            fn visit_string<E: de::Error>(self, s: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(s)))
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}

/// Keys an object has no field for, each once (in key order). The set is made for the
/// first such key: most objects have none, and an empty set still costs its drop.
#[derive(Debug, Default)]
pub struct Keys<'de>(Option<BTreeSet<Cow<'de, str>>>);

impl<'de> Keys<'de> {
    /// Adds a key; a key seen before is a duplicate, and stops the reading.
    fn insert<E: de::Error>(&mut self, key: Cow<'de, str>) -> Result<(), E> {
        let keys = self.0.get_or_insert_default();
        if keys.contains(key.as_ref()) {
            return Err(duplicate(&key));
        }
        keys.insert(key);
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.0.as_ref().map_or(0, BTreeSet::len)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().flatten().map(|k| k.as_ref())
    }
}

/// The error a duplicated key stops the reading with; [`find_duplicate`] then names it.
fn duplicate<E: de::Error>(key: &str) -> E {
    E::custom(format_args!("duplicate key `{key}`"))
}

/// An object of the contract, declared with [`json_object!`].
pub trait Object<'de>: Default {
    /// Reads the value of `key` into its field; `false` when there is no such field.
    fn read_field<A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<bool, A::Error>;

    /// Where keys without a field go.
    fn unknown_keys(&mut self) -> &mut Keys<'de>;
}

/// Reads an object's keys into its fields, and the others into its unknown keys.
pub fn read_object<'de, T: Object<'de>, A: MapAccess<'de>>(
    object: &mut T,
    mut map: A,
) -> Result<(), A::Error> {
    while let Some(Key(key)) = map.next_key()? {
        if !object.read_field(&key, &mut map)? {
            object.unknown_keys().insert(key)?;
            map.next_value::<Json<'de>>()?;
        }
    }
    Ok(())
}

/// [`read_object`] in the slot of the field that holds the object, where it stays: not
/// read aside and moved there after (the top level is some 500 bytes).
pub fn read_object_in<'de, T: Object<'de>, A: MapAccess<'de>>(
    slot: &mut Option<Shaped<'de, T>>,
    map: A,
) -> Result<(), A::Error> {
    match slot.insert(Shaped::Expected(T::default())) {
        Shaped::Expected(object) => read_object(object, map),
        // Never: the slot was just given its object.
        Shaped::Other(_) => Ok(()),
    }
}

/// A field of an object: a scalar ([`Json`]) or a nested object or array ([`Shaped`]),
/// each read into its slot; or one of those boxed (read, then boxed).
pub trait Field<'de>: Sized {
    fn read<A: MapAccess<'de>>(slot: &mut Option<Self>, map: &mut A) -> Result<(), A::Error>;
}

impl<'de> Field<'de> for Json<'de> {
    fn read<A: MapAccess<'de>>(slot: &mut Option<Self>, map: &mut A) -> Result<(), A::Error> {
        map.next_value_seed(Fill(slot))
    }
}

impl<'de, T: Shape<'de>> Field<'de> for Shaped<'de, T> {
    fn read<A: MapAccess<'de>>(slot: &mut Option<Self>, map: &mut A) -> Result<(), A::Error> {
        map.next_value_seed(Fill(slot))
    }
}

impl<'de, F: Deserialize<'de>> Field<'de> for Box<F> {
    fn read<A: MapAccess<'de>>(slot: &mut Option<Self>, map: &mut A) -> Result<(), A::Error> {
        *slot = Some(map.next_value()?);
        Ok(())
    }
}

/// Reads a field's value; a second value for it is a duplicated key.
pub fn read_once<'de, F: Field<'de>, A: MapAccess<'de>>(
    slot: &mut Option<F>,
    key: &str,
    map: &mut A,
) -> Result<(), A::Error> {
    if slot.is_some() {
        return Err(duplicate(key));
    }
    F::read(slot, map)
}

/// Declares a JSON object: a struct with one `Option` per field (`None`: the key is
/// absent; `null` is `Some`, kept as found) and the keys it has no field for, read by
/// [`read_object`]. Fields are [`Json`] (scalars, read by the parser) or [`Shaped`]
/// (nested objects and arrays).
macro_rules! json_object {
    (
        $(#[$attr:meta])*
        pub struct $name:ident<$de:lifetime> {
            $($(#[$field_attr:meta])* $field:ident: $ty:ty = $key:literal,)*
        }
    ) => {
        $(#[$attr])*
        #[derive(Debug, Default)]
        pub struct $name<$de> {
            $($(#[$field_attr])* pub $field: Option<$ty>,)*
            /// Keys this object has no field for.
            pub unknown: $crate::request::json::Keys<$de>,
        }

        impl $name<'_> {
            /// The keys this object has fields for, for messages.
            #[allow(dead_code)]
            pub const KEYS: &'static [&'static str] = &[$($key),*];
        }

        impl<$de> $crate::request::json::Object<$de> for $name<$de> {
            // An object without fields (a mirror whose fields are all ignored) reads none.
            #[allow(unused_variables)]
            fn read_field<A: serde::de::MapAccess<$de>>(
                &mut self,
                key: &str,
                map: &mut A,
            ) -> Result<bool, A::Error> {
                match key {
                    $($key => $crate::request::json::read_once(&mut self.$field, key, map).map(|()| true),)*
                    _ => Ok(false),
                }
            }

            fn unknown_keys(&mut self) -> &mut $crate::request::json::Keys<$de> {
                &mut self.unknown
            }
        }

        impl<$de> $crate::request::json::Shape<$de> for $name<$de> {
            fn read_map<A: serde::de::MapAccess<$de>>(
                slot: &mut Option<$crate::request::json::Shaped<$de, Self>>,
                map: A,
            ) -> Result<(), A::Error> {
                $crate::request::json::read_object_in(slot, map)
            }
        }
    };
}
pub(crate) use json_object;

/// Reads a whole body: one JSON value, and nothing after it but whitespace. A body with
/// non-ASCII characters written as `\u` escapes is read from its copy with them decoded
/// ([`decode_non_ascii`]), kept in `decoded`; an error is the one the body as sent
/// gives, with its line and column. The value is read into `slot` (where it stays: the
/// top level is some 500 bytes), and lent from there.
pub fn read_body<'de, 's, T: Shape<'de>>(
    body: &'de [u8],
    decoded: &'de mut Option<String>,
    slot: &'s mut Option<Shaped<'de, T>>,
) -> Result<&'s Shaped<'de, T>, serde_json::Error> {
    let read = |text, slot: &mut _| read_all(serde_json::Deserializer::from_str(text), slot);
    match std::str::from_utf8(body) {
        // Checked once here, strings need no check of their own.
        Ok(text) => match decode_non_ascii(text) {
            Some(copy) => read(decoded.insert(copy).as_str(), slot).or_else(|_| read(text, slot)),
            None => read(text, slot),
        },
        // serde_json says where the bytes stop being UTF-8.
        Err(_) => read_all(serde_json::Deserializer::from_slice(body), slot),
    }?;
    slot.as_ref().ok_or_else(unfilled)
}

/// `text` with each `\uXXXX` escape of a character from U+0080 on written as the
/// character itself; `None` when it has none.
///
/// JSON writers that keep their output ASCII (Python's `json.dumps`, by default) send
/// every Chinese character so, and serde_json decodes each through a scratch buffer it
/// grows from empty: ~250 instructions a character, and the string is then copied out
/// of the buffer. Decoded here in one pass, the string is read as it is, borrowed.
///
/// The copy reads exactly as the text: in valid JSON a backslash is only ever inside a
/// string, where each escape is the backslash and the character after it (`\\u4e2d` is
/// an escaped backslash, then text), and this reads escapes the same way, left to right;
/// the character decoded is the one serde_json would have decoded. Surrogates (half of
/// a character) and ASCII (`\u0022` is a quote) stay escaped, for serde_json. In broken
/// JSON the copy is broken too, and the caller reports the text's own error.
fn decode_non_ascii(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let next_backslash = |from: usize| Some(from + memchr::memchr(b'\\', bytes.get(from..)?)?);
    let mut out = String::new();
    // Copied up to `done`; `at`, a backslash that starts an escape.
    let mut done = 0;
    let mut at = next_backslash(0)?;
    loop {
        if let Some(c) = non_ascii_escape(&bytes[at..]) {
            if out.capacity() == 0 {
                out.reserve(text.len());
            }
            out.push_str(&text[done..at]);
            out.push(c);
            at += 6;
            // A Chinese text is a run of escapes.
            while let Some(c) = non_ascii_escape(&bytes[at..]) {
                out.push(c);
                at += 6;
            }
            done = at;
        } else {
            // Another escape, kept: the backslash and the character it escapes.
            at += 2;
        }
        match next_backslash(at) {
            Some(next) => at = next,
            None => break,
        }
    }
    // Escapes, but none to decode: the text is read as it is.
    if out.capacity() == 0 {
        return None;
    }
    out.push_str(&text[done..]);
    Some(out)
}

/// The character of a `\uXXXX` escape at the start of `s`, when it is a character of
/// U+0080 or above (surrogates are not characters).
fn non_ascii_escape(s: &[u8]) -> Option<char> {
    let [b'\\', b'u', a, b, c, d, ..] = *s else {
        return None;
    };
    let [a, b, c, d] = [a, b, c, d].map(|digit| HEX_VALUE[usize::from(digit)]);
    // One test for the four digits (a Chinese text is a run of escapes).
    if (a | b | c | d) & NOT_HEX != 0 {
        return None;
    }
    let n = u32::from(a) << 12 | u32::from(b) << 8 | u32::from(c) << 4 | u32::from(d);
    char::from_u32(n).filter(|c| !c.is_ascii())
}

/// In [`HEX_VALUE`], the value of a byte that is not a hex digit (a bit no digit's value has).
const NOT_HEX: u8 = 0x10;

/// The value of each byte as a hex digit (`0`-`9`, `a`-`f`, `A`-`F`), else [`NOT_HEX`].
const HEX_VALUE: [u8; 256] = {
    let mut values = [NOT_HEX; 256];
    let mut digit = 0;
    while digit < 16 {
        let [lower, upper] = [b"0123456789abcdef"[digit], b"0123456789ABCDEF"[digit]];
        values[lower as usize] = digit as u8;
        values[upper as usize] = digit as u8;
        digit += 1;
    }
    values
};

/// Reads one value into `slot` (emptied first), and nothing after it but whitespace.
fn read_all<'de, R: serde_json::de::Read<'de>, T: Shape<'de>>(
    mut de: serde_json::Deserializer<R>,
    slot: &mut Option<Shaped<'de, T>>,
) -> Result<(), serde_json::Error> {
    *slot = None;
    Fill(slot).deserialize(&mut de)?;
    de.end()
}

/// Appends `/key` to a JSON pointer, escaped as RFC 6901 says (`~` → `~0`, `/` → `~1`).
pub fn push_key(pointer: &mut String, key: &str) {
    pointer.push('/');
    for c in key.chars() {
        match c {
            '~' => pointer.push_str("~0"),
            '/' => pointer.push_str("~1"),
            c => pointer.push(c),
        }
    }
}

/// The JSON pointer of the first duplicated key of `body`. The slow path: the fast
/// reader stops at a duplicate without knowing where it is; this walks the body again,
/// in the same order, keeping the pointer as it goes.
pub fn find_duplicate(body: &[u8]) -> Option<String> {
    let mut pointer = String::new();
    let mut de = serde_json::Deserializer::from_slice(body);
    match (Walk {
        pointer: &mut pointer,
    })
    .deserialize(&mut de)
    {
        Err(e) if e.is_data() => Some(pointer),
        _ => None,
    }
}

/// Walks any JSON value, keeping its pointer; stops at a duplicated key.
struct Walk<'p> {
    pointer: &'p mut String,
}

impl<'de> DeserializeSeed<'de> for Walk<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Walk<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Ok(())
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        for i in 0.. {
            let len = self.pointer.len();
            let _ = write!(self.pointer, "/{i}");
            let more = seq
                .next_element_seed(Walk {
                    pointer: &mut *self.pointer,
                })?
                .is_some();
            self.pointer.truncate(len);
            if !more {
                break;
            }
        }
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut keys = Keys::default();
        while let Some(Key(key)) = map.next_key()? {
            let len = self.pointer.len();
            push_key(self.pointer, &key);
            keys.insert(key)?;
            map.next_value_seed(Walk {
                pointer: &mut *self.pointer,
            })?;
            self.pointer.truncate(len);
        }
        Ok(())
    }
}

/// Numbers in `errors`' messages as the caller wrote them: a number read as a float (a
/// fraction, or an integer beyond 64 bits) is shown as the float (`9007199254740993.0`
/// as `9007199254740992.0`, `18446744073709551616` as `1.8446744073709552e+19`); where an
/// error's pointer is at a number of `body` whose float is shown in its message, the
/// body's text is put back in its place. The slow path, for refusals only: the body is
/// walked again for at most a few errors, those whose message shows a float.
pub fn numbers_as_sent(errors: &mut [super::FieldError], body: &[u8]) {
    /// Walks of the body at most, whatever the number of errors.
    const WALKS: usize = 4;
    let shows_float = |m: &str| {
        let b = m.as_bytes();
        b.windows(3).any(|w| {
            w[0].is_ascii_digit()
                && (w[1] == b'.' && w[2].is_ascii_digit()
                    || w[1] == b'e' && matches!(w[2], b'+' | b'-' | b'0'..=b'9'))
        })
    };
    place_out_of_range(errors, body);
    let mut walks = 0;
    for error in errors.iter_mut() {
        if walks == WALKS {
            return;
        }
        if error.pointer.is_empty() || !shows_float(&error.message) {
            continue;
        }
        walks += 1;
        let Some(raw) = raw_at(body, &error.pointer) else {
            continue;
        };
        let raw = raw.get();
        // An integer within 64 bits is shown exactly already; but `-0`, read as the
        // float -0.0.
        let integer = (raw.parse::<u64>().is_ok() || raw.parse::<i64>().is_ok()) && raw != "-0";
        if integer || !raw.starts_with(|c: char| c == '-' || c.is_ascii_digit()) {
            continue;
        }
        let Some(shown) = raw
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(|n| n.to_string())
        else {
            continue;
        };
        // Where `shown` stands as a number of its own (not the tail of `12.0` for `2.0`).
        let stands_alone = |at: usize| {
            let edge = |c: Option<char>| !c.is_some_and(|c| c.is_ascii_digit() || c == '.');
            edge(error.message[..at].chars().next_back())
                && edge(error.message[at + shown.len()..].chars().next())
        };
        if shown != raw
            && let Some(at) = error
                .message
                .match_indices(&shown)
                .map(|(at, _)| at)
                .find(|&at| stands_alone(at))
        {
            error.message.replace_range(at..at + shown.len(), raw);
        }
    }
}

/// A number too large for a float (`1e400`) stops serde_json with only a line and a
/// column ("number out of range at line 1 column 16"): the error, which has no pointer,
/// gets the pointer of the value at that place in `body`, found by scanning the body up
/// to it (it is well-formed JSON up to there). For refusals only.
fn place_out_of_range(errors: &mut [super::FieldError], body: &[u8]) {
    for error in errors.iter_mut() {
        if !error.pointer.is_empty() || !error.message.starts_with("number out of range at line ") {
            continue;
        }
        let Some((line, column)) = line_column(&error.message) else {
            continue;
        };
        // The byte the error is at (serde_json counts columns in bytes, from 1).
        let line_start = if line == 1 {
            Some(0)
        } else {
            body.iter()
                .enumerate()
                .filter(|(_, b)| **b == b'\n')
                .nth(line - 2)
                .map(|(i, _)| i + 1)
        };
        let Some(at) = line_start.map(|s| s + column.saturating_sub(1)) else {
            continue;
        };
        if let Some(pointer) = pointer_at(body, at) {
            error.pointer = pointer;
        }
    }
}

/// The line and column of serde_json's `… at line L column C`.
fn line_column(message: &str) -> Option<(usize, usize)> {
    let (_, place) = message.rsplit_once(" at line ")?;
    let (line, column) = place.split_once(" column ")?;
    Some((line.parse().ok()?, column.parse().ok()?))
}

/// The pointer of the scalar of `body` (well-formed up to `at`) that byte `at` is in, or
/// that ends just before it.
fn pointer_at(body: &[u8], at: usize) -> Option<String> {
    /// Where the scan is in a container: an object's key (once read) or an array's index.
    enum Frame {
        Object(Option<String>),
        Array(usize),
    }
    let pointer = |stack: &[Frame]| {
        let mut p = String::new();
        for frame in stack {
            match frame {
                Frame::Object(Some(key)) => push_key(&mut p, key),
                Frame::Object(None) => {}
                Frame::Array(i) => {
                    let _ = write!(p, "/{i}");
                }
            }
        }
        p
    };
    let mut stack: Vec<Frame> = Vec::new();
    // In an object, whether the next string is a key.
    let mut key_next = false;
    let mut i = 0;
    while i < body.len() && i <= at {
        match body[i] {
            b'{' => {
                stack.push(Frame::Object(None));
                key_next = true;
            }
            b'[' => {
                stack.push(Frame::Array(0));
                key_next = false;
            }
            b'}' | b']' => {
                stack.pop();
                key_next = false;
            }
            b',' => match stack.last_mut() {
                Some(Frame::Array(n)) => *n += 1,
                Some(Frame::Object(_)) => key_next = true,
                None => return None,
            },
            b':' => key_next = false,
            b'"' => {
                let start = i;
                i += 1;
                while i < body.len() && body[i] != b'"' {
                    i += if body[i] == b'\\' { 2 } else { 1 };
                }
                if key_next {
                    let key: String = serde_json::from_slice(body.get(start..=i)?).ok()?;
                    if let Some(Frame::Object(k)) = stack.last_mut() {
                        *k = Some(key);
                    }
                } else if at <= i {
                    return Some(pointer(&stack));
                }
            }
            b if b.is_ascii_whitespace() => {}
            _ => {
                // A number or a literal: the error is in it, or right after it.
                let end = body[i..]
                    .iter()
                    .position(|b| matches!(b, b',' | b'}' | b']') || b.is_ascii_whitespace())
                    .map_or(body.len(), |n| i + n);
                if at <= end {
                    return Some(pointer(&stack));
                }
                i = end;
                continue;
            }
        }
        i += 1;
    }
    None
}

/// The raw JSON text at `pointer` in `body`, if there is a value there.
fn raw_at<'b>(body: &'b [u8], pointer: &str) -> Option<&'b serde_json::value::RawValue> {
    let mut de = serde_json::Deserializer::from_slice(body);
    Follow(pointer).deserialize(&mut de).ok().flatten()
}

/// Follows a JSON pointer's rest (`/a/0`) down a value, to its raw text.
struct Follow<'p>(&'p str);

impl<'de> DeserializeSeed<'de> for Follow<'_> {
    type Value = Option<&'de serde_json::value::RawValue>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        if self.0.is_empty() {
            return <&serde_json::value::RawValue>::deserialize(d).map(Some);
        }
        d.deserialize_any(self)
    }
}

impl Follow<'_> {
    /// The first token of the pointer, unescaped, and the rest.
    fn split(&self) -> (String, &str) {
        let tail = self.0.strip_prefix('/').unwrap_or(self.0);
        let (token, rest) = match tail.find('/') {
            Some(i) => (&tail[..i], &tail[i..]),
            None => (tail, ""),
        };
        (token.replace("~1", "/").replace("~0", "~"), rest)
    }
}

impl<'de, 'p> Visitor<'de> for Follow<'p> {
    type Value = Option<&'de serde_json::value::RawValue>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let (token, rest) = self.split();
        let mut found = None;
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            if found.is_none() && key == token.as_str() {
                found = map.next_value_seed(Follow(rest))?;
            } else {
                map.next_value::<de::IgnoredAny>()?;
            }
        }
        Ok(found)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let (token, rest) = self.split();
        let at = token.parse::<usize>().ok();
        let mut found = None;
        for i in 0.. {
            let more = if Some(i) == at {
                seq.next_element_seed(Follow(rest))?.map(|f| found = f)
            } else {
                seq.next_element::<de::IgnoredAny>()?.map(|_| ())
            };
            if more.is_none() {
                break;
            }
        }
        Ok(found)
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_raw_text_at_a_pointer_is_found() {
        let body =
            br#"{"a": [1, {"b/c~": 9007199254740993.0}], "k": {"refundId": 18446744073709551616}}"#;
        let at = |p: &str| raw_at(body, p).map(|r| r.get().to_owned());
        assert_eq!(at("/a/1/b~1c~0").as_deref(), Some("9007199254740993.0"));
        assert_eq!(at("/k/refundId").as_deref(), Some("18446744073709551616"));
        assert_eq!(at("/a/0").as_deref(), Some("1"));
        assert_eq!(at("/a/2"), None);
        assert_eq!(at("/x"), None);
        let mut errors = vec![
            super::super::FieldError::new(
                "/k/refundId",
                "1.8446744073709552e+19 is not a refund id",
            ),
            super::super::FieldError::new("/a/1/b~1c~0", "9007199254740992.0 is not an id"),
            super::super::FieldError::new("/a/0", "1.0 is kept"),
        ];
        numbers_as_sent(&mut errors, body);
        let messages: Vec<&str> = errors.iter().map(|e| e.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "18446744073709551616 is not a refund id",
                "9007199254740993.0 is not an id",
                "1.0 is kept"
            ]
        );
        // Only where the number stands alone: not the tail of another one.
        let mut errors = vec![super::super::FieldError::new(
            "/p",
            "12.5 is the least; 2.5 is under it",
        )];
        numbers_as_sent(&mut errors, br#"{"p": 2.50}"#);
        assert_eq!(errors[0].message, "12.5 is the least; 2.50 is under it");
    }

    use super::*;

    json_object! {
        /// A test object.
        pub struct Pair<'de> {
            a: Json<'de> = "a",
            inner: Shaped<'de, Inner<'de>> = "inner",
            list: Shaped<'de, Vec<Shaped<'de, Inner<'de>>>> = "list",
        }
    }

    json_object! {
        /// What a test object holds.
        pub struct Inner<'de> {
            a: Json<'de> = "a",
            inner: Json<'de> = "inner",
        }
    }

    fn read(body: &str) -> Result<Shaped<'_, Pair<'_>>, String> {
        // The decoded copy lives as long as the test.
        let decoded = Box::leak(Box::new(None));
        let slot = Box::leak(Box::new(None));
        match read_body::<Pair>(body.as_bytes(), decoded, slot) {
            Ok(_) => slot.take().ok_or_else(|| "not kept".to_owned()),
            Err(e) => Err(e.to_string()),
        }
    }

    #[test]
    fn non_ascii_escapes_are_decoded_to_what_serde_json_reads() {
        for text in [
            r#"{"a": "\u6d59\u6c5f\u7701 100\u53f7", "\u4e2d": 1}"#,
            r#"{"a": "caf\u00e9 \u00E9\u00e9", "b": "\u0080\uffff"}"#,
            // Kept: ASCII, surrogates, an escaped backslash before `u`, other escapes.
            r#"{"a": "\u0022\u005c\u0041\u001f", "b": "\ud83d\ude00"}"#,
            r#"{"a": "\\u4e2d \\\u4e2d \"\u4e2d\" \n\t\/"}"#,
            r#"{"a": "\u4E2d\u4e2"}"#,
            r#"["\u4e2d", "\u+4e2", "\u4e2d\u4e2d\u4e2d", "x\u4e2dy"]"#,
            // Bytes next to the hex digits' ranges are not digits.
            r#"["\u4e2g", "\u4e2G", "\u4e2/", "\u4e2:", "\u4e2@", "\u4e2`", "\u00Ff\uFFFF"]"#,
        ] {
            let decoded = decode_non_ascii(text).unwrap_or_else(|| text.to_owned());
            // The same value; or broken both ways (where, the reader takes from `text`).
            let value = |t: &str| serde_json::from_str::<serde_json::Value>(t).ok();
            assert_eq!(value(&decoded), value(text), "{text} as {decoded}");
        }
        assert_eq!(
            decode_non_ascii(r#"["\u6d59\u6c5f 100\u53f7", "\\u4e2d\ud83d\ude00"]"#).as_deref(),
            Some(r#"["浙江 100号", "\\u4e2d\ud83d\ude00"]"#)
        );
        assert_eq!(decode_non_ascii(r#"{"a": "plain \n \u0041"}"#), None);
        assert_eq!(decode_non_ascii(r#"{"a": "中"}"#), None);
    }

    #[test]
    fn every_short_mix_of_escapes_reads_as_serde_json_reads_it() {
        const PIECES: [&str; 11] = [
            r"\u4e2d", r"\\", r#"\""#, r"\ud83d", r"\ude00", "a", r"\u00E9", r"\u0041", "\"", "中",
            r"\",
        ];
        let mut inside = vec![String::new()];
        for _ in 0..4 {
            inside = inside
                .iter()
                .flat_map(|s| PIECES.iter().map(move |p| format!("{s}{p}")))
                .collect();
            for s in &inside {
                let body = format!(r#"{{"a": "{s}"}}"#);
                let expected = serde_json::from_str::<serde_json::Value>(&body);
                match (read(&body), expected) {
                    (Ok(Shaped::Expected(p)), Ok(v)) => {
                        assert_eq!(
                            p.a.map(|a| a.to_string()),
                            Some(v["a"].to_string()),
                            "{body}"
                        );
                    }
                    (Err(got), Err(e)) => assert_eq!(got, e.to_string(), "{body}"),
                    (got, expected) => panic!("{body}: {got:?} but serde_json: {expected:?}"),
                }
            }
        }
    }

    #[test]
    fn broken_json_with_escapes_is_reported_where_the_body_as_sent_breaks() {
        for body in [
            "{\"a\": \"\\u4e2d\\u6587\",\n \"b\": }",
            "{\"a\": \"\\u4e2d\\u6587",
            "{\"a\": \"\\ud800\\u4e2d\"}",
            "{\"a\": 1} \\u4e2d",
            "\\u4e2d",
            "{\"a\": [\"\\u4e2d\", 1e999]}",
        ] {
            let expected = serde_json::from_str::<de::IgnoredAny>(body)
                .map(|_| ())
                .map_err(|e| (e.line(), e.column()));
            let got = read(body).map(|_| ());
            assert!(got.is_err(), "{body}");
            if let Err((line, column)) = expected {
                let got = got.err().unwrap_or_default();
                assert!(
                    got.ends_with(&format!("at line {line} column {column}")),
                    "{body}: {got}"
                );
            }
        }
        // A duplicate, after the escaped key's six bytes (three decoded).
        let got = read(r#"{"\u4e2d": 1, "中": 2}"#).err().unwrap_or_default();
        assert_eq!(got, "duplicate key `中` at line 1 column 19");
    }

    #[test]
    fn fields_of_any_kind_are_kept_as_found() {
        let Ok(Shaped::Expected(p)) = read(r#"{"a": [1, {"x": 2}], "inner": 5, "zz": null}"#)
        else {
            panic!("not read");
        };
        assert_eq!(p.a, Some(Json::Array));
        assert!(matches!(p.inner, Some(Shaped::Other(Json::Number(_)))));
        assert_eq!(p.unknown.iter().collect::<Vec<_>>(), ["zz"]);
        let Ok(Shaped::Expected(p)) = read(r#"{"a": "t\u00e9", "inner": {"a": null}}"#) else {
            panic!("not read");
        };
        assert_eq!(p.a, Some(Json::String("té".into())));
        assert!(matches!(
            p.inner,
            Some(Shaped::Expected(Inner {
                a: Some(Json::Null),
                ..
            }))
        ));
        assert!(matches!(read("[1]"), Ok(Shaped::Other(Json::Array))));
    }

    #[test]
    fn a_duplicated_key_anywhere_stops_the_reading_and_is_found() {
        for (body, pointer) in [
            (r#"{"a": 1, "a": 2}"#, "/a"),
            (r#"{"a": 1, "\u0061": 2}"#, "/a"),
            (r#"{"a": null, "a": null}"#, "/a"),
            (r#"{"zz": 1, "zz": 2}"#, "/zz"),
            (
                r#"{"inner": {"inner": {"b/c": 1, "b/c": 1}}}"#,
                "/inner/inner/b~1c",
            ),
            (
                r#"{"list": [{}, {"a": {"x": [{"y": 1, "y": 1}]}}]}"#,
                "/list/1/a/x/0/y",
            ),
            (r#"{"zz": {"m~": {"k": 1, "k": 2}}}"#, "/zz/m~0/k"),
        ] {
            let e = read(body).err().unwrap_or_default();
            assert!(e.starts_with("duplicate key"), "{body}: {e}");
            assert_eq!(
                find_duplicate(body.as_bytes()).as_deref(),
                Some(pointer),
                "{body}"
            );
        }
        assert_eq!(find_duplicate(br#"{"a": 1, "b": {"a": 1}}"#), None);
        assert_eq!(find_duplicate(b"{\"a\": "), None);
    }

    #[test]
    fn broken_json_and_trailing_characters_stop_the_reading() {
        for body in [
            "{\"a\": ",
            "{} {}",
            "{\"a\": 1e400}",
            "{\"a\": \"\\ud800\"}",
            "",
            "nul",
        ] {
            assert!(read(body).is_err(), "{body}");
        }
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(read(&format!("{{\"zz\": {deep}}}")).is_err(), "too deep");
    }
}
