//! Storage: one [`Store`] trait, and its SQLite and PostgreSQL implementations, chosen by the
//! database URL in [`open`].
//!
//! **Architecture invariant:** only this crate writes SQL. A case row is a projection of its
//! events: [`Store::insert_case`] and [`Store::apply`] write the projection and its one event in
//! the same transaction, and `apply` refuses a write whose version is stale (optimistic
//! concurrency), so of two people acting on the same case at once exactly one wins.

mod accounts;
mod admin;
pub mod backup;
mod calendars;
mod dialect;
mod exchange;
pub mod live;
mod measures;
mod measures_sql;
mod pg;
mod pg_accounts;
mod pg_admin;
mod pg_exchange;
mod pg_live;
mod pg_measures;
mod pg_regions;
mod pg_rollups;
mod regions;
mod sqlite;
mod sqlite_accounts;
mod sqlite_admin;
mod sqlite_bulk;
mod sqlite_exchange;
mod sqlite_measures;
mod sqlite_regions;
mod sqlite_rollups;
#[cfg(test)]
mod testing;
pub mod transfer;
pub mod vault;

use async_trait::async_trait;
use gridkeeper_domain::{
    Case, CaseEvent, CaseId, CaseState, Category, CategoryId, Decision, Department, DepartmentId, FieldError, Grant,
    MediaId, Millis, PersonId, Platform, Region, RegionCode, Urgency,
};
use serde::Serialize;

pub use accounts::*;
pub use admin::{AdminStore, PeopleQuery};
pub use calendars::CalendarStore;
pub use dialect::{Dialect, SqlStore};
pub use exchange::*;
pub use live::{CaseNotice, LiveFeed, LocalFeed};
pub use measures::{GroupBy, MeasureQuery, MeasureStore};
pub use pg::PgStore;
pub use pg_live::PgFeed;
pub use regions::*;
pub use sqlite::SqliteStore;
pub use sqlite_bulk::BulkLoad;
pub use vault::Vault;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Someone else changed the case first; here is its current state.
    #[error("the case was changed by someone else (now version {})", .0.version)]
    Conflict(Box<Case>),
    /// Input that refers to something that does not exist or is already taken.
    #[error("{0}")]
    Invalid(FieldError),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// The store could not take the request (its writer stopped, or the group it was committed
    /// with failed); nothing of it was stored.
    #[error("store unavailable: {0}")]
    Unavailable(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

impl StoreError {
    /// The database cannot be reached or has no connection to spare now (a 503, retried later),
    /// as opposed to a refusal or a bug.
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Database(e) => {
                matches!(
                    e,
                    sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) | sqlx::Error::Tls(_)
                ) || e.as_database_error().and_then(|d| d.code()).is_some_and(|c| {
                    // Class 08 (connection exception), 57P01-03 (admin shutdown, crash shutdown,
                    // cannot connect now).
                    c.starts_with("08") || c == "57P01" || c == "57P02" || c == "57P03"
                })
            }
            StoreError::Unavailable(_) => true,
            _ => false,
        }
    }
}

/// The backends [`open`] knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The backend of a database URL: `sqlite:` or `postgres://` (also `postgresql://`).
    pub fn of(url: &str) -> Option<Backend> {
        if url.starts_with("sqlite:") {
            Some(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Backend::Postgres)
        } else {
            None
        }
    }
}

/// The live feed for server instances over the database of `url`: PostgreSQL's
/// `LISTEN`/`NOTIFY` (every instance hears every instance), or the in-process feed for SQLite
/// (one server per file).
pub async fn live_feed(url: &str) -> Result<std::sync::Arc<dyn LiveFeed>> {
    Ok(match Backend::of(url) {
        Some(Backend::Postgres) => PgFeed::start(url, 1024).await?,
        _ => std::sync::Arc::new(LocalFeed::default()),
    })
}

/// Opens the store a database URL names (`sqlite:path` or `postgres://...`), without migrating.
pub async fn open(url: &str, vault: std::sync::Arc<Vault>) -> Result<std::sync::Arc<dyn Store>> {
    match Backend::of(url) {
        Some(Backend::Sqlite) => Ok(std::sync::Arc::new(SqliteStore::open(url, vault).await?)),
        Some(Backend::Postgres) => Ok(std::sync::Arc::new(PgStore::open(url, vault).await?)),
        None => Err(StoreError::Invalid(FieldError::new("database.url", "must start with `sqlite:` or `postgres://`"))),
    }
}

