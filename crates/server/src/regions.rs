//! Region trees: their endpoints (`/regions/import`, `/regions/imports`, `/regions/validate`,
//! `/regions/export`, `/regions/{code}/history`) and what they and the `gridkeeper import regions`
//! command ask of the application: import (plan in `gridkeeper_geo`, write through the store),
//! validate the stored tree, export a subtree with live figures, and who is responsible for a
//! grid (`responsibility.rs` serves that). No SQL here (that is the store's).

use std::collections::{BTreeMap, HashMap};

use gridkeeper_domain::{FieldError, Millis, PersonId, Region, RegionCode, RegionLevel, Role, HOUR};
use gridkeeper_geo::import::{self, Existing, ImportOptions, Plan};
use gridkeeper_geo::simplify;
use gridkeeper_geo::tree::{self, Node, Report, Tolerances, Tree};
use gridkeeper_store::{Assignment, AssignmentQuery, RegionImport, RegionRecord, RegionWrite, Store};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::error::{ApiError, ApiResult};

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use gridkeeper_domain::time::to_rfc3339;
use gridkeeper_domain::{may, Permission};
use gridkeeper_store::NewAudit;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;

use crate::auth::{Auth, MaybeAuth};
use crate::extract::{worded, Query};
use crate::http::administer;
use crate::responsibility::{code_param, required_code};
use crate::AppState;

/// Largest GeoJSON file accepted by `POST /regions/import`.
const IMPORT_LIMIT: usize = 64 * 1024 * 1024;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(import).layer(DefaultBodyLimit::max(IMPORT_LIMIT)))
        .routes(routes!(imports))
        .routes(routes!(validate))
        .routes(routes!(export_regions))
        .routes(routes!(history))
}

/// Reports progress: a stage, items done, items in all.
pub type Progress = Box<dyn FnMut(&str, u64, u64) + Send>;

/// An import to run.
pub struct ImportRequest {
    /// The GeoJSON text.
    pub text: String,
    /// The file's name (or `api`), kept with the import record.
    pub source: String,
    pub options: ImportOptions,
    /// Plan and report only; write nothing.
    pub dry_run: bool,
    pub by: Option<PersonId>,
    pub now: Millis,
}

/// The plan of an import and, when it was written, its id.
#[derive(Debug, Serialize)]
pub struct ImportOutcome {
    pub accepted: bool,
    pub import_id: Option<i64>,
    #[serde(flatten)]
    pub plan: Plan,
}

fn options_json(o: &ImportOptions) -> Value {
    json!({
        "level": o.level, "code_property": o.code_property, "name_property": o.name_property,
        "parent_property": o.parent_property, "under": o.under, "under_name": o.under_name, "repair": o.repair,
        "tolerances": o.tolerances,
    })
}

fn existing(records: Vec<RegionRecord>) -> Vec<Existing> {
    records
        .into_iter()
        .map(|r| Existing { region: r.region, key: r.key, derived: r.derived, retired: r.retired_at.is_some() })
        .collect()
}

/// The regions the import would touch: `under`, or the parents of features keyed by region codes.
pub fn import_scopes(text: &str, options: &ImportOptions) -> ApiResult<Vec<RegionCode>> {
    if let Some(u) = &options.under {
        return Ok(vec![u.clone()]);
    }
    let features = import::read_features(text, options, &mut |_: &str, _: u64, _: u64| {})?;
    let mut parents: Vec<RegionCode> =
        features.iter().filter_map(|f| RegionCode::parse(&f.key).ok().and_then(|c| c.parent())).collect();
    parents.sort();
    parents.dedup();
    if parents.is_empty() {
        return Err(ApiError::field("under", "the keys are not region codes: name the region to import under"));
    }
    Ok(parents)
}

