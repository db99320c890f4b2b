//! The buffered, non-blocking log writer: formatted lines are appended to a shared buffer and a background
//! thread writes the buffer out in large chunks, so a request pays a memcpy under an uncontended lock, not a
//! `write(2)` per line.
//!
//! The thread writes every [`FLUSH_INTERVAL`] while there is output, sleeps while there is none, and is woken
//! when the buffer passes [`HIGH_WATER`]. When the sink cannot keep up and the buffer reaches [`CAPACITY`],
//! lines are dropped (never blocking a request) and a `log records dropped` line reports how many.
//! [`LogFlush::flush`] (shutdown) and dropping the last [`LogWriter`] write everything still pending.

use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::Thread;
use std::time::Duration;

/// How long written lines wait at most before the background thread writes them.
pub(crate) const FLUSH_INTERVAL: Duration = Duration::from_millis(20);
/// Pending bytes that wake the writer at once.
pub(crate) const HIGH_WATER: usize = 64 * 1024;
/// Pending bytes beyond which lines are dropped.
pub(crate) const CAPACITY: usize = 4 * 1024 * 1024;

struct Shared {
    pending: Mutex<Vec<u8>>,
    sink: Mutex<Box<dyn Write + Send>>,
    /// The writer thread is parked without a timeout (nothing was pending).
    idle: AtomicBool,
    closed: AtomicBool,
    dropped: AtomicU64,
}

fn lock<T: ?Sized>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding a log buffer leaves bytes, not broken invariants.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    /// Writes what is pending (and the count of dropped lines); false when there was nothing.
    fn flush(&self, spare: &mut Vec<u8>) -> bool {
        let mut sink = lock(&self.sink);
        {
            let mut pending = lock(&self.pending);
            std::mem::swap(&mut *pending, spare);
        }
        let dropped = self.dropped.swap(0, Ordering::Relaxed);
        if dropped > 0 {
            // After the lines that were kept, so the count sits where the gap is.
            let _ = writeln!(spare, "tokenstack: {dropped} log records dropped (the log output could not keep up)");
        }
        if spare.is_empty() {
            return false;
        }
        // Nowhere to report a failing stderr; the lines are lost either way.
        let _ = sink.write_all(spare);
        let _ = sink.flush();
        spare.clear();
        if spare.capacity() > 4 * HIGH_WATER {
            spare.shrink_to(HIGH_WATER);
        }
        true
    }
}

/// The writing side, owned by the log drain.
pub(crate) struct LogWriter {
    shared: Arc<Shared>,
    thread: Thread,
}

/// Writes everything pending now; held by a running server for its shutdown.
#[derive(Clone)]
pub struct LogFlush {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for LogFlush {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogFlush").finish_non_exhaustive()
    }
}

impl LogFlush {
    pub fn flush(&self) {
        self.shared.flush(&mut Vec::new());
    }
}

impl LogWriter {
    /// A writer to `sink` with its background thread.
    pub(crate) fn new(sink: Box<dyn Write + Send>) -> std::io::Result<(LogWriter, LogFlush)> {
        let shared = Arc::new(Shared {
            pending: Mutex::new(Vec::with_capacity(HIGH_WATER)),
            sink: Mutex::new(sink),
            idle: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            dropped: AtomicU64::new(0),
        });
        let background = shared.clone();
        let handle = std::thread::Builder::new().name("tokenstack-log".into()).spawn(move || run(&background))?;
        let flush = LogFlush { shared: shared.clone() };
        Ok((LogWriter { shared, thread: handle.thread().clone() }, flush))
    }

    /// Appends one complete line; drops it when [`CAPACITY`] bytes are already waiting.
    pub(crate) fn push(&self, line: &[u8]) {
        let len = {
            let mut pending = lock(&self.shared.pending);
            if pending.len() + line.len() > CAPACITY {
                drop(pending);
                self.shared.dropped.fetch_add(1, Ordering::Relaxed);
                return;
            }
            pending.extend_from_slice(line);
            pending.len()
        };
        // Wake the thread when it sleeps without a timeout, or when a burst crosses the high-water mark.
        let crossed = len >= HIGH_WATER && len - line.len() < HIGH_WATER;
        if (self.shared.idle.load(Ordering::SeqCst) && self.shared.idle.swap(false, Ordering::SeqCst)) || crossed {
            self.thread.unpark();
        }
    }
}

