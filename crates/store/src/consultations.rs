//! Consultations: a draft opened to a region's residents for a period, one vote per person
//! (changeable while it is open), comments that staff may hide with a reason (audited), and the
//! official summary and answer published once it closes.

use async_trait::async_trait;
use gridkeeper_domain::participation::{ConsultationKind, Stance};
use gridkeeper_domain::{FieldError, Millis, PersonId, RegionCode};
use sqlx::Row;

use crate::dialect::generic;
use crate::sql::Sql;
use crate::{parse_field, NewAudit, Result, StoreError};

#[derive(Debug, Clone, PartialEq)]
pub struct NewConsultation {
    pub region: RegionCode,
    pub kind: ConsultationKind,
    pub title: String,
    /// Sanitised HTML.
    pub body: String,
    pub opens_at: Millis,
    pub closes_at: Millis,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Consultation {
    pub id: i64,
    pub region: RegionCode,
    pub kind: ConsultationKind,
    pub title: String,
    /// Empty in lists.
    pub body: String,
    pub opens_at: Millis,
    pub closes_at: Millis,
    pub created_by: PersonId,
    pub created_at: Millis,
    pub summary: Option<String>,
    pub answer: Option<String>,
    pub answered_at: Option<Millis>,
    pub support: i64,
    pub oppose: i64,
    /// Comments shown (not hidden).
    pub comments: i64,
}

/// The votes of one grid.
#[derive(Debug, Clone, PartialEq)]
pub struct GridVotes {
    pub grid: RegionCode,
    pub support: i64,
    pub oppose: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Comment {
    pub id: i64,
    pub person: PersonId,
    /// The commenter's name (masked by the server unless it is their own).
    pub name: String,
    pub grid: RegionCode,
    pub body: String,
    pub created_at: Millis,
    pub hidden_at: Option<Millis>,
    pub hidden_reason: Option<String>,
}

/// Which consultations a list holds.
#[derive(Debug, Clone, PartialEq)]
pub enum ConsultationScope {
    /// Those asked of a grid (published to it or a region above it).
    Grid(RegionCode),
    /// Those of a region or under it.
    Under(RegionCode),
}

#[async_trait]
pub trait ConsultationStore: Send + Sync {
    async fn create_consultation(&self, c: &NewConsultation, by: PersonId, now: Millis) -> Result<Consultation>;
    async fn consultation(&self, id: i64) -> Result<Option<Consultation>>;
    /// Newest first (by when they open).
    async fn consultations(&self, scope: &ConsultationScope, offset: u32, limit: u32) -> Result<Vec<Consultation>>;
    /// Records (or changes) a person's vote; one per person whatever runs at once.
    async fn vote(&self, id: i64, person: PersonId, stance: Stance, grid: &RegionCode, now: Millis) -> Result<()>;
    async fn my_vote(&self, id: i64, person: PersonId) -> Result<Option<Stance>>;
    async fn votes_by_grid(&self, id: i64) -> Result<Vec<GridVotes>>;
    async fn comment(&self, id: i64, person: PersonId, grid: &RegionCode, body: &str, now: Millis) -> Result<Comment>;
    /// Oldest first; hidden ones too (the server shows them as hidden).
    async fn comments(&self, id: i64, offset: u32, limit: u32) -> Result<Vec<Comment>>;
    /// Hides a comment of the consultation with a reason, audited. `Missing` when the
    /// consultation has no such comment, `Conflicts` when it is hidden already.
    async fn hide_comment(&self, id: i64, comment: i64, reason: &str, by: PersonId, now: Millis) -> Result<()>;
    /// Publishes the official summary and answer (once); audited.
    async fn answer_consultation(&self, id: i64, summary: &str, answer: &str, by: PersonId, now: Millis) -> Result<()>;
}

const COLUMNS: &str =
    "c.id, c.region, c.kind, c.title, c.opens_at, c.closes_at, c.created_by, c.created_at, c.summary, \
    c.answer, c.answered_at, \
    (SELECT count(*) FROM consultation_votes v WHERE v.consultation_id = c.id AND v.stance = 'support') AS support, \
    (SELECT count(*) FROM consultation_votes v WHERE v.consultation_id = c.id AND v.stance = 'oppose') AS oppose, \
    (SELECT count(*) FROM consultation_comments m WHERE m.consultation_id = c.id AND m.hidden_at IS NULL) AS comments";

generic! {
    impl SqlStore {
        fn consultation_row(r: &D::Row, body: bool) -> Result<Consultation> {
            Ok(Consultation {
                id: r.try_get("id")?,
                region: parse_field(RegionCode::parse(r.try_get("region")?))?,
                kind: parse_field(ConsultationKind::parse(r.try_get("kind")?))?,
                title: r.try_get("title")?,
                body: if body { r.try_get("body")? } else { String::new() },
                opens_at: r.try_get("opens_at")?,
                closes_at: r.try_get("closes_at")?,
                created_by: r.try_get("created_by")?,
                created_at: r.try_get("created_at")?,
                summary: r.try_get("summary")?,
                answer: r.try_get("answer")?,
                answered_at: r.try_get("answered_at")?,
                support: r.try_get("support")?,
                oppose: r.try_get("oppose")?,
                comments: r.try_get("comments")?,
            })
        }
    }
}

generic! {
    #[async_trait]
    impl ConsultationStore for SqlStore {
        async fn create_consultation(&self, c: &NewConsultation, by: PersonId, now: Millis) -> Result<Consultation> {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO consultations (region, kind, title, body, opens_at, closes_at, created_by, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
            )
            .bind(c.region.as_str())
            .bind(c.kind.as_str())
            .bind(&c.title)
            .bind(&c.body)
            .bind(c.opens_at)
            .bind(c.closes_at)
            .bind(by)
            .bind(now)
            .fetch_one(&self.pool)
            .await?;
            self.consultation(id).await?.ok_or_else(|| crate::corrupt("a new consultation vanished"))
        }

        async fn consultation(&self, id: i64) -> Result<Option<Consultation>> {
            let row = sqlx::query(&format!("SELECT {COLUMNS}, c.body FROM consultations c WHERE c.id = $1"))
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
            row.map(|r| Self::consultation_row(&r, true)).transpose()
        }

        async fn consultations(&self, scope: &ConsultationScope, offset: u32, limit: u32) -> Result<Vec<Consultation>> {
            let mut b = Sql::new(format!("SELECT {COLUMNS} FROM consultations c WHERE "));
            match scope {
                ConsultationScope::Grid(grid) => {
                    b.push("c.region IN ");
                    b.push_in(grid.and_ancestors().iter().map(|c| c.as_str().to_string()));
                }
                ConsultationScope::Under(region) => {
                    b.push("c.region >= ").push_bind(region.as_str()).push(" AND c.region < ");
                    b.push_bind(format!("{}:", region.as_str()));
                }
            }
            b.push(" ORDER BY c.opens_at DESC, c.id DESC LIMIT ").push_bind(i64::from(limit));
            b.push(" OFFSET ").push_bind(i64::from(offset));
            Self::query_of(&b).fetch_all(&self.pool).await?.iter().map(|r| Self::consultation_row(r, false)).collect()
        }

        async fn vote(&self, id: i64, person: PersonId, stance: Stance, grid: &RegionCode, now: Millis) -> Result<()> {
            sqlx::query(
                "INSERT INTO consultation_votes (consultation_id, person_id, stance, grid, at) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (consultation_id, person_id) DO UPDATE SET stance = excluded.stance, grid = excluded.grid, \
                 at = excluded.at",
            )
            .bind(id)
            .bind(person)
            .bind(stance.as_str())
            .bind(grid.as_str())
            .bind(now)
            .execute(&self.pool)
            .await?;
            Ok(())
        }

        async fn my_vote(&self, id: i64, person: PersonId) -> Result<Option<Stance>> {
            let s: Option<String> = sqlx::query_scalar(
                "SELECT stance FROM consultation_votes WHERE consultation_id = $1 AND person_id = $2",
            )
            .bind(id)
            .bind(person)
            .fetch_optional(&self.pool)
            .await?;
            s.map(|s| parse_field(Stance::parse(&s))).transpose()
        }

        async fn votes_by_grid(&self, id: i64) -> Result<Vec<GridVotes>> {
            sqlx::query(
                "SELECT grid, count(*) FILTER (WHERE stance = 'support') AS support, \
                 count(*) FILTER (WHERE stance = 'oppose') AS oppose \
                 FROM consultation_votes WHERE consultation_id = $1 GROUP BY grid ORDER BY grid",
            )
            .bind(id)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| {
                Ok(GridVotes {
                    grid: parse_field(RegionCode::parse(r.try_get("grid")?))?,
                    support: r.try_get("support")?,
                    oppose: r.try_get("oppose")?,
                })
            })
            .collect()
        }

        async fn comment(&self, id: i64, person: PersonId, grid: &RegionCode, body: &str, now: Millis) -> Result<Comment> {
            let cid: i64 = sqlx::query_scalar(
                "INSERT INTO consultation_comments (consultation_id, person_id, grid, body, created_at) \
                 VALUES ($1, $2, $3, $4, $5) RETURNING id",
            )
            .bind(id)
            .bind(person)
            .bind(grid.as_str())
            .bind(body)
            .bind(now)
            .fetch_one(&self.pool)
            .await?;
            let name = crate::PeopleStore::person(self, person).await?.map(|p| p.name).unwrap_or_default();
            Ok(Comment {
                id: cid,
                person,
                name,
                grid: grid.clone(),
                body: body.to_string(),
                created_at: now,
                hidden_at: None,
                hidden_reason: None,
            })
        }

        async fn comments(&self, id: i64, offset: u32, limit: u32) -> Result<Vec<Comment>> {
            sqlx::query(
                "SELECT m.id, m.person_id, p.name, m.grid, m.body, m.created_at, m.hidden_at, m.hidden_reason \
                 FROM consultation_comments m JOIN people p ON p.id = m.person_id \
                 WHERE m.consultation_id = $1 ORDER BY m.id LIMIT $2 OFFSET $3",
            )
            .bind(id)
            .bind(i64::from(limit))
            .bind(i64::from(offset))
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| {
                Ok(Comment {
                    id: r.try_get("id")?,
                    person: r.try_get("person_id")?,
                    name: self.vault.open("people.name", r.try_get("name")?).map_err(crate::corrupt)?,
                    grid: parse_field(RegionCode::parse(r.try_get("grid")?))?,
                    body: r.try_get("body")?,
                    created_at: r.try_get("created_at")?,
                    hidden_at: r.try_get("hidden_at")?,
                    hidden_reason: r.try_get("hidden_reason")?,
                })
            })
            .collect()
        }

