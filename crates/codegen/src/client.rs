//! The progenitor settings of the generated client, and the client generator.

use openapiv3::{OpenAPI, ReferenceOr};
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
    let openapi = client_document(spec);
    // progenitor panics on some unsupported inputs; turn that into a readable error.
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| generator.generate_tokens(&openapi)));
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

/// The document progenitor reads: the spec, except that a free-form operation's error responses without a JSON
/// body (a page's HTML 404) are left out where it has a JSON one, since progenitor takes one error type per
/// operation; the client reports those statuses as unexpected responses, with their bodies.
pub(crate) fn client_document(spec: &Spec) -> OpenAPI {
    let mut openapi = spec.openapi.clone();
    for item in openapi.paths.paths.values_mut() {
        let ReferenceOr::Item(item) = item else { continue };
        let operations = [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch];
        for operation in operations.into_iter().flatten() {
            if !spec.is_free_form(operation) {
                continue;
            }
            let has_json = |response: &ReferenceOr<openapiv3::Response>| {
                spec.response(response).is_some_and(|r| r.content.contains_key("application/json"))
            };
            let errors = &operation.responses.responses;
            let is_error = |status: &openapiv3::StatusCode| match status {
                openapiv3::StatusCode::Code(code) => *code >= 400,
                openapiv3::StatusCode::Range(range) => *range >= 4,
            };
            if !errors.iter().any(|(status, response)| is_error(status) && has_json(response)) {
                continue;
            }
            let keep: Vec<bool> = errors
                .iter()
                .map(|(status, response)| {
                    !is_error(status)
                        || has_json(response)
                        || spec.response(response).is_some_and(|r| r.content.is_empty())
                })
                .collect();
            let mut keep = keep.into_iter();
            operation.responses.responses.retain(|_, _| keep.next().unwrap_or(true));
        }
    }
    openapi
}
