//! Layers: the boundaries the compiler does not enforce by itself, and the size of a hand-written file.
//!
//! The check fails, naming the file, the line and what it names, when:
//! - **the store crate knows what sits above it.** `crates/store` (package `tokenstack-store`) must not depend
//!   on the server crate, Dropshot or `tokenstack-api`, nor name them. Read: its manifest's dependencies
//!   (`[dependencies]`, `[build-dependencies]` and their `[target.….]` forms; not `[dev-dependencies]`, which
//!   only its tests link) and the Rust sources the library compiles (everything under `crates/store` except
//!   `tests/`, `benches/` and `examples/`). Without `crates/store` the rule has nothing to read.
//! - **a module outside `http/` names the wire types.** In `crates/server/src`, only `crates/server/src/http/`
//!   may name `tokenstack_api` (the generated trait, its types, the operation tables): the rules and the stores
//!   work on the model, and `http/` converts.
//! - **a hand-written file outgrows [`MAX_LINES`] lines.** Hand-written: a Rust file git tracks (or would add)
//!   that is not a golden copy of generated code ([`crate::tidy::GENERATED`]). Test code is exempt, because a
//!   test file is a list of independent cases read one at a time: any file under a `tests/` or `benches/`
//!   directory, and a file named `tests.rs` or `proptests.rs` or ending in `_tests.rs` (a module's unit tests
//!   moved out of it, `#[cfg(test)] mod tests;`). A `#[cfg(test)]` block inside another file counts: move it
//!   out when it is what makes the file long.
//!
//! Names are found in code only: comments, doc comments, string and character literals are skipped.

use std::path::Path;

use anyhow::Context;

/// The most lines a hand-written, non-test Rust file may have.
pub const MAX_LINES: usize = 500;

/// The store crate's directory and manifest.
const STORE_DIR: &str = "crates/store/";
const STORE_MANIFEST: &str = "crates/store/Cargo.toml";

/// What the store crate must not depend on, as a package name and as the crate name code uses.
const STORE_FORBIDDEN: &[(&str, &str)] =
    &[("tokenstack-server", "tokenstack_server"), ("dropshot", "dropshot"), ("tokenstack-api", "tokenstack_api")];

/// The server's sources, the one directory of them that may name the wire types, and that crate.
const SERVER_SRC: &str = "crates/server/src/";
const HTTP_DIR: &str = "crates/server/src/http/";
const WIRE_CRATE: &str = "tokenstack_api";

/// Directories whose Rust files are test code (and, in the store crate, not the library).
const TEST_DIRS: &[&str] = &["tests", "benches"];

/// Every problem, one line each; empty when the layers hold.
pub fn problems(root: &Path) -> anyhow::Result<Vec<String>> {
    let mut problems = Vec::new();
    match std::fs::read_to_string(root.join(STORE_MANIFEST)) {
        Ok(text) => problems.extend(store_manifest(STORE_MANIFEST, &text)),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
        Err(err) => return Err(err).with_context(|| format!("cannot read {STORE_MANIFEST}")),
    }
    for file in crate::tidy::rust_files(root)? {
        if crate::tidy::GENERATED.contains(&file.as_str()) {
            continue;
        }
        // A file deleted but still in git's index has nothing to check.
        let Ok(text) = std::fs::read_to_string(root.join(&file)) else { continue };
        problems.extend(source(&file, &text));
    }
    Ok(problems)
}

/// The problems of one hand-written Rust file, by its path from the workspace root.
pub fn source(file: &str, text: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let needs_code = is_store_library(file) || (file.starts_with(SERVER_SRC) && !file.starts_with(HTTP_DIR));
    let code = if needs_code { code_only(text) } else { String::new() };
    if is_store_library(file) {
        for (_, name) in STORE_FORBIDDEN {
            for (line, path) in mentions(&code, name) {
                problems.push(format!(
                    "{file}:{line}: names `{path}`: the store crate must not know the server crate, Dropshot or tokenstack-api"
                ));
            }
        }
    }
    if file.starts_with(SERVER_SRC) && !file.starts_with(HTTP_DIR) {
        for (line, path) in mentions(&code, WIRE_CRATE) {
            problems.push(format!(
                "{file}:{line}: names `{path}` outside {HTTP_DIR}: only http/ knows the wire types (convert there, or re-export through http/)"
            ));
        }
    }
    let lines = text.lines().count();
    if lines > MAX_LINES && !is_test_code(file) {
        problems.push(format!(
            "{file}:{}: {lines} lines, more than {MAX_LINES}: split it by what its parts do",
            MAX_LINES + 1
        ));
    }
    problems
}

