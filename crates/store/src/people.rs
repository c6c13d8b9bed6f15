//! People, their roles in scopes, and their sessions. Names, phone numbers and ID numbers are
//! sealed by the vault before they reach SQL; a phone number is found by its blind index.

use async_trait::async_trait;
use gridkeeper_domain::{FieldError, Grant, Millis, PersonId, Role, Scope};
use serde::Serialize;
use sqlx::{Row, Transaction};

use crate::dialect::generic;
use crate::{corrupt, parse_field, Result, StoreError};

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

#[async_trait]
pub trait PeopleStore: Send + Sync {
    async fn create_person(&self, p: &NewPerson, now: Millis) -> Result<PersonId>;
    async fn person(&self, id: PersonId) -> Result<Option<Person>>;
    async fn person_by_login(&self, login: &str) -> Result<Option<Person>>;
    async fn create_session(&self, token_hash: &str, person: PersonId, now: Millis, expires_at: Millis) -> Result<()>;
    /// The person of a live session.
    async fn session_person(&self, token_hash: &str, now: Millis) -> Result<Option<PersonId>>;
    async fn delete_session(&self, token_hash: &str) -> Result<()>;
}

/// The kind and value columns of a grant's scope.
pub(crate) fn scope_parts(s: &Scope) -> (&'static str, String) {
    match s {
        Scope::Region { code } => ("region", code.to_string()),
        Scope::Department { id } => ("department", id.to_string()),
        Scope::Place { id } => ("place", id.to_string()),
    }
}

const PERSON_COLUMNS: &str = "id, login, name, phone, id_number, password_hash, disabled, totp_enabled";

generic! {
    impl SqlStore {
        pub(crate) fn grant_row(r: &D::Row) -> Result<Grant> {
            let role = parse_field(Role::parse(r.try_get("role")?))?;
            let kind: String = r.try_get("scope_type")?;
            let value: String = r.try_get("scope_value")?;
            let scope = parse_field(Scope::parse(&format!("{kind}:{value}")))?;
            parse_field(Grant::new(role, scope))
        }

        /// Inserts a person and their grants inside `tx`.
        pub(crate) async fn insert_person(
            &self,
            tx: &mut Transaction<'static, D>,
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
                StoreError::Conflicts(FieldError::new(
                    "login",
                    format!("`{}` or its phone number is already registered", p.login),
                ))
            })?;
            for g in &p.grants {
                let (kind, value) = scope_parts(&g.scope);
                sqlx::query(
                    "INSERT INTO grants (person_id, role, scope_type, scope_value) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT DO NOTHING",
                )
                .bind(id)
                .bind(g.role.as_str())
                .bind(kind)
                .bind(value)
                .execute(&mut **tx)
                .await?;
                Self::open_assignment(tx, id, g, now, None).await?;
            }
            Ok(id)
        }

        /// The person whose `column` (`id`, `login`, `phone_index`) is `value`, with their grants.
        pub(crate) async fn person_where<V>(&self, column: &str, value: V) -> Result<Option<Person>>
        where
            V: for<'q> sqlx::Encode<'q, D> + sqlx::Type<D> + Send + 'static,
        {
            let sql = format!("SELECT {PERSON_COLUMNS} FROM people WHERE {column} = $1");
            let Some(r) = sqlx::query(&sql).bind(value).fetch_optional(&self.pool).await? else {
                return Ok(None);
            };
            let id: PersonId = r.try_get("id")?;
            let grants = sqlx::query("SELECT role, scope_type, scope_value FROM grants WHERE person_id = $1 ORDER BY role")
                .bind(id)
                .fetch_all(&self.pool)
                .await?
                .iter()
                .map(Self::grant_row)
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
    }
}

generic! {
    #[async_trait]
    impl PeopleStore for SqlStore {
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
    }
}
