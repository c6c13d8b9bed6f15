//! `/api/v1` endpoints of data exchange: streamed exports of cases, webhook subscriptions and
//! their dead-letter list, and the Open311 attributes of categories.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use gridkeeper_domain::exchange::{validate_attributes, ServiceAttribute, WebhookFilter};
use gridkeeper_domain::{administered_regions, may, Action, Actor, FieldError, Permission, Refusal, RegionCode};
use gridkeeper_store::{CaseQuery, Delivery, DeliveryStatus, NewAudit, NewWebhook, Webhook};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{new_token, Auth};
use crate::cases::CaseFilters;
use crate::error::{ApiError, ApiResult};
use crate::export::{export_cases, ExportFormat};
use crate::extract::{ApiJson, Query};
use crate::service::visibility;
use crate::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(export))
        .routes(routes!(list_webhooks, create_webhook))
        .routes(routes!(delete_webhook))
        .routes(routes!(webhook_deliveries))
        .routes(routes!(dead_letters))
        .routes(routes!(replay))
        .routes(routes!(attributes, set_attributes))
}

/// Webhook subscriptions: `id`, `url`, `filter`, `active`, `created_at`, ... (never the secret).
#[derive(Serialize, ToSchema)]
pub struct WebhookList {
    #[schema(value_type = Vec<Object>)]
    pub items: Vec<Webhook>,
}

/// Deliveries: `id`, `webhook_id`, `event_id`, `status`, `attempts`, `last_error`, ...
#[derive(Serialize, ToSchema)]
pub struct DeliveryList {
    #[schema(value_type = Vec<Object>)]
    pub items: Vec<Delivery>,
}

#[derive(Serialize, ToSchema)]
pub struct ReplayAnswer {
    pub id: i64,
    /// Always `pending`.
    pub status: String,
}

/// The Open311 attributes (questions) of a subclass.
#[derive(Serialize, ToSchema)]
pub struct AttributeList {
    pub items: Vec<ServiceAttribute>,
}

// ---------------------------------------------------------------- exports

/// `GET /exports/cases.{csv,geojson,xlsx}` with the filters of the case list; streamed.
#[utoipa::path(get, path = "/exports/{file}", tag = "exchange", operation_id = "export_cases",
    params(("file" = String, Path, description = "cases.csv, cases.geojson or cases.xlsx"), CaseFilters),
    responses((status = 200, description = "Every matching case in one's scope, streamed as an attachment", content(("text/csv"), ("application/geo+json"), ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))), (status = 404, description = "Not found, or outside one's scope")))]
async fn export(
    State(app): State<AppState>,
    auth: Auth,
    Path(file): Path<String>,
    uri: axum::http::Uri,
    Query(filters): Query<CaseFilters>,
) -> ApiResult<Response> {
    let format = match file.split_once('.') {
        Some(("cases", ext)) => ExportFormat::parse(ext),
        _ => None,
    }
    .ok_or_else(|| ApiError::not_found("export (try cases.csv, cases.geojson or cases.xlsx)"))?;
    let mut query = CaseQuery { visibility: visibility(&auth.actor), now: app.now(), ..Default::default() };
    filters.apply(&app, &mut query)?;
    // Who took which cases out of the platform, with the filters that chose them.
    app.store
        .audit(&NewAudit {
            at: query.now,
            actor: Some(auth.person.id),
            action: "export".into(),
            object: Some(format!("cases.{}", format.extension())),
            detail: json!({ "filters": uri.query().unwrap_or("") }),
        })
        .await?;
    let (tx, rx) = tokio::sync::mpsc::channel::<Vec<u8>>(8);
    let person = auth.person.id;
    tokio::spawn(async move {
        match export_cases(&app, query, format, tx).await {
            Ok(n) => tracing::info!(person, rows = n, format = format.extension(), "export finished"),
            Err(e) => tracing::warn!(person, error = %e, "export stopped"),
        }
    });
    let stream = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (Ok::<_, std::io::Error>(bytes::Bytes::from(chunk)), rx))
    });
    let name = format!("attachment; filename=\"cases.{}\"", format.extension());
    Ok((
        [(header::CONTENT_TYPE, format.content_type().to_string()), (header::CONTENT_DISPOSITION, name)],
        Body::from_stream(stream),
    )
        .into_response())
}

