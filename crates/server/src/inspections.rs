//! Field inspections in the server: check lists and the plan (admins of the jurisdiction), a
//! grid member's due inspections, a place's or house's safety file, and the inspection itself —
//! item by item, at the place (GPS compared with the place's point), each failure a hazard case
//! dispatched to the department that answers for it, each open hazard judged again by the next
//! inspection. An inspection, its hazards and its re-inspections are written in one transaction.

use std::collections::{BTreeSet, HashMap};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use gridkeeper_domain::inspections::{
    check_plan, check_results, far_from, next_due, rectify_by, ChecklistDraft, ChecklistId, ChecklistItem,
    InspectionId, InspectionKind, ItemResult, Outcome, PlanRule, Severity, SubjectKind,
};
use gridkeeper_domain::registry::{PlaceId, RiskLevel};
use gridkeeper_domain::time::{parse_rfc3339, to_rfc3339, DAY};
use gridkeeper_domain::{
    decide_on, find_hazard, inspected_regions, optional_text, Actor, Case, CaseState, CategoryKind, Command,
    FoundHazard, Permission, Source,
};
use gridkeeper_store::{Checklist, Found, Hazard, Inspection, NewInspection, Rechecked, Subject};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, Query};
use crate::http::administer;
use crate::{App, AppState, StartupError};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(checklists, create_checklist))
        .routes(routes!(checklist, revise_checklist))
        .routes(routes!(retire_checklist))
        .routes(routes!(import_checklist))
        .routes(routes!(plan, set_plan))
        .routes(routes!(tasks))
        .routes(routes!(safety_file))
        .routes(routes!(record))
        .routes(routes!(inspection))
}

/// The `[server.inspections]` section of the configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct InspectionSettings {
    /// Metres between the inspector's position and the place's point beyond which an
    /// inspection is flagged (kept, never refused).
    pub far_m: f64,
    /// Days an inspection recorded offline may be sent late.
    pub late_days: i64,
    /// Days between a social unit's self-inspections of its place.
    pub self_every_days: u16,
    /// Percent of self-inspections picked for a grid member's spot check.
    pub spot_check_percent: u8,
    /// Working days a grid member has to make a spot check.
    pub spot_check_days: u32,
    /// Working days an inspection may be overdue before the grid leaders of its community are
    /// told (its grid members are told as soon as it is past due).
    pub escalate_after_days: u32,
}

impl Default for InspectionSettings {
    fn default() -> Self {
        Self {
            far_m: 200.0,
            late_days: 7,
            self_every_days: 30,
            spot_check_percent: 20,
            spot_check_days: 10,
            escalate_after_days: 3,
        }
    }
}

impl InspectionSettings {
    pub fn validate(&self) -> Result<(), StartupError> {
        if !(self.far_m.is_finite() && (10.0..=10_000.0).contains(&self.far_m)) {
            return Err("server.inspections.far_m: between 10 and 10000 metres".to_string().into());
        }
        if !(0..=30).contains(&self.late_days) {
            return Err("server.inspections.late_days: between 0 and 30 days".to_string().into());
        }
        if !(1..=366).contains(&self.self_every_days) {
            return Err("server.inspections.self_every_days: between 1 and 366 days".to_string().into());
        }
        if self.spot_check_percent > 100 {
            return Err("server.inspections.spot_check_percent: between 0 and 100".to_string().into());
        }
        if !(1..=60).contains(&self.spot_check_days) {
            return Err("server.inspections.spot_check_days: between 1 and 60 working days".to_string().into());
        }
        if !(1..=60).contains(&self.escalate_after_days) {
            return Err("server.inspections.escalate_after_days: between 1 and 60 working days".to_string().into());
        }
        Ok(())
    }
}

/// A check list at one of its versions.
#[derive(Serialize, ToSchema)]
pub struct ChecklistView {
    pub id: i64,
    pub subject: SubjectKind,
    pub kind: String,
    pub name: String,
    pub name_en: String,
    /// The version these items are.
    pub version: u32,
    /// The newest version (the one in force unless retired).
    pub current: u32,
    pub items: Vec<ChecklistItem>,
    pub retired: bool,
    pub updated_at: String,
}

impl From<Checklist> for ChecklistView {
    fn from(c: Checklist) -> Self {
        ChecklistView {
            id: c.id.0,
            subject: c.subject,
            kind: c.kind,
            name: c.name,
            name_en: c.name_en,
            version: c.version,
            current: c.current,
            items: c.items,
            retired: c.retired,
            updated_at: to_rfc3339(c.updated_at),
        }
    }
}

/// The place or house inspected.
#[derive(Serialize, ToSchema)]
pub struct SubjectView {
    pub subject: SubjectKind,
    pub id: i64,
    /// The place's kind, or the house's use.
    pub kind: String,
    pub name: String,
    pub address: String,
    pub grid: String,
    pub lat: f64,
    pub lon: f64,
    pub risk: RiskLevel,
}

impl From<&Subject> for SubjectView {
    fn from(s: &Subject) -> Self {
        SubjectView {
            subject: s.subject,
            id: s.id,
            kind: s.kind.clone(),
            name: s.name.clone(),
            address: s.address.clone(),
            grid: s.grid.to_string(),
            lat: s.location.lat,
            lon: s.location.lon,
            risk: s.risk,
        }
    }
}

