//! How good are the suggestions: a train/test evaluation and stratified k-fold cross-validation,
//! both summarised in a [`Report`] (top-1 and top-3 accuracy, per-label precision and recall, the
//! confusion matrix, and how well the probabilities are calibrated).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::model::{Example, Extra, SplitMix, Suggestion, TrainError, Trainer};

/// The fold (0..k) of each item, stratified: every label is spread over the folds as evenly as
/// it can be, in an order shuffled by `seed`. The same labels, k and seed give the same folds.
pub fn stratified_folds<T: Ord>(labels: &[T], k: usize, seed: u64) -> Vec<usize> {
    let k = k.max(1);
    let mut order: Vec<usize> = (0..labels.len()).collect();
    SplitMix::new(seed).shuffle(&mut order);
    // Group by label (stable, so the shuffle decides the order within a label), then deal the
    // items round-robin; the dealing continues from one label to the next so that fold sizes
    // differ by at most one.
    order.sort_by(|&a, &b| labels[a].cmp(&labels[b]));
    let mut fold = vec![0; labels.len()];
    for (n, &i) in order.iter().enumerate() {
        fold[i] = n % k;
    }
    fold
}

/// The outcome of an evaluation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Every label of the training or the test examples, sorted.
    pub labels: Vec<String>,
    /// Test examples.
    pub examples: usize,
    /// Examples whose label was the first suggestion / among the first three.
    pub top1: usize,
    pub top3: usize,
    /// Examples for which no label was suggested at all.
    pub unsuggested: usize,
    /// Suggestions marked confident, and how many of them were right.
    pub confident: usize,
    pub confident_right: usize,
    /// `confusion[actual][predicted]` over the examples that got a suggestion.
    pub confusion: Vec<Vec<usize>>,
    /// Test examples per actual label.
    pub support: Vec<usize>,
    /// Mean cross-entropy of the true label (a missing label counts as probability 1e-6).
    pub log_loss: f64,
    /// Expected calibration error of the top probability over ten bins.
    pub calibration_error: f64,
}

impl Report {
    /// Scores `(actual label, suggestion with every label)` pairs.
    pub fn of(mut labels: Vec<String>, outcomes: &[(&str, Suggestion)]) -> Report {
        labels.extend(outcomes.iter().map(|(a, _)| a.to_string()));
        labels.sort();
        labels.dedup();
        let index = |l: &str| labels.binary_search_by(|x| x.as_str().cmp(l)).ok();
        let n = labels.len();
        let mut r = Report {
            labels: labels.clone(),
            examples: outcomes.len(),
            top1: 0,
            top3: 0,
            unsuggested: 0,
            confident: 0,
            confident_right: 0,
            confusion: vec![vec![0; n]; n],
            support: vec![0; n],
            log_loss: 0.0,
            calibration_error: 0.0,
        };
        // Per bin of top probability: count, sum of probabilities, right answers.
        let mut bins = [(0usize, 0.0f64, 0usize); 10];
        for (actual, s) in outcomes {
            let a = index(actual).expect("listed above");
            r.support[a] += 1;
            let p = s.labels.iter().find(|x| x.label == *actual).map_or(1e-6, |x| f64::from(x.probability));
            r.log_loss -= p.max(1e-6).ln();
            let Some(first) = s.labels.first() else {
                r.unsuggested += 1;
                continue;
            };
            let right = first.label == *actual;
            r.top1 += usize::from(right);
            r.top3 += usize::from(s.labels.iter().take(3).any(|x| x.label == *actual));
            if let Some(predicted) = index(&first.label) {
                r.confusion[a][predicted] += 1;
            }
            if s.confident {
                r.confident += 1;
                r.confident_right += usize::from(right);
            }
            let bin = &mut bins[((first.probability * 10.0) as usize).min(9)];
            bin.0 += 1;
            bin.1 += f64::from(first.probability);
            bin.2 += usize::from(right);
        }
        if r.examples > 0 {
            r.log_loss /= r.examples as f64;
            r.calibration_error =
                bins.iter().map(|&(_, p, right)| (p - right as f64).abs()).sum::<f64>() / r.examples as f64;
        }
        r
    }

    fn share(part: usize, whole: usize) -> f64 {
        if whole == 0 {
            0.0
        } else {
            part as f64 / whole as f64
        }
    }

    pub fn top1_accuracy(&self) -> f64 {
        Self::share(self.top1, self.examples)
    }

    pub fn top3_accuracy(&self) -> f64 {
        Self::share(self.top3, self.examples)
    }

