//! JSON as Python's `json.dumps` writes it (`ensure_ascii=True`, floats as `float.__repr__`, keys in insertion
//! order), in the three layouts authentik uses: PyJWT's compact payload, Django's `JsonResponse` and `indent=N`
//! (the token API's `id_token`, the discovery document). The one `json.dumps` of the crate.

use std::io;

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::ser::Formatter;

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

/// A JSON object whose keys keep their order (`serde_json::Map` sorts them without `preserve_order`), as a Python
/// `dict`: inserting a key that is present replaces its value in place. Reading one keeps the order too.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub(crate) struct Ordered(IndexMap<String, Value>);

impl Ordered {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    pub(crate) fn insert(&mut self, key: impl Into<String>, value: impl Into<Value>) {
        self.0.insert(key.into(), value.into());
    }

    /// `dict.setdefault`: inserts only when the key is absent.
    pub(crate) fn set_default(&mut self, key: impl Into<String>, value: impl Into<Value>) {
        self.0.entry(key.into()).or_insert_with(|| value.into());
    }

    #[cfg(test)]
    pub(crate) fn get(&self, key: &str) -> Option<&Value> {
        self.0.get(key)
    }

    #[cfg(test)]
    pub(crate) fn keys(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }

    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `dict.update(other)`.
    pub(crate) fn extend(&mut self, other: impl IntoIterator<Item = (String, Value)>) {
        self.0.extend(other);
    }

    /// Into a `serde_json::Value` (whose map sorts the keys).
    pub(crate) fn into_value(self) -> Value {
        Value::Object(self.0.into_iter().collect())
    }
}

impl IntoIterator for Ordered {
    type Item = (String, Value);
    type IntoIter = indexmap::map::IntoIter<String, Value>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

/// `json.dumps(value, …)` in `style`: every character outside printable ASCII is escaped as `\uXXXX` (UTF-16
/// units), floats are written as Python's `repr` writes them. Non-finite floats cannot occur: serde_json writes
/// them as `null` before a formatter sees them, and a `serde_json::Value` cannot hold one.
pub(crate) fn to_python_json(value: &(impl Serialize + ?Sized), style: Style) -> Result<String, serde_json::Error> {
    let mut out = Vec::with_capacity(256);
    value.serialize(&mut serde_json::Serializer::with_formatter(&mut out, PythonFormatter::new(style)))?;
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

/// `float.__repr__`: the shortest digits that round-trip, in positional notation when the decimal exponent is
/// in `-4..16` (with `.0` when integral), else as `d[.ddd]e±XX` with at least two exponent digits.
fn python_float_repr(value: f64) -> String {
    if !value.is_finite() {
        // `json.dumps`' `allow_nan=True` spellings (unreachable through serde_json, see `to_python_json`).
        return if value.is_nan() {
            "NaN"
        } else if value > 0.0 {
            "Infinity"
        } else {
            "-Infinity"
        }
        .to_owned();
    }
    // Rust's `{:e}` writes the shortest round-tripping digits too: `-1.2345e-7`.
    let scientific = format!("{value:e}");
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    // The decimal point sits `point` digits into `digits` (Python's `decpt`).
    let point = exponent + 1;
    let n = digits.len() as i32;
    if !(-4 < point && point <= 16) {
        let (first, rest) = digits.split_at(1);
        let fraction = if rest.is_empty() { String::new() } else { format!(".{rest}") };
        let exp_sign = if exponent < 0 { '-' } else { '+' };
        return format!("{sign}{first}{fraction}e{exp_sign}{:02}", exponent.unsigned_abs());
    }
    if point <= 0 {
        format!("{sign}0.{}{digits}", "0".repeat(point.unsigned_abs() as usize))
    } else if point < n {
        let (whole, fraction) = digits.split_at(point as usize);
        format!("{sign}{whole}.{fraction}")
    } else {
        format!("{sign}{digits}{}.0", "0".repeat((point - n) as usize))
    }
}

/// Python's `JSONEncoder` layouts: the item and key separators of `style`, and with `indent` one item a line,
/// an empty container written `[]` / `{}`.
struct PythonFormatter {
    item_separator: &'static [u8],
    key_separator: &'static [u8],
    indent: Option<usize>,
    depth: usize,
    has_value: bool,
}

impl PythonFormatter {
    fn new(style: Style) -> Self {
        let (item_separator, key_separator, indent): (&[u8], &[u8], _) = match style {
            Style::Compact => (b",", b":", None),
            Style::Spaced => (b", ", b": ", None),
            // `indent` makes the default item separator `","`.
            Style::Indent(n) => (b",", b": ", Some(n)),
        };
        Self { item_separator, key_separator, indent, depth: 0, has_value: false }
    }

    fn newline<W: ?Sized + io::Write>(&self, writer: &mut W) -> io::Result<()> {
        match self.indent {
            Some(n) => {
                writer.write_all(b"\n")?;
                writer.write_all(" ".repeat(n * self.depth).as_bytes())
            }
            None => Ok(()),
        }
    }

    fn begin<W: ?Sized + io::Write>(&mut self, writer: &mut W, open: &[u8]) -> io::Result<()> {
        self.depth += 1;
        self.has_value = false;
        writer.write_all(open)
    }

    fn end<W: ?Sized + io::Write>(&mut self, writer: &mut W, close: &[u8]) -> io::Result<()> {
        self.depth -= 1;
        if self.has_value {
            self.newline(writer)?;
        }
        writer.write_all(close)
    }

    fn item<W: ?Sized + io::Write>(&mut self, writer: &mut W, first: bool) -> io::Result<()> {
        if !first {
            writer.write_all(self.item_separator)?;
        }
        self.newline(writer)
    }
}

impl Formatter for PythonFormatter {
    fn write_f32<W: ?Sized + io::Write>(&mut self, writer: &mut W, value: f32) -> io::Result<()> {
        // Python has one float type: an f32 is widened, as `float(numpy.float32(x))` would be.
        writer.write_all(python_float_repr(f64::from(value)).as_bytes())
    }

    fn write_f64<W: ?Sized + io::Write>(&mut self, writer: &mut W, value: f64) -> io::Result<()> {
        writer.write_all(python_float_repr(value).as_bytes())
    }

    fn begin_array<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.begin(writer, b"[")
    }

    fn end_array<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.end(writer, b"]")
    }

