//! The log line formatter: one slog record (and its logger's values) appended to a byte buffer as a bunyan
//! JSON object or a text line, without allocating (a per-thread cached timestamp prefix, `itoa`-style
//! integers, escaping scanned byte by byte).
//!
//! Two keys are rewritten on the way out, for every record: `uri` becomes `path` and loses its query string
//! (query values may hold credentials; Dropshot puts the whole URI on every request's logger), and Dropshot's
//! `response_code` becomes `status`, so every request line has the same keys whoever wrote it.
//!
//! Here: the line around the values (message, level, time, the bunyan fields). [`kv`] writes the key-value
//! pairs of each format, [`escape`] the bytes.

mod escape;
mod kv;

use std::cell::RefCell;
use std::fmt::{self, Write as _};
use std::io::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

use slog::{KV, Key, Level, OwnedKVList, Record, Serializer};

use self::escape::{Escaping, json_escape, text_escape};
use self::kv::{JsonKv, TextKv};
use crate::config::LogFormat;

/// Writes one complete line (with its `\n`) for `record` to `out`.
///
/// `hostname` and `pid` are the bunyan fields of the process (the text format leaves them out).
pub fn format_record(format: LogFormat, record: &Record<'_>, values: &OwnedKVList, host: &Host, out: &mut Vec<u8>) {
    match format {
        LogFormat::Json => json_line(record, values, host, out),
        LogFormat::Text => text_line(record, values, out),
    }
}

/// What a bunyan record says about the process: written once per line, computed once.
#[derive(Debug, Clone)]
pub struct Host {
    /// `"hostname":"…","pid":N` (escaped, without braces).
    fields: String,
}

impl Host {
    /// This machine's host name (from `/proc/sys/kernel/hostname`, else `$HOSTNAME`, else `n/a`) and pid.
    pub fn current() -> Host {
        let name = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .or_else(|| std::env::var("HOSTNAME").ok())
            .unwrap_or_else(|| "n/a".to_string());
        Host::new(&name, std::process::id())
    }

    pub fn new(hostname: &str, pid: u32) -> Host {
        let mut fields = Vec::new();
        fields.extend_from_slice(b"\"hostname\":\"");
        json_escape(hostname.as_bytes(), &mut fields);
        let _ = write!(fields, "\",\"pid\":{pid}");
        Host { fields: String::from_utf8(fields).unwrap_or_default() }
    }
}

fn json_line(record: &Record<'_>, values: &OwnedKVList, host: &Host, out: &mut Vec<u8>) {
    out.extend_from_slice(b"{\"msg\":\"");
    message(record, out, json_escape);
    out.extend_from_slice(b"\",\"v\":0,\"name\":\"tokenstack\",\"level\":");
    out.extend_from_slice(bunyan_level(record.level()));
    out.extend_from_slice(b",\"time\":\"");
    timestamp(out);
    out.extend_from_slice(b"\",");
    out.extend_from_slice(host.fields.as_bytes());
    let mut ser = JsonKv { out };
    // A value that cannot be serialized is skipped; the line stays valid JSON either way.
    let _ = record.kv().serialize(record, &mut ser);
    let _ = values.serialize(record, &mut ser);
    ser.out.extend_from_slice(b"}\n");
}

fn text_line(record: &Record<'_>, values: &OwnedKVList, out: &mut Vec<u8>) {
    timestamp(out);
    out.push(b' ');
    out.extend_from_slice(record.level().as_short_str().as_bytes());
    out.push(b' ');
    message(record, out, text_escape);
    let mut ser = TextKv { out };
    let _ = record.kv().serialize(record, &mut ser);
    let _ = values.serialize(record, &mut ser);
    ser.out.push(b'\n');
}

/// The message, escaped; formatted only when it has arguments.
fn message(record: &Record<'_>, out: &mut Vec<u8>, escape: fn(&[u8], &mut Vec<u8>)) {
    match record.msg().as_str() {
        Some(text) => escape(text.as_bytes(), out),
        None => {
            let _ = write!(Escaping { out, escape }, "{}", record.msg());
        }
    }
}

