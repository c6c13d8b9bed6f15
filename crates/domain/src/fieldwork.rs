//! Measures of field work (基层巡检, issue 16): inspection coverage on time, hazards found and
//! rectified on time, re-inspection pass rate, self-inspection compliance, spot checks that
//! contradict a self-inspection, patrol quota met. Formulas over counts, and the due dates of the
//! plan that the counts are made of (docs/MEASURES.md). No I/O.

use std::collections::BTreeMap;
use std::ops::AddAssign;

use serde::{Deserialize, Serialize};

use crate::inspections::InspectionKind;
use crate::{Calendar, Millis, PersonId, RegionCode};

/// What a scope's field work adds up to in a period.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldCounts {
    /// Due dates of the plan falling in the period (and passed, or already met).
    pub due: u64,
    /// Of those, met by an inspection of the subject on or before the due date.
    pub due_met: u64,
    /// Hazards found in the period.
    pub hazards_found: u64,
    /// Hazards whose rectification deadline fell in the period (and passed, or already closed).
    pub hazards_due: u64,
    /// Of those, closed no later than their deadline.
    pub hazards_on_time: u64,
    /// Re-inspections in the period: answers judging an open hazard.
    pub reinspections: u64,
    /// Of those, passed (the hazard put right).
    pub reinspections_passed: u64,
    /// Social units' self-inspection due dates in the period.
    pub self_due: u64,
    /// Of those, met by a self-inspection on or before the due date.
    pub self_due_met: u64,
    /// Spot checks in the period.
    pub spot_checks: u64,
    /// Of those, failing an item the unit's latest self-inspection before it passed.
    pub spot_checks_contradicting: u64,
    /// Grid members' months of the period (a member counts once a month).
    pub patrol_months: u64,
    /// Of those, months in which the member met both the hours and the visits of their quota.
    pub patrol_months_met: u64,
}

impl AddAssign for FieldCounts {
    fn add_assign(&mut self, o: Self) {
        self.due += o.due;
        self.due_met += o.due_met;
        self.hazards_found += o.hazards_found;
        self.hazards_due += o.hazards_due;
        self.hazards_on_time += o.hazards_on_time;
        self.reinspections += o.reinspections;
        self.reinspections_passed += o.reinspections_passed;
        self.self_due += o.self_due;
        self.self_due_met += o.self_due_met;
        self.spot_checks += o.spot_checks;
        self.spot_checks_contradicting += o.spot_checks_contradicting;
        self.patrol_months += o.patrol_months;
        self.patrol_months_met += o.patrol_months_met;
    }
}

/// The rates, each from 0 to 1, `None` when its denominator is zero.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct FieldMeasures {
    /// Inspection coverage on time: `due_met ÷ due`.
    pub coverage_on_time: Option<f64>,
    /// `hazards_on_time ÷ hazards_due`.
    pub hazards_rectified_on_time: Option<f64>,
    /// `reinspections_passed ÷ reinspections`.
    pub reinspection_pass_rate: Option<f64>,
    /// `self_due_met ÷ self_due`.
    pub self_inspection_compliance: Option<f64>,
    /// `spot_checks_contradicting ÷ spot_checks`.
    pub contradiction_rate: Option<f64>,
    /// `patrol_months_met ÷ patrol_months`.
    pub patrol_quota_met: Option<f64>,
}

fn ratio(n: u64, d: u64) -> Option<f64> {
    (d > 0).then(|| n as f64 / d as f64)
}

impl FieldMeasures {
    pub fn from_counts(c: &FieldCounts) -> Self {
        FieldMeasures {
            coverage_on_time: ratio(c.due_met, c.due),
            hazards_rectified_on_time: ratio(c.hazards_on_time, c.hazards_due),
            reinspection_pass_rate: ratio(c.reinspections_passed, c.reinspections),
            self_inspection_compliance: ratio(c.self_due_met, c.self_due),
            contradiction_rate: ratio(c.spot_checks_contradicting, c.spot_checks),
            patrol_quota_met: ratio(c.patrol_months_met, c.patrol_months),
        }
    }
}

