//! Generates the Dropshot API trait and its wire types from spec/openapi.json into OUT_DIR.

use std::path::Path;

fn main() {
    let spec_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../spec/openapi.json");
    println!("cargo:rerun-if-changed={}", spec_path.display());
    let source = tokenstack_codegen::load_spec(&spec_path)
        .and_then(|spec| tokenstack_codegen::generate_server(&spec))
        .unwrap_or_else(|err| panic!("{err}"));
    let out = Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("api.rs");
    std::fs::write(&out, source).unwrap_or_else(|err| panic!("cannot write {}: {err}", out.display()));
}
