//! Empty on purpose: it exists so that xtask's `[build-dependencies]` (xtask-workspace-hack) take part in
//! feature resolution, which gives build-time crates (serde_derive's syn) the workspace's features (see
//! xtask/Cargo.toml).

fn main() {}
