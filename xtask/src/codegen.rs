//! `cargo xtask codegen`: golden copies of the generated server trait and client, for review and freshness checks.
//!
//! The build scripts generate into `OUT_DIR`; these copies are the same bytes checked in, so every API
//! change shows up as a reviewable diff, and `crates/client/tests/golden.rs` proves the client copy builds.

use std::path::{Path, PathBuf};

use anyhow::Context;

/// One golden file: where it lives and how it is produced from the merged spec.
#[derive(Debug)]
pub struct Golden {
    pub path: &'static str,
    generate: fn(&tokenstack_codegen::Spec) -> Result<String, tokenstack_codegen::SpecError>,
}

/// Every golden copy, in check order.
pub const GOLDEN: &[Golden] = &[
    Golden { path: "crates/api/tests/output/api.rs", generate: tokenstack_codegen::generate_server },
    Golden { path: "crates/client/tests/output/client.rs", generate: tokenstack_codegen::generate_client },
];

/// A file's expected contents next to what is on disk.
#[derive(Debug)]
pub struct Expected {
    pub path: PathBuf,
    /// Path relative to the workspace root, for messages.
    pub display: String,
    pub expected: String,
    /// `None` when the file does not exist.
    pub actual: Option<String>,
}

impl Expected {
    pub fn read(root: &Path, relative: &str, expected: String) -> Expected {
        let path = root.join(relative);
        let actual = std::fs::read_to_string(&path).ok();
        Expected { path, display: relative.to_string(), expected, actual }
    }

    pub fn is_fresh(&self) -> bool {
        self.actual.as_deref() == Some(self.expected.as_str())
    }

    /// Writes the expected contents if they differ; returns whether it wrote.
    pub fn write(&self) -> anyhow::Result<bool> {
        if self.is_fresh() {
            return Ok(false);
        }
        if let Some(parent) = self.path.parent() {
            std::fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
        }
        std::fs::write(&self.path, &self.expected).with_context(|| format!("cannot write {}", self.display))?;
        Ok(true)
    }
}

/// What each golden file should contain, generated from the checked-in `spec/openapi.json`.
pub fn expected_golden(root: &Path) -> anyhow::Result<Vec<Expected>> {
    let spec = tokenstack_codegen::load_spec(&root.join("spec/openapi.json"))?;
    GOLDEN
        .iter()
        .map(|golden| {
            let source = (golden.generate)(&spec).with_context(|| format!("cannot generate {}", golden.path))?;
            Ok(Expected::read(root, golden.path, source))
        })
        .collect()
}
