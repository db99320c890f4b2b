//! Cargo-style output and exit codes, modelled on dropshot-api-manager.

/// Exit code when files only need regenerating.
pub const NEEDS_UPDATE: u8 = 4;
/// Exit code on a real failure: invalid spec, incompatible drift, uncovered operations.
pub const FAILURE: u8 = 100;
/// Width of the right-aligned header column (as cargo and dropshot-api-manager).
pub const HEADER_WIDTH: usize = 12;
/// Most diff lines printed per stale file.
const MAX_DIFF_LINES: usize = 200;

/// Prints `   Checking message` with the header right-aligned.
pub fn header(header: &str, message: &str) {
    println!("{header:>HEADER_WIDTH$} {message}");
}

/// Prints a detail line under the message column.
pub fn detail(line: &str) {
    println!("{:>HEADER_WIDTH$} {line}", "");
}

/// A unified diff from `old` (on disk) to `new` (expected), cut after [`MAX_DIFF_LINES`] lines.
pub fn unified_diff(path: &str, old: &str, new: &str) -> String {
    let diff = similar::TextDiff::from_lines(old, new);
    let text = diff.unified_diff().context_radius(3).header(&format!("a/{path}"), &format!("b/{path}")).to_string();
    let lines: Vec<&str> = text.lines().collect();
    if lines.len() <= MAX_DIFF_LINES {
        return text;
    }
    format!("{}\n... {} more diff lines\n", lines[..MAX_DIFF_LINES].join("\n"), lines.len() - MAX_DIFF_LINES)
}
