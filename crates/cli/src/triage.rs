//! `gridkeeper triage evaluate`: how well category suggestions would do on a labelled CSV file,
//! by a train/test split or by repeated stratified cross-validation, and how fast training and
//! suggesting are (`--synthetic N`). `gridkeeper triage floods`: the precision and recall of
//! folding reports of one problem, on the demo's history. `gridkeeper triage surges`: how often
//! the surge test alarms on the demo's history, which has no surges (its false alarm rate).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use gridkeeper_triage::{
    cross_validate_with, evaluate_with, model::SplitMix, text, Example, Extra, LabelText, Text, Trainer,
};

#[derive(Subcommand)]
pub enum TriageCommand {
    /// Evaluate category suggestion on a labelled CSV file: top-1 and top-3 accuracy, precision
    /// and recall per label, the confusion matrix.
    Evaluate(Box<EvaluateArgs>),
    /// Pairwise precision and recall of folding the demo's reports of one problem (its
    /// duplicates and its morning floods), for several text similarity thresholds.
    Floods(FloodsArgs),
    /// False alarms of the surge test on the demo's history (which has no surges): alarms per
    /// grid per month, for several alpha.
    Surges(SurgesArgs),
}

#[derive(Args)]
pub struct FloodsArgs {
    /// Seed of the demo town.
    #[arg(long, default_value_t = 330483)]
    seed: u64,
    /// Cases in the demo's simulated year.
    #[arg(long, default_value_t = 30_000)]
    cases: usize,
    /// Reports of the last DAYS days are folded.
    #[arg(long, default_value_t = 90)]
    days: i64,
    /// Text similarity thresholds to try.
    #[arg(long, value_delimiter = ',', default_value = "0.1,0.2,0.25,0.3,0.35,0.4,0.5")]
    similarity: Vec<f32>,
}

#[derive(Args)]
pub struct SurgesArgs {
    /// Seed of the demo town.
    #[arg(long, default_value_t = 330483)]
    seed: u64,
    /// Cases in the demo's simulated year.
    #[arg(long, default_value_t = 30_000)]
    cases: usize,
    /// Alphas to try.
    #[arg(long, value_delimiter = ',', default_value = "0.01,0.001,0.0001")]
    alpha: Vec<f64>,
}

#[derive(Args)]
pub struct EvaluateArgs {
    /// All the labelled examples, for cross-validation (with --folds).
    #[arg(long, conflicts_with_all = ["train", "test"], required_unless_present = "train")]
    data: Option<PathBuf>,
    /// Folds of the cross-validation.
    #[arg(long, default_value_t = 5)]
    folds: usize,
    /// Seeds of the fold assignment: one cross-validation per seed.
    #[arg(long, value_delimiter = ',', default_value = "1,2,3,4,5")]
    seeds: Vec<u64>,
    /// Training examples (with --test).
    #[arg(long, requires = "test")]
    train: Option<PathBuf>,
    /// Test examples (with --train).
    #[arg(long, requires = "train")]
    test: Option<PathBuf>,
    /// Column with the report's subject (title).
    #[arg(long, default_value = "subject")]
    subject_column: String,
    /// Column with the report's body.
    #[arg(long, default_value = "body")]
    body_column: String,
    /// Column with the category chosen.
    #[arg(long, default_value = "label")]
    label_column: String,
    /// Column with a report's id (to drop unlabelled reports that are labelled ones).
    #[arg(long, default_value = "id")]
    id_column: String,
    /// Unlabelled reports of the same kind (same columns, no label needed), for the document
    /// frequencies of words (`Extra::unlabelled`). Any that shares its id, subject or body with a
    /// labelled report, or repeats another, is dropped. Repeatable.
    #[arg(long, value_name = "FILE")]
    unlabelled: Vec<PathBuf>,
    /// The category tree as CSV: the first column a label, every other column a name under it;
    /// each distinct name becomes a short example of its label (`Extra::label_texts`).
    #[arg(long, value_name = "FILE")]
    taxonomy: Option<PathBuf>,
    /// A trainer setting, as NAME=VALUE (names as in the `Trainer` type: l2, subject_weight,
    /// words_weight, epochs, hash_bits, max_ngram, word_pairs, calibrate, …). Repeatable.
    #[arg(long = "set", value_name = "NAME=VALUE")]
    settings: Vec<String>,
    /// Print the full report for every seed, not only the first.
    #[arg(long)]
    verbose: bool,
    /// Also time training on N synthetic texts made of words of the training data, and the
    /// latency of suggestions (p50/p99).
    #[arg(long, value_name = "N")]
    synthetic: Option<usize>,
}

