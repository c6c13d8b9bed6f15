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
        // Drop runs inside the test's runtime: drop the database from a thread of its own.
        let (admin, name, pool) = (admin_url(), self.name.clone(), self.store.pool.clone());
        let done = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async {
                pool.close().await;
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
