//! Unit tests of the blueprint tags and of the translation of entries into seed rows.

use chrono::{TimeZone, Utc};
use serde_json::json;

use super::*;
use crate::model::{DEFAULT_AUTHORIZATION_FLOW, DEFAULT_INVALIDATION_FLOW, RSA_KEY_PAIR, SCOPE_MAPPINGS};

fn env(name: &str) -> Option<String> {
    match name {
        "TS_SET" => Some("from-env".into()),
        "TS_EMPTY" => Some(String::new()),
        _ => None,
    }
}

fn read(text: &str, skip_unknown: bool) -> Result<Translated, BlueprintError> {
    let now = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    from_text(text, &Options { skip_unknown, env: &env }, now)
}

fn load(text: &str) -> super::super::AuthentikSeed {
    match read(text, false) {
        Ok(translated) => translated.seed.authentik,
        Err(error) => panic!("{error}"),
    }
}

fn error(text: &str) -> String {
    match read(text, false) {
        Ok(_) => panic!("the blueprint loaded:\n{text}"),
        Err(error) => error.to_string(),
    }
}

/// A blueprint of one group entry whose `name` is `value` (a tag to resolve).
fn group_named(value: &str) -> String {
    format!("version: 1\nentries:\n- model: authentik_core.group\n  identifiers:\n    name: {value}\n")
}

fn group_name(value: &str) -> String {
    let seed = load(&format!(
        "{}- model: authentik_core.user\n  identifiers: {{username: u}}\n  attrs:\n    groups: [!Find [authentik_core.group, [num_pk, 1]]]\n",
        group_named(value)
    ));
    seed.users[0].groups[0].name.clone()
}

#[test]
fn format_is_pythons_percent_operator() {
    assert_eq!(group_name("!Format [\"%s-%d-%%\", abc, 7]"), "abc-7-%");
    assert_eq!(group_name("!Format [\"x%s\", !Env [TS_SET, d]]"), "xfrom-env");
    assert!(error(&group_named("!Format [\"%s %s\", one]")).contains("not enough arguments for format string"));
    assert!(error(&group_named("!Format [\"%s\", one, two]")).contains("not all arguments converted"));
    assert!(error(&group_named("!Format [\"%d\", one]")).contains("%d format"));
    assert!(error(&group_named("!Format []")).contains("!Format takes [format, args…]"));
}

#[test]
fn env_reads_the_variable_or_its_default() {
    assert_eq!(group_name("!Env TS_SET"), "from-env");
    assert_eq!(group_name("!Env [TS_UNSET, fallback]"), "fallback");
    // `getenv(key) or default`: an empty variable is unset.
    assert_eq!(group_name("!Env [TS_EMPTY, fallback]"), "fallback");
    let message = error(&group_named("!Env TS_UNSET"));
    assert!(message.contains("!Env TS_UNSET: the variable is not set and the tag gives no default"), "{message}");
    assert!(error(&group_named("!Env [A, b, c]")).contains("!Env takes [NAME, default]"));
}

#[test]
fn context_if_condition_and_parse_json() {
    let text =
        "version: 1\ncontext:\n  prefix: ctx\n  on: !Env [TS_SET, null]\n  off: !Env [TS_UNSET, null]\nentries:\n";
    let entry = |name: &str, condition: &str| {
        format!("- model: authentik_core.group\n  conditions: [{condition}]\n  identifiers: {{name: {name}}}\n")
    };
    let text = format!(
        "{text}{}{}{}{}{}",
        entry("!Format [\"%s-a\", !Context prefix]", "true"),
        entry("b", "!If [!Context on]"),
        entry("c", "!If [!Context off]"),
        entry("d", "!Condition [AND, !Context on, !Context off]"),
        entry("e", "!Condition [OR, !Context on, !Context off]"),
    );
    let users = format!(
        "{text}- model: authentik_core.user\n  identifiers: {{username: u}}\n  attrs:\n    attributes: !ParseJSON '{{\"k\": [1]}}'\n    groups: [!Find [authentik_core.group, [name, ctx-a]], !Find [authentik_core.group, [name, b]], !Find [authentik_core.group, [name, e]]]\n"
    );
    let seed = load(&users);
    let names: Vec<&str> = seed.users[0].groups.iter().map(|g| g.name.as_str()).collect();
    assert_eq!(names, ["ctx-a", "b", "e"]);
    assert_eq!(seed.users[0].attributes, json!({"k": [1]}).as_object().unwrap().clone());
    // Entries c and d were skipped: `!Find` finds nothing, and a group reference of null is refused.
    let missing = format!(
        "{text}- model: authentik_core.user\n  identifiers: {{username: u}}\n  attrs: {{groups: [!Find [authentik_core.group, [name, c]]]}}\n"
    );
    assert!(error(&missing).contains("groups: This field may not be null."), "{}", error(&missing));
    assert!(error(&group_named("!If [a, b]")).contains("!If takes [condition] or [condition, when_true, when_false]"));
    assert!(error(&group_named("!Condition [MAYBE, true]")).contains("unknown mode \"MAYBE\""));
}

