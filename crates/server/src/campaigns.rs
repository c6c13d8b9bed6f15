//! Special rectification campaigns (专项整治) in the server: the linkage center and admins start a
//! campaign over a region they keep (a selection of places by kind and risk level, and/or rental
//! houses, each with the check list in force for its kind), which gives every place or house
//! selected a task on its grid members' task list; inspections made while a task is open count
//! for the campaign; the board shows the progress per community and grid; a campaign may be
//! closed early (audited). A grid leader (or anyone reading campaigns only over a part of a
//! campaign's region) sees the campaigns covering their community, with the board limited to it.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use gridkeeper_domain::campaigns::{BoardCounts, CampaignDraft, CampaignId, CampaignStatus};
use gridkeeper_domain::inspections::SubjectKind;
use gridkeeper_domain::registry::RiskLevel;
use gridkeeper_domain::teams::{local_date, parse_date};
use gridkeeper_domain::time::to_rfc3339;
use gridkeeper_domain::{
    campaign_reach, may, optional_text, Actor, CampaignReach, Permission, Refusal, RegionCode, RegionLevel,
};
use gridkeeper_store::{Campaign, NewAudit};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, Query};
use crate::participation::{more, page, region_name, region_or_district};
use crate::{App, AppState};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(campaign))
        .routes(routes!(close))
        .routes(routes!(board))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    /// Campaigns over this region and the regions inside it (default: the jurisdiction's district)
    region: Option<String>,
    /// Skip this many (at most 10000)
    #[param(maximum = 10000)]
    offset: Option<u32>,
    /// At most this many (default 20, at most 100)
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
}

/// A campaign as it is listed and shown.
#[derive(Serialize, ToSchema)]
pub struct CampaignView {
    pub id: i64,
    pub name: String,
    pub region: String,
    pub region_name: String,
    /// Its first day (YYYY-MM-DD, UTC+8).
    pub starts_at: String,
    /// Its last day.
    pub ends_at: String,
    /// The day its tasks fall due.
    pub due_at: String,
    pub status: CampaignStatus,
    /// Kinds of place selected.
    pub kinds: Vec<String>,
    /// Risk levels of the places selected (empty: every level).
    pub risks: Vec<RiskLevel>,
    /// Whether rental houses are selected.
    pub houses: bool,
    /// The check list in force for each kind selected when it started.
    pub checklists: Vec<CampaignChecklist>,
    /// Places and houses selected, one task each.
    pub subjects: u32,
    /// Of those, inspected while it ran.
    pub inspected: u32,
    pub created_at: String,
    pub closed_at: Option<String>,
    pub close_reason: Option<String>,
    /// Whether the person asking may close it (while upcoming or running).
    pub may_close: bool,
}

#[derive(Serialize, ToSchema)]
pub struct CampaignChecklist {
    pub subject: SubjectKind,
    pub kind: String,
    pub checklist: i64,
}

#[derive(Serialize, ToSchema)]
pub struct CampaignPage {
    /// Those running or upcoming first, then the newest first.
    pub items: Vec<CampaignView>,
    pub more: bool,
}

/// A campaign as the linkage center or an admin starts it.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CampaignInput {
    /// 专项整治的名称 (at most 100 characters).
    #[schema(max_length = 100)]
    pub name: String,
    /// A district, street or community one keeps.
    #[schema(pattern = "^(?!000000)[0-9]{6}((?!000)[0-9]{3}){0,2}(000){0,3}$", max_length = 15)]
    pub region: String,
    /// Its first day (YYYY-MM-DD, UTC+8).
    #[schema(format = Date)]
    pub starts_at: String,
    /// Its last day: on or after the first, at most 366 days later, not past.
    #[schema(format = Date)]
    pub ends_at: String,
    /// The day the tasks fall due, within the period (default: the last day).
    #[schema(format = Date)]
    pub due_at: Option<String>,
    /// Kinds of place to select (keys of the registry's place kinds), each with a check list in
    /// force; may be empty when `houses` is true.
    #[serde(default)]
    #[schema(max_items = 20)]
    pub kinds: Vec<String>,
    /// Risk levels of the places to select (default: every level).
    #[serde(default)]
    pub risks: Vec<RiskLevel>,
    /// Select the rental houses of the region too (a check list for `rental` houses in force).
    #[serde(default)]
    pub houses: bool,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CloseInput {
    /// Why it closes early (at most 500 characters).
    #[schema(max_length = 500)]
    pub reason: Option<String>,
}

