//! Intelligent triage in the server: the category model learned from the platform's own history
//! (loaded at start, retrained on a schedule and on demand, never trusted when its bytes are
//! damaged or of another format), suggestions for the reporter and for the center (recorded, so
//! their accuracy in production is a measure), groups of reports of one problem folded in one
//! action, and surges of a grid's reports.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, RwLock};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use gridkeeper_domain::time::{local_day, local_day_start, parse_rfc3339, to_rfc3339, DAY};
use gridkeeper_domain::{
    decide_on, may, Case, CaseState, Category, CategoryId, Command, Millis, Original, Permission, PersonId, RegionCode,
    Urgency, HOUR,
};
use gridkeeper_store::{
    CaseQuery, DailyCount, NewAudit, NewTriageModel, SuggestionRecord, SuggestionTally, TrainingCase,
};
use gridkeeper_triage::floods::{self, FoldSettings};
use gridkeeper_triage::surges::{self, SurgeSettings};
use gridkeeper_triage::{
    DepartmentTally, Example, Extra, LabelText, Model, Suggestion, TallyScope, TrainError, Trainer, FORMAT_VERSION,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Auth;
use crate::cases::CaseView;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, Query};
use crate::measures::region_in_scope;
use crate::{App, AppState};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(model_status, retrain))
        .routes(routes!(suggest))
        .routes(routes!(case_suggestions))
        .routes(routes!(accuracy))
        .routes(routes!(groups))
        .routes(routes!(fold))
        .routes(routes!(surges_of))
}

/// The `[server.triage]` section of the configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TriageSettings {
    /// Hours between retrainings on the newest history (0: only on demand).
    pub retrain_hours: u32,
    /// The newest decided cases learned from, at most.
    pub max_examples: u32,
    /// Fewest decided cases before suggestions are made (a fresh deployment stays untrained).
    pub min_examples: u32,
    /// Features are hashed into 2^hash_bits buckets (10..=24): the model's size is about
    /// 2^hash_bits × (categories + 1) × 4 bytes at most.
    pub hash_bits: u8,
    /// Reports of one problem: at most this far apart (metres) …
    pub fold_radius_m: f64,
    /// … this long apart (hours) …
    pub fold_window_hours: u32,
    /// … and their texts at least this alike (cosine of character bigrams, 0..=1).
    pub fold_similarity: f32,
    /// Surges: the largest p-value that raises an alert.
    pub surge_alpha: f64,
    /// Surges: fewest reports a day that can be one.
    pub surge_min_count: u32,
}

impl Default for TriageSettings {
    fn default() -> Self {
        let fold = FoldSettings::default();
        let surge = SurgeSettings::default();
        TriageSettings {
            retrain_hours: 24,
            max_examples: 200_000,
            min_examples: 50,
            hash_bits: 16,
            fold_radius_m: fold.radius_m,
            fold_window_hours: (fold.window_ms / HOUR) as u32,
            fold_similarity: fold.min_similarity,
            surge_alpha: surge.alpha,
            surge_min_count: surge.min_count,
        }
    }
}

impl TriageSettings {
    pub(crate) fn validate(&self) -> Result<(), crate::StartupError> {
        let bad = |what: &str| Err(format!("server.triage.{what}").into());
        if !(10..=24).contains(&self.hash_bits) {
            return bad("hash_bits: between 10 and 24");
        }
        if !(self.fold_radius_m.is_finite() && self.fold_radius_m > 0.0 && self.fold_radius_m <= 5000.0) {
            return bad("fold_radius_m: more than 0 and at most 5,000 metres");
        }
        if !(0.0..=1.0).contains(&self.fold_similarity) {
            return bad("fold_similarity: between 0 and 1");
        }
        if !(self.surge_alpha > 0.0 && self.surge_alpha < 1.0) {
            return bad("surge_alpha: between 0 and 1");
        }
        Ok(())
    }

    fn fold(&self) -> FoldSettings {
        FoldSettings {
            radius_m: self.fold_radius_m,
            window_ms: i64::from(self.fold_window_hours) * HOUR,
            min_similarity: self.fold_similarity,
        }
    }

    fn surge(&self) -> SurgeSettings {
        SurgeSettings { alpha: self.surge_alpha, min_count: self.surge_min_count, ..SurgeSettings::default() }
    }
}

/// A model in use.
pub struct Trained {
    /// Its row in the store.
    pub id: i64,
    pub model: Model,
    pub departments: DepartmentTally,
    pub trained_at: Millis,
    pub examples: u64,
}

/// Whether suggestions can be made.
#[derive(Clone)]
enum Status {
    Untrained { reason: String },
    Trained(Arc<Trained>),
}

/// The model in use and its training.
pub struct Suggester {
    status: RwLock<Status>,
    training: AtomicBool,
    /// When training last started (to retry an untrained deployment once a period).
    last_attempt: AtomicI64,
}

