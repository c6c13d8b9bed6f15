//! The SQLite implementation of [`Store`]: one file, WAL mode, migrations embedded.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use gridkeeper_domain::{
    Action, Case, CaseEvent, CaseId, CaseRef, CaseState, Category, CategoryId, CategoryKind, Deadlines, Department,
    DepartmentKind, ExtensionRequest, FieldError, Grant, LatLon, MediaId, Millis, NewEvent, PersonId, Platform, Region,
    RegionCode, Rejection, Role, Scope, Source, Urgency,
};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous};
use sqlx::{QueryBuilder, Row, Sqlite, SqliteConnection, Transaction};

use crate::sqlite_bulk::Numbering;
use crate::sqlite_rollups::{community_teams, histories, Rollup};
use crate::dialect::SqlStore;
use crate::vault::Vault;
use crate::{
    CaseLink, CaseOrder, CaseQuery, Intake, Media, NewPerson, Person, ReferenceData, Result, Store, StoreError,
    NO_DEADLINE,
};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// The store on SQLite: one file, WAL mode, migrations embedded.
pub type SqliteStore = SqlStore<Sqlite>;

/// SQLite's page cache per connection (`PRAGMA cache_size`, negative: KiB): 16 MB, with 8
/// connections at most, so the server's memory stays bounded however large the database (the
/// OS file cache holds the rest).
pub(crate) const CACHE_SIZE: &str = "-16000";

impl SqliteStore {
    /// Opens (creating if needed) the database at `url` (`sqlite:path` or `sqlite::memory:`),
    /// in WAL mode with full synchronous commits: a case acknowledged to a reporter survives a
    /// crash of the process or the machine.
    pub async fn open(url: &str, vault: Arc<Vault>) -> Result<Self> {
        let opts = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10))
            .pragma("temp_store", "memory")
            .pragma("cache_size", CACHE_SIZE);
        let in_memory = url.contains(":memory:");
        let pool = SqlitePoolOptions::new()
            // An in-memory database exists once per connection: keep exactly one.
            .max_connections(if in_memory { 1 } else { 8 })
            .min_connections(if in_memory { 1 } else { 0 })
            .idle_timeout(if in_memory { None } else { Some(Duration::from_secs(600)) })
            .max_lifetime(if in_memory { None } else { Some(Duration::from_secs(3600)) })
            .connect_with(opts)
            .await?;
        Ok(Self { pool, vault })
    }

    /// Begins a write transaction that takes the write lock at once (`BEGIN IMMEDIATE`), so two
    /// writers queue instead of failing half-way with SQLITE_BUSY.
    pub(crate) async fn begin_write(&self) -> Result<Transaction<'static, Sqlite>> {
        crate::dialect::begin_write(&self.pool).await
    }
}

pub(crate) fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(what.to_string())
}

pub(crate) fn parse_field<T>(r: std::result::Result<T, FieldError>) -> Result<T> {
    r.map_err(corrupt)
}

pub(crate) fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("serialising plain data cannot fail")
}

fn region_row(r: &SqliteRow) -> Result<Region> {
    let geometry: Option<String> = r.try_get("geometry")?;
    Ok(Region {
        code: parse_field(RegionCode::parse(r.try_get("code")?))?,
        name: r.try_get("name")?,
        name_en: r.try_get("name_en")?,
        geometry: geometry.map(|g| serde_json::from_str(&g)).transpose().map_err(corrupt)?,
    })
}

fn category_row(r: &SqliteRow) -> Result<Category> {
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
            routine_hours: r.try_get("routine_hours")?,
            urgent_hours: r.try_get("urgent_hours")?,
            emergency_hours: r.try_get("emergency_hours")?,
        },
        duplicate_radius_m: r.try_get("duplicate_radius_m")?,
        duplicate_window_hours: r.try_get("duplicate_window_hours")?,
    })
}

type SqliteQuery<'q> = sqlx::query::Query<'q, Sqlite, sqlx::sqlite::SqliteArguments<'q>>;

/// Binds a department's columns after its id: code, name, name_en, platform_id, kind, region.
pub(crate) fn bind_department<'q>(q: SqliteQuery<'q>, d: &'q gridkeeper_domain::Department) -> SqliteQuery<'q> {
    q.bind(&d.code)
        .bind(&d.name)
        .bind(&d.name_en)
        .bind(d.platform_id)
        .bind(d.kind.as_str())
        .bind(d.region.as_ref().map(|r| r.to_string()))
}

/// Binds a category's columns after its id: code, name, name_en, kind, parent_id,
/// default_department, public, the three deadlines, duplicate_radius_m, duplicate_window_hours.
pub(crate) fn bind_category<'q>(q: SqliteQuery<'q>, c: &'q gridkeeper_domain::Category) -> SqliteQuery<'q> {
    q.bind(&c.code)
        .bind(&c.name)
        .bind(&c.name_en)
        .bind(c.kind.as_str())
        .bind(c.parent_id)
        .bind(c.default_department)
        .bind(c.public)
        .bind(c.deadlines.routine_hours)
        .bind(c.deadlines.urgent_hours)
        .bind(c.deadlines.emergency_hours)
        .bind(c.duplicate_radius_m)
        .bind(c.duplicate_window_hours)
}

