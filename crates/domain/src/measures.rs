//! The measures of performance (DESIGN.md, "Measures of performance"), as exact formulas over
//! counts taken from the case events of a period and scope. docs/MEASURES.md states each one.

use serde::{Deserialize, Serialize};

use crate::Millis;

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
    /// Durations of the stages that ended in the period, in milliseconds.
    pub accept_times: Vec<Millis>,
    pub dispatch_times: Vec<Millis>,
    pub handle_times: Vec<Millis>,
    pub verify_times: Vec<Millis>,
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

/// The `q`-quantile (0 < q ≤ 1) by the nearest-rank method: the smallest value with at least
/// `q` of the values at or below it.
pub fn quantile(sorted: &[Millis], q: f64) -> Option<Millis> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (q * sorted.len() as f64).ceil().max(1.0) as usize;
    Some(sorted[rank.min(sorted.len()) - 1])
}

fn stage(times: &[Millis]) -> StageTime {
    let mut v = times.to_vec();
    v.sort_unstable();
    let hours = |x: Millis| x as f64 / crate::HOUR as f64;
    StageTime {
        count: v.len() as u64,
        median_hours: quantile(&v, 0.5).map(hours),
        p90_hours: quantile(&v, 0.9).map(hours),
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
    fn quantiles_by_nearest_rank() {
        let v: Vec<Millis> = (1..=10).map(|h| h * HOUR).collect();
        assert_eq!(quantile(&v, 0.5), Some(5 * HOUR));
        assert_eq!(quantile(&v, 0.9), Some(9 * HOUR));
        assert_eq!(quantile(&[7], 0.9), Some(7));
        assert_eq!(quantile(&[], 0.5), None);
        let s = stage(&[3 * HOUR, HOUR, 2 * HOUR]);
        assert_eq!((s.count, s.median_hours, s.p90_hours), (3, Some(2.0), Some(3.0)));
    }
}
