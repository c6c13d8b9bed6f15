//! The working calendar of a jurisdiction: read by anyone signed in, changed by its admins.

use axum::extract::{Path, State};
use axum::Json;
use gridkeeper_domain::{may, Calendar, Permission, RegionCode, RegionLevel};
use gridkeeper_store::NewAudit;
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiJson;
use crate::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(read, write))
}

#[derive(Serialize, ToSchema)]
pub struct CalendarAnswer {
    /// The district's code (6 digits).
    #[schema(value_type = String)]
    pub district: RegionCode,
    /// Whether the district has its own calendar (else the default one is shown).
    pub configured: bool,
    /// Working days and hours, holidays and make-up days.
    pub calendar: Calendar,
}

fn district(code: &str) -> ApiResult<RegionCode> {
    let c = RegionCode::parse(code).map_err(|e| ApiError::field("district", e.reason))?;
    if c.level() != RegionLevel::District {
        return Err(ApiError::field("district", "calendars belong to a district (6 digits)"));
    }
    Ok(c)
}

#[utoipa::path(get, path = "/calendars/{district}", tag = "calendars", summary = "The working calendar of a district", operation_id = "read_calendar",
    params(("district" = String, Path, description = "District code (6 digits)")),
    responses((status = 200, description = "The working calendar", body = CalendarAnswer), (status = 404, description = "Not found, or outside one's scope"), (status = 422, description = "A field is invalid; `field` and `reason` say which and why")))]
async fn read(State(app): State<AppState>, _auth: Auth, Path(code): Path<String>) -> ApiResult<Json<CalendarAnswer>> {
    let d = district(&code)?;
    let stored = app.reference().calendars.get(d.as_str()).cloned();
    Ok(Json(CalendarAnswer { district: d, configured: stored.is_some(), calendar: stored.unwrap_or_default() }))
}

#[utoipa::path(put, path = "/calendars/{district}", tag = "calendars", summary = "Replace the working calendar of a district (its admin)", operation_id = "write_calendar",
    params(("district" = String, Path, description = "District code (6 digits)")),
    request_body(content = Calendar, description = "The calendar: working days and periods, holidays, make-up days (docs/DATA.md)"),
    responses((status = 200, description = "The stored calendar", body = CalendarAnswer), (status = 403, description = "Not allowed (role, scope or CSRF token)"), (status = 404, description = "Not found, or outside one's scope")))]
async fn write(
    State(app): State<AppState>,
    auth: Auth,
    Path(code): Path<String>,
    ApiJson(calendar): ApiJson<Calendar>,
) -> ApiResult<Json<CalendarAnswer>> {
    let d = district(&code)?;
    may(&auth.actor, Permission::EditCalendar { district: &d }).map_err(|r| ApiError::refusal(r, None))?;
    calendar.validate()?;
    let now = app.now();
    let before = app.reference().calendars.get(d.as_str()).cloned();
    app.store.put_calendar(d.as_str(), &calendar, Some(auth.person.id), now).await?;
    app.store
        .audit(&NewAudit {
            at: now,
            actor: Some(auth.person.id),
            action: "config".into(),
            object: Some(format!("calendar:{d}")),
            detail: json!({ "before": before, "after": calendar }),
        })
        .await?;
    app.reload_reference().await.map_err(ApiError::internal)?;
    Ok(Json(CalendarAnswer { district: d, configured: true, calendar }))
}
