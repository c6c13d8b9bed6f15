//! `gridkeeper-bench triage` (`target/bench/triage.json`): the category model at scale on the
//! demo's history, as the server trains and uses it — training on N decided cases against the
//! ceiling of only reading their features (the work no trainer can skip), a suggestion against
//! only reading the same text's features, folding the 1,000 newest reports, and the peak memory
//! of training. Targets (issue 19): a suggestion ≤ 1 ms at the median on one core; training on
//! 1,000,000 cases in minutes.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use gridkeeper_demo::LargeHistory;
use gridkeeper_domain::{Case, Category};
use gridkeeper_server::triage;
use gridkeeper_store::TrainingCase;
use gridkeeper_triage::floods::FoldSettings;
use gridkeeper_triage::text;

#[derive(clap::Args)]
pub struct TriageArgs {
    /// Cases of the demo's history (the decided ones are learned from).
    #[arg(long, default_value_t = 200_000)]
    pub cases: usize,
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Held-out decided cases suggested for (the newest).
    #[arg(long, default_value_t = 10_000)]
    pub suggestions: usize,
}

fn micros(mut v: Vec<f64>) -> (f64, f64) {
    (super::quantile(&mut v, 0.5), super::quantile(&mut v, 0.99))
}

/// Peak resident memory of this process so far, in MB.
fn peak_mb() -> f64 {
    crate::load::memory_mb(std::process::id()).map_or(f64::NAN, |(peak, _)| peak)
}

pub fn run(args: TriageArgs) -> anyhow::Result<()> {
    let machine = super::Machine::read();
    let now = chrono::Utc::now().timestamp_millis();
    let started = Instant::now();
    let big = Arc::new(LargeHistory::new(args.seed, now, 1, args.cases));
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let history = crate::import::generate_all(&big, threads);
    let generated = started.elapsed().as_secs_f64();
    let reference = big.reference();
    let decided: Vec<TrainingCase> = history
        .iter()
        .filter_map(|(c, _)| {
            Some(TrainingCase {
                id: c.id,
                description: c.description.clone(),
                category: c.category?,
                scope_region: c.scope_region().to_string(),
                lead_department: c.lead_department,
            })
        })
        .collect();
    let held = args.suggestions.min(decided.len() / 5);
    let (train, test) = decided.split_at(decided.len() - held);
    let names = triage::category_names(&reference.categories);
    println!(
        "demo history: {} cases ({} decided; {} learned from, {} held out) generated in {generated:.1} s; {} categories",
        history.len(),
        decided.len(),
        train.len(),
        test.len(),
        names.len() / 2
    );
    let before = peak_mb();
    text::warm_up();

    // The ceiling: only reading every training text's features.
    let t = Instant::now();
    let mut features = 0usize;
    for c in train {
        let body = text::normalise(&c.description, 2000);
        text::for_each_feature(&body, 2, true, |_| features += 1);
    }
    let ceiling = t.elapsed().as_secs_f64();

    // Training as the server does (its default settings, the categories' names).
    let t = Instant::now();
    let (model, _) = triage::train(&Default::default(), train, &names)?;
    let trained = t.elapsed().as_secs_f64();
    let peak = peak_mb();
    let bytes = model.to_bytes().len();

    // Suggestions for the held-out cases, one thread, against reading their features alone.
    let (mut suggest, mut read, mut right) = (Vec::new(), Vec::new(), 0usize);
    for c in test {
        let t = Instant::now();
        let s = model.suggest("", &c.description, 3);
        suggest.push(t.elapsed().as_secs_f64() * 1e6);
        right += usize::from(s.labels.first().is_some_and(|l| l.label == c.category.to_string()));
        let t = Instant::now();
        let mut n = 0usize;
        text::for_each_feature(&text::normalise(&c.description, 2000), 2, true, |_| n += 1);
        std::hint::black_box(n);
        read.push(t.elapsed().as_secs_f64() * 1e6);
    }
    let ((s50, s99), (r50, r99)) = (micros(suggest), micros(read));

    // Folding the 1,000 newest reports as they arrived (the reporter's category, else the
    // model's guess), as the server does.
    let categories: HashMap<i64, Category> = reference.categories.iter().map(|c| (c.id, c.clone())).collect();
    let newest: Vec<Case> =
        history.iter().rev().take(1000).map(|(c, _)| Case { category: None, ..c.clone() }).collect();
    let t = Instant::now();
    let groups = triage::fold_cases(&newest, &categories, Some(&model), &FoldSettings::default());
    let folded = t.elapsed().as_secs_f64();

    println!("\n| what | measured | ceiling / target |\n|---|---|---|");
    println!(
        "| train on {} cases (2 views, calibrated, 80 epochs at most) | {trained:.1} s ({:.0} cases/s) | reading their {features} features alone: {ceiling:.1} s (training is {:.0}× that) |",
        train.len(),
        train.len() as f64 / trained,
        trained / ceiling
    );
    println!("| peak RSS of training | {peak:.0} MB (before: {before:.0} MB) | — |");
    println!("| model bytes | {} KB | — |", bytes / 1024);
    println!(
        "| suggestion, one thread ({} held-out cases) | p50 {s50:.0} µs, p99 {s99:.0} µs | reading the text's features alone: p50 {r50:.0} µs, p99 {r99:.0} µs; target p50 ≤ 1,000 µs: **{}** |",
        test.len(),
        if s50 <= 1000.0 { "met" } else { "missed" }
    );
    println!(
        "| first suggestion right (held-out, newest) | {:.1}% | — |",
        100.0 * right as f64 / test.len().max(1) as f64
    );
    println!(
        "| fold the 1,000 newest reports (model guesses included) | {:.0} ms, {} groups of 2+ | — |",
        folded * 1000.0,
        groups.iter().filter(|g| g.len() > 1).count()
    );
    println!(
        "\nmachine: {} × {}, {:.0} GiB, load {}",
        machine.cpus, machine.cpu_model, machine.memory_gib, machine.load_average
    );
    let report = serde_json::json!({
        "cases": history.len(),
        "learned_from": train.len(),
        "held_out": test.len(),
        "train_seconds": trained,
        "features_ceiling_seconds": ceiling,
        "train_peak_rss_mb": peak,
        "rss_before_training_mb": before,
        "model_bytes": bytes,
        "suggest_us": { "p50": s50, "p99": s99 },
        "read_features_us": { "p50": r50, "p99": r99 },
        "first_right": right as f64 / test.len().max(1) as f64,
        "fold_1000_ms": folded * 1000.0,
        "machine": machine,
    });
    super::write_json("triage", &report)?;
    Ok(())
}