/// One labelled (or unlabelled) row.
struct Row {
    id: String,
    subject: String,
    body: String,
    label: String,
}

impl Row {
    fn example(&self) -> Example<'_> {
        Example { subject: &self.subject, body: &self.body, label: &self.label }
    }
}

fn read(path: &Path, args: &EvaluateArgs, labelled: bool) -> anyhow::Result<Vec<Row>> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let headers = reader.headers()?.clone();
    let column = |name: &str| {
        headers
            .iter()
            .position(|h| h.trim_start_matches('\u{feff}') == name)
            .with_context(|| format!("{} has no column `{name}`; its columns: {:?}", path.display(), headers))
    };
    let (s, b) = (column(&args.subject_column)?, column(&args.body_column)?);
    let l = if labelled { Some(column(&args.label_column)?) } else { None };
    let id = column(&args.id_column).ok();
    let mut rows = Vec::new();
    for (n, record) in reader.records().enumerate() {
        let record = record.with_context(|| format!("{} row {}", path.display(), n + 2))?;
        let field = |i: usize| record.get(i).unwrap_or("").to_string();
        let label = l.map(|l| field(l).trim().to_string()).unwrap_or_default();
        if labelled && label.is_empty() {
            continue;
        }
        rows.push(Row { id: id.map(field).unwrap_or_default(), subject: field(s), body: field(b), label });
    }
    Ok(rows)
}

/// The unlabelled reports of `--unlabelled`, without any that shares its id, subject or body with
/// a labelled one (which would leak test folds into the word statistics) or repeats another.
fn unlabelled(args: &EvaluateArgs, labelled: &[&Row]) -> anyhow::Result<(Vec<Row>, usize)> {
    let key = |s: &str| s.chars().filter(|c| c.is_alphanumeric()).collect::<String>();
    let keys = |r: &Row| {
        let mut k = vec![format!("s:{}", key(&r.subject)), format!("b:{}", key(&r.body))];
        if !r.id.trim().is_empty() {
            k.push(format!("id:{}", r.id.trim()));
        }
        k
    };
    let mut seen: std::collections::HashSet<String> = labelled.iter().flat_map(|r| keys(r)).collect();
    let (mut kept, mut dropped) = (Vec::new(), 0);
    for path in &args.unlabelled {
        for r in read(path, args, false)? {
            let k = keys(&r);
            if k.iter().any(|k| seen.contains(k)) {
                dropped += 1;
                continue;
            }
            seen.extend(k);
            kept.push(r);
        }
    }
    Ok((kept, dropped))
}

/// Each distinct name of the category tree (`--taxonomy`: a label, then its names) as (label,
/// name).
fn taxonomy(path: &Path) -> anyhow::Result<Vec<(String, String)>> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let mut names = Vec::new();
    for record in reader.records() {
        let record = record?;
        let mut fields = record.iter().map(str::trim);
        let Some(label) = fields.next().filter(|l| !l.is_empty()) else { continue };
        names.extend(fields.filter(|n| !n.is_empty()).map(|n| (label.to_string(), n.to_string())));
    }
    names.sort();
    names.dedup();
    Ok(names)
}

/// The trainer with the `--set NAME=VALUE` settings applied over the defaults.
fn trainer(settings: &[String]) -> anyhow::Result<Trainer> {
    let mut object = serde_json::Map::new();
    for s in settings {
        let (name, value) = s.split_once('=').with_context(|| format!("`{s}` is not NAME=VALUE"))?;
        let value = serde_json::from_str(value).unwrap_or_else(|_| serde_json::Value::String(value.to_string()));
        object.insert(name.trim().to_string(), value);
    }
    serde_json::from_value(serde_json::Value::Object(object)).context("invalid --set")
}