/// Plans an import against the stored regions and, unless it is a dry run or the tree would not
/// be valid, writes it in one transaction.
pub async fn import_regions(store: &dyn Store, req: ImportRequest, mut progress: Progress) -> ApiResult<ImportOutcome> {
    let stored = existing(store.region_records().await?);
    let ImportRequest { text, source, options, dry_run, by, now } = req;
    let opts = options.clone();
    let plan = tokio::task::spawn_blocking(move || -> Result<(Plan, Progress), FieldError> {
        let features = import::read_features(&text, &opts, &mut *progress)?;
        let plan = import::plan(features, &stored, &opts, &mut *progress)?;
        Ok((plan, progress))
    })
    .await
    .map_err(ApiError::internal)?;
    let (plan, mut progress) = plan?;
    let accepted = plan.accepted();
    if dry_run || !accepted {
        return Ok(ImportOutcome { accepted, import_id: None, plan });
    }
    progress("writing", 0, 1);
    let writes: Vec<RegionWrite> = plan
        .regions
        .iter()
        .map(|p| RegionWrite {
            region: Region { code: p.code.clone(), name: p.name.clone(), name_en: None, geometry: p.geometry.clone() },
            key: p.key.clone(),
            derived: p.derived,
        })
        .collect();
    let lineage: Vec<(RegionCode, RegionCode, f64)> =
        plan.lineage.iter().map(|l| (l.from.clone(), l.to.clone(), l.area_m2)).collect();
    let id = store
        .apply_region_import(&RegionImport {
            at: now,
            by,
            source: &source,
            options: options_json(&options),
            summary: json!(plan.summary),
            report: json!(plan.report),
            regions: &writes,
            retire: &plan.retire,
            lineage: &lineage,
        })
        .await?;
    progress("writing", 1, 1);
    Ok(ImportOutcome { accepted, import_id: Some(id), plan })
}

/// Validates the stored tree (or the subtree under `root`), as an import would.
pub async fn validate_stored(store: &dyn Store, root: Option<&RegionCode>, tol: Tolerances) -> ApiResult<Report> {
    let records = store.region_records().await?;
    let tree: Tree = records
        .into_iter()
        .filter(|r| r.retired_at.is_none())
        .filter(|r| root.is_none_or(|c| c.contains(&r.region.code) || r.region.code.contains(c)))
        .map(|r| {
            let shape = r.region.geometry.as_ref().and_then(|g| gridkeeper_geo::parse_geometry(g).ok());
            let code = r.region.code.clone();
            (code.clone(), Node { code, name: r.region.name, shape, derived: r.derived, editable: false })
        })
        .collect();
    tokio::task::spawn_blocking(move || tree::check(&tree, &tol)).await.map_err(ApiError::internal)
}