/// The problems of the store crate's manifest: a dependency (not a dev-dependency) on a forbidden package,
/// by key or by `package = "…"`.
pub fn store_manifest(file: &str, text: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let mut report = |line: usize, package: &str| {
        if STORE_FORBIDDEN.iter().any(|(forbidden, _)| *forbidden == package) {
            problems.push(format!(
                "{file}:{line}: depends on `{package}`: the store crate must not know the server crate, Dropshot or tokenstack-api"
            ));
        }
    };
    // Inside a table of dependencies (`[dependencies]`), or of one dependency (`[dependencies.name]`).
    let mut in_table = false;
    let mut in_one = false;
    for (index, raw) in text.lines().enumerate() {
        let line_number = index + 1;
        let line = strip_toml_comment(raw).trim();
        if line.is_empty() {
            continue;
        }
        if let Some(header) = line.strip_prefix('[') {
            let keys = dotted_keys(header.trim_start_matches('[').trim_end_matches(']'));
            let kind_at = if keys.first().map(String::as_str) == Some("target") { 2 } else { 0 };
            let is_kind = keys.get(kind_at).is_some_and(|kind| is_dependency_table(kind));
            in_table = is_kind && keys.len() == kind_at + 1;
            in_one = is_kind && keys.len() == kind_at + 2;
            if in_one {
                report(line_number, &keys[kind_at + 1]);
            }
            continue;
        }
        let Some((key, value)) = line.split_once('=') else { continue };
        let keys = dotted_keys(key);
        if in_table && let Some(name) = keys.first() {
            report(line_number, &package_of(value).unwrap_or_else(|| name.clone()));
        } else if in_one && keys.first().map(String::as_str) == Some("package") {
            report(line_number, value.trim().trim_matches(|c| c == '"' || c == '\''));
        }
    }
    problems
}

/// Whether a manifest table of this name lists dependencies the library builds with (dev-dependencies do not).
fn is_dependency_table(kind: &str) -> bool {
    matches!(kind, "dependencies" | "build-dependencies" | "build_dependencies")
}

/// `package = "name"` inside an inline table.
fn package_of(value: &str) -> Option<String> {
    value.match_indices("package").find_map(|(at, key)| {
        let rest = value[at + key.len()..].trim_start().strip_prefix('=')?.trim_start();
        let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'')?;
        let rest = &rest[1..];
        Some(rest[..rest.find(quote)?].to_string())
    })
}

/// A TOML line without its `#` comment (a `#` inside a quoted string stays).
fn strip_toml_comment(line: &str) -> &str {
    let mut quote = None;
    for (at, c) in line.char_indices() {
        match (quote, c) {
            (None, '#') => return &line[..at],
            (None, '"' | '\'') => quote = Some(c),
            (Some(open), _) if open == c => quote = None,
            _ => {}
        }
    }
    line
}

/// `target.'cfg(unix)'.dependencies` → `target`, `cfg(unix)`, `dependencies`.
fn dotted_keys(key: &str) -> Vec<String> {
    let mut keys = Vec::new();
    let mut current = String::new();
    let mut quote = None;
    for c in key.chars() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(open), _) if open == c => quote = None,
            (None, '.') => keys.push(std::mem::take(&mut current).trim().to_string()),
            _ => current.push(c),
        }
    }
    keys.push(current.trim().to_string());
    keys
}

/// Whether this file is compiled into the store library (not its tests, benches or examples).
fn is_store_library(file: &str) -> bool {
    file.strip_prefix(STORE_DIR).is_some_and(|rest| {
        !rest.split('/').any(|dir| TEST_DIRS.contains(&dir) || dir == "examples") && rest.ends_with(".rs")
    })
}

/// Whether this file is test code, exempt from [`MAX_LINES`] (see the module's documentation).
pub fn is_test_code(file: &str) -> bool {
    let (dirs, name) = file.rsplit_once('/').unwrap_or(("", file));
    dirs.split('/').any(|dir| TEST_DIRS.contains(&dir))
        || name == "tests.rs"
        || name == "proptests.rs"
        || name.ends_with("_tests.rs")
}

