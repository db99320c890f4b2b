//! The layers check's own tests: each rule on small inline inputs, and the whole check on the workspace.

use super::*;

/// Fails until every file over 500 lines is split (issue 23): the store, the SQL backends and the claims
/// are being rewritten.
#[test]
fn the_layers_hold() {
    let problems = problems(&crate::project_root()).unwrap();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_store_crate_may_not_name_the_server_dropshot_or_the_api() {
    let text = "//! The store.\n\nuse std::sync::Arc;\n// dropshot is not used here\nuse tokenstack_server::model::User;\n\nfn f() -> dropshot::HttpError {\n    let s = \"tokenstack_api::types\";\n    ::tokenstack_api::types::Token::default()\n}\n";
    let problems = source("crates/store/src/lib.rs", text);
    assert_eq!(problems.len(), 3, "{problems:#?}");
    assert!(
        problems[0].starts_with("crates/store/src/lib.rs:5: names `tokenstack_server::model::User`"),
        "{problems:#?}"
    );
    assert!(problems[1].starts_with("crates/store/src/lib.rs:7: names `dropshot::HttpError`"), "{problems:#?}");
    assert!(
        problems[2].starts_with("crates/store/src/lib.rs:9: names `tokenstack_api::types::Token::default`"),
        "{problems:#?}"
    );
    // Its tests may (through dev-dependencies), and so may any other crate.
    assert!(source("crates/store/tests/conformance.rs", text).is_empty());
    assert!(source("crates/testing/src/lib.rs", text).is_empty());
    // A crate of another name that merely starts the same way is not the API crate.
    assert!(source("crates/store/src/lib.rs", "use dropshot_like::X;\nuse my_dropshot::Y;\n").is_empty());
}

#[test]
fn the_store_manifest_may_not_depend_on_the_server_dropshot_or_the_api() {
    let manifest = r#"[package]
name = "tokenstack-store"
description = "depends on dropshot? no"

[dependencies]
serde.workspace = true
dropshot.workspace = true # not allowed
web = { package = "tokenstack-api", path = "../api" }

[target.'cfg(unix)'.dependencies]
"tokenstack-server" = { path = "../server" }

[build-dependencies.codegen]
package = "dropshot"
version = "0.18"

[dev-dependencies]
tokenstack-api.workspace = true
"#;
    let problems = store_manifest("crates/store/Cargo.toml", manifest);
    let lines: Vec<&str> = problems.iter().map(|p| p.split(": the store").next().unwrap()).collect();
    assert_eq!(
        lines,
        [
            "crates/store/Cargo.toml:7: depends on `dropshot`",
            "crates/store/Cargo.toml:8: depends on `tokenstack-api`",
            "crates/store/Cargo.toml:11: depends on `tokenstack-server`",
            "crates/store/Cargo.toml:14: depends on `dropshot`",
        ]
    );
    assert!(store_manifest("crates/store/Cargo.toml", "[dependencies]\nserde = \"1\"\n").is_empty());
}

#[test]
fn without_a_store_crate_the_store_rule_reports_nothing() {
    let dir = std::env::temp_dir().join(format!("tokenstack-layers-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("crates/server/src")).unwrap();
    let git = |args: &[&str]| std::process::Command::new("git").args(args).current_dir(&dir).output().unwrap();
    git(&["init", "--quiet"]);
    std::fs::write(dir.join("crates/server/src/lib.rs"), "//! The server.\nuse dropshot::HttpError;\n").unwrap();
    let without = problems(&dir).unwrap();
    std::fs::create_dir_all(dir.join("crates/store/src")).unwrap();
    std::fs::write(dir.join("crates/store/Cargo.toml"), "[dependencies]\ndropshot.workspace = true\n").unwrap();
    std::fs::write(dir.join("crates/store/src/lib.rs"), "//! The store.\nuse dropshot::HttpError;\n").unwrap();
    let with = problems(&dir).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(without, Vec::<String>::new());
    assert_eq!(with.len(), 2, "{with:#?}");
    assert!(with[0].starts_with("crates/store/Cargo.toml:2: depends on `dropshot`"), "{with:#?}");
    assert!(with[1].starts_with("crates/store/src/lib.rs:2: names `dropshot::HttpError`"), "{with:#?}");
}

#[test]
fn only_http_names_the_wire_types() {
    let text = "//! Faults.\n\n/// Not [`tokenstack_api::types::FaultRule`] itself.\npub use tokenstack_api::types::FaultRule;\nuse tokenstack_api::{params, types};\nfn f() { let _ = tokenstack_api::OPERATION_TAGS; }\n";
    let problems = source("crates/server/src/faults.rs", text);
    assert_eq!(problems.len(), 3, "{problems:#?}");
    assert!(
        problems[0].starts_with(
            "crates/server/src/faults.rs:4: names `tokenstack_api::types::FaultRule` outside crates/server/src/http/"
        ),
        "{problems:#?}"
    );
    assert!(
        problems[1].starts_with("crates/server/src/faults.rs:5: names `tokenstack_api::{params, types}`"),
        "{problems:#?}"
    );
    assert!(
        problems[2].starts_with("crates/server/src/faults.rs:6: names `tokenstack_api::OPERATION_TAGS`"),
        "{problems:#?}"
    );
    assert!(source("crates/server/src/http/admin.rs", text).is_empty());
    let turbofish = source("crates/server/src/lib.rs", "//! x\nlet api = tokenstack_api::api_description::<S>();\n");
    assert!(
        turbofish[0].starts_with("crates/server/src/lib.rs:2: names `tokenstack_api::api_description` "),
        "{turbofish:?}"
    );
    assert!(source("crates/server/tests/server/support.rs", text).is_empty());
    assert!(source("tests/integration/admin.rs", text).is_empty());
}

#[test]
fn a_long_hand_written_file_is_named_and_test_files_are_not() {
    let long = format!("//! Long.\n{}", "fn f() {}\n".repeat(MAX_LINES));
    let problems = source("crates/server/src/logging/format.rs", &long);
    assert_eq!(
        problems,
        [format!(
            "crates/server/src/logging/format.rs:501: {} lines, more than 500: split it by what its parts do",
            MAX_LINES + 1
        )]
    );
    assert!(source("crates/server/src/logging/format.rs", &long[..long.len() - 10]).is_empty());
    for test in [
        "crates/server/src/authentik/tests.rs",
        "crates/server/src/authentik/proptests.rs",
        "crates/server/src/store/memory/slab_tests.rs",
        "crates/server/tests/server/durability.rs",
        "tests/integration/users.rs",
        "crates/server/benches/log_format.rs",
    ] {
        assert!(is_test_code(test), "{test}");
        assert!(source(test, &long).is_empty(), "{test}");
    }
    for product in ["crates/server/src/tests_support.rs", "xtask/src/bench/harness.rs", "crates/bench/src/lib.rs"] {
        assert!(!is_test_code(product), "{product}");
    }
}

#[test]
fn comments_strings_and_characters_are_not_code() {
    let text = r##"a /* x /* nested */ y */ b // c
r#"q "still" "#; '"'; 'a; "e\"f" g
br"h" i 'j' '\n' '\'' k
"##;
    let code = code_only(text);
    assert_eq!(code.lines().count(), 3);
    let words: Vec<&str> = code.split(|c: char| !is_ident(c)).filter(|w| !w.is_empty()).collect();
    assert_eq!(words, ["a", "b", "a", "g", "i", "k"]);
    assert_eq!(code.len(), text.len());
}
