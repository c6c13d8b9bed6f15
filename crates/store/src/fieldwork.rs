//! The facts the measures of field work are counted from (docs/MEASURES.md, "Field work"): the
//! planned subjects of a region with their inspections, the hazards, the re-inspections and the
//! spot checks. Read only; the counting is `gridkeeper_domain::fieldwork::tally`.
//!
//! Cost: the subjects come from `inspection_due` by its `(grid, due_at)` index (a range of grid
//! codes); their inspections by `inspections_subject` `(subject, subject_id, at)`, each subject
//! from `every_days` + 40 days before the period (what a due date in the period can follow);
//! re-inspections, spot checks and hazards from `inspections_grid` `(grid, at)` over the period
//! (hazards: found in the period, or found up to 400 days before it with their deadline in it). A district's year is read in one pass of each index, no table scan.

use async_trait::async_trait;
use gridkeeper_domain::fieldwork::{CheckFact, FieldFacts, HazardFact, InspectionFact, SubjectFacts};
use gridkeeper_domain::inspections::InspectionKind;
use gridkeeper_domain::{Millis, RegionCode};
use sqlx::Row;

use crate::dialect::generic;
use crate::sql::Sql;
use crate::{corrupt, parse_field, Result};

/// How far before the period a hazard may have been found and still have its deadline in it.
const HAZARD_REACH: Millis = 400 * 86_400_000;

#[async_trait]
pub trait FieldWorkStore {
    /// The facts of the grids under `region` that the measures of `[from, to)` need.
    async fn field_work_facts(&self, region: &RegionCode, from: Millis, to: Millis) -> Result<FieldFacts>;
}

fn under(b: &mut Sql, column: &str, region: &RegionCode) {
    b.push(format!("{column} >= ")).push_bind(region.to_string());
    b.push(format!(" AND {column} < ")).push_bind(format!("{region}:"));
}

