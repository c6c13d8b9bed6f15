//! The measures of performance (DESIGN.md, "Measures of performance"), as exact formulas over
//! counts taken from the case events of a period and scope. docs/MEASURES.md states each one.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{Action, Case, CaseState, DepartmentId, Millis, NewEvent, PersonId, Source};

/// Raw counts of one scope and period, as the store gathers them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MeasureCounts {
    /// `report` and `on_the_spot` events.
    pub reports: u64,
    /// Of those, reported by grid members (source `grid_member`).
    pub reports_by_grid_members: u64,
    /// Grid members holding a grid in the scope (for reports per grid member).
    pub grid_members: u64,
    pub accepted: u64,
    pub accepted_on_time: u64,
    pub rejected: u64,
    pub dispatched: u64,
    pub dispatched_on_time: u64,
    /// Dispatches whose lead is a community team.
    pub dispatched_to_community: u64,
    pub on_the_spot: u64,
    pub returns: u64,
    pub extensions_approved: u64,
    pub results: u64,
    pub results_on_time: u64,
    pub verifications: u64,
    pub verifications_failed: u64,
    pub ratings: u64,
    pub ratings_satisfied: u64,
    /// Cases dispatched in the period (the closure cohort) …
    pub cohort: u64,
    /// … of which closed (closed or rated) by now …
    pub cohort_closed: u64,
    /// … and closed no later than their handling deadline.
    pub cohort_closed_on_time: u64,
    /// Open cases whose current clock has passed, now.
    pub overdue_now: u64,
    /// Durations of the stages that ended in the period.
    #[serde(skip)]
    pub accept_times: Durations,
    #[serde(skip)]
    pub dispatch_times: Durations,
    #[serde(skip)]
    pub handle_times: Durations,
    #[serde(skip)]
    pub verify_times: Durations,
}

/// One list of the counters that add up over time and scopes, for [`COUNTERS`] and the accessors.
macro_rules! counters {
    ($($f:ident),* $(,)?) => {
        /// The counters of [`MeasureCounts`] that add up over time and scopes, in this order (the
        /// rollup tables have one column each, with these names). `grid_members` and
        /// `overdue_now` are not among them: they describe the present, not a period.
        pub const COUNTERS: [&str; 20] = [$(stringify!($f)),*];

        impl MeasureCounts {
            /// The [`COUNTERS`], in their order.
            pub fn counters(&self) -> [u64; 20] {
                [$(self.$f),*]
            }

            fn counters_mut(&mut self) -> [&mut u64; 20] {
                [$(&mut self.$f),*]
            }
        }
    };
}

counters!(
    reports,
    reports_by_grid_members,
    accepted,
    accepted_on_time,
    rejected,
    dispatched,
    dispatched_on_time,
    dispatched_to_community,
    on_the_spot,
    returns,
    extensions_approved,
    results,
    results_on_time,
    verifications,
    verifications_failed,
    ratings,
    ratings_satisfied,
    cohort,
    cohort_closed,
    cohort_closed_on_time,
);

impl MeasureCounts {
    /// Adds `values` (in the order of [`COUNTERS`]) to the counters.
    pub fn add_counters(&mut self, values: &[i64; 20]) {
        for (c, v) in self.counters_mut().into_iter().zip(values) {
            *c = c.saturating_add_signed(*v);
        }
    }

    /// The stage durations, in the order accept, dispatch, handle, verify.
    pub fn stages(&self) -> [&Durations; 4] {
        [&self.accept_times, &self.dispatch_times, &self.handle_times, &self.verify_times]
    }

    /// The stage durations, in the order accept, dispatch, handle, verify.
    pub fn stages_mut(&mut self) -> [&mut Durations; 4] {
        [&mut self.accept_times, &mut self.dispatch_times, &mut self.handle_times, &mut self.verify_times]
    }
}

