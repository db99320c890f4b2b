//! The seam between the shared SQL store and a backend: [`Driver`], the few things a backend decides (its pools,
//! how it begins a transaction, its substring function), implemented by `SqliteStore` and `PostgresStore`; and
//! the execution of a [`Sql`] statement on a pool or in a transaction ([`On`]) with its rows read through
//! [`SqlRow`], written once for every `sqlx` database that encodes and decodes the column types the store uses.

use std::future::Future;
use std::pin::Pin;

use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Pool, Transaction, Type};

use crate::StoreError;
use crate::sql::cache::Cache;
use crate::sql::{Param, Sql, db_err};

/// A boxed, sendable future borrowing for `'a`.
pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The connection type of a driver's database.
pub(crate) type ConnOf<D> = <<D as Driver>::Db as sqlx::Database>::Connection;

/// The work of one logical write: statements on the connection of a transaction that the driver opens and commits.
/// `Err` rolls the write back (and only this write).
pub(crate) trait WriteJob<D: Driver + ?Sized, T>:
    for<'c> FnOnce(&'c mut ConnOf<D>) -> BoxFuture<'c, Result<T, StoreError>> + Send + 'static
{
}

impl<D: Driver + ?Sized, T, F> WriteJob<D, T> for F where
    F: for<'c> FnOnce(&'c mut ConnOf<D>) -> BoxFuture<'c, Result<T, StoreError>> + Send + 'static
{
}

/// A SQL backend of the shared `Store` implementation: everything the two dialects do differently at run time.
///
/// Single-statement reads run on the reader pool, multi-statement reads in [`begin_read`](Driver::begin_read)
/// transactions; every write goes through [`write_statement`](Driver::write_statement) or
/// [`write_tx`](Driver::write_tx), acknowledged only once committed (SQLite commits concurrent writes together).
pub(crate) trait Driver: Send + Sync + 'static {
    /// The `sqlx` database (`Sqlite` or `Postgres`).
    type Db: Execute;

    /// `f(haystack, needle)` that is positive when `needle` occurs in `haystack` (`instr` / `strpos`).
    const POSITION_FN: &'static str;

    /// The pool single-statement reads run on.
    fn reader(&self) -> &Pool<Self::Db>;

    /// The read-through cache of this store (`cache.rs`).
    fn cache(&self) -> &Cache;

    /// A transaction for a consistent multi-statement read (export, counts, ping).
    fn begin_read(&self) -> impl Future<Output = Result<Transaction<'_, Self::Db>, StoreError>> + Send;

    /// Runs one write statement, committed; how many rows it changed.
    fn write_statement(&self, sql: Sql) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Runs `job` in a transaction, committed when it returns `Ok`.
    fn write_tx<T: Send + 'static>(
        &self,
        job: impl WriteJob<Self, T>,
    ) -> impl Future<Output = Result<T, StoreError>> + Send;

    /// Closes the pools (the backend's inherent `close`).
    fn close(&self) -> impl Future<Output = ()> + Send;

    /// Where single-statement reads run.
    fn read(&self) -> On<'_, Self::Db> {
        On::Pool(self.reader())
    }
}

/// Where a statement runs.
pub(crate) enum On<'a, DB: sqlx::Database> {
    /// On a connection of the pool, committed on its own.
    Pool(&'a Pool<DB>),
    /// On the connection of an open transaction.
    Tx(&'a mut DB::Connection),
}

impl<'a, DB: Execute> On<'a, DB> {
    /// On the connection of `tx`.
    pub(crate) fn tx(tx: &'a mut Transaction<'_, DB>) -> Self {
        On::Tx(&mut **tx)
    }

    /// Every row `sql` returns.
    pub(crate) async fn fetch_all(self, sql: &Sql) -> Result<Vec<DB::Row>, StoreError> {
        DB::fetch_all(self, sql).await
    }

    /// The first row `sql` returns, if any.
    pub(crate) async fn fetch_optional(self, sql: &Sql) -> Result<Option<DB::Row>, StoreError> {
        DB::fetch_optional(self, sql).await
    }

    /// The first row `sql` returns; none is a backend failure (`RowNotFound`).
    pub(crate) async fn fetch_one(self, sql: &Sql) -> Result<DB::Row, StoreError> {
        DB::fetch_one(self, sql).await
    }

    /// Runs `sql`; how many rows it changed.
    pub(crate) async fn execute(self, sql: &Sql) -> Result<u64, StoreError> {
        DB::execute(self, sql).await
    }
}

/// A `sqlx` database the store can run [`Sql`] on: implemented below for every database whose driver binds
/// each [`Param`] and whose rows are [`SqlRow`]s, so neither backend spells out binding or decoding.
pub(crate) trait Execute: sqlx::Database<Row: SqlRow, QueryResult: RowsAffected> {
    /// The query of `sql` with every parameter bound with its native type (a NULL keeps its column's type).
    fn bind(sql: &Sql) -> sqlx::query::Query<'_, Self, Self::Arguments<'_>>;

    fn fetch_all<'e>(
        on: On<'e, Self>,
        sql: &'e Sql,
    ) -> impl Future<Output = Result<Vec<Self::Row>, StoreError>> + Send + 'e;

    fn fetch_optional<'e>(
        on: On<'e, Self>,
        sql: &'e Sql,
    ) -> impl Future<Output = Result<Option<Self::Row>, StoreError>> + Send + 'e;

    fn fetch_one<'e>(on: On<'e, Self>, sql: &'e Sql)
    -> impl Future<Output = Result<Self::Row, StoreError>> + Send + 'e;

    fn execute<'e>(on: On<'e, Self>, sql: &'e Sql) -> impl Future<Output = Result<u64, StoreError>> + Send + 'e;
}

