//! Property tests of authentik's list query parsing: DRF pages, django datetimes, ordering and search terms, and
//! whole listings (tokens, OAuth2 tokens, users) on the memory and SQLite stores from arbitrary query values.
//!
//! Every property holds for any input: nothing panics, a listing is a page or an upstream-shaped 400/404, never a
//! store failure, and both stores answer the same. `PROPTEST_CASES=N` runs N cases per property instead of the
//! few that keep the suite at a few seconds.

use chrono::{FixedOffset, TimeZone};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

use super::validate::{
    MAX_SEARCH_TERMS, page_request, parse_django_datetime, parse_null_boolean, python_datetime, search_filter,
};
use super::*;
use crate::model::{AkGroup, AkUser, NbRole};
use crate::pagination::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};
use crate::store::query::search_terms;
use crate::store::{MemoryStore, Snapshot, SqliteStore};
use crate::test_rows::{ak_user, core_token, nb_user, oauth, provider};

#[path = "../../tests/server/prop_support.rs"]
mod prop_support;
use prop_support::{any_chars, check};

/// Numbers as a query carries them: in and out of `i64`, signed, padded, in other scripts, or not numbers at all.
fn number_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        (-3i64..200).prop_map(|n| n.to_string()),
        any::<u128>().prop_map(|n| n.to_string()),
        any::<i128>().prop_map(|n| n.to_string()),
        "[ +-]{0,2}[0-9]{1,30}[ ]{0,2}",
        prop::sample::select(vec![
            "", " ", "0", "-0", "+1", " 7 ", "1e3", "0x10", "1.5", "١٢", "NaN", "inf", "\0", "1\0", "last", "٣",
        ])
        .prop_map(str::to_owned),
        any_chars(8),
    ]
}

/// Datetimes as django reads them, fields in and out of range: `T`, space or neither; fractions; `Z` or offsets.
fn datetime_text() -> impl Strategy<Value = String> {
    let fraction = prop_oneof![Just(String::new()), "[.,][0-9]{0,12}"];
    let offset = prop_oneof![
        Just(String::new()),
        prop::sample::select(vec!["Z", "z", "+00:00", "-00:00", "+0530", "-23:59", "+24:00", "+99:99", "UTC"])
            .prop_map(str::to_owned),
        (any::<bool>(), 0u32..30, 0u32..70)
            .prop_map(|(neg, h, m)| format!("{}{h:02}:{m:02}", if neg { '-' } else { '+' })),
    ];
    (
        prop_oneof![0i32..10_000, -10i32..0, 10_000i32..300_000],
        0u32..14,
        0u32..33,
        prop::sample::select(vec!["T", " ", "t", "", "  "]),
        0u32..26,
        0u32..62,
        prop_oneof![Just(None), (0u32..62).prop_map(Some)],
        fraction,
        offset,
    )
        .prop_map(|(y, mo, d, sep, h, mi, s, frac, off)| {
            let seconds = s.map(|s| format!(":{s:02}")).unwrap_or_default();
            format!("{y:04}-{mo:02}-{d:02}{sep}{h:02}:{mi:02}{seconds}{frac}{off}")
        })
}

/// A valid instant with microsecond precision, as authentik stores one.
fn instant() -> impl Strategy<Value = DateTime<Utc>> {
    // Years 2..=9998, so that any offset keeps the local date within four-digit years.
    (-61_000_000_000i64..253_300_000_000, 0u32..1_000_000)
        .prop_map(|(secs, micros)| DateTime::from_timestamp(secs, micros * 1_000).expect("in chrono's range"))
}

#[test]
fn page_request_never_panics_and_normalises() {
    let value = prop_oneof![Just(None), number_text().prop_map(Some)];
    check(512, (value.clone(), value), |(page, size)| {
        match page_request(page.as_deref(), size.as_deref()) {
            Ok(req) => {
                prop_assert!(req.page() >= 1);
                prop_assert!((1..=MAX_PAGE_SIZE).contains(&req.page_size()));
                // A page that parses is the page asked for; an empty one is the first.
                match page.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
                    None => prop_assert_eq!(req.page(), 1),
                    Some(p) => prop_assert_eq!(Ok(req.page() as i64), p.parse::<i64>()),
                }
                if let Some(n) = size.as_deref().and_then(|s| s.trim().parse::<i64>().ok()) {
                    let expected = if n >= 1 { (n as u64).min(MAX_PAGE_SIZE) } else { DEFAULT_PAGE_SIZE };
                    prop_assert_eq!(req.page_size(), expected);
                }
                let _ = (req.offset(), req.limit());
            }
            Err(AkError::NotFound(msg)) => {
                prop_assert_eq!(msg, MSG_INVALID_PAGE);
                let p = page.as_deref().map(str::trim).unwrap_or_default();
                prop_assert!(p.parse::<i64>().map_or(true, |n| n < 1), "page {p:?} is a valid page");
            }
            Err(other) => prop_assert!(false, "page_request({page:?}, {size:?}) = {other:?}"),
        }
        Ok(())
    });
}

