//! Property tests of the NetBird PAT parser and of the seed and state loader, in the library and through the admin
//! API of a real server.
//!
//! * PATs: `parse_pat` never panics and checks length, prefix and checksum in upstream's order; every PAT built
//!   as NetBird builds one parses, and changing any one character of it never does.
//! * Seeds: any YAML text and any seed document (valid-looking values mixed with odd and wrong ones) parse, turn
//!   into store contents, import into a `MemoryStore` and bootstrap without a panic; whatever loads exports to a
//!   document (JSON and YAML) that loads back to the same export.
//! * `PUT /_tokenstack/state`: every document is a 204 or a 400 `{"message"}`, never a 5xx or a dropped
//!   connection; a 400 changes nothing, and a loaded state exported and loaded again is the same state.
//!
//! `PROPTEST_CASES=N` runs N cases per property instead of the few that keep the suite at a few seconds.

use chrono::{DateTime, TimeZone, Utc};
use clap::Parser as _;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use serde_json::{Value, json};
use tokenstack_server::secrets::{PAT_LENGTH, PatFormatError, generate_pat, hash_pat, parse_pat};
use tokenstack_server::seed::{SeedError, SeedFile, bootstrap};
use tokenstack_server::store::{MemoryStore, Snapshot, Store, StoreError};

use crate::durability::{ADMIN_KEY, ADMIN_PAT};

use crate::prop_support::{any_chars, check};

// ---------------------------------------------------------------------------------------------------------------
// NetBird PATs
// ---------------------------------------------------------------------------------------------------------------

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// NetBird's `base62.Encode`, written again from upstream's definition.
fn base62(mut n: u32) -> String {
    let mut digits = Vec::new();
    loop {
        digits.push(BASE62[(n % 62) as usize]);
        n /= 62;
        if n == 0 {
            break;
        }
    }
    digits.iter().rev().map(|&b| char::from(b)).collect()
}

/// A PAT as NetBird's `CreateNewPAT` builds one from a 30-character secret.
fn pat_of(secret: &str) -> String {
    format!("nbp_{secret}{:0>6}", base62(crc32fast::hash(secret.as_bytes())))
}

fn pat_secret() -> impl Strategy<Value = String> {
    proptest::collection::vec(prop::sample::select(&BASE62[..]), 30)
        .prop_map(|b| b.into_iter().map(char::from).collect())
}

/// Upstream's order of checks (`extractPATFromToken`), as the expected answer for any string.
fn expected_pat_error(token: &str) -> Result<(), PatFormatError> {
    let bytes = token.as_bytes();
    if bytes.len() != PAT_LENGTH {
        return Err(PatFormatError::Length);
    }
    if !token.starts_with("nbp_") {
        return Err(PatFormatError::Prefix);
    }
    let checksum = &bytes[34..];
    if !checksum.iter().all(|c| BASE62.contains(c)) {
        return Err(PatFormatError::ChecksumEncoding);
    }
    let decoded = checksum.iter().fold(0u32, |acc, c| {
        acc.wrapping_mul(62).wrapping_add(BASE62.iter().position(|a| a == c).expect("base62") as u32)
    });
    if decoded != crc32fast::hash(&bytes[4..34]) { Err(PatFormatError::ChecksumMismatch) } else { Ok(()) }
}

/// Strings around the PAT format: any text, 40 bytes with the prefix and any tail (multi-byte characters
/// included), valid PATs with one byte range replaced.
fn pat_like() -> impl Strategy<Value = String> {
    let tail_char = prop_oneof![
        4 => prop::sample::select(&BASE62[..]).prop_map(char::from),
        1 => any::<char>(),
        1 => prop::sample::select(vec!['é', '€', '𝄞', '\0', '-', ' ']),
    ];
    prop_oneof![
        any_chars(50),
        proptest::collection::vec(tail_char, 30..40).prop_map(|tail| {
            let mut token = String::from("nbp_");
            for c in tail {
                if token.len() + c.len_utf8() > PAT_LENGTH {
                    break;
                }
                token.push(c);
            }
            token
        }),
        (pat_secret(), 0usize..40, 0usize..4, any_chars(3)).prop_map(|(secret, at, len, insert)| {
            let mut bytes = pat_of(&secret).into_bytes();
            let end = (at + len).min(bytes.len());
            bytes.splice(at..end, insert.into_bytes());
            String::from_utf8_lossy(&bytes).into_owned()
        }),
    ]
}