/// The text with every comment, string and character literal blanked (newlines kept, so lines keep their
/// numbers): what is left is code.
pub fn code_only(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let blank = |c: char| if c == '\n' { '\n' } else { ' ' };
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        let after_ident = i > 0 && is_ident(chars[i - 1]);
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                out.push(' ');
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            // Block comments nest.
            let mut depth = 0usize;
            while i < chars.len() {
                match (chars[i], chars.get(i + 1).copied()) {
                    ('/', Some('*')) => {
                        depth += 1;
                        out.push_str("  ");
                        i += 2;
                    }
                    ('*', Some('/')) => {
                        depth -= 1;
                        out.push_str("  ");
                        i += 2;
                        if depth == 0 {
                            break;
                        }
                    }
                    (here, _) => {
                        out.push(blank(here));
                        i += 1;
                    }
                }
            }
        } else if !after_ident && let Some((prefix, hashes)) = raw_string_start(&chars[i..]) {
            // r"…", r#"…"#, br"…", cr#"…"#: no escapes; ends at a quote followed by as many `#`.
            out.extend(std::iter::repeat_n(' ', prefix));
            i += prefix;
            while i < chars.len() {
                if chars[i] == '"' && chars[i + 1..].iter().take(hashes).filter(|c| **c == '#').count() == hashes {
                    out.extend(std::iter::repeat_n(' ', 1 + hashes));
                    i += 1 + hashes;
                    break;
                }
                out.push(blank(chars[i]));
                i += 1;
            }
        } else if c == '"' {
            out.push(' ');
            i += 1;
            while i < chars.len() {
                let here = chars[i];
                if here == '\\' && i + 1 < chars.len() {
                    out.push(' ');
                    out.push(blank(chars[i + 1]));
                    i += 2;
                    continue;
                }
                out.push(blank(here));
                i += 1;
                if here == '"' {
                    break;
                }
            }
        } else if c == '\'' && (next == Some('\\') || chars.get(i + 2) == Some(&'\'')) {
            // A character literal ('x', '\n', '\'', '\u{1F600}'); a lifetime or label has no closing quote.
            let from = if next == Some('\\') { i + 3 } else { i + 2 };
            let end =
                chars[from.min(chars.len())..].iter().position(|c| *c == '\'').map_or(chars.len(), |at| from + at + 1);
            out.extend(chars[i..end].iter().map(|c| blank(*c)));
            i = end;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// The length of a raw string's opening (`r#"` is 3) and its number of `#`, if one starts here.
fn raw_string_start(chars: &[char]) -> Option<(usize, usize)> {
    let after_prefix = match chars {
        ['r', ..] => 1,
        ['b' | 'c', 'r', ..] => 2,
        _ => return None,
    };
    let hashes = chars[after_prefix..].iter().take_while(|c| **c == '#').count();
    (chars.get(after_prefix + hashes) == Some(&'"')).then_some((after_prefix + hashes + 1, hashes))
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Each place (line number, from 1) where `code` names the crate `name` as a whole identifier, with the path
/// written there: `tokenstack_api::types::FaultRule`, `tokenstack_api::{params, types}`.
pub fn mentions(code: &str, name: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (index, line) in code.lines().enumerate() {
        let mut from = 0;
        while let Some(at) = line[from..].find(name) {
            let (start, end) = (from + at, from + at + name.len());
            from = end;
            let alone = line[..start].chars().next_back().is_none_or(|c| !is_ident(c))
                && line[end..].chars().next().is_none_or(|c| !is_ident(c));
            if alone {
                found.push((index + 1, path_at(&line[start..])));
            }
        }
    }
    found
}

/// The path that starts `rest`: identifiers joined by `::`, and a `{…}` group if one follows.
fn path_at(rest: &str) -> String {
    let mut end = 0;
    loop {
        end += rest[end..].find(|c: char| !is_ident(c)).unwrap_or(rest.len() - end);
        if rest[end..].starts_with("::") {
            end += 2;
            if rest[end..].starts_with('{') {
                let mut depth = 0;
                for (at, c) in rest[end..].char_indices() {
                    match c {
                        '{' => depth += 1,
                        '}' => depth -= 1,
                        _ => {}
                    }
                    if depth == 0 {
                        return rest[..end + at + 1].to_string();
                    }
                }
                return rest.trim_end().to_string();
            }
            if rest[end..].starts_with(is_ident) {
                continue;
            }
            // `api_description::<T>`: the turbofish is not part of the name.
            end -= 2;
        }
        return rest[..end].to_string();
    }
}

#[cfg(test)]
mod tests;
