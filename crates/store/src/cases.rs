//! Cases, their events and their media: the projection written with its one event in the same
//! transaction, group commit of new cases, lists filtered and paged inside the query.

use std::collections::HashMap;

use async_trait::async_trait;
use gridkeeper_domain::{
    Action, Case, CaseEvent, CaseId, CaseRef, CaseState, CategoryId, CategoryKind, Decision, DepartmentId,
    ExtensionRequest, FieldError, LatLon, MediaId, Millis, NewEvent, PersonId, RegionCode, Rejection, Source, Urgency,
};
use serde::Serialize;
use sqlx::types::Json;
use sqlx::{Row, Transaction};

use crate::dialect::generic;
use crate::reference::Query;
use crate::rollups::Rollup;
use crate::sql::{Separated, Sql};
use crate::{corrupt, json, parse_field, unsigned, Result, StoreError};

/// A stored photo or video and where its bytes live in the object store.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Media {
    pub id: MediaId,
    pub case_id: Option<CaseId>,
    pub content_type: String,
    pub width: u32,
    pub height: u32,
    pub bytes: u64,
    pub object_key: String,
    pub thumb_key: String,
    /// Location read from the photo's EXIF before it was removed: a suggestion, never stored in the image.
    pub gps_lat: Option<f64>,
    pub gps_lon: Option<f64>,
    pub uploaded_by: Option<PersonId>,
    pub created_at: Millis,
}

/// Who may see which cases, applied inside the list query: the domain's rule
/// (`gridkeeper_domain::Visibility`, beside `sees`), which [`CaseStore::list_cases`] turns into
/// a `WHERE` clause that says what `Visibility::covers` says.
pub use gridkeeper_domain::Visibility;

/// Filters of a case list. Every filter is optional; `limit` is at most 200.
#[derive(Debug, Clone, Default)]
pub struct CaseQuery {
    pub visibility: Visibility,
    pub states: Vec<CaseState>,
    pub region: Option<RegionCode>,
    pub department: Option<DepartmentId>,
    /// Subclass ids (a class is expanded to its subclasses by the caller).
    pub categories: Vec<CategoryId>,
    pub urgency: Option<Urgency>,
    /// With `now`: only cases whose current clock has (or has not) passed.
    pub overdue: Option<bool>,
    /// With `now`: only cases that need the center's attention (or only those that do not): new
    /// reports awaiting acceptance (`reported`), and open cases whose clock has passed.
    pub attention: Option<bool>,
    pub now: Millis,
    pub reported_from: Option<Millis>,
    pub reported_to: Option<Millis>,
    /// Only cases with (or without) a supervision order waiting for its response.
    pub supervised: Option<bool>,
    /// Substring of the description, address or reference.
    pub text: Option<String>,
    pub order: CaseOrder,
    /// Keyset cursor: the sort key of the last case of the previous page in `order`, as
    /// [`CaseQuery::cursor`] gives it — (reported_at, id) for the default order.
    pub after: Option<(Millis, CaseId)>,
    pub limit: u32,
}

/// The order of a case list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum CaseOrder {
    /// Newest first: `reported_at` descending, then `id` descending.
    #[default]
    Newest,
    /// By deadline: the current clock (`due_at`) ascending, then `id` ascending; cases without a
    /// running clock (finished ones) come after all the others, by `id`.
    Deadline,
}

/// The cursor's `due_at` of a case without a running clock, in [`CaseOrder::Deadline`]: after
/// every real deadline.
pub const NO_DEADLINE: Millis = Millis::MAX;

impl CaseQuery {
    /// The keyset cursor of `case` in this query's order, for [`CaseQuery::after`].
    pub fn cursor(&self, case: &Case) -> (Millis, CaseId) {
        match self.order {
            CaseOrder::Newest => (case.reported_at, case.id),
            CaseOrder::Deadline => (case.due_at.unwrap_or(NO_DEADLINE), case.id),
        }
    }
}

/// A case linked to another.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CaseLink {
    pub id: CaseId,
    pub reference: String,
    pub state: CaseState,
}

/// A new case for [`CaseStore::insert_case`].
#[derive(Debug, Clone)]
pub struct Intake<'a> {
    pub decision: &'a Decision,
    /// The year of the reference (local year of the jurisdiction).
    pub year: i32,
    /// Hash of the tracking code given to the reporter.
    pub tracking_hash: Option<&'a str>,
    /// Photos uploaded before, now attached to the case.
    pub media: &'a [MediaId],
}

