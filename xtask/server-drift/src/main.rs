//! `xtask-server-drift`: prints each difference between `spec/openapi.json` and the server document, one a line.
//!
//! `cargo xtask check` runs this binary (its exit status: 0 no difference, 100 differences, 1 error), and
//! `cargo test` runs the same comparison as `spec_matches_server_document`.

mod normalize;
mod server_drift;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;

fn main() -> ExitCode {
    match differences(&project_root()) {
        Ok(differences) if differences.is_empty() => ExitCode::SUCCESS,
        Ok(differences) => {
            differences.iter().for_each(|d| println!("{d}"));
            println!(
                "(compared after the normalizations of xtask/server-drift/src/normalize.rs: {})",
                normalize::names().join(", ")
            );
            ExitCode::from(100)
        }
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(1)
        }
    }
}

/// Every non-trivial difference between the spec on disk and Dropshot's document for the generated trait.
fn differences(root: &Path) -> anyhow::Result<Vec<server_drift::Difference>> {
    let text = std::fs::read_to_string(root.join("spec/openapi.json")).context("cannot read spec/openapi.json")?;
    let spec: serde_json::Value = serde_json::from_str(&text).context("spec/openapi.json is not JSON")?;
    server_drift::compare(&spec, &server_drift::server_document()?)
}

/// The workspace root, from this crate's manifest directory (never the current directory).
fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("xtask/server-drift lives in the workspace")
        .to_path_buf()
}

#[cfg(test)]
mod tests {
    #[test]
    fn spec_matches_server_document() {
        let differences = super::differences(&super::project_root()).unwrap();
        let lines: Vec<String> = differences.iter().map(ToString::to_string).collect();
        assert!(lines.is_empty(), "spec and server differ:\n{}", lines.join("\n"));
    }
}
