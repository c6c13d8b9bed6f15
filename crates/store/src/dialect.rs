//! The one store, generic over the database: [`SqlStore<D>`] holds the pool of a [`Dialect`]
//! (SQLite or PostgreSQL), and every store trait is implemented once for `SqlStore<D>`, with its
//! SQL written once in the subset both databases accept (`$n` parameters, `RETURNING`,
//! `ON CONFLICT`, `count(*) FILTER (WHERE …)`, `TRUE`/`FALSE`, `CAST(… AS BIGINT)`).
//!
//! The dialect keeps only what truly differs: how a write transaction begins and which locks it
//! takes, rows locked for a worker (`FOR UPDATE SKIP LOCKED`), case-insensitive `LIKE`, the JSON
//! access that an index was built on, identities moved after ids given by the caller, and the
//! statements that only make sense on one (pragmas, `EXPLAIN`).

use std::sync::Arc;

use sqlx::{Database, Pool, Postgres, Sqlite, Transaction};

use crate::vault::Vault;
use crate::Result;

/// What differs between SQLite and PostgreSQL. Implemented for [`Sqlite`] and [`Postgres`].
pub trait Dialect: Database {
    /// `sqlite` or `postgres`.
    const NAME: &'static str;
    /// The statement that begins a write transaction: SQLite takes the write lock at once
    /// (`BEGIN IMMEDIATE`, so writers queue instead of failing half-way with SQLITE_BUSY);
    /// PostgreSQL begins as usual (READ COMMITTED), and its statements take row locks.
    const BEGIN_WRITE: &'static str;
    /// Appended to a `SELECT` inside a write transaction to lock the rows it read until the
    /// commit (PostgreSQL); SQLite's write transaction already excludes every other writer.
    const FOR_UPDATE: &'static str;
    /// `LIKE` that ignores the case of ASCII letters (SQLite's `LIKE` does; PostgreSQL's `ILIKE`).
    const LIKE: &'static str;
    /// The department an event counts for: the one it names (dispatch: the lead; return and
    /// co-department parts: that department), otherwise the case's lead department now. SQLite's
    /// form is the expression its indexes on `case_events` were built on.
    const EVENT_DEPARTMENT: &'static str;
    /// The lead department a dispatch event names, as a BIGINT (events aliased `e`).
    const EVENT_LEAD: &'static str;

    /// A statement that locks `tables` in `mode` until the commit, where the database needs it
    /// (PostgreSQL: `LOCK TABLE`); `None` on SQLite, whose write transaction holds the lock of
    /// the whole database.
    fn lock(tables: &str, mode: &str) -> Option<String>;
    /// Rows of a worker's `SELECT` (rows of `alias`) that concurrent workers skip (PostgreSQL:
    /// `FOR UPDATE OF alias SKIP LOCKED`); nothing on SQLite, where one writer runs at a time.
    fn skip_locked(alias: &str) -> String;
    /// A statement that moves the identity of `table` past its largest id, after rows were
    /// written with ids given by the caller; `None` where the next id already follows the largest
    /// (SQLite's `INTEGER PRIMARY KEY`).
    fn sync_identity(table: &str) -> Option<String>;
}

impl Dialect for Sqlite {
    const NAME: &'static str = "sqlite";
    const BEGIN_WRITE: &'static str = "BEGIN IMMEDIATE";
    const FOR_UPDATE: &'static str = "";
    const LIKE: &'static str = "LIKE";
    const EVENT_DEPARTMENT: &'static str =
        "coalesce(json_extract(e.data, '$.lead_department'), json_extract(e.data, '$.department'), c.lead_department)";
    const EVENT_LEAD: &'static str = "json_extract(e.data, '$.lead_department')";

    fn lock(_tables: &str, _mode: &str) -> Option<String> {
        None
    }
    fn skip_locked(_alias: &str) -> String {
        String::new()
    }
    fn sync_identity(_table: &str) -> Option<String> {
        None
    }
}

impl Dialect for Postgres {
    const NAME: &'static str = "postgres";
    const BEGIN_WRITE: &'static str = "BEGIN";
    const FOR_UPDATE: &'static str = " FOR UPDATE";
    const LIKE: &'static str = "ILIKE";
    const EVENT_DEPARTMENT: &'static str =
        "coalesce((e.data ->> 'lead_department')::bigint, (e.data ->> 'department')::bigint, c.lead_department)";
    const EVENT_LEAD: &'static str = "(e.data ->> 'lead_department')::bigint";

