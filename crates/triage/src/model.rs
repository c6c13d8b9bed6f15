//! The classifier: a multinomial logistic regression over hashed features, trained by SGD.
//!
//! Each example is turned into four blocks of features: subject characters, subject words,
//! body characters and body words (words include word pairs). A feature's value is
//! `(1 + ln count) · idf`; each block is scaled to unit length and then by its weight (the subject
//! and the words have their own weights), so a long body does not drown a short subject, and the
//! whole row is scaled to unit length. Features seen in fewer than `min_df` training examples are
//! dropped.
//!
//! The model minimises the mean cross-entropy plus `l2/2 · ‖W‖²` by stochastic gradient descent
//! with a decaying step, in an order shuffled by a seeded generator: the same examples and trainer
//! give the same model, byte for byte. By default the subject's features and the body's are
//! trained apart ("views": each must explain every example on its own, so that neither leans on
//! the other) and their logits added; on the public evaluation set that is worth about a point of
//! top-1 accuracy over one joint fit. Scores are softmax probabilities of the logits divided by a
//! temperature fitted on out-of-fold logits.
//!
//! [`Trainer::train_with`] also takes what the platform knows besides its labelled history
//! ([`Extra`]): reports without a label, which count in the document frequencies (idf and
//! `min_df`; self-training on them is available but did worse), and descriptions of the labels
//! (the category tree's names), trained on as short weighted examples. On the public evaluation
//! set the two together raise top-1 accuracy from 80% to 88% (BENCHMARKS.md).

use serde::{Deserialize, Serialize};

use crate::text::{for_each_feature, normalise, Feature, Field, Kind};

/// One labelled report: what a resident wrote and the category a dispatcher chose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Example<'a> {
    pub subject: &'a str,
    pub body: &'a str,
    pub label: &'a str,
}

/// A report without a label: the platform has many more of these than labelled ones, and they
/// show which words go together in its reports (semi-supervised training, [`Trainer::train_with`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Text<'a> {
    pub subject: &'a str,
    pub body: &'a str,
}

/// A descriptive text of a label, such as the name of one of its subcategories in the
/// platform's category tree: taken as a short example of the label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LabelText<'a> {
    pub label: &'a str,
    pub text: &'a str,
}

/// What a trainer may use besides the labelled examples ([`Trainer::train_with`]). Empty by
/// default, which is [`Trainer::train`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Extra<'a> {
    /// Reports without a label, for self-training (`self_training_rounds`) and for document
    /// frequencies (`unlabelled_idf`). They must not include the reports a model is evaluated on.
    pub unlabelled: &'a [Text<'a>],
    /// Descriptions of labels (weighed by `label_text_weight`); those of labels without any
    /// example are ignored. Each is trained on as a short report (as subject and as body); its
    /// features count only when `min_df` reports, labelled or unlabelled, have them too. On the
    /// public evaluation set, one description per name of the category tree (each second- and
    /// third-level name apart) did best (BENCHMARKS.md).
    pub label_texts: &'a [LabelText<'a>],
}

/// How to train: the features and the optimiser. The defaults were chosen by repeated stratified
/// cross-validation (see BENCHMARKS.md, "Triage: category suggestion").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Trainer {
    /// Features are hashed into `2^hash_bits` buckets (10..=24).
    pub hash_bits: u8,
    /// Character n-grams of length 1..=max_ngram (1..=4). Longer n-grams did worse on the
    /// evaluation set: too rare to generalise from a few hundred examples.
    pub max_ngram: u8,
    /// Pairs of neighbouring words as features too.
    pub word_pairs: bool,
    /// Scale of the subject's blocks against the body's (which is 1).
    pub subject_weight: f32,
    /// Scale of the word blocks against the character blocks (which is 1).
    pub words_weight: f32,
    /// Characters of the subject and of the body read; the rest is ignored.
    pub max_subject_chars: u32,
    pub max_body_chars: u32,
    /// L2 regularisation strength.
    pub l2: f32,
    /// Passes over the examples, at most; fewer when there are many examples (`max_updates`).
    pub epochs: u32,
    /// Upper bound on SGD steps (examples × epochs), at least two passes are made.
    pub max_updates: u64,
    /// Initial step of SGD.
    pub learning_rate: f32,
    /// Fit the softmax temperature on out-of-fold logits (three folds; one held-out third
    /// beyond 30,000 examples).
    pub calibrate: bool,
    /// A suggestion is `confident` when its top probability reaches this.
    pub confidence: f32,
    /// Seed of the shuffles.
    pub seed: u64,
    /// Fewer examples than this are refused (the platform stays untrained).
    pub min_examples: usize,
    /// Features found in fewer examples than this are ignored.
    pub min_df: u32,
    /// Train the subject's features and the body's apart (each must explain every example on
    /// its own) and add their logits.
    pub views: bool,
    /// Rounds of self-training on [`Extra::unlabelled`]: each round labels the unlabelled reports
    /// with the model so far and trains again on the labelled examples plus those whose top
    /// probability (before calibration) reaches `self_training_threshold`, each weighing
    /// `self_training_weight`. 0: unlabelled reports are not trained on.
    pub self_training_rounds: u32,
    pub self_training_threshold: f32,
    pub self_training_weight: f32,
    /// Count document frequencies (idf and `min_df`) over the unlabelled reports too.
    pub unlabelled_idf: bool,
    /// Weight of an [`Extra::label_texts`] example against a labelled report's 1; 0 ignores them.
    pub label_text_weight: f32,
}

impl Default for Trainer {
    fn default() -> Self {
        Trainer {
            hash_bits: 18,
            max_ngram: 2,
            word_pairs: true,
            subject_weight: 1.0,
            words_weight: 0.1,
            max_subject_chars: 200,
            max_body_chars: 2000,
            l2: 1e-5,
            epochs: 80,
            max_updates: 5_000_000,
            learning_rate: 0.5,
            calibrate: true,
            confidence: 0.5,
            seed: 1,
            min_examples: 20,
            min_df: 2,
            views: true,
            self_training_rounds: 0,
            self_training_threshold: 0.9,
            self_training_weight: 0.5,
            unlabelled_idf: true,
            label_text_weight: 2.0,
        }
    }
}

/// Why no model was trained.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TrainError {
    #[error("{have} labelled examples; at least {need} are needed before suggestions are made")]
    TooFewExamples { have: usize, need: usize },
    #[error("the examples have {classes} distinct label(s); at least 2 are needed")]
    TooFewClasses { classes: usize },
    #[error("an example has an empty label")]
    EmptyLabel,
    #[error("invalid trainer setting: {0}")]
    Setting(&'static str),
}

/// Why model bytes were refused. The caller then trains a new model.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModelError {
    #[error("not a triage model")]
    NotAModel,
    #[error("triage model format {found}; this build reads format {expected}")]
    Version { found: u16, expected: u16 },
    #[error("triage model checksum mismatch: the bytes are damaged")]
    Checksum,
    #[error("malformed triage model: {0}")]
    Malformed(&'static str),
}