#[test]
fn django_datetimes_never_panic() {
    check(512, prop_oneof![datetime_text(), any_chars(40)], |text| {
        // A leap second (`…:60`) parses as chrono's leap representation: see `leap_seconds_are_not_datetimes`.
        if let Some(parsed) = parse_django_datetime(&text).filter(|at| at.nanosecond() < 1_000_000_000) {
            // Whatever parses is a real instant that Python's `str` and the parser agree on again.
            let printed = python_datetime(parsed);
            let again = parse_django_datetime(&printed);
            prop_assert_eq!(again.map(|at| at.timestamp_micros()), Some(parsed.timestamp_micros()), "{}", printed);
        }
        Ok(())
    });
}

#[test]
fn django_datetimes_round_trip() {
    let offset = -(23 * 60 + 59)..=(23 * 60 + 59);
    check(512, (instant(), offset, any::<bool>()), |(at, minutes, space)| {
        prop_assert_eq!(parse_django_datetime(&python_datetime(at)), Some(at));
        let local = at.with_timezone(&FixedOffset::east_opt(minutes * 60).expect("offset in range"));
        let mut text = local.to_rfc3339();
        if space {
            text = text.replacen('T', " ", 1);
        }
        prop_assert_eq!(parse_django_datetime(&text), Some(at), "{}", text);
        let naive = at.naive_utc().format("%Y-%m-%dT%H:%M:%S%.f").to_string();
        prop_assert_eq!(parse_django_datetime(&naive), Some(at), "{}", naive);
        Ok(())
    });
}

/// Django's `parse_datetime` (`datetime.fromisoformat`, then its regex and `datetime(**kw)`) rejects second 60,
/// so a filter or a body `expires` of `…:60` is "Enter a valid date/time."; chrono alone would accept it as a
/// leap second, which the memory store kept as 23:59:60 while the SQL stores read it back as the next second.
#[test]
fn leap_seconds_are_not_datetimes() {
    for text in ["2030-06-30T23:59:60Z", "2030-06-30 23:59:60", "0000-01-01T00:00:60", "2030-06-30T23:59:60.5+02:00"] {
        assert_eq!(parse_django_datetime(text), None, "{text}");
    }
}

#[test]
fn null_booleans_never_panic() {
    check(256, any_chars(8), |text| {
        let parsed = parse_null_boolean(&text);
        prop_assert_eq!(parsed.is_some(), ["True", "true", "1", "False", "false", "0"].contains(&text.as_str()));
        Ok(())
    });
}

/// An `ordering` value: known terms, descending ones, unknown, doubled dashes, blanks and arbitrary text.
fn ordering_text(known: &'static [&'static str]) -> impl Strategy<Value = String> {
    let term = prop_oneof![
        prop::sample::select(known).prop_map(str::to_owned),
        prop::sample::select(known).prop_map(|t| format!("-{t}")),
        prop::sample::select(known).prop_map(|t| format!(" {t} ")),
        prop::sample::select(known).prop_map(|t| format!("--{t}")),
        prop::sample::select(known).prop_map(str::to_uppercase),
        Just(String::new()),
        any_chars(6),
    ];
    prop_oneof![
        4 => proptest::collection::vec(term, 0..12).prop_map(|terms| terms.join(",")),
        1 => any_chars(40),
        // Thousands of terms, as the SQL stores once failed on.
        1 => (1usize..3_000).prop_map(|n| (0..n).map(|i| known[i % known.len()]).collect::<Vec<_>>().join(",")),
    ]
}

const TOKEN_ORDERING: &[&str] =
    &["pk", "identifier", "intent", "user", "description", "expires", "expiring", "managed", "key", "user__username"];
const OAUTH_ORDERING: &[&str] = &["pk", "provider", "user", "expires", "revoked", "token", "scope"];
const USER_ORDERING: &[&str] = &[
    "pk",
    "username",
    "name",
    "email",
    "is_active",
    "is_superuser",
    "path",
    "type",
    "uuid",
    "date_joined",
    "last_login",
    "last_updated",
    "password",
];

