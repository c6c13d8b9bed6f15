//! Reference data anyone may read: the region tree, the platforms of the linkage center,
//! departments and problem categories (from the in-memory `Reference`).

use axum::extract::State;
use axum::Json;
use gridkeeper_domain::{Category, Department, FieldError, Platform, RegionCode, RegionLevel};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ApiResult;
use crate::extract::Query;
use crate::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(regions))
        .routes(routes!(platforms))
        .routes(routes!(departments))
        .routes(routes!(categories))
}

#[derive(Serialize, ToSchema)]
pub struct RegionList {
    pub items: Vec<RegionItem>,
}

#[derive(Serialize, ToSchema)]
pub struct PlatformList {
    pub items: Vec<Platform>,
}

#[derive(Serialize, ToSchema)]
pub struct DepartmentList {
    pub items: Vec<Department>,
}

#[derive(Serialize, ToSchema)]
pub struct CategoryList {
    pub items: Vec<Category>,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct RegionsQuery {
    /// province, city, district, street, community or grid
    level: Option<String>,
    /// Only the children of this region
    parent: Option<String>,
    /// Include GeoJSON geometries
    geometry: Option<bool>,
}

#[derive(Serialize, ToSchema)]
pub struct RegionItem {
    #[schema(value_type = String)]
    pub code: RegionCode,
    pub name: String,
    pub name_en: Option<String>,
    pub level: RegionLevel,
    #[schema(value_type = Option<String>)]
    pub parent: Option<RegionCode>,
    /// GeoJSON geometry, with `geometry=true`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub geometry: Option<Value>,
}

#[utoipa::path(get, path = "/regions", tag = "reference", summary = "The region tree", security(()), params(RegionsQuery),
    responses((status = 200, description = "Regions sorted by code", body = RegionList)))]
async fn regions(State(app): State<AppState>, Query(q): Query<RegionsQuery>) -> ApiResult<Json<RegionList>> {
    let level = q.level.as_deref().map(RegionLevel::parse).transpose()?;
    let parent =
        q.parent.map(|p| RegionCode::parse(&p).map_err(|e| FieldError::new("parent", e.reason))).transpose()?;
    let geometry = q.geometry.unwrap_or(false);
    let r = app.reference();
    let mut items: Vec<RegionItem> = r
        .regions
        .values()
        .filter(|x| level.is_none_or(|l| x.level() == l))
        .filter(|x| parent.as_ref().is_none_or(|p| x.parent().as_ref() == Some(p)))
        .map(|x| RegionItem {
            code: x.code.clone(),
            name: x.name.clone(),
            name_en: x.name_en.clone(),
            level: x.level(),
            parent: x.parent(),
            geometry: geometry.then(|| x.geometry.clone().unwrap_or(Value::Null)),
        })
        .collect();
    items.sort_by(|a, b| a.code.as_str().cmp(b.code.as_str()));
    Ok(Json(RegionList { items }))
}

#[utoipa::path(get, path = "/platforms", tag = "reference", summary = "Platforms of the linkage center", security(()),
    responses((status = 200, description = "Platforms of the linkage center", body = PlatformList)))]
async fn platforms(State(app): State<AppState>) -> ApiResult<Json<PlatformList>> {
    Ok(Json(PlatformList { items: app.store.platforms().await? }))
}

#[utoipa::path(get, path = "/departments", tag = "reference", summary = "Departments", security(()),
    responses((status = 200, description = "Departments sorted by id", body = DepartmentList)))]
async fn departments(State(app): State<AppState>) -> Json<DepartmentList> {
    let mut items: Vec<_> = app.reference().departments.values().cloned().collect();
    items.sort_by_key(|d| d.id);
    Json(DepartmentList { items })
}

#[utoipa::path(get, path = "/categories", tag = "reference", summary = "Problem categories", security(()),
    responses((status = 200, description = "Categories (classes and subclasses) sorted by code", body = CategoryList)))]
async fn categories(State(app): State<AppState>) -> Json<CategoryList> {
    let mut items: Vec<_> = app.reference().categories.values().cloned().collect();
    items.sort_by(|a, b| a.code.cmp(&b.code));
    Json(CategoryList { items })
}
