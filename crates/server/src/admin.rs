//! Administration: people and their roles, departments, categories. Who may do what is decided
//! by `domain::policy` (`Permission::ManagePeople` with `may_manage` for scope,
//! `Permission::ManageReference`); every change is written with its audit entry in one
//! transaction (`AdminStore`). Departments and categories are reference data kept in memory:
//! the app reloads it after each change.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use gridkeeper_domain::{
    may, may_manage, parse_phone, required_text, Category, CategoryKind, Deadlines, Department, DepartmentKind,
    FieldError, Grant, Permission, PersonId, Reach, Refusal, RegionCode, Role, Scope,
};
use gridkeeper_store::{NewAudit, NewPerson, PeopleQuery, Person};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::accounts::PersonView;
use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, Query};
use crate::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_people, create_person))
        .routes(routes!(grant, revoke))
        .routes(routes!(disable))
        .routes(routes!(enable))
        .routes(routes!(create_department))
        .routes(routes!(edit_department))
        .routes(routes!(create_category))
        .routes(routes!(edit_category))
}

/// A person as the administration sees them.
#[derive(Serialize, ToSchema)]
pub struct AdminPerson {
    #[serde(flatten)]
    pub person: PersonView,
    pub disabled: bool,
}

impl AdminPerson {
    fn of(p: &Person) -> Self {
        // Staff are named in clear to the admins who manage them; residents stay masked.
        let staff = p.grants.iter().any(|g| g.role.is_staff());
        AdminPerson { person: PersonView::of(p, staff), disabled: p.disabled }
    }
}

#[derive(Serialize, ToSchema)]
pub struct AdminPeople {
    pub items: Vec<AdminPerson>,
    /// Pass as `after` for the next page; none on the last.
    pub next_after: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct AdminPersonAnswer {
    pub person: AdminPerson,
    /// Whether anything changed (false when the role was already held, or not held).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub changed: Option<bool>,
    /// A generated password, shown once (creation without a password).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
}

impl AdminPersonAnswer {
    fn changed(p: &Person, changed: bool) -> Self {
        AdminPersonAnswer { person: AdminPerson::of(p), changed: Some(changed), password: None }
    }
}

#[derive(Serialize, ToSchema)]
pub struct DepartmentAnswer {
    pub department: Department,
}

#[derive(Serialize, ToSchema)]
pub struct CategoryAnswer {
    pub category: Category,
}

fn refused(r: Refusal) -> ApiError {
    ApiError::refusal(r, None)
}

fn audit(auth: &Auth, at: i64, action: &str, object: Option<String>, detail: Value) -> NewAudit {
    NewAudit { at, actor: Some(auth.person.id), action: action.into(), object, detail }
}

/// Where a role's scope lies: its region; a department's region (`None`: the department serves
/// the whole jurisdiction); `None` for a place.
fn reach(app: &AppState, g: &Grant) -> Reach {
    match &g.scope {
        Scope::Region { code } => Some(code.clone()),
        Scope::Department { id } => app.reference().departments.get(id).and_then(|d| d.region.clone()),
        Scope::Place { .. } => None,
    }
}

/// A grant as sent: `{ "role": "dispatcher", "scope": "region:330483" }`, checked against the
/// regions and departments that exist. `field` names it in refusals (`grants[0]`).
fn parse_grant(app: &AppState, field: &str, g: &GrantBody) -> ApiResult<Grant> {
    let named = |e: FieldError| ApiError::field(&format!("{field}.{}", e.field), e.reason);
    let role = Role::parse(g.role.trim()).map_err(|e| named(FieldError::new("role", e.reason)))?;
    let scope = Scope::parse(g.scope.trim()).map_err(|e| named(FieldError::new("scope", e.reason)))?;
    let grant = Grant::new(role, scope).map_err(named)?;
    let reference = app.reference();
    match &grant.scope {
        Scope::Region { code } if !reference.regions.contains_key(code) => {
            return Err(ApiError::unknown(&format!("{field}.scope"), format!("no region {code}")));
        }
        Scope::Department { id } if !reference.departments.contains_key(id) => {
            return Err(ApiError::unknown(&format!("{field}.scope"), format!("no department with id {id}")));
        }
        _ => {}
    }
    Ok(grant)
}

/// Refuses a role the admin may not give or take: outside their regions is "not allowed" here
/// (the admin named it, so nothing is revealed).
fn may_give(app: &AppState, auth: &Auth, g: &Grant) -> ApiResult<()> {
    may_manage(&auth.actor, &[reach(app, g)]).map_err(|r| match r {
        Refusal::OutOfScope => ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "Not allowed",
            "this role's scope lies outside the regions you administer",
        ),
        r => refused(r),
    })
}