#[test]
fn ordering_is_never_empty_and_never_repeats_a_field() {
    let default = [(CoreTokenField::Identifier, false), (CoreTokenField::Expires, false)];
    check(512, prop_oneof![Just(None), ordering_text(TOKEN_ORDERING).prop_map(Some)], |raw| {
        let parsed = parse_ordering(raw.as_deref(), CoreTokenField::parse, &default);
        prop_assert!(!parsed.is_empty());
        for (i, (field, _)) in parsed.iter().enumerate() {
            prop_assert!(!parsed[..i].iter().any(|(seen, _)| seen == field), "{parsed:?} repeats {field:?}");
        }
        let terms: Vec<&str> = raw.as_deref().unwrap_or_default().split(',').map(str::trim).collect();
        let first = |field: CoreTokenField| {
            terms.iter().find_map(|t| match t.strip_prefix('-') {
                Some(name) => (CoreTokenField::parse(name) == Some(field)).then_some(true),
                None => (CoreTokenField::parse(t) == Some(field)).then_some(false),
            })
        };
        let named: Vec<CoreTokenField> =
            terms.iter().filter_map(|t| CoreTokenField::parse(t.strip_prefix('-').unwrap_or(t))).collect();
        if named.is_empty() {
            prop_assert_eq!(&parsed[..], &default[..]);
        } else {
            // Every field the value names, once, in the order and direction of its first mention.
            let mut expected: Vec<(CoreTokenField, bool)> = Vec::new();
            for field in named {
                if !expected.iter().any(|(seen, _)| *seen == field) {
                    expected.push((field, first(field).expect("named")));
                }
            }
            prop_assert_eq!(parsed, expected, "{:?}", raw);
        }
        Ok(())
    });
}

/// A `search` value: words, separators (whitespace of every kind, commas), repeats, case and arbitrary text.
fn search_text() -> impl Strategy<Value = String> {
    let word = prop_oneof![
        prop::sample::select(vec!["alpha", "ALPHA", "Beta", "ß", "İ", "ǅ", "100%", "_", "a", "é", "\u{301}"])
            .prop_map(str::to_owned),
        "[a-zA-Z0-9]{1,4}",
        any_chars(4),
    ];
    let sep = prop::sample::select(vec![" ", ",", "\t", "\n", "\u{a0}", "\u{3000}", " , ", ",,", ""]);
    prop_oneof![
        4 => proptest::collection::vec((word, sep), 0..40)
            .prop_map(|parts| parts.into_iter().map(|(w, s)| format!("{w}{s}")).collect()),
        1 => any_chars(60),
        1 => (1usize..3_000).prop_map(|n| (0..n).map(|i| format!("t{}", i % 40)).collect::<Vec<_>>().join(" ")),
    ]
}

#[test]
fn search_terms_are_distinct_non_empty_lower_case_words() {
    check(512, prop_oneof![Just(None), search_text().prop_map(Some)], |search| {
        let terms = search_terms(search.as_deref());
        for (i, term) in terms.iter().enumerate() {
            prop_assert!(!term.is_empty());
            prop_assert!(!term.contains(|c: char| c.is_whitespace() || c == ','), "{term:?}");
            prop_assert!(!terms[..i].contains(term), "{term:?} twice in {terms:?}");
        }
        let text = search.unwrap_or_default();
        let words: Vec<String> = text
            .split(|c: char| c.is_whitespace() || c == ',')
            .filter(|w| !w.is_empty())
            .map(str::to_lowercase)
            .collect();
        prop_assert!(words.iter().all(|w| terms.contains(w)), "a word is lost: {words:?} -> {terms:?}");
        prop_assert!(terms.iter().all(|t| words.contains(t)));

        let mut errors = BTreeMap::new();
        let filtered = search_filter(&mut errors, Some(text.clone()));
        if text.is_empty() {
            prop_assert!(filtered.is_none() && errors.is_empty());
        } else if text.contains('\0') || terms.len() > MAX_SEARCH_TERMS {
            prop_assert!(filtered.is_none());
            prop_assert_eq!(errors.keys().collect::<Vec<_>>(), vec!["search"]);
        } else {
            prop_assert_eq!(filtered, Some(text));
            prop_assert!(errors.is_empty());
        }
        Ok(())
    });
}

