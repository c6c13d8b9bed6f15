//! The figures of residents' participation in a region and a period (docs/MEASURES.md,
//! "Participation"): the reach of articles per grid, votes and comments per grid, participation
//! per consultation, and proposals answered on time per community.

use std::collections::BTreeMap;

use async_trait::async_trait;
use gridkeeper_domain::{Millis, RegionCode};
use sqlx::Row;

use crate::dialect::generic;
use crate::{parse_field, Result};

/// One grid's figures.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GridParticipation {
    /// Houses registered as homes (own home or rental): the households of the grid.
    pub households: i64,
    /// Articles published to the grid or a region above it in the period.
    pub articles: i64,
    /// Reads counted in the grid of the articles published in the period.
    pub reads: i64,
    /// Votes cast from the grid in the period (the last vote of each person counts).
    pub votes: i64,
    /// Comments made from the grid in the period.
    pub comments: i64,
}

/// One community's proposals.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CommunityProposals {
    /// Made in the period.
    pub made: i64,
    /// That went on the agenda in the period.
    pub reached_agenda: i64,
    /// Of those, answered (accepted or declined).
    pub answered: i64,
    /// Of those, answered no later than their deadline.
    pub answered_on_time: i64,
    /// On the agenda and past their deadline now.
    pub overdue_now: i64,
}

