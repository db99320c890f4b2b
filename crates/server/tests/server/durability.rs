//! Durability of the SQL stores through the real server and its HTTP API.
//!
//! * SQLite: the `tokenstack` binary writes a token, a key change and a PAT, is killed with
//!   SIGKILL, restarts on the same file (same bootstrap credentials), and everything acknowledged is
//!   still there and authenticates.
//! * SQLite under load: eight writers (each its own HTTP client) create tokens, set their keys and create
//!   PATs; SIGKILL mid-stream; after the restart every acknowledged write is there (the last acknowledged
//!   key authenticates, a key it replaced does not, every PAT authenticates) and `PRAGMA integrity_check`
//!   is `ok`.
//! * PostgreSQL: two replicas (in-process servers on different ports) share one database in a
//!   throwaway cluster: what one writes, the other serves at once, including a key change that
//!   must stop the old key on both.
//! * PostgreSQL replicas under load: both are hammered with authenticated reads (core token retrieves by their
//!   own key, NetBird PAT listings) while keys change, tokens and PATs are deleted, through either replica: no
//!   read sent after a change was acknowledged authenticates with a credential it revoked, even with every
//!   announcement delivered 20 ms late.
//! * PostgreSQL replicas share sessions: a login through one replica's flow executor authenticates the API
//!   through the other, and a logout through either ends it on both.
//! * PostgreSQL outage: the binary under write traffic, the cluster stopped: every store-backed answer is
//!   a 5xx in the upstream's shape (authentik `{"detail"}`, NetBird `{"message", "code"}`), `/readyz` is
//!   503, the process keeps serving; once the cluster is back it recovers within seconds, with every write
//!   acknowledged before the stop still there.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::Parser as _;
use reqwest::Method;
use serde_json::{Value, json};
use sqlx::Connection as _;
use tokenstack_pg_cluster::PgCluster;
use tokenstack_server::config::Config;

/// Key of the bootstrap superuser `akadmin`.
pub(crate) const ADMIN_KEY: &str = "durable-bootstrap-key-0123456789abcdefghijklmnopqrstuvwxyzABCD";
/// PAT of the bootstrap NetBird owner `admin` (valid checksum).
pub(crate) const ADMIN_PAT: &str = "nbp_7mVGH0cRRsTILrfedNbmiNkhEX0WF71GUrpM";

/// One HTTP call; returns the status and the JSON body (`null` when empty).
async fn call(base: &str, method: Method, path: &str, auth: &str, body: Option<Value>) -> (u16, Value) {
    send(&reqwest::Client::new(), base, method, path, auth, body).await.expect("request sent")
}

fn bearer(key: &str) -> String {
    format!("Bearer {key}")
}

fn token_auth(pat: &str) -> String {
    format!("Token {pat}")
}

/// Identifiers in a core token listing.
fn identifiers(listing: &Value) -> Vec<String> {
    listing["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|t| t["identifier"].as_str().expect("identifier").to_string())
        .collect()
}

/// The real binary, killed (SIGKILL) when dropped.
struct Binary {
    child: Child,
    base: String,
}

impl Binary {
    /// Starts the binary on port 0 with the SQLite database `db`.
    async fn start(db: &Path, log: &Path) -> Binary {
        Binary::start_on(&format!("sqlite:{}", db.display()), log).await
    }

    /// Starts the binary on port 0 with `store`; its first stdout line, printed once it listens, names the
    /// address. Its stderr (the log, and any panic message) goes to `log`.
    async fn start_on(store: &str, log: &Path) -> Binary {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tokenstack"))
            .arg("--bind")
            .arg("127.0.0.1:0")
            .arg("--store")
            .arg(store)
            .arg("--log-level")
            .arg("warn")
            .env("TOKENSTACK_BOOTSTRAP_TOKEN", ADMIN_KEY)
            .env("TOKENSTACK_BOOTSTRAP_PAT", ADMIN_PAT)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(log).expect("log file"))
            .spawn()
            .expect("tokenstack starts");
        let mut line = String::new();
        BufReader::new(child.stdout.as_mut().expect("stdout")).read_line(&mut line).expect("first line");
        let Some(base) = line.trim().strip_prefix("tokenstack listening on ") else {
            let status = child.wait().expect("wait");
            panic!("tokenstack exited with {status}: {}", std::fs::read_to_string(log).unwrap_or_default());
        };
        Binary { base: base.to_string(), child }
    }

    /// `kill -9`: no shutdown code runs.
    fn kill_9(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reaped");
    }
}

impl Drop for Binary {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn sqlite_keeps_acknowledged_writes_across_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("tokenstack.db");
    let log = dir.path().join("server.log");

