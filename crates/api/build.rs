//! Generates the Dropshot API trait and its wire types from spec/openapi.json into OUT_DIR.

use std::path::Path;

fn main() {
    let spec_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../spec/openapi.json");
    println!("cargo:rerun-if-changed={}", spec_path.display());
    let spec = tokenstack_codegen::load_spec(&spec_path).unwrap_or_else(|err| panic!("{err}"));
    let source = tokenstack_codegen::generate_server(&spec).unwrap_or_else(|err| panic!("{err}"));
    let out_dir = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    for (name, contents) in [("api.rs", source), ("validation.json", tokenstack_codegen::validation_document(&spec))] {
        let out = Path::new(&out_dir).join(name);
        std::fs::write(&out, contents).unwrap_or_else(|err| panic!("cannot write {}: {err}", out.display()));
    }
}