/// One due date of a subject's plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DueDate {
    pub at: Millis,
    /// Met by an inspection on or before `at` (and after the inspection it follows).
    pub met: bool,
    /// The index (in the inspections given) of the inspection this due date follows; `None` for
    /// the first due date after registration.
    pub after: Option<usize>,
}

/// The due dates of one subject that count in the period `[from, to)` at `now`: the plan makes
/// a subject due [`crate::inspections::next_due`] after each inspection (`every_days` later, at
/// the end of a working day) and, with `registered` given, first within
/// [`crate::inspections::FIRST_WITHIN_DAYS`] of its registration. A due date counts when it
/// falls in the period and has passed at `now` or is met already; it is met when the next
/// inspection came no later than it. `inspections`: the subject's inspection times, ascending.
pub fn due_dates(
    cal: &Calendar,
    registered: Option<Millis>,
    every_days: u16,
    inspections: &[Millis],
    from: Millis,
    to: Millis,
    now: Millis,
) -> Vec<DueDate> {
    let mut out = Vec::new();
    let mut judge = |at: Millis, after: Option<usize>, next: Option<Millis>| {
        let met = next.is_some_and(|n| n <= at);
        if at >= from && at < to && (met || at <= now) {
            out.push(DueDate { at, met, after });
        }
    };
    if let Some(reg) = registered {
        let first = crate::inspections::next_due(cal, None, reg, every_days);
        judge(first, None, inspections.iter().copied().find(|t| *t >= reg));
    }
    for (i, t) in inspections.iter().enumerate() {
        let due = crate::inspections::next_due(cal, Some(*t), 0, every_days);
        judge(due, Some(i), inspections.get(i + 1).copied());
    }
    out
}

/// Whether a hazard counts in the period, and whether it was rectified on time: its deadline
/// falls in `[from, to)` and has passed at `now` or the hazard is closed already; on time when
/// closed no later than the deadline.
pub fn hazard_due(
    handle_by: Option<Millis>,
    closed_at: Option<Millis>,
    from: Millis,
    to: Millis,
    now: Millis,
) -> Option<bool> {
    let by = handle_by?;
    let on_time = closed_at.is_some_and(|c| c <= by);
    (by >= from && by < to && (on_time || by <= now)).then_some(on_time)
}

/// One inspection of a subject, as the measures need it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InspectionFact {
    pub at: Millis,
    pub kind: InspectionKind,
    pub inspector: PersonId,
}

/// A planned subject (a place or house with a rule of the plan) and its inspections, ascending.
#[derive(Debug, Clone, PartialEq)]
pub struct SubjectFacts {
    /// The subject's grid now.
    pub grid: RegionCode,
    pub every_days: u16,
    pub registered_at: Millis,
    pub inspections: Vec<InspectionFact>,
}

/// A hazard: the grid and finder of the inspection that found it, its deadline and closing.
#[derive(Debug, Clone, PartialEq)]
pub struct HazardFact {
    pub grid: RegionCode,
    pub finder: PersonId,
    pub found_at: Millis,
    pub handle_by: Option<Millis>,
    pub closed_at: Option<Millis>,
}

/// A re-inspection's answer (`ok`: passed) or a spot check (`ok`: it contradicts the unit).
#[derive(Debug, Clone, PartialEq)]
pub struct CheckFact {
    pub grid: RegionCode,
    pub inspector: PersonId,
    pub at: Millis,
    pub ok: bool,
}

/// What the store reads for a region and period (docs/MEASURES.md).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FieldFacts {
    pub subjects: Vec<SubjectFacts>,
    pub hazards: Vec<HazardFact>,
    pub reinspections: Vec<CheckFact>,
    pub spot_checks: Vec<CheckFact>,
}