/// A query parameter value: mostly absent (so that listings are not all errors or empty), a value of its own kind,
/// or anything.
fn param(own: impl Strategy<Value = String> + 'static) -> impl Strategy<Value = Option<String>> {
    prop_oneof![12 => Just(None), 4 => own.prop_map(Some), 1 => any_chars(12).prop_map(Some)]
}

/// A value from `pool` (texts the fixture holds, so that filters also match), or one of a few that match nothing.
fn fixture_text(pool: &'static [&'static str]) -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(pool).prop_map(str::to_owned),
        1 => prop::sample::select(vec!["", " ", "nobody", "ALICE", "users/"]).prop_map(str::to_owned),
    ]
}

const IDENTIFIERS: &[&str] = &["alpha-1", "beta", "aeoe-token", "istanbul", "ss", "a", "m", "zz", "under_score"];
const TEXTS: &[&str] = &["Alpha-1", "beta", "ÄÖ-token", "İstanbul", "ß", "a", "managed-x"];
const USERNAMES: &[&str] = &["alice", "bob", "root", "İstanbul", "ß"];
const NAMES: &[&str] = &["Alpha-1", "bob", "root", "İstanbul", "ß"];
const EMAILS: &[&str] = &["alice@example.com", "bob@example.com", "ß@example.com"];
const PATHS: &[&str] = &["users", "users/staff", "users/", "u"];

/// A search over the fixture: words and parts of words it holds, in any case, or any search value.
fn fixture_search() -> impl Strategy<Value = String> {
    let word = prop::sample::select(vec![
        "alpha",
        "ALPHA",
        "-1",
        "Beta",
        "äö",
        "ÄÖ",
        "i̇stanbul",
        "İSTANBUL",
        "ß",
        "ss",
        "a",
        "key",
        "root",
        "min",
        "staff",
        "0b9e5bd3",
        "openid",
    ]);
    prop_oneof![
        3 => proptest::collection::vec(word, 1..3).prop_map(|words| words.join(" ")),
        1 => search_text(),
    ]
}

/// A page or page size: mostly small, sometimes any number text.
fn page_text() -> impl Strategy<Value = String> {
    prop_oneof![4 => (1i64..4).prop_map(|n| n.to_string()), 1 => number_text()]
}

/// An `expires` filter: a fixture token's expiry in one of django's spellings, or any datetime text.
fn expires_text() -> impl Strategy<Value = String> {
    let exact = (0i64..9, 0usize..3).prop_map(|(i, spelling)| {
        let at = fixture_now() + TimeDelta::microseconds(i * 1_234_567);
        match spelling {
            0 => python_datetime(at),
            1 => at.to_rfc3339(),
            _ => at.naive_utc().format("%Y-%m-%d %H:%M:%S%.f").to_string(),
        }
    });
    prop_oneof![2 => exact, 1 => datetime_text()]
}

fn token_params() -> impl Strategy<Value = TokenListParams> {
    let intents = prop::sample::select(vec!["api", "app_password", "recovery", "verification", "api", "API", "bogus"]);
    (
        (param(fixture_text(IDENTIFIERS)), param(intents.prop_map(str::to_owned)), param(fixture_text(USERNAMES))),
        (param(fixture_text(TEXTS)), param(expires_text()), param(number_text()), param(fixture_text(TEXTS))),
        (param(fixture_search()), param(ordering_text(TOKEN_ORDERING)), param(page_text()), param(page_text())),
    )
        .prop_map(
            |(
                (identifier, intent, user_username),
                (description, expires, expiring, managed),
                (search, ordering, page, page_size),
            )| TokenListParams {
                identifier,
                intent,
                user_username,
                description,
                expires,
                expiring,
                managed,
                search,
                ordering,
                page,
                page_size,
            },
        )
}

fn oauth_params() -> impl Strategy<Value = (bool, OAuthListParams)> {
    (
        any::<bool>(),
        param(prop_oneof![3 => prop::sample::select(&CALLERS[..]).prop_map(|pk| pk.to_string()), 1 => number_text()]),
        param(prop_oneof![3 => prop::sample::select(vec!["1", "2", "-9223372036854775808"]).prop_map(str::to_owned), 1 => number_text()]),
        param(fixture_search()),
        param(ordering_text(OAUTH_ORDERING)),
        param(page_text()),
        param(page_text()),
    )
        .prop_map(|(access, user, provider, search, ordering, page, page_size)| {
            (access, OAuthListParams { user, provider, search, ordering, page, page_size })
        })
}

