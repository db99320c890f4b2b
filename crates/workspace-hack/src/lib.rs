//! tokenstack-workspace-hack: no code; its Cargo.toml, kept by `cargo hakari generate`, gives every shared
//! dependency one feature set across the workspace (ARCHITECTURE.md, `crates/workspace-hack`).
