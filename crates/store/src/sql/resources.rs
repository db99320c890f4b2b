//! The SQL stores' generic operations on declared resources (`resource.rs`): each statement is made from the
//! declaration, so a new resource needs its migration and no SQL here.

use sqlx::Transaction;

use crate::StoreError;
use crate::model::{AkUser, NbUser};
use crate::pagination::Slice;
use crate::query::Listing;
use crate::resource::{Codec, ErasedColumn, Field, Key, OnDelete, PrimaryKey, Resource, Row, Table};
use crate::sql::cache::{Cache, Change, Lookup, Ticket};
use crate::sql::driver::{Driver, Execute, On, SqlRow};
use crate::sql::store::invalidated;
use crate::sql::{Param, Sql};

/// How often an insert that allocates its key is tried again after another writer took the same key (PostgreSQL
/// replicas writing at once; SQLite has one writer).
const ALLOCATION_TRIES: usize = 32;

/// The statement that adds a row of `table` with `params` (in column order). With `allocate`, the primary key's
/// value is one more than the highest, computed in the statement, which returns it.
fn insert_sql(table: &Table, params: Vec<Param>, allocate: bool) -> Sql {
    let columns = table.columns.join(", ");
    let name = table.name;
    if allocate {
        let pk = table.pk_column();
        let values: Vec<String> = (1..params.len()).map(|n| format!("${n}")).collect();
        let mut sql = Sql::new(format!(
            "INSERT INTO {name} ({columns}) VALUES ((SELECT coalesce(max({pk}), 0) + 1 FROM {name}), {}) \
             RETURNING {pk}",
            values.join(", ")
        ));
        sql.params = params.into_iter().skip(1).collect();
        return sql;
    }
    let values: Vec<String> = (1..=params.len()).map(|n| format!("${n}")).collect();
    let mut sql = Sql::new(format!("INSERT INTO {name} ({columns}) VALUES ({})", values.join(", ")));
    sql.params = params;
    sql
}

/// The decoded row of `table`.
fn decode(table: &'static Table, row: &dyn SqlRow) -> Result<Row, StoreError> {
    (table.decode)(row)
}

pub(crate) async fn insert_row<D: Driver>(store: &D, row: Row, allocate: bool) -> Result<Row, StoreError> {
    let table = row.table();
    if table.pk == PrimaryKey::Given || !allocate {
        store.write_statement(insert_sql(table, (table.encode)(&*row)?, false)).await?;
        return Ok(row);
    }
    let inserted = row.clone();
    let pk = allocating(store, move || Ok(insert_sql(table, (table.encode)(&*inserted)?, true))).await?;
    Ok(row.with_pk(pk))
}

/// Runs the insert `make` builds, which allocates a primary key in the statement and returns it, again while
/// another writer takes the same key first (`Duplicate` on `pk`).
pub(crate) async fn allocating<D: Driver>(
    store: &D,
    make: impl Fn() -> Result<Sql, StoreError> + Send + Sync,
) -> Result<i64, StoreError> {
    let mut tries = 0;
    loop {
        let sql = make()?;
        let inserted = store
            .write_tx(move |conn| Box::pin(async move { On::<D::Db>::Tx(&mut *conn).fetch_one(&sql).await?.int_at(0) }))
            .await;
        match inserted {
            Err(StoreError::Duplicate { field: Field::Pk }) if tries + 1 < ALLOCATION_TRIES => tries += 1,
            other => return other,
        }
    }
}

/// The cached lookups among the declared resources (`cache.rs`): a user by pk, a NetBird user by id.
fn cached(cache: &Cache, table: &Table, field: Field, key: &Key) -> Option<Lookup<Row>> {
    let lookup = match (table.name, field, key) {
        ("ak_users", Field::Pk, Key::Int(pk)) => match cache.ak_user(*pk) {
            Lookup::Hit(user) => Lookup::Hit(user as Row),
            Lookup::Miss(ticket) => Lookup::Miss(ticket),
        },
        ("nb_users", Field::Id, Key::Text(id)) => match cache.nb_user(id) {
            Lookup::Hit(user) => Lookup::Hit(user as Row),
            Lookup::Miss(ticket) => Lookup::Miss(ticket),
        },
        _ => return None,
    };
    Some(lookup)
}

/// Puts a row that [`cached`] missed into the cache.
fn fill(cache: &Cache, ticket: Option<Ticket>, row: &Row) {
    if let Some(user) = row.as_any().downcast_ref::<AkUser>() {
        cache.fill_ak_user(ticket, user);
    } else if let Some(user) = row.as_any().downcast_ref::<NbUser>() {
        cache.fill_nb_user(ticket, user);
    }
}