impl Default for Suggester {
    fn default() -> Self {
        Suggester {
            status: RwLock::new(Status::Untrained { reason: "no model has been trained yet".into() }),
            training: AtomicBool::new(false),
            last_attempt: AtomicI64::new(i64::MIN),
        }
    }
}

impl Suggester {
    fn status(&self) -> Status {
        self.status.read().expect("triage lock poisoned").clone()
    }

    fn set(&self, s: Status) {
        *self.status.write().expect("triage lock poisoned") = s;
    }

    /// The model in use, if any.
    pub fn trained(&self) -> Option<Arc<Trained>> {
        match self.status() {
            Status::Trained(t) => Some(t),
            Status::Untrained { .. } => None,
        }
    }
}

/// Resets the training flag however training ends.
struct TrainingGuard<'a>(&'a AtomicBool);

impl Drop for TrainingGuard<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::SeqCst);
    }
}

/// Each subclass's names, in both languages, as (category id, name): short examples of the
/// category when training.
pub fn category_names<'a>(categories: impl IntoIterator<Item = &'a Category>) -> Vec<(String, String)> {
    categories
        .into_iter()
        .filter(|c| !c.is_class())
        .flat_map(|c| [(c.id.to_string(), c.name.clone()), (c.id.to_string(), c.name_en.clone())])
        .collect()
}

/// Trains on decided cases as the server does (CPU-bound: run it off the async threads): a case
/// is learned from its description (reports have no separate subject), with the categories' names
/// (`category_names`) as short examples; and the tally of departments per category and grid.
pub fn train(
    settings: &TriageSettings,
    cases: &[TrainingCase],
    names: &[(String, String)],
) -> Result<(Model, DepartmentTally), TrainError> {
    let labels: Vec<String> = cases.iter().map(|c| c.category.to_string()).collect();
    let examples: Vec<Example> =
        cases.iter().zip(&labels).map(|(c, label)| Example { subject: "", body: &c.description, label }).collect();
    let label_texts: Vec<LabelText> = names.iter().map(|(label, text)| LabelText { label, text }).collect();
    let trainer =
        Trainer { hash_bits: settings.hash_bits, min_examples: settings.min_examples as usize, ..Trainer::default() };
    let model = trainer.train_with(&examples, &Extra { label_texts: &label_texts, ..Extra::default() })?;
    let mut departments = DepartmentTally::new();
    for (c, label) in cases.iter().zip(&labels) {
        if let Some(d) = c.lead_department {
            departments.add(label, &c.scope_region, &d.to_string());
        }
    }
    Ok((model, departments))
}

/// Groups reports of one problem ([`floods::fold`]) as the server does: a report's category is
/// the one decided or suggested by its reporter, else `model`'s first choice when it is
/// confident; a category gives its class and its own duplicate reach.
pub fn fold_cases(
    cases: &[Case],
    categories: &HashMap<CategoryId, Category>,
    model: Option<&Model>,
    settings: &FoldSettings,
) -> Vec<Vec<usize>> {
    let guessed: Vec<Option<CategoryId>> = cases
        .iter()
        .map(|c| {
            c.category.or(c.suggested_category).or_else(|| {
                let s = model?.suggest("", &c.description, 1);
                s.confident.then(|| s.labels.first()?.label.parse().ok()).flatten()
            })
        })
        .collect();
    let reports: Vec<floods::Report> = cases
        .iter()
        .zip(&guessed)
        .map(|(c, &category)| {
            let known = category.and_then(|id| categories.get(&id));
            floods::Report {
                at: c.reported_at,
                location: c.location.map(|l| (l.lat, l.lon)),
                text: &c.description,
                category,
                class: known.and_then(|c| c.parent_id),
                reach: known.map(Category::reach),
            }
        })
        .collect();
    floods::fold(&reports, settings)
}

impl App {
    /// Loads the newest stored model. `false` when there is none, or when it cannot be trusted
    /// (damaged, or of another format): the caller then trains a new one.
    pub async fn load_triage_model(&self) -> ApiResult<bool> {
        let Some(row) = self.store.triage_model().await? else { return Ok(false) };
        if self.triage.trained().is_some_and(|t| t.id == row.id) {
            return Ok(true);
        }
        let read = || -> Result<(Model, DepartmentTally), String> {
            if row.format != FORMAT_VERSION {
                return Err(format!("format {}; this build reads format {FORMAT_VERSION}", row.format));
            }
            let model = Model::from_bytes(&row.model).map_err(|e| e.to_string())?;
            let departments = serde_json::from_str(&row.departments).map_err(|e| e.to_string())?;
            Ok((model, departments))
        };
        match read() {
            Ok((model, departments)) => {
                let t = Trained { id: row.id, model, departments, trained_at: row.trained_at, examples: row.examples };
                self.triage.set(Status::Trained(Arc::new(t)));
                Ok(true)
            }
            Err(e) => {
                tracing::warn!(model = row.id, error = %e, "the stored triage model cannot be used; it will be rebuilt");
                Ok(false)
            }
        }
    }

