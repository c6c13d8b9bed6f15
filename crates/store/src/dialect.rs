//! The one store, generic over the database: [`SqlStore<D>`] holds the pool of a [`Dialect`]
//! (SQLite or PostgreSQL), and every store trait is implemented once for `SqlStore<D>`, with its
//! SQL written once in the subset both databases accept (`$n` parameters, `RETURNING`,
//! `ON CONFLICT`, `count(*) FILTER (WHERE …)`, `TRUE`/`FALSE`, `CAST(… AS BIGINT)`).
//!
//! The dialect keeps only what truly differs: how a write transaction begins and which locks it
//! takes, rows locked for a worker (`FOR UPDATE SKIP LOCKED`), case-insensitive `LIKE`, the JSON
//! access that an index was built on, identities moved after ids given by the caller, and the
//! statements that only make sense on one (pragmas, `EXPLAIN`).

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use gridkeeper_domain::{Case, NewEvent};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Database, Pool, Postgres, Sqlite, Transaction};

use crate::sql::{Arg, Sql};
use crate::vault::Vault;
use crate::{Result, StoreError};

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// SQLite's page cache per connection (`PRAGMA cache_size`, negative: KiB): 16 MB, with 8
/// connections at most, so the server's memory stays bounded however large the database (the
/// OS file cache holds the rest).
pub(crate) const CACHE_SIZE: &str = "-16000";

/// How long a request waits for a PostgreSQL connection before it is answered 503 (the
/// database is away or every connection is busy): never a hang.
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

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
    /// The ids of `$1` new cases, from the database's own numbering: on SQLite those after the
    /// largest (the write lock is held), on PostgreSQL the identity's sequence (which other
    /// instances draw from too).
    const NEW_CASE_IDS: &'static str;

    /// A statement that locks `tables` in `mode` until the commit, where the database needs it
    /// (PostgreSQL: `LOCK TABLE`); `None` on SQLite, whose write transaction holds the lock of
    /// the whole database.
    fn lock(tables: &str, mode: &str) -> Option<String>;
    /// Rows of a worker's `SELECT` (rows of `alias`) that concurrent workers skip (PostgreSQL:
    /// `FOR UPDATE OF alias SKIP LOCKED`); nothing on SQLite, where one writer runs at a time.
    fn skip_locked(alias: &str) -> String;
    /// Appended to a table in `FROM` to read it by `index` (SQLite's `INDEXED BY`), where SQLite's
    /// planner, which has no statistics, would choose another; nothing on PostgreSQL, whose
    /// planner takes no hints and weighs its statistics.
    fn indexed_by(index: &str) -> String;
    /// The text at the dotted `path` of the JSON in `column`, written as the expression indexes
    /// on `case_events` were built on (SQLite: `json_extract(data, '$.a.b')`, PostgreSQL:
    /// `(data #>> '{a,b}')`): an index on an expression serves only that exact expression.
    fn json_text(column: &str, path: &str) -> String;
    /// The placeholder of the `n`th bound value: SQLite's anonymous `?` (values are bound in
    /// order; its `$n` and `?n` are looked up by name at prepare and at bind time, a linear
    /// search each, which makes a multi-row statement of thousands of values quadratic),
    /// PostgreSQL's `$n`; written to `out`.
    fn placeholder(out: &mut String, n: usize);
    /// A statement that moves the identity of `table` past its largest id, after rows were
    /// written with ids given by the caller; `None` where the next id already follows the largest
    /// (SQLite's `INTEGER PRIMARY KEY`).
    fn sync_identity(table: &str) -> Option<String>;
    /// Rows a statement changed.
    fn rows_affected(r: &Self::QueryResult) -> u64;
    /// Applies the migrations of this database (`migrations/sqlite`, `migrations/postgres`).
    fn migrate(pool: &Pool<Self>) -> BoxFuture<'_, Result<()>>;
    /// Stores finished histories (checked by the caller): SQLite's bulk path, PostgreSQL's
    /// portable one (see `bulk.rs`).
    fn import_history<'a>(
        store: &'a SqlStore<Self>,
        cases: &'a [(Case, Vec<NewEvent>)],
        utc_offset_hours: i32,
    ) -> BoxFuture<'a, Result<()>>;
}

impl Dialect for Sqlite {
    const NAME: &'static str = "sqlite";
    const BEGIN_WRITE: &'static str = "BEGIN IMMEDIATE";
    const FOR_UPDATE: &'static str = "";
    const LIKE: &'static str = "LIKE";
    const EVENT_DEPARTMENT: &'static str =
        "coalesce(json_extract(e.data, '$.lead_department'), json_extract(e.data, '$.department'), c.lead_department)";
    const EVENT_LEAD: &'static str = "json_extract(e.data, '$.lead_department')";
    const NEW_CASE_IDS: &'static str =
        "WITH RECURSIVE ids(k, id) AS (SELECT 1, (SELECT coalesce(max(id), 0) + 1 FROM cases) \
         UNION ALL SELECT k + 1, id + 1 FROM ids WHERE k < $1) SELECT id FROM ids";