#[test]
fn pat_parser_never_panics_and_checks_in_upstreams_order() {
    check(2048, pat_like(), |token| {
        prop_assert_eq!(parse_pat(&token), expected_pat_error(&token), "{:?}", token);
        Ok(())
    });
}

#[test]
fn every_pat_built_as_netbird_does_parses_and_no_one_character_change_does() {
    check(512, (pat_secret(), 0usize..PAT_LENGTH, prop::sample::select(&BASE62[..])), |(secret, at, replacement)| {
        let pat = pat_of(&secret);
        prop_assert_eq!(pat.len(), PAT_LENGTH);
        prop_assert_eq!(parse_pat(&pat), Ok(()), "{}", pat);
        prop_assert_eq!(hash_pat(&pat).len(), 44);
        // CRC-32 catches every error burst of up to 32 bits and the checksum digits have distinct weights, so
        // any single character changed is a mismatch (or, in the prefix, a wrong prefix).
        let mut changed = pat.clone().into_bytes();
        prop_assume!(changed[at] != replacement);
        changed[at] = replacement;
        let changed = String::from_utf8(changed).expect("ASCII");
        prop_assert!(parse_pat(&changed).is_err(), "{} still parses", changed);
        let (plain, hashed) = generate_pat();
        prop_assert_eq!(parse_pat(&plain), Ok(()));
        prop_assert_eq!(hashed, hash_pat(&plain));
        Ok(())
    });
}

// ---------------------------------------------------------------------------------------------------------------
// Seed documents
// ---------------------------------------------------------------------------------------------------------------

/// Any small JSON value: the wrong type for almost every field.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Value::from),
        any_chars(8).prop_map(Value::from),
    ];
    leaf.prop_recursive(2, 8, 3, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..3).prop_map(Value::from),
            proptest::collection::btree_map("[a-z_]{1,6}", inner, 0..3)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// How a document is generated: `Clean` uses only values of the right type and shape (so that most documents
/// load, and the round trip has rows to carry), `Dirty` mixes in wrong types, odd text, missing required and
/// unknown keys (so that every rejection path runs).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Mix {
    Clean,
    Dirty,
}

impl Mix {
    /// `good`, or in a dirty document sometimes `bad` instead.
    fn or(self, good: BoxedStrategy<Value>, bad: BoxedStrategy<Value>) -> BoxedStrategy<Value> {
        match self {
            Mix::Clean => good,
            Mix::Dirty => prop_oneof![8 => good, 1 => bad].boxed(),
        }
    }

    /// `good`, or in a dirty document sometimes any JSON value.
    fn or_junk(self, good: BoxedStrategy<Value>) -> BoxedStrategy<Value> {
        self.or(good, any_json().boxed())
    }

    /// A required field: always present in a clean document, rarely left out of a dirty one.
    fn req(self, key: &'static str, value: BoxedStrategy<Value>) -> BoxedStrategy<Option<(String, Value)>> {
        let present = value.prop_map(move |v| Some((key.to_string(), v)));
        match self {
            Mix::Clean => present.boxed(),
            Mix::Dirty => prop_oneof![20 => present, 1 => Just(None)].boxed(),
        }
    }

    /// An object of `fields`; a dirty one now and then has a key that no seed type has.
    fn object(self, fields: Vec<BoxedStrategy<Option<(String, Value)>>>) -> BoxedStrategy<Value> {
        let unknown = match self {
            Mix::Clean => Just(None).boxed(),
            Mix::Dirty => {
                prop_oneof![20 => Just(None), 1 => any_json().prop_map(|v| Some(("bogus".to_string(), v)))].boxed()
            }
        };
        (fields, unknown)
            .prop_map(|(fields, unknown)| Value::Object(fields.into_iter().chain([unknown]).flatten().collect()))
            .boxed()
    }

