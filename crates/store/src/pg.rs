//! The PostgreSQL implementation of [`Store`]: the scale-out backend that many stateless server
//! instances share. Same semantics as [`crate::SqliteStore`]: one event per change in the same
//! transaction, optimistic concurrency by version, case numbers per district from `case_counters`,
//! keyset pagination, personal data sealed by the same [`Vault`].

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use gridkeeper_domain::{
    Action, Case, CaseEvent, CaseId, CaseRef, CaseState, Category, CategoryId, CategoryKind, Deadlines, Department,
    DepartmentId, DepartmentKind, ExtensionRequest, FieldError, Grant, LatLon, MediaId, Millis, NewEvent, PersonId,
    Platform, Region, RegionCode, Rejection, Role, Scope, Source, Urgency,
};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgRow};
use sqlx::types::Json;
use sqlx::{Postgres, QueryBuilder, Row, Transaction};

use crate::pg_rollups::{self, community_teams, histories};
use crate::sqlite::{corrupt, json, parse_field};
use crate::sqlite_rollups::Rollup;
use crate::dialect::SqlStore;
use crate::vault::Vault;
use crate::{
    CaseLink, CaseOrder, CaseQuery, Intake, Media, NewPerson, Person, ReferenceData, Result, Store, StoreError,
    NO_DEADLINE,
};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// How long a request waits for a connection before it is answered 503 (the database is away
/// or every connection is busy): never a hang.
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

/// The store on PostgreSQL, which several server instances share.
pub type PgStore = SqlStore<Postgres>;

impl PgStore {
    /// Connects to `url` (`postgres://user@host:port/db`). The pool opens connections lazily and
    /// checks each one before use, so a server started while PostgreSQL is away comes up, answers
    /// 503 until it returns, and recovers by itself.
    pub async fn open(url: &str, vault: Arc<Vault>) -> Result<Self> {
        let opts = PgConnectOptions::from_str(url)?.application_name("gridkeeper");
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .min_connections(0)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .idle_timeout(Some(Duration::from_secs(600)))
            .max_lifetime(Some(Duration::from_secs(1800)))
            .test_before_acquire(true)
            .connect_with(opts)
            .await?;
        Ok(Self { pool, vault })
    }

    /// Begins a write transaction (READ COMMITTED: row locks taken by the statements themselves,
    /// `UPDATE ... WHERE version = $n` and the counter upsert, make concurrent writers queue).
    pub(crate) async fn begin_write(&self) -> Result<Transaction<'static, Postgres>> {
        crate::dialect::begin_write(&self.pool).await
    }
}

/// Converts a stored BIGINT into an unsigned field.
pub(crate) fn unsigned(v: i64) -> Result<u32> {
    u32::try_from(v).map_err(|_| corrupt(format!("{v} does not fit an unsigned 32-bit field")))
}

fn region_row(r: &PgRow) -> Result<Region> {
    let geometry: Option<String> = r.try_get("geometry")?;
    Ok(Region {
        code: parse_field(RegionCode::parse(r.try_get("code")?))?,
        name: r.try_get("name")?,
        name_en: r.try_get("name_en")?,
        geometry: geometry.map(|g| serde_json::from_str(&g)).transpose().map_err(corrupt)?,
    })
}

fn category_row(r: &PgRow) -> Result<Category> {
    Ok(Category {
        id: r.try_get("id")?,
        code: r.try_get("code")?,
        name: r.try_get("name")?,
        name_en: r.try_get("name_en")?,
        kind: parse_field(CategoryKind::parse(r.try_get("kind")?))?,
        parent_id: r.try_get("parent_id")?,
        default_department: r.try_get("default_department")?,
        public: r.try_get("public")?,
        deadlines: Deadlines {
            routine_hours: unsigned(r.try_get("routine_hours")?)?,
            urgent_hours: unsigned(r.try_get("urgent_hours")?)?,
            emergency_hours: unsigned(r.try_get("emergency_hours")?)?,
        },
        duplicate_radius_m: unsigned(r.try_get("duplicate_radius_m")?)?,
        duplicate_window_hours: unsigned(r.try_get("duplicate_window_hours")?)?,
    })
}

type PgQuery<'q> = sqlx::query::Query<'q, Postgres, sqlx::postgres::PgArguments>;

/// Binds a department's columns after its id: code, name, name_en, platform_id, kind, region.
pub(crate) fn bind_department<'q>(q: PgQuery<'q>, d: &'q gridkeeper_domain::Department) -> PgQuery<'q> {
    q.bind(&d.code)
        .bind(&d.name)
        .bind(&d.name_en)
        .bind(d.platform_id)
        .bind(d.kind.as_str())
        .bind(d.region.as_ref().map(|r| r.to_string()))
}

/// Binds a category's columns after its id: code, name, name_en, kind, parent_id,
/// default_department, public, the three deadlines, duplicate_radius_m, duplicate_window_hours.
pub(crate) fn bind_category<'q>(q: PgQuery<'q>, c: &'q gridkeeper_domain::Category) -> PgQuery<'q> {
    q.bind(&c.code)
        .bind(&c.name)
        .bind(&c.name_en)
        .bind(c.kind.as_str())
        .bind(c.parent_id)
        .bind(c.default_department)
        .bind(c.public)
        .bind(i64::from(c.deadlines.routine_hours))
        .bind(i64::from(c.deadlines.urgent_hours))
        .bind(i64::from(c.deadlines.emergency_hours))
        .bind(i64::from(c.duplicate_radius_m))
        .bind(i64::from(c.duplicate_window_hours))
}

