//! Test support: a fresh store of each backend, and [`on_both!`], which runs one test body on
//! SQLite (in memory) and on PostgreSQL (a database of its own on the server at
//! `GRIDKEEPER_TEST_PG_URL`, by default `postgres://postgres@127.0.0.1:5432/test`, dropped after;
//! `./scripts/test` starts that server, and the test fails when it cannot be reached).

use std::sync::Arc;

use sqlx::Connection;

use crate::{PgStore, SqliteStore, Store, Vault};

/// A migrated SQLite store in memory.
pub(crate) async fn sqlite() -> SqliteStore {
    let s = SqliteStore::open("sqlite::memory:", Arc::new(Vault::ephemeral())).await.unwrap();
    s.migrate().await.unwrap();
    s
}

fn admin_url() -> String {
    std::env::var("GRIDKEEPER_TEST_PG_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// A migrated PostgreSQL store on a database of its own, dropped with this value.
pub(crate) struct TestPg {
    pub store: PgStore,
    name: String,
}

/// A migrated PostgreSQL store on a new database.
pub(crate) async fn postgres() -> TestPg {
    let admin = admin_url();
    let name = format!("gk_store_{}", uuid_like());
    let mut c = sqlx::PgConnection::connect(&admin)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL at {admin} cannot be reached (./scripts/postgres starts it): {e}"));
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut c).await.unwrap();
    let (base, _) = admin.rsplit_once('/').expect("a database URL ends in /NAME");
    let store = PgStore::open(&format!("{base}/{name}"), Arc::new(Vault::ephemeral())).await.unwrap();
    store.migrate().await.unwrap();
    TestPg { store, name }
}

fn uuid_like() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos());
    format!("{:016x}", h.finish())
}

impl Drop for TestPg {
    fn drop(&mut self) {
        // Drop runs inside the test's runtime, which this thread blocks: drop the database from a
        // thread of its own (`WITH (FORCE)` ends the pool's connections; closing the pool here
        // would wait for the blocked runtime).
        let (admin, name) = (admin_url(), self.name.clone());
        let done = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async {
                let mut c = sqlx::PgConnection::connect(&admin).await?;
                sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut c).await?;
                Ok::<_, sqlx::Error>(())
            })
        })
        .join();
        if let Ok(Err(e)) = done {
            eprintln!("could not drop the test database {}: {e}", self.name);
        }
    }
}

/// Runs each test body on both backends, as the tests `NAME::sqlite` and `NAME::postgres`:
/// `on_both! { async fn name(s) { … s.some_store_method().await … } }` where `s` is a
/// [`SqliteStore`] in one test and a [`PgStore`] in the other.
macro_rules! on_both {
    ($($(#[$attr:meta])* async fn $name:ident($s:ident) $body:block)*) => {
        $(
            $(#[$attr])*
            mod $name {
                #[allow(unused_imports)]
                use super::*;

                #[tokio::test]
                async fn sqlite() {
                    let $s = $crate::testing::sqlite().await;
                    $body
                }

                #[tokio::test]
                async fn postgres() {
                    let db = $crate::testing::postgres().await;
                    let $s = db.store.clone();
                    $body
                }
            }
        )*
    };
}
pub(crate) use on_both;

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use sqlx::Row;

    /// Every SQLite migration has its PostgreSQL twin: after both sets ran, the two databases
    /// have the same tables, the same columns in each, and the same indexes (by name).
    #[tokio::test]
    async fn both_schemas_have_the_same_tables_columns_and_indexes() {
        let lite = super::sqlite().await;
        let pg = super::postgres().await;
        let mut lite_columns = BTreeSet::new();
        let tables: Vec<String> = sqlx::query_scalar(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> '_sqlx_migrations'",
        )
        .fetch_all(&lite.pool)
        .await
        .unwrap();
        for t in &tables {
            for r in sqlx::query("SELECT name FROM pragma_table_info($1)").bind(t).fetch_all(&lite.pool).await.unwrap()
            {
                lite_columns.insert((t.clone(), r.get::<String, _>("name")));
            }
        }
        let pg_columns: BTreeSet<(String, String)> = sqlx::query(
            "SELECT table_name::text AS t, column_name::text AS c FROM information_schema.columns \
             WHERE table_schema = 'public' AND table_name <> '_sqlx_migrations'",
        )
        .fetch_all(&pg.store.pool)
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get("t"), r.get("c")))
        .collect();
        let only = |a: &BTreeSet<(String, String)>, b: &BTreeSet<(String, String)>| {
            a.difference(b).cloned().collect::<Vec<_>>()
        };
        assert!(
            lite_columns == pg_columns,
            "columns only on SQLite: {:?}; only on PostgreSQL: {:?}",
            only(&lite_columns, &pg_columns),
            only(&pg_columns, &lite_columns)
        );
        // Named indexes (not the ones a primary key or UNIQUE constraint makes by itself).
        let lite_indexes: BTreeSet<String> =
            sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")
                .fetch_all(&lite.pool)
                .await
                .unwrap()
                .into_iter()
                .collect();
        let pg_indexes: BTreeSet<String> = sqlx::query_scalar(
            "SELECT i.indexname::text FROM pg_indexes i WHERE i.schemaname = 'public' AND NOT EXISTS \
             (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)",
        )
        .fetch_all(&pg.store.pool)
        .await
        .unwrap()
        .into_iter()
        .collect();
        assert!(
            lite_indexes == pg_indexes,
            "indexes only on SQLite: {:?}; only on PostgreSQL: {:?}",
            lite_indexes.difference(&pg_indexes).collect::<Vec<_>>(),
            pg_indexes.difference(&lite_indexes).collect::<Vec<_>>()
        );
    }
}