pub(crate) fn case_row(r: &SqliteRow, vault: &Vault) -> Result<Case> {
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

pub(crate) fn event_row(r: &SqliteRow) -> Result<CaseEvent> {
    let from: Option<String> = r.try_get("from_state")?;
    let data: String = r.try_get("data")?;
    Ok(CaseEvent {
        case_id: r.try_get("case_id")?,
        seq: r.try_get("seq")?,
        event: NewEvent {
            action: parse_field(Action::parse(r.try_get("action")?))?,
            at: r.try_get("at")?,
            actor: r.try_get("actor")?,
            from: from.map(|s| parse_field(CaseState::parse(&s))).transpose()?,
            to: parse_field(CaseState::parse(r.try_get("to_state")?))?,
            data: serde_json::from_str(&data).map_err(corrupt)?,
        },
    })
}

fn media_row(r: &SqliteRow) -> Result<Media> {
    Ok(Media {
        id: r.try_get("id")?,
        case_id: r.try_get("case_id")?,
        content_type: r.try_get("content_type")?,
        width: r.try_get("width")?,
        height: r.try_get("height")?,
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
pub(crate) enum Val {
    I(Option<i64>),
    F(Option<f64>),
    T(Option<String>),
}

/// Every projected column of `c`, in the order of `CASE_COLUMNS` after id and reference.
pub(crate) fn case_values(c: &Case, vault: &Vault) -> Vec<Val> {
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
        I(Some(c.anonymous.into())),
        I(c.suggested_category),
        I(c.category),
        T(c.category_kind.map(|k| k.as_str().to_string())),
        I(Some(c.public.into())),
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
        I(Some(c.returns.into())),
        I(Some(c.reworks.into())),
        I(Some(c.extensions.into())),
        I(Some(c.reopens.into())),
        I(Some(c.supervisions.into())),
        I(c.rating.map(i64::from)),
        T(c.rating_comment.clone()),
        I(Some(c.on_the_spot.into())),
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

type Query<'q> = sqlx::query::Query<'q, Sqlite, sqlx::sqlite::SqliteArguments<'q>>;

fn bind_case<'q>(mut q: Query<'q>, c: &Case, vault: &Vault) -> Query<'q> {
    for v in case_values(c, vault) {
        q = match v {
            Val::I(x) => q.bind(x),
            Val::F(x) => q.bind(x),
            Val::T(x) => q.bind(x),
        };
    }
    q
}

pub(crate) fn push_case<'q>(
    row: &mut sqlx::query_builder::Separated<'_, 'q, Sqlite, &'static str>,
    c: &Case,
    vault: &Vault,
) {
    for v in case_values(c, vault) {
        match v {
            Val::I(x) => row.push_bind(x),
            Val::F(x) => row.push_bind(x),
            Val::T(x) => row.push_bind(x),
        };
    }
}

const UPDATE_CASE: &str =
    "UPDATE cases SET version = ?, state = ?, district = ?, grid = ?, scope_region = ?, lat = ?, \
    lon = ?, address = ?, description = ?, source = ?, reporter = ?, anonymous = ?, suggested_category = ?, \
    category = ?, category_kind = ?, public = ?, urgency = ?, lead_department = ?, co_departments = ?, \
    reported_at = ?, accepted_at = ?, dispatched_at = ?, signed_at = ?, resolved_at = ?, verified_at = ?, \
    closed_at = ?, handle_within = ?, handle_by = ?, due_at = ?, extension_request = ?, returns = ?, reworks = ?, \
    extensions = ?, reopens = ?, supervisions = ?, rating = ?, rating_comment = ?, on_the_spot = ?, rejection = ?, \
    duplicate_of = ?, updated_at = ?, contact_name = ?, contact_phone = ?, supervision = ?, warned_due = ?, overdue_due = ? \
    WHERE id = ? AND version = ?";

fn insert_case_sql() -> &'static str {
    static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        let n = CASE_COLUMNS.split(',').count();
        format!(
            "INSERT INTO cases ({CASE_COLUMNS}, tracking_hash) VALUES ({})",
            std::iter::repeat_n("?", n + 1).collect::<Vec<_>>().join(", ")
        )
    });
    &SQL
}

async fn next_reference(tx: &mut Transaction<'_, Sqlite>, district: &str, year: i32) -> Result<String> {
    let n: i64 = sqlx::query_scalar(
        "INSERT INTO case_counters (district, year, last) VALUES (?, ?, 1) \
         ON CONFLICT (district, year) DO UPDATE SET last = last + 1 RETURNING last",
    )
    .bind(district)
    .bind(year)
    .fetch_one(&mut **tx)
    .await?;
    Ok(CaseRef::new(district, year, n as u32).to_string())
}

/// Events per multi-row `INSERT` (8 values each).
pub(crate) const EVENT_ROWS: usize = 4000;

/// Writes events `(case, seq, event)` with multi-row `INSERT`s.
pub(crate) async fn insert_events(conn: &mut SqliteConnection, events: &[(CaseId, i64, &NewEvent)]) -> Result<()> {
    for part in events.chunks(EVENT_ROWS) {
        let mut b = QueryBuilder::<Sqlite>::new(
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
                .push_bind(e.data.to_string());
        });
        b.build().execute(&mut *conn).await?;
    }
    Ok(())
}