/// Stage durations as a histogram whose bins are about 2% wide, each holding how many durations
/// fell in it and their sum. A quantile is the mean of the bin that holds its rank: exact when
/// the durations in that bin are equal, otherwise within the bin's 2%. Histograms add up, so the
/// rollups keep them per day and a year is the sum of its days.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Durations {
    bins: BTreeMap<u16, (u64, i64)>,
}

impl Durations {
    /// The bin of a duration: ⌊50 · ln(1 + seconds)⌋ (negative durations count as zero).
    pub fn bin(d: Millis) -> u16 {
        ((d.max(0) as f64 / 1000.0).ln_1p() * 50.0) as u16
    }

    pub fn add(&mut self, d: Millis) {
        self.add_bin(Self::bin(d), 1, d);
    }

    /// Adds `n` durations summing to `total` to `bin`.
    pub fn add_bin(&mut self, bin: u16, n: u64, total: i64) {
        if n > 0 {
            let e = self.bins.entry(bin).or_default();
            e.0 += n;
            e.1 += total;
        }
    }

    /// The bins that hold durations: (bin, count, sum).
    pub fn bins(&self) -> impl Iterator<Item = (u16, u64, i64)> + '_ {
        self.bins.iter().map(|(b, (n, t))| (*b, *n, *t))
    }

    pub fn count(&self) -> u64 {
        self.bins.values().map(|(n, _)| n).sum()
    }

    /// The `q`-quantile (0 < q ≤ 1) by the nearest rank: the mean of the bin holding the
    /// smallest duration with at least `q` of the durations at or below it.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        let count = self.count();
        if count == 0 {
            return None;
        }
        let rank = ((q * count as f64).ceil() as u64).clamp(1, count);
        let mut seen = 0;
        for (n, total) in self.bins.values() {
            seen += n;
            if seen >= rank {
                return Some(*total as f64 / *n as f64);
            }
        }
        None
    }
}

/// A share of the measures one case contributes: counters at one moment (which decides the
/// day it counts in), attributed to a department and a person.
#[derive(Debug, Clone, PartialEq)]
pub struct Fact {
    pub at: Millis,
    /// The department an event names (dispatch: the lead; return and co-department parts: that
    /// department), otherwise the case's lead department now.
    pub department: Option<DepartmentId>,
    /// Who did it, when acting for the platform: staff for their acts, grid members for what
    /// they reported. Residents' own reports and ratings are not assessed per person.
    pub person: Option<PersonId>,
    pub counts: MeasureCounts,
}