/// The person with this id if the admin may manage them (every role of theirs lies in the
/// admin's regions); otherwise "not found".
pub(crate) async fn managed_person(app: &AppState, auth: &Auth, id: &str) -> ApiResult<Person> {
    may(&auth.actor, Permission::ManagePeople).map_err(refused)?;
    let id: PersonId = id.parse().map_err(|_| ApiError::not_found("person"))?;
    let p = app.store.person(id).await?.ok_or_else(|| ApiError::not_found("person"))?;
    let reaches: Vec<Reach> = p.grants.iter().map(|g| reach(app, g)).collect();
    may_manage(&auth.actor, &reaches).map_err(|_| ApiError::not_found("person"))?;
    Ok(p)
}

// ---------------------------------------------------------------- people

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct PeopleSearch {
    /// Logins starting with this, or a mobile number (the person with that phone)
    q: Option<String>,
    /// The last login of the previous page
    after: Option<String>,
    /// 1 to 200 (default 100)
    #[param(minimum = 1, maximum = 200)]
    limit: Option<u32>,
}

#[utoipa::path(get, path = "/admin/people", tag = "admin", summary = "People the admin manages, by login or phone", params(PeopleSearch),
    responses((status = 200, description = "People with their roles (names and phones masked)", body = AdminPeople), (status = 403, description = "Not allowed (role, scope or CSRF token)")))]
async fn list_people(
    State(app): State<AppState>,
    auth: Auth,
    Query(q): Query<PeopleSearch>,
) -> ApiResult<Json<AdminPeople>> {
    may(&auth.actor, Permission::ManagePeople).map_err(refused)?;
    let limit = q.limit.unwrap_or(100);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::field("limit", "must be between 1 and 200"));
    }
    let text = q.q.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    // A mobile number is looked up by its blind index; anything else is a login's beginning.
    let phone =
        text.as_deref().and_then(|t| gridkeeper_domain::registry::Phone::parse(t).ok()).map(|p| p.as_str().to_string());
    let mut query =
        PeopleQuery { login_prefix: if phone.is_some() { None } else { text }, phone, after: q.after, limit };
    // People outside the admin's regions are skipped: read on until the page is full.
    let mut items = vec![];
    let mut next = None;
    'pages: loop {
        let page = app.store.list_people(&query).await?;
        let full = page.len() == query.limit as usize;
        for p in &page {
            let reaches: Vec<Reach> = p.grants.iter().map(|g| reach(&app, g)).collect();
            if may_manage(&auth.actor, &reaches).is_ok() {
                items.push(AdminPerson::of(p));
                if items.len() == limit as usize {
                    next = Some(p.login.clone());
                    break 'pages;
                }
            }
        }
        match (full, page.last()) {
            (true, Some(last)) => query.after = Some(last.login.clone()),
            _ => break,
        }
    }
    Ok(Json(AdminPeople { items, next_after: next }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct GrantBody {
    /// resident, social_unit, grid_member, grid_leader, dispatcher, department_staff,
    /// department_head, supervisor, analyst, admin, auditor or police.
    #[schema(
        pattern = "^(resident|social_unit|grid_member|grid_leader|dispatcher|department_staff|department_head|supervisor|analyst|admin|auditor|police)$"
    )]
    role: String,
    /// `region:CODE`, `department:ID` or `place:ID`.
    #[schema(pattern = "^(region:(?!000000)[0-9]{6}((?!000)[0-9]{3}){0,3}|(department|place):[0-9]{1,18})$")]
    scope: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct NewPersonBody {
    #[schema(pattern = "^[A-Za-z0-9_.-]{3,40}$")]
    login: String,
    #[schema(max_length = 60)]
    name: String,
    phone: Option<String>,
    /// At least 8 characters; when absent one is generated and answered once.
    #[schema(min_length = 8)]
    password: Option<String>,
    #[schema(min_items = 1)]
    grants: Vec<GrantBody>,
}

#[utoipa::path(post, path = "/admin/people", tag = "admin", summary = "Create a staff account with its roles",
    request_body = NewPersonBody,
    responses((status = 201, description = "The account; `password` when one was generated (shown once)", body = AdminPersonAnswer), (status = 403, description = "Not allowed (role, scope or CSRF token)"), (status = 404, description = "A grant's scope names nothing that exists"), (status = 409, description = "The login or the phone number is already registered")))]
