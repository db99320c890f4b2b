//! Generates the Dropshot API trait and its wire types from spec/openapi.json into OUT_DIR.

use std::path::Path;

fn main() {
    // Read when the script runs, not when it was compiled: a target directory copied or hard-linked from another
    // checkout keeps this script's binary, which must read this checkout's spec.
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let spec_path = Path::new(&manifest_dir).join("../../spec/openapi.json");
    println!("cargo:rerun-if-changed={}", spec_path.display());
    let spec = tokenstack_codegen::load_spec(&spec_path).unwrap_or_else(|err| panic!("{err}"));
    let source = tokenstack_codegen::generate_server(&spec).unwrap_or_else(|err| panic!("{err}"));
    let out_dir = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    for (name, contents) in [("api.rs", source), ("validation.json", tokenstack_codegen::validation_document(&spec))] {
        let out = Path::new(&out_dir).join(name);
        write_new(&out, contents);
    }
}

/// Writes `contents` to a new file renamed over `path`, so that a file hard-linked into another target directory
/// keeps its own contents.
fn write_new(path: &Path, contents: impl AsRef<[u8]>) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, contents).unwrap_or_else(|err| panic!("cannot write {}: {err}", tmp.display()));
    std::fs::rename(&tmp, path)
        .unwrap_or_else(|err| panic!("cannot rename {} over {}: {err}", tmp.display(), path.display()));
}
