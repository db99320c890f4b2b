//! tokenstack's API as a Dropshot trait: generated at build time from `spec/openapi.json`, no implementation.
//!
//! The generated part (`types`, `params`, `TokenApi`, `token_api_mod`, `OPERATION_IDS`) comes from
//! `tokenstack_codegen::generate_server`. This file adds only what the spec cannot say: how each error
//! schema is built from a Dropshot extractor error, in [`error`].

pub mod error;

pub use error::ErrorResponse;

/// The merged spec the trait was generated from, for validating responses at run time.
pub const SPEC: &str = include_str!("../../../spec/openapi.json");

include!(concat!(env!("OUT_DIR"), "/api.rs"));
