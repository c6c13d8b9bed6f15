//! The directory of notable natives (乡贤): who they are, where they come from and what they
//! know, each field with the native's consent (public, staff, private); what they bring (advice,
//! investment leads, donations) with its follow-up (who answered, what happened); and the
//! invitations sent to them to consultations and proposals. Names and phones are sealed.

use std::collections::BTreeMap;

use async_trait::async_trait;
use gridkeeper_domain::participation::{Consent, LeadKind, LeadStatus};
use gridkeeper_domain::{FieldError, Millis, PersonId, RegionCode};
use sqlx::Row;

use crate::dialect::generic;
use crate::sql::Sql;
use crate::{corrupt, parse_field, Result, StoreError};

/// The fields whose consent a native gives.
pub const CONSENT_FIELDS: [&str; 5] = ["name", "expertise", "city", "organisation", "phone"];

#[derive(Debug, Clone, PartialEq)]
pub struct NewNative {
    pub name: String,
    /// The home village or community.
    pub home_region: RegionCode,
    pub expertise: String,
    pub city: String,
    pub organisation: String,
    pub phone: Option<String>,
    /// Consent per field of [`CONSENT_FIELDS`] (a field left out is private).
    pub consent: BTreeMap<String, Consent>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Native {
    pub id: i64,
    pub entry: NewNative,
    pub created_at: Millis,
    pub updated_at: Millis,
    pub leads: i64,
}

impl Native {
    pub fn consent(&self, field: &str) -> Consent {
        self.entry.consent.get(field).copied().unwrap_or(Consent::Private)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Lead {
    pub id: i64,
    pub native_id: i64,
    pub kind: LeadKind,
    pub title: String,
    pub body: String,
    pub status: LeadStatus,
    pub created_by: PersonId,
    pub created_at: Millis,
    pub updated_at: Millis,
    pub notes: Vec<LeadNote>,
}

/// A step of a lead's follow-up.
#[derive(Debug, Clone, PartialEq)]
pub struct LeadNote {
    pub by: PersonId,
    pub by_name: String,
    pub at: Millis,
    pub note: String,
    pub status: LeadStatus,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Invitation {
    pub native_id: i64,
    /// `consultation:ID` or `proposal:ID`.
    pub target: String,
    pub by: PersonId,
    pub at: Millis,
    /// An SMS was sent (the native has a phone).
    pub sent: bool,
}

#[async_trait]
pub trait NativeStore: Send + Sync {
    async fn create_native(&self, n: &NewNative, by: PersonId, now: Millis) -> Result<Native>;
    /// `None` when there is no such entry.
    async fn update_native(&self, id: i64, n: &NewNative, now: Millis) -> Result<Option<Native>>;
    async fn native(&self, id: i64) -> Result<Option<Native>>;
    /// The natives of a region (by their home) and under it, by name order of their ids.
    async fn natives(&self, under: &RegionCode, offset: u32, limit: u32) -> Result<Vec<Native>>;
    async fn add_lead(
        &self,
        native: i64,
        kind: LeadKind,
        title: &str,
        body: &str,
        by: PersonId,
        now: Millis,
    ) -> Result<Lead>;
    /// A step of the follow-up; `Missing` when there is no such lead.
    async fn follow_up(&self, lead: i64, note: &str, status: LeadStatus, by: PersonId, now: Millis) -> Result<Lead>;
    async fn lead(&self, id: i64) -> Result<Option<Lead>>;
    async fn leads(&self, native: i64) -> Result<Vec<Lead>>;
    async fn record_invitation(&self, i: &Invitation) -> Result<()>;
    async fn invitations(&self, native: i64) -> Result<Vec<Invitation>>;
}

const NAME: &str = "natives.name";
const PHONE: &str = "natives.phone";
const COLUMNS: &str = "n.id, n.name, n.home_region, n.expertise, n.city, n.organisation, n.phone, n.consent, \
    n.created_at, n.updated_at, (SELECT count(*) FROM native_leads l WHERE l.native_id = n.id) AS leads";

generic! {
    impl SqlStore {
        fn native_row(&self, r: &D::Row) -> Result<Native> {
            let consent: String = r.try_get("consent")?;
            let consent: BTreeMap<String, String> = serde_json::from_str(&consent).map_err(corrupt)?;
            let consent = consent
                .into_iter()
                .map(|(k, v)| Ok((k, parse_field(Consent::parse(&v))?)))
                .collect::<Result<_>>()?;
            Ok(Native {
                id: r.try_get("id")?,
                entry: NewNative {
                    name: self.vault.open(NAME, r.try_get("name")?).map_err(corrupt)?,
                    home_region: parse_field(RegionCode::parse(r.try_get("home_region")?))?,
                    expertise: r.try_get("expertise")?,
                    city: r.try_get("city")?,
                    organisation: r.try_get("organisation")?,
                    phone: self.vault.open_opt(PHONE, r.try_get("phone")?).map_err(corrupt)?,
                    consent,
                },
                created_at: r.try_get("created_at")?,
                updated_at: r.try_get("updated_at")?,
                leads: r.try_get("leads")?,
            })
        }

        fn consent_json(n: &NewNative) -> String {
            let m: BTreeMap<&str, &str> = n.consent.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            serde_json::to_string(&m).unwrap_or_else(|_| "{}".into())
        }
    }
}

generic! {
    #[async_trait]
    impl NativeStore for SqlStore {
        async fn create_native(&self, n: &NewNative, by: PersonId, now: Millis) -> Result<Native> {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO natives (name, home_region, expertise, city, organisation, phone, consent, created_by, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING id",
            )
            .bind(self.vault.seal(NAME, &n.name))
            .bind(n.home_region.as_str())
            .bind(&n.expertise)
            .bind(&n.city)
            .bind(&n.organisation)
            .bind(self.vault.seal_opt(PHONE, n.phone.as_deref()))
            .bind(Self::consent_json(n))
            .bind(by)
            .bind(now)
            .fetch_one(&self.pool)
            .await?;
            self.native(id).await?.ok_or_else(|| corrupt("a new native vanished"))
        }

        async fn update_native(&self, id: i64, n: &NewNative, now: Millis) -> Result<Option<Native>> {
            let done = sqlx::query(
                "UPDATE natives SET name = $2, home_region = $3, expertise = $4, city = $5, organisation = $6, phone = $7, \
                 consent = $8, updated_at = $9 WHERE id = $1",
            )
            .bind(id)
            .bind(self.vault.seal(NAME, &n.name))
            .bind(n.home_region.as_str())
            .bind(&n.expertise)
            .bind(&n.city)
            .bind(&n.organisation)
            .bind(self.vault.seal_opt(PHONE, n.phone.as_deref()))
            .bind(Self::consent_json(n))
            .bind(now)
            .execute(&self.pool)
            .await?;
            if D::rows_affected(&done) == 0 {
                return Ok(None);
            }
            self.native(id).await
        }

        async fn native(&self, id: i64) -> Result<Option<Native>> {
            let row = sqlx::query(&format!("SELECT {COLUMNS} FROM natives n WHERE n.id = $1"))
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
            row.map(|r| self.native_row(&r)).transpose()
        }

        async fn natives(&self, under: &RegionCode, offset: u32, limit: u32) -> Result<Vec<Native>> {
            let mut b = Sql::new(format!("SELECT {COLUMNS} FROM natives n WHERE n.home_region >= "));
            b.push_bind(under.as_str()).push(" AND n.home_region < ").push_bind(format!("{}:", under.as_str()));
            b.push(" ORDER BY n.home_region, n.id LIMIT ").push_bind(i64::from(limit));
            b.push(" OFFSET ").push_bind(i64::from(offset));
            Self::query_of(&b).fetch_all(&self.pool).await?.iter().map(|r| self.native_row(r)).collect()
        }

        async fn add_lead(
            &self,
            native: i64,
            kind: LeadKind,
            title: &str,
            body: &str,
            by: PersonId,
            now: Millis,
        ) -> Result<Lead> {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO native_leads (native_id, kind, title, body, status, created_by, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, 'new', $5, $6, $6) RETURNING id",
            )
            .bind(native)
            .bind(kind.as_str())
            .bind(title)
            .bind(body)
            .bind(by)
            .bind(now)
            .fetch_one(&self.pool)
            .await?;
            self.lead(id).await?.ok_or_else(|| corrupt("a new lead vanished"))
        }

        async fn follow_up(&self, lead: i64, note: &str, status: LeadStatus, by: PersonId, now: Millis) -> Result<Lead> {
            let mut tx = self.begin_write().await?;
            let done = sqlx::query("UPDATE native_leads SET status = $2, updated_at = $3 WHERE id = $1")
                .bind(lead)
                .bind(status.as_str())
                .bind(now)
                .execute(&mut *tx)
                .await?;
            if D::rows_affected(&done) == 0 {
                return Err(StoreError::Missing(FieldError::new("id", "no such lead")));
            }
            sqlx::query("INSERT INTO native_lead_notes (lead_id, by_person, at, note, status) VALUES ($1, $2, $3, $4, $5)")
                .bind(lead)
                .bind(by)
                .bind(now)
                .bind(note)
                .bind(status.as_str())
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            self.lead(lead).await?.ok_or_else(|| corrupt("a lead vanished"))
        }

        async fn lead(&self, id: i64) -> Result<Option<Lead>> {
            let row = sqlx::query(
                "SELECT id, native_id, kind, title, body, status, created_by, created_at, updated_at FROM native_leads WHERE id = $1",
            )
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
            let Some(r) = row else { return Ok(None) };
            let notes = sqlx::query(
                "SELECT k.by_person, p.name, k.at, k.note, k.status FROM native_lead_notes k JOIN people p ON p.id = k.by_person \
                 WHERE k.lead_id = $1 ORDER BY k.id",
            )
            .bind(id)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|n| {
                Ok(LeadNote {
                    by: n.try_get("by_person")?,
                    by_name: self.vault.open("people.name", n.try_get("name")?).map_err(corrupt)?,
                    at: n.try_get("at")?,
                    note: n.try_get("note")?,
                    status: parse_field(LeadStatus::parse(n.try_get("status")?))?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
            Ok(Some(Lead {
                id: r.try_get("id")?,
                native_id: r.try_get("native_id")?,
                kind: parse_field(LeadKind::parse(r.try_get("kind")?))?,
                title: r.try_get("title")?,
                body: r.try_get("body")?,
                status: parse_field(LeadStatus::parse(r.try_get("status")?))?,
                created_by: r.try_get("created_by")?,
                created_at: r.try_get("created_at")?,
                updated_at: r.try_get("updated_at")?,
                notes,
            }))
        }

        async fn leads(&self, native: i64) -> Result<Vec<Lead>> {
            let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM native_leads WHERE native_id = $1 ORDER BY id DESC")
                .bind(native)
                .fetch_all(&self.pool)
                .await?;
            let mut out = Vec::with_capacity(ids.len());
            for id in ids {
                out.extend(self.lead(id).await?);
            }
            Ok(out)
        }

        async fn record_invitation(&self, i: &Invitation) -> Result<()> {
            sqlx::query("INSERT INTO native_invitations (native_id, target, by_person, at, sent) VALUES ($1, $2, $3, $4, $5)")
                .bind(i.native_id)
                .bind(&i.target)
                .bind(i.by)
                .bind(i.at)
                .bind(i.sent)
                .execute(&self.pool)
                .await?;
            Ok(())
        }

        async fn invitations(&self, native: i64) -> Result<Vec<Invitation>> {
            sqlx::query("SELECT native_id, target, by_person, at, sent FROM native_invitations WHERE native_id = $1 ORDER BY id DESC")
                .bind(native)
                .fetch_all(&self.pool)
                .await?
                .iter()
                .map(|r| {
                    Ok(Invitation {
                        native_id: r.try_get("native_id")?,
                        target: r.try_get("target")?,
                        by: r.try_get("by_person")?,
                        at: r.try_get("at")?,
                        sent: r.try_get("sent")?,
                    })
                })
                .collect()
        }
    }
}