#[test]
fn find_resolves_flows_key_pairs_and_managed_mappings_of_a_fresh_install() {
    let seed =
        load(include_str!("../../../../../tests/integration/fixtures/blueprints/action-setup-authentik-oidc.yaml"));
    let provider = &seed.providers[0];
    assert_eq!((provider.pk, provider.name.as_str()), (1, "test"));
    assert_eq!(provider.authorization_flow, Some(DEFAULT_AUTHORIZATION_FLOW));
    assert_eq!(provider.invalidation_flow, Some(DEFAULT_INVALIDATION_FLOW));
    assert_eq!(provider.oauth2.signing_key, Some(RSA_KEY_PAIR.0));
    assert_eq!(provider.property_mappings, [SCOPE_MAPPINGS[0].0, SCOPE_MAPPINGS[2].0, SCOPE_MAPPINGS[1].0]);
    assert_eq!((provider.oauth2.client_id.as_str(), provider.oauth2.client_secret.expose()), ("123456", "123456"));
    assert_eq!(provider.assigned_application_slug.as_deref(), Some("test"));
    let app = &seed.applications[0];
    assert_eq!((app.slug.as_str(), app.name.as_str(), app.provider), ("test", "test", Some(1)));
    // The stand-in key pairs are made at start-up, as for any seed without key pairs.
    assert!(seed.key_pairs.is_empty());
}

#[test]
fn find_refuses_unserved_models_unknown_fields_and_wrong_arity() {
    let message = error(&group_named("!Find [authentik_stages_password.passwordstage, [name, x]]"));
    assert!(
        message.contains("the model authentik_stages_password.passwordstage is not served by tokenstack"),
        "{message}"
    );
    assert!(error(&group_named("!Find [authentik_flows.flow, [colour, red]]")).contains("has no field \"colour\""));
    assert!(
        error(&group_named("!Find [authentik_flows.flow, [slug]]")).contains("!Find takes [model, [field, value], …]")
    );
    assert!(error(&group_named("!KeyOf [a, b]")).contains("!KeyOf takes a single value"));
    assert!(error(&group_named("!File /etc/passwd")).contains("the tag !File is not supported by tokenstack"));
}

#[test]
fn a_dangling_key_of_names_the_entry_and_the_id() {
    let text = "version: 1\nentries:\n- model: authentik_core.application\n  id: app\n  identifiers: {slug: a}\n  attrs:\n    name: a\n    provider: !KeyOf provider\n- model: authentik_providers_oauth2.oauth2provider\n  id: provider\n  identifiers: {name: p}\n";
    assert_eq!(
        error(text),
        "blueprint entry 0 (model authentik_core.application, id app, line 3): !KeyOf provider: failed to find an earlier entry with `id` of `provider`"
    );
}

