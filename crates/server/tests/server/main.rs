//! The server crate's one integration test binary: the real binary and library against every store.

mod bad_input;
mod durability;
mod old_databases;
mod prop_support;
mod proptests;
mod service;
mod store_conformance;
mod support;
