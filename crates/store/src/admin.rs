//! [`AdminStore`]: what the administration changes — accounts and their roles, departments and
//! categories. Each change is written **together with its audit entry, in one transaction**: the
//! caller builds the [`NewAudit`] (who, when, what), the store appends it to the hash chain in the
//! same transaction as the change, so there is no change without its entry and no entry without
//! its change.
//!
//! For a backend (PostgreSQL): every method is one short transaction of plain statements; append
//! the audit entry the way `AccountStore::audit` does (take the last hash under a lock on the
//! log, e.g. `LOCK TABLE audit_log IN EXCLUSIVE MODE`, then insert).

use async_trait::async_trait;
use gridkeeper_domain::{Category, CategoryId, Department, DepartmentId, Grant, Millis, PersonId};

use crate::{NewAudit, NewPerson, Person, Result};

/// A page of people for the administration, ordered by login.
#[derive(Debug, Clone, Default)]
pub struct PeopleQuery {
    /// Logins starting with this text.
    pub login_prefix: Option<String>,
    /// Only people after this login (keyset pagination).
    pub after: Option<String>,
    pub limit: u32,
}

#[async_trait]
pub trait AdminStore: Send + Sync {
    /// People ordered by login, with their grants.
    async fn list_people(&self, q: &PeopleQuery) -> Result<Vec<Person>>;
    /// Creates an account with its grants; `audit.object` is set to `person:<new id>` when
    /// `None`. A login (or phone) already taken is `StoreError::Invalid` naming `login`.
    async fn create_person_audited(&self, p: &NewPerson, now: Millis, audit: &NewAudit) -> Result<PersonId>;
    /// Gives a role; `false` (and no audit entry) when the person already held it.
    async fn add_grant(&self, person: PersonId, grant: &Grant, audit: &NewAudit) -> Result<bool>;
    /// Takes a role away; `false` (and no audit entry) when the person did not hold it.
    async fn remove_grant(&self, person: PersonId, grant: &Grant, audit: &NewAudit) -> Result<bool>;
    /// Disables (ending every session) or re-enables an account; `false` (and no audit entry)
    /// when it already was so.
    async fn set_disabled(&self, person: PersonId, disabled: bool, audit: &NewAudit) -> Result<bool>;
    /// Stores a new department (its `id` is ignored and assigned); a taken code is
    /// `StoreError::Invalid` naming `code`.
    async fn insert_department(&self, d: &Department, audit: &NewAudit) -> Result<DepartmentId>;
    /// Changes a department; `false` when there is none with its id.
    async fn update_department(&self, d: &Department, audit: &NewAudit) -> Result<bool>;
    /// Stores a new category (its `id` is ignored and assigned); a taken code is
    /// `StoreError::Invalid` naming `code`.
    async fn insert_category(&self, c: &Category, audit: &NewAudit) -> Result<CategoryId>;
    /// Changes a category; `false` when there is none with its id.
    async fn update_category(&self, c: &Category, audit: &NewAudit) -> Result<bool>;
    /// Changes whenever a department or a category is inserted or updated through this trait:
    /// the id of the latest `reference_change` audit entry (0 when none). Other server
    /// instances poll it to reload their reference data.
    async fn organisation_generation(&self) -> Result<i64>;
}
