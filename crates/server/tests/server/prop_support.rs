//! The proptest runner settings and strategies that the library's property tests (`src/authentik/proptests.rs`,
//! which includes this file by path) and this binary's (`proptests.rs`) share.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

/// Cases per property: `PROPTEST_CASES` when set, else `default`.
pub(crate) fn config(default: u32) -> Config {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(default);
    Config { cases, failure_persistence: None, ..Config::default() }
}

/// Runs `test` over `strategy`, failing the `#[test]` with the minimal failing input.
pub(crate) fn check<S: Strategy>(cases: u32, strategy: S, test: impl Fn(S::Value) -> Result<(), TestCaseError>)
where
    S::Value: std::fmt::Debug,
{
    if let Err(err) = TestRunner::new(config(cases)).run(&strategy, test) {
        panic!("{err}");
    }
}

/// Any string: every `char`, control characters and NUL included.
pub(crate) fn any_chars(max: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(any::<char>(), 0..max).prop_map(String::from_iter)
}