    /// A list of up to `max` items (at least one in a clean document: empty lists load, but carry nothing).
    fn list(self, item: BoxedStrategy<Value>, max: usize) -> BoxedStrategy<Value> {
        let min = if self == Mix::Clean { 1 } else { 0 };
        self.or_junk(proptest::collection::vec(item, min..max).prop_map(Value::from).boxed())
    }

    /// `list`, whose items in a clean document have distinct `key`s: a repeated one gets the item's index
    /// appended (text) or becomes 100 + the index (number). Duplicates are the dirty documents' business.
    fn distinct(self, list: BoxedStrategy<Value>, key: &'static str) -> BoxedStrategy<Value> {
        if self == Mix::Dirty {
            return list;
        }
        list.prop_map(move |mut list| {
            let mut seen = Vec::new();
            for (i, item) in list.as_array_mut().into_iter().flatten().enumerate() {
                let Some(value) = item.get_mut(key) else { continue };
                if seen.contains(value) {
                    *value = match value {
                        Value::String(text) => format!("{text}-{i}").into(),
                        _ => (100 + i as i64).into(),
                    };
                }
                seen.push(value.clone());
            }
            list
        })
        .boxed()
    }

    /// `list`, whose items in a clean document have the `key`s 1, 2, 3 and so on (what rows refer to).
    fn numbered(self, list: BoxedStrategy<Value>, key: &'static str) -> BoxedStrategy<Value> {
        if self == Mix::Dirty {
            return list;
        }
        list.prop_map(move |mut list| {
            for (i, item) in list.as_array_mut().into_iter().flatten().enumerate() {
                item[key] = (i as i64 + 1).into();
            }
            list
        })
        .boxed()
    }

    /// A username a row refers to: in a clean document mostly one that every clean document has.
    fn username(self) -> BoxedStrategy<Value> {
        match self {
            Mix::Clean => prop_oneof![6 => self.text(&["alice", "bob"]), 1 => self.text(USERNAMES)].boxed(),
            Mix::Dirty => self.text(USERNAMES),
        }
    }

    /// Datetimes: ordinary ones with nanoseconds, four-digit years' and chrono's ends, a leap second; in a dirty
    /// document also texts that are not datetimes.
    fn datetime(self) -> BoxedStrategy<Value> {
        let ordinary = (946_684_800i64..4_102_444_800, 0u32..1_000_000_000).prop_map(|(secs, nanos)| {
            Value::from(DateTime::from_timestamp(secs, nanos).expect("in range").to_rfc3339())
        });
        let edges = [
            "9999-12-31T23:59:59.999999Z",
            "0001-01-01T00:00:00Z",
            "2030-06-30T23:59:60Z",
            "1970-01-01T00:00:00+14:00",
        ];
        let good = prop_oneof![6 => ordinary, 1 => pick(edges.map(Value::from).to_vec())].boxed();
        let bad = ["+262142-12-31T23:59:59Z", "-262143-01-01T00:00:00Z", "2030-01-01", "2030-01-01T00:00:00+25:00", ""];
        self.or(good, pick(bad.map(Value::from).to_vec()).boxed())
    }

    /// Integers, mostly in `common`; also `i64`'s ends, and in a dirty document numbers that are no `i64`.
    fn int(self, common: std::ops::Range<i64>) -> BoxedStrategy<Value> {
        let edges = pick(vec![json!(i64::MAX), json!(i64::MIN), json!(0), json!(-1)]);
        let good = prop_oneof![8 => common.prop_map(Value::from), 1 => edges].boxed();
        self.or(good, pick(vec![json!(u64::MAX), json!(1.5), json!("1")]).boxed())
    }

    /// A text from `pool`; in a dirty document also any text.
    fn text(self, pool: &'static [&'static str]) -> BoxedStrategy<Value> {
        let good = prop::sample::select(pool).prop_map(Value::from).boxed();
        self.or(good, any_chars(10).prop_map(Value::from).boxed())
    }

    fn boolean(self) -> BoxedStrategy<Value> {
        self.or_junk(any::<bool>().prop_map(Value::from).boxed())
    }
}

fn pick(values: Vec<Value>) -> impl Strategy<Value = Value> {
    prop::sample::select(values)
}

