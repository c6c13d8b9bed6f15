//! The information service: articles staff publish to a region and everything under it (a
//! grid, a community, the town), the feed a grid's residents read without signing in, an
//! article's page (each read counted per grid, a person once), and the staff's list with reads.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use gridkeeper_domain::participation::{article_live, check_article, check_body, text_of, ArticleKind};
use gridkeeper_domain::time::{parse_rfc3339, to_rfc3339};
use gridkeeper_store::{Article, ArticleQuery, ArticleScope, NewArticle};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{Auth, MaybeAuth};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, Query};
use crate::participation::{grid_named, managed_region, manages, more, page, region_name, required, sanitize_html};
use crate::{App, AppState};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(feed, publish))
        .routes(routes!(article, update))
        .routes(routes!(withdraw))
        .routes(routes!(reads))
        .routes(routes!(region_articles))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct FeedQuery {
    /// The grid whose feed to read: what was published to it, its community, its street or the
    /// district, live now
    #[param(required = true, pattern = r"^(?!000000)[0-9]{6}(?!000)[0-9]{3}(?!000)[0-9]{3}(?!000)[0-9]{3}$")]
    grid: Option<String>,
    kind: Option<ArticleKind>,
    /// Skip this many (at most 10000)
    #[param(maximum = 10000)]
    offset: Option<u32>,
    /// At most this many (default 20, at most 100)
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    kind: Option<ArticleKind>,
    /// Skip this many (at most 10000)
    #[param(maximum = 10000)]
    offset: Option<u32>,
    /// At most this many (default 20, at most 100)
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ReadQuery {
    /// The reader's grid, counted in the article's reads per grid
    #[param(pattern = r"^(?!000000)[0-9]{6}(?!000)[0-9]{3}(?!000)[0-9]{3}(?!000)[0-9]{3}$")]
    grid: Option<String>,
}

/// Where an article stands now.
#[derive(Serialize, ToSchema, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ArticleState {
    /// To be published at `publish_at`.
    Scheduled,
    Live,
    Expired,
    Withdrawn,
}

/// An article in a list (without its body).
#[derive(Serialize, ToSchema)]
pub struct ArticleSummary {
    pub id: i64,
    /// The region it was published to (and everything under it).
    pub region: String,
    pub region_name: String,
    pub kind: ArticleKind,
    pub title: String,
    /// The summary given, or the beginning of the text.
    pub summary: String,
    /// The cover image (`/api/v1/media/{id}`), public while the article is.
    pub cover_url: Option<String>,
    pub publish_at: String,
    pub expires_at: Option<String>,
    pub pinned: bool,
    pub urgent: bool,
    pub state: ArticleState,
    /// Readers in all (a person signed in counts once).
    pub reads: i64,
}

/// An article with its body.
#[derive(Serialize, ToSchema)]
pub struct ArticleView {
    pub article: ArticleSummary,
    /// Sanitised HTML.
    pub body: String,
    /// The cover's upload id (for editing).
    pub cover: Option<String>,
    /// The person asking may edit and withdraw it.
    pub may_manage: bool,
}

#[derive(Serialize, ToSchema)]
pub struct ArticlePage {
    /// In a feed, pinned first, then newest first; in a region's list, newest first.
    pub items: Vec<ArticleSummary>,
    /// There are more after these.
    pub more: bool,
}

/// Reads of an article in one grid.
#[derive(Serialize, ToSchema)]
pub struct GridReadCount {
    /// `null`: readers who named no grid.
    pub grid: Option<String>,
    pub grid_name: Option<String>,
    pub reads: i64,
}

/// An article as staff write it.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ArticleInput {
    /// Published to this region and everything under it.
    pub region: String,
    pub kind: ArticleKind,
    #[schema(max_length = 120)]
    pub title: String,
    /// Shown in the feed (by default the beginning of the text).
    #[schema(max_length = 300)]
    pub summary: Option<String>,
    /// HTML; reduced to an allow-list of tags and attributes (no script, handler or
    /// `javascript:` URL survives). Must hold some text or an image.
    #[schema(max_length = 100000)]
    pub body: String,
    /// An image uploaded through `POST /media` for this article.
    pub cover: Option<String>,
    /// When it appears (default now).
    #[schema(format = DateTime)]
    pub publish_at: Option<String>,
    /// When it leaves the feed (after `publish_at`); never by default.
    #[schema(format = DateTime)]
    pub expires_at: Option<String>,
    /// Kept at the top of the feed.
    #[serde(default)]
    pub pinned: bool,
    /// Shown as urgent.
    #[serde(default)]
    pub urgent: bool,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WithdrawInput {
    /// Why it is withdrawn (kept in the audit log).
    #[schema(max_length = 500)]
    pub reason: String,
}