async fn create_person(
    State(app): State<AppState>,
    auth: Auth,
    ApiJson(b): ApiJson<NewPersonBody>,
) -> ApiResult<(StatusCode, Json<AdminPersonAnswer>)> {
    may(&auth.actor, Permission::ManagePeople).map_err(refused)?;
    let login = b.login.trim().to_string();
    if login.len() < 3
        || login.len() > 40
        || !login.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
    {
        return Err(ApiError::field("login", "3 to 40 letters, digits, `_`, `-` or `.`"));
    }
    let name = required_text("name", &b.name, 60)?;
    let phone = b.phone.as_deref().map(str::trim).filter(|p| !p.is_empty()).map(parse_phone).transpose()?;
    if b.grants.is_empty() {
        return Err(ApiError::field("grants", "give the account at least one role"));
    }
    let grants = b
        .grants
        .iter()
        .enumerate()
        .map(|(i, g)| parse_grant(&app, &format!("grants[{i}]"), g))
        .collect::<ApiResult<Vec<_>>>()?;
    for g in &grants {
        may_give(&app, &auth, g)?;
    }
    let (password, generated) = match b.password {
        Some(p) if p.chars().count() < 8 => return Err(ApiError::field("password", "at least 8 characters")),
        Some(p) => (p, false),
        None => (crate::auth::new_token(12), true),
    };
    let hash = crate::auth::hash_password(&password).map_err(ApiError::internal)?;
    let new = NewPerson { login: login.clone(), name, phone, id_number: None, password_hash: Some(hash), grants };
    let now = app.now();
    let entry = audit(&auth, now, "role_change", None, json!({ "created": login, "grants": new.grants }));
    let id = app.store.create_person_audited(&new, now, &entry).await?;
    let p = app.store.person(id).await?.ok_or_else(|| ApiError::internal("a new person vanished"))?;
    tracing::info!(person = id, by = auth.person.id, "account created");
    let answer =
        AdminPersonAnswer { person: AdminPerson::of(&p), changed: None, password: generated.then_some(password) };
    Ok((StatusCode::CREATED, Json(answer)))
}

#[utoipa::path(post, path = "/admin/people/{id}/grants", tag = "admin", summary = "Give a person a role in a scope",
    params(("id" = i64, Path, description = "Person id")),
    request_body = GrantBody,
    responses((status = 200, description = "The person; `changed` is false when they already held the role", body = AdminPersonAnswer), (status = 403, description = "Not allowed (role, scope or CSRF token)"), (status = 404, description = "Not found, or outside one's scope")))]
async fn grant(
    State(app): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<GrantBody>,
) -> ApiResult<Json<AdminPersonAnswer>> {
    let p = managed_person(&app, &auth, &id).await?;
    let g = parse_grant(&app, "grant", &b)?;
    may_give(&app, &auth, &g)?;
    let entry = audit(
        &auth,
        app.now(),
        "role_change",
        Some(format!("person:{}", p.id)),
        json!({ "granted": g, "login": p.login }),
    );
    let changed = app.store.add_grant(p.id, &g, &entry).await?;
    let p = app.store.person(p.id).await?.ok_or_else(|| ApiError::not_found("person"))?;
    Ok(Json(AdminPersonAnswer::changed(&p, changed)))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct RevokeQuery {
    /// The role
    #[param(
        required = true,
        pattern = "^(resident|social_unit|grid_member|grid_leader|dispatcher|department_staff|department_head|supervisor|analyst|admin|auditor|police)$"
    )]
    role: Option<String>,
    /// `region:CODE`, `department:ID` or `place:ID`
    #[param(
        required = true,
        pattern = "^(region:(?!000000)[0-9]{6}((?!000)[0-9]{3}){0,3}|(department|place):[0-9]{1,18})$"
    )]
    scope: Option<String>,
}

#[utoipa::path(delete, path = "/admin/people/{id}/grants", tag = "admin", summary = "Take a role away from a person",
    params(("id" = i64, Path, description = "Person id"), RevokeQuery),
    responses((status = 200, description = "The person; `changed` is false when they did not hold the role", body = AdminPersonAnswer), (status = 403, description = "Not allowed (role, scope or CSRF token)"), (status = 404, description = "Not found, or outside one's scope"), (status = 422, description = "A field is invalid; `field` and `reason` say which and why"), (status = 409, description = "One's own admin role")))]