fn user_params() -> impl Strategy<Value = UserListParams> {
    let types = prop::sample::select(vec!["internal", "external", "service_account", "internal_service_account", "x"]);
    let uuid = prop_oneof![Just(FIXTURE_UUID.to_string()), "[0-9a-fA-F-]{0,40}"];
    (
        (param(fixture_text(USERNAMES)), param(fixture_text(NAMES)), param(fixture_text(EMAILS)), param(number_text())),
        (
            param(number_text()),
            param(fixture_text(PATHS)),
            param(fixture_text(PATHS)),
            param(types.prop_map(str::to_owned)),
        ),
        (param(uuid), param(fixture_search()), param(ordering_text(USER_ORDERING))),
        (param(page_text()), param(page_text())),
    )
        .prop_map(
            |(
                (username, name, email, is_active),
                (is_superuser, path, path_startswith, user_type),
                (uuid, search, ordering),
                (page, page_size),
            )| UserListParams {
                username,
                name,
                email,
                is_active,
                is_superuser,
                path,
                path_startswith,
                user_type,
                uuid,
                search,
                ordering,
                page,
                page_size,
            },
        )
}

const FIXTURE_UUID: &str = "0b9e5bd3-8f0e-4c5a-9d0c-1f2e3d4c5b6a";
const CALLERS: [i64; 4] = [1, 2, 3, 4];

/// Users (one a superuser through a group, one at the largest pk), providers, core tokens with odd texts and
/// dates (microseconds, as stored), and OAuth2 tokens of both kinds.
fn fixture_now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 8, 22, 12, 0, 0).unwrap()
}

fn fixture() -> Snapshot {
    let now = fixture_now();
    let mut alice = ak_user(1, "alice", false);
    alice.uuid = FIXTURE_UUID.parse().unwrap();
    alice.name = "Alpha-1".into();
    let bob = AkUser { path: "users/staff".into(), last_login: Some(now), ..ak_user(2, "bob", false) };
    let root = ak_user(3, "root", true);
    let mut grouped = ak_user(4, "İstanbul", false);
    grouped.groups.push(AkGroup { is_superuser: true, ..AkGroup::new(uuid::Uuid::nil(), "admins") });
    let far = AkUser { is_active: false, ..ak_user(i64::MAX, "ß", false) };
    let ak_users = vec![alice, bob, root, grouped, far];

    let texts = TEXTS;
    let mut core_tokens = Vec::new();
    for i in 0..40 {
        let identifier = IDENTIFIERS.get(i).map_or_else(|| format!("tok-{i}"), |id| id.to_string());
        let user = ak_users[i % ak_users.len()].pk;
        let mut token = core_token(&identifier, &format!("key-{i}-{}", "k".repeat(50)), user);
        token.description = texts[i % texts.len()].to_string();
        token.intent = [Intent::Api, Intent::AppPassword, Intent::Recovery, Intent::Verification][i % 4];
        // Repeated values, so that ties fall to the next ordering term and the tiebreak.
        token.expires = (i % 3 != 0).then(|| now + TimeDelta::microseconds((i % 9) as i64 * 1_234_567));
        token.expiring = i % 2 == 0;
        token.managed = (i % 4 == 1).then(|| texts[i % texts.len()].to_string());
        core_tokens.push(token);
    }
    let providers = vec![provider(1, "Alpha-1"), provider(2, "ÄÖ"), provider(i64::MIN, "min")];
    let mut oauth_tokens = Vec::new();
    for (i, kind) in [OAuthKind::Access, OAuthKind::Refresh].into_iter().cycle().take(40).enumerate() {
        let user = ak_users[i % ak_users.len()].pk;
        let mut token = oauth(kind, i as i64 + 1, providers[i % providers.len()].pk, user);
        token.expires = (i % 3 != 1).then(|| now + TimeDelta::seconds((i % 7) as i64 * 97));
        token.revoked = i % 4 == 0;
        oauth_tokens.push(token);
    }
    let nb_users = vec![nb_user("admin", "default", NbRole::Owner)];
    Snapshot { ak_users, providers, core_tokens, oauth_tokens, nb_users, ..Snapshot::default() }
}

/// The fixture in a memory and a SQLite store, and a runtime to query them on.
struct Stores {
    runtime: tokio::runtime::Runtime,
    memory: MemoryStore,
    sqlite: SqliteStore,
    users: Vec<AkUser>,
    _dir: tempfile::TempDir,
}

