//! What the endpoints of residents' participation share (`articles.rs`, `consultations.rs`,
//! `proposals.rs`): the `[server.participation]` settings, the HTML sanitiser, and the checks of
//! the grid a resident names and the region staff publish to.

use axum::extract::State;
use axum::Json;
use gridkeeper_domain::time::{parse_rfc3339, to_rfc3339};
use gridkeeper_domain::{may, Actor, Permission, RegionCode, RegionLevel};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::extract::Query;
use crate::http::administer;
use crate::{App, AppState, StartupError};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(figures))
}

/// The `[server.participation]` section of the configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ParticipationSettings {
    /// Supporters a proposal needs to go on its community's agenda (kept with each proposal as
    /// it was when the proposal was made).
    pub proposal_threshold: i64,
    /// Days staff have to answer a proposal once it is on the agenda.
    pub proposal_answer_days: i64,
}

impl Default for ParticipationSettings {
    fn default() -> Self {
        Self { proposal_threshold: 20, proposal_answer_days: 15 }
    }
}

impl ParticipationSettings {
    pub fn validate(&self) -> Result<(), StartupError> {
        if !(1..=100_000).contains(&self.proposal_threshold) {
            return Err("server.participation.proposal_threshold: between 1 and 100000 supporters".to_string().into());
        }
        if !(1..=365).contains(&self.proposal_answer_days) {
            return Err("server.participation.proposal_answer_days: between 1 and 365 days".to_string().into());
        }
        Ok(())
    }
}

/// HTML as staff write it (pasted from a word processor, typed in the editor), reduced to an
/// allow-list: no script, style, event handler, `javascript:` URL or frame survives; links open
/// apart and carry `rel="noopener noreferrer nofollow"`.
pub fn sanitize_html(html: &str) -> String {
    ammonia::Builder::default()
        .url_schemes(["http", "https", "mailto", "tel"].into())
        .link_rel(Some("noopener noreferrer nofollow"))
        .clean(html)
        .to_string()
}

/// A grid a resident names (their own, the feed they read): 422 when the code is not a grid's,
/// 404 when no such grid exists.
pub fn grid_named(app: &App, field: &str, code: &str) -> ApiResult<RegionCode> {
    let grid = RegionCode::parse(code).map_err(|e| ApiError::field(field, e.reason))?;
    if grid.level() != RegionLevel::Grid {
        return Err(ApiError::field(field, "must be the code of a grid (15 digits)"));
    }
    if !app.reference().regions.contains_key(&grid) {
        return Err(ApiError::unknown(field, format!("no grid {grid}")));
    }
    Ok(grid)
}

/// A region staff publish to or read the participation of: it exists (404) and they may run
/// participation there (403).
pub fn managed_region(app: &App, actor: &Actor, field: &str, code: &str) -> ApiResult<RegionCode> {
    let region = known(app, field, code)?;
    administer(actor, Permission::ManageParticipation { region: &region })?;
    Ok(region)
}

/// A required parameter: 422 naming it when absent.
pub fn required<'a>(value: Option<&'a str>, field: &str) -> ApiResult<&'a str> {
    value.ok_or_else(|| ApiError::field(field, "is required"))
}

/// A region code that exists (404 otherwise).
fn known(app: &App, field: &str, code: &str) -> ApiResult<RegionCode> {
    let region = RegionCode::parse(code).map_err(|e| ApiError::field(field, e.reason))?;
    if !app.reference().regions.contains_key(&region) {
        return Err(ApiError::unknown(field, format!("no region {region}")));
    }
    Ok(region)
}

/// The region a query names in `region`, by default the jurisdiction's district.
pub fn region_or_district(app: &App, region: Option<&str>) -> ApiResult<RegionCode> {
    match region {
        Some(r) => known(app, "region", r),
        None => {
            let district = app.reference().district.clone();
            known(app, "region", &district.ok_or_else(|| ApiError::field("region", "is required"))?)
        }
    }
}

/// Whether the actor runs participation in `region` (sees what is not public yet, moderates).
pub fn manages(actor: &Actor, region: &RegionCode) -> bool {
    may(actor, Permission::ManageParticipation { region }).is_ok()
}

/// A region's name in the language of the reference data (Chinese).
pub fn region_name(app: &App, code: &RegionCode) -> String {
    app.reference().regions.get(code).map(|r| r.name.clone()).unwrap_or_else(|| code.to_string())
}

/// `offset` and `limit` of a page: at most 100 items, at most 10,000 deep.
pub fn page(offset: Option<u32>, limit: Option<u32>) -> ApiResult<(u32, u32)> {
    let limit = limit.unwrap_or(20);
    if !(1..=100).contains(&limit) {
        return Err(ApiError::field("limit", "must lie between 1 and 100"));
    }
    let offset = offset.unwrap_or(0);
    if offset > 10_000 {
        return Err(ApiError::field("offset", "must be at most 10000"));
    }
    Ok((offset, limit))
}

