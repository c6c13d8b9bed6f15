//! Measures of performance for a region, department, category or person, over a period.

use axum::extract::State;
use axum::Json;
use gridkeeper_domain::assessment::{ranks, score, Assessed, Component, Score, Weights};
use gridkeeper_domain::fieldwork::{FieldCounts, FieldMeasures};
use gridkeeper_domain::measures::{MeasureCounts, Measures};
use gridkeeper_domain::time::parse_rfc3339;
use gridkeeper_domain::{may, Permission, RegionCode, RegionLevel};
use gridkeeper_store::{GroupBy, MeasureQuery};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::extract::{worded, Query};
use crate::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(measures)).routes(routes!(assessment))
}

/// The period `from`–`to` (RFC 3339), both required, `to` after `from`.
pub(crate) fn period(from: Option<&str>, to: Option<&str>) -> ApiResult<(i64, i64)> {
    let from = parse_rfc3339("from", from.ok_or_else(|| ApiError::field("from", "is required"))?)?;
    let to = parse_rfc3339("to", to.ok_or_else(|| ApiError::field("to", "is required"))?)?;
    if to <= from {
        return Err(ApiError::field("to", "must lie after `from`"));
    }
    Ok((from, to))
}

/// `region` (default: the district), if the person may read its measures.
pub(crate) fn region_in_scope(app: &AppState, auth: &Auth, region: Option<&str>) -> ApiResult<RegionCode> {
    let region = match region {
        Some(r) => RegionCode::parse(r).map_err(|e| ApiError::field("region", e.reason))?,
        None => app
            .reference()
            .district
            .as_deref()
            .map(RegionCode::parse)
            .transpose()?
            .ok_or_else(|| ApiError::field("region", "is required"))?,
    };
    may(&auth.actor, Permission::ReadMeasures { region: &region }).map_err(|e| ApiError::refusal(e, None))?;
    Ok(region)
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct AssessmentQuery {
    /// department, grid or grid_member
    #[param(required = true, pattern = "^(department|grid|grid_member)$")]
    kind: Option<String>,
    /// Region code
    region: Option<String>,
    /// RFC 3339
    #[param(required = true)]
    from: Option<String>,
    /// RFC 3339, after `from`
    #[param(required = true)]
    to: Option<String>,
}

/// `GET /assessment`: weighted scores, ranked.
#[derive(Serialize, ToSchema)]
pub struct AssessmentAnswer {
    /// department, grid or grid_member
    #[schema(value_type = String)]
    pub kind: Assessed,
    #[schema(value_type = String)]
    pub region: RegionCode,
    /// The weight of each component.
    #[schema(value_type = Object)]
    pub weights: Weights,
    /// By rank, then key.
    pub items: Vec<AssessmentItem>,
}

#[derive(Serialize, ToSchema)]
pub struct AssessmentItem {
    /// Department id, grid code or person id.
    pub key: String,
    pub name: String,
    /// Null when there is nothing to score.
    pub score: Option<f64>,
    #[schema(value_type = Option<u32>)]
    pub rank: Option<usize>,
    /// The score's components: each measure with its value, weight and points.
    #[schema(value_type = Vec<Object>)]
    pub components: Vec<Component>,
    pub previous_score: Option<f64>,
    #[schema(value_type = Option<u32>)]
    pub previous_rank: Option<usize>,
    /// `score - previous_score`.
    pub change: Option<f64>,
}

/// Scores and ranks of departments, grids or grid members for a period, with the previous
/// period of the same length beside them.
#[utoipa::path(get, path = "/assessment", tag = "measures", params(AssessmentQuery),
    responses((status = 200, description = "Weighted scores with components, ranks and change against the previous period", body = AssessmentAnswer), (status = 403, description = "Not allowed (role, scope or CSRF token)")))]
