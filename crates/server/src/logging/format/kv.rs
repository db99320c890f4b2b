//! A record's key-value pairs, in each format: slog [`Serializer`]s writing `,"key":value` (JSON) or
//! `, key: value` (text) into the line buffer, with the two key rewrites of every record (`uri` → `path`
//! without its query string, `response_code` → `status`).

use std::fmt::{self, Write as _};
use std::io::Write as _;

use slog::{Key, Serializer};

use super::escape::{Escaping, decimal, json_escape, signed, text_escape};

/// The key as written: `uri` → `path`, `response_code` → `status`.
fn out_key(key: &str) -> &str {
    match key {
        "uri" => "path",
        "response_code" => "status",
        other => other,
    }
}

/// A `uri` value without its query string.
fn value_of<'a>(key: &str, value: &'a str) -> &'a str {
    if key == "uri" { value.split_once('?').map_or(value, |(path, _)| path) } else { value }
}

/// Record and logger values as `,"key":value` pairs.
pub(super) struct JsonKv<'a> {
    pub(super) out: &'a mut Vec<u8>,
}

impl JsonKv<'_> {
    fn key(&mut self, key: &str) {
        self.out.extend_from_slice(b",\"");
        json_escape(out_key(key).as_bytes(), self.out);
        self.out.extend_from_slice(b"\":");
    }
}

/// The 128-bit integers and booleans, written the same way in both formats.
macro_rules! emit_wide_and_bool {
    () => {
        fn emit_u128(&mut self, key: Key, val: u128) -> slog::Result {
            self.key(key.as_ref());
            let _ = write!(self.out, "{val}");
            Ok(())
        }

        fn emit_i128(&mut self, key: Key, val: i128) -> slog::Result {
            self.key(key.as_ref());
            let _ = write!(self.out, "{val}");
            Ok(())
        }

        fn emit_bool(&mut self, key: Key, val: bool) -> slog::Result {
            self.key(key.as_ref());
            self.out.extend_from_slice(if val { b"true" } else { b"false" });
            Ok(())
        }
    };
}

macro_rules! emit_unsigned {
    ($($name:ident: $t:ty),*) => {$(
        fn $name(&mut self, key: Key, val: $t) -> slog::Result {
            self.key(key.as_ref());
            decimal(self.out, val as u64);
            Ok(())
        }
    )*};
}

macro_rules! emit_signed {
    ($($name:ident: $t:ty),*) => {$(
        fn $name(&mut self, key: Key, val: $t) -> slog::Result {
            self.key(key.as_ref());
            signed(self.out, val as i64);
            Ok(())
        }
    )*};
}

impl JsonKv<'_> {
    fn str_value(&mut self, key: &str, val: &str) {
        self.key(key);
        self.out.push(b'"');
        json_escape(value_of(key, val).as_bytes(), self.out);
        self.out.push(b'"');
    }
}

impl Serializer for JsonKv<'_> {
    emit_unsigned!(emit_usize: usize, emit_u8: u8, emit_u16: u16, emit_u32: u32, emit_u64: u64);
    emit_signed!(emit_isize: isize, emit_i8: i8, emit_i16: i16, emit_i32: i32, emit_i64: i64);

    emit_wide_and_bool!();

    fn emit_unit(&mut self, key: Key) -> slog::Result {
        self.key(key.as_ref());
        self.out.extend_from_slice(b"null");
        Ok(())
    }

    fn emit_none(&mut self, key: Key) -> slog::Result {
        self.emit_unit(key)
    }

    fn emit_f64(&mut self, key: Key, val: f64) -> slog::Result {
        self.key(key.as_ref());
        if val.is_finite() {
            let _ = write!(self.out, "{val}");
        } else {
            self.out.extend_from_slice(b"null");
        }
        Ok(())
    }

    fn emit_f32(&mut self, key: Key, val: f32) -> slog::Result {
        self.emit_f64(key, f64::from(val))
    }

    fn emit_str(&mut self, key: Key, val: &str) -> slog::Result {
        self.str_value(key.as_ref(), val);
        Ok(())
    }

    fn emit_arguments(&mut self, key: Key, val: &fmt::Arguments<'_>) -> slog::Result {
        let key: &str = key.as_ref();
        if let Some(text) = val.as_str() {
            self.str_value(key, text);
            return Ok(());
        }
        self.key(key);
        self.out.push(b'"');
        if key == "uri" {
            let mut text = String::new();
            let _ = text.write_fmt(*val);
            json_escape(value_of(key, &text).as_bytes(), self.out);
        } else {
            let _ = Escaping { out: self.out, escape: json_escape }.write_fmt(*val);
        }
        self.out.push(b'"');
        Ok(())
    }

    fn emit_serde(&mut self, key: Key, value: &dyn slog::SerdeValue) -> slog::Result {
        self.key(key.as_ref());
        if serde_json::to_writer(&mut *self.out, value.as_serde()).is_err() {
            self.out.extend_from_slice(b"null");
        }
        Ok(())
    }
}

/// Record and logger values as `, key: value` pairs.
pub(super) struct TextKv<'a> {
    pub(super) out: &'a mut Vec<u8>,
}

impl TextKv<'_> {
    fn key(&mut self, key: &str) {
        self.out.extend_from_slice(b", ");
        text_escape(out_key(key).as_bytes(), self.out);
        self.out.extend_from_slice(b": ");
    }
}

impl TextKv<'_> {
    fn str_value(&mut self, key: &str, val: &str) {
        self.key(key);
        text_escape(value_of(key, val).as_bytes(), self.out);
    }
}

impl Serializer for TextKv<'_> {
    emit_unsigned!(emit_usize: usize, emit_u8: u8, emit_u16: u16, emit_u32: u32, emit_u64: u64);
    emit_signed!(emit_isize: isize, emit_i8: i8, emit_i16: i16, emit_i32: i32, emit_i64: i64);

    emit_wide_and_bool!();

    fn emit_unit(&mut self, key: Key) -> slog::Result {
        self.key(key.as_ref());
        self.out.extend_from_slice(b"()");
        Ok(())
    }

    fn emit_none(&mut self, key: Key) -> slog::Result {
        self.key(key.as_ref());
        self.out.extend_from_slice(b"None");
        Ok(())
    }

    fn emit_str(&mut self, key: Key, val: &str) -> slog::Result {
        self.str_value(key.as_ref(), val);
        Ok(())
    }

    fn emit_arguments(&mut self, key: Key, val: &fmt::Arguments<'_>) -> slog::Result {
        let key: &str = key.as_ref();
        if let Some(text) = val.as_str() {
            self.str_value(key, text);
            return Ok(());
        }
        self.key(key);
        if key == "uri" {
            let mut text = String::new();
            let _ = text.write_fmt(*val);
            text_escape(value_of(key, &text).as_bytes(), self.out);
        } else {
            let _ = Escaping { out: self.out, escape: text_escape }.write_fmt(*val);
        }
        Ok(())
    }

    fn emit_serde(&mut self, key: Key, value: &dyn slog::SerdeValue) -> slog::Result {
        self.key(key.as_ref());
        let mut json = Vec::new();
        if serde_json::to_writer(&mut json, value.as_serde()).is_err() {
            json.clear();
        }
        text_escape(&json, self.out);
        Ok(())
    }
}