async fn insert_event(tx: &mut Transaction<'_, Sqlite>, case: CaseId, seq: i64, e: &NewEvent) -> Result<()> {
    sqlx::query(
        "INSERT INTO case_events (case_id, seq, action, at, actor, from_state, to_state, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(case)
    .bind(seq)
    .bind(e.action.as_str())
    .bind(e.at)
    .bind(e.actor)
    .bind(e.from.map(|s| s.as_str()))
    .bind(e.to.as_str())
    .bind(e.data.to_string())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn sync_departments(tx: &mut Transaction<'_, Sqlite>, c: &Case) -> Result<()> {
    sqlx::query("DELETE FROM case_departments WHERE case_id = ?").bind(c.id).execute(&mut **tx).await?;
    let all = c.lead_department.iter().map(|d| (*d, true)).chain(c.co_departments.iter().map(|d| (*d, false)));
    for (dept, lead) in all {
        sqlx::query("INSERT INTO case_departments (case_id, department_id, lead) VALUES (?, ?, ?)")
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
    tx: &mut Transaction<'_, Sqlite>,
    case: CaseId,
    media: &[MediaId],
    by: Option<PersonId>,
    field: &str,
) -> Result<()> {
    for id in media {
        let done = sqlx::query(
            "UPDATE media SET case_id = ? WHERE id = ? AND (case_id IS NULL OR case_id = ?) \
             AND (uploaded_by IS NULL OR uploaded_by IS ?)",
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

impl SqliteStore {
    /// New cases without photos, in one transaction of multi-row statements: ids and reference
    /// numbers follow the stored ones (the write lock is held), the counters move once per
    /// district and year.
    async fn insert_group(&self, intakes: &[Intake<'_>]) -> Result<Vec<Case>> {
        let mut tx = self.begin_write().await?;
        let mut numbering = Numbering::new(&mut tx).await?;
        let mut cases = Vec::with_capacity(intakes.len());
        for intake in intakes {
            let mut case = intake.decision.case.clone();
            numbering.assign(&mut tx, &mut case, intake.year).await?;
            cases.push(case);
        }
        // 50 values a case: well under SQLite's 32,766 bound variables per statement.
        for (cs, is) in cases.chunks(600).zip(intakes.chunks(600)) {
            let mut b = QueryBuilder::<Sqlite>::new(format!("INSERT INTO cases ({CASE_COLUMNS}, tracking_hash) "));
            b.push_values(cs.iter().zip(is), |mut row, (c, i)| {
                row.push_bind(c.id).push_bind(c.reference.clone());
                push_case(&mut row, c, &self.vault);
                row.push_bind(i.tracking_hash.map(str::to_string));
            });
            b.build().execute(&mut *tx).await?;
            let events: Vec<_> = cs.iter().zip(is).map(|(c, i)| (c.id, c.version, &i.decision.event)).collect();
            insert_events(&mut tx, &events).await?;
        }
        for case in cases.iter().filter(|c| c.lead_department.is_some() || !c.co_departments.is_empty()) {
            sync_departments(&mut tx, case).await?;
        }
        numbering.save(&mut tx).await?;
        let community = community_teams(&mut tx).await?;
        let mut rollup = Rollup::default();
        for (case, intake) in cases.iter().zip(intakes) {
            rollup.add(case, std::slice::from_ref(&intake.decision.event), &community, 1);
        }
        rollup.write(&mut tx).await?;
        tx.commit().await?;
        Ok(cases)
    }
}

/// Writes a new case inside `tx`: its reference from the counter, the case row, its first
/// event, its department links, its photos.
async fn insert_new_case(tx: &mut Transaction<'_, Sqlite>, vault: &Vault, intake: &Intake<'_>) -> Result<Case> {
    let d = intake.decision;
    let mut case = d.case.clone();
    case.reference = next_reference(tx, &case.district, intake.year).await?;
    let q = sqlx::query(insert_case_sql()).bind(Option::<i64>::None).bind(&case.reference);
    let res = bind_case(q, &case, vault).bind(intake.tracking_hash).execute(&mut **tx).await?;
    case.id = res.last_insert_rowid();
    insert_event(tx, case.id, case.version, &d.event).await?;
    if case.lead_department.is_some() || !case.co_departments.is_empty() {
        sync_departments(tx, &case).await?;
    }
    attach_media(tx, case.id, intake.media, d.event.actor, "photos").await?;
    Ok(case)
}

fn grant_row(r: &SqliteRow) -> Result<Grant> {
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

impl SqliteStore {
    /// Inserts a person and their grants inside `tx`.
    pub(crate) async fn insert_person(
        &self,
        tx: &mut Transaction<'static, Sqlite>,
        p: &NewPerson,
        now: Millis,
    ) -> Result<PersonId> {
        let id: PersonId = sqlx::query_scalar(
            "INSERT INTO people (login, name, phone, phone_index, id_number, password_hash, created_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id",
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
            sqlx::query("INSERT OR IGNORE INTO grants (person_id, role, scope_type, scope_value) VALUES (?, ?, ?, ?)")
                .bind(id)
                .bind(g.role.as_str())
                .bind(kind)
                .bind(value)
                .execute(&mut **tx)
                .await?;
        }
        Ok(id)
    }

    pub(crate) async fn person_where(&self, column: &str, value: impl ToString) -> Result<Option<Person>> {
        let sql = format!(
            "SELECT id, login, name, phone, id_number, password_hash, disabled, totp_enabled FROM people WHERE {column} = ?"
        );
        let Some(r) = sqlx::query(&sql).bind(value.to_string()).fetch_optional(&self.pool).await? else {
            return Ok(None);
        };
        let id: PersonId = r.try_get("id")?;
        let grants = sqlx::query("SELECT role, scope_type, scope_value FROM grants WHERE person_id = ? ORDER BY role")
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

    async fn case_where(&self, column: &str, value: impl ToString) -> Result<Option<Case>> {
        let sql = format!("SELECT {CASE_COLUMNS} FROM cases WHERE {column} = ?");
        sqlx::query(&sql)
            .bind(value.to_string())
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(|r| case_row(r, &self.vault))
            .transpose()
    }
}

/// The queries of a page of [`Store::list_cases`]: newest first, or by deadline first the cases
/// whose clock runs, then those without one.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Page {
    Newest,
    Clocked,
    Unclocked,
}

/// The query of one part of a page after `q.after`, `limit` rows; `head` goes before the
/// `SELECT` (`EXPLAIN QUERY PLAN ` in the tests). The page's ids are chosen first by a query that
/// the indexes can answer alone (the queue index holds region, clock, state and report time),
/// then only those rows are read: a district's overdue list sorts thousands of index entries, not
/// thousands of rows.
pub(crate) fn page_query<'q>(q: &'q CaseQuery, page: Page, limit: i64, head: &str) -> QueryBuilder<'q, Sqlite> {
    let order = match page {
        Page::Newest => "reported_at DESC, id DESC",
        Page::Clocked => "due_at, id",
        Page::Unclocked => "id",
    };
    let mut b = QueryBuilder::<Sqlite>::new(format!(
        "{head}SELECT {CASE_COLUMNS} FROM cases WHERE id IN (SELECT id FROM cases"
    ));
    push_filters(&mut b, q);
    match page {
        Page::Newest => {
            if let Some((at, id)) = q.after {
                b.push(" AND (reported_at < ").push_bind(at).push(" OR (reported_at = ").push_bind(at);
                b.push(" AND id < ").push_bind(id).push("))");
            }
        }
        Page::Clocked => {
            b.push(" AND due_at IS NOT NULL");
            if let Some((due, id)) = q.after {
                b.push(" AND (due_at > ").push_bind(due).push(" OR (due_at = ").push_bind(due);
                b.push(" AND id > ").push_bind(id).push("))");
            }
        }
        Page::Unclocked => {
            b.push(" AND due_at IS NULL");
            if let Some((NO_DEADLINE, id)) = q.after {
                b.push(" AND id > ").push_bind(id);
            }
        }
    }
    b.push(format!(" ORDER BY {order} LIMIT ")).push_bind(limit).push(format!(") ORDER BY {order}"));
    b
}

/// ` WHERE` the filters of `q` (visibility included), without order or cursor.
fn push_filters<'q>(b: &mut QueryBuilder<'q, Sqlite>, q: &'q CaseQuery) {
    b.push(" WHERE 1");
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
            b.push(" AND (0");
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
        b.push(" AND (description LIKE ")
            .push_bind(pattern.clone())
            .push(" ESCAPE '\\' OR address LIKE ")
            .push_bind(pattern.clone())
            .push(" ESCAPE '\\' OR reference LIKE ")
            .push_bind(pattern)
            .push(" ESCAPE '\\')");
    }
}

/// Appends the visibility restriction of `q` to a WHERE clause.
pub(crate) fn push_visibility(b: &mut QueryBuilder<'_, Sqlite>, q: &CaseQuery) {
    let v = &q.visibility;
    if v.all {
        return;
    }
    b.push(" AND (0");
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
pub(crate) fn push_prefix(b: &mut QueryBuilder<'_, Sqlite>, column: &str, code: &RegionCode) {
    b.push(format!(" OR ({column} >= "))
        .push_bind(code.to_string())
        .push(format!(" AND {column} < "))
        .push_bind(format!("{code}:"))
        .push(")");
}

#[async_trait]
impl Store for SqliteStore {
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
                "INSERT INTO regions (code, parent, level, name, name_en, geometry) VALUES (?, ?, ?, ?, ?, ?) \
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
            sqlx::query("INSERT OR REPLACE INTO platforms (id, code, name, name_en) VALUES (?, ?, ?, ?)")
                .bind(p.id)
                .bind(&p.code)
                .bind(&p.name)
                .bind(&p.name_en)
                .execute(&mut *tx)
                .await?;
        }
        for x in &d.departments {
            let q = sqlx::query(
                "INSERT OR REPLACE INTO departments (id, code, name, name_en, platform_id, kind, region) VALUES (?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(x.id);
            bind_department(q, x).execute(&mut *tx).await?;
        }
        let mut cats: Vec<&Category> = d.categories.iter().collect();
        cats.sort_by_key(|c| c.parent_id.is_some());
        for c in cats {
            let q = sqlx::query(
                "INSERT OR REPLACE INTO categories (id, code, name, name_en, kind, parent_id, default_department, public, \
                 routine_hours, urgent_hours, emergency_hours, duplicate_radius_m, duplicate_window_hours) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(c.id);
            bind_category(q, c).execute(&mut *tx).await?;
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
        self.person_where("login", login).await
    }

    async fn create_session(&self, token_hash: &str, person: PersonId, now: Millis, expires_at: Millis) -> Result<()> {
        sqlx::query("INSERT INTO sessions (token_hash, person_id, created_at, expires_at) VALUES (?, ?, ?, ?)")
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
             WHERE s.token_hash = ? AND s.expires_at > ? AND p.disabled = 0",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?)
    }

    async fn delete_session(&self, token_hash: &str) -> Result<()> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = ?").bind(token_hash).execute(&self.pool).await?;
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(district = %intake.decision.case.district))]
    async fn insert_case(&self, intake: Intake<'_>) -> Result<Case> {
        let mut tx = self.begin_write().await?;
        let case = insert_new_case(&mut tx, &self.vault, &intake).await?;
        let mut rollup = Rollup::default();
        rollup.add(&case, std::slice::from_ref(&intake.decision.event), &community_teams(&mut tx).await?, 1);
        rollup.write(&mut tx).await?;
        tx.commit().await?;
        tracing::info!(case = case.id, reference = %case.reference, "case stored");
        Ok(case)
    }

    /// One `BEGIN IMMEDIATE … COMMIT` for the whole group. Without photos to attach, nothing
    /// but the database itself can refuse an intake, so the group is first written with
    /// multi-row statements; if that fails (or photos are attached), each intake is written in
    /// its own savepoint, so a refused one rolls back alone (and burns no reference number).
    #[tracing::instrument(skip_all, fields(cases = intakes.len()))]
    async fn insert_cases(&self, intakes: &[Intake<'_>]) -> Vec<Result<Case>> {
        if intakes.len() > 1 && intakes.iter().all(|i| i.media.is_empty()) {
            match self.insert_group(intakes).await {
                Ok(cases) => {
                    for case in &cases {
                        tracing::info!(case = case.id, reference = %case.reference, "case stored");
                    }
                    return cases.into_iter().map(Ok).collect();
                }
                Err(e) => tracing::warn!(error = %e, "a group write failed; storing its cases one by one"),
            }
        }
        let mut results = Vec::with_capacity(intakes.len());
        let stored: Result<()> = async {
            let mut tx = self.begin_write().await?;
            let community = community_teams(&mut tx).await?;
            let mut rollup = Rollup::default();
            for intake in intakes {
                sqlx::query("SAVEPOINT intake").execute(&mut *tx).await?;
                match insert_new_case(&mut tx, &self.vault, intake).await {
                    Ok(case) => {
                        rollup.add(&case, std::slice::from_ref(&intake.decision.event), &community, 1);
                        results.push(Ok(case));
                    }
                    Err(e) => {
                        sqlx::query("ROLLBACK TO intake").execute(&mut *tx).await?;
                        results.push(Err(e));
                    }
                }
                sqlx::query("RELEASE intake").execute(&mut *tx).await?;
            }
            rollup.write(&mut tx).await?;
            tx.commit().await?;
            Ok(())
        }
        .await;
        match stored {
            Ok(()) => {
                for case in results.iter().flatten() {
                    tracing::info!(case = case.id, reference = %case.reference, "case stored");
                }
                results
            }
            // The transaction did not commit: nothing of the group is stored.
            Err(e) => {
                let reason = e.to_string();
                tracing::error!(error = %reason, cases = intakes.len(), "group commit failed");
                let mut first = Some(e);
                intakes
                    .iter()
                    .map(|_| {
                        Err(first
                            .take()
                            .unwrap_or_else(|| StoreError::Unavailable(format!("group commit failed: {reason}"))))
                    })
                    .collect()
            }
        }
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
        if let Some((old, mut events)) = before.into_iter().next() {
            let community = community_teams(&mut tx).await?;
            let mut rollup = Rollup::default();
            rollup.add(&old, &events, &community, -1);
            events.push(decision.event.clone());
            rollup.add(case, &events, &community, 1);
            rollup.write(&mut tx).await?;
        }
        tx.commit().await?;
        Ok(case.clone())
    }

    async fn case(&self, id: CaseId) -> Result<Option<Case>> {
        self.case_where("id", id).await
    }

    async fn case_by_reference(&self, reference: &str) -> Result<Option<Case>> {
        self.case_where("reference", reference).await
    }

    async fn case_by_tracking(&self, tracking_hash: &str) -> Result<Option<Case>> {
        self.case_where("tracking_hash", tracking_hash).await
    }

    async fn events(&self, case: CaseId) -> Result<Vec<CaseEvent>> {
        let rows = sqlx::query("SELECT * FROM case_events WHERE case_id = ? ORDER BY seq")
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
                out.extend(page_query(q, Page::Newest, limit, "").build().fetch_all(&self.pool).await?)
            }
            CaseOrder::Deadline => {
                // Cases with a running clock by deadline, then (when the page is not full) those
                // without one by id: two index-ordered queries rather than one that sorts NULLs.
                if q.after.is_none_or(|(due, _)| due != NO_DEADLINE) {
                    out.extend(page_query(q, Page::Clocked, limit, "").build().fetch_all(&self.pool).await?);
                }
                let left = limit - out.len() as i64;
                if left > 0 {
                    out.extend(page_query(q, Page::Unclocked, left, "").build().fetch_all(&self.pool).await?);
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
            "SELECT {CASE_COLUMNS} FROM cases WHERE state NOT IN ('closed', 'rated', 'rejected') AND category = ? \
             AND lat BETWEEN ? AND ? AND lon BETWEEN ? AND ? AND reported_at >= ? AND id != ? \
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
             AND lat BETWEEN ? AND ? AND lon BETWEEN ? AND ? AND reported_at >= ? \
             ORDER BY reported_at DESC, id DESC LIMIT ?"
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
        let rows = sqlx::query("SELECT id, reference, state FROM cases WHERE duplicate_of = ? ORDER BY id")
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
        self.import_histories(cases, utc_offset_hours).await
    }

    async fn open_cases_with_clocks(&self, after: CaseId, limit: u32) -> Result<Vec<Case>> {
        let sql = format!(
            "SELECT {CASE_COLUMNS} FROM cases WHERE state NOT IN ('closed', 'rated', 'rejected') AND due_at IS NOT NULL \
             AND id > ? ORDER BY id LIMIT ?"
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
             uploaded_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&m.id)
        .bind(m.case_id)
        .bind(&m.content_type)
        .bind(m.width)
        .bind(m.height)
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
        sqlx::query("SELECT * FROM media WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(media_row)
            .transpose()
    }

    async fn case_media(&self, case: CaseId) -> Result<Vec<Media>> {
        sqlx::query("SELECT * FROM media WHERE case_id = ? ORDER BY created_at, id")
            .bind(case)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(media_row)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use gridkeeper_domain::{report, Actor, Command, Decision, NewReport, Urgency};

    use crate::Visibility;

    use super::*;

    async fn store() -> SqliteStore {
        let s = SqliteStore::open("sqlite::memory:", Arc::new(Vault::ephemeral())).await.unwrap();
        s.migrate().await.unwrap();
        s
    }

    fn new_case(district: &str, at: Millis) -> Decision {
        let r = NewReport {
            district: district.into(),
            grid: None,
            location: Some(LatLon { lat: 30.0, lon: 120.0 }),
            address: None,
            description: "broken".into(),
            urgency: Urgency::Routine,
            suggested_category: None,
            photos: vec![],
            anonymous: false,
            contact: None,
            source: None,
        };
        report(&Actor::anonymous(), r, at).unwrap()
    }

    async fn insert(s: &SqliteStore, d: &Decision, year: i32) -> Case {
        s.insert_case(Intake { decision: d, year, tracking_hash: None, media: &[] }).await.unwrap()
    }

    #[tokio::test]
    async fn references_count_per_district_and_year() {
        let s = store().await;
        let refs = [
            insert(&s, &new_case("330483", 1), 2026).await.reference,
            insert(&s, &new_case("330483", 2), 2026).await.reference,
            insert(&s, &new_case("330482", 3), 2026).await.reference,
            insert(&s, &new_case("330483", 4), 2027).await.reference,
        ];
        assert_eq!(refs, ["330483-2026-000001", "330483-2026-000002", "330482-2026-000001", "330483-2027-000001"]);
    }

    #[tokio::test]
    async fn a_stale_write_is_a_conflict_and_changes_nothing() {
        let s = store().await;
        let case = insert(&s, &new_case("330483", 1), 2026).await;
        let note = |text: &str| {
            let actor =
                Actor::person(1, vec![Grant::new(Role::Dispatcher, Scope::parse("region:330483").unwrap()).unwrap()]);
            gridkeeper_domain::decide(&case, &actor, Command::Note { text: text.into() }, 2).unwrap()
        };
        let (first, second) = (note("first"), note("second"));
        // The people table is empty: store the actor first so the foreign key holds.
        let p = NewPerson {
            login: "d".into(),
            name: "d".into(),
            phone: None,
            id_number: None,
            password_hash: None,
            grants: vec![],
        };
        s.create_person(&p, 0).await.unwrap();
        assert_eq!(s.apply(&first, &[]).await.unwrap().version, 2);
        match s.apply(&second, &[]).await {
            Err(StoreError::Conflict(current)) => assert_eq!(current.version, 2),
            other => panic!("expected a conflict, got {other:?}"),
        }
        let events = s.events(case.id).await.unwrap();
        assert_eq!(events.len(), 2);
        assert_eq!(events[1].event.data["text"], "first");
    }

    #[tokio::test]
    async fn a_group_commit_stores_each_case_and_a_refused_one_alone() {
        let s = store().await;
        let decisions: Vec<Decision> = (1..=4).map(|t| new_case("330483", t)).collect();
        let bad_photo = ["no-such-photo".to_string()];
        let intakes: Vec<Intake> = decisions
            .iter()
            .enumerate()
            .map(|(i, d)| Intake {
                decision: d,
                year: 2026,
                tracking_hash: None,
                media: if i == 1 { &bad_photo } else { &[] },
            })
            .collect();
        let results = s.insert_cases(&intakes).await;
        assert_eq!(results.len(), 4);
        assert!(matches!(&results[1], Err(StoreError::Invalid(f)) if f.field == "photos"));
        let refs: Vec<String> = results.iter().flatten().map(|c| c.reference.clone()).collect();
        // The refused report burned no number; the others follow one another.
        assert_eq!(refs, ["330483-2026-000001", "330483-2026-000002", "330483-2026-000003"]);
        for case in results.iter().flatten() {
            assert_eq!(s.case(case.id).await.unwrap().as_ref(), Some(case));
            assert_eq!(s.events(case.id).await.unwrap().len(), 1);
        }
        assert_eq!(s.count_cases().await.unwrap(), 3);
        // A case stored alone continues the numbering.
        let one_by_one = Store::insert_case(&s, intakes[0].clone()).await.unwrap();
        assert_eq!(one_by_one.reference, "330483-2026-000004");
    }

    #[tokio::test]
    async fn a_group_without_photos_is_written_at_once_and_one_that_fails_falls_back_to_savepoints() {
        let s = store().await;
        let decisions: Vec<Decision> = (1..=5).map(|t| new_case("330483", t)).collect();
        let hashes = ["h1", "h2", "h3", "h2", "h5"];
        let intake =
            |i: usize| Intake { decision: &decisions[i], year: 2026, tracking_hash: Some(hashes[i]), media: &[] };
        // Three at once: numbered in order, each with its tracking hash and its event.
        let first: Vec<Case> = s.insert_cases(&[intake(0), intake(1), intake(2)]).await.into_iter().flatten().collect();
        let refs: Vec<&str> = first.iter().map(|c| c.reference.as_str()).collect();
        assert_eq!(refs, ["330483-2026-000001", "330483-2026-000002", "330483-2026-000003"]);
        for (c, h) in first.iter().zip(hashes) {
            assert_eq!(s.case_by_tracking(h).await.unwrap().as_ref(), Some(c));
            assert_eq!(s.events(c.id).await.unwrap()[0].event, decisions[(c.id - 1) as usize].event);
        }
        // A tracking hash already taken fails the multi-row write; the group is then written one
        // savepoint each, and only that intake is refused.
        let results = s.insert_cases(&[intake(3), intake(4)]).await;
        assert!(matches!(&results[0], Err(StoreError::Database(_))), "{:?}", results[0]);
        assert_eq!(results[1].as_ref().unwrap().reference, "330483-2026-000004");
        assert_eq!(s.count_cases().await.unwrap(), 4);
    }

    /// Cases of two communities in every kind of state for the queue tests, each set directly:
    /// (scope_region, state, due_at), reported at its id. `now` is 1000.
    async fn queue_cases(s: &SqliteStore) {
        let rows: [(&str, &str, Option<i64>); 8] = [
            ("330483101001", "reported", Some(2000)),   // 1: new
            ("330483101002", "in_progress", Some(500)), // 2: overdue
            ("330483101001", "in_progress", Some(3000)),
            ("330483102001", "reported", Some(1500)), // 4: new, in the other community
            ("330483101001", "closed", None),
            ("330483101003", "dispatched", Some(500)), // 6: overdue, the same clock as 2
            ("330483101001", "accepted", Some(900)),   // 7: overdue
            ("330483101", "reported", None),           // 8: new, without a clock
        ];
        for (i, (region, state, due)) in rows.iter().enumerate() {
            let c = insert(s, &new_case("330483", i as i64 + 1), 2026).await;
            sqlx::query("UPDATE cases SET scope_region = ?, state = ?, due_at = ? WHERE id = ?")
                .bind(region)
                .bind(state)
                .bind(due)
                .bind(c.id)
                .execute(&s.pool)
                .await
                .unwrap();
        }
    }

    /// Every page of `q` from the first, `limit` cases each, by the cursor of each page's last case.
    async fn pages(s: &SqliteStore, mut q: CaseQuery) -> Vec<Vec<CaseId>> {
        let mut out = vec![];
        loop {
            let page = s.list_cases(&q).await.unwrap();
            out.push(page.iter().map(|c| c.id).collect::<Vec<_>>());
            match page.last() {
                Some(last) if page.len() == q.limit as usize => q.after = Some(q.cursor(last)),
                _ => return out,
            }
        }
    }

    #[tokio::test]
    async fn the_queue_is_new_and_overdue_cases_by_deadline_in_a_subtree() {
        let s = store().await;
        queue_cases(&s).await;
        let all = Visibility { all: true, ..Default::default() };
        let q = |limit: u32| CaseQuery { visibility: all.clone(), now: 1000, limit, ..Default::default() };
        let community = Some(RegionCode::parse("330483101").unwrap());
        let queue = |limit| CaseQuery {
            attention: Some(true),
            order: CaseOrder::Deadline,
            region: community.clone(),
            ..q(limit)
        };
        // By deadline, ties by id, the case without a clock last; the other community left out.
        assert_eq!(pages(&s, queue(50)).await, [vec![2, 6, 7, 1, 8]]);
        assert_eq!(pages(&s, queue(2)).await, [vec![2, 6], vec![7, 1], vec![8]]);
        // Newest first, the same cases.
        assert_eq!(pages(&s, CaseQuery { order: CaseOrder::Newest, ..queue(50) }).await, [vec![8, 7, 6, 2, 1]]);
        assert_eq!(pages(&s, CaseQuery { order: CaseOrder::Newest, ..queue(3) }).await, [vec![8, 7, 6], vec![2, 1]]);
        // The others of the community: open and in time, and finished.
        assert_eq!(pages(&s, CaseQuery { attention: Some(false), ..queue(50) }).await, [vec![3, 5]]);
        // Overdue ones of the subtree (served by the same index), newest first.
        let overdue = CaseQuery { overdue: Some(true), region: community.clone(), ..q(50) };
        assert_eq!(pages(&s, overdue).await, [vec![7, 6, 2]]);
        // Every case by deadline: pages that cross from the clocked cases to those without one.
        let everything = |limit| CaseQuery { order: CaseOrder::Deadline, ..q(limit) };
        assert_eq!(pages(&s, everything(3)).await, [vec![2, 6, 7], vec![4, 1, 3], vec![5, 8]]);
        assert_eq!(pages(&s, everything(4)).await, [vec![2, 6, 7, 4], vec![1, 3, 5, 8], vec![]]);
        // Visibility still applies: a dispatcher of the other community sees only its own.
        let other = Visibility { regions: vec![RegionCode::parse("330483102").unwrap()], ..Default::default() };
        let theirs = CaseQuery { visibility: other.clone(), region: None, ..queue(50) };
        assert_eq!(pages(&s, theirs).await, [vec![4]]);
        let theirs = CaseQuery { visibility: other, ..queue(50) };
        assert_eq!(pages(&s, theirs).await, [Vec::<CaseId>::new()]);
    }

    #[tokio::test]
    async fn a_communitys_queue_and_overdue_list_choose_their_page_from_the_queue_index_alone() {
        let s = store().await;
        let visibility = Visibility { regions: vec![RegionCode::parse("330483").unwrap()], ..Default::default() };
        let region = Some(RegionCode::parse("330483101").unwrap());
        let plan = |q: CaseQuery, page: Page| {
            let pool = s.pool.clone();
            async move {
                let rows = page_query(&q, page, 50, "EXPLAIN QUERY PLAN ").build().fetch_all(&pool).await.unwrap();
                rows.iter().map(|r| r.get::<String, _>("detail")).collect::<Vec<_>>().join("; ")
            }
        };
        let base = CaseQuery { visibility, region, now: 1000, limit: 50, ..Default::default() };
        let queue = CaseQuery { attention: Some(true), order: CaseOrder::Deadline, ..base.clone() };
        let overdue = CaseQuery { overdue: Some(true), ..base.clone() };
        // The page's ids are chosen by the subquery; the outer query reads those rows by id and
        // sorts them (50 at most).
        let inner = |p: &str| -> String {
            let (outer, inner) = p.split_once("LIST SUBQUERY 1; ").expect("a subquery");
            assert_eq!(outer, "SEARCH cases USING INTEGER PRIMARY KEY (rowid=?); ", "{p}");
            inner.strip_suffix("; USE TEMP B-TREE FOR ORDER BY").expect("the page sorted").to_string()
        };
        for (q, page) in [(queue.clone(), Page::Clocked), (overdue, Page::Newest)] {
            let p = inner(&plan(q, page).await);
            // Only the subtree's open cases are read, from the index alone; only the matching
            // ones are sorted.
            assert!(
                p.starts_with("SEARCH cases USING COVERING INDEX cases_queue (scope_region>? AND scope_region<?)"),
                "{p}"
            );
        }
        // Every case of a community, newest first, still walks the newest-first index.
        let p = inner(&plan(base, Page::Newest).await);
        assert!(p.contains("cases_reported") && !p.contains("TEMP B-TREE"), "{p}");
    }

    #[tokio::test]
    async fn events_are_append_only() {
        let s = store().await;
        let case = insert(&s, &new_case("330483", 1), 2026).await;
        let err =
            sqlx::query("UPDATE case_events SET data = '{}' WHERE case_id = ?").bind(case.id).execute(&s.pool).await;
        assert!(err.unwrap_err().to_string().contains("append-only"));
        let err = sqlx::query("DELETE FROM case_events").execute(&s.pool).await;
        assert!(err.is_err());
    }

    #[tokio::test]
    async fn history_import_checks_versions() {
        let s = store().await;
        let d = new_case("330483", 1);
        let mut wrong = d.case.clone();
        wrong.version = 3;
        let err = s.import_history(&[(wrong, vec![d.event.clone()])], 8).await.unwrap_err();
        assert!(matches!(err, StoreError::Invalid(_)));
        assert_eq!(s.count_cases().await.unwrap(), 0);
        s.import_history(&[(d.case.clone(), vec![d.event.clone()])], 8).await.unwrap();
        assert_eq!(s.count_cases().await.unwrap(), 1);
        // References continue after imported ones.
        assert_eq!(insert(&s, &new_case("330483", 5), 1970).await.reference, "330483-1970-000002");
        assert_eq!(s.case(1).await.unwrap().unwrap().reference, "330483-1970-000001");
    }
}