/// A place or house due for inspection.
#[derive(Serialize, ToSchema)]
pub struct TaskView {
    /// What the task is: a planned inspection (`routine`), a spot check of a social unit's
    /// self-inspection (`spot_check`), or the unit's own self-inspection (`self`).
    pub kind: InspectionKind,
    pub subject: SubjectView,
    pub due_at: String,
    pub last_at: Option<String>,
    /// Days between planned inspections (0: a spot check, or a campaign task of a place the plan
    /// does not cover).
    pub every_days: u16,
    pub overdue: bool,
    /// Metres from the position given, when one was.
    pub distance_m: Option<f64>,
    /// The campaign (专项整治) it is a task of, if any: listed while the campaign runs, whatever
    /// `days` says.
    pub campaign: Option<TaskCampaign>,
}

/// The campaign a task belongs to.
#[derive(Serialize, ToSchema)]
pub struct TaskCampaign {
    pub id: i64,
    pub name: String,
}

/// A hazard found at a place, with its case as it is now.
#[derive(Serialize, ToSchema)]
pub struct HazardView {
    pub case_id: i64,
    pub reference: String,
    pub state: CaseState,
    pub open: bool,
    pub checklist: i64,
    pub item: String,
    pub severity: Severity,
    pub found_by: i64,
    pub found_at: String,
    /// The rectification deadline.
    pub handle_by: Option<String>,
    pub closed_at: Option<String>,
    pub overdue: bool,
}

fn hazard_view(h: &Hazard, now: i64) -> HazardView {
    let open = h.state.is_open();
    HazardView {
        case_id: h.case_id,
        reference: h.reference.clone(),
        state: h.state,
        open,
        checklist: h.checklist_id.0,
        item: h.item.clone(),
        severity: h.severity,
        found_by: h.found_by.0,
        found_at: to_rfc3339(h.found_at),
        handle_by: h.handle_by.map(to_rfc3339),
        closed_at: h.closed_at.map(to_rfc3339),
        overdue: open && h.handle_by.is_some_and(|d| d < now),
    }
}

