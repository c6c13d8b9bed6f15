//! `gridkeeper-bench soak`: `gridkeeper serve` on a generated database under a steady mixed load
//! with bad input among it — reports, queue pages, case details, and malformed, oversized,
//! unknown and unauthorised requests — for a set time (30 minutes by default). Every window (a
//! minute by default) it samples the server's resident memory, its open file descriptors, the
//! size of SQLite's WAL and the window's latency; it fails when a request is answered otherwise
//! than expected (a 5xx above all) or when a resource keeps growing instead of levelling off.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use super::load::{self, Request};

#[derive(clap::Args)]
pub struct SoakArgs {
    /// The database (made by `generate` with `--cases` when it does not exist).
    #[arg(long, default_value = "target/bench/soak.db")]
    pub db: PathBuf,
    /// Cases of the database generated when `--db` does not exist.
    #[arg(long, default_value_t = 100_000)]
    pub cases: usize,
    /// Minutes of load.
    #[arg(long, default_value_t = 30.0)]
    pub minutes: f64,
    /// Seconds between two samples.
    #[arg(long, default_value_t = 60.0)]
    pub sample_seconds: f64,
    /// Requests per second offered.
    #[arg(long, default_value_t = 200.0)]
    pub rate: f64,
    #[arg(long, default_value_t = 16)]
    pub connections: usize,
}

/// One window of the run.
#[derive(Debug, Clone, Serialize)]
pub struct Sample {
    pub minute: f64,
    pub rss_mb: f64,
    pub open_files: usize,
    pub wal_mb: f64,
    pub per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub errors: u64,
}

/// Whether `values` (one per window, in order) level off: the largest of the last third is at
/// most `slack` above the largest of the middle third (the first third is the warm-up: caches
/// fill, pools open). Answers the growth when they do not.
pub fn keeps_growing(values: &[f64], ratio: f64, slack: f64) -> Option<f64> {
    if values.len() < 3 {
        return None;
    }
    let third = values.len() / 3;
    let max = |s: &[f64]| s.iter().copied().fold(f64::MIN, f64::max);
    let (middle, last) = (max(&values[third..values.len() - third]), max(&values[values.len() - third..]));
    (last > middle * ratio + slack).then_some(last - middle)
}

fn open_files(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map(|d| d.count()).unwrap_or(0)
}

fn wal_mb(db: &Path) -> f64 {
    let wal = PathBuf::from(format!("{}-wal", db.display()));
    std::fs::metadata(wal).map(|m| m.len() as f64 / 1e6).unwrap_or(0.0)
}

/// The mix: per 20 requests, 4 reports, 6 queue pages, 6 details and 4 pieces of bad input,
/// each with the status that answers it.
fn mix(s: &super::queries::Served) -> Vec<Request> {
    let reports = super::intake::report_bodies(&s.reference, &["路灯不亮，晚上出行不便".to_string()], 2000, 11);
    let get = |path: String| Request { post: false, path, body: None, expect: 200 };
    let bad = [
        // Malformed JSON, trailing garbage, an unknown field, a body past the report's limit.
        Request { post: true, path: "/api/v1/cases".into(), body: Some("{\"description\":".into()), expect: 400 },
        Request {
            post: true,
            path: "/api/v1/cases".into(),
            body: Some("{\"description\":\"x\"}junk".into()),
            expect: 400,
        },
        Request {
            post: true,
            path: "/api/v1/cases".into(),
            body: Some("{\"description\":\"路灯\",\"lat\":30.7,\"lon\":120.5,\"colour\":1}".into()),
            expect: 422,
        },
        Request {
            post: true,
            path: "/api/v1/cases".into(),
            body: Some(format!("{{\"description\":\"{}\"}}", "x".repeat(100_000))),
            expect: 413,
        },
        // An unknown filter, an out-of-range page size, a traversal, an unknown case.
        Request { post: false, path: "/api/v1/cases?colour=red".into(), body: None, expect: 422 },
        Request { post: false, path: "/api/v1/cases?limit=100000".into(), body: None, expect: 422 },
        Request { post: false, path: "/api/v1/media/..%2F..%2Fetc%2Fpasswd".into(), body: None, expect: 404 },
        Request { post: false, path: "/api/v1/cases/999999999".into(), body: None, expect: 404 },
    ];
    let mut out = vec![];
    for (i, body) in reports.into_iter().enumerate() {
        let community = &s.communities[i % s.communities.len()];
        out.push(Request { post: true, path: "/api/v1/cases".into(), body: Some(body), expect: 201 });
        for q in ["attention=true&sort=deadline", "state=reported"] {
            out.push(get(format!("/api/v1/cases?{q}&region={community}&limit=50")));
        }
        out.push(get(format!("/api/v1/cases/{}", 1 + (i as i64 * 7919) % s.cases.max(1))));
        if i % 2 == 0 {
            out.push(get(format!("/api/v1/cases/{}", 1 + (i as i64 * 104_729) % s.cases.max(1))));
        }
        out.push(bad[i % bad.len()].clone());
    }
    out
}

