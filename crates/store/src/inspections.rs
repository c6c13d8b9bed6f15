//! Field inspections: check lists and their versions, the plan and when each place or house is
//! next due, inspections item by item, and the hazards they found. An inspection, the hazard
//! cases it opens, the re-inspections it records on open hazards and the next due date are
//! written in one transaction: all of them or none.

use std::collections::HashMap;

use async_trait::async_trait;
use gridkeeper_domain::inspections::{
    ChecklistDraft, ChecklistId, ChecklistItem, InspectionId, InspectionKind, ItemResult, Outcome, PlanRule, Severity,
    SubjectKind,
};
use gridkeeper_domain::registry::RiskLevel;
use gridkeeper_domain::{
    Calendar, Case, CaseId, CaseState, Decision, FieldError, LatLon, MediaId, Millis, PersonId, RegionCode,
};
use sqlx::Row;

use crate::cases::Intake;
use crate::dialect::generic;
use crate::points::push_under;
use crate::rollups::Rollup;
use crate::sql::Sql;
use crate::{corrupt, parse_field, CaseStore, Result, StoreError};

/// A check list at one of its versions.
#[derive(Debug, Clone, PartialEq)]
pub struct Checklist {
    pub id: ChecklistId,
    pub subject: SubjectKind,
    pub kind: String,
    pub name: String,
    pub name_en: String,
    /// The version these items are; `current` is the newest.
    pub version: u32,
    pub current: u32,
    pub items: Vec<ChecklistItem>,
    pub retired: bool,
    pub updated_at: Millis,
}

/// What an inspection looks at, as the registry has it now.
#[derive(Debug, Clone, PartialEq)]
pub struct Subject {
    pub subject: SubjectKind,
    pub id: i64,
    /// The place's kind, or the house's use.
    pub kind: String,
    pub name: String,
    pub address: String,
    pub grid: RegionCode,
    pub location: LatLon,
    /// A house has no risk level in the registry: planned as medium.
    pub risk: RiskLevel,
    pub registered_at: Millis,
    /// Open (a place not closed or moved).
    pub open: bool,
}

/// A hazard found at a subject, with its case as it is now.
#[derive(Debug, Clone, PartialEq)]
pub struct Hazard {
    pub case_id: CaseId,
    pub reference: String,
    pub state: CaseState,
    pub checklist_id: ChecklistId,
    pub item: String,
    pub severity: Severity,
    pub found_by: InspectionId,
    pub found_at: Millis,
    /// The rectification deadline.
    pub handle_by: Option<Millis>,
    pub closed_at: Option<Millis>,
}

/// An inspection as the inspector gives it, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct NewInspection {
    pub subject: SubjectKind,
    pub subject_id: i64,
    pub grid: RegionCode,
    pub checklist_id: ChecklistId,
    pub version: u32,
    pub kind: InspectionKind,
    pub inspector: PersonId,
    pub at: Millis,
    pub location: Option<LatLon>,
    pub accuracy_m: Option<f64>,
    pub distance_m: Option<f64>,
    pub far: bool,
    pub note: Option<String>,
    /// The phone's own key for it (at most one inspection per inspector and key).
    pub client_key: Option<String>,
    /// A self-inspection: the share of them picked for a spot check (percent), and when the spot
    /// check is due.
    pub spot_check: Option<(u8, Millis)>,
    /// In the items' order (`check_results`).
    pub results: Vec<ItemResult>,
}

/// A spot check of a social unit's self-inspection by a grid member.
#[derive(Debug, Clone, PartialEq)]
pub struct SpotCheck {
    pub self_inspection: InspectionId,
    pub subject: SubjectKind,
    pub subject_id: i64,
    pub grid: RegionCode,
    pub due_at: Millis,
    /// The grid member's inspection that made it, once made.
    pub checked_by: Option<InspectionId>,
    /// Items the unit passed and the spot check failed.
    pub contradicted: Vec<String>,
}

/// A stored answer, with the hazard it opened or judged.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredResult {
    pub result: ItemResult,
    pub hazard_case: Option<CaseId>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Inspection {
    pub id: InspectionId,
    pub subject: SubjectKind,
    pub subject_id: i64,
    pub grid: RegionCode,
    pub checklist_id: ChecklistId,
    pub version: u32,
    pub kind: InspectionKind,
    pub inspector: PersonId,
    pub at: Millis,
    pub location: Option<LatLon>,
    pub accuracy_m: Option<f64>,
    pub distance_m: Option<f64>,
    pub far: bool,
    pub note: Option<String>,
    pub passed: u32,
    pub failed: u32,
    pub not_applicable: u32,
    /// The campaign it counted for (a task of the campaign open for its subject then).
    pub campaign: Option<gridkeeper_domain::campaigns::CampaignId>,
    /// That campaign's name.
    pub campaign_name: Option<String>,
    /// Empty in lists; filled by [`InspectionStore::inspection`].
    pub results: Vec<StoredResult>,
}

/// A hazard an inspection opens: the failed item and the state machine's decision.
pub struct Found<'a> {
    pub item: &'a str,
    pub severity: Severity,
    pub decision: &'a Decision,
    pub photos: &'a [MediaId],
}

/// A re-inspection of an open hazard: the item and the state machine's decision on its case.
pub struct Rechecked<'a> {
    pub item: &'a str,
    pub decision: &'a Decision,
    pub photos: &'a [MediaId],
}

/// A place or house due for inspection.
#[derive(Debug, Clone, PartialEq)]
pub struct Due {
    pub subject: Subject,
    pub due_at: Millis,
    pub last_at: Option<Millis>,
    pub every_days: u16,
}

#[async_trait]
pub trait InspectionStore: Send + Sync {
    /// The current version of every check list (retired ones too), by subject and kind.
    async fn checklists(&self) -> Result<Vec<Checklist>>;
    /// A check list at `version` (its current one when `None`).
    async fn checklist(&self, id: ChecklistId, version: Option<u32>) -> Result<Option<Checklist>>;
    /// The check list in force for a kind of subject.
    async fn checklist_for(&self, subject: SubjectKind, kind: &str) -> Result<Option<Checklist>>;
    /// A new check list (`id` `None`), or a new version of one: the versions answered before
    /// stay as they were. A check list keeps its subject and kind; one in force per kind.
    async fn save_checklist(
        &self,
        id: Option<ChecklistId>,
        draft: &ChecklistDraft,
        by: Option<PersonId>,
        now: Millis,
    ) -> Result<Checklist>;
    /// Takes a check list out of use (its inspections keep it).
    async fn retire_checklist(&self, id: ChecklistId, now: Millis) -> Result<Checklist>;