/// The report as Markdown, for people.
pub fn report_markdown(title: &str, report: &Report) -> String {
    let mut out = format!("# {title}\n\n");
    let verdict = if report.is_valid() { "valid" } else { "not valid" };
    out.push_str(&format!(
        "The tree is **{verdict}**: {} issue(s), {} change(s) made by repair, {} note(s).\n",
        report.issues.len(),
        report.changes.len(),
        report.notes.len()
    ));
    let section = |out: &mut String, name: &str, items: Vec<Value>| {
        if items.is_empty() {
            return;
        }
        out.push_str(&format!("\n## {name}\n\n"));
        for i in items {
            let kind = i["kind"].as_str().unwrap_or("").replace('_', " ");
            let mut fields: Vec<String> = Vec::new();
            if let Some(obj) = i.as_object() {
                for (k, v) in obj.iter().filter(|(k, _)| *k != "kind") {
                    let text = match v {
                        Value::Object(o) if o.contains_key("code") => {
                            format!("{} {}", o["code"].as_str().unwrap_or(""), o["name"].as_str().unwrap_or(""))
                        }
                        Value::Object(o) if o.contains_key("lat") => format!("{}, {}", o["lat"], o["lon"]),
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    fields.push(format!("{k}: {text}"));
                }
            }
            out.push_str(&format!("- **{kind}** — {}\n", fields.join("; ")));
        }
    };
    section(&mut out, "Issues", report.issues.iter().map(|i| json!(i)).collect());
    section(&mut out, "Changes made by repair", report.changes.iter().map(|i| json!(i)).collect());
    section(&mut out, "Notes", report.notes.iter().map(|i| json!(i)).collect());
    out
}

/// A point as sent (`lat`/`lon` in the system named by `crs`: wgs84, gcj02 or bd09; WGS-84 when
/// absent) in the form it is stored: WGS-84.
pub fn stored_location(
    location: Option<gridkeeper_domain::LatLon>,
    crs: Option<&str>,
) -> Result<Option<gridkeeper_domain::LatLon>, FieldError> {
    let crs = crs.map(gridkeeper_geo::Crs::parse).transpose()?.unwrap_or_default();
    Ok(location.map(|p| crs.to_wgs84(p)))
}

/// Who answers for a grid at an instant: its grid members, or else (属地兜底) the grid leaders
/// of its community.
#[derive(Debug, Clone, Serialize)]
pub struct Responsible {
    pub grid_members: Vec<Assignment>,
    pub grid_leaders: Vec<Assignment>,
    /// No grid member: the community's grid leaders are accountable.
    pub fallback: bool,
}

impl Responsible {
    /// The people accountable: the members, or the leaders when there are none.
    pub fn accountable(&self) -> &[Assignment] {
        if self.fallback {
            &self.grid_leaders
        } else {
            &self.grid_members
        }
    }
}

/// Splits the assignments active at one instant under a community into those of each grid.
fn responsibility(grid: &RegionCode, active: &[Assignment]) -> Responsible {
    let community = grid.at_level(RegionLevel::Community);
    let grid_members: Vec<Assignment> =
        active.iter().filter(|a| a.role == Role::GridMember && &a.region == grid).cloned().collect();
    let grid_leaders: Vec<Assignment> = active
        .iter()
        .filter(|a| a.role == Role::GridLeader && Some(&a.region) == community.as_ref())
        .cloned()
        .collect();
    Responsible { fallback: grid_members.is_empty(), grid_members, grid_leaders }
}

pub async fn responsible_for(store: &dyn Store, grid: &RegionCode, at: Millis) -> ApiResult<Responsible> {
    let community = grid.at_level(RegionLevel::Community).unwrap_or_else(|| grid.clone());
    let active = store.assignments(&AssignmentQuery { under: Some(community), person: None, at: Some(at) }).await?;
    Ok(responsibility(grid, &active))
}

/// A grid with no grid member at the instant asked for.
#[derive(Debug, Clone, Serialize)]
pub struct ResponsibilityGap {
    pub grid: RegionCode,
    pub name: String,
    /// The community's grid leaders, accountable instead; empty when there are none either.
    pub accountable: Vec<Assignment>,
}

/// Grids under `root` without a grid member at `at` (with who answers for them instead), and
/// communities without a grid leader.
pub async fn responsibility_gaps(
    store: &dyn Store,
    regions: &HashMap<RegionCode, Region>,
    root: &RegionCode,
    at: Millis,
) -> ApiResult<(Vec<ResponsibilityGap>, Vec<RegionCode>)> {
    let active = store.assignments(&AssignmentQuery { under: Some(root.clone()), person: None, at: Some(at) }).await?;
    let mut in_scope: Vec<&Region> = regions.values().filter(|r| root.contains(&r.code)).collect();
    in_scope.sort_by(|a, b| a.code.cmp(&b.code));
    let mut grids = Vec::new();
    for g in in_scope.iter().filter(|r| r.level() == RegionLevel::Grid) {
        let r = responsibility(&g.code, &active);
        if r.fallback {
            grids.push(ResponsibilityGap { grid: g.code.clone(), name: g.name.clone(), accountable: r.grid_leaders });
        }
    }
    let leaderless = in_scope
        .iter()
        .filter(|r| r.level() == RegionLevel::Community)
        .filter(|c| !active.iter().any(|a| a.role == Role::GridLeader && a.region == c.code))
        .map(|c| c.code.clone())
        .collect();
    Ok((grids, leaderless))
}

/// The subtree under `root` as a GeoJSON FeatureCollection: every region with its code, name,
/// level and parent; grids with their live figures when `figures` (open, overdue, reported in
/// the last 30 days). With a zoom level, each level is simplified for display at that zoom,
/// shared boundaries once, so neighbours stay seamless.
pub async fn export(
    store: &dyn Store,
    regions: &HashMap<RegionCode, Region>,
    root: &RegionCode,
    zoom: Option<u8>,
    figures: bool,
    now: Millis,
) -> ApiResult<Value> {
    let mut subtree: Vec<Region> = regions.values().filter(|r| root.contains(&r.code)).cloned().collect();
    if subtree.is_empty() {
        return Err(ApiError::not_found("region"));
    }
    subtree.sort_by(|a, b| a.code.cmp(&b.code));
    let counts: BTreeMap<RegionCode, gridkeeper_store::GridFigures> = if figures {
        store.grid_figures(root, now, now - 30 * 24 * HOUR).await?.into_iter().collect()
    } else {
        BTreeMap::new()
    };
    let features = tokio::task::spawn_blocking(move || {
        let mut by_level: BTreeMap<RegionLevel, Vec<Region>> = BTreeMap::new();
        for r in subtree {
            by_level.entry(r.level()).or_default().push(r);
        }
        let mut features = Vec::new();
        for (_, items) in by_level {
            let geometries: Vec<Value> = items.iter().map(|r| r.geometry.clone().unwrap_or(Value::Null)).collect();
            let geometries = match zoom {
                Some(z) => simplify::simplify_geojson(&geometries, simplify::tolerance_for_zoom(z)),
                None => geometries,
            };
            for (r, geometry) in items.into_iter().zip(geometries) {
                let mut properties =
                    json!({ "code": r.code, "name": r.name, "name_en": r.name_en, "level": r.level(), "parent": r.parent() });
                if figures && r.level() == RegionLevel::Grid {
                    let f = counts.get(&r.code).cloned().unwrap_or_default();
                    properties["open"] = json!(f.open);
                    properties["overdue"] = json!(f.overdue);
                    properties["last_30_days"] = json!(f.recent);
                }
                features.push(json!({ "type": "Feature", "id": r.code, "properties": properties, "geometry": geometry }));
            }
        }
        features
    })
    .await
    .map_err(ApiError::internal)?;
    Ok(json!({ "type": "FeatureCollection", "features": features }))
}

// ---------------------------------------------------------------- endpoints

/// The tolerances of a validation: the query's, or the defaults.
fn tolerances(min_area_m2: Option<f64>, max_gap_width_m: Option<f64>) -> ApiResult<Tolerances> {
    let d = Tolerances::default();
    let t = Tolerances {
        min_area_m2: min_area_m2.unwrap_or(d.min_area_m2),
        max_gap_width_m: max_gap_width_m.unwrap_or(d.max_gap_width_m),
    };
    if !(t.min_area_m2.is_finite() && t.min_area_m2 >= 0.0) {
        return Err(ApiError::field("min_area_m2", "must be zero or more"));
    }
    if !(t.max_gap_width_m.is_finite() && t.max_gap_width_m >= 0.0) {
        return Err(ApiError::field("max_gap_width_m", "must be zero or more"));
    }
    Ok(t)
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ImportQuery {
    /// Level of the features
    #[param(required = true)]
    level: Option<String>,
    /// Feature property holding the key
    #[param(required = true)]
    code_property: Option<String>,
    /// Feature property holding the name
    name_property: Option<String>,
    /// Feature property holding the parent key
    parent_property: Option<String>,
    /// Parent region code
    under: Option<String>,
    /// Name of a new parent
    under_name: Option<String>,
    /// Repair what can be repaired
    repair: Option<bool>,
    /// Plan only
    dry_run: Option<bool>,
    /// Smallest area reported
    #[serde(default, deserialize_with = "worded::square_metres")]
    min_area_m2: Option<f64>,
    /// Widest gap reported
    #[serde(default, deserialize_with = "worded::metres")]
    max_gap_width_m: Option<f64>,
}

/// `POST /regions/import?level=&code_property=&...` with a GeoJSON FeatureCollection as the body.
/// A tree that would not be valid is refused with 422 and the report (unless `repair=true`).
#[utoipa::path(post, path = "/regions/import", tag = "geo", params(ImportQuery),
    request_body(content = Object, description = "A GeoJSON FeatureCollection", content_type = "application/json"),
    responses((status = 200, description = "The dry run's plan and report", body = Object), (status = 201, description = "Imported: the plan and report", body = Object), (status = 403, description = "Not allowed (role, scope or CSRF token)"), (status = 413, description = "The upload is too large")))]