pub(crate) fn case_row(r: &PgRow, vault: &Vault) -> Result<Case> {
    let lat: Option<f64> = r.try_get("lat")?;
    let lon: Option<f64> = r.try_get("lon")?;
    let grid: Option<String> = r.try_get("grid")?;
    let co: String = r.try_get("co_departments")?;
    let ext: Option<String> = r.try_get("extension_request")?;
    let opt = |name: &str| -> Result<Option<String>> { Ok(r.try_get::<Option<String>, _>(name)?) };
    Ok(Case {
        id: r.try_get("id")?,
        reference: r.try_get("reference")?,
        version: r.try_get("version")?,
        state: parse_field(CaseState::parse(r.try_get("state")?))?,
        district: r.try_get("district")?,
        grid: grid.map(|g| parse_field(RegionCode::parse(&g))).transpose()?,
        location: lat.zip(lon).map(|(lat, lon)| LatLon { lat, lon }),
        address: r.try_get("address")?,
        description: r.try_get("description")?,
        source: parse_field(Source::parse(r.try_get("source")?))?,
        reporter: r.try_get("reporter")?,
        anonymous: r.try_get("anonymous")?,
        contact: {
            let name = vault.open_opt("cases.contact_name", opt("contact_name")?.as_deref()).map_err(corrupt)?;
            let phone = vault.open_opt("cases.contact_phone", opt("contact_phone")?.as_deref()).map_err(corrupt)?;
            Some(gridkeeper_domain::Contact { name, phone }).filter(|c| !c.is_empty())
        },
        suggested_category: r.try_get("suggested_category")?,
        category: r.try_get("category")?,
        category_kind: opt("category_kind")?.map(|k| parse_field(CategoryKind::parse(&k))).transpose()?,
        public: r.try_get("public")?,
        urgency: parse_field(Urgency::parse(r.try_get("urgency")?))?,
        lead_department: r.try_get("lead_department")?,
        co_departments: serde_json::from_str(&co).map_err(corrupt)?,
        reported_at: r.try_get("reported_at")?,
        accepted_at: r.try_get("accepted_at")?,
        dispatched_at: r.try_get("dispatched_at")?,
        signed_at: r.try_get("signed_at")?,
        resolved_at: r.try_get("resolved_at")?,
        verified_at: r.try_get("verified_at")?,
        closed_at: r.try_get("closed_at")?,
        handle_within: r.try_get("handle_within")?,
        handle_by: r.try_get("handle_by")?,
        due_at: r.try_get("due_at")?,
        extension_request: ext.map(|e| serde_json::from_str::<ExtensionRequest>(&e)).transpose().map_err(corrupt)?,
        returns: r.try_get("returns")?,
        reworks: r.try_get("reworks")?,
        extensions: r.try_get("extensions")?,
        reopens: r.try_get("reopens")?,
        supervisions: r.try_get("supervisions")?,
        rating: r.try_get::<Option<i64>, _>("rating")?.map(|v| v as u8),
        rating_comment: r.try_get("rating_comment")?,
        on_the_spot: r.try_get("on_the_spot")?,
        rejection: opt("rejection")?.map(|k| parse_field(Rejection::parse(&k))).transpose()?,
        duplicate_of: r.try_get("duplicate_of")?,
        updated_at: r.try_get("updated_at")?,
        supervision: opt("supervision")?.map(|j| serde_json::from_str(&j)).transpose().map_err(corrupt)?,
        warned_due: r.try_get("warned_due")?,
        overdue_due: r.try_get("overdue_due")?,
    })
}

pub(crate) fn event_row(r: &PgRow) -> Result<CaseEvent> {
    let from: Option<String> = r.try_get("from_state")?;
    let Json(data): Json<serde_json::Value> = r.try_get("data")?;
    Ok(CaseEvent {
        case_id: r.try_get("case_id")?,
        seq: r.try_get("seq")?,
        event: NewEvent {
            action: parse_field(Action::parse(r.try_get("action")?))?,
            at: r.try_get("at")?,
            actor: r.try_get("actor")?,
            from: from.map(|s| parse_field(CaseState::parse(&s))).transpose()?,
            to: parse_field(CaseState::parse(r.try_get("to_state")?))?,
            data,
        },
    })
}

fn media_row(r: &PgRow) -> Result<Media> {
    Ok(Media {
        id: r.try_get("id")?,
        case_id: r.try_get("case_id")?,
        content_type: r.try_get("content_type")?,
        width: unsigned(r.try_get("width")?)?,
        height: unsigned(r.try_get("height")?)?,
        bytes: r.try_get::<i64, _>("bytes")? as u64,
        object_key: r.try_get("object_key")?,
        thumb_key: r.try_get("thumb_key")?,
        gps_lat: r.try_get("gps_lat")?,
        gps_lon: r.try_get("gps_lon")?,
        uploaded_by: r.try_get("uploaded_by")?,
        created_at: r.try_get("created_at")?,
    })
}

pub(crate) const CASE_COLUMNS: &str =
    "id, reference, version, state, district, grid, scope_region, lat, lon, address, description, \
    source, reporter, anonymous, suggested_category, category, category_kind, public, urgency, lead_department, \
    co_departments, reported_at, accepted_at, dispatched_at, signed_at, resolved_at, verified_at, closed_at, \
    handle_within, handle_by, due_at, extension_request, returns, reworks, extensions, reopens, supervisions, rating, \
    rating_comment, on_the_spot, rejection, duplicate_of, updated_at, contact_name, contact_phone, supervision, warned_due, \
    overdue_due";

/// One SQL value, so that the same column list serves single and multi-row statements.
enum Val {
    B(bool),
    N(i32),
    I(Option<i64>),
    F(Option<f64>),
    T(Option<String>),
}