fn mean_and_spread(xs: &[f64]) -> (f64, f64) {
    let n = xs.len().max(1) as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0).max(1.0);
    (mean, var.sqrt())
}

pub fn run(cmd: TriageCommand) -> anyhow::Result<()> {
    let args = match cmd {
        TriageCommand::Evaluate(args) => *args,
        TriageCommand::Floods(args) => return floods(&args),
        TriageCommand::Surges(args) => return surges(&args),
    };
    let trainer = trainer(&args.settings)?;
    println!("trainer: {}", serde_json::to_string(&trainer)?);
    text::warm_up();
    let names = args.taxonomy.as_deref().map(taxonomy).transpose()?.unwrap_or_default();
    let label_texts: Vec<LabelText> = names.iter().map(|(label, text)| LabelText { label, text }).collect();
    let train_rows = match (&args.data, &args.train, &args.test) {
        (Some(data), _, _) => {
            let rows = read(data, &args, true)?;
            let examples: Vec<Example> = rows.iter().map(Row::example).collect();
            let (others, dropped) = unlabelled(&args, &rows.iter().collect::<Vec<_>>())?;
            let texts: Vec<Text> = others.iter().map(|r| Text { subject: &r.subject, body: &r.body }).collect();
            let extra = Extra { unlabelled: &texts, label_texts: &label_texts };
            println!("{}: {} examples, {}-fold stratified cross-validation", data.display(), rows.len(), args.folds);
            println!(
                "extras: {} unlabelled reports ({dropped} dropped as labelled or repeated), {} category names",
                texts.len(),
                label_texts.len()
            );
            let (mut top1, mut top3) = (Vec::new(), Vec::new());
            for (i, &seed) in args.seeds.iter().enumerate() {
                let started = Instant::now();
                let report = cross_validate_with(&trainer, &examples, &extra, args.folds, seed)?;
                println!(
                    "seed {seed}: top-1 {:.1}%, top-3 {:.1}%, log-loss {:.3}, calibration error {:.3} ({:.1} s)",
                    100.0 * report.top1_accuracy(),
                    100.0 * report.top3_accuracy(),
                    report.log_loss,
                    report.calibration_error,
                    started.elapsed().as_secs_f64()
                );
                if i == 0 || args.verbose {
                    println!("{report}");
                }
                top1.push(100.0 * report.top1_accuracy());
                top3.push(100.0 * report.top3_accuracy());
            }
            let ((m1, s1), (m3, s3)) = (mean_and_spread(&top1), mean_and_spread(&top3));
            println!(
                "over {} seeds: top-1 {m1:.1}% ± {s1:.1} (min {:.1}), top-3 {m3:.1}% ± {s3:.1} (min {:.1})",
                args.seeds.len(),
                top1.iter().copied().fold(f64::INFINITY, f64::min),
                top3.iter().copied().fold(f64::INFINITY, f64::min),
            );
            rows
        }
        (None, Some(train), Some(test)) => {
            let (train_rows, test_rows) = (read(train, &args, true)?, read(test, &args, true)?);
            let train: Vec<Example> = train_rows.iter().map(Row::example).collect();
            let test: Vec<Example> = test_rows.iter().map(Row::example).collect();
            let (others, dropped) = unlabelled(&args, &train_rows.iter().chain(&test_rows).collect::<Vec<_>>())?;
            let texts: Vec<Text> = others.iter().map(|r| Text { subject: &r.subject, body: &r.body }).collect();
            let extra = Extra { unlabelled: &texts, label_texts: &label_texts };
            println!(
                "train {} examples, test {} examples; {} unlabelled reports ({dropped} dropped), {} category names",
                train.len(),
                test.len(),
                texts.len(),
                label_texts.len()
            );
            println!("{}", evaluate_with(&trainer, &train, &extra, &test)?);
            train_rows
        }
        _ => bail!("give --data FILE, or --train FILE and --test FILE"),
    };
    if let Some(n) = args.synthetic {
        synthetic(&trainer, &train_rows, n)?;
    }
    Ok(())
}