/// One consultation that closed in the period (or is open at its end).
#[derive(Debug, Clone, PartialEq)]
pub struct ConsultationTurnout {
    pub id: i64,
    pub title: String,
    pub region: RegionCode,
    pub closes_at: Millis,
    pub voters: i64,
    pub commenters: i64,
    /// Distinct people who voted or commented.
    pub participants: i64,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ParticipationFigures {
    pub grids: BTreeMap<RegionCode, GridParticipation>,
    pub communities: BTreeMap<RegionCode, CommunityProposals>,
    pub consultations: Vec<ConsultationTurnout>,
}

#[async_trait]
pub trait ParticipationStore: Send + Sync {
    /// The figures of the grids and communities under `region` for `[from, to)` (those with
    /// something to count); `now` for what is overdue.
    async fn participation_figures(
        &self,
        region: &RegionCode,
        from: Millis,
        to: Millis,
        now: Millis,
    ) -> Result<ParticipationFigures>;
}

generic! {
    #[async_trait]
    impl ParticipationStore for SqlStore {
        async fn participation_figures(
            &self,
            region: &RegionCode,
            from: Millis,
            to: Millis,
            now: Millis,
        ) -> Result<ParticipationFigures> {
            let lo = region.as_str().to_string();
            let hi = format!("{lo}:");
            let mut f = ParticipationFigures::default();
            let grid_counts = |sql: &'static str| {
                let (lo, hi) = (lo.clone(), hi.clone());
                async move {
                    let rows = sqlx::query(sql).bind(lo).bind(hi).bind(from).bind(to).fetch_all(&self.pool).await?;
                    rows.iter()
                        .map(|r| Ok((parse_field(RegionCode::parse(r.try_get::<&str, _>(0)?))?, r.try_get::<i64, _>(1)?)))
                        .collect::<Result<Vec<_>>>()
                }
            };
            let homes = sqlx::query(
                "SELECT grid, count(*) FROM houses WHERE grid >= $1 AND grid < $2 AND house_use IN ('own_home', 'rental') \
                 GROUP BY grid",
            )
            .bind(&lo)
            .bind(&hi)
            .fetch_all(&self.pool)
            .await?;
            for r in &homes {
                let g = parse_field(RegionCode::parse(r.try_get::<&str, _>(0)?))?;
                f.grids.entry(g).or_default().households = r.try_get(1)?;
            }
            for (g, n) in grid_counts(
                "SELECT r.region, CAST(sum(r.reads) AS BIGINT) FROM article_reads r JOIN articles a ON a.id = r.article_id \
                 WHERE r.region >= $1 AND r.region < $2 AND a.publish_at >= $3 AND a.publish_at < $4 GROUP BY r.region",
            )
            .await?
            {
                f.grids.entry(g).or_default().reads = n;
            }
            for (g, n) in grid_counts(
                "SELECT grid, count(*) FROM consultation_votes WHERE grid >= $1 AND grid < $2 AND at >= $3 AND at < $4 \
                 GROUP BY grid",
            )
            .await?
            {
                f.grids.entry(g).or_default().votes = n;
            }
            for (g, n) in grid_counts(
                "SELECT grid, count(*) FROM consultation_comments WHERE grid >= $1 AND grid < $2 AND created_at >= $3 \
                 AND created_at < $4 GROUP BY grid",
            )
            .await?
            {
                f.grids.entry(g).or_default().comments = n;
            }
            // Articles reach a grid from the grid itself and every region above it (grids that
            // counted nothing else are not listed; the server lists every grid).
            let published = sqlx::query(
                "SELECT region, count(*) FROM articles WHERE withdrawn_at IS NULL AND publish_at >= $1 AND publish_at < $2 \
                 GROUP BY region",
            )
            .bind(from)
            .bind(to)
            .fetch_all(&self.pool)
            .await?;
            for r in &published {
                let at = parse_field(RegionCode::parse(r.try_get::<&str, _>(0)?))?;
                let n: i64 = r.try_get(1)?;
                for (g, figures) in f.grids.iter_mut() {
                    if at.contains(g) {
                        figures.articles += n;
                    }
                }
            }

            let rows = sqlx::query(
                "SELECT region, \
                 count(*) FILTER (WHERE created_at >= $3 AND created_at < $4) AS made, \
                 count(*) FILTER (WHERE agenda_at >= $3 AND agenda_at < $4) AS reached, \
                 count(*) FILTER (WHERE agenda_at >= $3 AND agenda_at < $4 AND status IN ('accepted', 'declined')) AS answered, \
                 count(*) FILTER (WHERE agenda_at >= $3 AND agenda_at < $4 AND status IN ('accepted', 'declined') \
                                  AND answered_at <= due_at) AS on_time, \
                 count(*) FILTER (WHERE status = 'agenda' AND due_at < $5) AS overdue \
                 FROM proposals WHERE region >= $1 AND region < $2 GROUP BY region ORDER BY region",
            )
            .bind(&lo)
            .bind(&hi)
            .bind(from)
            .bind(to)
            .bind(now)
            .fetch_all(&self.pool)
            .await?;
            for r in &rows {
                f.communities.insert(
                    parse_field(RegionCode::parse(r.try_get::<&str, _>("region")?))?,
                    CommunityProposals {
                        made: r.try_get("made")?,
                        reached_agenda: r.try_get("reached")?,
                        answered: r.try_get("answered")?,
                        answered_on_time: r.try_get("on_time")?,
                        overdue_now: r.try_get("overdue")?,
                    },
                );
            }

            let rows = sqlx::query(
                "SELECT c.id, c.title, c.region, c.closes_at, \
                 (SELECT count(*) FROM consultation_votes v WHERE v.consultation_id = c.id) AS voters, \
                 (SELECT count(DISTINCT m.person_id) FROM consultation_comments m WHERE m.consultation_id = c.id) AS commenters, \
                 (SELECT count(*) FROM (SELECT person_id FROM consultation_votes WHERE consultation_id = c.id \
                   UNION SELECT person_id FROM consultation_comments WHERE consultation_id = c.id) p) AS participants \
                 FROM consultations c WHERE c.region >= $1 AND c.region < $2 AND c.opens_at < $4 AND c.closes_at >= $3 \
                 ORDER BY c.closes_at DESC, c.id DESC",
            )
            .bind(&lo)
            .bind(&hi)
            .bind(from)
            .bind(to)
            .fetch_all(&self.pool)
            .await?;
            for r in &rows {
                f.consultations.push(ConsultationTurnout {
                    id: r.try_get("id")?,
                    title: r.try_get("title")?,
                    region: parse_field(RegionCode::parse(r.try_get::<&str, _>("region")?))?,
                    closes_at: r.try_get("closes_at")?,
                    voters: r.try_get("voters")?,
                    commenters: r.try_get("commenters")?,
                    participants: r.try_get("participants")?,
                });
            }
            Ok(f)
        }
    }
}