#[test]
fn groups_become_the_groups_of_their_users_either_way_round() {
    let text = "version: 1\nentries:\n- model: authentik_core.user\n  id: alice\n  identifiers: {username: alice}\n- model: authentik_core.user\n  id: bob\n  identifiers: {username: bob}\n  attrs: {password: secret, email: bob@example.com}\n- model: authentik_core.group\n  id: admins\n  identifiers: {name: admins}\n  attrs: {is_superuser: true, users: [!KeyOf alice]}\n- model: authentik_core.group\n  identifiers: {name: readers}\n  attrs: {attributes: {level: 1}}\n- model: authentik_core.user\n  identifiers: {username: bob}\n  attrs: {groups: [!Find [authentik_core.group, [name, readers]]]}\n- model: authentik_core.group\n  identifiers: {name: nobody}\n";
    let seed = load(text);
    let (alice, bob) = (&seed.users[0], &seed.users[1]);
    assert_eq!((alice.pk, bob.pk), (1, 2));
    assert_eq!(alice.groups.iter().map(|g| g.name.as_str()).collect::<Vec<_>>(), ["admins"]);
    assert!(alice.is_effective_superuser() && !alice.is_superuser && !bob.is_effective_superuser());
    assert_eq!(bob.groups.iter().map(|g| g.name.as_str()).collect::<Vec<_>>(), ["readers"]);
    assert_eq!(bob.groups[0].attributes["level"], 1);
    assert_eq!(bob.email, "bob@example.com");
    // `password` in plain text, hashed as `set_password` does; none for a user without one.
    assert!(bob.password.as_ref().is_some_and(|hash| hash.verify("secret") && !hash.verify("other")));
    assert!(alice.password.is_none());
    // Every group is a row, a memberless one too.
    let names: Vec<&str> = seed.groups.iter().map(|g| g.name.as_str()).collect();
    assert_eq!(names, ["admins", "readers", "nobody"]);
}

#[test]
fn states_create_keep_update_and_delete() {
    let entry = |state: &str, name: &str| {
        format!(
            "- model: authentik_core.application\n  state: {state}\n  identifiers: {{slug: s}}\n  attrs: {{name: {name}}}\n"
        )
    };
    let seed = load(&format!("version: 1\nentries:\n{}{}", entry("present", "one"), entry("created", "two")));
    assert_eq!(seed.applications[0].name, "one");
    let seed = load(&format!("version: 1\nentries:\n{}{}", entry("present", "one"), entry("present", "two")));
    assert_eq!((seed.applications.len(), seed.applications[0].name.as_str()), (1, "two"));
    let seed = load(&format!("version: 1\nentries:\n{}{}", entry("present", "one"), entry("absent", "x")));
    assert!(seed.applications.is_empty());
    let message = error(&format!("version: 1\nentries:\n{}{}", entry("present", "one"), entry("must_created", "x")));
    assert!(message.ends_with("state is must_created and the object exists already"), "{message}");
    assert!(error(&format!("version: 1\nentries:\n{}", entry("gone", "x"))).contains("state \"gone\" is not one of"));
}

#[test]
fn tokens_name_their_user_and_take_the_models_defaults() {
    let text = "version: 1\nentries:\n- model: authentik_core.user\n  id: svc\n  identifiers: {username: svc}\n  attrs: {type: service_account}\n- model: authentik_core.token\n  identifiers: {identifier: t1}\n  attrs: {user: !KeyOf svc, key: k3y, intent: api, expiring: false}\n- model: authentik_core.token\n  identifiers: {identifier: t2, user: !KeyOf svc}\n";
    let seed = load(text);
    assert_eq!(seed.tokens[0].user, "svc");
    assert_eq!(seed.tokens[0].key.as_ref().map(|k| k.expose()), Some("k3y"));
    assert!(!seed.tokens[0].expiring);
    assert_eq!(seed.tokens[1].intent, crate::model::Intent::Verification);
    assert!(
        error("version: 1\nentries:\n- model: authentik_core.token\n  identifiers: {identifier: t}\n")
            .contains("user: This field is required.")
    );
}

