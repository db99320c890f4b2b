//! The progenitor settings of the generated client, and the client generator.

use progenitor::{GenerationSettings, Generator, InterfaceStyle, TagStyle};

use crate::{Spec, SpecError, format_file};

/// The settings every caller uses: builder interface (adding a parameter only adds a setter),
/// one extension trait per tag, deterministic `BTreeMap` maps, 30 s timeout.
fn settings() -> GenerationSettings {
    let mut settings = GenerationSettings::new();
    settings
        .with_interface(InterfaceStyle::Builder)
        .with_tag(TagStyle::Merged)
        .with_map_type("::std::collections::BTreeMap")
        .with_timeout(30);
    settings
}

/// Generates the progenitor client for `spec` as formatted Rust source.
pub fn generate_client(spec: &Spec) -> Result<String, SpecError> {
    let mut generator = Generator::new(&settings());
    // progenitor panics on some unsupported inputs; turn that into a readable error.
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| generator.generate_tokens(&spec.openapi)));
    let tokens = match result {
        Ok(Ok(tokens)) => tokens,
        Ok(Err(err)) => return Err(SpecError::Generation(format!("progenitor: {err}"))),
        Err(panic) => {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            return Err(SpecError::Generation(format!("progenitor panicked: {message}")));
        }
    };
    format_file(tokens)
}