    /// Trains a model on the newest decided cases and puts it in use; with too little history
    /// the platform stays untrained and says why. Returns `false` when a training was already
    /// running (nothing done).
    pub async fn retrain_triage(&self, by: Option<PersonId>) -> ApiResult<bool> {
        if self.triage.training.swap(true, Ordering::SeqCst) {
            return Ok(false);
        }
        let _guard = TrainingGuard(&self.triage.training);
        let started = self.now();
        self.triage.last_attempt.store(started, Ordering::SeqCst);
        let cases = self.store.training_cases(self.settings.triage.max_examples).await?;
        let settings = self.settings.triage.clone();
        // Each category's names, in both languages (the platform's own category tree).
        let names = category_names(self.reference().categories.values());
        let trained = tokio::task::spawn_blocking(move || (train(&settings, &cases, &names), cases.len()))
            .await
            .map_err(ApiError::internal)?;
        match trained {
            (Ok((model, departments)), n) => {
                let bytes = model.to_bytes();
                let tally = serde_json::to_string(&departments).map_err(ApiError::internal)?;
                let at = self.now();
                let id = self
                    .store
                    .put_triage_model(&NewTriageModel {
                        trained_at: at,
                        trained_by: by,
                        examples: n as u64,
                        format: FORMAT_VERSION,
                        model: &bytes,
                        departments: &tally,
                    })
                    .await?;
                tracing::info!(
                    examples = n,
                    categories = model.labels().len(),
                    bytes = bytes.len(),
                    seconds = (at - started) as f64 / 1000.0,
                    "triage model trained"
                );
                let t = Trained { id, model, departments, trained_at: at, examples: n as u64 };
                self.triage.set(Status::Trained(Arc::new(t)));
            }
            (Err(e), _) => {
                tracing::info!(reason = %e, "triage stays untrained");
                // A model trained before stays in use: less history now (say, after a purge)
                // does not make it wrong.
                if self.triage.trained().is_none() {
                    self.triage.set(Status::Untrained { reason: e.to_string() });
                }
            }
        }
        Ok(true)
    }

    /// The categories suggested for a text, with the model that made them; `None` untrained.
    fn suggest_for(&self, text: &str, k: usize) -> Option<(Arc<Trained>, Suggestion)> {
        let t = self.triage.trained()?;
        let s = t.model.suggest("", text, k);
        Some((t, s))
    }
}

/// Loads the stored model, or trains one when there is none (or it cannot be trusted); then every
/// minute picks up a model another instance trained, and retrains once `retrain_hours` passed
/// since the model in use was trained (or since the last attempt, when still untrained).
pub(crate) async fn keep_model(app: AppState) {
    match app.load_triage_model().await {
        Ok(true) => {}
        Ok(false) => retrain_logged(&app).await,
        Err(e) => tracing::warn!(error = %e.problem().detail, "loading the triage model failed; will retry"),
    }
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
    tick.tick().await;
    loop {
        tick.tick().await;
        match app.store.triage_model_id().await {
            Ok(Some(id)) if app.triage.trained().map(|t| t.id) != Some(id) => {
                if let Err(e) = app.load_triage_model().await {
                    tracing::warn!(error = %e.problem().detail, "loading the triage model failed; will retry");
                }
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, "checking the triage model failed; will retry");
                continue;
            }
        }
        let every = i64::from(app.settings.triage.retrain_hours) * HOUR;
        let last =
            app.triage.trained().map_or(i64::MIN, |t| t.trained_at).max(app.triage.last_attempt.load(Ordering::SeqCst));
        if every > 0 && app.now().saturating_sub(last) >= every {
            retrain_logged(&app).await;
        }
    }
}

async fn retrain_logged(app: &App) {
    if let Err(e) = app.retrain_triage(None).await {
        tracing::warn!(error = %e.problem().detail, "retraining triage failed; will retry");
    }
}

// ---------------------------------------------------------------- the model

/// Whether suggestions are made, and by which model.
#[derive(Serialize, ToSchema)]
pub struct ModelStatus {
    /// `trained` or `untrained`.
    #[schema(pattern = "^(trained|untrained)$")]
    pub state: &'static str,
    /// Why there are no suggestions yet (untrained).
    pub reason: Option<String>,
    /// A training is running now.
    pub training: bool,
    #[schema(format = DateTime)]
    pub trained_at: Option<String>,
    /// Decided cases it learned from.
    pub examples: Option<u64>,
    /// Categories it knows.
    pub categories: Option<usize>,
    /// The model's format version.
    pub format: u16,
}

