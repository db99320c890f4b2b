//! `cargo xtask`: project automation (see <https://github.com/matklad/cargo-xtask/>).

mod bench;
mod check;
mod ci;
mod codegen;
mod conformance;
mod coverage;
mod doctest;
mod features;
mod image;
mod layers;
mod overlay;
mod postgres;
mod report;
mod spec;
mod tidy;
mod unify;
mod upstream_diff;
mod wheel;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use report::{FAILURE, NEEDS_UPDATE, header};

const HELP: &str = "\
cargo xtask <command>

Commands:
  spec [--check]           merge spec/upstream + spec/overlays into spec/openapi.json (--check: fail if stale)
  codegen [--check]        write the golden copies crates/{api,client}/tests/output/*.rs (--check: fail if stale)
  features [--check]       write xtask/workspace-hack/Cargo.toml: crates/workspace-hack's lines for the crates xtask
                           builds, so both share dependency builds (--check: fail if stale)
  check                    every drift check, read-only: spec, golden copies, spec vs server, operation coverage,
                           one feature set (and xtask/workspace-hack fresh), every .rs opening with //!, layers
                           (the store below HTTP, wire types only in the server's http/, no hand-written file
                           over 500 lines)
  upstream-diff OLD NEW    classify changes between two upstream YAML releases and list overlays that no longer apply
  bench [--quick]          wrk against tokenstack (1 k/100 k/1 M tokens), bare hyper, minimal Dropshot and Prism; writes BENCHMARKS.md
  conformance --base-url URL [--authentik-token KEY] [--netbird-pat PAT] [--netbird-user ID]
                           the contract suite against any server (tokenstack, authentik, NetBird); a line per check
  wheel [--dev] [--test]   the tokenstack Python wheel (binary + pytest plugin) in target/wheels/ (--dev: debug build);
                           --test: install it into a fresh venv, `tokenstack --help` without cargo, run examples/pytest
  image [--dev] [--test] [--out FILE] [--repository NAME] [--source URL]
                           the container image as a `docker save` archive (no daemon, no base image): the static
                           release binary (--dev: the debug build with its shared libraries) on an empty root, tags
                           VERSION, MINOR, MAJOR (--dev: dev), in target/image/; --test: podman load, run, its own
                           healthcheck, the conformance suite against the container
  postgres start|createdb|stop DIR [NAME]
                           a PostgreSQL cluster on loopback in DIR, left running for shell scripts (tests/bench/):
                           start prints its URL, createdb NAME creates a database and prints its URL, stop stops it
  doctest [DOCUMENT…]      run every shell, Python and Rust example of README.md and docs/ (or the documents named)
                           as written, checking the outputs they show (marks: xtask/src/doctest/)
  ci                       what CI runs: every test (Rust, the official clients, the wheel), check, clippy

Exit codes: 0 clean, 4 only a regeneration is needed, 100 a real failure, 1 any other error.
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let root = project_root();
    let result = match args.as_slice() {
        ["spec"] => write_spec(&root, false),
        ["spec", "--check"] => write_spec(&root, true),
        ["codegen"] => write_golden(&root, false),
        ["codegen", "--check"] => write_golden(&root, true),
        ["features"] => unify::run(&root, false),
        ["features", "--check"] => unify::run(&root, true),
        ["check"] => Ok(check::run(&root, false)),
        ["upstream-diff", old, new] => upstream_diff::run(&root, Path::new(old), Path::new(new)),
        ["conformance", options @ ..] => conformance::run(&root, options),
        ["ci"] => ci::run(&root),
        ["doctest", documents @ ..] => ci::build_env().and_then(|env| doctest::run(&root, documents, &env)),
        ["wheel", options @ ..] => wheel::run(&root, options),
        ["image", options @ ..] => image::run(&root, options),
        ["bench", options @ ..] => bench::run(&root, options),
        ["postgres", options @ ..] => postgres::run(options),
        ["help" | "--help" | "-h"] | [] => {
            print!("{HELP}");
            return ExitCode::SUCCESS;
        }
        _ => {
            eprint!("unknown command {args:?}\n\n{HELP}");
            return ExitCode::from(1);
        }
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            header("Failed", &format!("{err:#}"));
            ExitCode::from(1)
        }
    }
}

/// The workspace root, from this crate's manifest directory (never the current directory).
pub fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask lives in the workspace").to_path_buf()
}

/// `cargo xtask spec [--check]`.
pub(crate) fn write_spec(root: &Path, check: bool) -> anyhow::Result<u8> {
    let expected = match check::spec_expected(root) {
        Ok(expected) => expected,
        Err(err) => {
            header("Failed", &format!("spec/openapi.json: {err:#}"));
            return Ok(FAILURE);
        }
    };
    write_or_check(&[expected], check, "cargo xtask spec")
}

/// `cargo xtask codegen [--check]`.
fn write_golden(root: &Path, check: bool) -> anyhow::Result<u8> {
    write_or_check(&codegen::expected_golden(root)?, check, "cargo xtask codegen")
}

pub(crate) fn write_or_check(files: &[codegen::Expected], check: bool, fix: &str) -> anyhow::Result<u8> {
    let mut code = 0;
    for file in files {
        if file.is_fresh() {
            header("Fresh", &file.display);
        } else if check {
            header("Stale", &file.display);
            print!("{}", report::unified_diff(&file.display, file.actual.as_deref().unwrap_or(""), &file.expected));
            code = NEEDS_UPDATE;
        } else {
            file.write()?;
            header("Wrote", &file.display);
        }
    }
    if code != 0 {
        report::detail(&format!("(run `{fix}` to update, then commit the result)"));
    }
    Ok(code)
}