/// An optional field: present half the time.
fn opt(key: &'static str, value: BoxedStrategy<Value>) -> BoxedStrategy<Option<(String, Value)>> {
    prop_oneof![value.prop_map(move |v| Some((key.to_string(), v))), Just(None)].boxed()
}

const USERNAMES: &[&str] = &["alice", "bob", "carol", "akadmin"];
const KEYS: &[&str] = &[
    "alice-example-key-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGH",
    "bob-example-key-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJ",
    "carol-example-key-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGH",
    ADMIN_KEY,
];

/// The fields of a user but `pk` and `username`.
fn ak_user_fields(m: Mix) -> BoxedStrategy<Value> {
    let group = m.object(vec![m.req("name", m.text(&["admins", "staff", ""])), opt("is_superuser", m.boolean())]);
    m.object(vec![
        opt("name", m.text(&["Alice", "Bob", ""])),
        opt("email", m.text(&["alice@example.com", "not an email", ""])),
        opt("is_active", m.boolean()),
        opt("is_superuser", m.boolean()),
        opt("groups", m.list(group, 3)),
        opt("type", m.text(&["internal", "external", "service_account", "internal_service_account"])),
        opt("path", m.text(&["users", "users/staff", ""])),
        opt("attributes", m.or_junk(Just(json!({"goauthentik.io/user/token-expires": true})).boxed())),
        opt("uuid", m.text(&["0b9e5bd3-8f0e-4c5a-9d0c-1f2e3d4c5b6a", "9a4b3c2d-1e0f-4a5b-8c7d-6e5f4a3b2c1d"])),
        opt("date_joined", m.datetime()),
        opt("last_login", m.or(m.datetime(), Just(Value::Null).boxed())),
    ])
}

/// Users: in a clean document alice, bob and maybe carol and akadmin, with distinct pks (the last one now and then `i64::MAX`, which leaves no
/// pk for `akadmin` unless the document has it); in a dirty one anything.
fn ak_users(m: Mix) -> BoxedStrategy<Value> {
    match m {
        Mix::Dirty => {
            let user = (m.req("pk", m.int(1..6)), m.req("username", m.text(USERNAMES)), ak_user_fields(m))
                .prop_map(|(pk, username, fields)| {
                    let mut user = fields.as_object().cloned().unwrap_or_default();
                    user.extend(pk.into_iter().chain(username));
                    Value::Object(user)
                })
                .boxed();
            m.list(user, 4)
        }
        Mix::Clean => (
            prop::sample::subsequence(&USERNAMES[2..], 0..=2).prop_map(|more| [&USERNAMES[..2], &more[..]].concat()),
            proptest::collection::vec(ak_user_fields(m), USERNAMES.len()),
            prop_oneof![6 => Just(false), 1 => Just(true)],
        )
            .prop_map(|(names, fields, far)| {
                let count = names.len();
                let users = names.into_iter().zip(fields).enumerate().map(|(i, (name, fields))| {
                    let mut user = fields.as_object().cloned().unwrap_or_default();
                    let pk = if far && i + 1 == count { i64::MAX } else { i as i64 + 2 };
                    user.insert("pk".into(), pk.into());
                    user.insert("username".into(), name.into());
                    Value::Object(user)
                });
                Value::from(users.collect::<Vec<_>>())
            })
            .boxed(),
    }
}

fn provider(m: Mix) -> BoxedStrategy<Value> {
    m.object(vec![
        m.req("pk", m.int(1..4)),
        m.req("name", m.text(&["grafana", "gitea", ""])),
        opt("assigned_application_slug", m.text(&["grafana", ""])),
        opt("assigned_application_name", m.text(&["Grafana"])),
        opt("property_mappings", m.list(m.text(&["0b9e5bd3-8f0e-4c5a-9d0c-1f2e3d4c5b6a"]), 2)),
    ])
}

