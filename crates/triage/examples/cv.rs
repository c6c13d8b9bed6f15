//! Repeated stratified cross-validation of category suggestion on a labelled CSV, optionally
//! with unlabelled reports (self-training, idf) and the category tree's names; the harness behind
//! the numbers of BENCHMARKS.md, "Triage: category suggestion".
//!
//! ```text
//! cargo run --release -p gridkeeper-triage --example cv -- \
//!   --data ../shared/data/cn_messages_labeled_dev.csv --seeds 1,2,3,4,5 \
//!   --unlabelled ../shared/data/cn_taidi2020_messages_with_likes_full.csv \
//!   --unlabelled ../shared/data/cn_taidi2020_messages_with_replies_full.csv \
//!   --taxonomy ../shared/data/cn_taidi2020_label_taxonomy.csv \
//!   [--set NAME=VALUE ...] [--timing 1000000] [--verbose]
//! ```
//!
//! Columns: 留言编号 (id), 留言主题 (subject), 留言详情 (body), 一级标签 (label); the taxonomy's
//! 一级分类/二级分类/三级分类. Unlabelled reports that share an id, a subject or a body with any
//! labelled one are dropped, and so are repeats among themselves: no test report is ever seen.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use gridkeeper_triage::model::SplitMix;
use gridkeeper_triage::{cross_validate_with, text, Example, Extra, LabelText, Model, Text, Trainer};

struct Args {
    data: String,
    seeds: Vec<u64>,
    folds: usize,
    settings: Vec<String>,
    unlabelled: Vec<String>,
    taxonomy: Option<String>,
    timing: Option<usize>,
    /// How the tree's rows become descriptions: `pair` ("second third" per row), `split` (each
    /// distinct second- and third-level name apart), `named` (pair, plus the label's own name).
    descriptions: String,
    verbose: bool,
}

fn args() -> Args {
    let mut a = Args {
        data: "../shared/data/cn_messages_labeled_dev.csv".into(),
        seeds: vec![1, 2, 3, 4, 5],
        folds: 5,
        settings: Vec::new(),
        unlabelled: Vec::new(),
        taxonomy: None,
        timing: None,
        descriptions: "split".into(),
        verbose: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--data" => a.data = value(),
            "--seeds" => a.seeds = value().split(',').map(|s| s.trim().parse().expect("a seed")).collect(),
            "--folds" => a.folds = value().parse().expect("a number of folds"),
            "--set" => a.settings.push(value()),
            "--unlabelled" => a.unlabelled.push(value()),
            "--taxonomy" => a.taxonomy = Some(value()),
            "--timing" => a.timing = Some(value().parse().expect("a number of synthetic texts")),
            "--descriptions" => a.descriptions = value(),
            "--verbose" => a.verbose = true,
            other => panic!("unknown argument {other}"),
        }
    }
    a
}

/// The named columns of a CSV file, every row (missing cells empty).
fn read(path: &str, columns: &[&str]) -> Vec<Vec<String>> {
    let mut reader =
        csv::ReaderBuilder::new().flexible(true).from_path(path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
    let headers = reader.headers().expect("a header").clone();
    let index: Vec<usize> = columns
        .iter()
        .map(|c| {
            headers
                .iter()
                .position(|h| h.trim_start_matches('\u{feff}') == *c)
                .unwrap_or_else(|| panic!("{path} has no column {c}"))
        })
        .collect();
    reader
        .records()
        .map(|r| {
            let r = r.unwrap_or_else(|e| panic!("{path}: {e}"));
            index.iter().map(|&i| r.get(i).unwrap_or("").to_string()).collect()
        })
        .collect()
}

/// The trainer with `NAME=VALUE` settings over the defaults.
fn trainer(settings: &[String]) -> Trainer {
    let mut object = serde_json::Map::new();
    for s in settings {
        let (name, value) = s.split_once('=').unwrap_or_else(|| panic!("`{s}` is not NAME=VALUE"));
        let value = serde_json::from_str(value).unwrap_or_else(|_| serde_json::Value::String(value.to_string()));
        object.insert(name.trim().to_string(), value);
    }
    serde_json::from_value(serde_json::Value::Object(object)).expect("valid --set")
}

fn mean_sd(xs: &[f64]) -> (f64, f64) {
    let n = xs.len().max(1) as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0).max(1.0);
    (mean, var.sqrt())
}

/// A text as compared for duplicates: its letters and digits only.
fn key(s: &str) -> String {
    s.chars().filter(|c| c.is_alphanumeric()).collect()
}