fn state(a: &Article, now: i64) -> ArticleState {
    if a.withdrawn_at.is_some() {
        ArticleState::Withdrawn
    } else if now < a.publish_at {
        ArticleState::Scheduled
    } else if article_live(a.publish_at, a.expires_at, false, now) {
        ArticleState::Live
    } else {
        ArticleState::Expired
    }
}

fn summary_of(app: &App, a: &Article, now: i64) -> ArticleSummary {
    ArticleSummary {
        id: a.id,
        region: a.region.to_string(),
        region_name: region_name(app, &a.region),
        kind: a.kind,
        title: a.title.clone(),
        summary: a.summary.clone(),
        cover_url: a.cover.as_ref().map(|c| format!("/api/v1/media/{c}")),
        publish_at: to_rfc3339(a.publish_at),
        expires_at: a.expires_at.map(to_rfc3339),
        pinned: a.pinned,
        urgent: a.urgent,
        state: state(a, now),
        reads: a.reads,
    }
}

impl ArticleInput {
    fn into_new(self, app: &App, auth: &Auth) -> ApiResult<NewArticle> {
        let region = managed_region(app, &auth.actor, "region", &self.region)?;
        let now = app.now();
        let publish_at = self.publish_at.as_deref().map(|v| parse_rfc3339("publish_at", v)).transpose()?.unwrap_or(now);
        let expires_at = self.expires_at.as_deref().map(|v| parse_rfc3339("expires_at", v)).transpose()?;
        let body = sanitize_html(&self.body);
        check_body("body", &body)?;
        let (title, mut summary) = check_article(&self.title, self.summary.as_deref(), publish_at, expires_at)?;
        if summary.is_empty() {
            summary = text_of(&body).chars().take(80).collect();
        }
        Ok(NewArticle {
            region,
            kind: self.kind,
            title,
            summary,
            body,
            cover: self.cover.filter(|c| !c.trim().is_empty()),
            publish_at,
            expires_at,
            pinned: self.pinned,
            urgent: self.urgent,
        })
    }
}

/// An article the actor may manage: 404 when there is none or it is not theirs to see.
async fn managed(app: &App, auth: &Auth, id: i64) -> ApiResult<Article> {
    match app.store.article(id).await? {
        Some(a) if manages(&auth.actor, &a.region) => Ok(a),
        _ => Err(ApiError::not_found("article")),
    }
}

#[utoipa::path(get, path = "/articles", tag = "participation", summary = "A grid's feed: the articles live now in the grid or a region above it",
    security((), ("bearer" = []), ("session_cookie" = [])),
    params(FeedQuery),
    responses((status = 200, description = "Pinned first, then newest first", body = ArticlePage), (status = 404, description = "No such grid")))]
async fn feed(State(app): State<AppState>, Query(q): Query<FeedQuery>) -> ApiResult<Json<ArticlePage>> {
    let grid = grid_named(&app, "grid", required(q.grid.as_deref(), "grid")?)?;
    let (offset, limit) = page(q.offset, q.limit)?;
    let now = app.now();
    let found = app
        .store
        .articles(&ArticleQuery { scope: ArticleScope::Feed { grid, now }, kind: q.kind, offset, limit: limit + 1 })
        .await?;
    let (found, more) = more(found, limit);
    Ok(Json(ArticlePage { items: found.iter().map(|a| summary_of(&app, a, now)).collect(), more }))
}

#[utoipa::path(get, path = "/regions/{code}/articles", tag = "participation", summary = "Every article published to a region or under it, whatever its state (staff who publish there)",
    params(("code" = String, Path, description = "Region code"), ListQuery),
    responses((status = 200, description = "Newest first", body = ArticlePage), (status = 403, description = "Not allowed (role, scope or CSRF token)"), (status = 404, description = "No such region")))]
async fn region_articles(
    State(app): State<AppState>,
    auth: Auth,
    Path(code): Path<String>,
    Query(q): Query<ListQuery>,
) -> ApiResult<Json<ArticlePage>> {
    let region = managed_region(&app, &auth.actor, "code", &code)?;
    let (offset, limit) = page(q.offset, q.limit)?;
    let now = app.now();
    let found = app
        .store
        .articles(&ArticleQuery { scope: ArticleScope::Under(region), kind: q.kind, offset, limit: limit + 1 })
        .await?;
    let (found, more) = more(found, limit);
    Ok(Json(ArticlePage { items: found.iter().map(|a| summary_of(&app, a, now)).collect(), more }))
}

#[utoipa::path(post, path = "/articles", tag = "participation", summary = "Publish an article to a region and everything under it",
    request_body = ArticleInput,
    responses((status = 201, description = "Published (or scheduled for `publish_at`)", body = ArticleView), (status = 403, description = "Not allowed (role, scope or CSRF token)"), (status = 404, description = "No such region or cover upload")))]