/// The answer to one item as stored, with the hazard it opened or judged.
#[derive(Serialize, ToSchema)]
pub struct ResultView {
    pub item: String,
    pub outcome: Outcome,
    pub note: Option<String>,
    pub photos: Vec<String>,
    pub hazard_case: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct InspectionView {
    pub id: i64,
    pub subject: SubjectKind,
    pub subject_id: i64,
    pub grid: String,
    pub checklist: i64,
    pub version: u32,
    pub kind: InspectionKind,
    pub inspector: i64,
    pub at: String,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub accuracy_m: Option<f64>,
    /// Metres from the place's point.
    pub distance_m: Option<f64>,
    /// Farther from the place than `[server.inspections] far_m`.
    pub far: bool,
    pub note: Option<String>,
    pub passed: u32,
    pub failed: u32,
    pub not_applicable: u32,
    /// The campaign it counted for, if any.
    pub campaign: Option<i64>,
    /// That campaign's name.
    pub campaign_name: Option<String>,
    /// Empty in lists.
    pub results: Vec<ResultView>,
}

impl From<Inspection> for InspectionView {
    fn from(i: Inspection) -> Self {
        InspectionView {
            id: i.id.0,
            subject: i.subject,
            subject_id: i.subject_id,
            grid: i.grid.to_string(),
            checklist: i.checklist_id.0,
            version: i.version,
            kind: i.kind,
            inspector: i.inspector,
            at: to_rfc3339(i.at),
            lat: i.location.map(|l| l.lat),
            lon: i.location.map(|l| l.lon),
            accuracy_m: i.accuracy_m,
            distance_m: i.distance_m,
            far: i.far,
            note: i.note,
            passed: i.passed,
            failed: i.failed,
            not_applicable: i.not_applicable,
            campaign: i.campaign.map(|c| c.0),
            campaign_name: i.campaign_name,
            results: i
                .results
                .into_iter()
                .map(|r| ResultView {
                    item: r.result.item,
                    outcome: r.result.outcome,
                    note: r.result.note,
                    photos: r.result.photos,
                    hazard_case: r.hazard_case,
                })
                .collect(),
        }
    }
}

/// A place's or house's safety file: what it is, the check list to inspect it with, when it is
/// due, its hazards and its inspections.
#[derive(Serialize, ToSchema)]
pub struct SafetyFile {
    pub subject: SubjectView,
    /// The check list in force for its kind, if any.
    pub checklist: Option<ChecklistView>,
    pub due_at: Option<String>,
    /// Newest first; the open ones are judged by the next inspection.
    pub hazards: Vec<HazardView>,
    /// Newest first (at most 50), without their answers.
    pub inspections: Vec<InspectionView>,
    /// Spot checks of the social unit's self-inspections, newest first.
    pub spot_checks: Vec<SpotCheckView>,
    /// Whether the person asking may inspect it (or, for its social unit, inspect it themselves).
    pub may_inspect: bool,
}

/// A spot check of a social unit's self-inspection.
#[derive(Serialize, ToSchema)]
pub struct SpotCheckView {
    pub self_inspection: i64,
    pub due_at: String,
    /// The grid member's inspection that made it, once made.
    pub checked_by: Option<i64>,
    /// Items the unit passed that the spot check failed: the self-inspection is contradicted.
    pub contradicted: Vec<String>,
}

/// A hazard an inspection opened or judged.
#[derive(Serialize, ToSchema)]
pub struct HazardCase {
    pub item: String,
    pub case_id: i64,
    pub reference: String,
    pub state: CaseState,
}

/// What an inspection recorded.
#[derive(Serialize, ToSchema)]
pub struct Recorded {
    pub inspection: InspectionView,
    /// Hazards opened by its failures, each a case dispatched to the department that answers
    /// for it.
    pub opened: Vec<HazardCase>,
    /// Open hazards it judged: closed when put right, back to the department when not.
    pub judged: Vec<HazardCase>,
    /// Sent before with the same key: nothing new was written.
    pub repeated: bool,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct VersionQuery {
    /// The version (default: the newest)
    #[param(minimum = 1)]
    version: Option<u32>,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ImportQuery {
    /// What the check list applies to: `place` or `house`
    subject: SubjectKind,
    /// The kind of place (or use of house) it applies to
    kind: String,
    /// Its name (at most 100 characters)
    name: String,
    /// Its English name
    name_en: Option<String>,
    /// Check only: answer the check list as it would be written, write nothing
    dry_run: Option<bool>,
}

/// What an import of a check list wrote (or, on a dry run, would write).
#[derive(Serialize, ToSchema)]
pub struct ChecklistImported {
    /// The check list as read from the sheet (checked).
    pub draft: ChecklistDraft,
    /// The check list written (a new one, or a new version of the one in force for the kind);
    /// absent on a dry run.
    pub checklist: Option<ChecklistView>,
}

/// The columns of a check list's sheet, by the headers an office writes (Chinese or English).
const COLUMNS: [(&str, &[&str]); 7] = [
    ("code", &["编号", "code"]),
    ("text", &["检查内容", "text"]),
    ("text_en", &["英文", "text_en"]),
    ("severity", &["严重程度", "severity"]),
    ("photo_on_fail", &["不合格须拍照", "photo_on_fail"]),
    ("rectify_days", &["整改期限", "rectify_days"]),
    ("category", &["隐患类别", "category"]),
];

/// The items of the first sheet of an XLSX workbook: a header row naming the columns, then one
/// item a row (empty rows skipped). Refusals name the row and column (`rows[3].severity`: the
/// sheet's row 3).
fn items_of_sheet(bytes: &[u8]) -> ApiResult<Vec<ChecklistItem>> {
    use calamine::{Data, Reader, Xlsx};
    let mut book: Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(bytes))
        .map_err(|_| ApiError::field("body", "is not an XLSX workbook"))?;
    let sheet = book
        .worksheet_range_at(0)
        .ok_or_else(|| ApiError::field("body", "the workbook has no sheet"))?
        .map_err(|_| ApiError::field("body", "the first sheet cannot be read"))?;
    let text = |d: &Data| match d {
        Data::String(s) => s.trim().to_string(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) => f.to_string(),
        Data::Bool(b) => b.to_string(),
        _ => String::new(),
    };
    let mut rows = sheet.rows().enumerate();
    let (_, header) = rows.next().ok_or_else(|| ApiError::field("body", "the sheet is empty"))?;
    let mut at = std::collections::HashMap::new();
    for (i, cell) in header.iter().enumerate() {
        let h = text(cell).to_lowercase();
        if let Some((key, _)) = COLUMNS.iter().find(|(_, names)| names.iter().any(|n| h.starts_with(&n.to_lowercase())))
        {
            at.insert(*key, i);
        }
    }
    for key in ["code", "text", "severity", "rectify_days", "category"] {
        if !at.contains_key(key) {
            let names = COLUMNS.iter().find(|(k, _)| *k == key).map(|(_, n)| n.join(" / ")).unwrap_or_default();
            return Err(ApiError::field("body", format!("the first row names no column `{names}`")));
        }
    }
    let mut items = Vec::new();
    for (n, row) in rows {
        let cell = |key: &str| at.get(key).and_then(|i| row.get(*i)).map(text).unwrap_or_default();
        if row.iter().all(|c| text(c).is_empty()) {
            continue;
        }
        let field = |key: &str| format!("rows[{}].{key}", n + 1);
        let severity = match cell("severity").as_str() {
            "一般" | "minor" => Severity::Minor,
            "较重" | "major" => Severity::Major,
            "严重" | "critical" => Severity::Critical,
            other => {
                return Err(ApiError::field(
                    &field("severity"),
                    format!("`{other}` is not 一般, 较重 or 严重 (minor, major, critical)"),
                ))
            }
        };
        let photo_on_fail = match cell("photo_on_fail").to_lowercase().as_str() {
            "" | "否" | "no" | "false" | "0" => false,
            "是" | "yes" | "true" | "1" => true,
            other => {
                return Err(ApiError::field(&field("photo_on_fail"), format!("`{other}` is not 是 or 否 (yes, no)")))
            }
        };
        let days = cell("rectify_days");
        let rectify_days = days
            .trim_end_matches(['天', '日'])
            .parse::<f64>()
            .ok()
            .filter(|d| d.fract() == 0.0 && (1.0..=365.0).contains(d))
            .ok_or_else(|| {
                ApiError::field(&field("rectify_days"), format!("`{days}` is not a whole number of days from 1 to 365"))
            })?;
        items.push(ChecklistItem {
            code: cell("code"),
            text: cell("text"),
            text_en: cell("text_en"),
            severity,
            photo_on_fail,
            rectify_days: rectify_days as u16,
            category: cell("category"),
        });
    }
    Ok(items)
}

#[utoipa::path(post, path = "/checklists/import", tag = "inspections", summary = "Import a check list from an XLSX sheet (a new one, or a new version of the one in force for the kind)",
    params(ImportQuery),
    request_body(content = Vec<u8>, description = "An XLSX workbook; its first sheet's first row names the columns 编号 (code), 检查内容 (text), 英文 (text_en, optional), 严重程度 (severity: 一般/较重/严重), 不合格须拍照 (photo_on_fail: 是/否, optional), 整改期限 (rectify_days), 隐患类别 (category: a hazard subclass's code)", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    responses((status = 200, description = "Dry run: the check list as it would be written", body = ChecklistImported), (status = 201, description = "Written", body = ChecklistImported), (status = 403, description = "Not an admin of the district"), (status = 413, description = "The upload is too large")))]
async fn import_checklist(
    State(app): State<AppState>,
    auth: Auth,
    Query(q): Query<ImportQuery>,
    body: axum::body::Bytes,
) -> ApiResult<(StatusCode, Json<ChecklistImported>)> {
    administer(&auth.actor, Permission::ManageChecklists)?;
    let items = items_of_sheet(&body)?;
    let draft = ChecklistDraft {
        name: q.name,
        name_en: q.name_en.unwrap_or_default(),
        subject: q.subject,
        kind: q.kind,
        items,
    };
    let draft = checked_draft(&app, draft).await?;
    if q.dry_run.unwrap_or(false) {
        return Ok((StatusCode::OK, Json(ChecklistImported { draft, checklist: None })));
    }
    let current = app.store.checklist_for(draft.subject, &draft.kind).await?.map(|c| c.id);
    let saved = app.store.save_checklist(current, &draft, Some(auth.person.id), app.now()).await?;
    Ok((StatusCode::CREATED, Json(ChecklistImported { draft, checklist: Some(saved.into()) })))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct TaskQuery {
    /// Due within this many days from now (default 7, at most 400)
    #[param(minimum = 0, maximum = 400)]
    days: Option<u16>,
    /// Where the inspector stands, to order the tasks due the same day by distance (with `lon`)
    #[param(minimum = -90, maximum = 90)]
    lat: Option<f64>,
    #[param(minimum = -180, maximum = 180)]
    lon: Option<f64>,
    /// At most this many (default 50, at most 200)
    #[param(minimum = 1, maximum = 200)]
    limit: Option<u32>,
}

/// The plan: how often each kind of place or house is inspected at each risk level.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    pub rules: Vec<PlanRule>,
}

#[derive(Serialize, ToSchema)]
pub struct PlanSaved {
    pub rules: Vec<PlanRule>,
    /// Places and houses planned now.
    pub planned: usize,
}

/// An inspection as the phone sends it.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InspectionInput {
    pub subject: SubjectKind,
    pub subject_id: i64,
    /// The check list and the version the inspector answered.
    pub checklist: i64,
    #[schema(minimum = 1)]
    pub version: u32,
    /// One answer per item of that version.
    pub results: Vec<ItemResult>,
    /// Where the inspector stood (WGS-84), compared with the place's point.
    #[schema(minimum = -90, maximum = 90)]
    pub lat: Option<f64>,
    #[schema(minimum = -180, maximum = 180)]
    pub lon: Option<f64>,
    /// The fix's accuracy in metres.
    #[schema(minimum = 0)]
    pub accuracy_m: Option<f64>,
    #[schema(max_length = 500)]
    pub note: Option<String>,
    /// When it was done, if sent later from a phone that was offline (RFC 3339; not in the
    /// future, at most `[server.inspections] late_days` ago). Default: now.
    pub done_at: Option<String>,
    /// The phone's own key for this inspection (1–64 characters): sent again after a lost
    /// answer, the inspection is found, not recorded twice.
    #[schema(min_length = 1, max_length = 64)]
    pub key: Option<String>,
}

