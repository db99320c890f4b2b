//! The typed client of tokenstack's merged API (authentik tokens under `/api/v3`, NetBird PATs under `/api`).
//!
//! Generated at build time by progenitor from `spec/openapi.json`; see `tokenstack_codegen` for the settings.
//! Pass the server root (`http://127.0.0.1:9000`) as the base URL: every path in the spec is absolute.

#![allow(clippy::all, clippy::pedantic, unused_imports, dead_code)]

include!(concat!(env!("OUT_DIR"), "/client.rs"));

#[cfg(feature = "record-operations")]
mod record;