    fn lock(_tables: &str, _mode: &str) -> Option<String> {
        None
    }
    fn skip_locked(_alias: &str) -> String {
        String::new()
    }
    fn indexed_by(index: &str) -> String {
        format!(" INDEXED BY {index}")
    }
    fn json_text(column: &str, path: &str) -> String {
        format!("json_extract({column}, '$.{path}')")
    }
    fn placeholder(out: &mut String, _n: usize) {
        out.push('?');
    }
    fn sync_identity(_table: &str) -> Option<String> {
        None
    }
    fn rows_affected(r: &Self::QueryResult) -> u64 {
        r.rows_affected()
    }
    fn migrate(pool: &Pool<Self>) -> BoxFuture<'_, Result<()>> {
        Box::pin(async move { Ok(SQLITE_MIGRATIONS.run(pool).await?) })
    }
    fn import_history<'a>(
        store: &'a SqlStore<Self>,
        cases: &'a [(Case, Vec<NewEvent>)],
        utc_offset_hours: i32,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(store.import_histories(cases, utc_offset_hours))
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
    const NEW_CASE_IDS: &'static str =
        "SELECT nextval(pg_get_serial_sequence('cases', 'id')) FROM generate_series(1, $1)";

    fn lock(tables: &str, mode: &str) -> Option<String> {
        Some(format!("LOCK TABLE {tables} IN {mode} MODE"))
    }
    fn skip_locked(alias: &str) -> String {
        format!(" FOR UPDATE OF {alias} SKIP LOCKED")
    }
    fn indexed_by(_index: &str) -> String {
        String::new()
    }
    fn json_text(column: &str, path: &str) -> String {
        format!("({column} #>> '{{{}}}')", path.replace('.', ","))
    }
    fn placeholder(out: &mut String, n: usize) {
        use std::fmt::Write;
        write!(out, "${n}").expect("writing to a String cannot fail");
    }
    fn sync_identity(table: &str) -> Option<String> {
        Some(format!(
            "SELECT setval(pg_get_serial_sequence('{table}', 'id'), coalesce(max(id), 0) + 1, false) FROM {table}"
        ))
    }
    fn rows_affected(r: &Self::QueryResult) -> u64 {
        r.rows_affected()
    }
    fn migrate(pool: &Pool<Self>) -> BoxFuture<'_, Result<()>> {
        Box::pin(async move { Ok(POSTGRES_MIGRATIONS.run(pool).await?) })
    }
    fn import_history<'a>(
        store: &'a SqlStore<Self>,
        cases: &'a [(Case, Vec<NewEvent>)],
        utc_offset_hours: i32,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(store.import_portable(cases, utc_offset_hours))
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

impl<D: Dialect> SqlStore<D> {
    /// Begins a write transaction in the database's way ([`Dialect::BEGIN_WRITE`]).
    ///
    /// The begin runs in a task of its own, so that it always finishes: sqlx 0.8 leaves a
    /// connection inside a transaction when the future of a begin is dropped after its `BEGIN`
    /// ran but before the `Transaction` that would roll it back exists (a request whose client
    /// went away, a worker stopped). On SQLite that connection would keep the write lock, and
    /// every other writer would wait its busy timeout and fail; on PostgreSQL the next
    /// statements on it would run inside the forgotten transaction. A finished begin whose
    /// caller is gone drops its `Transaction`, which rolls back.
    pub(crate) async fn begin_write(&self) -> Result<Transaction<'static, D>> {
        let pool = self.pool.clone();
        tokio::spawn(async move { pool.begin_with(D::BEGIN_WRITE).await })
            .await
            .map_err(|e| StoreError::Unavailable(format!("beginning a transaction: {e}")))?
            .map_err(StoreError::from)
    }
}

impl SqlStore<Sqlite> {
    /// Opens (creating if needed) the SQLite database at `url` (`sqlite:path` or
    /// `sqlite::memory:`), in WAL mode with full synchronous commits: a case acknowledged to a
    /// reporter survives a crash of the process or the machine.
    pub async fn open(url: &str, vault: Arc<Vault>) -> Result<Self> {
        let opts = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10))
            .pragma("temp_store", "memory")
            .pragma("cache_size", CACHE_SIZE);
        let in_memory = url.contains(":memory:");
        let pool = SqlitePoolOptions::new()
            // An in-memory database exists once per connection: keep exactly one.
            .max_connections(if in_memory { 1 } else { 8 })
            .min_connections(if in_memory { 1 } else { 0 })
            .idle_timeout(if in_memory { None } else { Some(Duration::from_secs(600)) })
            .max_lifetime(if in_memory { None } else { Some(Duration::from_secs(3600)) })
            .connect_with(opts)
            .await?;
        Ok(Self { pool, vault })
    }
}