/// A label with its probability.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scored {
    pub label: String,
    pub probability: f32,
}

/// A feature of the text that pushed the top label up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    pub field: Field,
    pub kind: Kind,
    pub text: String,
    /// Its contribution to the top label's logit, against the mean of all labels' logits.
    pub weight: f32,
}

/// The answer to "which category is this?".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Suggestion {
    /// Up to k labels, most probable first. Empty when the text has nothing the model knows
    /// (empty, only punctuation or emoji, or words never seen in training).
    pub labels: Vec<Scored>,
    /// The top probability reaches the model's threshold and enough known features were seen.
    pub confident: bool,
    /// Features of the text seen in training.
    pub known_features: usize,
    /// The features that weighed most for the top label, heaviest first.
    pub evidence: Vec<Evidence>,
}

/// Above this many examples, the temperature is fitted on one held-out third only.
const ONE_FOLD: usize = 30_000;
/// How many evidence items a suggestion carries.
const EVIDENCE: usize = 6;
/// Fewer known features than this never make a confident suggestion.
const MIN_KNOWN: usize = 5;

/// The feature settings a model was trained with and applies to new texts.
#[derive(Debug, Clone, PartialEq)]
struct Features {
    hash_bits: u8,
    max_ngram: u8,
    word_pairs: bool,
    subject_weight: f32,
    words_weight: f32,
    max_subject_chars: u32,
    max_body_chars: u32,
}

impl Features {
    fn of(t: &Trainer) -> Self {
        Features {
            hash_bits: t.hash_bits,
            max_ngram: t.max_ngram,
            word_pairs: t.word_pairs,
            subject_weight: t.subject_weight,
            words_weight: t.words_weight,
            max_subject_chars: t.max_subject_chars,
            max_body_chars: t.max_body_chars,
        }
    }

    /// The four blocks in order: subject chars, subject words, body chars, body words.
    fn block_weight(&self, block: usize) -> f32 {
        let field = if block < 2 { self.subject_weight } else { 1.0 };
        let kind = if block % 2 == 1 { self.words_weight } else { 1.0 };
        field * kind
    }

    /// Calls `emit(block, bucket, feature)` for every feature of a report.
    fn each<'a>(&self, subject: &'a str, body: &'a str, mut emit: impl FnMut(usize, u32, Field, Feature<'a>)) {
        let mask = (1u64 << self.hash_bits) - 1;
        for (field, text, base) in [(Field::Subject, subject, 0), (Field::Body, body, 2)] {
            for_each_feature(text, usize::from(self.max_ngram), self.word_pairs, |f| {
                let block = base + usize::from(f.kind() != Kind::Chars);
                emit(block, (f.hash(field) & mask) as u32, field, f);
            });
        }
    }

    /// The bucket counts of a report, per block, each block sorted by bucket: `(bucket, count)`
    /// and the end of each block in the list.
    fn counts(&self, subject: &str, body: &str, out: &mut Vec<(u32, f32)>) -> [usize; 4] {
        let subject = normalise(subject, self.max_subject_chars as usize);
        let body = normalise(body, self.max_body_chars as usize);
        let mut blocks: [Vec<u32>; 4] = Default::default();
        self.each(&subject, &body, |block, bucket, _, _| blocks[block].push(bucket));
        out.clear();
        let mut ends = [0; 4];
        for (b, buckets) in blocks.iter_mut().enumerate() {
            buckets.sort_unstable();
            let block_start = out.len();
            for &bucket in buckets.iter() {
                let fresh = out.len() == block_start;
                match out.last_mut() {
                    Some((last, n)) if !fresh && *last == bucket => *n += 1.0,
                    _ => out.push((bucket, 1.0)),
                }
            }
            ends[b] = out.len();
        }
        ends
    }
}

/// Turns counts into values in place: `(1 + ln n) · idf`, each block scaled to unit length and
/// by its weight, then the whole row to unit length. `idf` of 0 (never seen) drops the feature.
fn weigh(features: &Features, row: &mut [(u32, f32)], ends: [usize; 4], idf: impl Fn(u32) -> f32) {
    let mut start = 0;
    for (b, &end) in ends.iter().enumerate() {
        let block = &mut row[start..end];
        let mut norm = 0.0f32;
        for (bucket, v) in block.iter_mut() {
            *v = (1.0 + v.ln()) * idf(*bucket);
            norm += *v * *v;
        }
        if norm > 0.0 {
            let scale = features.block_weight(b) / norm.sqrt();
            for (_, v) in block.iter_mut() {
                *v *= scale;
            }
        }
        start = end;
    }
    // The whole row to unit length: the weights set the blocks' shares, and SGD's step means the
    // same whatever they are.
    let norm = row.iter().map(|(_, v)| v * v).sum::<f32>().sqrt();
    if norm > 0.0 {
        row.iter_mut().for_each(|(_, v)| *v /= norm);
    }
}

/// A trained classifier. Cheap to share (`Arc<Model>`); suggesting takes `&self`.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    features: Features,
    labels: Vec<String>,
    trained_on: usize,
    temperature: f32,
    confidence: f32,
    bias: Vec<f32>,
    /// Buckets seen in training, ascending, with their idf and one weight per label.
    buckets: Vec<u32>,
    idf: Vec<f32>,
    weights: Vec<f32>,
    /// `buckets` inverted: the column of each bucket, `u32::MAX` for none (built, not stored).
    column_of: Vec<u32>,
}

/// Training examples as sparse rows over the buckets seen, with label indices.
struct Matrix {
    cols: Vec<u32>,
    vals: Vec<f32>,
    starts: Vec<usize>,
    /// Where each row's body features begin.
    bodies: Vec<usize>,
    /// The label of each row (of an unlabelled row: its latest pseudo-label) and its weight in
    /// the loss.
    labels: Vec<u16>,
    weights: Vec<f32>,
}

/// Which features of a row a model is trained on.
#[derive(Clone, Copy)]
enum Part {
    All,
    Subject,
    Body,
}

impl Matrix {
    fn row(&self, i: usize) -> (&[u32], &[f32]) {
        self.part(i, Part::All)
    }
    fn part(&self, i: usize, part: Part) -> (&[u32], &[f32]) {
        let r = match part {
            Part::All => self.starts[i]..self.starts[i + 1],
            Part::Subject => self.starts[i]..self.bodies[i],
            Part::Body => self.bodies[i]..self.starts[i + 1],
        };
        (&self.cols[r.clone()], &self.vals[r])
    }
}

/// SplitMix64: a small seeded generator for shuffles and samples (no dependency, the same
/// numbers on every platform and version).
pub struct SplitMix(u64);

impl SplitMix {
    pub fn new(seed: u64) -> Self {
        SplitMix(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in 0..n (n > 0); the modulo bias is negligible for the sizes used here.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            v.swap(i, self.below(i + 1));
        }
    }
}