    /// Of the examples predicted as label `i`, the share that had it.
    pub fn precision(&self, i: usize) -> f64 {
        Self::share(self.confusion[i][i], self.confusion.iter().map(|row| row[i]).sum())
    }

    /// Of the examples that had label `i`, the share predicted as it.
    pub fn recall(&self, i: usize) -> f64 {
        Self::share(self.confusion[i][i], self.support[i])
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pct = |x: f64| format!("{:.1}%", 100.0 * x);
        writeln!(
            f,
            "{} examples: top-1 {} ({}), top-3 {} ({}), no suggestion {}",
            self.examples,
            pct(self.top1_accuracy()),
            self.top1,
            pct(self.top3_accuracy()),
            self.top3,
            self.unsuggested
        )?;
        writeln!(
            f,
            "log-loss {:.3}, calibration error {:.3}; confident {} ({}), of which right {}",
            self.log_loss,
            self.calibration_error,
            self.confident,
            pct(Self::share(self.confident, self.examples)),
            pct(Self::share(self.confident_right, self.confident)),
        )?;
        writeln!(f, "precision  recall  support  label")?;
        for (i, label) in self.labels.iter().enumerate() {
            writeln!(
                f,
                "{:>9} {:>7} {:>8}  {} {}",
                pct(self.precision(i)),
                pct(self.recall(i)),
                self.support[i],
                i + 1,
                label
            )?;
        }
        writeln!(f, "confusion (rows: actual, columns: predicted, by number)")?;
        write!(f, "    ")?;
        for i in 0..self.labels.len() {
            write!(f, "{:>5}", i + 1)?;
        }
        writeln!(f)?;
        for (i, row) in self.confusion.iter().enumerate() {
            write!(f, "{:>4}", i + 1)?;
            for n in row {
                write!(f, "{n:>5}")?;
            }
            writeln!(f, "  {}", self.labels[i])?;
        }
        Ok(())
    }
}

fn outcomes<'a>(
    trainer: &Trainer,
    train: &[Example],
    extra: &Extra,
    test: &[Example<'a>],
) -> Result<Vec<(&'a str, Suggestion)>, TrainError> {
    let model = trainer.train_with(train, extra)?;
    let k = model.labels().len();
    Ok(test.iter().map(|e| (e.label, model.suggest(e.subject, e.body, k))).collect())
}

/// Trains on `train` and scores the suggestions for `test`.
pub fn evaluate(trainer: &Trainer, train: &[Example], test: &[Example]) -> Result<Report, TrainError> {
    evaluate_with(trainer, train, &Extra::default(), test)
}

/// [`evaluate`] with [`Trainer::train_with`]. The unlabelled reports of `extra` must not include
/// any of `test`.
pub fn evaluate_with(
    trainer: &Trainer,
    train: &[Example],
    extra: &Extra,
    test: &[Example],
) -> Result<Report, TrainError> {
    let labels = train.iter().map(|e| e.label.to_string()).collect();
    Ok(Report::of(labels, &outcomes(trainer, train, extra, test)?))
}

/// Stratified `k`-fold cross-validation: every example is suggested for once, by a model trained
/// on the other folds; the report pools all of them.
pub fn cross_validate(trainer: &Trainer, data: &[Example], k: usize, seed: u64) -> Result<Report, TrainError> {
    cross_validate_with(trainer, data, &Extra::default(), k, seed)
}