async fn import(
    State(app): State<AppState>,
    auth: Auth,
    Query(q): Query<ImportQuery>,
    body: Bytes,
) -> ApiResult<Response> {
    let level = RegionLevel::parse(q.level.as_deref().ok_or_else(|| ApiError::field("level", "is required"))?)?;
    let code_property = q.code_property.ok_or_else(|| ApiError::field("code_property", "is required"))?;
    let options = ImportOptions {
        level,
        code_property,
        name_property: q.name_property,
        parent_property: q.parent_property,
        under: code_param(q.under.as_deref(), "under")?,
        under_name: q.under_name,
        repair: q.repair.unwrap_or(false),
        tolerances: tolerances(q.min_area_m2, q.max_gap_width_m)?,
    };
    let dry_run = q.dry_run.unwrap_or(false);
    let text = String::from_utf8(body.to_vec()).map_err(|_| ApiError::field("body", "is not UTF-8 text"))?;
    for scope in import_scopes(&text, &options)? {
        administer(&auth.actor, Permission::ImportRegions { under: &scope })?;
    }
    let now = app.now();
    let request = ImportRequest { text, source: "api".into(), options, dry_run, by: Some(auth.person.id), now };
    let outcome = import_regions(app.store.as_ref(), request, Box::new(|_: &str, _: u64, _: u64| {})).await?;
    if let Some(id) = outcome.import_id {
        app.store
            .audit(&NewAudit {
                at: now,
                actor: Some(auth.person.id),
                action: "region_import".into(),
                object: Some(format!("region_import:{id}")),
                detail: json!({ "summary": outcome.plan.summary, "retired": outcome.plan.retire }),
            })
            .await?;
        app.reload_reference().await.map_err(ApiError::internal)?;
    }
    if !outcome.accepted {
        let body = json!({
            "type": "https://gridkeeper.org/problems/invalid-tree",
            "title": "The regions would not tile",
            "status": 422,
            "detail": format!("the import was refused: {} issue(s); see `report` (or import with repair=true)", outcome.plan.report.issues.len()),
            "report": outcome.plan.report,
            "summary": outcome.plan.summary,
        });
        return Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            [(header::CONTENT_TYPE, "application/problem+json")],
            body.to_string(),
        )
            .into_response());
    }
    let status = if outcome.import_id.is_some() { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(json!(outcome))).into_response())
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ImportsQuery {
    /// Page size
    limit: Option<u32>,
}