fn status_of(app: &App) -> ModelStatus {
    let training = app.triage.training.load(Ordering::SeqCst);
    match app.triage.status() {
        Status::Untrained { reason } => ModelStatus {
            state: "untrained",
            reason: Some(reason),
            training,
            trained_at: None,
            examples: None,
            categories: None,
            format: FORMAT_VERSION,
        },
        Status::Trained(t) => ModelStatus {
            state: "trained",
            reason: None,
            training,
            trained_at: Some(to_rfc3339(t.trained_at)),
            examples: Some(t.examples),
            categories: Some(t.model.labels().len()),
            format: FORMAT_VERSION,
        },
    }
}

#[utoipa::path(get, path = "/triage/model", tag = "triage", operation_id = "triage_model", summary = "Whether category suggestions are trained, on how much history",
    responses((status = 200, description = "The model in use, or why there is none", body = ModelStatus), (status = 403, description = "Not allowed (role, scope or CSRF token)")))]
async fn model_status(State(app): State<AppState>, auth: Auth) -> ApiResult<Json<ModelStatus>> {
    may(&auth.actor, Permission::SeeSuggestions).map_err(|r| ApiError::refusal(r, None))?;
    Ok(Json(status_of(&app)))
}

#[utoipa::path(post, path = "/triage/model", tag = "triage", operation_id = "retrain_triage", summary = "Retrain the category suggestions on the newest history now",
    responses((status = 202, description = "Training started (or already running); follow it with GET", body = ModelStatus), (status = 403, description = "Not allowed (role, scope or CSRF token)")))]
async fn retrain(State(app): State<AppState>, auth: Auth) -> ApiResult<(StatusCode, Json<ModelStatus>)> {
    may(&auth.actor, Permission::RetrainSuggestions).map_err(|r| ApiError::refusal(r, None))?;
    let now = app.now();
    app.store
        .audit(&NewAudit {
            at: now,
            actor: Some(auth.person.id),
            action: "config".into(),
            object: Some("triage:model".into()),
            detail: json!({ "retrain": true }),
        })
        .await?;
    let running = app.clone();
    let by = auth.person.id;
    // A training already running makes this one return at once.
    tokio::spawn(async move {
        if let Err(e) = running.retrain_triage(Some(by)).await {
            tracing::warn!(error = %e.problem().detail, "retraining triage failed");
        }
    });
    let mut status = status_of(&app);
    status.training = true;
    Ok((StatusCode::ACCEPTED, Json(status)))
}

// ---------------------------------------------------------------- suggestions

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SuggestBody {
    /// What the reporter wrote, in any language and of any length (only the first 2,000
    /// characters are read).
    pub description: String,
}

/// A category suggested, with its probability.
#[derive(Serialize, ToSchema)]
pub struct CategoryScore {
    /// A subclass id.
    pub category: i64,
    pub code: String,
    pub name: String,
    pub name_en: String,
    /// Calibrated: of many suggestions with probability 0.8, about 8 in 10 are right.
    pub probability: f32,
}

/// Suggested categories for a text.
#[derive(Serialize, ToSchema)]
pub struct SuggestAnswer {
    /// `trained` or `untrained` (then no categories).
    #[schema(pattern = "^(trained|untrained)$")]
    pub state: &'static str,
    /// The most probable first, at most three; empty when the text says nothing the model knows.
    pub categories: Vec<CategoryScore>,
    /// The first is probable enough to be offered first.
    pub confident: bool,
    /// Words and characters of the text that weighed most for the first.
    pub evidence: Vec<String>,
}

fn scores(app: &App, s: &Suggestion) -> Vec<CategoryScore> {
    let reference = app.reference();
    s.labels
        .iter()
        .filter_map(|l| {
            let c = reference.categories.get(&l.label.parse().ok()?)?;
            Some(CategoryScore {
                category: c.id,
                code: c.code.clone(),
                name: c.name.clone(),
                name_en: c.name_en.clone(),
                probability: l.probability,
            })
        })
        .collect()
}

fn evidence(s: &Suggestion) -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    for e in &s.evidence {
        if !words.contains(&e.text) {
            words.push(e.text.clone());
        }
    }
    words
}

#[utoipa::path(post, path = "/triage/suggest", tag = "triage", operation_id = "suggest_categories", summary = "Categories suggested for what a reporter wrote", security((), ("bearer" = []), ("session_cookie" = [])),
    request_body = SuggestBody,
    responses((status = 200, description = "Up to three categories, most probable first (none when untrained or when the text says nothing known)", body = SuggestAnswer)))]