async fn assessment(
    State(app): State<AppState>,
    auth: Auth,
    Query(q): Query<AssessmentQuery>,
) -> ApiResult<Json<AssessmentAnswer>> {
    let kind = match q.kind.as_deref() {
        Some("department") => Assessed::Department,
        Some("grid") => Assessed::Grid,
        Some("grid_member") => Assessed::GridMember,
        _ => return Err(ApiError::field("kind", "must be department, grid or grid_member")),
    };
    let (from, to) = period(q.from.as_deref(), q.to.as_deref())?;
    let region = region_in_scope(&app, &auth, q.region.as_deref())?;
    let by = match kind {
        Assessed::Department => GroupBy::Department,
        Assessed::Grid => GroupBy::Grid,
        Assessed::GridMember => GroupBy::Person,
    };
    let query = MeasureQuery { region: Some(region.clone()), from, to, now: app.now(), ..Default::default() };
    let previous = MeasureQuery { from: from - (to - from), to: from, ..query.clone() };
    let now_counts = app.store.measure_counts_by(&query, by).await?;
    let before_counts = app.store.measure_counts_by(&previous, by).await?;
    let weights = app.settings.assessment.of(kind);
    let reference = app.reference();
    // Who is assessed: every department, every grid of the region, every grid member there.
    let keys: Vec<(String, String)> = match kind {
        Assessed::Department => reference.departments.values().map(|d| (d.id.to_string(), d.name.clone())).collect(),
        Assessed::Grid => reference
            .regions
            .values()
            .filter(|r| r.level() == RegionLevel::Grid && region.contains(&r.code))
            .map(|r| (r.code.to_string(), r.name.clone()))
            .collect(),
        Assessed::GridMember => {
            let mut v = vec![];
            for (k, c) in &now_counts {
                if c.grid_members == 0 {
                    continue;
                }
                if let Some(p) = app.store.person(k.parse().unwrap_or_default()).await? {
                    // Ranked by the name leaders know them by (logins are for signing in).
                    v.push((k.clone(), p.name));
                }
            }
            v
        }
    };
    // A grid member's field work (inspections, hazards, patrols), for periods of at most 400 days.
    let (field_now, field_before) = if kind == Assessed::GridMember {
        (
            crate::fieldwork::person_counts(&app, &region, from, to).await?,
            crate::fieldwork::person_counts(&app, &region, previous.from, previous.to).await?,
        )
    } else {
        Default::default()
    };
    let field = |c: &std::collections::BTreeMap<String, FieldCounts>, k: &str| {
        FieldMeasures::from_counts(&c.get(k).copied().unwrap_or_default())
    };
    let scored: Vec<(String, String, Score, Score)> = keys
        .into_iter()
        .map(|(k, name)| {
            let m_now = Measures::from_counts(&now_counts.get(&k).cloned().unwrap_or_default());
            let m_before = Measures::from_counts(&before_counts.get(&k).cloned().unwrap_or_default());
            let now = score(kind, &m_now, &field(&field_now, &k), weights);
            let before = score(kind, &m_before, &field(&field_before, &k), weights);
            (k, name, now, before)
        })
        .collect();
    let rank_now = ranks(&scored.iter().map(|s| s.2.score).collect::<Vec<_>>());
    let rank_before = ranks(&scored.iter().map(|s| s.3.score).collect::<Vec<_>>());
    let mut items: Vec<AssessmentItem> = scored
        .iter()
        .zip(rank_now.iter().zip(&rank_before))
        .map(|((key, name, now, before), (rank, previous_rank))| AssessmentItem {
            key: key.clone(),
            name: name.clone(),
            score: now.score,
            rank: *rank,
            components: now.components.clone(),
            previous_score: before.score,
            previous_rank: *previous_rank,
            change: now.score.zip(before.score).map(|(a, b)| a - b),
        })
        .collect();
    items.sort_by(|a, b| (a.rank.unwrap_or(usize::MAX), &a.key).cmp(&(b.rank.unwrap_or(usize::MAX), &b.key)));
    Ok(Json(AssessmentAnswer { kind, region, weights: weights.clone(), items }))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct MeasuresQuery {
    /// Region code
    region: Option<String>,
    /// Department id
    #[serde(default, deserialize_with = "worded::department_id")]
    department: Option<i64>,
    /// Category ids (repeatable; a class means its subclasses)
    #[serde(default)]
    #[param(value_type = Option<Vec<i64>>)]
    category: Vec<String>,
    /// Person id
    #[serde(default, deserialize_with = "worded::person_id")]
    person: Option<i64>,
    /// RFC 3339
    #[param(required = true)]
    from: Option<String>,
    /// RFC 3339, after `from`
    #[param(required = true)]
    to: Option<String>,
}

/// `GET /measures`: the measures of docs/MEASURES.md and the counts they are made of.
#[derive(Serialize, ToSchema)]
pub struct MeasuresAnswer {
    /// The region measured (none for a department head's own department).
    #[schema(value_type = Option<String>)]
    pub region: Option<RegionCode>,
    pub department: Option<i64>,
    /// Each measure of docs/MEASURES.md by name.
    #[schema(value_type = Object)]
    pub measures: Measures,
    /// The counts the measures are computed from.
    #[schema(value_type = Object)]
    pub counts: MeasureCounts,
}

/// `region` defaults to the district; a department head sees their department anywhere.
#[utoipa::path(get, path = "/measures", tag = "measures", params(MeasuresQuery),
    responses((status = 200, description = "The measures of docs/MEASURES.md for the scope and period", body = MeasuresAnswer), (status = 403, description = "Not allowed (role, scope or CSRF token)"), (status = 404, description = "`department` or `category` names nothing that exists")))]
async fn measures(
    State(app): State<AppState>,
    auth: Auth,
    Query(q): Query<MeasuresQuery>,
) -> ApiResult<Json<MeasuresAnswer>> {
    let (from, to) = period(q.from.as_deref(), q.to.as_deref())?;
    let department = q.department;
    if let Some(d) = department {
        app.department("department", d)?;
    }
    let region = match q.region.as_deref() {
        Some(r) => Some(RegionCode::parse(r).map_err(|e| ApiError::field("region", e.reason))?),
        None => app.reference().district.as_deref().map(RegionCode::parse).transpose()?,
    };
    let head_of =
        department.is_some_and(|d| may(&auth.actor, Permission::ReadDepartmentMeasures { department: d }).is_ok());
    if !head_of {
        let r = region.as_ref().ok_or_else(|| ApiError::field("region", "is required"))?;
        may(&auth.actor, Permission::ReadMeasures { region: r }).map_err(|e| ApiError::refusal(e, None))?;
    }
    let categories: Vec<&str> = q.category.iter().map(String::as_str).collect();
    let categories = app.category_filter(&categories)?;
    let query = MeasureQuery {
        region: if head_of { None } else { region.clone() },
        department,
        categories,
        actor: q.person,
        from,
        to,
        now: app.now(),
    };
    let counts = app.store.measure_counts(&query).await?;
    let measures = Measures::from_counts(&counts);
    Ok(Json(MeasuresAnswer { region: query.region, department, measures, counts }))
}
