//! tokenstack's API as a Dropshot trait: generated at build time from `spec/openapi.json`, no implementation.
//!
//! The generated part (`types`, `params`, `TokenApi`, `token_api_mod`, `OPERATION_IDS`) comes from
//! `tokenstack_codegen::generate_server`. This file adds only what the spec cannot say: how each error
//! schema is built from a Dropshot extractor error, in [`error`], and the JSON body extractor of authentik's and
//! the admin API's operations, in [`body`].

pub mod body;
pub mod error;

pub use body::JsonBody;
pub use error::ErrorResponse;

/// Every operation's documented responses with draft-07 body schemas, for response validation; generated
/// from spec/openapi.json by `tokenstack_codegen::validation_document`.
pub const VALIDATION_DOCUMENT: &str = include_str!(concat!(env!("OUT_DIR"), "/validation.json"));

include!(concat!(env!("OUT_DIR"), "/api.rs"));