/// Everything `case` (as it is now, with all its `events`) contributes to the measures, as
/// docs/MEASURES.md defines them. The store keeps the sum of these per day in its rollups,
/// subtracting a case's old facts and adding its new ones with every event it writes.
pub fn facts(case: &Case, events: &[NewEvent], is_community_team: impl Fn(DepartmentId) -> bool) -> Vec<Fact> {
    let mut out = Vec::with_capacity(events.len() + 5);
    let by_member = case.source == Source::GridMember;
    let member = by_member.then_some(case.reporter).flatten();
    for e in events {
        let flag = |k: &str| e.data.get(k).and_then(|v| v.as_bool());
        let id = |k: &str| e.data.get(k).and_then(|v| v.as_i64());
        let on_time = u64::from(flag("on_time") == Some(true));
        let mut c = MeasureCounts::default();
        match e.action {
            Action::Report | Action::OnTheSpot | Action::FindHazard => {
                c.reports = 1;
                c.reports_by_grid_members = u64::from(by_member);
                c.on_the_spot = u64::from(e.action == Action::OnTheSpot);
            }
            Action::Accept => (c.accepted, c.accepted_on_time) = (1, on_time),
            Action::Reject => c.rejected = 1,
            Action::Dispatch => {
                let community = id("lead_department").is_some_and(&is_community_team);
                (c.dispatched, c.dispatched_on_time, c.dispatched_to_community) = (1, on_time, u64::from(community));
            }
            Action::Return => c.returns = 1,
            Action::ApproveExtension => c.extensions_approved = 1,
            Action::SubmitResult => (c.results, c.results_on_time) = (1, on_time),
            Action::Verify | Action::Reinspect => {
                (c.verifications, c.verifications_failed) = (1, u64::from(flag("passed") == Some(false)))
            }
            Action::Rate => {
                let satisfied = e.data.get("score").and_then(|v| v.as_i64()).is_some_and(|s| s >= 4);
                (c.ratings, c.ratings_satisfied) = (1, u64::from(satisfied))
            }
            _ => continue,
        }
        let person = match e.action {
            Action::Report | Action::OnTheSpot | Action::FindHazard if !by_member => None,
            Action::Rate => None,
            _ => e.actor,
        };
        let department = id("lead_department").or_else(|| id("department")).or(case.lead_department);
        out.push(Fact { at: e.at, department, person, counts: c });
    }
    if case.on_the_spot {
        return out;
    }
    let fact = |at, counts| Fact { at, department: case.lead_department, person: member, counts };
    if let Some(at) = case.dispatched_at {
        let closed = matches!(case.state, CaseState::Closed | CaseState::Rated);
        let on_time = closed && case.closed_at.zip(case.handle_by).is_some_and(|(c, h)| c <= h);
        let counts = MeasureCounts {
            cohort: 1,
            cohort_closed: u64::from(closed),
            cohort_closed_on_time: u64::from(on_time),
            ..Default::default()
        };
        out.push(fact(at, counts));
    }
    let stages = [
        (Some(case.reported_at), case.accepted_at),
        (case.accepted_at, case.dispatched_at),
        (case.dispatched_at, case.resolved_at),
        (case.resolved_at, case.verified_at),
    ];
    for (i, (start, end)) in stages.into_iter().enumerate() {
        if let (Some(start), Some(end)) = (start, end) {
            let mut counts = MeasureCounts::default();
            counts.stages_mut()[i].add(end - start);
            out.push(fact(end, counts));
        }
    }
    out
}

/// Median and 90th percentile of a stage, in hours.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct StageTime {
    pub count: u64,
    pub median_hours: Option<f64>,
    pub p90_hours: Option<f64>,
}

/// The measures. A rate is `None` when its denominator is zero (nothing to measure).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Measures {
    pub reports: u64,
    pub verifications: u64,
    pub acceptance_rate: Option<f64>,
    pub timely_acceptance_rate: Option<f64>,
    pub timely_dispatch_rate: Option<f64>,
    pub on_time_handling_rate: Option<f64>,
    pub closure_rate: Option<f64>,
    pub on_time_closure_rate: Option<f64>,
    pub rework_rate: Option<f64>,
    pub return_rate: Option<f64>,
    pub extension_rate: Option<f64>,
    pub self_resolution_rate: Option<f64>,
    pub satisfaction_rate: Option<f64>,
    pub reports_per_grid_member: Option<f64>,
    pub overdue_now: u64,
    pub accept_time: StageTime,
    pub dispatch_time: StageTime,
    pub handle_time: StageTime,
    pub verify_time: StageTime,
}

fn rate(num: u64, den: u64) -> Option<f64> {
    (den > 0).then(|| num as f64 / den as f64)
}

fn stage(times: &Durations) -> StageTime {
    let hours = |x: f64| x / crate::HOUR as f64;
    StageTime {
        count: times.count(),
        median_hours: times.quantile(0.5).map(hours),
        p90_hours: times.quantile(0.9).map(hours),
    }
}