fn core_token(m: Mix) -> BoxedStrategy<Value> {
    let identifiers = &["alice-ci", "bob-api", "authentik-bootstrap-token", "x", "", "bad slug\u{0}"];
    m.object(vec![
        opt("pk", m.text(&["9a4b3c2d-1e0f-4a5b-8c7d-6e5f4a3b2c1d", "0b9e5bd3-8f0e-4c5a-9d0c-1f2e3d4c5b6a"])),
        m.req("identifier", m.text(identifiers)),
        m.req("user", m.username()),
        opt("key", prop_oneof![3 => m.text(KEYS), 1 => Just(Value::Null)].boxed()),
        opt("intent", m.text(&["api", "app_password", "recovery", "verification"])),
        opt("description", m.text(&["CI token", ""])),
        opt("expires", prop_oneof![3 => m.datetime(), 1 => Just(Value::Null)].boxed()),
        opt("expiring", m.boolean()),
        opt("managed", m.text(&["goauthentik.io/x", ""])),
        opt("key_viewers", m.list(m.username(), 3)),
    ])
}

fn oauth_token(m: Mix) -> BoxedStrategy<Value> {
    m.object(vec![
        m.req("pk", m.int(1..4)),
        m.req("provider", m.or(prop_oneof![6 => Just(json!(1)), 1 => m.int(1..4)].boxed(), m.int(1..4))),
        m.req("user", m.username()),
        opt("token", m.text(&["access-token-1", "access-token-2", ADMIN_KEY, ""])),
        opt("expires", m.datetime()),
        opt("scope", m.list(m.text(&["openid", "profile", ""]), 3)),
        opt("id_token", m.or_junk(Just(json!({"sub": "alice"})).boxed())),
        opt("revoked", m.boolean()),
    ])
}

/// Plain PATs: valid ones and the bootstrap PAT (so that it can belong to another user); broken ones in dirty
/// documents.
const PATS: &[&str] =
    &["nbp_GFQ9OIZ8lRv83g5RLzL9bt5qJCzdm43kXuyc", "nbp_0AerRTjreD8S1qqopvtv2s73odEBiS0FMQ7i", ADMIN_PAT];
const BAD_PATS: &[&str] = &["nbp_GFQ9OIZ8lRv83g5RLzL9bt5qJCzdm43kXuyd", "nbp_short", ""];
/// Stored PAT hashes as an export writes them (the second is no sha256, which a seed does not check).
const HASHES: &[&str] = &["7QUet5VEF5ZF9v3BE+oLQuOLVvq08MSOpUdJOa3TUBs=", "not base64"];

fn pat(m: Mix) -> BoxedStrategy<Value> {
    let expires_in = m.or_junk(
        prop_oneof![6 => (-3i64..400).prop_map(Value::from), 1 => Just(json!(100_000_000)), 1 => m.int(-1..0)].boxed(),
    );
    // Exactly one of token and hashed_token, as the format asks; a dirty document may give both or neither.
    let secret = match m {
        Mix::Clean => prop_oneof![
            3 => m.text(PATS).prop_map(|v| vec![Some(("token".to_string(), v))]),
            1 => m.text(HASHES).prop_map(|v| vec![Some(("hashed_token".to_string(), v))]),
        ]
        .boxed(),
        Mix::Dirty => {
            vec![opt("token", m.or(m.text(PATS), m.text(BAD_PATS))), opt("hashed_token", m.text(HASHES))].boxed()
        }
    };
    let fields = m.object(vec![
        opt("id", m.text(&["ch8i54g6lnn4g9hqv7n0", "pat-2", ""])),
        m.req("name", m.text(&["ci", "laptop", ""])),
        opt("expires_in", expires_in),
        opt("expiration_date", m.datetime()),
        opt("created_at", m.datetime()),
        opt("created_by", m.text(&["admin", "netadmin"])),
        opt("last_used", m.datetime()),
    ]);
    (fields, secret)
        .prop_map(|(fields, secret)| {
            let mut pat = fields.as_object().cloned().unwrap_or_default();
            pat.extend(secret.into_iter().flatten());
            Value::Object(pat)
        })
        .boxed()
}