/// The logits of row `i` of `m` by weights `w` (`columns × classes`) and biases `b`.
fn logits_into(m: &Matrix, i: usize, w: &[f32], b: &[f32], z: &mut [f32]) {
    let classes = b.len();
    z.copy_from_slice(b);
    let (cols, vals) = m.row(i);
    for (&c, &v) in cols.iter().zip(vals) {
        for (zk, wk) in z.iter_mut().zip(&w[c as usize * classes..][..classes]) {
            *zk += v * wk;
        }
    }
}

fn softmax_in_place(z: &mut [f32]) {
    let max = z.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for v in z.iter_mut() {
        *v = (*v - max).exp();
        sum += *v;
    }
    for v in z.iter_mut() {
        *v /= sum;
    }
}

impl Trainer {
    fn check(&self) -> Result<(), TrainError> {
        if !(10..=24).contains(&self.hash_bits) {
            return Err(TrainError::Setting("hash_bits must be within 10..=24"));
        }
        if !(1..=4).contains(&self.max_ngram) {
            return Err(TrainError::Setting("max_ngram must be within 1..=4"));
        }
        let positive = |x: f32| x.is_finite() && x > 0.0;
        if !positive(self.subject_weight) || !positive(self.words_weight) || !positive(self.learning_rate) {
            return Err(TrainError::Setting("weights and the learning rate must be positive"));
        }
        if !(self.l2.is_finite() && self.l2 >= 0.0 && (0.0..=1.0).contains(&self.confidence)) {
            return Err(TrainError::Setting("l2 must be ≥ 0 and confidence within 0..=1"));
        }
        if self.epochs == 0 || self.max_subject_chars == 0 || self.max_body_chars == 0 {
            return Err(TrainError::Setting("epochs and text lengths must be positive"));
        }
        let weight = |x: f32| x.is_finite() && x >= 0.0;
        if !weight(self.self_training_weight)
            || !weight(self.label_text_weight)
            || !(0.0..=1.0).contains(&self.self_training_threshold)
        {
            return Err(TrainError::Setting("extra weights must be ≥ 0 and the threshold within 0..=1"));
        }
        Ok(())
    }

    /// Trains a model on the platform's history. Refuses too few examples or a single class.
    pub fn train(&self, examples: &[Example]) -> Result<Model, TrainError> {
        self.train_with(examples, &Extra::default())
    }

    /// Trains a model on the platform's history and what else it knows: reports without a
    /// label and descriptions of the labels ([`Extra`]). With an empty `extra` this is
    /// [`Trainer::train`].
    pub fn train_with(&self, examples: &[Example], extra: &Extra) -> Result<Model, TrainError> {
        self.check()?;
        if examples.len() < self.min_examples.max(2) {
            return Err(TrainError::TooFewExamples { have: examples.len(), need: self.min_examples.max(2) });
        }
        if examples.iter().any(|e| e.label.trim().is_empty()) {
            return Err(TrainError::EmptyLabel);
        }
        let labels: Vec<String> = examples
            .iter()
            .map(|e| e.label)
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .map(str::to_string)
            .collect();
        if labels.len() < 2 {
            return Err(TrainError::TooFewClasses { classes: labels.len() });
        }
        if labels.len() > usize::from(u16::MAX) {
            return Err(TrainError::Setting("more than 65535 labels"));
        }
        let label_index = |l: &str| labels.binary_search_by(|x| x.as_str().cmp(l)).ok().map(|i| i as u16);
        let features = Features::of(self);

        // The rows: the labelled examples, then the label descriptions, then the unlabelled
        // reports, each with its label (a placeholder for unlabelled ones) and weight.
        let descriptions: Vec<(&str, u16)> = if self.label_text_weight > 0.0 {
            extra
                .label_texts
                .iter()
                .filter(|d| !d.text.trim().is_empty())
                .filter_map(|d| Some((d.text, label_index(d.label)?)))
                .collect()
        } else {
            Vec::new()
        };
        let unlabelled: &[Text] =
            if self.self_training_rounds > 0 || self.unlabelled_idf { extra.unlabelled } else { &[] };
        let (labelled, described) = (examples.len(), examples.len() + descriptions.len());
        let texts = examples
            .iter()
            .map(|e| (e.subject, e.body))
            .chain(descriptions.iter().map(|&(t, _)| (t, t)))
            .chain(unlabelled.iter().map(|t| (t.subject, t.body)));
        let mut row_labels: Vec<u16> = examples.iter().map(|e| label_index(e.label).expect("listed")).collect();
        row_labels.extend(descriptions.iter().map(|&(_, l)| l));
        row_labels.resize(described + unlabelled.len(), 0);
        let mut row_weights = vec![1.0f32; labelled];
        row_weights.resize(described, self.label_text_weight);
        row_weights.resize(described + unlabelled.len(), self.self_training_weight);

        // Counts, then document frequencies over the buckets (over the unlabelled reports too
        // when `unlabelled_idf`).
        let mut rows: Vec<(u32, f32)> = Vec::new();
        let mut ends: Vec<[usize; 4]> = Vec::with_capacity(row_labels.len());
        let mut scratch = Vec::new();
        let mut df = vec![0u32; 1 << self.hash_bits];
        let mut documents = 0usize;
        for (i, (subject, body)) in texts.enumerate() {
            let block_ends = features.counts(subject, body, &mut scratch);
            if i < labelled || (i >= described && self.unlabelled_idf) {
                documents += 1;
                for &(bucket, _) in &scratch {
                    df[bucket as usize] += 1;
                }
            }
            let base = rows.len();
            rows.extend_from_slice(&scratch);
            ends.push(block_ends.map(|end| base + end));
        }
        // Columns: the buckets seen in at least `min_df` examples, in order. Rarer features
        // are dropped as noise.
        let mut column_of = vec![u32::MAX; df.len()];
        let mut buckets = Vec::new();
        let mut idf = Vec::new();
        let n = documents as f32;
        for (bucket, &d) in df.iter().enumerate().filter(|(_, &d)| d >= self.min_df.max(1)) {
            column_of[bucket] = buckets.len() as u32;
            buckets.push(bucket as u32);
            idf.push(((1.0 + n) / (1.0 + d as f32)).ln() + 1.0);
        }
        drop(df);
        let model_columns = column_of.clone();

        let mut starts = Vec::with_capacity(ends.len() + 1);
        starts.push(0);
        let mut bodies = Vec::with_capacity(ends.len());
        let (mut cols, mut vals) = (Vec::new(), Vec::new());
        let mut start = 0;
        for e in &ends {
            scratch.clear();
            let mut kept = [0usize; 4];
            for (block, &end) in e.iter().enumerate() {
                for &(bucket, count) in &rows[start..end] {
                    let c = column_of[bucket as usize];
                    if c != u32::MAX {
                        scratch.push((c, count));
                    }
                }
                kept[block] = scratch.len();
                start = end;
            }
            weigh(&features, &mut scratch, kept, |c| idf[c as usize]);
            cols.extend(scratch.iter().map(|&(c, _)| c));
            vals.extend(scratch.iter().map(|&(_, v)| v));
            bodies.push(cols.len() - scratch.len() + kept[1]);
            starts.push(cols.len());
        }
        drop(rows);
        let mut matrix = Matrix { cols, vals, starts, bodies, labels: row_labels, weights: row_weights };
        let classes = labels.len();

        let base: Vec<usize> = (0..described).collect();
        let (mut weights, mut bias) = self.sgd(&matrix, &base, buckets.len(), classes);
        let mut pseudo: Vec<usize> = Vec::new();
        if !unlabelled.is_empty() {
            for _ in 0..self.self_training_rounds {
                // Label the unlabelled rows with the model so far; keep the sure ones.
                pseudo.clear();
                let mut z = vec![0.0f32; classes];
                for i in described..matrix.labels.len() {
                    logits_into(&matrix, i, &weights, &bias, &mut z);
                    softmax_in_place(&mut z);
                    let (best, p) =
                        z.iter().enumerate().fold((0, 0.0f32), |b, (k, &p)| if p > b.1 { (k, p) } else { b });
                    if p >= self.self_training_threshold {
                        matrix.labels[i] = best as u16;
                        pseudo.push(i);
                    }
                }
                let train: Vec<usize> = base.iter().chain(&pseudo).copied().collect();
                (weights, bias) = self.sgd(&matrix, &train, buckets.len(), classes);
            }
        }
        let temperature = if self.calibrate {
            let always: Vec<usize> = (labelled..described).chain(pseudo.iter().copied()).collect();
            self.fit_temperature(&matrix, labelled, &always, buckets.len(), classes)
        } else {
            1.0
        };

        // Columns that no trained row has (seen in unlabelled reports only) kept a weight of 0:
        // they are dropped, so that the model is no larger than what it learnt and
        // `known_features` counts only features it learnt something about.
        let mut used = vec![false; buckets.len()];
        for i in (0..described).chain(pseudo.iter().copied()) {
            matrix.row(i).0.iter().for_each(|&c| used[c as usize] = true);
        }
        let (mut buckets, mut idf, mut weights, mut model_columns) = (buckets, idf, weights, model_columns);
        if used.iter().any(|u| !u) {
            let kept: Vec<usize> = (0..used.len()).filter(|&c| used[c]).collect();
            buckets = kept.iter().map(|&c| buckets[c]).collect();
            idf = kept.iter().map(|&c| idf[c]).collect();
            weights = kept.iter().flat_map(|&c| weights[c * classes..][..classes].iter().copied()).collect();
            model_columns.iter_mut().for_each(|c| *c = u32::MAX);
            for (c, &b) in buckets.iter().enumerate() {
                model_columns[b as usize] = c as u32;
            }
        }

        Ok(Model {
            features,
            labels,
            trained_on: examples.len(),
            temperature,
            confidence: self.confidence,
            bias,
            buckets,
            idf,
            weights,
            column_of: model_columns,
        })
    }