generic! {
    #[async_trait]
    impl FieldWorkStore for SqlStore {
        async fn field_work_facts(&self, region: &RegionCode, from: Millis, to: Millis) -> Result<FieldFacts> {
            let mut facts = FieldFacts::default();
            // The planned subjects, with their registration.
            let mut b = Sql::new(
                "SELECT d.subject, d.subject_id, d.grid, d.every_days, \
                 COALESCE(p.created_at, h.created_at, 0) AS registered_at FROM inspection_due d \
                 LEFT JOIN places p ON d.subject = 'place' AND p.id = d.subject_id \
                 LEFT JOIN houses h ON d.subject = 'house' AND h.id = d.subject_id WHERE ",
            );
            under(&mut b, "d.grid", region);
            b.push(" ORDER BY d.subject, d.subject_id");
            let mut index = std::collections::HashMap::new();
            for r in Self::query_of(&b).fetch_all(&self.pool).await? {
                let subject: String = r.try_get("subject")?;
                let id: i64 = r.try_get("subject_id")?;
                index.insert((subject, id), facts.subjects.len());
                facts.subjects.push(SubjectFacts {
                    grid: parse_field(RegionCode::parse(r.try_get("grid")?))?,
                    every_days: u16::try_from(r.try_get::<i64, _>("every_days")?).map_err(corrupt)?,
                    registered_at: r.try_get("registered_at")?,
                    inspections: Vec::new(),
                });
            }
            // Their inspections that a due date of the period can follow or be met by.
            let mut b = Sql::new(
                "SELECT i.subject, i.subject_id, i.at, i.kind, i.inspector FROM inspection_due d \
                 JOIN inspections i ON i.subject = d.subject AND i.subject_id = d.subject_id WHERE ",
            );
            under(&mut b, "d.grid", region);
            b.push(" AND i.at < ").push_bind(to);
            b.push(" AND i.at >= ").push_bind(from).push(" - (CAST(d.every_days AS BIGINT) + 40) * 86400000");
            b.push(" ORDER BY i.subject, i.subject_id, i.at, i.id");
            for r in Self::query_of(&b).fetch_all(&self.pool).await? {
                let key = (r.try_get::<String, _>("subject")?, r.try_get::<i64, _>("subject_id")?);
                if let Some(&at) = index.get(&key) {
                    facts.subjects[at].inspections.push(InspectionFact {
                        at: r.try_get("at")?,
                        kind: parse_field(InspectionKind::parse(r.try_get("kind")?))?,
                        inspector: r.try_get("inspector")?,
                    });
                }
            }
            // Hazards found in the period or with their deadline in it.
            let mut b = Sql::new(
                "SELECT i.grid, i.inspector, h.found_at, c.handle_by, c.closed_at FROM inspections i \
                 JOIN hazards h ON h.found_by = i.id JOIN cases c ON c.id = h.case_id WHERE ",
            );
            under(&mut b, "i.grid", region);
            b.push(" AND i.at >= ").push_bind(from - HAZARD_REACH).push(" AND i.at < ").push_bind(to);
            b.push(" AND (h.found_at >= ").push_bind(from);
            b.push(" OR (c.handle_by >= ").push_bind(from).push(" AND c.handle_by < ").push_bind(to).push("))");
            b.push(" ORDER BY h.case_id");
            for r in Self::query_of(&b).fetch_all(&self.pool).await? {
                facts.hazards.push(HazardFact {
                    grid: parse_field(RegionCode::parse(r.try_get("grid")?))?,
                    finder: r.try_get("inspector")?,
                    found_at: r.try_get("found_at")?,
                    handle_by: r.try_get("handle_by")?,
                    closed_at: r.try_get("closed_at")?,
                });
            }
            // Re-inspections: answers of the period judging a hazard another inspection found.
            let mut b = Sql::new(
                "SELECT i.grid, i.inspector, i.at, r.outcome FROM inspections i \
                 JOIN inspection_results r ON r.inspection_id = i.id \
                 JOIN hazards h ON h.case_id = r.hazard_case AND h.found_by <> i.id WHERE ",
            );
            under(&mut b, "i.grid", region);
            b.push(" AND i.at >= ").push_bind(from).push(" AND i.at < ").push_bind(to);
            b.push(" ORDER BY i.id, r.item");
            for r in Self::query_of(&b).fetch_all(&self.pool).await? {
                facts.reinspections.push(CheckFact {
                    grid: parse_field(RegionCode::parse(r.try_get("grid")?))?,
                    inspector: r.try_get("inspector")?,
                    at: r.try_get("at")?,
                    ok: r.try_get::<String, _>("outcome")? == "pass",
                });
            }
            // Spot checks, each with whether it fails an item the latest self-inspection of the
            // subject before it passed.
            let mut b = Sql::new(
                "SELECT i.grid, i.inspector, i.at, EXISTS (SELECT 1 FROM inspection_results f \
                 JOIN inspection_results p ON p.item = f.item AND p.outcome = 'pass' \
                 WHERE f.inspection_id = i.id AND f.outcome = 'fail' AND p.inspection_id = \
                 (SELECT s.id FROM inspections s WHERE s.subject = i.subject AND s.subject_id = i.subject_id \
                 AND s.kind = 'self' AND s.at <= i.at ORDER BY s.at DESC, s.id DESC LIMIT 1)) AS contradicts \
                 FROM inspections i WHERE i.kind = 'spot_check' AND ",
            );
            under(&mut b, "i.grid", region);
            b.push(" AND i.at >= ").push_bind(from).push(" AND i.at < ").push_bind(to);
            b.push(" ORDER BY i.id");
            for r in Self::query_of(&b).fetch_all(&self.pool).await? {
                facts.spot_checks.push(CheckFact {
                    grid: parse_field(RegionCode::parse(r.try_get("grid")?))?,
                    inspector: r.try_get("inspector")?,
                    at: r.try_get("at")?,
                    ok: r.try_get("contradicts")?,
                });
            }
            Ok(facts)
        }
    }
}

#[cfg(test)]
mod tests {
    use gridkeeper_domain::fieldwork::{tally, FieldCounts};
    use gridkeeper_domain::inspections::*;
    use gridkeeper_domain::time::DAY;
    use gridkeeper_domain::*;

    use crate::inspections::{Found, NewInspection, Rechecked};
    use crate::prelude::*;
    use crate::registry::fixtures::{code, place, town, GRID, GRID2};
    use crate::testing::on_both;

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

    fn result(item: &str, outcome: Outcome) -> ItemResult {
        let note = (outcome == Outcome::Fail).then(|| "堵塞".to_string());
        ItemResult { item: item.into(), outcome, note, photos: vec![] }
    }