/// What a write of the row `pk` of `table` makes the cache forget: a user with their core tokens, a NetBird user
/// with their PATs.
fn change(table: &Table, pk: &Key) -> Option<Change> {
    match (table.name, pk) {
        ("ak_users", Key::Int(pk)) => Some(Change::AkUser(*pk)),
        ("nb_users", Key::Text(id)) => Some(Change::NbUser(id.to_string())),
        _ => None,
    }
}

pub(crate) async fn row<D: Driver>(
    store: &D,
    table: &'static Table,
    field: Field,
    key: Key,
) -> Result<Row, StoreError> {
    let ticket = match cached(store.cache(), table, field, &key) {
        Some(Lookup::Hit(row)) => return Ok(row),
        Some(Lookup::Miss(ticket)) => Some(ticket),
        None => None,
    };
    let column = table.unique_column(field).ok_or(StoreError::NotFound)?;
    let sql = Sql::new(format!("SELECT {} FROM {} WHERE {column} = $1", table.columns.join(", "), table.name));
    let found = store.read().fetch_optional(&sql.arg(key.param())).await?.ok_or(StoreError::NotFound)?;
    let row = decode(table, &found)?;
    if let Some(ticket) = ticket {
        fill(store.cache(), ticket, &row);
    }
    Ok(row)
}

pub(crate) async fn rows<D: Driver>(
    store: &D,
    table: &'static Table,
    listing: &Listing<ErasedColumn>,
) -> Result<Slice<Row>, StoreError> {
    let listing = listing.to_sql(D::POSITION_FN, &table.columns.join(", "), table.name);
    let rows = store.read().fetch_all(&listing.page).await?;
    let total = match rows.first() {
        Some(row) => row.int("total")?,
        None => store.read().fetch_one(&listing.count).await?.int_at(0)?,
    };
    let items = rows.iter().map(|row| decode(table, row)).collect::<Result<Vec<Row>, _>>()?;
    Ok(Slice { total: u64::try_from(total).unwrap_or(0), items })
}

pub(crate) async fn replace_row<D: Driver>(store: &D, row: Row) -> Result<(), StoreError> {
    let table = row.table();
    let params = (table.encode)(&*row)?;
    let sets: Vec<String> =
        table.columns.iter().enumerate().skip(1).map(|(i, c)| format!("{c} = ${}", i + 1)).collect();
    let mut sql = Sql::new(format!("UPDATE {} SET {} WHERE {} = $1", table.name, sets.join(", "), table.pk_column()));
    sql.params = params;
    let done = store.write_statement(sql).await;
    if let Some(change) = row.key(table.unique[0].0).and_then(|pk| change(table, &pk)) {
        invalidated(store, change).await;
    }
    match done? {
        0 => Err(StoreError::NotFound),
        _ => Ok(()),
    }
}

/// Deletes the row and applies its children's `on_delete` in one transaction, or changes nothing.
pub(crate) async fn delete_row<D: Driver>(store: &D, table: &'static Table, pk: Key) -> Result<(), StoreError> {
    let forget = change(table, &pk);
    let done = store
        .write_tx(move |conn| {
            Box::pin(async move {
                for child in table.children {
                    let text = match child.on_delete {
                        OnDelete::Cascade => format!("DELETE FROM {} WHERE {} = $1", child.table, child.column),
                        OnDelete::SetNull => {
                            format!("UPDATE {0} SET {1} = NULL WHERE {1} = $1", child.table, child.column)
                        }
                    };
                    On::<D::Db>::Tx(&mut *conn).execute(&Sql::new(text).arg(pk.param())).await?;
                }
                let sql = Sql::new(format!("DELETE FROM {} WHERE {} = $1", table.name, table.pk_column()));
                if On::<D::Db>::Tx(&mut *conn).execute(&sql.arg(pk.param())).await? == 0 {
                    return Err(StoreError::NotFound);
                }
                Ok(())
            })
        })
        .await;
    if let Some(change) = forget {
        invalidated(store, change).await;
    }
    done
}

/// Every `R` in `tx`, in the declared order (an export).
pub(crate) async fn export<DB: Execute, R: Resource + Codec>(
    tx: &mut Transaction<'_, DB>,
) -> Result<Vec<R>, StoreError> {
    let table = R::TABLE;
    let sql = Sql::new(format!("SELECT {} FROM {} ORDER BY {}", table.columns.join(", "), table.name, table.order));
    On::tx(tx).fetch_all(&sql).await?.iter().map(|row| R::decode(row)).collect()
}

/// Adds `rows` with their own primary keys on `conn` (an import).
pub(crate) async fn import<DB: Execute, R: Resource + Codec>(
    conn: &mut <DB as sqlx::Database>::Connection,
    rows: &[R],
) -> Result<(), StoreError> {
    for row in rows {
        On::<DB>::Tx(&mut *conn).execute(&insert_sql(R::TABLE, row.encode()?, false)).await?;
    }
    Ok(())
}
