//! Special rectification campaigns (专项整治): a campaign and its tasks written in one transaction
//! (the tasks chosen from the registry by the campaign's selection, one per open place or rental
//! house), the open tasks of a grid member's regions, each inspection counted for the campaigns
//! whose task for its subject is open (in the inspection's own transaction,
//! [`SqlStore::count_for_campaigns`]), the board's counts per grid, and closing early with its
//! audit entry.

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::NaiveDate;
use gridkeeper_domain::campaigns::{BoardCounts, CampaignDraft, CampaignId};
use gridkeeper_domain::inspections::{ChecklistId, InspectionKind, SubjectKind};
use gridkeeper_domain::registry::RiskLevel;
use gridkeeper_domain::{FieldError, Millis, PersonId, RegionCode};
use serde_json::json;
use sqlx::Row;

use crate::dialect::generic;
use crate::inspections::{Subject, SUBJECTS};
use crate::sql::Sql;
use crate::{corrupt, parse_field, NewAudit, Result, StoreError};

/// A campaign as stored, with how many of its subjects are inspected.
#[derive(Debug, Clone, PartialEq)]
pub struct Campaign {
    pub id: CampaignId,
    pub name: String,
    pub region: RegionCode,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub due_on: NaiveDate,
    pub starts_at: Millis,
    pub ends_at: Millis,
    pub kinds: Vec<String>,
    pub risks: Vec<RiskLevel>,
    pub houses: bool,
    /// The check list in force for each kind when the campaign was started (`place:shop`).
    pub checklists: BTreeMap<String, ChecklistId>,
    pub created_by: PersonId,
    pub created_at: Millis,
    pub closed_at: Option<Millis>,
    pub closed_by: Option<PersonId>,
    pub close_reason: Option<String>,
    /// Tasks (places and houses selected).
    pub subjects: u32,
    /// Tasks done by an inspection.
    pub inspected: u32,
}

/// An open campaign task, as a grid member's task list shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct CampaignTask {
    pub campaign: CampaignId,
    pub campaign_name: String,
    pub subject: Subject,
    pub due_at: Millis,
}

#[async_trait]
pub trait CampaignStore: Send + Sync {
    /// Writes a campaign and one task per open place (of its kinds and risk levels) and rental
    /// house (when it selects houses) in its region, due at its due day's end, with its audit
    /// entry; all in one transaction. A selection that finds nothing is refused naming `kinds`,
    /// and nothing is written.
    async fn create_campaign(
        &self,
        d: &CampaignDraft,
        checklists: &BTreeMap<String, ChecklistId>,
        audit: &NewAudit,
    ) -> Result<Campaign>;
    async fn campaign(&self, id: CampaignId) -> Result<Option<Campaign>>;
    /// The campaigns over `under`, the regions inside it and those containing it (the campaigns
    /// covering any part of it): those still open at `now` first
    /// (running or upcoming), then the newest first.
    async fn campaigns(&self, under: &RegionCode, now: Millis, offset: u32, limit: u32) -> Result<Vec<Campaign>>;
    /// Closes a campaign early, with its audit entry; its open tasks stay undone. A campaign
    /// closed already is a [`StoreError::Conflicts`] naming `id`.
    async fn close_campaign(&self, id: CampaignId, reason: Option<&str>, audit: &NewAudit) -> Result<Campaign>;
    /// The board's counts per grid at `now` (a closed campaign's as they were when it closed),
    /// in the grids' order.
    async fn campaign_board(&self, id: CampaignId, now: Millis) -> Result<Vec<(RegionCode, BoardCounts)>>;
    /// The open tasks (not inspected, campaign running at `now`) of open subjects in the
    /// regions `under`, soonest due first (at most `limit`).
    async fn open_campaign_tasks(&self, under: &[RegionCode], now: Millis, limit: u32) -> Result<Vec<CampaignTask>>;
}

const CAMPAIGN: &str = "c.id, c.name, c.region, c.starts_on, c.ends_on, c.due_on, c.starts_at, c.ends_at, c.kinds, \
    c.risks, c.houses, c.checklists, c.created_by, c.created_at, c.closed_at, c.closed_by, c.close_reason, \
    (SELECT count(*) FROM campaign_tasks t WHERE t.campaign_id = c.id) AS subjects, \
    (SELECT count(t.inspection_id) FROM campaign_tasks t WHERE t.campaign_id = c.id) AS inspected";

