//! [`AdminStore`]: what the administration changes — accounts and their roles, departments and
//! categories. Each change is written **together with its audit entry, in one transaction**: the
//! caller builds the [`NewAudit`] (who, when, what), the store appends it to the hash chain in the
//! same transaction as the change, so there is no change without its entry and no entry without
//! its change.
//! The audit entry is appended last, so that PostgreSQL's lock on the log is held only to the
//! commit.

use async_trait::async_trait;
use gridkeeper_domain::{Category, CategoryId, Department, DepartmentId, FieldError, Grant, Millis, PersonId};
use sqlx::Row;

use crate::dialect::generic;
use crate::people::scope_parts;
use crate::sql::Sql;
use crate::{NewAudit, NewPerson, Person, Result, StoreError};

/// A page of people for the administration, ordered by login.
#[derive(Debug, Clone, Default)]
pub struct PeopleQuery {
    /// Logins starting with this text.
    pub login_prefix: Option<String>,
    /// The person with this mobile number (found by its blind index: phones are sealed).
    pub phone: Option<String>,
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

fn taken(field: &str, code: &str) -> StoreError {
    StoreError::Conflicts(FieldError::new(field, format!("`{code}` is already taken")))
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

generic! {
    #[async_trait]
    impl AdminStore for SqlStore {
        async fn list_people(&self, q: &PeopleQuery) -> Result<Vec<Person>> {
            let mut b = Sql::new("SELECT login FROM people WHERE TRUE");
            if let Some(p) = &q.login_prefix {
                // Logins are plain text; the other columns are sealed and cannot be searched.
                b.push(" AND login LIKE ").push_bind(format!("{}%", crate::like_escape(p))).push(" ESCAPE '\\'");
            }
            if let Some(phone) = &q.phone {
                b.push(" AND phone_index = ").push_bind(self.vault.blind_index("phone", phone));
            }
            if let Some(a) = &q.after {
                b.push(" AND login > ").push_bind(a.clone());
            }
            b.push(" ORDER BY login LIMIT ").push_bind(i64::from(q.limit.clamp(1, 500)));
            let logins: Vec<String> = Self::query_of(&b).fetch_all(&self.pool).await?.iter().map(|r| r.try_get(0)).collect::<Result<_, _>>()?;
            let mut out = Vec::with_capacity(logins.len());
            for login in logins {
                if let Some(p) = self.person_where("login", login).await? {
                    out.push(p);
                }
            }
            Ok(out)
        }

        async fn create_person_audited(&self, p: &NewPerson, now: Millis, audit: &NewAudit) -> Result<PersonId> {
            let mut tx = self.begin_write().await?;
            let id = self.insert_person(&mut tx, p, now).await?;
            let mut entry = audit.clone();
            entry.object.get_or_insert_with(|| format!("person:{id}"));
            Self::append_audit(&mut tx, &entry).await?;
            tx.commit().await?;
            Ok(id)
        }

        async fn add_grant(&self, person: PersonId, grant: &Grant, audit: &NewAudit) -> Result<bool> {
            let mut tx = self.begin_write().await?;
            let (kind, value) = scope_parts(&grant.scope);
            let added = D::rows_affected(&sqlx::query(
                "INSERT INTO grants (person_id, role, scope_type, scope_value) \
                 SELECT id, $1, $2, $3 FROM people WHERE id = $4 ON CONFLICT DO NOTHING",
            )
            .bind(grant.role.as_str())
            .bind(kind)
            .bind(value)
            .bind(person)
            .execute(&mut *tx)
            .await?) == 1;
            if added {
                Self::open_assignment(&mut tx, person, grant, audit.at, audit.actor).await?;
                Self::append_audit(&mut tx, audit).await?;
            }
            tx.commit().await?;
            Ok(added)
        }

        async fn remove_grant(&self, person: PersonId, grant: &Grant, audit: &NewAudit) -> Result<bool> {
            let mut tx = self.begin_write().await?;
            let (kind, value) = scope_parts(&grant.scope);
            let removed = D::rows_affected(&sqlx::query(
                "DELETE FROM grants WHERE person_id = $1 AND role = $2 AND scope_type = $3 AND scope_value = $4",
            )
            .bind(person)
            .bind(grant.role.as_str())
            .bind(kind)
            .bind(value)
            .execute(&mut *tx)
            .await?) == 1;
            if removed {
                Self::end_assignments(&mut tx, person, grant, audit.at).await?;
                Self::append_audit(&mut tx, audit).await?;
            }
            tx.commit().await?;
            Ok(removed)
        }

        async fn set_disabled(&self, person: PersonId, disabled: bool, audit: &NewAudit) -> Result<bool> {
            let mut tx = self.begin_write().await?;
            let changed = D::rows_affected(&sqlx::query("UPDATE people SET disabled = $1 WHERE id = $2 AND disabled <> $1")
                .bind(disabled)
                .bind(person)
                .execute(&mut *tx)
                .await?) == 1;
            if changed {
                if disabled {
                    sqlx::query("DELETE FROM sessions WHERE person_id = $1").bind(person).execute(&mut *tx).await?;
                }
                Self::append_audit(&mut tx, audit).await?;
            }
            tx.commit().await?;
            Ok(changed)
        }

        async fn insert_department(&self, d: &Department, audit: &NewAudit) -> Result<DepartmentId> {
            let mut tx = self.begin_write().await?;
            let q = sqlx::query(
                "INSERT INTO departments (code, name, name_en, platform_id, kind, region) VALUES ($1, $2, $3, $4, $5, $6) \
                 RETURNING id",
            );
            let id: DepartmentId = Self::bind_department(q, d)
                .fetch_one(&mut *tx)
                .await
                .map_err(|e| if is_unique_violation(&e) { taken("code", &d.code) } else { e.into() })?
                .try_get(0)?;
            let mut entry = audit.clone();
            entry.object.get_or_insert_with(|| format!("department:{id}"));
            Self::append_audit(&mut tx, &entry).await?;
            tx.commit().await?;
            Ok(id)
        }

        async fn update_department(&self, d: &Department, audit: &NewAudit) -> Result<bool> {
            let mut tx = self.begin_write().await?;
            let q = sqlx::query(
                "UPDATE departments SET code = $1, name = $2, name_en = $3, platform_id = $4, kind = $5, region = $6 \
                 WHERE id = $7",
            );
            let changed = D::rows_affected(&Self::bind_department(q, d)
                .bind(d.id)
                .execute(&mut *tx)
                .await
                .map_err(|e| if is_unique_violation(&e) { taken("code", &d.code) } else { e.into() })?) == 1;
            if changed {
                Self::append_audit(&mut tx, audit).await?;
            }
            tx.commit().await?;
            Ok(changed)
        }

        async fn insert_category(&self, c: &Category, audit: &NewAudit) -> Result<CategoryId> {
            let mut tx = self.begin_write().await?;
            let q = sqlx::query(
                "INSERT INTO categories (code, name, name_en, kind, parent_id, default_department, public, \
                 routine_hours, urgent_hours, emergency_hours, duplicate_radius_m, duplicate_window_hours) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
            );
            let id: CategoryId = Self::bind_category(q, c)
                .fetch_one(&mut *tx)
                .await
                .map_err(|e| if is_unique_violation(&e) { taken("code", &c.code) } else { e.into() })?
                .try_get(0)?;
            let mut entry = audit.clone();
            entry.object.get_or_insert_with(|| format!("category:{id}"));
            Self::append_audit(&mut tx, &entry).await?;
            tx.commit().await?;
            Ok(id)
        }

        async fn update_category(&self, c: &Category, audit: &NewAudit) -> Result<bool> {
            let mut tx = self.begin_write().await?;
            let q = sqlx::query(
                "UPDATE categories SET code = $1, name = $2, name_en = $3, kind = $4, parent_id = $5, \
                 default_department = $6, public = $7, routine_hours = $8, urgent_hours = $9, emergency_hours = $10, \
                 duplicate_radius_m = $11, duplicate_window_hours = $12 WHERE id = $13",
            );
            let changed = D::rows_affected(&Self::bind_category(q, c)
                .bind(c.id)
                .execute(&mut *tx)
                .await
                .map_err(|e| if is_unique_violation(&e) { taken("code", &c.code) } else { e.into() })?) == 1;
            if changed {
                Self::append_audit(&mut tx, audit).await?;
            }
            tx.commit().await?;
            Ok(changed)
        }

        async fn organisation_generation(&self) -> Result<i64> {
            Ok(sqlx::query_scalar("SELECT coalesce(max(id), 0) FROM audit_log WHERE action = 'reference_change'")
                .fetch_one(&self.pool)
                .await?)
        }
    }
}