async fn revoke(
    State(app): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    Query(q): Query<RevokeQuery>,
) -> ApiResult<Json<AdminPersonAnswer>> {
    let p = managed_person(&app, &auth, &id).await?;
    let body = GrantBody {
        role: q.role.ok_or_else(|| ApiError::field("role", "is required"))?,
        scope: q.scope.ok_or_else(|| ApiError::field("scope", "is required"))?,
    };
    let g = parse_grant(&app, "grant", &body)?;
    may_give(&app, &auth, &g)?;
    if p.id == auth.person.id && g.role == Role::Admin {
        return Err(ApiError::conflicting("grant.role", "you cannot take away your own admin role; ask another admin"));
    }
    let entry = audit(
        &auth,
        app.now(),
        "role_change",
        Some(format!("person:{}", p.id)),
        json!({ "revoked": g, "login": p.login }),
    );
    let changed = app.store.remove_grant(p.id, &g, &entry).await?;
    let p = app.store.person(p.id).await?.ok_or_else(|| ApiError::not_found("person"))?;
    Ok(Json(AdminPersonAnswer::changed(&p, changed)))
}

async fn set_disabled(app: AppState, auth: Auth, id: String, disabled: bool) -> ApiResult<Json<AdminPersonAnswer>> {
    let p = managed_person(&app, &auth, &id).await?;
    if p.id == auth.person.id && disabled {
        return Err(ApiError::conflicting("id", "you cannot disable your own account"));
    }
    let entry = audit(
        &auth,
        app.now(),
        "account",
        Some(format!("person:{}", p.id)),
        json!({ "disabled": disabled, "login": p.login }),
    );
    let changed = app.store.set_disabled(p.id, disabled, &entry).await?;
    let p = app.store.person(p.id).await?.ok_or_else(|| ApiError::not_found("person"))?;
    Ok(Json(AdminPersonAnswer::changed(&p, changed)))
}

#[utoipa::path(post, path = "/admin/people/{id}/disable", tag = "admin", summary = "Disable an account (its sessions end)",
    params(("id" = i64, Path, description = "Person id")),
    responses((status = 200, description = "The person", body = AdminPersonAnswer), (status = 403, description = "Not allowed (role, scope or CSRF token)"), (status = 404, description = "Not found, or outside one's scope"), (status = 422, description = "A field is invalid; `field` and `reason` say which and why"), (status = 409, description = "One's own account")))]
async fn disable(
    State(app): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<AdminPersonAnswer>> {
    set_disabled(app, auth, id, true).await
}

#[utoipa::path(post, path = "/admin/people/{id}/enable", tag = "admin", summary = "Enable a disabled account again",
    params(("id" = i64, Path, description = "Person id")),
    responses((status = 200, description = "The person", body = AdminPersonAnswer), (status = 403, description = "Not allowed (role, scope or CSRF token)"), (status = 404, description = "Not found, or outside one's scope")))]
async fn enable(State(app): State<AppState>, auth: Auth, Path(id): Path<String>) -> ApiResult<Json<AdminPersonAnswer>> {
    set_disabled(app, auth, id, false).await
}

// ---------------------------------------------------------------- departments

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct DepartmentBody {
    #[schema(pattern = "^[A-Za-z0-9_-]{1,20}$")]
    #[schema(pattern = "^[A-Za-z0-9_-]{1,20}$")]
    code: String,
    #[schema(max_length = 60)]
    name: String,
    #[schema(max_length = 80)]
    name_en: String,
    platform_id: i64,
    kind: DepartmentKind,
    /// The region it serves (a community team's community); none: the whole jurisdiction.
    region: Option<String>,
}

fn code(v: &str) -> ApiResult<String> {
    let v = v.trim();
    if v.is_empty() || v.len() > 20 || !v.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
        return Err(ApiError::field("code", "1 to 20 letters, digits, `_` or `-`"));
    }
    Ok(v.to_string())
}

