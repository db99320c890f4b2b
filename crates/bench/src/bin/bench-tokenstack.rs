//! tokenstack on a memory store bulk-loaded through the `Store` trait: `--tokens N` core tokens
//! (100 per authentik user) imported as a seed file is, then `--pats M` (default N) NetBird PATs
//! (100 per NetBird user) inserted one by one, then the real server (`start_with_store`).
//!
//! `READY` reports the address, the credentials to load it with, the start-up time and the resident
//! set size after each loading step.

use std::sync::Arc;
use std::time::Instant;

use chrono::{TimeDelta, Utc};
use tokenstack_server::config::Config;
use tokenstack_server::model::{AkUser, CoreToken, Intent, NbRole, NbUser, Pat};
use tokenstack_server::secrets::{Secret, generate_key, generate_pat};
use tokenstack_server::store::{MemoryStore, Snapshot, Store};
use uuid::Uuid;

/// Tokens (and PATs) per user.
const PER_USER: usize = 100;
/// pk of the first bench authentik user.
const FIRST_USER_PK: i64 = 1000;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let started = Instant::now();
    let n: usize = tokenstack_bench::arg("--tokens").unwrap_or_else(|| "1000".into()).parse()?;
    let pats: usize = match tokenstack_bench::arg("--pats") {
        Some(m) => m.parse()?,
        None => n,
    };
    let level = tokenstack_bench::arg("--log-level").unwrap_or_else(|| "warn".into());
    let bind = tokenstack_bench::bind()?;
    let rss_start = tokenstack_bench::rss_bytes();
    let store = Arc::new(MemoryStore::new());
    let now = Utc::now().trunc_subsecs_micros();
    let key = generate_key();
    let pat = generate_pat().0;

    // Users first (with `akadmin` and the NetBird owner, so that the bootstrap in `start` finds them
    // and never exports a million rows), then the core tokens as one snapshot, as `--seed` loads.
    let users = n.max(pats).div_ceil(PER_USER).max(1);
    let mut snapshot = Snapshot::default();
    let mut admin = ak_user(0, now);
    admin.pk = 1;
    admin.username = "akadmin".into();
    admin.is_superuser = true;
    snapshot.ak_users.push(admin);
    snapshot.ak_users.extend((0..users).map(|u| ak_user(u, now)));
    snapshot.nb_users.push(nb_user("admin", NbRole::Owner));
    snapshot.nb_users.extend((0..users).map(|u| nb_user(&format!("bench-nb-{u}"), NbRole::User)));
    store.import(snapshot.clone()).await?;
    let rss_users = tokenstack_bench::rss_bytes();
    let pk_seed = Uuid::new_v4().as_u128();
    snapshot.core_tokens.reserve(n);
    for i in 0..n {
        snapshot.core_tokens.push(CoreToken {
            pk: Uuid::from_u128(pk_seed ^ i as u128),
            identifier: format!("bench-{i:07}"),
            key: Secret::new(format!("benchkey{i:052}")),
            intent: Intent::Api,
            user: FIRST_USER_PK + (i / PER_USER) as i64,
            description: "bench token".into(),
            expires: Some(now + TimeDelta::days(1)),
            expiring: true,
            managed: None,
            key_viewers: Vec::new(),
        });
    }
    store.import(snapshot).await?;
    let rss_core = tokenstack_bench::rss_bytes();
    let core_loaded = started.elapsed();
    for i in 0..pats {
        let user = format!("bench-nb-{}", i / PER_USER);
        store
            .insert_pat(Pat {
                id: format!("bp{i:018}"),
                user_id: user.clone(),
                name: "bench".into(),
                // Unique, base64(sha256)-sized; hashing a million PATs would only slow the start.
                hashed_token: format!("{i:043}="),
                expiration_date: now + TimeDelta::days(365),
                created_by: user,
                created_at: now,
                last_used: None,
            })
            .await?;
    }
    let rss_pats = tokenstack_bench::rss_bytes();
    let pats_loaded = started.elapsed();

    let config = <Config as clap::Parser>::try_parse_from([
        "tokenstack",
        "--bind",
        &bind.to_string(),
        "--log-level",
        &level,
        "--bootstrap-token",
        &key,
        "--bootstrap-pat",
        &pat,
    ])?;
    let running = tokenstack_server::start_with_store(&config, store).await?;
    let startup = started.elapsed();
    tokenstack_bench::ready(&serde_json::json!({
        "addr": running.server.local_addr().to_string(),
        "tokens": n,
        "pats": pats,
        "key": key,
        "pat": pat,
        "nb_user": "admin",
        "identifier": format!("bench-{:07}", n / 2),
        "username": format!("bench-user-{}", users / 2),
        "startup_ms": startup.as_secs_f64() * 1000.0,
        "core_loaded_ms": core_loaded.as_secs_f64() * 1000.0,
        "pats_loaded_ms": pats_loaded.as_secs_f64() * 1000.0,
        "rss_start": rss_start,
        "rss_users": rss_users,
        "rss_core": rss_core,
        "rss_pats": rss_pats,
    }));
    running.server.await.map_err(anyhow::Error::msg)
}

trait TruncMicros {
    fn trunc_subsecs_micros(self) -> Self;
}

impl TruncMicros for chrono::DateTime<Utc> {
    fn trunc_subsecs_micros(self) -> Self {
        chrono::SubsecRound::trunc_subsecs(self, 6)
    }
}

fn ak_user(u: usize, now: chrono::DateTime<Utc>) -> AkUser {
    AkUser {
        name: format!("Bench User {u}"),
        email: format!("bench-user-{u}@example.com"),
        ..AkUser::new(FIRST_USER_PK + u as i64, format!("bench-user-{u}"), now)
    }
}

fn nb_user(id: &str, role: NbRole) -> NbUser {
    NbUser::new(id, "default", role)
}
