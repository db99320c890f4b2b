//! The server's log: one drain for every record (Dropshot's and ours), a cheap formatter ([`format`]) and a
//! buffered non-blocking writer ([`writer`]) on stderr.
//!
//! **One line per request.** `http/observe.rs` writes `request completed` with the operationId for every
//! request that reaches a handler. Dropshot writes its own `request completed` for every request; the drain
//! drops Dropshot's when it has already written ours for the same `req_id` (a small ring of recent request ids),
//! so a request refused before any handler ran (router 404/405, an unreadable body or path) keeps Dropshot's
//! line and every other request has exactly ours.

pub mod format;
pub mod writer;

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};

use slog::{Drain, Level, OwnedKVList, Record};

use self::format::{Host, format_record, req_id_hash};
pub use self::writer::LogFlush;
use self::writer::LogWriter;
use crate::config::{LogFormat, LogLevel};

/// The message of the one line per request.
pub(crate) const REQUEST_COMPLETED: &str = "request completed";

/// Recent request ids whose line is written, by hash (a slot is overwritten by a later request; a request
/// that stays in flight longer than [`RECENT`] newer ones would get both lines, never none).
const RECENT: usize = 4096;

/// The drain of every record.
pub(crate) struct LineDrain {
    format: LogFormat,
    level: Level,
    host: Host,
    recent: Box<[AtomicU64]>,
    writer: LogWriter,
}

thread_local! {
    static SCRATCH: RefCell<Vec<u8>> = RefCell::new(Vec::with_capacity(1024));
}

impl LineDrain {
    fn new(format: LogFormat, level: LogLevel, writer: LogWriter) -> LineDrain {
        LineDrain {
            format,
            level: level.slog(),
            host: Host::current(),
            recent: (0..RECENT).map(|_| AtomicU64::new(0)).collect(),
            writer,
        }
    }

    fn slot(&self, hash: u64) -> &AtomicU64 {
        &self.recent[(hash >> 32) as usize % RECENT]
    }

    fn write(&self, record: &Record<'_>, values: &OwnedKVList) {
        SCRATCH.with(|scratch| match scratch.try_borrow_mut() {
            Ok(mut line) => {
                line.clear();
                format_record(self.format, record, values, &self.host, &mut line);
                self.writer.push(&line);
                if line.capacity() > 64 * 1024 {
                    line.shrink_to(1024);
                }
            }
            // Only if a value's Display logged while being formatted on this thread.
            Err(_) => {
                let mut line = Vec::new();
                format_record(self.format, record, values, &self.host, &mut line);
                self.writer.push(&line);
            }
        });
    }
}

impl Drain for LineDrain {
    type Ok = ();
    type Err = slog::Never;

    fn log(&self, record: &Record<'_>, values: &OwnedKVList) -> Result<(), slog::Never> {
        if !record.level().is_at_least(self.level) {
            return Ok(());
        }
        if record.msg().as_str() == Some(REQUEST_COMPLETED) {
            let hash = req_id_hash(record, values);
            if record.module().starts_with("dropshot") {
                // Ours was written: forget it and drop Dropshot's.
                if let Some(hash) = hash
                    && self.slot(hash).compare_exchange(hash, 0, Ordering::Relaxed, Ordering::Relaxed).is_ok()
                {
                    return Ok(());
                }
            } else if let Some(hash) = hash {
                self.slot(hash).store(hash, Ordering::Relaxed);
            }
        }
        self.write(record, values);
        Ok(())
    }

    fn is_enabled(&self, level: Level) -> bool {
        level.is_at_least(self.level)
    }
}

/// The root logger of a server (`--log-format`, `--log-level`, stderr) and the handle that flushes it.
pub(crate) fn logger(format: LogFormat, level: LogLevel) -> std::io::Result<(slog::Logger, LogFlush)> {
    logger_to(format, level, Box::new(std::io::stderr()))
}

/// [`logger`] writing to `sink`.
pub(crate) fn logger_to(
    format: LogFormat,
    level: LogLevel,
    sink: Box<dyn std::io::Write + Send>,
) -> std::io::Result<(slog::Logger, LogFlush)> {
    let (writer, flush) = LogWriter::new(sink)?;
    let drain = LineDrain::new(format, level, writer);
    Ok((slog::Logger::root(drain, slog::o!()), flush))
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Sink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("sink").extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn below_the_level_nothing_is_written_and_lines_carry_the_level() {
        let sink = Sink::default();
        let (log, flush) = logger_to(LogFormat::Json, LogLevel::Warn, Box::new(sink.clone())).expect("logger");
        slog::info!(log, "quiet");
        slog::warn!(log, "loud"; "k" => 1u8);
        flush.flush();
        let text = String::from_utf8(sink.0.lock().expect("sink").clone()).expect("utf-8");
        assert_eq!(text.lines().count(), 1, "{text}");
        assert!(text.contains(r#""msg":"loud""#) && text.contains(r#""k":1"#), "{text}");
    }

    /// Dropshot's own record comes from a module under `dropshot`, which a test here cannot imitate: the
    /// server's `json_logs_…` test proves that a request gets one line; this one that ours is written and marked.
    #[test]
    fn our_request_line_is_remembered_by_req_id() {
        let sink = Sink::default();
        let (writer, flush) = LogWriter::new(Box::new(sink.clone())).expect("writer");
        let drain = LineDrain::new(LogFormat::Json, LogLevel::Info, writer);
        let log = slog::Logger::root(drain, slog::o!());
        let request = log.new(slog::o!("req_id" => "r-1".to_string()));
        slog::info!(request, "request completed"; "operation_id" => "healthz", "status" => 200u16);
        flush.flush();
        let text = String::from_utf8(sink.0.lock().expect("sink").clone()).expect("utf-8");
        assert_eq!(text.lines().count(), 1, "{text}");
        assert!(text.contains(r#""operation_id":"healthz""#), "{text}");
    }
}