pub async fn run(config: gridkeeper::config::Config, args: SoakArgs) -> anyhow::Result<()> {
    if !args.db.exists() {
        let generate =
            super::db::GenerateArgs { cases: args.cases, years: 1, db: args.db.clone(), seed: 7, threads: None };
        super::db::run(config.clone(), generate).await?;
    }
    let s = super::queries::serve(&config, &args.db).await?;
    let pid = s.child.id().unwrap_or(0);
    let requests = Arc::new(mix(&s));
    let window = Duration::from_secs_f64(args.sample_seconds);
    let windows = ((args.minutes * 60.0) / args.sample_seconds).ceil().max(3.0) as usize;
    println!(
        "\n| soak: {} cases, {:.0} requests/s offered, {} connections | RSS MB | open files | WAL MB | requests/s | p50 ms | p99 ms | unexpected |\n|---|---|---|---|---|---|---|---|",
        s.cases, args.rate, args.connections
    );
    let mut samples: Vec<Sample> = vec![];
    for w in 0..windows {
        let o = load::run(
            &s.base,
            Some(super::db::BENCH_TOKEN),
            requests.clone(),
            args.connections,
            Some(args.rate),
            window,
        )
        .await?;
        let sample = Sample {
            minute: (w + 1) as f64 * args.sample_seconds / 60.0,
            rss_mb: load::memory_mb(pid).map_or(f64::NAN, |m| m.1),
            open_files: open_files(pid),
            wal_mb: wal_mb(&args.db),
            per_second: o.per_second,
            p50_ms: o.latency.p50_ms,
            p99_ms: o.latency.p99_ms,
            errors: o.errors,
        };
        println!(
            "| {:.1} min | {:.0} | {} | {:.1} | {:.0} | {:.1} | {:.1} | {} |",
            sample.minute,
            sample.rss_mb,
            sample.open_files,
            sample.wal_mb,
            sample.per_second,
            sample.p50_ms,
            sample.p99_ms,
            sample.errors
        );
        samples.push(sample);
    }
    let series = |f: fn(&Sample) -> f64| samples.iter().map(f).collect::<Vec<f64>>();
    let mut failures = vec![];
    if let Some(g) = keeps_growing(&series(|s| s.rss_mb), 1.10, 16.0) {
        failures.push(format!("resident memory kept growing (+{g:.0} MB in the last third)"));
    }
    if let Some(g) = keeps_growing(&series(|s| s.open_files as f64), 1.0, 8.0) {
        failures.push(format!("open files kept growing (+{g:.0} in the last third)"));
    }
    if let Some(g) = keeps_growing(&series(|s| s.wal_mb), 1.5, 8.0) {
        failures.push(format!("the WAL kept growing (+{g:.0} MB in the last third)"));
    }
    let unexpected: u64 = samples.iter().map(|s| s.errors).sum();
    if unexpected > 0 {
        failures.push(format!("{unexpected} requests were answered otherwise than expected (see the server's log)"));
    }
    super::write_json(
        "soak",
        &serde_json::json!({
            "database": args.db, "cases": s.cases, "rate": args.rate, "connections": args.connections,
            "samples": samples, "failures": failures, "machine": super::Machine::read(),
        }),
    )?;
    anyhow::ensure!(failures.is_empty(), "the soak failed: {}", failures.join("; "));
    println!("\nno growth that does not level off; every request answered as expected");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::keeps_growing;

    #[test]
    fn growth_that_levels_off_passes_and_a_leak_fails() {
        // Warm-up then flat, with noise.
        let flat = [100.0, 180.0, 200.0, 205.0, 198.0, 203.0, 201.0, 207.0, 204.0];
        assert_eq!(keeps_growing(&flat, 1.10, 16.0), None);
        // A leak: a steady climb.
        let leak: Vec<f64> = (0..9).map(|i| 200.0 + 30.0 * i as f64).collect();
        assert!(keeps_growing(&leak, 1.10, 16.0).is_some());
        // File descriptors: not one more may stay open for good.
        assert_eq!(keeps_growing(&[20.0, 31.0, 30.0, 31.0, 30.0, 31.0], 1.0, 8.0), None);
        assert!(keeps_growing(&[20.0, 30.0, 40.0, 50.0, 60.0, 70.0], 1.0, 8.0).is_some());
        assert_eq!(keeps_growing(&[1.0, 2.0], 1.0, 0.0), None, "too few samples to judge");
    }
}