fn parse_subject(s: &str) -> ApiResult<SubjectKind> {
    SubjectKind::parse(s).map_err(|e| ApiError::field("subject", e.reason))
}

/// Whether the actor inspects the subject (a grid member's inspection) or may inspect it
/// themselves (its social unit).
fn may_inspect(actor: &Actor, s: &Subject) -> bool {
    gridkeeper_domain::may(actor, Permission::InspectPlaces { region: &s.grid }).is_ok()
        || (s.subject == SubjectKind::Place
            && gridkeeper_domain::may(actor, Permission::SelfInspect { place: PlaceId(s.id) }).is_ok())
}

/// The subject if the actor may read its safety file, else "not found".
async fn readable(app: &App, actor: &Actor, kind: SubjectKind, id: i64) -> ApiResult<Subject> {
    let s = app.store.subject(kind, id).await?.ok_or_else(|| ApiError::not_found(kind.as_str()))?;
    let place = (kind == SubjectKind::Place).then_some(PlaceId(id));
    gridkeeper_domain::may(actor, Permission::ReadSafetyFile { region: &s.grid, place })
        .map_err(|_| ApiError::not_found(kind.as_str()))?;
    Ok(s)
}

#[utoipa::path(get, path = "/checklists", tag = "inspections", summary = "The check lists, each at its newest version (those in force first)",
    responses((status = 200, description = "Check lists", body = Vec<ChecklistView>), (status = 403, description = "Not staff or a social unit")))]
async fn checklists(State(app): State<AppState>, auth: Auth) -> ApiResult<Json<Vec<ChecklistView>>> {
    administer(&auth.actor, Permission::ReadChecklists)?;
    Ok(Json(app.store.checklists().await?.into_iter().map(ChecklistView::from).collect()))
}