    let first = Binary::start(&db, &log).await;
    let base = first.base.clone();
    let (status, _) = call(
        &base,
        Method::POST,
        "/api/v3/core/tokens/",
        &bearer(ADMIN_KEY),
        Some(json!({"identifier": "durable", "expiring": false})),
    )
    .await;
    assert_eq!(status, 201);
    let (status, _) = call(
        &base,
        Method::POST,
        "/api/v3/core/tokens/",
        &bearer(ADMIN_KEY),
        Some(json!({"identifier": "rotated", "expiring": false})),
    )
    .await;
    assert_eq!(status, 201);
    let (status, viewed) =
        call(&base, Method::GET, "/api/v3/core/tokens/durable/view_key/", &bearer(ADMIN_KEY), None).await;
    assert_eq!(status, 200);
    let durable_key = viewed["key"].as_str().expect("key").to_string();
    let new_key = "rotated-before-the-kill-0123456789abcdefghijklmnopqrstuvwxyzAB";
    let (status, _) = call(
        &base,
        Method::POST,
        "/api/v3/core/tokens/rotated/set_key/",
        &bearer(ADMIN_KEY),
        Some(json!({"key": new_key})),
    )
    .await;
    assert_eq!(status, 204);
    let (status, created) = call(
        &base,
        Method::POST,
        "/api/users/admin/tokens",
        &token_auth(ADMIN_PAT),
        Some(json!({"name": "laptop", "expires_in": 30})),
    )
    .await;
    assert_eq!(status, 200, "{created}");
    let pat = created["plain_token"].as_str().expect("plain token").to_string();

    // Every write above was acknowledged; now the server dies without any chance to flush.
    first.kill_9();

    let second = Binary::start(&db, &log).await;
    let base = second.base.clone();
    let (status, listing) =
        call(&base, Method::GET, "/api/v3/core/tokens/?ordering=identifier", &bearer(&durable_key), None).await;
    assert_eq!(status, 200, "the token created before the kill authenticates: {listing}");
    assert!(identifiers(&listing).contains(&"durable".to_string()), "{listing}");
    let (status, _) = call(&base, Method::GET, "/api/v3/core/tokens/", &bearer(new_key), None).await;
    assert_eq!(status, 200, "the key set before the kill authenticates");
    let (status, listing) =
        call(&base, Method::GET, "/api/v3/core/tokens/?ordering=identifier", &bearer(ADMIN_KEY), None).await;
    assert_eq!(status, 200);
    assert_eq!(
        identifiers(&listing),
        ["authentik-bootstrap-token", "durable", "rotated"],
        "restart keeps data, bootstrap is idempotent"
    );
    let (status, pats) = call(&base, Method::GET, "/api/users/admin/tokens", &token_auth(&pat), None).await;
    assert_eq!(status, 200, "the PAT created before the kill authenticates");
    let names: Vec<&str> = pats.as_array().expect("PAT list").iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names.len(), 2, "bootstrap PAT not duplicated by the restart: {names:?}");
    assert!(names.contains(&"laptop") && names.contains(&"bootstrap"));
    drop(second);
}

