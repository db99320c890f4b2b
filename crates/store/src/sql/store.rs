//! The `Store` implementation of both SQL backends, written once over a [`Driver`]: every method is one
//! statement on the reader or writer pool, or (export, import, counts, ping) a transaction of the driver's.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Transaction;
use uuid::Uuid;

use crate::model::{AuthorizationCode, CoreToken, OAuthKind, OAuthToken, Pat};
use crate::pagination::Slice;
use crate::query::Listing;
use crate::resource::{ErasedColumn, Field, Key, Row, Table};
use crate::secrets::Secret;
use crate::sql::cache::{Change, Lookup};
use crate::sql::driver::{Driver, Execute, On, SqlRow};
use crate::sql::listing::SqlListing;
use crate::sql::rows::{
    code_from_row, core_from_row, insert_code, insert_core, insert_oauth, insert_pat, oauth_from_row, pat_from_row,
    replace_core,
};
use crate::sql::uses::{MAX_PENDING_USES, flush_pat_uses};
use crate::sql::{
    self, CODE_COLUMNS, CORE_COLUMNS, CORE_FROM, OAUTH_COLUMNS, OAUTH_FROM, PAT_COLUMNS, Sql, db_err, micros,
    micros_ceil, resources, trunc,
};
use crate::{CoreTokenQuery, ExpireAction, OAuthQuery, Snapshot, Store, StoreError, TokenCounts};

/// A result row of `D`'s database.
type RowOf<D> = <<D as Driver>::Db as sqlx::Database>::Row;

/// The row `sql` selects on the reader, `NotFound` when there is none.
async fn read_one<D: Driver>(store: &D, sql: Sql) -> Result<RowOf<D>, StoreError> {
    store.read().fetch_optional(&sql).await?.ok_or(StoreError::NotFound)
}