    /// SGD on the rows `train` of `m`: returns the weights (`columns × classes`) and the biases.
    fn sgd(&self, m: &Matrix, train: &[usize], columns: usize, classes: usize) -> (Vec<f32>, Vec<f32>) {
        if !self.views {
            return self.sgd_part(m, train, columns, classes, Part::All);
        }
        let (mut w, mut b) = self.sgd_part(m, train, columns, classes, Part::Subject);
        let (wb, bb) = self.sgd_part(m, train, columns, classes, Part::Body);
        w.iter_mut().zip(&wb).for_each(|(x, y)| *x += y);
        b.iter_mut().zip(&bb).for_each(|(x, y)| *x = (*x + y) / 2.0);
        (w, b)
    }

    fn sgd_part(
        &self,
        m: &Matrix,
        train: &[usize],
        columns: usize,
        classes: usize,
        part: Part,
    ) -> (Vec<f32>, Vec<f32>) {
        let mut w = vec![0.0f32; columns * classes];
        let mut bias = vec![0.0f32; classes];
        // W = scale · w, so that the L2 shrinkage of every weight is one multiplication.
        let mut scale = 1.0f64;
        let mut order = train.to_vec();
        let mut rng = SplitMix::new(self.seed);
        let epochs = (self.max_updates / train.len().max(1) as u64).clamp(2, u64::from(self.epochs));
        let (eta0, l2) = (f64::from(self.learning_rate), f64::from(self.l2));
        let mut z = vec![0.0f32; classes];
        let mut t = 0u64;
        for _ in 0..epochs {
            rng.shuffle(&mut order);
            for &i in &order {
                let eta = eta0 / (1.0 + eta0 * l2 * t as f64);
                t += 1;
                let (cols, vals) = m.part(i, part);
                z.copy_from_slice(&bias);
                let s = scale as f32;
                for (&c, &v) in cols.iter().zip(vals) {
                    let row = &w[c as usize * classes..][..classes];
                    for (zk, wk) in z.iter_mut().zip(row) {
                        *zk += s * v * wk;
                    }
                }
                let y = usize::from(m.labels[i]);
                softmax_in_place(&mut z);
                z[y] -= 1.0; // z is now the gradient of the loss by the logits
                let weight = m.weights[i];
                if weight != 1.0 {
                    z.iter_mut().for_each(|g| *g *= weight);
                }
                scale *= 1.0 - eta * l2;
                if scale < 1e-6 {
                    w.iter_mut().for_each(|x| *x *= scale as f32);
                    scale = 1.0;
                }
                let step = (eta / scale) as f32;
                for (&c, &v) in cols.iter().zip(vals) {
                    let row = &mut w[c as usize * classes..][..classes];
                    for (wk, gk) in row.iter_mut().zip(&z) {
                        *wk -= step * v * gk;
                    }
                }
                for (bk, gk) in bias.iter_mut().zip(&z) {
                    *bk -= eta as f32 * gk;
                }
            }
        }
        w.iter_mut().for_each(|x| *x *= scale as f32);
        (w, bias)
    }