impl SqlStore<Postgres> {
    /// Connects to `url` (`postgres://user@host:port/db`). The pool opens connections lazily and
    /// checks each one before use, so a server started while PostgreSQL is away comes up, answers
    /// 503 until it returns, and recovers by itself.
    pub async fn open(url: &str, vault: Arc<Vault>) -> Result<Self> {
        let opts = PgConnectOptions::from_str(url)?.application_name("gridkeeper");
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .min_connections(0)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .idle_timeout(Some(Duration::from_secs(600)))
            .max_lifetime(Some(Duration::from_secs(1800)))
            .test_before_acquire(true)
            .connect_with(opts)
            .await?;
        Ok(Self { pool, vault })
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
            for<'q> Vec<u8>: sqlx::Encode<'q, D> + sqlx::Decode<'q, D> + sqlx::Type<D>,
            for<'q> &'q str: sqlx::Encode<'q, D> + sqlx::Decode<'q, D> + sqlx::Type<D>,
            for<'q> sqlx::types::Json<serde_json::Value>: sqlx::Encode<'q, D> + sqlx::Decode<'q, D> + sqlx::Type<D>,
            for<'q> Option<bool>: sqlx::Encode<'q, D>,
            for<'q> Option<i32>: sqlx::Encode<'q, D>,
            for<'q> Option<i64>: sqlx::Encode<'q, D>,
            for<'q> Option<f64>: sqlx::Encode<'q, D>,
            for<'q> Option<String>: sqlx::Encode<'q, D>,
            for<'q> Option<&'q str>: sqlx::Encode<'q, D>,
            for<'q> sqlx::types::Json<&'q serde_json::Value>: sqlx::Encode<'q, D> + sqlx::Type<D>,
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

generic! {
    impl SqlStore {
        /// The query of `sql`, its arguments bound.
        pub(crate) fn query_of(sql: &Sql) -> crate::reference::Query<'_, D> {
            let mut q = sqlx::query(sql.text::<D>());
            for a in &sql.args {
                q = match a {
                    Arg::Bool(v) => q.bind(*v),
                    Arg::I32(v) => q.bind(*v),
                    Arg::Int(v) => q.bind(*v),
                    Arg::Float(v) => q.bind(*v),
                    Arg::Text(v) => q.bind(v.as_deref()),
                    Arg::Json(v) => q.bind(sqlx::types::Json(v)),
                    Arg::Bytes(v) => q.bind(v.clone()),
                };
            }
            q
        }

        /// Deletes the rows of `table` with these ids (a queue's rows once taken), 500 at a time.
        pub(crate) async fn delete_ids(conn: &mut D::Connection, table: &str, ids: &[i64]) -> Result<()> {
            for chunk in ids.chunks(500) {
                let mut b = Sql::new(format!("DELETE FROM {table} WHERE id IN "));
                b.push_in(chunk.iter().copied());
                Self::query_of(&b).execute(&mut *conn).await?;
            }
            Ok(())
        }

        /// Locks `tables` in `mode` until the commit, where the database needs it ([`Dialect::lock`]).
        pub(crate) async fn lock(conn: &mut D::Connection, tables: &str, mode: &str) -> Result<()> {
            if let Some(sql) = D::lock(tables, mode) {
                sqlx::query(&sql).execute(&mut *conn).await?;
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Begins a write transaction whose caller is dropped after `i % 40` × 10 µs (a
    /// request whose client went away, a worker stopped at shutdown), then begins and commits
    /// another. A begin dropped after its `BEGIN` ran must not leave its connection inside a
    /// transaction: on SQLite it would hold the write lock (every other writer waits, then
    /// fails), on PostgreSQL later statements would run in it.
    async fn dropped_begin<D: Dialect>(s: &SqlStore<D>, i: u32) {
        let store = s.clone();
        let task = tokio::spawn(async move {
            let _tx = store.begin_write().await;
        });
        let started = std::time::Instant::now();
        while started.elapsed() < std::time::Duration::from_micros(u64::from(i % 40) * 10) {
            tokio::task::yield_now().await;
        }
        task.abort();
        let _ = task.await;
        let tx = s.begin_write().await.unwrap_or_else(|e| panic!("after dropped begin {i}: {e}"));
        tx.commit().await.unwrap_or_else(|e| panic!("after dropped begin {i}: {e}"));
    }

    #[tokio::test]
    async fn a_begin_dropped_half_way_leaves_no_transaction_open_sqlite() {
        let s = crate::testing::sqlite().await;
        for i in 0..300 {
            dropped_begin(&s, i).await;
        }
    }

    #[tokio::test]
    async fn a_begin_dropped_half_way_leaves_no_transaction_open_postgres() {
        let db = crate::testing::postgres().await;
        let pool = &db.store.pool;
        for i in 0..300 {
            dropped_begin(&db.store, i).await;
            // Once every connection is back in the pool, none is inside a transaction.
            while pool.num_idle() < pool.size() as usize {
                tokio::time::sleep(std::time::Duration::from_millis(1)).await;
            }
            let open: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM pg_stat_activity \
                 WHERE datname = current_database() AND state LIKE 'idle in transaction%'",
            )
            .fetch_one(pool)
            .await
            .unwrap();
            assert_eq!(open, 0, "after dropped begin {i}: a connection was left inside a transaction");
        }
    }
}