fn bunyan_level(level: Level) -> &'static [u8] {
    match level {
        Level::Critical => b"60",
        Level::Error => b"50",
        Level::Warning => b"40",
        Level::Info => b"30",
        Level::Debug => b"20",
        Level::Trace => b"10",
    }
}

thread_local! {
    /// The second of the last timestamp and its `YYYY-MM-DDTHH:MM:SS` text.
    static SECOND: RefCell<(u64, [u8; 19])> = const { RefCell::new((u64::MAX, [0; 19])) };
}

/// `2026-12-02T23:53:31.123456Z` (UTC, microseconds): the date and time are formatted once per second per thread.
fn timestamp(out: &mut Vec<u8>) {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = now.as_secs();
    SECOND.with(|cell| {
        let mut cached = cell.borrow_mut();
        if cached.0 != secs {
            let mut text = [b'0'; 19];
            let when = chrono::DateTime::from_timestamp(secs as i64, 0).unwrap_or_default();
            let mut cursor = std::io::Cursor::new(&mut text[..]);
            let _ = write!(cursor, "{}", when.format("%Y-%m-%dT%H:%M:%S"));
            *cached = (secs, text);
        }
        out.extend_from_slice(&cached.1);
    });
    let micros = now.subsec_micros();
    let mut frac = *b".000000Z";
    let mut rest = micros;
    for digit in frac[1..7].iter_mut().rev() {
        *digit = b'0' + (rest % 10) as u8;
        rest /= 10;
    }
    out.extend_from_slice(&frac);
}

/// The `req_id` of a record's logger (Dropshot puts it on every request's child logger), as a 64-bit hash:
/// how the request log recognizes Dropshot's own record of a request it has already written.
pub(crate) fn req_id_hash(record: &Record<'_>, values: &OwnedKVList) -> Option<u64> {
    struct Find(Option<u64>);
    impl Find {
        fn found(&mut self, key: &str, val: &str) {
            if key == "req_id" && self.0.is_none() {
                self.0 = Some(hash(val.as_bytes()));
            }
        }
    }
    impl Serializer for Find {
        fn emit_str(&mut self, key: Key, val: &str) -> slog::Result {
            self.found(key.as_ref(), val);
            Ok(())
        }
        fn emit_arguments(&mut self, key: Key, val: &fmt::Arguments<'_>) -> slog::Result {
            let key: &str = key.as_ref();
            match val.as_str() {
                Some(text) => self.found(key, text),
                None if key == "req_id" => self.found(key, &val.to_string()),
                None => {}
            }
            Ok(())
        }
    }
    let mut find = Find(None);
    let _ = values.serialize(record, &mut find);
    find.0
}