async fn suggest(State(app): State<AppState>, ApiJson(b): ApiJson<SuggestBody>) -> ApiResult<Json<SuggestAnswer>> {
    Ok(Json(match app.suggest_for(&b.description, 3) {
        None => SuggestAnswer { state: "untrained", categories: vec![], confident: false, evidence: vec![] },
        Some((_, s)) => SuggestAnswer {
            state: "trained",
            categories: scores(&app, &s),
            confident: s.confident,
            evidence: evidence(&s),
        },
    }))
}

/// The department a category's cases in this grid were most often dispatched to.
#[derive(Serialize, ToSchema)]
pub struct DepartmentGuess {
    pub department: i64,
    pub name: String,
    pub name_en: String,
    /// Of the cases of the category counted, the share dispatched to it.
    pub share: f32,
    pub count: u32,
    pub out_of: u32,
    /// `grid`: counted in this grid; `category`: the grid had none, counted everywhere.
    #[schema(pattern = "^(grid|category)$")]
    pub scope: &'static str,
}

#[derive(Serialize, ToSchema)]
pub struct CaseCategoryScore {
    #[serde(flatten)]
    pub category: CategoryScore,
    pub department: Option<DepartmentGuess>,
}

/// What the center is offered for a case.
#[derive(Serialize, ToSchema)]
pub struct CaseSuggestions {
    #[schema(pattern = "^(trained|untrained)$")]
    pub state: &'static str,
    /// Why there are no suggestions (untrained).
    pub reason: Option<String>,
    pub categories: Vec<CaseCategoryScore>,
    pub confident: bool,
    pub evidence: Vec<String>,
}

fn department_guess(app: &App, t: &Trained, category: i64, region: &str) -> Option<DepartmentGuess> {
    let g = t.departments.suggest(&category.to_string(), region)?;
    let reference = app.reference();
    let d = reference.departments.get(&g.department.parse().ok()?)?;
    Some(DepartmentGuess {
        department: d.id,
        name: d.name.clone(),
        name_en: d.name_en.clone(),
        share: g.share,
        count: g.count,
        out_of: g.out_of,
        scope: match g.scope {
            TallyScope::Grid => "grid",
            TallyScope::Category => "category",
        },
    })
}

#[utoipa::path(get, path = "/cases/{key}/suggestions", tag = "triage", operation_id = "case_suggestions", summary = "Categories and departments suggested for a case",
    params(("key" = String, Path, description = "Case id or reference")),
    responses((status = 200, description = "Up to three categories, each with the department most often chosen for it in the case's grid; the first suggestion for a new report is recorded", body = CaseSuggestions), (status = 403, description = "Not allowed (role, scope or CSRF token)"), (status = 404, description = "Not found, or outside one's scope")))]
async fn case_suggestions(
    State(app): State<AppState>,
    auth: Auth,
    Path(key): Path<String>,
) -> ApiResult<Json<CaseSuggestions>> {
    may(&auth.actor, Permission::SeeSuggestions).map_err(|r| ApiError::refusal(r, None))?;
    let case = app.find_case(&auth.actor, &key).await?;
    let Some((t, s)) = app.suggest_for(&case.description, 3) else {
        let reason = match app.triage.status() {
            Status::Untrained { reason } => Some(reason),
            Status::Trained(_) => None,
        };
        return Ok(Json(CaseSuggestions {
            state: "untrained",
            reason,
            categories: vec![],
            confident: false,
            evidence: vec![],
        }));
    };
    let region = case.scope_region();
    let categories: Vec<CaseCategoryScore> = scores(&app, &s)
        .into_iter()
        .map(|c| CaseCategoryScore { department: department_guess(&app, &t, c.category, region.as_str()), category: c })
        .collect();
    // The suggestion for a report the center has not decided yet: whether it is taken is read
    // from the case once decided.
    if case.state == CaseState::Reported && !categories.is_empty() {
        app.store
            .record_suggestion(&SuggestionRecord {
                case: case.id,
                at: app.now(),
                model: t.id,
                categories: categories.iter().map(|c| c.category.category).collect(),
                probability: f64::from(categories[0].category.probability),
                department: categories[0].department.as_ref().map(|d| d.department),
            })
            .await?;
    }
    Ok(Json(CaseSuggestions {
        state: "trained",
        reason: None,
        categories,
        confident: s.confident,
        evidence: evidence(&s),
    }))
}

// ---------------------------------------------------------------- accuracy in production

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct AccuracyQuery {
    /// Region code (default: the district)
    region: Option<String>,
    /// RFC 3339: suggestions recorded from
    #[param(required = true)]
    from: Option<String>,
    /// RFC 3339, after `from`
    #[param(required = true)]
    to: Option<String>,
}