// ---------------------------------------------------------------- webhooks

/// A numeric id from the path; anything else names nothing.
fn path_id(s: &str, what: &str) -> ApiResult<i64> {
    s.parse().map_err(|_| ApiError::not_found(what))
}

fn require_admin(actor: &Actor) -> ApiResult<()> {
    may(actor, Permission::ManageWebhooks).map_err(|r| ApiError::refusal(r, None))
}

/// Whether the admin administers the webhook's region.
fn administers(actor: &Actor, w: &gridkeeper_store::Webhook) -> bool {
    may(actor, Permission::ManageWebhook { region: w.filter.region.as_ref() }).is_ok()
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct WebhookBody {
    /// An http or https URL with a host (the pattern describes host names; an IP address is
    /// taken too)
    #[schema(
        pattern = "^https?://([A-Za-z0-9]([A-Za-z0-9-]{0,20}[A-Za-z0-9])?\\.){0,3}[A-Za-z]([A-Za-z0-9-]{0,20}[A-Za-z0-9])?(:[1-9][0-9]{0,3})?(/[A-Za-z0-9._~-]{0,20}){0,4}$"
    )]
    url: String,
    /// The actions to send; none: every action.
    #[serde(default)]
    #[schema(value_type = Vec<Action>)]
    actions: Vec<String>,
    /// The region whose cases are sent; when absent, the one region one administers.
    region: Option<String>,
    department: Option<i64>,
    /// The HMAC key, at least 16 characters; generated when not given.
    #[schema(min_length = 16)]
    secret: Option<String>,
}

#[utoipa::path(post, path = "/webhooks", tag = "exchange", summary = "Subscribe another system to case events (admins)",
    request_body = WebhookBody,
    responses((status = 201, description = "The subscription, with its secret", body = Object), (status = 403, description = "Not allowed (role, scope or CSRF token)"), (status = 404, description = "`department` or `region` names nothing that exists")))]
async fn create_webhook(
    State(app): State<AppState>,
    auth: Auth,
    ApiJson(b): ApiJson<WebhookBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    require_admin(&auth.actor)?;
    let url = b.url.trim();
    crate::http::http_url(url).map_err(|reason| ApiError::field("url", reason))?;
    let actions = b
        .actions
        .iter()
        .enumerate()
        .map(|(i, a)| Action::parse(a).map_err(|e| FieldError::new(format!("actions[{i}]"), e.reason)))
        .collect::<Result<Vec<_>, _>>()?;
    let mine = administered_regions(&auth.actor);
    let region = match b.region.as_deref() {
        Some(r) => RegionCode::parse(r).map_err(|e| FieldError::new("region", e.reason))?,
        None if mine.len() == 1 => mine[0].clone(),
        None => return Err(ApiError::field("region", "is required: you administer several regions")),
    };
    if may(&auth.actor, Permission::ManageWebhook { region: Some(&region) }).is_err() {
        let reason = format!("region {region} lies outside the regions you administer");
        return Err(ApiError::refusal(Refusal::NotAllowed { action: "send this region's cases", reason }, None));
    }
    if let Some(d) = b.department {
        app.department("department", d)?;
    }
    let secret = match b.secret {
        Some(s) if s.chars().count() >= 16 => s,
        Some(_) => return Err(ApiError::field("secret", "must have at least 16 characters")),
        None => new_token(32),
    };
    let filter = WebhookFilter { actions, region: Some(region), department: b.department };
    let w = app
        .store
        .create_webhook(
            &NewWebhook { url: url.to_string(), secret, filter, created_by: Some(auth.person.id) },
            app.now(),
        )
        .await?;
    tracing::info!(webhook = w.id, person = auth.person.id, url = %w.url, "webhook created");
    let mut v = serde_json::to_value(&w).map_err(ApiError::internal)?;
    v["secret"] = json!(w.secret);
    Ok((StatusCode::CREATED, Json(v)))
}