#[utoipa::path(get, path = "/checklists/{id}", tag = "inspections", summary = "A check list at one of its versions",
    params(("id" = i64, Path, description = "Check list id"), VersionQuery),
    responses((status = 200, description = "The check list", body = ChecklistView), (status = 403, description = "Not staff or a social unit"), (status = 404, description = "No such check list or version")))]
async fn checklist(
    State(app): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    Query(q): Query<VersionQuery>,
) -> ApiResult<Json<ChecklistView>> {
    administer(&auth.actor, Permission::ReadChecklists)?;
    let c = app.store.checklist(ChecklistId(id), q.version).await?.ok_or_else(|| ApiError::not_found("checklist"))?;
    Ok(Json(c.into()))
}

/// `draft` checked against the registry's kinds and the hazard categories.
async fn checked_draft(app: &App, draft: ChecklistDraft) -> ApiResult<ChecklistDraft> {
    let reference = app.reference();
    let draft = draft.checked(|code| {
        reference.categories.values().any(|c| {
            c.code == code && c.kind == CategoryKind::Hazard && !c.is_class() && c.default_department.is_some()
        })
    })?;
    let known = match draft.subject {
        SubjectKind::Place => app.store.place_kinds().await?.iter().any(|k| k.key == draft.kind),
        SubjectKind::House => gridkeeper_domain::registry::HouseUse::parse(&draft.kind).is_ok(),
    };
    if !known {
        return Err(ApiError::field("kind", format!("`{}` is not a kind of {}", draft.kind, draft.subject.as_str())));
    }
    Ok(draft)
}

#[utoipa::path(post, path = "/checklists", tag = "inspections", summary = "Write a check list for a kind of place or house",
    request_body = ChecklistDraft,
    responses((status = 201, description = "Written, version 1", body = ChecklistView), (status = 403, description = "Not an admin of the district"), (status = 409, description = "A check list is in force for that kind already")))]
async fn create_checklist(
    State(app): State<AppState>,
    auth: Auth,
    ApiJson(draft): ApiJson<ChecklistDraft>,
) -> ApiResult<(StatusCode, Json<ChecklistView>)> {
    administer(&auth.actor, Permission::ManageChecklists)?;
    let draft = checked_draft(&app, draft).await?;
    let c = app.store.save_checklist(None, &draft, Some(auth.person.id), app.now()).await?;
    Ok((StatusCode::CREATED, Json(c.into())))
}

#[utoipa::path(put, path = "/checklists/{id}", tag = "inspections", summary = "Write a new version of a check list (inspections keep the version they answered)",
    params(("id" = i64, Path, description = "Check list id")),
    request_body = ChecklistDraft,
    responses((status = 200, description = "The new version", body = ChecklistView), (status = 403, description = "Not an admin of the district"), (status = 404, description = "No such check list"), (status = 409, description = "Retired")))]
async fn revise_checklist(
    State(app): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    ApiJson(draft): ApiJson<ChecklistDraft>,
) -> ApiResult<Json<ChecklistView>> {
    administer(&auth.actor, Permission::ManageChecklists)?;
    let draft = checked_draft(&app, draft).await?;
    let c = app.store.save_checklist(Some(ChecklistId(id)), &draft, Some(auth.person.id), app.now()).await?;
    Ok(Json(c.into()))
}

#[utoipa::path(post, path = "/checklists/{id}/retire", tag = "inspections", summary = "Take a check list out of use (its inspections keep it)",
    params(("id" = i64, Path, description = "Check list id")),
    responses((status = 200, description = "Retired", body = ChecklistView), (status = 403, description = "Not an admin of the district"), (status = 404, description = "No such check list")))]
async fn retire_checklist(
    State(app): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
) -> ApiResult<Json<ChecklistView>> {
    administer(&auth.actor, Permission::ManageChecklists)?;
    Ok(Json(app.store.retire_checklist(ChecklistId(id), app.now()).await?.into()))
}

#[utoipa::path(get, path = "/inspection-plan", tag = "inspections", summary = "How often each kind of place or house is inspected at each risk level",
    responses((status = 200, description = "The plan", body = Plan), (status = 403, description = "Not staff or a social unit")))]
async fn plan(State(app): State<AppState>, auth: Auth) -> ApiResult<Json<Plan>> {
    administer(&auth.actor, Permission::ReadChecklists)?;
    Ok(Json(Plan { rules: app.store.inspection_plan().await? }))
}

#[utoipa::path(put, path = "/inspection-plan", tag = "inspections", summary = "Replace the plan; every place and house is planned again on its district's working calendar",
    request_body = Plan,
    responses((status = 200, description = "Saved", body = PlanSaved), (status = 403, description = "Not an admin of the district")))]
async fn set_plan(State(app): State<AppState>, auth: Auth, ApiJson(plan): ApiJson<Plan>) -> ApiResult<Json<PlanSaved>> {
    administer(&auth.actor, Permission::ManageChecklists)?;
    check_plan(&plan.rules)?;
    let calendars: HashMap<String, gridkeeper_domain::Calendar> = app.reference().calendars.clone();
    let planned = app.store.set_inspection_plan(&plan.rules, &calendars).await?;
    Ok(Json(PlanSaved { rules: plan.rules, planned }))
}

