//! Moving and keeping the data: `migrate-data` (SQLite to PostgreSQL).

use anyhow::{bail, Context};
use gridkeeper_store::transfer::Transfer;

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