fn nb_user(m: Mix) -> BoxedStrategy<Value> {
    let roles = match m {
        Mix::Clean => &["owner", "admin", "network_admin", "auditor", "user"][..],
        Mix::Dirty => &["owner", "admin", "network_admin", "auditor", "user", "root"][..],
    };
    m.object(vec![
        m.req("id", m.text(&["admin", "netadmin", "robot", ""])),
        opt("account_id", m.text(&["default", "other", ""])),
        m.req("role", m.text(roles)),
        opt("service_user", m.boolean()),
        opt("blocked", m.boolean()),
        opt("pats", m.distinct(m.list(pat(m), 3), "id")),
    ])
}

/// A whole seed document, clean or dirty.
fn seed_document() -> BoxedStrategy<Value> {
    let of = |m: Mix| {
        let authentik = m.object(vec![
            m.req("users", ak_users(m)),
            m.req("providers", m.numbered(m.list(provider(m), 3), "pk")),
            opt("tokens", m.distinct(m.distinct(m.list(core_token(m), 4), "identifier"), "pk")),
            opt("access_tokens", m.distinct(m.list(oauth_token(m), 3), "pk")),
            opt("refresh_tokens", m.distinct(m.list(oauth_token(m), 3), "pk")),
        ]);
        let netbird = m.object(vec![m.req("users", m.distinct(m.list(nb_user(m), 4), "id"))]);
        m.or_junk(m.object(vec![m.req("authentik", m.or_junk(authentik)), m.req("netbird", m.or_junk(netbird))]))
    };
    prop_oneof![of(Mix::Clean), of(Mix::Dirty)].boxed()
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 8, 22, 12, 0, 0).unwrap()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime")
}

/// Why a seed did not load; a panic fails the property before this is reached.
#[derive(Debug)]
enum Rejected {
    Seed(SeedError),
    Store(StoreError),
}

/// What the admin API's state load does, on a fresh memory store: parse, turn into rows at `now`, import, apply
/// the bootstrap credentials.
async fn load(seed: SeedFile, at: DateTime<Utc>) -> Result<MemoryStore, Rejected> {
    let snapshot = seed.snapshot(at).map_err(Rejected::Seed)?;
    let store = MemoryStore::new();
    store.import(snapshot).await.map_err(Rejected::Store)?;
    bootstrap(&store, at, Some(ADMIN_KEY.to_string()), Some(ADMIN_PAT.to_string()), "admin")
        .await
        .map_err(Rejected::Seed)?;
    Ok(store)
}

/// A rejection must be the caller's mistake, never a backend failure.
fn acceptable(rejected: &Rejected) -> Result<(), TestCaseError> {
    match rejected {
        Rejected::Store(StoreError::Backend { .. }) | Rejected::Seed(SeedError::Store(StoreError::Backend { .. })) => {
            Err(TestCaseError::fail(format!("a backend failure: {rejected:?}")))
        }
        _ => Ok(()),
    }
}

/// The export of `store` as a seed document must load back (as JSON and as YAML) to the same export.
async fn round_trips(store: &MemoryStore) -> Result<(), TestCaseError> {
    let exported = store.export().await.map_err(|e| TestCaseError::fail(format!("export: {e}")))?;
    let document = SeedFile::from_snapshot(exported.clone()).map_err(|e| TestCaseError::fail(format!("{e}")))?;
    let json = serde_json::to_value(&document).expect("a seed serializes");
    let yaml = serde_yaml::to_string(&document).expect("a seed serializes as YAML");
    let later = now() + chrono::TimeDelta::days(3);

    let from_json = SeedFile::from_json(json.clone()).map_err(|e| TestCaseError::fail(format!("{e}: {json}")))?;
    let reloaded = load(from_json, later).await.map_err(|e| TestCaseError::fail(format!("{e:?}: {json}")))?;
    let again: Snapshot = reloaded.export().await.expect("export");
    prop_assert_eq!(&again, &exported, "the JSON export does not load back to itself: {}", json);

    let from_yaml: SeedFile =
        serde_yaml::from_str(&yaml).map_err(|e| TestCaseError::fail(format!("YAML export: {e}\n{yaml}")))?;
    let reloaded = load(from_yaml, later).await.map_err(|e| TestCaseError::fail(format!("{e:?}:\n{yaml}")))?;
    prop_assert_eq!(&reloaded.export().await.expect("export"), &exported, "the YAML export:\n{}", yaml);
    Ok(())
}

