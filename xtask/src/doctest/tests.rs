//! The runner's parsing and matching (`cargo xtask doctest`).

use std::path::Path;

use super::blocks::{blocks, in_sandbox, steps, transcript};
use super::matching::matches;

#[test]
fn wildcards_stand_for_lines_and_text() {
    assert!(matches("a\n…\nd\n", "a\nb\nc\nd\n"));
    assert!(matches("a\n…\nd\n", "a\nd\n"));
    assert!(matches("took …s\n", "took 0.13s\n"));
    assert!(matches("x … y … z\n", "x 1 y 2 z\n"));
    assert!(!matches("a\nb\n", "a\nc\n"));
    assert!(!matches("took …s\n", "took 0.13ms!\n"));
    assert!(!matches("a\n", "a\nb\n"));
}

#[test]
fn transcripts_pair_commands_with_their_output() {
    let text = "text\n<!-- doctest: x -->\n```sh\n$ echo a \\\n  b\na b\n$ echo '1\n2'\n1\n2\n$ true\n```\n";
    let blocks = blocks(text).unwrap();
    assert_eq!(blocks[0].mark.as_deref(), Some("x"));
    let steps = transcript(&blocks[0]).unwrap();
    assert_eq!(steps.len(), 3);
    assert_eq!(steps[0].script, "echo a \\\n  b\n");
    assert_eq!(steps[0].expected.as_deref(), Some("a b\n"));
    assert_eq!(steps[1].script, "echo '1\n2'\n", "an open quote continues the command");
    assert_eq!(steps[1].expected.as_deref(), Some("1\n2\n"));
    assert_eq!(steps[2].expected, None, "no output shown, none checked");
    assert!(steps[0].fresh && !steps[1].fresh, "a transcript keeps its directory");
}

#[test]
fn paths_beside_the_checkout_stay_in_the_sandbox() {
    assert_eq!(in_sandbox(Path::new("/s"), "../my-tests/Cargo.toml"), "'/s/my-tests/Cargo.toml'");
    assert_eq!(in_sandbox(Path::new("/s"), "./examples/x.py"), "'/s/tokenstack/examples/x.py'");
}

#[test]
fn an_unmarked_python_block_is_refused() {
    let blocks = blocks("```python\nprint(1)\n```\n").unwrap();
    let error = steps(Path::new("."), Path::new("/sandbox"), &blocks).unwrap_err().to_string();
    assert!(error.contains("line 1") && error.contains("is not run"), "{error}");
}

#[test]
fn a_same_as_block_must_be_lines_of_its_test_in_order() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let ok = "```yaml\n  tokenstack:\n    image: tokenstack:0.1\n```\n";
    let shown = |text: &str| format!("<!-- doctest: same-as=examples/container/compose.yaml -->\n{text}");
    assert!(steps(&root, Path::new("/sandbox"), &blocks(&shown(ok)).unwrap()).is_ok());
    for wrong in ["```yaml\n  app:\n    postgres:\n```\n", "```yaml\n  image: tokenstack:9\n```\n"] {
        let error = steps(&root, Path::new("/sandbox"), &blocks(&shown(wrong)).unwrap()).unwrap_err();
        assert!(format!("{error:#}").contains("is not a line of examples/container/compose.yaml"), "{error:#}");
    }
}