/// How the suggestions made in a period fared once the center decided the cases.
#[derive(Serialize, ToSchema)]
pub struct Accuracy {
    #[schema(value_type = String)]
    pub region: RegionCode,
    #[schema(format = DateTime)]
    pub from: String,
    #[schema(format = DateTime)]
    pub to: String,
    #[serde(flatten)]
    #[schema(inline)]
    pub tally: Tally,
    /// Decided into the first category suggested, of those decided.
    pub first_rate: Option<f64>,
    /// Decided into one of the three suggested, of those decided.
    pub top3_rate: Option<f64>,
    /// Dispatched to the department suggested, of those decided into the first category and
    /// dispatched.
    pub department_rate: Option<f64>,
}

/// Counts of [`Accuracy`].
#[derive(Serialize, ToSchema)]
pub struct Tally {
    /// Cases a suggestion was recorded for.
    pub suggested: u64,
    /// Of those, cases put into a category.
    pub decided: u64,
    pub first_taken: u64,
    pub top3_taken: u64,
    pub department_decided: u64,
    pub department_taken: u64,
}

#[utoipa::path(get, path = "/triage/accuracy", tag = "triage", operation_id = "suggestion_accuracy", summary = "How often the center took the suggested category and department",
    params(AccuracyQuery),
    responses((status = 200, description = "Counts and rates of the suggestions recorded in the period", body = Accuracy), (status = 403, description = "Not allowed (role, scope or CSRF token)"), (status = 422, description = "A field is invalid; `field` and `reason` say which and why")))]
async fn accuracy(
    State(app): State<AppState>,
    auth: Auth,
    Query(q): Query<AccuracyQuery>,
) -> ApiResult<Json<Accuracy>> {
    let (from, to) = crate::measures::period(q.from.as_deref(), q.to.as_deref())?;
    let region = region_in_scope(&app, &auth, q.region.as_deref())?;
    let SuggestionTally { suggested, decided, first_taken, top3_taken, department_decided, department_taken } =
        app.store.suggestion_tally(Some(&region), from, to).await?;
    let rate = |a: u64, b: u64| (b > 0).then(|| a as f64 / b as f64);
    Ok(Json(Accuracy {
        region,
        from: to_rfc3339(from),
        to: to_rfc3339(to),
        first_rate: rate(first_taken, decided),
        top3_rate: rate(top3_taken, decided),
        department_rate: rate(department_taken, department_decided),
        tally: Tally { suggested, decided, first_taken, top3_taken, department_decided, department_taken },
    }))
}

// ---------------------------------------------------------------- floods folded

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct GroupsQuery {
    /// Region code: only reports under it (default: every report one sees)
    region: Option<String>,
}

/// New reports taken for one problem, first report first.
#[derive(Serialize, ToSchema)]
pub struct ReportGroup {
    pub cases: Vec<CaseView>,
    /// Distinct reporters (anonymous and hotline reports count one each).
    pub reporters: usize,
}

#[derive(Serialize, ToSchema)]
pub struct ReportGroups {
    /// Groups of two reports or more, the largest first.
    pub items: Vec<ReportGroup>,
}

/// The most reports folded at once.
const GROUP_SCAN: u32 = 1000;

#[utoipa::path(get, path = "/triage/groups", tag = "triage", operation_id = "report_groups", summary = "New reports of one problem, grouped",
    params(GroupsQuery),
    responses((status = 200, description = "Groups of new reports near in space and time, of related categories and alike in words", body = ReportGroups), (status = 403, description = "Not allowed (role, scope or CSRF token)"), (status = 422, description = "A field is invalid; `field` and `reason` say which and why")))]
async fn groups(
    State(app): State<AppState>,
    auth: Auth,
    Query(q): Query<GroupsQuery>,
) -> ApiResult<Json<ReportGroups>> {
    may(&auth.actor, Permission::SeeSuggestions).map_err(|r| ApiError::refusal(r, None))?;
    let region =
        q.region.as_deref().map(RegionCode::parse).transpose().map_err(|e| ApiError::field("region", e.reason))?;
    let cases = app
        .store
        .list_cases(&CaseQuery {
            visibility: crate::service::visibility(&auth.actor),
            states: vec![CaseState::Reported],
            region,
            now: app.now(),
            limit: GROUP_SCAN,
            ..CaseQuery::default()
        })
        .await?;
    let folded = app.fold_reports(&cases);
    let mut items: Vec<ReportGroup> = folded
        .into_iter()
        .filter(|g| g.len() > 1)
        .map(|g| {
            let mut reporters: Vec<Option<PersonId>> = g.iter().map(|&i| cases[i].reporter).collect();
            let anonymous = reporters.iter().filter(|r| r.is_none()).count();
            reporters.retain(Option::is_some);
            reporters.sort_unstable();
            reporters.dedup();
            ReportGroup {
                reporters: reporters.len() + anonymous,
                cases: g.iter().map(|&i| CaseView::of(&app, &cases[i], &auth.actor)).collect(),
            }
        })
        .collect();
    items.sort_by_key(|g| std::cmp::Reverse(g.cases.len()));
    Ok(Json(ReportGroups { items }))
}

