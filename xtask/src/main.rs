//! `cargo xtask`: project automation (see <https://github.com/matklad/cargo-xtask/>).

mod ci;
mod overlay;
mod spec;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Exit code when files only need regenerating (as dropshot-api-manager).
const NEEDS_UPDATE: u8 = 4;
/// Exit code on a real failure: invalid spec, incompatible drift.
const FAILURE: u8 = 100;

const HELP: &str = "\
cargo xtask <command>

Commands:
  spec [--check]   merge spec/upstream + spec/overlays into spec/openapi.json (--check: fail if stale)
  ci               what CI runs: spec check, every test (Rust and the official clients), clippy
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let root = project_root();
    let result = match args.as_slice() {
        ["spec"] => write_spec(&root, false),
        ["spec", "--check"] => write_spec(&root, true),
        ["ci"] => ci::run(&root),
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
            eprintln!("{:>12} {err:#}", "Failed");
            ExitCode::from(FAILURE)
        }
    }
}

/// The workspace root, from this crate's manifest directory (never the current directory).
pub fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask lives in the workspace").to_path_buf()
}

pub(crate) fn write_spec(root: &Path, check: bool) -> anyhow::Result<u8> {
    let merged = spec::merged_spec(root)?;
    tokenstack_codegen::Spec::from_json(&merged, "merged spec")?;
    let target = root.join("spec/openapi.json");
    let current = std::fs::read_to_string(&target).unwrap_or_default();
    if current == merged {
        println!("{:>12} spec/openapi.json", "Fresh");
        return Ok(0);
    }
    if check {
        println!("{:>12} spec/openapi.json is not what spec/upstream + spec/overlays produce", "Stale");
        println!("run `cargo xtask spec` and commit spec/openapi.json");
        return Ok(NEEDS_UPDATE);
    }
    std::fs::write(&target, merged)?;
    println!("{:>12} spec/openapi.json", "Wrote");
    Ok(0)
}
