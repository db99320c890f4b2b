//! Tidy: every Rust file opens with a `//!` line saying what it is for (rust-analyzer's `tidy.rs` rule).
//!
//! The golden copies of generated code are the exception: the build `include!`s the same text, where an
//! inner doc attribute is not allowed, so they open with the generator's `// Generated …` line.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, bail};

/// The golden copies of generated code: exempt from the rule, with the reason above, and not hand-written
/// (the layers check leaves them out too).
pub const GENERATED: &[&str] = &["crates/api/tests/output/api.rs", "crates/client/tests/output/client.rs"];

/// Every Rust file git tracks or would add (untracked but not ignored), relative to `root`, in git's order.
pub fn rust_files(root: &Path) -> anyhow::Result<Vec<String>> {
    let output = Command::new("git")
        .args(["ls-files", "--cached", "--others", "--exclude-standard", "*.rs"])
        .current_dir(root)
        .output()
        .context("cannot run git ls-files")?;
    if !output.status.success() {
        bail!("git ls-files failed: {}", String::from_utf8_lossy(&output.stderr).trim());
    }
    Ok(String::from_utf8_lossy(&output.stdout).lines().map(str::to_string).collect())
}

/// One line per Rust file under version control that does not open with `//!`.
pub fn problems(root: &Path) -> anyhow::Result<Vec<String>> {
    let mut problems = Vec::new();
    for file in rust_files(root)? {
        if GENERATED.contains(&file.as_str()) {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(root.join(&file)) else { continue };
        if !opens_with_module_doc(&text) {
            problems.push(format!("{file}: does not open with a `//!` line saying what it is for"));
        }
    }
    Ok(problems)
}

/// Whether the first line of the file is a `//!` doc comment.
pub fn opens_with_module_doc(text: &str) -> bool {
    text.lines().next().is_some_and(|line| line.starts_with("//!"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rust_file_opens_with_a_module_doc() {
        let problems = problems(&crate::project_root()).unwrap();
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }

    #[test]
    fn a_plain_comment_or_code_first_is_reported() {
        assert!(opens_with_module_doc("//! What this is for.\nfn main() {}\n"));
        assert!(!opens_with_module_doc("// This is a stub lib.rs.\n"));
        assert!(!opens_with_module_doc("fn main() {}\n//! late\n"));
        assert!(!opens_with_module_doc(""));
    }
}