impl App {
    /// Groups reports of one problem ([`fold_cases`], with the model in use).
    pub fn fold_reports(&self, cases: &[Case]) -> Vec<Vec<usize>> {
        let trained = self.triage.trained();
        let model = trained.as_ref().map(|t| &t.model);
        fold_cases(cases, &self.reference().categories, model, &self.settings.triage.fold())
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct FoldDuplicate {
    /// Case id or reference.
    #[schema(value_type = String)]
    case: serde_json::Value,
    /// Its version as seen (stale: nothing is written).
    version: i64,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct FoldBody {
    /// The version of the case accepted, as seen.
    version: i64,
    /// The category it is accepted into (a subclass).
    category: i64,
    urgency: Urgency,
    note: Option<String>,
    /// The other reports of the problem: rejected as duplicates of this case, their reporters
    /// following it. At most 200, no case twice.
    #[schema(min_items = 1, max_items = 200)]
    duplicates: Vec<FoldDuplicate>,
}

#[derive(Serialize, ToSchema)]
pub struct FoldAnswer {
    /// The case accepted.
    pub case: CaseView,
    /// The reports linked to it as duplicates.
    pub duplicates: Vec<CaseView>,
}

#[utoipa::path(post, path = "/cases/{key}/fold", tag = "triage", operation_id = "fold_reports", summary = "Handle a group once: accept this report, link the others to it as duplicates",
    params(("key" = String, Path, description = "Case id or reference of the report to accept")),
    request_body = FoldBody,
    responses((status = 200, description = "All written in one transaction: the case accepted, each other report rejected as its duplicate (one event each)", body = FoldAnswer), (status = 403, description = "Not allowed (role, scope or CSRF token)"), (status = 404, description = "Not found, or outside one's scope"), (status = 409, description = "A case is in the wrong state or was changed meanwhile (nothing written); `current` holds it as it is"), (status = 422, description = "A field is invalid; `field` and `reason` say which and why")))]
async fn fold(
    State(app): State<AppState>,
    auth: Auth,
    Path(key): Path<String>,
    ApiJson(b): ApiJson<FoldBody>,
) -> ApiResult<Json<FoldAnswer>> {
    if b.duplicates.is_empty() {
        return Err(ApiError::field("duplicates", "name at least one other report of the problem"));
    }
    if b.duplicates.len() > 200 {
        return Err(ApiError::field("duplicates", "at most 200 at once"));
    }
    let case = app.find_case(&auth.actor, &key).await?;
    if b.version != case.version {
        return Err(gridkeeper_store::StoreError::Conflict(Box::new(case)).into());
    }
    let mut others: Vec<Case> = Vec::with_capacity(b.duplicates.len());
    for (i, d) in b.duplicates.iter().enumerate() {
        let field = format!("duplicates[{i}].case");
        let key = match &d.case {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Number(n) => n.to_string(),
            _ => return Err(ApiError::field(&field, "must be a case id or reference")),
        };
        let other = app
            .find_case(&auth.actor, &key)
            .await
            .map_err(|_| ApiError::unknown(&field, format!("no case `{key}`")))?;
        if other.id == case.id {
            return Err(ApiError::field(&field, "is the case accepted; a case cannot duplicate itself"));
        }
        if others.iter().any(|o| o.id == other.id) {
            return Err(ApiError::field(&field, "is named twice"));
        }
        if d.version != other.version {
            return Err(gridkeeper_store::StoreError::Conflict(Box::new(other)).into());
        }
        others.push(other);
    }
    let now = app.now();
    let calendar = app.calendar(&case.district);
    let accept = Command::Accept { category: app.category("category", b.category)?, urgency: b.urgency, note: b.note };
    let accepted =
        decide_on(&case, &auth.actor, accept, now, &calendar).map_err(|r| ApiError::refusal(r, Some(&case)))?;
    let original = Original {
        id: accepted.case.id,
        district: accepted.case.district.clone(),
        state: accepted.case.state,
        duplicate_of: accepted.case.duplicate_of,
    };
    let mut decisions = vec![accepted];
    for other in &others {
        let reject = Command::Reject {
            reason: gridkeeper_domain::Rejection::Duplicate,
            original: Some(original.clone()),
            note: None,
        };
        let calendar = app.calendar(&other.district);
        decisions.push(
            decide_on(other, &auth.actor, reject, now, &calendar).map_err(|r| ApiError::refusal(r, Some(other)))?,
        );
    }
    let batch: Vec<(&gridkeeper_domain::Decision, &[String])> = decisions.iter().map(|d| (d, &[][..])).collect();
    let stored = app.store.apply_all(&batch).await?;
    for (c, d) in stored.iter().zip(&decisions) {
        app.announce(c, &d.event).await;
    }
    let mut views = stored.iter().map(|c| CaseView::of(&app, c, &auth.actor));
    let case = views.next().expect("the accepted case is first");
    Ok(Json(FoldAnswer { case, duplicates: views.collect() }))
}

// ---------------------------------------------------------------- surges

/// Daily report counts as the series surges are tested on: (grid, category class) → day → count,
/// and (grid, `None`) → every report of the grid.
pub fn surge_series(
    counts: impl IntoIterator<Item = DailyCount>,
    categories: &HashMap<CategoryId, Category>,
) -> HashMap<(String, Option<CategoryId>), BTreeMap<i64, u32>> {
    let mut series: HashMap<(String, Option<CategoryId>), BTreeMap<i64, u32>> = HashMap::new();
    for c in counts {
        let class = c.category.and_then(|id| categories.get(&id)).map(|cat| cat.parent_id.unwrap_or(cat.id));
        let mut add =
            |key: (String, Option<CategoryId>)| *series.entry(key).or_default().entry(c.day).or_default() += c.count;
        if class.is_some() {
            add((c.scope_region.clone(), class));
        }
        add((c.scope_region, None));
    }
    series
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct SurgesQuery {
    /// Region code (default: the district)
    region: Option<String>,
    /// RFC 3339: the local day containing this instant is tested (default: today)
    at: Option<String>,
}

/// A grid reporting a category (or anything) far more often than its own history makes likely.
#[derive(Serialize, ToSchema)]
pub struct SurgeView {
    #[schema(value_type = String)]
    pub grid: String,
    /// The category's class; null: all the grid's reports together.
    pub category: Option<i64>,
    /// Reports on the day (so far, for today).
    pub count: u32,
    /// Reports expected on such a day.
    pub expected: f64,
    /// P(at least `count`) on such a day, under the grid's own history.
    pub p_value: f64,
    /// The local day, RFC 3339 instants: the cases behind it were reported in [from, to).
    #[schema(format = DateTime)]
    pub from: String,
    #[schema(format = DateTime)]
    pub to: String,
}

#[derive(Serialize, ToSchema)]
pub struct Surges {
    #[schema(value_type = String)]
    pub region: RegionCode,
    /// Surges, the least likely first.
    pub items: Vec<SurgeView>,
    /// The test: `alpha` (largest p-value alerted), `min_count`, `weeks` of history.
    pub alpha: f64,
    pub min_count: u32,
    pub weeks: usize,
}

#[utoipa::path(get, path = "/triage/surges", tag = "triage", operation_id = "surges", summary = "Grids reporting far more than usual today",
    params(SurgesQuery),
    responses((status = 200, description = "Per grid and category class (and per grid overall, unless one of its classes explains the rise), the day's reports against the same weekday of the grid's last weeks: those unlikely by chance", body = Surges), (status = 403, description = "Not allowed (role, scope or CSRF token)"), (status = 422, description = "A field is invalid; `field` and `reason` say which and why")))]