/// Times training on the real rows and on `n` synthetic ones, and the latency of suggestions.
fn synthetic(trainer: &Trainer, rows: &[Row], n: usize) -> anyhow::Result<()> {
    let examples: Vec<Example> = rows.iter().map(Row::example).collect();
    let started = Instant::now();
    let model = trainer.train(&examples)?;
    println!(
        "trained on the {} real examples in {:.2} s; model {} KB, temperature {:.2}",
        examples.len(),
        started.elapsed().as_secs_f64(),
        model.to_bytes().len() / 1024,
        model.temperature()
    );
    latency("real texts (subject + body, body up to 2,000 characters)", &model, &examples);

    // Words per label, drawn from the real rows; a synthetic text takes 80% of its words from its
    // label's words and 20% from any label's.
    let mut labels: Vec<&str> = rows.iter().map(|r| r.label.as_str()).collect();
    labels.sort();
    labels.dedup();
    let mut words: Vec<Vec<String>> = vec![Vec::new(); labels.len()];
    for r in rows {
        let l = labels.binary_search(&r.label.as_str()).expect("listed");
        words[l].extend(text::words(&r.subject));
        words[l].extend(text::words(&r.body));
    }
    let everything: Vec<&String> = words.iter().flatten().collect();
    let mut rng = SplitMix::new(7);
    let started = Instant::now();
    let mut texts: Vec<(String, String, &str)> = Vec::with_capacity(n);
    for _ in 0..n {
        let r = &rows[rng.below(rows.len())];
        let l = labels.binary_search(&r.label.as_str()).expect("listed");
        let mut sample = |count: usize| {
            let mut s = String::new();
            for _ in 0..count {
                let w = if rng.below(5) == 0 {
                    everything[rng.below(everything.len())]
                } else {
                    &words[l][rng.below(words[l].len())]
                };
                s.push_str(w);
            }
            s
        };
        let subject = sample(5);
        let body = sample(20);
        texts.push((subject, body, labels[l]));
    }
    let chars: usize = texts.iter().map(|(s, b, _)| s.chars().count() + b.chars().count()).sum();
    println!(
        "generated {n} synthetic texts ({:.0} characters each on average) in {:.1} s",
        chars as f64 / n.max(1) as f64,
        started.elapsed().as_secs_f64()
    );
    let synthetic: Vec<Example> = texts.iter().map(|(s, b, l)| Example { subject: s, body: b, label: l }).collect();
    let started = Instant::now();
    let big = trainer.train(&synthetic)?;
    println!(
        "trained on {n} synthetic texts in {:.1} s; model {} KB, temperature {:.2}",
        started.elapsed().as_secs_f64(),
        big.to_bytes().len() / 1024,
        big.temperature()
    );
    latency("real texts, by the synthetic model", &big, &examples);
    latency("synthetic texts, by the synthetic model", &big, &synthetic[..synthetic.len().min(10_000)]);
    Ok(())
}

fn latency(what: &str, model: &gridkeeper_triage::Model, examples: &[Example]) {
    let mut times: Vec<Duration> = Vec::with_capacity(examples.len() * 3);
    for _ in 0..3 {
        for e in examples {
            let started = Instant::now();
            std::hint::black_box(model.suggest(e.subject, e.body, 3));
            times.push(started.elapsed());
        }
    }
    times.sort();
    let at = |q: f64| times[((times.len() - 1) as f64 * q) as usize].as_secs_f64() * 1e6;
    println!(
        "suggestion latency on {what}: p50 {:.0} µs, p99 {:.0} µs, max {:.0} µs ({} calls, one thread)",
        at(0.5),
        at(0.99),
        at(1.0),
        times.len()
    );
}

/// The demo's reports of the last `days` days (not those handled on the spot) as they arrived —
/// with their reporter's category, if any, not yet the one the center decided —, with the problem
/// each is of: a duplicate's original, a flood's first report, else itself.
pub fn demo_reports(town: &gridkeeper_demo::DemoTown, days: i64) -> (Vec<gridkeeper_domain::Case>, Vec<u64>) {
    let now = town.history.iter().map(|(c, _)| c.reported_at).max().unwrap_or(0);
    let since = now - days * 24 * gridkeeper_domain::HOUR;
    let mut problem: std::collections::HashMap<i64, i64> = Default::default();
    for flood in &town.floods {
        for id in flood {
            problem.insert(*id, flood[0]);
        }
    }
    let cases: Vec<gridkeeper_domain::Case> = town
        .history
        .iter()
        .map(|(c, _)| c)
        .filter(|c| c.reported_at >= since && !c.on_the_spot)
        .map(|c| gridkeeper_domain::Case { category: None, ..c.clone() })
        .collect();
    let truth = cases.iter().map(|c| *problem.get(&c.id).unwrap_or(&c.duplicate_of.unwrap_or(c.id)) as u64).collect();
    (cases, truth)
}