async fn department_of(app: &AppState, id: i64, b: DepartmentBody) -> ApiResult<Department> {
    if !app.store.platforms().await?.iter().any(|p| p.id == b.platform_id) {
        return Err(ApiError::unknown("platform_id", format!("no platform with id {}", b.platform_id)));
    }
    let region = match b.region.as_deref().map(str::trim).filter(|r| !r.is_empty()) {
        None => None,
        Some(r) => {
            let code = RegionCode::parse(r).map_err(|e| ApiError::field("region", e.reason))?;
            if !app.reference().regions.contains_key(&code) {
                return Err(ApiError::unknown("region", format!("no region {code}")));
            }
            Some(code)
        }
    };
    if b.kind == DepartmentKind::CommunityTeam && region.is_none() {
        return Err(ApiError::field("region", "a community team serves a region; name it"));
    }
    Ok(Department {
        id,
        code: code(&b.code)?,
        name: required_text("name", &b.name, 60)?,
        name_en: required_text("name_en", &b.name_en, 80)?,
        platform_id: b.platform_id,
        kind: b.kind,
        region,
    })
}

#[utoipa::path(post, path = "/departments", tag = "admin", summary = "Create a department",
    request_body = DepartmentBody,
    responses((status = 201, description = "The department", body = DepartmentAnswer), (status = 403, description = "Not allowed (role, scope or CSRF token)"), (status = 404, description = "`platform_id` or `region` names nothing that exists"), (status = 409, description = "The code is taken")))]
async fn create_department(
    State(app): State<AppState>,
    auth: Auth,
    ApiJson(b): ApiJson<DepartmentBody>,
) -> ApiResult<(StatusCode, Json<DepartmentAnswer>)> {
    may(&auth.actor, Permission::ManageReference).map_err(refused)?;
    let mut d = department_of(&app, 0, b).await?;
    let entry = audit(&auth, app.now(), "reference_change", None, json!({ "department": d, "created": true }));
    d.id = app.store.insert_department(&d, &entry).await?;
    app.reload_reference().await.map_err(ApiError::internal)?;
    Ok((StatusCode::CREATED, Json(DepartmentAnswer { department: d })))
}

#[utoipa::path(put, path = "/departments/{id}", tag = "admin", summary = "Change a department",
    params(("id" = i64, Path, description = "Department id")),
    request_body = DepartmentBody,
    responses((status = 200, description = "The department", body = DepartmentAnswer), (status = 403, description = "Not allowed (role, scope or CSRF token)"), (status = 404, description = "Not found, or outside one's scope"), (status = 409, description = "The code is taken")))]
async fn edit_department(
    State(app): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<DepartmentBody>,
) -> ApiResult<Json<DepartmentAnswer>> {
    may(&auth.actor, Permission::ManageReference).map_err(refused)?;
    let id: i64 = id.parse().map_err(|_| ApiError::not_found("department"))?;
    let before = app.reference().departments.get(&id).cloned().ok_or_else(|| ApiError::not_found("department"))?;
    let d = department_of(&app, id, b).await?;
    let entry = audit(
        &auth,
        app.now(),
        "reference_change",
        Some(format!("department:{id}")),
        json!({ "department": d, "before": before }),
    );
    if !app.store.update_department(&d, &entry).await? {
        return Err(ApiError::not_found("department"));
    }
    app.reload_reference().await.map_err(ApiError::internal)?;
    Ok(Json(DepartmentAnswer { department: d }))
}

// ---------------------------------------------------------------- categories

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct CategoryBody {
    #[schema(pattern = "^[A-Za-z0-9_-]{1,20}$")]
    code: String,
    #[schema(max_length = 60)]
    name: String,
    #[schema(max_length = 80)]
    name_en: String,
    kind: CategoryKind,
    /// The class of a subclass; none for a class.
    parent_id: Option<i64>,
    default_department: Option<i64>,
    /// Whether the public may see its cases (the public view, the public map, Open311).
    public: bool,
    /// Hours to handle a case, per urgency (emergency ≤ urgent ≤ routine).
    deadlines: Deadlines,
    /// Reports of the subclass within this many metres (at most 5,000) are possible duplicates (default 100).
    #[schema(maximum = 5000)]
    duplicate_radius_m: Option<u32>,
    /// ...and within this many hours (at most 8,760; default 72).
    #[schema(maximum = 8760)]
    duplicate_window_hours: Option<u32>,
}

