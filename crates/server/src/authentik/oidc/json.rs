//! JSON as Python's `json.dumps` writes it (`ensure_ascii=True`, keys in insertion order), in the three layouts
//! authentik's OAuth2 provider uses: PyJWT's compact payload, Django's `JsonResponse` and `indent=N`.

use std::io;

use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap as _;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use serde_json::ser::{CompactFormatter, Formatter, PrettyFormatter};

/// The layout of `json.dumps`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Style {
    /// `separators=(",", ":")` (PyJWT).
    Compact,
    /// The defaults, `", "` and `": "` (Django's `JsonResponse`).
    Spaced,
    /// `indent=N`: one item a line, `","` and `": "`.
    Indent(usize),
}

/// A JSON object whose keys keep their order (`serde_json::Map` sorts them without `preserve_order`).
/// Inserting a key that is present replaces its value in place, as a Python `dict` does.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Ordered(Vec<(String, Value)>);

impl Ordered {
    pub(crate) fn new() -> Self {
        Self(Vec::new())
    }

    pub(crate) fn insert(&mut self, key: impl Into<String>, value: impl Into<Value>) {
        let key = key.into();
        let value = value.into();
        match self.0.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => self.0.push((key, value)),
        }
    }

    /// `dict.setdefault`: inserts only when the key is absent.
    pub(crate) fn set_default(&mut self, key: impl Into<String>, value: impl Into<Value>) {
        let key = key.into();
        if self.get(&key).is_none() {
            self.0.push((key, value.into()));
        }
    }

    pub(crate) fn get(&self, key: &str) -> Option<&Value> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    #[allow(dead_code, reason = "upstream's rule, unit-tested; no endpoint reaches it yet")]
    pub(crate) fn keys(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(k, _)| k.as_str())
    }

    #[allow(dead_code, reason = "upstream's rule, unit-tested; no endpoint reaches it yet")]
    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    #[allow(dead_code, reason = "upstream's rule, unit-tested; no endpoint reaches it yet")]
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `dict.update(other)`.
    pub(crate) fn extend(&mut self, other: impl IntoIterator<Item = (String, Value)>) {
        for (key, value) in other {
            self.insert(key, value);
        }
    }

    /// Into a `serde_json::Value` (whose map sorts the keys).
    pub(crate) fn into_value(self) -> Value {
        Value::Object(self.0.into_iter().collect())
    }
}

impl IntoIterator for Ordered {
    type Item = (String, Value);
    type IntoIter = std::vec::IntoIter<(String, Value)>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl Serialize for Ordered {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (key, value) in &self.0 {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

/// Reads an object keeping its keys' order (nested values are `serde_json::Value`s).
impl<'de> Deserialize<'de> for Ordered {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct OrderedVisitor;

        impl<'de> Visitor<'de> for OrderedVisitor {
            type Value = Ordered;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Ordered, A::Error> {
                let mut out = Ordered::new();
                while let Some((key, value)) = map.next_entry::<String, Value>()? {
                    out.insert(key, value);
                }
                Ok(out)
            }
        }

        deserializer.deserialize_map(OrderedVisitor)
    }
}

/// `json.dumps(value, …)`: every character outside printable ASCII is escaped as `\uXXXX` (UTF-16 units).
pub(crate) fn to_python_json(value: &(impl Serialize + ?Sized), style: Style) -> Result<String, serde_json::Error> {
    let mut out = Vec::with_capacity(256);
    match style {
        Style::Compact => value.serialize(&mut serde_json::Serializer::with_formatter(&mut out, CompactFormatter))?,
        Style::Spaced => value.serialize(&mut serde_json::Serializer::with_formatter(&mut out, SpacedFormatter))?,
        Style::Indent(n) => {
            let indent = vec![b' '; n];
            value.serialize(&mut serde_json::Serializer::with_formatter(
                &mut out,
                PrettyFormatter::with_indent(&indent),
            ))?
        }
    }
    // serde_json writes valid UTF-8.
    let text = String::from_utf8(out).map_err(|e| serde::ser::Error::custom(e.to_string()))?;
    Ok(ensure_ascii(text))
}

/// Non-ASCII characters (and DEL) only occur inside strings of serde_json's output, so escaping each of them is
/// what Python's `ESCAPE_ASCII` does.
fn ensure_ascii(text: String) -> String {
    if text.bytes().all(|b| b < 0x7f) {
        return text;
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if (c as u32) < 0x7f {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    out
}

/// Python's default separators: `", "` between items, `": "` after keys.
struct SpacedFormatter;

impl Formatter for SpacedFormatter {
    fn begin_array_value<W: ?Sized + io::Write>(&mut self, writer: &mut W, first: bool) -> io::Result<()> {
        if first { Ok(()) } else { writer.write_all(b", ") }
    }

    fn begin_object_key<W: ?Sized + io::Write>(&mut self, writer: &mut W, first: bool) -> io::Result<()> {
        if first { Ok(()) } else { writer.write_all(b", ") }
    }

    fn begin_object_value<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        writer.write_all(b": ")
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn layouts_are_pythons() {
        let mut o = Ordered::new();
        o.insert("z", 1);
        o.insert("a", json!([1, "é", {}]));
        o.insert("m", json!({}));
        o.insert("z", 2);
        // json.dumps(d, separators=(",", ":"))
        assert_eq!(to_python_json(&o, Style::Compact).unwrap(), r#"{"z":2,"a":[1,"\u00e9",{}],"m":{}}"#);
        // json.dumps(d)
        assert_eq!(to_python_json(&o, Style::Spaced).unwrap(), r#"{"z": 2, "a": [1, "\u00e9", {}], "m": {}}"#);
        // json.dumps(d, indent=4)
        assert_eq!(
            to_python_json(&o, Style::Indent(4)).unwrap(),
            "{\n    \"z\": 2,\n    \"a\": [\n        1,\n        \"\\u00e9\",\n        {}\n    ],\n    \"m\": {}\n}"
        );
    }

    #[test]
    fn escapes_as_ensure_ascii() {
        // json.dumps("\x7f😀\n\x01") == '"\\u007f\\ud83d\\ude00\\n\\u0001"'
        assert_eq!(to_python_json("\u{7f}😀\n\u{1}", Style::Compact).unwrap(), r#""\u007f\ud83d\ude00\n\u0001""#);
    }

    #[test]
    fn set_default_keeps_present_values() {
        let mut o = Ordered::new();
        o.insert("scope", "a");
        o.set_default("scope", "b");
        o.set_default("uid", "c");
        assert_eq!(to_python_json(&o, Style::Compact).unwrap(), r#"{"scope":"a","uid":"c"}"#);
    }
}