    on_both! {
        async fn fieldwork_figures_equal_a_hand_count(s) {
            let (member, _) = town(&s).await;
            let mut data = crate::contract::reference();
            data.regions.clear();
            data.categories.extend([hazard_category(300, "H01", None), hazard_category(301, "H0101", Some(300))]);
            s.load_reference(&data).await.unwrap();
            let shop = s.create_place(&place("shop", "乌镇小卖部", GRID), None, 1).await.unwrap();
            let draft = ChecklistDraft {
                name: "三小场所消防安全".into(),
                name_en: String::new(),
                subject: SubjectKind::Place,
                kind: "shop".into(),
                items: vec![item("F01"), item("F02")],
            };
            let list = s.save_checklist(None, &draft, Some(member), 1).await.unwrap();
            let rule = PlanRule { subject: SubjectKind::Place, kind: "shop".into(), risk: shop.data.risk, every_days: 10 };
            s.set_inspection_plan(std::slice::from_ref(&rule), &Default::default()).await.unwrap();
            let actor = Actor::person(member, vec![Grant::new(Role::GridMember, Scope::parse(&format!("region:{GRID}")).unwrap()).unwrap()]);
            let inspection = |at, kind, results| NewInspection {
                subject: SubjectKind::Place,
                subject_id: shop.id.0,
                grid: code(GRID),
                checklist_id: list.id,
                version: 1,
                kind,
                inspector: member,
                at,
                location: None,
                accuracy_m: None,
                distance_m: None,
                far: false,
                note: None,
                client_key: None,
                spot_check: None,
                results,
            };
            // Day 1: F01 fails, a hazard with five days to put it right.
            let at = DAY;
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
            let first = inspection(at, InspectionKind::Routine, vec![result("F01", Outcome::Fail), result("F02", Outcome::Pass)]);
            let opened = [Found { item: "F01", severity: Severity::Major, decision: &found, photos: &[] }];
            let (_, cases) = s.record_inspection(&first, &opened, &[], 2026, None).await.unwrap();
            // Day 4: the re-inspection passes it; the hazard closes on time.
            let pass = decide(&cases[0], &actor, Command::Reinspect { passed: true, note: None, evidence: vec![] }, 4 * DAY).unwrap();
            let second = inspection(4 * DAY, InspectionKind::Routine, vec![result("F01", Outcome::Pass), result("F02", Outcome::Pass)]);
            s.record_inspection(&second, &[], &[Rechecked { item: "F01", decision: &pass, photos: &[] }], 2026, None).await.unwrap();
            // Day 20: the unit passes everything itself; day 22 a spot check fails F01.
            let own = inspection(20 * DAY, InspectionKind::SelfInspection, vec![result("F01", Outcome::Pass), result("F02", Outcome::Pass)]);
            s.record_inspection(&own, &[], &[], 2026, None).await.unwrap();
            let spot = inspection(22 * DAY, InspectionKind::SpotCheck, vec![result("F01", Outcome::Fail), result("F02", Outcome::Pass)]);
            s.record_inspection(&spot, &[], &[], 2026, None).await.unwrap();

            let facts = s.field_work_facts(&code(GRID), 0, 40 * DAY).await.unwrap();
            assert_eq!(facts.subjects.len(), 1);
            assert_eq!(facts.subjects[0].inspections.iter().map(|i| i.at / DAY).collect::<Vec<_>>(), [1, 4, 20, 22]);
            assert_eq!((facts.hazards.len(), facts.hazards[0].closed_at, facts.hazards[0].handle_by), (1, Some(4 * DAY), Some(6 * DAY)));
            assert_eq!(facts.reinspections.iter().map(|r| r.ok).collect::<Vec<_>>(), [true]);
            assert_eq!(facts.spot_checks.iter().map(|r| r.ok).collect::<Vec<_>>(), [true]);
            assert_eq!(s.field_work_facts(&code(GRID2), 0, 40 * DAY).await.unwrap(), Default::default());
            // An earlier period: the subject is read, the later inspections are not.
            let early = s.field_work_facts(&code(GRID), 0, 10 * DAY).await.unwrap();
            assert_eq!(early.subjects[0].inspections.len(), 2);
            assert!(early.spot_checks.is_empty());

            // By hand, every 10 days: due after registration (met on day 1), after day 1 (met on
            // day 4), after day 4 (≈ day 14: missed), after the self-inspection of day 20 (met on
            // day 22), after day 22 (≈ day 32: missed). The unit's own: after day 20, missed.
            let wall = Calendar::wall_clock();
            let by = tally(&facts, 10, |_| &wall, 0, 40 * DAY, 40 * DAY, |_, p, _| vec![p]);
            let all = by.values().fold(FieldCounts::default(), |mut a, c| {
                a += *c;
                a
            });
            let expected = FieldCounts {
                due: 5,
                due_met: 3,
                hazards_found: 1,
                hazards_due: 1,
                hazards_on_time: 1,
                reinspections: 1,
                reinspections_passed: 1,
                self_due: 1,
                self_due_met: 0,
                spot_checks: 1,
                spot_checks_contradicting: 1,
                patrol_months: 0,
                patrol_months_met: 0,
            };
            assert_eq!(all, expected);
            assert_eq!((by[&Some(member)].due, by[&Some(member)].due_met), (3, 1));
        }
    }
}
