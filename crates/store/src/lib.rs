//! Storage: one [`Store`] trait, and its SQLite and PostgreSQL implementations, chosen by the
//! database URL in [`open`].
//!
//! **Architecture invariant:** only this crate writes SQL. A case row is a projection of its
//! events: [`Store::insert_case`] and [`Store::apply`] write the projection and its one event in
//! the same transaction, and `apply` refuses a write whose version is stale (optimistic
//! concurrency), so of two people acting on the same case at once exactly one wins.

mod accounts;
mod admin;
mod articles;
pub mod backup;
mod bulk;
mod calendars;
mod campaigns;
mod care;
mod cases;
mod consultations;
mod contacts;
#[cfg(test)]
mod contract;
mod dialect;
mod exchange;
mod fieldwork;
mod hotline;
mod housing;
mod inspections;
pub mod live;
mod measures;
mod natives;
mod notices;
mod participation;
mod patrols;
mod people;
mod places;
mod points;
mod proposals;
mod reference;
mod regions;
mod registry;
mod rollups;
mod sql;
mod teams;
#[cfg(test)]
mod testing;
pub mod transfer;
mod triage;
pub mod vault;

use async_trait::async_trait;
use gridkeeper_domain::{Case, FieldError};

pub use accounts::*;
pub use admin::{AdminStore, PeopleQuery};
pub use articles::{Article, ArticleQuery, ArticleScope, ArticleStore, GridReads, NewArticle};
pub use bulk::BulkLoad;
pub use calendars::CalendarStore;
pub use campaigns::{Campaign, CampaignStore, CampaignTask};
pub use care::{CareQuery, CareStore};
pub use cases::{CaseLink, CaseOrder, CaseQuery, CaseStore, Intake, Media, Visibility, NO_DEADLINE};
pub use consultations::{Comment, Consultation, ConsultationScope, ConsultationStore, GridVotes, NewConsultation};
pub use contacts::{CardProfile, ContactMessage, ContactStore, MessageLimit, NewContactMessage};
pub use dialect::{Dialect, SqlStore, ACQUIRE_TIMEOUT};
pub use exchange::*;
pub use fieldwork::FieldWorkStore;
pub use hotline::{CaseCaller, HotlineStore, PhoneCase, MAX_CALLER_CASES};
pub use housing::{BuildingQuery, HouseQuery, HousingStore, TenancyQuery};
pub use inspections::{
    Checklist, Due, Found, Hazard, Inspection, InspectionStore, NewInspection, Rechecked, SpotCheck, StoredResult,
    Subject,
};
pub use live::{CaseNotice, LiveFeed, LocalFeed, PgFeed};
pub use measures::{GroupBy, MeasureQuery, MeasureStore};
pub use natives::{Invitation, Lead, LeadNote, Native, NativeStore, NewNative, CONSENT_FIELDS};
pub use notices::{
    Follow, FollowTarget, NoticeAddresses, NoticeAttempt, NoticeContext, NoticeRow, NoticeStore, Outgoing, TemplateRow,
    MAX_FOLLOWS, MAX_FOLLOW_RADIUS_M,
};
pub use participation::{
    CommunityProposals, ConsultationTurnout, GridParticipation, ParticipationFigures, ParticipationStore,
};
pub use patrols::{Added, EndedBy, PastPatrol, Patrol, PatrolCase, PatrolQuery, PatrolStore, PatrolTally, PatrolVisit};
pub use people::{NewPerson, PeopleStore, Person};
pub use places::{PlaceMarker, PlaceMove, PlaceQuery, PlaceStore, PlaceVisit};
pub use points::{
    Commendation, LeaderRow, LedgerEntry, PointAccount, PointFlow, PointsStore, Redemption, RedemptionQuery, Reward,
    MAX_POINTS_PAGE,
};
pub use proposals::{NewProposal, Proposal, ProposalScope, ProposalStore};