/// A row of the board: a grid, a community, or the whole campaign.
#[derive(Serialize, ToSchema)]
pub struct BoardRow {
    pub region: String,
    pub name: String,
    pub counts: BoardCounts,
    /// inspected ÷ subjects, in percent.
    pub inspected_pct: f64,
    /// rectified ÷ hazards, in percent (100 when no hazard was found).
    pub rectified_pct: f64,
}

/// A community's row with its grids.
#[derive(Serialize, ToSchema)]
pub struct CommunityBoard {
    #[serde(flatten)]
    pub row: BoardRow,
    pub grids: Vec<BoardRow>,
}

/// A campaign's progress (docs/MEASURES.md, "Campaign board").
#[derive(Serialize, ToSchema)]
pub struct CampaignBoard {
    /// The campaign, with its figures as a whole.
    pub campaign: CampaignView,
    /// When the counts were taken (a closed campaign's stay as they were when it closed).
    pub at: String,
    /// The regions the board is limited to, for one who sees only a part of the campaign (a grid
    /// leader their community); empty when it shows all of it.
    pub parts: Vec<String>,
    /// The totals of what the board shows (of `parts` when there are any).
    pub totals: BoardRow,
    /// By community code, each with its grids.
    pub communities: Vec<CommunityBoard>,
}

fn row(app: &App, region: &RegionCode, counts: BoardCounts) -> BoardRow {
    BoardRow {
        region: region.to_string(),
        name: region_name(app, region),
        counts,
        inspected_pct: counts.inspected_pct(),
        rectified_pct: counts.rectified_pct(),
    }
}

fn view(app: &App, actor: &Actor, c: Campaign) -> CampaignView {
    let status = CampaignStatus::at(app.now(), c.starts_at, c.ends_at, c.closed_at);
    CampaignView {
        id: c.id.0,
        region_name: region_name(app, &c.region),
        may_close: matches!(status, CampaignStatus::Upcoming | CampaignStatus::Running)
            && may(actor, Permission::RunCampaigns { region: &c.region }).is_ok(),
        region: c.region.to_string(),
        name: c.name,
        starts_at: c.starts_on.to_string(),
        ends_at: c.ends_on.to_string(),
        due_at: c.due_on.to_string(),
        status,
        kinds: c.kinds,
        risks: c.risks,
        houses: c.houses,
        checklists: c
            .checklists
            .into_iter()
            .map(|(k, id)| {
                let (subject, kind) = k.split_once(':').unwrap_or(("place", &k));
                CampaignChecklist {
                    subject: SubjectKind::parse(subject).unwrap_or(SubjectKind::Place),
                    kind: kind.to_string(),
                    checklist: id.0,
                }
            })
            .collect(),
        subjects: c.subjects,
        inspected: c.inspected,
        created_at: to_rfc3339(c.created_at),
        closed_at: c.closed_at.map(to_rfc3339),
        close_reason: c.close_reason,
    }
}

/// The policy's answer, with "not found" naming what was asked for.
fn allowed(actor: &Actor, p: Permission<'_>, what: &str) -> ApiResult<()> {
    may(actor, p).map_err(|r| refused(r, what))
}

fn refused(r: Refusal, what: &str) -> ApiError {
    match r {
        Refusal::OutOfScope => ApiError::not_found(what),
        other => ApiError::refusal(other, None),
    }
}

/// The campaign and how much of it the actor sees, if they see any of it; else "not found".
async fn readable(app: &App, actor: &Actor, id: i64) -> ApiResult<(Campaign, CampaignReach)> {
    let c = app.store.campaign(CampaignId(id)).await?.ok_or_else(|| ApiError::not_found("campaign"))?;
    let reach = campaign_reach(actor, &c.region).map_err(|r| refused(r, "campaign"))?;
    Ok((c, reach))
}

