//! Fills a store for `cargo xtask bench` before the real `tokenstack` binary starts on it: `--tokens N` core
//! tokens (100 per authentik user) and `--pats M` (default N) NetBird PATs (100 per NetBird user), with the
//! users they belong to, written through the store library (`Store::import`, one transaction).
//!
//! `--store sqlite:…` or `postgres://…` writes that database; `--store memory --seed-out FILE` writes the same
//! rows as a seed document (JSON, which the `--seed` YAML loader reads) instead. Prints one `READY {json}` line:
//! what the load scenarios aim at (a token identifier and a username in the middle of the data) and the load time.

use std::time::Instant;

use chrono::{TimeDelta, Utc};
use tokenstack_server::model::{AkUser, CoreToken, Intent, NbRole, NbUser, Pat};
use tokenstack_server::secrets::Secret;
use tokenstack_server::seed::SeedFile;
use tokenstack_server::store::Snapshot;
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
    let url = tokenstack_bench::arg("--store").ok_or_else(|| anyhow::anyhow!("--store URL is required"))?;
    let snapshot = snapshot(n, pats);
    let users = snapshot.ak_users.len() - 1;
    if url == "memory" {
        let path = tokenstack_bench::arg("--seed-out").ok_or_else(|| anyhow::anyhow!("--seed-out FILE is required"))?;
        let seed = SeedFile::from_snapshot(snapshot)?;
        let file = std::io::BufWriter::new(std::fs::File::create(&path)?);
        serde_json::to_writer(file, &seed)?;
    } else {
        let store = tokenstack_server::store::open(&url).await?;
        store.import(snapshot).await?;
        store.close().await;
    }
    tokenstack_bench::ready(&serde_json::json!({
        "tokens": n,
        "pats": pats,
        "identifier": format!("bench-{:07}", n / 2),
        "set_key_identifier": format!("bench-{:07}", n / 3),
        "username": format!("bench-user-{}", users / 2),
        "load_ms": started.elapsed().as_secs_f64() * 1000.0,
    }));
    Ok(())
}

/// `akadmin`, the NetBird owner `admin` (so that the binary's bootstrap finds both and adds only its key and
/// PAT), the bench users, their core tokens and PATs.
fn snapshot(n: usize, pats: usize) -> Snapshot {
    let now = chrono::SubsecRound::trunc_subsecs(Utc::now(), 6);
    let users = n.max(pats).div_ceil(PER_USER).max(1);
    let mut snapshot = Snapshot::default();
    let mut admin = ak_user(0, now);
    admin.pk = 1;
    admin.username = "akadmin".into();
    admin.is_superuser = true;
    snapshot.ak_users.push(admin);
    snapshot.ak_users.extend((0..users).map(|u| ak_user(u, now)));
    snapshot.nb_users.push(NbUser::new("admin", "default", NbRole::Owner));
    snapshot.nb_users.extend((0..users).map(|u| NbUser::new(format!("bench-nb-{u}"), "default", NbRole::User)));
    let pk_seed = Uuid::new_v4().as_u128();
    snapshot.core_tokens = (0..n)
        .map(|i| CoreToken {
            pk: Uuid::from_u128(pk_seed ^ i as u128),
            identifier: format!("bench-{i:07}"),
            key: Secret::new(format!("benchkey{i:052}")),
            intent: Intent::Api,
            user: FIRST_USER_PK + (i / PER_USER) as i64,
            description: "bench token".into(),
            // Far enough that no run of the bench meets the expiry sweep.
            expires: Some(now + TimeDelta::days(30)),
            expiring: true,
            managed: None,
            key_viewers: Vec::new(),
        })
        .collect();
    snapshot.pats = (0..pats)
        .map(|i| {
            let user = format!("bench-nb-{}", i / PER_USER);
            Pat {
                id: format!("bp{i:018}"),
                user_id: user.clone(),
                name: "bench".into(),
                // Unique, base64(sha256)-sized; hashing a million PATs would only slow the load.
                hashed_token: format!("{i:043}="),
                expiration_date: now + TimeDelta::days(365),
                created_by: user,
                created_at: now,
                last_used: None,
            }
        })
        .collect();
    snapshot
}

fn ak_user(u: usize, now: chrono::DateTime<Utc>) -> AkUser {
    AkUser {
        name: format!("Bench User {u}"),
        email: format!("bench-user-{u}@example.com"),
        ..AkUser::new(FIRST_USER_PK + u as i64, format!("bench-user-{u}"), now)
    }
}