pub(crate) fn replica_config(store: &str) -> Config {
    Config::parse_from([
        "tokenstack",
        "--bind",
        "127.0.0.1:0",
        "--store",
        store,
        "--log-level",
        "warn",
        "--bootstrap-token",
        ADMIN_KEY,
        "--bootstrap-pat",
        ADMIN_PAT,
    ])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_replicas_share_one_database() {
    let pg = PgCluster::start().unwrap();
    let url = pg.create_database("replicas").unwrap();
    // Both replicas start at once: migrations and bootstrap must not trip over each other.
    let config = replica_config(&url);
    let (a, b) = tokio::join!(tokenstack_server::start(&config), tokenstack_server::start(&config));
    let (a, b) = (a.expect("replica A starts"), b.expect("replica B starts"));
    let base_a = format!("http://{}", a.server.local_addr());
    let base_b = format!("http://{}", b.server.local_addr());
    assert_ne!(base_a, base_b);

    // Created through A: authenticates and lists through B at once.
    let (status, _) = call(
        &base_a,
        Method::POST,
        "/api/v3/core/tokens/",
        &bearer(ADMIN_KEY),
        Some(json!({"identifier": "shared", "expiring": false})),
    )
    .await;
    assert_eq!(status, 201);
    let (status, viewed) =
        call(&base_a, Method::GET, "/api/v3/core/tokens/shared/view_key/", &bearer(ADMIN_KEY), None).await;
    assert_eq!(status, 200);
    let old_key = viewed["key"].as_str().expect("key").to_string();
    let (status, listing) =
        call(&base_b, Method::GET, "/api/v3/core/tokens/?identifier=shared", &bearer(&old_key), None).await;
    assert_eq!(status, 200, "{listing}");
    assert_eq!(identifiers(&listing), ["shared"]);
    let (status, listing) =
        call(&base_b, Method::GET, "/api/v3/core/tokens/?ordering=identifier", &bearer(ADMIN_KEY), None).await;
    assert_eq!(
        (status, identifiers(&listing)),
        (200, vec!["authentik-bootstrap-token".to_string(), "shared".to_string()])
    );

    // Key changed through A: the old key stops working through B at once, the new one works.
    let new_key = "replica-rotated-key-0123456789abcdefghijklmnopqrstuvwxyzABCDEFG";
    let (status, _) = call(
        &base_a,
        Method::POST,
        "/api/v3/core/tokens/shared/set_key/",
        &bearer(ADMIN_KEY),
        Some(json!({"key": new_key})),
    )
    .await;
    assert_eq!(status, 204);
    let (status, body) = call(&base_b, Method::GET, "/api/v3/core/tokens/", &bearer(&old_key), None).await;
    assert_eq!((status, body), (403, json!({"detail": "Token invalid/expired"})));
    let (status, _) = call(&base_a, Method::GET, "/api/v3/core/tokens/", &bearer(&old_key), None).await;
    assert_eq!(status, 403);
    let (status, _) = call(&base_b, Method::GET, "/api/v3/core/tokens/", &bearer(new_key), None).await;
    assert_eq!(status, 200);

    // NetBird the other way round: a PAT created through B authenticates through A; deleted through
    // A, it stops through B.
    let (status, created) = call(
        &base_b,
        Method::POST,
        "/api/users/admin/tokens",
        &token_auth(ADMIN_PAT),
        Some(json!({"name": "ci", "expires_in": 7})),
    )
    .await;
    assert_eq!(status, 200, "{created}");
    let pat = created["plain_token"].as_str().expect("plain token").to_string();
    let pat_id = created["personal_access_token"]["id"].as_str().expect("id").to_string();
    let (status, _) =
        call(&base_a, Method::GET, &format!("/api/users/admin/tokens/{pat_id}"), &token_auth(&pat), None).await;
    assert_eq!(status, 200);
    let (status, _) =
        call(&base_a, Method::DELETE, &format!("/api/users/admin/tokens/{pat_id}"), &token_auth(ADMIN_PAT), None).await;
    assert_eq!(status, 200);
    let (status, _) = call(&base_b, Method::GET, "/api/users/admin/tokens", &token_auth(&pat), None).await;
    assert_eq!(status, 401);

    a.server.close().await.expect("A stops");
    b.server.close().await.expect("B stops");
}

/// A credential the hammer uses: a core token's key (read with `GET` of that token) or a NetBird PAT.
#[derive(Clone)]
enum Credential {
    Key { identifier: String, key: String },
    Pat(String),
}

impl Credential {
    fn secret(&self) -> &str {
        match self {
            Credential::Key { key, .. } => key,
            Credential::Pat(pat) => pat,
        }
    }
}

/// What the hammer shares with the writer: every key and PAT used so far and those whose revocation (a key
/// change, a deletion) was acknowledged.
#[derive(Default)]
struct Hammered {
    keys: Vec<Credential>,
    pats: Vec<Credential>,
    revoked: HashSet<String>,
}

/// Keys the hammer cycles through: the newest ones, so that current keys are cached and the keys just replaced
/// are tried at once.
const HAMMERED_KEYS: usize = 12;

/// One hammer on `base` until `stop`: authenticated reads with every credential in turn. Returns the reads that
/// authenticated, those refused, and every read that authenticated with a credential revoked before it was sent.
async fn hammer(
    base: String,
    state: Arc<Mutex<Hammered>>,
    stop: Arc<AtomicBool>,
    offset: usize,
) -> (usize, usize, Vec<String>) {
    let client = http_client();
    let (mut allowed, mut refused, mut stale) = (0, 0, Vec::new());
    let mut turn = offset;
    while !stop.load(Ordering::SeqCst) {
        let (credential, revoked) = {
            let state = state.lock().unwrap();
            let credential = if turn.is_multiple_of(4) {
                state.pats[(turn / 4) % state.pats.len()].clone()
            } else {
                let newest = state.keys.len().min(HAMMERED_KEYS);
                state.keys[state.keys.len() - 1 - turn % newest].clone()
            };
            let revoked = state.revoked.contains(credential.secret());
            (credential, revoked)
        };
        turn += 1;
        let (path, auth) = match &credential {
            Credential::Key { identifier, key } => (format!("/api/v3/core/tokens/{identifier}/"), bearer(key)),
            Credential::Pat(pat) => ("/api/users/admin/tokens".to_string(), token_auth(pat)),
        };
        let (status, _) = send(&client, &base, Method::GET, &path, &auth, None).await.expect("answer");
        match status {
            200 if revoked => stale.push(format!("{base}{path} authenticated a credential revoked before the read")),
            200 => allowed += 1,
            401 | 403 | 404 => refused += 1,
            other => stale.push(format!("{base}{path}: unexpected {other}")),
        }
    }
    (allowed, refused, stale)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_replicas_never_authenticate_a_revoked_credential_after_its_acknowledgement() {
    // Announcements reach the listeners 20 ms late, several times the lease window: the guarantee must not rest on
    // their speed.
    tokenstack_server::store::postgres::delay_announcements(Duration::from_millis(20));
    let pg = PgCluster::start().unwrap();
    let url = pg.create_database("hammer").unwrap();
    let config = replica_config(&url);
    let (a, b) = tokio::join!(tokenstack_server::start(&config), tokenstack_server::start(&config));
    let (a, b) = (a.expect("replica A starts"), b.expect("replica B starts"));
    let bases = [format!("http://{}", a.server.local_addr()), format!("http://{}", b.server.local_addr())];
    let client = http_client();
    let (ak, nb) = (bearer(ADMIN_KEY), token_auth(ADMIN_PAT));

    const TOKENS: usize = 6;
    const PATS: usize = 4;
    const ROUNDS: usize = 24;
    let state = Arc::new(Mutex::new(Hammered::default()));
    let mut current = Vec::new();
    for i in 0..TOKENS {
        let identifier = format!("hammer-{i}");
        let body = json!({"identifier": identifier, "expiring": false});
        let (status, _) =
            send(&client, &bases[0], Method::POST, "/api/v3/core/tokens/", &ak, Some(body)).await.unwrap();
        assert_eq!(status, 201);
        let key = format!("{identifier}-round0-0123456789abcdefghijklmnopqrstuvwxyzABCDEF");
        let path = format!("/api/v3/core/tokens/{identifier}/set_key/");
        let (status, _) = send(&client, &bases[1], Method::POST, &path, &ak, Some(json!({"key": key}))).await.unwrap();
        assert_eq!(status, 204);
        state.lock().unwrap().keys.push(Credential::Key { identifier: identifier.clone(), key: key.clone() });
        current.push((identifier, key));
    }
    let mut pats = Vec::new();
    for j in 0..PATS {
        let body = json!({"name": format!("hammer-{j}"), "expires_in": 1});
        let (status, created) =
            send(&client, &bases[j % 2], Method::POST, "/api/users/admin/tokens", &nb, Some(body)).await.unwrap();
        assert_eq!(status, 200, "{created}");
        let plain = created["plain_token"].as_str().expect("plain token").to_string();
        let id = created["personal_access_token"]["id"].as_str().expect("id").to_string();
        state.lock().unwrap().pats.push(Credential::Pat(plain.clone()));
        pats.push((id, plain));
    }

    // Three hammers per replica.
    let stop = Arc::new(AtomicBool::new(false));
    let hammers: Vec<_> =
        (0..6).map(|n| tokio::spawn(hammer(bases[n % 2].clone(), state.clone(), stop.clone(), n * 7))).collect();

    // The writer: every round changes every key, through the replicas in turn; PATs and then tokens are deleted.
    for round in 1..=ROUNDS {
        for (i, (identifier, key)) in current.iter_mut().enumerate() {
            let new_key = format!("{identifier}-round{round}-0123456789abcdefghijklmnopqrstuvwxyzABCDEF");
            let path = format!("/api/v3/core/tokens/{identifier}/set_key/");
            let base = &bases[(round + i) % 2];
            let (status, _) =
                send(&client, base, Method::POST, &path, &ak, Some(json!({"key": new_key}))).await.unwrap();
            assert_eq!(status, 204);
            let mut state = state.lock().unwrap();
            state.revoked.insert(std::mem::replace(key, new_key.clone()));
            state.keys.push(Credential::Key { identifier: identifier.clone(), key: new_key });
        }
        if round.is_multiple_of(4) && !pats.is_empty() {
            let (id, plain) = pats.remove(0);
            let path = format!("/api/users/admin/tokens/{id}");
            let (status, _) = send(&client, &bases[round % 2], Method::DELETE, &path, &nb, None).await.unwrap();
            assert_eq!(status, 200);
            state.lock().unwrap().revoked.insert(plain);
        }
    }
    for (i, (identifier, key)) in current.iter().enumerate() {
        let path = format!("/api/v3/core/tokens/{identifier}/");
        let (status, _) = send(&client, &bases[i % 2], Method::DELETE, &path, &ak, None).await.unwrap();
        assert_eq!(status, 204);
        state.lock().unwrap().revoked.insert(key.clone());
    }
    stop.store(true, Ordering::SeqCst);
    let (mut allowed, mut refused, mut stale) = (0, 0, Vec::new());
    for task in hammers {
        let (a, r, s) = task.await.expect("a hammer panicked");
        (allowed, refused) = (allowed + a, refused + r);
        stale.extend(s);
    }
    assert!(stale.is_empty(), "{} stale or unexpected answers, first: {:?}", stale.len(), &stale[..stale.len().min(5)]);
    assert!(allowed > 0 && refused > 0, "the hammer saw both outcomes: {allowed} allowed, {refused} refused");
    eprintln!("hammer: {allowed} reads authenticated, {refused} refused, none with a revoked credential");
    a.server.close().await.expect("A stops");
    b.server.close().await.expect("B stops");
}

/// One HTTP call with `client` that may fail (a killed server, a timeout): the status and the JSON body
/// (`tokenstack_tests::send` with a JSON value as the body).
async fn send(
    client: &reqwest::Client,
    base: &str,
    method: Method,
    path: &str,
    auth: &str,
    body: Option<Value>,
) -> Result<(u16, Value), reqwest::Error> {
    tokenstack_tests::send(
        client,
        base,
        method,
        path,
        Some(auth),
        body.map(|b| b.to_string()).as_deref().map(str::as_bytes),
    )
    .await
}

fn http_client() -> reqwest::Client {
    reqwest::Client::builder().timeout(Duration::from_secs(30)).build().expect("HTTP client")
}

/// Whether `body` is authentik's error shape: `{"detail": "…"}` and nothing else.
fn is_authentik_error(body: &Value) -> bool {
    body.as_object().is_some_and(|o| o.len() == 1 && o["detail"].as_str().is_some_and(|d| !d.is_empty()))
}

/// Whether `body` is NetBird's error shape for `status`: `{"message": "…", "code": status}` and nothing else.
fn is_netbird_error(body: &Value, status: u16) -> bool {
    body.as_object().is_some_and(|o| {
        o.len() == 2 && o["message"].as_str().is_some_and(|m| !m.is_empty()) && o["code"] == json!(status)
    })
}

/// What the writers' requests were acknowledged for, and what is in doubt.
#[derive(Debug, Default)]
struct Acked {
    /// Identifiers of the core tokens whose creation was answered 201.
    tokens: Vec<String>,
    /// Per token with an acknowledged `set_key`, the keys that may be in effect: the last acknowledged one, and
    /// any set after it that was not acknowledged (in doubt: it may have been written).
    keys: HashMap<String, Vec<String>>,
    /// Keys replaced by a later acknowledged `set_key`: they must never authenticate again.
    superseded: Vec<String>,
    /// Plain NetBird PATs whose creation was answered 200.
    pats: Vec<String>,
}

/// What one writer saw besides acknowledgements.
#[derive(Debug, Default)]
struct Tally {
    /// 5xx answers, every one in the upstream's error shape.
    server_errors: usize,
    /// Requests with no answer (connection refused or reset, timeout).
    unanswered: usize,
    /// Anything else (a 4xx, a 5xx in the wrong shape): a bug; the test fails listing them.
    unexpected: Vec<String>,
}

impl Tally {
    /// Files an answer that is not the acknowledgement `expected`; `netbird` picks the error shape.
    fn file(&mut self, what: &str, answer: Result<(u16, Value), reqwest::Error>, netbird: bool) {
        match answer {
            Ok((status, body)) if status >= 500 => {
                let shaped = if netbird { is_netbird_error(&body, status) } else { is_authentik_error(&body) };
                if shaped {
                    self.server_errors += 1;
                } else {
                    self.unexpected.push(format!("{what}: {status} {body}"));
                }
            }
            Ok((status, body)) => self.unexpected.push(format!("{what}: {status} {body}")),
            Err(_) => self.unanswered += 1,
        }
    }
}

/// One writer with its own HTTP client, until `stop`: creates a core token, sets its key twice, creates a PAT,
/// and records in `acked` what was acknowledged.
async fn writer(id: usize, base: String, stop: Arc<AtomicBool>, acked: Arc<Mutex<Acked>>) -> Tally {
    let client = http_client();
    let (ak, nb) = (bearer(ADMIN_KEY), token_auth(ADMIN_PAT));
    let mut tally = Tally::default();
    for n in 0.. {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let identifier = format!("w{id}-{n}");
        let body = json!({"identifier": identifier, "expiring": false});
        match send(&client, &base, Method::POST, "/api/v3/core/tokens/", &ak, Some(body)).await {
            Ok((201, _)) => acked.lock().unwrap().tokens.push(identifier.clone()),
            other => {
                tally.file(&format!("create {identifier}"), other, false);
                continue;
            }
        }
        for round in 0..2 {
            let key = format!("{identifier}-key{round}-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGH");
            let path = format!("/api/v3/core/tokens/{identifier}/set_key/");
            let answer = send(&client, &base, Method::POST, &path, &ak, Some(json!({"key": key}))).await;
            let mut acked = acked.lock().unwrap();
            match answer {
                Ok((204, _)) => {
                    let replaced = acked.keys.insert(identifier.clone(), vec![key.clone()]).unwrap_or_default();
                    acked.superseded.extend(replaced.into_iter().filter(|k| *k != key));
                }
                other => {
                    // In doubt only after an acknowledged key: before one, the created key (not known here)
                    // may still be in effect.
                    if let Some(candidates) = acked.keys.get_mut(&identifier) {
                        candidates.push(key);
                    }
                    tally.file(&format!("set_key {identifier}"), other, false);
                }
            }
        }
        let body = json!({"name": identifier, "expires_in": 30});
        match send(&client, &base, Method::POST, "/api/users/admin/tokens", &nb, Some(body)).await {
            Ok((200, created)) => match created["plain_token"].as_str() {
                Some(plain) => acked.lock().unwrap().pats.push(plain.to_string()),
                None => tally.unexpected.push(format!("PAT {identifier}: 200 {created}")),
            },
            other => tally.file(&format!("PAT {identifier}"), other, true),
        }
    }
    tally
}

/// Polls `probe` (every 50 ms) until it returns `Some`, or fails the test after `limit` naming `what`.
async fn poll<T, F: std::future::Future<Output = Option<T>>>(
    what: &str,
    limit: Duration,
    mut probe: impl FnMut() -> F,
) -> T {
    let start = Instant::now();
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(start.elapsed() < limit, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Every acknowledged write is there: each token exists, its key in effect authenticates (and no superseded
/// key does), each PAT authenticates.
async fn assert_acknowledged_writes_survive(base: &str, acked: &Acked) {
    let client = http_client();
    let ak = bearer(ADMIN_KEY);
    for identifier in &acked.tokens {
        let path = format!("/api/v3/core/tokens/{identifier}/");
        let (status, body) = send(&client, base, Method::GET, &path, &ak, None).await.expect("answer");
        assert_eq!(status, 200, "acknowledged token {identifier} is gone: {body}");
    }
    for (identifier, candidates) in &acked.keys {
        let mut working = Vec::new();
        for key in candidates {
            let (status, _) =
                send(&client, base, Method::GET, "/api/v3/core/tokens/", &bearer(key), None).await.expect("answer");
            if status == 200 {
                working.push(key);
            }
        }
        // Exactly one key is in effect; when the last set_key was acknowledged, it is that one.
        assert_eq!(working.len(), 1, "token {identifier}: keys {candidates:?}, authenticating {working:?}");
    }
    for key in &acked.superseded {
        let (status, _) =
            send(&client, base, Method::GET, "/api/v3/core/tokens/", &bearer(key), None).await.expect("answer");
        assert_eq!(status, 403, "a key replaced by an acknowledged set_key still authenticates: {key}");
    }
    for pat in &acked.pats {
        let (status, body) =
            send(&client, base, Method::GET, "/api/users/admin/tokens", &token_auth(pat), None).await.expect("answer");
        assert_eq!(status, 200, "an acknowledged PAT does not authenticate: {body}");
    }
}

/// `n` writers on `base`, the shared record of what they had acknowledged, and the flag that stops them.
struct Writers {
    stop: Arc<AtomicBool>,
    acked: Arc<Mutex<Acked>>,
    tasks: Vec<tokio::task::JoinHandle<Tally>>,
}

impl Writers {
    fn start(n: usize, base: &str) -> Writers {
        let stop = Arc::new(AtomicBool::new(false));
        let acked = Arc::new(Mutex::new(Acked::default()));
        let tasks = (0..n).map(|id| tokio::spawn(writer(id, base.to_string(), stop.clone(), acked.clone()))).collect();
        Writers { stop, acked, tasks }
    }

    /// Waits until the writers together had at least `tokens` token creations and `pats` PATs acknowledged.
    async fn wait_for(&self, tokens: usize, pats: usize) {
        let acked = &self.acked;
        poll(&format!("{tokens} tokens and {pats} PATs acknowledged"), Duration::from_secs(120), || async move {
            let acked = acked.lock().unwrap();
            (acked.tokens.len() >= tokens && acked.pats.len() >= pats).then_some(())
        })
        .await
    }

    fn counts(&self) -> (usize, usize) {
        let acked = self.acked.lock().unwrap();
        (acked.tokens.len(), acked.pats.len())
    }

    /// Stops the writers; returns what they had acknowledged and their tallies, summed.
    async fn finish(self) -> (Acked, Tally) {
        self.stop.store(true, Ordering::SeqCst);
        let mut total = Tally::default();
        for task in self.tasks {
            let tally = task.await.expect("a writer panicked");
            total.server_errors += tally.server_errors;
            total.unanswered += tally.unanswered;
            total.unexpected.extend(tally.unexpected);
        }
        let acked = std::mem::take(&mut *self.acked.lock().unwrap());
        (acked, total)
    }
}

/// A panic message in a server log (Rust's `thread … panicked at`, or Dropshot's `handler panicked`).
fn assert_no_panic_in(log: &Path) {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    assert!(!text.contains("panicked"), "the server panicked:\n{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_outage_is_upstream_shaped_5xx_and_recovers_keeping_acknowledged_writes() {
    let pg = PgCluster::start().unwrap();
    let url = pg.create_database("outage").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("server.log");
    let mut server = Binary::start_on(&url, &log).await;
    let base = server.base.clone();
    let client = http_client();
    let (ak, nb) = (bearer(ADMIN_KEY), token_auth(ADMIN_PAT));

    // Traffic: two writers (creates, key changes, PATs) while the main task reads.
    let writers = Writers::start(2, &base);
    writers.wait_for(10, 10).await;
    let (status, _) = send(&client, &base, Method::GET, "/api/v3/core/tokens/w0-0/", &ak, None).await.unwrap();
    assert_eq!(status, 200);

    // The outage: every store-backed answer is a 5xx in the operation's upstream shape; /readyz is 503.
    tokio::task::block_in_place(|| pg.stop()).unwrap();
    let outage = Instant::now();
    // PostgreSQL is down once `pg_ctl stop -w` returns, so the very next requests fail. Each waits for the pool's
    // acquire timeout: all at once.
    let create = json!({"identifier": "during-the-outage"});
    let pat = json!({"name": "during-the-outage", "expires_in": 1});
    let timed = |answer: Result<(u16, Value), reqwest::Error>, start: Instant| (answer.unwrap(), start.elapsed());
    let (ak_list, ak_create, nb_list, nb_create, (ready, ready_took)) = tokio::join!(
        async { send(&client, &base, Method::GET, "/api/v3/core/tokens/", &ak, None).await.unwrap() },
        async { send(&client, &base, Method::POST, "/api/v3/core/tokens/", &ak, Some(create)).await.unwrap() },
        async { send(&client, &base, Method::GET, "/api/users/admin/tokens", &nb, None).await.unwrap() },
        async { send(&client, &base, Method::POST, "/api/users/admin/tokens", &nb, Some(pat)).await.unwrap() },
        async {
            let start = Instant::now();
            timed(send(&client, &base, Method::GET, "/readyz", "", None).await, start)
        },
    );
    for (what, (status, body)) in [("authentik list", ak_list), ("authentik create", ak_create)] {
        assert!((500..600).contains(&status) && is_authentik_error(&body), "{what}: {status} {body}");
    }
    for (what, (status, body)) in [("NetBird list", nb_list), ("NetBird create", nb_create)] {
        assert!((500..600).contains(&status) && is_netbird_error(&body, status), "{what}: {status} {body}");
    }
    let (status, body) = ready;
    assert_eq!(status, 503, "/readyz in the outage: {body}");
    assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
    let (status, _) = send(&client, &base, Method::GET, "/healthz", "", None).await.unwrap();
    assert_eq!(status, 200, "the process is alive and serving");
    assert!(server.child.try_wait().unwrap().is_none(), "the server exited in the outage");
    let outage_seen = outage.elapsed();

    // PostgreSQL returns: the server is ready again within seconds, with no restart of its own.
    tokio::task::block_in_place(|| pg.start_again()).unwrap();
    let back = Instant::now();
    poll("ready and serving after PostgreSQL's return", Duration::from_secs(10), || async {
        let ready = send(&client, &base, Method::GET, "/readyz", "", None).await.ok()?.0 == 200;
        let listed = send(&client, &base, Method::GET, "/api/v3/core/tokens/", &ak, None).await.ok()?.0 == 200;
        let pats = send(&client, &base, Method::GET, "/api/users/admin/tokens", &nb, None).await.ok()?.0 == 200;
        (ready && listed && pats).then_some(())
    })
    .await;
    let recovery = back.elapsed();
    // The writers write again: more acknowledgements after the return.
    let (tokens, pats) = writers.counts();
    writers.wait_for(tokens + 3, pats + 3).await;

    let (acked, tally) = writers.finish().await;
    assert!(tally.unexpected.is_empty(), "answers that are neither acknowledgements nor shaped 5xx: {tally:?}");
    assert!(tally.server_errors + tally.unanswered > 0, "the writers never saw the outage: {tally:?}");
    assert_acknowledged_writes_survive(&base, &acked).await;
    let (status, _) =
        send(&client, &base, Method::GET, "/api/v3/core/tokens/during-the-outage/", &ak, None).await.unwrap();
    assert_eq!(status, 404, "a create answered 5xx was not written");
    assert!(server.child.try_wait().unwrap().is_none(), "the server exited");
    assert_no_panic_in(&log);
    eprintln!(
        "outage: the checks took {outage_seen:?} (/readyz answered 503 after {ready_took:?}), recovery {recovery:?}; acknowledged {} tokens, {} PATs; \
         {} shaped 5xx and {} unanswered writer requests",
        acked.tokens.len(),
        acked.pats.len(),
        tally.server_errors,
        tally.unanswered
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_keeps_every_acknowledged_concurrent_write_across_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("tokenstack.db");
    let log = dir.path().join("first.log");

    let first = Binary::start(&db, &log).await;
    let writers = Writers::start(8, &first.base);
    writers.wait_for(40, 40).await;
    // SIGKILL mid-stream: the eight writers have requests in flight.
    first.kill_9();
    let (acked, tally) = writers.finish().await;
    assert!(tally.unexpected.is_empty(), "answers that are neither acknowledgements nor errors: {tally:?}");
    assert!(tally.unanswered > 0, "no request was in flight at the kill: {tally:?}");
    assert_no_panic_in(&log);

    let second = Binary::start(&db, &dir.path().join("second.log")).await;
    assert_acknowledged_writes_survive(&second.base, &acked).await;

    let options = sqlx::sqlite::SqliteConnectOptions::new().filename(&db).read_only(true);
    let mut conn = sqlx::SqliteConnection::connect_with(&options).await.expect("open the database");
    let integrity: Vec<String> =
        sqlx::query_scalar("PRAGMA integrity_check").fetch_all(&mut conn).await.expect("integrity_check");
    assert_eq!(integrity, ["ok"]);
    conn.close().await.ok();
    drop(second);
    eprintln!(
        "kill -9: acknowledged {} tokens, {} keys, {} PATs; {} requests unanswered",
        acked.tokens.len(),
        acked.keys.len(),
        acked.pats.len(),
        tally.unanswered
    );
}

/// A login through the flow executor of `base` as akadmin (`--bootstrap-password`); the session cookie.
async fn executor_login(http: &reqwest::Client, base: &str, password: &str) -> String {
    let url = format!("{base}/api/v3/flows/executor/default-authentication-flow/?query=");
    let first = http.get(&url).send().await.expect("identification");
    let mut cookie = session_cookie(&first).expect("a new session");
    for answer in [json!({"uid_field": "akadmin"}), json!({"password": password})] {
        let response = http
            .post(&url)
            .header("cookie", format!("authentik_session={cookie}"))
            .json(&answer)
            .send()
            .await
            .expect("a stage");
        assert_eq!(response.status(), 302, "the stage passed");
        if let Some(new) = session_cookie(&response) {
            cookie = new;
        }
    }
    let done = http.get(&url).header("cookie", format!("authentik_session={cookie}")).send().await.expect("login");
    let cookie = session_cookie(&done).expect("the login's new session key");
    assert_eq!(done.json::<Value>().await.expect("json"), json!({"component": "xak-flow-redirect", "to": "/if/user/"}));
    cookie
}

fn session_cookie(response: &reqwest::Response) -> Option<String> {
    let values = response.headers().get_all("set-cookie");
    let value = values.iter().filter_map(|v| v.to_str().ok()).find_map(|v| v.strip_prefix("authentik_session="))?;
    value.split(';').next().map(str::to_owned)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_replicas_share_sessions() {
    let pg = PgCluster::start().unwrap();
    let url = pg.create_database("sessions").unwrap();
    let mut config = replica_config(&url);
    config.bootstrap_password = Some("replica-password".to_owned().into());
    let (a, b) = tokio::join!(tokenstack_server::start(&config), tokenstack_server::start(&config));
    let (a, b) = (a.expect("replica A starts"), b.expect("replica B starts"));
    let (base_a, base_b) = (format!("http://{}", a.server.local_addr()), format!("http://{}", b.server.local_addr()));
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");

    // Logged in through A: the session authenticates through B at once.
    let cookie = executor_login(&http, &base_a, "replica-password").await;
    let me = |base: String| {
        http.get(format!("{base}/api/v3/core/users/me/")).header("cookie", format!("authentik_session={cookie}")).send()
    };
    let through_b = me(base_b.clone()).await.expect("me");
    assert_eq!(through_b.status(), 200);
    assert_eq!(through_b.json::<Value>().await.expect("json")["user"]["username"], "akadmin");

    // Logged out through B (the invalidation flow): the session is gone on A too.
    let logout = http
        .get(format!("{base_b}/if/flow/default-invalidation-flow/"))
        .header("cookie", format!("authentik_session={cookie}"))
        .send()
        .await
        .expect("logout");
    assert_eq!(logout.status(), 302);
    let through_a = me(base_a.clone()).await.expect("me");
    assert_eq!(through_a.status(), 403, "the session ended on every replica");

    // Logged in through A again, ended through B's sessions API: gone on A too.
    let cookie = executor_login(&http, &base_a, "replica-password").await;
    let sessions = format!("{base_b}/api/v3/core/authenticated_sessions/");
    let listed: Value =
        http.get(&sessions).bearer_auth(ADMIN_KEY).send().await.expect("list").json().await.expect("json");
    assert_eq!(listed["pagination"]["count"], 1, "{listed}");
    let uuid = listed["results"][0]["uuid"].as_str().expect("uuid").to_owned();
    let ended = http.delete(format!("{sessions}{uuid}/")).bearer_auth(ADMIN_KEY).send().await.expect("destroy");
    assert_eq!(ended.status(), 204);
    let through_a = http
        .get(format!("{base_a}/api/v3/core/users/me/"))
        .header("cookie", format!("authentik_session={cookie}"))
        .send()
        .await
        .expect("me");
    assert_eq!(through_a.status(), 403, "a session ended through one replica's API is over on every replica");
    a.server.close().await.expect("A stops");
    b.server.close().await.expect("B stops");
}