#[test]
fn an_unknown_model_stops_the_load_unless_skipped() {
    let text = "version: 1\nentries:\n- model: authentik_core.group\n  identifiers: {name: g}\n- model: authentik_stages_dummy.dummystage\n  id: stage\n  identifiers: {name: s}\n";
    assert_eq!(
        error(text),
        "blueprint entry 1 (model authentik_stages_dummy.dummystage, id stage, line 5): the model authentik_stages_dummy.dummystage is not served by tokenstack (pass --blueprint-skip-unknown to skip such entries)"
    );
    let translated = read(text, true).unwrap();
    assert_eq!(
        translated.warnings,
        ["skipped blueprint entry 1 (model authentik_stages_dummy.dummystage, id stage, line 5): model not served"]
    );
    // A reference to the skipped entry says so.
    let refer = format!(
        "{text}- model: authentik_core.group\n  identifiers: {{name: h}}\n  attrs: {{attributes: {{stage: !KeyOf stage}}}}\n"
    );
    assert!(read(&refer, true).err().unwrap().to_string().contains("the entry with id `stage` was skipped"));
}

#[test]
fn unknown_keys_are_refused_with_their_line() {
    let text = "version: 1\nentries:\n- model: authentik_core.application\n  identifiers:\n    slug: a\n  attrs:\n    name: a\n    colour: blue\n";
    assert_eq!(
        error(text),
        "blueprint entry 0 (model authentik_core.application, line 3): unknown key `colour` in attrs at line 8"
    );
    assert_eq!(
        error("version: 1\nentries:\n- model: authentik_core.group\n  identifier: {name: g}\n"),
        "blueprint entry 0: unknown key `identifier` at line 4"
    );
    assert_eq!(error("version: 2\nentries: []\n"), "invalid blueprint version 2: only version 1 exists at line 1");
}

#[test]
fn apply_blueprint_of_a_default_blueprint_is_a_no_op() {
    let text = "version: 1\nentries:\n- model: authentik_blueprints.metaapplyblueprint\n  attrs:\n    identifiers: {name: \"Default - Provider invalidation flow\"}\n    required: true\n";
    assert!(load(text).providers.is_empty());
    let other = text.replace("Default - Provider invalidation flow", "My own blueprint");
    assert!(
        error(&other)
            .contains("the blueprint \"My own blueprint\" is not one of authentik's default or system blueprints")
    );
    assert_eq!(read(&other, true).unwrap().warnings.len(), 1);
}

#[test]
fn a_blueprint_with_its_own_key_pair_keeps_the_self_signed_one() {
    let text = "version: 1\nentries:\n- model: authentik_crypto.certificatekeypair\n  id: mine\n  identifiers: {name: mine}\n  attrs: {certificate_data: PEM, key_data: KEY}\n- model: authentik_providers_oauth2.oauth2provider\n  identifiers: {name: p}\n  attrs:\n    authorization_flow: !Find [authentik_flows.flow, [slug, default-provider-authorization-implicit-consent]]\n    invalidation_flow: !Find [authentik_flows.flow, [designation, invalidation]]\n    signing_key: !Find [authentik_crypto.certificatekeypair, [name, authentik Self-signed Certificate]]\n    encryption_key: !KeyOf mine\n";
    let seed = load(text);
    let names: Vec<&str> = seed.key_pairs.iter().map(|k| k.name.as_str()).collect();
    assert_eq!(names, ["authentik Self-signed Certificate", "tokenstack ES256 Certificate", "mine"]);
    assert!(seed.key_pairs[0].key_data.expose().contains("PRIVATE KEY"));
    assert_eq!(seed.providers[0].oauth2.signing_key, Some(RSA_KEY_PAIR.0));
    assert_eq!(seed.providers[0].oauth2.encryption_key, Some(seed.key_pairs[2].pk));
}

#[test]
fn references_must_name_existing_rows() {
    let text = "version: 1\nentries:\n- model: authentik_providers_oauth2.oauth2provider\n  identifiers: {name: p}\n  attrs:\n    authorization_flow: !Find [authentik_flows.flow, [slug, default-provider-authorization-implicit-consent]]\n    invalidation_flow: !Find [authentik_flows.flow, [slug, default-provider-invalidation-flow]]\n    signing_key: 6f6f6f6f-0000-4000-8000-000000000000\n";
    assert!(
        error(text)
            .ends_with("signing_key: Invalid pk \"6f6f6f6f-0000-4000-8000-000000000000\" - object does not exist."),
        "{}",
        error(text)
    );
    let no_flow =
        "version: 1\nentries:\n- model: authentik_providers_oauth2.oauth2provider\n  identifiers: {name: p}\n";
    assert!(error(no_flow).ends_with("authorization_flow: This field is required."));
}

