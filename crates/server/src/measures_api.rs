//! Measures of performance for a region, department, category or person, over a period.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use gridkeeper_domain::measures::Measures;
use gridkeeper_domain::time::parse_rfc3339;
use gridkeeper_domain::{may_in_region, Permission, RegionCode, Role, Scope};
use gridkeeper_store::MeasureQuery;
use serde_json::{json, Value};

use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::extract::RawQuery;
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/measures", get(measures))
}

/// `region` defaults to the district; a department head sees their department anywhere.
async fn measures(State(app): State<AppState>, auth: Auth, q: RawQuery) -> ApiResult<Json<Value>> {
    q.only(&["region", "department", "category", "person", "from", "to"])?;
    let from = parse_rfc3339("from", q.get("from").ok_or_else(|| ApiError::field("from", "is required"))?)?;
    let to = parse_rfc3339("to", q.get("to").ok_or_else(|| ApiError::field("to", "is required"))?)?;
    if to <= from {
        return Err(ApiError::field("to", "must lie after `from`"));
    }
    let department = q.parse::<i64>("department", "a department id")?;
    if let Some(d) = department {
        app.department("department", d)?;
    }
    let region = match q.get("region") {
        Some(r) => Some(RegionCode::parse(r).map_err(|e| ApiError::field("region", e.reason))?),
        None => app.reference().district.as_deref().map(RegionCode::parse).transpose()?,
    };
    let head_of = department.is_some_and(|d| {
        auth.actor.grants.iter().any(|g| g.role == Role::DepartmentHead && g.scope == Scope::Department { id: d })
    });
    if !head_of {
        let r = region.as_ref().ok_or_else(|| ApiError::field("region", "is required"))?;
        may_in_region(&auth.actor, Permission::ViewMeasures, r).map_err(|e| ApiError::refusal(e, None))?;
    }
    let mut categories = vec![];
    for c in q.all("category") {
        let id: i64 = c.parse().map_err(|_| ApiError::field("category", format!("`{c}` is not a category id")))?;
        let cat = app.category("category", id)?;
        if cat.is_class() {
            categories.extend(app.reference().categories.values().filter(|s| s.parent_id == Some(id)).map(|s| s.id));
        } else {
            categories.push(id);
        }
    }
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
    let mut raw = serde_json::to_value(&counts).unwrap_or(Value::Null);
    for k in ["accept_times", "dispatch_times", "handle_times", "verify_times"] {
        if let Some(o) = raw.as_object_mut() {
            o.remove(k);
        }
    }
    Ok(Json(json!({ "region": query.region, "department": department, "measures": measures, "counts": raw })))
}
