//! [`AdminStore`] for SQLite: each change and its audit entry in one `BEGIN IMMEDIATE`.

use async_trait::async_trait;
use gridkeeper_domain::{Category, CategoryId, Department, DepartmentId, FieldError, Grant, Millis, PersonId};
use sqlx::Row;

use crate::admin::{AdminStore, PeopleQuery};
use crate::sqlite::{bind_category, bind_department, scope_parts, SqliteStore};
use crate::sqlite_accounts::append_audit;
use crate::{NewAudit, NewPerson, Person, Result, StoreError};

fn taken(field: &str, code: &str) -> StoreError {
    StoreError::Invalid(FieldError::new(field, format!("`{code}` is already taken")))
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

#[async_trait]
impl AdminStore for SqliteStore {
    async fn list_people(&self, q: &PeopleQuery) -> Result<Vec<Person>> {
        let mut b = sqlx::QueryBuilder::<sqlx::Sqlite>::new("SELECT login FROM people WHERE 1");
        if let Some(p) = &q.login_prefix {
            // Logins are plain text; the other columns are sealed and cannot be searched.
            b.push(" AND login LIKE ").push_bind(format!("{}%", crate::like_escape(p))).push(" ESCAPE '\\'");
        }
        if let Some(a) = &q.after {
            b.push(" AND login > ").push_bind(a.clone());
        }
        b.push(" ORDER BY login LIMIT ").push_bind(i64::from(q.limit.clamp(1, 500)));
        let logins: Vec<String> = b.build_query_scalar().fetch_all(&self.pool).await?;
        let mut out = Vec::with_capacity(logins.len());
        for login in logins {
            if let Some(p) = self.person_where("login", &login).await? {
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
        append_audit(&mut tx, &entry).await?;
        tx.commit().await?;
        Ok(id)
    }

    async fn add_grant(&self, person: PersonId, grant: &Grant, audit: &NewAudit) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let (kind, value) = scope_parts(&grant.scope);
        let added = sqlx::query(
            "INSERT OR IGNORE INTO grants (person_id, role, scope_type, scope_value) \
             SELECT id, ?, ?, ? FROM people WHERE id = ?",
        )
        .bind(grant.role.as_str())
        .bind(kind)
        .bind(value)
        .bind(person)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if added {
            append_audit(&mut tx, audit).await?;
        }
        tx.commit().await?;
        Ok(added)
    }

    async fn remove_grant(&self, person: PersonId, grant: &Grant, audit: &NewAudit) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let (kind, value) = scope_parts(&grant.scope);
        let removed =
            sqlx::query("DELETE FROM grants WHERE person_id = ? AND role = ? AND scope_type = ? AND scope_value = ?")
                .bind(person)
                .bind(grant.role.as_str())
                .bind(kind)
                .bind(value)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                == 1;
        if removed {
            append_audit(&mut tx, audit).await?;
        }
        tx.commit().await?;
        Ok(removed)
    }

    async fn set_disabled(&self, person: PersonId, disabled: bool, audit: &NewAudit) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let changed = sqlx::query("UPDATE people SET disabled = ? WHERE id = ? AND disabled != ?")
            .bind(disabled)
            .bind(person)
            .bind(disabled)
            .execute(&mut *tx)
            .await?
            .rows_affected()
            == 1;
        if changed {
            if disabled {
                sqlx::query("DELETE FROM sessions WHERE person_id = ?").bind(person).execute(&mut *tx).await?;
            }
            append_audit(&mut tx, audit).await?;
        }
        tx.commit().await?;
        Ok(changed)
    }

    async fn insert_department(&self, d: &Department, audit: &NewAudit) -> Result<DepartmentId> {
        let mut tx = self.begin_write().await?;
        let q = sqlx::query(
            "INSERT INTO departments (code, name, name_en, platform_id, kind, region) VALUES (?, ?, ?, ?, ?, ?) \
             RETURNING id",
        );
        let id: DepartmentId = bind_department(q, d)
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| if is_unique_violation(&e) { taken("code", &d.code) } else { e.into() })?
            .try_get(0)?;
        let mut entry = audit.clone();
        entry.object.get_or_insert_with(|| format!("department:{id}"));
        append_audit(&mut tx, &entry).await?;
        tx.commit().await?;
        Ok(id)
    }

    async fn update_department(&self, d: &Department, audit: &NewAudit) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let q = sqlx::query(
            "UPDATE departments SET code = ?, name = ?, name_en = ?, platform_id = ?, kind = ?, region = ? WHERE id = ?",
        );
        let changed = bind_department(q, d)
            .bind(d.id)
            .execute(&mut *tx)
            .await
            .map_err(|e| if is_unique_violation(&e) { taken("code", &d.code) } else { e.into() })?
            .rows_affected()
            == 1;
        if changed {
            append_audit(&mut tx, audit).await?;
        }
        tx.commit().await?;
        Ok(changed)
    }

    async fn insert_category(&self, c: &Category, audit: &NewAudit) -> Result<CategoryId> {
        let mut tx = self.begin_write().await?;
        let q = sqlx::query(
            "INSERT INTO categories (code, name, name_en, kind, parent_id, default_department, public, \
             routine_hours, urgent_hours, emergency_hours, duplicate_radius_m, duplicate_window_hours) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        );
        let id: CategoryId = bind_category(q, c)
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| if is_unique_violation(&e) { taken("code", &c.code) } else { e.into() })?
            .try_get(0)?;
        let mut entry = audit.clone();
        entry.object.get_or_insert_with(|| format!("category:{id}"));
        append_audit(&mut tx, &entry).await?;
        tx.commit().await?;
        Ok(id)
    }

    async fn update_category(&self, c: &Category, audit: &NewAudit) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let q = sqlx::query(
            "UPDATE categories SET code = ?, name = ?, name_en = ?, kind = ?, parent_id = ?, default_department = ?, \
             public = ?, routine_hours = ?, urgent_hours = ?, emergency_hours = ?, duplicate_radius_m = ?, \
             duplicate_window_hours = ? WHERE id = ?",
        );
        let changed = bind_category(q, c)
            .bind(c.id)
            .execute(&mut *tx)
            .await
            .map_err(|e| if is_unique_violation(&e) { taken("code", &c.code) } else { e.into() })?
            .rows_affected()
            == 1;
        if changed {
            append_audit(&mut tx, audit).await?;
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