impl<DB> Execute for DB
where
    DB: sqlx::Database<Row: SqlRow, QueryResult: RowsAffected>,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'a> i64: Encode<'a, DB> + Type<DB>,
    for<'a> Option<i64>: Encode<'a, DB>,
    for<'a> &'a str: Encode<'a, DB> + Type<DB>,
    for<'a> Option<&'a str>: Encode<'a, DB>,
    for<'a> bool: Encode<'a, DB> + Type<DB>,
{
    fn bind(sql: &Sql) -> sqlx::query::Query<'_, Self, Self::Arguments<'_>> {
        let mut query = sqlx::query(&sql.text);
        for param in &sql.params {
            query = match param {
                Param::Int(v) => query.bind(*v),
                Param::OptInt(v) => query.bind(*v),
                Param::Text(v) => query.bind(v.as_str()),
                Param::OptText(v) => query.bind(v.as_deref()),
                Param::Bool(v) => query.bind(*v),
            };
        }
        query
    }

    async fn fetch_all<'e>(on: On<'e, Self>, sql: &'e Sql) -> Result<Vec<Self::Row>, StoreError> {
        match on {
            On::Pool(pool) => Self::bind(sql).fetch_all(pool).await,
            On::Tx(conn) => Self::bind(sql).fetch_all(conn).await,
        }
        .map_err(db_err)
    }

    async fn fetch_optional<'e>(on: On<'e, Self>, sql: &'e Sql) -> Result<Option<Self::Row>, StoreError> {
        match on {
            On::Pool(pool) => Self::bind(sql).fetch_optional(pool).await,
            On::Tx(conn) => Self::bind(sql).fetch_optional(conn).await,
        }
        .map_err(db_err)
    }

    async fn fetch_one<'e>(on: On<'e, Self>, sql: &'e Sql) -> Result<Self::Row, StoreError> {
        match on {
            On::Pool(pool) => Self::bind(sql).fetch_one(pool).await,
            On::Tx(conn) => Self::bind(sql).fetch_one(conn).await,
        }
        .map_err(db_err)
    }

    async fn execute<'e>(on: On<'e, Self>, sql: &'e Sql) -> Result<u64, StoreError> {
        let done = match on {
            On::Pool(pool) => Self::bind(sql).execute(pool).await,
            On::Tx(conn) => Self::bind(sql).execute(conn).await,
        };
        Ok(done.map_err(db_err)?.rows_affected())
    }
}

/// The number of rows a statement changed: each `sqlx` database's result has it, but through no common trait.
pub(crate) trait RowsAffected {
    fn rows_affected(&self) -> u64;
}

/// A result row, read by column name in the stored encodings (see [`super`]); a column missing or of another
/// type is a backend failure.
pub(crate) trait SqlRow {
    fn int(&self, column: &str) -> Result<i64, StoreError>;
    fn opt_int(&self, column: &str) -> Result<Option<i64>, StoreError>;
    fn text(&self, column: &str) -> Result<String, StoreError>;
    fn opt_text(&self, column: &str) -> Result<Option<String>, StoreError>;
    fn boolean(&self, column: &str) -> Result<bool, StoreError>;
    /// The integer in column `index`, for unnamed `COUNT(*)` columns.
    fn int_at(&self, index: usize) -> Result<i64, StoreError>;
}

/// Every `sqlx` row whose database decodes the three column types.
impl<R> SqlRow for R
where
    R: sqlx::Row,
    for<'a> &'a str: ColumnIndex<R>,
    usize: ColumnIndex<R>,
    for<'r> i64: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> bool: Decode<'r, R::Database> + Type<R::Database>,
{
    fn int(&self, column: &str) -> Result<i64, StoreError> {
        self.try_get(column).map_err(db_err)
    }

    fn opt_int(&self, column: &str) -> Result<Option<i64>, StoreError> {
        self.try_get(column).map_err(db_err)
    }

    fn text(&self, column: &str) -> Result<String, StoreError> {
        self.try_get(column).map_err(db_err)
    }

    fn opt_text(&self, column: &str) -> Result<Option<String>, StoreError> {
        self.try_get(column).map_err(db_err)
    }

    fn boolean(&self, column: &str) -> Result<bool, StoreError> {
        self.try_get(column).map_err(db_err)
    }

    fn int_at(&self, index: usize) -> Result<i64, StoreError> {
        self.try_get(index).map_err(db_err)
    }
}