fn stores() -> Stores {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    let snapshot = fixture();
    let users = snapshot.ak_users.clone();
    let (memory, sqlite) = runtime.block_on(async {
        let memory = MemoryStore::new();
        memory.import(snapshot.clone()).await.expect("memory import");
        let sqlite = SqliteStore::open(&dir.path().join("list.db")).await.expect("sqlite opens");
        sqlite.import(snapshot).await.expect("sqlite import");
        (memory, sqlite)
    });
    Stores { runtime, memory, sqlite, users, _dir: dir }
}

impl Stores {
    fn caller(&self, pk: i64) -> &AkUser {
        self.users.iter().find(|u| u.pk == pk).expect("a fixture user")
    }

    /// Runs one listing on both stores; they must answer alike, and never with a store failure or a 403.
    fn both<T: PartialEq + std::fmt::Debug>(
        &self,
        known_fields: &[&str],
        list: impl AsyncFn(Authentik<'_>) -> Result<Page<T>, AkError>,
    ) -> Result<Option<Page<T>>, TestCaseError> {
        let now = fixture_now();
        let (memory, sqlite) = self.runtime.block_on(async {
            (list(Authentik::new(&self.memory, now)).await, list(Authentik::new(&self.sqlite, now)).await)
        });
        let page = match memory {
            Ok(page) => {
                prop_assert!(page.results.len() as u64 <= MAX_PAGE_SIZE);
                prop_assert!(page.count >= page.results.len() as u64);
                prop_assert!(page.current >= 1 && page.current <= page.total_pages);
                Some(page)
            }
            Err(AkError::NotFound(ref msg)) => {
                prop_assert_eq!(msg, MSG_INVALID_PAGE);
                None
            }
            Err(AkError::Invalid(ref errors)) => {
                prop_assert!(!errors.is_empty());
                for (field, messages) in errors {
                    prop_assert!(known_fields.contains(&field.as_str()), "400 keyed by {field:?}");
                    prop_assert!(!messages.is_empty() && messages.iter().all(|m| !m.is_empty()));
                }
                None
            }
            Err(other) => return Err(TestCaseError::fail(format!("memory store: {other:?}"))),
        };
        match (&page, sqlite) {
            (Some(page), Ok(sql)) => prop_assert_eq!(page, &sql, "memory and SQLite list differently"),
            (None, Err(AkError::NotFound(msg))) => prop_assert_eq!(msg, MSG_INVALID_PAGE),
            (None, Err(AkError::Invalid(_))) => {}
            (_, other) => return Err(TestCaseError::fail(format!("memory {page:?}, SQLite {other:?}"))),
        }
        Ok(page)
    }
}

#[test]
fn core_token_listings_never_fail_and_agree_across_stores() {
    let stores = stores();
    let fields = ["identifier", "intent", "user__username", "description", "expires", "managed", "search"];
    check(128, (prop::sample::select(&CALLERS[..]), token_params()), |(caller, params)| {
        let caller = stores.caller(caller);
        let page = stores.both(&fields, async |ak| ak.list_tokens(caller, params.clone()).await)?;
        if let Some(page) = page
            && !caller.is_effective_superuser()
        {
            prop_assert!(page.results.iter().all(|t| t.user == caller.pk), "another user's token is listed");
        }
        Ok(())
    });
}

#[test]
fn oauth_listings_never_fail_and_agree_across_stores() {
    let stores = stores();
    check(128, (prop::sample::select(&CALLERS[..]), oauth_params()), |(caller, (access, params))| {
        let caller = stores.caller(caller);
        let kind = if access { OAuthKind::Access } else { OAuthKind::Refresh };
        let page = stores
            .both(&["user", "provider", "search"], async |ak| ak.list_oauth(caller, kind, params.clone()).await)?;
        if let Some(page) = page {
            prop_assert!(page.results.iter().all(|t| t.kind == kind));
            if !caller.is_effective_superuser() {
                prop_assert!(page.results.iter().all(|t| t.user == caller.pk), "another user's token is listed");
            }
        }
        Ok(())
    });
}

#[test]
fn user_listings_never_fail_and_agree_across_stores() {
    let stores = stores();
    let fields = ["type", "uuid", "username", "name", "email", "path", "path_startswith", "search"];
    check(128, (prop::sample::select(&CALLERS[..]), user_params()), |(caller, params)| {
        let caller = stores.caller(caller);
        let page = stores.both(&fields, async |ak| ak.list_users(caller, params.clone()).await)?;
        if let Some(page) = page
            && !caller.is_effective_superuser()
        {
            prop_assert!(page.results.iter().all(|u| u.pk == caller.pk), "another user is listed");
        }
        Ok(())
    });
}
