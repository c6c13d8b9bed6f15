//! `gridkeeper-bench measures`: every measure of a district over a year, from the rollups, each
//! checked against the scan of the events.

use std::path::PathBuf;
use std::time::Instant;

use gridkeeper::config::Config;
use gridkeeper_domain::measures::Measures;
use gridkeeper_store::{GroupBy, MeasureQuery};

pub async fn run(mut config: Config, cases: usize, db: PathBuf, runs: usize) -> anyhow::Result<()> {
    if let Some(dir) = db.parent() {
        std::fs::create_dir_all(dir)?;
    }
    config.database.url = format!("sqlite:{}", db.display());
    config.privacy.key_file = db.with_extension("keys");
    let now = chrono::Utc::now().timestamp_millis();
    {
        let t = Instant::now();
        let store = gridkeeper::open_store(&config).await?;
        println!("opened (migrations, rollups computed if they were not) in {:.1} s", t.elapsed().as_secs_f64());
        if store.count_cases().await? < cases as i64 {
            anyhow::ensure!(store.count_cases().await? == 0, "{} holds other cases; remove it first", db.display());
            let t = Instant::now();
            let town = gridkeeper_demo::generate(7, now, cases);
            let generated = t.elapsed();
            store.load_reference(&town.reference).await?;
            for p in &town.people {
                store.create_person(&p.person, now).await?;
            }
            store.import_history(&town.history, config.server.utc_offset_hours).await?;
            println!(
                "built {} cases: generated in {:.1} s, stored in {:.1} s",
                cases,
                generated.as_secs_f64(),
                (t.elapsed() - generated).as_secs_f64()
            );
        }
        let (counts, times, people) = store.rollup_rows().await?;
        let per_case = |n: i64| n as f64 / cases as f64;
        println!(
            "rollup rows: {counts} counts, {times} stage-time histograms, {people} per person: {:.1} per case \
             ({:.1} + {:.1} + {:.1})",
            per_case(counts + times + people),
            per_case(counts),
            per_case(times),
            per_case(people)
        );
    }
    // Timed on a store opened afresh, as after a start: its first query finds SQLite's page cache
    // empty (the operating system's file cache is as the build left it).
    let store = gridkeeper::open_store(&config).await?;
    let day = 24 * gridkeeper_domain::HOUR;
    // Local (UTC+8) midnight of today: the last 365 whole days, as a dashboard asks.
    let midnight = (now + 8 * gridkeeper_domain::HOUR).div_euclid(day) * day - 8 * gridkeeper_domain::HOUR;
    let district = Some(gridkeeper_domain::RegionCode::parse("330483")?);
    let days = MeasureQuery { region: district, from: midnight - 365 * day, to: midnight, now, ..Default::default() };
    let rolling = MeasureQuery { from: now - 365 * day, to: now, ..days.clone() };
    println!("\n| query ({runs} runs after the first) | first ms | p50 ms | max ms | groups | scan of the events ms |");
    println!("|---|---|---|---|---|---|");
    for (name, q, by) in [
        ("all measures, district, 365 whole days", &days, GroupBy::Nothing),
        ("… the last 365 × 24 hours up to now", &rolling, GroupBy::Nothing),
        ("… per grid", &days, GroupBy::Grid),
        ("… per department", &days, GroupBy::Department),
        ("… per category", &days, GroupBy::Category),
        ("… per person", &days, GroupBy::Person),
        ("… per category, rolling", &rolling, GroupBy::Category),
        ("… per person, rolling", &rolling, GroupBy::Person),
    ] {
        let mut ms = vec![];
        let mut fast = None;
        for _ in 0..=runs {
            let t = Instant::now();
            let counts = store.measure_counts_by(q, by).await?;
            let _: Vec<Measures> = counts.values().map(Measures::from_counts).collect();
            ms.push(t.elapsed().as_secs_f64() * 1000.0);
            fast.get_or_insert(counts);
        }
        let first = ms.remove(0);
        let max = ms.iter().copied().fold(0.0, f64::max);
        let p50 = super::quantile(&mut ms, 0.5);
        // The same by scanning the events: the ratio, and a check that both agree.
        let t = Instant::now();
        let slow = store.measure_counts_from_events(q, by).await?;
        let scan = t.elapsed().as_secs_f64() * 1000.0;
        let fast = fast.unwrap_or_default();
        anyhow::ensure!(fast == slow, "{name}: the rollups and the events disagree");
        println!("| {name} | {first:.1} | {p50:.1} | {max:.1} | {} | {scan:.0} |", fast.len());
    }
    println!("every answer equals the scan of the events");
    Ok(())
}
