//! Empty on purpose: a build script makes cargo take the hack's `[build-dependencies]` into feature resolution.

fn main() {}