impl Measures {
    pub fn from_counts(c: &MeasureCounts) -> Self {
        Measures {
            reports: c.reports,
            verifications: c.verifications,
            acceptance_rate: rate(c.accepted, c.accepted + c.rejected),
            timely_acceptance_rate: rate(c.accepted_on_time, c.accepted),
            timely_dispatch_rate: rate(c.dispatched_on_time, c.dispatched),
            on_time_handling_rate: rate(c.results_on_time, c.results),
            closure_rate: rate(c.cohort_closed, c.cohort),
            on_time_closure_rate: rate(c.cohort_closed_on_time, c.cohort),
            rework_rate: rate(c.verifications_failed, c.verifications),
            return_rate: rate(c.returns, c.dispatched),
            extension_rate: rate(c.extensions_approved, c.dispatched),
            self_resolution_rate: rate(c.dispatched_to_community + c.on_the_spot, c.accepted + c.on_the_spot),
            satisfaction_rate: rate(c.ratings_satisfied, c.ratings),
            reports_per_grid_member: rate(c.reports_by_grid_members, c.grid_members),
            overdue_now: c.overdue_now,
            accept_time: stage(&c.accept_times),
            dispatch_time: stage(&c.dispatch_times),
            handle_time: stage(&c.handle_times),
            verify_time: stage(&c.verify_times),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::HOUR;

    #[test]
    fn rates_follow_their_formulas_and_empty_is_none() {
        let c = MeasureCounts {
            reports: 10,
            accepted: 8,
            rejected: 2,
            accepted_on_time: 6,
            dispatched: 8,
            dispatched_on_time: 4,
            dispatched_to_community: 2,
            on_the_spot: 2,
            returns: 1,
            extensions_approved: 2,
            results: 5,
            results_on_time: 4,
            verifications: 5,
            verifications_failed: 1,
            ratings: 4,
            ratings_satisfied: 3,
            cohort: 8,
            cohort_closed: 6,
            cohort_closed_on_time: 5,
            ..Default::default()
        };
        let m = Measures::from_counts(&c);
        assert_eq!(m.acceptance_rate, Some(0.8));
        assert_eq!(m.timely_acceptance_rate, Some(0.75));
        assert_eq!(m.timely_dispatch_rate, Some(0.5));
        assert_eq!(m.on_time_handling_rate, Some(0.8));
        assert_eq!(m.closure_rate, Some(0.75));
        assert_eq!(m.on_time_closure_rate, Some(0.625));
        assert_eq!(m.rework_rate, Some(0.2));
        assert_eq!(m.return_rate, Some(0.125));
        assert_eq!(m.extension_rate, Some(0.25));
        assert_eq!(m.self_resolution_rate, Some(0.4));
        assert_eq!(m.satisfaction_rate, Some(0.75));
        assert_eq!(m.reports_per_grid_member, None);
        assert_eq!(Measures::from_counts(&MeasureCounts::default()).acceptance_rate, None);
    }

    #[test]
    fn quantiles_by_nearest_rank_within_two_percent() {
        let mut d = Durations::default();
        for h in 1..=10 {
            d.add(h * HOUR);
        }
        assert_eq!(d.quantile(0.5), Some((5 * HOUR) as f64));
        assert_eq!(d.quantile(0.9), Some((9 * HOUR) as f64));
        assert_eq!(Durations::default().quantile(0.5), None);
        let s = stage(&d);
        assert_eq!((s.count, s.median_hours, s.p90_hours), (10, Some(5.0), Some(9.0)));
        // Durations within 2% share a bin; the quantile is their mean.
        let mut close = Durations::default();
        close.add(100 * HOUR);
        close.add(100 * HOUR + HOUR / 2);
        assert_eq!(Durations::bin(100 * HOUR), Durations::bin(100 * HOUR + HOUR / 2));
        assert_eq!(close.quantile(0.5), Some(100.25 * HOUR as f64));
        // Bins add up: a year is the sum of its days.
        let mut sum = Durations::default();
        for (bin, n, total) in d.bins().chain(close.bins()) {
            sum.add_bin(bin, n, total);
        }
        assert_eq!((sum.count(), sum.quantile(1.0)), (12, Some(100.25 * HOUR as f64)));
    }
}