fn main() {
    let a = args();
    let trainer = trainer(&a.settings);
    println!("trainer: {}", serde_json::to_string(&trainer).expect("serialisable"));
    text::warm_up();

    let rows = read(&a.data, &["留言编号", "留言主题", "留言详情", "一级标签"]);
    let rows: Vec<Vec<String>> = rows.into_iter().filter(|r| !r[3].trim().is_empty()).collect();
    let examples: Vec<Example> =
        rows.iter().map(|r| Example { subject: &r[1], body: &r[2], label: r[3].trim() }).collect();

    // Unlabelled reports, without any labelled one nor repeats.
    let mut seen: HashSet<String> = HashSet::new();
    for r in &rows {
        seen.insert(format!("id:{}", r[0].trim()));
        seen.insert(format!("s:{}", key(&r[1])));
        seen.insert(format!("b:{}", key(&r[2])));
    }
    let mut unlabelled_rows: Vec<Vec<String>> = Vec::new();
    let mut dropped = 0;
    for path in &a.unlabelled {
        for r in read(path, &["留言编号", "留言主题", "留言详情"]) {
            let keys = [format!("id:{}", r[0].trim()), format!("s:{}", key(&r[1])), format!("b:{}", key(&r[2]))];
            if keys.iter().any(|k| seen.contains(k)) {
                dropped += 1;
                continue;
            }
            seen.extend(keys);
            unlabelled_rows.push(r);
        }
    }
    let unlabelled: Vec<Text> = unlabelled_rows.iter().map(|r| Text { subject: &r[1], body: &r[2] }).collect();

    // The category tree: one description per row, "second-level third-level", of the labels
    // that have examples.
    let labels: HashSet<&str> = examples.iter().map(|e| e.label).collect();
    let tree = a.taxonomy.as_deref().map(|p| read(p, &["一级分类", "二级分类", "三级分类"])).unwrap_or_default();
    let mut descriptions: Vec<(String, String)> = Vec::new();
    for r in tree.iter().filter(|r| labels.contains(r[0].trim())) {
        let (label, second, third) = (r[0].trim().to_string(), r[1].trim(), r[2].trim());
        match a.descriptions.as_str() {
            "pair" => descriptions.push((label, format!("{second} {third}"))),
            "split" => {
                descriptions.push((label.clone(), second.to_string()));
                descriptions.push((label, third.to_string()));
            }
            "named" => {
                descriptions.push((label.clone(), format!("{second} {third}")));
                descriptions.push((label.clone(), label));
            }
            other => panic!("unknown --descriptions {other}"),
        }
    }
    descriptions.sort();
    descriptions.dedup();
    let label_texts: Vec<LabelText> = descriptions.iter().map(|(l, t)| LabelText { label: l, text: t }).collect();
    let extra = Extra { unlabelled: &unlabelled, label_texts: &label_texts };
    println!(
        "{}: {} examples; {} unlabelled reports ({} dropped as labelled or repeated); {} label descriptions",
        a.data,
        examples.len(),
        unlabelled.len(),
        dropped,
        label_texts.len()
    );

    let (mut top1, mut top3, mut loss, mut ece) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let started_all = Instant::now();
    for &seed in &a.seeds {
        let started = Instant::now();
        let r = cross_validate_with(&trainer, &examples, &extra, a.folds, seed).expect("cross-validation");
        println!(
            "seed {seed}: top-1 {:.1}%, top-3 {:.1}%, log-loss {:.3}, calibration error {:.3} ({:.1} s)",
            100.0 * r.top1_accuracy(),
            100.0 * r.top3_accuracy(),
            r.log_loss,
            r.calibration_error,
            started.elapsed().as_secs_f64()
        );
        if a.verbose {
            println!("{r}");
        }
        top1.push(100.0 * r.top1_accuracy());
        top3.push(100.0 * r.top3_accuracy());
        loss.push(r.log_loss);
        ece.push(r.calibration_error);
    }
    let ((m1, s1), (m3, s3)) = (mean_sd(&top1), mean_sd(&top3));
    println!(
        "seeds {:?}: top-1 {m1:.1}% ± {s1:.1}, top-3 {m3:.1}% ± {s3:.1}, log-loss {:.3}, ECE {:.3} ({:.0} s)",
        a.seeds,
        mean_sd(&loss).0,
        mean_sd(&ece).0,
        started_all.elapsed().as_secs_f64()
    );

    if let Some(n) = a.timing {
        timing(&trainer, &examples, &extra, n);
    }
}

/// Training time and suggestion latency on the real reports, then on `n` synthetic ones.
fn timing(trainer: &Trainer, examples: &[Example], extra: &Extra, n: usize) {
    let started = Instant::now();
    let model = trainer.train_with(examples, extra).expect("a model");
    println!(
        "trained on the {} examples (and the extra) in {:.2} s; model {} KB, temperature {:.2}",
        examples.len(),
        started.elapsed().as_secs_f64(),
        model.to_bytes().len() / 1024,
        model.temperature()
    );
    latency("real reports", &model, examples);

    // As the CLI's `--synthetic`: 5 + 20 words drawn from the words of a label's reports, 1 in
    // 5 from any label's.
    let mut labels: Vec<&str> = examples.iter().map(|e| e.label).collect();
    labels.sort();
    labels.dedup();
    let mut words: Vec<Vec<String>> = vec![Vec::new(); labels.len()];
    for e in examples {
        let l = labels.binary_search(&e.label).expect("listed");
        words[l].extend(text::words(e.subject));
        words[l].extend(text::words(e.body));
    }
    let everything: Vec<&String> = words.iter().flatten().collect();
    let mut rng = SplitMix::new(7);
    let mut texts: Vec<(String, String, &str)> = Vec::with_capacity(n);
    for _ in 0..n {
        let l = labels.binary_search(&examples[rng.below(examples.len())].label).expect("listed");
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
        let (subject, body) = (sample(5), sample(20));
        texts.push((subject, body, labels[l]));
    }
    let synthetic: Vec<Example> = texts.iter().map(|(s, b, l)| Example { subject: s, body: b, label: l }).collect();
    let started = Instant::now();
    let big = trainer.train(&synthetic).expect("a model");
    println!(
        "trained on {n} synthetic texts in {:.1} s; model {} KB",
        started.elapsed().as_secs_f64(),
        big.to_bytes().len() / 1024
    );
    latency("real reports, by the synthetic model", &big, examples);
}

fn latency(what: &str, model: &Model, examples: &[Example]) {
    let mut times: Vec<Duration> = Vec::new();
    for _ in 0..3 {
        for e in examples {
            let started = Instant::now();
            std::hint::black_box(model.suggest(e.subject, e.body, 3));
            times.push(started.elapsed());
        }
    }
    times.sort();
    let at = |q: f64| times[((times.len() - 1) as f64 * q) as usize];
    println!("suggestion, {what}: p50 {:?}, p99 {:?} ({} suggestions)", at(0.5), at(0.99), times.len());
}