/// A past import with its options, summary and validation report.
#[derive(Serialize, ToSchema)]
pub struct ImportView {
    pub id: i64,
    #[schema(format = DateTime)]
    pub at: String,
    pub by: Option<i64>,
    /// The file's name, or `api`.
    pub source: String,
    #[schema(value_type = Object)]
    pub options: Value,
    #[schema(value_type = Object)]
    pub summary: Value,
    #[schema(value_type = Object)]
    pub report: Value,
}

#[derive(Serialize, ToSchema)]
pub struct ImportList {
    pub items: Vec<ImportView>,
}

/// `GET /regions/imports`: the latest imports with their reports (admins).
#[utoipa::path(get, path = "/regions/imports", tag = "geo", params(ImportsQuery),
    responses((status = 200, description = "Past imports with their reports", body = ImportList), (status = 403, description = "Not allowed (role, scope or CSRF token)")))]
async fn imports(
    State(app): State<AppState>,
    auth: Auth,
    Query(q): Query<ImportsQuery>,
) -> ApiResult<Json<ImportList>> {
    administer(&auth.actor, Permission::SeeRegionImports)?;
    let limit = q.limit.unwrap_or(20).clamp(1, 200);
    let items = app
        .store
        .region_imports(limit)
        .await?
        .into_iter()
        .map(|i| ImportView {
            id: i.id,
            at: to_rfc3339(i.at),
            by: i.by,
            source: i.source,
            options: i.options,
            summary: i.summary,
            report: i.report,
        })
        .collect();
    Ok(Json(ImportList { items }))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ValidateQuery {
    /// Region code
    #[param(required = true)]
    under: Option<String>,
    /// Smallest area reported
    #[serde(default, deserialize_with = "worded::square_metres")]
    min_area_m2: Option<f64>,
    /// Widest gap reported
    #[serde(default, deserialize_with = "worded::metres")]
    max_gap_width_m: Option<f64>,
}

#[derive(Serialize, ToSchema)]
pub struct ValidationAnswer {
    #[schema(value_type = String)]
    pub under: RegionCode,
    pub valid: bool,
    /// The validation report: problems found in the tree.
    #[schema(value_type = Object)]
    pub report: Report,
}

/// `GET /regions/validate?under=`: the validation report of the stored tree under a region.
#[utoipa::path(get, path = "/regions/validate", tag = "geo", params(ValidateQuery),
    responses((status = 200, description = "The validation report of the stored tree", body = ValidationAnswer), (status = 403, description = "Not allowed (role, scope or CSRF token)")))]
