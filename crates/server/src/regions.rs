//! What the region endpoints and the `gridkeeper import regions` command ask of the application:
//! import (plan in `gridkeeper_geo`, write through the store), validate the stored tree, export a
//! subtree with live figures, and who is responsible for a grid. No HTTP here beyond returning
//! [`ApiError`]s; no SQL (that is the store's).

use std::collections::{BTreeMap, HashMap};

use gridkeeper_domain::{FieldError, Millis, PersonId, Region, RegionCode, RegionLevel, Role, HOUR};
use gridkeeper_geo::import::{self, Existing, ImportOptions, Plan};
use gridkeeper_geo::simplify;
use gridkeeper_geo::tree::{self, Node, Report, Tolerances, Tree};
use gridkeeper_store::{Assignment, AssignmentQuery, RegionImport, RegionRecord, RegionWrite, Store};
use serde::Serialize;
use serde_json::{json, Value};

use crate::error::{ApiError, ApiResult};

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