#[async_trait]
pub trait CaseStore: Send + Sync {
    /// Stores a new case and its first event; assigns its id and reference.
    async fn insert_case(&self, intake: Intake<'_>) -> Result<Case>;
    /// Stores several new cases at once (group commit): each one as [`CaseStore::insert_case`]
    /// would, all in one transaction, so one durable commit acknowledges them all. One result
    /// per intake, in order; a refused intake (say, a photo that belongs to someone else) does
    /// not fail the others. When the commit itself fails, every intake fails.
    async fn insert_cases(&self, intakes: &[Intake<'_>]) -> Vec<Result<Case>>;
    /// Writes a decision on an existing case if the case is still at `decision.case.version - 1`.
    async fn apply(&self, decision: &Decision, media: &[MediaId]) -> Result<Case>;
    /// Writes several decisions in one transaction, each as [`CaseStore::apply`] would: all of
    /// them, or none when one case is stale ([`StoreError::Conflict`] with that case as it is).
    async fn apply_all(&self, decisions: &[(&Decision, &[MediaId])]) -> Result<Vec<Case>>;
    async fn case(&self, id: CaseId) -> Result<Option<Case>>;
    async fn case_by_reference(&self, reference: &str) -> Result<Option<Case>>;
    async fn case_by_tracking(&self, tracking_hash: &str) -> Result<Option<Case>>;
    async fn events(&self, case: CaseId) -> Result<Vec<CaseEvent>>;
    async fn list_cases(&self, q: &CaseQuery) -> Result<Vec<Case>>;
    /// Open cases of `category` reported since `since` in the box around a point.
    async fn cases_near(
        &self,
        category: CategoryId,
        bbox: [f64; 4],
        since: Millis,
        exclude: CaseId,
    ) -> Result<Vec<Case>>;
    /// Cases of the public map: accepted into a category (not `reported`, not `rejected`),
    /// located in `bbox` (`[min_lat, min_lon, max_lat, max_lon]`), reported since `since`,
    /// newest first, at most `limit`. Public and non-public categories alike: the caller decides
    /// what of each it shows.
    async fn public_cases_in(&self, bbox: [f64; 4], since: Millis, limit: u32) -> Result<Vec<Case>>;
    /// Cases rejected as duplicates of `case`.
    async fn duplicates_of(&self, case: CaseId) -> Result<Vec<CaseLink>>;
    /// Stores many finished histories at once (the demo's simulated year, imports). Each case's
    /// events come from the state machine; ids and references are assigned in the order given
    /// (the reference's year is the local year of the report at `utc_offset_hours`). All or
    /// nothing.
    async fn import_history(&self, cases: &[(Case, Vec<NewEvent>)], utc_offset_hours: i32) -> Result<()>;
    async fn count_cases(&self) -> Result<i64>;
    /// Open cases that have a clock running, in id order after `after` (for the deadline job).
    async fn open_cases_with_clocks(&self, after: CaseId, limit: u32) -> Result<Vec<Case>>;

    async fn insert_media(&self, m: &Media) -> Result<()>;
    async fn media(&self, id: &str) -> Result<Option<Media>>;
    async fn case_media(&self, case: CaseId) -> Result<Vec<Media>>;
}

pub(crate) const CASE_COLUMNS: &str =
    "id, reference, version, state, district, grid, scope_region, lat, lon, address, description, \
    source, reporter, anonymous, suggested_category, category, category_kind, public, urgency, lead_department, \
    co_departments, reported_at, accepted_at, dispatched_at, signed_at, resolved_at, verified_at, closed_at, \
    handle_within, handle_by, due_at, extension_request, returns, reworks, extensions, reopens, supervisions, rating, \
    rating_comment, on_the_spot, rejection, duplicate_of, updated_at, contact_name, contact_phone, supervision, warned_due, \
    overdue_due, contact_phone_index";

/// The columns of `case_events`, in the order [`SqlStore::insert_events`](crate::SqlStore) binds them.
pub(crate) const EVENT_COLUMNS: &str = "case_id, seq, action, at, actor, from_state, to_state, data";

/// The states in which a case is finished (no clock runs).
const OPEN: &str = "state NOT IN ('closed', 'rated', 'rejected')";

/// One SQL value, so that the same column list serves single and multi-row statements.
pub(crate) enum Val {
    B(bool),
    N(i32),
    I(Option<i64>),
    F(Option<f64>),
    T(Option<String>),
}

/// Every projected column of `c`, in the order of `CASE_COLUMNS` after id and reference.
pub(crate) fn case_values(c: &Case, vault: &crate::Vault) -> Vec<Val> {
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
        T(contact_phone_index(c, vault)),
    ]
}

/// The blind index of a case's contact phone, by which a hotline caller's earlier cases are
/// found without decrypting: the same purpose as people's phones, so one typed number finds both.
pub(crate) fn contact_phone_index(c: &Case, vault: &crate::Vault) -> Option<String> {
    c.contact.as_ref().and_then(|x| x.phone.as_deref()).map(|p| vault.blind_index(crate::registry::PHONE, p))
}

/// `$1, $2, … $n`.
pub(crate) fn params(n: usize) -> String {
    (1..=n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

/// The projected columns after id and reference.
fn projected() -> impl Iterator<Item = &'static str> {
    CASE_COLUMNS.split(", ").skip(2)
}

/// The insert of a new case whose id the database gives: every column but the id, and the
/// tracking hash.
fn insert_case_sql() -> String {
    let columns = CASE_COLUMNS.strip_prefix("id, ").expect("the id comes first");
    let n = columns.split(", ").count() + 1;
    format!("INSERT INTO cases ({columns}, tracking_hash) VALUES ({}) RETURNING id", params(n))
}

/// The versioned update of a case: every projected column, then `WHERE id = $n AND version = $n+1`.
fn update_case_sql() -> String {
    let set: Vec<String> = projected().enumerate().map(|(i, c)| format!("{c} = ${}", i + 1)).collect();
    let n = set.len();
    format!("UPDATE cases SET {} WHERE id = ${} AND version = ${}", set.join(", "), n + 1, n + 2)
}

/// The queries of a page of [`CaseStore::list_cases`]: newest first, or by deadline first the
/// cases whose clock runs, then those without one.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Page {
    Newest,
    Clocked,
    Unclocked,
}

/// Events per multi-row `INSERT` (8 values each): within SQLite's 32,766 and PostgreSQL's 65,535
/// bound values.
pub(crate) const EVENT_ROWS: usize = 4000;
/// Cases per multi-row `INSERT` (51 values each, 52 with the tracking hash).
pub(crate) const CASE_ROWS: usize = 600;

generic! {
    impl SqlStore {
        pub(crate) fn case_row(&self, r: &D::Row) -> Result<Case> {
            let lat: Option<f64> = r.try_get("lat")?;
            let lon: Option<f64> = r.try_get("lon")?;
            let grid: Option<String> = r.try_get("grid")?;
            let co: String = r.try_get("co_departments")?;
            let ext: Option<String> = r.try_get("extension_request")?;
            let opt = |name: &str| -> Result<Option<String>> { Ok(r.try_get::<Option<String>, _>(name)?) };
            let vault = &self.vault;
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
                    let phone =
                        vault.open_opt("cases.contact_phone", opt("contact_phone")?.as_deref()).map_err(corrupt)?;
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
                extension_request: ext
                    .map(|e| serde_json::from_str::<ExtensionRequest>(&e))
                    .transpose()
                    .map_err(corrupt)?,
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

        pub(crate) fn event_row(r: &D::Row) -> Result<CaseEvent> {
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

        fn media_row(r: &D::Row) -> Result<Media> {
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

        fn bind_case<'q>(mut q: Query<'q, D>, c: &Case, vault: &crate::Vault) -> Query<'q, D> {
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

        /// Pushes the projected columns of `c` (after id and reference) into a row of a multi-row insert.
        pub(crate) fn push_case(row: &mut Separated<'_>, c: &Case, vault: &crate::Vault) {
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

        /// Takes `n` numbers of `district`'s counter in `year` at once; answers the first.
        async fn take_references(conn: &mut D::Connection, district: &str, year: i32, n: i64) -> Result<i64> {
            let last: i64 = sqlx::query_scalar(
                "INSERT INTO case_counters (district, year, last) VALUES ($1, $2, $3) \
                 ON CONFLICT (district, year) DO UPDATE SET last = case_counters.last + excluded.last RETURNING last",
            )
            .bind(district)
            .bind(year)
            .bind(n)
            .fetch_one(&mut *conn)
            .await?;
            Ok(last - n + 1)
        }

        /// Writes events `(case, seq, event)` with multi-row `INSERT`s.
        pub(crate) async fn insert_events(conn: &mut D::Connection, events: &[(CaseId, i64, &NewEvent)]) -> Result<()> {
            for part in events.chunks(EVENT_ROWS) {
                let mut b = Sql::new(format!("INSERT INTO case_events ({EVENT_COLUMNS}) "));
                b.push_values(part, |mut row, (case, seq, e)| {
                    row.push_bind(*case)
                        .push_bind(*seq)
                        .push_bind(e.action.as_str())
                        .push_bind(e.at)
                        .push_bind(e.actor)
                        .push_bind(e.from.map(|s| s.as_str()))
                        .push_bind(e.to.as_str())
                        .push_bind(&e.data);
                });
                Self::query_of(&b).execute(&mut *conn).await?;
            }
            // The events that may tell someone, queued for the notices in the same transaction.
            let told: Vec<(CaseId, i64)> = events
                .iter()
                .filter(|(_, _, e)| gridkeeper_domain::notices::may_notify(e.action))
                .map(|(case, seq, _)| (*case, *seq))
                .collect();
            for part in told.chunks(EVENT_ROWS) {
                let mut b = Sql::new("INSERT INTO notice_outbox (case_id, seq) ");
                b.push_values(part, |mut row, (case, seq)| {
                    row.push_bind(*case).push_bind(*seq);
                });
                Self::query_of(&b).execute(&mut *conn).await?;
            }
            Ok(())
        }

        /// Writes the department links of cases `(case, department, lead)` with multi-row `INSERT`s.
        pub(crate) async fn insert_links(conn: &mut D::Connection, cases: impl IntoIterator<Item = &Case>) -> Result<()> {
            let links: Vec<(CaseId, DepartmentId, bool)> = cases
                .into_iter()
                .flat_map(|c| {
                    c.lead_department.map(|d| (c.id, d, true)).into_iter().chain(c.co_departments.iter().map(|d| (c.id, *d, false)))
                })
                .collect();
            for part in links.chunks(EVENT_ROWS) {
                let mut b = Sql::new("INSERT INTO case_departments (case_id, department_id, lead) ");
                b.push_values(part, |mut row, (case, dept, lead)| {
                    row.push_bind(*case).push_bind(*dept).push_bind(*lead);
                });
                Self::query_of(&b).execute(&mut *conn).await?;
            }
            Ok(())
        }

        /// Replaces the department links of `c` with its lead and co-departments now.
        /// Writes one decision inside a write transaction: the case if it is still at the version
        /// before, its event, its departments and evidence, its rollup facts. `false` when another
        /// writer changed the case first (nothing written).
        pub(crate) async fn apply_in(&self, conn: &mut D::Connection, decision: &Decision, media: &[MediaId]) -> Result<bool> {
            let case = &decision.case;
            // The case as it was and its events, to move its rollup facts. Should another writer
            // change it meanwhile, the versioned update below finds no row.
            let before = self.histories(&mut *conn, case.id, case.id).await?;
            let done = Self::bind_case(sqlx::query(&update_case_sql()), case, &self.vault)
                .bind(case.id)
                .bind(case.version - 1)
                .execute(&mut *conn)
                .await?;
            if D::rows_affected(&done) == 0 {
                return Ok(false);
            }
            Self::insert_events(&mut *conn, &[(case.id, case.version, &decision.event)]).await?;
            if matches!(decision.event.action, Action::Dispatch | Action::Return | Action::Reopen) {
                Self::sync_departments(&mut *conn, case).await?;
            }
            if decision.event.action == Action::Anonymise {
                Self::anonymise_callers(&mut *conn, case.id).await?;
            }
            Self::attach_media(&mut *conn, case.id, media, decision.event.actor, "evidence").await?;
            if let Some((old, mut events)) = before.into_iter().next() {
                let community = Self::community_teams(&mut *conn).await?;
                let mut rollup = Rollup::default();
                rollup.add(&old, &events, &community, -1);
                events.push(decision.event.clone());
                rollup.add(case, &events, &community, 1);
                Self::write_rollup(&mut *conn, rollup).await?;
            }
            // The reporter's points for a verification or a reopening (last: it may append to
            // the audit chain, whose lock is held to the commit).
            Self::earn_points(&mut *conn, case, &decision.event).await?;
            Ok(true)
        }

        async fn sync_departments(conn: &mut D::Connection, c: &Case) -> Result<()> {
            sqlx::query("DELETE FROM case_departments WHERE case_id = $1").bind(c.id).execute(&mut *conn).await?;
            Self::insert_links(conn, [c]).await
        }

        /// Attaches uploaded media to a case. Only media not yet attached elsewhere, uploaded by
        /// the same person (or anonymously), can be attached.
        async fn attach_media(
            conn: &mut D::Connection,
            case: CaseId,
            media: &[MediaId],
            by: Option<PersonId>,
            field: &str,
        ) -> Result<()> {
            for id in media {
                let done = sqlx::query(
                    "UPDATE media SET case_id = $1 WHERE id = $2 AND (case_id IS NULL OR case_id = $1) \
                     AND (uploaded_by IS NULL OR uploaded_by IS NOT DISTINCT FROM $3)",
                )
                .bind(case)
                .bind(id)
                .bind(by)
                .execute(&mut *conn)
                .await?;
                if D::rows_affected(&done) == 0 {
                    return Err(StoreError::Missing(FieldError::new(
                        field,
                        format!("photo `{id}` does not exist or belongs to someone else; upload it first"),
                    )));
                }
            }
            Ok(())
        }

        /// Writes a new case inside `tx`: its reference from the counter, the case row, its first
        /// event, its department links, its photos.
        pub(crate) async fn insert_new_case(&self, tx: &mut Transaction<'static, D>, intake: &Intake<'_>) -> Result<Case> {
            let d = intake.decision;
            let mut case = d.case.clone();
            let n = Self::take_references(tx, &case.district, intake.year, 1).await?;
            case.reference = CaseRef::new(&case.district, intake.year, n as u32).to_string();
            let sql = insert_case_sql();
            let q = sqlx::query(&sql).bind(&case.reference);
            let row = Self::bind_case(q, &case, &self.vault).bind(intake.tracking_hash).fetch_one(&mut **tx).await?;
            case.id = row.try_get("id")?;
            Self::insert_events(tx, &[(case.id, case.version, &d.event)]).await?;
            Self::insert_links(tx, [&case]).await?;
            Self::attach_media(tx, case.id, intake.media, d.event.actor, "photos").await?;
            Ok(case)
        }

        /// New cases without photos, in one transaction of multi-row statements: ids from the
        /// database's own numbering ([`Dialect::NEW_CASE_IDS`]), reference numbers taken from each
        /// district-year's counter in one block.
        async fn insert_group(&self, intakes: &[Intake<'_>]) -> Result<Vec<Case>> {
            let mut tx = self.begin_write().await?;
            let ids: Vec<CaseId> =
                sqlx::query_scalar(D::NEW_CASE_IDS).bind(intakes.len() as i64).fetch_all(&mut *tx).await?;
            let mut wanted: HashMap<(&str, i32), i64> = HashMap::new();
            for i in intakes {
                *wanted.entry((i.decision.case.district.as_str(), i.year)).or_default() += 1;
            }
            let mut next: HashMap<(&str, i32), i64> = HashMap::new();
            for (&(district, year), &n) in &wanted {
                next.insert((district, year), Self::take_references(&mut tx, district, year, n).await?);
            }
            let mut cases = Vec::with_capacity(intakes.len());
            for (intake, id) in intakes.iter().zip(ids) {
                let mut case = intake.decision.case.clone();
                let n = next.get_mut(&(intake.decision.case.district.as_str(), intake.year)).expect("counted above");
                case.id = id;
                case.reference = CaseRef::new(&case.district, intake.year, *n as u32).to_string();
                *n += 1;
                cases.push(case);
            }
            for (cs, is) in cases.chunks(CASE_ROWS).zip(intakes.chunks(CASE_ROWS)) {
                let mut b = Sql::new(format!("INSERT INTO cases ({CASE_COLUMNS}, tracking_hash) "));
                b.push_values(cs.iter().zip(is), |mut row, (c, i)| {
                    row.push_bind(c.id).push_bind(c.reference.clone());
                    Self::push_case(&mut row, c, &self.vault);
                    row.push_bind(i.tracking_hash.map(str::to_string));
                });
                Self::query_of(&b).execute(&mut *tx).await?;
                let events: Vec<_> = cs.iter().zip(is).map(|(c, i)| (c.id, c.version, &i.decision.event)).collect();
                Self::insert_events(&mut tx, &events).await?;
            }
            Self::insert_links(&mut tx, &cases).await?;
            let community = Self::community_teams(&mut tx).await?;
            let mut rollup = Rollup::default();
            for (case, intake) in cases.iter().zip(intakes) {
                rollup.add(case, std::slice::from_ref(&intake.decision.event), &community, 1);
            }
            Self::write_rollup(&mut tx, rollup).await?;
            tx.commit().await?;
            Ok(cases)
        }

        /// The cases whose `column` is `value` (at most one: a unique column).
        async fn case_where<V>(&self, column: &str, value: V) -> Result<Option<Case>>
        where
            V: for<'q> sqlx::Encode<'q, D> + sqlx::Type<D> + Send + 'static,
        {
            let sql = format!("SELECT {CASE_COLUMNS} FROM cases WHERE {column} = $1");
            sqlx::query(&sql).bind(value).fetch_optional(&self.pool).await?.as_ref().map(|r| self.case_row(r)).transpose()
        }

        /// The query of one part of a page after `q.after`, `limit` rows; `head` goes before the
        /// `SELECT` (`EXPLAIN QUERY PLAN ` in the tests). The page's ids are chosen first by a
        /// query that the indexes can answer alone (the queue index holds region, clock, state and
        /// report time), then only those rows are read: a district's overdue list sorts thousands
        /// of index entries, not thousands of rows.
        pub(crate) fn page_query(q: &CaseQuery, page: Page, limit: i64, head: &str) -> Sql {
            let order = match page {
                Page::Newest => "reported_at DESC, id DESC",
                Page::Clocked => "due_at, id",
                Page::Unclocked => "id",
            };
            let mut b =
                Sql::new(format!("{head}SELECT {CASE_COLUMNS} FROM cases WHERE id IN (SELECT id FROM cases"));
            Self::push_filters(&mut b, q);
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
        fn push_filters(b: &mut Sql, q: &CaseQuery) {
            b.push(" WHERE TRUE");
            Self::push_visibility(b, &q.visibility);
            if !q.states.is_empty() {
                b.push(" AND state IN ").push_in(q.states.iter().map(|st| st.as_str()));
            }
            if let Some(r) = &q.region {
                if q.attention == Some(true) || q.overdue == Some(true) {
                    // Open cases whose clock is tested: a bare range, which the planner reads from
                    // the index `cases_queue` (open cases by region and clock); wrapped in an OR
                    // (as elsewhere) it would walk every open case of the jurisdiction instead.
                    b.push(" AND scope_region >= ").push_bind(r.to_string());
                    b.push(" AND scope_region < ").push_bind(format!("{r}:"));
                } else {
                    // Wrapped, so that the planner keeps walking newest first (`cases_reported`)
                    // and stops at the page's end rather than sorting every case of the subtree.
                    b.push(" AND (FALSE");
                    Self::push_prefix(b, "scope_region", r);
                    b.push(")");
                }
            }
            if let Some(d) = q.department {
                b.push(" AND id IN (SELECT case_id FROM case_departments WHERE department_id = ").push_bind(d).push(")");
            }
            if !q.categories.is_empty() {
                b.push(" AND category IN ").push_in(q.categories.iter().copied());
            }
            if let Some(u) = q.urgency {
                b.push(" AND urgency = ").push_bind(u.as_str());
            }
            match q.overdue {
                Some(true) => {
                    b.push(format!(" AND {OPEN} AND due_at < ")).push_bind(q.now);
                }
                Some(false) => {
                    b.push(format!(" AND NOT ({OPEN} AND due_at < ")).push_bind(q.now).push(")");
                }
                None => {}
            }
            match q.attention {
                Some(true) => {
                    // The open-state term on its own lets the partial index `cases_queue` serve it.
                    b.push(format!(" AND {OPEN} AND (state = 'reported' OR due_at < ")).push_bind(q.now).push(")");
                }
                Some(false) => {
                    b.push(format!(
                        " AND NOT ({OPEN} AND (state = 'reported' OR (due_at IS NOT NULL AND due_at < "
                    ))
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
                // Both ignore the case of ASCII letters (SQLite's LIKE, PostgreSQL's ILIKE).
                let pattern = format!("%{}%", crate::like_escape(text));
                let like = D::LIKE;
                b.push(format!(" AND (description {like} "))
                    .push_bind(pattern.clone())
                    .push(format!(" ESCAPE '\\' OR address {like} "))
                    .push_bind(pattern.clone())
                    .push(format!(" ESCAPE '\\' OR reference {like} "))
                    .push_bind(pattern)
                    .push(" ESCAPE '\\')");
            }
        }

        /// Appends the visibility restriction `v` to a WHERE clause on `cases`.
        pub(crate) fn push_visibility(b: &mut Sql, v: &crate::Visibility) {
            if v.all {
                return;
            }
            b.push(" AND (FALSE");
            for r in &v.regions {
                Self::push_prefix(b, "scope_region", r);
            }
            if !v.departments.is_empty() {
                b.push(" OR id IN (SELECT case_id FROM case_departments WHERE department_id IN ");
                b.push_in(v.departments.iter().copied()).push(")");
            }
            if let Some(p) = v.reporter {
                b.push(" OR reporter = ").push_bind(p);
            }
            b.push(")");
        }

        /// `OR column in subtree(code)`, as an index-friendly range: codes are digits, and ':'
        /// sorts right after '9'.
        pub(crate) fn push_prefix(b: &mut Sql, column: &str, code: &RegionCode) {
            b.push(format!(" OR ({column} >= "))
                .push_bind(code.to_string())
                .push(format!(" AND {column} < "))
                .push_bind(format!("{code}:"))
                .push(")");
        }

        async fn cases_of(&self, b: Sql) -> Result<Vec<Case>> {
            Self::query_of(&b).fetch_all(&self.pool).await?.iter().map(|r| self.case_row(r)).collect()
        }
    }
}

generic! {
    #[async_trait]
    impl CaseStore for SqlStore {
        #[tracing::instrument(skip_all, fields(district = %intake.decision.case.district))]
        async fn insert_case(&self, intake: Intake<'_>) -> Result<Case> {
            let mut tx = self.begin_write().await?;
            let case = self.insert_new_case(&mut tx, &intake).await?;
            let mut rollup = Rollup::default();
            rollup.add(&case, std::slice::from_ref(&intake.decision.event), &Self::community_teams(&mut tx).await?, 1);
            Self::write_rollup(&mut tx, rollup).await?;
            tx.commit().await?;
            tracing::info!(case = case.id, reference = %case.reference, "case stored");
            Ok(case)
        }

        /// One write transaction for the whole group. Without photos to attach, nothing but the
        /// database itself can refuse an intake, so the group is first written with multi-row
        /// statements; if that fails (or photos are attached), each intake is written in its own
        /// savepoint, so a refused one rolls back alone (and burns no reference number).
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
                let community = Self::community_teams(&mut tx).await?;
                let mut rollup = Rollup::default();
                for intake in intakes {
                    sqlx::query("SAVEPOINT intake").execute(&mut *tx).await?;
                    match self.insert_new_case(&mut tx, intake).await {
                        Ok(case) => {
                            rollup.add(&case, std::slice::from_ref(&intake.decision.event), &community, 1);
                            results.push(Ok(case));
                        }
                        Err(e) => {
                            sqlx::query("ROLLBACK TO SAVEPOINT intake").execute(&mut *tx).await?;
                            results.push(Err(e));
                        }
                    }
                    sqlx::query("RELEASE SAVEPOINT intake").execute(&mut *tx).await?;
                }
                Self::write_rollup(&mut tx, rollup).await?;
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
        async fn apply(&self, decision: &Decision, media: &[MediaId]) -> Result<Case> {
            Ok(self.apply_all(&[(decision, media)]).await?.remove(0))
        }

        async fn apply_all(&self, decisions: &[(&Decision, &[MediaId])]) -> Result<Vec<Case>> {
            let mut tx = self.begin_write().await?;
            for (decision, media) in decisions {
                if !self.apply_in(&mut tx, decision, media).await? {
                    drop(tx);
                    let id = decision.case.id;
                    let current = self.case(id).await?.ok_or_else(|| corrupt(format!("case {id} vanished")))?;
                    return Err(StoreError::Conflict(Box::new(current)));
                }
            }
            tx.commit().await?;
            Ok(decisions.iter().map(|(d, _)| d.case.clone()).collect())
        }

        async fn case(&self, id: CaseId) -> Result<Option<Case>> {
            self.case_where("id", id).await
        }

        async fn case_by_reference(&self, reference: &str) -> Result<Option<Case>> {
            self.case_where("reference", reference.to_string()).await
        }

        async fn case_by_tracking(&self, tracking_hash: &str) -> Result<Option<Case>> {
            // The reporter's code, or the code sent to a caller attached to the case.
            let sql = format!(
                "SELECT {CASE_COLUMNS} FROM cases WHERE tracking_hash = $1 \
                 OR id = (SELECT case_id FROM case_callers WHERE tracking_hash = $1)"
            );
            let row = sqlx::query(&sql).bind(tracking_hash).fetch_optional(&self.pool).await?;
            row.as_ref().map(|r| self.case_row(r)).transpose()
        }

        async fn events(&self, case: CaseId) -> Result<Vec<CaseEvent>> {
            let rows = sqlx::query(&format!("SELECT {EVENT_COLUMNS} FROM case_events WHERE case_id = $1 ORDER BY seq"))
                .bind(case)
                .fetch_all(&self.pool)
                .await?;
            rows.iter().map(Self::event_row).collect()
        }

        #[tracing::instrument(skip_all)]
        async fn list_cases(&self, q: &CaseQuery) -> Result<Vec<Case>> {
            let limit = i64::from(q.limit.clamp(1, 200));
            let mut out = Vec::new();
            match q.order {
                CaseOrder::Newest => out.extend(self.cases_of(Self::page_query(q, Page::Newest, limit, "")).await?),
                CaseOrder::Deadline => {
                    // Cases with a running clock by deadline, then (when the page is not full)
                    // those without one by id: two index-ordered queries rather than one that
                    // sorts NULLs.
                    if q.after.is_none_or(|(due, _)| due != NO_DEADLINE) {
                        out.extend(self.cases_of(Self::page_query(q, Page::Clocked, limit, "")).await?);
                    }
                    let left = limit - out.len() as i64;
                    if left > 0 {
                        out.extend(self.cases_of(Self::page_query(q, Page::Unclocked, left, "")).await?);
                    }
                }
            }
            Ok(out)
        }

        async fn cases_near(
            &self,
            category: CategoryId,
            bbox: [f64; 4],
            since: Millis,
            exclude: CaseId,
        ) -> Result<Vec<Case>> {
            let [min_lat, min_lon, max_lat, max_lon] = bbox;
            let mut b = Sql::new(format!("SELECT {CASE_COLUMNS} FROM cases WHERE {OPEN} AND category = "));
            b.push_bind(category);
            b.push(" AND lat BETWEEN ").push_bind(min_lat).push(" AND ").push_bind(max_lat);
            b.push(" AND lon BETWEEN ").push_bind(min_lon).push(" AND ").push_bind(max_lon);
            b.push(" AND reported_at >= ").push_bind(since).push(" AND id <> ").push_bind(exclude);
            b.push(" ORDER BY reported_at DESC LIMIT 50");
            self.cases_of(b).await
        }

        async fn public_cases_in(&self, bbox: [f64; 4], since: Millis, limit: u32) -> Result<Vec<Case>> {
            let [min_lat, min_lon, max_lat, max_lon] = bbox;
            let mut b = Sql::new(format!(
                "SELECT {CASE_COLUMNS} FROM cases WHERE state NOT IN ('reported', 'rejected') AND category IS NOT NULL"
            ));
            b.push(" AND lat BETWEEN ").push_bind(min_lat).push(" AND ").push_bind(max_lat);
            b.push(" AND lon BETWEEN ").push_bind(min_lon).push(" AND ").push_bind(max_lon);
            b.push(" AND reported_at >= ").push_bind(since);
            b.push(" ORDER BY reported_at DESC, id DESC LIMIT ").push_bind(i64::from(limit));
            self.cases_of(b).await
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
            crate::bulk::check_versions(cases)?;
            D::import_history(self, cases, utc_offset_hours).await
        }

        async fn open_cases_with_clocks(&self, after: CaseId, limit: u32) -> Result<Vec<Case>> {
            let mut b = Sql::new(format!(
                "SELECT {CASE_COLUMNS} FROM cases WHERE {OPEN} AND due_at IS NOT NULL AND id > "
            ));
            b.push_bind(after).push(" ORDER BY id LIMIT ").push_bind(i64::from(limit));
            self.cases_of(b).await
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
                .map(Self::media_row)
                .transpose()
        }

        async fn case_media(&self, case: CaseId) -> Result<Vec<Media>> {
            sqlx::query("SELECT * FROM media WHERE case_id = $1 ORDER BY created_at, id")
                .bind(case)
                .fetch_all(&self.pool)
                .await?
                .iter()
                .map(Self::media_row)
                .collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use gridkeeper_domain::{report, Actor, Command, Grant, NewReport, Role, Scope};

    use super::*;
    use crate::testing::on_both;
    use crate::{Dialect, NewPerson, PeopleStore, SqlStore};

    fn new_case(district: &str, at: Millis) -> Decision {
        let r = NewReport::new(district, Some(LatLon { lat: 30.0, lon: 120.0 }), "broken");
        report(&Actor::anonymous(), r, at).unwrap()
    }

    async fn insert(s: &impl CaseStore, d: &Decision, year: i32) -> Case {
        s.insert_case(Intake { decision: d, year, tracking_hash: None, media: &[] }).await.unwrap()
    }

    /// Cases of two communities in every kind of state for the queue tests, each set directly:
    /// (scope_region, state, due_at), reported at its id. `now` is 1000.
    async fn queue_cases<D: Dialect>(s: &SqlStore<D>)
    where
        SqlStore<D>: CaseStore + Tweak,
    {
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
            s.tweak(c.id, region, state, *due).await;
        }
    }

    /// Every page of `q` from the first, `limit` cases each, by the cursor of each page's last case.
    async fn pages(s: &impl CaseStore, mut q: CaseQuery) -> Vec<Vec<CaseId>> {
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
    async fn a_communitys_queue_and_overdue_list_choose_their_page_from_the_queue_index_alone() {
        let s = crate::testing::sqlite().await;
        let visibility = Visibility { regions: vec![RegionCode::parse("330483").unwrap()], ..Default::default() };
        let region = Some(RegionCode::parse("330483101").unwrap());
        let plan = |q: CaseQuery, page: Page| {
            let pool = s.pool.clone();
            async move {
                let b = crate::SqliteStore::page_query(&q, page, 50, "EXPLAIN QUERY PLAN ");
                let rows = crate::SqliteStore::query_of(&b).fetch_all(&pool).await.unwrap();
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
        let s = crate::testing::sqlite().await;
        let case = insert(&s, &new_case("330483", 1), 2026).await;
        let err =
            sqlx::query("UPDATE case_events SET data = '{}' WHERE case_id = $1").bind(case.id).execute(&s.pool).await;
        assert!(err.unwrap_err().to_string().contains("append-only"));
        let err = sqlx::query("DELETE FROM case_events").execute(&s.pool).await;
        assert!(err.is_err());
    }

    on_both! {
        async fn references_count_per_district_and_year(s) {
            let refs = [
                insert(&s, &new_case("330483", 1), 2026).await.reference,
                insert(&s, &new_case("330483", 2), 2026).await.reference,
                insert(&s, &new_case("330482", 3), 2026).await.reference,
                insert(&s, &new_case("330483", 4), 2027).await.reference,
            ];
            assert_eq!(refs, ["330483-2026-000001", "330483-2026-000002", "330482-2026-000001", "330483-2027-000001"]);
        }

        async fn a_stale_write_is_a_conflict_and_changes_nothing(s) {
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

        async fn a_group_commit_stores_each_case_and_a_refused_one_alone(s) {
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
            assert!(matches!(&results[1], Err(StoreError::Missing(f)) if f.field == "photos"));
            let refs: Vec<String> = results.iter().flatten().map(|c| c.reference.clone()).collect();
            // The refused report burned no number; the others follow one another.
            assert_eq!(refs, ["330483-2026-000001", "330483-2026-000002", "330483-2026-000003"]);
            for case in results.iter().flatten() {
                assert_eq!(s.case(case.id).await.unwrap().as_ref(), Some(case));
                assert_eq!(s.events(case.id).await.unwrap().len(), 1);
            }
            assert_eq!(s.count_cases().await.unwrap(), 3);
            // A case stored alone continues the numbering.
            let one_by_one = CaseStore::insert_case(&s, intakes[0].clone()).await.unwrap();
            assert_eq!(one_by_one.reference, "330483-2026-000004");
        }

        async fn a_group_without_photos_is_written_at_once_and_one_that_fails_falls_back_to_savepoints(s) {
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

        async fn the_queue_is_new_and_overdue_cases_by_deadline_in_a_subtree(s) {
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

        async fn history_import_checks_versions(s) {
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

    /// A test's direct change of a case's region, state and clock.
    #[async_trait]
    trait Tweak {
        async fn tweak(&self, id: CaseId, region: &str, state: &str, due: Option<i64>);
    }

    generic! {
        #[async_trait]
        impl Tweak for SqlStore {
            async fn tweak(&self, id: CaseId, region: &str, state: &str, due: Option<i64>) {
                sqlx::query("UPDATE cases SET scope_region = $1, state = $2, due_at = $3 WHERE id = $4")
                    .bind(region)
                    .bind(state)
                    .bind(due)
                    .bind(id)
                    .execute(&self.pool)
                    .await
                    .unwrap();
            }
        }
    }
}