fn category_of(app: &AppState, id: i64, b: CategoryBody) -> ApiResult<Category> {
    let reference = app.reference();
    if let Some(p) = b.parent_id {
        let parent = reference
            .categories
            .get(&p)
            .ok_or_else(|| ApiError::unknown("parent_id", format!("no category with id {p}")))?;
        if !parent.is_class() || p == id {
            return Err(ApiError::conflicting("parent_id", "must be a class (a category without a parent)"));
        }
        if parent.kind != b.kind {
            return Err(ApiError::conflicting("kind", format!("must be that of its class ({})", parent.kind.as_str())));
        }
    }
    if let Some(before) = reference.categories.get(&id) {
        if before.is_class() != b.parent_id.is_none() {
            return Err(ApiError::conflicting("parent_id", "a class stays a class and a subclass a subclass"));
        }
        if before.is_class() && before.kind != b.kind && reference.categories.values().any(|c| c.parent_id == Some(id))
        {
            return Err(ApiError::conflicting("kind", "a class with subclasses keeps its kind"));
        }
    }
    if let Some(d) = b.default_department {
        if !reference.departments.contains_key(&d) {
            return Err(ApiError::unknown("default_department", format!("no department with id {d}")));
        }
    }
    b.deadlines.validate().map_err(ApiError::invalid)?;
    if b.deadlines.routine_hours > 8760 {
        return Err(ApiError::field("deadlines", "at most a year (8,760 hours)"));
    }
    let radius = b.duplicate_radius_m.unwrap_or(100);
    if radius > 5000 {
        return Err(ApiError::field("duplicate_radius_m", "at most 5,000 metres"));
    }
    let window = b.duplicate_window_hours.unwrap_or(72);
    if window > 8760 {
        return Err(ApiError::field("duplicate_window_hours", "at most 8,760 hours"));
    }
    Ok(Category {
        id,
        code: code(&b.code)?,
        name: required_text("name", &b.name, 60)?,
        name_en: required_text("name_en", &b.name_en, 80)?,
        kind: b.kind,
        parent_id: b.parent_id,
        default_department: b.default_department,
        public: b.public,
        deadlines: b.deadlines,
        duplicate_radius_m: radius,
        duplicate_window_hours: window,
    })
}

#[utoipa::path(post, path = "/categories", tag = "admin", summary = "Create a category (a class, or a subclass of one)",
    request_body = CategoryBody,
    responses((status = 201, description = "The category", body = CategoryAnswer), (status = 403, description = "Not allowed (role, scope or CSRF token)"), (status = 404, description = "`parent_id` or `default_department` names nothing that exists"), (status = 409, description = "The code is taken, or the class does not fit (`field` says which)")))]
async fn create_category(
    State(app): State<AppState>,
    auth: Auth,
    ApiJson(b): ApiJson<CategoryBody>,
) -> ApiResult<(StatusCode, Json<CategoryAnswer>)> {
    may(&auth.actor, Permission::ManageReference).map_err(refused)?;
    let mut c = category_of(&app, 0, b)?;
    let entry = audit(&auth, app.now(), "reference_change", None, json!({ "category": c, "created": true }));
    c.id = app.store.insert_category(&c, &entry).await?;
    app.reload_reference().await.map_err(ApiError::internal)?;
    Ok((StatusCode::CREATED, Json(CategoryAnswer { category: c })))
}

#[utoipa::path(put, path = "/categories/{id}", tag = "admin", summary = "Change a category: names, deadlines, whether it is public, its default department",
    params(("id" = i64, Path, description = "Category id")),
    request_body = CategoryBody,
    responses((status = 200, description = "The category", body = CategoryAnswer), (status = 403, description = "Not allowed (role, scope or CSRF token)"), (status = 404, description = "Not found, or outside one's scope"), (status = 409, description = "The code is taken, or the class does not fit (`field` says which)")))]
async fn edit_category(
    State(app): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<CategoryBody>,
) -> ApiResult<Json<CategoryAnswer>> {
    may(&auth.actor, Permission::ManageReference).map_err(refused)?;
    let id: i64 = id.parse().map_err(|_| ApiError::not_found("category"))?;
    let before = app.reference().categories.get(&id).cloned().ok_or_else(|| ApiError::not_found("category"))?;
    let c = category_of(&app, id, b)?;
    let entry = audit(
        &auth,
        app.now(),
        "reference_change",
        Some(format!("category:{id}")),
        json!({ "category": c, "before": before }),
    );
    if !app.store.update_category(&c, &entry).await? {
        return Err(ApiError::not_found("category"));
    }
    app.reload_reference().await.map_err(ApiError::internal)?;
    Ok(Json(CategoryAnswer { category: c }))
}