fn audit(app: &App, auth: &Auth) -> NewAudit {
    NewAudit { at: app.now(), actor: Some(auth.person.id), action: "campaign".into(), object: None, detail: json!({}) }
}

#[utoipa::path(get, path = "/campaigns", operation_id = "list_campaigns", tag = "campaigns", summary = "The campaigns covering a region (over it, inside it or over a region containing it): those running or upcoming first",
    params(ListQuery),
    responses((status = 200, description = "A page of campaigns", body = CampaignPage), (status = 403, description = "Not the linkage center, a supervisor, an analyst, an admin or a grid leader"), (status = 404, description = "No such region one may see")))]
async fn list(State(app): State<AppState>, auth: Auth, Query(q): Query<ListQuery>) -> ApiResult<Json<CampaignPage>> {
    let region = region_or_district(&app, q.region.as_deref())?;
    allowed(&auth.actor, Permission::ReadCampaigns { region: &region }, "region")?;
    let (offset, limit) = page(q.offset, q.limit)?;
    let found = app.store.campaigns(&region, app.now(), offset, limit + 1).await?;
    let (items, more) = more(found, limit);
    Ok(Json(CampaignPage { items: items.into_iter().map(|c| view(&app, &auth.actor, c)).collect(), more }))
}

#[utoipa::path(post, path = "/campaigns", operation_id = "create_campaign", tag = "campaigns", summary = "Start a campaign: one task per place or house selected, on its grid members' task lists",
    request_body = CampaignInput,
    responses(
        (status = 201, description = "Started", body = CampaignView),
        (status = 403, description = "Not the linkage center or an admin"),
        (status = 404, description = "No such region one keeps"),
        (status = 422, description = "An empty selection (`kinds`), a kind with no check list in force, an end before the start (`ends_at`)")))]
async fn create(
    State(app): State<AppState>,
    auth: Auth,
    ApiJson(input): ApiJson<CampaignInput>,
) -> ApiResult<(StatusCode, Json<CampaignView>)> {
    let region = RegionCode::parse(&input.region).map_err(|e| ApiError::field("region", e.reason))?;
    if !app.reference().regions.contains_key(&region) {
        return Err(ApiError::unknown("region", format!("no region {region}")));
    }
    allowed(&auth.actor, Permission::RunCampaigns { region: &region }, "region")?;
    if region.level() == RegionLevel::Grid {
        return Err(ApiError::field("region", "a campaign covers a district, a street or a community, not one grid"));
    }
    let starts = parse_date("starts_at", &input.starts_at)?;
    let ends = parse_date("ends_at", &input.ends_at)?;
    let due = input.due_at.as_deref().map(|d| parse_date("due_at", d)).transpose()?;
    let draft = CampaignDraft::checked(
        &input.name,
        region,
        starts,
        ends,
        due,
        input.kinds,
        input.risks,
        input.houses,
        local_date(app.now()),
    )?;
    // The check list in force for each kind selected.
    let mut checklists = BTreeMap::new();
    for (i, kind) in draft.kinds.iter().enumerate() {
        let c = app.store.checklist_for(SubjectKind::Place, kind).await?.ok_or_else(|| {
            ApiError::field(&format!("kinds[{i}]"), format!("no check list is in force for places of kind `{kind}`"))
        })?;
        checklists.insert(format!("place:{kind}"), c.id);
    }
    if draft.houses {
        let c = app
            .store
            .checklist_for(SubjectKind::House, "rental")
            .await?
            .ok_or_else(|| ApiError::field("houses", "no check list is in force for rental houses"))?;
        checklists.insert("house:rental".to_string(), c.id);
    }
    let c = app.store.create_campaign(&draft, &checklists, &audit(&app, &auth)).await?;
    Ok((StatusCode::CREATED, Json(view(&app, &auth.actor, c))))
}