#[utoipa::path(get, path = "/webhooks", tag = "exchange", summary = "Webhook subscriptions (admins)",
    responses((status = 200, description = "Webhook subscriptions", body = WebhookList), (status = 403, description = "Not allowed (role, scope or CSRF token)")))]
async fn list_webhooks(State(app): State<AppState>, auth: Auth) -> ApiResult<Json<WebhookList>> {
    require_admin(&auth.actor)?;
    let items = app.store.webhooks().await?.into_iter().filter(|w| administers(&auth.actor, w)).collect();
    Ok(Json(WebhookList { items }))
}

/// The webhook `id`, if the admin administers its region (otherwise "not found").
async fn own_webhook(app: &AppState, actor: &Actor, id: i64) -> ApiResult<gridkeeper_store::Webhook> {
    require_admin(actor)?;
    app.store
        .webhooks()
        .await?
        .into_iter()
        .find(|w| w.id == id && administers(actor, w))
        .ok_or_else(|| ApiError::not_found("webhook"))
}

#[utoipa::path(delete, path = "/webhooks/{id}", tag = "exchange", summary = "Delete a webhook subscription",
    params(("id" = i64, Path, description = "Webhook id")),
    responses((status = 204, description = "Deleted"), (status = 403, description = "Not allowed (role, scope or CSRF token)"), (status = 404, description = "Not found, or outside one's scope")))]
async fn delete_webhook(State(app): State<AppState>, auth: Auth, Path(id): Path<String>) -> ApiResult<StatusCode> {
    let id = path_id(&id, "webhook")?;
    own_webhook(&app, &auth.actor, id).await?;
    app.store.deactivate_webhook(id).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn status_param(status: Option<&str>) -> ApiResult<Option<DeliveryStatus>> {
    status
        .map(|s| match s {
            "pending" => Ok(DeliveryStatus::Pending),
            "delivered" => Ok(DeliveryStatus::Delivered),
            "dead" => Ok(DeliveryStatus::Dead),
            _ => Err(ApiError::field("status", "must be pending, delivered or dead")),
        })
        .transpose()
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct DeliveriesQuery {
    /// pending, delivered or dead
    #[param(pattern = "^(pending|delivered|dead)$")]
    status: Option<String>,
    /// Page size
    limit: Option<u32>,
}

#[utoipa::path(get, path = "/webhooks/{id}/deliveries", tag = "exchange", summary = "Deliveries of a webhook",
    params(("id" = i64, Path, description = "Webhook id"), DeliveriesQuery),
    responses((status = 200, description = "Deliveries of the webhook", body = DeliveryList), (status = 403, description = "Not allowed (role, scope or CSRF token)"), (status = 404, description = "Not found, or outside one's scope")))]
async fn webhook_deliveries(
    State(app): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    Query(q): Query<DeliveriesQuery>,
) -> ApiResult<Json<DeliveryList>> {
    let id = path_id(&id, "webhook")?;
    own_webhook(&app, &auth.actor, id).await?;
    let limit = q.limit.unwrap_or(100);
    let items = app.store.deliveries(Some(id), status_param(q.status.as_deref())?, limit).await?;
    Ok(Json(DeliveryList { items }))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct DeadLettersQuery {
    /// Page size
    limit: Option<u32>,
}

/// Deliveries that gave up, of the webhooks the admin administers.
#[utoipa::path(get, path = "/webhooks/dead-letters", tag = "exchange", params(DeadLettersQuery),
    responses((status = 200, description = "Deliveries that gave up", body = DeliveryList), (status = 403, description = "Not allowed (role, scope or CSRF token)")))]