fn date(s: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(corrupt)
}

fn count(v: i64) -> Result<u32> {
    u32::try_from(v).map_err(corrupt)
}

/// `(col >= 'r' AND col < 'r:')` for each region, joined by OR: the regions and their subtrees.
fn in_regions(b: &mut Sql, col: &str, under: &[RegionCode]) {
    b.push("(");
    for (i, r) in under.iter().enumerate() {
        if i > 0 {
            b.push(" OR ");
        }
        b.push(format!("({col} >= "))
            .push_bind(r.to_string())
            .push(format!(" AND {col} < "))
            .push_bind(format!("{r}:"))
            .push(")");
    }
    b.push(")");
}

generic! {
    impl SqlStore {
        fn campaign_row(r: &D::Row) -> Result<Campaign> {
            let json = |col: &str| -> Result<serde_json::Value> {
                let s: String = r.try_get(col)?;
                serde_json::from_str(&s).map_err(corrupt)
            };
            Ok(Campaign {
                id: CampaignId(r.try_get("id")?),
                name: r.try_get("name")?,
                region: parse_field(RegionCode::parse(r.try_get("region")?))?,
                starts_on: date(r.try_get("starts_on")?)?,
                ends_on: date(r.try_get("ends_on")?)?,
                due_on: date(r.try_get("due_on")?)?,
                starts_at: r.try_get("starts_at")?,
                ends_at: r.try_get("ends_at")?,
                kinds: serde_json::from_value(json("kinds")?).map_err(corrupt)?,
                risks: serde_json::from_value(json("risks")?).map_err(corrupt)?,
                houses: r.try_get("houses")?,
                checklists: serde_json::from_value(json("checklists")?).map_err(corrupt)?,
                created_by: r.try_get("created_by")?,
                created_at: r.try_get("created_at")?,
                closed_at: r.try_get("closed_at")?,
                closed_by: r.try_get("closed_by")?,
                close_reason: r.try_get("close_reason")?,
                subjects: count(r.try_get("subjects")?)?,
                inspected: count(r.try_get("inspected")?)?,
            })
        }

        async fn campaign_in(conn: &mut D::Connection, id: CampaignId) -> Result<Option<Campaign>> {
            let row = sqlx::query(&format!("SELECT {CAMPAIGN} FROM campaigns c WHERE c.id = $1"))
                .bind(id.0)
                .fetch_optional(&mut *conn)
                .await?;
            row.map(|r| Self::campaign_row(&r)).transpose()
        }

        /// Counts inspection `inspection` of a subject, made at `at`, for every campaign running
        /// then whose task for the subject is still open: the tasks are done by it, and the
        /// inspection is linked to the campaign among them due first. A social unit's
        /// inspection of its own place counts for none. Called by `record_inspection` in its
        /// transaction.
        pub(crate) async fn count_for_campaigns(
            conn: &mut D::Connection,
            inspection: i64,
            kind: InspectionKind,
            subject: SubjectKind,
            subject_id: i64,
            at: Millis,
            failed: bool,
        ) -> Result<Option<CampaignId>> {
            if kind == InspectionKind::SelfInspection {
                return Ok(None);
            }
            let first: Option<i64> = sqlx::query_scalar(
                "SELECT t.campaign_id FROM campaign_tasks t JOIN campaigns c ON c.id = t.campaign_id \
                 WHERE t.subject = $1 AND t.subject_id = $2 AND t.inspection_id IS NULL AND c.closed_at IS NULL \
                 AND c.starts_at <= $3 AND c.ends_at >= $3 ORDER BY t.due_at, t.campaign_id LIMIT 1",
            )
            .bind(subject.as_str())
            .bind(subject_id)
            .bind(at)
            .fetch_optional(&mut *conn)
            .await?;
            let Some(first) = first else { return Ok(None) };
            sqlx::query(
                "UPDATE campaign_tasks SET inspection_id = $1, inspected_at = $2, failed = $5 WHERE subject = $3 \
                 AND subject_id = $4 AND inspection_id IS NULL AND campaign_id IN (SELECT id FROM campaigns \
                 WHERE closed_at IS NULL AND starts_at <= $2 AND ends_at >= $2)",
            )
            .bind(inspection)
            .bind(at)
            .bind(subject.as_str())
            .bind(subject_id)
            .bind(failed)
            .execute(&mut *conn)
            .await?;
            sqlx::query("UPDATE inspections SET campaign_id = $1 WHERE id = $2")
                .bind(first)
                .bind(inspection)
                .execute(&mut *conn)
                .await?;
            Ok(Some(CampaignId(first)))
        }
    }
}