/// FNV-1a, never 0 (0 marks a free slot of the recent-request ring).
fn hash(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h | 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(format: LogFormat, log: impl FnOnce(&slog::Logger)) -> String {
        use std::sync::{Arc, Mutex};
        struct Capture(Arc<Mutex<Vec<u8>>>, LogFormat);
        impl slog::Drain for Capture {
            type Ok = ();
            type Err = slog::Never;
            fn log(&self, record: &Record<'_>, values: &OwnedKVList) -> Result<(), slog::Never> {
                let mut out = self.0.lock().expect("capture");
                format_record(self.1, record, values, &Host::new("box\"1", 42), &mut out);
                Ok(())
            }
        }
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let root = slog::Logger::root(Capture(buffer.clone(), format), slog::o!());
        log(&root);
        String::from_utf8(buffer.lock().expect("capture").clone()).expect("utf-8")
    }

    fn request(log: &slog::Logger) {
        let addr: std::net::SocketAddr = "127.0.0.1:5555".parse().expect("addr");
        let child = log.new(slog::o!("remote_addr" => addr, "req_id" => "abc", "method" => "GET",
            "uri" => format!("{}", "/api/v3/core/tokens/?search=secret-key&x=1")));
        slog::info!(child, "request completed"; "operation_id" => "core_tokens_list", "status" => 200u16,
            "latency_us" => 17u64, "note" => "a \"quoted\"\nline", "ratio" => 0.5, "neg" => -3i32, "flag" => true, "big" => 17u128);
    }

    #[test]
    fn json_lines_are_bunyan_records_without_query_strings() {
        let text = line(LogFormat::Json, request);
        assert!(text.ends_with("}\n") && text.matches('\n').count() == 1, "{text}");
        let record: serde_json::Value = serde_json::from_str(&text).expect("one JSON object");
        assert_eq!(record["msg"], "request completed");
        assert_eq!(record["v"], 0);
        assert_eq!(record["name"], "tokenstack");
        assert_eq!(record["level"], 30);
        assert_eq!(record["hostname"], "box\"1");
        assert_eq!(record["pid"], 42);
        assert_eq!(record["path"], "/api/v3/core/tokens/");
        assert!(record.get("uri").is_none());
        assert_eq!(record["req_id"], "abc");
        assert_eq!(record["remote_addr"], "127.0.0.1:5555");
        assert_eq!(record["status"], 200);
        assert_eq!(record["latency_us"], 17);
        assert_eq!(record["note"], "a \"quoted\"\nline");
        assert_eq!(record["ratio"], 0.5);
        assert_eq!(record["neg"], -3);
        assert_eq!(record["flag"], true);
        assert_eq!(record["big"], 17);
        let time = record["time"].as_str().expect("time");
        assert!(chrono::DateTime::parse_from_rfc3339(time).is_ok() && time.len() == 27, "{time}");
        assert!(!text.contains("secret-key"), "{text}");
    }

    #[test]
    fn text_lines_are_one_line_each_without_query_strings() {
        let text = line(LogFormat::Text, request);
        assert_eq!(text.matches('\n').count(), 1, "{text}");
        let (time, rest) = text.split_once(' ').expect("timestamp");
        assert!(chrono::DateTime::parse_from_rfc3339(time).is_ok(), "{text}");
        // slog hands a record's values over last first.
        assert!(rest.starts_with("INFO request completed, big: 17, flag: true, neg: -3, ratio: 0.5,"), "{text}");
        assert!(rest.contains(", latency_us: 17, status: 200, operation_id: core_tokens_list, path: "), "{text}");
        assert!(rest.contains(", note: a \"quoted\"\\nline,"), "{text}");
        assert!(rest.contains(", path: /api/v3/core/tokens/,") && !rest.contains("secret-key"), "{text}");
        assert!(rest.contains(", req_id: abc,"), "{text}");
    }

    #[test]
    fn formatted_messages_and_control_characters_are_escaped() {
        let text = line(LogFormat::Json, |log| slog::warn!(log, "got {} \u{1}", "x\"y"));
        let record: serde_json::Value = serde_json::from_str(&text).expect("json");
        assert_eq!(record["msg"], "got x\"y \u{1}");
        assert_eq!(record["level"], 40);
        let text = line(LogFormat::Text, |log| slog::error!(log, "a\u{1}b\rc"));
        assert!(text.ends_with("ERRO a\\u{1}b\\rc\n"), "{text:?}");
    }

    #[test]
    fn the_req_id_hash_comes_from_the_logger_values() {
        struct Probe(std::sync::Mutex<Vec<Option<u64>>>);
        impl slog::Drain for Probe {
            type Ok = ();
            type Err = slog::Never;
            fn log(&self, record: &Record<'_>, values: &OwnedKVList) -> Result<(), slog::Never> {
                self.0.lock().expect("probe").push(req_id_hash(record, values));
                Ok(())
            }
        }
        let probe = std::sync::Arc::new(Probe(std::sync::Mutex::new(Vec::new())));
        let root = slog::Logger::root(probe.clone(), slog::o!());
        slog::info!(root, "no request");
        slog::info!(root.new(slog::o!("req_id" => "abc".to_string())), "one");
        slog::info!(root.new(slog::o!("req_id" => "abd")), "other");
        let seen = probe.0.lock().expect("probe").clone();
        assert_eq!(seen[0], None);
        assert_eq!(seen[1], Some(hash(b"abc")));
        assert!(seen[2].is_some() && seen[2] != seen[1]);
    }
}