#[utoipa::path(get, path = "/inspection-tasks", tag = "inspections", summary = "The places and houses one inspects that are due, and the open tasks of running campaigns: soonest first, those due the same day nearest first",
    params(TaskQuery),
    responses((status = 200, description = "Due inspections (empty for who inspects nowhere)", body = Vec<TaskView>)))]
async fn tasks(State(app): State<AppState>, auth: Auth, Query(q): Query<TaskQuery>) -> ApiResult<Json<Vec<TaskView>>> {
    let here = crate::service::parse_location(q.lat, q.lon)?;
    let days = q.days.unwrap_or(7);
    if days > 400 {
        return Err(ApiError::field("days", "at most 400"));
    }
    let limit = q.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::field("limit", "between 1 and 200"));
    }
    let now = app.now();
    let regions = inspected_regions(&auth.actor);
    let due = app.store.due_inspections(&regions, now + i64::from(days) * DAY, limit).await?;
    let mut tasks: Vec<TaskView> = due
        .iter()
        .map(|d| TaskView {
            kind: InspectionKind::Routine,
            subject: (&d.subject).into(),
            due_at: to_rfc3339(d.due_at),
            last_at: d.last_at.map(to_rfc3339),
            every_days: d.every_days,
            overdue: d.due_at < now,
            distance_m: here.map(|h| h.distance_m(&d.subject.location).round()),
            campaign: None,
        })
        .collect();
    for (k, subject) in app.store.pending_spot_checks(&regions, limit).await? {
        tasks.push(TaskView {
            kind: InspectionKind::SpotCheck,
            distance_m: here.map(|h| h.distance_m(&subject.location).round()),
            subject: (&subject).into(),
            due_at: to_rfc3339(k.due_at),
            last_at: None,
            every_days: 0,
            overdue: k.due_at < now,
            campaign: None,
        });
    }
    // A social unit's own places: its self-inspection, every `self_every_days`.
    let every = app.settings.inspections.self_every_days;
    for place in gridkeeper_domain::own_places(&auth.actor) {
        let Some(subject) = app.store.subject(SubjectKind::Place, place.0).await? else { continue };
        let last = app.store.last_inspection(SubjectKind::Place, place.0, InspectionKind::SelfInspection).await?;
        let due = next_due(&app.calendar(subject.grid.district()), last, subject.registered_at, every);
        tasks.push(TaskView {
            kind: InspectionKind::SelfInspection,
            distance_m: None,
            subject: (&subject).into(),
            due_at: to_rfc3339(due),
            last_at: last.map(to_rfc3339),
            every_days: every,
            overdue: due < now,
            campaign: None,
        });
    }
    // Campaign tasks (campaigns.rs) beside the planned ones: marked, due by the sooner date.
    for ct in app.store.open_campaign_tasks(&regions, now, limit).await? {
        let tag = Some(TaskCampaign { id: ct.campaign.0, name: ct.campaign_name.clone() });
        let same = |t: &&mut TaskView| {
            t.kind == InspectionKind::Routine
                && t.subject.subject == ct.subject.subject
                && t.subject.id == ct.subject.id
        };
        match tasks.iter_mut().find(same) {
            Some(t) => {
                if ct.due_at < parse_rfc3339("due_at", &t.due_at).unwrap_or(i64::MAX) {
                    (t.due_at, t.overdue) = (to_rfc3339(ct.due_at), ct.due_at < now);
                }
                t.campaign = t.campaign.take().or(tag);
            }
            None => tasks.push(TaskView {
                kind: InspectionKind::Routine,
                subject: (&ct.subject).into(),
                due_at: to_rfc3339(ct.due_at),
                last_at: None,
                every_days: 0,
                overdue: ct.due_at < now,
                distance_m: here.map(|h| h.distance_m(&ct.subject.location).round()),
                campaign: tag,
            }),
        }
    }
    // Soonest day first; within a day, the nearest first.
    let day = |t: &TaskView| t.due_at.get(..10).map(str::to_string);
    tasks.sort_by(|a, b| day(a).cmp(&day(b)).then(a.distance_m.unwrap_or(0.0).total_cmp(&b.distance_m.unwrap_or(0.0))));
    tasks.truncate(limit as usize);
    Ok(Json(tasks))
}

#[utoipa::path(get, path = "/safety-files/{subject}/{id}", tag = "inspections", summary = "A place's or house's safety file: its check list, when it is due, its hazards and inspections",
    params(("subject" = SubjectKind, Path, description = "place or house"), ("id" = i64, Path, description = "Its id in the registry")),
    responses((status = 200, description = "The safety file", body = SafetyFile), (status = 404, description = "No such place or house one may see")))]
async fn safety_file(
    State(app): State<AppState>,
    auth: Auth,
    Path((subject, id)): Path<(String, i64)>,
) -> ApiResult<Json<SafetyFile>> {
    let kind = parse_subject(&subject)?;
    let s = readable(&app, &auth.actor, kind, id).await?;
    let now = app.now();
    let checklist = app.store.checklist_for(kind, &s.kind).await?;
    let due_at = app.store.due_at(kind, id).await?.map(to_rfc3339);
    let hazards = app.store.hazards_of(kind, id).await?.iter().map(|h| hazard_view(h, now)).collect();
    let inspections = app.store.inspections_of(kind, id, 50).await?.into_iter().map(InspectionView::from).collect();
    let may_inspect = may_inspect(&auth.actor, &s);
    let spot_checks = app
        .store
        .spot_checks_of(kind, id)
        .await?
        .into_iter()
        .map(|k| SpotCheckView {
            self_inspection: k.self_inspection.0,
            due_at: to_rfc3339(k.due_at),
            checked_by: k.checked_by.map(|i| i.0),
            contradicted: k.contradicted,
        })
        .collect();
    Ok(Json(SafetyFile {
        subject: (&s).into(),
        checklist: checklist.map(ChecklistView::from),
        due_at,
        hazards,
        inspections,
        spot_checks,
        may_inspect,
    }))
}

