//! Backups of a SQLite database while it serves (`VACUUM INTO`: a consistent, compacted copy
//! taken inside one read transaction, so writers go on), and their restore. PostgreSQL has its
//! own proven tools (`pg_dump`, `pg_restore`, base backups): the binary runs those.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Connection, SqliteConnection};

use crate::{Result, StoreError};

fn invalid(field: &str, reason: impl Into<String>) -> StoreError {
    StoreError::Invalid(gridkeeper_domain::FieldError::new(field, reason))
}

/// The file of a `sqlite:` URL.
pub fn sqlite_path(url: &str) -> Option<PathBuf> {
    let rest = url.strip_prefix("sqlite:")?;
    let path = rest.trim_start_matches("//").split('?').next().unwrap_or_default();
    (!path.is_empty() && !path.contains(":memory:")).then(|| PathBuf::from(path))
}

/// Writes a consistent copy of the SQLite database at `url` to `file` (which must not exist),
/// while other connections go on reading and writing. Returns the copy's size in bytes.
pub async fn sqlite_backup(url: &str, file: &Path) -> Result<u64> {
    let db = sqlite_path(url).ok_or_else(|| invalid("database.url", "is not a SQLite file"))?;
    if !db.is_file() {
        return Err(invalid("database.url", format!("there is no database at {}", db.display())));
    }
    if file.exists() {
        return Err(invalid("file", format!("{} exists already", file.display())));
    }
    let opts = SqliteConnectOptions::from_str(url)?.read_only(true);
    let mut c = SqliteConnection::connect_with(&opts).await?;
    let target = file.to_str().ok_or_else(|| invalid("file", "is not valid UTF-8"))?;
    sqlx::query("VACUUM INTO ?").bind(target).execute(&mut c).await?;
    c.close().await?;
    check(file).await?;
    Ok(std::fs::metadata(file).map_err(|e| invalid("file", e.to_string()))?.len())
}

/// Checks that `file` is a sound SQLite database of gridkeeper.
async fn check(file: &Path) -> Result<()> {
    let opts = SqliteConnectOptions::new().filename(file).read_only(true);
    let mut c = SqliteConnection::connect_with(&opts).await?;
    let verdict: String = sqlx::query_scalar("PRAGMA integrity_check").fetch_one(&mut c).await?;
    if verdict != "ok" {
        return Err(invalid("file", format!("{} is damaged: {verdict}", file.display())));
    }
    let tables: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN ('cases', 'case_events', '_sqlx_migrations')",
    )
    .fetch_one(&mut c)
    .await?;
    c.close().await?;
    if tables != 3 {
        return Err(invalid("file", format!("{} is not a gridkeeper database", file.display())));
    }
    Ok(())
}

/// Puts the backup `file` in place of the SQLite database of `url` (the server must be stopped).
/// An existing database is replaced only with `replace`; the one replaced is kept beside it as
/// `NAME.before-restore`.
pub async fn sqlite_restore(file: &Path, url: &str, replace: bool) -> Result<()> {
    let db = sqlite_path(url).ok_or_else(|| invalid("database.url", "is not a SQLite file"))?;
    check(file).await?;
    let io = |e: std::io::Error| invalid("file", e.to_string());
    if db.exists() {
        if !replace {
            return Err(invalid(
                "database.url",
                format!("{} exists: stop the server and pass --replace to put the backup in its place", db.display()),
            ));
        }
        // Fold the WAL into the old file first, so that what is kept aside is whole.
        let mut c = SqliteConnection::connect(url).await?;
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(&mut c).await?;
        c.close().await?;
        let aside = db.with_extension("before-restore");
        std::fs::rename(&db, &aside).map_err(io)?;
    }
    for suffix in ["-wal", "-shm"] {
        let mut side = db.clone().into_os_string();
        side.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(side));
    }
    let tmp = db.with_extension("restoring");
    std::fs::copy(file, &tmp).map_err(io)?;
    std::fs::rename(&tmp, &db).map_err(io)?;
    Ok(())
}