    /// The temperature that minimises the cross-entropy of out-of-fold logits of the first
    /// `labelled` rows (three stratified folds, or one held-out third of many; the rows `always`
    /// are in every fold's training set); 1 when there are too few examples to tell.
    fn fit_temperature(&self, m: &Matrix, labelled: usize, always: &[usize], columns: usize, classes: usize) -> f32 {
        let n = labelled;
        if n < 30 {
            return 1.0;
        }
        let fold = crate::eval::stratified_folds(&m.labels[..n], 3, self.seed);
        let mut logits: Vec<(Vec<f32>, u16)> = Vec::with_capacity(n);
        // Beyond `ONE_FOLD` examples one held-out third is plenty, and a third of the cost.
        let models = if n > ONE_FOLD { 1 } else { 3 };
        let all = (n + always.len()) as u64;
        for k in 0..models {
            let train: Vec<usize> = (0..n).filter(|&i| fold[i] != k).chain(always.iter().copied()).collect();
            // As many SGD steps as the final model makes on all rows, so that the fold models
            // are as sure of themselves as it will be.
            let steps = (self.max_updates / all).clamp(2, u64::from(self.epochs)) * all;
            let epochs = steps.div_ceil(train.len() as u64);
            let same =
                Trainer { epochs: u32::try_from(epochs).unwrap_or(u32::MAX), max_updates: steps, ..self.clone() };
            let (w, b) = same.sgd(m, &train, columns, classes);
            for i in (0..n).filter(|&i| fold[i] == k) {
                let mut z = vec![0.0f32; classes];
                logits_into(m, i, &w, &b, &mut z);
                logits.push((z, m.labels[i]));
            }
        }
        let loss = |log_t: f32| -> f64 {
            let t = log_t.exp();
            let mut total = 0.0f64;
            let mut p = vec![0.0f32; classes];
            for (z, y) in &logits {
                for (pk, zk) in p.iter_mut().zip(z) {
                    *pk = zk / t;
                }
                softmax_in_place(&mut p);
                total -= f64::from(p[usize::from(*y)].max(1e-12)).ln();
            }
            total
        };
        // Golden-section search of ln T within [-3, 3] (T from 0.05 to 20).
        let (mut lo, mut hi) = (-3.0f32, 3.0f32);
        let g = 0.618_034f32;
        let (mut a, mut b) = (hi - g * (hi - lo), lo + g * (hi - lo));
        let (mut fa, mut fb) = (loss(a), loss(b));
        for _ in 0..40 {
            if fa < fb {
                hi = b;
                (b, fb) = (a, fa);
                a = hi - g * (hi - lo);
                fa = loss(a);
            } else {
                lo = a;
                (a, fa) = (b, fb);
                b = lo + g * (hi - lo);
                fb = loss(b);
            }
        }
        ((lo + hi) / 2.0).exp()
    }
}

impl Model {
    /// The labels the model knows, sorted.
    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    /// How many examples it was trained on.
    pub fn trained_on(&self) -> usize {
        self.trained_on
    }

    /// The fitted softmax temperature (1 when not calibrated).
    pub fn temperature(&self) -> f32 {
        self.temperature
    }

    fn column(&self, bucket: u32) -> Option<usize> {
        match self.column_of[bucket as usize] {
            u32::MAX => None,
            c => Some(c as usize),
        }
    }

    /// The top `k` labels for a report, with probabilities, whether the model is confident, and
    /// the words that weighed most. Never fails: text the model cannot read gives no labels.
    pub fn suggest(&self, subject: &str, body: &str, k: usize) -> Suggestion {
        let f = &self.features;
        let classes = self.labels.len();
        let subject = normalise(subject, f.max_subject_chars as usize);
        let body = normalise(body, f.max_body_chars as usize);
        // (block, column, field, feature) of every known feature, grouped by block and column.
        let mut found: Vec<(usize, usize, Field, Feature)> = Vec::new();
        f.each(&subject, &body, |block, bucket, field, feature| {
            if let Some(c) = self.column(bucket) {
                found.push((block, c, field, feature));
            }
        });
        let known_features = found.len();
        if found.is_empty() {
            return Suggestion { labels: Vec::new(), confident: false, known_features, evidence: Vec::new() };
        }
        found.sort_by_key(|&(block, c, ..)| (block, c));
        // One entry per (block, column) with its count, then weighed as in training.
        let mut row: Vec<(u32, f32)> = Vec::new();
        let mut first: Vec<usize> = Vec::new(); // index in `found` naming each entry
        let mut ends = [0usize; 4];
        for (i, &(block, c, ..)) in found.iter().enumerate() {
            if i > 0 && found[i - 1].0 == block && found[i - 1].1 == c {
                row.last_mut().expect("an entry before").1 += 1.0;
            } else {
                row.push((c as u32, 1.0));
                first.push(i);
            }
            ends[block] = row.len();
        }
        for b in 1..4 {
            ends[b] = ends[b].max(ends[b - 1]);
        }
        weigh(f, &mut row, ends, |c| self.idf[c as usize]);

        let mut z = self.bias.clone();
        for &(c, v) in &row {
            for (zk, wk) in z.iter_mut().zip(&self.weights[c as usize * classes..][..classes]) {
                *zk += v * wk;
            }
        }
        z.iter_mut().for_each(|x| *x /= self.temperature);
        softmax_in_place(&mut z);
        let mut order: Vec<usize> = (0..classes).collect();
        order.sort_by(|&a, &b| z[b].total_cmp(&z[a]).then(a.cmp(&b)));
        let top = order[0];

        let mut evidence: Vec<Evidence> = row
            .iter()
            .zip(&first)
            .map(|(&(c, v), &i)| {
                let w = &self.weights[c as usize * classes..][..classes];
                let mean = w.iter().sum::<f32>() / classes as f32;
                let (_, _, field, feature) = found[i];
                Evidence { field, kind: feature.kind(), text: feature.text(), weight: v * (w[top] - mean) }
            })
            .filter(|e| e.weight > 0.0)
            .collect();
        evidence.sort_by(|a, b| b.weight.total_cmp(&a.weight));
        evidence.truncate(EVIDENCE);

        Suggestion {
            labels: order
                .iter()
                .take(k)
                .map(|&c| Scored { label: self.labels[c].clone(), probability: z[c] })
                .collect(),
            confident: z[top] >= self.confidence && known_features >= MIN_KNOWN,
            known_features,
            evidence,
        }
    }
}

/// The serialised form: `MAGIC`, the format version (u16), the body, and the SHA-256 of all
/// that precedes it. Numbers are little-endian.
const MAGIC: &[u8; 8] = b"GKTRIAGE";
/// Bumped whenever the bytes, the features or their hashing change meaning.
pub const FORMAT_VERSION: u16 = 1;

impl Model {
    /// The model as bytes, with its format version and a checksum.
    pub fn to_bytes(&self) -> Vec<u8> {
        let f = &self.features;
        let mut out = Vec::with_capacity(64 + self.weights.len() * 4 + self.buckets.len() * 8);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        out.extend_from_slice(&[f.hash_bits, f.max_ngram, u8::from(f.word_pairs)]);
        for x in [f.subject_weight, f.words_weight] {
            out.extend_from_slice(&x.to_le_bytes());
        }
        for x in [f.max_subject_chars, f.max_body_chars] {
            out.extend_from_slice(&x.to_le_bytes());
        }
        out.extend_from_slice(&(self.trained_on as u64).to_le_bytes());
        out.extend_from_slice(&self.temperature.to_le_bytes());
        out.extend_from_slice(&self.confidence.to_le_bytes());
        out.extend_from_slice(&(self.labels.len() as u32).to_le_bytes());
        for l in &self.labels {
            out.extend_from_slice(&(l.len() as u32).to_le_bytes());
            out.extend_from_slice(l.as_bytes());
        }
        for x in &self.bias {
            out.extend_from_slice(&x.to_le_bytes());
        }
        out.extend_from_slice(&(self.buckets.len() as u32).to_le_bytes());
        let classes = self.labels.len();
        for (i, b) in self.buckets.iter().enumerate() {
            out.extend_from_slice(&b.to_le_bytes());
            out.extend_from_slice(&self.idf[i].to_le_bytes());
            for w in &self.weights[i * classes..][..classes] {
                out.extend_from_slice(&w.to_le_bytes());
            }
        }
        let sum = <sha2::Sha256 as sha2::Digest>::digest(&out);
        out.extend_from_slice(&sum);
        out
    }

