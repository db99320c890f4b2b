//! Escaping and integers, byte by byte into the line buffer: JSON string contents, text-line values (no control
//! character survives, so a value cannot forge a line) and decimal integers without `fmt`.

use std::fmt;
use std::io::Write as _;

/// Appends `bytes` as the inside of a JSON string.
pub(crate) fn json_escape(bytes: &[u8], out: &mut Vec<u8>) {
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escaped: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0..=0x1f => {
                out.extend_from_slice(&bytes[start..i]);
                let _ = write!(out, "\\u{b:04x}");
                start = i + 1;
                continue;
            }
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        out.extend_from_slice(escaped);
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
}

/// Appends `bytes` for a text line: control characters (a newline would forge a line) as `\n`, `\u{…}`.
pub(super) fn text_escape(bytes: &[u8], out: &mut Vec<u8>) {
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if b < 0x20 || b == 0x7f {
            out.extend_from_slice(&bytes[start..i]);
            match b {
                b'\n' => out.extend_from_slice(b"\\n"),
                b'\r' => out.extend_from_slice(b"\\r"),
                b'\t' => out.extend_from_slice(b"\\t"),
                _ => {
                    let _ = write!(out, "\\u{{{b:x}}}");
                }
            }
            start = i + 1;
        }
    }
    out.extend_from_slice(&bytes[start..]);
}

/// A `fmt::Write` that escapes what it is given into the buffer.
pub(super) struct Escaping<'a> {
    pub(super) out: &'a mut Vec<u8>,
    pub(super) escape: fn(&[u8], &mut Vec<u8>),
}

impl fmt::Write for Escaping<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        (self.escape)(s.as_bytes(), self.out);
        Ok(())
    }
}

/// Writes an unsigned integer in decimal.
pub(super) fn decimal(out: &mut Vec<u8>, value: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    let mut rest = value;
    loop {
        i -= 1;
        digits[i] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

/// Writes a signed integer in decimal.
pub(super) fn signed(out: &mut Vec<u8>, value: i64) {
    if value < 0 {
        out.push(b'-');
    }
    decimal(out, value.unsigned_abs());
}