/// The category model the server would have when the reports arrive: trained as the server
/// trains it ([`gridkeeper_server::triage::train`]) on the cases decided before `before`.
pub fn demo_model(town: &gridkeeper_demo::DemoTown, before: i64) -> anyhow::Result<gridkeeper_triage::Model> {
    let decided: Vec<gridkeeper_store::TrainingCase> = town
        .history
        .iter()
        .map(|(c, _)| c)
        .filter(|c| c.reported_at < before)
        .filter_map(|c| {
            Some(gridkeeper_store::TrainingCase {
                id: c.id,
                description: c.description.clone(),
                category: c.category?,
                scope_region: c.scope_region().to_string(),
                lead_department: c.lead_department,
            })
        })
        .collect();
    let names = gridkeeper_server::triage::category_names(&town.reference.categories);
    let (model, _) = gridkeeper_server::triage::train(&Default::default(), &decided, &names)?;
    Ok(model)
}

/// The demo's categories by id.
fn categories(town: &gridkeeper_demo::DemoTown) -> std::collections::HashMap<i64, gridkeeper_domain::Category> {
    town.reference.categories.iter().map(|c| (c.id, c.clone())).collect()
}

fn floods(args: &FloodsArgs) -> anyhow::Result<()> {
    let now = chrono::Utc::now().timestamp_millis();
    let started = Instant::now();
    let town = gridkeeper_demo::generate(args.seed, now, args.cases);
    let (cases, truth) = demo_reports(&town, args.days);
    let model = demo_model(&town, cases.first().map_or(now, |c| c.reported_at))?;
    let by_id = categories(&town);
    let problems = truth.iter().collect::<std::collections::HashSet<_>>().len();
    println!(
        "demo seed {} with {} cases ({:.1} s): {} reports in the last {} days, {} problems",
        args.seed,
        args.cases,
        started.elapsed().as_secs_f64(),
        cases.len(),
        args.days,
        problems
    );
    println!("| similarity ≥ | pairs folded | pairs of one problem | precision | recall | groups of 2+ |");
    println!("|---|---|---|---|---|---|");
    for &min_similarity in &args.similarity {
        let settings = gridkeeper_triage::floods::FoldSettings {
            min_similarity,
            ..gridkeeper_triage::floods::FoldSettings::default()
        };
        let started = Instant::now();
        let groups = gridkeeper_server::triage::fold_cases(&cases, &by_id, Some(&model), &settings);
        let took = started.elapsed();
        let (precision, recall, folded, same) = gridkeeper_triage::floods::pair_scores(&groups, &truth);
        let pct = |v: Option<f64>| v.map_or("—".to_string(), |v| format!("{:.1}%", 100.0 * v));
        println!(
            "| {min_similarity} | {folded} | {same} | {} | {} | {} | ({:.2} s)",
            pct(precision),
            pct(recall),
            groups.iter().filter(|g| g.len() > 1).count(),
            took.as_secs_f64()
        );
    }
    Ok(())
}

/// The demo's daily report counts as the server's surge series
/// ([`gridkeeper_server::triage::surge_series`]): each report in its grid, its category decided or
/// suggested, its local day.
fn demo_daily_counts(
    town: &gridkeeper_demo::DemoTown,
) -> std::collections::HashMap<(String, Option<i64>), std::collections::BTreeMap<i64, u32>> {
    let day = 24 * gridkeeper_domain::HOUR;
    let counts = town.history.iter().map(|(c, _)| gridkeeper_store::DailyCount {
        scope_region: c.scope_region().to_string(),
        category: c.category.or(c.suggested_category),
        day: (c.reported_at + 8 * gridkeeper_domain::HOUR).div_euclid(day),
        count: 1,
    });
    gridkeeper_server::triage::surge_series(counts, &categories(town))
}