/// Reference data loaded in one go (the demo, imports). Ids are given by the caller.
#[derive(Debug, Clone, Default)]
pub struct ReferenceData {
    pub regions: Vec<Region>,
    pub platforms: Vec<Platform>,
    pub departments: Vec<Department>,
    pub categories: Vec<Category>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Person {
    pub id: PersonId,
    pub login: String,
    pub name: String,
    pub phone: Option<String>,
    /// Identity card number (personal data).
    pub id_number: Option<String>,
    #[serde(skip)]
    pub password_hash: Option<String>,
    pub disabled: bool,
    pub totp_enabled: bool,
    pub grants: Vec<Grant>,
}

#[derive(Debug, Clone)]
pub struct NewPerson {
    pub login: String,
    pub name: String,
    pub phone: Option<String>,
    pub id_number: Option<String>,
    pub password_hash: Option<String>,
    pub grants: Vec<Grant>,
}

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

/// Who may see which cases, applied inside the list query.
#[derive(Debug, Clone, Default)]
pub struct Visibility {
    /// Everything (no restriction).
    pub all: bool,
    /// Region subtrees (the case's grid, or its district when outside every grid).
    pub regions: Vec<RegionCode>,
    /// Cases where one of these departments is lead or co-department.
    pub departments: Vec<DepartmentId>,
    /// Cases reported by this person.
    pub reporter: Option<PersonId>,
}

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

/// A new case for [`Store::insert_case`].
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
pub trait Store:
    AccountStore + AdminStore + CalendarStore + MeasureStore + ExchangeStore + RegionStore + Send + Sync + 'static
{
    /// Brings the schema up to date.
    async fn migrate(&self) -> Result<()>;

    // Reference data.
    async fn load_reference(&self, data: &ReferenceData) -> Result<()>;
    async fn regions(&self) -> Result<Vec<Region>>;
    async fn platforms(&self) -> Result<Vec<Platform>>;
    async fn departments(&self) -> Result<Vec<Department>>;
    async fn categories(&self) -> Result<Vec<Category>>;

    // People and sessions.
    async fn create_person(&self, p: &NewPerson, now: Millis) -> Result<PersonId>;
    async fn person(&self, id: PersonId) -> Result<Option<Person>>;
    async fn person_by_login(&self, login: &str) -> Result<Option<Person>>;
    async fn create_session(&self, token_hash: &str, person: PersonId, now: Millis, expires_at: Millis) -> Result<()>;
    /// The person of a live session.
    async fn session_person(&self, token_hash: &str, now: Millis) -> Result<Option<PersonId>>;
    async fn delete_session(&self, token_hash: &str) -> Result<()>;

    // Cases.
    /// Stores a new case and its first event; assigns its id and reference.
    async fn insert_case(&self, intake: Intake<'_>) -> Result<Case>;
    /// Stores several new cases at once (group commit): each one as [`Store::insert_case`]
    /// would, all in one transaction, so one durable commit acknowledges them all. One result
    /// per intake, in order; a refused intake (say, a photo that belongs to someone else) does
    /// not fail the others. When the commit itself fails, every intake fails.
    ///
    /// The default stores them one by one; backends override it to share one transaction.
    async fn insert_cases(&self, intakes: &[Intake<'_>]) -> Vec<Result<Case>> {
        let mut out = Vec::with_capacity(intakes.len());
        for intake in intakes {
            out.push(self.insert_case(intake.clone()).await);
        }
        out
    }
    /// Writes a decision on an existing case if the case is still at `decision.case.version - 1`.
    async fn apply(&self, decision: &Decision, media: &[MediaId]) -> Result<Case>;
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
    /// Stores many finished histories at once (the demo's simulated year). Each case's events
    /// come from the state machine; ids and references are assigned in the order given (the
    /// reference's year is the local year of the report at `utc_offset_hours`). All or nothing.
    async fn import_history(
        &self,
        cases: &[(Case, Vec<gridkeeper_domain::NewEvent>)],
        utc_offset_hours: i32,
    ) -> Result<()>;
    async fn count_cases(&self) -> Result<i64>;
    /// Open cases that have a clock running, in id order after `after` (for the deadline job).
    async fn open_cases_with_clocks(&self, after: CaseId, limit: u32) -> Result<Vec<Case>>;

    // Media.
    async fn insert_media(&self, m: &Media) -> Result<()>;
    async fn media(&self, id: &str) -> Result<Option<Media>>;
    async fn case_media(&self, case: CaseId) -> Result<Vec<Media>>;
}

/// `text` with the wildcards of `LIKE` (`%`, `_`) and the escape character `\` escaped, for a
/// pattern written with `ESCAPE '\'`.
pub(crate) fn like_escape(text: &str) -> String {
    text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}
