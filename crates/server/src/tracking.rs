//! The reporter's view through the tracking code (shown once, when reporting): the public view
//! plus the answers addressed to the reporter, and the rating of a closed case.

use axum::extract::{Path, State};
use axum::Json;
use gridkeeper_domain::time::to_rfc3339;
use gridkeeper_domain::{Action, Actor, CaseState, Command};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ApiResult;
use crate::extract::ApiJson;
use crate::public::PublicCase;
use crate::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(track)).routes(routes!(track_rate))
}

/// An answer addressed to the reporter: a rejection, a result, a verification, the closing.
#[derive(Serialize, ToSchema)]
pub struct Answer {
    pub action: Action,
    #[schema(format = DateTime)]
    pub at: String,
    #[schema(value_type = Option<String>)]
    pub note: Option<serde_json::Value>,
}

/// The reporter's view: the public view plus the answers addressed to the reporter.
#[derive(Serialize, ToSchema)]
pub struct TrackedCase {
    #[serde(flatten)]
    pub public: PublicCase,
    pub answers: Vec<Answer>,
    #[schema(value_type = Option<String>)]
    pub rejection: Option<gridkeeper_domain::Rejection>,
    /// The reference of the case this one duplicates.
    pub duplicate_of: Option<String>,
    /// The case this one duplicates, as the public sees it: its reporter follows that one case
    /// to its result (and is answered when it is solved).
    pub original: Option<Box<PublicCase>>,
    /// The department handling it (leading it), once dispatched: the reporter knows who works on it.
    pub department: Option<DepartmentName>,
}

/// A department's names, as the reporter reads them.
#[derive(Serialize, ToSchema)]
pub struct DepartmentName {
    pub name: String,
    pub name_en: String,
}

/// The reporter's view through the tracking code: the public view plus the answers addressed to
/// the reporter (rejection reason, result).
#[utoipa::path(get, path = "/track/{code}", tag = "public", security(()),
    params(("code" = String, Path, description = "Tracking code")),
    responses((status = 200, description = "The reporter's view", body = TrackedCase), (status = 404, description = "Not found, or outside one's scope")))]
async fn track(State(app): State<AppState>, Path(code): Path<String>) -> ApiResult<Json<TrackedCase>> {
    let c = app.tracked_case(&code).await?;
    let events = app.store.events(c.id).await?;
    let answers = events
        .iter()
        .filter(|e| matches!(e.event.action, Action::Reject | Action::SubmitResult | Action::Close | Action::Verify))
        .map(|e| Answer { action: e.event.action, at: to_rfc3339(e.event.at), note: e.event.data.get("note").cloned() })
        .collect();
    let original = match c.duplicate_of {
        Some(id) => app.store.case(id).await?,
        None => None,
    };
    let duplicate_of = original.as_ref().map(|o| o.reference.clone());
    let original = match original {
        Some(o) => {
            let events = app.store.events(o.id).await?;
            Some(Box::new(PublicCase::of(&app, &o, &events).await?))
        }
        None => None,
    };
    let department = c.lead_department.and_then(|d| {
        app.reference().departments.get(&d).map(|d| DepartmentName { name: d.name.clone(), name_en: d.name_en.clone() })
    });
    Ok(Json(TrackedCase {
        public: PublicCase::of(&app, &c, &events).await?,
        answers,
        rejection: c.rejection,
        duplicate_of,
        original,
        department,
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct RateBody {
    #[schema(minimum = 1, maximum = 5)]
    score: u8,
    comment: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct RateAnswer {
    pub state: CaseState,
    pub rating: Option<u8>,
}

#[utoipa::path(post, path = "/track/{code}/rate", tag = "public", summary = "Rate a case with its tracking code", security(()),
    params(("code" = String, Path, description = "Tracking code")),
    request_body = RateBody,
    responses((status = 200, description = "Rated", body = RateAnswer), (status = 404, description = "Not found, or outside one's scope"), (status = 409, description = "Wrong state or stale version; `current` holds the case as it is")))]
async fn track_rate(
    State(app): State<AppState>,
    Path(code): Path<String>,
    ApiJson(b): ApiJson<RateBody>,
) -> ApiResult<Json<RateAnswer>> {
    let c = app.tracked_case(&code).await?;
    let actor = Actor::tracking(c.id);
    let case = app.act(&actor, c, None, Command::Rate { score: b.score, comment: b.comment }).await?;
    Ok(Json(RateAnswer { state: case.state, rating: case.rating }))
}