    fn begin_array_value<W: ?Sized + io::Write>(&mut self, writer: &mut W, first: bool) -> io::Result<()> {
        self.item(writer, first)
    }

    fn end_array_value<W: ?Sized + io::Write>(&mut self, _writer: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }

    fn begin_object<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.begin(writer, b"{")
    }

    fn end_object<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.end(writer, b"}")
    }

    fn begin_object_key<W: ?Sized + io::Write>(&mut self, writer: &mut W, first: bool) -> io::Result<()> {
        self.item(writer, first)
    }

    fn begin_object_value<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        writer.write_all(self.key_separator)
    }

    fn end_object_value<W: ?Sized + io::Write>(&mut self, _writer: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
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

    /// Each expected text is what CPython 3 `json.dumps(…, indent=4)` writes for the same value.
    #[test]
    fn indent_4_is_pythons_with_empty_containers_non_ascii_and_floats() {
        let nested = json!({"a": [], "b": {}, "c": [[], {}], "d": [1, {"x": null}]});
        assert_eq!(
            to_python_json(&nested, Style::Indent(4)).unwrap(),
            "{\n    \"a\": [],\n    \"b\": {},\n    \"c\": [\n        [],\n        {}\n    ],\n    \"d\": [\n        1,\n        {\n            \"x\": null\n        }\n    ]\n}"
        );
        assert_eq!(
            to_python_json(&json!({"k": "Zoë 😀"}), Style::Indent(4)).unwrap(),
            "{\n    \"k\": \"Zo\\u00eb \\ud83d\\ude00\"\n}"
        );
        assert_eq!(to_python_json(&json!([]), Style::Indent(4)).unwrap(), "[]");
        let floats = json!([
            1e16,
            1e15,
            1.5e-5,
            0.0001,
            123.456,
            -0.0,
            1e300,
            2.5e-320,
            1.0,
            0.1,
            1e22,
            5e-324,
            12345678901234567.0,
            0.00012
        ]);
        assert_eq!(
            to_python_json(&floats, Style::Indent(4)).unwrap(),
            "[\n    1e+16,\n    1000000000000000.0,\n    1.5e-05,\n    0.0001,\n    123.456,\n    -0.0,\n    1e+300,\n    2.5e-320,\n    1.0,\n    0.1,\n    1e+22,\n    5e-324,\n    1.2345678901234568e+16,\n    0.00012\n]"
        );
        // json.dumps([0.5, -2.0], separators=(",", ":")) and json.dumps({"f": 1e-07})
        assert_eq!(to_python_json(&json!([0.5, -2.0]), Style::Compact).unwrap(), "[0.5,-2.0]");
        assert_eq!(to_python_json(&json!({"f": 1e-7}), Style::Spaced).unwrap(), r#"{"f": 1e-07}"#);
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