fn surges(args: &SurgesArgs) -> anyhow::Result<()> {
    use gridkeeper_triage::surges::{test_day, SurgeSettings};
    let now = chrono::Utc::now().timestamp_millis();
    let town = gridkeeper_demo::generate(args.seed, now, args.cases);
    let series = demo_daily_counts(&town);
    let day = 24 * gridkeeper_domain::HOUR;
    let today = (now + 8 * gridkeeper_domain::HOUR).div_euclid(day);
    let weeks = SurgeSettings::default().weeks as i64;
    // Days with a full history before them, not today (partial).
    let days: Vec<i64> = (today - 365 + 7 * weeks..today).collect();
    let grids = series.keys().map(|(g, _)| g).collect::<std::collections::HashSet<_>>().len();
    let months = days.len() as f64 / 30.0;
    println!(
        "demo seed {} with {} cases: {} grids (and the district outside them), {} series, {} days tested ({:.1} months)",
        args.seed,
        args.cases,
        grids,
        series.len(),
        days.len(),
        months
    );
    println!("| alpha | tests | alarms | alarms per grid per month | share of tests |");
    println!("|---|---|---|---|---|");
    for &alpha in &args.alpha {
        let s = SurgeSettings { alpha, ..SurgeSettings::default() };
        let (mut tests, mut alarms) = (0u64, 0u64);
        for counts in series.values() {
            for &d in &days {
                // A series is tested on the days its grid reported it (a day with none cannot alarm).
                if !counts.contains_key(&d) {
                    continue;
                }
                tests += 1;
                alarms += u64::from(test_day(counts, d, &s).alarming(&s));
            }
        }
        println!(
            "| {alpha} | {tests} | {alarms} | {:.3} | {:.5} |",
            alarms as f64 / grids as f64 / months,
            alarms as f64 / tests.max(1) as f64
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Folding the demo's reports of one problem: precision first (a report folded into another
    /// problem's group would be closed wrongly), recall well above none, and both floods found.
    #[test]
    fn the_demo_floods_fold_with_high_precision() {
        let town = gridkeeper_demo::generate(5, chrono::Utc::now().timestamp_millis(), 6_000);
        let (cases, truth) = demo_reports(&town, 120);
        let model = demo_model(&town, cases[0].reported_at).unwrap();
        let settings = gridkeeper_triage::floods::FoldSettings::default();
        let groups = gridkeeper_server::triage::fold_cases(&cases, &categories(&town), Some(&model), &settings);
        let (precision, recall, folded, same) = gridkeeper_triage::floods::pair_scores(&groups, &truth);
        let (precision, recall) = (precision.unwrap(), recall.unwrap());
        assert!(precision >= 0.9, "precision {precision} ({folded} pairs folded, {same} of one problem)");
        assert!(recall >= 0.4, "recall {recall} ({folded} pairs folded, {same} of one problem)");
        for flood in &town.floods {
            let index: Vec<usize> = flood.iter().map(|id| cases.iter().position(|c| c.id == *id).unwrap()).collect();
            assert!(
                groups.iter().any(|g| index.iter().filter(|i| g.contains(i)).count() >= 2),
                "flood {flood:?} folded"
            );
        }
    }

    /// The surge test on a year of the demo, which has no surges: few alarms per grid and month.
    #[test]
    fn the_surge_test_rarely_alarms_on_a_usual_year() {
        use gridkeeper_triage::surges::{test_day, SurgeSettings};
        let town = gridkeeper_demo::generate(5, chrono::Utc::now().timestamp_millis(), 6_000);
        let series = demo_daily_counts(&town);
        let s = SurgeSettings::default();
        let last = series.values().filter_map(|c| c.keys().max()).max().copied().unwrap();
        let (mut tests, mut alarms) = (0, 0);
        for counts in series.values() {
            for d in last - 300..last {
                tests += 1;
                alarms += usize::from(test_day(counts, d, &s).alarming(&s));
            }
        }
        assert!(tests > 10_000, "{tests}");
        assert!((alarms as f64) < 3.0 * s.alpha * tests as f64, "{alarms} alarms in {tests} tests");
    }
}