generic! {
    #[async_trait]
    impl CampaignStore for SqlStore {
        async fn create_campaign(
            &self,
            d: &CampaignDraft,
            checklists: &BTreeMap<String, ChecklistId>,
            audit: &NewAudit,
        ) -> Result<Campaign> {
            let mut tx = self.begin_write().await?;
            let strings = |v: &[&str]| serde_json::to_string(v).map_err(corrupt);
            let kinds: Vec<&str> = d.kinds.iter().map(String::as_str).collect();
            let risks: Vec<&str> = d.risks.iter().map(|r| r.as_str()).collect();
            let lists = serde_json::to_string(checklists).map_err(corrupt)?;
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO campaigns (name, region, starts_on, ends_on, due_on, starts_at, ends_at, kinds, risks, houses, \
                 checklists, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
            )
            .bind(&d.name)
            .bind(d.region.as_str())
            .bind(d.starts_on.to_string())
            .bind(d.ends_on.to_string())
            .bind(d.due_on.to_string())
            .bind(d.starts_at())
            .bind(d.ends_at())
            .bind(strings(&kinds)?)
            .bind(strings(&risks)?)
            .bind(d.houses)
            .bind(lists)
            .bind(audit.actor)
            .bind(audit.at)
            .fetch_one(&mut *tx)
            .await?;
            // The selection, straight from the registry into the tasks.
            let mut b = Sql::new("INSERT INTO campaign_tasks (campaign_id, subject, subject_id, grid, due_at) SELECT ");
            b.push_bind(id).push(", s.subject, s.id, s.grid, ").push_bind(d.due_at());
            b.push(format!(" FROM {SUBJECTS} s WHERE s.open AND "));
            in_regions(&mut b, "s.grid", std::slice::from_ref(&d.region));
            b.push(" AND (");
            let mut any = false;
            if !d.kinds.is_empty() {
                b.push("(s.subject = 'place' AND s.kind IN (");
                for (i, k) in d.kinds.iter().enumerate() {
                    if i > 0 {
                        b.push(", ");
                    }
                    b.push_bind(k.clone());
                }
                b.push(")");
                if !d.risks.is_empty() {
                    b.push(" AND s.risk IN (");
                    for (i, r) in d.risks.iter().enumerate() {
                        if i > 0 {
                            b.push(", ");
                        }
                        b.push_bind(r.as_str());
                    }
                    b.push(")");
                }
                b.push(")");
                any = true;
            }
            if d.houses {
                if any {
                    b.push(" OR ");
                }
                b.push("(s.subject = 'house' AND s.kind = 'rental')");
            }
            b.push(")");
            let selected = D::rows_affected(&Self::query_of(&b).execute(&mut *tx).await?);
            if selected == 0 {
                return Err(StoreError::Invalid(FieldError::new(
                    "kinds",
                    format!("selects no open place or rental house in region {}", d.region),
                )));
            }
            let mut a = audit.clone();
            a.object = Some(format!("campaign:{id}"));
            a.detail = json!({ "started": { "name": d.name, "region": d.region.as_str(), "subjects": selected } });
            Self::append_audit(&mut tx, &a).await?;
            let c = Self::campaign_in(&mut tx, CampaignId(id)).await?.ok_or_else(|| corrupt("a new campaign vanished"))?;
            tx.commit().await?;
            Ok(c)
        }

        async fn campaign(&self, id: CampaignId) -> Result<Option<Campaign>> {
            let mut conn = self.pool.acquire().await?;
            Self::campaign_in(&mut conn, id).await
        }

        async fn campaigns(&self, under: &RegionCode, now: Millis, offset: u32, limit: u32) -> Result<Vec<Campaign>> {
            let mut b = Sql::new(format!("SELECT {CAMPAIGN} FROM campaigns c WHERE ("));
            in_regions(&mut b, "c.region", std::slice::from_ref(under));
            // and those over the regions containing it
            for r in under.and_ancestors().into_iter().skip(1) {
                b.push(" OR c.region = ").push_bind(r.to_string());
            }
            b.push(")");
            b.push(" ORDER BY CASE WHEN c.closed_at IS NULL AND c.ends_at >= ").push_bind(now);
            b.push(" THEN 0 ELSE 1 END, c.starts_at DESC, c.id DESC LIMIT ").push_bind(i64::from(limit));
            b.push(" OFFSET ").push_bind(i64::from(offset));
            Self::query_of(&b).fetch_all(&self.pool).await?.iter().map(Self::campaign_row).collect()
        }

        async fn close_campaign(&self, id: CampaignId, reason: Option<&str>, audit: &NewAudit) -> Result<Campaign> {
            let mut tx = self.begin_write().await?;
            let closed = D::rows_affected(&sqlx::query(
                "UPDATE campaigns SET closed_at = $2, closed_by = $3, close_reason = $4 WHERE id = $1 AND closed_at IS NULL",
            )
            .bind(id.0)
            .bind(audit.at)
            .bind(audit.actor)
            .bind(reason)
            .execute(&mut *tx)
            .await?);
            let c = Self::campaign_in(&mut tx, id)
                .await?
                .ok_or_else(|| StoreError::Missing(FieldError::new("id", format!("there is no campaign {id}"))))?;
            if closed == 0 {
                return Err(StoreError::Conflicts(FieldError::new("id", format!("campaign {id} is closed already"))));
            }
            let mut a = audit.clone();
            a.object = Some(format!("campaign:{id}"));
            a.detail = json!({ "closed": { "reason": reason, "inspected": c.inspected, "subjects": c.subjects } });
            Self::append_audit(&mut tx, &a).await?;
            tx.commit().await?;
            Ok(c)
        }

        async fn campaign_board(&self, id: CampaignId, now: Millis) -> Result<Vec<(RegionCode, BoardCounts)>> {
            let closed: Option<Option<Millis>> = sqlx::query_scalar("SELECT closed_at FROM campaigns WHERE id = $1")
                .bind(id.0)
                .fetch_optional(&self.pool)
                .await?;
            let Some(closed) = closed else { return Ok(Vec::new()) };
            let now = closed.map_or(now, |c| c.min(now));
            let mut by_grid: BTreeMap<String, BoardCounts> = BTreeMap::new();
            // The tasks: one range of the primary key, nothing else read.
            let rows = sqlx::query(
                "SELECT t.grid, count(*) AS subjects, count(t.inspection_id) AS inspected, \
                 sum(CASE WHEN t.failed THEN 1 ELSE 0 END) AS failed, \
                 sum(CASE WHEN t.due_at < coalesce(t.inspected_at, $2) THEN 1 ELSE 0 END) AS overdue \
                 FROM campaign_tasks t WHERE t.campaign_id = $1 GROUP BY t.grid",
            )
            .bind(id.0)
            .bind(now)
            .fetch_all(&self.pool)
            .await?;
            for r in &rows {
                let c = by_grid.entry(r.try_get("grid")?).or_default();
                c.subjects = count(r.try_get("subjects")?)?;
                c.inspected = count(r.try_get("inspected")?)?;
                c.failed = count(r.try_get("failed")?)?;
                c.overdue = count(r.try_get("overdue")?)?;
            }
            // The hazards the failed ones opened (hazards_found_by), with their cases now.
            let rows = sqlx::query(
                "SELECT t.grid, count(*) AS hazards, \
                 sum(CASE WHEN c.state IN ('closed', 'rated') THEN 1 ELSE 0 END) AS rectified, \
                 sum(CASE WHEN c.state NOT IN ('closed', 'rated', 'rejected') AND c.handle_by < $2 THEN 1 ELSE 0 END) \
                 AS hazards_overdue \
                 FROM campaign_tasks t JOIN hazards h ON h.found_by = t.inspection_id JOIN cases c ON c.id = h.case_id \
                 WHERE t.campaign_id = $1 AND t.failed GROUP BY t.grid",
            )
            .bind(id.0)
            .bind(now)
            .fetch_all(&self.pool)
            .await?;
            for r in &rows {
                let c = by_grid.entry(r.try_get("grid")?).or_default();
                c.hazards = count(r.try_get("hazards")?)?;
                c.rectified = count(r.try_get("rectified")?)?;
                c.hazards_overdue = count(r.try_get("hazards_overdue")?)?;
            }
            by_grid
                .into_iter()
                .map(|(g, c)| Ok((parse_field(RegionCode::parse(&g))?, c)))
                .collect()
        }

        async fn open_campaign_tasks(&self, under: &[RegionCode], now: Millis, limit: u32) -> Result<Vec<CampaignTask>> {
            if under.is_empty() {
                return Ok(Vec::new());
            }
            let mut b = Sql::new(format!(
                "SELECT s.*, t.due_at, t.campaign_id, c.name AS campaign_name FROM campaign_tasks t \
                 JOIN campaigns c ON c.id = t.campaign_id JOIN {SUBJECTS} s ON s.subject = t.subject AND s.id = t.subject_id \
                 WHERE t.inspection_id IS NULL AND s.open AND c.closed_at IS NULL AND c.starts_at <= "
            ));
            b.push_bind(now).push(" AND c.ends_at >= ").push_bind(now).push(" AND ");
            in_regions(&mut b, "t.grid", under);
            b.push(" ORDER BY t.due_at, t.campaign_id, t.subject, t.subject_id LIMIT ").push_bind(i64::from(limit));
            Self::query_of(&b)
                .fetch_all(&self.pool)
                .await?
                .iter()
                .map(|r| {
                    Ok(CampaignTask {
                        campaign: CampaignId(r.try_get("campaign_id")?),
                        campaign_name: r.try_get("campaign_name")?,
                        subject: Self::subject_row(r)?,
                        due_at: r.try_get("due_at")?,
                    })
                })
                .collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use gridkeeper_domain::campaigns::*;
    use gridkeeper_domain::inspections::*;
    use gridkeeper_domain::registry::RiskLevel;
    use gridkeeper_domain::time::DAY;
    use gridkeeper_domain::*;

    use crate::inspections::{Found, NewInspection, Rechecked};
    use crate::prelude::*;
    use crate::registry::fixtures::{building, code, house, place, town, GRID, GRID2, OTHER};
    use crate::testing::on_both;
    use crate::{NewAudit, StoreError};

    fn item(code: &str) -> ChecklistItem {
        ChecklistItem {
            code: code.into(),
            text: format!("检查 {code}"),
            text_en: String::new(),
            severity: Severity::Major,
            photo_on_fail: false,
            rectify_days: 5,
            category: "H0101".into(),
        }
    }

    fn hazard_category(id: i64, code: &str, parent: Option<i64>) -> Category {
        let mut c = crate::contract::reference().categories[0].clone();
        (c.id, c.code, c.parent_id, c.kind, c.public) = (id, code.into(), parent, CategoryKind::Hazard, false);
        c
    }

    fn audit(at: Millis, by: PersonId) -> NewAudit {
        NewAudit { at, actor: Some(by), action: "campaign".into(), object: None, detail: serde_json::json!({}) }
    }

    fn date(s: &str) -> chrono::NaiveDate {
        s.parse().unwrap()
    }

    on_both! {
        async fn a_campaign_selects_its_subjects_counts_their_inspections_and_closes(s) {
            let (member, landlord) = town(&s).await;
            let mut data = crate::contract::reference();
            data.regions.clear();
            data.categories.extend([hazard_category(300, "H01", None), hazard_category(301, "H0101", Some(300))]);
            s.load_reference(&data).await.unwrap();
            let mut risky = place("shop", "乌镇小卖部", GRID);
            risky.risk = RiskLevel::High;
            let a = s.create_place(&risky, None, 1).await.unwrap();
            let b = s.create_place(&place("shop", "西栅杂货店", GRID2), None, 1).await.unwrap();
            // Outside the community, and of another kind: not selected.
            s.create_place(&place("shop", "另一社区小店", OTHER), None, 1).await.unwrap();
            s.create_place(&place("hotel", "民宿", GRID), None, 1).await.unwrap();
            let bld = s.create_building(&building(GRID2), None, 1).await.unwrap();
            s.create_house(&house(bld.id, "302", Some(landlord)), None, 1).await.unwrap();
            let draft = ChecklistDraft {
                name: "三小场所消防安全".into(),
                name_en: String::new(),
                subject: SubjectKind::Place,
                kind: "shop".into(),
                items: vec![item("F01"), item("F02")],
            };
            let list = s.save_checklist(None, &draft, Some(member), 10).await.unwrap();
            let lists = BTreeMap::from([("place:shop".to_string(), list.id)]);

            // The campaign over the community, December 2026; tasks due on the 20th.
            let today = date("2026-12-01");
            let d = |kinds: &[&str], risks: Vec<RiskLevel>, houses: bool| {
                CampaignDraft::checked(
                    "三小场所消防安全专项整治",
                    code("330483101001"),
                    today,
                    date("2026-12-31"),
                    Some(date("2026-12-20")),
                    kinds.iter().map(|k| k.to_string()).collect(),
                    risks,
                    houses,
                    today,
                )
                .unwrap()
            };
            let start = d(&["shop"], vec![], false).starts_at();
            let c = s.create_campaign(&d(&["shop"], vec![], true), &lists, &audit(start - DAY, member)).await.unwrap();
            assert_eq!((c.subjects, c.inspected, c.checklists.clone(), c.due_on), (3, 0, lists.clone(), date("2026-12-20")));
            // Only high risks: the one shop. A selection that finds nothing writes nothing.
            let high = s.create_campaign(&d(&["shop"], vec![RiskLevel::High], false), &lists, &audit(start, member)).await.unwrap();
            assert_eq!(high.subjects, 1);
            match s.create_campaign(&d(&["restaurant"], vec![], false), &lists, &audit(start, member)).await {
                Err(StoreError::Invalid(e)) => assert_eq!(e.field, "kinds"),
                other => panic!("{other:?}"),
            }
            let listed = s.campaigns(&code("330483"), start, 0, 10).await.unwrap();
            assert_eq!(listed.iter().map(|c| c.id).collect::<Vec<_>>(), [high.id, c.id]);
            assert!(s.campaigns(&code("330483101002"), start, 0, 10).await.unwrap().is_empty());
            s.close_campaign(high.id, Some("并入全镇整治"), &audit(start + 1, member)).await.unwrap();

            // The grid's open tasks: none before the start, the campaign's once it runs.
            assert!(s.open_campaign_tasks(&[code(GRID)], start - 1, 10).await.unwrap().is_empty());
            let tasks = s.open_campaign_tasks(&[code(GRID)], start + DAY, 10).await.unwrap();
            assert_eq!(tasks.len(), 1);
            assert_eq!((tasks[0].campaign, tasks[0].subject.id, tasks[0].campaign_name.as_str()), (c.id, a.id.0, "三小场所消防安全专项整治"));
            let due = d(&["shop"], vec![], false).due_at();
            assert_eq!(tasks[0].due_at, due);
            assert_eq!(s.open_campaign_tasks(&[code("330483101001")], start + DAY, 10).await.unwrap().len(), 3);

            // An inspection of the shop fails F01: it counts for the campaign, with its hazard.
            let actor = Actor::person(member, vec![Grant::new(Role::GridMember, Scope::parse(&format!("region:{GRID}")).unwrap()).unwrap()]);
            let at = start + 2 * DAY;
            let found = find_hazard(&actor, FoundHazard {
                district: "330483".into(),
                grid: code(GRID),
                location: a.data.location,
                address: None,
                description: "安全出口堵塞".into(),
                category: data.categories.last().unwrap().clone(),
                department: data.departments[0].clone(),
                deadline: at + 5 * DAY,
                photos: vec![],
                item: "F01".into(),
                subject: serde_json::json!({ "place": a.id }),
                source: Source::GridMember,
            }, at).unwrap();
            let inspection = |at, results: Vec<(&str, Outcome)>| NewInspection {
                subject: SubjectKind::Place,
                subject_id: a.id.0,
                grid: code(GRID),
                checklist_id: list.id,
                version: 1,
                kind: InspectionKind::Routine,
                inspector: member,
                at,
                location: None,
                accuracy_m: None,
                distance_m: None,
                far: false,
                note: None,
                client_key: None,
                spot_check: None,
                results: results
                    .into_iter()
                    .map(|(i, o)| ItemResult { item: i.into(), outcome: o, note: Some("杂物".into()), photos: vec![] })
                    .collect(),
            };
            let opened = [Found { item: "F01", severity: Severity::Major, decision: &found, photos: &[] }];
            let first = inspection(at, vec![("F01", Outcome::Fail), ("F02", Outcome::Pass)]);
            let (stored, cases) = s.record_inspection(&first, &opened, &[], 2026, None).await.unwrap();
            assert_eq!((stored.campaign, stored.campaign_name.as_deref()), (Some(c.id), Some(c.name.as_str())));
            assert!(s.open_campaign_tasks(&[code(GRID)], at, 10).await.unwrap().is_empty());
            let board = s.campaign_board(c.id, at).await.unwrap();
            let grid = |b: &[(RegionCode, BoardCounts)], g: &str| b.iter().find(|(r, _)| r.as_str() == g).unwrap().1;
            assert_eq!(
                grid(&board, GRID),
                BoardCounts { subjects: 1, inspected: 1, failed: 1, hazards: 1, rectified: 0, overdue: 0, hazards_overdue: 0 }
            );
            assert_eq!(grid(&board, GRID2), BoardCounts { subjects: 2, ..Default::default() });
            // Past the due day and the hazard's deadline: the house and the other shop are
            // overdue, and so is the hazard.
            let late = due + 1;
            let board = s.campaign_board(c.id, late).await.unwrap();
            assert_eq!((grid(&board, GRID).hazards_overdue, grid(&board, GRID2).overdue), (1, 2));

            // The re-inspection puts the hazard right: rectified, and it counts for no campaign.
            let pass = decide(&cases[0], &actor, Command::Reinspect { passed: true, note: None, evidence: vec![] }, at + DAY).unwrap();
            let judged = [Rechecked { item: "F01", decision: &pass, photos: &[] }];
            let second = inspection(at + DAY, vec![("F01", Outcome::Pass), ("F02", Outcome::Pass)]);
            let (again, _) = s.record_inspection(&second, &[], &judged, 2026, None).await.unwrap();
            assert_eq!(again.campaign, None);
            let g = grid(&s.campaign_board(c.id, late).await.unwrap(), GRID);
            assert_eq!((g.hazards, g.rectified, g.hazards_overdue, g.overdue), (1, 1, 0, 0));

            // Closed early: the board stays as it was at the close, later inspections count for
            // nothing, and it closes once.
            let closed = s.close_campaign(c.id, None, &audit(at + 2 * DAY, member)).await.unwrap();
            assert_eq!((closed.closed_at, closed.closed_by, closed.inspected), (Some(at + 2 * DAY), Some(member), 1));
            assert!(matches!(s.close_campaign(c.id, None, &audit(at + 3 * DAY, member)).await, Err(StoreError::Conflicts(e)) if e.field == "id"));
            assert_eq!(grid(&s.campaign_board(c.id, late).await.unwrap(), GRID2).overdue, 0);
            assert!(s.open_campaign_tasks(&[code(GRID2)], at + 3 * DAY, 10).await.unwrap().is_empty());
            let mut other = inspection(at + 3 * DAY, vec![("F01", Outcome::Pass), ("F02", Outcome::Pass)]);
            (other.subject_id, other.grid) = (b.id.0, code(GRID2));
            assert_eq!(s.record_inspection(&other, &[], &[], 2026, None).await.unwrap().0.campaign, None);
            // Open campaigns first: both are closed now, the newest first.
            let listed = s.campaigns(&code("330483101"), at + 3 * DAY, 0, 10).await.unwrap();
            assert_eq!(listed.iter().map(|c| c.id).collect::<Vec<_>>(), [high.id, c.id]);
            assert_eq!(s.campaign(c.id).await.unwrap().unwrap(), closed);
            let trail = s.audit_search(&crate::AuditQuery { object: Some(format!("campaign:{}", c.id)), limit: 10, ..Default::default() }).await.unwrap();
            assert_eq!(trail.len(), 2);
        }
    }
}