/// Asks a page one longer than `limit` and says whether there was more.
pub fn more<T>(mut items: Vec<T>, limit: u32) -> (Vec<T>, bool) {
    let more = items.len() > limit as usize;
    items.truncate(limit as usize);
    (items, more)
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct FiguresQuery {
    /// The region (default: the jurisdiction's district)
    region: Option<String>,
    /// Start of the period (RFC 3339)
    #[param(required = true)]
    from: Option<String>,
    /// End of the period, exclusive (RFC 3339)
    #[param(required = true)]
    to: Option<String>,
}

/// A grid's participation in the period.
#[derive(Serialize, ToSchema)]
pub struct GridFigures {
    pub grid: String,
    pub name: String,
    /// Houses registered as homes (own home or rental).
    pub households: i64,
    /// Articles published to the grid or a region above it.
    pub articles: i64,
    /// Reads counted in the grid of the articles published in the period.
    pub reads: i64,
    /// Reach: reads ÷ households × 100 (`null` without households).
    pub reads_per_100_households: Option<f64>,
    pub votes: i64,
    pub comments: i64,
}

/// A community's proposals in the period.
#[derive(Serialize, ToSchema)]
pub struct CommunityFigures {
    pub community: String,
    pub name: String,
    pub made: i64,
    pub reached_agenda: i64,
    pub answered: i64,
    pub answered_on_time: i64,
    /// answered on time ÷ reached the agenda (`null` when none did).
    pub answered_on_time_rate: Option<f64>,
    /// On the agenda and past their deadline now.
    pub overdue_now: i64,
}

/// Turnout of a consultation open during the period.
#[derive(Serialize, ToSchema)]
pub struct ConsultationFigures {
    pub id: i64,
    pub title: String,
    pub region_name: String,
    pub closes_at: String,
    pub voters: i64,
    pub commenters: i64,
    /// Distinct people who voted or commented.
    pub participants: i64,
}

/// The figures of residents' participation (docs/MEASURES.md, "Participation").
#[derive(Serialize, ToSchema)]
pub struct ParticipationAnswer {
    pub region: String,
    pub from: String,
    pub to: String,
    /// Every grid under the region, by code.
    pub grids: Vec<GridFigures>,
    /// Communities with proposals, by code.
    pub communities: Vec<CommunityFigures>,
    /// Newest closing first.
    pub consultations: Vec<ConsultationFigures>,
}

fn rate(n: i64, d: i64) -> Option<f64> {
    (d > 0).then(|| n as f64 / d as f64)
}

#[utoipa::path(get, path = "/participation/figures", tag = "participation", summary = "The figures of residents' participation in a region: reach of articles, votes and comments per grid, proposals answered on time per community, turnout per consultation",
    params(FiguresQuery),
    responses((status = 200, description = "The figures", body = ParticipationAnswer), (status = 403, description = "Not allowed (role, scope or CSRF token)"), (status = 404, description = "No such region")))]
async fn figures(
    State(app): State<AppState>,
    auth: Auth,
    Query(q): Query<FiguresQuery>,
) -> ApiResult<Json<ParticipationAnswer>> {
    let region = region_or_district(&app, q.region.as_deref())?;
    let reference = app.reference();
    administer(&auth.actor, Permission::ReadMeasures { region: &region })?;
    let from = parse_rfc3339("from", q.from.as_deref().ok_or_else(|| ApiError::field("from", "is required"))?)?;
    let to = parse_rfc3339("to", q.to.as_deref().ok_or_else(|| ApiError::field("to", "is required"))?)?;
    if to <= from {
        return Err(ApiError::field("to", "must be later than from"));
    }
    let mut f = app.store.participation_figures(&region, from, to, app.now()).await?;
    let mut grids: Vec<&RegionCode> =
        reference.regions.keys().filter(|c| c.level() == RegionLevel::Grid && region.contains(c)).collect();
    grids.sort();
    let grids = grids
        .into_iter()
        .map(|g| {
            let x = f.grids.remove(g).unwrap_or_default();
            GridFigures {
                grid: g.to_string(),
                name: region_name(&app, g),
                households: x.households,
                articles: x.articles,
                reads: x.reads,
                reads_per_100_households: rate(x.reads * 100, x.households),
                votes: x.votes,
                comments: x.comments,
            }
        })
        .collect();
    let communities = f
        .communities
        .iter()
        .map(|(c, x)| CommunityFigures {
            community: c.to_string(),
            name: region_name(&app, c),
            made: x.made,
            reached_agenda: x.reached_agenda,
            answered: x.answered,
            answered_on_time: x.answered_on_time,
            answered_on_time_rate: rate(x.answered_on_time, x.reached_agenda),
            overdue_now: x.overdue_now,
        })
        .collect();
    let consultations = f
        .consultations
        .iter()
        .map(|c| ConsultationFigures {
            id: c.id,
            title: c.title.clone(),
            region_name: region_name(&app, &c.region),
            closes_at: to_rfc3339(c.closes_at),
            voters: c.voters,
            commenters: c.commenters,
            participants: c.participants,
        })
        .collect();
    Ok(Json(ParticipationAnswer {
        region: region.to_string(),
        from: to_rfc3339(from),
        to: to_rfc3339(to),
        grids,
        communities,
        consultations,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_handlers_and_javascript_urls_do_not_survive() {
        let dirty = r#"<p onclick="steal()">停水<script>alert(1)</script><a href="javascript:alert(2)">x</a>
            <img src="x" onerror="alert(3)"><iframe src="https://evil"></iframe><style>p{}</style>
            <a href="https://example.gov.cn/a">通知</a><b>8点</b></p>"#;
        let clean = sanitize_html(dirty);
        for bad in ["script", "onclick", "onerror", "javascript:", "iframe", "<style", "alert"] {
            assert!(!clean.contains(bad), "{bad} survived in {clean}");
        }
        assert!(clean.contains(r#"<a href="https://example.gov.cn/a" rel="noopener noreferrer nofollow">通知</a>"#));
        assert!(clean.contains("<b>8点</b>"));
    }
}