#[utoipa::path(get, path = "/inspections/{id}", tag = "inspections", summary = "An inspection with its answers",
    params(("id" = i64, Path, description = "Inspection id")),
    responses((status = 200, description = "The inspection", body = InspectionView), (status = 404, description = "No such inspection one may see")))]
async fn inspection(State(app): State<AppState>, auth: Auth, Path(id): Path<i64>) -> ApiResult<Json<InspectionView>> {
    let i = app.store.inspection(InspectionId(id)).await?.ok_or_else(|| ApiError::not_found("inspection"))?;
    readable(&app, &auth.actor, i.subject, i.subject_id).await.map_err(|_| ApiError::not_found("inspection"))?;
    Ok(Json(i.into()))
}

fn hazard_case(item: &str, c: &Case) -> HazardCase {
    HazardCase { item: item.to_string(), case_id: c.id, reference: c.reference.clone(), state: c.state }
}

#[utoipa::path(post, path = "/inspections", tag = "inspections", summary = "Record an inspection: each failure opens a hazard case, each open hazard is judged again",
    request_body = InspectionInput,
    responses(
        (status = 201, description = "Recorded", body = Recorded),
        (status = 200, description = "Sent before with the same key: the inspection as recorded then", body = Recorded),
        (status = 403, description = "Not one who inspects there: a grid member, grid leader or team member with the inspect duty, or the place's own social unit"),
        (status = 404, description = "No such place or house one may see, or no such check list"),
        (status = 409, description = "A hazard it judges was changed meanwhile, or another inspection opened the same hazard: load the safety file and send again")))]