async fn validate(
    State(app): State<AppState>,
    auth: Auth,
    Query(q): Query<ValidateQuery>,
) -> ApiResult<Json<ValidationAnswer>> {
    let under = required_code(q.under.as_deref(), "under")?;
    administer(&auth.actor, Permission::ValidateRegions { under: &under })?;
    let report =
        validate_stored(app.store.as_ref(), Some(&under), tolerances(q.min_area_m2, q.max_gap_width_m)?).await?;
    Ok(Json(ValidationAnswer { under, valid: report.is_valid(), report }))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ExportQuery {
    /// Region code
    #[param(required = true)]
    under: Option<String>,
    /// Map zoom to simplify for, 0 to 24
    #[serde(default, deserialize_with = "worded::zoom_level")]
    #[param(minimum = 0, maximum = 24)]
    zoom: Option<u8>,
}

/// `GET /regions/export?under=&zoom=`: the subtree as GeoJSON; staff also get live figures per grid.
#[utoipa::path(get, path = "/regions/export", tag = "geo", operation_id = "export_regions", security((), ("bearer" = []), ("session_cookie" = [])), params(ExportQuery),
    responses((status = 200, description = "The subtree as a GeoJSON FeatureCollection with figures per grid (staff)", body = Object, content_type = "application/geo+json"), (status = 404, description = "Not found, or outside one's scope")))]
async fn export_regions(
    State(app): State<AppState>,
    auth: MaybeAuth,
    Query(q): Query<ExportQuery>,
) -> ApiResult<Response> {
    let under = required_code(q.under.as_deref(), "under")?;
    let zoom = q.zoom;
    if zoom.is_some_and(|z| z > 24) {
        return Err(ApiError::field("zoom", "must be between 0 and 24"));
    }
    let staff = auth.0.as_ref().is_some_and(|a| may(&a.actor, Permission::SeeGridFigures).is_ok());
    let r = app.reference();
    let fc = export(app.store.as_ref(), &r.regions, &under, zoom, staff, app.now()).await?;
    Ok(([(header::CONTENT_TYPE, "application/geo+json")], fc.to_string()).into_response())
}