    async fn inspection_plan(&self) -> Result<Vec<PlanRule>>;
    /// Replaces the plan and plans every subject again.
    async fn set_inspection_plan(&self, rules: &[PlanRule], calendars: &HashMap<String, Calendar>) -> Result<usize>;
    /// Plans every open place and rental house the plan covers: when each is next due from its
    /// last inspection (or its registration), on its district's calendar; drops the rows of
    /// subjects no longer planned. Returns how many are planned.
    async fn plan_inspections(&self, calendars: &HashMap<String, Calendar>) -> Result<usize>;
    /// Subjects in the regions `under` (and below them) due by `until`, soonest first (at most
    /// `limit`).
    async fn due_inspections(&self, under: &[RegionCode], until: Millis, limit: u32) -> Result<Vec<Due>>;
    /// When a subject was last inspected with an inspection of `kind`.
    async fn last_inspection(&self, subject: SubjectKind, id: i64, kind: InspectionKind) -> Result<Option<Millis>>;
    /// Spot checks of self-inspections waiting in the regions `under`, soonest due first.
    async fn pending_spot_checks(&self, under: &[RegionCode], limit: u32) -> Result<Vec<(SpotCheck, Subject)>>;
    /// The spot checks of a subject, newest first.
    async fn spot_checks_of(&self, subject: SubjectKind, id: i64) -> Result<Vec<SpotCheck>>;
    /// When a subject is next due, if it is planned.
    async fn due_at(&self, subject: SubjectKind, id: i64) -> Result<Option<Millis>>;
    /// The inspection an inspector sent with this key before, if any.
    async fn inspection_by_key(&self, inspector: PersonId, key: &str) -> Result<Option<Inspection>>;