#[test]
fn seed_documents_never_panic_and_exports_load_back_to_themselves() {
    let runtime = runtime();
    check(256, seed_document(), |document| {
        let parsed = SeedFile::from_json(document.clone());
        // JSON is YAML: a seed file holding the same text parses without a panic too. (Not necessarily alike:
        // serde_yaml reads `null` as the text "null" for a string, serde_json reads `[]` as a struct of no fields.)
        let _ = serde_yaml::from_str::<SeedFile>(&serde_json::to_string(&document).expect("JSON"));
        let Ok(seed) = parsed else { return Ok(()) };
        runtime.block_on(async {
            match load(seed, now()).await {
                Ok(store) => round_trips(&store).await,
                Err(rejected) => acceptable(&rejected),
            }
        })
    });
}

/// The example seed file, with a byte range replaced, a line repeated or dropped, or text inserted.
fn mutated_seed_yaml() -> impl Strategy<Value = String> {
    const EXAMPLE: &str = include_str!("../../../../examples/seed.yaml");
    let inserted = prop_oneof![
        any_chars(6),
        pick(
            ["- ", ": ", "\n", "  ", "{", "[", "&a ", "*a", "!!binary ", "? ", "|", "'", "\"", "#", "~", "<<: "]
                .map(Value::from)
                .to_vec()
        )
        .prop_map(|v| v.as_str().unwrap().to_string()),
    ];
    let lines = EXAMPLE.lines().count();
    prop_oneof![
        (0..EXAMPLE.len(), 0usize..20, inserted).prop_map(|(at, len, insert)| {
            let mut bytes = EXAMPLE.as_bytes().to_vec();
            let end = (at + len).min(bytes.len());
            bytes.splice(at..end, insert.into_bytes());
            String::from_utf8_lossy(&bytes).into_owned()
        }),
        (0..lines, any::<bool>()).prop_map(move |(line, repeat)| {
            let mut all: Vec<&str> = EXAMPLE.lines().collect();
            if repeat {
                all.insert(line, all[line]);
            } else {
                all.remove(line);
            }
            all.join("\n")
        }),
        any_chars(80),
    ]
}

#[test]
fn seed_files_never_panic() {
    let runtime = runtime();
    check(256, mutated_seed_yaml(), |text| {
        let Ok(seed) = serde_yaml::from_str::<SeedFile>(&text) else { return Ok(()) };
        runtime.block_on(async {
            match load(seed, now()).await {
                Ok(store) => round_trips(&store).await,
                Err(rejected) => acceptable(&rejected),
            }
        })
    });
}

#[test]
fn the_example_seed_loads_and_round_trips() {
    // The mutations above start from a file that loads: were it rejected, they would test only rejections.
    let seed: SeedFile = serde_yaml::from_str(include_str!("../../../../examples/seed.yaml")).expect("example parses");
    runtime().block_on(async {
        let store = load(seed, now()).await.expect("example loads");
        round_trips(&store).await.expect("example round trips");
        let export = store.export().await.unwrap();
        assert!(export.core_tokens.len() >= 3 && export.pats.len() >= 5, "{} tokens", export.core_tokens.len());
    });
}

/// An export keeps every field of what the store holds, NetBird users' `name`, `email` and `auto_groups`
/// (set through the NetBird users API) included; loading the export restores them.
#[test]
fn exports_keep_netbird_user_names_emails_and_groups() {
    runtime().block_on(async {
        let store = MemoryStore::new();
        let mut robot =
            tokenstack_server::model::NbUser::new("robot", "default", tokenstack_server::model::NbRole::User);
        robot.is_service_user = true;
        robot.name = "Robot".into();
        robot.email = "robot@example.com".into();
        robot.auto_groups = vec!["group-1".into()];
        // An empty seed's state: what every store holds (authentik's managed scope mappings), and the user.
        let empty = SeedFile::default().snapshot(now()).unwrap();
        store.import(Snapshot { nb_users: vec![robot], ..empty }).await.unwrap();
        let exported = store.export().await.unwrap();
        let json = serde_json::to_value(SeedFile::from_snapshot(exported.clone()).unwrap()).unwrap();
        let reloaded = MemoryStore::new();
        reloaded.import(SeedFile::from_json(json.clone()).unwrap().snapshot(now()).unwrap()).await.unwrap();
        assert_eq!(reloaded.export().await.unwrap(), exported, "{json}");
    });
}