async fn publish(
    State(app): State<AppState>,
    auth: Auth,
    ApiJson(input): ApiJson<ArticleInput>,
) -> ApiResult<(StatusCode, Json<ArticleView>)> {
    let new = input.into_new(&app, &auth)?;
    let a = app.store.create_article(&new, auth.person.id, app.now()).await?;
    tracing::info!(article = a.id, region = %a.region, "article published");
    Ok((StatusCode::CREATED, Json(view(&app, &a, true))))
}

#[utoipa::path(put, path = "/articles/{id}", tag = "participation", summary = "Change an article",
    params(("id" = i64, Path, description = "Article id")),
    request_body = ArticleInput,
    responses((status = 200, description = "Changed", body = ArticleView), (status = 403, description = "Not allowed (role, scope or CSRF token)"), (status = 404, description = "No such article (or not one's own region's), region or cover upload")))]
async fn update(
    State(app): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<ArticleInput>,
) -> ApiResult<Json<ArticleView>> {
    managed(&app, &auth, id).await?;
    let new = input.into_new(&app, &auth)?;
    let a = app.store.update_article(id, &new, app.now()).await?.ok_or_else(|| ApiError::not_found("article"))?;
    Ok(Json(view(&app, &a, true)))
}

#[utoipa::path(post, path = "/articles/{id}/withdraw", tag = "participation", summary = "Withdraw an article from the feeds (audited with the reason)",
    params(("id" = i64, Path, description = "Article id")),
    request_body = WithdrawInput,
    responses((status = 200, description = "Withdrawn", body = ArticleView), (status = 403, description = "Not allowed (role, scope or CSRF token)"), (status = 404, description = "No such article, or not one's own region's"), (status = 409, description = "Withdrawn already")))]
async fn withdraw(
    State(app): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<WithdrawInput>,
) -> ApiResult<Json<ArticleView>> {
    managed(&app, &auth, id).await?;
    let reason = gridkeeper_domain::required_text("reason", &input.reason, 500)?;
    if !app.store.withdraw_article(id, &reason, auth.person.id, app.now()).await? {
        return Err(ApiError::conflicting("id", "the article was withdrawn already"));
    }
    let a = app.store.article(id).await?.ok_or_else(|| ApiError::not_found("article"))?;
    Ok(Json(view(&app, &a, true)))
}

fn view(app: &App, a: &Article, may_manage: bool) -> ArticleView {
    ArticleView { article: summary_of(app, a, app.now()), body: a.body.clone(), cover: a.cover.clone(), may_manage }
}

#[utoipa::path(get, path = "/articles/{id}", tag = "participation", summary = "An article, open to anyone while it is live (its read counted once per person, per grid)",
    security((), ("bearer" = []), ("session_cookie" = [])),
    params(("id" = i64, Path, description = "Article id"), ReadQuery),
    responses((status = 200, description = "The article with its body", body = ArticleView), (status = 404, description = "No such article, or not live and not one's own region's")))]
async fn article(
    State(app): State<AppState>,
    auth: MaybeAuth,
    Path(id): Path<i64>,
    Query(q): Query<ReadQuery>,
) -> ApiResult<Json<ArticleView>> {
    let grid = q.grid.as_deref().map(|g| grid_named(&app, "grid", g)).transpose()?;
    let a = app.store.article(id).await?.ok_or_else(|| ApiError::not_found("article"))?;
    let now = app.now();
    let may_manage = auth.0.as_ref().is_some_and(|a2| manages(&a2.actor, &a.region));
    let live = article_live(a.publish_at, a.expires_at, a.withdrawn_at.is_some(), now);
    if !live && !may_manage {
        return Err(ApiError::not_found("article"));
    }
    let mut a = a;
    if live {
        let person = auth.0.as_ref().map(|x| x.person.id);
        app.store.record_read(id, grid.as_ref(), person, now).await?;
        if let Some(fresh) = app.store.article(id).await? {
            a = fresh;
        }
    }
    Ok(Json(view(&app, &a, may_manage)))
}

#[utoipa::path(get, path = "/articles/{id}/reads", tag = "participation", summary = "An article's reads per grid of its readers (staff who publish there)",
    params(("id" = i64, Path, description = "Article id")),
    responses((status = 200, description = "Per grid, by code", body = Vec<GridReadCount>), (status = 403, description = "Not allowed (role, scope or CSRF token)"), (status = 404, description = "No such article, or not one's own region's")))]
async fn reads(State(app): State<AppState>, auth: Auth, Path(id): Path<i64>) -> ApiResult<Json<Vec<GridReadCount>>> {
    managed(&app, &auth, id).await?;
    let rows = app.store.article_reads(id).await?;
    Ok(Json(
        rows.into_iter()
            .map(|r| GridReadCount {
                grid_name: r.grid.as_ref().map(|g| region_name(&app, g)),
                grid: r.grid.map(|g| g.to_string()),
                reads: r.reads,
            })
            .collect(),
    ))
}