pub use reference::{ReferenceData, ReferenceStore};
pub use regions::*;
pub use registry::{
    BatchIds, BatchRef, GridRegistryCounts, LookupKey, RegistryBatch, RegistryHit, RegistryMeasureQuery, RegistryStore,
};
pub use teams::{Member, NewMember, NewServiceLog, NewTeam, ServiceLog, ServiceQuery, Team, TeamStore};
pub use triage::{
    DailyCount, NewTriageModel, SuggestionRecord, SuggestionTally, TrainingCase, TriageModelRow, TriageStore,
};
pub use vault::Vault;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Someone else changed the case first; here is its current state.
    #[error("the case was changed by someone else (now version {})", .0.version)]
    Conflict(Box<Case>),
    /// Input that is not valid as it stands.
    #[error("{0}")]
    Invalid(FieldError),
    /// Input that refers to something that does not exist (or is not the caller's to use).
    #[error("{0}")]
    Missing(FieldError),
    /// A value that conflicts with what is stored: a code another row already holds, an end
    /// outside the stored period.
    #[error("{0}")]
    Conflicts(FieldError),
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

/// Every store trait, for code that calls them on a concrete [`SqliteStore`] or [`PgStore`]
/// (through `Arc<dyn Store>` they are in scope already): `use gridkeeper_store::prelude::*`.
pub mod prelude {
    pub use crate::{
        AccountStore, AdminStore, ArticleStore, CalendarStore, CampaignStore, CareStore, CaseStore, ConsultationStore,
        ContactStore, ExchangeStore, HotlineStore, HousingStore, InspectionStore, MeasureStore, NativeStore,
        NoticeStore, ParticipationStore, PeopleStore, PlaceStore, PointsStore, ProposalStore, ReferenceStore,
        RegionStore, RegistryStore, Store, TeamStore, TriageStore,
    };
    // Patrols (issue 16).
    pub use crate::FieldWorkStore;
    pub use crate::PatrolStore;
}

/// The store on SQLite: one file, WAL mode, migrations embedded.
pub type SqliteStore = SqlStore<sqlx::Sqlite>;
/// The store on PostgreSQL, which several server instances share.
pub type PgStore = SqlStore<sqlx::Postgres>;

/// Everything the platform stores: the union of the stores of each part of the domain, and the
/// schema they share. [`SqlStore`] implements it once for SQLite and PostgreSQL.
#[async_trait]
pub trait Store:
    ReferenceStore
    + PeopleStore
    + CaseStore
    + AccountStore
    + AdminStore
    + CalendarStore
    + MeasureStore
    + ExchangeStore
    + RegionStore
    + HousingStore
    + PlaceStore
    + CareStore
    + RegistryStore
    + TriageStore
    + NoticeStore
    + HotlineStore
    + ContactStore
    + ArticleStore
    + ConsultationStore
    + ProposalStore
    + ParticipationStore
    + NativeStore
    + PointsStore
    + InspectionStore
    + TeamStore
    + PatrolStore
    + CampaignStore
    + FieldWorkStore
    + Send
    + Sync
    + 'static
{
    /// Brings the schema up to date.
    async fn migrate(&self) -> Result<()>;
}

dialect::generic! {
    #[async_trait]
    impl Store for SqlStore {
        async fn migrate(&self) -> Result<()> {
            D::migrate(&self.pool).await?;
            self.ensure_rollups().await?;
            self.seal_webhook_secrets().await?;
            self.index_contact_phones().await?;
            self.ensure_place_kinds().await
        }
    }
}

/// `text` with the wildcards of `LIKE` (`%`, `_`) and the escape character `\` escaped, for a
/// pattern written with `ESCAPE '\'`.
pub(crate) fn like_escape(text: &str) -> String {
    text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

/// Stored data that cannot be read back as what it should be.
pub(crate) fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(what.to_string())
}

/// A stored value parsed into its domain type; a value that does not parse is corrupt data.
pub(crate) fn parse_field<T>(r: std::result::Result<T, FieldError>) -> Result<T> {
    r.map_err(corrupt)
}

/// A value as the JSON text of a TEXT column.
pub(crate) fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("serialising plain data cannot fail")
}

/// A stored BIGINT as an unsigned field.
pub(crate) fn unsigned(v: i64) -> Result<u32> {
    u32::try_from(v).map_err(|_| corrupt(format!("{v} does not fit an unsigned 32-bit field")))
}