/// Every projected column of `c`, in the order of `CASE_COLUMNS` after id and reference.
fn case_values(c: &Case, vault: &Vault) -> Vec<Val> {
    use Val::*;
    let t = |s: &str| T(Some(s.to_string()));
    vec![
        I(Some(c.version)),
        t(c.state.as_str()),
        t(&c.district),
        T(c.grid.as_ref().map(|g| g.to_string())),
        t(c.scope_region().as_str()),
        F(c.location.map(|l| l.lat)),
        F(c.location.map(|l| l.lon)),
        T(c.address.clone()),
        t(&c.description),
        t(c.source.as_str()),
        I(c.reporter),
        B(c.anonymous),
        I(c.suggested_category),
        I(c.category),
        T(c.category_kind.map(|k| k.as_str().to_string())),
        B(c.public),
        t(c.urgency.as_str()),
        I(c.lead_department),
        T(Some(json(&c.co_departments))),
        I(Some(c.reported_at)),
        I(c.accepted_at),
        I(c.dispatched_at),
        I(c.signed_at),
        I(c.resolved_at),
        I(c.verified_at),
        I(c.closed_at),
        I(c.handle_within),
        I(c.handle_by),
        I(c.due_at),
        T(c.extension_request.as_ref().map(json)),
        N(c.returns),
        N(c.reworks),
        N(c.extensions),
        N(c.reopens),
        N(c.supervisions),
        I(c.rating.map(i64::from)),
        T(c.rating_comment.clone()),
        B(c.on_the_spot),
        T(c.rejection.map(|r| r.as_str().to_string())),
        I(c.duplicate_of),
        I(Some(c.updated_at)),
        T(vault.seal_opt("cases.contact_name", c.contact.as_ref().and_then(|x| x.name.as_deref()))),
        T(vault.seal_opt("cases.contact_phone", c.contact.as_ref().and_then(|x| x.phone.as_deref()))),
        T(c.supervision.as_ref().map(json)),
        I(c.warned_due),
        I(c.overdue_due),
    ]
}

type Query<'q> = sqlx::query::Query<'q, Postgres, sqlx::postgres::PgArguments>;

fn bind_case<'q>(mut q: Query<'q>, c: &Case, vault: &Vault) -> Query<'q> {
    for v in case_values(c, vault) {
        q = match v {
            Val::B(x) => q.bind(x),
            Val::N(x) => q.bind(x),
            Val::I(x) => q.bind(x),
            Val::F(x) => q.bind(x),
            Val::T(x) => q.bind(x),
        };
    }
    q
}

fn push_case<'q>(row: &mut sqlx::query_builder::Separated<'_, 'q, Postgres, &'static str>, c: &Case, vault: &Vault) {
    for v in case_values(c, vault) {
        match v {
            Val::B(x) => row.push_bind(x),
            Val::N(x) => row.push_bind(x),
            Val::I(x) => row.push_bind(x),
            Val::F(x) => row.push_bind(x),
            Val::T(x) => row.push_bind(x),
        };
    }
}

const UPDATE_CASE: &str =
    "UPDATE cases SET version = $1, state = $2, district = $3, grid = $4, scope_region = $5, lat = $6, \
    lon = $7, address = $8, description = $9, source = $10, reporter = $11, anonymous = $12, suggested_category = $13, \
    category = $14, category_kind = $15, public = $16, urgency = $17, lead_department = $18, co_departments = $19, \
    reported_at = $20, accepted_at = $21, dispatched_at = $22, signed_at = $23, resolved_at = $24, verified_at = $25, \
    closed_at = $26, handle_within = $27, handle_by = $28, due_at = $29, extension_request = $30, returns = $31, reworks = $32, \
    extensions = $33, reopens = $34, supervisions = $35, rating = $36, rating_comment = $37, on_the_spot = $38, rejection = $39, \
    duplicate_of = $40, updated_at = $41, contact_name = $42, contact_phone = $43, supervision = $44, warned_due = $45, overdue_due = $46 \
    WHERE id = $47 AND version = $48";

/// The insert of a new case: every column but the id (an identity), and the tracking hash.
fn insert_case_sql() -> String {
    let columns = CASE_COLUMNS.strip_prefix("id, ").expect("the id comes first");
    let n = columns.split(',').count() + 1;
    let values: Vec<String> = (1..=n).map(|i| format!("${i}")).collect();
    format!("INSERT INTO cases ({columns}, tracking_hash) VALUES ({}) RETURNING id", values.join(", "))
}

async fn next_reference(tx: &mut Transaction<'_, Postgres>, district: &str, year: i32) -> Result<String> {
    let n: i64 = sqlx::query_scalar(
        "INSERT INTO case_counters (district, year, last) VALUES ($1, $2, 1) \
         ON CONFLICT (district, year) DO UPDATE SET last = case_counters.last + 1 RETURNING last",
    )
    .bind(district)
    .bind(year)
    .fetch_one(&mut **tx)
    .await?;
    Ok(CaseRef::new(district, year, n as u32).to_string())
}