    fn lock(tables: &str, mode: &str) -> Option<String> {
        Some(format!("LOCK TABLE {tables} IN {mode} MODE"))
    }
    fn skip_locked(alias: &str) -> String {
        format!(" FOR UPDATE OF {alias} SKIP LOCKED")
    }
    fn sync_identity(table: &str) -> Option<String> {
        Some(format!("SELECT setval(pg_get_serial_sequence('{table}', 'id'), coalesce(max(id), 0) + 1, false) FROM {table}"))
    }
}

/// The store: a pool of one database and the vault that seals personal data. Cloning shares the
/// pool. [`crate::SqliteStore`] and [`crate::PgStore`] name its two kinds.
#[derive(Debug)]
pub struct SqlStore<D: Database> {
    pub(crate) pool: Pool<D>,
    pub(crate) vault: Arc<Vault>,
}

impl<D: Database> Clone for SqlStore<D> {
    fn clone(&self) -> Self {
        Self { pool: self.pool.clone(), vault: self.vault.clone() }
    }
}

impl<D: Database> SqlStore<D> {
    /// The pool (for the data migration, the live feed and the benchmarks).
    pub fn pool(&self) -> &Pool<D> {
        &self.pool
    }

    /// Closes every connection (on SQLite, after the last write, a checkpoint empties the WAL).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Declares an `impl` block generic over the dialect, with the bounds every store query needs
/// (the pool and transactions as executors, and the column types the store binds and reads):
/// `generic! { impl Trait for SqlStore { … } }`, or `generic! { impl SqlStore { … } }` for
/// inherent methods. The bounds are written here once instead of on every impl block.
macro_rules! generic {
    (@impl [$(#[$attr:meta])*] [$($head:tt)*] $body:tt) => {
        $(#[$attr])*
        impl<D: $crate::dialect::Dialect> $($head)*
        where
            for<'c> &'c mut <D as sqlx::Database>::Connection: sqlx::Executor<'c, Database = D>,
            for<'q> <D as sqlx::Database>::Arguments<'q>: sqlx::IntoArguments<'q, D>,
            for<'q> bool: sqlx::Encode<'q, D> + sqlx::Decode<'q, D> + sqlx::Type<D>,
            for<'q> i32: sqlx::Encode<'q, D> + sqlx::Decode<'q, D> + sqlx::Type<D>,
            for<'q> i64: sqlx::Encode<'q, D> + sqlx::Decode<'q, D> + sqlx::Type<D>,
            for<'q> f64: sqlx::Encode<'q, D> + sqlx::Decode<'q, D> + sqlx::Type<D>,
            for<'q> String: sqlx::Encode<'q, D> + sqlx::Decode<'q, D> + sqlx::Type<D>,
            for<'q> &'q str: sqlx::Encode<'q, D> + sqlx::Decode<'q, D> + sqlx::Type<D>,
            for<'q> sqlx::types::Json<serde_json::Value>: sqlx::Encode<'q, D> + sqlx::Decode<'q, D> + sqlx::Type<D>,
            for<'q> Option<bool>: sqlx::Encode<'q, D>,
            for<'q> Option<i32>: sqlx::Encode<'q, D>,
            for<'q> Option<i64>: sqlx::Encode<'q, D>,
            for<'q> Option<f64>: sqlx::Encode<'q, D>,
            for<'q> Option<String>: sqlx::Encode<'q, D>,
            for<'q> Option<&'q str>: sqlx::Encode<'q, D>,
            for<'q> &'q str: sqlx::ColumnIndex<<D as sqlx::Database>::Row>,
            usize: sqlx::ColumnIndex<<D as sqlx::Database>::Row>,
        $body
    };
    ($(#[$attr:meta])* impl $trait:ident for SqlStore $body:tt) => {
        $crate::dialect::generic! { @impl [$(#[$attr])*] [$trait for $crate::dialect::SqlStore<D>] $body }
    };
    ($(#[$attr:meta])* impl SqlStore $body:tt) => {
        $crate::dialect::generic! { @impl [$(#[$attr])*] [$crate::dialect::SqlStore<D>] $body }
    };
}
pub(crate) use generic;

/// Begins a write transaction in `D`'s way ([`Dialect::BEGIN_WRITE`]).
pub(crate) async fn begin_write<D: Dialect>(pool: &Pool<D>) -> Result<Transaction<'static, D>> {
    Ok(pool.begin_with(D::BEGIN_WRITE).await?)
}
