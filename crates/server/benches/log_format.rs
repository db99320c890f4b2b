//! The request log line alone (`cargo bench -p tokenstack-server --bench log_format`): the record
//! `http/observe.rs` writes for a request, with the values Dropshot puts on every request's logger, formatted
//! by tokenstack's formatter (text and JSON) and, for comparison, by `slog-bunyan` (the JSON formatter it
//! replaced), each into a reused buffer.

use std::sync::Mutex;

use slog::{Drain, Logger, OwnedKVList, Record};
use tokenstack_server::config::LogFormat;
use tokenstack_server::logging::format::{Host, format_record};

fn main() {
    divan::main();
}

/// A drain that formats into one reused buffer (cleared per record), as the server's drain does.
struct Format {
    format: LogFormat,
    host: Host,
    out: Mutex<Vec<u8>>,
}

impl Drain for Format {
    type Ok = ();
    type Err = slog::Never;
    fn log(&self, record: &Record<'_>, values: &OwnedKVList) -> Result<(), slog::Never> {
        let mut out = self.out.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        out.clear();
        format_record(self.format, record, values, &self.host, &mut out);
        Ok(())
    }
}

/// The values of a request's logger: the server's `local_addr`, then Dropshot's per-request child.
fn request_logger(root: Logger) -> Logger {
    let local: std::net::SocketAddr = "127.0.0.1:9000".parse().expect("addr");
    let remote: std::net::SocketAddr = "127.0.0.1:53412".parse().expect("addr");
    root.new(slog::o!("local_addr" => local)).new(slog::o!(
        "remote_addr" => remote,
        "req_id" => "7d3c2b9e-4c1a-4f57-9d55-0b3a52e8c1f4".to_string(),
        "method" => "GET".to_string(),
        "uri" => "/api/v3/core/tokens/bench-0500000/".to_string(),
    ))
}

fn log_line(log: &Logger) {
    slog::info!(log, "request completed";
        "operation_id" => divan::black_box("core_tokens_retrieve"), "status" => 200u16, "latency_us" => 17u64);
}

fn ours(format: LogFormat) -> Logger {
    let drain = Format { format, host: Host::new("bench-host", 4242), out: Mutex::new(Vec::with_capacity(1024)) };
    request_logger(Logger::root(drain.fuse(), slog::o!()))
}

#[divan::bench]
fn text(bencher: divan::Bencher<'_, '_>) {
    let log = ours(LogFormat::Text);
    bencher.bench_local(|| log_line(&log));
}

#[divan::bench]
fn json(bencher: divan::Bencher<'_, '_>) {
    let log = ours(LogFormat::Json);
    bencher.bench_local(|| log_line(&log));
}

/// What `--log-format json` used before: slog-bunyan (slog-json over serde_json) writing into a buffer.
#[divan::bench]
fn slog_bunyan_json(bencher: divan::Bencher<'_, '_>) {
    struct Reused(std::sync::Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Reused {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let mut out = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if out.len() > 1 << 20 {
                out.clear();
            }
            out.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let buffer = std::sync::Arc::new(Mutex::new(Vec::with_capacity(2 << 20)));
    let drain = slog_bunyan::with_name("tokenstack", Reused(buffer)).build();
    let log = request_logger(Logger::root(Mutex::new(drain).fuse(), slog::o!()));
    bencher.bench_local(|| log_line(&log));
}
