//! Residents' proposals for their community: supported by others (one support per person), on
//! the community's agenda once they reach their threshold, answered by staff (accepted, perhaps
//! as a case, or declined with a reason; audited), or withdrawn by their proposer.

use async_trait::async_trait;
use gridkeeper_domain::participation::{ProposalAnswer, ProposalStatus};
use gridkeeper_domain::{FieldError, Millis, PersonId, RegionCode};
use sqlx::Row;

use crate::dialect::generic;
use crate::sql::Sql;
use crate::{corrupt, parse_field, NewAudit, Result, StoreError};

#[derive(Debug, Clone, PartialEq)]
pub struct NewProposal {
    /// The community whose agenda it goes on.
    pub region: RegionCode,
    pub title: String,
    pub body: String,
    /// Supporters it needs to go on the agenda.
    pub threshold: i64,
    /// How long staff have to answer it once it is on the agenda.
    pub answer_within: Millis,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Proposal {
    pub id: i64,
    pub region: RegionCode,
    pub title: String,
    pub body: String,
    pub proposer: PersonId,
    pub proposer_name: String,
    pub created_at: Millis,
    pub status: ProposalStatus,
    pub supports: i64,
    pub threshold: i64,
    pub agenda_at: Option<Millis>,
    pub due_at: Option<Millis>,
    pub answer: Option<String>,
    pub answered_at: Option<Millis>,
    pub case_id: Option<i64>,
}

/// Which proposals a list holds.
#[derive(Debug, Clone, PartialEq)]
pub enum ProposalScope {
    /// Those of the community a grid lies in (and of regions above it).
    Grid(RegionCode),
    /// Those of a region or under it.
    Under(RegionCode),
    /// Those a person made.
    By(PersonId),
}

#[async_trait]
pub trait ProposalStore: Send + Sync {
    async fn create_proposal(&self, p: &NewProposal, by: PersonId, now: Millis) -> Result<Proposal>;
    async fn proposal(&self, id: i64) -> Result<Option<Proposal>>;
    /// Newest first; on the agenda, the soonest due first.
    async fn proposals(
        &self,
        scope: &ProposalScope,
        status: Option<ProposalStatus>,
        offset: u32,
        limit: u32,
    ) -> Result<Vec<Proposal>>;
    /// Adds a person's support (a second support of the same person changes nothing); the
    /// proposal goes on the agenda when it reaches its threshold. `Conflicts` once answered or
    /// withdrawn.
    async fn support(&self, id: i64, person: PersonId, answer_within: Millis, now: Millis) -> Result<Proposal>;
    async fn supports(&self, id: i64, person: PersonId) -> Result<bool>;
    /// Answers a proposal (once), audited. `Conflicts` when it was answered or withdrawn.
    async fn answer_proposal(&self, id: i64, answer: &ProposalAnswer, by: PersonId, now: Millis) -> Result<Proposal>;
    /// Its proposer withdraws it before it is answered. `Conflicts` otherwise.
    async fn withdraw_proposal(&self, id: i64, now: Millis) -> Result<Proposal>;
}

const COLUMNS: &str = "p.id, p.region, p.title, p.body, p.proposer_id, n.name, p.created_at, p.status, p.supports, \
    p.threshold, p.agenda_at, p.due_at, p.answer, p.answered_at, p.case_id";
const FROM: &str = "FROM proposals p JOIN people n ON n.id = p.proposer_id";

generic! {
    impl SqlStore {
        fn proposal_row(&self, r: &D::Row) -> Result<Proposal> {
            Ok(Proposal {
                id: r.try_get("id")?,
                region: parse_field(RegionCode::parse(r.try_get("region")?))?,
                title: r.try_get("title")?,
                body: r.try_get("body")?,
                proposer: r.try_get("proposer_id")?,
                proposer_name: self.vault.open("people.name", r.try_get("name")?).map_err(corrupt)?,
                created_at: r.try_get("created_at")?,
                status: parse_field(ProposalStatus::parse(r.try_get("status")?))?,
                supports: r.try_get("supports")?,
                threshold: r.try_get("threshold")?,
                agenda_at: r.try_get("agenda_at")?,
                due_at: r.try_get("due_at")?,
                answer: r.try_get("answer")?,
                answered_at: r.try_get("answered_at")?,
                case_id: r.try_get("case_id")?,
            })
        }

        /// The status of a proposal, its row locked to the end of `tx`.
        async fn locked_status(tx: &mut sqlx::Transaction<'static, D>, id: i64) -> Result<(ProposalStatus, i64, i64)> {
            let row = sqlx::query(&format!("SELECT status, supports, threshold FROM proposals WHERE id = $1{}", D::FOR_UPDATE))
                .bind(id)
                .fetch_optional(&mut **tx)
                .await?
                .ok_or_else(|| StoreError::Missing(FieldError::new("id", "no such proposal")))?;
            Ok((parse_field(ProposalStatus::parse(row.try_get("status")?))?, row.try_get("supports")?, row.try_get("threshold")?))
        }

        async fn proposal_now(&self, id: i64) -> Result<Proposal> {
            ProposalStore::proposal(self, id).await?.ok_or_else(|| corrupt(format!("proposal {id} vanished")))
        }
    }
}

fn closed(status: ProposalStatus) -> StoreError {
    StoreError::Conflicts(FieldError::new("status", format!("the proposal is {} already", status.as_str())))
}

generic! {
    #[async_trait]
    impl ProposalStore for SqlStore {
        async fn create_proposal(&self, p: &NewProposal, by: PersonId, now: Millis) -> Result<Proposal> {
            // A threshold of one: the proposer's own support puts it on the agenda.
            let status = ProposalStatus::Open.after_support(0, p.threshold);
            let (agenda, due) = if status == ProposalStatus::Agenda { (Some(now), Some(now + p.answer_within)) } else { (None, None) };
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO proposals (region, title, body, proposer_id, created_at, status, supports, threshold, agenda_at, due_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $8, $9) RETURNING id",
            )
            .bind(p.region.as_str())
            .bind(&p.title)
            .bind(&p.body)
            .bind(by)
            .bind(now)
            .bind(status.as_str())
            .bind(p.threshold)
            .bind(agenda)
            .bind(due)
            .fetch_one(&self.pool)
            .await?;
            self.proposal_now(id).await
        }

        async fn proposal(&self, id: i64) -> Result<Option<Proposal>> {
            let row = sqlx::query(&format!("SELECT {COLUMNS} {FROM} WHERE p.id = $1")).bind(id).fetch_optional(&self.pool).await?;
            row.map(|r| self.proposal_row(&r)).transpose()
        }

        async fn proposals(
            &self,
            scope: &ProposalScope,
            status: Option<ProposalStatus>,
            offset: u32,
            limit: u32,
        ) -> Result<Vec<Proposal>> {
            let mut b = Sql::new(format!("SELECT {COLUMNS} {FROM} WHERE "));
            match scope {
                ProposalScope::Grid(grid) => {
                    b.push("p.region IN ");
                    b.push_in(grid.and_ancestors().iter().map(|c| c.as_str().to_string()));
                }
                ProposalScope::Under(region) => {
                    b.push("p.region >= ").push_bind(region.as_str()).push(" AND p.region < ");
                    b.push_bind(format!("{}:", region.as_str()));
                }
                ProposalScope::By(person) => {
                    b.push("p.proposer_id = ").push_bind(*person);
                }
            }
            if let Some(s) = status {
                b.push(" AND p.status = ").push_bind(s.as_str());
            }
            if status == Some(ProposalStatus::Agenda) {
                b.push(" ORDER BY p.due_at, p.id");
            } else {
                b.push(" ORDER BY p.created_at DESC, p.id DESC");
            }
            b.push(" LIMIT ").push_bind(i64::from(limit)).push(" OFFSET ").push_bind(i64::from(offset));
            Self::query_of(&b).fetch_all(&self.pool).await?.iter().map(|r| self.proposal_row(r)).collect()
        }

        async fn support(&self, id: i64, person: PersonId, answer_within: Millis, now: Millis) -> Result<Proposal> {
            let mut tx = self.begin_write().await?;
            let (status, supports, threshold) = Self::locked_status(&mut tx, id).await?;
            if !status.supportable() {
                return Err(closed(status));
            }
            let added = D::rows_affected(&sqlx::query(
                "INSERT INTO proposal_supports (proposal_id, person_id, at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            )
            .bind(id)
            .bind(person)
            .bind(now)
            .execute(&mut *tx)
            .await?);
            if added > 0 {
                let next = status.after_support(supports + 1, threshold);
                let reached = next != status;
                sqlx::query(
                    "UPDATE proposals SET supports = supports + 1, status = $2, \
                     agenda_at = CASE WHEN $3 THEN $4 ELSE agenda_at END, \
                     due_at = CASE WHEN $3 THEN $5 ELSE due_at END WHERE id = $1",
                )
                .bind(id)
                .bind(next.as_str())
                .bind(reached)
                .bind(now)
                .bind(now + answer_within)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            self.proposal_now(id).await
        }

        async fn supports(&self, id: i64, person: PersonId) -> Result<bool> {
            Ok(sqlx::query_scalar::<_, i64>(
                "SELECT count(*) FROM proposal_supports WHERE proposal_id = $1 AND person_id = $2",
            )
            .bind(id)
            .bind(person)
            .fetch_one(&self.pool)
            .await?
                > 0)
        }

        async fn answer_proposal(&self, id: i64, answer: &ProposalAnswer, by: PersonId, now: Millis) -> Result<Proposal> {
            let mut tx = self.begin_write().await?;
            let (status, _, _) = Self::locked_status(&mut tx, id).await?;
            if !status.answerable() {
                return Err(closed(status));
            }
            let (text, case) = match answer {
                ProposalAnswer::Accept { answer, case } => (answer.as_str(), *case),
                ProposalAnswer::Decline { reason } => (reason.as_str(), None),
            };
            sqlx::query(
                "UPDATE proposals SET status = $2, answer = $3, answered_at = $4, answered_by = $5, case_id = $6 WHERE id = $1",
            )
            .bind(id)
            .bind(answer.status().as_str())
            .bind(text)
            .bind(now)
            .bind(by)
            .bind(case)
            .execute(&mut *tx)
            .await?;
            let entry = NewAudit {
                at: now,
                actor: Some(by),
                action: "answer_proposal".into(),
                object: Some(format!("proposal:{id}")),
                detail: serde_json::json!({ "status": answer.status().as_str(), "case": case }),
            };
            Self::append_audit(&mut tx, &entry).await?;
            tx.commit().await?;
            self.proposal_now(id).await
        }

        async fn withdraw_proposal(&self, id: i64, now: Millis) -> Result<Proposal> {
            let mut tx = self.begin_write().await?;
            let (status, _, _) = Self::locked_status(&mut tx, id).await?;
            if !status.answerable() {
                return Err(closed(status));
            }
            sqlx::query("UPDATE proposals SET status = 'withdrawn', answered_at = $2 WHERE id = $1")
                .bind(id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            self.proposal_now(id).await
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use gridkeeper_domain::participation::{ArticleKind, ConsultationKind, Stance};

    use super::*;
    use crate::testing::on_both;
    use crate::{
        ArticleQuery, ArticleScope, ArticleStore, ConsultationStore, NewArticle, NewConsultation, NewPerson,
        PeopleStore,
    };

    async fn person(s: &(impl PeopleStore + ?Sized), login: &str) -> PersonId {
        let p = NewPerson {
            login: login.into(),
            name: format!("{login} 姓名"),
            phone: None,
            id_number: None,
            password_hash: None,
            grants: vec![],
        };
        s.create_person(&p, 0).await.unwrap()
    }

    fn code(s: &str) -> RegionCode {
        RegionCode::parse(s).unwrap()
    }

    fn article(region: &str, title: &str, publish_at: Millis, pinned: bool) -> NewArticle {
        NewArticle {
            region: code(region),
            kind: ArticleKind::Notice,
            title: title.into(),
            summary: String::new(),
            body: "<p>正文</p>".into(),
            cover: None,
            publish_at,
            expires_at: Some(publish_at + 1_000),
            pinned,
            urgent: false,
        }
    }

    on_both! {
        async fn a_grid_reads_what_was_published_to_it_and_above_pinned_first_and_counts_a_person_once(s) {
            let staff = person(&s, "staff").await;
            let reader = person(&s, "reader").await;
            let town = s.create_article(&article("330483101", "镇通知", 100, false), staff, 0).await.unwrap();
            let pinned = s.create_article(&article("330483101001", "社区置顶", 50, true), staff, 0).await.unwrap();
            s.create_article(&article("330483101002", "别的社区", 100, false), staff, 0).await.unwrap();
            s.create_article(&article("330483101001", "未发布", 900, false), staff, 0).await.unwrap();
            let feed = |now| ArticleQuery {
                scope: ArticleScope::Feed { grid: code("330483101001001"), now },
                kind: None,
                offset: 0,
                limit: 10,
            };
            let titles: Vec<String> = s.articles(&feed(200)).await.unwrap().into_iter().map(|a| a.title).collect();
            assert_eq!(titles, ["社区置顶", "镇通知"]);
            // Expired after its time.
            assert!(s.articles(&feed(1_100)).await.unwrap().iter().all(|a| a.id != pinned.id));
            // Withdrawn: gone from the feed, audited once.
            assert!(s.withdraw_article(town.id, "发错了", staff, 300).await.unwrap());
            assert!(!s.withdraw_article(town.id, "again", staff, 301).await.unwrap());
            assert!(s.articles(&feed(400)).await.unwrap().iter().all(|a| a.id != town.id));
            let grid = code("330483101001001");
            s.record_read(pinned.id, Some(&grid), Some(reader), 1).await.unwrap();
            s.record_read(pinned.id, Some(&grid), Some(reader), 2).await.unwrap();
            s.record_read(pinned.id, None, None, 3).await.unwrap();
            assert_eq!(s.article(pinned.id).await.unwrap().unwrap().reads, 2);
            let reads = s.article_reads(pinned.id).await.unwrap();
            assert_eq!(reads.iter().map(|r| r.reads).sum::<i64>(), 2);
            assert!(reads.iter().any(|r| r.grid.as_ref() == Some(&grid) && r.reads == 1));
        }

        async fn one_vote_per_person_changeable_and_counted_per_grid(s) {
            let staff = person(&s, "staff").await;
            let a = person(&s, "a").await;
            let b = person(&s, "b").await;
            let c = s
                .create_consultation(
                    &NewConsultation {
                        region: code("330483101001"),
                        kind: ConsultationKind::CivilAgreement,
                        title: "村规民约修订".into(),
                        body: "<p>草案</p>".into(),
                        opens_at: 0,
                        closes_at: 1_000,
                    },
                    staff,
                    0,
                )
                .await
                .unwrap();
            let g1 = code("330483101001001");
            let g2 = code("330483101001002");
            let s = Arc::new(s);
            // The same person voting twice at once: one vote.
            let (x, y) = tokio::join!(
                s.vote(c.id, a, Stance::Support, &g1, 10),
                s.vote(c.id, a, Stance::Oppose, &g1, 11)
            );
            x.unwrap();
            y.unwrap();
            s.vote(c.id, b, Stance::Support, &g2, 12).await.unwrap();
            let now = s.consultation(c.id).await.unwrap().unwrap();
            assert_eq!(now.support + now.oppose, 2);
            s.vote(c.id, a, Stance::Support, &g1, 13).await.unwrap();
            assert_eq!(s.my_vote(c.id, a).await.unwrap(), Some(Stance::Support));
            let by_grid = s.votes_by_grid(c.id).await.unwrap();
            assert_eq!(by_grid.len(), 2);
            assert_eq!((by_grid[0].support, by_grid[0].oppose), (1, 0));
            let m = s.comment(c.id, a, &g1, "同意第三条", 20).await.unwrap();
            s.hide_comment(c.id, m.id, "含个人信息", staff, 30).await.unwrap();
            assert!(matches!(s.hide_comment(c.id, m.id, "again", staff, 31).await, Err(StoreError::Conflicts(_))));
            assert!(matches!(s.hide_comment(c.id, m.id + 99, "x", staff, 31).await, Err(StoreError::Missing(_))));
            assert_eq!(s.consultation(c.id).await.unwrap().unwrap().comments, 0);
            assert_eq!(s.comments(c.id, 0, 10).await.unwrap()[0].hidden_reason.as_deref(), Some("含个人信息"));
            // Answered only once it closed, and only once.
            assert!(matches!(s.answer_consultation(c.id, "摘要", "答复", staff, 500).await, Err(StoreError::Conflicts(_))));
            s.answer_consultation(c.id, "摘要", "答复", staff, 1_000).await.unwrap();
            assert!(matches!(s.answer_consultation(c.id, "摘要", "答复", staff, 1_001).await, Err(StoreError::Conflicts(_))));
        }

        async fn a_proposal_reaches_the_agenda_once_under_concurrent_support_and_is_answered_once(s) {
            let proposer = person(&s, "proposer").await;
            let staff = person(&s, "staff").await;
            let mut people = Vec::new();
            for i in 0..4 {
                people.push(person(&s, &format!("p{i}")).await);
            }
            let p = s
                .create_proposal(
                    &NewProposal {
                        region: code("330483101001"),
                        title: "增设电动车充电桩".into(),
                        body: "小区没有充电桩".into(),
                        threshold: 3,
                        answer_within: 100,
                    },
                    proposer,
                    0,
                )
                .await
                .unwrap();
            assert_eq!(p.status, ProposalStatus::Open);
            let s = Arc::new(s);
            let tasks: Vec<_> = people
                .iter()
                .chain(people.iter())
                .map(|&who| {
                    let s = s.clone();
                    tokio::spawn(async move { s.support(p.id, who, 100, 10).await })
                })
                .collect();
            for t in tasks {
                t.await.unwrap().unwrap();
            }
            let now = s.proposal(p.id).await.unwrap().unwrap();
            assert_eq!(now.supports, 4);
            assert_eq!(now.status, ProposalStatus::Agenda);
            assert_eq!(now.due_at, Some(110));
            let listed = s.proposals(&ProposalScope::Grid(code("330483101001001")), Some(ProposalStatus::Agenda), 0, 10).await.unwrap();
            assert_eq!(listed.len(), 1);
            assert_eq!(listed[0].proposer_name, "proposer 姓名");
            let answered = s
                .answer_proposal(p.id, &ProposalAnswer::Decline { reason: "场地不足".into() }, staff, 50)
                .await
                .unwrap();
            assert_eq!(answered.status, ProposalStatus::Declined);
            assert!(matches!(s.support(p.id, proposer, 100, 60).await, Err(StoreError::Conflicts(_))));
            assert!(matches!(s.withdraw_proposal(p.id, 60).await, Err(StoreError::Conflicts(_))));
            assert!(matches!(
                s.answer_proposal(p.id, &ProposalAnswer::Decline { reason: "x".into() }, staff, 70).await,
                Err(StoreError::Conflicts(_))
            ));
        }
    }
}