    /// Reads bytes written by [`Model::to_bytes`]. Bytes of another format version, damaged or
    /// inconsistent bytes are refused, never half-trusted.
    pub fn from_bytes(bytes: &[u8]) -> Result<Model, ModelError> {
        if bytes.len() < MAGIC.len() + 2 + 32 || &bytes[..MAGIC.len()] != MAGIC {
            return Err(ModelError::NotAModel);
        }
        let found = u16::from_le_bytes([bytes[8], bytes[9]]);
        if found != FORMAT_VERSION {
            return Err(ModelError::Version { found, expected: FORMAT_VERSION });
        }
        let (body, sum) = bytes.split_at(bytes.len() - 32);
        if <sha2::Sha256 as sha2::Digest>::digest(body).as_slice() != sum {
            return Err(ModelError::Checksum);
        }
        let mut r = Reader { bytes: &body[10..] };
        let malformed = ModelError::Malformed;
        let [hash_bits, max_ngram, word_pairs] = [r.u8()?, r.u8()?, r.u8()?];
        let features = Features {
            hash_bits,
            max_ngram,
            word_pairs: word_pairs == 1,
            subject_weight: r.f32()?,
            words_weight: r.f32()?,
            max_subject_chars: r.u32()?,
            max_body_chars: r.u32()?,
        };
        if !(10..=24).contains(&hash_bits) || !(1..=4).contains(&max_ngram) || word_pairs > 1 {
            return Err(malformed("feature settings out of range"));
        }
        let trained_on = usize::try_from(r.u64()?).map_err(|_| malformed("example count"))?;
        let (temperature, confidence) = (r.f32()?, r.f32()?);
        if !(temperature.is_finite() && temperature > 0.0) {
            return Err(malformed("temperature"));
        }
        let classes = r.u32()? as usize;
        if classes < 2 || classes > usize::from(u16::MAX) {
            return Err(malformed("label count"));
        }
        let mut labels = Vec::with_capacity(classes);
        for _ in 0..classes {
            let len = r.u32()? as usize;
            let label = std::str::from_utf8(r.take(len)?).map_err(|_| malformed("label is not UTF-8"))?;
            labels.push(label.to_string());
        }
        if labels.windows(2).any(|w| w[0] >= w[1]) {
            return Err(malformed("labels not sorted and distinct"));
        }
        let bias = (0..classes).map(|_| r.f32()).collect::<Result<Vec<_>, _>>()?;
        let rows = r.u32()? as usize;
        if r.bytes.len() != rows * (8 + 4 * classes) {
            return Err(malformed("weight table size"));
        }
        let (mut buckets, mut idf, mut weights) =
            (Vec::with_capacity(rows), Vec::with_capacity(rows), Vec::with_capacity(rows * classes));
        for _ in 0..rows {
            buckets.push(r.u32()?);
            idf.push(r.f32()?);
            for _ in 0..classes {
                weights.push(r.f32()?);
            }
        }
        if buckets.windows(2).any(|w| w[0] >= w[1]) || buckets.last().is_some_and(|&b| b >> hash_bits != 0) {
            return Err(malformed("buckets not ascending within range"));
        }
        if !bias.iter().chain(&idf).chain(&weights).all(|x| x.is_finite()) {
            return Err(malformed("a weight is not finite"));
        }
        let mut column_of = vec![u32::MAX; 1 << hash_bits];
        for (c, &b) in buckets.iter().enumerate() {
            column_of[b as usize] = c as u32;
        }
        Ok(Model { features, labels, trained_on, temperature, confidence, bias, buckets, idf, weights, column_of })
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], ModelError> {
        if n > self.bytes.len() {
            return Err(ModelError::Malformed("truncated"));
        }
        let (head, tail) = self.bytes.split_at(n);
        self.bytes = tail;
        Ok(head)
    }
    fn u8(&mut self) -> Result<u8, ModelError> {
        Ok(self.take(1)?[0])
    }
    fn u32(&mut self) -> Result<u32, ModelError> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().expect("4 bytes")))
    }
    fn u64(&mut self) -> Result<u64, ModelError> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().expect("8 bytes")))
    }
    fn f32(&mut self) -> Result<f32, ModelError> {
        Ok(f32::from_le_bytes(self.take(4)?.try_into().expect("4 bytes")))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A small labelled history: three categories, Chinese with a few English reports.
    pub(crate) const FIXTURE: &[(&str, &str, &str)] = &[
        ("小区垃圾堆放无人清理", "楼下垃圾桶已经满了好几天，垃圾堆在路边，臭气熏天。", "环境卫生"),
        ("垃圾站异味严重", "垃圾中转站每天散发异味，苍蝇很多，居民无法开窗。", "环境卫生"),
        ("河道污水排放", "有工厂往河里排放污水，河水发黑发臭。", "环境卫生"),
        ("建筑垃圾乱倒", "有人夜里在空地上偷倒建筑垃圾，请尽快清运。", "环境卫生"),
        ("公共厕所脏乱", "公园的公共厕所很久没人打扫，地面很脏。", "环境卫生"),
        ("餐馆油烟污染", "楼下餐馆的油烟直接排放，熏得住户家里全是油味。", "环境卫生"),
        ("垃圾分类桶损坏", "小区的垃圾分类桶坏了，垃圾散落一地。", "环境卫生"),
        ("污水井冒水", "路口的污水井往外冒污水，气味难闻。", "环境卫生"),
        (
            "Garbage not collected",
            "The garbage bins on our street have not been emptied for a week and smell bad.",
            "环境卫生",
        ),
        ("Sewage smell", "Sewage is leaking near the park and the smell is terrible.", "环境卫生"),
        ("路灯不亮", "小区门口的路灯坏了一个月，晚上走路很危险。", "道路交通"),
        ("红绿灯故障", "十字路口的红绿灯不亮，车辆乱行，容易出事故。", "道路交通"),
        ("道路坑洼", "这条路上坑坑洼洼，下雨积水，车辆经过很颠簸。", "道路交通"),
        ("乱停车堵路", "很多车辆乱停在路边，堵住了消防通道。", "道路交通"),
        ("公交站牌缺失", "公交车站的站牌被撞倒了，乘客不知道在哪里等车。", "道路交通"),
        ("井盖丢失", "人行道上的井盖丢失，行人容易掉下去。", "道路交通"),
        ("斑马线褪色", "学校门口的斑马线已经看不清，车辆不减速。", "道路交通"),
        ("道路施工占道", "道路施工围挡占了两个车道，早晚高峰严重拥堵。", "道路交通"),
        ("Broken street light", "The street light at the corner is broken and the road is dark at night.", "道路交通"),
        ("Pothole on the road", "A deep pothole on the road damaged my car tyre.", "道路交通"),
        ("夜间施工噪音扰民", "工地每天晚上施工到凌晨，噪音太大，无法睡觉。", "噪音扰民"),
        ("广场舞音响太吵", "广场舞的音响声音很大，从早到晚吵个不停。", "噪音扰民"),
        ("酒吧噪音", "楼下酒吧每天深夜放很大声的音乐，影响休息。", "噪音扰民"),
        ("装修噪音", "邻居周末一早就开始装修电钻，噪音扰民。", "噪音扰民"),
        ("商铺喇叭太吵", "商铺门口的喇叭整天循环播放广告，噪音严重。", "噪音扰民"),
        ("车辆鸣笛噪音", "小区旁边的道路车辆整夜鸣笛，噪音很大。", "噪音扰民"),
        ("Noise from the bar", "Loud music from the bar every night, we cannot sleep.", "噪音扰民"),
        ("工厂机器噪音", "附近工厂的机器日夜轰鸣，噪音扰民严重。", "噪音扰民"),
        (
            "Loud music at night",
            "The bar downstairs plays loud music until 3 am, we cannot sleep because of the noise.",
            "噪音扰民",
        ),
        ("Construction noise", "Construction work starts at 5 am every day and the noise is unbearable.", "噪音扰民"),
    ];

    pub(crate) fn fixture() -> Vec<Example<'static>> {
        FIXTURE.iter().map(|&(subject, body, label)| Example { subject, body, label }).collect()
    }

    fn model() -> Model {
        Trainer::default().train(&fixture()).unwrap()
    }

    #[test]
    fn training_separates_the_categories() {
        let m = model();
        assert_eq!(m.labels(), ["噪音扰民", "环境卫生", "道路交通"]);
        assert_eq!(m.trained_on(), FIXTURE.len());
        for e in fixture() {
            assert_eq!(m.suggest(e.subject, e.body, 1).labels[0].label, e.label, "{}", e.subject);
        }
        // Reports it has not seen.
        for (subject, body, label) in [
            ("垃圾没人清理", "小区门口垃圾堆了很多天，味道很臭。", "环境卫生"),
            ("路灯坏了", "我家楼下的路灯不亮了，晚上很黑。", "道路交通"),
            ("工地噪音", "工地半夜施工，声音太吵了。", "噪音扰民"),
            ("", "The music from the bar is too loud at night.", "噪音扰民"),
        ] {
            let s = m.suggest(subject, body, 3);
            assert_eq!(s.labels[0].label, label, "{subject} {body}: {s:?}");
        }
    }

    #[test]
    fn scores_are_probabilities_sorted_and_explained() {
        let m = model();
        let s = m.suggest("垃圾堆放", "小区垃圾堆放好几天了，臭气熏天，请环卫部门清理。", 3);
        assert_eq!(s.labels.len(), 3);
        let sum: f32 = s.labels.iter().map(|x| x.probability).sum();
        assert!((sum - 1.0).abs() < 1e-4, "{sum}");
        assert!(s.labels.windows(2).all(|w| w[0].probability >= w[1].probability));
        assert!(s.confident, "{s:?}");
        assert!(s.known_features >= MIN_KNOWN);
        assert!(!s.evidence.is_empty() && s.evidence.len() <= EVIDENCE);
        assert!(s.evidence.windows(2).all(|w| w[0].weight >= w[1].weight));
        assert!(s.evidence.iter().any(|e| e.text.contains('垃') || e.text.contains('臭')), "{:?}", s.evidence);
        // k limits the list.
        assert_eq!(m.suggest("垃圾堆放", "", 1).labels.len(), 1);
        assert!(m.suggest("垃圾堆放", "", 0).labels.is_empty());
    }

    #[test]
    fn bad_input_gives_a_weak_suggestion_or_none_and_never_panics() {
        let m = model();
        for (subject, body) in [("", ""), ("😀😡🚧", "🙏🙏🙏"), ("？！。，", "……——!!!???"), ("   ", "\n\t")]
        {
            let s = m.suggest(subject, body, 3);
            assert!(s.labels.is_empty() && !s.confident && s.known_features == 0, "{subject:?}: {s:?}");
        }
        // Another language the model never saw.
        let s = m.suggest("Проблема", "Уличный фонарь не работает уже неделю", 3);
        assert!(!s.confident, "{s:?}");
        // 100 KB of text: only the first characters are read, quickly.
        let huge = "路灯坏了，垃圾很多，噪音很大。".repeat(7000);
        let started = std::time::Instant::now();
        let s = m.suggest(&huge, &huge, 3);
        assert_eq!(s.labels.len(), 3);
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
        // Control characters and a lone combining mark.
        let s = m.suggest("\u{0}\u{7}", "\u{301}路\u{200b}灯", 3);
        assert!(s.labels.len() <= 3);
    }

    #[test]
    fn model_bytes_round_trip() {
        let m = model();
        let bytes = m.to_bytes();
        let back = Model::from_bytes(&bytes).unwrap();
        assert_eq!(back, m);
        assert_eq!(back.suggest("路灯", "路灯坏了", 3), m.suggest("路灯", "路灯坏了", 3));
    }

    #[test]
    fn damaged_or_foreign_bytes_are_refused() {
        let bytes = model().to_bytes();
        for i in [0, 9, 20, bytes.len() / 2, bytes.len() - 1] {
            let mut b = bytes.clone();
            b[i] ^= 0x40;
            assert!(Model::from_bytes(&b).is_err(), "flipped byte {i}");
        }
        assert_eq!(Model::from_bytes(&bytes[..bytes.len() - 1]), Err(ModelError::Checksum));
        assert_eq!(Model::from_bytes(b"not a model"), Err(ModelError::NotAModel));
        assert_eq!(Model::from_bytes(&[]), Err(ModelError::NotAModel));
        // Another format version, with a valid checksum: refused by its version.
        let mut other = bytes[..bytes.len() - 32].to_vec();
        other[8..10].copy_from_slice(&(FORMAT_VERSION + 1).to_le_bytes());
        let sum = <sha2::Sha256 as sha2::Digest>::digest(&other);
        other.extend_from_slice(&sum);
        assert_eq!(
            Model::from_bytes(&other),
            Err(ModelError::Version { found: FORMAT_VERSION + 1, expected: FORMAT_VERSION })
        );
        // A consistent checksum over inconsistent contents: refused as malformed, not trusted.
        let mut bad = bytes[..bytes.len() - 32].to_vec();
        bad.truncate(bad.len() - 3);
        let sum = <sha2::Sha256 as sha2::Digest>::digest(&bad);
        bad.extend_from_slice(&sum);
        assert!(matches!(Model::from_bytes(&bad), Err(ModelError::Malformed(_))));
    }

    #[test]
    fn the_same_examples_and_seed_give_the_same_bytes() {
        let a = model().to_bytes();
        assert_eq!(a, model().to_bytes());
        let other = Trainer { seed: 2, ..Trainer::default() }.train(&fixture()).unwrap();
        assert_ne!(a, other.to_bytes());
    }

    #[test]
    fn too_little_history_is_refused() {
        let t = Trainer::default();
        let few = &fixture()[..5];
        assert_eq!(t.train(few).unwrap_err(), TrainError::TooFewExamples { have: 5, need: 20 });
        let one: Vec<Example> = fixture().into_iter().map(|e| Example { label: "x", ..e }).collect();
        assert_eq!(t.train(&one).unwrap_err(), TrainError::TooFewClasses { classes: 1 });
        let mut blank = fixture();
        blank[3].label = " ";
        assert_eq!(t.train(&blank).unwrap_err(), TrainError::EmptyLabel);
        assert!(matches!(Trainer { hash_bits: 40, ..t.clone() }.train(&fixture()), Err(TrainError::Setting(_))));
        assert!(matches!(Trainer { l2: f32::NAN, ..t }.train(&fixture()), Err(TrainError::Setting(_))));
    }

    /// Reports without a label, of the fixture's kinds.
    const UNLABELLED: &[(&str, &str)] = &[
        ("垃圾桶满了", "垃圾桶满了没人清理，气味很臭。"),
        ("路灯坏了", "路口的路灯坏了，晚上很黑。"),
        ("半夜噪音", "楼上半夜装修，噪音很大。"),
        ("出租车拒载", "出租车司机拒载，还绕路。"),
        ("污水横流", "小区污水横流，臭气熏天。"),
        ("车辆乱停", "车辆乱停，道路堵塞。"),
    ];

    fn unlabelled() -> Vec<Text<'static>> {
        UNLABELLED.iter().map(|&(subject, body)| Text { subject, body }).collect()
    }

    #[test]
    fn empty_extras_train_the_same_model_as_train() {
        let plain = Trainer::default().train(&fixture()).unwrap();
        let extra = Trainer::default().train_with(&fixture(), &Extra::default()).unwrap();
        assert_eq!(plain.to_bytes(), extra.to_bytes());
        // Unlabelled reports are only read when a setting asks for them.
        let texts = unlabelled();
        let t = Trainer { unlabelled_idf: false, ..Trainer::default() };
        let ignored = t.train_with(&fixture(), &Extra { unlabelled: &texts, label_texts: &[] }).unwrap();
        assert_eq!(ignored.to_bytes(), t.train(&fixture()).unwrap().to_bytes());
    }

    #[test]
    fn label_descriptions_teach_words_no_example_used() {
        // Characters no example has (a made-up description, as a label's name would be).
        let descriptions = [
            LabelText { label: "噪音扰民", text: "铁锤" },
            LabelText { label: "噪音扰民", text: "锤击" },
            LabelText { label: "环境卫生", text: "油烟" },
            // Labels without examples are ignored; so are empty descriptions.
            LabelText { label: "教育", text: "学校收费" },
            LabelText { label: "道路交通", text: "  " },
        ];
        // A feature must still be seen in `min_df` reports, labelled or not: here, unlabelled.
        let texts =
            [Text { subject: "铁锤声", body: "隔壁用铁锤锤击墙面" }, Text { subject: "锤击", body: "每天铁锤锤击" }];
        let extra = Extra { unlabelled: &texts, label_texts: &descriptions };
        let t = Trainer::default();
        let with = t.train_with(&fixture(), &extra).unwrap();
        assert_eq!(with.labels(), ["噪音扰民", "环境卫生", "道路交通"]);
        assert_eq!(with.trained_on(), FIXTURE.len());
        let p = |m: &Model| {
            let s = m.suggest("铁锤", "铁锤锤击", 3);
            s.labels.iter().find(|x| x.label == "噪音扰民").map_or(0.0, |x| x.probability)
        };
        let without = t.train_with(&fixture(), &Extra { unlabelled: &texts, label_texts: &[] }).unwrap();
        assert!(p(&without) < 0.5, "{}", p(&without));
        assert!(p(&with) > 0.5, "{}", p(&with));
        assert_eq!(with.suggest("铁锤", "铁锤锤击", 1).labels[0].label, "噪音扰民");
        // Weight 0 ignores them.
        let off = Trainer { label_text_weight: 0.0, ..t.clone() }.train_with(&fixture(), &extra).unwrap();
        assert_eq!(off.to_bytes(), without.to_bytes());
        // Deterministic, and the bytes round-trip.
        let again = t.train_with(&fixture(), &extra).unwrap();
        assert_eq!(with.to_bytes(), again.to_bytes());
        assert_eq!(Model::from_bytes(&with.to_bytes()).unwrap(), with);
    }

    #[test]
    fn unlabelled_reports_count_in_idf_and_self_training() {
        let texts = unlabelled();
        let extra = Extra { unlabelled: &texts, label_texts: &[] };
        let t = Trainer::default();
        let idf = t.train_with(&fixture(), &extra).unwrap();
        assert_ne!(idf.to_bytes(), t.train(&fixture()).unwrap().to_bytes(), "idf over more documents");
        assert_eq!(idf.trained_on(), FIXTURE.len());
        let st = Trainer { self_training_rounds: 2, self_training_threshold: 0.5, ..t.clone() };
        let a = st.train_with(&fixture(), &extra).unwrap();
        assert_eq!(a.to_bytes(), st.train_with(&fixture(), &extra).unwrap().to_bytes());
        assert_ne!(a.to_bytes(), idf.to_bytes(), "pseudo-labelled reports were trained on");
        assert_eq!(a.trained_on(), FIXTURE.len());
        for (subject, body, label) in
            [("垃圾没人清理", "垃圾堆了很多天，很臭。", "环境卫生"), ("工地噪音", "半夜施工太吵了。", "噪音扰民")]
        {
            assert_eq!(a.suggest(subject, body, 1).labels[0].label, label);
        }
        // Features only unlabelled reports have get no weight and are not kept in the model.
        let rainbow = [Text { subject: "彩虹桥", body: "彩虹桥" }, Text { subject: "彩虹桥", body: "彩虹桥" }];
        let m = t.train_with(&fixture(), &Extra { unlabelled: &rainbow, label_texts: &[] }).unwrap();
        assert_eq!(m.suggest("彩虹桥", "彩虹桥", 3).known_features, 0);
        assert_eq!(m.buckets.len(), t.train(&fixture()).unwrap().buckets.len());
        // A threshold above 1 takes no pseudo-label; out of range settings are refused.
        assert!(matches!(
            Trainer { self_training_threshold: 1.5, ..t.clone() }.train_with(&fixture(), &extra),
            Err(TrainError::Setting(_))
        ));
        assert!(matches!(Trainer { label_text_weight: -1.0, ..t }.train(&fixture()), Err(TrainError::Setting(_))));
    }

    #[test]
    fn calibration_fits_a_temperature() {
        let m = model();
        assert!(m.temperature() > 0.05 && m.temperature() < 20.0);
        let plain = Trainer { calibrate: false, ..Trainer::default() }.train(&fixture()).unwrap();
        assert_eq!(plain.temperature(), 1.0);
    }
}
