//! Records each operationId this client sends, for `cargo xtask check`'s operation coverage.
//!
//! progenitor calls `client.pre(..)` on a `&Client`. The generated `impl ClientHooks for &Client` has
//! default (empty) hooks; this `impl ClientHooks for Client` is found first by method resolution
//! (autoref specialization), so enabling the feature changes no generated code.
//!
//! The recording is `<target>/operation-coverage/<test binary>.txt`: `# exe <path>`, then one operationId
//! per line. A recording older than its test binary is started afresh, so removed tests drop out.

use std::collections::BTreeSet;
use std::fs::OpenOptions;
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock, PoisonError};

use progenitor_client::{ClientHooks, Error, OperationInfo};

use crate::Client;

impl ClientHooks<()> for Client {
    async fn pre<E>(&self, _request: &mut reqwest::Request, info: &OperationInfo) -> Result<(), Error<E>> {
        record(info.operation_id);
        Ok(())
    }
}

static SEEN: Mutex<BTreeSet<&'static str>> = Mutex::new(BTreeSet::new());

fn record(operation_id: &'static str) {
    let Some(file) = recording_file() else { return };
    let mut seen = SEEN.lock().unwrap_or_else(PoisonError::into_inner);
    if seen.insert(operation_id)
        && let Ok(mut out) = OpenOptions::new().append(true).open(file)
    {
        // Recording is best effort: a test never fails because coverage could not be written.
        let _ = writeln!(out, "{operation_id}");
    }
}

/// The recording of this test binary, created (or restarted when older than the binary) on first use.
fn recording_file() -> Option<&'static PathBuf> {
    static FILE: OnceLock<Option<PathBuf>> = OnceLock::new();
    FILE.get_or_init(|| {
        let exe = std::env::current_exe().ok()?;
        // <target>/<profile>/deps/<binary>
        let target = exe.parent()?.parent()?.parent()?;
        let dir = target.join("operation-coverage");
        std::fs::create_dir_all(&dir).ok()?;
        let file = dir.join(format!("{}.txt", exe.file_stem()?.to_string_lossy()));
        let built = std::fs::metadata(&exe).and_then(|m| m.modified()).ok()?;
        let recorded = std::fs::metadata(&file).and_then(|m| m.modified()).ok();
        if recorded.is_none_or(|recorded| recorded < built) {
            std::fs::write(&file, format!("# exe {}\n", exe.display())).ok()?;
        }
        Some(file)
    })
    .as_ref()
}