/// Runs the write `sql` on the writer, `NotFound` when it changed no row.
async fn write_one<D: Driver>(store: &D, sql: Sql) -> Result<(), StoreError> {
    if store.write_statement(sql).await? == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// One page of a listing and the total it counts: from the page's `total` column, or by the count query when
/// the page is empty.
async fn list<D: Driver, T>(
    store: &D,
    listing: SqlListing,
    decode: impl Fn(&RowOf<D>) -> Result<T, StoreError>,
) -> Result<Slice<T>, StoreError> {
    let rows = store.read().fetch_all(&listing.page).await?;
    let total = match rows.first() {
        Some(row) => row.int("total")?,
        None => store.read().fetch_one(&listing.count).await?.int_at(0)?,
    };
    let items = rows.iter().map(decode).collect::<Result<Vec<T>, _>>()?;
    Ok(Slice { total: u64::try_from(total).unwrap_or(0), items })
}

/// Forgets what `change` names in this process's cache, after a write that may have changed it (whatever the
/// write's outcome). With a lease (PostgreSQL), also waits out the lease window, so that no replica answers from a
/// cache that has not applied the write's notification once the caller acknowledges it (see `cache::Lease`).
pub(crate) async fn invalidated<D: Driver>(store: &D, change: Change) {
    store.cache().invalidate(&change);
    if let Some(lease) = store.cache().lease() {
        tokio::time::sleep(lease.window()).await;
    }
}

/// Every row the query `text` returns in `tx`, decoded.
async fn all<DB: Execute, T>(
    tx: &mut Transaction<'_, DB>,
    text: String,
    decode: impl Fn(&DB::Row) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    On::tx(tx).fetch_all(&Sql::new(text)).await?.iter().map(decode).collect()
}

/// Replaces the whole state in one write transaction: on any error it rolls back (dropped uncommitted).
/// Authorization codes are not in the snapshot: they all go.
async fn import<D: Driver>(store: &D, snapshot: Snapshot) -> Result<(), StoreError> {
    store
        .write_tx(move |conn| {
            Box::pin(async move {
                for table in [
                    "ak_device_tokens",
                    "nb_accounts",
                    "nb_peers",
                    "ak_user_consents",
                    "ak_sessions",
                    "nb_setup_keys",
                    "nb_groups",
                    "pats",
                    "nb_users",
                    "authorization_codes",
                    "oauth_tokens",
                    "core_tokens",
                    "applications",
                    "providers",
                    "ak_users",
                    "key_pairs",
                    "scope_mappings",
                    "ak_groups",
                ] {
                    On::<D::Db>::Tx(&mut *conn).execute(&Sql::new(format!("DELETE FROM {table}"))).await?;
                }
                resources::import::<D::Db, _>(&mut *conn, &snapshot.ak_users).await?;
                resources::import::<D::Db, _>(&mut *conn, &snapshot.providers).await?;
                resources::import::<D::Db, _>(&mut *conn, &snapshot.applications).await?;
                for token in snapshot.core_tokens {
                    On::<D::Db>::Tx(&mut *conn).execute(&insert_core(&sql::stored_core(token))?).await?;
                }
                for token in snapshot.oauth_tokens {
                    On::<D::Db>::Tx(&mut *conn).execute(&insert_oauth(&sql::stored_oauth(token))?).await?;
                }
                resources::import::<D::Db, _>(&mut *conn, &snapshot.nb_users).await?;
                for pat in snapshot.pats {
                    On::<D::Db>::Tx(&mut *conn).execute(&insert_pat(&sql::stored_pat(pat))?).await?;
                }
                resources::import::<D::Db, _>(&mut *conn, &snapshot.key_pairs).await?;
                resources::import::<D::Db, _>(&mut *conn, &snapshot.nb_groups).await?;
                resources::import::<D::Db, _>(&mut *conn, &snapshot.scope_mappings).await?;
                resources::import::<D::Db, _>(&mut *conn, &snapshot.nb_setup_keys).await?;
                resources::import::<D::Db, _>(&mut *conn, &snapshot.nb_peers).await?;
                resources::import::<D::Db, _>(&mut *conn, &snapshot.nb_accounts).await?;
                resources::import::<D::Db, _>(&mut *conn, &snapshot.ak_sessions).await?;
                resources::import::<D::Db, _>(&mut *conn, &snapshot.ak_user_consents).await?;
                resources::import::<D::Db, _>(&mut *conn, &snapshot.ak_groups).await?;
                resources::import::<D::Db, _>(&mut *conn, &snapshot.ak_device_tokens).await?;
                Ok(())
            })
        })
        .await
}

#[async_trait]
impl<D: Driver> Store for D {
    async fn insert_row(&self, row: Row, allocate: bool) -> Result<Row, StoreError> {
        resources::insert_row(self, row, allocate).await
    }

    async fn row(&self, table: &'static Table, field: Field, key: Key) -> Result<Row, StoreError> {
        resources::row(self, table, field, key).await
    }

    async fn rows(&self, table: &'static Table, listing: &Listing<ErasedColumn>) -> Result<Slice<Row>, StoreError> {
        resources::rows(self, table, listing).await
    }

    async fn replace_row(&self, row: Row) -> Result<(), StoreError> {
        resources::replace_row(self, row).await
    }

    async fn delete_row(&self, table: &'static Table, pk: Key) -> Result<(), StoreError> {
        resources::delete_row(self, table, pk).await
    }

    async fn insert_core_token(&self, token: CoreToken) -> Result<CoreToken, StoreError> {
        let token = sql::stored_core(token);
        self.write_statement(insert_core(&token)?).await?;
        Ok(token)
    }

    async fn core_token(&self, identifier: &str) -> Result<CoreToken, StoreError> {
        let ticket = match self.cache().core_token(identifier) {
            Lookup::Hit(token) => return Ok(CoreToken::clone(&token)),
            Lookup::Miss(ticket) => ticket,
        };
        let sql = Sql::new(format!("SELECT {CORE_COLUMNS} FROM core_tokens t WHERE t.identifier = $1")).arg(identifier);
        let token = core_from_row(&read_one(self, sql).await?)?;
        self.cache().fill_core_token(ticket, &token);
        Ok(token)
    }

    async fn core_token_by_key(&self, key: &str) -> Result<CoreToken, StoreError> {
        let ticket = match self.cache().core_token_by_key(key) {
            Lookup::Hit(token) => return Ok(CoreToken::clone(&token)),
            Lookup::Miss(ticket) => ticket,
        };
        let sql = Sql::new(format!("SELECT {CORE_COLUMNS} FROM core_tokens t WHERE t.token_key = $1")).arg(key);
        let token = core_from_row(&read_one(self, sql).await?)?;
        self.cache().fill_core_token(ticket, &token);
        Ok(token)
    }

    async fn list_core_tokens(&self, query: &CoreTokenQuery) -> Result<Slice<CoreToken>, StoreError> {
        list(self, query.listing().to_sql(D::POSITION_FN, CORE_COLUMNS, CORE_FROM), core_from_row).await
    }

    async fn replace_core_token(&self, pk: Uuid, token: CoreToken) -> Result<CoreToken, StoreError> {
        let token = CoreToken { pk, ..sql::stored_core(token) };
        let done = write_one(self, replace_core(&token)?).await;
        invalidated(self, Change::CoreToken(pk)).await;
        done.map(|()| token)
    }

    async fn delete_core_token(&self, pk: Uuid) -> Result<(), StoreError> {
        let done = write_one(self, Sql::new("DELETE FROM core_tokens WHERE pk = $1").arg(pk.to_string())).await;
        invalidated(self, Change::CoreToken(pk)).await;
        done
    }

    async fn set_core_token_key(&self, pk: Uuid, key: Secret) -> Result<(), StoreError> {
        let sql = Sql::new("UPDATE core_tokens SET token_key = $1 WHERE pk = $2");
        let done = write_one(self, sql.arg(key.expose()).arg(pk.to_string())).await;
        invalidated(self, Change::CoreToken(pk)).await;
        done
    }

    async fn expired_core_tokens(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<CoreToken>, StoreError> {
        let sql = Sql::new(format!(
            "SELECT {CORE_COLUMNS} FROM core_tokens t WHERE t.expiring AND t.expires IS NOT NULL \
             AND t.expires < $1 ORDER BY t.identifier LIMIT $2",
        ))
        .arg(micros_ceil(now))
        .arg(i64::try_from(limit).unwrap_or(i64::MAX));
        self.read().fetch_all(&sql).await?.iter().map(core_from_row).collect()
    }

    async fn expire_core_token(&self, pk: Uuid, now: DateTime<Utc>, action: ExpireAction) -> Result<bool, StoreError> {
        const STILL_EXPIRED: &str = "t.pk = $1 AND t.expiring AND t.expires IS NOT NULL AND t.expires < $2";
        let sql = match action {
            ExpireAction::Rotate { key, expires } => {
                Sql::new(format!("UPDATE core_tokens AS t SET token_key = $3, expires = $4 WHERE {STILL_EXPIRED}"))
                    .arg(pk.to_string())
                    .arg(micros_ceil(now))
                    .arg(key.expose())
                    .arg(micros(trunc(expires)))
            }
            ExpireAction::Delete => Sql::new(format!("DELETE FROM core_tokens AS t WHERE {STILL_EXPIRED}"))
                .arg(pk.to_string())
                .arg(micros_ceil(now)),
        };
        let done = self.write_statement(sql).await;
        // No wait for the lease: an expired token authenticates nowhere already, and its new key is in no cache.
        self.cache().invalidate(&Change::CoreToken(pk));
        Ok(done? == 1)
    }

    async fn insert_oauth_token(&self, token: OAuthToken, allocate: bool) -> Result<OAuthToken, StoreError> {
        let token = sql::stored_oauth(token);
        if !allocate {
            self.write_statement(insert_oauth(&token)?).await?;
            return Ok(token);
        }
        let inserted = token.clone();
        let pk = resources::allocating(self, move || {
            let mut sql = insert_oauth(&inserted)?;
            // The pk (`$2`) is made in the statement: one more than the highest of the token's kind (`$1`).
            sql.text =
                sql.text.replacen("$2", "(SELECT coalesce(max(pk), 0) + 1 FROM oauth_tokens WHERE kind = $1)", 1)
                    + " RETURNING pk";
            Ok(sql)
        })
        .await?;
        Ok(OAuthToken { pk, ..token })
    }

    async fn oauth_token(&self, kind: OAuthKind, pk: i64) -> Result<OAuthToken, StoreError> {
        let sql = Sql::new(format!("SELECT {OAUTH_COLUMNS} FROM oauth_tokens o WHERE o.kind = $1 AND o.pk = $2"));
        oauth_from_row(&read_one(self, sql.arg(kind.as_str()).arg(pk)).await?)
    }

    async fn list_oauth_tokens(&self, query: &OAuthQuery) -> Result<Slice<OAuthToken>, StoreError> {
        list(self, query.listing().to_sql(D::POSITION_FN, OAUTH_COLUMNS, OAUTH_FROM), oauth_from_row).await
    }

    async fn delete_oauth_token(&self, kind: OAuthKind, pk: i64) -> Result<(), StoreError> {
        let sql = Sql::new("DELETE FROM oauth_tokens WHERE kind = $1 AND pk = $2").arg(kind.as_str()).arg(pk);
        write_one(self, sql).await
    }

    async fn oauth_token_by_token(&self, kind: OAuthKind, token: &str) -> Result<OAuthToken, StoreError> {
        // Values are not unique (upstream's `TextField`): the lowest pk answers, as in the memory store.
        let sql = Sql::new(format!(
            "SELECT {OAUTH_COLUMNS} FROM oauth_tokens o WHERE o.kind = $1 AND o.token = $2 ORDER BY o.pk LIMIT 1"
        ));
        oauth_from_row(&read_one(self, sql.arg(kind.as_str()).arg(token)).await?)
    }

    async fn revoke_oauth_token(&self, kind: OAuthKind, pk: i64) -> Result<(), StoreError> {
        // OAuth2 tokens are in no cache (`cache.rs`): nothing to invalidate.
        let sql = Sql::new("UPDATE oauth_tokens SET revoked = $1 WHERE kind = $2 AND pk = $3");
        write_one(self, sql.arg(true).arg(kind.as_str()).arg(pk)).await
    }

    async fn insert_authorization_code(&self, code: AuthorizationCode) -> Result<(), StoreError> {
        self.write_statement(insert_code(&sql::stored_code(code))?).await?;
        Ok(())
    }

    async fn take_authorization_code(&self, code: &str) -> Result<AuthorizationCode, StoreError> {
        // One statement on the writer, never a cache: a concurrent take of the same code finds no row.
        let sql =
            Sql::new(format!("DELETE FROM authorization_codes WHERE code = $1 RETURNING {CODE_COLUMNS}")).arg(code);
        self.write_tx(move |conn| {
            Box::pin(async move {
                let row = On::<D::Db>::Tx(&mut *conn).fetch_optional(&sql).await?.ok_or(StoreError::NotFound)?;
                code_from_row(&row)
            })
        })
        .await
    }

    async fn insert_pat(&self, pat: Pat) -> Result<(), StoreError> {
        self.write_statement(insert_pat(&sql::stored_pat(pat))?).await?;
        Ok(())
    }

    async fn pat_by_hash(&self, hashed_token: &str) -> Result<Pat, StoreError> {
        let ticket = match self.cache().pat_by_hash(hashed_token) {
            Lookup::Hit(pat) => return Ok(Pat::clone(&pat)),
            Lookup::Miss(ticket) => ticket,
        };
        let sql = Sql::new(format!("SELECT {PAT_COLUMNS} FROM pats WHERE hashed_token = $1")).arg(hashed_token);
        let pat = self.cache().with_pending_use(pat_from_row(&read_one(self, sql).await?)?);
        self.cache().fill_pat(ticket, &pat);
        Ok(pat)
    }

    async fn list_pats(&self, user_id: &str) -> Result<Vec<Pat>, StoreError> {
        let sql = Sql::new(format!("SELECT {PAT_COLUMNS} FROM pats WHERE user_id = $1 ORDER BY created_at, id"));
        let rows = self.read().fetch_all(&sql.arg(user_id)).await?;
        rows.iter().map(|row| Ok(self.cache().with_pending_use(pat_from_row(row)?))).collect()
    }

    async fn pat(&self, user_id: &str, id: &str) -> Result<Pat, StoreError> {
        let ticket = match self.cache().pat(user_id, id) {
            Lookup::Hit(pat) => return Ok(Pat::clone(&pat)),
            Lookup::Miss(ticket) => ticket,
        };
        let sql = Sql::new(format!("SELECT {PAT_COLUMNS} FROM pats WHERE user_id = $1 AND id = $2"));
        let pat = self.cache().with_pending_use(pat_from_row(&read_one(self, sql.arg(user_id).arg(id)).await?)?);
        self.cache().fill_pat(ticket, &pat);
        Ok(pat)
    }

    async fn delete_pat(&self, user_id: &str, id: &str) -> Result<(), StoreError> {
        let sql = Sql::new("DELETE FROM pats WHERE user_id = $1 AND id = $2").arg(user_id).arg(id);
        let done = write_one(self, sql).await;
        invalidated(self, Change::Pat(id.to_owned())).await;
        done
    }

    async fn mark_pat_used(&self, user_id: &str, id: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
        // A cached PAT's mark waits for the next flush (`flush_pat_uses`); any other is written now.
        if self.cache().mark_pat_used(user_id, id, at) {
            if self.cache().pending_uses() >= MAX_PENDING_USES {
                flush_pat_uses(self).await?;
            }
            return Ok(());
        }
        let sql = Sql::new("UPDATE pats SET last_used = $1 WHERE user_id = $2 AND id = $3");
        write_one(self, sql.arg(micros(at)).arg(user_id).arg(id)).await?;
        self.cache().note_pat_used(id, at);
        Ok(())
    }

    async fn export(&self) -> Result<Snapshot, StoreError> {
        // The marks not yet written first, then one read transaction, so the snapshot is consistent.
        flush_pat_uses(self).await?;
        let mut tx = self.begin_read().await?;
        let snapshot = Snapshot {
            ak_users: resources::export(&mut tx).await?,
            providers: resources::export(&mut tx).await?,
            applications: resources::export(&mut tx).await?,
            core_tokens: all(
                &mut tx,
                format!("SELECT {CORE_COLUMNS} FROM core_tokens t ORDER BY t.identifier"),
                core_from_row,
            )
            .await?,
            // `kind` text orders access before refresh, as `OAuthKind` does.
            oauth_tokens: all(
                &mut tx,
                format!("SELECT {OAUTH_COLUMNS} FROM oauth_tokens o ORDER BY o.kind, o.pk"),
                oauth_from_row,
            )
            .await?,
            nb_users: resources::export(&mut tx).await?,
            pats: all(&mut tx, format!("SELECT {PAT_COLUMNS} FROM pats ORDER BY id"), pat_from_row).await?,
            key_pairs: resources::export(&mut tx).await?,
            nb_groups: resources::export(&mut tx).await?,
            scope_mappings: resources::export(&mut tx).await?,
            nb_setup_keys: resources::export(&mut tx).await?,
            nb_peers: resources::export(&mut tx).await?,
            nb_accounts: resources::export(&mut tx).await?,
            ak_sessions: resources::export(&mut tx).await?,
            ak_user_consents: resources::export(&mut tx).await?,
            ak_groups: resources::export(&mut tx).await?,
            ak_device_tokens: resources::export(&mut tx).await?,
        };
        tx.commit().await.map_err(db_err)?;
        Ok(snapshot)
    }

    async fn import(&self, snapshot: Snapshot) -> Result<(), StoreError> {
        let done = import(self, snapshot).await;
        invalidated(self, Change::All).await;
        done
    }

    async fn count_tokens(&self) -> Result<TokenCounts, StoreError> {
        let sql = Sql::new(
            "SELECT (SELECT COUNT(*) FROM core_tokens), \
                    (SELECT COUNT(*) FROM oauth_tokens WHERE kind = 'access'), \
                    (SELECT COUNT(*) FROM oauth_tokens WHERE kind = 'refresh'), \
                    (SELECT COUNT(*) FROM pats)",
        );
        let row = On::tx(&mut self.begin_read().await?).fetch_one(&sql).await?;
        let count = |i: usize| row.int_at(i).map(|n| n.max(0) as u64);
        Ok(TokenCounts { core: count(0)?, oauth_access: count(1)?, oauth_refresh: count(2)?, pats: count(3)? })
    }

    async fn ping(&self) -> Result<(), StoreError> {
        On::tx(&mut self.begin_read().await?).execute(&Sql::new("SELECT 1")).await?;
        Ok(())
    }

    async fn close(&self) {
        // The last marks, then the connections.
        let _ = flush_pat_uses(self).await;
        Driver::close(self).await
    }
}
