//! Property tests of what reads untrusted text at start-up and through the admin API: the NetBird PAT parser and
//! the seed/state loader. No input panics; generated PATs parse and a changed character does not.

use chrono::Utc;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::Value;

use super::SeedFile;
use crate::secrets::{generate_pat, parse_pat};

fn runner(cases: u32) -> TestRunner {
    TestRunner::new(Config { cases, failure_persistence: None, ..Config::default() })
}

/// Any JSON value, shaped like a seed often enough to get past the first keys.
fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        "[a-z_]{0,12}|nbp_[A-Za-z0-9]{36}|.{0,20}".prop_map(Value::String),
    ];
    let key = prop_oneof![
        Just("authentik".to_string()),
        Just("netbird".to_string()),
        Just("users".to_string()),
        Just("tokens".to_string()),
        Just("pats".to_string()),
        Just("pk".to_string()),
        Just("username".to_string()),
        Just("id".to_string()),
        Just("role".to_string()),
        Just("user".to_string()),
        Just("identifier".to_string()),
        Just("token".to_string()),
        Just("expires".to_string()),
        Just("expires_in".to_string()),
        "[a-z_]{1,8}".prop_map(|s| s),
    ];
    leaf.prop_recursive(5, 64, 6, move |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map(key.clone(), inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

#[test]
fn the_pat_parser_takes_any_text() {
    runner(512)
        .run(&".{0,60}", |text| {
            let _ = parse_pat(&text);
            Ok(())
        })
        .unwrap();
}

#[test]
fn generated_pats_parse_and_a_changed_character_does_not() {
    runner(256)
        .run(&(0usize..40, proptest::char::range('0', 'z')), |(at, replacement)| {
            let (plain, _) = generate_pat();
            prop_assert!(parse_pat(&plain).is_ok(), "{plain}");
            let mut chars: Vec<char> = plain.chars().collect();
            prop_assume!(chars[at] != replacement);
            chars[at] = replacement;
            let changed: String = chars.into_iter().collect();
            prop_assert!(parse_pat(&changed).is_err(), "{changed} still parses");
            Ok(())
        })
        .unwrap();
}

#[test]
fn the_seed_loader_takes_any_json() {
    runner(512)
        .run(&json(), |document| {
            if let Ok(seed) = SeedFile::from_json(document) {
                let _ = seed.snapshot(Utc::now());
            }
            Ok(())
        })
        .unwrap();
}
