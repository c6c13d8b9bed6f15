//! `gridkeeper-bench measures`: every measure of a district over a year, straight from the events.

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
    let store = gridkeeper::open_store(&config).await?;
    let now = chrono::Utc::now().timestamp_millis();
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
    let day = 24 * gridkeeper_domain::HOUR;
    // Local (UTC+8) midnight of today: the last 365 whole days, as a dashboard asks.
    let midnight = (now + 8 * gridkeeper_domain::HOUR).div_euclid(day) * day - 8 * gridkeeper_domain::HOUR;
    let district = Some(gridkeeper_domain::RegionCode::parse("330483")?);
    let days = MeasureQuery { region: district, from: midnight - 365 * day, to: midnight, now, ..Default::default() };
    let rolling = MeasureQuery { from: now - 365 * day, to: now, ..days.clone() };
    println!("\n| query ({runs} runs) | p50 ms | max ms |\n|---|---|---|");
    let timed = |name: &str, mut ms: Vec<f64>| {
        let max = ms.iter().copied().fold(0.0, f64::max);
        println!("| {name} | {:.1} | {:.1} |", super::quantile(&mut ms, 0.5), max);
    };
    let mut fast = None;
    for (name, q, by) in [
        ("all measures, district, 365 whole days", &days, GroupBy::Nothing),
        ("… the last 365 × 24 hours up to now", &rolling, GroupBy::Nothing),
        ("… per grid", &days, GroupBy::Grid),
        ("… per department", &days, GroupBy::Department),
        ("… per category", &days, GroupBy::Category),
        ("… per person", &days, GroupBy::Person),
    ] {
        let mut ms = vec![];
        for _ in 0..runs {
            let t = Instant::now();
            let counts = store.measure_counts_by(q, by).await?;
            let _: Vec<Measures> = counts.values().map(Measures::from_counts).collect();
            ms.push(t.elapsed().as_secs_f64() * 1000.0);
            fast.get_or_insert(counts);
        }
        timed(name, ms);
    }
    // The same first query by scanning the events, once: the ratio, and a check that both agree.
    let t = Instant::now();
    let slow = store.measure_counts_from_events(&days, GroupBy::Nothing).await?;
    timed("… the same, scanning the events instead (1 run)", vec![t.elapsed().as_secs_f64() * 1000.0]);
    anyhow::ensure!(fast.as_ref() == Some(&slow), "the rollups and the events disagree");
    println!("rollups and events agree");
    Ok(())
}
