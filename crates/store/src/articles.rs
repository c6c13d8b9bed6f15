//! Articles of the information service: what staff publish to a region and everything under it
//! (notices, policy, law cases, health, model people, events), the feed a grid's residents read,
//! and the reads per grid.

use async_trait::async_trait;
use gridkeeper_domain::participation::ArticleKind;
use gridkeeper_domain::{Millis, PersonId, RegionCode};
use sqlx::Row;

use crate::dialect::generic;
use crate::sql::Sql;
use crate::{parse_field, NewAudit, Result, StoreError};

/// An article as written (the body already sanitised).
#[derive(Debug, Clone, PartialEq)]
pub struct NewArticle {
    pub region: RegionCode,
    pub kind: ArticleKind,
    pub title: String,
    pub summary: String,
    pub body: String,
    pub cover: Option<String>,
    pub publish_at: Millis,
    pub expires_at: Option<Millis>,
    pub pinned: bool,
    pub urgent: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Article {
    pub id: i64,
    pub region: RegionCode,
    pub kind: ArticleKind,
    pub title: String,
    pub summary: String,
    /// Empty in lists.
    pub body: String,
    pub cover: Option<String>,
    pub publish_at: Millis,
    pub expires_at: Option<Millis>,
    pub pinned: bool,
    pub urgent: bool,
    pub author: PersonId,
    pub created_at: Millis,
    pub updated_at: Millis,
    pub withdrawn_at: Option<Millis>,
    pub reads: i64,
}

/// Which articles a list holds.
#[derive(Debug, Clone, PartialEq)]
pub enum ArticleScope {
    /// A grid's feed: what is live at `now` in the grid or a region above it.
    Feed { grid: RegionCode, now: Millis },
    /// Everything published to a region or under it, whatever its state (the staff's list).
    Under(RegionCode),
}

#[derive(Debug, Clone, PartialEq)]
pub struct ArticleQuery {
    pub scope: ArticleScope,
    pub kind: Option<ArticleKind>,
    pub offset: u32,
    pub limit: u32,
}

/// The reads of an article in one grid (`None`: readers who named no grid).
#[derive(Debug, Clone, PartialEq)]
pub struct GridReads {
    pub grid: Option<RegionCode>,
    pub reads: i64,
}

#[async_trait]
pub trait ArticleStore: Send + Sync {
    async fn create_article(&self, a: &NewArticle, by: PersonId, now: Millis) -> Result<Article>;
    /// Replaces what an article says; `None` when there is no such article.
    async fn update_article(&self, id: i64, a: &NewArticle, now: Millis) -> Result<Option<Article>>;
    /// Withdraws an article from the feeds, audited with the reason; `false` when there is no
    /// such article or it was withdrawn already.
    async fn withdraw_article(&self, id: i64, reason: &str, by: PersonId, now: Millis) -> Result<bool>;
    async fn article(&self, id: i64) -> Result<Option<Article>>;
    /// Newest first, pinned first in a feed; without bodies.
    async fn articles(&self, q: &ArticleQuery) -> Result<Vec<Article>>;
    /// Counts a read of an article by a reader of `grid`; a person counts once.
    async fn record_read(
        &self,
        id: i64,
        grid: Option<&RegionCode>,
        person: Option<PersonId>,
        now: Millis,
    ) -> Result<()>;
    async fn article_reads(&self, id: i64) -> Result<Vec<GridReads>>;
    /// Whether an uploaded image is the cover of an article live at `now` (then anyone sees it).
    async fn is_live_cover(&self, media: &str, now: Millis) -> Result<bool>;
}

const COLUMNS: &str = "id, region, kind, title, summary, cover, publish_at, expires_at, pinned, urgent, author_id, \
                       created_at, updated_at, withdrawn_at, reads";

generic! {
    impl SqlStore {
        fn article_row(r: &D::Row, body: bool) -> Result<Article> {
            Ok(Article {
                id: r.try_get("id")?,
                region: parse_field(RegionCode::parse(r.try_get("region")?))?,
                kind: parse_field(ArticleKind::parse(r.try_get("kind")?))?,
                title: r.try_get("title")?,
                summary: r.try_get("summary")?,
                body: if body { r.try_get("body")? } else { String::new() },
                cover: r.try_get("cover")?,
                publish_at: r.try_get("publish_at")?,
                expires_at: r.try_get("expires_at")?,
                pinned: r.try_get("pinned")?,
                urgent: r.try_get("urgent")?,
                author: r.try_get("author_id")?,
                created_at: r.try_get("created_at")?,
                updated_at: r.try_get("updated_at")?,
                withdrawn_at: r.try_get("withdrawn_at")?,
                reads: r.try_get("reads")?,
            })
        }

        /// A cover must be an image someone uploaded and no case holds.
        async fn check_cover(&self, cover: Option<&str>) -> Result<()> {
            let Some(id) = cover else { return Ok(()) };
            let row = sqlx::query("SELECT case_id, content_type FROM media WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
            let Some(r) = row else {
                return Err(StoreError::Missing(gridkeeper_domain::FieldError::new("cover", "no such upload")));
            };
            let case: Option<i64> = r.try_get("case_id")?;
            let ct: String = r.try_get("content_type")?;
            if case.is_some() || !ct.starts_with("image/") {
                return Err(StoreError::Invalid(gridkeeper_domain::FieldError::new(
                    "cover",
                    "must be an image uploaded for the article",
                )));
            }
            Ok(())
        }
    }
}

generic! {
    #[async_trait]
    impl ArticleStore for SqlStore {
        async fn create_article(&self, a: &NewArticle, by: PersonId, now: Millis) -> Result<Article> {
            self.check_cover(a.cover.as_deref()).await?;
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO articles (region, kind, title, summary, body, cover, publish_at, expires_at, pinned, urgent, \
                 author_id, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12) RETURNING id",
            )
            .bind(a.region.as_str())
            .bind(a.kind.as_str())
            .bind(&a.title)
            .bind(&a.summary)
            .bind(&a.body)
            .bind(&a.cover)
            .bind(a.publish_at)
            .bind(a.expires_at)
            .bind(a.pinned)
            .bind(a.urgent)
            .bind(by)
            .bind(now)
            .fetch_one(&self.pool)
            .await?;
            self.article(id).await?.ok_or_else(|| crate::corrupt("a new article vanished"))
        }

        async fn update_article(&self, id: i64, a: &NewArticle, now: Millis) -> Result<Option<Article>> {
            self.check_cover(a.cover.as_deref()).await?;
            let n = D::rows_affected(&sqlx::query(
                "UPDATE articles SET region = $2, kind = $3, title = $4, summary = $5, body = $6, cover = $7, publish_at = $8, \
                 expires_at = $9, pinned = $10, urgent = $11, updated_at = $12 WHERE id = $1",
            )
            .bind(id)
            .bind(a.region.as_str())
            .bind(a.kind.as_str())
            .bind(&a.title)
            .bind(&a.summary)
            .bind(&a.body)
            .bind(&a.cover)
            .bind(a.publish_at)
            .bind(a.expires_at)
            .bind(a.pinned)
            .bind(a.urgent)
            .bind(now)
            .execute(&self.pool)
            .await?);
            if n == 0 {
                return Ok(None);
            }
            self.article(id).await
        }

        async fn withdraw_article(&self, id: i64, reason: &str, by: PersonId, now: Millis) -> Result<bool> {
            let mut tx = self.begin_write().await?;
            let n = D::rows_affected(&sqlx::query(
                "UPDATE articles SET withdrawn_at = $2, withdrawn_by = $3 WHERE id = $1 AND withdrawn_at IS NULL",
            )
            .bind(id)
            .bind(now)
            .bind(by)
            .execute(&mut *tx)
            .await?);
            if n == 0 {
                return Ok(false);
            }
            let entry = NewAudit {
                at: now,
                actor: Some(by),
                action: "withdraw_article".into(),
                object: Some(format!("article:{id}")),
                detail: serde_json::json!({ "reason": reason }),
            };
            Self::append_audit(&mut tx, &entry).await?;
            tx.commit().await?;
            Ok(true)
        }

        async fn article(&self, id: i64) -> Result<Option<Article>> {
            let row = sqlx::query(&format!("SELECT {COLUMNS}, body FROM articles WHERE id = $1"))
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
            row.map(|r| Self::article_row(&r, true)).transpose()
        }

        async fn articles(&self, q: &ArticleQuery) -> Result<Vec<Article>> {
            let mut b = Sql::new(format!("SELECT {COLUMNS} FROM articles WHERE "));
            match &q.scope {
                ArticleScope::Feed { grid, now } => {
                    b.push("region IN ");
                    b.push_in(grid.and_ancestors().iter().map(|c| c.as_str().to_string()));
                    b.push(" AND withdrawn_at IS NULL AND publish_at <= ").push_bind(*now);
                    b.push(" AND (expires_at IS NULL OR expires_at > ").push_bind(*now).push(")");
                }
                ArticleScope::Under(region) => {
                    b.push("region >= ").push_bind(region.as_str()).push(" AND region < ");
                    b.push_bind(format!("{}:", region.as_str()));
                }
            }
            if let Some(k) = q.kind {
                b.push(" AND kind = ").push_bind(k.as_str());
            }
            match q.scope {
                ArticleScope::Feed { .. } => b.push(" ORDER BY pinned DESC, publish_at DESC, id DESC"),
                ArticleScope::Under(_) => b.push(" ORDER BY publish_at DESC, id DESC"),
            };
            b.push(" LIMIT ").push_bind(i64::from(q.limit)).push(" OFFSET ").push_bind(i64::from(q.offset));
            Self::query_of(&b).fetch_all(&self.pool).await?.iter().map(|r| Self::article_row(r, false)).collect()
        }

        async fn record_read(
            &self,
            id: i64,
            grid: Option<&RegionCode>,
            person: Option<PersonId>,
            now: Millis,
        ) -> Result<()> {
            let mut tx = self.begin_write().await?;
            if let Some(p) = person {
                let first = D::rows_affected(&sqlx::query(
                    "INSERT INTO article_readers (article_id, person_id, at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                )
                .bind(id)
                .bind(p)
                .bind(now)
                .execute(&mut *tx)
                .await?);
                if first == 0 {
                    return Ok(());
                }
            }
            sqlx::query(
                "INSERT INTO article_reads (article_id, region, reads) VALUES ($1, $2, 1) \
                 ON CONFLICT (article_id, region) DO UPDATE SET reads = article_reads.reads + 1",
            )
            .bind(id)
            .bind(grid.map_or("", RegionCode::as_str))
            .execute(&mut *tx)
            .await?;
            sqlx::query("UPDATE articles SET reads = reads + 1 WHERE id = $1").bind(id).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(())
        }

        async fn article_reads(&self, id: i64) -> Result<Vec<GridReads>> {
            sqlx::query("SELECT region, reads FROM article_reads WHERE article_id = $1 ORDER BY region")
                .bind(id)
                .fetch_all(&self.pool)
                .await?
                .iter()
                .map(|r| {
                    let region: String = r.try_get("region")?;
                    let grid = if region.is_empty() { None } else { Some(parse_field(RegionCode::parse(&region))?) };
                    Ok(GridReads { grid, reads: r.try_get("reads")? })
                })
                .collect()
        }

        async fn is_live_cover(&self, media: &str, now: Millis) -> Result<bool> {
            Ok(sqlx::query_scalar::<_, i64>(
                "SELECT count(*) FROM articles WHERE cover = $1 AND withdrawn_at IS NULL AND publish_at <= $2 \
                 AND (expires_at IS NULL OR expires_at > $2)",
            )
            .bind(media)
            .bind(now)
            .fetch_one(&self.pool)
            .await?
                > 0)
        }
    }
}