async fn insert_event(tx: &mut Transaction<'_, Postgres>, case: CaseId, seq: i64, e: &NewEvent) -> Result<()> {
    sqlx::query(
        "INSERT INTO case_events (case_id, seq, action, at, actor, from_state, to_state, data) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(case)
    .bind(seq)
    .bind(e.action.as_str())
    .bind(e.at)
    .bind(e.actor)
    .bind(e.from.map(|s| s.as_str()))
    .bind(e.to.as_str())
    .bind(Json(&e.data))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn sync_departments(tx: &mut Transaction<'_, Postgres>, c: &Case) -> Result<()> {
    sqlx::query("DELETE FROM case_departments WHERE case_id = $1").bind(c.id).execute(&mut **tx).await?;
    let all = c.lead_department.iter().map(|d| (*d, true)).chain(c.co_departments.iter().map(|d| (*d, false)));
    for (dept, lead) in all {
        sqlx::query("INSERT INTO case_departments (case_id, department_id, lead) VALUES ($1, $2, $3)")
            .bind(c.id)
            .bind(dept)
            .bind(lead)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// Attaches uploaded media to a case. Only media not yet attached elsewhere, uploaded by the same
/// person (or anonymously), can be attached.
async fn attach_media(
    tx: &mut Transaction<'_, Postgres>,
    case: CaseId,
    media: &[MediaId],
    by: Option<PersonId>,
    field: &str,
) -> Result<()> {
    for id in media {
        let done = sqlx::query(
            "UPDATE media SET case_id = $1 WHERE id = $2 AND (case_id IS NULL OR case_id = $3) \
             AND (uploaded_by IS NULL OR uploaded_by IS NOT DISTINCT FROM $4)",
        )
        .bind(case)
        .bind(id)
        .bind(case)
        .bind(by)
        .execute(&mut **tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Invalid(FieldError::new(
                field,
                format!("photo `{id}` does not exist or belongs to someone else; upload it first"),
            )));
        }
    }
    Ok(())
}

/// Moves the identity of `table` past its largest id, after rows were written with ids given by
/// the caller (reference data, imported histories, a data migration).
pub(crate) async fn sync_identity(tx: &mut Transaction<'_, Postgres>, table: &str) -> Result<()> {
    sqlx::query(&format!(
        "SELECT setval(pg_get_serial_sequence('{table}', 'id'), coalesce(max(id), 0) + 1, false) FROM {table}"
    ))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

fn grant_row(r: &PgRow) -> Result<Grant> {
    let role = parse_field(Role::parse(r.try_get("role")?))?;
    let kind: String = r.try_get("scope_type")?;
    let value: String = r.try_get("scope_value")?;
    let scope = parse_field(Scope::parse(&format!("{kind}:{value}")))?;
    parse_field(Grant::new(role, scope))
}

pub(crate) fn scope_parts(s: &Scope) -> (&'static str, String) {
    match s {
        Scope::Region { code } => ("region", code.to_string()),
        Scope::Department { id } => ("department", id.to_string()),
        Scope::Place { id } => ("place", id.to_string()),
    }
}

/// A value a row is looked up by (typed: PostgreSQL does not compare a BIGINT with text).
pub(crate) trait Key: for<'q> sqlx::Encode<'q, Postgres> + sqlx::Type<Postgres> + Send + 'static {}
impl Key for i64 {}
impl Key for String {}

impl PgStore {
    /// Inserts a person and their grants inside `tx`.
    pub(crate) async fn insert_person(
        &self,
        tx: &mut Transaction<'static, Postgres>,
        p: &NewPerson,
        now: Millis,
    ) -> Result<PersonId> {
        let id: PersonId = sqlx::query_scalar(
            "INSERT INTO people (login, name, phone, phone_index, id_number, password_hash, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING RETURNING id",
        )
        .bind(&p.login)
        .bind(self.vault.seal("people.name", &p.name))
        .bind(self.vault.seal_opt("people.phone", p.phone.as_deref()))
        .bind(p.phone.as_deref().map(|ph| self.vault.blind_index("phone", ph)))
        .bind(self.vault.seal_opt("people.id_number", p.id_number.as_deref()))
        .bind(&p.password_hash)
        .bind(now)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or_else(|| {
            StoreError::Invalid(FieldError::new(
                "login",
                format!("`{}` or its phone number is already registered", p.login),
            ))
        })?;
        for g in &p.grants {
            let (kind, value) = scope_parts(&g.scope);
            sqlx::query("INSERT INTO grants (person_id, role, scope_type, scope_value) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING")
                .bind(id)
                .bind(g.role.as_str())
                .bind(kind)
                .bind(value)
                .execute(&mut **tx)
                .await?;
        }
        Ok(id)
    }

    pub(crate) async fn person_where<V: Key>(&self, column: &str, value: V) -> Result<Option<Person>> {
        let sql = format!(
            "SELECT id, login, name, phone, id_number, password_hash, disabled, totp_enabled FROM people WHERE {column} = $1"
        );
        let Some(r) = sqlx::query(&sql).bind(value).fetch_optional(&self.pool).await? else {
            return Ok(None);
        };
        let id: PersonId = r.try_get("id")?;
        let grants = sqlx::query("SELECT role, scope_type, scope_value FROM grants WHERE person_id = $1 ORDER BY role")
            .bind(id)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(grant_row)
            .collect::<Result<Vec<_>>>()?;
        Ok(Some(Person {
            id,
            login: r.try_get("login")?,
            name: self.vault.open("people.name", r.try_get("name")?).map_err(corrupt)?,
            phone: self.vault.open_opt("people.phone", r.try_get("phone")?).map_err(corrupt)?,
            id_number: self.vault.open_opt("people.id_number", r.try_get("id_number")?).map_err(corrupt)?,
            password_hash: r.try_get("password_hash")?,
            disabled: r.try_get("disabled")?,
            totp_enabled: r.try_get("totp_enabled")?,
            grants,
        }))
    }

    async fn case_where<V: Key>(&self, column: &str, value: V) -> Result<Option<Case>> {
        let sql = format!("SELECT {CASE_COLUMNS} FROM cases WHERE {column} = $1");
        sqlx::query(&sql)
            .bind(value)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(|r| case_row(r, &self.vault))
            .transpose()
    }
}

/// `SELECT … FROM cases WHERE` the filters of `q` (visibility included), without order or cursor.
fn case_list(q: &CaseQuery) -> QueryBuilder<'_, Postgres> {
    let mut list = QueryBuilder::<Postgres>::new(format!("SELECT {CASE_COLUMNS} FROM cases WHERE TRUE"));
    let b = &mut list;
    push_visibility(b, q);
    if !q.states.is_empty() {
        b.push(" AND state IN (");
        let mut s = b.separated(", ");
        for st in &q.states {
            s.push_bind(st.as_str());
        }
        b.push(")");
    }
    if let Some(r) = &q.region {
        if q.attention == Some(true) || q.overdue == Some(true) {
            // Open cases whose clock is tested: a bare range, which the planner reads from the
            // index `cases_queue` (open cases by region and clock); wrapped in an OR (as
            // elsewhere) it would walk every open case of the jurisdiction instead.
            b.push(" AND scope_region >= ").push_bind(r.to_string());
            b.push(" AND scope_region < ").push_bind(format!("{r}:"));
        } else {
            // Wrapped, so that the planner keeps walking newest first (`cases_reported`) and
            // stops at the page's end rather than sorting every case of the subtree.
            b.push(" AND (FALSE");
            push_prefix(b, "scope_region", r);
            b.push(")");
        }
    }
    if let Some(d) = q.department {
        b.push(" AND id IN (SELECT case_id FROM case_departments WHERE department_id = ").push_bind(d).push(")");
    }
    if !q.categories.is_empty() {
        b.push(" AND category IN (");
        let mut s = b.separated(", ");
        for c in &q.categories {
            s.push_bind(*c);
        }
        b.push(")");
    }
    if let Some(u) = q.urgency {
        b.push(" AND urgency = ").push_bind(u.as_str());
    }
    match q.overdue {
        Some(true) => {
            b.push(" AND state NOT IN ('closed', 'rated', 'rejected') AND due_at < ").push_bind(q.now);
        }
        Some(false) => {
            b.push(" AND NOT (state NOT IN ('closed', 'rated', 'rejected') AND due_at < ").push_bind(q.now).push(")");
        }
        None => {}
    }
    match q.attention {
        Some(true) => {
            // The open-state term on its own lets the partial index `cases_queue` serve it.
            b.push(" AND state NOT IN ('closed', 'rated', 'rejected') AND (state = 'reported' OR due_at < ")
                .push_bind(q.now)
                .push(")");
        }
        Some(false) => {
            b.push(
                " AND NOT (state NOT IN ('closed', 'rated', 'rejected') AND (state = 'reported' OR \
                 (due_at IS NOT NULL AND due_at < ",
            )
            .push_bind(q.now)
            .push(")))");
        }
        None => {}
    }
    if let Some(sup) = q.supervised {
        b.push(if sup { " AND supervision IS NOT NULL" } else { " AND supervision IS NULL" });
    }
    if let Some(f) = q.reported_from {
        b.push(" AND reported_at >= ").push_bind(f);
    }
    if let Some(t) = q.reported_to {
        b.push(" AND reported_at < ").push_bind(t);
    }
    if let Some(text) = &q.text {
        let pattern = format!("%{}%", crate::like_escape(text));
        // ILIKE: SQLite's LIKE ignores the case of ASCII letters too.
        b.push(" AND (description ILIKE ")
            .push_bind(pattern.clone())
            .push(" ESCAPE '\\' OR address ILIKE ")
            .push_bind(pattern.clone())
            .push(" ESCAPE '\\' OR reference ILIKE ")
            .push_bind(pattern)
            .push(" ESCAPE '\\')");
    }
    list
}

/// Appends the visibility restriction of `q` to a WHERE clause.
pub(crate) fn push_visibility(b: &mut QueryBuilder<'_, Postgres>, q: &CaseQuery) {
    let v = &q.visibility;
    if v.all {
        return;
    }
    b.push(" AND (FALSE");
    for r in &v.regions {
        push_prefix(b, "scope_region", r);
    }
    if !v.departments.is_empty() {
        b.push(" OR id IN (SELECT case_id FROM case_departments WHERE department_id IN (");
        let mut s = b.separated(", ");
        for d in &v.departments {
            s.push_bind(*d);
        }
        b.push("))");
    }
    if let Some(p) = v.reporter {
        b.push(" OR reporter = ").push_bind(p);
    }
    b.push(")");
}

/// `OR column in subtree(code)`, as an index-friendly range: codes are digits, and ':' sorts right after '9'.
pub(crate) fn push_prefix(b: &mut QueryBuilder<'_, Postgres>, column: &str, code: &RegionCode) {
    b.push(format!(" OR ({column} >= "))
        .push_bind(code.to_string())
        .push(format!(" AND {column} < "))
        .push_bind(format!("{code}:"))
        .push(")");
}

#[async_trait]
impl Store for PgStore {
    #[tracing::instrument(skip(self))]
    async fn migrate(&self) -> Result<()> {
        MIGRATOR.run(&self.pool).await?;
        self.ensure_rollups().await
    }

    async fn load_reference(&self, d: &ReferenceData) -> Result<()> {
        let mut tx = self.begin_write().await?;
        // Parents before children, whatever order they were given in.
        let mut regions: Vec<&Region> = d.regions.iter().collect();
        regions.sort_by_key(|r| (r.code.level(), r.code.clone()));
        for r in regions {
            sqlx::query(
                "INSERT INTO regions (code, parent, level, name, name_en, geometry) VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (code) DO UPDATE SET parent = excluded.parent, name = excluded.name, \
                 name_en = excluded.name_en, geometry = excluded.geometry, retired_at = NULL",
            )
            .bind(r.code.as_str())
            .bind(r.parent().map(|p| p.to_string()))
            .bind(r.level().as_str())
            .bind(&r.name)
            .bind(&r.name_en)
            .bind(r.geometry.as_ref().map(|g| g.to_string()))
            .execute(&mut *tx)
            .await?;
        }
        for p in &d.platforms {
            sqlx::query(
                "INSERT INTO platforms (id, code, name, name_en) VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO UPDATE \
                 SET code = excluded.code, name = excluded.name, name_en = excluded.name_en",
            )
            .bind(p.id)
            .bind(&p.code)
            .bind(&p.name)
            .bind(&p.name_en)
            .execute(&mut *tx)
            .await?;
        }
        for x in &d.departments {
            let q = sqlx::query(
                "INSERT INTO departments (id, code, name, name_en, platform_id, kind, region) VALUES ($1, $2, $3, $4, $5, $6, $7) \
                 ON CONFLICT (id) DO UPDATE SET code = excluded.code, name = excluded.name, name_en = excluded.name_en, \
                 platform_id = excluded.platform_id, kind = excluded.kind, region = excluded.region",
            )
            .bind(x.id);
            bind_department(q, x).execute(&mut *tx).await?;
        }
        let mut cats: Vec<&Category> = d.categories.iter().collect();
        cats.sort_by_key(|c| c.parent_id.is_some());
        for c in cats {
            let q = sqlx::query(
                "INSERT INTO categories (id, code, name, name_en, kind, parent_id, default_department, public, \
                 routine_hours, urgent_hours, emergency_hours, duplicate_radius_m, duplicate_window_hours) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) ON CONFLICT (id) DO UPDATE SET \
                 code = excluded.code, name = excluded.name, name_en = excluded.name_en, kind = excluded.kind, \
                 parent_id = excluded.parent_id, default_department = excluded.default_department, public = excluded.public, \
                 routine_hours = excluded.routine_hours, urgent_hours = excluded.urgent_hours, \
                 emergency_hours = excluded.emergency_hours, duplicate_radius_m = excluded.duplicate_radius_m, \
                 duplicate_window_hours = excluded.duplicate_window_hours",
            )
            .bind(c.id);
            bind_category(q, c).execute(&mut *tx).await?;
        }
        for table in ["platforms", "departments", "categories"] {
            sync_identity(&mut tx, table).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn regions(&self) -> Result<Vec<Region>> {
        sqlx::query("SELECT code, name, name_en, geometry FROM regions WHERE retired_at IS NULL ORDER BY code")
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(region_row)
            .collect()
    }

    async fn platforms(&self) -> Result<Vec<Platform>> {
        let rows =
            sqlx::query("SELECT id, code, name, name_en FROM platforms ORDER BY id").fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| {
                Ok(Platform {
                    id: r.try_get("id")?,
                    code: r.try_get("code")?,
                    name: r.try_get("name")?,
                    name_en: r.try_get("name_en")?,
                })
            })
            .collect()
    }

    async fn departments(&self) -> Result<Vec<Department>> {
        let rows =
            sqlx::query("SELECT id, code, name, name_en, platform_id, kind, region FROM departments ORDER BY id")
                .fetch_all(&self.pool)
                .await?;
        rows.iter()
            .map(|r| {
                let region: Option<String> = r.try_get("region")?;
                Ok(Department {
                    id: r.try_get("id")?,
                    code: r.try_get("code")?,
                    name: r.try_get("name")?,
                    name_en: r.try_get("name_en")?,
                    platform_id: r.try_get("platform_id")?,
                    kind: parse_field(DepartmentKind::parse(r.try_get("kind")?))?,
                    region: region.map(|c| parse_field(RegionCode::parse(&c))).transpose()?,
                })
            })
            .collect()
    }

    async fn categories(&self) -> Result<Vec<Category>> {
        sqlx::query("SELECT * FROM categories ORDER BY code")
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(category_row)
            .collect()
    }

    async fn create_person(&self, p: &NewPerson, now: Millis) -> Result<PersonId> {
        let mut tx = self.begin_write().await?;
        let id = self.insert_person(&mut tx, p, now).await?;
        tx.commit().await?;
        Ok(id)
    }

    async fn person(&self, id: PersonId) -> Result<Option<Person>> {
        self.person_where("id", id).await
    }

    async fn person_by_login(&self, login: &str) -> Result<Option<Person>> {
        self.person_where("login", login.to_string()).await
    }

    async fn create_session(&self, token_hash: &str, person: PersonId, now: Millis, expires_at: Millis) -> Result<()> {
        sqlx::query("INSERT INTO sessions (token_hash, person_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
            .bind(token_hash)
            .bind(person)
            .bind(now)
            .bind(expires_at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn session_person(&self, token_hash: &str, now: Millis) -> Result<Option<PersonId>> {
        Ok(sqlx::query_scalar(
            "SELECT s.person_id FROM sessions s JOIN people p ON p.id = s.person_id \
             WHERE s.token_hash = $1 AND s.expires_at > $2 AND NOT p.disabled",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?)
    }

    async fn delete_session(&self, token_hash: &str) -> Result<()> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1").bind(token_hash).execute(&self.pool).await?;
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(district = %intake.decision.case.district))]
    async fn insert_case(&self, intake: Intake<'_>) -> Result<Case> {
        let d = intake.decision;
        let mut case = d.case.clone();
        let mut tx = self.begin_write().await?;
        case.reference = next_reference(&mut tx, &case.district, intake.year).await?;
        let sql = insert_case_sql();
        let q = sqlx::query(&sql).bind(&case.reference);
        let row = bind_case(q, &case, &self.vault).bind(intake.tracking_hash).fetch_one(&mut *tx).await?;
        case.id = row.try_get("id")?;
        insert_event(&mut tx, case.id, case.version, &d.event).await?;
        sync_departments(&mut tx, &case).await?;
        attach_media(&mut tx, case.id, intake.media, d.event.actor, "photos").await?;
        let mut rollup = Rollup::default();
        rollup.add(&case, std::slice::from_ref(&d.event), &community_teams(&mut tx).await?, 1);
        pg_rollups::write(rollup, &mut tx).await?;
        tx.commit().await?;
        tracing::info!(case = case.id, reference = %case.reference, "case stored");
        Ok(case)
    }

    #[tracing::instrument(skip_all, fields(case = decision.case.id, action = decision.event.action.as_str()))]
    async fn apply(&self, decision: &gridkeeper_domain::Decision, media: &[MediaId]) -> Result<Case> {
        let case = &decision.case;
        let mut tx = self.begin_write().await?;
        let before = histories(self, &mut tx, case.id, case.id).await?;
        let done = bind_case(sqlx::query(UPDATE_CASE), case, &self.vault)
            .bind(case.id)
            .bind(case.version - 1)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            drop(tx);
            let current = self.case(case.id).await?.ok_or_else(|| corrupt(format!("case {} vanished", case.id)))?;
            return Err(StoreError::Conflict(Box::new(current)));
        }
        insert_event(&mut tx, case.id, case.version, &decision.event).await?;
        if decision.event.action == Action::Dispatch
            || decision.event.action == Action::Return
            || decision.event.action == Action::Reopen
        {
            sync_departments(&mut tx, case).await?;
        }
        attach_media(&mut tx, case.id, media, decision.event.actor, "evidence").await?;
        // The update succeeded at version - 1, so `before` is the case as it was replaced.
        if let Some((old, mut events)) = before.into_iter().next() {
            let community = community_teams(&mut tx).await?;
            let mut rollup = Rollup::default();
            rollup.add(&old, &events, &community, -1);
            events.push(decision.event.clone());
            rollup.add(case, &events, &community, 1);
            pg_rollups::write(rollup, &mut tx).await?;
        }
        tx.commit().await?;
        Ok(case.clone())
    }

    async fn case(&self, id: CaseId) -> Result<Option<Case>> {
        self.case_where("id", id).await
    }

    async fn case_by_reference(&self, reference: &str) -> Result<Option<Case>> {
        self.case_where("reference", reference.to_string()).await
    }

    async fn case_by_tracking(&self, tracking_hash: &str) -> Result<Option<Case>> {
        self.case_where("tracking_hash", tracking_hash.to_string()).await
    }

    async fn events(&self, case: CaseId) -> Result<Vec<CaseEvent>> {
        let rows = sqlx::query("SELECT * FROM case_events WHERE case_id = $1 ORDER BY seq")
            .bind(case)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(event_row).collect()
    }

    #[tracing::instrument(skip_all)]
    async fn list_cases(&self, q: &CaseQuery) -> Result<Vec<Case>> {
        let limit = i64::from(q.limit.clamp(1, 200));
        let mut out = Vec::new();
        match q.order {
            CaseOrder::Newest => {
                let mut b = case_list(q);
                if let Some((at, id)) = q.after {
                    b.push(" AND (reported_at < ").push_bind(at).push(" OR (reported_at = ").push_bind(at);
                    b.push(" AND id < ").push_bind(id).push("))");
                }
                b.push(" ORDER BY reported_at DESC, id DESC LIMIT ").push_bind(limit);
                out.extend(b.build().fetch_all(&self.pool).await?);
            }
            CaseOrder::Deadline => {
                // Cases with a running clock by deadline, then (when the page is not full) those
                // without one by id: two index-ordered queries rather than one that sorts NULLs.
                if q.after.is_none_or(|(due, _)| due != NO_DEADLINE) {
                    let mut b = case_list(q);
                    b.push(" AND due_at IS NOT NULL");
                    if let Some((due, id)) = q.after {
                        b.push(" AND (due_at > ").push_bind(due).push(" OR (due_at = ").push_bind(due);
                        b.push(" AND id > ").push_bind(id).push("))");
                    }
                    b.push(" ORDER BY due_at, id LIMIT ").push_bind(limit);
                    out.extend(b.build().fetch_all(&self.pool).await?);
                }
                if (out.len() as i64) < limit {
                    let mut b = case_list(q);
                    b.push(" AND due_at IS NULL");
                    if let Some((NO_DEADLINE, id)) = q.after {
                        b.push(" AND id > ").push_bind(id);
                    }
                    b.push(" ORDER BY id LIMIT ").push_bind(limit - out.len() as i64);
                    out.extend(b.build().fetch_all(&self.pool).await?);
                }
            }
        }
        out.iter().map(|r| case_row(r, &self.vault)).collect()
    }

    async fn cases_near(
        &self,
        category: CategoryId,
        bbox: [f64; 4],
        since: Millis,
        exclude: CaseId,
    ) -> Result<Vec<Case>> {
        let [min_lat, min_lon, max_lat, max_lon] = bbox;
        let sql = format!(
            "SELECT {CASE_COLUMNS} FROM cases WHERE state NOT IN ('closed', 'rated', 'rejected') AND category = $1 \
             AND lat BETWEEN $2 AND $3 AND lon BETWEEN $4 AND $5 AND reported_at >= $6 AND id != $7 \
             ORDER BY reported_at DESC LIMIT 50"
        );
        sqlx::query(&sql)
            .bind(category)
            .bind(min_lat)
            .bind(max_lat)
            .bind(min_lon)
            .bind(max_lon)
            .bind(since)
            .bind(exclude)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| case_row(r, &self.vault))
            .collect()
    }

    async fn public_cases_in(&self, bbox: [f64; 4], since: Millis, limit: u32) -> Result<Vec<Case>> {
        let [min_lat, min_lon, max_lat, max_lon] = bbox;
        let sql = format!(
            "SELECT {CASE_COLUMNS} FROM cases WHERE state NOT IN ('reported', 'rejected') AND category IS NOT NULL \
             AND lat BETWEEN $1 AND $2 AND lon BETWEEN $3 AND $4 AND reported_at >= $5 \
             ORDER BY reported_at DESC, id DESC LIMIT $6"
        );
        sqlx::query(&sql)
            .bind(min_lat)
            .bind(max_lat)
            .bind(min_lon)
            .bind(max_lon)
            .bind(since)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| case_row(r, &self.vault))
            .collect()
    }

    async fn duplicates_of(&self, case: CaseId) -> Result<Vec<CaseLink>> {
        let rows = sqlx::query("SELECT id, reference, state FROM cases WHERE duplicate_of = $1 ORDER BY id")
            .bind(case)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(CaseLink {
                    id: r.try_get("id")?,
                    reference: r.try_get("reference")?,
                    state: parse_field(CaseState::parse(r.try_get("state")?))?,
                })
            })
            .collect()
    }

    #[tracing::instrument(skip_all, fields(cases = cases.len()))]
    async fn import_history(&self, cases: &[(Case, Vec<NewEvent>)], utc_offset_hours: i32) -> Result<()> {
        use chrono::Datelike;
        use std::collections::HashMap;
        if let Some((c, e)) = cases.iter().find(|(c, e)| e.len() as i64 != c.version || e.is_empty()) {
            return Err(StoreError::Invalid(FieldError::new(
                "history",
                format!(
                    "a case's version must equal its number of events ({} has {} for {})",
                    c.description,
                    e.len(),
                    c.version
                ),
            )));
        }
        let offset = chrono::FixedOffset::east_opt(utc_offset_hours * 3600)
            .ok_or_else(|| StoreError::Invalid(FieldError::new("utc_offset_hours", "must lie between -23 and 23")))?;
        let year = |at: Millis| chrono::DateTime::from_timestamp_millis(at).map(|t| t.with_timezone(&offset).year());
        let mut tx = self.begin_write().await?;
        // Ids are given here, so no other writer may take one meanwhile (reads go on).
        sqlx::query("LOCK TABLE cases, case_counters, rollup_counts, rollup_stages, rollup_people IN EXCLUSIVE MODE")
            .execute(&mut *tx)
            .await?;
        let mut counters: HashMap<(String, i32), i64> = HashMap::new();
        let mut next_id: i64 =
            sqlx::query_scalar("SELECT coalesce(max(id), 0) + 1 FROM cases").fetch_one(&mut *tx).await?;
        let community = community_teams(&mut tx).await?;
        let mut rollup = Rollup::default();
        // Multi-row statements: a few hundred rows each, well under PostgreSQL's 65,535 parameters.
        for (i, chunk) in cases.chunks(300).enumerate() {
            if i % 50 == 49 {
                // The rollup changes of 15,000 cases at a time: memory stays small.
                pg_rollups::write(std::mem::take(&mut rollup), &mut tx).await?;
            }
            let mut stored = Vec::with_capacity(chunk.len());
            for (case, events) in chunk {
                let y = year(case.reported_at).unwrap_or(1970);
                let key = (case.district.clone(), y);
                if !counters.contains_key(&key) {
                    let last: Option<i64> =
                        sqlx::query_scalar("SELECT last FROM case_counters WHERE district = $1 AND year = $2")
                            .bind(&key.0)
                            .bind(y)
                            .fetch_optional(&mut *tx)
                            .await?;
                    counters.insert(key.clone(), last.unwrap_or(0));
                }
                let n = counters.get_mut(&key).expect("inserted above");
                *n += 1;
                let mut c = case.clone();
                c.id = next_id;
                c.reference = CaseRef::new(&c.district, y, *n as u32).to_string();
                next_id += 1;
                rollup.add(&c, events, &community, 1);
                stored.push((c, events));
            }
            let mut b = QueryBuilder::<Postgres>::new(format!("INSERT INTO cases ({CASE_COLUMNS}) "));
            b.push_values(&stored, |mut row, (c, _)| {
                row.push_bind(c.id).push_bind(c.reference.clone());
                push_case(&mut row, c, &self.vault);
            });
            b.build().execute(&mut *tx).await?;
            let events: Vec<(CaseId, i64, &NewEvent)> = stored
                .iter()
                .flat_map(|(c, es)| es.iter().enumerate().map(move |(i, e)| (c.id, i as i64 + 1, e)))
                .collect();
            for part in events.chunks(2000) {
                let mut b = QueryBuilder::<Postgres>::new(
                    "INSERT INTO case_events (case_id, seq, action, at, actor, from_state, to_state, data) ",
                );
                b.push_values(part, |mut row, (case, seq, e)| {
                    row.push_bind(*case)
                        .push_bind(*seq)
                        .push_bind(e.action.as_str())
                        .push_bind(e.at)
                        .push_bind(e.actor)
                        .push_bind(e.from.map(|s| s.as_str()))
                        .push_bind(e.to.as_str())
                        .push_bind(Json(&e.data));
                });
                b.build().execute(&mut *tx).await?;
            }
            let links: Vec<(CaseId, DepartmentId, bool)> = stored
                .iter()
                .flat_map(|(c, _)| {
                    c.lead_department
                        .map(|d| (c.id, d, true))
                        .into_iter()
                        .chain(c.co_departments.iter().map(|d| (c.id, *d, false)))
                })
                .collect();
            if !links.is_empty() {
                let mut b =
                    QueryBuilder::<Postgres>::new("INSERT INTO case_departments (case_id, department_id, lead) ");
                b.push_values(&links, |mut row, (case, dept, lead)| {
                    row.push_bind(*case).push_bind(*dept).push_bind(*lead);
                });
                b.build().execute(&mut *tx).await?;
            }
        }
        pg_rollups::write(rollup, &mut tx).await?;
        for ((district, y), last) in counters {
            sqlx::query(
                "INSERT INTO case_counters (district, year, last) VALUES ($1, $2, $3) \
                 ON CONFLICT (district, year) DO UPDATE SET last = excluded.last",
            )
            .bind(district)
            .bind(y)
            .bind(last)
            .execute(&mut *tx)
            .await?;
        }
        sync_identity(&mut tx, "cases").await?;
        tx.commit().await?;
        Ok(())
    }

    async fn open_cases_with_clocks(&self, after: CaseId, limit: u32) -> Result<Vec<Case>> {
        let sql = format!(
            "SELECT {CASE_COLUMNS} FROM cases WHERE state NOT IN ('closed', 'rated', 'rejected') AND due_at IS NOT NULL \
             AND id > $1 ORDER BY id LIMIT $2"
        );
        sqlx::query(&sql)
            .bind(after)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| case_row(r, &self.vault))
            .collect()
    }

    async fn count_cases(&self) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT count(*) FROM cases").fetch_one(&self.pool).await?)
    }

    async fn insert_media(&self, m: &Media) -> Result<()> {
        sqlx::query(
            "INSERT INTO media (id, case_id, content_type, width, height, bytes, object_key, thumb_key, gps_lat, gps_lon, \
             uploaded_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(&m.id)
        .bind(m.case_id)
        .bind(&m.content_type)
        .bind(i64::from(m.width))
        .bind(i64::from(m.height))
        .bind(m.bytes as i64)
        .bind(&m.object_key)
        .bind(&m.thumb_key)
        .bind(m.gps_lat)
        .bind(m.gps_lon)
        .bind(m.uploaded_by)
        .bind(m.created_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn media(&self, id: &str) -> Result<Option<Media>> {
        sqlx::query("SELECT * FROM media WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(media_row)
            .transpose()
    }

    async fn case_media(&self, case: CaseId) -> Result<Vec<Media>> {
        sqlx::query("SELECT * FROM media WHERE case_id = $1 ORDER BY created_at, id")
            .bind(case)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(media_row)
            .collect()
    }
}