        async fn hide_comment(&self, id: i64, comment: i64, reason: &str, by: PersonId, now: Millis) -> Result<()> {
            let mut tx = self.begin_write().await?;
            let n = D::rows_affected(&sqlx::query(
                "UPDATE consultation_comments SET hidden_at = $3, hidden_by = $4, hidden_reason = $5 \
                 WHERE id = $2 AND consultation_id = $1 AND hidden_at IS NULL",
            )
            .bind(id)
            .bind(comment)
            .bind(now)
            .bind(by)
            .bind(reason)
            .execute(&mut *tx)
            .await?);
            if n == 0 {
                let hidden: Option<Option<Millis>> = sqlx::query_scalar(
                    "SELECT hidden_at FROM consultation_comments WHERE id = $2 AND consultation_id = $1",
                )
                .bind(id)
                .bind(comment)
                .fetch_optional(&mut *tx)
                .await?;
                return Err(match hidden {
                    None => StoreError::Missing(FieldError::new("comment", "no such comment")),
                    Some(_) => StoreError::Conflicts(FieldError::new("comment", "hidden already")),
                });
            }
            let entry = NewAudit {
                at: now,
                actor: Some(by),
                action: "hide_comment".into(),
                object: Some(format!("consultation:{id}")),
                detail: serde_json::json!({ "comment": comment, "reason": reason }),
            };
            Self::append_audit(&mut tx, &entry).await?;
            tx.commit().await?;
            Ok(())
        }

        async fn answer_consultation(
            &self,
            id: i64,
            summary: &str,
            answer: &str,
            by: PersonId,
            now: Millis,
        ) -> Result<()> {
            let mut tx = self.begin_write().await?;
            let n = D::rows_affected(&sqlx::query(
                "UPDATE consultations SET summary = $2, answer = $3, answered_at = $4, answered_by = $5 \
                 WHERE id = $1 AND answered_at IS NULL AND closes_at <= $4",
            )
            .bind(id)
            .bind(summary)
            .bind(answer)
            .bind(now)
            .bind(by)
            .execute(&mut *tx)
            .await?);
            if n == 0 {
                return Err(StoreError::Conflicts(FieldError::new(
                    "answer",
                    "the consultation is still open or was answered already",
                )));
            }
            let entry = NewAudit {
                at: now,
                actor: Some(by),
                action: "answer_consultation".into(),
                object: Some(format!("consultation:{id}")),
                detail: serde_json::json!({}),
            };
            Self::append_audit(&mut tx, &entry).await?;
            tx.commit().await?;
            Ok(())
        }
    }
}