    async fn subject(&self, subject: SubjectKind, id: i64) -> Result<Option<Subject>>;
    /// Every hazard found at a subject, newest first, with its case's state.
    async fn hazards_of(&self, subject: SubjectKind, id: i64) -> Result<Vec<Hazard>>;
    /// Writes an inspection, the hazards it opens, its re-inspections of open hazards, when
    /// the subject is next due and the campaign tasks it does, in one transaction. A
    /// re-inspected case changed meanwhile is a [`StoreError::Conflict`]; a hazard another
    /// inspection opened for the same item meanwhile is refused naming the item; nothing is
    /// written then.
    async fn record_inspection(
        &self,
        ins: &NewInspection,
        found: &[Found<'_>],
        rechecked: &[Rechecked<'_>],
        year: i32,
        next_due: Option<Millis>,
    ) -> Result<(Inspection, Vec<Case>)>;
    async fn inspection(&self, id: InspectionId) -> Result<Option<Inspection>>;
    /// The inspections `inspector` made between `from` and `to` (a patrol's), oldest first, with the
    /// name of what was inspected (without their answers).
    async fn inspections_by(
        &self,
        inspector: PersonId,
        from: Millis,
        to: Millis,
        limit: u32,
    ) -> Result<Vec<(Inspection, String)>>;
    /// The inspections of a subject, newest first (without their answers).
    async fn inspections_of(&self, subject: SubjectKind, id: i64, limit: u32) -> Result<Vec<Inspection>>;
}

const CHECKLIST: &str = "c.id, c.subject, c.kind, c.name, c.name_en, c.version AS current, c.retired_at, \
    c.updated_at, v.version, v.items";
/// An inspection's columns, read `FROM {INSPECTIONS}`: with the name of the campaign it counted for.
const INSPECTION: &str = "i.id, i.subject, i.subject_id, i.grid, i.checklist_id, i.checklist_version, i.kind, \
    i.inspector, i.at, i.lat, i.lon, i.accuracy_m, i.distance_m, i.far, i.passed, i.failed, i.not_applicable, i.note, \
    i.campaign_id, cp.name AS campaign_name";
const INSPECTIONS: &str = "inspections i LEFT JOIN campaigns cp ON cp.id = i.campaign_id";
const HAZARD: &str = "h.case_id, c.reference, c.state, h.checklist_id, h.item, h.severity, h.found_by, h.found_at, \
    c.handle_by, c.closed_at";
/// The subjects an inspection looks at, as one relation: open places, and houses (located by
/// their building) with their use as kind.
pub(crate) const SUBJECTS: &str = "(SELECT 'place' AS subject, p.id, p.kind, p.name, p.address, p.grid, p.lat, p.lon, p.risk, \
    p.created_at, p.status = 'open' AS open FROM places p \
    UNION ALL SELECT 'house', h.id, h.house_use, h.label, b.address, h.grid, b.lat, b.lon, 'medium', h.created_at, TRUE \
    FROM houses h JOIN buildings b ON b.id = h.building_id)";

fn u32_of(v: i64) -> Result<u32> {
    u32::try_from(v).map_err(corrupt)
}

generic! {
    impl SqlStore {
        fn checklist_row(r: &D::Row) -> Result<Checklist> {
            let items: String = r.try_get("items")?;
            Ok(Checklist {
                id: ChecklistId(r.try_get("id")?),
                subject: parse_field(SubjectKind::parse(r.try_get("subject")?))?,
                kind: r.try_get("kind")?,
                name: r.try_get("name")?,
                name_en: r.try_get("name_en")?,
                version: u32_of(r.try_get("version")?)?,
                current: u32_of(r.try_get("current")?)?,
                items: serde_json::from_str(&items).map_err(corrupt)?,
                retired: r.try_get::<Option<i64>, _>("retired_at")?.is_some(),
                updated_at: r.try_get("updated_at")?,
            })
        }

        pub(crate) fn subject_row(r: &D::Row) -> Result<Subject> {
            Ok(Subject {
                subject: parse_field(SubjectKind::parse(r.try_get("subject")?))?,
                id: r.try_get("id")?,
                kind: r.try_get("kind")?,
                name: r.try_get("name")?,
                address: r.try_get("address")?,
                grid: parse_field(RegionCode::parse(r.try_get("grid")?))?,
                location: LatLon { lat: r.try_get("lat")?, lon: r.try_get("lon")? },
                risk: parse_field(RiskLevel::parse(r.try_get("risk")?))?,
                registered_at: r.try_get("created_at")?,
                open: r.try_get("open")?,
            })
        }

        fn inspection_row(r: &D::Row) -> Result<Inspection> {
            let lat: Option<f64> = r.try_get("lat")?;
            let lon: Option<f64> = r.try_get("lon")?;
            Ok(Inspection {
                id: InspectionId(r.try_get("id")?),
                subject: parse_field(SubjectKind::parse(r.try_get("subject")?))?,
                subject_id: r.try_get("subject_id")?,
                grid: parse_field(RegionCode::parse(r.try_get("grid")?))?,
                checklist_id: ChecklistId(r.try_get("checklist_id")?),
                version: u32_of(r.try_get("checklist_version")?)?,
                kind: parse_field(InspectionKind::parse(r.try_get("kind")?))?,
                inspector: r.try_get("inspector")?,
                at: r.try_get("at")?,
                location: lat.zip(lon).map(|(lat, lon)| LatLon { lat, lon }),
                accuracy_m: r.try_get("accuracy_m")?,
                distance_m: r.try_get("distance_m")?,
                far: r.try_get("far")?,
                note: r.try_get("note")?,
                passed: u32_of(r.try_get("passed")?)?,
                failed: u32_of(r.try_get("failed")?)?,
                not_applicable: u32_of(r.try_get("not_applicable")?)?,
                campaign: r.try_get::<Option<i64>, _>("campaign_id")?.map(gridkeeper_domain::campaigns::CampaignId),
                campaign_name: r.try_get("campaign_name")?,
                results: Vec::new(),
            })
        }

        fn hazard_row(r: &D::Row) -> Result<Hazard> {
            Ok(Hazard {
                case_id: r.try_get("case_id")?,
                reference: r.try_get("reference")?,
                state: parse_field(CaseState::parse(r.try_get("state")?))?,
                checklist_id: ChecklistId(r.try_get("checklist_id")?),
                item: r.try_get("item")?,
                severity: parse_field(Severity::parse(r.try_get("severity")?))?,
                found_by: InspectionId(r.try_get("found_by")?),
                found_at: r.try_get("found_at")?,
                handle_by: r.try_get("handle_by")?,
                closed_at: r.try_get("closed_at")?,
            })
        }

        async fn checklist_in(
            conn: &mut D::Connection,
            id: ChecklistId,
            version: Option<u32>,
        ) -> Result<Option<Checklist>> {
            let mut b = Sql::new(format!(
                "SELECT {CHECKLIST} FROM checklists c JOIN checklist_versions v ON v.checklist_id = c.id WHERE c.id = "
            ));
            b.push_bind(id.0);
            match version {
                Some(v) => b.push(" AND v.version = ").push_bind(i64::from(v)),
                None => b.push(" AND v.version = c.version"),
            };
            Self::query_of(&b).fetch_optional(&mut *conn).await?.map(|r| Self::checklist_row(&r)).transpose()
        }

        /// Plans the subjects of `only` (every subject when `None`) on the plan as stored.
        async fn plan_in(
            conn: &mut D::Connection,
            calendars: &HashMap<String, Calendar>,
            only: Option<(SubjectKind, i64)>,
        ) -> Result<usize> {
            let mut b = Sql::new(format!(
                "SELECT s.*, r.every_days, (SELECT max(i.at) FROM inspections i WHERE i.subject = s.subject \
                 AND i.subject_id = s.id) AS last_at FROM {SUBJECTS} s JOIN inspection_plan r \
                 ON r.subject = s.subject AND r.kind = s.kind AND r.risk = s.risk WHERE s.open"
            ));
            if let Some((kind, id)) = only {
                b.push(" AND s.subject = ").push_bind(kind.as_str()).push(" AND s.id = ").push_bind(id);
            }
            let rows = Self::query_of(&b).fetch_all(&mut *conn).await?;
            let wall = Calendar::wall_clock();
            let mut planned = Vec::with_capacity(rows.len());
            for r in &rows {
                let s = Self::subject_row(r)?;
                let every: i64 = r.try_get("every_days")?;
                let every = u16::try_from(every).map_err(corrupt)?;
                let last: Option<Millis> = r.try_get("last_at")?;
                let cal = calendars.get(s.grid.district()).unwrap_or(&wall);
                let due = gridkeeper_domain::inspections::next_due(cal, last, s.registered_at, every);
                planned.push((s, every, last, due));
            }
            if only.is_none() {
                sqlx::query("DELETE FROM inspection_due").execute(&mut *conn).await?;
            } else if let Some((kind, id)) = only {
                sqlx::query("DELETE FROM inspection_due WHERE subject = $1 AND subject_id = $2")
                    .bind(kind.as_str())
                    .bind(id)
                    .execute(&mut *conn)
                    .await?;
            }
            for chunk in planned.chunks(500) {
                let mut b = Sql::new("INSERT INTO inspection_due (subject, subject_id, grid, every_days, last_at, due_at) ");
                b.push_values(chunk, |mut row, (s, every, last, due)| {
                    row.push_bind(s.subject.as_str())
                        .push_bind(s.id)
                        .push_bind(s.grid.to_string())
                        .push_bind(i64::from(*every))
                        .push_bind(*last)
                        .push_bind(*due);
                });
                Self::query_of(&b).execute(&mut *conn).await?;
            }
            Ok(planned.len())
        }
    }
}

fn missing(field: &str, reason: impl Into<String>) -> StoreError {
    StoreError::Missing(FieldError::new(field, reason))
}

generic! {
    #[async_trait]
    impl InspectionStore for SqlStore {
        async fn checklists(&self) -> Result<Vec<Checklist>> {
            let rows = sqlx::query(&format!(
                "SELECT {CHECKLIST} FROM checklists c JOIN checklist_versions v ON v.checklist_id = c.id \
                 AND v.version = c.version ORDER BY c.retired_at IS NOT NULL, c.subject, c.kind, c.id"
            ))
            .fetch_all(&self.pool)
            .await?;
            rows.iter().map(Self::checklist_row).collect()
        }

        async fn checklist(&self, id: ChecklistId, version: Option<u32>) -> Result<Option<Checklist>> {
            let mut conn = self.pool.acquire().await?;
            Self::checklist_in(&mut conn, id, version).await
        }

        async fn checklist_for(&self, subject: SubjectKind, kind: &str) -> Result<Option<Checklist>> {
            let row = sqlx::query(&format!(
                "SELECT {CHECKLIST} FROM checklists c JOIN checklist_versions v ON v.checklist_id = c.id \
                 AND v.version = c.version WHERE c.subject = $1 AND c.kind = $2 AND c.retired_at IS NULL"
            ))
            .bind(subject.as_str())
            .bind(kind)
            .fetch_optional(&self.pool)
            .await?;
            row.map(|r| Self::checklist_row(&r)).transpose()
        }

        async fn save_checklist(
            &self,
            id: Option<ChecklistId>,
            d: &ChecklistDraft,
            by: Option<PersonId>,
            now: Millis,
        ) -> Result<Checklist> {
            let items = serde_json::to_string(&d.items).map_err(corrupt)?;
            let mut tx = self.begin_write().await?;
            let (id, version) = match id {
                Some(id) => {
                    let row = sqlx::query(&format!(
                        "SELECT subject, kind, version, retired_at FROM checklists WHERE id = $1{}",
                        D::FOR_UPDATE
                    ))
                    .bind(id.0)
                    .fetch_optional(&mut *tx)
                    .await?
                    .ok_or_else(|| missing("id", format!("there is no check list {id}")))?;
                    let (subject, kind): (String, String) = (row.try_get("subject")?, row.try_get("kind")?);
                    if subject != d.subject.as_str() || kind != d.kind {
                        return Err(StoreError::Invalid(FieldError::new(
                            "kind",
                            format!("check list {id} is for {subject} `{kind}`; retire it and write a new one for another kind"),
                        )));
                    }
                    if row.try_get::<Option<i64>, _>("retired_at")?.is_some() {
                        return Err(StoreError::Conflicts(FieldError::new("id", format!("check list {id} is retired"))));
                    }
                    let version = row.try_get::<i64, _>("version")? + 1;
                    sqlx::query("UPDATE checklists SET name = $2, name_en = $3, version = $4, updated_at = $5 WHERE id = $1")
                        .bind(id.0)
                        .bind(&d.name)
                        .bind(&d.name_en)
                        .bind(version)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                    (id, version)
                }
                None => {
                    let other: Option<i64> = sqlx::query_scalar(
                        "SELECT id FROM checklists WHERE subject = $1 AND kind = $2 AND retired_at IS NULL",
                    )
                    .bind(d.subject.as_str())
                    .bind(&d.kind)
                    .fetch_optional(&mut *tx)
                    .await?;
                    if let Some(o) = other {
                        return Err(StoreError::Conflicts(FieldError::new(
                            "kind",
                            format!("check list {o} is in force for {} `{}`; write a new version of it", d.subject.as_str(), d.kind),
                        )));
                    }
                    let id: i64 = sqlx::query_scalar(
                        "INSERT INTO checklists (subject, kind, name, name_en, version, created_at, updated_at) \
                         VALUES ($1, $2, $3, $4, 1, $5, $5) RETURNING id",
                    )
                    .bind(d.subject.as_str())
                    .bind(&d.kind)
                    .bind(&d.name)
                    .bind(&d.name_en)
                    .bind(now)
                    .fetch_one(&mut *tx)
                    .await?;
                    (ChecklistId(id), 1)
                }
            };
            sqlx::query(
                "INSERT INTO checklist_versions (checklist_id, version, items, created_by, created_at) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(id.0)
            .bind(version)
            .bind(items)
            .bind(by)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            let saved = Self::checklist_in(&mut tx, id, None).await?.ok_or_else(|| corrupt("a check list vanished"))?;
            tx.commit().await?;
            Ok(saved)
        }

        async fn retire_checklist(&self, id: ChecklistId, now: Millis) -> Result<Checklist> {
            let mut tx = self.begin_write().await?;
            sqlx::query("UPDATE checklists SET retired_at = coalesce(retired_at, $2), updated_at = $2 WHERE id = $1")
                .bind(id.0)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            let c = Self::checklist_in(&mut tx, id, None)
                .await?
                .ok_or_else(|| missing("id", format!("there is no check list {id}")))?;
            tx.commit().await?;
            Ok(c)
        }

        async fn inspection_plan(&self) -> Result<Vec<PlanRule>> {
            let rows = sqlx::query("SELECT subject, kind, risk, every_days FROM inspection_plan ORDER BY subject, kind, risk")
                .fetch_all(&self.pool)
                .await?;
            rows.iter()
                .map(|r| {
                    Ok(PlanRule {
                        subject: parse_field(SubjectKind::parse(r.try_get("subject")?))?,
                        kind: r.try_get("kind")?,
                        risk: parse_field(RiskLevel::parse(r.try_get("risk")?))?,
                        every_days: u16::try_from(r.try_get::<i64, _>("every_days")?).map_err(corrupt)?,
                    })
                })
                .collect()
        }

        async fn set_inspection_plan(&self, rules: &[PlanRule], calendars: &HashMap<String, Calendar>) -> Result<usize> {
            let mut tx = self.begin_write().await?;
            sqlx::query("DELETE FROM inspection_plan").execute(&mut *tx).await?;
            for r in rules {
                sqlx::query("INSERT INTO inspection_plan (subject, kind, risk, every_days) VALUES ($1, $2, $3, $4)")
                    .bind(r.subject.as_str())
                    .bind(&r.kind)
                    .bind(r.risk.as_str())
                    .bind(i64::from(r.every_days))
                    .execute(&mut *tx)
                    .await?;
            }
            let n = Self::plan_in(&mut tx, calendars, None).await?;
            tx.commit().await?;
            Ok(n)
        }

        async fn plan_inspections(&self, calendars: &HashMap<String, Calendar>) -> Result<usize> {
            let mut tx = self.begin_write().await?;
            let n = Self::plan_in(&mut tx, calendars, None).await?;
            tx.commit().await?;
            Ok(n)
        }

        async fn due_inspections(&self, under: &[RegionCode], until: Millis, limit: u32) -> Result<Vec<Due>> {
            if under.is_empty() {
                return Ok(Vec::new());
            }
            let mut b = Sql::new(format!(
                "SELECT s.*, d.due_at, d.last_at, d.every_days FROM inspection_due d JOIN {SUBJECTS} s \
                 ON s.subject = d.subject AND s.id = d.subject_id WHERE d.due_at <= "
            ));
            b.push_bind(until);
            push_under(&mut b, "d.grid", &under.iter().map(RegionCode::to_string).collect::<Vec<_>>());
            b.push(" ORDER BY d.due_at, d.subject, d.subject_id LIMIT ").push_bind(i64::from(limit));
            Self::query_of(&b)
                .fetch_all(&self.pool)
                .await?
                .iter()
                .map(|r| {
                    Ok(Due {
                        subject: Self::subject_row(r)?,
                        due_at: r.try_get("due_at")?,
                        last_at: r.try_get("last_at")?,
                        every_days: u16::try_from(r.try_get::<i64, _>("every_days")?).map_err(corrupt)?,
                    })
                })
                .collect()
        }

        async fn pending_spot_checks(&self, under: &[RegionCode], limit: u32) -> Result<Vec<(SpotCheck, Subject)>> {
            if under.is_empty() {
                return Ok(Vec::new());
            }
            let mut b = Sql::new(format!(
                "SELECT k.self_inspection, k.subject, k.subject_id, k.grid, k.due_at, k.checked_by, k.contradicted, \
                 s.kind, s.name, s.address, s.lat, s.lon, s.risk, s.created_at, s.open, s.id \
                 FROM spot_checks k JOIN {SUBJECTS} s ON s.subject = k.subject AND s.id = k.subject_id \
                 WHERE k.checked_by IS NULL"
            ));
            push_under(&mut b, "k.grid", &under.iter().map(RegionCode::to_string).collect::<Vec<_>>());
            b.push(" ORDER BY k.due_at, k.self_inspection LIMIT ").push_bind(i64::from(limit));
            Self::query_of(&b)
                .fetch_all(&self.pool)
                .await?
                .iter()
                .map(|r| Ok((Self::spot_row(r)?, Self::subject_row(r)?)))
                .collect()
        }

        async fn last_inspection(&self, subject: SubjectKind, id: i64, kind: InspectionKind) -> Result<Option<Millis>> {
            Ok(sqlx::query_scalar("SELECT max(at) FROM inspections WHERE subject = $1 AND subject_id = $2 AND kind = $3")
                .bind(subject.as_str())
                .bind(id)
                .bind(kind.as_str())
                .fetch_one(&self.pool)
                .await?)
        }

        async fn spot_checks_of(&self, subject: SubjectKind, id: i64) -> Result<Vec<SpotCheck>> {
            let rows = sqlx::query(&format!(
                "SELECT {SPOT} FROM spot_checks WHERE subject = $1 AND subject_id = $2 ORDER BY self_inspection DESC"
            ))
            .bind(subject.as_str())
            .bind(id)
            .fetch_all(&self.pool)
            .await?;
            rows.iter().map(Self::spot_row).collect()
        }

        async fn due_at(&self, subject: SubjectKind, id: i64) -> Result<Option<Millis>> {
            Ok(sqlx::query_scalar("SELECT due_at FROM inspection_due WHERE subject = $1 AND subject_id = $2")
                .bind(subject.as_str())
                .bind(id)
                .fetch_optional(&self.pool)
                .await?)
        }

        async fn inspection_by_key(&self, inspector: PersonId, key: &str) -> Result<Option<Inspection>> {
            let id: Option<i64> = sqlx::query_scalar("SELECT id FROM inspections WHERE inspector = $1 AND client_key = $2")
                .bind(inspector)
                .bind(key)
                .fetch_optional(&self.pool)
                .await?;
            match id {
                Some(id) => self.inspection(InspectionId(id)).await,
                None => Ok(None),
            }
        }

        async fn subject(&self, subject: SubjectKind, id: i64) -> Result<Option<Subject>> {
            let row = sqlx::query(&format!("SELECT s.* FROM {SUBJECTS} s WHERE s.subject = $1 AND s.id = $2"))
                .bind(subject.as_str())
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
            row.map(|r| Self::subject_row(&r)).transpose()
        }

        async fn hazards_of(&self, subject: SubjectKind, id: i64) -> Result<Vec<Hazard>> {
            let rows = sqlx::query(&format!(
                "SELECT {HAZARD} FROM hazards h JOIN cases c ON c.id = h.case_id \
                 WHERE h.subject = $1 AND h.subject_id = $2 ORDER BY h.found_at DESC, h.case_id DESC"
            ))
            .bind(subject.as_str())
            .bind(id)
            .fetch_all(&self.pool)
            .await?;
            rows.iter().map(Self::hazard_row).collect()
        }

        async fn record_inspection(
            &self,
            ins: &NewInspection,
            found: &[Found<'_>],
            rechecked: &[Rechecked<'_>],
            year: i32,
            next_due: Option<Millis>,
        ) -> Result<(Inspection, Vec<Case>)> {
            let mut tx = self.begin_write().await?;
            // Inspections of one subject queue here (PostgreSQL's row lock; SQLite's write
            // transaction holds the database), so two cannot open the same hazard twice.
            let table = match ins.subject {
                SubjectKind::Place => "places",
                SubjectKind::House => "houses",
            };
            sqlx::query(&format!("SELECT id FROM {table} WHERE id = $1{}", D::FOR_UPDATE))
                .bind(ins.subject_id)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or_else(|| missing("subject_id", format!("there is no {} {}", ins.subject.as_str(), ins.subject_id)))?;
            let count = |o: Outcome| ins.results.iter().filter(|r| r.outcome == o).count() as i64;
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO inspections (subject, subject_id, grid, checklist_id, checklist_version, kind, inspector, at, \
                 lat, lon, accuracy_m, distance_m, far, passed, failed, not_applicable, note, client_key) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18) RETURNING id",
            )
            .bind(ins.subject.as_str())
            .bind(ins.subject_id)
            .bind(ins.grid.as_str())
            .bind(ins.checklist_id.0)
            .bind(i64::from(ins.version))
            .bind(ins.kind.as_str())
            .bind(ins.inspector)
            .bind(ins.at)
            .bind(ins.location.map(|l| l.lat))
            .bind(ins.location.map(|l| l.lon))
            .bind(ins.accuracy_m)
            .bind(ins.distance_m)
            .bind(ins.far)
            .bind(count(Outcome::Pass))
            .bind(count(Outcome::Fail))
            .bind(count(Outcome::NotApplicable))
            .bind(ins.note.as_deref())
            .bind(ins.client_key.as_deref())
            .fetch_one(&mut *tx)
            .await?;
            let mut cases = Vec::with_capacity(found.len() + rechecked.len());
            let mut hazard_of: HashMap<&str, CaseId> = HashMap::new();
            let community = Self::community_teams(&mut tx).await?;
            for f in found {
                let open: Option<i64> = sqlx::query_scalar(
                    "SELECT h.case_id FROM hazards h JOIN cases c ON c.id = h.case_id WHERE h.subject = $1 \
                     AND h.subject_id = $2 AND h.checklist_id = $3 AND h.item = $4 \
                     AND c.state NOT IN ('closed', 'rated', 'rejected')",
                )
                .bind(ins.subject.as_str())
                .bind(ins.subject_id)
                .bind(ins.checklist_id.0)
                .bind(f.item)
                .fetch_optional(&mut *tx)
                .await?;
                if let Some(case) = open {
                    return Err(StoreError::Conflicts(FieldError::new(
                        "results",
                        format!("item `{}` has an open hazard (case {case}) already: inspect again to judge it", f.item),
                    )));
                }
                let intake = Intake { decision: f.decision, year, tracking_hash: None, media: f.photos };
                let case = self.insert_new_case(&mut tx, &intake).await?;
                let mut rollup = Rollup::default();
                rollup.add(&case, std::slice::from_ref(&f.decision.event), &community, 1);
                Self::write_rollup(&mut tx, rollup).await?;
                sqlx::query(
                    "INSERT INTO hazards (case_id, subject, subject_id, checklist_id, item, severity, found_by, found_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(case.id)
                .bind(ins.subject.as_str())
                .bind(ins.subject_id)
                .bind(ins.checklist_id.0)
                .bind(f.item)
                .bind(f.severity.as_str())
                .bind(id)
                .bind(ins.at)
                .execute(&mut *tx)
                .await?;
                hazard_of.insert(f.item, case.id);
                cases.push(case);
            }
            for r in rechecked {
                if !self.apply_in(&mut tx, r.decision, r.photos).await? {
                    drop(tx);
                    let case_id = r.decision.case.id;
                    let current = self.case(case_id).await?.ok_or_else(|| corrupt(format!("case {case_id} vanished")))?;
                    return Err(StoreError::Conflict(Box::new(current)));
                }
                hazard_of.insert(r.item, r.decision.case.id);
                cases.push(r.decision.case.clone());
            }
            for chunk in ins.results.chunks(200) {
                let mut b = Sql::new("INSERT INTO inspection_results (inspection_id, item, outcome, note, photos, hazard_case) ");
                b.push_values(chunk, |mut row, r| {
                    row.push_bind(id)
                        .push_bind(r.item.clone())
                        .push_bind(r.outcome.as_str())
                        .push_bind(r.note.clone())
                        .push_bind(serde_json::to_string(&r.photos).unwrap_or_else(|_| "[]".into()))
                        .push_bind(hazard_of.get(r.item.as_str()).copied());
                });
                Self::query_of(&b).execute(&mut *tx).await?;
            }
            match (ins.kind, ins.spot_check) {
                (InspectionKind::SelfInspection, Some((percent, due)))
                    if gridkeeper_domain::inspections::picked_for_spot_check(InspectionId(id), percent) =>
                {
                    sqlx::query(
                        "INSERT INTO spot_checks (self_inspection, subject, subject_id, grid, due_at) VALUES ($1, $2, $3, $4, $5)",
                    )
                    .bind(id)
                    .bind(ins.subject.as_str())
                    .bind(ins.subject_id)
                    .bind(ins.grid.as_str())
                    .bind(due)
                    .execute(&mut *tx)
                    .await?;
                }
                (InspectionKind::SpotCheck, _) => {
                    // The oldest waiting spot check of the subject: compared item by item.
                    let own: Option<i64> = sqlx::query_scalar(
                        "SELECT self_inspection FROM spot_checks WHERE subject = $1 AND subject_id = $2 \
                         AND checked_by IS NULL ORDER BY self_inspection LIMIT 1",
                    )
                    .bind(ins.subject.as_str())
                    .bind(ins.subject_id)
                    .fetch_optional(&mut *tx)
                    .await?;
                    if let Some(own) = own {
                        let theirs = Self::results_in(&mut tx, own).await?;
                        let contradicted = gridkeeper_domain::inspections::contradicts(&theirs, &ins.results);
                        sqlx::query("UPDATE spot_checks SET checked_by = $2, contradicted = $3 WHERE self_inspection = $1")
                            .bind(own)
                            .bind(id)
                            .bind(serde_json::to_string(&contradicted).map_err(corrupt)?)
                            .execute(&mut *tx)
                            .await?;
                    }
                }
                _ => {}
            }
            if let Some(due) = next_due {
                sqlx::query("UPDATE inspection_due SET last_at = $3, due_at = $4 WHERE subject = $1 AND subject_id = $2")
                    .bind(ins.subject.as_str())
                    .bind(ins.subject_id)
                    .bind(ins.at)
                    .bind(due)
                    .execute(&mut *tx)
                    .await?;
            }
            // Campaigns (campaigns.rs): the open campaign tasks of the subject are done by it.
            let failed = ins.results.iter().any(|r| r.outcome == Outcome::Fail);
            Self::count_for_campaigns(&mut tx, id, ins.kind, ins.subject, ins.subject_id, ins.at, failed).await?;
            let stored = Self::inspection_in(&mut tx, InspectionId(id)).await?.ok_or_else(|| corrupt("an inspection vanished"))?;
            tx.commit().await?;
            Ok((stored, cases))
        }

        async fn inspection(&self, id: InspectionId) -> Result<Option<Inspection>> {
            let mut conn = self.pool.acquire().await?;
            Self::inspection_in(&mut conn, id).await
        }

        async fn inspections_by(&self, inspector: PersonId, from: Millis, to: Millis, limit: u32) -> Result<Vec<(Inspection, String)>> {
            let rows = sqlx::query(&format!(
                "SELECT {INSPECTION}, s.name AS subject_name FROM {INSPECTIONS} JOIN {SUBJECTS} s \
                 ON s.subject = i.subject AND s.id = i.subject_id \
                 WHERE i.inspector = $1 AND i.at >= $2 AND i.at <= $3 ORDER BY i.at, i.id LIMIT $4"
            ))
            .bind(inspector)
            .bind(from)
            .bind(to)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
            rows.iter().map(|r| Ok((Self::inspection_row(r)?, r.try_get("subject_name")?))).collect()
        }

        async fn inspections_of(&self, subject: SubjectKind, id: i64, limit: u32) -> Result<Vec<Inspection>> {
            let rows = sqlx::query(&format!(
                "SELECT {INSPECTION} FROM {INSPECTIONS} WHERE i.subject = $1 AND i.subject_id = $2 \
                 ORDER BY i.at DESC, i.id DESC LIMIT $3"
            ))
            .bind(subject.as_str())
            .bind(id)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
            rows.iter().map(Self::inspection_row).collect()
        }
    }
}

const SPOT: &str = "self_inspection, subject, subject_id, grid, due_at, checked_by, contradicted";

generic! {
    impl SqlStore {
        async fn results_in(conn: &mut D::Connection, id: i64) -> Result<Vec<ItemResult>> {
            let rows = sqlx::query("SELECT item, outcome, note, photos FROM inspection_results WHERE inspection_id = $1")
                .bind(id)
                .fetch_all(&mut *conn)
                .await?;
            rows.iter()
                .map(|r| {
                    let photos: String = r.try_get("photos")?;
                    Ok(ItemResult {
                        item: r.try_get("item")?,
                        outcome: parse_field(Outcome::parse(r.try_get("outcome")?))?,
                        note: r.try_get("note")?,
                        photos: serde_json::from_str(&photos).map_err(corrupt)?,
                    })
                })
                .collect()
        }

        fn spot_row(r: &D::Row) -> Result<SpotCheck> {
            let contradicted: Option<String> = r.try_get("contradicted")?;
            Ok(SpotCheck {
                self_inspection: InspectionId(r.try_get("self_inspection")?),
                subject: parse_field(SubjectKind::parse(r.try_get("subject")?))?,
                subject_id: r.try_get("subject_id")?,
                grid: parse_field(RegionCode::parse(r.try_get("grid")?))?,
                due_at: r.try_get("due_at")?,
                checked_by: r.try_get::<Option<i64>, _>("checked_by")?.map(InspectionId),
                contradicted: contradicted.map(|c| serde_json::from_str(&c)).transpose().map_err(corrupt)?.unwrap_or_default(),
            })
        }

        async fn inspection_in(conn: &mut D::Connection, id: InspectionId) -> Result<Option<Inspection>> {
            let Some(row) = sqlx::query(&format!("SELECT {INSPECTION} FROM {INSPECTIONS} WHERE i.id = $1"))
                .bind(id.0)
                .fetch_optional(&mut *conn)
                .await?
            else {
                return Ok(None);
            };
            let mut ins = Self::inspection_row(&row)?;
            let items = Self::checklist_in(&mut *conn, ins.checklist_id, Some(ins.version))
                .await?
                .ok_or_else(|| corrupt(format!("inspection {id} answers a check list version that is gone")))?
                .items;
            let rows = sqlx::query(
                "SELECT item, outcome, note, photos, hazard_case FROM inspection_results WHERE inspection_id = $1",
            )
            .bind(id.0)
            .fetch_all(&mut *conn)
            .await?;
            let mut results = rows
                .iter()
                .map(|r| {
                    let photos: String = r.try_get("photos")?;
                    Ok(StoredResult {
                        result: ItemResult {
                            item: r.try_get("item")?,
                            outcome: parse_field(Outcome::parse(r.try_get("outcome")?))?,
                            note: r.try_get("note")?,
                            photos: serde_json::from_str(&photos).map_err(corrupt)?,
                        },
                        hazard_case: r.try_get("hazard_case")?,
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            let order: HashMap<&str, usize> = items.iter().enumerate().map(|(i, it)| (it.code.as_str(), i)).collect();
            results.sort_by_key(|r| order.get(r.result.item.as_str()).copied().unwrap_or(usize::MAX));
            ins.results = results;
            Ok(Some(ins))
        }
    }
}

#[cfg(test)]
mod tests {
    use gridkeeper_domain::inspections::*;
    use gridkeeper_domain::time::DAY;
    use gridkeeper_domain::*;

    use gridkeeper_domain::notices::NoticeKind;

    use super::{Found, NewInspection, Rechecked};
    use crate::prelude::*;
    use crate::registry::fixtures::{code, place, town, GRID, GRID2};
    use crate::testing::on_both;
    use crate::NewPerson;
    use crate::StoreError;

    fn item(code: &str, photo: bool) -> ChecklistItem {
        ChecklistItem {
            code: code.into(),
            text: format!("检查 {code}"),
            text_en: String::new(),
            severity: Severity::Major,
            photo_on_fail: photo,
            rectify_days: 5,
            category: "H0101".into(),
        }
    }

    fn hazard_category(id: i64, code: &str, parent: Option<i64>) -> Category {
        let mut c = crate::contract::reference().categories[0].clone();
        (c.id, c.code, c.parent_id, c.kind, c.public) = (id, code.into(), parent, CategoryKind::Hazard, false);
        c
    }

    fn result(item: &str, outcome: Outcome, note: Option<&str>) -> ItemResult {
        ItemResult { item: item.into(), outcome, note: note.map(str::to_string), photos: vec![] }
    }

    on_both! {
        async fn a_hazard_lives_from_its_inspection_to_its_reinspection(s) {
            let (member, _) = town(&s).await;
            let mut data = crate::contract::reference();
            data.regions.clear();
            data.categories.extend([hazard_category(300, "H01", None), hazard_category(301, "H0101", Some(300))]);
            s.load_reference(&data).await.unwrap();
            let shop = s.create_place(&place("shop", "乌镇小卖部", GRID), None, 1).await.unwrap();

            // A check list, and a second version of it; the first stays as it was.
            let draft = ChecklistDraft {
                name: "三小场所消防安全".into(),
                name_en: "Fire safety of small places".into(),
                subject: SubjectKind::Place,
                kind: "shop".into(),
                items: vec![item("F01", true), item("F02", false)],
            };
            let v1 = s.save_checklist(None, &draft, Some(member), 10).await.unwrap();
            assert_eq!((v1.version, v1.current, v1.items.len()), (1, 1, 2));
            match s.save_checklist(None, &draft, None, 11).await {
                Err(StoreError::Conflicts(e)) => assert_eq!(e.field, "kind"),
                other => panic!("{other:?}"),
            }
            let mut d2 = draft.clone();
            d2.items.push(item("F03", false));
            let v2 = s.save_checklist(Some(v1.id), &d2, Some(member), 20).await.unwrap();
            assert_eq!((v2.id, v2.version, v2.items.len()), (v1.id, 2, 3));
            assert_eq!(s.checklist(v1.id, Some(1)).await.unwrap().unwrap().items, draft.items);
            assert_eq!(s.checklist_for(SubjectKind::Place, "shop").await.unwrap().unwrap().version, 2);
            let mut house = d2.clone();
            house.subject = SubjectKind::House;
            match s.save_checklist(Some(v1.id), &house, None, 21).await {
                Err(StoreError::Invalid(e)) => assert_eq!(e.field, "kind"),
                other => panic!("{other:?}"),
            }

            // The plan: the shop is due within 30 days of its registration.
            let rule = PlanRule { subject: SubjectKind::Place, kind: "shop".into(), risk: shop.data.risk, every_days: 90 };
            let wall = Calendar::wall_clock();
            assert_eq!(s.set_inspection_plan(std::slice::from_ref(&rule), &Default::default()).await.unwrap(), 1);
            assert_eq!(s.inspection_plan().await.unwrap(), [rule]);
            let due = s.due_inspections(&[code(GRID)], i64::MAX, 10).await.unwrap();
            assert_eq!((due.len(), due[0].subject.id, due[0].due_at), (1, shop.id.0, next_due(&wall, None, 1, 90)));
            assert!(s.due_inspections(&[code(GRID2)], i64::MAX, 10).await.unwrap().is_empty());
            assert!(s.due_inspections(&[code(GRID)], due[0].due_at - 1, 10).await.unwrap().is_empty());

            // An inspection fails F01: a hazard case dispatched with the item's deadline.
            let actor = Actor::person(member, vec![Grant::new(Role::GridMember, Scope::parse(&format!("region:{GRID}")).unwrap()).unwrap()]);
            let at = 1_000;
            let found = find_hazard(&actor, FoundHazard {
                district: "330483".into(),
                grid: code(GRID),
                location: shop.data.location,
                address: None,
                description: "安全出口堵塞".into(),
                category: data.categories.last().unwrap().clone(),
                department: data.departments[0].clone(),
                deadline: at + 5 * DAY,
                photos: vec![],
                item: "F01".into(),
                subject: serde_json::json!({ "place": shop.id }),
                source: Source::GridMember,
            }, at).unwrap();
            let inspection = |at, results| NewInspection {
                subject: SubjectKind::Place,
                subject_id: shop.id.0,
                grid: code(GRID),
                checklist_id: v2.id,
                version: 2,
                kind: InspectionKind::Routine,
                inspector: member,
                at,
                location: Some(shop.data.location),
                accuracy_m: Some(8.0),
                distance_m: Some(0.0),
                far: false,
                note: None,
                client_key: None,
                spot_check: None,
                results,
            };
            let first = inspection(at, vec![
                result("F01", Outcome::Fail, Some("杂物堆放")),
                result("F02", Outcome::Pass, None),
                result("F03", Outcome::NotApplicable, None),
            ]);
            let opened = [Found { item: "F01", severity: Severity::Major, decision: &found, photos: &[] }];
            let (stored, cases) = s.record_inspection(&first, &opened, &[], 2026, Some(at + 90 * DAY)).await.unwrap();
            let hazard = cases[0].clone();
            assert_eq!((hazard.state, hazard.handle_by, hazard.reference.as_str()), (CaseState::Dispatched, Some(at + 5 * DAY), "330483-2026-000001"));
            assert_eq!((stored.passed, stored.failed, stored.not_applicable), (1, 1, 1));
            assert_eq!(stored.results.iter().map(|r| r.hazard_case).collect::<Vec<_>>(), [Some(hazard.id), None, None]);
            assert_eq!(s.inspection(stored.id).await.unwrap().unwrap(), stored);
            let file = s.hazards_of(SubjectKind::Place, shop.id.0).await.unwrap();
            assert_eq!((file.len(), file[0].case_id, file[0].found_by, file[0].item.as_str()), (1, hazard.id, stored.id, "F01"));
            let due = s.due_inspections(&[code(GRID)], i64::MAX, 10).await.unwrap();
            assert_eq!((due[0].last_at, due[0].due_at), (Some(at), at + 90 * DAY));

            // F01 cannot open a second hazard while the first is open; nothing is written.
            match s.record_inspection(&inspection(at + 1, first.results.clone()), &opened, &[], 2026, None).await {
                Err(StoreError::Conflicts(e)) => assert_eq!(e.field, "results"),
                other => panic!("{other:?}"),
            }
            assert_eq!(s.inspections_of(SubjectKind::Place, shop.id.0, 10).await.unwrap().len(), 1);

            // The re-inspection finds it put right: the hazard closes.
            let later = at + 2 * DAY;
            let pass = decide(&hazard, &actor, Command::Reinspect { passed: true, note: None, evidence: vec![] }, later).unwrap();
            let second = inspection(later, vec![
                result("F01", Outcome::Pass, None),
                result("F02", Outcome::Pass, None),
                result("F03", Outcome::Pass, None),
            ]);
            let judged = [Rechecked { item: "F01", decision: &pass, photos: &[] }];
            let (again, cases) = s.record_inspection(&second, &[], &judged, 2026, Some(later + 90 * DAY)).await.unwrap();
            assert_eq!((cases[0].state, again.results[0].hazard_case), (CaseState::Closed, Some(hazard.id)));
            let file = s.hazards_of(SubjectKind::Place, shop.id.0).await.unwrap();
            assert_eq!((file[0].state, file[0].closed_at), (CaseState::Closed, Some(later)));
            let events = s.events(hazard.id).await.unwrap();
            assert_eq!(events.iter().map(|e| e.event.action).collect::<Vec<_>>(), [Action::FindHazard, Action::Reinspect]);
            // The same decision again is stale: a conflict, and nothing more is written.
            assert!(matches!(s.record_inspection(&second, &[], &judged, 2026, None).await, Err(StoreError::Conflict(_))));
            let history = s.inspections_of(SubjectKind::Place, shop.id.0, 10).await.unwrap();
            assert_eq!(history.iter().map(|i| i.id).collect::<Vec<_>>(), [again.id, stored.id]);
            // The measures count the hazard as a report and the re-inspection as a verification.
            let q = crate::MeasureQuery { from: 0, to: 400 * DAY, now: later, ..Default::default() };
            let counts = s.measure_counts(&q).await.unwrap();
            assert_eq!((counts.reports, counts.verifications, counts.cohort_closed_on_time), (1, 1, 1));
            let scanned = s.measure_counts_from_events(&q, crate::GroupBy::Nothing).await.unwrap().remove("").unwrap();
            assert_eq!(scanned, counts);
            // A retired check list is out of use; its versions stay.
            let retired = s.retire_checklist(v1.id, later).await.unwrap();
            assert!(retired.retired);
            assert!(s.checklist_for(SubjectKind::Place, "shop").await.unwrap().is_none());
            assert_eq!(s.checklist(v1.id, Some(2)).await.unwrap().unwrap().items.len(), 3);
        }

        async fn an_overdue_inspection_is_told_to_its_grid_members_then_its_grid_leaders_once(s) {
            town(&s).await;
            let person = |login: &str, role: Role, region: &str| NewPerson {
                login: login.into(),
                name: login.into(),
                phone: None,
                id_number: None,
                password_hash: None,
                grants: vec![Grant::new(role, Scope::parse(&format!("region:{region}")).unwrap()).unwrap()],
            };
            let member = s.create_person(&person("m1", Role::GridMember, GRID), 1).await.unwrap();
            let leader = s.create_person(&person("l1", Role::GridLeader, "330483101001"), 1).await.unwrap();
            let elsewhere = s.create_person(&person("m2", Role::GridMember, GRID2), 1).await.unwrap();
            let shop = s.create_place(&place("shop", "乌镇小卖部", GRID), None, 1).await.unwrap();
            let rule = PlanRule { subject: SubjectKind::Place, kind: "shop".into(), risk: shop.data.risk, every_days: 90 };
            s.set_inspection_plan(&[rule], &Default::default()).await.unwrap();
            let wall = Calendar::wall_clock();
            let due = next_due(&wall, None, 1, 90);
            let escalate = escalate_overdue_at(&wall, due, 3);
            let tell = |now| {
                let s = &s;
                async move {
                    let ctx = crate::NoticeContext { now, base_url: "https://grid.example", utc_offset_hours: 8 };
                    s.tell_overdue_inspections(&ctx, 3, &Default::default()).await.unwrap()
                }
            };
            let inbox = |p| {
                let s = &s;
                async move { s.inbox(p, None, 10).await.unwrap() }
            };

            // Not yet due: nobody. Past due: its grid member (the inbox; no phone), once.
            assert_eq!(tell(due).await, 0);
            assert_eq!(tell(due + 1).await, 1);
            assert_eq!(tell(due + 2).await, 0, "once per due and step");
            let told = inbox(member).await;
            assert_eq!((told.len(), told[0].kind, told[0].case_id, told[0].article_id), (1, NoticeKind::InspectionOverdue, None, None));
            assert_eq!(told[0].link, format!("https://grid.example/safety/place/{}", shop.id.0));
            assert!(told[0].body.contains("乌镇小卖部") && told[0].body.contains("已逾期0天"), "{}", told[0].body);
            assert!(inbox(leader).await.is_empty() && inbox(elsewhere).await.is_empty());

            // Overdue by more than three working days: the community's grid leader, once.
            assert_eq!(tell(escalate).await, 0);
            assert_eq!(tell(escalate + 1).await, 1);
            assert_eq!(tell(escalate + DAY).await, 0);
            let told = inbox(leader).await;
            assert_eq!(told.len(), 1);
            assert!(told[0].body.contains("已提醒网格员仍未检查"), "{}", told[0].body);
            assert_eq!(inbox(member).await.len(), 1);
            assert!(inbox(elsewhere).await.is_empty());
        }
    }
}