async fn dead_letters(
    State(app): State<AppState>,
    auth: Auth,
    Query(q): Query<DeadLettersQuery>,
) -> ApiResult<Json<DeliveryList>> {
    require_admin(&auth.actor)?;
    let limit = q.limit.unwrap_or(100);
    let hooks: Vec<i64> =
        app.store.webhooks().await?.into_iter().filter(|w| administers(&auth.actor, w)).map(|w| w.id).collect();
    let items: Vec<_> = app
        .store
        .deliveries(None, Some(DeliveryStatus::Dead), limit)
        .await?
        .into_iter()
        .filter(|d| hooks.contains(&d.webhook_id))
        .collect();
    Ok(Json(DeliveryList { items }))
}

#[utoipa::path(post, path = "/webhooks/deliveries/{id}/replay", tag = "exchange", summary = "Queue a delivery again",
    params(("id" = i64, Path, description = "Delivery id")),
    responses((status = 200, description = "Queued again", body = ReplayAnswer), (status = 403, description = "Not allowed (role, scope or CSRF token)"), (status = 404, description = "Not found, or outside one's scope")))]
async fn replay(State(app): State<AppState>, auth: Auth, Path(id): Path<String>) -> ApiResult<Json<ReplayAnswer>> {
    require_admin(&auth.actor)?;
    let id = path_id(&id, "delivery")?;
    let d = app.store.delivery(id).await?.ok_or_else(|| ApiError::not_found("delivery"))?;
    own_webhook(&app, &auth.actor, d.webhook_id).await?;
    if !app.store.replay_delivery(id, app.now()).await? {
        return Err(ApiError::not_found("dead delivery"));
    }
    tracing::info!(delivery = id, person = auth.person.id, "webhook delivery replayed");
    Ok(Json(ReplayAnswer { id, status: "pending".into() }))
}

// ---------------------------------------------------------------- category attributes

#[utoipa::path(get, path = "/categories/{id}/attributes", tag = "exchange", summary = "The Open311 attributes (questions) of a subclass", security(()),
    params(("id" = i64, Path, description = "Category id")),
    responses((status = 200, description = "The Open311 attributes (questions) of the subclass", body = AttributeList), (status = 404, description = "Not found, or outside one's scope")))]
async fn attributes(State(app): State<AppState>, Path(id): Path<String>) -> ApiResult<Json<AttributeList>> {
    let id = path_id(&id, "category")?;
    app.category("category", id).map_err(|_| ApiError::not_found("category"))?;
    Ok(Json(AttributeList { items: app.store.category_attributes(id).await? }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct AttributesBody {
    attributes: Vec<ServiceAttribute>,
}

/// Replaces the Open311 attributes (the questions asked with a report) of a subclass.
#[utoipa::path(put, path = "/categories/{id}/attributes", tag = "exchange",
    params(("id" = i64, Path, description = "Category id")),
    request_body = AttributesBody,
    responses((status = 200, description = "The stored attributes", body = AttributeList), (status = 403, description = "Not allowed (role, scope or CSRF token)"), (status = 404, description = "Not found, or outside one's scope"), (status = 409, description = "The category is a class: attributes belong to its subclasses")))]
async fn set_attributes(
    State(app): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<AttributesBody>,
) -> ApiResult<Json<AttributeList>> {
    may(&auth.actor, Permission::DefineAttributes).map_err(|r| ApiError::refusal(r, None))?;
    let id = path_id(&id, "category")?;
    let c = app.category("category", id).map_err(|_| ApiError::not_found("category"))?;
    if c.is_class() {
        return Err(ApiError::conflicting(
            "category",
            "attributes belong to a subclass (an Open311 service), not a class",
        ));
    }
    validate_attributes(&b.attributes)?;
    app.store.set_category_attributes(id, &b.attributes).await?;
    tracing::info!(category = id, person = auth.person.id, n = b.attributes.len(), "category attributes set");
    Ok(Json(AttributeList { items: b.attributes }))
}