// ---------------------------------------------------------------------------------------------------------------
// The admin API's state load, through HTTP
// ---------------------------------------------------------------------------------------------------------------

const ADMIN_TOKEN: &str = "proptest-admin-token-0123456789abcdefghijklmnop";

/// One admin API call on `/_tokenstack/{path}`: the status and the JSON body (`null` when empty).
async fn admin(
    client: &reqwest::Client,
    base: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<&Value>,
) -> (u16, Value) {
    let (path, authorization, body) =
        (format!("/_tokenstack/{path}"), format!("Bearer {ADMIN_TOKEN}"), body.map(Value::to_string));
    tokenstack_tests::send(client, base, method, &path, Some(&authorization), body.as_deref().map(str::as_bytes))
        .await
        .expect("an answer, not a dropped connection")
}

#[test]
fn admin_state_load_is_a_204_or_a_400_and_a_400_changes_nothing() {
    let runtime = runtime();
    let config = tokenstack_server::config::Config::parse_from([
        "tokenstack",
        "--bind",
        "127.0.0.1:0",
        "--log-level",
        "critical",
        "--bootstrap-token",
        ADMIN_KEY,
        "--bootstrap-pat",
        ADMIN_PAT,
        "--admin-token",
        ADMIN_TOKEN,
    ]);
    let running = runtime.block_on(tokenstack_server::start(&config)).expect("server starts");
    let base = format!("http://{}", running.server.local_addr());
    let client = reqwest::Client::new();
    // Only objects reach the handler (anything else is Dropshot's 400 before it), so the documents are objects.
    let document = seed_document().prop_filter("an object", Value::is_object);
    check(96, document, |document| {
        runtime.block_on(async {
            // Every case starts from the start-up state, so that a failure shrinks to one document.
            let (status, _) = admin(&client, &base, reqwest::Method::POST, "reset", None).await;
            prop_assert_eq!(status, 204);
            let (_, before) = admin(&client, &base, reqwest::Method::GET, "state", None).await;
            let (status, body) = admin(&client, &base, reqwest::Method::PUT, "state", Some(&document)).await;
            match status {
                204 => {
                    let (status, exported) = admin(&client, &base, reqwest::Method::GET, "state", None).await;
                    prop_assert_eq!(status, 200);
                    let (status, body) = admin(&client, &base, reqwest::Method::PUT, "state", Some(&exported)).await;
                    prop_assert_eq!(status, 204, "the export does not load: {}", body);
                    let (_, again) = admin(&client, &base, reqwest::Method::GET, "state", None).await;
                    prop_assert_eq!(again, exported, "a loaded export is not the same state");
                }
                400 => {
                    let message = body.as_object().filter(|o| o.len() == 1).and_then(|o| o["message"].as_str());
                    prop_assert!(message.is_some_and(|m| !m.is_empty()), "not tokenstack's error shape: {}", body);
                    let (_, after) = admin(&client, &base, reqwest::Method::GET, "state", None).await;
                    prop_assert_eq!(after, before, "a rejected load changed the state");
                }
                other => prop_assert!(false, "{other} {body} for {document}"),
            }
            // The bootstrap key authenticates after every load, accepted or not, unless the document redefines
            // `akadmin` or its token (inactive, expired, another user's: the load keeps them, resetting the key).
            let status = client
                .get(format!("{base}/api/v3/core/tokens/"))
                .header("authorization", format!("Bearer {ADMIN_KEY}"))
                .send()
                .await
                .expect("answer")
                .status()
                .as_u16();
            let text = document.to_string();
            if !text.contains("akadmin") && !text.contains("authentik-bootstrap-token") {
                prop_assert_eq!(status, 200);
            }
            Ok(())
        })
    });
    runtime.block_on(running.server.close()).expect("server stops");
}