impl Drop for LogWriter {
    fn drop(&mut self) {
        self.shared.closed.store(true, Ordering::SeqCst);
        self.thread.unpark();
        self.shared.flush(&mut Vec::new());
    }
}

fn run(shared: &Shared) {
    let mut spare = Vec::with_capacity(HIGH_WATER);
    loop {
        let wrote = shared.flush(&mut spare);
        if shared.closed.load(Ordering::SeqCst) {
            shared.flush(&mut spare);
            return;
        }
        if wrote {
            std::thread::park_timeout(FLUSH_INTERVAL);
            continue;
        }
        shared.idle.store(true, Ordering::SeqCst);
        // A line pushed before `idle` was set did not wake us: look again before sleeping.
        if !lock(&shared.pending).is_empty() || shared.closed.load(Ordering::SeqCst) {
            shared.idle.store(false, Ordering::SeqCst);
            continue;
        }
        std::thread::park();
        shared.idle.store(false, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);

    impl Write for Sink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            lock(&self.0).extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn flush_writes_every_pushed_line_in_order() {
        let sink = Sink::default();
        let (writer, flush) = LogWriter::new(Box::new(sink.clone())).expect("thread");
        for i in 0..1000 {
            writer.push(format!("line {i}\n").as_bytes());
        }
        flush.flush();
        let text = String::from_utf8(lock(&sink.0).clone()).expect("utf-8");
        let expected: String = (0..1000).map(|i| format!("line {i}\n")).collect();
        assert_eq!(text, expected);
    }

    #[test]
    fn dropping_the_writer_writes_what_is_pending() {
        let sink = Sink::default();
        let (writer, _flush) = LogWriter::new(Box::new(sink.clone())).expect("thread");
        writer.push(b"last words\n");
        drop(writer);
        assert!(String::from_utf8_lossy(&lock(&sink.0)).ends_with("last words\n"));
    }

    /// A sink that blocks until released: the buffer fills, further lines are dropped and counted, and
    /// pushing never blocks.
    #[test]
    fn a_stuck_sink_drops_lines_instead_of_blocking_and_reports_the_count() {
        struct Stuck(Arc<Mutex<()>>, Sink);
        impl Write for Stuck {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                let _held = lock(&self.0);
                self.1.write(buf)
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let gate = Arc::new(Mutex::new(()));
        let sink = Sink::default();
        let (writer, flush) = LogWriter::new(Box::new(Stuck(gate.clone(), sink.clone()))).expect("thread");
        // Taken after the writer exists, so that a failing assertion releases the gate before the writer's drop
        // flushes (no deadlock on the way out); nothing is pushed before it.
        let held = lock(&gate);
        let line = [b'x'; 1023].iter().copied().chain([b'\n']).collect::<Vec<u8>>();
        // Three times the capacity: the thread holds at most one buffer (≤ CAPACITY) while stuck, and at most
        // CAPACITY bytes wait, so at least a third of the lines are dropped.
        let pushed = 3 * CAPACITY / line.len();
        for _ in 0..pushed {
            writer.push(&line);
        }
        drop(held);
        flush.flush();
        let text = String::from_utf8(lock(&sink.0).clone()).expect("utf-8");
        let kept = text.lines().filter(|l| l.starts_with('x')).count();
        // The count is reported once the writer takes it, which a late writer thread may already have done while
        // the gate held its write: add up every report rather than reading the counter at one moment.
        let dropped: usize = text
            .lines()
            .filter_map(|l| {
                l.strip_prefix("tokenstack: ")?.strip_suffix(" log records dropped (the log output could not keep up)")
            })
            .map(|n| n.parse::<usize>().expect("a count"))
            .sum();
        assert!(dropped >= CAPACITY / line.len(), "dropped {dropped}");
        assert_eq!(kept + dropped, pushed);
    }
}
