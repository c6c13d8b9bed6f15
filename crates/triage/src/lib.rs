//! Intelligent triage: which category a resident's report belongs to, learned from the
//! platform's own history, and which department usually takes such cases in a grid.
//!
//! - [`text`]: from text to features: normalisation, jieba words (its embedded dictionary,
//!   nothing downloaded), character n-grams (1–2 by default), hashed apart per field (subject, body).
//! - [`model`]: [`Trainer`] → [`Model`], a multinomial logistic regression with calibrated
//!   probabilities ([`Trainer::train_with`] also reads unlabelled reports and the labels'
//!   descriptions, [`Extra`]); [`Model::suggest`] gives the top k labels, whether it is
//!   confident, and the words that weighed most. A model travels as bytes with a format version
//!   and a checksum.
//! - [`eval`]: [`evaluate`] on a train/test split and stratified [`cross_validate`] (with extras:
//!   [`cross_validate_with`]), both summarised in a [`Report`].
//! - [`department`]: [`DepartmentTally`], the most common department per category and grid.
//! - [`floods`]: reports of one problem folded into groups as they arrive ([`floods::fold`]).
//! - [`surges`]: a grid's daily count of a category tested against its own history
//!   ([`surges::test`], a negative binomial tail).
//!
//! A fresh deployment has no history: [`Trainer::train`] refuses fewer than
//! [`Trainer::min_examples`] examples or a single category, and the platform says that it is
//! untrained rather than guess.
//!
//! **Architecture invariant:** this crate does no I/O and keeps no state besides jieba's
//! dictionary (loaded once, read-only). It never fails on a text: empty, huge, emoji-only or
//! foreign input gives a suggestion with low confidence or none.

pub mod department;
pub mod eval;
pub mod floods;
pub mod model;
pub mod surges;
pub mod text;

pub use department::{DepartmentSuggestion, DepartmentTally, TallyScope};
pub use eval::{cross_validate, cross_validate_with, evaluate, evaluate_with, stratified_folds, Report};
pub use model::{
    Evidence, Example, Extra, LabelText, Model, ModelError, Scored, Suggestion, Text, TrainError, Trainer,
    FORMAT_VERSION,
};