/// [`cross_validate`] with [`Trainer::train_with`]: every fold's model also gets `extra`. The
/// unlabelled reports of `extra` must not include any of `data` (they would leak the test folds).
pub fn cross_validate_with(
    trainer: &Trainer,
    data: &[Example],
    extra: &Extra,
    k: usize,
    seed: u64,
) -> Result<Report, TrainError> {
    if k < 2 {
        return Err(TrainError::Setting("cross-validation needs at least 2 folds"));
    }
    let labels: Vec<&str> = data.iter().map(|e| e.label).collect();
    let fold = stratified_folds(&labels, k, seed);
    let mut all = Vec::with_capacity(data.len());
    for f in 0..k {
        let train: Vec<Example> = data.iter().zip(&fold).filter(|(_, &g)| g != f).map(|(e, _)| *e).collect();
        let test: Vec<Example> = data.iter().zip(&fold).filter(|(_, &g)| g == f).map(|(e, _)| *e).collect();
        all.extend(outcomes(trainer, &train, extra, &test)?);
    }
    Ok(Report::of(labels.iter().map(|l| l.to_string()).collect(), &all))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::tests::fixture;

    #[test]
    fn folds_are_stratified_balanced_and_seeded() {
        let labels: Vec<&str> = fixture().iter().map(|e| e.label).collect();
        let folds = stratified_folds(&labels, 5, 1);
        assert_eq!(folds, stratified_folds(&labels, 5, 1));
        assert_ne!(folds, stratified_folds(&labels, 5, 2));
        for f in 0..5 {
            // 30 examples, 10 per label: 6 per fold, 2 of each label.
            let members: Vec<&str> = labels.iter().zip(&folds).filter(|(_, &g)| g == f).map(|(l, _)| *l).collect();
            assert_eq!(members.len(), 6);
            for l in ["噪音扰民", "环境卫生", "道路交通"] {
                assert_eq!(members.iter().filter(|&&m| m == l).count(), 2, "fold {f} label {l}");
            }
        }
    }

    #[test]
    fn cross_validation_counts_every_example_once() {
        let data = fixture();
        let t = Trainer { min_examples: 10, ..Trainer::default() };
        let r = cross_validate(&t, &data, 3, 1).unwrap();
        assert_eq!(r.examples, data.len());
        assert_eq!(r.support.iter().sum::<usize>(), data.len());
        assert_eq!(r.confusion.iter().flatten().sum::<usize>() + r.unsuggested, data.len());
        assert!(r.top1 <= r.top3 && r.top3 <= r.examples);
        // Three labels: the top three always hold the right one.
        assert_eq!(r.top3, r.examples - r.unsuggested);
        assert!(r.top1_accuracy() >= 0.7, "{r}");
        assert_eq!(r, cross_validate(&t, &data, 3, 1).unwrap());
        let text = r.to_string();
        assert!(text.contains("top-1") && text.contains("道路交通") && text.contains("confusion"));
        assert!(cross_validate(&t, &data, 1, 1).is_err());
    }

    #[test]
    fn cross_validation_with_extras_trains_every_fold_with_them() {
        let data = fixture();
        let t = Trainer { min_examples: 10, ..Trainer::default() };
        let texts = [crate::Text { subject: "路灯不亮", body: "晚上路灯不亮，很黑。" }];
        let descriptions = [crate::LabelText { label: "道路交通", text: "红绿灯" }];
        let extra = Extra { unlabelled: &texts, label_texts: &descriptions };
        let r = cross_validate_with(&t, &data, &extra, 3, 1).unwrap();
        assert_eq!(r.examples, data.len());
        assert_eq!(r, cross_validate_with(&t, &data, &extra, 3, 1).unwrap());
        assert_ne!(r, cross_validate(&t, &data, 3, 1).unwrap(), "the extras were used");
        assert_eq!(
            cross_validate_with(&t, &data, &Extra::default(), 3, 1).unwrap(),
            cross_validate(&t, &data, 3, 1).unwrap()
        );
    }

    #[test]
    fn evaluation_scores_a_held_out_set() {
        let data = fixture();
        let (test, train): (Vec<_>, Vec<_>) = data.iter().enumerate().partition(|(i, _)| i % 5 == 0);
        let train: Vec<Example> = train.into_iter().map(|(_, e)| *e).collect();
        let mut test: Vec<Example> = test.into_iter().map(|(_, e)| *e).collect();
        test.push(Example { subject: "新类别", body: "训练中没有的类别", label: "其他" });
        let r = evaluate(&Trainer { min_examples: 10, ..Trainer::default() }, &train, &test).unwrap();
        assert_eq!(r.labels.len(), 4, "a test label unknown to the model is listed");
        assert_eq!(r.examples, 7);
        let other = r.labels.iter().position(|l| l == "其他").unwrap();
        assert_eq!(r.recall(other), 0.0);
    }

    #[test]
    fn report_arithmetic() {
        let s = |label: &str, p: f32| Suggestion {
            labels: vec![
                crate::Scored { label: label.into(), probability: p },
                crate::Scored { label: if label == "a" { "b" } else { "a" }.into(), probability: 1.0 - p },
            ],
            confident: p >= 0.5,
            known_features: 10,
            evidence: vec![],
        };
        let none = Suggestion { labels: vec![], confident: false, known_features: 0, evidence: vec![] };
        let r = Report::of(vec![], &[("a", s("a", 0.9)), ("a", s("b", 0.6)), ("b", s("b", 0.8)), ("b", none)]);
        assert_eq!((r.top1, r.top3, r.unsuggested, r.confident, r.confident_right), (2, 3, 1, 3, 2));
        assert_eq!(r.confusion, vec![vec![1, 1], vec![0, 1]]);
        assert!((r.precision(1) - 0.5).abs() < 1e-9 && (r.recall(0) - 0.5).abs() < 1e-9);
        assert!((r.recall(1) - 0.5).abs() < 1e-9, "the unsuggested one counts against recall");
    }
}