async fn surges_of(State(app): State<AppState>, auth: Auth, Query(q): Query<SurgesQuery>) -> ApiResult<Json<Surges>> {
    let region = region_in_scope(&app, &auth, q.region.as_deref())?;
    let at = q.at.as_deref().map(|s| parse_rfc3339("at", s)).transpose()?.unwrap_or_else(|| app.now());
    let s = app.settings.triage.surge();
    let offset = app.settings.utc_offset_hours;
    let today = local_day(at, offset);
    let start = local_day_start(today, offset);
    let first = start - (7 * s.weeks as i64) * DAY;
    let counts = app.store.daily_report_counts(&region, first, start + DAY, offset).await?;
    let series = surge_series(counts, &app.reference().categories);
    let mut items: Vec<SurgeView> = series
        .into_iter()
        .filter_map(|((grid, category), days)| {
            let t = surges::test_day(&days, today, &s);
            t.alarming(&s).then(|| SurgeView {
                grid,
                category,
                count: t.count,
                expected: t.expected,
                p_value: t.p_value,
                from: to_rfc3339(start),
                to: to_rfc3339(start + DAY),
            })
        })
        .collect();
    // A grid's overall rise that one of its classes already explains is not told twice.
    let explained: std::collections::HashSet<String> =
        items.iter().filter(|i| i.category.is_some()).map(|i| i.grid.clone()).collect();
    items.retain(|i| i.category.is_some() || !explained.contains(&i.grid));
    items.sort_by(|a, b| a.p_value.total_cmp(&b.p_value).then(a.grid.cmp(&b.grid)).then(a.category.cmp(&b.category)));
    Ok(Json(Surges { region, items, alpha: s.alpha, min_count: s.min_count, weeks: s.weeks }))
}