/// Pieces that blueprints are made of, put together at random: every combination loads or is refused with a
/// message, never a panic.
mod any_input {
    use proptest::prelude::*;

    const MODELS: &[&str] = &[
        "authentik_core.user",
        "authentik_core.group",
        "authentik_core.token",
        "authentik_providers_oauth2.scopemapping",
        "authentik_crypto.certificatekeypair",
        "authentik_providers_oauth2.oauth2provider",
        "authentik_core.application",
        "authentik_blueprints.metaapplyblueprint",
        "authentik_flows.flow",
        "authentik_stages_dummy.dummystage",
        "nonsense",
    ];
    const KEYS: &[&str] = &[
        "name",
        "username",
        "slug",
        "identifier",
        "user",
        "users",
        "groups",
        "provider",
        "pk",
        "password",
        "authorization_flow",
        "invalidation_flow",
        "signing_key",
        "property_mappings",
        "redirect_uris",
        "expires",
        "intent",
        "type",
        "scope_name",
        "expression",
        "certificate_data",
        "identifiers",
        "colour",
    ];
    const VALUES: &[&str] = &[
        "a",
        "1",
        "null",
        "[]",
        "[1, 2]",
        "{}",
        "!KeyOf e0",
        "!KeyOf e3",
        "!Find [authentik_core.user, [pk, 1]]",
        "!Find [authentik_flows.flow, [slug, default-provider-invalidation-flow]]",
        "!Find [x]",
        "!Find []",
        "!Env [X, d]",
        "!Env X",
        "!Format [\"%s%d\", a]",
        "!Format [\"%\"]",
        "!If [true, 1, 2]",
        "!If []",
        "!Condition [XOR, true, 0]",
        "!Context x",
        "!ParseJSON '{'",
        "!Unknown 1",
        "!Enumerate [[], SEQ, 1]",
        "2026-01-01T00:00:00Z",
        "[{matching_mode: strict, url: 'http://x'}]",
        "7f1a0003-0000-4000-8000-000000000003",
    ];
    const STATES: &[&str] = &["present", "created", "must_created", "absent", "!Env [S, present]", "bogus"];

    fn entry(i: usize, model: usize, pairs: &[(usize, usize)], state: usize) -> String {
        let fields: Vec<String> = pairs.iter().map(|(k, v)| format!("{}: {}", KEYS[*k], VALUES[*v])).collect();
        format!(
            "- model: {}\n  id: e{i}\n  state: {}\n  identifiers: {{{}}}\n  attrs: {{{}}}\n",
            MODELS[model],
            STATES[state],
            fields.first().cloned().unwrap_or_default(),
            fields.get(1..).unwrap_or_default().join(", "),
        )
    }

    proptest! {
        #[test]
        fn any_blueprint_loads_or_is_refused_never_a_panic(
            entries in prop::collection::vec(
                (0..MODELS.len(), prop::collection::vec((0..KEYS.len(), 0..VALUES.len()), 0..5), 0..STATES.len()),
                0..7,
            ),
            skip in any::<bool>(),
        ) {
            let body: String = entries.iter().enumerate().map(|(i, (m, pairs, s))| entry(i, *m, pairs, *s)).collect();
            let text = format!("version: 1\nentries:\n{body}");
            if let Err(error) = super::read(&text, skip) {
                prop_assert!(!error.to_string().is_empty());
            }
        }

        #[test]
        fn any_text_loads_or_is_refused_never_a_panic(text in "(version: 1\n|entries:\n|- |  |model: |!KeyOf |!Find |\\[|\\]|\\{|\\}|:|a|\n){0,40}") {
            if let Err(error) = super::read(&text, false) {
                prop_assert!(!error.to_string().is_empty());
            }
        }
    }
}