#[cfg(test)]
mod tests {
    use gridkeeper_domain::participation::{ArticleKind, ConsultationKind, ProposalAnswer, Stance};
    use gridkeeper_domain::PersonId;

    use super::*;
    use crate::testing::on_both;
    use crate::{
        ArticleStore, ConsultationStore, NewArticle, NewConsultation, NewPerson, NewProposal, PeopleStore,
        ProposalStore,
    };

    fn code(s: &str) -> RegionCode {
        RegionCode::parse(s).unwrap()
    }

    async fn person(s: &(impl PeopleStore + ?Sized), login: &str) -> PersonId {
        let p = NewPerson {
            login: login.into(),
            name: login.into(),
            phone: None,
            id_number: None,
            password_hash: None,
            grants: vec![],
        };
        s.create_person(&p, 0).await.unwrap()
    }

    on_both! {
        async fn figures_count_reach_votes_and_proposals_answered_on_time(s) {
            let staff = person(&s, "staff").await;
            let a = person(&s, "a").await;
            let b = person(&s, "b").await;
            let grid = code("330483101001001");
            let article = NewArticle {
                region: code("330483101"),
                kind: ArticleKind::Notice,
                title: "t".into(),
                summary: String::new(),
                body: "<p>x</p>".into(),
                cover: None,
                publish_at: 100,
                expires_at: None,
                pinned: false,
                urgent: false,
            };
            let art = s.create_article(&article, staff, 100).await.unwrap();
            s.record_read(art.id, Some(&grid), Some(a), 110).await.unwrap();
            s.record_read(art.id, Some(&grid), None, 111).await.unwrap();
            let c = s
                .create_consultation(
                    &NewConsultation {
                        region: code("330483101001"),
                        kind: ConsultationKind::Rule,
                        title: "c".into(),
                        body: "<p>x</p>".into(),
                        opens_at: 100,
                        closes_at: 500,
                    },
                    staff,
                    100,
                )
                .await
                .unwrap();
            s.vote(c.id, a, Stance::Support, &grid, 120).await.unwrap();
            s.vote(c.id, b, Stance::Oppose, &grid, 130).await.unwrap();
            s.comment(c.id, a, &grid, "x", 140).await.unwrap();
            let new = |title: &str| NewProposal {
                region: code("330483101001"),
                title: title.into(),
                body: "x".into(),
                threshold: 1,
                answer_within: 50,
            };
            let on_time = s.create_proposal(&new("p1"), a, 100).await.unwrap();
            s.support(on_time.id, b, 50, 110).await.unwrap();
            s.answer_proposal(on_time.id, &ProposalAnswer::Decline { reason: "r".into() }, staff, 150).await.unwrap();
            let late = s.create_proposal(&new("p2"), a, 100).await.unwrap();
            s.support(late.id, b, 50, 110).await.unwrap();

            let f = s.participation_figures(&code("330483101"), 0, 1_000, 1_000).await.unwrap();
            let g = &f.grids[&grid];
            assert_eq!((g.articles, g.reads, g.votes, g.comments), (1, 2, 2, 1));
            let p = &f.communities[&code("330483101001")];
            assert_eq!((p.made, p.reached_agenda, p.answered, p.answered_on_time, p.overdue_now), (2, 2, 1, 1, 1));
            assert_eq!(f.consultations.len(), 1);
            assert_eq!((f.consultations[0].voters, f.consultations[0].commenters, f.consultations[0].participants), (2, 1, 2));
            // Outside the period: nothing counted.
            let none = s.participation_figures(&code("330483101"), 2_000, 3_000, 3_000).await.unwrap();
            assert!(none.grids.values().all(|g| g.reads == 0 && g.votes == 0));
        }
    }
}