async fn record(
    State(app): State<AppState>,
    auth: Auth,
    ApiJson(input): ApiJson<InspectionInput>,
) -> ApiResult<(StatusCode, Json<Recorded>)> {
    let actor = &auth.actor;
    let now = app.now();
    let key = optional_text("key", input.key.as_deref(), 64)?;
    if let Some(k) = &key {
        if let Some(done) = app.store.inspection_by_key(auth.person.id, k).await? {
            let repeated = Recorded { inspection: done.into(), opened: vec![], judged: vec![], repeated: true };
            return Ok((StatusCode::OK, Json(repeated)));
        }
    }
    let subject = readable(&app, actor, input.subject, input.subject_id).await?;
    // A grid member's inspection (a spot check while one of the unit's self-inspections waits for
    // it), or the social unit's own.
    let kind = if gridkeeper_domain::may(actor, Permission::InspectPlaces { region: &subject.grid }).is_ok() {
        let waiting = app.store.spot_checks_of(subject.subject, subject.id).await?;
        if waiting.iter().any(|k| k.checked_by.is_none()) {
            InspectionKind::SpotCheck
        } else {
            InspectionKind::Routine
        }
    } else {
        let own = (subject.subject == SubjectKind::Place)
            .then(|| gridkeeper_domain::may(actor, Permission::SelfInspect { place: PlaceId(subject.id) }));
        match own {
            Some(Ok(())) => InspectionKind::SelfInspection,
            _ => administer(actor, Permission::InspectPlaces { region: &subject.grid })
                .map(|_| InspectionKind::Routine)?,
        }
    };
    let by_unit = kind == InspectionKind::SelfInspection;
    if !subject.open {
        return Err(ApiError::field("subject_id", format!("{} {} is closed", subject.subject.as_str(), subject.id)));
    }
    let checklist = app.store.checklist(ChecklistId(input.checklist), Some(input.version)).await?.ok_or_else(|| {
        match input.version {
            0 => ApiError::field("version", "versions count from 1"),
            v => ApiError::unknown("version", format!("check list {} has no version {v}", input.checklist)),
        }
    })?;
    if checklist.subject != subject.subject || checklist.kind != subject.kind {
        return Err(ApiError::field(
            "checklist",
            format!(
                "check list {} is for {} `{}`, not this {} `{}`",
                checklist.id,
                checklist.subject.as_str(),
                checklist.kind,
                subject.subject.as_str(),
                subject.kind
            ),
        ));
    }
    let hazards = app.store.hazards_of(subject.subject, subject.id).await?;
    let open: Vec<&Hazard> = hazards.iter().filter(|h| h.state.is_open() && h.checklist_id == checklist.id).collect();
    let open_items: BTreeSet<String> = open.iter().map(|h| h.item.clone()).collect();
    let results = check_results(checklist.version, &checklist.items, input.results, &open_items)?;
    let position = crate::service::parse_location(input.lat, input.lon)?;
    if input.accuracy_m.is_some_and(|a| !a.is_finite() || a < 0.0) {
        return Err(ApiError::field("accuracy_m", "a distance in metres, 0 or more"));
    }
    let settings = &app.settings.inspections;
    let at = match input.done_at.as_deref() {
        None => now,
        Some(t) => {
            let at = parse_rfc3339("done_at", t)?;
            if at > now + 5 * 60 * 1000 {
                return Err(ApiError::field("done_at", "lies in the future"));
            }
            if at < now - settings.late_days * DAY {
                return Err(ApiError::field("done_at", format!("more than {} days ago", settings.late_days)));
            }
            at
        }
    };
    let (distance, far) = match position {
        Some(p) => {
            let (d, far) = far_from(subject.location, p, input.accuracy_m, settings.far_m);
            (Some(d.round()), far)
        }
        None => (None, false),
    };
    let note = optional_text("note", input.note.as_deref(), 500)?;
    let calendar = app.calendar(subject.grid.district());
    let reference = app.reference();
    let item_of = |code: &str| checklist.items.iter().find(|i| i.code == code);
    // The state machine decides each hazard opened and each judged.
    let mut found = Vec::new();
    let mut rechecked = Vec::new();
    for r in &results {
        let Some(item) = item_of(&r.item) else { continue };
        match open.iter().find(|h| h.item == r.item) {
            None if r.outcome == Outcome::Fail => {
                let category = reference
                    .categories
                    .values()
                    .find(|c| c.code == item.category && c.kind == CategoryKind::Hazard)
                    .cloned()
                    .ok_or_else(|| {
                        ApiError::unknown(
                            "checklist",
                            format!("item `{}` names no hazard category `{}` any more", item.code, item.category),
                        )
                    })?;
                let department = category
                    .default_department
                    .and_then(|d| reference.departments.get(&d).cloned())
                    .ok_or_else(|| {
                        ApiError::unknown(
                            "checklist",
                            format!("hazard category `{}` has no department to answer for it", category.code),
                        )
                    })?;
                let what = r.note.as_deref().unwrap_or_default();
                let h = FoundHazard {
                    district: subject.grid.district().to_string(),
                    grid: subject.grid.clone(),
                    location: subject.location,
                    address: Some(subject.address.clone()).filter(|a| !a.is_empty()),
                    description: format!("{}（{}）{}：{}", subject.name, item.code, item.text, what),
                    category,
                    department,
                    deadline: rectify_by(&calendar, now, item),
                    photos: r.photos.clone(),
                    item: item.code.clone(),
                    subject: serde_json::json!({ subject.subject.as_str(): subject.id, "checklist": checklist.id.0 }),
                    source: if by_unit { Source::SocialUnit } else { Source::GridMember },
                };
                let d = find_hazard(actor, h, now).map_err(|e| ApiError::refusal(e, None))?;
                found.push((item.code.clone(), item.severity, d, r.photos.clone()));
            }
            // A unit's own answer on an open hazard is recorded; a grid member judges it.
            Some(h) if r.outcome != Outcome::NotApplicable && !by_unit => {
                let case = app.store.case(h.case_id).await?.ok_or_else(|| ApiError::not_found("case"))?;
                if !matches!(case.state, CaseState::Dispatched | CaseState::InProgress | CaseState::Resolved) {
                    continue; // back with the linkage center (returned, reopened): judged on site later.
                }
                let cmd = Command::Reinspect {
                    passed: r.outcome == Outcome::Pass,
                    note: r.note.clone(),
                    evidence: r.photos.clone(),
                };
                let d = decide_on(&case, actor, cmd, now, &calendar).map_err(|e| ApiError::refusal(e, Some(&case)))?;
                rechecked.push((item.code.clone(), d, r.photos.clone()));
            }
            _ => {}
        }
    }
    let plan_every = app
        .store
        .inspection_plan()
        .await?
        .into_iter()
        .find(|p| p.subject == subject.subject && p.kind == subject.kind && p.risk == subject.risk);
    // A self-inspection does not move the grid members' plan.
    let next =
        plan_every.filter(|_| !by_unit).map(|p| next_due(&calendar, Some(at), subject.registered_at, p.every_days));
    let spot_check =
        by_unit.then(|| (settings.spot_check_percent, calendar.end_of_working_days(now, settings.spot_check_days)));
    let new = NewInspection {
        subject: subject.subject,
        subject_id: subject.id,
        grid: subject.grid.clone(),
        checklist_id: checklist.id,
        version: checklist.version,
        kind,
        inspector: auth.person.id,
        at,
        location: position,
        accuracy_m: input.accuracy_m,
        distance_m: distance,
        far,
        note,
        client_key: key,
        spot_check,
        results,
    };
    let opened: Vec<Found> = found
        .iter()
        .map(|(item, severity, d, photos)| Found { item, severity: *severity, decision: d, photos })
        .collect();
    let judged: Vec<Rechecked> =
        rechecked.iter().map(|(item, d, photos)| Rechecked { item, decision: d, photos }).collect();
    let (stored, cases) = app.store.record_inspection(&new, &opened, &judged, app.year_of(now), next).await?;
    let (new_cases, judged_cases) = cases.split_at(opened.len());
    for (c, f) in new_cases.iter().zip(&found) {
        app.announce(c, &f.2.event).await;
    }
    for (c, r) in judged_cases.iter().zip(&rechecked) {
        app.announce(c, &r.1.event).await;
    }
    let recorded = Recorded {
        opened: new_cases.iter().zip(&found).map(|(c, f)| hazard_case(&f.0, c)).collect(),
        judged: judged_cases.iter().zip(&rechecked).map(|(c, r)| hazard_case(&r.0, c)).collect(),
        inspection: stored.into(),
        repeated: false,
    };
    Ok((StatusCode::CREATED, Json(recorded)))
}