#[utoipa::path(get, path = "/campaigns/{id}", operation_id = "campaign", tag = "campaigns", summary = "A campaign",
    params(("id" = i64, Path, description = "Campaign id")),
    responses((status = 200, description = "The campaign", body = CampaignView), (status = 403, description = "Not the linkage center, a supervisor, an analyst, an admin or a grid leader"), (status = 404, description = "No such campaign one may see")))]
async fn campaign(State(app): State<AppState>, auth: Auth, Path(id): Path<i64>) -> ApiResult<Json<CampaignView>> {
    let (c, _) = readable(&app, &auth.actor, id).await?;
    Ok(Json(view(&app, &auth.actor, c)))
}

#[utoipa::path(post, path = "/campaigns/{id}/close", operation_id = "close_campaign", tag = "campaigns", summary = "Close a campaign early (audited): its open tasks leave the task lists",
    params(("id" = i64, Path, description = "Campaign id")),
    request_body = CloseInput,
    responses(
        (status = 200, description = "Closed", body = CampaignView),
        (status = 403, description = "Not the linkage center or an admin of its region"),
        (status = 404, description = "No such campaign one may see"),
        (status = 409, description = "Closed already, or past its last day")))]
async fn close(
    State(app): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<CloseInput>,
) -> ApiResult<Json<CampaignView>> {
    let (c, _) = readable(&app, &auth.actor, id).await?;
    allowed(&auth.actor, Permission::RunCampaigns { region: &c.region }, "campaign")?;
    if CampaignStatus::at(app.now(), c.starts_at, c.ends_at, c.closed_at) == CampaignStatus::Ended {
        return Err(ApiError::conflicting("id", format!("campaign {} ended on {}", c.id, c.ends_on)));
    }
    let reason = optional_text("reason", input.reason.as_deref(), 500)?;
    let closed = app.store.close_campaign(c.id, reason.as_deref(), &audit(&app, &auth)).await?;
    Ok(Json(view(&app, &auth.actor, closed)))
}

#[utoipa::path(get, path = "/campaigns/{id}/board", operation_id = "campaign_board", tag = "campaigns", summary = "A campaign's progress per community and grid: selected, inspected, failed, hazards rectified, overdue (limited to one's part of it when one reads campaigns only inside its region)",
    params(("id" = i64, Path, description = "Campaign id")),
    responses((status = 200, description = "The board", body = CampaignBoard), (status = 403, description = "Not the linkage center, a supervisor, an analyst, an admin or a grid leader"), (status = 404, description = "No such campaign one may see")))]
async fn board(State(app): State<AppState>, auth: Auth, Path(id): Path<i64>) -> ApiResult<Json<CampaignBoard>> {
    let (c, reach) = readable(&app, &auth.actor, id).await?;
    let parts = match reach {
        CampaignReach::Whole => Vec::new(),
        CampaignReach::Parts(parts) => parts,
    };
    let now = app.now();
    let at = c.closed_at.map_or(now, |t| t.min(now));
    let grids = app.store.campaign_board(c.id, now).await?;
    let mut communities: BTreeMap<RegionCode, (BoardCounts, Vec<BoardRow>)> = BTreeMap::new();
    let mut totals = BoardCounts::default();
    let shown = |grid: &RegionCode| parts.is_empty() || parts.iter().any(|p| p.contains(grid));
    for (grid, counts) in grids.into_iter().filter(|(g, _)| shown(g)) {
        let community = grid.at_level(RegionLevel::Community).unwrap_or_else(|| grid.clone());
        let entry = communities.entry(community).or_default();
        entry.0.add(&counts);
        entry.1.push(row(&app, &grid, counts));
        totals.add(&counts);
    }
    let communities = communities
        .into_iter()
        .map(|(code, (counts, grids))| CommunityBoard { row: row(&app, &code, counts), grids })
        .collect();
    let totals = row(&app, if let [one] = parts.as_slice() { one } else { &c.region }, totals);
    Ok(Json(CampaignBoard {
        campaign: view(&app, &auth.actor, c),
        at: to_rfc3339(at),
        parts: parts.iter().map(ToString::to_string).collect(),
        totals,
        communities,
    }))
}
