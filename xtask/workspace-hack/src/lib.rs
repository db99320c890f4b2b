//! xtask's share of the workspace-hack: no code, only the dependencies in Cargo.toml, which give the crates
//! xtask shares with the workspace the workspace's features (`cargo xtask features`, xtask/src/unify.rs).