/// The counts of `[from, to)` at `now` (all but the patrols'), added to the keys `keys` gives
/// for each fact's grid, person (none for a due date after registration or after a unit's
/// self-inspection) and time. Plan due dates follow every inspection of the subject, whatever
/// its kind; self-inspection due dates follow the unit's self-inspections only, every
/// `self_every_days` (`server.inspections.self_every_days`).
pub fn tally<'c, K: Ord + Clone>(
    facts: &FieldFacts,
    self_every_days: u16,
    calendar: impl Fn(&RegionCode) -> &'c Calendar,
    from: Millis,
    to: Millis,
    now: Millis,
    keys: impl Fn(&RegionCode, Option<PersonId>, Millis) -> Vec<K>,
) -> BTreeMap<K, FieldCounts> {
    let mut out: BTreeMap<K, FieldCounts> = BTreeMap::new();
    let mut add = |grid: &RegionCode, person: Option<PersonId>, at: Millis, c: FieldCounts| {
        for k in keys(grid, person, at) {
            *out.entry(k).or_default() += c;
        }
    };
    for s in &facts.subjects {
        let cal = calendar(&s.grid);
        let times: Vec<Millis> = s.inspections.iter().map(|i| i.at).collect();
        for d in due_dates(cal, Some(s.registered_at), s.every_days, &times, from, to, now) {
            let person = d.after.map(|i| s.inspections[i]).filter(|i| i.kind != InspectionKind::SelfInspection);
            let c = FieldCounts { due: 1, due_met: u64::from(d.met), ..Default::default() };
            add(&s.grid, person.map(|i| i.inspector), d.at, c);
        }
        let own: Vec<Millis> =
            s.inspections.iter().filter(|i| i.kind == InspectionKind::SelfInspection).map(|i| i.at).collect();
        for d in due_dates(cal, None, self_every_days, &own, from, to, now) {
            add(&s.grid, None, d.at, FieldCounts { self_due: 1, self_due_met: u64::from(d.met), ..Default::default() });
        }
    }
    for h in &facts.hazards {
        if h.found_at >= from && h.found_at < to {
            add(&h.grid, Some(h.finder), h.found_at, FieldCounts { hazards_found: 1, ..Default::default() });
        }
        if let Some(on_time) = hazard_due(h.handle_by, h.closed_at, from, to, now) {
            let c = FieldCounts { hazards_due: 1, hazards_on_time: u64::from(on_time), ..Default::default() };
            add(&h.grid, Some(h.finder), h.handle_by.unwrap_or(h.found_at), c);
        }
    }
    for r in facts.reinspections.iter().filter(|r| r.at >= from && r.at < to) {
        let c = FieldCounts { reinspections: 1, reinspections_passed: u64::from(r.ok), ..Default::default() };
        add(&r.grid, Some(r.inspector), r.at, c);
    }
    for r in facts.spot_checks.iter().filter(|r| r.at >= from && r.at < to) {
        let c = FieldCounts { spot_checks: 1, spot_checks_contradicting: u64::from(r.ok), ..Default::default() };
        add(&r.grid, Some(r.inspector), r.at, c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: Millis = 86_400_000;

    #[test]
    fn rates_are_counts_over_counts_and_none_without_a_denominator() {
        let c = FieldCounts {
            due: 4,
            due_met: 3,
            self_due: 0,
            patrol_months: 2,
            patrol_months_met: 1,
            ..Default::default()
        };
        let m = FieldMeasures::from_counts(&c);
        assert_eq!(m.coverage_on_time, Some(0.75));
        assert_eq!(m.self_inspection_compliance, None);
        assert_eq!(m.patrol_quota_met, Some(0.5));
        assert_eq!(m.hazards_rectified_on_time, None);
        let mut sum = c;
        sum += FieldCounts { due: 1, hazards_found: 2, ..Default::default() };
        assert_eq!((sum.due, sum.due_met, sum.hazards_found), (5, 3, 2));
    }

    #[test]
    fn due_dates_follow_each_inspection_and_are_met_by_the_next() {
        let cal = Calendar::wall_clock();
        // Every 10 days; inspected at day 0, day 9 (on time), day 25 (late: due at day 19).
        let ins = [0, 9 * DAY, 25 * DAY];
        let d = due_dates(&cal, None, 10, &ins, 0, 40 * DAY, 100 * DAY);
        assert_eq!(
            d.iter().map(|d| (d.after, d.met)).collect::<Vec<_>>(),
            [(Some(0), true), (Some(1), false), (Some(2), false)]
        );
        // The period holds only the second due date.
        let d = due_dates(&cal, None, 10, &ins, 15 * DAY, 25 * DAY, 100 * DAY);
        assert_eq!(d.len(), 1);
        assert!(!d[0].met);
        // A due date still ahead counts only when met already.
        assert!(due_dates(&cal, None, 10, &ins, 30 * DAY, 40 * DAY, 31 * DAY).is_empty());
        // Registered at day 0 on a yearly plan, first inspected at day 45: the first due date
        // (within 30 days of registration) was missed; the next is a year ahead.
        let d = due_dates(&cal, Some(0), 365, &[45 * DAY], 0, 60 * DAY, 60 * DAY);
        assert_eq!(d.len(), 1);
        assert!(!d[0].met && d[0].after.is_none());
        assert_eq!(d[0].at, crate::inspections::next_due(&cal, None, 0, 365));
        assert!((30 * DAY..32 * DAY).contains(&d[0].at));
    }

    #[test]
    fn a_hazard_counts_when_its_deadline_falls_in_the_period() {
        assert_eq!(hazard_due(Some(5), Some(4), 0, 10, 20), Some(true));
        assert_eq!(hazard_due(Some(5), Some(6), 0, 10, 20), Some(false));
        assert_eq!(hazard_due(Some(5), None, 0, 10, 20), Some(false));
        // Not passed yet and open: not counted; closed early: counted.
        assert_eq!(hazard_due(Some(15), None, 0, 20, 10), None);
        assert_eq!(hazard_due(Some(15), Some(9), 0, 20, 10), Some(true));
        assert_eq!(hazard_due(Some(25), Some(9), 0, 20, 30), None);
        assert_eq!(hazard_due(None, None, 0, 20, 30), None);
    }

    #[test]
    fn the_tally_adds_each_fact_to_its_keys() {
        let cal = Calendar::wall_clock();
        let grid = RegionCode::parse("330483001001").unwrap();
        let fact = |at, kind, inspector| InspectionFact { at, kind, inspector };
        let facts = FieldFacts {
            subjects: vec![SubjectFacts {
                grid: grid.clone(),
                every_days: 10,
                registered_at: -40 * DAY,
                inspections: vec![
                    fact(0, InspectionKind::Routine, 7),
                    fact(5 * DAY, InspectionKind::SelfInspection, 9),
                    fact(12 * DAY, InspectionKind::SelfInspection, 9),
                    fact(30 * DAY, InspectionKind::Routine, 8),
                ],
            }],
            hazards: vec![
                HazardFact {
                    grid: grid.clone(),
                    finder: 7,
                    found_at: 0,
                    handle_by: Some(5 * DAY),
                    closed_at: Some(3 * DAY),
                },
                HazardFact {
                    grid: grid.clone(),
                    finder: 8,
                    found_at: 30 * DAY,
                    handle_by: Some(35 * DAY),
                    closed_at: None,
                },
            ],
            reinspections: vec![CheckFact { grid: grid.clone(), inspector: 7, at: 3 * DAY, ok: true }],
            spot_checks: vec![CheckFact { grid: grid.clone(), inspector: 8, at: 30 * DAY, ok: true }],
        };
        let by_person = tally(&facts, 10, |_| &cal, 0, 40 * DAY, 40 * DAY, |_, p, _| vec![p]);
        // Plan: due ≈10 d after day 0 (person 7's; met at day 5), ≈15 after the unit's
        // self-inspection (no one's; met at 12), ≈22 (no one's; missed: next at 30), ≈40 (after
        // the period). Self: due ≈15 met at 12, ≈22 missed.
        let none = by_person[&None];
        assert_eq!((none.due, none.due_met, none.self_due, none.self_due_met), (2, 1, 2, 1));
        let seven = by_person[&Some(7)];
        assert_eq!(
            (seven.due, seven.due_met, seven.hazards_found, seven.hazards_due, seven.hazards_on_time),
            (1, 1, 1, 1, 1)
        );
        assert_eq!((seven.reinspections, seven.reinspections_passed), (1, 1));
        let eight = by_person[&Some(8)];
        assert_eq!(
            (eight.hazards_found, eight.hazards_due, eight.hazards_on_time, eight.spot_checks_contradicting),
            (1, 1, 0, 1)
        );
        let all = tally(&facts, 10, |_| &cal, 0, 40 * DAY, 40 * DAY, |_, _, _| vec![()]);
        assert_eq!((all[&()].due, all[&()].due_met, all[&()].hazards_found), (3, 2, 2));
    }
}
