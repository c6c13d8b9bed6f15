//! Moving and keeping the data: `migrate-data` (SQLite to PostgreSQL), `backup`, `restore`.

use std::path::Path;

use anyhow::{bail, Context};
use gridkeeper_store::transfer::Transfer;
use gridkeeper_store::Backend;

/// Copies a SQLite deployment into an empty PostgreSQL database, with a progress bar, then
/// prints the rows and checksums of every table on both sides; fails if any differ.
pub async fn migrate_data(from: &str, to: &str) -> anyhow::Result<()> {
    let transfer = Transfer::prepare(from, to).await.context("cannot prepare the copy")?;
    let total: u64 = transfer.counts.iter().sum();
    let bar = indicatif::ProgressBar::new(total);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{msg:20} [{bar:40}] {pos}/{len} rows ({elapsed})")
            .expect("a valid template")
            .progress_chars("=> "),
    );
    let before: Vec<u64> = transfer.counts.iter().scan(0, |acc, n| Some(std::mem::replace(acc, *acc + n))).collect();
    transfer
        .copy(|table, done| {
            bar.set_message(transfer.tables[table].name.clone());
            bar.set_position(before[table] + done);
        })
        .await
        .context("the copy failed; nothing was written")?;
    bar.finish_and_clear();
    let reports = transfer.verify().await.context("cannot compare the copy")?;
    println!(
        "{:<22} {:>10} {:>10}  {:<16} {:<16}  ok",
        "table", "sqlite", "postgres", "sha256 sqlite", "sha256 postgres"
    );
    for r in &reports {
        println!(
            "{:<22} {:>10} {:>10}  {:<16} {:<16}  {}",
            r.table,
            r.source_rows,
            r.target_rows,
            &r.source_checksum[..16],
            &r.target_checksum[..16],
            if r.matches() { "yes" } else { "NO" }
        );
    }
    let rows: u64 = reports.iter().map(|r| r.target_rows).sum();
    let bad: Vec<&str> = reports.iter().filter(|r| !r.matches()).map(|r| r.table.as_str()).collect();
    if !bad.is_empty() {
        bail!("the copy differs from the source in: {}", bad.join(", "));
    }
    println!("{} tables, {rows} rows copied; every count and checksum matches", reports.len());
    println!("keep the same key file (privacy.key_file) with the new database: personal data stays sealed");
    Ok(())
}

/// `gridkeeper backup FILE`: SQLite copies itself while serving (`VACUUM INTO`); PostgreSQL is
/// dumped by `pg_dump` (custom format).
pub async fn backup(url: &str, file: &Path) -> anyhow::Result<()> {
    match Backend::of(url) {
        Some(Backend::Sqlite) => {
            let started = std::time::Instant::now();
            let bytes = gridkeeper_store::backup::sqlite_backup(url, file).await?;
            println!(
                "backed up to {} ({:.1} MB, {:.1} s); keep the key file with it",
                file.display(),
                bytes as f64 / 1e6,
                started.elapsed().as_secs_f64()
            );
        }
        Some(Backend::Postgres) => {
            if file.exists() {
                bail!("{} exists already", file.display());
            }
            run(std::process::Command::new("pg_dump").arg("--format=custom").arg("--file").arg(file).arg(url))?;
            println!("dumped to {} with pg_dump; keep the key file with it", file.display());
        }
        None => bail!("database.url must start with `sqlite:` or `postgres://`"),
    }
    Ok(())
}

/// `gridkeeper restore FILE`: the backup in place of the configured database (server stopped).
pub async fn restore(url: &str, file: &Path, replace: bool) -> anyhow::Result<()> {
    if !file.is_file() {
        bail!("there is no backup at {}", file.display());
    }
    match Backend::of(url) {
        Some(Backend::Sqlite) => {
            gridkeeper_store::backup::sqlite_restore(file, url, replace).await?;
        }
        Some(Backend::Postgres) => {
            // One transaction: into a database that already holds the tables, it fails whole
            // unless --replace drops them first.
            let mut c = std::process::Command::new("pg_restore");
            c.args(["--single-transaction", "--no-owner", "--exit-on-error"]);
            if replace {
                c.args(["--clean", "--if-exists"]);
            }
            run(c.arg("--dbname").arg(url).arg(file))?;
        }
        None => bail!("database.url must start with `sqlite:` or `postgres://`"),
    }
    println!("restored from {}; `gridkeeper migrate` or `serve` brings its schema up to date", file.display());
    Ok(())
}

fn run(c: &mut std::process::Command) -> anyhow::Result<()> {
    let program = c.get_program().to_string_lossy().into_owned();
    let out = c.output().with_context(|| format!("cannot run {program}: is PostgreSQL's client installed?"))?;
    if !out.status.success() {
        bail!("{program} failed: {}", String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(())
}
