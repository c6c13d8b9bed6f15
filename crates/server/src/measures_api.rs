//! Measures of performance for a region, department, category or person, over a period.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use gridkeeper_domain::assessment::{ranks, score, Assessed, Score};
use gridkeeper_domain::measures::Measures;
use gridkeeper_domain::time::parse_rfc3339;
use gridkeeper_domain::{may, Permission, RegionCode, RegionLevel};
use gridkeeper_store::{GroupBy, MeasureQuery};
use serde_json::{json, Value};

use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::extract::RawQuery;
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/measures", get(measures)).route("/assessment", get(assessment))
}

pub(crate) fn period(q: &RawQuery) -> ApiResult<(i64, i64)> {
    let from = parse_rfc3339("from", q.get("from").ok_or_else(|| ApiError::field("from", "is required"))?)?;
    let to = parse_rfc3339("to", q.get("to").ok_or_else(|| ApiError::field("to", "is required"))?)?;
    if to <= from {
        return Err(ApiError::field("to", "must lie after `from`"));
    }
    Ok((from, to))
}

pub(crate) fn region_in_scope(app: &AppState, auth: &Auth, q: &RawQuery) -> ApiResult<RegionCode> {
    let region = match q.get("region") {
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

/// Scores and ranks of departments, grids or grid members for a period, with the previous
/// period of the same length beside them.
#[utoipa::path(get, path = "/assessment", tag = "measures", params(("kind" = String, Query, description = "department, grid or grid_member"), ("region" = Option<String>, Query, description = "Region code"), ("from" = Option<String>, Query, description = "RFC 3339"), ("to" = Option<String>, Query, description = "RFC 3339")), responses((status = 200, description = "Weighted scores with components, ranks and change against the previous period", body = crate::openapi::AssessmentAnswer), (status = 400, description = "Malformed body or query, or an unknown parameter"), (status = 401, description = "Not signed in"), (status = 403, description = "Not allowed (role, scope or CSRF token)"), (status = 422, description = "A field is invalid; `field` and `reason` say which and why")))]
async fn assessment(State(app): State<AppState>, auth: Auth, q: RawQuery) -> ApiResult<Json<Value>> {
    q.only(&["kind", "region", "from", "to"])?;
    let kind = match q.get("kind") {
        Some("department") => Assessed::Department,
        Some("grid") => Assessed::Grid,
        Some("grid_member") => Assessed::GridMember,
        _ => return Err(ApiError::field("kind", "must be department, grid or grid_member")),
    };
    let (from, to) = period(&q)?;
    let region = region_in_scope(&app, &auth, &q)?;
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
                    v.push((k.clone(), p.login));
                }
            }
            v
        }
    };
    let scored: Vec<(String, String, Score, Score)> = keys
        .into_iter()
        .map(|(k, name)| {
            let now = score(kind, &Measures::from_counts(&now_counts.get(&k).cloned().unwrap_or_default()), weights);
            let before =
                score(kind, &Measures::from_counts(&before_counts.get(&k).cloned().unwrap_or_default()), weights);
            (k, name, now, before)
        })
        .collect();
    let rank_now = ranks(&scored.iter().map(|s| s.2.score).collect::<Vec<_>>());
    let rank_before = ranks(&scored.iter().map(|s| s.3.score).collect::<Vec<_>>());
    let mut items: Vec<Value> = scored
        .iter()
        .zip(rank_now.iter().zip(&rank_before))
        .map(|((key, name, now, before), (rank, previous_rank))| {
            json!({
                "key": key, "name": name, "score": now.score, "rank": rank, "components": now.components,
                "previous_score": before.score, "previous_rank": previous_rank,
                "change": now.score.zip(before.score).map(|(a, b)| a - b),
            })
        })
        .collect();
    items.sort_by_key(|v| (v["rank"].as_u64().unwrap_or(u64::MAX), v["key"].as_str().unwrap_or_default().to_string()));
    Ok(Json(json!({ "kind": kind, "region": region, "weights": weights, "items": items })))
}

/// `region` defaults to the district; a department head sees their department anywhere.
#[utoipa::path(get, path = "/measures", tag = "measures", params(("region" = Option<String>, Query, description = "Region code"), ("department" = Option<i64>, Query, description = "Department id"), ("category" = Option<Vec<i64>>, Query, description = "Category ids (repeatable; a class means its subclasses)"), ("person" = Option<i64>, Query, description = "Person id"), ("from" = Option<String>, Query, description = "RFC 3339"), ("to" = Option<String>, Query, description = "RFC 3339")), responses((status = 200, description = "The measures of docs/MEASURES.md for the scope and period", body = crate::openapi::MeasuresAnswer), (status = 400, description = "Malformed body or query, or an unknown parameter"), (status = 401, description = "Not signed in"), (status = 403, description = "Not allowed (role, scope or CSRF token)"), (status = 422, description = "A field is invalid; `field` and `reason` say which and why")))]
async fn measures(State(app): State<AppState>, auth: Auth, q: RawQuery) -> ApiResult<Json<Value>> {
    q.only(&["region", "department", "category", "person", "from", "to"])?;
    let (from, to) = period(&q)?;
    let department = q.parse::<i64>("department", "a department id")?;
    if let Some(d) = department {
        app.department("department", d)?;
    }
    let region = match q.get("region") {
        Some(r) => Some(RegionCode::parse(r).map_err(|e| ApiError::field("region", e.reason))?),
        None => app.reference().district.as_deref().map(RegionCode::parse).transpose()?,
    };
    let head_of =
        department.is_some_and(|d| may(&auth.actor, Permission::ReadDepartmentMeasures { department: d }).is_ok());
    if !head_of {
        let r = region.as_ref().ok_or_else(|| ApiError::field("region", "is required"))?;
        may(&auth.actor, Permission::ReadMeasures { region: r }).map_err(|e| ApiError::refusal(e, None))?;
    }
    let categories = app.category_filter(&q.all("category"))?;
    let query = MeasureQuery {
        region: if head_of { None } else { region.clone() },
        department,
        categories,
        actor: q.parse("person", "a person id")?,
        from,
        to,
        now: app.now(),
    };
    let counts = app.store.measure_counts(&query).await?;
    let measures = Measures::from_counts(&counts);
    Ok(Json(json!({ "region": query.region, "department": department, "measures": measures, "counts": counts })))
}
