//! tokenstack-bench: the servers `cargo xtask bench` loads with wrk (not part of the product).
//!
//! * `bench-hyper`: bare hyper 1.x answering every request with the same Token JSON bytes (the physical limit);
//! * `bench-dropshot`: one Dropshot 0.18 endpoint serializing a Token from a `HashMap` (the framework's floor);
//! * `bench-tokenstack`: tokenstack on a memory store bulk-loaded with N core tokens and N PATs.
//!
//! Every binary prints one `READY {json}` line on stdout once it serves, then runs until killed.

use std::net::SocketAddr;

use chrono::{DateTime, TimeDelta, Utc};
use tokenstack_server::model::{AkUser, CoreToken, Intent, NbRole, NbUser, Pat};
use tokenstack_server::secrets::Secret;
use tokenstack_server::store::Snapshot;
use uuid::Uuid;

/// Reads `--name value` from the command line.
pub fn arg(name: &str) -> Option<String> {
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == name {
            return args.next();
        }
    }
    None
}

/// `--tokens N` (default 1000) and `--pats M` (default N): how many core tokens and PATs a bench store holds.
pub fn sizes() -> anyhow::Result<(usize, usize)> {
    let n: usize = arg("--tokens").unwrap_or_else(|| "1000".into()).parse()?;
    let pats = match arg("--pats") {
        Some(m) => m.parse()?,
        None => n,
    };
    Ok((n, pats))
}

/// `--bind`, default `127.0.0.1:0`.
pub fn bind() -> anyhow::Result<SocketAddr> {
    Ok(arg("--bind").unwrap_or_else(|| "127.0.0.1:0".into()).parse()?)
}

/// The resident set size of this process in bytes (`VmRSS` of `/proc/self/status`).
pub fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

/// Prints the `READY` line the driver waits for.
pub fn ready(info: &serde_json::Value) {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    // The driver reads this line through a pipe; a failed write means it is gone.
    let _ = writeln!(out, "READY {info}");
    let _ = out.flush();
}

/// Tokens (and PATs) per bench user.
pub const PER_USER: usize = 100;
/// pk of the first bench authentik user.
pub const FIRST_USER_PK: i64 = 1000;

/// The users of a bench store with `n` core tokens and `pats` PATs: `akadmin` and the NetBird owner `admin` (so
/// that the binary's bootstrap finds both and adds only its key and PAT), then one authentik and one NetBird bench
/// user per [`PER_USER`] rows.
pub fn users(n: usize, pats: usize, now: DateTime<Utc>) -> Snapshot {
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
    snapshot
}

/// Core token `i` (`bench-000000i`, key `benchkey…i`) of bench user `i / PER_USER`, expiring at `expires`.
pub fn core_token(i: usize, pk_seed: u128, expires: DateTime<Utc>) -> CoreToken {
    CoreToken {
        pk: Uuid::from_u128(pk_seed ^ i as u128),
        identifier: format!("bench-{i:07}"),
        key: Secret::new(format!("benchkey{i:052}")),
        intent: Intent::Api,
        user: FIRST_USER_PK + (i / PER_USER) as i64,
        description: "bench token".into(),
        expires: Some(expires),
        expiring: true,
        managed: None,
        key_viewers: Vec::new(),
    }
}

/// PAT `i` of NetBird bench user `i / PER_USER`, stored by a unique, base64(sha256)-sized stand-in hash (hashing a
/// million PATs would only slow the load).
pub fn pat(i: usize, now: DateTime<Utc>) -> Pat {
    let user = format!("bench-nb-{}", i / PER_USER);
    Pat {
        id: format!("bp{i:018}"),
        user_id: user.clone(),
        name: "bench".into(),
        hashed_token: format!("{i:043}="),
        expiration_date: now + TimeDelta::days(365),
        created_by: user,
        created_at: now,
        last_used: None,
    }
}

fn ak_user(u: usize, now: DateTime<Utc>) -> AkUser {
    AkUser {
        name: format!("Bench User {u}"),
        email: format!("bench-user-{u}@example.com"),
        ..AkUser::new(FIRST_USER_PK + u as i64, format!("bench-user-{u}"), now)
    }
}