/// `GET /regions/{code}/history`: earlier names and geometries, and where its area went or came from.
#[utoipa::path(get, path = "/regions/{code}/history", tag = "geo", security(()), params(("code" = String, Path, description = "Region code")),
    responses((status = 200, description = "The region, its earlier versions, and where its area went or came from", body = RegionHistoryAnswer), (status = 404, description = "Not found, or outside one's scope"), (status = 422, description = "A field is invalid; `field` and `reason` say which and why")))]
async fn history(State(app): State<AppState>, Path(code): Path<String>) -> ApiResult<Json<RegionHistoryAnswer>> {
    let code = RegionCode::parse(&code).map_err(|e| ApiError::field("code", e.reason))?;
    let h = app.store.region_history(&code).await?.ok_or_else(|| ApiError::not_found("region"))?;
    let lineage = |l: &gridkeeper_store::LineageRecord| LineageView {
        from: l.from.clone(),
        to: l.to.clone(),
        area_m2: l.area_m2,
        at: to_rfc3339(l.at),
        import: l.import_id,
    };
    let r = h.region;
    Ok(Json(RegionHistoryAnswer {
        region: HistoryRegion {
            level: r.region.code.level(),
            code: r.region.code,
            name: r.region.name,
            geometry: r.region.geometry,
            derived: r.derived,
            key: r.key,
            retired_at: r.retired_at.map(to_rfc3339),
            updated_at: r.updated_at.map(to_rfc3339),
        },
        versions: h
            .versions
            .into_iter()
            .map(|v| RegionVersionView {
                name: v.name,
                geometry: v.geometry,
                valid_from: v.valid_from.map(to_rfc3339),
                valid_to: to_rfc3339(v.valid_to),
                import: v.import_id,
            })
            .collect(),
        successors: h.successors.iter().map(lineage).collect(),
        predecessors: h.predecessors.iter().map(lineage).collect(),
    }))
}

/// A region with what an import said of it: its key in the file, whether its geometry is derived
/// from its children's, when it was retired or last changed.
#[derive(Serialize, ToSchema)]
pub struct HistoryRegion {
    #[schema(value_type = String)]
    pub code: RegionCode,
    pub name: String,
    pub level: RegionLevel,
    /// GeoJSON geometry.
    #[schema(value_type = Option<Object>)]
    pub geometry: Option<Value>,
    pub derived: bool,
    pub key: Option<String>,
    #[schema(format = DateTime)]
    pub retired_at: Option<String>,
    #[schema(format = DateTime)]
    pub updated_at: Option<String>,
}

/// An earlier name and geometry, valid until an import changed it.
#[derive(Serialize, ToSchema)]
pub struct RegionVersionView {
    pub name: String,
    #[schema(value_type = Option<Object>)]
    pub geometry: Option<Value>,
    #[schema(format = DateTime)]
    pub valid_from: Option<String>,
    #[schema(format = DateTime)]
    pub valid_to: String,
    /// The import that ended it.
    pub import: i64,
}

/// Where the area of a retired region went: `from` the retired region `to` a successor.
#[derive(Serialize, ToSchema)]
pub struct LineageView {
    #[schema(value_type = String)]
    pub from: RegionCode,
    #[schema(value_type = String)]
    pub to: RegionCode,
    pub area_m2: f64,
    #[schema(format = DateTime)]
    pub at: String,
    pub import: i64,
}

/// `GET /regions/{code}/history`.
#[derive(Serialize, ToSchema)]
pub struct RegionHistoryAnswer {
    pub region: HistoryRegion,
    /// Earlier names and geometries, newest first.
    pub versions: Vec<RegionVersionView>,
    /// Where its area went when it was retired.
    pub successors: Vec<LineageView>,
    /// Retired regions whose area it took over.
    pub predecessors: Vec<LineageView>,
}
